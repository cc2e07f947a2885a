// SPDX-License-Identifier: GPL-2.0-only
/*
 * Prometheus backend: the report in the text exposition format (version 0.0.4), served by
 * --prometheus and written by --textfile. Names follow Prometheus's conventions: the
 * arenatrace_ prefix, base units (bytes, seconds) in the name, _total on counters, the
 * process_* names of the client libraries for arenatrace's own costs. Label cardinality is
 * bounded: the meta's prom_top processes with the most RSS get their own series, labelled
 * with pid, comm, cgroup, unit and container; the others are summed under pid="other".
 * Counters never fall for the life of a series (prom_carry.h): the backend keeps, from one
 * render to the next, what each process's counters held.
 */
#include <stdlib.h>
#include <string.h>

#include "out.h"
#include "prom_carry.h"

#define MAX_NAMES 64

/* The counters of a (process, allocator), in the order the carry keeps them: returned
 * bytes and counts by kind, the purge latency histogram (cumulative buckets, then the sum)
 * and the request size histogram (cumulative buckets). The histograms are exported at a
 * quarter of their log2 resolution: every other power of two. */
#define LAT_BUCKETS 13	/* le = the high edge of slot k (sample_ms << k) for k < 12, then +Inf */
#define SIZE_BUCKETS 15 /* le = 2^(k+1) - 1 bytes for k = 3, 5, ... 29, then +Inf */
#define C_RET 0
#define C_RETN (C_RET + AT_RET_NR)
#define C_LAT (C_RETN + AT_RET_NR)
#define C_LATSUM (C_LAT + LAT_BUCKETS)
#define C_SIZE (C_LATSUM + 1)
#define C_WIDTH (C_SIZE + SIZE_BUCKETS)

/* Labels of one process: pid, comm, cgroup, unit, container, escaped; big enough for the
 * report's bounded strings escaped. */
#define LABELS_MAX 1400

/* Figures of one series group: a process's allocator, or the sum of the others. */
struct series {
	const char *labels; /* the process's, or pid="other" */
	const char *name;   /* the allocator, as the report names it */
	char alloc[96];	    /* the same, escaped for a label value */
	double mapped, resident, live, retained;
	bool has_heap, retained_known;
	bool other;	   /* pid="other" */
	bool ended;	   /* a process's own series that ended, frozen until read */
	bool figures;	   /* the gauges above are known (pid="other": some processes are there) */
	double c[C_WIDTH]; /* counters, monotonic (from the carry) */
};

struct prom_state {
	struct prom_carry *carry;
};

static void label_value(const char *s, char *out, size_t len)
{
	char clean[600];
	size_t n = 0;

	out_printable(s, clean, sizeof(clean));
	for (const char *c = clean; *c && n + 3 < len; c++) {
		if (*c == '\\' || *c == '"')
			out[n++] = '\\';
		out[n++] = *c;
	}
	out[n] = '\0';
}

/* pid="..",comm="..",cgroup="..",unit="..",container=".." (empty ones left out). */
static void proc_labels(const struct rep_proc *p, char *out, size_t len)
{
	const char *names[] = { "cgroup", "unit", "container" };
	const char *vals[] = { p->cgroup, p->unit, p->container };
	char v[600];
	size_t n;

	label_value(p->comm, v, sizeof(v));
	n = (size_t)snprintf(out, len, "pid=\"%d\",comm=\"%s\"", p->pid, v);
	for (int k = 0; k < 3 && n < len; k++) {
		if (!vals[k] || !*vals[k])
			continue;
		label_value(vals[k], v, sizeof(v));
		n += (size_t)snprintf(out + n, len - n, ",%s=\"%s\"", names[k], v);
	}
}

