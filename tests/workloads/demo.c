// SPDX-License-Identifier: GPL-2.0-only
/* The demo workload: one process, two allocators. Linked with jemalloc, whose malloc and
 * mallocx serve a cache, while the rest of the program uses glibc's allocator through its
 * exported __libc_malloc/__libc_free, so that each allocator's memory shows apart. Both
 * grow, then give part back in their own ways. */
#include <jemalloc/jemalloc.h>
#include <malloc.h>

#include "truth.h"

#define MiB (1ull << 20)
#define SMALL 16384
#define BIG 8
#define CACHE 400

/* glibc's allocator under its own names (jemalloc took the plain ones). */
extern void *__libc_malloc(size_t size);
extern void __libc_free(void *p);

static void say(const char *msg)
{
	fprintf(stderr, "demo: %s\n", msg);
	usleep(700 * 1000); /* long enough for a residency sample */
}

int main(void)
{
	static void *small[SMALL], *cache[CACHE];
	void *big[BIG];

	for (int i = 0; i < SMALL; i++) {
		small[i] = __libc_malloc(4000);
		memset(small[i], 1, 4000);
	}
	for (int i = 0; i < BIG; i++) {
		big[i] = __libc_malloc(2 * MiB);
		memset(big[i], 2, 2 * MiB);
	}
	say("glibc: 64 MiB in 4 KB blocks (brk heap) and 8 x 2 MiB blocks (mmap)");
	for (int i = 0; i < CACHE; i++) {
		cache[i] = mallocx(256 * 1024, 0);
		memset(cache[i], 3, 256 * 1024);
	}
	say("jemalloc: 100 MiB cache in 256 KiB blocks");

	for (int i = SMALL / 2; i < SMALL; i++)
		__libc_free(small[i]);
	for (int i = 0; i < BIG; i++)
		__libc_free(big[i]);
	say("glibc: freed the newer half of the heap (brk shrinks) and the big blocks (munmap)");
	for (int i = 0; i < CACHE; i++)
		dallocx(cache[i], 0);
	say("jemalloc: freed the cache: coalesced extents past its 8 MiB oversize threshold are "
	    "purged at once (MADV_DONTNEED), the rest stays resident as dirty pages until decay "
	    "(10 s); the address space is retained, never unmapped");
	for (int i = 0; i < SMALL / 2; i++)
		if (i % 4)
			__libc_free(small[i]);
	malloc_trim(0);
	say("glibc: freed 3 of 4 old blocks and called malloc_trim (MADV_DONTNEED holes)");
	usleep(1500 * 1000); /* alive when make demo's arenatrace -d reports */
	return 0;
}
