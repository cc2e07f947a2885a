/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The report: what the model hands to the output backends, read-only, and the names of the
 * enums they print. The backends (out/) include this and no other model header; the types
 * hold figures and strings only, and every pointer in them is set by model_report.
 */
#ifndef AT_REPORT_H
#define AT_REPORT_H

#include "common.h"
#include "arenatrace.h"

/* How memory went back to the OS. */
enum at_ret {
	AT_RET_MUNMAP = 0,
	AT_RET_MADV_DONTNEED = 1,
	AT_RET_MADV_FREE = 2, /* lazy: resident until the kernel reclaims it */
	AT_RET_MADV_REMOVE = 3,
	AT_RET_BRK_SHRINK = 4,
	AT_RET_MREMAP_SHRINK = 5,
	AT_RET_DECOMMIT = 6, /* made PROT_NONE by mprotect or a MAP_FIXED overlay */
	AT_RET_NR = 7,
};

/* Where an allocator sample's live and retained bytes come from. */
enum at_source {
	AT_SRC_NONE = 0,  /* neither is known */
	AT_SRC_BOOKS = 1, /* the allocator's own books, read for this sample */
	AT_SRC_HEAP = 2,  /* the heap level's counters (retained only when retained_known) */
};

/* One sample of one allocator (its timeline): mapped and resident are of its memory traced
 * and pre-existing together; live and retained as its final figures are (the books first,
 * else the heap level). */
struct rep_asample {
	uint64_t t_ns; /* since the start of the trace */
	uint64_t mapped_bytes;
	uint64_t resident_bytes;
	uint64_t live_bytes;
	uint64_t retained_bytes;
	uint8_t source;	     /* enum at_source: of live_bytes */
	bool retained_known; /* retained_bytes is a figure (else unknown) */
};

struct rep_return {
	uint64_t t_ns; /* since the start of the trace */
	uint64_t addr;
	uint64_t bytes;
	uint32_t kind; /* enum at_ret */
};

/* What decided the owner of memory (docs/design.md, "Attach: who owns what was there"). */
enum at_evidence {
	AT_EV_TRACED = 0,   /* mapped while traced: the unwound caller of the syscall */
	AT_EV_HEADER = 1,   /* a header the allocator keeps at the range's start validated */
	AT_EV_BOOKS = 2,    /* reached from the allocator's own metadata */
	AT_EV_CALLER = 3,   /* the owner made a syscall on it during the trace */
	AT_EV_POINTER = 4,  /* the owner handed out or freed a pointer into it (heap level) */
	AT_EV_INFERRED = 5, /* by elimination or layout ([heap] is the brk heap: glibc's) */
	AT_EV_NR = 6,
};

#define AT_BOOKS_FIGURES 16

/* An allocator's own books, read from the process (no probe): what it hands out, what it
 * keeps free, and its own counters, at the last sample. */
struct rep_books {
	bool known;
	uint64_t t_ns;		 /* when read, since the start of the trace */
	uint64_t live_bytes;	 /* in use by the application */
	uint64_t free_bytes;	 /* free inside what it holds from the OS */
	uint64_t retained_bytes; /* of free_bytes, resident: what it keeps */
	uint64_t mapped_bytes;
	struct {
		const char *name;
		uint64_t bytes; /* or a count (arenas, chunks) when count is set */
		bool count;
	} figures[AT_BOOKS_FIGURES];
	size_t nfigures;
	bool partial; /* some part could not be read: reason says which */
	char reason[128];
};

#define AT_LIFE_SLOTS 40 /* log2 buckets of chunk lifetimes in microseconds */
/* Purge latency in sample intervals, its resolution: slot 0 within one interval, slot k
 * from 2^(k-1) to 2^k intervals (model_lat_bounds), the last open. */
#define AT_LAT_SLOTS 40

