// SPDX-License-Identifier: GPL-2.0-only
/*
 * Prometheus backend: the report in the text exposition format (version 0.0.4), served by
 * --prometheus. Names follow Prometheus's conventions: the arenatrace_ prefix, base units
 * (bytes, seconds) in the name, _total on counters. Label cardinality is bounded: the
 * meta's prom_top processes with the most RSS get their own pid label; the others are
 * summed under pid="other".
 */
#include <stdlib.h>
#include <string.h>

#include "out.h"

#define MAX_NAMES 64

/* Figures of one series group: a process's allocator, or the sum of the others. */
struct series {
	char pid[16];
	char comm[64];
	const char *name; /* the allocator, as the report names it */
	char alloc[96];	  /* the same, escaped for a label value */
	double mapped, resident, live, retained, pre_resident;
	bool has_heap, retained_known;
	double returned[AT_RET_NR];
};

static void label_value(const char *s, char *out, size_t len)
{
	char clean[128];
	size_t n = 0;

	out_printable(s, clean, sizeof(clean));
	for (const char *c = clean; *c && n + 3 < len; c++) {
		if (*c == '\\' || *c == '"')
			out[n++] = '\\';
		out[n++] = *c;
	}
	out[n] = '\0';
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

/* Builds the series: one per (top process, allocator), one per allocator for the rest. */
static size_t build(const struct report *r, const struct rep_proc **procs, size_t top,
		    struct series **out)
{
	struct series *s = NULL, other[MAX_NAMES];
	size_t n = 0, nother = 0, cap = 0;

	for (size_t i = 0; i < r->nprocs; i++) {
		const struct rep_proc *p = procs[i];

		for (size_t k = 0; k < p->nallocs; k++) {
			const struct rep_alloc *a = &p->allocs[k];
			struct series *t = NULL;

			if (!a->is_allocator)
				continue;
			if (i < top) {
				if (at_grow(&s, n, &cap, sizeof(*s), 1))
					break;
				t = &s[n++];
				memset(t, 0, sizeof(*t));
				snprintf(t->pid, sizeof(t->pid), "%d", p->pid);
				label_value(p->comm, t->comm, sizeof(t->comm));
				t->name = a->name;
				label_value(a->name, t->alloc, sizeof(t->alloc));
			} else {
				for (size_t j = 0; j < nother && !t; j++)
					if (!strcmp(other[j].name, a->name))
						t = &other[j];
				if (!t && nother < MAX_NAMES) {
					t = &other[nother++];
					memset(t, 0, sizeof(*t));
					snprintf(t->pid, sizeof(t->pid), "other");
					snprintf(t->comm, sizeof(t->comm), "other");
					t->name = a->name;
					label_value(a->name, t->alloc, sizeof(t->alloc));
					t->retained_known = true;
				}
				if (!t)
					continue;
			}
			t->mapped += (double)(a->mapped_bytes + a->pre_mapped_bytes);
			t->resident += (double)(a->resident_bytes + a->pre_resident_bytes);
			/* The allocator's own books first: they know the blocks from before
			 * attach; else the heap level's counters. */
			if (a->books.known || a->has_heap) {
				t->has_heap = true;
				t->live += a->books.known ? (double)a->books.live_bytes
							  : (double)a->live_bytes;
			}
			t->retained_known = (i < top ? true : t->retained_known) &&
					    (a->books.known || a->retained_known);
			if (a->books.known)
				t->retained += (double)a->books.retained_bytes;
			else if (a->retained_known)
				t->retained += (double)a->retained_bytes;
			for (int k2 = 0; k2 < AT_RET_NR; k2++)
				t->returned[k2] += (double)a->ret_bytes[k2];
		}
	}
	for (size_t j = 0; j < nother; j++) {
		if (at_grow(&s, n, &cap, sizeof(*s), 1))
			break;
		s[n++] = other[j];
	}
	*out = s;
	return n;
}

#define LABELS "pid=\"%s\",comm=\"%s\",allocator=\"%s\""
#define LABEL_ARGS(t) (t)->pid, (t)->comm, (t)->alloc

static void process_metrics(FILE *f, const struct report *r, const struct rep_proc **procs,
			    size_t top)
{
	const char *gauges[] = { "arenatrace_process_rss_bytes",
				 "arenatrace_process_lazyfree_bytes" };
	uint64_t other[2] = { 0, 0 };

	for (int g = 0; g < 2; g++) {
		family(f, gauges[g], "gauge",
		       g ? "MADV_FREE'd memory still counted in RSS (smaps_rollup LazyFree)"
			 : "resident set size of the traced process");
		for (size_t i = 0; i < r->nprocs; i++) {
			uint64_t v = g ? procs[i]->lazyfree_bytes : procs[i]->rss_bytes;
			char comm[64];

			if (i >= top) {
				other[g] += v;
				continue;
			}
			label_value(procs[i]->comm, comm, sizeof(comm));
			fprintf(f, "%s{pid=\"%d\",comm=\"%s\"} %llu\n", gauges[g], procs[i]->pid,
				comm, (unsigned long long)v);
		}
		if (r->nprocs > top)
			fprintf(f, "%s{pid=\"other\",comm=\"other\"} %llu\n", gauges[g],
				(unsigned long long)other[g]);
	}
	family(f, "arenatrace_findings", "gauge", "findings now, by kind (docs/design.md)");
	{
		const char *kinds[16];
		uint64_t counts[16];
		size_t nk = 0;

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
	}
}

static void health(FILE *f, const struct report *r)
{
	family(f, "arenatrace_processes", "gauge", "processes traced now");
	fprintf(f, "arenatrace_processes %zu\n", r->nprocs);
	family(f, "arenatrace_events_total", "counter", "ring-buffer records received");
	fprintf(f, "arenatrace_events_total %llu\n", (unsigned long long)r->records);
	family(f, "arenatrace_drops_total", "counter", "data lost, by reason (docs/json.md)");
	for (size_t k = 0; k < r->ndrops; k++)
		fprintf(f, "arenatrace_drops_total{reason=\"%s\"} %llu\n", r->drops[k].name,
			(unsigned long long)r->drops[k].value);
	if (r->health.bpf_stats) {
		family(f, "arenatrace_bpf_run_seconds_total", "counter",
		       "time arenatrace's BPF programs ran, all CPUs");
		fprintf(f, "arenatrace_bpf_run_seconds_total %.9f\n",
			(double)r->health.bpf_run_ns / 1e9);
		family(f, "arenatrace_bpf_runs_total", "counter",
		       "runs of arenatrace's BPF programs");
		fprintf(f, "arenatrace_bpf_runs_total %llu\n",
			(unsigned long long)r->health.bpf_run_count);
	}
	family(f, "arenatrace_cpu_seconds_total", "counter", "arenatrace's own CPU time");
	fprintf(f, "arenatrace_cpu_seconds_total %.3f\n", (double)r->health.cpu_ns / 1e9);
	family(f, "arenatrace_resident_memory_bytes", "gauge", "arenatrace's own RSS");
	fprintf(f, "arenatrace_resident_memory_bytes %llu\n",
		(unsigned long long)r->health.rss_bytes);
}

static int prom_report(struct out *o, const struct report *r, bool final)
{
	const struct rep_proc **procs = by_rss(r);
	struct series *s = NULL;
	size_t n;
	FILE *f = o->f;

	(void) final;
	if (!procs)
		return -ENOMEM;
	n = build(r, procs, o->meta->prom_top, &s);
	family(f, "arenatrace_mapped_bytes", "gauge",
	       "address space the allocator holds from the OS (pre-existing included)");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "arenatrace_mapped_bytes{" LABELS "} %.0f\n", LABEL_ARGS(&s[i]),
			s[i].mapped);
	family(f, "arenatrace_resident_bytes", "gauge", "of the mapped bytes, those in RAM");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "arenatrace_resident_bytes{" LABELS "} %.0f\n", LABEL_ARGS(&s[i]),
			s[i].resident);
	family(f, "arenatrace_live_bytes", "gauge",
	       "bytes the application holds (the allocator's books, else the heap level)");
	for (size_t i = 0; i < n; i++)
		if (s[i].has_heap)
			fprintf(f, "arenatrace_live_bytes{" LABELS "} %.0f\n", LABEL_ARGS(&s[i]),
				s[i].live);
	family(f, "arenatrace_retained_bytes", "gauge",
	       "resident bytes the allocator keeps that the application does not use");
	for (size_t i = 0; i < n; i++)
		if (s[i].has_heap && s[i].retained_known)
			fprintf(f, "arenatrace_retained_bytes{" LABELS "} %.0f\n",
				LABEL_ARGS(&s[i]), s[i].retained);
	family(f, "arenatrace_returned_bytes_total", "counter",
	       "bytes given back to the OS, by kind (madv_free is lazy)");
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < AT_RET_NR; k++)
			fprintf(f, "arenatrace_returned_bytes_total{" LABELS ",kind=\"%s\"} %.0f\n",
				LABEL_ARGS(&s[i]), model_ret_name(k), s[i].returned[k]);
	process_metrics(f, r, procs, o->meta->prom_top);
	health(f, r);
	free(s);
	free(procs);
	return 0;
}

const struct out_ops out_prom_ops = {
	.report = prom_report,
};
