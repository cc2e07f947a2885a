/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The model's object layouts and its internal calls, shared by its own files only. The
 * files form layers, and calls only go down (docs/design.md, "The model's layers"):
 *   model.c          top: lifetime, process lifecycle, model_apply for every record
 *   model_report.c   the report (every pointer of it is set there), the counter reset
 *   model_findings.c findings, from the report's figures
 *   model_books.c    the allocators' own books: owners of pre-existing memory, figures
 *   model_arena.c    arena records and allocator internals
 *   model_heap.c     heap counters, their refresh, live and retained
 *   model_os.c       syscall records, the attach-time map, residency samples
 *   model_core.c     processes, owners, the return log, enum names
 *   model_latency.c  purge latency queues (a leaf)
 * Nothing outside the model includes this.
 */
#ifndef AT_MODEL_PRIV_H
#define AT_MODEL_PRIV_H

#include "imap.h"
#include "model.h"

struct attrib;

/* Owner ids below AT_OWNER_FIRST are not allocators and are never shown as such. */
enum {
	AT_OWNER_UNKNOWN = 0, /* anonymous memory found at attach, origin unknown */
	AT_OWNER_STACK = 1,   /* thread stacks */
	AT_OWNER_LDSO = 2,    /* the dynamic loader's own pages */
	AT_OWNER_FIRST = 3,
};
#define AT_MAX_OWNERS 64

#define AT_MAX_INTERNALS 16
#define AT_LATE_UNMAPS 32	       /* unmaps whose records are still to come, per process */
#define AT_LATE_UNMAP_NS 1000000000ull /* how long one is waited for */
#define AT_LAT_QUEUE 1024 /* pending entries per queue; the oldest two merge beyond it */

struct lat_entry {
	uint64_t t_ns;
	uint64_t bytes;
};

/* Purge latency: bytes freed (stamped at the sample that saw them) and bytes returned to
 * the OS, waiting to be matched first in, first out at the next sample. */
struct purge_lat {
	struct lat_entry *freed, *returned;
	size_t nfreed, nreturned, freed_cap, returned_cap;
	uint64_t freed_seen; /* heap free_bytes at the last sample */
};

struct alloc {
	struct rep_alloc r;
	struct rep_internal internals[AT_MAX_INTERNALS];
	struct purge_lat lat;
	/* Retained bytes at their last changes, oldest first, with live then and when (since
	 * the start of the trace). */
	struct growth_pt {
		uint64_t retained, live, t_ns;
	} growth[16];
	size_t ngrowth;
	struct at_heap_stats heap, heap_base; /* cumulative, and at the last counter reset */
	/* The report's cumulative counters (in r) at the last counter reset: an interval
	 * report shows what came since, the whole trace's report all of them. */
	struct {
		uint64_t ret_bytes[AT_RET_NR], ret_count[AT_RET_NR], events[AT_SYS_NR];
		uint64_t mapped_total_bytes;
		uint64_t reserve_released_bytes, reserve_released_count;
	} base;
	char name[64];
	struct rep_return *log; /* ring of the last return_log_max returns */
	size_t log_head, log_n;
	struct rep_return *log_flat;
	struct rep_asample *tl; /* its timeline: a ring of timeline_max, grown as samples come */
	size_t tl_head, tl_n, tl_cap;
	struct rep_asample *tl_flat;
};

struct arena_chunk {
	uint64_t ptr; /* data */
	uint64_t end; /* bumpalo: the footer; obstack: the chunk header */
	uint64_t bytes;
	uint64_t born_ns; /* since the start of the trace */
	bool kept;	  /* bumpalo: survived a reset, now counted with its footer */
};

struct marena {
	struct rep_arena r;
	const struct at_probe_info *info;
	struct arena_chunk *chunks; /* oldest first */
	size_t n, cap;
	bool reset_seen; /* a reset was inferred since the last chunk (no reset probe) */
};

struct proc {
	size_t alive_idx; /* its place in model.alive while it lives */
	struct rep_proc r;
	char comm[64];
	char cgroup[256], unit[128], container[65]; /* cut to size */
	struct imap *im;
	struct alloc *allocs; /* grown as owners appear (about 4 KiB each), AT_MAX_OWNERS at most */
	size_t nallocs, allocs_cap;
	struct rep_alloc *rep_allocs;
	struct attrib *attrib;
	uint64_t brk_cur;
	bool brk_known;
	uint64_t uprobes_at_ns; /* when its uprobes were last put in place (0: never said) */
	int pagemap_fd;
	/* Unmaps seen before their record (model_os.c, late_unmap): ranges a new mapping was
	 * given while the model still had them mapped, credited then to their owner. */
	struct late_unmap {
		uint64_t start, end, ts;
		uint16_t owner;
	} late[AT_LATE_UNMAPS];
	size_t nlate;
	struct rep_sample *tl; /* ring of timeline_max, grown to it as samples come */
	size_t tl_head, tl_n, tl_cap;
	struct rep_sample *tl_flat;
	struct rep_stack *stacks; /* one block: stacks, frames, strings (model_set_stacks) */
	size_t nstacks, nstacks_all;
	struct marena *arenas;
	size_t narenas, arenas_cap;
	struct rep_arena *rep_arenas;
	struct rep_finding *findings;
	size_t nfindings, findings_cap;
};

/* The model's own losses (the report's rows after the kernel's). */
struct model_drops {
	uint64_t procs_full, segs_full, unattributed, arenas_full;
};