struct rep_alloc {
	const char *name;
	bool is_allocator;	   /* false for memory of unknown origin found at attach */
	uint64_t mapped_bytes;	   /* address space held now, traced since attach */
	uint64_t reserved_bytes;   /* of which PROT_NONE */
	uint64_t resident_bytes;   /* of the traced part, at the last sample; <= mapped_bytes */
	uint64_t pre_mapped_bytes; /* held since before attach */
	uint64_t pre_resident_bytes;
	/* The most resident (traced and pre-existing together) at any sample, and when (since
	 * the start of the trace): what a run needed at its worst (arenatrace diff). */
	uint64_t peak_resident_bytes;
	uint64_t peak_resident_ns;
	uint64_t pre_evidence_bytes[AT_EV_NR]; /* pre_mapped_bytes, by what decided the owner */
	struct rep_books books;
	uint64_t mapped_total_bytes; /* taken from the OS since attach, cumulative */
	uint64_t ret_bytes[AT_RET_NR];
	uint64_t ret_count[AT_RET_NR];
	uint64_t ret_last_ns[AT_RET_NR]; /* 0: never */
	/* Address space unmapped that was never accessible (PROT_NONE since mapped), so never
	 * resident: not a return (glibc's trims of its thread-heap reservations). */
	uint64_t reserve_released_bytes, reserve_released_count, reserve_released_last_ns;
	uint64_t events[AT_SYS_NR];
	const struct rep_return *returns; /* oldest first */
	size_t nreturns;
	uint64_t returns_omitted;	    /* older events beyond the return log */
	const struct rep_asample *timeline; /* oldest first, one per sample */
	size_t ntimeline;
	uint64_t timeline_omitted; /* older samples beyond timeline_max */
	/* Heap level (has_heap). Counts are of the report's window (the interval, or the
	 * whole trace); live figures are since the process was first traced. */
	bool has_heap;
	const char *live_basis; /* "usable" or "requested" */
	/* Blocks handed out and not freed since the process was traced: a free of a block
	 * from before is counted in unmatched_free, never subtracted, so neither goes below
	 * 0 (docs/design.md, "Figures that cannot lie"). */
	uint64_t live_bytes;
	uint64_t live_objects;
	uint64_t alloc_count, free_count, alloc_bytes, free_bytes;
	uint64_t unmatched_free; /* frees of blocks allocated before the trace */
	bool retained_known;	 /* traced from the process's start: live is all of it */
	/* resident - live, at least 0: resident bytes that hold no live block, at least (a live
	 * block on pages never touched counts in live, not in resident). */
	uint64_t retained_bytes;
	uint64_t hist[AT_HIST_SLOTS];
	/* Arena level: internal functions probed. */
	const struct rep_internal *internals;
	size_t ninternals;
	/* Heap level: bytes returned to the OS, by the time since the application freed them
	 * (slots of sample intervals, the figure's resolution: model_lat_bounds), and returned
	 * bytes no free could account for (memory freed before the trace, or not from the
	 * heap). */
	uint64_t purge_latency_hist[AT_LAT_SLOTS];
	double purge_latency_byte_seconds; /* the sum of bytes x their latency */
	uint64_t purge_unmatched_bytes;
};

/* An allocator internal function's calls (arena level). */
struct rep_internal {
	char func[64];
	const char *op;
	uint64_t calls;
	uint64_t bytes;	   /* sum of the size argument, when the function has one */
	uint64_t zero_ret; /* calls that returned 0 (systrim: nothing trimmed) */
	uint64_t total_ns; /* time spent inside (uprobe-probed functions) */
};

/* One arena instance: a bumpalo Bump (followed by its chunk chain, so a moved Bump stays one
 * arena), an obstack, or a custom arena's self argument. */
