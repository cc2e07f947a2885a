/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * glibc malloc's own books, read from outside a running process (issue 11; docs/attach.md,
 * "glibc"). main_arena is found by its debug symbol (libc6-dbg), else by a scan of libc's
 * writable data for the one malloc_state that validates; then the arena ring, each arena's
 * heaps, top chunk, bins and fastbins, the chunks glibc mmapped itself and, with debug
 * symbols, each thread's tcache. Layouts are glibc 2.36's on x86_64 (glibc_layout.h).
 *
 * Everything read is hostile: every pointer is checked against the memory it must lie in,
 * every list is bounded and checked for loops, and a list that does not validate to its end
 * counts nothing (its chunks stay "in use") and marks the books partial with a reason.
 * Reads go through sys/tmem only (resident pages, a byte budget). The glibc_* functions
 * below are the pure parts, fed from any tmem (a buffer in tests). Not thread-safe; 0 or a
 * negative errno.
 */
#ifndef AT_BOOKS_GLIBC_H
#define AT_BOOKS_GLIBC_H

#include <limits.h>

#include "books.h"
#include "tmem.h"

struct books_glibc_opts {
	bool no_symbols;	 /* ignore debug symbols: main_arena by scan, no mp_, no tcache */
	uint32_t max_arenas;	 /* arenas followed on the ring; 0: 1024 */
	uint64_t max_chunks;	 /* free chunks walked, all lists together; 0: 1 << 18 */
	uint64_t max_pages;	 /* pages of free chunks checked for residency; 0: 1 << 20 */
	uint64_t max_read_bytes; /* tmem budget of one read; 0: 64 MiB */
};

/* books_range.kind of the ranges books_glibc_read adds. */
enum books_glibc_kind {
	GLIBC_RANGE_MAIN_HEAP = 1,   /* the main arena's memory: [heap], or where its top is */
	GLIBC_RANGE_THREAD_HEAP = 2, /* one non-main heap: its whole reservation */
	GLIBC_RANGE_MMAPPED = 3,     /* a chunk glibc mmapped itself (one mapping) */
};

/* Where glibc's malloc lives in a process. */
struct glibc_where {
	char path[PATH_MAX];	   /* libc.so.6, or the executable of a static build */
	uint64_t bias;		   /* process address minus ELF address */
	uint64_t rw_start, rw_end; /* its writable data (.data, .bss) in the process */
	uint64_t main_arena;
	uint64_t mp;	      /* &mp_; 0 without symbols */
	uint64_t tcache_key;  /* &tcache_key; 0 without symbols */
	int64_t tcache_tpoff; /* tcache's offset from the thread pointer; 0: unknown */
	int version;	      /* glibc 2.N: N; -1 when the file does not say */
	bool by_symbol;	      /* main_arena from a symbol (else from the scan) */
	bool is_static;	      /* glibc linked into the executable */
};

/*
 * Reads pid's glibc books through t (tmem__open(pid)) into out (cleared first). 0 when
 * anything was read (out->partial says what was not); a negative errno with out->reason
 * when nothing was: -ENOENT (no glibc malloc in the process), -ENOTSUP (a glibc whose
 * layouts are not known), -EBADMSG (no single malloc_state validates), -ENOSPC (the read
 * budget did not cover main_arena), -ENOMEM. Sets t's budget to o->max_read_bytes and
 * restarts its count. o may be NULL (defaults).
 */
int books_glibc_read(struct tmem *t, int pid, const struct books_glibc_opts *o, struct books *out);
/* Only the first step: finds libc and main_arena (why: a reason on failure). */
int books_glibc_locate(struct tmem *t, int pid, const struct books_glibc_opts *o,
		       struct glibc_where *w, char *why, size_t whylen);

/* ---- pure parts ---- */

struct glibc_span {
	uint64_t start, end;
};

/* A set of address spans, sorted and disjoint once glibc_mem_sort has run. */
struct glibc_mem {
	struct glibc_span *v;
	size_t n, cap;
};

int glibc_mem_add(struct glibc_mem *m, uint64_t start, uint64_t end);
void glibc_mem_sort(struct glibc_mem *m);
/* The span holding [addr, addr + len) whole, or NULL. */
const struct glibc_span *glibc_mem_find(const struct glibc_mem *m, uint64_t addr, uint64_t len);
void glibc_mem_release(struct glibc_mem *m);

/* A malloc_state, decoded from its 2200 bytes. */
struct glibc_mstate {
	uint32_t mutex, flags, have_fastchunks;
	uint64_t fastbins[10];
	uint64_t top, last_remainder;
	uint64_t bins[254];
	uint32_t binmap[4];
	uint64_t next, next_free, attached_threads, system_mem, max_system_mem;
};

