// SPDX-License-Identifier: GPL-2.0-only
/* Three allocation sites with known outstanding bytes, for --stacks: one holds 10 large
 * blocks, one 100 small ones, and one frees all it allocates. The comments "at:NAME" mark
 * the lines the stacks' frames must name (tests/e2e/test_stacks.py reads them here).
 * With AT_REEXEC set, it first allocates 3 blocks it never frees and execs itself: the
 * program after the exec has the process, and those blocks' stacks mean nothing in it. */
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

__attribute__((noinline)) static void *site_before_exec(void)
{
	return malloc(7000);
}

int main(int argc, char **argv)
{
	static void *big[10], *small[100];
	uint64_t big_bytes = 0, small_bytes = 0;

	(void)argc;
	if (getenv("AT_REEXEC")) {
		static char self[4096];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		for (int i = 0; i < 3; i++)
			opaque(site_before_exec());
		unsetenv("AT_REEXEC");
		if (n > 0)
			execv(self, argv);
		return 98;
	}

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
