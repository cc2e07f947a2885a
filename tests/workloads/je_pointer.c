// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pointer evidence: jemalloc maps its first extents before arenatrace attaches (one block
 * allocated and freed at start-up); after the go signal it hands out 2,000 small blocks
 * from them, with no syscall on that memory (run with decay off), and holds them. Only the
 * pointers it returns can tell whose that memory is.
 */
#include <stdlib.h>

#include "truth.h"

#define N 2000

static void *held[N];

int main(void)
{
	void *p = malloc(64);

	opaque(p);
	free(p);
	truth_open();
	truth_go();
	for (int i = 0; i < N; i++) {
		held[i] = malloc(64);
		opaque(held[i]);
	}
	truth_u64("blocks", N);
	truth_done();
	wait_for("AT_HOLD");
	return 0;
}
