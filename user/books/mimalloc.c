// SPDX-License-Identifier: GPL-2.0-only
#include "mimalloc_priv.h"

#include <elf.h>
#include <stdio.h>
#include <string.h>

#include "procfs.h"
#include "tmem.h"

/* Debian libmimalloc2.0 2.0.9+ds-2 amd64 (libmimalloc.so.2.0). */
static const uint8_t known_build_id[20] = { 0xd0, 0x7f, 0x4e, 0x7d, 0xc9, 0xa0, 0x39,
					    0xfc, 0xbe, 0x77, 0x47, 0xf4, 0x16, 0x47,
					    0x6b, 0xd6, 0x5c, 0xb4, 0x8e, 0x8b };

static bool seg_ptr(uint64_t p)
{
	return !p || (user_ptr(p) && !(p & (BOOKS_MI_SEGMENT_BYTES - 1)));
}

static int popcount64(uint64_t v)
{
	return __builtin_popcountll(v);
}

/* Masks and links: what mimalloc's own invariants say of any live segment. */
static int check_masks(const void *h, const char **why)
{
	uint64_t any = 0;

	for (int i = 0; i < 8; i++) {
		uint64_t c = books_ld64(h, SEG_COMMIT_MASK + 8 * i),
			 d = books_ld64(h, SEG_DECOMMIT_MASK + 8 * i);

		/* Only committed memory is ever scheduled for decommit (mi_segment_is_valid). */
		if (d & ~c)
			return *why = "decommit mask outside the commit mask", -EINVAL;
		any |= c;
	}
	/* The info slices are committed before the header is written. */
	if (!(books_ld64(h, SEG_COMMIT_MASK) & 1) || !any)
		return *why = "info slices not committed", -EINVAL;
	if (!seg_ptr(books_ld64(h, SEG_ABANDONED_NEXT)) || !seg_ptr(books_ld64(h, SEG_NEXT)))
		return *why = "segment links not segments", -EINVAL;
	return 0;
}

static int check_sizes(const void *h, bool huge, const char **why)
{
	uint64_t slices = books_ld64(h, SEG_SEGMENT_SLICES),
		 entries = books_ld64(h, SEG_SLICE_ENTRIES);
	uint64_t align = books_ld64(h, SEG_MEM_ALIGNMENT),
		 align_off = books_ld64(h, SEG_MEM_ALIGN_OFFSET);

	if (books_ld64(h, SEG_INFO_SLICES) != MI_INFO_SLICES)
		return *why = "info slices", -EINVAL;
	if (!huge && (slices != MI_SLICES_PER_SEGMENT || entries != MI_SLICES_PER_SEGMENT))
		return *why = "slice counts of a normal segment", -EINVAL;
	if (huge && (slices <= MI_INFO_SLICES || slices > MI_HUGE_MAX_SLICES ||
		     entries != (slices < MI_SLICES_PER_SEGMENT ? slices : MI_SLICES_PER_SEGMENT)))
		return *why = "slice counts of a huge segment", -EINVAL;
	/* Normal segments are aligned to their size; only huge ones take a larger alignment,
	 * with the info slices one segment size before the aligned block. */
	if (align < BOOKS_MI_SEGMENT_BYTES || (align & (align - 1)) ||
	    (!huge && align != BOOKS_MI_SEGMENT_BYTES) ||
	    (align_off && (!huge || align_off != BOOKS_MI_SEGMENT_BYTES)))
		return *why = "memory alignment", -EINVAL;
	return 0;
}

