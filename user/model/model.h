/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The aggregation model: per traced process (keyed by tgid) an interval map of anonymous
 * memory and per allocator counters, fed by the BPF records and by /proc samples. It never
 * prints; model_report() hands out a read-only report that every output backend renders.
 * Single-threaded. Constructors return NULL with errno set, others 0 or a negative errno.
 */
#ifndef AT_MODEL_H
#define AT_MODEL_H

#include "common.h"
#include "arenatrace.h"
#include "probe_info.h"
#include "report.h"

struct model_limits {
	size_t max_procs;	    /* processes kept, exited ones included */
	size_t max_segs;	    /* interval map segments per process */
	size_t timeline_max;	    /* samples kept per process (the oldest go first) */
	size_t return_log_max;	    /* return events listed per allocator (the oldest go first) */
	size_t max_arenas;	    /* arena instances per process (ended ones go first) */
	uint64_t finding_min_bytes; /* findings name only retention this large */
	uint64_t idle_purge_ms;	    /* idle_purge: no return for this long */
	size_t growth_samples;	    /* retention_growth: this many rises in a row */
	uint64_t min_rss;	    /* processes with less RSS are left out of reports */
	uint64_t sample_ms; /* the sampling interval: purge latency's resolution (0: 1000) */
	uint64_t stack_sample_bytes; /* --unwind dwarf: stacks sampled per this many bytes */
};

struct model;

struct model *model__new(const struct model_limits *lim, uint64_t start_ns);
void model__free(struct model *m);

/* Start tracking a process that is already running: its memory is read from /proc and kept
 * apart as pre-existing. */
int model_add_running(struct model *m, int pid);
/* Start tracking a process that will exec next (-- CMD): nothing it has now counts. */
int model_add_launched(struct model *m, int pid);
/* How pid came to be traced, when not as its model_add_* says (-a, --children). */
int model_set_origin(struct model *m, int pid, enum at_origin origin);
/* The uprobes of a child forked at since_ns (or of a program exec'd then, exec) are in place
 * since ns (CLOCK_MONOTONIC, as the records' times): its heap counters miss that time, and
 * its report says how long it was. */
int model_set_uprobes_at(struct model *m, int pid, uint64_t since_ns, uint64_t ns, bool exec);

/* Apply one ring buffer record, of any type; probe: what an arena record's probe is (NULL
 * for the other types, or when unknown). */
int model_apply(struct model *m, const void *rec, size_t len, const struct at_probe_info *probe);
/* Sample residency and RSS of every live process. */
void model_sample(struct model *m, uint64_t now_ns);
void model_set_bpf_drops(struct model *m, const uint64_t drops[AT_DROP_NR]);
void model_set_health(struct model *m, const struct rep_health *h);
/* Calls fn for each process the model believes alive. */
void model_for_each_alive(const struct model *m, void (*fn)(void *arg, int pid), void *arg);
/* True while some tracked process is alive. */
bool model_any_alive(const struct model *m);
bool model_is_alive(const struct model *m, int pid);

/* Heap counters, refreshed in one order: those of pid (of every live process when pid is 0)
 * are cleared, read calls model_heap_add for each allocator instance it finds (instances
 * of one allocator in one process add up), then the purge latency and the retention
 * history are brought up to date at now_ns. */
typedef void (*model_heap_read_fn)(void *arg, struct model *m, int pid);
void model_heap_refresh(struct model *m, int pid, uint64_t now_ns, model_heap_read_fn read,
			void *arg);
void model_heap_add(struct model *m, int pid, const char *name, const char *basis,
		    const struct at_heap_stats *s);

/* Attach truth: an allocator's own books, read from pid's memory (books/, by the app). The
 * ranges it owns, with their evidence, decide the owner of memory from before attach
 * where weaker evidence decided it (unknown < inferred < caller, pointer < header, books);
 * memory mapped since attach keeps its traced caller. b's figures go to the report. */
struct model_range {
	uint64_t start, end;
	enum at_evidence evidence;
};
int model_set_books(struct model *m, int pid, const char *allocator, const struct rep_books *b,
		    const struct model_range *ranges, size_t n);

/* Whether pid, attached while running, still has memory from before attach whose owner is
 * unknown. */
bool model_has_unknown(const struct model *m, int pid);
/* Heap level: allocator handed out (or is yet to free) ptr in pid. The mapping from before
 * attach that holds it is that allocator's, where weaker evidence decided its owner. */
int model_claim_pointer(struct model *m, int pid, const char *allocator, uint64_t ptr);

/* --stacks: the stacks of pid (the live process, or the last that exited with that pid), n
 * in all, the first nshown shown (copied, with their frames and strings; what was set
 * before goes). */
int model_set_stacks(struct model *m, int pid, bool exited, const struct rep_stack *stacks,
		     size_t n, size_t nshown);

/* The report stays valid until the next model call. model_report's counts (returns,
 * syscalls, heap calls) are of the window since the last model_reset_counters (an interval
 * report); model_report_total's are of the whole trace (the final summary, Prometheus). */
const struct report *model_report_total(struct model *m, uint64_t now_ns);
const struct report *model_report(struct model *m, uint64_t now_ns);
/* -a: forget the processes that have exited (after the samples and reports that saw
 * them), so that the model stays bounded on a host that runs many short processes. */
void model_prune_exited(struct model *m);
/* Starts a new window of counts (interval mode): model_report counts from now on. */
void model_reset_counters(struct model *m, uint64_t now_ns);

#endif
