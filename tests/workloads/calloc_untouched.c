// SPDX-License-Identifier: GPL-2.0-only
/* Live blocks on pages never touched: calloc'd blocks above the mmap threshold come fresh
 * from mmap, already zero, so glibc's calloc writes nothing but their header. They are live
 * (the application holds them) but not resident: resident - live is far below 0, and the
 * retained figure must say 0, not a negative number (issue 13, item 4). A few small blocks
 * are touched on the brk heap. The truth: the blocks' usable sizes and how much of the big
 * ones is resident (mincore). */
#include <malloc.h>

#include "truth.h"

#define BIG 4
#define BIG_BYTES (32u << 20)
#define SMALL 64

int main(void)
{
	static void *big[BIG], *small[SMALL];
	uint64_t live = 0, big_resident = 0;

	truth_open();
	truth_go();
	for (int i = 0; i < BIG; i++) {
		big[i] = calloc(1, BIG_BYTES);
		if (!big[i])
			return 1;
		opaque(big[i]);
		live += malloc_usable_size(big[i]);
	}
	for (int i = 0; i < SMALL; i++) {
		small[i] = malloc(1000);
		if (!small[i])
			return 1;
		memset(small[i], 1, 1000);
		live += malloc_usable_size(small[i]);
	}
	/* An mmapped chunk's block starts 16 bytes into its first page. */
	for (int i = 0; i < BIG; i++)
		big_resident += resident((void *)((uintptr_t)big[i] & ~(uintptr_t)4095), BIG_BYTES);
	truth_u64("allocs", BIG + SMALL);
	truth_u64("live_bytes", live);
	truth_u64("live_objects", BIG + SMALL);
	truth_u64("big_bytes", (uint64_t)BIG * BIG_BYTES);
	truth_u64("big_resident", big_resident);
	truth_done();
	for (int i = 0; i < BIG; i++)
		free(big[i]);
	for (int i = 0; i < SMALL; i++)
		free(small[i]);
	return 0;
}
