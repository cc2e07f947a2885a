// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer: the allocators' books readers on memory the target controls: the bytes are a
 * 32 MiB-aligned anonymous mapping as mimalloc's and pymalloc's readers find it (pymalloc's
 * in a process that maps python3), and a glibc malloc_state as the scan decodes it. Bounded, partial or refused, never a crash or a hang. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "books.h"
#include "glibc.h"
#include "glibc_layout.h"
#include "mimalloc.h"
#include "procfs.h"
#include "pymalloc.h"
#include "tmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint64_t base = 32ull << 20;
	struct maps_entry e = { .start = base, .end = base + ((size + 4095) & ~4095ul), .prot = 3 };
	struct tmem *t = tmem__from_buf(base, data, size);
	struct glibc_mstate ms;
	struct books b = { 0 };

	if (!t)
		return 0;
	if (size && e.end > e.start) {
		tmem_set_budget(t, 1 << 20);
		books_mimalloc_read_maps(t, &e, 1, &b, NULL);
		books_release(&b);
		{
			struct maps_entry py[2] = {
				{ .start = 0x400000, .end = 0x401000, .prot = 5 },
				e
			};

			strcpy(py[0].path, "/usr/bin/python3");
			if (py[1].end - py[1].start < BOOKS_PY_ARENA_BYTES)
				py[1].end = py[1].start + BOOKS_PY_ARENA_BYTES;
			books_pymalloc_read_maps(t, py, 2, &b);
			books_release(&b);
		}
	}
	if (size >= GL_MS_SIZE) {
		struct glibc_mem mem = { 0 };
		const char *why;

		glibc_mem_add(&mem, base, base + size);
		glibc_mem_sort(&mem);
		glibc_mstate_decode(data, &ms);
		glibc_mstate_check(&ms, base, &mem, &why);
		glibc_mem_release(&mem);
	}
	tmem__free(t);
	return 0;
}
