// SPDX-License-Identifier: GPL-2.0-only
/*
 * A mimalloc heap whose books test_books_mimalloc reads from outside. Built twice from this
 * source: mi_books links -lmimalloc; books_mi_preload (-DMI_BOOKS_PRELOAD) links nothing and
 * runs with LD_PRELOAD=libmimalloc.so.2, so it finds the mi_* API with dlsym.
 *
 * The main thread allocates small, medium, large and huge blocks and frees some of them;
 * size classes fill whole pages so that mimalloc moves them to its full queue. Its own truth
 * is what mimalloc itself sees: mi_heap_visit_blocks over the main heap (which also holds
 * libc's blocks), summing mi_usable_size. Then a second thread allocates blocks and exits
 * with them live (its segment is abandoned), and a third frees some of the main thread's
 * blocks, which mimalloc leaves uncollected (the heap's delayed-free list, pages'
 * thread-free lists). After that the main thread allocates nothing: it writes one line on
 * stdout and waits in pause() for the test to read it and kill it.
 *
 * Line: live_bytes live_blocks cross_freed mi_commit mi_rss nsegs seg...
 */
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MI_BOOKS_PRELOAD
#include <mimalloc.h>
#endif

typedef bool(visit_fn)(const void *heap, const void *area, void *block, size_t size, void *arg);

static struct {
	size_t (*usable_size)(const void *p);
	void *(*heap_get_backing)(void);
	bool (*heap_visit_blocks)(const void *heap, bool all, visit_fn *fn, void *arg);
	void (*process_info)(size_t *elapsed, size_t *user, size_t *sys, size_t *rss,
			     size_t *peak_rss, size_t *commit, size_t *peak_commit,
			     size_t *faults);
} mi;

static void resolve(void)
{
#ifdef MI_BOOKS_PRELOAD
	*(void **)&mi.usable_size = dlsym(RTLD_DEFAULT, "mi_usable_size");
	*(void **)&mi.heap_get_backing = dlsym(RTLD_DEFAULT, "mi_heap_get_backing");
	*(void **)&mi.heap_visit_blocks = dlsym(RTLD_DEFAULT, "mi_heap_visit_blocks");
	*(void **)&mi.process_info = dlsym(RTLD_DEFAULT, "mi_process_info");
#else
	mi.usable_size = mi_usable_size;
	*(void **)&mi.heap_get_backing = (void *)mi_heap_get_backing;
	*(void **)&mi.heap_visit_blocks = (void *)mi_heap_visit_blocks;
	mi.process_info = mi_process_info;
#endif
	if (!mi.usable_size || !mi.heap_get_backing || !mi.heap_visit_blocks || !mi.process_info)
		exit(90);
}

#define AT_N(a) (sizeof(a) / sizeof((a)[0]))
#define SEG_MASK ((uintptr_t)(32u << 20) - 1)
#define NSMALL 600
#define NLOCAL 300
#define MAX_SEGS 64

static void *blocks[NSMALL + NLOCAL + 64];
static size_t nblocks;
static void *worker_blocks[64];
static size_t nworker;
static uint64_t worker_bytes;
static void *to_free[16];
static size_t nto_free;
static uint64_t segs[MAX_SEGS];
static size_t nsegs;
static sem_t go_abandon, go_free;

static void note_seg(void *p)
{
	uintptr_t s = ((uintptr_t)p - 1) & ~SEG_MASK;

	for (size_t i = 0; i < nsegs; i++)
		if (segs[i] == s)
			return;
	if (nsegs < MAX_SEGS)
		segs[nsegs++] = s;
}

static void *keep(size_t size)
{
	void *p = malloc(size);

	if (!p)
		exit(91);
	memset(p, 0x5a, size < 4096 ? size : 4096);
	blocks[nblocks++] = p;
	note_seg(p);
	return p;
}

