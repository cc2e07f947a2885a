/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * BPF-only helpers shared by the arenatrace programs: the process filter, the maps every
 * level uses (defined once, in maps.bpf.c; declared extern here for the other objects) and
 * drop accounting.
 */
#ifndef COMMON_BPF_H
#define COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "arenatrace.h"

#ifndef AT_MAPS_OWNER
#define AT_SHARED extern
#else
#define AT_SHARED
#endif

/* Processes being traced (tgid -> AT_TRACE_* bits). When full, a forked child is not
 * followed and AT_DROP_PROCS_FULL counts it. */
AT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AT_DEF_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct at_traced);
} traced SEC(".maps");

/* Rare events (syscalls, process lifecycle) to user space. When full, the record is lost
 * and AT_DROP_RINGBUF_FULL counts it. */
AT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, AT_DEF_RINGBUF_BYTES);
} events SEC(".maps");

/* Drop counters, shared by all CPUs and so updated atomically. */
/* Heap counters per (process, allocator instance), per CPU: written by heap.bpf.c, cleared
 * by os_exec when a traced process starts a new program. When full, a call of a new
 * (process, allocator) pair is not counted: AT_DROP_HEAP_STATS_FULL. */
AT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, AT_DEF_HEAP_STATS);
	__type(key, struct at_heap_key);
	__type(value, struct at_heap_stats);
} heap_stats SEC(".maps");

/* Per-thread heap state and counters (heap.bpf.c); folded and cleared by os.bpf.c at thread
 * exit and exec. */
AT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct at_heap_thread);
} heap_thread SEC(".maps");

/* Arena chunks whose release is seen at the allocator's free (arena.bpf.c inserts, the
 * heap level's free looks up and deletes). arena_watched counts the entries, so that frees
 * skip the lookup while there are none. */
AT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AT_DEF_ARENA_CHUNKS);
	__type(key, struct at_chunk_key);
	__type(value, __u64);
} arena_chunks SEC(".maps");

/* -a: command names to trace (empty map: every command). */
AT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AT_MAX_COMM_FILTERS);
	__type(key, char[16]);
	__type(value, __u8);
} comm_filter SEC(".maps");

#ifdef AT_MAPS_OWNER
__u64 drops[AT_DROP_NR] = {};
__s64 arena_watched = 0;
/* Thread folds begun and done (fold_thread): user space rereads the heap counters when one
 * ran while it read them. */
__u64 heap_folds_begun = 0, heap_folds_done = 0;
/* -a: every process whose command and cgroup pass the filters is traced from its exec, and
 * the uprobes are attached to files for all processes, so the programs check the traced
 * map themselves. */
const volatile bool trace_all = false;
const volatile bool comm_filter_on = false;
const volatile __u64 cgroup_filter_id = 0; /* 0: any cgroup */
const volatile __u32 cgroup_filter_level = 0;
#else
extern __u64 drops[AT_DROP_NR];
extern __s64 arena_watched;
extern __u64 heap_folds_begun, heap_folds_done;
extern const volatile bool trace_all;
extern const volatile bool comm_filter_on;
extern const volatile __u64 cgroup_filter_id;
extern const volatile __u32 cgroup_filter_level;
#endif

/* vmlinux.h has no errno values: the one the shared-counter creation tells apart. */
#define AT_E2BIG 7 /* a full hash map refuses a new key */

/* Fills a record's header for the current thread (pid: the process it is about). */
static __always_inline void rec_hdr(struct at_rec_hdr *h, enum at_rec_type type, __u32 kind,
				    __u32 pid)
{
	h->type = type;
	h->kind = kind;
	h->pid = pid;
	h->tid = (__u32)bpf_get_current_pid_tgid();
	h->ts_ns = bpf_ktime_get_ns();
}

static __always_inline void drop(enum at_drop why)
{
	if (why < AT_DROP_NR)
		__sync_fetch_and_add(&drops[why], 1);
}

/* Wake user space only once a batch has built up: a wakeup per record costs the traced
 * thread more than the record itself. User space also polls on a timer, so nothing waits
 * longer than its poll interval. */
#define AT_WAKEUP_BYTES (64u * 1024)

static __always_inline void submit(void *rec)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(rec, avail >= AT_WAKEUP_BYTES ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

static __always_inline struct at_traced *traced_lookup(__u32 tgid)
{
	return bpf_map_lookup_elem(&traced, &tgid);
}

/* The values of the three registers whose x86 numbers are in regs, 4 bits each, the first
 * lowest (a probe past a function's entry finds its arguments there). ctx is copied first:
 * the verifier refuses a ctx read at a computed offset. */
static __always_inline void regs3(struct pt_regs *ctx, __u32 regs, __u64 out[3])
{
	__u64 r[16] = {
		ctx->ax, ctx->cx, ctx->dx,  ctx->bx,  ctx->sp,	ctx->bp,  ctx->si,  ctx->di,
		ctx->r8, ctx->r9, ctx->r10, ctx->r11, ctx->r12, ctx->r13, ctx->r14, ctx->r15
	};

	for (int k = 0; k < 3; k++)
		out[k] = r[(regs >> (4 * k)) & 0xf];
}

/* Uprobes attached for every process (-a) fire in untraced ones too. */
static __always_inline bool uprobe_wanted(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	return !trace_all || bpf_map_lookup_elem(&traced, &tgid);
}

static const struct at_heap_stats zero_stats;

/* The shared counters of (tgid, alloc), created if need be (NULL when the map is full). */
static __always_inline struct at_heap_stats *shared_stats(__u32 tgid, __u32 alloc)
{
	struct at_heap_key key = { .tgid = tgid, .alloc = alloc };
	struct at_heap_stats *s = bpf_map_lookup_elem(&heap_stats, &key);

	if (s)
		return s;
	/* -EEXIST: another CPU created it first, which is fine. */
	if (bpf_map_update_elem(&heap_stats, &key, &zero_stats, BPF_NOEXIST) == -AT_E2BIG) {
		drop(AT_DROP_HEAP_STATS_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&heap_stats, &key);
}

/* Moves a thread's own counters into the shared ones (at its exit). */
static __always_inline void fold_thread(struct task_struct *task)
{
	struct at_heap_thread *th = bpf_task_storage_get(&heap_thread, task, 0, 0);
	bool any = false;

	for (int i = 0; th && i < AT_THREAD_SLOTS; i++)
		any |= th->slot[i].alloc != 0;
	if (!any)
		return;
	__sync_fetch_and_add(&heap_folds_begun, 1);
	for (int i = 0; i < AT_THREAD_SLOTS; i++) {
		struct at_thread_counts *c = &th->slot[i];
		struct at_heap_stats *s;

		if (!c->alloc)
			continue;
		s = shared_stats(c->tgid, c->alloc);
		if (s) {
			__sync_fetch_and_add(&s->alloc_count, c->s.alloc_count);
			__sync_fetch_and_add(&s->free_count, c->s.free_count);
			__sync_fetch_and_add(&s->alloc_bytes, c->s.alloc_bytes);
			__sync_fetch_and_add(&s->free_bytes, c->s.free_bytes);
			__sync_fetch_and_add(&s->unmatched_free, c->s.unmatched_free);
			for (int k = 0; k < AT_HIST_SLOTS; k++)
				if (c->s.hist[k])
					__sync_fetch_and_add(&s->hist[k], c->s.hist[k]);
		}
		c->alloc = 0;
		__builtin_memset(&c->s, 0, sizeof(c->s));
	}
	__sync_fetch_and_add(&heap_folds_done, 1);
}

#endif /* COMMON_BPF_H */
