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

__attribute__((unused)) static void truth_u64(const char *key, uint64_t v)
{
	if (!truth_f) {
		const char *path = getenv("AT_TRUTH");

		snprintf(truth_tmp, sizeof(truth_tmp), "%s.tmp", path ? path : "/dev/null");
		truth_f = fopen(path ? truth_tmp : "/dev/null", "w");
		if (!truth_f)
			exit(99);
		fputs("{", truth_f);
	}
	fprintf(truth_f, "%s\"%s\": %llu", truth_n++ ? ", " : "", key, (unsigned long long)v);
}

/* Closes the truth file (renamed into place, so that readers never see half of it) and
 * holds until AT_HOLD exists. */
__attribute__((unused)) static void truth_done(void)
{
	const char *path = getenv("AT_TRUTH");

	if (truth_f) {
		fputs("}\n", truth_f);
		fclose(truth_f);
		if (path && rename(truth_tmp, path))
			exit(97);
	}
	wait_for("AT_HOLD");
}

/* Resident bytes of [p, p+len), by mincore. */
__attribute__((unused)) static uint64_t resident(void *p, size_t len)
{
	size_t pages = (len + 4095) / 4096;
	unsigned char *vec = calloc(pages, 1);
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

#endif
