// SPDX-License-Identifier: GPL-2.0-only
/*
 * arenatrace diff A.json B.json [C.json...]: runs side by side (the same workload under
 * other allocators or versions), from their JSON reports (the final one of each file; a
 * file of -i or --ndjson reports gives its last): peak and final resident, live, retained,
 * LazyFree, returns by kind, findings, and which run keeps least at the end and where
 * the most is kept. Summed over each run's processes. docs/design.md, "arenatrace diff".
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "log.h"
#include "model.h"
#include "out.h"

#define DIFF_KINDS AT_RET_NR

struct run {
	char label[40];
	char allocators[96];
	uint64_t peak_resident, resident, live, retained, lazyfree, returned[DIFF_KINDS];
	bool live_known, retained_known;
	char findings[160];
	char top_name[64]; /* the allocator that retains the most */
	uint64_t top_retained;
	int procs;
};

static uint64_t u64_at(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? (uint64_t)json_object_get_int64(v) : 0;
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static void append(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);

	if (strstr(buf, s))
		return;
	snprintf(buf + n, len - n, "%s%s", n ? "," : "", s);
}

/* The report a file holds: the last object with "final": true, else the last one. */
static struct json_object *load_report(const char *path)
{
	struct json_object *whole = json_object_from_file(path), *last = NULL, *fin = NULL;
	FILE *f;
	char *line = NULL;
	size_t cap = 0;

	if (whole && json_object_is_type(whole, json_type_object))
		return whole;
	json_object_put(whole);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	while (getline(&line, &cap, f) > 0) {
		struct json_object *o = json_tokener_parse(line), *v;

		if (!o || !json_object_is_type(o, json_type_object) || !get(o, "processes")) {
			json_object_put(o);
			continue;
		}
		if (json_object_object_get_ex(o, "final", &v) && json_object_get_boolean(v)) {
			json_object_put(fin);
			fin = json_object_get(o);
		}
		json_object_put(last);
		last = o;
	}
	free(line);
	fclose(f);
	if (fin) {
		json_object_put(last);
		return fin;
	}
	return last;
}

int diff_load(const char *path, struct json_object **rep)
{
	struct json_object *procs, *err;
	FILE *f = fopen(path, "re");

	*rep = NULL;
	/* A file that cannot be read (a directory: EISDIR at the first read) is no report. */
	if (!f || (fgetc(f) == EOF && ferror(f))) {
		at_err("cannot read '%s': %s", path, strerror(errno));
		if (f)
			fclose(f);
		return AT_EXIT_RUNTIME;
	}
	fclose(f);
	*rep = load_report(path);
	procs = *rep ? get(*rep, "processes") : NULL;
	if (procs && json_object_is_type(procs, json_type_array))
		return AT_EXIT_OK;
	err = *rep ? get(*rep, "error") : NULL;
	if (err && json_object_is_type(err, json_type_string))
		at_err("'%s' is the JSON of a run that failed: %s", path,
		       json_object_get_string(err));
	else
		at_err("'%s' is not an arenatrace JSON report", path);
	json_object_put(*rep);
	*rep = NULL;
	return AT_EXIT_USAGE;
}

static void add_alloc(struct run *r, struct json_object *a)
{
	struct json_object *books = get(a, "books"), *pre = get(a, "preexisting"),
			   *ret = get(a, "returned"), *v;
	const char *name = json_object_get_string(get(a, "name"));
	uint64_t retained = 0;
	bool has_retained = false;
	char key[48];

	name = name ? name : "?";
	r->resident += u64_at(a, "resident_bytes") + (pre ? u64_at(pre, "resident_bytes") : 0);
	for (int k = 0; k < DIFF_KINDS; k++) {
		snprintf(key, sizeof(key), "%s_bytes", model_ret_name(k));
		r->returned[k] += ret ? u64_at(ret, key) : 0;
	}
	/* Live and retained from the allocator's own books first, else the heap level. */
	if (books && json_object_is_type(books, json_type_object)) {
		r->live += u64_at(books, "live_bytes");
		retained = u64_at(books, "retained_bytes");
		r->live_known = has_retained = true;
	} else if (json_object_object_get_ex(a, "live_bytes", &v) && v) {
		r->live += (uint64_t)json_object_get_int64(v);
		r->live_known = true;
		if (json_object_object_get_ex(a, "retained_bytes", &v) && v) {
			retained = (uint64_t)json_object_get_int64(v);
			has_retained = true;
		}
	}
	if (has_retained) {
		r->retained += retained;
		r->retained_known = true;
		if (retained > r->top_retained) {
			r->top_retained = retained;
			snprintf(r->top_name, sizeof(r->top_name), "%s", name);
		}
	}
	if (strcmp(name, "app") && strcmp(name, "unknown") &&
	    u64_at(a, "mapped_bytes") + (pre ? u64_at(pre, "mapped_bytes") : 0))
		append(r->allocators, sizeof(r->allocators), name);
}

