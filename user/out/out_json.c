// SPDX-License-Identifier: GPL-2.0-only
/* JSON backend: one object per report (the schema is docs/json.md). */
#include "out.h"

#include <string.h>
#include <time.h>

#include "json.h"

#define AT_SCHEMA_VERSION 1

static void add(struct json_object *o, const char *k, struct json_object *v)
{
	json_object_object_add(o, k, v);
}

static struct json_object *hist_json_n(const uint64_t *hist, int slots, const char *count)
{
	struct json_object *arr = json_object_new_array();
	int last = -1;

	for (int k = 0; k < slots; k++)
		if (hist[k])
			last = k;
	for (int k = 0; k <= last; k++) {
		struct json_object *b = json_object_new_object();

		add(b, "low", json_u64(k ? 1ull << k : 0));
		add(b, "high", json_u64(k ? (2ull << k) - 1 : 1));
		add(b, count, json_u64(hist[k]));
		json_object_array_add(arr, b);
	}
	return arr;
}

static struct json_object *hist_json(const uint64_t *hist)
{
	return hist_json_n(hist, AT_HIST_SLOTS, "count");
}

/* Purge latency in milliseconds, in slots of the sample interval (its resolution): low
 * inclusive, high exclusive, null for the last, open slot. */
static struct json_object *lat_json(const uint64_t *hist, uint64_t sample_ms)
{
	struct json_object *arr = json_object_new_array();
	int last = -1;

	for (int k = 0; k < AT_LAT_SLOTS; k++)
		if (hist[k])
			last = k;
	for (int k = 0; k <= last; k++) {
		struct json_object *b = json_object_new_object();
		uint64_t low, high;

		model_lat_bounds((uint32_t)k, sample_ms, &low, &high);
		add(b, "low", json_u64(low));
		add(b, "high", high == UINT64_MAX ? NULL : json_u64(high));
		add(b, "bytes", json_u64(hist[k]));
		json_object_array_add(arr, b);
	}
	return arr;
}

/* Arena level: the allocator's internal functions that were probed. */
static struct json_object *internals_json(const struct rep_alloc *a)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < a->ninternals; i++) {
		const struct rep_internal *in = &a->internals[i];
		struct json_object *e = json_object_new_object();

		add(e, "function", json_str(in->func));
		add(e, "op", json_str(in->op));
		add(e, "calls", json_u64(in->calls));
		add(e, "bytes", json_u64(in->bytes));
		add(e, "zero_returns", json_u64(in->zero_ret));
		add(e, "time_ns", json_u64(in->total_ns));
		json_object_array_add(arr, e);
	}
	return arr;
}

static struct json_object *arena_json(const struct rep_arena *a)
{
	struct json_object *o = json_object_new_object();

	add(o, "type", json_str(a->type));
	add(o, "addr", json_u64(a->addr));
	add(o, "ended", json_object_new_boolean(a->ended));
	add(o, "since_ms", json_u64(a->since_ns / 1000000));
	add(o, "ended_ms", a->ended ? json_u64(a->ended_ns / 1000000) : NULL);
	add(o, "chunks", json_u64(a->chunks));
	add(o, "chunks_acquired", json_u64(a->chunks_acquired));
	add(o, "chunks_freed", json_u64(a->chunks_freed));
	add(o, "bytes", json_u64(a->bytes));
	add(o, "high_water_bytes", json_u64(a->high_water_bytes));
	add(o, "resets", json_u64(a->resets));
	add(o, "kept_bytes", json_u64(a->kept_bytes));
	add(o, "kept_max_bytes", json_u64(a->kept_max_bytes));
	add(o, "release", json_str(a->release));
	add(o, "lifetime_us_hist", hist_json_n(a->lifetime_hist, AT_LIFE_SLOTS, "count"));
	return o;
}

