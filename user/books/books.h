/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An allocator's own books, read from outside a running process (issue 11): which of the
 * process's anonymous mappings the allocator owns, with the evidence that decided it, and
 * its own figures (in use, free and resident, and the allocator's particular counters). One
 * reader per allocator family (books/glibc.c, books/jemalloc.c, books/mimalloc.c) fills a
 * struct books. Readers read only through sys/tmem (never a page that is not resident,
 * never a write, never a stop), bound their walks, and treat every byte read as hostile:
 * a header that does not validate gives "unknown" for its range with a reason, never a
 * crash, a hang or a wrong owner. Not thread-safe; 0 or a negative errno.
 */
#ifndef AT_BOOKS_H
#define AT_BOOKS_H

#include <string.h>

#include "common.h"

/* What decided that a range belongs to an allocator. */
enum books_evidence {
	BOOKS_EV_HEADER = 0,   /* a header the allocator keeps at the range's start validated */
	BOOKS_EV_BOOKS = 1,    /* reached from the allocator's own metadata (arena lists...) */
	BOOKS_EV_INFERRED = 2, /* by elimination: one allocator can own it */
	BOOKS_EV_NR = 3,
};

struct books_range {
	uint64_t start, end;
	uint32_t evidence; /* enum books_evidence */
	uint32_t kind;	   /* the reader's own: glibc main heap, thread heap, mmapped chunk... */
};

/* One named figure of the allocator's own (jemalloc's "dirty", glibc's "fastbins"...). */
struct books_figure {
	const char *name; /* static string */
	uint64_t bytes;	  /* or a count, when count is set */
	bool count;
};

#define BOOKS_MAX_FIGURES 16

struct books {
	const char *allocator;	      /* "glibc", "jemalloc", "mimalloc" */
	uint64_t live_bytes;	      /* handed to the application and not freed */
	uint64_t free_bytes;	      /* free inside what the allocator holds from the OS */
	uint64_t free_resident_bytes; /* of free_bytes, in RAM: what it keeps (retained) */
	uint64_t mapped_bytes;	      /* address space it holds from the OS */
	struct books_figure figures[BOOKS_MAX_FIGURES];
	size_t nfigures;
	struct books_range *ranges; /* the allocator's mappings, sorted by start */
	size_t nranges, ranges_cap;
	bool partial; /* some part could not be read (then reason says which) */
	char reason[128];
};

/* The 64- and 32-bit words at byte off of bytes read from a target (any alignment). */
static inline uint64_t books_ld64(const void *p, size_t off)
{
	uint64_t v;

	memcpy(&v, (const unsigned char *)p + off, sizeof(v));
	return v;
}

static inline uint32_t books_ld32(const void *p, size_t off)
{
	uint32_t v;

	memcpy(&v, (const unsigned char *)p + off, sizeof(v));
	return v;
}

/* Frees the ranges and clears *b. */
void books_release(struct books *b);
/* Appends a range (ranges are sorted by the caller, or by books_sort_ranges). */
int books_add_range(struct books *b, uint64_t start, uint64_t end, enum books_evidence ev,
		    uint32_t kind);
void books_sort_ranges(struct books *b);
/* Sets a named figure (name: a static string); ignored beyond BOOKS_MAX_FIGURES. */
void books_set_figure(struct books *b, const char *name, uint64_t bytes);
/* The same for a figure that counts things (arenas, chunks), not bytes. */
void books_set_count(struct books *b, const char *name, uint64_t n);
/* Marks the books partial with a reason (the first reason is kept). */
void books_partial(struct books *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
