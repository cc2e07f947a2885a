// SPDX-License-Identifier: GPL-2.0-only
#include "mimalloc.h"

#include <elf.h>
#include <stdio.h>
#include <string.h>

#include "procfs.h"
#include "tmem.h"

/*
 * Layout of mimalloc 2.0.9 as Debian builds it (CMAKE_BUILD_TYPE=RelWithDebInfo: NDEBUG,
 * so MI_DEBUG 0, MI_SECURE 0, no MI_ENCODE_FREELIST, no MI_PADDING), x86_64. Offsets are
 * from include/mimalloc-types.h of 2.0.9 and were checked against the running library.
 */
#define SEG_MEM_IS_PINNED 8
#define SEG_MEM_IS_LARGE 9
#define SEG_MEM_IS_COMMITTED 10
#define SEG_MEM_ALIGNMENT 16
#define SEG_MEM_ALIGN_OFFSET 24
#define SEG_ALLOW_DECOMMIT 32
#define SEG_DECOMMIT_MASK 48 /* mi_commit_mask_t: 8 words, one bit per 64 KiB */
#define SEG_COMMIT_MASK 112
#define SEG_ABANDONED_NEXT 176
#define SEG_NEXT 184
#define SEG_ABANDONED 192
#define SEG_USED 208
#define SEG_COOKIE 216
#define SEG_SEGMENT_SLICES 224
#define SEG_INFO_SLICES 232
#define SEG_KIND 240
#define SEG_SLICE_ENTRIES 248
#define SEG_THREAD_ID 256
#define SEG_SLICES 264

#define PG_SLICE_COUNT 0
#define PG_SLICE_OFFSET 4
#define PG_BITS 8 /* is_reset:1, is_committed:1, is_zero_init:1 */
#define PG_CAPACITY 10
#define PG_RESERVED 12
#define PG_USED 24
#define PG_XBLOCK_SIZE 28
#define PG_XTHREAD_FREE 40
#define PG_XHEAP 48
#define PG_NEXT 56

#define HEAP_TLD 0
#define HEAP_PAGES 1040 /* mi_page_queue_t[MI_BIN_FULL + 1]: first, last, block_size */
#define HEAP_QUEUES 75
#define HEAP_DELAYED_FREE 2840
#define HEAP_THREAD_ID 2848
#define HEAP_COOKIE 2864
#define HEAP_BYTES 2872

#define MI_SLICES_PER_SEGMENT 512u
/* sizeof(mi_segment_t) is 41304 bytes: one 64 KiB slice (two with MI_SECURE's guard page). */
#define MI_INFO_SLICES 1u
#define MI_HUGE_BLOCK_SIZE (2ull << 30) /* xblock_size's "see the page size" value */
#define MI_SMALL_START_OFFSET 384	/* 3 * MI_MAX_ALIGN_GUARANTEE, blocks of 8..1024 */
#define MI_HUGE_MAX_SLICES (1u << 24)	/* 1 TiB: the reader's bound, not mimalloc's */
#define USER_ADDR_END (1ull << 47)

/* Bounds of one read. Each one hit marks the books partial. */
#define MAX_CANDIDATES (1u << 18)  /* aligned addresses: 8 TiB of anonymous mappings */
#define MAX_SEGMENTS (1u << 14)	   /* 512 GiB of segments */
#define MAX_PAGES (1u << 21)
#define MAX_HEAPS 1024u
#define MAX_LIST_STEPS (1u << 22)  /* blocks followed on free lists, all lists together */
#define MAX_READ_BYTES (64u << 20) /* through tmem, whatever the caller's budget */
#define MAX_RESIDENT_BYTES (64ull << 30)

/* Debian libmimalloc2.0 2.0.9+ds-2 amd64 (libmimalloc.so.2.0). */
static const uint8_t known_build_id[20] = { 0xd0, 0x7f, 0x4e, 0x7d, 0xc9, 0xa0, 0x39,
					    0xfc, 0xbe, 0x77, 0x47, 0xf4, 0x16, 0x47,
					    0x6b, 0xd6, 0x5c, 0xb4, 0x8e, 0x8b };

