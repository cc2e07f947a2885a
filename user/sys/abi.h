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

#endif
