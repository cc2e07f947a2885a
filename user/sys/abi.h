/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * User space's helpers on the shared ABI types of bpf/arenatrace.h (the BPF side adds its
 * counters atomically, in common.bpf.h).
 */
#ifndef AT_ABI_H
#define AT_ABI_H

#include "common.h"
#include "arenatrace.h"

/* sum += s, field by field: per-CPU values, threads' and instances' counters add up. */
static inline void at_heap_stats_add(struct at_heap_stats *sum, const struct at_heap_stats *s)
{
	sum->alloc_count += s->alloc_count;
	sum->free_count += s->free_count;
	sum->alloc_bytes += s->alloc_bytes;
	sum->free_bytes += s->free_bytes;
	sum->unmatched_free += s->unmatched_free;
	for (int k = 0; k < AT_HIST_SLOTS; k++)
		sum->hist[k] += s->hist[k];
}

/* The (tgid, ptr) of a live-block table slot: bucket's index and the slot's tag, in a table
 * of 2^bits buckets (bpf/heap.bpf.c live_slot_of, inverted). */
static inline void at_live_decode(uint32_t bucket, uint64_t tag, unsigned bits, uint32_t *tgid,
				  uint64_t *ptr)
{
	uint64_t hi = tag & ((1ull << (AT_LIVE_PTR_BITS - bits)) - 1);
	uint32_t lo;

	*tgid = AT_LIVE_TAG_TGID(tag, bits);
	/* The bucket is h's low bits mixed with the tgid: the same xor undoes it. */
	lo = AT_LIVE_BUCKET(bucket, *tgid, bits);
	*ptr = at_live_unmix((hi << bits) | lo);
}

#endif