struct rep_arena {
	const char *type;
	uint64_t addr;	   /* the Bump, struct obstack or self argument last seen */
	bool ended;	   /* dropped, or every chunk freed */
	uint64_t since_ns; /* first chunk, since the start of the trace */
	uint64_t ended_ns;
	uint64_t chunks; /* held now */
	uint64_t chunks_acquired, chunks_freed;
	uint64_t bytes; /* held now (bumpalo: as its allocated_bytes() counts them) */
	uint64_t high_water_bytes;
	uint64_t resets;
	uint64_t kept_bytes;	 /* held across the last reset */
	uint64_t kept_max_bytes; /* the most held across one reset */
	const char *release;	 /* how releases are seen: "probe", "free" (heap level), "unseen" */
	uint64_t lifetime_hist[AT_LIFE_SLOTS]; /* freed chunks, by lifetime */
};

struct rep_sample {
	uint64_t t_ns;
	uint64_t rss_bytes;
	uint64_t lazyfree_bytes;
	uint64_t mapped_bytes; /* all allocators, traced and pre-existing */
	uint64_t resident_bytes;
};

/* A finding: retention explained in plain words (docs/design.md lists the kinds). */
struct rep_finding {
	const char *kind;
	char allocator[64]; /* the allocator or arena concerned */
	uint64_t bytes;
	uint64_t since_ns; /* since the start of the trace */
	char evidence[320];
	char advice[320];
};

/* --stacks: one frame, a return address in a file mapping (frames that could not be trusted,
 * such as an address in no executable file mapping, were cut). Strings are NULL when
 * unknown; line 0 is unknown. */
struct rep_frame {
	uint64_t address;	  /* in the process */
	const char *module;	  /* the mapped file's path */
	const char *build_id;	  /* its GNU build-id, lowercase hex */
	uint64_t offset;	  /* address's offset in the file */
	const char *function;	  /* demangled */
	uint64_t function_offset; /* address's distance from the function's start */
	const char *file;	  /* source file and line of the call, from DWARF */
	uint32_t line;
};

/* --stacks: one allocation stack of a process, innermost frame first (the allocator's
 * caller). */
struct rep_stack {
	const char *allocator;
	int64_t bytes; /* live */
	int64_t blocks;
	uint64_t alloc_bytes; /* allocated in all since the process was traced */
	uint64_t alloc_count;
	const struct rep_frame *frames;
	size_t nframes;
};

/* How a process came to be traced (the summary says which processes were included). */
enum at_origin {
	AT_ORIGIN_COMMAND = 0,	  /* -- CMD: traced from its exec */
	AT_ORIGIN_PID = 1,	  /* -p: running when arenatrace attached */
	AT_ORIGIN_DESCENDANT = 2, /* --children: a running descendant of a -p target */
	AT_ORIGIN_FORK = 3,	  /* forked by a traced process, followed from its birth */
	AT_ORIGIN_ALL = 4,	  /* -a: running when arenatrace started */
	AT_ORIGIN_EXEC = 5,	  /* -a: a program started while arenatrace ran */
	AT_ORIGIN_NR = 6,
};

struct rep_proc {
	int pid;
	int ppid;
	const char *comm;
	/* Whose memory (fleet labels), read at each sample: the cgroup v2 path ("" when
	 * unknown), the systemd unit it names and the container id it holds ("" when none). */
	const char *cgroup;
	const char *unit;
	const char *container;
	uint32_t execs; /* execs seen: its counters restart at each (a new program) */
	bool exited;
	bool exit_reported; /* its exit was in an earlier interval report already */
	/* Memory (and blocks) existed before it was traced, unknown to the trace: -p, -a, and a
	 * child forked by such a process. A child of a process traced from its exec inherits
	 * its parent's picture and is traced from its birth: false. */
	bool attached_running;
	uint32_t origin; /* enum at_origin */
	/* The heap level's counters miss the start of its life: attached, or a forked child
	 * whose uprobes came after its birth (uprobes are attached per process). */
	bool heap_partial;
	/* Forked while traced with uprobes, or exec'd a program whose allocator had to be
	 * probed then (has_uprobes_after): the time from that fork or exec (uprobes_after_exec)
	 * to its uprobes in place; calls and chunks before that are not counted. */
	bool has_uprobes_after, uprobes_after_exec;
	uint64_t uprobes_after_ns;
	uint64_t rss_bytes;
	uint64_t lazyfree_bytes;
	const struct rep_alloc *allocs;
	size_t nallocs;
	const struct rep_sample *timeline;
	size_t ntimeline;
	uint64_t timeline_omitted;
	const struct rep_finding *findings;
	size_t nfindings;
	const struct rep_arena *arenas; /* live ones first */
	size_t narenas;
	uint64_t arenas_omitted; /* ended arenas dropped beyond max_arenas */
	/* --stacks: captured at the last report, or at the process's exit. stacks holds every
	 * stack that allocated, those holding the most live bytes first; the first nstacks
	 * (--stacks=N at most, and only stacks with live blocks) are the ones shown. */
	bool has_stacks;
	const struct rep_stack *stacks;
	size_t nstacks;
	size_t nstacks_all;
};

