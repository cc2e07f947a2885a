// SPDX-License-Identifier: GPL-2.0-only
/* The malloc family with known sequences, in one source built per allocator (see the
 * Makefile): every entry point, realloc chains through the mmap threshold, aligned
 * allocations, the allocator's own API (jemalloc's *allocx, mimalloc's mi_*), then 4
 * threads x N malloc/free. It counts as arenatrace counts; sizes are the allocator's usable
 * sizes, or the requested ones when AT_BASIS=requested (mimalloc, which has no usable size
 * in arenatrace). Threads are made before the go signal and kept until the end, so that
 * libc's own allocations (thread TLS, stdio) fall outside the counted window. */
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#if defined(USE_JEMALLOC)
#include <jemalloc/jemalloc.h>
#elif defined(USE_MIMALLOC)
#include <mimalloc.h>
#endif

#include "truth.h"

#define THREADS 4
#ifndef PER_THREAD
#define PER_THREAD 1000000
#endif

static atomic_int go_flag, exit_flag, done_count;
static struct heap_counts tc[THREADS];
static int requested_basis;

static uint64_t size_of(void *p, uint64_t req)
{
	return requested_basis ? req : malloc_usable_size(p);
}

#define ALLOC(c, p, req) counted_alloc(c, req, size_of(p, req))
#define FREE(c, p, req)                                                                    \
	do {                                                                               \
		counted_free(c, size_of(p, req));                                          \
		free(p);                                                                   \
	} while (0)

static void flush_thread_cache(void)
{
#if defined(USE_JEMALLOC)
	mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
#endif
}

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
			FREE(c, p, n);
	}
	opaque(keep);
	flush_thread_cache();
	atomic_fetch_add(&done_count, 1);
	while (!atomic_load(&exit_flag))
		sched_yield();
	return NULL;
}

/* realloc as the allocator does it: a block moves (free + alloc), or realloc(p, 0) frees
 * and returns NULL (glibc, jemalloc) or gives a minimal block (mimalloc). */
static void *counted_realloc(struct heap_counts *c, void *p, uint64_t old_req, uint64_t req)
{
	uint64_t old = p ? size_of(p, old_req) : 0;
	void *q = realloc(p, req);

	if (q) {
		if (p)
			counted_free(c, old);
		ALLOC(c, q, req);
	} else if (p && !req) {
		counted_free(c, old);
	}
	return q;
}

/* The allocator's own API. */
static void native_calls(struct heap_counts *c)
{
#if defined(USE_JEMALLOC)
	void *p = mallocx(3000, 0), *q;
	size_t n;

	ALLOC(c, p, 3000);
	q = mallocx(100, MALLOCX_ALIGN(256));
	counted_alloc(c, 100, malloc_usable_size(q));
	counted_free(c, malloc_usable_size(q));
	sdallocx(q, 100, MALLOCX_ALIGN(256));
	n = malloc_usable_size(p);
	q = rallocx(p, 70000, 0);
	counted_free(c, n);
	ALLOC(c, q, 70000);
	n = malloc_usable_size(q);
	if (xallocx(q, 60000, 0, 0) != malloc_usable_size(q))
		exit(3);
	counted_free(c, n);
	counted_alloc(c, malloc_usable_size(q), malloc_usable_size(q));
	counted_free(c, malloc_usable_size(q));
	dallocx(q, 0);
#elif defined(USE_MIMALLOC)
	mi_heap_t *heap = NULL;
	void *p = mi_malloc(300), *q;

	ALLOC(c, p, 300);
	q = mi_zalloc(50);
	ALLOC(c, q, 50);
	mi_free(q);
	counted_free(c, 50);
	q = mi_calloc(3, 40);
	ALLOC(c, q, 120);
	q = mi_realloc(q, 9000);
	counted_free(c, 120);
	ALLOC(c, q, 9000);
	mi_free(q);
	counted_free(c, 9000);
	q = mi_malloc_aligned(100, 128);
	ALLOC(c, q, 100);
	mi_free(q);
	counted_free(c, 100);
	heap = mi_heap_get_default();
	q = mi_heap_malloc(heap, 777);
	ALLOC(c, q, 777);
	mi_free(q);
	counted_free(c, 777);
	mi_free(p);
	counted_free(c, 300);
#else
	(void)c;
#endif
}