int books_mi_parse_segment(const void *h, uint64_t addr, struct books_mi_segment *seg,
			   const char **why)
{
	static const int bools[] = { SEG_MEM_IS_PINNED, SEG_MEM_IS_LARGE, SEG_MEM_IS_COMMITTED,
				     SEG_ALLOW_DECOMMIT };
	const unsigned char *u = h;
	uint32_t kind = books_ld32(h, SEG_KIND);
	uint64_t used = books_ld64(h, SEG_USED), tid = books_ld64(h, SEG_THREAD_ID), ncommit = 0;
	const char *dummy;

	if (!why)
		why = &dummy;
	if (addr & (BOOKS_MI_SEGMENT_BYTES - 1) || !addr || addr >= USER_ADDR_END)
		return *why = "not a 32 MiB-aligned user address", -EINVAL;
	if (kind > 1)
		return *why = "segment kind", -EINVAL;
	for (size_t i = 0; i < AT_ARRAY_SIZE(bools); i++)
		if (u[bools[i]] > 1)
			return *why = "boolean fields", -EINVAL;
	if (check_sizes(h, kind == 1, why) || check_masks(h, why))
		return -EINVAL;
	if (used > books_ld64(h, SEG_SLICE_ENTRIES) - MI_INFO_SLICES || (kind == 1 && used > 1) ||
	    books_ld64(h, SEG_ABANDONED) > used)
		return *why = "page counts", -EINVAL;
	/* _mi_thread_id() is the thread pointer (%fs:0); 0 once abandoned or freed. */
	if (tid && !user_ptr(tid))
		return *why = "thread id", -EINVAL;
	for (int i = 0; i < 8; i++)
		ncommit += (uint64_t)popcount64(books_ld64(h, SEG_COMMIT_MASK + 8 * i));
	*seg = (struct books_mi_segment){
		.addr = addr,
		.size = books_ld64(h, SEG_SEGMENT_SLICES) * BOOKS_MI_SLICE_SIZE,
		.thread_id = tid,
		.cookie_key = addr ^ books_ld64(h, SEG_COOKIE),
		.used_pages = used,
		.abandoned_pages = books_ld64(h, SEG_ABANDONED),
		.slice_entries = (uint32_t)books_ld64(h, SEG_SLICE_ENTRIES),
		.info_slices = MI_INFO_SLICES,
		.huge = kind == 1,
	};
	/* A huge segment is committed whole when allocated; its mask covers 32 MiB only. */
	seg->committed_bytes = seg->huge && ncommit == MI_SLICES_PER_SEGMENT
				       ? seg->size
				       : ncommit * BOOKS_MI_SLICE_SIZE;
	if (seg->committed_bytes > seg->size)
		seg->committed_bytes = seg->size;
	return 0;
}

/* A page in use: its block geometry must be the one mi_page_init gave it. */
static int parse_page(const void *sl, const struct books_mi_segment *seg, uint32_t idx,
		      uint32_t count, struct books_mi_page *pg, const char **why)
{
	uint32_t xbs = books_ld32(sl, PG_XBLOCK_SIZE), used = books_ld32(sl, PG_USED);
	uint32_t cap = ld16(sl, PG_CAPACITY), res = ld16(sl, PG_RESERVED);
	uint64_t span = (uint64_t)count * BOOKS_MI_SLICE_SIZE, bsize, off, psize;

	bsize = xbs < MI_HUGE_BLOCK_SIZE ? xbs : span;
	off = xbs >= 8 && xbs <= 1024 ? MI_SMALL_START_OFFSET : 0;
	psize = span - off;
	if (!(books_ld32(sl, PG_BITS) & 2))
		return *why = "page in use not committed", -EINVAL;
	if (cap > res || used > cap)
		return *why = "page block counts", -EINVAL;
	/* A span taken for a page that mi_page_init has not set up yet has no blocks. */
	if ((xbs < 8 || (xbs & 7) || bsize > psize) && (cap || res || xbs != span))
		return *why = "page block size", -EINVAL;
	if (res && res != (uint16_t)(psize / bsize))
		return *why = "page reserved count", -EINVAL;
	if (books_ld64(sl, PG_XHEAP) && !user_ptr(books_ld64(sl, PG_XHEAP)))
		return *why = "page heap pointer", -EINVAL;
	*pg = (struct books_mi_page){
		.head = seg->addr + SEG_SLICES + (uint64_t)idx * BOOKS_MI_SLICE_BYTES,
		.start = seg->addr + (uint64_t)idx * BOOKS_MI_SLICE_SIZE,
		.blocks = seg->addr + (uint64_t)idx * BOOKS_MI_SLICE_SIZE + off,
		.block_size = bsize ? bsize : span,
		.thread_free = books_ld64(sl, PG_XTHREAD_FREE) & ~3ull,
		.heap = books_ld64(sl, PG_XHEAP),
		.next = books_ld64(sl, PG_NEXT),
		.used = used,
		.capacity = cap,
		.reserved = res,
	};
	pg->end = pg->start + span;
	return 1;
}

