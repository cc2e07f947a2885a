/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the test workloads. A workload records what it did in a JSON "truth"
 * file; the tests compare arenatrace's figures with it.
 *   AT_GO    path: wait until it exists before working (lets a test attach with -p first)
 *   AT_TRUTH path: where the truth goes (written once the work is done)
 *   AT_HOLD  path: after writing the truth, wait until it exists before exiting, so that
 *            arenatrace can sample residency of the final state
 * The marker syscall getppid() separates set-up from the measured work in an strace log.
 */
#ifndef AT_TRUTH_H
#define AT_TRUTH_H

#define AT_ARRAY(a) (sizeof(a) / sizeof((a)[0]))

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

__attribute__((unused)) static void wait_for(const char *env)
{
	const char *path = getenv(env);

	if (!path)
		return;
	for (int i = 0; i < 600000 && access(path, F_OK); i++)
		usleep(1000);
}

__attribute__((unused)) static void truth_go(void)
{
	wait_for("AT_GO");
	getppid(); /* marker for the strace oracle */
}

static FILE *truth_f;
static int truth_n;
static char truth_tmp[4096];
static char truth_buf[65536];

/* Opens the truth file with a static buffer: a workload whose heap calls are counted opens
 * it before its measured part, so that stdio allocates nothing during it. */
__attribute__((unused)) static void truth_open(void)
{
	const char *path = getenv("AT_TRUTH");

	if (truth_f)
		return;
	snprintf(truth_tmp, sizeof(truth_tmp), "%s.tmp", path ? path : "/dev/null");
	truth_f = fopen(path ? truth_tmp : "/dev/null", "w");
	if (!truth_f)
		exit(99);
	setvbuf(truth_f, truth_buf, _IOFBF, sizeof(truth_buf));
	fputs("{", truth_f);
}

__attribute__((unused)) static void truth_u64(const char *key, uint64_t v)
{
	truth_open();
	fprintf(truth_f, "%s\"%s\": %llu", truth_n++ ? ", " : "", key, (unsigned long long)v);
}

/* Closes the truth file (renamed into place, so that readers never see half of it) and
 * holds until AT_HOLD exists. */
__attribute__((unused)) static void truth_done(void)
{
	const char *path = getenv("AT_TRUTH");

	if (truth_f) {
		fputs("}\n", truth_f);
		/* Flushed, not closed: fclose would free the FILE inside a counted window. */
		fflush(truth_f);
		if (path && rename(truth_tmp, path))
			exit(97);
	}
	wait_for("AT_HOLD");
}

/* Resident bytes of [p, p+len), by mincore. */
__attribute__((unused)) static uint64_t resident(void *p, size_t len)
{
	size_t pages = (len + 4095) / 4096;
	unsigned char *vec = (unsigned char *)calloc(pages, 1);
	uint64_t n = 0;

	if (!vec || mincore(p, len, vec))
		exit(98);
	for (size_t i = 0; i < pages; i++)
		n += vec[i] & 1;
	free(vec);
	return n * 4096;
}

/* Keeps the compiler from deleting allocations whose memory is never read. */
__attribute__((unused)) static void opaque(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* What a heap workload did, counted as arenatrace counts: one alloc per successful
 * outermost allocation call, one free per freed block (realloc of a block: both). */
struct heap_counts {
	uint64_t allocs, frees, live_bytes;
	int64_t live_objects;
	uint64_t hist[48];
};

__attribute__((unused)) static int log2_slot(uint64_t v)
{
	int r = 0;

	while (v > 1) {
		v >>= 1;
		r++;
	}
	return r;
}

__attribute__((unused)) static void counted_alloc(struct heap_counts *c, uint64_t req,
						  uint64_t size)
{
	c->allocs++;
	c->live_objects++;
	c->live_bytes += size;
	c->hist[log2_slot(req)]++;
}

__attribute__((unused)) static void counted_free(struct heap_counts *c, uint64_t size)
{
	c->frees++;
	c->live_objects--;
	c->live_bytes -= size;
}

__attribute__((unused)) static void truth_counts(const struct heap_counts *c)
{
	char key[16];

	truth_u64("allocs", c->allocs);
	truth_u64("frees", c->frees);
	truth_u64("live_bytes", c->live_bytes);
	truth_u64("live_objects", (uint64_t)c->live_objects);
	for (int k = 0; k < 48; k++) {
		snprintf(key, sizeof(key), "hist%d", k);
		truth_u64(key, c->hist[k]);
	}
}

__attribute__((unused)) static void counts_add(struct heap_counts *to, const struct heap_counts *c)
{
	to->allocs += c->allocs;
	to->frees += c->frees;
	to->live_bytes += c->live_bytes;
	to->live_objects += c->live_objects;
	for (int k = 0; k < 48; k++)
		to->hist[k] += c->hist[k];
}

#endif
