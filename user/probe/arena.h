/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The arena level in user space: find, in every file a process maps, the functions that
 * acquire, release and reset arena chunks (bumpalo, found through Rust symbol demangling in
 * every monomorphized copy; glibc's obstack; custom arenas named by --arena) and the
 * internal functions of allocators (jemalloc's pages_* when linked statically or prefixed,
 * glibc's sysmalloc/systrim/new_heap/munmap_chunk with libc6-dbg, libc memory_* USDT
 * probes), and attach the arena programs there for that process only. Each probe gets an
 * id; the model asks arena_probe_of what an id means. Not thread-safe. Functions return 0
 * or a negative errno; arena__new returns NULL with errno set.
 */
#ifndef AT_ARENA_H
#define AT_ARENA_H

#include "common.h"
#include "arenatrace.h"
#include "loader.h"
#include "probe_info.h"

/* --arena NAME:alloc=SYMBOL[,size=N][,self=N][,free=SYMBOL[,ptr=N]][,reset=SYMBOL]
 * Arguments are numbered from 1; 0 means none. */
struct at_arena_spec {
	char name[32];
	char alloc[128];
	char free[128];
	char reset[128];
	int size_arg; /* argument of alloc holding the chunk size */
	int self_arg; /* argument identifying the arena instance (alloc, free, reset) */
	int ptr_arg;  /* argument of free holding the chunk */
};

struct arena_opts {
	bool all;   /* -a: each file's probes attached once, for every process */
	bool watch; /* the heap level runs: chunks are watched until the allocator's free */
	const struct at_arena_spec *specs; /* --arena */
	size_t nspecs;
};

struct arena;

struct arena *arena__new(struct loader *l, const struct arena_opts *o);
void arena__free(struct arena *a);

/* Probe every file pid maps now, or (launch) the files a command will map. */
int arena_attach_running(struct arena *a, int pid);
int arena_attach_launch(struct arena *a, int pid, const char *exe);
/* The probe with this id (AT_ACOOKIE_PROBE of a record's cookie), or NULL. */
const struct at_probe_info *arena_probe_of(const struct arena *a, uint32_t id);
/* pid exited: its probes and watched chunks go. */
void arena_forget(struct arena *a, int pid);

#endif