/* The heap level's keys; null where it does not cover this allocator. */
static void heap_json(struct json_object *o, const struct rep_alloc *a, const struct report *r)
{
	static const char *const keys[] = { "live_bytes",
					    "live_objects",
					    "alloc_count",
					    "free_count",
					    "alloc_bytes",
					    "free_bytes",
					    "unmatched_free",
					    "retained_bytes",
					    "alloc_rate_per_s",
					    "free_rate_per_s",
					    "live_basis",
					    "size_hist",
					    "purge_latency_ms_hist",
					    "purge_latency_resolution_ms",
					    "purge_unmatched_bytes" };

	if (!a->has_heap) {
		for (size_t i = 0; i < AT_ARRAY_SIZE(keys); i++)
			add(o, keys[i], NULL);
		return;
	}
	add(o, "live_bytes", json_u64(a->live_bytes));
	add(o, "live_objects", json_u64(a->live_objects));
	add(o, "alloc_count", json_u64(a->alloc_count));
	add(o, "free_count", json_u64(a->free_count));
	add(o, "alloc_bytes", json_u64(a->alloc_bytes));
	add(o, "free_bytes", json_u64(a->free_bytes));
	add(o, "unmatched_free", json_u64(a->unmatched_free));
	add(o, "retained_bytes", a->retained_known ? json_u64(a->retained_bytes) : NULL);
	add(o, "alloc_rate_per_s", json_object_new_double(out_rate(r, a->alloc_count)));
	add(o, "free_rate_per_s", json_object_new_double(out_rate(r, a->free_count)));
	add(o, "live_basis", json_str(a->live_basis));
	add(o, "size_hist", hist_json(a->hist));
	add(o, "purge_latency_ms_hist", lat_json(a->purge_latency_hist, r->sample_ms));
	add(o, "purge_latency_resolution_ms", json_u64(r->sample_ms));
	add(o, "purge_unmatched_bytes", json_u64(a->purge_unmatched_bytes));
}

/* The bytes of this allocator's memory by what decided its owner: traced since attach, and
 * the pre-existing part by its evidence. */
static struct json_object *evidence_json(const struct rep_alloc *a)
{
	struct json_object *o = json_object_new_object();

	for (int e = 0; e < AT_EV_NR; e++)
		add(o, model_evidence_name(e),
		    json_u64(e == AT_EV_TRACED ? a->mapped_bytes + a->pre_evidence_bytes[e]
					       : a->pre_evidence_bytes[e]));
	return o;
}

static struct json_object *books_json(const struct rep_books *b)
{
	struct json_object *o, *fig;

	if (!b->known)
		return NULL;
	o = json_object_new_object();
	fig = json_object_new_object();
	add(o, "t_ms", json_u64(b->t_ns / 1000000));
	add(o, "live_bytes", json_u64(b->live_bytes));
	add(o, "free_bytes", json_u64(b->free_bytes));
	add(o, "retained_bytes", json_u64(b->retained_bytes));
	add(o, "mapped_bytes", json_u64(b->mapped_bytes));
	for (size_t i = 0; i < b->nfigures; i++)
		add(fig, b->figures[i].name, json_u64(b->figures[i].bytes));
	add(o, "figures", fig);
	add(o, "partial", json_object_new_boolean(b->partial));
	add(o, "reason", b->partial ? json_str(b->reason) : NULL);
	return o;
}

/* The allocator's samples: its memory, and live and retained where known (null else). */
static struct json_object *alloc_timeline_json(const struct rep_alloc *a)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < a->ntimeline; i++) {
		const struct rep_asample *s = &a->timeline[i];
		struct json_object *e = json_object_new_object();
		bool live = s->source != AT_SRC_NONE;
		const char *src = model_source_name(s->source);

		add(e, "t_ms", json_u64(s->t_ns / 1000000));
		add(e, "mapped_bytes", json_u64(s->mapped_bytes));
		add(e, "resident_bytes", json_u64(s->resident_bytes));
		add(e, "live_bytes", live ? json_u64(s->live_bytes) : NULL);
		add(e, "retained_bytes", s->retained_known ? json_u64(s->retained_bytes) : NULL);
		add(e, "source", src ? json_str(src) : NULL);
		json_object_array_add(arr, e);
	}
	return arr;
}

static struct json_object *alloc_json(const struct rep_alloc *a, const struct report *r)
{
	struct json_object *o = json_object_new_object(), *ret = json_object_new_object();
	struct json_object *cnt = json_object_new_object(), *last = json_object_new_object();
	struct json_object *ev = json_object_new_object(), *log = json_object_new_array();
	struct json_object *pre = json_object_new_object();
	char key[48];

