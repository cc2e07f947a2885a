// SPDX-License-Identifier: GPL-2.0-only
/*
 * jemalloc's ranges: the base blocks of every arena's base (its metadata, each block one
 * mapping of its own) and the extents its radix tree (arena_emap_global) maps, walked from
 * the process's anonymous mappings: for each page, the root slot of its GiB, the leaf
 * element of its page, the edata_t it names. An extent counts only when its edata_t agrees
 * with the leaf (state) and covers the page, and it lies inside the same run of anonymous
 * mappings; then the walk jumps past it.
 */
#include "jemalloc_priv.h"

#include <string.h>

#define RT_LEAF_ELMS (1ull << JE_RT_BITS)
#define RT_SPAN (RT_LEAF_ELMS * JE_PAGE)       /* address space under one leaf: 1 GiB */
#define LEAF_PAGE_SPAN (JE_PAGE / 8 * JE_PAGE) /* under one page of a leaf: 2 MiB */

static bool is_anon(const struct maps_entry *e)
{
	return !e->shared && (!e->path[0] || !strcmp(e->path, "[heap]"));
}

int je_set_maps(struct je_ctx *c, const struct maps_entry *maps, size_t nmaps)
{
	size_t cap = 0;

	c->have_maps = maps != NULL;
	for (size_t i = 0; maps && i < nmaps; i++) {
		if (!is_anon(&maps[i]))
			continue;
		if (c->nanon && c->anon[c->nanon - 1][1] == maps[i].start) {
			c->anon[c->nanon - 1][1] = maps[i].end;
			continue;
		}
		if (at_grow(&c->anon, c->nanon, &cap, sizeof(c->anon[0]), 1))
			return -ENOMEM;
		c->anon[c->nanon][0] = maps[i].start;
		c->anon[c->nanon++][1] = maps[i].end;
	}
	return 0;
}

void je_ctx_release(struct je_ctx *c)
{
	free(c->anon);
	c->anon = NULL;
	c->nanon = 0;
}

/* The run of anonymous mappings holding addr, or -1 (maps are sorted). */
static ssize_t anon_run(const struct je_ctx *c, uint64_t addr)
{
	size_t lo = 0, hi = c->nanon;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < c->anon[mid][0])
			hi = mid;
		else if (addr >= c->anon[mid][1])
			lo = mid + 1;
		else
			return (ssize_t)mid;
	}
	return -1;
}

bool je_in_anon(const struct je_ctx *c, uint64_t start, uint64_t end)
{
	ssize_t i;

	if (!c->have_maps)
		return true;
	i = anon_run(c, start);
	return end > start && i >= 0 && end <= c->anon[i][1];
}

int je_read_mem(struct je_ctx *c, uint64_t addr, void *buf, size_t len)
{
	if (c->have_maps && len && addr + len > addr && je_in_anon(c, addr, addr + len))
		return tmem_read_anon(c->t, addr, buf, len);
	return tmem_read(c->t, addr, buf, len);
}

/* Appends [start, end) or extends the last range when it ends there with the same kind. */
static int add_range(struct je_ctx *c, uint64_t start, uint64_t end, uint32_t kind)
{
	struct books *b = c->out;

	if (b->nranges && b->ranges[b->nranges - 1].end == start &&
	    b->ranges[b->nranges - 1].kind == kind) {
		b->ranges[b->nranges - 1].end = end;
		return 0;
	}
	return books_add_range(b, start, end, BOOKS_EV_BOOKS, kind);
}

/* One base's blocks, newest first; the oldest holds the base_t itself (after its header). */
static int read_base_blocks(struct je_ctx *c, uint64_t base)
{
	uint64_t block, hdr[2], last = 0;
	unsigned n = 0;
	int err;

	if (je_read_mem(c, base + JE_B_BLOCKS, &block, 8)) {
		books_partial(c->out, "jemalloc: base blocks unreadable");
		return 0;
	}
	for (; block; block = hdr[1]) {
		if (++n > JE_MAX_BASE_BLOCKS || ++c->nblocks > JE_MAX_ALL_BASE_BLOCKS ||
		    block == last) {
			books_partial(c->out, "jemalloc: base block list too long or looping");
			return 0;
		}
		if (block % JE_PAGE || je_read_mem(c, block, hdr, sizeof(hdr)) || !hdr[0] ||
		    hdr[0] % JE_PAGE || block + hdr[0] < block ||
		    !je_in_anon(c, block, block + hdr[0])) {
			books_partial(c->out, "jemalloc: base block 0x%llx does not validate",
				      (unsigned long long)block);
			return 0;
		}
		err = add_range(c, block, block + hdr[0], BOOKS_JE_BASE);
		if (err)
			return err;
		last = block;
	}
	if (last + JE_BLOCK_HEADER != base)
		books_partial(c->out, "jemalloc: base 0x%llx is not in its first block",
			      (unsigned long long)base);
	return 0;
}

/* The walk's state: the leaf page last read and the budget. */
struct rt_walk {
	struct je_ctx *c;
	uint64_t root_key, leaf; /* the GiB whose leaf is cached, its address (0: none) */
	uint64_t page_key;	 /* the 2 MiB whose leaf page is cached, +1 (0: none) */
	uint64_t elms[JE_PAGE / 8];
	uint64_t bytes, extents, bad;
	bool stop;
};

