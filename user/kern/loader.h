/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The BPF side: open the skeleton, size its maps from the options, load, attach the
 * tracepoints, give the kernel the unwind sites of each libc's memory wrappers (once per
 * file, identified by device and inode), mark processes as traced and drain the ring buffer.
 * Functions return 0 or a negative errno; loader__new returns NULL with errno set.
 */
#ifndef AT_LOADER_H
#define AT_LOADER_H

#include "common.h"
#include "arenatrace.h"

struct loader;

/* What the loader needs of the options: the levels to load, the kernel-side filters and the
 * map capacities (-C). */
struct loader_opts {
	bool level_os, level_heap, level_arena;
	bool all;    /* -a: the programs trace every process the filters let through */
	bool stacks; /* --stacks: record allocation stacks */
	/* --unwind dwarf: stacks of sampled allocations only, one per this many bytes on
	 * average, sent as registers and stack copies (0: every allocation's stack by frame
	 * pointers, in the stack maps) */
	uint64_t unwind_rate;
	bool heap_floor; /* -C heap_floor=1 */
	const char *cgroup;
	const char (*comms)[16]; /* --comm */
	size_t ncomms;
	uint64_t ringbuf_bytes, max_procs, code_cache, heap_stats, heap_live, max_sites,
		arena_chunks;
};

typedef int (*loader_event_fn)(void *ctx, void *data, size_t len);

struct loader *loader__new(const struct loader_opts *o, loader_event_fn fn, void *ctx);

/* The kernel memory the maps take at these capacities on ncpus CPUs (hash maps preallocate
 * every element: about 48 bytes of header, the key and the value, a per-CPU value once per
 * CPU), and in *largest the capacity that takes the most ("heap_stats", ...). */
uint64_t loader_kernel_bytes(const struct loader_opts *o, int ncpus, const char **largest);
void loader__free(struct loader *l);

int loader_attach_tracepoints(struct loader *l);
/* Add the unwind sites of the libc (or static executable) that pid maps. */
int loader_add_process(struct loader *l, int pid);
/* Add the unwind sites of one file, given its path. */
int loader_add_file(struct loader *l, const char *path);
/* running: pid already has blocks that its frees may release (not a command about to exec). */
int loader_trace_pid(struct loader *l, int pid, bool follow, bool running);

/* Heap and arena levels: uprobes. */
struct loader_probe_spec {
	uint64_t off;	 /* file offset */
	uint64_t cookie; /* AT_COOKIE(...) or AT_ACOOKIE(...) */
	bool entry_only; /* one program at the entry; else one at the entry and one at return */
};

enum loader_level {
	LOADER_HEAP,  /* heap_enter, heap_exit, heap_free */
	LOADER_ARENA, /* arena_enter, arena_exit, arena_event */
};

struct loader_link;

/* Attach a level's programs at these points of path, for pid only (no other process
 * traps), or for every process when pid is -1 (-a: the programs check the traced map). With the kernel's uprobe_multi links (6.6 and later) that is three links per
 * file, whose teardown waits for the kernel once; otherwise one perf-event link per point,
 * and each teardown waits. The links are appended to *links (grown as needed). */
int loader_uprobes_attach(struct loader *l, enum loader_level lv, int pid, const char *path,
			  const struct loader_probe_spec *specs, size_t n,
			  struct loader_link ***links, size_t *nlinks);
/* Attach the arena level's USDT program to provider:name in path, for pid. */
int loader_usdt_attach(struct loader *l, int pid, const char *path, const char *provider,
		       const char *name, uint64_t cookie, struct loader_link ***links,
		       size_t *nlinks);
/* The run time and run count of every program, summed (kernel BPF statistics, switched on
 * at the first call while arenatrace runs); false when the kernel refuses them. */
bool loader_bpf_stats(struct loader *l, uint64_t *run_ns, uint64_t *runs);
/* Drop the watched arena chunks of a process that exited. */
void loader_arena_forget(struct loader *l, int pid);
void loader_link__destroy(struct loader_link *k);
/* loader_link__destroy on a thread of the loader's (the links of a process that exited:
 * their teardown waits for the kernel); done by loader__free at the latest. */
void loader_link__retire(struct loader *l, struct loader_link *k);

/* Reads the heap counters of every live thread (a BPF task iterator), for the
 * loader_heap_stats calls that follow. */
int loader_heap_snapshot(struct loader *l);
/* How many exiting threads have begun and finished moving their counters to the shared
 * ones: a snapshot and the loader_heap_stats calls after it are consistent when no move
 * was in progress before (begun == done) and none began until after. */
void loader_heap_folds(const struct loader *l, uint64_t *begun, uint64_t *done);
/* The counters of (pid, allocator id): those folded from exited threads, summed over CPUs,
 * plus, with live_threads, those of its live threads at the last snapshot. -ENOENT when
 * there are none. */
int loader_heap_stats(const struct loader *l, int pid, uint32_t alloc, bool live_threads,
		      struct at_heap_stats *sum);
/* --stacks: every stack that allocated since its process was traced, of the processes in
 * tgids (sorted), in one walk of the map, in *out (malloc'd; free() it): by tgid, and in a
 * process those holding the most live bytes first (then by bytes allocated). Returns how
 * many, or a negative errno. A stack whose trace is gone has no ips. Only the stacks of
 * the program a process runs last count: those of programs it exec'd away from are
 * deleted from the map. */
struct loader_stack {
	uint32_t tgid;
	uint32_t execs; /* the program's (at_stack_key) */
	int32_t stack_id;
	int64_t bytes; /* live */
	int64_t blocks;
	uint64_t alloc_bytes; /* allocated in all */
	uint64_t alloc_count;
	uint32_t alloc; /* the allocator instance (heap_alloc_name) */
	uint64_t ips[AT_STACK_DEPTH];
	size_t nips;
};
int loader_heap_stacks(struct loader *l, const uint32_t *tgids, size_t n,
		       struct loader_stack **out);

/* Drops the heap counters of a process that exited; its live blocks go at the next
 * loader_heap_sweep (a walk over the whole table, once for every process gone since). */
void loader_heap_forget(struct loader *l, int pid, const uint32_t *allocs, size_t nallocs);
void loader_heap_sweep(struct loader *l);
/* Calls fn for blocks in the live-block table (jemalloc's and mimalloc's; every allocator's
 * with --stacks) of the processes in tgids (sorted), from bucket start on, wrapping, until
 * max blocks were seen or the table was walked once (16 MiB at the default -C heap_live);
 * returns the bucket to start from next time. The overflow map's few are left out. */
size_t loader_heap_blocks(const struct loader *l, const uint32_t *tgids, size_t n, size_t start,
			  size_t max, void (*fn)(void *arg, uint32_t tgid, uint64_t ptr),
			  void *arg);
/* Poll the ring buffer; returns records consumed or a negative errno. */
int loader_poll(struct loader *l, int timeout_ms);
void loader_drops(const struct loader *l, uint64_t drops[AT_DROP_NR]);

#endif
