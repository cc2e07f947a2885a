// SPDX-License-Identifier: GPL-2.0-only
/* The model's report: the per-process figures flattened for the backends, and the
 * interval-mode counter reset. */
#include <stdlib.h>
#include <string.h>

#include "imap.h"
#include "model.h"
#include "model_priv.h"

/* What an interval report shows of a's counters: those since the last reset. */
static void window_of(const struct alloc *a, struct rep_alloc *r)
{
	for (int k = 0; k < AT_RET_NR; k++) {
		r->ret_bytes[k] -= a->base.ret_bytes[k];
		r->ret_count[k] -= a->base.ret_count[k];
		if (!r->ret_count[k])
			r->ret_last_ns[k] = 0;
	}
	for (int k = 0; k < AT_SYS_NR; k++)
		r->events[k] -= a->base.events[k];
	r->mapped_total_bytes -= a->base.mapped_total_bytes;
	r->reserve_released_bytes -= a->base.reserve_released_bytes;
	r->reserve_released_count -= a->base.reserve_released_count;
	if (!r->reserve_released_count)
		r->reserve_released_last_ns = 0;
}

static void flatten_allocs(struct model *m, struct proc *p, bool whole)
{
	struct rep_alloc *out = realloc(p->rep_allocs, p->nallocs * sizeof(*out));
	size_t n = 0, k;

	if (!out)
		return;
	p->rep_allocs = out;
	for (k = 0; k < p->nallocs; k++) {
		struct alloc *a = &p->allocs[k];
		size_t max = m->lim.return_log_max;

		if (k == AT_OWNER_STACK || k == AT_OWNER_LDSO)
			continue;
		a->r.mapped_bytes = a->r.reserved_bytes = a->r.pre_mapped_bytes = 0;
		memset(a->r.pre_evidence_bytes, 0, sizeof(a->r.pre_evidence_bytes));
		for (size_t s = 0; s < imap_count(p->im); s++) {
			const struct imap_seg *g = imap_at(p->im, s);

			if (g->owner != k)
				continue;
			if (g->flags & IMAP_F_PRE) {
				a->r.pre_mapped_bytes += g->end - g->start;
				a->r.pre_evidence_bytes[IMAP_EV_OF(g->flags)] += g->end - g->start;
			} else {
				a->r.mapped_bytes += g->end - g->start;
				if (!g->prot)
					a->r.reserved_bytes += g->end - g->start;
			}
		}
		/* Residency is of the last sample: memory unmapped or claimed by another owner
		 * since leaves with its pages, so resident never exceeds what is mapped now. */
		if (a->r.resident_bytes > a->r.mapped_bytes)
			a->r.resident_bytes = a->r.mapped_bytes;
		if (a->r.pre_resident_bytes > a->r.pre_mapped_bytes)
			a->r.pre_resident_bytes = a->r.pre_mapped_bytes;
		if (k == AT_OWNER_UNKNOWN && !a->r.pre_mapped_bytes && !a->r.mapped_bytes)
			continue;
		model_heap_figures(p, a, whole ? NULL : &a->heap_base);
		free(a->log_flat);
		a->log_flat = a->log_n ? calloc(a->log_n, sizeof(*a->log_flat)) : NULL;
		a->r.nreturns = 0;
		for (size_t i = 0; a->log_flat && i < a->log_n; i++) {
			const struct rep_return *e = &a->log[(a->log_head + i) % max];

			/* An interval report lists the returns of its interval. */
			if (whole || e->t_ns + m->start_ns >= m->window_ns)
				a->log_flat[a->r.nreturns++] = *e;
		}
		free(a->tl_flat);
		a->tl_flat = a->tl_n ? calloc(a->tl_n, sizeof(*a->tl_flat)) : NULL;
		for (size_t i = 0; a->tl_flat && i < a->tl_n; i++)
			a->tl_flat[i] = a->tl[(a->tl_head + i) % m->lim.timeline_max];
		a->r.timeline = a->tl_flat;
		a->r.ntimeline = a->tl_flat ? a->tl_n : 0;
		a->r.name = a->name;
		a->r.internals = a->internals;
		a->r.returns = a->log_flat;
		out[n] = a->r;
		if (!whole)
			window_of(a, &out[n]);
		n++;
	}
	p->r.allocs = out;
	p->r.nallocs = n;
}