static const uint32_t state_kind[4] = { BOOKS_JE_ACTIVE, BOOKS_JE_DIRTY, BOOKS_JE_MUZZY,
					BOOKS_JE_RETAINED };

/* The leaf of addr's GiB, or 0. */
static uint64_t rt_leaf(struct rt_walk *rw, uint64_t addr)
{
	uint64_t key = addr / RT_SPAN, slot = key & (RT_LEAF_ELMS - 1), leaf = 0;

	if (rw->root_key == key + 1)
		return rw->leaf;
	if (addr >> JE_VADDR_BITS ||
	    je_read_mem(rw->c, rw->c->w->emap + JE_RT_ROOT + slot * 8, &leaf, 8))
		leaf = 0;
	/* A leaf is 2 MiB of base memory: inside the anonymous mappings, 8-byte aligned. */
	if (leaf && (leaf % 8 || !je_in_anon(rw->c, leaf, leaf + RT_LEAF_ELMS * 8))) {
		books_partial(rw->c->out, "jemalloc: radix tree leaf does not validate");
		leaf = 0;
	}
	rw->root_key = key + 1;
	rw->leaf = leaf;
	rw->page_key = 0;
	return leaf;
}

/* The leaf page covering addr's 2 MiB into rw->elms; false when it cannot be read. */
static bool rt_page(struct rt_walk *rw, uint64_t leaf, uint64_t addr)
{
	uint64_t key = addr / LEAF_PAGE_SPAN;
	uint64_t at = leaf + (key % (RT_SPAN / LEAF_PAGE_SPAN)) * JE_PAGE;

	if (rw->page_key == key + 1)
		return true;
	if (rw->bytes + JE_PAGE > JE_MAX_RTREE_BYTES) {
		books_partial(rw->c->out, "jemalloc: radix tree walk bound reached");
		rw->stop = true;
		return false;
	}
	rw->bytes += JE_PAGE;
	if (je_read_mem(rw->c, at, rw->elms, JE_PAGE)) {
		books_partial(rw->c->out, "jemalloc: radix tree leaf page not resident");
		return false;
	}
	rw->page_key = key + 1;
	return true;
}

/* The extent a leaf element names, checked; its end, or 0. */
static uint64_t rt_extent(struct rt_walk *rw, uint64_t page, uint64_t elm, uint64_t run_end)
{
	/* 00000000 xxxxxxxx eeee...e e00ssshb: szind, edata (sign-extended), state, head, slab */
	uint64_t edata = (uint64_t)((int64_t)(elm << 16) >> 16) & ~(uint64_t)(JE_EDATA_ALIGN - 1);
	uint32_t state = (elm >> 2) & 7;
	uint64_t e[3], base, size;

	if (state > JE_ST_RETAINED || je_read_mem(rw->c, edata, e, sizeof(e)))
		return 0;
	/* e_addr of a large block is moved inside its first page (cache-oblivious). */
	base = e[1] & ~(JE_PAGE - 1);
	size = e[2] & ~(JE_PAGE - 1);
	if (((e[0] >> 17) & 7) != state || (e[0] & 0xfff) >= rw->c->narenas || !size ||
	    base > page || page - base >= size || base + size > run_end ||
	    !je_in_anon(rw->c, base, base + size))
		return 0;
	if (add_range(rw->c, base, base + size, state_kind[state]))
		return 0;
	return base + size;
}

/* The extents inside one run of anonymous mappings. */
static void rt_run(struct rt_walk *rw, uint64_t start, uint64_t end)
{
	uint64_t p = start;

	while (p < end && !rw->stop) {
		uint64_t leaf = rt_leaf(rw, p), elm, next;

		if (!leaf) {
			p = (p / RT_SPAN + 1) * RT_SPAN;
			continue;
		}
		if (!rt_page(rw, leaf, p)) {
			p = (p / LEAF_PAGE_SPAN + 1) * LEAF_PAGE_SPAN;
			continue;
		}
		elm = rw->elms[(p / JE_PAGE) % (JE_PAGE / 8)];
		next = elm ? rt_extent(rw, p, elm, end) : 0;
		if (elm && !next) {
			books_partial(rw->c->out, "jemalloc: an extent does not validate");
			if (++rw->bad > JE_MAX_BAD_EXTENTS)
				return;
		}
		if (next && ++rw->extents > JE_MAX_EXTENTS) {
			books_partial(rw->c->out, "jemalloc: more than %u extents", JE_MAX_EXTENTS);
			return;
		}
		p = next ? next : p + JE_PAGE;
	}
}

int je_read_ranges(struct je_ctx *c)
{
	struct rt_walk *rw;
	int err = 0;

	for (size_t i = 0; i < c->nbases && !err; i++)
		err = read_base_blocks(c, c->bases[i]);
	if (err || !c->have_maps)
		goto out;
	rw = calloc(1, sizeof(*rw));
	if (!rw)
		return -ENOMEM;
	rw->c = c;
	for (size_t i = 0; i < c->nanon && !rw->stop && rw->bad <= JE_MAX_BAD_EXTENTS; i++)
		rt_run(rw, c->anon[i][0], c->anon[i][1]);
	free(rw);
out:
	books_sort_ranges(c->out);
	return err;
}
