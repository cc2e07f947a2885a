// SPDX-License-Identifier: GPL-2.0-only
/*
 * An madvise storm (issue 12 item 14), the shape of a malloc/free loop in glibc's thread
 * arenas and malloc_trim: THREADS threads each give back one page of their own 64 KiB region
 * with madvise(MADV_DONTNEED) (touching one page in 16 first), ITERS times, at RATE calls a second per thread (0: as fast
 * as they can). Truth: the calls made, and their pace. Usage: madvise_storm THREADS ITERS RATE
 */
#include <pthread.h>
#include <time.h>

#include "truth.h"

static long iters, rate;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *storm(void *arg)
{
	char *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t start = now_ns();

	(void)arg;
	if (p == MAP_FAILED)
		exit(1);
	for (long i = 0; i < iters; i++) {
		if (i % 16 == 0)
			p[(i / 16 % 16) * 4096] = 1; /* most ranges are given back already, as in
						       * malloc_trim's walk */
		if (madvise(p + (i % 16) * 4096, 4096, MADV_DONTNEED))
			exit(2);
		/* Paced: call i is due at start + i / rate. */
		if (rate)
			while (now_ns() < start + (uint64_t)i * 1000000000ull / (uint64_t)rate)
				usleep(50);
	}
	munmap(p, 65536);
	return NULL;
}

int main(int argc, char **argv)
{
	long threads = argc > 1 ? atol(argv[1]) : 2;
	pthread_t t[64];
	uint64_t a, b;

	iters = argc > 2 ? atol(argv[2]) : 100000;
	rate = argc > 3 ? atol(argv[3]) : 0;
	if (threads < 1 || threads > 64 || iters < 1 || rate < 0)
		return 3;
	truth_open();
	truth_go();
	a = now_ns();
	for (long i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, storm, NULL);
	for (long i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	b = now_ns();
	truth_u64("madvise", (uint64_t)(threads * iters));
	truth_u64("elapsed_ns", b - a);
	truth_done();
	return 0;
}