	add(o, "name", json_str(a->name));
	add(o, "mapped_bytes", json_u64(a->mapped_bytes));
	add(o, "reserved_bytes", json_u64(a->reserved_bytes));
	add(o, "resident_bytes", json_u64(a->resident_bytes));
	add(o, "peak_resident_bytes", json_u64(a->peak_resident_bytes));
	add(o, "peak_resident_ms", json_u64(a->peak_resident_ns / 1000000));
	add(o, "mapped_total_bytes", json_u64(a->mapped_total_bytes));
	add(pre, "mapped_bytes", json_u64(a->pre_mapped_bytes));
	add(pre, "resident_bytes", json_u64(a->pre_resident_bytes));
	add(o, "preexisting", pre);
	add(o, "owner_evidence_bytes", evidence_json(a));
	add(o, "books", books_json(&a->books));
	for (int k = 0; k < AT_RET_NR; k++) {
		snprintf(key, sizeof(key), "%s_bytes", model_ret_name(k));
		add(ret, key, json_u64(a->ret_bytes[k]));
		add(cnt, model_ret_name(k), json_u64(a->ret_count[k]));
		if (a->ret_count[k])
			add(last, model_ret_name(k), json_u64(a->ret_last_ns[k] / 1000000));
	}
	add(o, "returned", ret);
	add(o, "returned_count", cnt);
	add(o, "last_return_ms", last);
	add(o, "reserve_released_bytes", json_u64(a->reserve_released_bytes));
	add(o, "reserve_released_count", json_u64(a->reserve_released_count));
	add(o, "reserve_released_last_ms",
	    a->reserve_released_count ? json_u64(a->reserve_released_last_ns / 1000000) : NULL);
	for (int s = 0; s < AT_SYS_NR; s++)
		add(ev, model_sys_name(s), json_u64(a->events[s]));
	add(o, "events", ev);
	for (size_t i = 0; i < a->nreturns; i++) {
		const struct rep_return *rr = &a->returns[i];
		struct json_object *e = json_object_new_object();

		add(e, "t_ms", json_u64(rr->t_ns / 1000000));
		add(e, "kind", json_str(model_ret_name(rr->kind)));
		add(e, "addr", json_u64(rr->addr));
		add(e, "bytes", json_u64(rr->bytes));
		json_object_array_add(log, e);
	}
	add(o, "return_log", log);
	add(o, "return_log_omitted", json_u64(a->returns_omitted));
	add(o, "timeline", alloc_timeline_json(a));
	add(o, "timeline_omitted", json_u64(a->timeline_omitted));
	add(o, "internals", internals_json(a));
	heap_json(o, a, r);
	return o;
}

static struct json_object *findings_json(const struct rep_proc *p)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < p->nfindings; i++) {
		const struct rep_finding *f = &p->findings[i];
		struct json_object *e = json_object_new_object();

		add(e, "kind", json_str(f->kind));
		add(e, "pid", json_object_new_int(p->pid));
		add(e, "allocator", json_str(f->allocator));
		add(e, "bytes", json_u64(f->bytes));
		add(e, "since_ms", json_u64(f->since_ns / 1000000));
		add(e, "evidence", json_str(f->evidence));
		add(e, "advice", json_str(f->advice));
		json_object_array_add(arr, e);
	}
	return arr;
}

static struct json_object *arenas_json(const struct rep_proc *p)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < p->narenas; i++)
		json_object_array_add(arr, arena_json(&p->arenas[i]));
	return arr;
}

static struct json_object *str_or_null(const char *s)
{
	return s ? json_str(s) : NULL;
}

static struct json_object *frame_json(const struct rep_frame *f)
{
	struct json_object *o = json_object_new_object();

	add(o, "address", json_u64(f->address));
	add(o, "module", str_or_null(f->module));
	add(o, "build_id", str_or_null(f->build_id));
	add(o, "offset", f->module ? json_u64(f->offset) : NULL);
	add(o, "function", str_or_null(f->function));
	add(o, "function_offset", f->function ? json_u64(f->function_offset) : NULL);
	add(o, "file", str_or_null(f->file));
	add(o, "line", f->line ? json_u64(f->line) : NULL);
	return o;
}

static struct json_object *stack_json(const struct rep_stack *s)
{
	struct json_object *o = json_object_new_object(), *fr = json_object_new_array();

	add(o, "allocator", str_or_null(s->allocator));
	add(o, "live_bytes", json_object_new_int64(s->bytes));
	add(o, "live_objects", json_object_new_int64(s->blocks));
	add(o, "alloc_bytes", json_u64(s->alloc_bytes));
	add(o, "alloc_count", json_u64(s->alloc_count));
	for (size_t k = 0; k < s->nframes; k++)
		json_object_array_add(fr, frame_json(&s->frames[k]));
	add(o, "frames", fr);
	return o;
}

static struct json_object *proc_json(const struct rep_proc *p, const struct report *r)
{
	struct json_object *o = json_object_new_object(), *allocs = json_object_new_array();
	struct json_object *tl = json_object_new_array();

