// SPDX-License-Identifier: GPL-2.0-only
/* jemalloc (-ljemalloc, replacing malloc): large allocations, free, a forced purge through
 * mallctl. The truth is jemalloc's own statistics. */
#include <jemalloc/jemalloc.h>

#include "truth.h"

#define N 1000

static uint64_t stat(const char *name)
{
	size_t v = 0, sz = sizeof(v);
	uint64_t epoch = 1;
	size_t esz = sizeof(epoch);

	mallctl("epoch", &epoch, &esz, &epoch, esz);
	if (mallctl(name, &v, &sz, NULL, 0))
		exit(91);
	return v;
}

int main(void)
{
	static void *p[N];

	opaque(malloc(1));
	truth_go();
	for (int i = 0; i < N; i++) {
		p[i] = malloc(64 * 1024);
		memset(p[i], 1, 64 * 1024);
	}
	for (int i = 0; i < N; i++)
		free(p[i]);
	mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
	mallctl("arena.4096.purge", NULL, NULL, NULL, 0);
	/* Allocated again after the purge: resident again. */
	for (int i = 0; i < N / 4; i++) {
		p[i] = malloc(64 * 1024);
		memset(p[i], 1, 64 * 1024);
	}
	truth_u64("stats_allocated", stat("stats.allocated"));
	truth_u64("stats_active", stat("stats.active"));
	truth_u64("stats_mapped", stat("stats.mapped"));
	truth_u64("stats_retained", stat("stats.retained"));
	truth_u64("stats_resident", stat("stats.resident"));
	truth_u64("stats_metadata", stat("stats.metadata"));
	truth_done();
	return 0;
}