/* One reason data was lost, and how much (every backend renders every row). The rows are
 * the kernel's drop reasons (enum at_drop, by model_drop_name) and then the model's own:
 * model_procs_full (processes not kept), segments_full (events not applied: interval map
 * full), unattributed (events whose process was unknown), arenas_full (arena events not
 * kept: max_arenas live arenas in a process), warnings_not_shown (repeated warnings held back,
 * from the health). */
struct rep_drop {
	const char *name;
	uint64_t value;
};

#define AT_MODEL_DROPS 5
#define AT_REP_DROPS (AT_DROP_NR + AT_MODEL_DROPS)

/* arenatrace's own health, for the report (set by the caller before rendering). */
struct rep_health {
	uint64_t bpf_run_ns; /* time the BPF programs ran (kernel.bpf_stats_enabled) */
	uint64_t bpf_run_count;
	bool bpf_stats;	     /* the two above are known */
	uint64_t cpu_ns;     /* arenatrace's own user and system CPU time */
	uint64_t rss_bytes;  /* arenatrace's own RSS */
	uint64_t vm_bytes;   /* arenatrace's own virtual memory size */
	double start_time_s; /* arenatrace's start, seconds since the Unix epoch (0: unknown) */
	uint64_t open_fds, max_fds;
	uint64_t warnings_not_shown; /* repeated warnings held back (sys/log.h, at_warn) */
};

struct report {
	uint64_t start_ns;  /* CLOCK_MONOTONIC of the start of the trace */
	uint64_t window_ns; /* start of the counters' window: the last reset, or start_ns */
	uint64_t sample_ms; /* the sampling interval: the purge latency's resolution */
	/* --unwind dwarf: the stacks' figures are estimates from one sampled allocation per
	 * this many bytes on average (exact at 1); 0: every allocation's stack (frame
	 * pointers), exact. */
	uint64_t stack_sample_bytes;
	bool interval; /* an interval report (model_report), not the whole trace's */
	uint64_t now_ns;
	uint64_t records;
	const struct rep_proc *procs;
	size_t nprocs;
	const struct rep_drop *drops; /* AT_REP_DROPS rows */
	size_t ndrops;
	struct rep_health health;
};

const char *model_ret_name(enum at_ret r);
const char *model_source_name(enum at_source s); /* NULL for AT_SRC_NONE */
/* Purge latency slot's bounds in milliseconds, [*low, *high), for a sample interval of
 * sample_ms; the last slot's high is UINT64_MAX (open). */
void model_lat_bounds(uint32_t slot, uint64_t sample_ms, uint64_t *low, uint64_t *high);
const char *model_evidence_name(enum at_evidence e);
const char *model_origin_name(uint32_t origin); /* enum at_origin */
const char *model_sys_name(enum at_sys s);
const char *model_drop_name(enum at_drop d);
const char *model_proc_kind_name(uint32_t kind);  /* enum at_proc_kind */
const char *model_arena_kind_name(uint32_t kind); /* enum at_arena_kind */

#endif