static int cmp_rss(const void *a, const void *b)
{
	const struct rep_proc *x = *(const struct rep_proc *const *)a;
	const struct rep_proc *y = *(const struct rep_proc *const *)b;

	return x->rss_bytes < y->rss_bytes ? 1 : x->rss_bytes > y->rss_bytes ? -1 : x->pid - y->pid;
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The report's processes, the largest RSS first (the first top get their own labels). */
static const struct rep_proc **by_rss(const struct report *r)
{
	const struct rep_proc **procs = calloc(r->nprocs ? r->nprocs : 1, sizeof(*procs));

	for (size_t i = 0; procs && i < r->nprocs; i++)
		procs[i] = &r->procs[i];
	if (procs)
		qsort(procs, r->nprocs, sizeof(*procs), cmp_rss);
	return procs;
}

/* An allocator's cumulative counters, in the carry's order. */
static void raw_counters(const struct rep_alloc *a, double c[C_WIDTH])
{
	double cum = 0;

	memset(c, 0, C_WIDTH * sizeof(double));
	for (int k = 0; k < AT_RET_NR; k++) {
		c[C_RET + k] = (double)a->ret_bytes[k];
		c[C_RETN + k] = (double)a->ret_count[k];
	}
	if (!a->has_heap)
		return;
	for (int k = 0, b = 0; k < AT_LAT_SLOTS; k++) {
		cum += (double)a->purge_latency_hist[k];
		if (b < LAT_BUCKETS - 1 && k == b)
			c[C_LAT + b++] = cum;
	}
	c[C_LAT + LAT_BUCKETS - 1] = cum;
	c[C_LATSUM] = a->purge_latency_byte_seconds;
	cum = 0;
	for (int k = 0, b = 0; k < AT_HIST_SLOTS; k++) {
		cum += (double)a->hist[k];
		if (b < SIZE_BUCKETS - 1 && k == 3 + 2 * b)
			c[C_SIZE + b++] = cum;
	}
	c[C_SIZE + SIZE_BUCKETS - 1] = cum;
}

static void add_figures(struct series *t, const struct rep_alloc *a, bool own)
{
	t->mapped += (double)(a->mapped_bytes + a->pre_mapped_bytes);
	t->resident += (double)(a->resident_bytes + a->pre_resident_bytes);
	/* The allocator's own books first: they know the blocks from before attach; else the
	 * heap level's counters. */
	if (a->books.known || a->has_heap) {
		t->has_heap = true;
		t->live += a->books.known ? (double)a->books.live_bytes : (double)a->live_bytes;
	}
	t->retained_known =
		(own ? true : t->retained_known) && (a->books.known || a->retained_known);
	if (a->books.known)
		t->retained += (double)a->books.retained_bytes;
	else if (a->retained_known)
		t->retained += (double)a->retained_bytes;
}

/* Builds the series: one per (top process, allocator), one per allocator for the rest,
 * their counters from the carry. labels: the top processes' label strings. */
struct ended {
	struct series **s;
	size_t *n, *cap;
};

static void add_ended(void *arg, const char *labels, const char *name, const double *values)
{
	struct ended *e = arg;
	struct series *t;

	if (at_grow(e->s, *e->n, e->cap, sizeof(**e->s), 1))
		return;
	t = &(*e->s)[(*e->n)++];
	memset(t, 0, sizeof(*t));
	t->ended = true;
	t->labels = labels;
	t->name = name;
	label_value(name, t->alloc, sizeof(t->alloc));
	memcpy(t->c, values, sizeof(t->c));
}

static size_t build(struct prom_carry *carry, uint64_t reads, const struct report *r,
		    const struct rep_proc **procs, size_t top, char (*labels)[LABELS_MAX],
		    struct series **out)
{
	struct series *s = NULL, other[MAX_NAMES];
	size_t n = 0, nother = 0, cap = 0;
	double raw[C_WIDTH];

	prom_carry_begin(carry, reads);
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct rep_proc *p = procs[i];

		for (size_t k = 0; k < p->nallocs; k++) {
			const struct rep_alloc *a = &p->allocs[k];
			struct series *t = NULL;

			if (!a->is_allocator)
				continue;
			raw_counters(a, raw);
			if (i < top) {
				if (at_grow(&s, n, &cap, sizeof(*s), 1))
					break;
				t = &s[n++];
				memset(t, 0, sizeof(*t));
				t->labels = labels[i];
				t->figures = true;
				t->name = a->name;
				label_value(a->name, t->alloc, sizeof(t->alloc));
				prom_carry_add(carry, p->pid, p->execs, a->name, labels[i], raw,
					       true, t->c);
			} else {
				for (size_t j = 0; j < nother && !t; j++)
					if (!strcmp(other[j].name, a->name))
						t = &other[j];
				if (!t && nother < MAX_NAMES) {
					t = &other[nother++];
					memset(t, 0, sizeof(*t));
					t->name = a->name;
					t->retained_known = true;
					t->figures = true;
				}
				/* Beyond MAX_NAMES allocators, the rest's counters are lost. */
				if (!t)
					continue;
				prom_carry_add(carry, p->pid, p->execs, a->name, NULL, raw, false,
					       NULL);
			}
			add_figures(t, a, i < top);
		}
	}
	prom_carry_end(carry);
	/* The own series that ended and wait for a scrape, their counters only. */
	prom_carry_each_ended(carry, add_ended, &(struct ended){ &s, &n, &cap });
	/* pid="other": every allocator whose carry ever got counts, with the gauges of the
	 * processes among the others now (none: no gauge). */
	for (size_t j = 0; j < prom_carry_others(carry); j++) {
		const double *c;
		const char *name = prom_carry_other(carry, j, &c);
		struct series *t;
		size_t g = 0;

		while (g < nother && strcmp(other[g].name, name))
			g++;
		if (at_grow(&s, n, &cap, sizeof(*s), 1))
			break;
		t = &s[n++];
		if (g < nother)
			*t = other[g];
		else
			memset(t, 0, sizeof(*t));
		t->other = true;
		t->labels = "pid=\"other\",comm=\"other\"";
		t->name = name;
		label_value(name, t->alloc, sizeof(t->alloc));
		memcpy(t->c, c, sizeof(t->c));
	}
	*out = s;
	return n;
}

