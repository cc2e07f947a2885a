/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The mimalloc reader's layouts and run state, shared by its own files only (mimalloc.c:
 * segments, pages, totals; mimalloc_heaps.c: heaps, the cookie key, delayed frees, page
 * queues). Nothing outside books/mimalloc includes this.
 */
#ifndef AT_BOOKS_MIMALLOC_PRIV_H
#define AT_BOOKS_MIMALLOC_PRIV_H

#include <string.h>

#include "mimalloc.h"

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
#define MAX_CANDIDATES (1u << 18) /* aligned addresses: 8 TiB of anonymous mappings */
#define MAX_SEGMENTS (1u << 14)	  /* 512 GiB of segments */
#define MAX_PAGES (1u << 21)
#define MAX_HEAPS 1024u
#define MAX_LIST_STEPS (1u << 22)  /* blocks followed on free lists, all lists together */
#define MAX_READ_BYTES (64u << 20) /* through tmem, whatever the caller's budget */
#define MAX_RESIDENT_BYTES (64ull << 30)

/* A segment whose header validated; its pages are pages[first_page, +npages). */
struct seg_ent {
	struct books_mi_segment s;
	size_t first_page, npages;
	bool refused; /* a later check failed: its range stays unknown */
	bool books;   /* one of its pages is on a heap's page queue */
};

/* A heap named by pages (xheap) of thread tid; bad when it does not say it is tid's. */
struct heap_ent {
	uint64_t addr, tid, cookie, delayed;
	bool bad;
	unsigned char raw[HEAP_BYTES]; /* up to its cookie */
};

/* One read's state: what was found so far, and what the bounds have used. */
struct bmi_rd {
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

static inline uint16_t ld16(const void *p, size_t off)
{
	uint16_t v;

	memcpy(&v, (const unsigned char *)p + off, sizeof(v));
	return v;
}

static inline bool user_ptr(uint64_t p)
{
	return p >= AT_PAGE_SIZE && p < USER_ADDR_END && !(p & 7);
}

/* Reads through tmem within the reader's own byte cap. */
int bmi_read(struct bmi_rd *r, uint64_t addr, void *buf, size_t len);
/* Whether err is the budget running out (then the books are marked partial). */
bool bmi_spent(struct bmi_rd *r, int err);
/* One step along a free list: counts it against MAX_LIST_STEPS and reads the next block's
 * address into *b. 0: go on; 1: the block is not resident (the books say so, naming the list
 * by what and owner); < 0: stop the whole read (too many steps, budget spent). */
int bmi_list_step(struct bmi_rd *r, uint64_t *b, const char *what, uint64_t owner);
/* Counts a candidate refused (keeping the first reason); returns 0, "no segment here". */
int bmi_refuse(struct bmi_rd *r, const char *why);
/* The page whose slices hold addr, among segments still accepted. */
struct books_mi_page *bmi_page_at(struct bmi_rd *r, uint64_t addr);
/* Heaps named by the pages: the cookie key, delayed frees, BOOKS evidence from their page
 * queues. Segments whose cookie disagrees with the key are refused. */
int bmi_heaps(struct bmi_rd *r);

#endif
