// SPDX-License-Identifier: GPL-2.0-only
#include "jemalloc_priv.h"

#include <stdio.h>
#include <string.h>

/* Bytes and page counts beyond a 48-bit address space cannot be true. */
#define JE_PLAUSIBLE(x) ((uint64_t)(x) < (1ull << JE_VADDR_BITS))

uint64_t je_index2size(unsigned ind)
{
	unsigned lg, k;

	/* sc.c for LG_QUANTUM 4, LG_TINY_MIN 3, 4 classes a doubling: 8, then 16..64 by 16,
	 * then 2^lg + k * 2^(lg-2) for lg = 6, 7... */
	if (ind == 0)
		return 8;
	if (ind <= 4)
		return 16ull * ind;
	lg = 6 + (ind - 5) / 4;
	k = 1 + (ind - 5) % 4;
	return (1ull << lg) + (uint64_t)k * (1ull << (lg - 2));
}

/* The totals, summed as ctl_refresh sums its arenas. */
struct je_sum {
	uint64_t allocated_small, allocated_large, active, metadata, resident, mapped;
	uint64_t retained, dirty, muzzy, tcache, base_mapped;
};

/* One arena as read; a = its address. */
struct je_arena {
	uint64_t a, base;
	uint32_t ind;
	uint64_t nactive, ndirty, nmuzzy, nretained, pac_mapped, internal;
	uint64_t base_allocated, base_resident, base_mapped;
	uint64_t small, large, tcache;
};

struct je_read {
	struct je_ctx c;
	uint64_t nbins_shards[JE_NBINS]; /* 0: the bins' layout is unknown */
	uint32_t bin_offsets[JE_NBINS];
	uint32_t nhbins; /* 0: the tcaches are not read */
	uint64_t b0;
};

static int rd(struct je_read *r, uint64_t addr, void *buf, size_t len)
{
	return je_read_mem(&r->c, addr, buf, len);
}

/* The target's size-class table must be jemalloc's for this configuration. */
static int check_sizes(struct je_read *r)
{
	uint64_t tab[JE_NSIZES];

	if (rd(r, r->c.w->sz_tab, tab, sizeof(tab)))
		return -EPROTO;
	for (unsigned i = 0; i < JE_NSIZES; i++)
		if (tab[i] != je_index2size(i))
			return -EPROTO;
	return 0;
}

/* The bins' places in arena_t, from je_arena_bin_offsets and je_bin_infos, checked
 * against each other (consecutive shards after sizeof(arena_t)). */
static void read_bins_layout(struct je_read *r)
{
	unsigned char infos[JE_NBINS * JE_BI_SIZE];
	uint64_t next = JE_ARENA_SIZE;

	if (!r->c.w->bin_offsets || !r->c.w->bin_infos ||
	    rd(r, r->c.w->bin_offsets, r->bin_offsets, sizeof(r->bin_offsets)) ||
	    rd(r, r->c.w->bin_infos, infos, sizeof(infos)))
		goto unknown;
	for (unsigned i = 0; i < JE_NBINS; i++) {
		uint32_t shards = books_ld32(infos, i * JE_BI_SIZE + JE_BI_NSHARDS);

		if (books_ld64(infos, i * JE_BI_SIZE) != je_index2size(i) || !shards ||
		    shards > JE_BIN_SHARDS_MAX || r->bin_offsets[i] != next)
			goto unknown;
		r->nbins_shards[i] = shards;
		next += (uint64_t)shards * JE_BIN_SIZE;
	}
	return;
unknown:
	memset(r->nbins_shards, 0, sizeof(r->nbins_shards));
	books_partial(r->c.out, "jemalloc: bin layout not found or not valid: small allocations "
				"not counted");
}

static void read_nhbins(struct je_read *r)
{
	uint32_t n = 0;

	if (r->c.w->nhbins && !rd(r, r->c.w->nhbins, &n, sizeof(n)) && n && n <= JE_NSIZES) {
		r->nhbins = n;
		return;
	}
	books_partial(r->c.out, "jemalloc: tcache bins count not found: cached blocks not read");
}