int main(void)
{
	static const size_t sizes[] = { 0, 1, 8, 24, 100, 1000, 4096, 100000, 200000, 1 << 20 };
	void *kept[16], *p;
	size_t req[16], nk = 0;
	struct heap_counts c = { 0 }, total = { 0 };
	pthread_t t[THREADS];
	const char *basis = getenv("AT_BASIS");

#if defined(USE_MIMALLOC)
	requested_basis = 1;
#endif
	if (basis)
		requested_basis = !strcmp(basis, "requested");
	opaque(malloc(1));
	truth_open();
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, &tc[i]);
	truth_go();

	for (size_t i = 0; i < AT_ARRAY(sizes); i++) {
		kept[nk] = malloc(sizes[i]);
		ALLOC(&c, kept[nk], sizes[i]);
		req[nk++] = sizes[i];
	}
	kept[nk] = calloc(10, 100);
	ALLOC(&c, kept[nk], 1000);
	req[nk++] = 1000;
	/* A realloc chain from NULL, through the mmap threshold and back, to 0. */
	{
		static const size_t steps[] = { 16, 100, 5000, 300000, 600000, 50, 0 };
		uint64_t prev = 0;

		p = NULL;
		for (size_t i = 0; i < AT_ARRAY(steps); i++) {
			p = counted_realloc(&c, p, prev, steps[i]);
			prev = steps[i];
		}
		if (p)
			FREE(&c, p, 0);
	}
	/* Aligned allocations; glibc's memalign with a small alignment calls malloc inside,
	 * which must count once. */
	if (posix_memalign(&p, 64, 1000))
		return 2;
	ALLOC(&c, p, 1000);
	kept[nk] = p;
	req[nk++] = 1000;
	p = aligned_alloc(4096, 8192);
	ALLOC(&c, p, 8192);
	kept[nk] = p;
	req[nk++] = 8192;
	p = memalign(32, 100);
	ALLOC(&c, p, 100);
	FREE(&c, p, 100);
	p = memalign(8, 100);
	ALLOC(&c, p, 100);
	FREE(&c, p, 100);
	p = valloc(5000);
	ALLOC(&c, p, 5000);
	FREE(&c, p, 5000);
#if !defined(USE_JEMALLOC)
	p = pvalloc(5000); /* jemalloc has no pvalloc */
	ALLOC(&c, p, 8192);
	FREE(&c, p, 8192);
#endif
	native_calls(&c);
	free(NULL); /* not counted */
	for (size_t i = 0; i < nk; i += 2)
		FREE(&c, kept[i], req[i]);

	atomic_store(&go_flag, 1);
	while (atomic_load(&done_count) < THREADS)
		sched_yield();
	flush_thread_cache();
	counts_add(&total, &c);
	for (int i = 0; i < THREADS; i++)
		counts_add(&total, &tc[i]);
	truth_counts(&total);
#if defined(USE_JEMALLOC)
	{
		uint64_t epoch = 1;
		size_t allocated = 0, sz = sizeof(allocated), esz = sizeof(epoch);

		mallctl("epoch", &epoch, &esz, &epoch, esz);
		mallctl("stats.allocated", &allocated, &sz, NULL, 0);
		truth_u64("stats_allocated", allocated);
		/* jemalloc's own per-thread cache stacks, counted in stats.allocated too. */
		mallctl("stats.arenas.4096.internal", &allocated, &sz, NULL, 0);
		truth_u64("stats_internal", allocated);
	}
#endif
	truth_done();
	atomic_store(&exit_flag, 1);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	return 0;
}
