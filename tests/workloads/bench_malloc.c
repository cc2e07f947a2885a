// SPDX-License-Identifier: GPL-2.0-only
/* Benchmark: malloc/free pairs of mixed small sizes, with a window of live objects so that
 * the heap grows and shrinks; prints the nanoseconds per pair measured inside the process.
 * Built at -O0 and the pointers pass through opaque(), so no pair is optimised away. */
#include <time.h>

#include "truth.h"

#define WINDOW 4096

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 5000000;
	static void *live[WINDOW];
	struct timespec a, b;
	unsigned int seed = 12345;

	wait_for("AT_GO"); /* a tracer that attaches to the running process */
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < iters; i++) {
		unsigned int slot = (seed = seed * 1103515245u + 12345u) % WINDOW;

		free(live[slot]);
		live[slot] = malloc(16 + (seed >> 8) % 4000);
		opaque(live[slot]);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / iters);
	return 0;
}