int books_mi_parse_slice(const void *sl, const struct books_mi_segment *seg, uint32_t idx,
			 struct books_mi_page *pg, uint32_t *span_slices, const char **why)
{
	uint32_t count = books_ld32(sl, PG_SLICE_COUNT), xbs = books_ld32(sl, PG_XBLOCK_SIZE);
	uint64_t limit = seg->huge ? seg->size / BOOKS_MI_SLICE_SIZE : seg->slice_entries;
	const char *dummy;

	if (!why)
		why = &dummy;
	*span_slices = count;
	if (books_ld32(sl, PG_SLICE_OFFSET) || !count || idx >= seg->slice_entries)
		return *why = "not a span head", -EINVAL;
	if ((uint64_t)idx + count > limit)
		return *why = "span past the segment", -EINVAL;
	if (idx == 0) {
		/* The segment's own info slices, allocated as a span of that size. */
		if (count != seg->info_slices || xbs != count * BOOKS_MI_SLICE_SIZE)
			return *why = "segment info span", -EINVAL;
		return 0;
	}
	if (idx < seg->info_slices)
		return *why = "span inside the info slices", -EINVAL;
	if (!xbs)
		return 0;
	return parse_page(sl, seg, idx, count, pg, why);
}

/* ---- reading ---------------------------------------------------------------------- */

int bmi_read(struct bmi_rd *r, uint64_t addr, void *buf, size_t len)
{
	if (tmem_bytes_read(r->t) - r->read0 + len > MAX_READ_BYTES)
		return -ENOSPC;
	return tmem_read(r->t, addr, buf, len);
}

bool bmi_spent(struct bmi_rd *r, int err)
{
	if (err != -ENOSPC)
		return false;
	books_partial(r->b, "read budget spent");
	return true;
}

int bmi_list_step(struct bmi_rd *r, uint64_t *b, const char *what, uint64_t owner)
{
	int err;

	if (r->list_steps++ >= MAX_LIST_STEPS) {
		books_partial(r->b, "more than %u free-list blocks", MAX_LIST_STEPS);
		return -E2BIG;
	}
	err = bmi_read(r, *b, b, sizeof(*b));
	if (bmi_spent(r, err))
		return err;
	if (err) {
		books_partial(r->b, "%s %#llx: a block not resident", what,
			      (unsigned long long)owner);
		return 1;
	}
	return 0;
}

/* The thread pointer of a live glibc thread points at its TCB, whose first and third words
 * (tcb, self) point back at it. A TCB that cannot be read leaves the id unverified. */
static bool tcb_plausible(struct bmi_rd *r, uint64_t tid)
{
	uint64_t w[3];

	if (!tid)
		return true;
	for (unsigned i = 0; i < r->ntcb_ok; i++)
		if (r->tcb_ok[i] == tid)
			return true;
	for (unsigned i = 0; i < r->ntcb_bad; i++)
		if (r->tcb_bad[i] == tid)
			return false;
	if (bmi_read(r, tid, w, sizeof(w)) || (w[0] == tid && w[2] == tid)) {
		if (r->ntcb_ok < AT_ARRAY_SIZE(r->tcb_ok))
			r->tcb_ok[r->ntcb_ok++] = tid;
		return true;
	}
	if (r->ntcb_bad < AT_ARRAY_SIZE(r->tcb_bad))
		r->tcb_bad[r->ntcb_bad++] = tid;
	return false;
}

int bmi_refuse(struct bmi_rd *r, const char *why)
{
	r->st->refused++;
	if (!r->st->first_refusal[0])
		snprintf(r->st->first_refusal, sizeof(r->st->first_refusal), "%s", why);
	return 0;
}

