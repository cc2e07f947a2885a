// SPDX-License-Identifier: GPL-2.0-only
/*
 * make bench (attach): a big glibc heap at rest. Allocates MiB (argv[1]) of 64 KiB blocks in
 * the main arena, touches them, frees every other one (free chunks coalesce into bins
 * between live ones, so glibc cannot trim them), prints its mallinfo2 (arena, uordblks,
 * hblkhd) on one line and waits to be killed.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoull(argv[1], NULL, 10) : 1024, n = mib * 16;
	char **v = malloc(n * sizeof(*v));
	struct mallinfo2 m;

	/* Blocks below the mmap threshold stay in the heap, whatever their number. */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	for (size_t i = 0; v && i < n; i++) {
		v[i] = malloc(64 << 10);
		if (!v[i])
			return 1;
		memset(v[i], (int)i, 64 << 10);
	}
	for (size_t i = 0; v && i < n; i += 2)
		free(v[i]);
	m = mallinfo2();
	printf("%d %zu %zu %zu\n", getpid(), m.arena, m.uordblks, m.hblkhd);
	fflush(stdout);
	for (;;)
		pause();
}
