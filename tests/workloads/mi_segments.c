// SPDX-License-Identifier: GPL-2.0-only
/* mimalloc (-lmimalloc, replacing malloc): 96 MiB of 16 KiB blocks over several segments, a
 * 40 MiB huge block (its own segment, unmapped on free), then mi_collect(true). */
#include <mimalloc.h>

#include "truth.h"

#define N 6144

int main(void)
{
	static void *p[N];
	void *huge;

	opaque(malloc(1));
	truth_go();
	for (int i = 0; i < N; i++) {
		p[i] = mi_malloc(16 * 1024);
		memset(p[i], 1, 16 * 1024);
	}
	huge = mi_malloc(40u << 20);
	memset(huge, 2, 40u << 20);
	mi_free(huge);
	for (int i = 0; i < N; i++)
		mi_free(p[i]);
	mi_collect(true);
	truth_u64("blocks", N);
	truth_done();
	return 0;
}