static void drop_rows(struct model *m)
{
	const struct model_drops *d = &m->drops;
	const struct rep_drop own[AT_MODEL_DROPS] = {
		{ "model_procs_full", d->procs_full },
		{ "segments_full", d->segs_full },
		{ "unattributed", d->unattributed },
		{ "arenas_full", d->arenas_full },
		{ "warnings_not_shown", m->rep.health.warnings_not_shown },
	};

	for (int k = 0; k < AT_DROP_NR; k++)
		m->drop_rows[k] = (struct rep_drop){ model_drop_name(k), m->bpf_drops[k] };
	memcpy(&m->drop_rows[AT_DROP_NR], own, sizeof(own));
	m->rep.drops = m->drop_rows;
	m->rep.ndrops = AT_REP_DROPS;
}

static const struct report *report(struct model *m, uint64_t now_ns, bool whole)
{
	struct rep_proc *procs =
		realloc(m->rep_procs, (m->nprocs ? m->nprocs : 1) * sizeof(*procs));

	if (!procs)
		return NULL;
	m->rep_procs = procs;
	size_t n = 0;

	for (size_t i = 0; i < m->nprocs; i++) {
		struct proc *p = m->procs[i];
		size_t max = m->lim.timeline_max;

		if (m->lim.min_rss && p->r.rss_bytes < m->lim.min_rss)
			continue; /* -a --min-rss */
		flatten_allocs(m, p, whole);
		model_arena_report(p);
		model_findings(m, p, now_ns);
		free(p->tl_flat);
		p->tl_flat = p->tl_n ? calloc(p->tl_n, sizeof(*p->tl_flat)) : NULL;
		for (size_t k = 0; p->tl_flat && k < p->tl_n; k++)
			p->tl_flat[k] = p->tl[(p->tl_head + k) % max];
		p->r.timeline = p->tl_flat;
		p->r.ntimeline = p->tl_flat ? p->tl_n : 0;
		p->r.comm = p->comm;
		p->r.cgroup = p->cgroup;
		p->r.unit = p->unit;
		p->r.container = p->container;
		p->r.stacks = p->stacks;
		p->r.nstacks = p->nstacks;
		p->r.nstacks_all = p->nstacks_all;
		procs[n++] = p->r;
		/* The next interval report can say it has shown this exit already. */
		if (!whole && p->r.exited)
			p->r.exit_reported = true;
	}
	m->rep.start_ns = m->start_ns;
	m->rep.window_ns = whole ? m->start_ns : m->window_ns;
	m->rep.sample_ms = m->lim.sample_ms;
	m->rep.stack_sample_bytes = m->lim.stack_sample_bytes;
	m->rep.interval = !whole;
	m->rep.now_ns = now_ns;
	m->rep.procs = procs;
	m->rep.nprocs = n;
	drop_rows(m);
	return &m->rep;
}

const struct report *model_report(struct model *m, uint64_t now_ns)
{
	return report(m, now_ns, false);
}

const struct report *model_report_total(struct model *m, uint64_t now_ns)
{
	return report(m, now_ns, true);
}

void model_reset_counters(struct model *m, uint64_t now_ns)
{
	m->window_ns = now_ns;
	for (size_t i = 0; i < m->nprocs; i++) {
		struct proc *p = m->procs[i];

		for (size_t k = 0; k < p->nallocs; k++) {
			struct alloc *a = &p->allocs[k];

			memcpy(a->base.ret_bytes, a->r.ret_bytes, sizeof(a->base.ret_bytes));
			memcpy(a->base.ret_count, a->r.ret_count, sizeof(a->base.ret_count));
			memcpy(a->base.events, a->r.events, sizeof(a->base.events));
			a->base.mapped_total_bytes = a->r.mapped_total_bytes;
			a->base.reserve_released_bytes = a->r.reserve_released_bytes;
			a->base.reserve_released_count = a->r.reserve_released_count;
			a->heap_base = a->heap;
		}
	}
}