/* 1: a segment of size *size validated at addr; 0: none there; negative: stop. */
static int try_candidate(struct bmi_rd *r, uint64_t addr, uint64_t region_end, uint64_t *size)
{
	unsigned char h[BOOKS_MI_HEADER_BYTES];
	struct books_mi_segment s;
	const char *why = NULL;
	int err;

	/* Looked up before reading, so that absent headers cost no read budget. */
	if (!tmem_resident(r->t, addr)) {
		r->st->not_resident++;
		return 0;
	}
	err = bmi_read(r, addr, h, sizeof(h));
	if (err == -ENOSPC)
		return err;
	if (err) {
		r->st->not_resident++;
		return 0;
	}
	if (books_mi_parse_segment(h, addr, &s, &why))
		return bmi_refuse(r, why);
	if (s.size > region_end - addr)
		return bmi_refuse(r, "segment extends past its mapping");
	if (!tcb_plausible(r, s.thread_id))
		return bmi_refuse(r, "thread id is not a thread's TCB");
	if (r->nsegs >= MAX_SEGMENTS) {
		books_partial(r->b, "more than %u segments", MAX_SEGMENTS);
		return -E2BIG;
	}
	if (at_grow(&r->segs, r->nsegs, &r->segs_cap, sizeof(*r->segs), 1))
		return -ENOMEM;
	r->segs[r->nsegs++] = (struct seg_ent){ .s = s };
	*size = s.size;
	return 1;
}

static bool anon(const struct maps_entry *e)
{
	return !e->shared && (!e->path[0] || !strncmp(e->path, "[anon:", 6));
}

/* The aligned addresses of one run of adjacent anonymous mappings [maps[i], maps[j]). */
static int scan_region(struct bmi_rd *r, size_t i, size_t j)
{
	uint64_t end = r->maps[j - 1].end, seg = BOOKS_MI_SEGMENT_BYTES;
	uint64_t a = (r->maps[i].start + seg - 1) & ~(seg - 1), size;
	size_t k = i;
	int got;

	while (a < end && a >= r->maps[i].start) {
		while (r->maps[k].end <= a)
			k++;
		if (!(r->maps[k].prot & 1)) {
			a += seg;
			continue;
		}
		if (r->st->candidates++ >= MAX_CANDIDATES) {
			books_partial(r->b, "more than %u candidate addresses", MAX_CANDIDATES);
			return -E2BIG;
		}
		got = try_candidate(r, a, end, &size);
		if (got < 0)
			return got;
		/* Nothing inside a segment is another one's header: a huge block's data at an
		 * aligned address is the application's, whatever it looks like. */
		a += got ? (size + seg - 1) & ~(seg - 1) : seg;
	}
	return 0;
}

static int scan(struct bmi_rd *r)
{
	size_t i = 0, j;
	int err;

	while (i < r->nmaps) {
		if (!anon(&r->maps[i])) {
			i++;
			continue;
		}
		for (j = i + 1;
		     j < r->nmaps && anon(&r->maps[j]) && r->maps[j].start == r->maps[j - 1].end;
		     j++)
			;
		err = scan_region(r, i, j);
		if (err)
			return err;
		i = j;
	}
	return 0;
}

/* ---- pages ------------------------------------------------------------------------ */

/* Blocks on a page's thread-free list: freed by other threads, still counted in used until
 * the owner collects them. The list cannot be longer than used, which bounds a loop. */
static int walk_thread_free(struct bmi_rd *r, struct books_mi_page *pg)
{
	uint64_t b = pg->thread_free, end = pg->blocks + (uint64_t)pg->capacity * pg->block_size;
	uint32_t n = 0;
	int err;

	while (b) {
		if (n >= pg->used || b < pg->blocks || b >= end ||
		    (b - pg->blocks) % pg->block_size) {
			books_partial(r->b, "thread-free list of page %#llx inconsistent",
				      (unsigned long long)pg->head);
			break;
		}
		err = bmi_list_step(r, &b, "thread-free list of page", pg->head);
		if (err < 0)
			return err;
		if (err)
			break;
		n++;
	}
	pg->thread_frees = n;
	return 0;
}

