// SPDX-License-Identifier: GPL-2.0-only
/*
 * glibc's books at rest, for tests/unit/test_books_glibc.c
 * (usage: glibc_books FD [race|noncontig]).
 * Eight threads, each in an arena of its own, hold blocks, keep an mmapped chunk and leave
 * free chunks in small and large bins, fastbins and their tcache; the main thread does the
 * same in the main arena. Then mallinfo2() and what went into tcaches are written to FD and
 * every thread waits to be killed. With "race", threads allocate, free and unmap without end
 * while being read, and FD is written once they run. With "noncontig", a page mapped right
 * above the break makes brk fail, so that the main arena goes on in mmapped memory.
 */
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "glibc_books.h"

#define THREADS GLIBC_BOOKS_THREADS
#define TC_COUNT 7 /* glibc's default tcache_count */
#define TC_MAX_USABLE 1032

static sem_t ready;
static uint64_t tc_bytes[THREADS + 1], tc_chunks[THREADS + 1];

static void opaque(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* Frees n blocks of one tcache size into an empty tcache bin: the first TC_COUNT stay in
 * the thread's tcache, the rest go to the arena (a fastbin or the unsorted bin). */
static void free_into_tcache(void **v, int n, int slot)
{
	for (int i = 0; i < n; i++) {
		if (i < TC_COUNT) {
			tc_bytes[slot] += malloc_usable_size(v[i]) + 8;
			tc_chunks[slot]++;
		}
		free(v[i]);
	}
}

/* Free chunks in the small and large bins: spacers keep them from merging, and a later
 * request that none fits sorts them out of the unsorted bin. */
static void fill_bins(int slot, size_t small_sz, size_t large_sz)
{
	void *small[10], *large[10];

	for (int i = 0; i < 10; i++) {
		small[i] = malloc(small_sz);
		opaque(malloc(24));
		large[i] = malloc(large_sz);
		opaque(malloc(24));
	}
	if (small_sz <= TC_MAX_USABLE)
		free_into_tcache(small, 10, slot);
	else
		for (int i = 0; i < 10; i++)
			free(small[i]);
	for (int i = 0; i < 10; i++)
		free(large[i]);
	opaque(malloc(large_sz * 3));
}

static void *worker(void *arg)
{
	int slot = (int)(intptr_t)arg;
	void *fast[20], *mm;

	for (int i = 0; i < 200; i++)
		opaque(malloc(1000 + 16 * slot));
	fill_bins(slot, 600, 3000);
	mm = malloc(1 << 20);
	memset(mm, 1, 64);
	opaque(mm);
	/* Fastbins last: a large request would consolidate them. */
	for (int i = 0; i < 20; i++)
		fast[i] = malloc(40);
	free_into_tcache(fast, 20, slot);
	sem_post(&ready);
	for (;;)
		pause();
	return NULL;
}

/* Empties the main thread's tcache of whatever start-up left in it. */
static void drain_tcache(void)
{
	for (int i = 0; i < 64; i++)
		for (int k = 0; k < TC_COUNT; k++)
			opaque(malloc(16 * i + 24));
}

static void *racer(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	void *slots[64] = { 0 };

	for (;;) {
		int i = rand_r(&seed) % 64, kind = rand_r(&seed) % 64;
		size_t sz = kind == 0  ? (33u << 20) /* above any mmap threshold */
			    : kind < 4 ? (200u << 10)
				       : rand_r(&seed) % 3000;

		free(slots[i]);
		slots[i] = malloc(sz + 1);
		memset(slots[i], 1, sz < 64 ? sz + 1 : 64);
	}
	return NULL;
}

static int race(int fd)
{
	struct glibc_books_report r = { .threads = 4 };
	pthread_t t;

	for (int i = 0; i < 3; i++)
		pthread_create(&t, NULL, racer, (void *)(uintptr_t)(i + 1));
	if (write(fd, &r, sizeof(r)) != sizeof(r))
		return 1;
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	struct glibc_books_report r = { .threads = THREADS + 1 };
	struct mallinfo2 mi;
	pthread_t t;
	void *tc[5];
	int fd;

	if (argc < 2)
		return 2;
	fd = atoi(argv[1]);
	if (argc > 2 && !strcmp(argv[2], "race"))
		return race(fd);
	if (argc > 2 && !strcmp(argv[2], "noncontig")) {
		uintptr_t brk_end;

		opaque(malloc(1)); /* the brk heap first */
		brk_end = ((uintptr_t)sbrk(0) + 0xfff) & ~(uintptr_t)0xfff;

		if (mmap((void *)brk_end, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
			 MAP_FIXED_NOREPLACE, -1, 0) == MAP_FAILED)
			return 3;
	}
	sem_init(&ready, 0, 0);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t, NULL, worker, (void *)(intptr_t)i);
	for (int i = 0; i < THREADS; i++)
		sem_wait(&ready);
	drain_tcache();
	for (int i = 0; i < 3; i++)
		memset(malloc(300 << 10), 2, 64);
	fill_bins(THREADS, 5000, 9000);
	for (int i = 0; i < 5; i++)
		tc[i] = malloc(100);
	free_into_tcache(tc, 5, THREADS);

	mi = mallinfo2();
	r.arena = mi.arena;
	r.ordblks = mi.ordblks;
	r.smblks = mi.smblks;
	r.hblks = mi.hblks;
	r.hblkhd = mi.hblkhd;
	r.uordblks = mi.uordblks;
	r.fordblks = mi.fordblks;
	r.fsmblks = mi.fsmblks;
	r.keepcost = mi.keepcost;
	for (int i = 0; i <= THREADS; i++) {
		r.tcache_bytes += tc_bytes[i];
		r.tcache_chunks += tc_chunks[i];
	}
	if (write(fd, &r, sizeof(r)) != sizeof(r))
		return 1;
	close(fd);
	for (;;)
		pause();
}