	add(o, "pid", json_object_new_int(p->pid));
	add(o, "ppid", json_object_new_int(p->ppid));
	add(o, "comm", json_str(p->comm));
	add(o, "exited", json_object_new_boolean(p->exited));
	add(o, "attached_running", json_object_new_boolean(p->attached_running));
	add(o, "origin", json_str(model_origin_name(p->origin)));
	add(o, "heap_partial", json_object_new_boolean(p->heap_partial));
	add(o, "uprobes_after_ms",
	    p->has_uprobes_after ? json_object_new_double((double)p->uprobes_after_ns / 1e6)
				 : NULL);
	add(o, "rss_bytes", json_u64(p->rss_bytes));
	add(o, "lazyfree_bytes", json_u64(p->lazyfree_bytes));
	for (size_t i = 0; i < p->nallocs; i++) {
		const struct rep_alloc *a = &p->allocs[i];

		if (!a->is_allocator) {
			struct json_object *u = json_object_new_object();

			add(u, "mapped_bytes", json_u64(a->mapped_bytes + a->pre_mapped_bytes));
			add(u, "resident_bytes",
			    json_u64(a->resident_bytes + a->pre_resident_bytes));
			add(o, "unattributed", u);
			continue;
		}
		json_object_array_add(allocs, alloc_json(a, r));
	}
	add(o, "allocators", allocs);
	add(o, "findings", findings_json(p));
	add(o, "arenas", arenas_json(p));
	add(o, "arenas_omitted", json_u64(p->arenas_omitted));
	for (size_t i = 0; i < p->ntimeline; i++) {
		const struct rep_sample *s = &p->timeline[i];
		struct json_object *e = json_object_new_object();

		add(e, "t_ms", json_u64(s->t_ns / 1000000));
		add(e, "rss_bytes", json_u64(s->rss_bytes));
		add(e, "lazyfree_bytes", json_u64(s->lazyfree_bytes));
		add(e, "mapped_bytes", json_u64(s->mapped_bytes));
		add(e, "resident_bytes", json_u64(s->resident_bytes));
		json_object_array_add(tl, e);
	}
	add(o, "timeline", tl);
	add(o, "timeline_omitted", json_u64(p->timeline_omitted));
	if (p->has_stacks) {
		struct json_object *st = json_object_new_array();

		for (size_t i = 0; i < p->nstacks; i++)
			json_object_array_add(st, stack_json(&p->stacks[i]));
		add(o, "stacks", st);
	} else {
		add(o, "stacks", NULL);
	}
	return o;
}

static struct json_object *meta_json(const struct out_meta *m)
{
	struct json_object *o = json_object_new_object(), *pids = json_object_new_array();

	add(o, "duration_s", json_object_new_double(m->duration_s));
	add(o, "interval_s", json_object_new_double(m->interval_s));
	add(o, "command", m->command ? json_str(m->command) : NULL);
	for (size_t i = 0; i < m->npids; i++)
		json_object_array_add(pids, json_object_new_int(m->pids[i]));
	add(o, "pids", pids);
	add(o, "follow_forks", json_object_new_boolean(m->follow_forks));
	add(o, "children", json_object_new_boolean(m->children));
	add(o, "levels", json_str(m->levels));
	add(o, "unwind", m->unwind ? json_str(m->unwind) : NULL);
	add(o, "stack_sample_bytes",
	    m->stack_sample_bytes ? json_u64(m->stack_sample_bytes) : NULL);
	return o;
}

