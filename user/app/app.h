/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The app layer's shared state: one run's context, passed explicitly between main.c
 * (parse, run, exit code), targets.c (-p, -a, -- CMD) and trace.c (the record dispatcher,
 * the sample and report loop). Functions return 0 or an exit code (enum at_exit) unless
 * said otherwise. Nothing below app/ includes this.
 */
#ifndef AT_APP_H
#define AT_APP_H

#include <signal.h>
#include <stdio.h>
#include <sys/types.h>

#include "common.h"
#include "cli.h"
#include "out.h"

struct output;

/* A set of pids (capture.c). */
struct pid_set {
	uint32_t *v;
	size_t n, cap;
};

struct at_ctx {
	const struct at_opts *opts;
	struct loader *loader;
	struct heap *heap;	 /* NULL without the heap level */
	struct arena *arena;	 /* NULL without the arena level */
	struct stacks *stacks;	 /* NULL without --stacks */
	struct ustack *ustack;	 /* --unwind dwarf: the unwinder (else NULL) */
	struct samples *samples; /* --unwind dwarf: the sampled stacks (else NULL) */
	struct model *model;
	struct out out;
	struct out_meta meta;
	struct exporter *exporter; /* --prometheus */
	struct out prom;	   /* the Prometheus backend: --prometheus, --textfile */
	bool has_prom;
	int textfile_errno; /* the first --textfile write that failed */
	uint64_t textfile_writes;
	uint64_t start_ns;
	pid_t child;
	int go_fd;		/* the child execs when this is closed */
	int exec_fd;		/* the child reports a failed exec here */
	bool released;		/* the command was let exec */
	struct output *output;	/* -o, or stdout (main.c) */
	uint64_t books_next_ns; /* the next periodic reading of the books (trace.c) */
	int output_errno;	/* the first write to the output that failed */
	double started_s;	/* arenatrace's start, since the Unix epoch (trace.c) */
	size_t pointers_next;	/* the live-block table's bucket the next pointer pass starts at */
	struct pid_set maps_stale;  /* --stacks: mapped new code since their mappings were read */
	struct pid_set stack_exits; /* --stacks: exited, stacks not read yet */
};

/* Set by SIGINT and SIGTERM: the trace loop ends and reports. */
extern volatile sig_atomic_t at_stop_flag;

uint64_t app_now_ns(void);
uint64_t app_unix_ns(void); /* the wall clock (CLOCK_REALTIME) */
struct stat;
/* Whether the symbolic link at path (ls: its lstat) may have been planted by another user:
 * -o does not follow it then (report.c). */
bool app_link_planted(const char *path, const struct stat *ls);

/* targets.c */
/* A -p target that can be traced (else one line, and AT_EXIT_TARGET). */
int targets_check(int pid);
/* -p, -a or -- CMD (forked, stopped before its exec): traced, probed, in the model. */
int targets_setup(struct at_ctx *c);
/* -- CMD: lets the command exec. */
int targets_release_child(struct at_ctx *c);
/* The heap and arena levels' uprobes for a process now running, or (exe) for the files a
 * process will map after its exec. */
int targets_probe_running(struct at_ctx *c, int pid);
int targets_probe_launch(struct at_ctx *c, int pid, const char *exe);

/* capture.c: --stacks. A process's stacks are read from the BPF maps and resolved with its
 * mappings: at each report for the live ones, and for one that exited before the maps
 * forget it, with its mappings as last read (they are read again whenever it maps new
 * code). */
/* A record: a process that maps new code has its mappings read at the next capture_maps. */
void capture_record(struct at_ctx *c, const void *data, size_t len);
/* pid exec'd (its probes in place): its old mappings go, the new ones are read at the next
 * capture_maps. */
void capture_exec(struct at_ctx *c, int pid);
/* Read the mappings of the processes that mapped new code (after each poll). */
void capture_maps(struct at_ctx *c);
/* An executable file mapping of a process as it exits (the records before its exit). */
struct at_vma_rec;
void capture_vma(struct at_ctx *c, const struct at_vma_rec *r);
/* pid exited: its stacks are read at the next capture_exits. */
void capture_exit(struct at_ctx *c, int pid);
/* The stacks of processes that exited since the last call, in one walk of the maps. */
void capture_exits(struct at_ctx *c);
/* The stacks of every live process with heap probes (and of those exited), for a report. */
void capture_live(struct at_ctx *c);
void capture_free(struct at_ctx *c);
/* --unwind dwarf: a sample (AT_REC_USTACK, unwound now) or the free of a sampled block. */
void capture_sample(struct at_ctx *c, const void *data, size_t len);

/* samples.c: --unwind dwarf, the sampled allocations summed per process and stack as
 * unbiased estimates (exact at rate 1). samples__new returns NULL with errno set. */
struct samples;
struct ustack;
struct at_ustack_rec;
struct at_ustack_free;
struct loader_stack;
struct samples *samples__new(uint64_t rate);
void samples__free(struct samples *s);
void samples_add(struct samples *s, struct ustack *u, const struct at_ustack_rec *r);
void samples_free(struct samples *s, const struct at_ustack_free *r);
/* pid's stacks, as the loader gives its own (malloc'd, largest live first): how many, or
 * -ENOMEM. */
int samples_stacks(struct samples *s, int pid, struct loader_stack **out);
/* pid exited (its mappings at exit known to stacks): the samples that came after it was
 * gone are unwound now. */
void samples_exit(struct samples *s, struct ustack *u, int pid);
/* pid exec'd (its old program's samples go) or its stacks were read at its exit. */
void samples_forget(struct samples *s, int pid);
/* Samples whose process was gone before they were unwound (their first frame only). */
uint64_t samples_gone(const struct samples *s);

/* attach.c: the allocators' own books of pid, read now (t: CLOCK_MONOTONIC) into the
 * model. */
void attach_read_books(struct at_ctx *c, int pid, uint64_t t);

/* trace.c */
/* The one record dispatcher: every ring buffer record, of any type (loader_event_fn). */
int trace_on_record(void *arg, void *data, size_t len);
/* --prometheus: the current figures, rendered for the next scrapes. */
void trace_publish(struct at_ctx *c, uint64_t t);
/* --textfile: the current figures written to the file (a new file renamed over it). */
void trace_write_textfile(struct at_ctx *c, uint64_t t);
/* Samples, interval reports and the final one, until the end of the trace. */
int trace_loop(struct at_ctx *c);

/* arenatrace diff FILE...: JSON reports side by side (app/diff.c); an exit code. */
#define DIFF_MAX_RUNS 8
int diff_main(int argc, char **argv, FILE *f);
struct json_object;
/* The report a JSON file holds (its final one), in *rep (json_object_put it): AT_EXIT_OK, or
 * one line said and AT_EXIT_RUNTIME (the file cannot be read) or AT_EXIT_USAGE (it is not
 * an arenatrace JSON report). */
int diff_load(const char *path, struct json_object **rep);
/* diff's table of n runs (reports as diff_load gives them) as JSON for arenatrace report:
 * labels, rows (title, cells as the terminal shows them, bytes), and the verdict line. */
struct json_object *diff_table_json(struct json_object *const *reps, const char *const *paths,
				    size_t n);
/* arenatrace report FILE... [-o OUT]: one self-contained HTML page (app/report.c). */
int report_main(int argc, char **argv, const char *version);

#endif