static void gauges(FILE *f, const struct series *s, size_t n)
{
	family(f, "arenatrace_mapped_bytes", "gauge",
	       "address space the allocator holds from the OS (pre-existing included)");
	for (size_t i = 0; i < n; i++)
		if (s[i].figures)
			fprintf(f, "arenatrace_mapped_bytes{%s,allocator=\"%s\"} %.0f\n",
				s[i].labels, s[i].alloc, s[i].mapped);
	family(f, "arenatrace_resident_bytes", "gauge", "of the mapped bytes, those in RAM");
	for (size_t i = 0; i < n; i++)
		if (s[i].figures)
			fprintf(f, "arenatrace_resident_bytes{%s,allocator=\"%s\"} %.0f\n",
				s[i].labels, s[i].alloc, s[i].resident);
	family(f, "arenatrace_live_bytes", "gauge",
	       "bytes the application holds (the allocator's books, else the heap level)");
	for (size_t i = 0; i < n; i++)
		if (s[i].figures && s[i].has_heap)
			fprintf(f, "arenatrace_live_bytes{%s,allocator=\"%s\"} %.0f\n", s[i].labels,
				s[i].alloc, s[i].live);
	family(f, "arenatrace_retained_bytes", "gauge",
	       "resident bytes the allocator keeps that the application does not use");
	for (size_t i = 0; i < n; i++)
		if (s[i].figures && s[i].has_heap && s[i].retained_known)
			fprintf(f, "arenatrace_retained_bytes{%s,allocator=\"%s\"} %.0f\n",
				s[i].labels, s[i].alloc, s[i].retained);
}

static void counters(FILE *f, const struct series *s, size_t n)
{
	family(f, "arenatrace_returned_bytes_total", "counter",
	       "bytes given back to the OS, by kind (madv_free is lazy)");
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < AT_RET_NR; k++)
			fprintf(f,
				"arenatrace_returned_bytes_total{%s,allocator=\"%s\",kind=\"%s\"} "
				"%.0f\n",
				s[i].labels, s[i].alloc, model_ret_name(k), s[i].c[C_RET + k]);
	family(f, "arenatrace_returns_total", "counter",
	       "times memory was given back to the OS, by kind");
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < AT_RET_NR; k++)
			fprintf(f,
				"arenatrace_returns_total{%s,allocator=\"%s\",kind=\"%s\"} %.0f\n",
				s[i].labels, s[i].alloc, model_ret_name(k), s[i].c[C_RETN + k]);
}

/* The histograms of the heap level's series: a process's with the heap level, pid="other"
 * once it has counts. */
static bool has_hist(const struct series *t, int first, int buckets)
{
	return t->other || t->ended ? t->c[first + buckets - 1] > 0 : t->has_heap;
}