static void emit(struct out *o, struct json_object *root)
{
	int flags = o->pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
			      : JSON_C_TO_STRING_PLAIN;

	fprintf(o->f, "%s\n",
		json_object_to_json_string_ext(root, flags | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}

/* UTC, to the millisecond: 2026-11-30T20:14:51.123Z. */
static const char *rfc3339(uint64_t unix_ns, char *buf, size_t len)
{
	time_t s = (time_t)(unix_ns / 1000000000ull);
	struct tm tm;

	if (!gmtime_r(&s, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm))
		return "";
	snprintf(buf + strlen(buf), len - strlen(buf), ".%03uZ",
		 (unsigned)(unix_ns / 1000000 % 1000));
	return buf;
}

static struct json_object *report_json(struct out *o, const struct report *r, bool final)
{
	char when[40];
	struct json_object *root = json_object_new_object(), *procs = json_object_new_array();
	struct json_object *drops = json_object_new_object();

	add(root, "schema_version", json_object_new_int(AT_SCHEMA_VERSION));
	add(root, "tool", json_str("arenatrace"));
	add(root, "version", json_str(o->meta->version));
	add(root, "kernel", json_str(o->meta->kernel));
	add(root, "final", json_object_new_boolean(final));
	add(root, "elapsed_ms", json_u64((r->now_ns - r->start_ns) / 1000000));
	/* The wall clock at the start of the trace, to which every t_ms is relative. */
	add(root, "start_unix_ns",
	    o->meta->start_unix_ns ? json_u64(o->meta->start_unix_ns) : NULL);
	add(root, "start_time",
	    o->meta->start_unix_ns ? json_str(rfc3339(o->meta->start_unix_ns, when, sizeof(when)))
				   : NULL);
	/* Counts (returns, syscalls, heap calls) are since this time: 0 for the whole trace. */
	add(root, "window_start_ms",
	    json_u64(r->window_ns > r->start_ns ? (r->window_ns - r->start_ns) / 1000000 : 0));
	add(root, "options", meta_json(o->meta));
	for (size_t i = 0; i < r->nprocs; i++)
		json_object_array_add(procs, proc_json(&r->procs[i], r));
	add(root, "processes", procs);
	for (size_t k = 0; k < r->ndrops; k++)
		add(drops, r->drops[k].name, json_u64(r->drops[k].value));
	add(root, "drops", drops);
	add(root, "records", json_u64(r->records));
	return root;
}

static int json_report(struct out *o, const struct report *r, bool final)
{
	emit(o, report_json(o, r, final));
	return 0;
}

static struct json_object *error_json(const char *msg)
{
	struct json_object *root = json_object_new_object();

	add(root, "schema_version", json_object_new_int(AT_SCHEMA_VERSION));
	add(root, "error", json_str(msg));
	return root;
}

static void json_error(struct out *o, const char *msg)
{
	emit(o, error_json(msg));
}

/* NDJSON: one compact object a line, whatever --pretty says. */
static void emit_line(struct out *o, struct json_object *root)
{
	fprintf(o->f, "%s\n",
		json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}

static int ndjson_report(struct out *o, const struct report *r, bool final)
{
	struct json_object *root = report_json(o, r, final);

	add(root, "type", json_str("snapshot"));
	emit_line(o, root);
	return 0;
}

static struct json_object *u64_array(const __u64 *v, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_u64(v[i]));
	return a;
}

/* Every record as it arrives: the raw facts, before the model interprets them. */
static void ndjson_event(struct out *o, const void *rec, size_t len, uint64_t start_ns)
{
	const struct at_rec_hdr *h = rec;
	const struct at_sys_rec *s = rec;
	const struct at_proc_rec *p = rec;
	const struct at_arena_rec *a = rec;
	struct json_object *e;

	if (len < sizeof(*h))
		return;
	e = json_object_new_object();
	add(e, "type", json_str("event"));
	add(e, "t_ms", json_u64(h->ts_ns > start_ns ? (h->ts_ns - start_ns) / 1000000 : 0));
	add(e, "pid", json_u64(h->pid));
	if (h->type == AT_REC_SYSCALL && len >= sizeof(*s)) {
		char file[33];

		memcpy(file, s->caller_file, 32);
		file[32] = '\0';
		add(e, "event", json_str(model_sys_name(h->kind)));
		add(e, "tid", json_u64(h->tid));
		add(e, "args", u64_array(s->args, 6));
		add(e, "ret", json_object_new_int64(s->ret));
		add(e, "caller_file", json_str(file));
		add(e, "caller_off", json_u64(s->caller_off));
	} else if (h->type == AT_REC_PROC && len >= sizeof(*p)) {
		char comm[17];

		memcpy(comm, p->comm, 16);
		comm[16] = '\0';
		add(e, "event", json_str(model_proc_kind_name(h->kind)));
		add(e, "ppid", json_u64(p->ppid));
		add(e, "comm", json_str(comm));
	} else if (h->type == AT_REC_ARENA && len >= sizeof(*a)) {
		add(e, "event", json_str(model_arena_kind_name(h->kind)));
		add(e, "tid", json_u64(h->tid));
		add(e, "args", u64_array(a->args, 6));
		add(e, "ret", json_u64(a->ret));
		add(e, "duration_ns", json_u64(a->dur_ns));
	} else {
		json_object_put(e);
		return;
	}
	emit_line(o, e);
}

static void ndjson_error(struct out *o, const char *msg)
{
	emit_line(o, error_json(msg));
}

const struct out_ops out_ndjson_ops = {
	.report = ndjson_report,
	.error = ndjson_error,
	.event = ndjson_event,
};

const struct out_ops out_json_ops = {
	.report = json_report,
	.error = json_error,
};
