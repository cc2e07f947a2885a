/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Interval map of one process's anonymous memory: non-overlapping [start, end) segments,
 * each with an owner (an allocator index chosen by the caller), a protection and flags.
 * Every change reports the pieces it removed or altered, as they were, through a visitor,
 * so that the caller can account returned bytes per owner. Adjacent equal segments are
 * merged. Single-threaded; functions return 0 or a negative errno. A change that could take
 * the map past the segment limit given to imap__new (counting the worst case: two splits
 * and a new segment) is refused with -ENOSPC and leaves the map unchanged.
 */
#ifndef AT_IMAP_H
#define AT_IMAP_H

#include "common.h"

#define IMAP_F_PRE 0x1u	 /* existed before arenatrace attached */
#define IMAP_F_LAZY 0x2u /* MADV_FREE'd since its last mapping */
/* PROT_NONE since it was mapped, never made accessible: it never held a page (a glibc heap
 * reservation). Bit 5. */
#define IMAP_F_UNUSED 0x20u
/* Bits 2-4: what decided the owner of pre-existing memory (the model's enum at_evidence). */
#define IMAP_F_EV_SHIFT 2
#define IMAP_F_EV_MASK (0x7u << IMAP_F_EV_SHIFT)
#define IMAP_F_EV(ev) ((uint8_t)((ev) << IMAP_F_EV_SHIFT))
#define IMAP_EV_OF(flags) (((flags)&IMAP_F_EV_MASK) >> IMAP_F_EV_SHIFT)

struct imap_seg {
	uint64_t start;
	uint64_t end;
	uint16_t owner;
	uint8_t prot;
	uint8_t flags;
	uint32_t pad;
};

struct imap;

/* Called once per existing piece, clipped to the range of the operation. */
typedef void (*imap_visit_fn)(const struct imap_seg *piece, void *arg);

struct imap *imap__new(size_t max_segs);
void imap__free(struct imap *im);

/* Map [start, end), replacing whatever was there (MAP_FIXED semantics). */
int imap_insert(struct imap *im, uint64_t start, uint64_t end, uint16_t owner, uint8_t prot,
		uint8_t flags, imap_visit_fn replaced, void *arg);
/* Unmap [start, end). */
int imap_remove(struct imap *im, uint64_t start, uint64_t end, imap_visit_fn removed, void *arg);
/* Change the protection (prot >= 0) and flags (set, then clear) of the mapped parts of
 * [start, end). */
int imap_update(struct imap *im, uint64_t start, uint64_t end, int prot, uint8_t set_flags,
		uint8_t clear_flags, imap_visit_fn before, void *arg);
/* Visit the mapped parts of [start, end) without changing them. */
void imap_visit(const struct imap *im, uint64_t start, uint64_t end, imap_visit_fn fn, void *arg);
/* The segment containing addr, or NULL. */
const struct imap_seg *imap_find(const struct imap *im, uint64_t addr);

size_t imap_count(const struct imap *im);
const struct imap_seg *imap_at(const struct imap *im, size_t i);
void imap_clear(struct imap *im);

#endif