static void histograms(FILE *f, const struct series *s, size_t n, uint64_t sample_ms)
{
	family(f, "arenatrace_purge_latency_seconds", "histogram",
	       "bytes returned to the OS by the time since the application freed them "
	       "(heap level; resolution one sample interval, -C sample_ms)");
	for (size_t i = 0; i < n; i++) {
		if (!has_hist(&s[i], C_LAT, LAT_BUCKETS))
			continue;
		for (int b = 0; b < LAT_BUCKETS; b++) {
			char le[32];

			uint64_t low, high;

			model_lat_bounds((uint32_t)b, sample_ms, &low, &high);
			if (b < LAT_BUCKETS - 1)
				snprintf(le, sizeof(le), "%.10g", (double)high / 1e3);
			else
				snprintf(le, sizeof(le), "+Inf");
			fprintf(f,
				"arenatrace_purge_latency_seconds_bucket{%s,allocator=\"%s\","
				"le=\"%s\"} %.0f\n",
				s[i].labels, s[i].alloc, le, s[i].c[C_LAT + b]);
		}
		fprintf(f, "arenatrace_purge_latency_seconds_sum{%s,allocator=\"%s\"} %.6f\n",
			s[i].labels, s[i].alloc, s[i].c[C_LATSUM]);
		fprintf(f, "arenatrace_purge_latency_seconds_count{%s,allocator=\"%s\"} %.0f\n",
			s[i].labels, s[i].alloc, s[i].c[C_LAT + LAT_BUCKETS - 1]);
	}
	family(f, "arenatrace_request_size_bytes", "histogram",
	       "allocation requests by size (heap level; no _sum: the requested bytes are not "
	       "summed)");
	for (size_t i = 0; i < n; i++) {
		if (!has_hist(&s[i], C_SIZE, SIZE_BUCKETS))
			continue;
		for (int b = 0; b < SIZE_BUCKETS; b++) {
			char le[32];

			if (b < SIZE_BUCKETS - 1)
				snprintf(le, sizeof(le), "%llu", (2ull << (3 + 2 * b)) - 1);
			else
				snprintf(le, sizeof(le), "+Inf");
			fprintf(f,
				"arenatrace_request_size_bytes_bucket{%s,allocator=\"%s\","
				"le=\"%s\"} %.0f\n",
				s[i].labels, s[i].alloc, le, s[i].c[C_SIZE + b]);
		}
		fprintf(f, "arenatrace_request_size_bytes_count{%s,allocator=\"%s\"} %.0f\n",
			s[i].labels, s[i].alloc, s[i].c[C_SIZE + SIZE_BUCKETS - 1]);
	}
}

static void process_metrics(FILE *f, const struct report *r, const struct rep_proc **procs,
			    size_t top, char (*labels)[LABELS_MAX])
{
	const char *gauge_names[] = { "arenatrace_process_rss_bytes",
				      "arenatrace_process_lazyfree_bytes" };
	uint64_t other[2] = { 0, 0 };

	for (int g = 0; g < 2; g++) {
		family(f, gauge_names[g], "gauge",
		       g ? "MADV_FREE'd memory still counted in RSS (smaps_rollup LazyFree)"
			 : "resident set size of the traced process");
		for (size_t i = 0; i < r->nprocs; i++) {
			uint64_t v = g ? procs[i]->lazyfree_bytes : procs[i]->rss_bytes;

			if (i >= top) {
				other[g] += v;
				continue;
			}
			fprintf(f, "%s{%s} %llu\n", gauge_names[g], labels[i],
				(unsigned long long)v);
		}
		if (r->nprocs > top)
			fprintf(f, "%s{pid=\"other\",comm=\"other\"} %llu\n", gauge_names[g],
				(unsigned long long)other[g]);
	}
}

static void findings(FILE *f, const struct report *r, const struct rep_proc **procs, size_t top,
		     char (*labels)[LABELS_MAX])
{
	const char *kinds[16];
	uint64_t counts[16];
	size_t nk = 0;

	family(f, "arenatrace_findings", "gauge",
	       "processes' findings now, by kind, all processes (docs/design.md)");
	for (size_t i = 0; i < r->nprocs; i++) {
		for (size_t k = 0; k < r->procs[i].nfindings; k++) {
			const char *kind = r->procs[i].findings[k].kind;
			size_t j = 0;

			while (j < nk && strcmp(kinds[j], kind))
				j++;
			if (j == nk && nk < 16) {
				kinds[nk] = kind;
				counts[nk++] = 0;
			}
			if (j < nk)
				counts[j]++;
		}
	}
	for (size_t j = 0; j < nk; j++)
		fprintf(f, "arenatrace_findings{kind=\"%s\"} %llu\n", kinds[j],
			(unsigned long long)counts[j]);
	family(f, "arenatrace_finding_bytes", "gauge",
	       "the memory each finding of an exported process names, by allocator and kind");
	for (size_t i = 0; i < r->nprocs && i < top; i++) {
		for (size_t k = 0; k < procs[i]->nfindings; k++) {
			const struct rep_finding *x = &procs[i]->findings[k];
			char alloc[160];

			label_value(x->allocator, alloc, sizeof(alloc));
			fprintf(f,
				"arenatrace_finding_bytes{%s,allocator=\"%s\",kind=\"%s\"} %llu\n",
				labels[i], alloc, x->kind, (unsigned long long)x->bytes);
		}
	}
}