struct seg_ent {
	struct books_mi_segment s;
	size_t first_page, npages;
	bool refused, books;
};

struct heap_ent {
	uint64_t addr, tid, cookie, delayed;
	bool bad;
	unsigned char raw[HEAP_BYTES];
};

struct rd {
	struct tmem *t;
	struct books *b;
	struct books_mi_stats *st;
	const struct maps_entry *maps;
	size_t nmaps;
	struct seg_ent *segs;
	size_t nsegs, segs_cap;
	struct books_mi_page *pages;
	size_t npages, pages_cap;
	struct heap_ent *heaps;
	size_t nheaps, heaps_cap;
	uint64_t read0, list_steps, resident_bytes;
	uint64_t key;
	bool key_known;
	uint64_t tcb_ok[16], tcb_bad[16];
	unsigned ntcb_ok, ntcb_bad;
};

static uint64_t ld64(const void *p, size_t off)
{
	uint64_t v;

	memcpy(&v, (const unsigned char *)p + off, sizeof(v));
	return v;
}

static uint32_t ld32(const void *p, size_t off)
{
	uint32_t v;

	memcpy(&v, (const unsigned char *)p + off, sizeof(v));
	return v;
}

static uint16_t ld16(const void *p, size_t off)
{
	uint16_t v;

	memcpy(&v, (const unsigned char *)p + off, sizeof(v));
	return v;
}

static bool user_ptr(uint64_t p)
{
	return p >= AT_PAGE_SIZE && p < USER_ADDR_END && !(p & 7);
}

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
		uint64_t c = ld64(h, SEG_COMMIT_MASK + 8 * i), d = ld64(h, SEG_DECOMMIT_MASK + 8 * i);

		/* Only committed memory is ever scheduled for decommit (mi_segment_is_valid). */
		if (d & ~c)
			return *why = "decommit mask outside the commit mask", -EINVAL;
		any |= c;
	}
	/* The info slices are committed before the header is written. */
	if (!(ld64(h, SEG_COMMIT_MASK) & 1) || !any)
		return *why = "info slices not committed", -EINVAL;
	if (!seg_ptr(ld64(h, SEG_ABANDONED_NEXT)) || !seg_ptr(ld64(h, SEG_NEXT)))
		return *why = "segment links not segments", -EINVAL;
	return 0;
}

static int check_sizes(const void *h, bool huge, const char **why)
{
	uint64_t slices = ld64(h, SEG_SEGMENT_SLICES), entries = ld64(h, SEG_SLICE_ENTRIES);
	uint64_t align = ld64(h, SEG_MEM_ALIGNMENT), align_off = ld64(h, SEG_MEM_ALIGN_OFFSET);

	if (ld64(h, SEG_INFO_SLICES) != MI_INFO_SLICES)
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
	uint32_t kind = ld32(h, SEG_KIND);
	uint64_t used = ld64(h, SEG_USED), tid = ld64(h, SEG_THREAD_ID), ncommit = 0;
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
	if (used > ld64(h, SEG_SLICE_ENTRIES) - MI_INFO_SLICES || (kind == 1 && used > 1) ||
	    ld64(h, SEG_ABANDONED) > used)
		return *why = "page counts", -EINVAL;
	/* _mi_thread_id() is the thread pointer (%fs:0); 0 once abandoned or freed. */
	if (tid && !user_ptr(tid))
		return *why = "thread id", -EINVAL;
	for (int i = 0; i < 8; i++)
		ncommit += (uint64_t)popcount64(ld64(h, SEG_COMMIT_MASK + 8 * i));
	*seg = (struct books_mi_segment){
		.addr = addr,
		.size = ld64(h, SEG_SEGMENT_SLICES) * BOOKS_MI_SLICE_SIZE,
		.thread_id = tid,
		.cookie_key = addr ^ ld64(h, SEG_COOKIE),
		.used_pages = used,
		.abandoned_pages = ld64(h, SEG_ABANDONED),
		.slice_entries = (uint32_t)ld64(h, SEG_SLICE_ENTRIES),
		.info_slices = MI_INFO_SLICES,
		.huge = kind == 1,
	};
	/* A huge segment is committed whole when allocated; its mask covers 32 MiB only. */
	seg->committed_bytes = seg->huge && ncommit == MI_SLICES_PER_SEGMENT ?
				       seg->size :
				       ncommit * BOOKS_MI_SLICE_SIZE;
	if (seg->committed_bytes > seg->size)
		seg->committed_bytes = seg->size;
	return 0;
}

