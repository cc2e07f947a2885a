// SPDX-License-Identifier: GPL-2.0-only
/*
 * jemalloc's own books, for the reader of books/jemalloc.c (truth.h protocol). Run with
 * MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1 so that nothing decays while it is read.
 * Three threads (three automatic arenas) and the main thread allocate small and large
 * blocks and free some (dirty pages); a manual arena with dirty_decay_ms 1 turns what is
 * freed in it into muzzy pages (MADV_FREE); a 10 MiB block goes to the oversize
 * arena. The threads stay blocked afterwards so that their tcaches keep cached blocks.
 * The truth is jemalloc's own mallctl statistics, read after "epoch" once everything is
 * quiet: stats.*, and per arena pactive, pdirty, pmuzzy, tcache_bytes. Nothing allocates
 * between that reading and the end (the truth file has a static buffer).
 */
#include <jemalloc/jemalloc.h>
#include <pthread.h>

#include "truth.h"

enum { NTHREADS = 3, NSMALL = 3000, NLARGE = 40 };

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int ready;
static void *keep[NTHREADS + 1][NSMALL + NLARGE];

static const size_t small_sizes[] = { 8, 24, 48, 100, 200, 640, 1500, 3000, 9000 };
static const size_t large_sizes[] = { 20000, 65536, 300000, 1 << 20 };

/* Allocates, touches and frees every other block: what stays is live, what went is either
 * in the tcache or back in the arena (slab regions, dirty large extents). */
static void work(int slot)
{
	void **p = keep[slot];

	for (int i = 0; i < NSMALL; i++) {
		p[i] = malloc(small_sizes[(i + slot) % AT_ARRAY(small_sizes)]);
		memset(p[i], 1, 8);
	}
	for (int i = 0; i < NLARGE; i++) {
		size_t sz = large_sizes[(i + slot) % AT_ARRAY(large_sizes)];

		p[NSMALL + i] = malloc(sz);
		memset(p[NSMALL + i], 1, sz);
	}
	for (int i = 0; i < NSMALL + NLARGE; i += 2) {
		free(p[i]);
		p[i] = NULL;
	}
}

static void *thread_main(void *arg)
{
	work((int)(intptr_t)arg);
	pthread_mutex_lock(&mtx);
	ready++;
	pthread_cond_broadcast(&cond);
	/* Blocked for good: the thread's tcache keeps what it caches. */
	while (ready >= 0)
		pthread_cond_wait(&cond, &mtx);
	pthread_mutex_unlock(&mtx);
	return NULL;
}

static uint64_t ctl_u64(const char *name)
{
	size_t v = 0, len = sizeof(v);

	if (mallctl(name, &v, &len, NULL, 0))
		exit(90);
	return v;
}

static unsigned ctl_unsigned(const char *name)
{
	unsigned v = 0;
	size_t len = sizeof(v);

	if (mallctl(name, &v, &len, NULL, 0))
		exit(91);
	return v;
}

/* A manual arena whose freed pages go to muzzy (dirty_decay_ms 1, muzzy -1). */
static unsigned muzzy_arena(void)
{
	unsigned ind;
	size_t len = sizeof(ind);
	ssize_t one = 1, never = -1;
	char name[64];
	void *p[8];

	if (mallctl("arenas.create", &ind, &len, NULL, 0))
		exit(92);
	snprintf(name, sizeof(name), "arena.%u.dirty_decay_ms", ind);
	if (mallctl(name, NULL, NULL, &one, sizeof(one)))
		exit(93);
	snprintf(name, sizeof(name), "arena.%u.muzzy_decay_ms", ind);
	if (mallctl(name, NULL, NULL, &never, sizeof(never)))
		exit(94);
	for (int i = 0; i < 8; i++) {
		p[i] = mallocx(200000, MALLOCX_ARENA(ind) | MALLOCX_TCACHE_NONE);
		memset(p[i], 1, 200000);
	}
	for (int i = 0; i < 8; i += 2)
		dallocx(p[i], MALLOCX_TCACHE_NONE);
	/* Past the 1 ms decay: a time-based decay purges lazily (muzzy), where a full purge
	 * or decay_ms 0 would have gone to retained. */
	snprintf(name, sizeof(name), "arena.%u.decay", ind);
	for (int i = 0; i < 5; i++) {
		usleep(20000);
		if (mallctl(name, NULL, NULL, NULL, 0))
			exit(95);
	}
	return ind;
}

static void write_truth(unsigned manual)
{
	uint64_t epoch = 1;
	size_t len = sizeof(epoch);
	unsigned narenas;
	char name[96];

	/* The first call builds ctl's own tables (metadata); the second is the snapshot. */
	mallctl("epoch", &epoch, &len, &epoch, len);
	mallctl("epoch", &epoch, &len, &epoch, len);
	narenas = ctl_unsigned("arenas.narenas");
	truth_u64("allocated", ctl_u64("stats.allocated"));
	truth_u64("active", ctl_u64("stats.active"));
	truth_u64("metadata", ctl_u64("stats.metadata"));
	truth_u64("resident", ctl_u64("stats.resident"));
	truth_u64("mapped", ctl_u64("stats.mapped"));
	truth_u64("retained", ctl_u64("stats.retained"));
	truth_u64("narenas", narenas);
	truth_u64("manual", manual);
	for (unsigned i = 0; i < narenas; i++) {
		static const char *const keys[] = { "pactive", "pdirty", "pmuzzy", "tcache_bytes",
						    "mapped", "retained", "resident" };
		bool init = false;
		size_t blen = sizeof(init);

		snprintf(name, sizeof(name), "arena.%u.initialized", i);
		if (mallctl(name, &init, &blen, NULL, 0) || !init)
			continue;
		for (size_t k = 0; k < AT_ARRAY(keys); k++) {
			char key[64];

			snprintf(name, sizeof(name), "stats.arenas.%u.%s", i, keys[k]);
			snprintf(key, sizeof(key), "a%u_%s", i, keys[k]);
			truth_u64(key, ctl_u64(name));
		}
	}
}

int main(void)
{
	pthread_t th[NTHREADS];
	unsigned manual;
	void *big;

	truth_open();
	truth_go();
	for (int i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, thread_main, (void *)(intptr_t)(i + 1)))
			return 2;
	work(0);
	manual = muzzy_arena();
	big = malloc(10 << 20); /* the oversize arena */
	memset(big, 1, 10 << 20);
	opaque(big);
	pthread_mutex_lock(&mtx);
	while (ready < NTHREADS)
		pthread_cond_wait(&cond, &mtx);
	pthread_mutex_unlock(&mtx);
	write_truth(manual);
	truth_done();
	return 0;
}
