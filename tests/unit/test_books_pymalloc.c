// SPDX-License-Identifier: GPL-2.0-only
/* pymalloc's books from outside (books/pymalloc.c): pool headers as CPython 3.11 writes them
 * (Objects/obmalloc.c's init_pool and its allocation path), checked and summed over made-up
 * arenas; headers that do not hold together are no pools. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "procfs.h"
#include "pymalloc.h"
#include "tmem.h"

#define POOL BOOKS_PY_POOL_BYTES
#define BASE 0x7f0000000000ull

/* A pool header of class szidx with count blocks in use, carved blocks handed out so far
 * and the free list at block free_at (-1: none), in arena idx. */
static void pool_at(unsigned char *mem, uint64_t off, uint32_t szidx, uint32_t count,
		    uint32_t carved, int free_at, uint32_t idx)
{
	uint32_t size = (szidx + 1) * 16, next = 48 + carved * size, maxnext = POOL - size;
	uint64_t freeblock = free_at < 0 ? 0 : BASE + off + 48 + (uint64_t)free_at * size;
	uint64_t word = count;

	memcpy(mem + off, &word, 8);
	memcpy(mem + off + 8, &freeblock, 8);
	memcpy(mem + off + 32, &idx, 4);
	memcpy(mem + off + 36, &szidx, 4);
	memcpy(mem + off + 40, &next, 4);
	memcpy(mem + off + 44, &maxnext, 4);
}

static void test_parse(void **state)
{
	unsigned char *mem = calloc(1, POOL);
	struct books_py_pool p;

	(void)state;
	/* A fresh pool of 32-byte blocks: one block handed out, the next free, the one
	 * after that at nextoffset. */
	pool_at(mem, 0, 1, 1, 2, 1, 3);
	assert_int_equal(books_py_parse_pool(mem, BASE, &p), 1);
	assert_int_equal(p.size, 32);
	assert_int_equal(p.count, 1);
	assert_int_equal(p.capacity, (POOL - 48) / 32);
	assert_int_equal(p.carved, 2);
	assert_int_equal(p.arena_idx, 3);
	/* Full: nextoffset past maxnextoffset, no free block. */
	pool_at(mem, 0, 31, (POOL - 48) / 512, (POOL - 48) / 512, -1, 0);
	assert_int_equal(books_py_parse_pool(mem, BASE, &p), 1);
	assert_int_equal(p.carved, p.capacity);
	/* Not pools: zeros, a class past 512 bytes, a wrong end offset, a next offset off a
	 * block boundary, a free block outside or off a boundary, more in use than carved. */
	memset(mem, 0, 48);
	assert_int_equal(books_py_parse_pool(mem, BASE, &p), 0);
	pool_at(mem, 0, 32, 1, 2, 1, 0);
	assert_int_equal(books_py_parse_pool(mem, BASE, &p), 0);
	pool_at(mem, 0, 1, 1, 2, 1, 0);
	memcpy(mem + 44, &(uint32_t){ POOL - 16 }, 4);
	assert_int_equal(books_py_parse_pool(mem, BASE, &p), 0);
	pool_at(mem, 0, 1, 1, 2, 1, 0);
	memcpy(mem + 40, &(uint32_t){ 48 + 33 }, 4);
	assert_int_equal(books_py_parse_pool(mem, BASE, &p), 0);
	pool_at(mem, 0, 1, 1, 2, 1, 0);
	memcpy(mem + 8, &(uint64_t){ BASE + POOL }, 8);
	assert_int_equal(books_py_parse_pool(mem, BASE, &p), 0);
	memcpy(mem + 8, &(uint64_t){ BASE + 48 + 8 }, 8);
	assert_int_equal(books_py_parse_pool(mem, BASE, &p), 0);
	pool_at(mem, 0, 1, 5, 2, -1, 0);
	assert_int_equal(books_py_parse_pool(mem, BASE, &p), 0);
	free(mem);
}

/* Two arenas' worth of anonymous memory in a Python process: pools of three classes in
 * arena 0, one in arena 1, one empty, garbage between; live is the blocks in use times
 * their sizes, free the rest of the pools, retained the free blocks once handed out. */
static void test_read(void **state)
{
	const size_t len = 2u << 20;
	unsigned char *mem = calloc(1, len);
	struct maps_entry maps[2] = {
		{ .start = 0x400000, .end = 0x401000, .prot = PROT_READ | PROT_EXEC },
		{ .start = BASE, .end = BASE + len, .prot = PROT_READ | PROT_WRITE },
	};
	struct books b;
	struct tmem *t;
	uint64_t live = 0, free_bytes = 0, touched = 0;
	const struct {
		uint32_t szidx, count, carved, idx;
	} pools[] = { { 0, 100, 200, 0 },
		      { 3, 255, 255, 0 },
		      { 31, 3, 10, 0 },
		      { 7, 0, 20, 0 },
		      { 1, 40, 40, 1 } };

	(void)state;
	strcpy(maps[0].path, "/usr/bin/python3.11");
	for (size_t i = 0; i < 5; i++) {
		uint32_t size = (pools[i].szidx + 1) * 16, cap = (POOL - 48) / size;

		pool_at(mem, (i < 4 ? i : 70) * POOL, pools[i].szidx, pools[i].count,
			pools[i].carved, -1, pools[i].idx);
		live += (uint64_t)pools[i].count * size;
		free_bytes += (uint64_t)(cap - pools[i].count) * size;
		touched += (uint64_t)(pools[i].carved - pools[i].count) * size;
	}
	memset(mem + 5 * POOL, 0x41, 48); /* garbage: no pool */
	t = tmem__from_buf(BASE, mem, len);
	assert_non_null(t);
	assert_int_equal(books_pymalloc_read_maps(t, maps, 2, &b), 0);
	assert_string_equal(b.allocator, "pymalloc");
	assert_int_equal(b.live_bytes, live);
	assert_int_equal(b.free_bytes, free_bytes);
	assert_int_equal(b.free_resident_bytes, touched);
	assert_int_equal(b.mapped_bytes, 2u << 20); /* arenas 0 and 1 */
	assert_int_equal(b.nranges, 5);
	assert_int_equal(b.ranges[4].start, BASE + 70 * POOL);
	assert_false(b.partial);
	books_release(&b);
	/* No Python mapped: nothing read. */
	strcpy(maps[0].path, "/usr/bin/perl");
	assert_int_equal(books_pymalloc_read_maps(t, maps, 2, &b), 0);
	assert_int_equal(b.nranges, 0);
	assert_int_equal(b.live_bytes, 0);
	books_release(&b);
	tmem__free(t);
	free(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