/* The pointers and indices that tie an arena together, and its three ecaches. */
static const char *check_arena(struct je_read *r, uint64_t a, uint32_t ind,
			       const unsigned char *tail, uint32_t si[3][2])
{
	uint64_t base = books_ld64(tail, JE_A_BASE - JE_A_TAIL_START);

	if (books_ld32(tail, JE_A_IND - JE_A_TAIL_START) != ind ||
	    books_ld32(tail, JE_A_SHARD_IND - JE_A_TAIL_START) != ind)
		return "index";
	if (!base || books_ld64(tail, JE_A_SHARD_BASE - JE_A_TAIL_START) != base ||
	    books_ld64(tail, JE_A_PAC_BASE - JE_A_TAIL_START) != base)
		return "base pointers";
	if (ind == 0 && base != r->b0)
		return "arena 0's base is not the radix tree's";
	if (books_ld64(tail, JE_A_SHARD_EMAP - JE_A_TAIL_START) != r->c.w->emap ||
	    books_ld64(tail, JE_A_PAC_EMAP - JE_A_TAIL_START) != r->c.w->emap)
		return "extent map pointers";
	if (books_ld64(tail, JE_A_PAC_EDATA_CACHE - JE_A_TAIL_START) != a + JE_A_EDATA_CACHE ||
	    books_ld64(tail, JE_A_SHARD_STATS - JE_A_TAIL_START) != a + JE_A_PA_SHARD_STATS ||
	    books_ld64(tail, JE_A_PAC_STATS_PTR - JE_A_TAIL_START) != a + JE_A_PAC_STATS ||
	    books_ld64(tail, JE_A_PAC_STATS_MTX - JE_A_TAIL_START) != 0)
		return "self-pointers";
	for (unsigned s = 0; s < 3; s++)
		if (si[s][0] != JE_ST_DIRTY + s || si[s][1] != ind)
			return "ecache states";
	return NULL;
}

/* An ecache's page count (its eset and its guarded eset), state and index. */
static int read_ecache(struct je_read *r, uint64_t at, uint32_t si[2], uint64_t *npages)
{
	uint64_t n[2];

	if (rd(r, at + JE_EC_NPAGES, &n[0], 8) || rd(r, at + JE_EC_GUARDED_NPAGES, &n[1], 8) ||
	    rd(r, at + JE_EC_STATE, si, 8))
		return -EFAULT;
	*npages = n[0] + n[1];
	return 0;
}

/* base_t's counters; the base's own index must be the arena's. */
static const char *read_base(struct je_read *r, struct je_arena *ar)
{
	unsigned char b[JE_B_MAPPED + 8];

	if (rd(r, ar->base, b, sizeof(b)))
		return "base unreadable";
	if (books_ld32(b, JE_B_IND) != ar->ind)
		return "base index";
	ar->base_allocated = books_ld64(b, JE_B_ALLOCATED);
	ar->base_resident = books_ld64(b, JE_B_RESIDENT);
	ar->base_mapped = books_ld64(b, JE_B_MAPPED);
	if (ar->base_allocated > ar->base_resident || ar->base_resident > ar->base_mapped ||
	    !JE_PLAUSIBLE(ar->base_mapped))
		return "base counters";
	return NULL;
}

/* allocated_large as arena_stats_merge: live extents of each large class times its size. */
static const char *read_large(struct je_read *r, struct je_arena *ar)
{
	unsigned char *ls = malloc(JE_NLARGE * JE_LSTATS_SIZE);
	const char *bad = NULL;

	if (!ls)
		return "out of memory";
	if (rd(r, ar->a + JE_A_LSTATS, ls, JE_NLARGE * JE_LSTATS_SIZE)) {
		bad = "large stats unreadable";
		goto out;
	}
	for (unsigned i = 0; i < JE_NLARGE && !bad; i++) {
		uint64_t nmalloc = books_ld64(ls, i * JE_LSTATS_SIZE);
		uint64_t ndalloc = books_ld64(ls, i * JE_LSTATS_SIZE + 8);
		uint64_t live = nmalloc - ndalloc;

		if (!live)
			continue;
		/* Never more live extents of a class than the address space holds. */
		if (nmalloc < ndalloc ||
		    live > (1ull << JE_VADDR_BITS) / je_index2size(JE_NBINS + i))
			bad = "large stats";
		else
			ar->large += live * je_index2size(JE_NBINS + i);
	}
out:
	free(ls);
	return bad;
}

