// SPDX-License-Identifier: GPL-2.0-only
/* glibc's malloc family with known sequences: every entry point, realloc chains through
 * the mmap threshold, aligned allocations, then 4 threads x 1M malloc/free. Sizes are
 * glibc's usable sizes (malloc_usable_size), as arenatrace reports them. Threads are made
 * before the go signal and kept until the end, so that libc's own allocations (thread
 * TLS, stdio) fall outside the counted window. */
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "truth.h"

#define THREADS 4
#define PER_THREAD 1000000

static atomic_int go_flag, exit_flag, done_count;
static struct heap_counts tc[THREADS];

#define ALLOC(c, p, req) counted_alloc(c, req, malloc_usable_size(p))
#define FREE(c, p)                                                                         \
	do {                                                                               \
		counted_free(c, malloc_usable_size(p));                                    \
		free(p);                                                                   \
	} while (0)

static void *worker(void *arg)
{
	struct heap_counts *c = arg;
	static __thread void *keep[PER_THREAD / 1000];
	unsigned int seed = (unsigned int)(c - tc) + 1;

	while (!atomic_load(&go_flag))
		sched_yield();
	for (int i = 0; i < PER_THREAD; i++) {
		size_t n = (seed = seed * 1103515245u + 12345u) % 512;
		void *p = malloc(n);

		ALLOC(c, p, n);
		opaque(p);
		if (i % 1000 == 0)
			keep[i / 1000] = p;
		else
			FREE(c, p);
	}
	opaque(keep);
	atomic_fetch_add(&done_count, 1);
	while (!atomic_load(&exit_flag))
		sched_yield();
	return NULL;
}

int main(void)
{
	static const size_t sizes[] = { 0, 1, 8, 24, 100, 1000, 4096, 100000, 200000, 1 << 20 };
	void *kept[16], *p, *q;
	struct heap_counts c = { 0 }, total = { 0 };
	pthread_t t[THREADS];
	size_t nk = 0;

	opaque(malloc(1));
	truth_open();
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, &tc[i]);
	truth_go();

	for (size_t i = 0; i < AT_ARRAY(sizes); i++) {
		kept[nk] = malloc(sizes[i]);
		ALLOC(&c, kept[nk], sizes[i]);
		nk++;
	}
	kept[nk] = calloc(10, 100);
	ALLOC(&c, kept[nk], 1000);
	nk++;
	/* realloc chain: from NULL, growing through the mmap threshold, shrinking, to 0. */
	p = NULL;
	{
		static const size_t steps[] = { 16, 100, 5000, 300000, 600000, 50 };

		for (size_t i = 0; i < AT_ARRAY(steps); i++) {
			size_t old = p ? malloc_usable_size(p) : 0;

			q = realloc(p, steps[i]);
			if (p)
				counted_free(&c, old);
			ALLOC(&c, q, steps[i]);
			p = q;
		}
		counted_free(&c, malloc_usable_size(p));
		p = realloc(p, 0); /* frees, returns NULL */
	}
	/* Aligned: memalign with a small alignment calls malloc inside (counted once). */
	if (posix_memalign(&p, 64, 1000))
		return 2;
	ALLOC(&c, p, 1000);
	kept[nk++] = p;
	p = aligned_alloc(4096, 8192);
	ALLOC(&c, p, 8192);
	kept[nk++] = p;
	p = memalign(32, 100);
	ALLOC(&c, p, 100);
	FREE(&c, p);
	p = memalign(8, 100);
	ALLOC(&c, p, 100);
	FREE(&c, p);
	p = valloc(5000);
	ALLOC(&c, p, 5000);
	FREE(&c, p);
	p = pvalloc(5000);
	ALLOC(&c, p, 8192);
	FREE(&c, p);
	free(NULL); /* not counted */
	for (size_t i = 0; i < nk; i += 2)
		FREE(&c, kept[i]);

	atomic_store(&go_flag, 1);
	while (atomic_load(&done_count) < THREADS)
		sched_yield();
	counts_add(&total, &c);
	for (int i = 0; i < THREADS; i++)
		counts_add(&total, &tc[i]);
	truth_counts(&total);
	truth_done();
	atomic_store(&exit_flag, 1);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	return 0;
}
