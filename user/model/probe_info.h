/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the model needs to know of an arena-level probe to read its records: the model
 * defines it, probe/arena.c fills one per probe and the app hands it to model_apply with
 * each arena record. The probe layer includes this header and no other of the model's.
 */
#ifndef AT_PROBE_INFO_H
#define AT_PROBE_INFO_H

#include "common.h"
#include "arenatrace.h"

/* Arena level: what one probe is. */
struct at_probe_info {
	const char *type; /* arena type ("bumpalo", "obstack", a --arena NAME) or, for
			   * allocator internals, the allocator ("jemalloc", "glibc") */
	char func[64];	  /* the function or USDT probe, short name */
	enum at_arena_kind kind;
	const char *op;	  /* internals: what the function does ("map", "unmap", ...) */
	int size_arg;	  /* internals: argument holding a size (1-6), 0: none */
	bool has_reset;	  /* the arena's reset is probed in the same file */
	bool has_release; /* a release (reset, drop, free) is probed in the same file */
	bool watched;	  /* chunks are watched until the allocator's free (heap level) */
};

#endif