/* allocated_small: curregs of every bin shard times its region size. */
static const char *read_small(struct je_read *r, struct je_arena *ar)
{
	for (unsigned i = 0; i < JE_NBINS; i++) {
		for (uint64_t s = 0; s < r->nbins_shards[i]; s++) {
			uint64_t bin = ar->a + r->bin_offsets[i] + s * JE_BIN_SIZE;
			uint64_t curregs;

			if (rd(r, bin + JE_BIN_CURREGS, &curregs, sizeof(curregs)))
				return "bin unreadable";
			if (curregs > (1ull << JE_VADDR_BITS) / je_index2size(i))
				return "bin stats";
			ar->small += curregs * je_index2size(i);
		}
	}
	return NULL;
}

/* One thread cache's bins: items cached = (low_bits_empty - low 16 bits of stack_head) / 8,
 * as cache_bin_nitems_get_remote; never more than the bin holds (empty - full). */
static const char *read_tcache_bins(struct je_read *r, uint64_t bins, uint64_t *bytes)
{
	size_t len = (size_t)r->nhbins * JE_CB_SIZE;
	unsigned char *cb = malloc(len);
	const char *bad = NULL;

	if (!cb)
		return "out of memory";
	if (rd(r, bins, cb, len)) {
		free(cb);
		return "tcache bins unreadable";
	}
	for (unsigned i = 0; i < r->nhbins && !bad; i++) {
		const unsigned char *b = cb + (size_t)i * JE_CB_SIZE;
		uint16_t head = (uint16_t)books_ld64(b, 0), full, empty;

		memcpy(&full, b + JE_CB_LOW_BITS_FULL, 2);
		memcpy(&empty, b + JE_CB_LOW_BITS_EMPTY, 2);
		if ((uint16_t)(empty - head) > (uint16_t)(empty - full) || (empty - head) % 8)
			bad = "tcache bin";
		else
			*bytes += (uint64_t)(uint16_t)(empty - head) / 8 * je_index2size(i);
	}
	free(cb);
	return bad;
}

/* The ring of cache_bin_array_descriptor_t the arena keeps, one per thread cache. */
static const char *read_tcaches(struct je_read *r, struct je_arena *ar)
{
	uint64_t first, d, next[3];
	unsigned n = 0;

	if (!r->nhbins)
		return NULL;
	if (rd(r, ar->a + JE_A_DESC_QL, &first, sizeof(first)))
		return "tcache list unreadable";
	for (d = first; d; d = next[0]) {
		const char *bad;

		if (++n > JE_MAX_TCACHES)
			return "tcache list too long";
		if (rd(r, d, next, sizeof(next)))
			return "tcache descriptor unreadable";
		bad = read_tcache_bins(r, next[2], &ar->tcache);
		if (bad)
			return bad;
		if (next[0] == first)
			break;
	}
	return NULL;
}

static const char *read_arena_counts(struct je_read *r, struct je_arena *ar)
{
	uint64_t v[2];
	const char *bad;

	if (rd(r, ar->a + JE_A_NACTIVE, &ar->nactive, 8) ||
	    rd(r, ar->a + JE_A_PAC_MAPPED, &ar->pac_mapped, 8) ||
	    rd(r, ar->a + JE_A_STATS_INTERNAL, &ar->internal, 8))
		return "counters unreadable";
	v[0] = ar->nactive + ar->ndirty + ar->nmuzzy + ar->nretained;
	v[1] = ar->pac_mapped + ar->internal;
	if (!JE_PLAUSIBLE(ar->nactive) || !JE_PLAUSIBLE(ar->ndirty) || !JE_PLAUSIBLE(ar->nmuzzy) ||
	    !JE_PLAUSIBLE(ar->nretained) || !JE_PLAUSIBLE(v[0]) || !JE_PLAUSIBLE(v[1]))
		return "page counters";
	bad = read_base(r, ar);
	if (!bad)
		bad = read_large(r, ar);
	if (!bad)
		bad = read_small(r, ar);
	return bad;
}

