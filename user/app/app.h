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

struct at_ctx {
	const struct at_opts *opts;
	struct loader *loader;
	struct heap *heap;     /* NULL without the heap level */
	struct arena *arena;   /* NULL without the arena level */
	struct stacks *stacks; /* NULL without --stacks */
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
};

/* Set by SIGINT and SIGTERM: the trace loop ends and reports. */
extern volatile sig_atomic_t at_stop_flag;

uint64_t app_now_ns(void);

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
int diff_main(int argc, char **argv, FILE *f);

#endif