struct model {
	struct model_limits lim;
	uint64_t bpf_drops[AT_DROP_NR];
	struct model_drops drops;
	struct rep_drop drop_rows[AT_REP_DROPS];
	uint64_t start_ns;
	uint64_t window_ns;
	struct proc **procs;
	size_t nprocs;
	/* The processes not exited, in no order (a pid is alive in one process at a time):
	 * what records are looked up in, so that thousands of exited children kept for the
	 * report (fork churn under -p) do not slow every record down. */
	struct proc **alive;
	size_t nalive;
	struct rep_proc *rep_procs;
	struct report rep;
};

/* The log2 bucket of v (0 for 0 and 1), capped at the last of slots. */
static inline uint32_t model_log2_slot(uint64_t v, uint32_t slots)
{
	uint32_t r = 0;

	while (v > 1) {
		v >>= 1;
		r++;
	}
	return r < slots ? r : slots - 1;
}

/* model_latency.c */
void lat_note_return(struct purge_lat *l, uint64_t t_ns, uint64_t bytes);
void lat_forget_returns(struct purge_lat *l);
/* Matches the bytes freed since the last match (freed_total is cumulative) with the
 * pending returns, into hist (bytes by slots of res_ns, the sample interval: AT_LAT_SLOTS),
 * *byte_seconds (the sum of bytes x latency) and *unmatched. */
void lat_match(struct purge_lat *l, uint64_t t_ns, uint64_t res_ns, uint64_t freed_total,
	       uint64_t hist[AT_LAT_SLOTS], double *byte_seconds, uint64_t *unmatched);
void lat_release(struct purge_lat *l);

/* model_core.c */
struct proc *model_find_proc(const struct model *m, int pid);
/* p exited (or its pid went to a newer process): records no longer find it. */
void model_proc_exited(struct model *m, struct proc *p);
/* The owner called name, made on first use (AT_OWNER_UNKNOWN when no more fit); may move
 * p->allocs. */
int model_owner_id(struct proc *p, const char *name, bool is_allocator);
struct proc *model_proc_new(struct model *m, int pid);
void model_proc_free(struct proc *p); /* the core's part; the arenas go first */
void model_alloc_free(struct alloc *a);
void model_reset_owners(struct proc *p);
void model_reset_timeline(struct proc *p);
void model_set_comm(struct proc *p, const char *comm);
void model_open_pagemap(struct proc *p);
/* The process's cgroup, unit and container, read now (kept when it cannot be read). */
void model_read_cgroup(struct proc *p);
/* A's retained bytes (and live bytes) at now_ns (CLOCK_MONOTONIC), kept when retained
 * changed: the last changes are what retention_growth looks at. */
void model_note_retained(const struct model *m, struct alloc *a, uint64_t v, uint64_t live,
			 uint64_t now_ns);
/* A timeline ring (buf, elem bytes an entry, *n from *head, grown up to max entries): the
 * slot for a new entry, zeroed, the oldest dropped and counted in *omitted once max are
 * kept; NULL when none is kept (max 0, or no memory: counted). */
void *model_ring_push(void **buf, size_t elem, size_t *head, size_t *n, size_t *cap, size_t max,
		      uint64_t *omitted);
/* The slot for a new sample in a's timeline (the oldest dropped and counted once
 * timeline_max are kept); NULL when none is kept (timeline_max 0, or no memory: counted). */
struct rep_asample *model_alloc_sample(const struct model *m, struct alloc *a);
/* The sample of a taken at t_ns (since the start of the trace), or NULL. */
struct rep_asample *model_alloc_sample_at(struct alloc *a, size_t max, uint64_t t_ns);
/* Counts a return to the OS under a, logs it and queues it for the purge latency. */
void model_log_return(const struct model *m, struct alloc *a, enum at_ret kind, uint64_t t_ns,
		      uint64_t addr, uint64_t bytes);

/* model_os.c */
struct proc_stat;
/* The anonymous memory p has at attach, from /proc (kept apart as pre-existing). */
int model_os_preload(struct proc *p, const struct proc_stat *st);
int model_os_apply(struct model *m, const struct at_sys_rec *r);
/* Gives the pre-existing memory of [start, end) to owner with evidence ev, where the owner
 * was decided by weaker evidence (unknown < inferred < caller, pointer < header, books);
 * whole: each whole mapping the range touches. -ENOENT when nothing was claimed. */
int model_os_claim(struct proc *p, int owner, uint64_t start, uint64_t end, enum at_evidence ev,
		   bool whole);
/* Whether p has memory from before attach whose owner is unknown. */
bool model_os_has_unknown(const struct proc *p);
/* A forked child starts with its parent's map as it is: owners and flags (pre-existing
 * memory stays so). */
void model_os_inherit(struct proc *child, const struct proc *parent);

/* model_heap.c: live, retained and the counts since base (NULL: since the trace began) of
 * one allocator, for the report. */
void model_heap_figures(struct proc *p, struct alloc *a, const struct at_heap_stats *base);

/* model_arena.c */
void model_arena_apply(struct model *m, const struct at_arena_rec *r,
		       const struct at_probe_info *info);
/* The arenas of p for the report (live first), and their release. */
void model_arena_report(struct proc *p);
void model_arena_free(struct proc *p);

/* model_findings.c: the findings of p, from its report figures (after flattening). */
void model_findings(const struct model *m, struct proc *p, uint64_t now_ns);

#endif