/* A run's label: its file's name without the directory and .json. */
static void run_label(const char *path, char *label, size_t len)
{
	const char *base = strrchr(path, '/');
	size_t n;

	snprintf(label, len, "%s", base ? base + 1 : path);
	n = strlen(label);
	if (n > 5 && !strcmp(label + n - 5, ".json"))
		label[n - 5] = '\0';
}

static void read_run(struct json_object *rep, const char *path, struct run *r)
{
	struct json_object *procs = get(rep, "processes");

	run_label(path, r->label, sizeof(r->label));
	for (size_t i = 0; i < json_object_array_length(procs); i++) {
		struct json_object *p = json_object_array_get_idx(procs, i),
				   *allocs = get(p, "allocators"), *tl = get(p, "timeline"),
				   *fs = get(p, "findings");
		uint64_t peak = 0;

		r->procs++;
		for (size_t k = 0; allocs && k < json_object_array_length(allocs); k++)
			add_alloc(r, json_object_array_get_idx(allocs, k));
		for (size_t k = 0; tl && k < json_object_array_length(tl); k++) {
			struct json_object *s = json_object_array_get_idx(tl, k);

			if (u64_at(s, "resident_bytes") > peak)
				peak = u64_at(s, "resident_bytes");
			if (k + 1 == json_object_array_length(tl))
				r->lazyfree += u64_at(s, "lazyfree_bytes");
		}
		r->peak_resident += peak;
		for (size_t k = 0; fs && k < json_object_array_length(fs); k++) {
			const char *kind = json_object_get_string(
				get(json_object_array_get_idx(fs, k), "kind"));

			if (kind)
				append(r->findings, sizeof(r->findings), kind);
		}
	}
}

/* Where the table goes: the terminal (f), or rows of a JSON object for arenatrace report
 * (rows), each with its title, the cells as printed and the bytes they show (null for a
 * cell of text or an unknown figure). */
struct sink {
	FILE *f;
	struct json_object *rows;
};

static void put_row(struct sink *s, const char *title, const char *const *cells,
		    const uint64_t *bytes, size_t n)
{
	struct json_object *row, *c, *b;

	if (s->f) {
		fprintf(s->f, "%-24s", title);
		for (size_t i = 0; i < n; i++)
			fprintf(s->f, " %18.18s", cells[i]);
		fputc('\n', s->f);
		return;
	}
	row = json_object_new_object();
	c = json_object_new_array();
	b = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object_array_add(c, json_object_new_string(cells[i]));
		json_object_array_add(b, bytes && strcmp(cells[i], "-")
						 ? json_object_new_int64((int64_t)bytes[i])
						 : NULL);
	}
	json_object_object_add(row, "title", json_object_new_string(title));
	json_object_object_add(row, "cells", c);
	json_object_object_add(row, "bytes", b);
	json_object_array_add(s->rows, row);
}

static void row_bytes(struct sink *s, const char *title, const struct run *runs, size_t n,
		      size_t off, bool (*known)(const struct run *))
{
	char b[DIFF_MAX_RUNS][32] = { { 0 } };
	const char *cells[DIFF_MAX_RUNS] = { 0 };
	uint64_t v[DIFF_MAX_RUNS] = { 0 };

	for (size_t i = 0; i < n; i++) {
		v[i] = *(const uint64_t *)((const char *)&runs[i] + off);
		cells[i] = known && !known(&runs[i]) ? "-" : out_bytes(v[i], b[i], sizeof(b[i]));
	}
	put_row(s, title, cells, v, n);
}

static bool live_known(const struct run *r)
{
	return r->live_known;
}

static bool retained_known(const struct run *r)
{
	return r->retained_known;
}

static void row_text(struct sink *s, const char *title, const struct run *runs, size_t n,
		     size_t off)
{
	const char *cells[DIFF_MAX_RUNS] = { 0 };

	for (size_t i = 0; i < n; i++) {
		const char *c = (const char *)&runs[i] + off;

		cells[i] = *c ? c : "-";
	}
	put_row(s, title, cells, NULL, n);
}