/* -EINVAL (with *why) when the slices are not the span chain of a segment, -EAGAIN when an
 * entry could not be read; other errors stop the read. */
static int walk_slices(struct bmi_rd *r, size_t si, const char **why)
{
	const struct books_mi_segment *s = &r->segs[si].s;
	unsigned char sl[BOOKS_MI_SLICE_BYTES];
	struct books_mi_page pg;
	uint64_t used = 0;
	uint32_t idx = 0, span;
	int err, got;

	while (idx < s->slice_entries) {
		err = bmi_read(r, s->addr + SEG_SLICES + (uint64_t)idx * BOOKS_MI_SLICE_BYTES, sl,
			       sizeof(sl));
		if (err == -ENOSPC)
			return err;
		if (err)
			return *why = "slice entry not resident", -EAGAIN;
		got = books_mi_parse_slice(sl, s, idx, &pg, &span, why);
		if (got < 0)
			return -EINVAL;
		if (got) {
			if (r->npages >= MAX_PAGES) {
				books_partial(r->b, "more than %u pages", MAX_PAGES);
				return -E2BIG;
			}
			if (at_grow(&r->pages, r->npages, &r->pages_cap, sizeof(*r->pages), 1))
				return -ENOMEM;
			pg.seg = (uint32_t)si;
			err = walk_thread_free(r, &pg);
			if (err)
				return err;
			r->pages[r->npages++] = pg;
			used++;
		}
		idx += span;
	}
	/* The owner may be taking or giving back a page right now: the caller retries. */
	if (used != s->used_pages)
		return *why = "pages in use differ from the header's count", -EINVAL;
	return 0;
}

static int walk_segment(struct bmi_rd *r, size_t si)
{
	struct seg_ent *se = &r->segs[si];
	const char *why = "";
	int err = 0;

	se->first_page = r->npages;
	for (int tries = 0; tries < 2; tries++) {
		r->npages = se->first_page;
		err = walk_slices(r, si, &why);
		if (err != -EINVAL && err != -EAGAIN)
			break;
	}
	se->npages = r->npages - se->first_page;
	if (err == -EINVAL || err == -EAGAIN) {
		se->refused = true;
		bmi_refuse(r, why);
		books_partial(r->b, "segment %#llx: %s", (unsigned long long)se->s.addr, why);
		r->npages = se->first_page;
		se->npages = 0;
		return 0;
	}
	if (err == -ENOSPC)
		books_partial(r->b, "read budget spent");
	return err;
}

/* The page whose slices hold addr, among segments still accepted. */
struct books_mi_page *bmi_page_at(struct bmi_rd *r, uint64_t addr)
{
	size_t lo = 0, hi = r->npages;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct books_mi_page *p = &r->pages[mid];

		if (addr < p->start)
			hi = mid;
		else if (addr >= p->end)
			lo = mid + 1;
		else
			return r->segs[p->seg].refused ? NULL : p;
	}
	return NULL;
}

/* ---- totals ----------------------------------------------------------------------- */

struct sums {
	uint64_t pages, metadata, huge, abandoned, cached, thread_free, delayed_free;
};

static uint64_t resident(struct bmi_rd *r, uint64_t start, uint64_t end)
{
	uint64_t bytes = 0;

	tmem_resident_bytes(r->t, start, end, &bytes);
	return bytes;
}

/* Free bytes of the segment in RAM: its free spans' resident bytes, and of each page in
 * use its resident bytes beyond its live ones (live blocks are taken to be resident). */
static void seg_residency(struct bmi_rd *r, const struct seg_ent *se)
{
	const struct books_mi_segment *s = &se->s;
	uint64_t info_end = s->addr + (uint64_t)s->info_slices * BOOKS_MI_SLICE_SIZE;
	uint64_t spans, excess = 0, in_pages = 0;

	if (r->resident_bytes + 2 * s->size > MAX_RESIDENT_BYTES) {
		books_partial(r->b, "residency checked for %llu GiB only",
			      (unsigned long long)(MAX_RESIDENT_BYTES >> 30));
		return;
	}
	r->resident_bytes += 2 * s->size;
	spans = resident(r, info_end, s->addr + s->size);
	for (size_t i = se->first_page; i < se->first_page + se->npages; i++) {
		const struct books_mi_page *p = &r->pages[i];
		uint64_t live =
			(uint64_t)(p->used - p->thread_frees - p->delayed_frees) * p->block_size;
		uint64_t rp = resident(r, p->start, p->end);

		in_pages += rp;
		excess += rp > live ? rp - live : 0;
	}
	r->b->free_resident_bytes += (spans > in_pages ? spans - in_pages : 0) + excess;
}