/* Exits with its blocks live: mimalloc abandons its segment. */
static void *abandoner(void *arg)
{
	static const size_t sizes[] = { 48, 48, 48, 3000, 70000, 300000 };

	(void)arg;
	sem_wait(&go_abandon);
	for (size_t i = 0; i < AT_N(sizes); i++) {
		void *p = malloc(sizes[i]);

		if (!p)
			exit(92);
		memset(p, 0x33, sizes[i]);
		worker_blocks[nworker++] = p;
		note_seg(p);
	}
	free(worker_blocks[--nworker]); /* a local free in the abandoned segment */
	for (size_t i = 0; i < nworker; i++)
		worker_bytes += mi.usable_size(worker_blocks[i]);
	return NULL;
}

/* Frees blocks of the main thread: mimalloc does not collect them until the main thread
 * allocates again, which it never does. */
static void *freer(void *arg)
{
	(void)arg;
	sem_wait(&go_free);
	for (size_t i = 0; i < nto_free; i++)
		free(to_free[i]);
	return NULL;
}

struct tally {
	uint64_t bytes, blocks;
};

static bool count_block(const void *heap, const void *area, void *block, size_t size, void *arg)
{
	struct tally *t = arg;

	(void)heap;
	(void)area;
	(void)size;
	if (block) {
		t->bytes += mi.usable_size(block);
		t->blocks++;
	}
	return true;
}

static void allocate(void)
{
	static const size_t sizes[] = { 16, 100, 20000, 100000, 200000, 1u << 20, 5u << 20,
					20u << 20, 40u << 20 };
	void *small[NSMALL], *big[AT_N(sizes)];

	/* 1000 bytes: 1024-byte blocks, 63 to a 64 KiB page, so the first pages fill up and go
	 * to the full queue as the next ones are taken. */
	for (int i = 0; i < NSMALL; i++)
		small[i] = keep(1000);
	/* Local frees in another size class (a local free would take a page out of the full
	 * queue): they go to the pages' local_free lists and lower used at once. */
	for (int i = 0; i < NLOCAL; i++) {
		void *p = keep(100);

		if (i % 3 == 0)
			free(p);
	}
	for (size_t i = 0; i < AT_N(sizes); i++)
		big[i] = keep(sizes[i]);
	free(keep(50000));
	/* Cross-thread frees to come, in five pages: two full ones, the last page of the
	 * class (twice), a large and a huge block. The first free to a page goes to the heap's
	 * delayed-free list (a fresh or full page's flag says so), the next to the page's own
	 * thread-free list. */
	to_free[nto_free++] = small[1];
	to_free[nto_free++] = small[64 + 1];
	to_free[nto_free++] = small[NSMALL - 1];
	to_free[nto_free++] = small[NSMALL - 2];
	to_free[nto_free++] = big[4]; /* 200000: a large page */
	to_free[nto_free++] = big[7]; /* 20 MiB: a huge segment */
}

int main(void)
{
	struct tally t = { 0 };
	uint64_t freed_bytes = 0;
	size_t rss, peak_rss, commit, peak_commit, unused;
	pthread_t ta, tf;
	char line[4096];
	int n;

	resolve();
	sem_init(&go_abandon, 0, 0);
	sem_init(&go_free, 0, 0);
	/* Threads first: pthread_create allocates (their TLS), before the count. */
	if (pthread_create(&ta, NULL, abandoner, NULL) || pthread_create(&tf, NULL, freer, NULL))
		exit(93);
	allocate();
	for (size_t i = 0; i < nto_free; i++)
		freed_bytes += mi.usable_size(to_free[i]);
	if (!mi.heap_visit_blocks(mi.heap_get_backing(), true, count_block, &t))
		exit(94);
	sem_post(&go_abandon);
	pthread_join(ta, NULL);
	sem_post(&go_free);
	pthread_join(tf, NULL);
	mi.process_info(&unused, &unused, &unused, &rss, &peak_rss, &commit, &peak_commit, &unused);

	n = snprintf(line, sizeof(line), "%llu %llu %zu %zu %zu %zu",
		     (unsigned long long)(t.bytes + worker_bytes - freed_bytes),
		     (unsigned long long)(t.blocks + nworker - nto_free), nto_free, commit, rss,
		     nsegs);
	for (size_t i = 0; i < nsegs && n < (int)sizeof(line) - 32; i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " %llx",
			      (unsigned long long)segs[i]);
	line[n++] = '\n';
	if (write(1, line, (size_t)n) != n)
		exit(95);
	for (;;)
		pause();
}
