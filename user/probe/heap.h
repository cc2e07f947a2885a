/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The heap level in user space: find every allocator a process uses (shared libraries,
 * preloaded ones, allocators linked statically into the executable or a library, found by
 * their symbols) and attach the heap probes to its malloc/free family, for that process
 * only. Then read the per-process counters back. One object per run; not thread-safe.
 * Functions return 0 or a negative errno; heap__new returns NULL with errno set.
 */
#ifndef AT_HEAP_H
#define AT_HEAP_H

#include "common.h"
#include "arenatrace.h"
#include "loader.h"

struct heap;

/* all (-a): each file's probes are attached once, for every process. */
struct heap *heap__new(struct loader *l, bool all);
void heap__free(struct heap *h);

/* Probe every allocator pid maps now: a running process, or one that just exec'd. */
int heap_attach_running(struct heap *h, int pid);
/* Probe, before it execs, every allocator the command may map: libc, the allocator
 * libraries installed in the usual directories, LD_PRELOAD, and the executable itself. */
int heap_attach_launch(struct heap *h, int pid, const char *exe);

/* The counters of each allocator instance of pid (of every probed process when pid is 0).
 * basis: "usable" (glibc, jemalloc: the allocator's size for each block) or "requested"
 * (mimalloc). live_threads: add the counters of threads still running (read now);
 * without it, only those of exited threads (all of them, for a process that exited). */
typedef void (*heap_visit_fn)(void *arg, int pid, const char *name, const char *basis,
			      const struct at_heap_stats *s);
void heap_read(struct heap *h, int pid, bool live_threads, heap_visit_fn fn, void *arg);
/* Calls fn for each process with heap probes. */
void heap_for_each_pid(struct heap *h, void (*fn)(void *arg, int pid), void *arg);
/* The allocator whose blocks pid has in the live-block table (all_blocks: --stacks, when
 * glibc's go there too), or NULL when none or several could have put them there. */
const char *heap_table_owner(const struct heap *h, int pid, bool all_blocks);
/* pid has heap probes. */
bool heap_has_pid(struct heap *h, int pid);
/* The links put in place for pid so far (with -a: for every process). */
size_t heap_links(struct heap *h, int pid);
/* The allocator of an instance id (a cookie's, a stack's), or NULL. */
const char *heap_alloc_name(const struct heap *h, uint32_t id);
/* pid exited: its probes and counters go. */
void heap_forget(struct heap *h, int pid);

#endif
