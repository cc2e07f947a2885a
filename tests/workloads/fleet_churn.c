// SPDX-License-Identifier: GPL-2.0-only
/*
 * One of N processes that take turns being large, for the fleet exporter's test: usage
 * fleet_churn INDEX N PHASE_S PHASES. In phase k the process whose INDEX is k mod N holds a
 * 64 MiB ballast in RAM; the others give it back (MADV_DONTNEED) down to (INDEX + 1) x 4
 * MiB, so the processes with the most RSS change at every phase. Throughout, it maps,
 * touches and unmaps 256 KiB every 20 ms. All its own syscalls (the "app" allocator); the
 * truth has the bytes it unmapped and gave back with MADV_DONTNEED.
 */
#include <time.h>

#include "truth.h"

#define MiB (1024ul * 1024)
#define BIG (64 * MiB)
#define CHUNK (256 * 1024ul)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int idx, n, phases;
	double phase_s, end;
	uint64_t munmapped = 0, dontneed = 0;
	size_t small;
	char *ballast;

	if (argc != 5)
		return 2;
	idx = atoi(argv[1]);
	n = atoi(argv[2]);
	phase_s = atof(argv[3]);
	phases = atoi(argv[4]);
	small = (size_t)(idx + 1) * 4 * MiB;
	ballast = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ballast == MAP_FAILED || small >= BIG)
		return 3;
	memset(ballast, 1, small);
	truth_open();
	truth_go();
	for (int k = 0; k < phases; k++) {
		if (k % n == idx) {
			memset(ballast, 1, BIG);
		} else {
			madvise(ballast + small, BIG - small, MADV_DONTNEED);
			dontneed += BIG - small;
		}
		end = now_s() + phase_s;
		while (now_s() < end) {
			char *p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED)
				return 4;
			memset(p, 2, CHUNK);
			munmap(p, CHUNK);
			munmapped += CHUNK;
			usleep(20000);
		}
	}
	truth_u64("munmap_bytes", munmapped);
	truth_u64("dontneed_bytes", dontneed);
	truth_done();
	return 0;
}
