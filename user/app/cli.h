/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Command line: one option table drives getopt_long, --help and --config-help. cli_parse
 * fills struct at_opts and returns 0, or -EINVAL with a one-line reason in err.
 */
#ifndef AT_CLI_H
#define AT_CLI_H

#include <stdio.h>

#include "common.h"
#include "arena.h"
#include "out.h"

#define AT_MAX_PIDS 64
#define AT_MAX_ARENA_SPECS 8
#define AT_MAX_COMMS 64

/* Exit codes (documented in --help, README and the man page). */
enum at_exit {
	AT_EXIT_OK = 0,
	AT_EXIT_RUNTIME = 1,  /* BPF load/attach or another runtime failure */
	AT_EXIT_USAGE = 2,    /* bad option or malformed value */
	AT_EXIT_TARGET = 3,   /* no such process, kernel thread, command cannot run */
	AT_EXIT_PRIV = 4,     /* not enough privileges */
	AT_EXIT_KERNEL = 5,   /* a kernel feature is missing (tracefs, BTF, uprobes) */
	AT_EXIT_VANISHED = 6, /* a -p target exited before the end of the trace */
};

struct at_opts {
	int pids[AT_MAX_PIDS];
	size_t npids;
	bool children; /* --children: the -p targets' descendants running at attach too */
	bool all;      /* -a: every process on the host (filtered) */
	char comms[AT_MAX_COMMS][16];
	size_t ncomms;
	const char *cgroup;	/* --cgroup: a cgroup v2 path, relative to /sys/fs/cgroup */
	uint64_t min_rss;	/* --min-rss: processes below this RSS are not reported */
	const char *prometheus; /* --prometheus [ADDR:]PORT */
	const char *textfile;	/* --textfile PATH: the same metrics, for node_exporter */
	bool ndjson;
	char **cmd; /* -- CMD ARGS, NULL-terminated, or NULL */
	double duration_s;
	double interval_s;
	long count; /* interval reports to print, 0 = unlimited */
	enum out_format format;
	bool pretty;
	const char *output;
	int verbose;
	bool dry_run;
	bool follow;
	bool help;
	bool version;
	bool config_help;
	bool level_os;
	bool level_heap;
	bool level_arena;
	struct at_arena_spec arenas[AT_MAX_ARENA_SPECS];
	size_t narenas;
	bool books; /* read the allocators' own books (default; --no-books) */
	bool hist;
	long stacks;	    /* --stacks: how many top stacks to show, 0 = off */
	const char *folded; /* --folded FILE */
	const char *pprof;  /* --pprof FILE */
	bool unwind_dwarf;  /* --unwind dwarf: sampled stacks unwound with the binaries' CFI */
	/* -C key=value */
	uint64_t ringbuf_bytes;
	uint64_t max_procs;
	uint64_t code_cache;
	uint64_t heap_stats;
	uint64_t heap_live;
	uint64_t max_sites;
	uint64_t max_segs;
	uint64_t timeline_max;
	uint64_t return_log_max;
	uint64_t sample_ms;
	uint64_t heap_floor;
	uint64_t arena_chunks;
	uint64_t max_arenas;
	uint64_t finding_min_bytes;
	uint64_t idle_purge_ms;
	uint64_t growth_samples;
	uint64_t prom_top;
	uint64_t text_top;
	uint64_t stack_sample_bytes; /* --unwind dwarf: one sample per this many bytes */
	bool levels_given;
};

void cli_defaults(struct at_opts *o);
int cli_parse(int argc, char **argv, struct at_opts *o, char *err, size_t errlen);
void cli_help(FILE *f);
/* config.c: the -C keys. */
void cli_config_help(FILE *f);
/* One -C KEY=VALUE into *o; -EINVAL with the reason in err. */
int cli_parse_knob(struct at_opts *o, const char *kv, char *err, size_t len);
/* For both files: a number (decimal, 0x hex, 0 octal; no sign), and help text wrapped to
 * 80 columns from indent. */
int cli_parse_u64(const char *s, uint64_t *v);
void cli_print_wrapped(FILE *f, const char *text, size_t indent);
struct loader_opts;
/* What the loader needs of the options (its own struct: kern/ does not see at_opts). */
struct loader_opts cli_loader_opts(const struct at_opts *o);
/* Parses one --arena value into *a; -EINVAL with the reason in err. */
int cli_parse_arena(const char *spec, struct at_arena_spec *a, char *err, size_t len);

#endif