/* Reads and checks arena ind at a; NULL or what did not validate. */
static const char *read_arena(struct je_read *r, uint64_t a, uint32_t ind, struct je_arena *ar)
{
	static const uint64_t ec_at[3] = { JE_A_ECACHE_DIRTY, JE_A_ECACHE_MUZZY,
					   JE_A_ECACHE_RETAINED };
	unsigned char tail[JE_A_TAIL_LEN];
	uint32_t si[3][2];
	uint64_t *npages[3] = { &ar->ndirty, &ar->nmuzzy, &ar->nretained };
	const char *bad;

	memset(ar, 0, sizeof(*ar));
	ar->a = a;
	ar->ind = ind;
	if (a % 8 || rd(r, a + JE_A_TAIL_START, tail, sizeof(tail)))
		return "unreadable";
	for (unsigned s = 0; s < 3; s++)
		if (read_ecache(r, a + ec_at[s], si[s], npages[s]))
			return "ecache unreadable";
	bad = check_arena(r, a, ind, tail, si);
	if (bad)
		return bad;
	ar->base = books_ld64(tail, JE_A_BASE - JE_A_TAIL_START);
	bad = read_arena_counts(r, ar);
	if (bad)
		return bad;
	/* The caches are the arena's least part: without them its figures still stand. */
	bad = read_tcaches(r, ar);
	if (bad) {
		books_partial(r->c.out, "jemalloc: arena %u: %s: cached blocks not counted", ind,
			      bad);
		ar->tcache = 0;
	}
	return NULL;
}

static void add_arena(struct je_sum *s, const struct je_arena *ar)
{
	s->allocated_small += ar->small;
	s->allocated_large += ar->large;
	s->active += ar->nactive * JE_PAGE;
	s->metadata += ar->base_allocated + ar->internal;
	s->resident += ar->base_resident + (ar->nactive + ar->ndirty) * JE_PAGE;
	s->mapped += ar->base_mapped + ar->pac_mapped;
	s->retained += ar->nretained * JE_PAGE;
	s->dirty += ar->ndirty * JE_PAGE;
	s->muzzy += ar->nmuzzy * JE_PAGE;
	s->tcache += ar->tcache;
	s->base_mapped += ar->base_mapped;
}

static void export_arena(const struct je_arena *ar, struct books_je_arena *o)
{
	*o = (struct books_je_arena){
		.ind = ar->ind,
		.pactive = ar->nactive,
		.pdirty = ar->ndirty,
		.pmuzzy = ar->nmuzzy,
		.pretained = ar->nretained,
		.allocated = ar->small + ar->large,
		.mapped = ar->base_mapped + ar->pac_mapped,
		.resident = ar->base_resident + (ar->nactive + ar->ndirty) * JE_PAGE,
		.metadata = ar->base_allocated + ar->internal,
		.tcache_bytes = ar->tcache,
	};
}

/*
 * live: what the application holds = allocated less the blocks thread caches keep (mallctl's
 * stats.allocated counts those as allocated). free: everything else inside the extents
 * (active pages not allocated, cached blocks, dirty, muzzy, retained). free_resident: the
 * dirty pages and the cached blocks, in RAM by construction (written, never purged);
 * muzzy pages (MADV_FREE) and the slack inside active pages are left out. mapped: the
 * address space held, stats.mapped + stats.retained.
 */
static void set_figures(struct books *b, const struct je_sum *s)
{
	uint64_t allocated = s->allocated_small + s->allocated_large;

	b->live_bytes = allocated >= s->tcache ? allocated - s->tcache : 0;
	b->mapped_bytes = s->mapped + s->retained;
	b->free_bytes = b->mapped_bytes - s->base_mapped - b->live_bytes;
	b->free_resident_bytes = s->dirty + s->tcache;
	books_set_figure(b, "allocated", allocated);
	books_set_figure(b, "allocated_small", s->allocated_small);
	books_set_figure(b, "allocated_large", s->allocated_large);
	books_set_figure(b, "active", s->active);
	books_set_figure(b, "metadata", s->metadata);
	books_set_figure(b, "resident", s->resident);
	books_set_figure(b, "mapped", s->mapped);
	books_set_figure(b, "retained", s->retained);
	books_set_figure(b, "dirty", s->dirty);
	books_set_figure(b, "muzzy", s->muzzy);
	books_set_figure(b, "tcache", s->tcache);
}

