// SPDX-License-Identifier: GPL-2.0-only
#include "pymalloc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "procfs.h"
#include "tmem.h"

/* struct pool_header (x86-64): ref.count @0 (the low 32 bits of a word), freeblock @8,
 * nextpool @16, prevpool @24, arenaindex @32, szidx @36, nextoffset @40, maxnextoffset @44.
 * Blocks start after the header; the size class szidx holds blocks of (szidx + 1) * 16. */
#define PY_ALIGN 16u
#define PY_CLASSES 32u /* 512-byte threshold */

int books_py_parse_pool(const void *hdr, uint64_t pool, struct books_py_pool *p)
{
	uint32_t count = books_ld32(hdr, 0), szidx = books_ld32(hdr, 36),
		 next = books_ld32(hdr, 40), maxnext = books_ld32(hdr, 44), size;
	uint64_t freeblock = books_ld64(hdr, 8);

	if (szidx >= PY_CLASSES)
		return 0;
	size = (szidx + 1) * PY_ALIGN;
	if (maxnext != BOOKS_PY_POOL_BYTES - size || next < BOOKS_PY_HEADER_BYTES + size ||
	    next > maxnext + size || (next - BOOKS_PY_HEADER_BYTES) % size)
		return 0;
	if (count > (BOOKS_PY_POOL_BYTES - BOOKS_PY_HEADER_BYTES) / size)
		return 0;
	if (freeblock &&
	    (freeblock < pool + BOOKS_PY_HEADER_BYTES || freeblock >= pool + BOOKS_PY_POOL_BYTES ||
	     (freeblock - pool - BOOKS_PY_HEADER_BYTES) % size))
		return 0;
	*p = (struct books_py_pool){
		.count = count,
		.size = size,
		.capacity = (BOOKS_PY_POOL_BYTES - BOOKS_PY_HEADER_BYTES) / size,
		.carved = (next - BOOKS_PY_HEADER_BYTES) / size,
		.arena_idx = books_ld32(hdr, 32),
	};
	if (p->carved > p->capacity)
		p->carved = p->capacity;
	if (p->count > p->carved)
		return 0; /* more in use than were ever handed out */
	return 1;
}

bool books_py_is_python(const struct maps_entry *maps, size_t nmaps)
{
	for (size_t i = 0; i < nmaps; i++) {
		const char *base = strrchr(maps[i].path, '/');

		if (base &&
		    (!strncmp(base + 1, "python3", 7) || !strncmp(base + 1, "libpython3", 10)))
			return true;
	}
	return false;
}

/* The arenas seen, by index (a pool names its arena): counted once each. */
struct arena_seen {
	uint32_t *idx;
	size_t n, cap;
};

static void note_arena(struct arena_seen *a, uint32_t idx)
{
	for (size_t i = a->n; i > 0; i--)
		if (a->idx[i - 1] == idx)
			return;
	if (!at_grow(&a->idx, a->n, &a->cap, sizeof(*a->idx), 1))
		a->idx[a->n++] = idx;
}

int books_pymalloc_read_maps(struct tmem *t, const struct maps_entry *maps, size_t nmaps,
			     struct books *out)
{
	struct arena_seen arenas = { 0 };
	uint64_t pools = 0, empty = 0, blocks = 0, touched_free = 0;
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->allocator = "pymalloc";
	if (!books_py_is_python(maps, nmaps))
		return 0;
	for (size_t i = 0; i < nmaps && !err; i++) {
		const struct maps_entry *e = &maps[i];
		uint64_t p =
			(e->start + BOOKS_PY_POOL_BYTES - 1) & ~(uint64_t)(BOOKS_PY_POOL_BYTES - 1);

		/* Arenas are anonymous private read-write mappings of 1 MiB (neighbours merge
		 * into larger ones). */
		if (e->path[0] || e->shared || e->prot != (PROT_READ | PROT_WRITE) ||
		    e->end - e->start < BOOKS_PY_ARENA_BYTES)
			continue;
		for (; p + BOOKS_PY_POOL_BYTES <= e->end; p += BOOKS_PY_POOL_BYTES) {
			unsigned char hdr[BOOKS_PY_HEADER_BYTES];
			struct books_py_pool pool;
			int r = tmem_read(t, p, hdr, sizeof(hdr));

			if (r == -ENOSPC) {
				books_partial(out, "read budget spent");
				err = 0;
				goto done;
			}
			if (r || !books_py_parse_pool(hdr, p, &pool))
				continue; /* not resident (never used), or no pool */
			if (pools >= BOOKS_PY_MAX_POOLS) {
				books_partial(out, "more than %u pools", BOOKS_PY_MAX_POOLS);
				goto done;
			}
			pools++;
			empty += !pool.count;
			blocks += pool.count;
			out->live_bytes += (uint64_t)pool.count * pool.size;
			out->free_bytes += (uint64_t)(pool.capacity - pool.count) * pool.size;
			touched_free += (uint64_t)(pool.carved - pool.count) * pool.size;
			note_arena(&arenas, pool.arena_idx);
			err = books_add_range(out, p, p + BOOKS_PY_POOL_BYTES, BOOKS_EV_HEADER, 0);
		}
	}
done:
	/* Blocks below a pool's next offset were handed out once, so their pages were
	 * written: what pymalloc keeps in RAM. */
	out->free_resident_bytes = touched_free;
	out->mapped_bytes = (uint64_t)arenas.n * BOOKS_PY_ARENA_BYTES;
	books_set_count(out, "arenas", arenas.n);
	books_set_count(out, "pools", pools);
	books_set_count(out, "pools_empty", empty);
	books_set_count(out, "blocks", blocks);
	free(arenas.idx);
	return err;
}

int books_pymalloc_read(struct tmem *t, int pid, struct books *out)
{
	struct maps_entry *v;
	size_t n;
	int err = procfs_read_maps_all(pid, &v, &n);

	if (!err)
		err = books_pymalloc_read_maps(t, v, n, out);
	free(v);
	return err;
}
