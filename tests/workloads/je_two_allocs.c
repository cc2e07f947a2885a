// SPDX-License-Identifier: GPL-2.0-only
/* Two allocators in one process: linked with jemalloc (malloc/free are jemalloc's), and
 * glibc's allocator reached through its exported __libc_* names, as a library that kept
 * glibc would. Each is counted apart. */
#include <jemalloc/jemalloc.h>
#include <malloc.h>

#include "truth.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

/* glibc's usable size, from its chunk header (malloc_usable_size is jemalloc's here). */
static uint64_t glibc_usable(void *p)
{
	uint64_t word = ((uint64_t *)p)[-1], size = word & ~7ull;

	return size - ((word & 2) ? 16 : 8);
}

int main(void)
{
	struct heap_counts je = { 0 }, gl = { 0 };
	void *a[100], *b[60], *q;

	opaque(malloc(1));
	opaque(__libc_malloc(1));
	truth_open();
	truth_go();
	for (int i = 0; i < 100; i++) {
		a[i] = malloc(100 + i * 10);
		counted_alloc(&je, 100 + i * 10, malloc_usable_size(a[i]));
	}
	for (int i = 0; i < 60; i++) {
		b[i] = i % 2 ? __libc_malloc(200 + i) : __libc_calloc(2, 100 + i);
		counted_alloc(&gl, i % 2 ? 200 + i : 2 * (100 + i), glibc_usable(b[i]));
	}
	{
		uint64_t old = glibc_usable(b[0]);

		q = __libc_realloc(b[0], 5000);
		counted_free(&gl, old);
		counted_alloc(&gl, 5000, glibc_usable(q));
		b[0] = q;
	}
	for (int i = 0; i < 50; i++) {
		counted_free(&je, malloc_usable_size(a[i]));
		free(a[i]);
	}
	for (int i = 1; i < 30; i++) {
		counted_free(&gl, glibc_usable(b[i]));
		__libc_free(b[i]);
	}
	mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
	truth_u64("je_allocs", je.allocs);
	truth_u64("je_frees", je.frees);
	truth_u64("je_live_bytes", je.live_bytes);
	truth_u64("gl_allocs", gl.allocs);
	truth_u64("gl_frees", gl.frees);
	truth_u64("gl_live_bytes", gl.live_bytes);
	truth_done();
	return 0;
}
