// SPDX-License-Identifier: GPL-2.0-only
/*
 * jemalloc retention for the findings (truth.h protocol; run with MALLOC_CONF to choose
 * jemalloc's purging), by mode:
 *   idle   32 MiB of 64 KiB blocks allocated, touched and freed, then the process idles
 *   mixed  the same, plus 40 MB of glibc blocks (through __libc_malloc) freed but the last
 *          one: two allocators each keep unused memory
 */
#include <jemalloc/jemalloc.h>

#include "truth.h"

extern void *__libc_malloc(size_t size);
extern void __libc_free(void *p);

enum { NJE = 512, NGL = 40000 };
static void *je[NJE], *gl[NGL];

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "idle";

	truth_open();
	truth_go();
	for (int i = 0; i < NJE; i++) {
		je[i] = malloc(65536);
		memset(je[i], 1, 65536);
	}
	for (int i = 0; i < NJE; i++)
		free(je[i]);
	if (!strcmp(mode, "mixed")) {
		for (int i = 0; i < NGL; i++) {
			gl[i] = __libc_malloc(1000);
			memset(gl[i], 1, 1000);
		}
		for (int i = 0; i < NGL - 1; i++)
			__libc_free(gl[i]);
	}
	/* Idle: no allocator call from here on, so no decay runs in jemalloc. */
	usleep(800000);
	truth_u64("freed", (uint64_t)NJE * 65536);
	truth_done();
	return 0;
}
