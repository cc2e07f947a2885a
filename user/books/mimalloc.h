/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mimalloc's books (Debian's libmimalloc2.0 2.0.9, x86_64) read from outside a running
 * process: its segments are found at the 32 MiB-aligned addresses of the anonymous mappings,
 * each kept only when its header validates against the 2.0.9 layout, and the page headers
 * inside give the blocks in use. Cross-thread frees that mimalloc has not collected yet (a
 * page's thread-free list, a heap's delayed-free list) are walked and subtracted, so that
 * live bytes are what mi_usable_size would sum. Every read goes through sys/tmem and every
 * walk is bounded; whatever the target wrote there, a failed check refuses the segment
 * (never a crash, a hang or a wrong owner) and a bound that is hit marks the books partial.
 * The parse_* functions work on bytes already read, for tests and fuzzing. Not thread-safe;
 * 0 or a negative errno.
 */
#ifndef AT_BOOKS_MIMALLOC_H
#define AT_BOOKS_MIMALLOC_H

#include "books.h"

struct tmem;
struct maps_entry;

/* books_range.kind for mimalloc's segments. */
enum books_mimalloc_kind {
	BOOKS_MI_SEGMENT = 0,	/* a 32 MiB segment owned by a thread */
	BOOKS_MI_HUGE = 1,	/* a huge segment (one block over 16 MiB) */
	BOOKS_MI_ABANDONED = 2, /* its thread ended with blocks still live in it */
	BOOKS_MI_CACHED = 3,	/* no page in use: kept by mimalloc's segment cache */
};

/* Bytes of a segment header that the checks read (up to the slices array). */
#define BOOKS_MI_HEADER_BYTES 264
/* Bytes of one slice entry (mi_page_t). */
#define BOOKS_MI_SLICE_BYTES 80
#define BOOKS_MI_SEGMENT_BYTES (32ull << 20)
#define BOOKS_MI_SLICE_SIZE (64ull << 10)

/* A segment header that validated. */
struct books_mi_segment {
	uint64_t addr, size; /* size: segment_slices x 64 KiB */
	uint64_t thread_id;  /* 0: abandoned or cached */
	uint64_t cookie_key; /* addr ^ cookie: mimalloc's process-wide key if genuine */
	uint64_t used_pages; /* pages in use, as the header counts them */
	uint64_t abandoned_pages;
	uint64_t committed_bytes; /* from the commit mask */
	uint32_t slice_entries, info_slices;
	bool huge;
};

/* A slice entry that heads a page in use. */
struct books_mi_page {
	uint64_t head;	     /* address of its mi_page_t */
	uint64_t start, end; /* its slices */
	uint64_t blocks;     /* address of the first block */
	uint64_t block_size;
	uint64_t thread_free; /* first block of xthread_free (flag bits cleared) */
	uint64_t heap;	      /* xheap */
	uint64_t next;	      /* next page in its heap's queue */
	uint32_t used, capacity, reserved;
	/* Of used: blocks freed by other threads that mimalloc has not collected yet, on the
	 * page's thread-free list and on its heap's delayed-free list. */
	uint32_t thread_frees, delayed_frees;
	uint32_t seg; /* index of its segment */
};

/* What a read found, beyond struct books. */
struct books_mi_stats {
	uint64_t candidates;   /* aligned addresses looked at */
	uint64_t not_resident; /* ... whose header page was not in RAM (not read) */
	uint64_t refused;      /* ... whose header did not validate */
	uint64_t segments, huge, abandoned, cached;
	uint64_t books_segments; /* segments reached from a heap's page queues */
	uint64_t pages, live_blocks;
	uint64_t thread_frees;	/* blocks on pages' thread-free lists */
	uint64_t delayed_frees; /* blocks on heaps' delayed-free lists */
	uint64_t heaps;		/* heaps that validated */
	bool key_known;		/* cookie key confirmed by the main heap or two segments */
	bool build_id_known;	/* libmimalloc.so's build-id is one whose layout we know */
	char first_refusal[96]; /* why the first refused candidate was refused */
};

/*
 * Checks the first BOOKS_MI_HEADER_BYTES of a candidate segment at addr (32 MiB-aligned)
 * against the 2.0.9 layout: 0, or -EINVAL with *why saying which check failed.
 */
int books_mi_parse_segment(const void *hdr, uint64_t addr, struct books_mi_segment *seg,
			   const char **why);
/*
 * Checks the slice entry at index idx of seg (BOOKS_MI_SLICE_BYTES): 1 and *pg filled when
 * it heads a page in use, 0 when it heads a free span (*span_slices set in both cases),
 * -EINVAL with *why when it cannot be a span head there.
 */
int books_mi_parse_slice(const void *slice, const struct books_mi_segment *seg, uint32_t idx,
			 struct books_mi_page *pg, uint32_t *span_slices, const char **why);

/* Reads the books of pid (its maps from /proc) through t. */
int books_mimalloc_read(struct tmem *t, int pid, struct books *out);
/* The same over given maps (sorted by address, as /proc/PID/maps lists them); st may be
 * NULL. *out is overwritten; release it with books_release. */
int books_mimalloc_read_maps(struct tmem *t, const struct maps_entry *maps, size_t nmaps,
			     struct books *out, struct books_mi_stats *st);

#endif