static void health(FILE *f, const struct report *r, const struct out_meta *m)
{
	const struct rep_health *h = &r->health;
	char version[64], kernel[160];

	label_value(m->version ? m->version : "", version, sizeof(version));
	label_value(m->kernel ? m->kernel : "", kernel, sizeof(kernel));
	family(f, "arenatrace_build_info", "gauge", "arenatrace's version, and the kernel's");
	fprintf(f, "arenatrace_build_info{version=\"%s\",abi=\"%d\",kernel=\"%s\"} 1\n", version,
		AT_ABI_VERSION, kernel);
	family(f, "arenatrace_processes", "gauge", "processes traced now");
	fprintf(f, "arenatrace_processes %zu\n", r->nprocs);
	family(f, "arenatrace_events_total", "counter", "ring-buffer records received");
	fprintf(f, "arenatrace_events_total %llu\n", (unsigned long long)r->records);
	family(f, "arenatrace_drops_total", "counter", "data lost, by reason (docs/json.md)");
	for (size_t k = 0; k < r->ndrops; k++)
		fprintf(f, "arenatrace_drops_total{reason=\"%s\"} %llu\n", r->drops[k].name,
			(unsigned long long)r->drops[k].value);
	if (h->bpf_stats) {
		family(f, "arenatrace_bpf_run_seconds_total", "counter",
		       "time arenatrace's BPF programs ran, all CPUs");
		fprintf(f, "arenatrace_bpf_run_seconds_total %.9f\n", (double)h->bpf_run_ns / 1e9);
		family(f, "arenatrace_bpf_runs_total", "counter",
		       "runs of arenatrace's BPF programs");
		fprintf(f, "arenatrace_bpf_runs_total %llu\n",
			(unsigned long long)h->bpf_run_count);
	}
	/* arenatrace's own process, under the names every Prometheus client library uses. */
	family(f, "process_cpu_seconds_total", "counter",
	       "total user and system CPU time spent in seconds");
	fprintf(f, "process_cpu_seconds_total %.3f\n", (double)h->cpu_ns / 1e9);
	family(f, "process_resident_memory_bytes", "gauge", "resident memory size in bytes");
	fprintf(f, "process_resident_memory_bytes %llu\n", (unsigned long long)h->rss_bytes);
	family(f, "process_virtual_memory_bytes", "gauge", "virtual memory size in bytes");
	fprintf(f, "process_virtual_memory_bytes %llu\n", (unsigned long long)h->vm_bytes);
	if (h->start_time_s > 0) {
		family(f, "process_start_time_seconds", "gauge",
		       "start time of the process since unix epoch in seconds");
		fprintf(f, "process_start_time_seconds %.2f\n", h->start_time_s);
	}
	if (h->max_fds) {
		family(f, "process_open_fds", "gauge", "number of open file descriptors");
		fprintf(f, "process_open_fds %llu\n", (unsigned long long)h->open_fds);
		family(f, "process_max_fds", "gauge", "maximum number of open file descriptors");
		fprintf(f, "process_max_fds %llu\n", (unsigned long long)h->max_fds);
	}
}

static int prom_report(struct out *o, const struct report *r, bool final)
{
	struct prom_state *st = o->priv;
	const struct rep_proc **procs = by_rss(r);
	size_t top = o->meta->prom_top < r->nprocs ? o->meta->prom_top : r->nprocs;
	char(*labels)[LABELS_MAX] = calloc(top ? top : 1, LABELS_MAX);
	struct series *s = NULL;
	FILE *f = o->f;
	size_t n;

	(void) final;
	if (!st) {
		st = o->priv = calloc(1, sizeof(*st));
		if (st)
			st->carry = prom_carry__new(C_WIDTH);
	}
	if (!procs || !labels || !st || !st->carry) {
		free(procs);
		free(labels);
		return -ENOMEM;
	}
	for (size_t i = 0; i < top; i++)
		proc_labels(procs[i], labels[i], LABELS_MAX);
	n = build(st->carry, o->reads, r, procs, top, labels, &s);
	gauges(f, s, n);
	counters(f, s, n);
	histograms(f, s, n, r->sample_ms);
	process_metrics(f, r, procs, top, labels);
	findings(f, r, procs, top, labels);
	health(f, r, o->meta);
	free(s);
	free(labels);
	free(procs);
	return 0;
}

static void prom_close(struct out *o)
{
	struct prom_state *st = o->priv;

	if (st)
		prom_carry__free(st->carry);
	free(st);
	o->priv = NULL;
}

const struct out_ops out_prom_ops = {
	.report = prom_report,
	.close = prom_close,
};
