/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one output interface. A backend (text, JSON) is chosen once from the options and
 * renders the model's report; nothing outside the backends checks the format. Data goes to
 * the FILE given (stdout, line-buffered, or -o FILE); diagnostics never do.
 */
#ifndef AT_OUT_H
#define AT_OUT_H

#include <stdio.h>

#include "common.h"
#include "report.h"

enum out_format {
	OUT_TEXT = 0,
	OUT_JSON = 1,
	OUT_PROM = 2,	/* Prometheus text exposition (served by --prometheus) */
	OUT_NDJSON = 3, /* one JSON object a line: events and snapshots */
	OUT_FOLDED = 4, /* --folded: live bytes by stack, for flame graphs */
	OUT_PPROF = 5,	/* --pprof: the stacks as a gzipped pprof profile */
};

/* What the report does not carry: the run's context. */
struct out_meta {
	const char *version;
	const char *kernel;
	uint64_t start_unix_ns; /* the wall clock at the start of the trace (0: unknown) */
	double duration_s;	/* requested -d, 0 if none */
	double interval_s;	/* -i, 0 if none */
	const char *command;	/* -- CMD, or NULL */
	const int *pids;
	size_t npids;
	bool follow_forks;
	bool children;		     /* --children: the -p targets' running descendants too */
	const char *unwind;	     /* --stacks: "fp" or "dwarf" (--unwind); NULL without stacks */
	uint64_t stack_sample_bytes; /* --unwind dwarf: -C stack_sample_bytes (else 0) */
	bool hist;		     /* text: print size histograms */
	const char *levels;	     /* "os,heap" */
	size_t prom_top;	     /* Prometheus: processes exported one by one */
	size_t text_top; /* text: exited processes, and arenas per process, listed (0: all) */
};

struct out;

struct out_ops {
	int (*report)(struct out *o, const struct report *r, bool final);
	void (*error)(struct out *o, const char *msg);
	/* NDJSON: one ring-buffer record as it arrives (NULL: the backend shows none). */
	void (*event)(struct out *o, const void *rec, size_t len, uint64_t start_ns);
	/* Frees the backend's own state (NULL: it keeps none). */
	void (*close)(struct out *o);
};

struct out {
	const struct out_ops *ops;
	FILE *f;
	bool pretty;
	const struct out_meta *meta;
	void *priv; /* the backend's state between reports (Prometheus: its counters) */
	/* Prometheus: how many times a reader has read what was rendered (scrapes served,
	 * --textfile files written), set before each report: an ended series stays until
	 * read. */
	uint64_t reads;
};

extern const struct out_ops out_text_ops;
extern const struct out_ops out_json_ops;
extern const struct out_ops out_prom_ops;
extern const struct out_ops out_ndjson_ops;
extern const struct out_ops out_folded_ops;
extern const struct out_ops out_pprof_ops;

/* The folded stacks of every process's stacks with live bytes, one line each (sorted);
 * 0 or a negative errno. */
int out_folded_write(FILE *f, const struct report *r);
/* The pprof profile (proto/profile.proto) of every process's stacks, not compressed, in
 * *buf (malloc'd); time_ns: the wall-clock time it is of. 0 or a negative errno. */
int out_pprof_encode(const struct report *r, int64_t time_ns, uint8_t **buf, size_t *len);

void out_init(struct out *o, enum out_format fmt, FILE *f, bool pretty, const struct out_meta *m);
/* final: the end of the trace (one-shot summary) rather than an interval. */
int out_report(struct out *o, const struct report *r, bool final);
void out_error(struct out *o, const char *msg);
/* Frees what the backend kept between reports; the FILE is the caller's. */
void out_close(struct out *o);
/* Whether the backend streams events (out_event then shows each). */
bool out_wants_events(const struct out *o);
void out_event(struct out *o, const void *rec, size_t len, uint64_t start_ns);

/* A copy of s safe for a terminal: valid UTF-8, control bytes shown as '?'. */
const char *out_printable(const char *s, char *buf, size_t len);
/* A stack frame's name: the function, else "file+0xoffset" (the module's base name), else
 * "0xaddress" (flame graphs' frames). */
const char *out_frame_name(const struct rep_frame *f, char *buf, size_t len);
/* A frame for reading: "function+0xoff (file.c:line)", "function+0xoff (module)", or as
 * out_frame_name without a function. */
const char *out_frame_text(const struct rep_frame *f, char *buf, size_t len);
/* Calls per second over the report's counter window. */
double out_rate(const struct report *r, uint64_t count);
/* Human-readable byte counts for the text backend ("12.0 MiB"). */
const char *out_bytes(uint64_t bytes, char *buf, size_t len);

#endif
