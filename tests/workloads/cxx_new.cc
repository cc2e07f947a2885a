// SPDX-License-Identifier: GPL-2.0-only
/* C++ new and delete, scalar, array, sized and aligned. Built twice: against glibc
 * (libstdc++'s operator new calls malloc) and against jemalloc (which exports its own
 * operators). Every new is one allocation and every delete one free, whoever serves them. */
#include <malloc.h>
#include <new>

extern "C" {
#include "truth.h"
}

struct alignas(64) Wide {
	char bytes[200];
};

int main()
{
	struct heap_counts c = {};
	int *one, *many[20];
	Wide *w;

	opaque(malloc(1));
	truth_open();
	truth_go();
	one = new int(7);
	counted_alloc(&c, sizeof(int), malloc_usable_size(one));
	for (int i = 0; i < 20; i++) {
		many[i] = new int[100 + i];
		counted_alloc(&c, (100 + i) * sizeof(int), malloc_usable_size(many[i]));
	}
	w = new Wide;
	counted_alloc(&c, sizeof(Wide), malloc_usable_size(w));
	counted_free(&c, malloc_usable_size(one));
	delete one;
	for (int i = 0; i < 10; i++) {
		counted_free(&c, malloc_usable_size(many[i]));
		delete[] many[i];
	}
	counted_free(&c, malloc_usable_size(w));
	delete w;
	opaque(many);
	truth_counts(&c);
	truth_done();
	return 0;
}
