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
};

/* What the report does not carry: the run's context. */
struct out_meta {
	const char *version;
	const char *kernel;
	double duration_s;   /* requested -d, 0 if none */
	double interval_s;   /* -i, 0 if none */
	const char *command; /* -- CMD, or NULL */
	const int *pids;
	size_t npids;
	bool follow_forks;
	bool children;	    /* --children: the -p targets' running descendants too */
	bool hist;	    /* text: print size histograms */
	const char *levels; /* "os,heap" */
	size_t prom_top;    /* Prometheus: processes exported one by one */
	size_t text_top;    /* text: exited processes, and arenas per process, listed (0: all) */
};

struct out;

struct out_ops {
	int (*report)(struct out *o, const struct report *r, bool final);
	void (*error)(struct out *o, const char *msg);
	/* NDJSON: one ring-buffer record as it arrives (NULL: the backend shows none). */
	void (*event)(struct out *o, const void *rec, size_t len, uint64_t start_ns);
};

struct out {
	const struct out_ops *ops;
	FILE *f;
	bool pretty;
	const struct out_meta *meta;
};

extern const struct out_ops out_text_ops;
extern const struct out_ops out_json_ops;
extern const struct out_ops out_prom_ops;
extern const struct out_ops out_ndjson_ops;

void out_init(struct out *o, enum out_format fmt, FILE *f, bool pretty, const struct out_meta *m);
/* final: the end of the trace (one-shot summary) rather than an interval. */
int out_report(struct out *o, const struct report *r, bool final);
void out_error(struct out *o, const char *msg);
/* Whether the backend streams events (out_event then shows each). */
bool out_wants_events(const struct out *o);
void out_event(struct out *o, const void *rec, size_t len, uint64_t start_ns);

/* A copy of s safe for a terminal: valid UTF-8, control bytes shown as '?'. */
const char *out_printable(const char *s, char *buf, size_t len);
/* Calls per second over the report's counter window. */
double out_rate(const struct report *r, uint64_t count);
/* Human-readable byte counts for the text backend ("12.0 MiB"). */
const char *out_bytes(uint64_t bytes, char *buf, size_t len);

#endif
