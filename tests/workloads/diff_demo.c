// SPDX-License-Identifier: GPL-2.0-only
/*
 * make demo's allocator comparison (arenatrace diff): a service's churn through malloc, run
 * as is (glibc) or with jemalloc or mimalloc preloaded. ROUNDS rounds each allocate 20,000
 * blocks of 64 bytes to 4 KiB, write them, keep one in ten and free the rest; then the
 * process holds what it kept for HOLD_S seconds (a sample of the final state). Truth: the
 * bytes kept (requested sizes). Usage: diff_demo [ROUNDS [HOLD_S]]
 */
#include <string.h>

#include "truth.h"

enum { PER_ROUND = 20000 };

static uint32_t rnd = 12345;

static uint32_t next(void)
{
	rnd = rnd * 1103515245u + 12345u;
	return rnd >> 8;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 8;
	int hold_s = argc > 2 ? atoi(argv[2]) : 2;
	char **kept = calloc((size_t)rounds * PER_ROUND / 10 + 1, sizeof(*kept));
	char **batch = calloc(PER_ROUND, sizeof(*batch));
	uint64_t kept_bytes = 0;
	size_t nkept = 0;

	if (!kept || !batch || rounds < 1)
		return 2;
	truth_open();
	truth_go();
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < PER_ROUND; i++) {
			size_t size = 64 + next() % 4033;

			batch[i] = malloc(size);
			if (!batch[i])
				return 1;
			memset(batch[i], r, size);
			if (i % 10 == 0) {
				kept[nkept++] = batch[i];
				kept_bytes += size;
				batch[i] = NULL;
			}
		}
		for (int i = 0; i < PER_ROUND; i++)
			free(batch[i]);
		usleep(100000);
	}
	truth_u64("kept_bytes", kept_bytes);
	truth_u64("kept_blocks", nkept);
	truth_done();
	sleep((unsigned)hold_s);
	return kept[0][0] == 0 ? 0 : 3;
}