/* narenas_total and the arena pointers; narenas_auto only as a check. */
static int read_arena_table(struct je_read *r, uint64_t *ptrs, uint32_t *n)
{
	uint32_t total, nauto;

	if (rd(r, r->c.w->narenas_total, &total, 4) || rd(r, r->c.w->narenas_auto, &nauto, 4))
		return -EPROTO;
	if (!nauto || nauto > total || total > JE_ARENA_LIMIT)
		return -EPROTO;
	if (rd(r, r->c.w->arenas, ptrs, total * 8ull) || !ptrs[0])
		return -EPROTO;
	*n = total;
	return 0;
}

/* The layout gate: sizes, arena table, the radix tree's base, arena 0. */
static int read_start(struct je_read *r, uint64_t *ptrs, struct je_arena *a0)
{
	const char *bad;

	if (check_sizes(r)) {
		books_partial(r->c.out, "jemalloc: size classes do not validate: layout refused");
		return -EPROTO;
	}
	if (read_arena_table(r, ptrs, &r->c.narenas)) {
		books_partial(r->c.out, "jemalloc: arena table does not validate: refused");
		return -EPROTO;
	}
	if (rd(r, r->c.w->emap + JE_RT_BASE, &r->b0, 8) || !r->b0) {
		books_partial(r->c.out, "jemalloc: extent map does not validate: refused");
		return -EPROTO;
	}
	read_bins_layout(r);
	read_nhbins(r);
	bad = read_arena(r, ptrs[0], 0, a0);
	if (bad) {
		books_partial(r->c.out, "jemalloc: arena 0 does not validate (%s): refused", bad);
		return -EPROTO;
	}
	return 0;
}

/* Each base once, however many arenas (a hostile image) name it. */
static void add_base(struct je_ctx *c, uint64_t base)
{
	for (size_t i = 0; i < c->nbases; i++)
		if (c->bases[i] == base)
			return;
	if (c->nbases < AT_ARRAY_SIZE(c->bases))
		c->bases[c->nbases++] = base;
}

static int read_arenas(struct je_read *r, const uint64_t *ptrs, struct je_sum *sum,
		       struct books_je_arena *arenas, size_t cap, size_t *narenas)
{
	struct je_arena ar;

	for (uint32_t i = 0; i < r->c.narenas; i++) {
		const char *bad;

		if (!ptrs[i])
			continue; /* never created, or destroyed */
		bad = read_arena(r, ptrs[i], i, &ar);
		if (bad) {
			books_partial(r->c.out,
				      "jemalloc: arena %u does not validate (%s): left out", i,
				      bad);
			continue;
		}
		add_arena(sum, &ar);
		add_base(&r->c, ar.base);
		if (arenas && *narenas < cap)
			export_arena(&ar, &arenas[(*narenas)++]);
	}
	return 0;
}

int books_jemalloc_read_at(struct tmem *t, const struct books_je_where *w,
			   const struct maps_entry *maps, size_t nmaps, struct books *out,
			   struct books_je_arena *arenas, size_t cap, size_t *narenas)
{
	struct je_read *r = calloc(1, sizeof(*r));
	uint64_t *ptrs = calloc(JE_ARENA_LIMIT, sizeof(*ptrs));
	struct je_sum sum = { 0 };
	size_t dummy = 0;
	int err = -ENOMEM;

	out->allocator = "jemalloc";
	if (!narenas)
		narenas = &dummy;
	*narenas = 0;
	if (!r || !ptrs)
		goto out;
	r->c = (struct je_ctx){ .t = t, .w = w, .out = out };
	err = je_set_maps(&r->c, maps, nmaps);
	if (err)
		goto out;
	{
		struct je_arena a0;

		err = read_start(r, ptrs, &a0);
		if (err)
			goto out;
	}
	read_arenas(r, ptrs, &sum, arenas, cap, narenas);
	set_figures(out, &sum);
	err = je_read_ranges(&r->c);
out:
	if (r)
		je_ctx_release(&r->c);
	free(ptrs);
	free(r);
	return err;
}