static void seg_totals(struct bmi_rd *r, const struct seg_ent *se, struct sums *sum)
{
	const struct books_mi_segment *s = &se->s;
	uint64_t live = 0;

	for (size_t i = se->first_page; i < se->first_page + se->npages; i++) {
		const struct books_mi_page *p = &r->pages[i];
		uint64_t n = p->used - p->thread_frees - p->delayed_frees;

		live += n * p->block_size;
		r->st->live_blocks += n;
		r->st->thread_frees += p->thread_frees;
		r->st->delayed_frees += p->delayed_frees;
		sum->thread_free += (uint64_t)p->thread_frees * p->block_size;
		sum->delayed_free += (uint64_t)p->delayed_frees * p->block_size;
		sum->pages += p->end - p->start;
	}
	r->st->pages += se->npages;
	r->b->live_bytes += live;
	r->b->mapped_bytes += s->size;
	sum->metadata += (uint64_t)s->info_slices * BOOKS_MI_SLICE_SIZE;
	if (s->committed_bytes > live + (uint64_t)s->info_slices * BOOKS_MI_SLICE_SIZE)
		r->b->free_bytes +=
			s->committed_bytes - live - (uint64_t)s->info_slices * BOOKS_MI_SLICE_SIZE;
	seg_residency(r, se);
}

static enum books_mimalloc_kind seg_kind(const struct books_mi_segment *s)
{
	if (s->huge)
		return BOOKS_MI_HUGE;
	if (!s->thread_id)
		return s->used_pages ? BOOKS_MI_ABANDONED : BOOKS_MI_CACHED;
	return BOOKS_MI_SEGMENT;
}

static int totals(struct bmi_rd *r)
{
	struct sums sum = { 0 };
	uint64_t committed = 0;

	for (size_t i = 0; i < r->nsegs; i++) {
		const struct seg_ent *se = &r->segs[i];
		enum books_mimalloc_kind kind = seg_kind(&se->s);

		if (se->refused)
			continue;
		if (books_add_range(r->b, se->s.addr, se->s.addr + se->s.size,
				    se->books ? BOOKS_EV_BOOKS : BOOKS_EV_HEADER, kind))
			return -ENOMEM;
		seg_totals(r, se, &sum);
		committed += se->s.committed_bytes;
		r->st->segments++;
		r->st->books_segments += se->books;
		r->st->huge += kind == BOOKS_MI_HUGE;
		r->st->abandoned += kind == BOOKS_MI_ABANDONED;
		r->st->cached += kind == BOOKS_MI_CACHED;
		sum.huge += kind == BOOKS_MI_HUGE ? se->s.size : 0;
		sum.abandoned += kind == BOOKS_MI_ABANDONED ? se->s.size : 0;
		sum.cached += kind == BOOKS_MI_CACHED ? se->s.size : 0;
	}
	books_set_figure(r->b, "reserved", r->b->mapped_bytes);
	books_set_figure(r->b, "committed", committed);
	books_set_figure(r->b, "metadata", sum.metadata);
	books_set_figure(r->b, "pages", sum.pages);
	books_set_figure(r->b, "huge", sum.huge);
	books_set_figure(r->b, "abandoned", sum.abandoned);
	books_set_figure(r->b, "cached", sum.cached);
	books_set_figure(r->b, "thread_free", sum.thread_free);
	books_set_figure(r->b, "delayed_free", sum.delayed_free);
	return 0;
}

/* ---- build-id --------------------------------------------------------------------- */