/* The table (after its header row) and the verdict, in buf. */
static void table(struct sink *s, const struct run *runs, size_t n, char *verdict, size_t len)
{
	size_t least = 0, most = 0, k;
	char b1[32], b2[32], b3[32];

	row_text(s, "allocators", runs, n, offsetof(struct run, allocators));
	row_bytes(s, "peak resident", runs, n, offsetof(struct run, peak_resident), NULL);
	row_bytes(s, "final resident", runs, n, offsetof(struct run, resident), NULL);
	row_bytes(s, "final live", runs, n, offsetof(struct run, live), live_known);
	row_bytes(s, "final retained", runs, n, offsetof(struct run, retained), retained_known);
	row_bytes(s, "LazyFree", runs, n, offsetof(struct run, lazyfree), NULL);
	for (int kind = 0; kind < DIFF_KINDS; kind++) {
		char title[48];
		bool any = false;

		for (size_t i = 0; i < n; i++)
			any |= runs[i].returned[kind] != 0;
		if (!any)
			continue;
		snprintf(title, sizeof(title), "returned %s", model_ret_name(kind));
		row_bytes(s, title, runs, n,
			  offsetof(struct run, returned) + kind * sizeof(uint64_t), NULL);
	}
	row_text(s, "findings", runs, n, offsetof(struct run, findings));
	for (size_t i = 1; i < n; i++) {
		least = runs[i].resident < runs[least].resident ? i : least;
		most = runs[i].resident > runs[most].resident ? i : most;
	}
	k = (size_t)snprintf(verdict, len, "keeps least at the end: %s (resident %s)",
			     runs[least].label, out_bytes(runs[least].resident, b1, sizeof(b1)));
	if (most != least && k < len) {
		k += (size_t)snprintf(
			verdict + k, len - k, "; most: %s (resident %s, %s more", runs[most].label,
			out_bytes(runs[most].resident, b2, sizeof(b2)),
			out_bytes(runs[most].resident - runs[least].resident, b3, sizeof(b3)));
		if (runs[most].top_retained && k < len)
			k += (size_t)snprintf(verdict + k, len - k, "; %s retains %s of it",
					      runs[most].top_name,
					      out_bytes(runs[most].top_retained, b1, sizeof(b1)));
		if (k < len)
			snprintf(verdict + k, len - k, ")");
	}
}

struct json_object *diff_table_json(struct json_object *const *reps, const char *const *paths,
				    size_t n)
{
	struct run runs[DIFF_MAX_RUNS] = { 0 };
	struct json_object *o = json_object_new_object(), *labels = json_object_new_array();
	struct sink s = { .rows = json_object_new_array() };
	char verdict[512];

	n = n < DIFF_MAX_RUNS ? n : DIFF_MAX_RUNS;
	for (size_t i = 0; i < n; i++) {
		read_run(reps[i], paths[i], &runs[i]);
		json_object_array_add(labels, json_object_new_string(runs[i].label));
	}
	table(&s, runs, n, verdict, sizeof(verdict));
	json_object_object_add(o, "labels", labels);
	json_object_object_add(o, "rows", s.rows);
	json_object_object_add(o, "verdict", json_object_new_string(verdict));
	return o;
}

int diff_main(int argc, char **argv, FILE *f)
{
	struct run runs[DIFF_MAX_RUNS] = { 0 };
	struct sink s = { .f = f };
	size_t n = (size_t)argc;
	char verdict[512];

	for (int i = 0; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1]) {
			at_err("diff takes no option ('%s'); for the runs side by side in an HTML "
			       "page: arenatrace report A.json B.json... -o FILE",
			       argv[i]);
			return AT_EXIT_USAGE;
		}
	}
	if (argc < 2 || argc > DIFF_MAX_RUNS) {
		at_err("diff needs 2 to %d JSON reports (arenatrace -j -o FILE); see --help",
		       DIFF_MAX_RUNS);
		return AT_EXIT_USAGE;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *rep;
		int rc = diff_load(argv[i], &rep);

		if (rc)
			return rc;
		read_run(rep, argv[i], &runs[i]);
		json_object_put(rep);
	}
	fprintf(f, "%-24s", "run");
	for (size_t i = 0; i < n; i++)
		fprintf(f, " %18.18s", runs[i].label);
	fputc('\n', f);
	table(&s, runs, n, verdict, sizeof(verdict));
	fprintf(f, "\n%s\n", verdict);
	return ferror(f) ? AT_EXIT_RUNTIME : AT_EXIT_OK;
}