/* A page in use: its block geometry must be the one mi_page_init gave it. */
static int parse_page(const void *sl, const struct books_mi_segment *seg, uint32_t idx,
		      uint32_t count, struct books_mi_page *pg, const char **why)
{
	uint32_t xbs = ld32(sl, PG_XBLOCK_SIZE), used = ld32(sl, PG_USED);
	uint32_t cap = ld16(sl, PG_CAPACITY), res = ld16(sl, PG_RESERVED);
	uint64_t span = (uint64_t)count * BOOKS_MI_SLICE_SIZE, bsize, off, psize;

	bsize = xbs < MI_HUGE_BLOCK_SIZE ? xbs : span;
	off = xbs >= 8 && xbs <= 1024 ? MI_SMALL_START_OFFSET : 0;
	psize = span - off;
	if (!(ld32(sl, PG_BITS) & 2))
		return *why = "page in use not committed", -EINVAL;
	if (cap > res || used > cap)
		return *why = "page block counts", -EINVAL;
	/* A span taken for a page that mi_page_init has not set up yet has no blocks. */
	if ((xbs < 8 || (xbs & 7) || bsize > psize) && (cap || res || xbs != span))
		return *why = "page block size", -EINVAL;
	if (res && res != (uint16_t)(psize / bsize))
		return *why = "page reserved count", -EINVAL;
	if (ld64(sl, PG_XHEAP) && !user_ptr(ld64(sl, PG_XHEAP)))
		return *why = "page heap pointer", -EINVAL;
	*pg = (struct books_mi_page){
		.head = seg->addr + SEG_SLICES + (uint64_t)idx * BOOKS_MI_SLICE_BYTES,
		.start = seg->addr + (uint64_t)idx * BOOKS_MI_SLICE_SIZE,
		.blocks = seg->addr + (uint64_t)idx * BOOKS_MI_SLICE_SIZE + off,
		.block_size = bsize ? bsize : span,
		.thread_free = ld64(sl, PG_XTHREAD_FREE) & ~3ull,
		.heap = ld64(sl, PG_XHEAP),
		.next = ld64(sl, PG_NEXT),
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
	uint32_t count = ld32(sl, PG_SLICE_COUNT), xbs = ld32(sl, PG_XBLOCK_SIZE);
	uint64_t limit = seg->huge ? seg->size / BOOKS_MI_SLICE_SIZE : seg->slice_entries;
	const char *dummy;

	if (!why)
		why = &dummy;
	*span_slices = count;
	if (ld32(sl, PG_SLICE_OFFSET) || !count || idx >= seg->slice_entries)
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

static int rd_read(struct rd *r, uint64_t addr, void *buf, size_t len)
{
	if (tmem_bytes_read(r->t) - r->read0 + len > MAX_READ_BYTES)
		return -ENOSPC;
	return tmem_read(r->t, addr, buf, len);
}

/* A read that failed for the budget ends the walk; other failures are the caller's. */
static bool rd_spent(struct rd *r, int err)
{
	if (err != -ENOSPC)
		return false;
	books_partial(r->b, "read budget spent");
	return true;
}

/* The thread pointer of a live glibc thread points at its TCB, whose first and third words
 * (tcb, self) point back at it. A TCB that cannot be read leaves the id unverified. */
static bool tcb_plausible(struct rd *r, uint64_t tid)
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
	if (rd_read(r, tid, w, sizeof(w)) || (w[0] == tid && w[2] == tid)) {
		if (r->ntcb_ok < AT_ARRAY_SIZE(r->tcb_ok))
			r->tcb_ok[r->ntcb_ok++] = tid;
		return true;
	}
	if (r->ntcb_bad < AT_ARRAY_SIZE(r->tcb_bad))
		r->tcb_bad[r->ntcb_bad++] = tid;
	return false;
}

/* Counts a candidate refused (keeping the first reason); returns 0, "no segment here". */
static int refuse(struct rd *r, const char *why)
{
	r->st->refused++;
	if (!r->st->first_refusal[0])
		snprintf(r->st->first_refusal, sizeof(r->st->first_refusal), "%s", why);
	return 0;
}

/* 1: a segment of size *size validated at addr; 0: none there; negative: stop. */
static int try_candidate(struct rd *r, uint64_t addr, uint64_t region_end, uint64_t *size)
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
	err = rd_read(r, addr, h, sizeof(h));
	if (err == -ENOSPC)
		return err;
	if (err) {
		r->st->not_resident++;
		return 0;
	}
	if (books_mi_parse_segment(h, addr, &s, &why))
		return refuse(r, why);
	if (s.size > region_end - addr)
		return refuse(r, "segment extends past its mapping");
	if (!tcb_plausible(r, s.thread_id))
		return refuse(r, "thread id is not a thread's TCB");
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
static int scan_region(struct rd *r, size_t i, size_t j)
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

static int scan(struct rd *r)
{
	size_t i = 0, j;
	int err;

	while (i < r->nmaps) {
		if (!anon(&r->maps[i])) {
			i++;
			continue;
		}
		for (j = i + 1; j < r->nmaps && anon(&r->maps[j]) &&
				r->maps[j].start == r->maps[j - 1].end;
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
static int walk_thread_free(struct rd *r, struct books_mi_page *pg)
{
	uint64_t b = pg->thread_free, end = pg->blocks + (uint64_t)pg->capacity * pg->block_size;
	uint32_t n = 0;
	int err;

	while (b) {
		if (n >= pg->used || b < pg->blocks || b >= end || (b - pg->blocks) % pg->block_size) {
			books_partial(r->b, "thread-free list of page %#llx inconsistent",
				      (unsigned long long)pg->head);
			break;
		}
		if (r->list_steps++ >= MAX_LIST_STEPS) {
			books_partial(r->b, "more than %u free-list blocks", MAX_LIST_STEPS);
			return -E2BIG;
		}
		err = rd_read(r, b, &b, sizeof(b));
		if (rd_spent(r, err))
			return err;
		if (err) {
			books_partial(r->b, "thread-free block of page %#llx not resident",
				      (unsigned long long)pg->head);
			break;
		}
		n++;
	}
	pg->thread_frees = n;
	return 0;
}

/* -EINVAL (with *why) when the slices are not the span chain of a segment, -EAGAIN when an
 * entry could not be read; other errors stop the read. */
static int walk_slices(struct rd *r, size_t si, const char **why)
{
	const struct books_mi_segment *s = &r->segs[si].s;
	unsigned char sl[BOOKS_MI_SLICE_BYTES];
	struct books_mi_page pg;
	uint64_t used = 0;
	uint32_t idx = 0, span;
	int err, got;

	while (idx < s->slice_entries) {
		err = rd_read(r, s->addr + SEG_SLICES + (uint64_t)idx * BOOKS_MI_SLICE_BYTES, sl,
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

static int walk_segment(struct rd *r, size_t si)
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
		refuse(r, why);
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
static struct books_mi_page *page_at(struct rd *r, uint64_t addr)
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

/* ---- heaps ------------------------------------------------------------------------ */

struct heap_ref {
	uint64_t addr, tid;
};

static int by_ref(const void *a, const void *b)
{
	const struct heap_ref *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* The (heap, thread) pairs the pages of live threads name (xheap), each once. */
static int heap_refs(struct rd *r, struct heap_ref **out, size_t *nout)
{
	struct heap_ref *v = NULL;
	size_t n = 0, cap = 0;

	*out = NULL;
	*nout = 0;
	for (size_t i = 0; i < r->npages; i++) {
		const struct books_mi_page *p = &r->pages[i];
		uint64_t tid = r->segs[p->seg].s.thread_id;

		if (!p->heap || !tid || r->segs[p->seg].refused)
			continue;
		if (n && v[n - 1].addr == p->heap && v[n - 1].tid == tid)
			continue;
		if (at_grow(&v, n, &cap, sizeof(*v), 1)) {
			free(v);
			return -ENOMEM;
		}
		v[n++] = (struct heap_ref){ .addr = p->heap, .tid = tid };
	}
	if (n)
		qsort(v, n, sizeof(*v), by_ref);
	*out = v;
	*nout = n;
	return 0;
}

/* One entry per heap; a heap named by pages of two threads belongs to neither for sure. */
static int gather_heaps(struct rd *r)
{
	struct heap_ref *v;
	size_t n;
	int err = heap_refs(r, &v, &n);

	for (size_t i = 0; !err && i < n; i++) {
		if (r->nheaps && r->heaps[r->nheaps - 1].addr == v[i].addr) {
			r->heaps[r->nheaps - 1].bad |= r->heaps[r->nheaps - 1].tid != v[i].tid;
			continue;
		}
		if (r->nheaps >= MAX_HEAPS) {
			books_partial(r->b, "more than %u heaps", MAX_HEAPS);
			break;
		}
		if (at_grow(&r->heaps, r->nheaps, &r->heaps_cap, sizeof(*r->heaps), 1)) {
			err = -ENOMEM;
			break;
		}
		r->heaps[r->nheaps++] = (struct heap_ent){ .addr = v[i].addr, .tid = v[i].tid };
	}
	free(v);
	return err;
}

/* A heap is kept when it says it belongs to the thread owning the pages that name it. */
static int read_heaps(struct rd *r)
{
	for (size_t i = 0; i < r->nheaps; i++) {
		struct heap_ent *h = &r->heaps[i];
		int err = h->bad ? 0 : rd_read(r, h->addr, h->raw, sizeof(h->raw));

		if (rd_spent(r, err))
			return err;
		if (h->bad || err || ld64(h->raw, HEAP_THREAD_ID) != h->tid ||
		    !user_ptr(ld64(h->raw, HEAP_TLD))) {
			h->bad = true;
			continue;
		}
		h->cookie = ld64(h->raw, HEAP_COOKIE);
		h->delayed = ld64(h->raw, HEAP_DELAYED_FREE);
		r->st->heaps++;
	}
	return 0;
}

static int by_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The most common segment key, if two segments or more share it. */
static int majority_key(struct rd *r, uint64_t *key)
{
	uint64_t *k = malloc((r->nsegs ? r->nsegs : 1) * sizeof(*k));
	size_t n = 0, best = 0;

	if (!k)
		return -ENOMEM;
	for (size_t i = 0; i < r->nsegs; i++)
		if (!r->segs[i].refused)
			k[n++] = r->segs[i].s.cookie_key;
	qsort(k, n, sizeof(*k), by_u64);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i; j < n && k[j] == k[i]; j++)
			;
		if (j - i > best) {
			best = j - i;
			*key = k[i];
		}
	}
	free(k);
	return best >= 2 ? 0 : -ENOENT;
}

/*
 * Every segment's cookie is its address xor _mi_heap_main.cookie, a random key. The main
 * heap is the heap whose own cookie is that key; else two segments agreeing on it will do.
 * A segment with another key is not mimalloc's (or not this process's).
 */
static int resolve_key(struct rd *r)
{
	size_t live = 0;
	int err;

	for (size_t i = 0; i < r->nheaps && !r->key_known; i++) {
		if (r->heaps[i].bad)
			continue;
		for (size_t j = 0; j < r->nsegs && !r->key_known; j++)
			if (!r->segs[j].refused && r->segs[j].s.cookie_key == r->heaps[i].cookie) {
				r->key = r->heaps[i].cookie;
				r->key_known = true;
			}
	}
	if (!r->key_known) {
		err = majority_key(r, &r->key);
		if (err == -ENOMEM)
			return err;
		r->key_known = !err;
	}
	for (size_t i = 0; i < r->nsegs; i++)
		live += !r->segs[i].refused;
	for (size_t i = 0; i < r->nsegs && (r->key_known || live > 1); i++) {
		struct seg_ent *se = &r->segs[i];

		if (se->refused || (r->key_known && se->s.cookie_key == r->key))
			continue;
		se->refused = true;
		refuse(r, "cookie does not match the process's key");
		books_partial(r->b, "segment %#llx: cookie does not match the process's key",
			      (unsigned long long)se->s.addr);
	}
	r->st->key_known = r->key_known;
	return 0;
}

/* A heap's delayed-free list: blocks other threads freed in its full pages. Each block
 * must be one of the heap's pages' blocks, and no page gets more than its used count. */
static int walk_delayed(struct rd *r, struct heap_ent *h)
{
	uint64_t b = h->delayed;
	int err;

	while (b) {
		struct books_mi_page *p = page_at(r, b);

		if (!p || p->heap != h->addr || b < p->blocks || (b - p->blocks) % p->block_size ||
		    (b - p->blocks) / p->block_size >= p->capacity ||
		    p->thread_frees + p->delayed_frees >= p->used) {
			books_partial(r->b, "delayed-free list of heap %#llx inconsistent",
				      (unsigned long long)h->addr);
			return 0;
		}
		if (r->list_steps++ >= MAX_LIST_STEPS) {
			books_partial(r->b, "more than %u free-list blocks", MAX_LIST_STEPS);
			return -E2BIG;
		}
		err = rd_read(r, b, &b, sizeof(b));
		if (rd_spent(r, err))
			return err;
		if (err) {
			books_partial(r->b, "delayed-free block of heap %#llx not resident",
				      (unsigned long long)h->addr);
			return 0;
		}
		p->delayed_frees++;
	}
	return 0;
}

/* The page whose mi_page_t is at head (pages are sorted by head as well as by start). */
static struct books_mi_page *page_by_head(struct rd *r, uint64_t head)
{
	size_t lo = 0, hi = r->npages;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->pages[mid].head < head)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < r->npages && r->pages[lo].head == head && !r->segs[r->pages[lo].seg].refused)
		return &r->pages[lo];
	return NULL;
}

/* Pages reached from a heap's page queues (mimalloc's own lists) make their segments
 * BOOKS evidence. The queues, all together, cannot hold more pages than were found. */
static void walk_queues(struct rd *r, const struct heap_ent *h)
{
	uint64_t steps = 0, stray = 0;

	for (int q = 0; q < HEAP_QUEUES; q++) {
		uint64_t pa = ld64(h->raw, HEAP_PAGES + 24 * q);

		while (pa) {
			struct books_mi_page *p = page_by_head(r, pa);

			if (steps++ > r->npages) {
				books_partial(r->b, "page queues of heap %#llx loop",
					      (unsigned long long)h->addr);
				return;
			}
			if (!p || p->heap != h->addr) {
				stray++;
				break;
			}
			r->segs[p->seg].books = true;
			pa = p->next;
		}
	}
	if (stray)
		books_partial(r->b, "heap %#llx lists pages outside the segments read",
			      (unsigned long long)h->addr);
}

/* ---- totals ----------------------------------------------------------------------- */

struct sums {
	uint64_t pages, metadata, huge, abandoned, cached, thread_free, delayed_free;
};

static uint64_t resident(struct rd *r, uint64_t start, uint64_t end)
{
	uint64_t bytes = 0;

	tmem_resident_bytes(r->t, start, end, &bytes);
	return bytes;
}

/* Free bytes of the segment in RAM: its free spans' resident bytes, and of each page in
 * use its resident bytes beyond its live ones (live blocks are taken to be resident). */
static void seg_residency(struct rd *r, const struct seg_ent *se)
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
		uint64_t live = (uint64_t)(p->used - p->thread_frees - p->delayed_frees) *
				p->block_size;
		uint64_t rp = resident(r, p->start, p->end);

		in_pages += rp;
		excess += rp > live ? rp - live : 0;
	}
	r->b->free_resident_bytes += (spans > in_pages ? spans - in_pages : 0) + excess;
}

static void seg_totals(struct rd *r, const struct seg_ent *se, struct sums *sum)
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

static int totals(struct rd *r)
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
static int read_build_id(struct rd *r, uint64_t base, uint8_t *id, size_t *len)
{
	unsigned char notes[512];
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	if (rd_read(r, base, &eh, sizeof(eh)) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(ph) || eh.e_phnum > 64)
		return -ENOENT;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		size_t n, off = 0;

		if (rd_read(r, base + eh.e_phoff + i * sizeof(ph), &ph, sizeof(ph)))
			return -ENOENT;
		if (ph.p_type != PT_NOTE)
			continue;
		/* A shared object's notes sit in its first page-aligned segment: vaddr = offset. */
		n = ph.p_filesz < sizeof(notes) ? ph.p_filesz : sizeof(notes);
		if (ph.p_offset != ph.p_vaddr || rd_read(r, base + ph.p_vaddr, notes, n))
			continue;
		while (off + 12 <= n) {
			uint32_t namesz = ld32(notes, off), descsz = ld32(notes, off + 4);
			uint32_t type = ld32(notes, off + 8);
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
static int check_build(struct rd *r)
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

static int walk_all(struct rd *r)
{
	int err = scan(r);

	if (err == -ENOSPC)
		books_partial(r->b, "read budget spent");
	for (size_t i = 0; i < r->nsegs && (!err || err == -E2BIG); i++)
		err = walk_segment(r, i);
	if (err == -ENOMEM)
		return err;
	err = gather_heaps(r);
	if (!err)
		err = read_heaps(r);
	if (!err || err == -ENOSPC)
		err = resolve_key(r);
	for (size_t i = 0; i < r->nheaps && !err; i++)
		if (!r->heaps[i].bad)
			err = walk_delayed(r, &r->heaps[i]);
	for (size_t i = 0; i < r->nheaps; i++)
		if (!r->heaps[i].bad)
			walk_queues(r, &r->heaps[i]);
	if (err == -ENOMEM)
		return err;
	return totals(r);
}

int books_mimalloc_read_maps(struct tmem *t, const struct maps_entry *maps, size_t nmaps,
			     struct books *out, struct books_mi_stats *st)
{
	struct books_mi_stats own;
	struct rd r = {
		.t = t, .b = out, .st = st ? st : &own, .maps = maps, .nmaps = nmaps,
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

struct maps_vec {
	struct maps_entry *v;
	size_t n, cap;
};

static int keep_entry(const struct maps_entry *e, void *arg)
{
	struct maps_vec *m = arg;

	if (at_grow(&m->v, m->n, &m->cap, sizeof(*m->v), 1))
		return -ENOMEM;
	m->v[m->n++] = *e;
	return 0;
}

int books_mimalloc_read(struct tmem *t, int pid, struct books *out)
{
	struct maps_vec m = { 0 };
	int err = procfs_read_maps(pid, keep_entry, &m);

	if (!err)
		err = books_mimalloc_read_maps(t, m.v, m.n, out, NULL);
	free(m.v);
	return err;
}
