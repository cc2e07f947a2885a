// SPDX-License-Identifier: GPL-2.0-only
#include "imap.h"

#include <stdlib.h>
#include <string.h>

/* A sorted array: lookups are binary searches, changes are memmoves. Processes hold at most
 * thousands of anonymous mappings, and merging keeps the count near the kernel's VMA count. */
struct imap {
	struct imap_seg *segs;
	size_t n;
	size_t cap;
	size_t max;
};

struct imap *imap__new(size_t max_segs)
{
	struct imap *im = calloc(1, sizeof(*im));

	if (!im)
		return NULL;
	im->max = max_segs ? max_segs : SIZE_MAX;
	return im;
}

void imap__free(struct imap *im)
{
	if (!im)
		return;
	free(im->segs);
	free(im);
}

void imap_clear(struct imap *im)
{
	im->n = 0;
}

size_t imap_count(const struct imap *im)
{
	return im->n;
}

const struct imap_seg *imap_at(const struct imap *im, size_t i)
{
	return i < im->n ? &im->segs[i] : NULL;
}

/* Index of the first segment whose end is above addr. */
static size_t first_above(const struct imap *im, uint64_t addr)
{
	size_t lo = 0, hi = im->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (im->segs[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct imap_seg *imap_find(const struct imap *im, uint64_t addr)
{
	size_t i = first_above(im, addr);

	if (i < im->n && im->segs[i].start <= addr)
		return &im->segs[i];
	return NULL;
}

static int reserve(struct imap *im, size_t extra)
{
	size_t want = im->n + extra;
	struct imap_seg *segs;
	size_t cap;

	if (want > im->max)
		return -ENOSPC;
	if (want <= im->cap)
		return 0;
	cap = im->cap ? im->cap * 2 : 64;
	while (cap < want)
		cap *= 2;
	segs = realloc(im->segs, cap * sizeof(*segs));
	if (!segs)
		return -ENOMEM;
	im->segs = segs;
	im->cap = cap;
	return 0;
}

/* Make addr a segment boundary, splitting the segment that straddles it. Needs one free slot. */
static void split_at(struct imap *im, uint64_t addr)
{
	size_t i = first_above(im, addr);
	struct imap_seg *s;

	if (i >= im->n || im->segs[i].start >= addr)
		return;
	s = &im->segs[i];
	memmove(s + 1, s, (im->n - i) * sizeof(*s));
	im->n++;
	s[0].end = addr;
	s[1].start = addr;
}

static bool same(const struct imap_seg *a, const struct imap_seg *b)
{
	return a->end == b->start && a->owner == b->owner && a->prot == b->prot &&
	       a->flags == b->flags;
}

/* Merge equal neighbours around [lo, hi) indexes. */
static void coalesce(struct imap *im, size_t lo, size_t hi)
{
	size_t i;

	if (lo > 0)
		lo--;
	if (hi > im->n)
		hi = im->n;
	for (i = lo; i + 1 < im->n && i <= hi;) {
		if (same(&im->segs[i], &im->segs[i + 1])) {
			im->segs[i].end = im->segs[i + 1].end;
			memmove(&im->segs[i + 1], &im->segs[i + 2],
				(im->n - i - 2) * sizeof(im->segs[0]));
			im->n--;
			if (hi > 0)
				hi--;
		} else {
			i++;
		}
	}
}

/* Split at both ends of [start, end) and return the index range of the covered segments. */
static int isolate(struct imap *im, uint64_t start, uint64_t end, size_t *lo, size_t *hi)
{
	int err = reserve(im, 2);

	if (err)
		return err;
	split_at(im, start);
	split_at(im, end);
	*lo = first_above(im, start);
	*hi = first_above(im, end);
	return 0;
}

void imap_visit(const struct imap *im, uint64_t start, uint64_t end, imap_visit_fn fn, void *arg)
{
	size_t i;

	for (i = first_above(im, start); i < im->n && im->segs[i].start < end; i++) {
		struct imap_seg piece = im->segs[i];

		if (piece.start < start)
			piece.start = start;
		if (piece.end > end)
			piece.end = end;
		fn(&piece, arg);
	}
}

int imap_remove(struct imap *im, uint64_t start, uint64_t end, imap_visit_fn removed, void *arg)
{
	size_t lo, hi;
	int err;

	if (start >= end)
		return 0;
	err = isolate(im, start, end, &lo, &hi);
	if (err)
		return err;
	if (removed)
		for (size_t i = lo; i < hi; i++)
			removed(&im->segs[i], arg);
	memmove(&im->segs[lo], &im->segs[hi], (im->n - hi) * sizeof(im->segs[0]));
	im->n -= hi - lo;
	coalesce(im, lo, lo);
	return 0;
}

int imap_insert(struct imap *im, uint64_t start, uint64_t end, uint16_t owner, uint8_t prot,
		uint8_t flags, imap_visit_fn replaced, void *arg)
{
	struct imap_seg seg = { .start = start,
				.end = end,
				.owner = owner,
				.prot = prot,
				.flags = flags };
	size_t lo, hi;
	int err;

	if (start >= end)
		return 0;
	/* Room for two splits and the new segment, so that nothing fails half-way. */
	err = reserve(im, 3);
	if (err)
		return err;
	err = isolate(im, start, end, &lo, &hi);
	if (err)
		return err;
	if (replaced)
		for (size_t i = lo; i < hi; i++)
			replaced(&im->segs[i], arg);
	memmove(&im->segs[lo + 1], &im->segs[hi], (im->n - hi) * sizeof(im->segs[0]));
	im->n = im->n - (hi - lo) + 1;
	im->segs[lo] = seg;
	coalesce(im, lo, lo + 1);
	return 0;
}

int imap_update(struct imap *im, uint64_t start, uint64_t end, int prot, uint8_t set_flags,
		uint8_t clear_flags, imap_visit_fn before, void *arg)
{
	size_t lo, hi;
	int err;

	if (start >= end)
		return 0;
	err = isolate(im, start, end, &lo, &hi);
	if (err)
		return err;
	for (size_t i = lo; i < hi; i++) {
		struct imap_seg *s = &im->segs[i];

		if (before)
			before(s, arg);
		if (prot >= 0)
			s->prot = (uint8_t)prot;
		s->flags = (uint8_t)((s->flags | set_flags) & ~clear_flags);
	}
	coalesce(im, lo, hi);
	return 0;
}
