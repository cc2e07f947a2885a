/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * jemalloc's own books read from outside a running process (issue 11; layouts, builds and
 * checks in docs/attach-jemalloc.md). jemalloc 5.3.0 is found as libjemalloc.so.2 or as a
 * copy linked into a mapped file: its globals come from the file's symbols (a static or
 * prefixed build, or a debug file found by build-id), else, for a build-id in the reader's
 * table, from the RIP-relative operands of a few instructions of exported functions. The
 * arenas must then pass a structural check (self-pointers, indices, states) before any of
 * their figures is used: a build or layout that does not validate is refused with a reason,
 * never guessed. Figures follow jemalloc's own mallctl arithmetic (ctl_refresh); ranges are
 * its base blocks and the extents reached through its radix tree, with BOOKS evidence.
 * Reads go through sys/tmem only (resident pages, a byte budget); every walk is bounded.
 * Not thread-safe. Functions return 0 (books read, perhaps partial: out->reason says why),
 * -ENOENT (no jemalloc in the process), -EPROTO (jemalloc found but refused: out->reason)
 * or another negative errno.
 */
#ifndef AT_BOOKS_JEMALLOC_H
#define AT_BOOKS_JEMALLOC_H

#include "books.h"
#include "procfs.h"
#include "tmem.h"

/* books_range.kind of a jemalloc range. */
enum books_je_kind {
	BOOKS_JE_BASE = 1,     /* a base block: jemalloc's metadata */
	BOOKS_JE_ACTIVE = 2,   /* extents in use (slabs and large blocks) */
	BOOKS_JE_DIRTY = 3,    /* free extents, resident (never purged) */
	BOOKS_JE_MUZZY = 4,    /* free extents after MADV_FREE */
	BOOKS_JE_RETAINED = 5, /* address space kept after MADV_DONTNEED or never touched */
};

/* Where jemalloc's globals are in the target, as found by books_jemalloc_locate. */
struct books_je_where {
	uint64_t arenas;	/* je_arenas[4095]: arena_t pointers */
	uint64_t narenas_total; /* unsigned */
	uint64_t narenas_auto;	/* unsigned */
	uint64_t emap;		/* arena_emap_global: the radix tree of extents */
	uint64_t sz_tab;	/* je_sz_index2size_tab: size_t[232] */
	uint64_t bin_offsets;	/* je_arena_bin_offsets: uint32_t[36], 0 if not found */
	uint64_t bin_infos;	/* je_bin_infos: bin_info_t[36], 0 if not found */
	uint64_t nhbins;	/* je_nhbins: unsigned, 0 if not found */
	char how[96];		/* "symbols of FILE", "build-id ... code references" */
};

/* One arena's figures, in jemalloc's units (pages where mallctl says pages). */
struct books_je_arena {
	uint32_t ind;
	uint64_t pactive, pdirty, pmuzzy, pretained;
	uint64_t allocated, mapped, resident, metadata, tcache_bytes;
};

/* Finds jemalloc in pid's mappings and where its globals are; why says what was refused. */
int books_jemalloc_locate(int pid, struct books_je_where *w, char *why, size_t why_len);
/* One file, open as fd and mapped as e (e->offset the file offset of e->start): 0 (w
 * filled), -ENOENT (no jemalloc in it) or -EPROTO (why says why). Tests and fuzzing too. */
int books_jemalloc_locate_fd(int fd, const struct maps_entry *e, struct books_je_where *w,
			     char *why, size_t why_len);

/* Reads the books of the process behind t, its globals at w. maps (may be NULL) are the
 * process's mappings: ranges outside its anonymous ones are not reported. arenas (may be
 * NULL) receives up to cap arenas' figures, *narenas how many. */
int books_jemalloc_read_at(struct tmem *t, const struct books_je_where *w,
			   const struct maps_entry *maps, size_t nmaps, struct books *out,
			   struct books_je_arena *arenas, size_t cap, size_t *narenas);

/* books_jemalloc_locate, the maps, then books_jemalloc_read_at. */
int books_jemalloc_read(struct tmem *t, int pid, struct books *out);

#endif