void glibc_mstate_decode(const void *buf, struct glibc_mstate *m);
/* The address of bin i (1..127) of the arena at addr, as its lists' end marker. */
uint64_t glibc_bin_at(uint64_t arena, unsigned i);
/*
 * What the words of any malloc_state at addr satisfy: lock, flags and counters in range, each
 * bin empty (both links to itself) or both links into mem, the binmap bit of every non-empty
 * bin set, fastbin heads and top in mem (or the initial top with no memory). 0, or -EBADMSG
 * with *why.
 */
int glibc_mstate_check(const struct glibc_mstate *m, uint64_t addr, const struct glibc_mem *mem,
		       const char **why);
/* Whether following next from the arena at addr comes back to it within max steps, every
 * other arena sitting after a heap_info that points back to it. */
int glibc_ring_check(struct tmem *t, uint64_t addr, const struct glibc_mstate *m, uint32_t max,
		     const char **why);
/*
 * Scans [start, end) (libc's writable data) for main_arena: every 8-byte aligned address
 * whose 2200 bytes pass glibc_mstate_check against anon (the process's private writable
 * memory) and glibc_ring_check. 0 and *found when exactly one does; -ENOENT (none) or
 * -EEXIST (several: refused), with *why.
 */
int glibc_scan_main_arena(struct tmem *t, uint64_t start, uint64_t end,
			  const struct glibc_mem *anon, uint64_t *found, const char **why);

/* Shared state of the walks of one read: caps left, figures, and why it went partial. */
struct glibc_walk {
	struct tmem *t;
	uint64_t chunks_left; /* free chunks that may still be visited */
	uint64_t pages_left;  /* pages of free chunks that may still be checked for residency */
	uint64_t resident;    /* bytes of free chunks (and tops) on resident pages */
	uint64_t measured;    /* free bytes whose residency was checked */
	uint64_t unmeasured;  /* free bytes beyond the page cap (residency estimated) */
	uint32_t nfail;	      /* failures so far (the first one's reason is kept) */
	bool partial;
	char why[128];
};

void glibc_walk_init(struct glibc_walk *w, struct tmem *t, uint64_t max_chunks, uint64_t max_pages);
/* Marks the walk partial; the first reason is kept. */
void glibc_walk_fail(struct glibc_walk *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One arena's figures, as int_mallinfo sums them. */
struct glibc_arena_figs {
	uint64_t system_mem, top, bins, fastbins;
	uint64_t bin_chunks, fast_chunks;
};

/*
 * Walks the arena at addr (decoded in m) whose chunks lie in mem: top, the 127 bins (doubly
 * linked: each link checked both ways, each chunk in mem, its size fitting its bin) and the
 * fastbins (safe-linked, each chunk's size fitting its bin, loops found by Brent's method).
 * A list that fails counts nothing and marks w partial.
 */
void glibc_walk_arena(struct glibc_walk *w, uint64_t addr, const struct glibc_mstate *m,
		      const struct glibc_mem *mem, struct glibc_arena_figs *f);

/*
 * The heaps of a non-main arena: from the heap holding its top back through heap_info.prev,
 * each header checked (ar_ptr the arena, sizes within heap_max, the first heap holding the
 * arena itself); each heap's [start, start + size) goes into mem and its start into heaps
 * (when not NULL). 0, or -EBADMSG with *why; *sum is the heaps' size total, which equals
 * the arena's system_mem when nothing raced.
 */
int glibc_thread_heaps(struct tmem *t, uint64_t arena, uint64_t top, uint64_t heap_max,
		       struct glibc_mem *mem, struct glibc_mem *heaps, uint64_t *sum,
		       const char **why);
/* Whether the 48 bytes of hi, read at addr, can be a heap_info. */
bool glibc_heap_info_ok(const uint64_t hi[6], uint64_t addr, uint64_t heap_max);

/* Whether the two words at the start of a mapping are an mmapped chunk's header fitting in
 * room bytes; its length (the mapping glibc made for it) in *len. */
bool glibc_mmapped_header(uint64_t prev_size, uint64_t size_word, uint64_t room, uint64_t *len);

struct glibc_tcache_params {
	uint64_t bins;	/* mp_.tcache_bins */
	uint64_t count; /* mp_.tcache_count: the most entries a bin holds */
	uint64_t key;	/* the value of tcache_key */
};

/*
 * One thread's tcache at addr (the tcache_perthread_struct, a 0x290 chunk in mem): counts in
 * range, each bin's entries walked to their count (aligned, in mem, size fitting the bin,
 * key equal to tcache_key, the list ending there). 0 with the bytes and chunks cached, or
 * -EBADMSG with *why (nothing counted).
 */
int glibc_walk_tcache(struct glibc_walk *w, uint64_t addr, const struct glibc_tcache_params *p,
		      const struct glibc_mem *mem, uint64_t *bytes, uint64_t *chunks,
		      const char **why);

#endif
