// SPDX-License-Identifier: GPL-2.0-only
/* Three allocation sites with known outstanding bytes, for --stacks: one holds 10 large
 * blocks, one 100 small ones, and one frees all it allocates. The comments "at:NAME" mark
 * the lines the stacks' frames must name (tests/e2e/test_stacks.py reads them here). */
#include <malloc.h>

#include "truth.h"

__attribute__((noinline)) static void *site_big(void)
{
	return malloc(100000); /* at:big */
}

__attribute__((noinline)) static void *site_small(void)
{
	return malloc(1000); /* at:small */
}

__attribute__((noinline)) static void *site_freed(void)
{
	return malloc(5000);
}

int main(void)
{
	static void *big[10], *small[100];
	uint64_t big_bytes = 0, small_bytes = 0;

	opaque(malloc(1));
	truth_open();
	truth_go();
	for (int i = 0; i < 10; i++) {
		big[i] = site_big(); /* at:main_big */
		big_bytes += malloc_usable_size(big[i]);
	}
	for (int i = 0; i < 100; i++) {
		small[i] = site_small(); /* at:main_small */
		small_bytes += malloc_usable_size(small[i]);
	}
	for (int i = 0; i < 5; i++)
		free(site_freed());
	opaque(big);
	opaque(small);
	truth_u64("big_bytes", big_bytes);
	truth_u64("small_bytes", small_bytes);
	truth_done();
	return 0;
}
