// SPDX-License-Identifier: GPL-2.0-only
/* Frees of blocks allocated before arenatrace attached (-p): OLD blocks are made before the
 * go signal, then freed after it (one through realloc, which frees it too), and NEW blocks
 * are made and kept. Those frees are of blocks the trace never saw allocated: they must be
 * counted apart, not subtracted from live, which stays exactly the new blocks (issue 13,
 * item 4; it was negative). */
#include <malloc.h>

#include "truth.h"

#define OLD 1000
#define NEW 10

int main(void)
{
	static void *old[OLD], *fresh[NEW];
	uint64_t live = 0;
	void *grown;

	for (int i = 0; i < OLD; i++) {
		old[i] = malloc(1000);
		if (!old[i])
			return 1;
		memset(old[i], 1, 1000);
	}
	truth_open();
	truth_go();
	/* The first old block grows through realloc: a free of an old block and a new one. */
	grown = realloc(old[0], 100000);
	if (!grown)
		return 1;
	opaque(grown);
	live += malloc_usable_size(grown);
	for (int i = 1; i < OLD; i++)
		free(old[i]);
	for (int i = 0; i < NEW; i++) {
		fresh[i] = malloc(100);
		if (!fresh[i])
			return 1;
		opaque(fresh[i]);
		live += malloc_usable_size(fresh[i]);
	}
	truth_u64("allocs", NEW + 1);
	truth_u64("frees", 0);
	truth_u64("old_frees", OLD);
	truth_u64("live_bytes", live);
	truth_u64("live_objects", NEW + 1);
	truth_done();
	return 0;
}
