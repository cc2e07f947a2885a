/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * CPython's object allocator (pymalloc, Objects/obmalloc.c of CPython 3.10 to 3.12), read
 * from outside: 1 MiB arenas of 16 KiB pools, each pool starting with a header that names
 * its size class and counts its blocks in use. A pool is taken for one only when its
 * header holds together: a size class under 512 bytes, the end offset that class gives,
 * the next offset on a block boundary within the pool, no more blocks in use than fit, a
 * free-list head inside the pool on a block boundary. docs/attach.md, "pymalloc".
 */
#ifndef AT_BOOKS_PYMALLOC_H
#define AT_BOOKS_PYMALLOC_H

#include "books.h"

struct tmem;
struct maps_entry;

#define BOOKS_PY_POOL_BYTES (16u << 10)
#define BOOKS_PY_ARENA_BYTES (1u << 20)
#define BOOKS_PY_HEADER_BYTES 48 /* struct pool_header, and the pool's overhead */
/* Pools read at most in one reading (256 MiB of objects): beyond, the books are partial. */
#define BOOKS_PY_MAX_POOLS 16384

/* A pool header that validated. */
struct books_py_pool {
	uint32_t count;	    /* blocks in use */
	uint32_t size;	    /* block size of its class */
	uint32_t capacity;  /* blocks that fit */
	uint32_t carved;    /* blocks ever handed out (below nextoffset): touched */
	uint32_t arena_idx; /* its arena's index in pymalloc's arena table */
};

/* Checks one pool header (BOOKS_PY_HEADER_BYTES read at pool, 16 KiB-aligned): 1 and *p
 * filled when it is a pool's, 0 when not. */
int books_py_parse_pool(const void *hdr, uint64_t pool, struct books_py_pool *p);
/* Whether the process runs CPython: a file named python3* or libpython3* is mapped. */
bool books_py_is_python(const struct maps_entry *maps, size_t nmaps);
/* The books over given maps (sorted by address): nothing when the process is no Python. */
int books_pymalloc_read_maps(struct tmem *t, const struct maps_entry *maps, size_t nmaps,
			     struct books *out);
int books_pymalloc_read(struct tmem *t, int pid, struct books *out);

#endif
