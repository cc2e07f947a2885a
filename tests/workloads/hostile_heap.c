// SPDX-License-Identifier: GPL-2.0-only
/*
 * A target that lies to anyone reading its books (issue 11, safety): it frees blocks into
 * glibc's bins, then, never calling malloc again, keeps rewriting those free chunks with
 * garbage (size words past any mapping, fd and bk pointing at themselves, at each other in
 * loops, at unmapped or kernel addresses) and the main arena's bins with the same, while a
 * second thread maps and unmaps 32 MiB-aligned regions that start like allocator headers.
 * It runs until killed; arenatrace reading it must neither crash, hang nor name an owner
 * from garbage. AT_GO is not used: it starts at once and prints its pid when set up.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define N 256

static uint64_t *freed[N];

static uint64_t rnd(void)
{
	static uint64_t x = 88172645463325252ull;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

static void *remapper(void *arg)
{
	(void)arg;
	for (;;) {
		/* 64 MiB reserved, the 32 MiB-aligned middle written like a header. */
		char *r = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		uint64_t *h;

		if (r == MAP_FAILED)
			continue;
		h = (uint64_t *)(((uintptr_t)r + (32 << 20) - 1) & ~(uintptr_t)((32 << 20) - 1));
		for (int i = 0; i < 512; i++)
			h[i] = i % 3 ? rnd() : (uint64_t)(uintptr_t)h;
		usleep(200);
		munmap(r, 64 << 20);
	}
	return NULL;
}

int main(void)
{
	void *keep[N];
	pthread_t t;

	for (int i = 0; i < N; i++) {
		keep[i] = malloc(4096 + 64 * (size_t)i); /* too big for tcache and fastbins */
		freed[i] = malloc(4096 + 64 * (size_t)i);
	}
	for (int i = 0; i < N; i++)
		free(freed[i]); /* unsorted, small and large bins */
	if (pthread_create(&t, NULL, remapper, NULL))
		return 1;
	printf("%d\n", getpid());
	fflush(stdout);
	for (uint64_t round = 0;; round++) {
		for (int i = 0; i < N; i++) {
			uint64_t *c = freed[i] - 2; /* the chunk header */

			switch ((round + (uint64_t)i) % 5) {
			case 0: /* a loop onto itself */
				c[2] = c[3] = (uint64_t)(uintptr_t)c;
				break;
			case 1: /* a loop between two chunks */
				c[2] = c[3] = (uint64_t)(uintptr_t)(freed[(i + 1) % N] - 2);
				break;
			case 2: /* sizes past any mapping */
				c[1] = rnd() | 1;
				break;
			case 3: /* pointers into nowhere, or the kernel */
				c[2] = 0xffff880000000000ull + (rnd() & 0xffff0);
				c[3] = rnd() & 0x00007ffffffffff0ull;
				break;
			default: /* random words everywhere */
				for (int k = 1; k < 6; k++)
					c[k] = rnd();
			}
		}
		(void)keep;
		usleep(100);
	}
}