/* The GNU build-id of the ELF file mapped at base, read from the target's memory. */
static int read_build_id(struct bmi_rd *r, uint64_t base, uint8_t *id, size_t *len)
{
	unsigned char notes[512];
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	if (bmi_read(r, base, &eh, sizeof(eh)) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(ph) || eh.e_phnum > 64)
		return -ENOENT;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		size_t n, off = 0;

		if (bmi_read(r, base + eh.e_phoff + i * sizeof(ph), &ph, sizeof(ph)))
			return -ENOENT;
		if (ph.p_type != PT_NOTE)
			continue;
		/* A shared object's notes sit in its first page-aligned segment: vaddr = offset. */
		n = ph.p_filesz < sizeof(notes) ? ph.p_filesz : sizeof(notes);
		if (ph.p_offset != ph.p_vaddr || bmi_read(r, base + ph.p_vaddr, notes, n))
			continue;
		while (off + 12 <= n) {
			uint32_t namesz = books_ld32(notes, off),
				 descsz = books_ld32(notes, off + 4);
			uint32_t type = books_ld32(notes, off + 8);
			size_t desc = off + 12 + ((namesz + 3) & ~3u);

			if (namesz > n || descsz > n || desc + descsz > n)
				break;
			if (type == NT_GNU_BUILD_ID && namesz == 4 &&
			    !memcmp(notes + off + 12, "GNU", 4) && descsz <= 64) {
				memcpy(id, notes + desc, descsz);
				*len = descsz;
				return 0;
			}
			off = desc + ((descsz + 3) & ~3u);
		}
	}
	return -ENOENT;
}

/* 0: go on (a known build, or none to check); 1: a libmimalloc whose layout is unknown. */
static int check_build(struct bmi_rd *r)
{
	for (size_t i = 0; i < r->nmaps; i++) {
		const struct maps_entry *e = &r->maps[i];
		const char *base = strrchr(e->path, '/');
		char hex[129] = "";
		uint8_t id[64];
		size_t len = 0;

		base = base ? base + 1 : e->path;
		if (e->offset || strncmp(base, "libmimalloc.so", 14))
			continue;
		if (read_build_id(r, e->start, id, &len))
			return 0; /* not resident: the structural checks decide alone */
		if (len == sizeof(known_build_id) && !memcmp(id, known_build_id, len)) {
			r->st->build_id_known = true;
			return 0;
		}
		for (size_t k = 0; k < len; k++)
			snprintf(hex + 2 * k, 3, "%02x", id[k]);
		books_partial(r->b, "%s build-id %s: layout unknown, not read", base, hex);
		return 1;
	}
	return 0;
}

/* ---- entry points ----------------------------------------------------------------- */

static int walk_all(struct bmi_rd *r)
{
	int err = scan(r);

	if (err == -ENOSPC)
		books_partial(r->b, "read budget spent");
	for (size_t i = 0; i < r->nsegs && (!err || err == -E2BIG); i++)
		err = walk_segment(r, i);
	if (err == -ENOMEM)
		return err;
	err = bmi_heaps(r);
	if (err == -ENOMEM)
		return err;
	return totals(r);
}

int books_mimalloc_read_maps(struct tmem *t, const struct maps_entry *maps, size_t nmaps,
			     struct books *out, struct books_mi_stats *st)
{
	struct books_mi_stats own;
	struct bmi_rd r = {
		.t = t,
		.b = out,
		.st = st ? st : &own,
		.maps = maps,
		.nmaps = nmaps,
		.read0 = tmem_bytes_read(t),
	};
	int err = 0;

	memset(out, 0, sizeof(*out));
	memset(r.st, 0, sizeof(*r.st));
	out->allocator = "mimalloc";
	if (!check_build(&r))
		err = walk_all(&r);
	free(r.segs);
	free(r.pages);
	free(r.heaps);
	if (err)
		books_release(out);
	return err;
}

int books_mimalloc_read(struct tmem *t, int pid, struct books *out)
{
	struct maps_entry *v;
	size_t n;
	int err = procfs_read_maps_all(pid, &v, &n);

	if (!err)
		err = books_mimalloc_read_maps(t, v, n, out, NULL);
	free(v);
	return err;
}
