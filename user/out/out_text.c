// SPDX-License-Identifier: GPL-2.0-only
/* Text backend: one table per process, allocators as rows, then how each gave memory back. */
#include "out.h"

#include <stdlib.h>
#include <string.h>

/* Text reports list the largest items and count the rest (-C text_top): a traced build or
 * server may run hundreds of short processes, each with hundreds of small arenas. */
struct ranked {
	uint64_t bytes;
	size_t idx;
};

static int by_bytes_desc(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Marks in show[] the top items of bytes[] (n of them; those with want[i] false are not
 * candidates and stay as they are). All are shown when top is 0 or memory is short. */
static void pick_top(const uint64_t *bytes, const bool *want, size_t n, size_t top, bool *show)
{
	struct ranked *r = top ? calloc(n ? n : 1, sizeof(*r)) : NULL;
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (want[i]) {
			show[i] = !r;
			if (r)
				r[m++] = (struct ranked){ bytes[i], i };
		}
	if (!r)
		return;
	qsort(r, m, sizeof(*r), by_bytes_desc);
	for (size_t i = 0; i < m && i < top; i++)
		show[r[i].idx] = true;
	free(r);
}

/* "name count" pairs of the names not listed, the most frequent first, at most 5. */
static void name_counts(char *buf, size_t len, const char *const *names, const bool *skip, size_t n)
{
	const char *seen[5];
	size_t cnt[5] = { 0 }, nseen = 0, other = 0, l;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t k;

		if (skip[i])
			continue;
		for (k = 0; k < nseen && strcmp(seen[k], names[i]); k++)
			;
		if (k < nseen)
			cnt[k]++;
		else if (nseen < AT_ARRAY_SIZE(seen))
			seen[nseen] = names[i], cnt[nseen++] = 1;
		else
			other++;
	}
	for (size_t k = 0; k < nseen; k++) {
		char pr[64];

		l = strlen(buf);
		snprintf(buf + l, len - l, "%s%s %zu", k ? ", " : "",
			 out_printable(seen[k], pr, sizeof(pr)), cnt[k]);
	}
	l = strlen(buf);
	if (other)
		snprintf(buf + l, len - l, ", other %zu", other);
}

static void print_returns(FILE *f, const struct rep_alloc *a)
{
	char b[32];

	for (int k = 0; k < AT_RET_NR; k++) {
		if (!a->ret_count[k])
			continue;
		fprintf(f, "    returned %-14s %6llu x %10s   last at %.3fs\n", model_ret_name(k),
			(unsigned long long)a->ret_count[k],
			out_bytes(a->ret_bytes[k], b, sizeof(b)), (double)a->ret_last_ns[k] / 1e9);
	}
	/* Never accessible, so never in RAM: not a return. */
	if (a->reserve_released_count)
		fprintf(f, "    released %-14s %6llu x %10s   last at %.3fs (never in RAM)\n",
			"reserve", (unsigned long long)a->reserve_released_count,
			out_bytes(a->reserve_released_bytes, b, sizeof(b)),
			(double)a->reserve_released_last_ns / 1e9);
}

static void print_events(FILE *f, const struct rep_alloc *a)
{
	int col = 0;

	for (int s = 0; s < AT_SYS_NR; s++) {
		if (!a->events[s])
			continue;
		col += fprintf(f, "%s%s %llu", col ? ", " : "    syscalls: ", model_sys_name(s),
			       (unsigned long long)a->events[s]);
	}
	if (col)
		fputc('\n', f);
}

/* The last non-empty slot of a histogram (-1: all empty) and its largest count. */
static int hist_extent(const uint64_t *hist, int slots, uint64_t *max)
{
	int last = -1;

	*max = 0;
	for (int k = 0; k < slots; k++) {
		if (hist[k])
			last = k;
		if (hist[k] > *max)
			*max = hist[k];
	}
	return last;
}

/* bcc-style log2 rows: "low -> high : count |stars|", empty tail buckets trimmed. unit:
 * what the buckets measure; what: what they count. */
static void print_hist(FILE *f, const uint64_t *hist, int slots, const char *unit, const char *what)
{
	uint64_t max;
	int last = hist_extent(hist, slots, &max);

	if (last < 0)
		return;
	fprintf(f, "    %20s : %-9s %s\n", unit, what, "distribution");
	for (int k = 0; k <= last; k++) {
		int stars = max ? (int)(hist[k] * 30 / max) : 0;

		fprintf(f, "    %9llu -> %-9llu: %-9llu |%-30.*s|\n",
			(unsigned long long)(k ? 1ull << k : 0),
			(unsigned long long)(k ? (2ull << k) - 1 : 1), (unsigned long long)hist[k],
			stars, "******************************");
	}
}

/* Purge latency, in the slots of its resolution (the sample interval): "low -> high ms",
 * high exclusive. */
static void print_lat_hist(FILE *f, const uint64_t *hist, uint64_t sample_ms)
{
	uint64_t max, low, high;
	char unit[48];
	int last = hist_extent(hist, AT_LAT_SLOTS, &max);

	if (last < 0)
		return;
	snprintf(unit, sizeof(unit), "purge latency ms (1 sample = %llu ms)",
		 (unsigned long long)sample_ms);
	fprintf(f, "    %s : bytes distribution\n", unit);
	for (int k = 0; k <= last; k++) {
		int stars = (int)(hist[k] * 30 / max);

		model_lat_bounds((uint32_t)k, sample_ms, &low, &high);
		if (high == UINT64_MAX)
			fprintf(f, "    %9llu -> more     : %-9llu |%-30.*s|\n",
				(unsigned long long)low, (unsigned long long)hist[k], stars,
				"******************************");
		else
			fprintf(f, "    %9llu -> %-9llu: %-9llu |%-30.*s|\n",
				(unsigned long long)low, (unsigned long long)high,
				(unsigned long long)hist[k], stars,
				"******************************");
	}
}

static const char *signed_bytes(int64_t v, char *buf, size_t len)
{
	char b[32];

	snprintf(buf, len, "%s%s", v < 0 ? "-" : "",
		 out_bytes((uint64_t)(v < 0 ? -v : v), b, sizeof(b)));
	return buf;
}

static void print_heap(FILE *f, const struct rep_proc *p, const struct rep_alloc *a,
		       const struct report *r, bool hist)
{
	char b1[40], b2[40];

	if (!a->has_heap)
		return;
	fprintf(f, "    heap: live %s in %llu blocks (%s size)",
		out_bytes(a->live_bytes, b1, sizeof(b1)), (unsigned long long)a->live_objects,
		a->live_basis);
	if (a->retained_known)
		fprintf(f, ", retained %s\n", out_bytes(a->retained_bytes, b2, sizeof(b2)));
	else if (p->has_uprobes_after)
		fprintf(f, ", since its probes (%s): older blocks unknown\n",
			p->uprobes_after_exec ? "exec'd" : "forked");
	else if (p->heap_partial || a->unmatched_free)
		fprintf(f, ", since attach: older blocks unknown\n");
	else
		fprintf(f, " at exit\n");
	fprintf(f, "          %llu allocs (%.0f/s), %llu frees (%.0f/s)",
		(unsigned long long)a->alloc_count, out_rate(r, a->alloc_count),
		(unsigned long long)a->free_count, out_rate(r, a->free_count));
	if (a->unmatched_free)
		fprintf(f, ", %llu frees of older blocks", (unsigned long long)a->unmatched_free);
	fputc('\n', f);
	if (hist) {
		print_hist(f, a->hist, AT_HIST_SLOTS, "request bytes", "count");
		print_lat_hist(f, a->purge_latency_hist, r->sample_ms);
	}
}

/* The allocator's own books (read from the process, no probe) and what decided the owner
 * of its memory from before attach. */
static void print_books(FILE *f, const struct rep_alloc *a)
{
	char b1[32], b2[32], b3[32], b4[32];
	const struct rep_books *b = &a->books;
	bool any = false;

	if (b->known) {
		fprintf(f,
			"    books: live %s, free %s of which resident %s (retained), mapped %s\n",
			out_bytes(b->live_bytes, b1, sizeof(b1)),
			out_bytes(b->free_bytes, b2, sizeof(b2)),
			out_bytes(b->retained_bytes, b3, sizeof(b3)),
			out_bytes(b->mapped_bytes, b4, sizeof(b4)));
		for (size_t i = 0, col = 0; i < b->nfigures; i++) {
			char item[96];
			int n = b->figures[i].count
					? snprintf(item, sizeof(item), "%s %llu",
						   b->figures[i].name,
						   (unsigned long long)b->figures[i].bytes)
					: snprintf(item, sizeof(item), "%s %s", b->figures[i].name,
						   out_bytes(b->figures[i].bytes, b1, sizeof(b1)));

			/* Lines of at most 80 columns, under the first figure. */
			if (col && col + 2 + (size_t)n > 80) {
				fputs(",\n", f);
				col = 0;
			}
			col += (size_t)fprintf(f, "%s%s", col ? ", " : "           ", item);
		}
		if (b->nfigures)
			fputc('\n', f);
		if (b->partial)
			fprintf(f, "           partial: %s\n", b->reason);
	}
	for (int e = AT_EV_TRACED + 1; e < AT_EV_NR; e++) {
		if (!a->pre_evidence_bytes[e])
			continue;
		fprintf(f, "%s %s %s",
			any ? "," : "    pre-existing owned by evidence:", model_evidence_name(e),
			out_bytes(a->pre_evidence_bytes[e], b1, sizeof(b1)));
		any = true;
	}
	if (any)
		fputc('\n', f);
}

static void print_internals(FILE *f, const struct rep_alloc *a)
{
	char b[32];

	for (size_t i = 0; i < a->ninternals; i++) {
		const struct rep_internal *in = &a->internals[i];

		char fn[80];

		fprintf(f, "    internal %-18s %-12s %6llu calls",
			out_printable(in->func, fn, sizeof(fn)), in->op,
			(unsigned long long)in->calls);
		if (in->bytes)
			fprintf(f, ", %s", out_bytes(in->bytes, b, sizeof(b)));
		fputc('\n', f);
	}
}

static void print_arenas(FILE *f, const struct rep_proc *p, bool hist, size_t top)
{
	char b1[32], b2[32], b3[32], ty[64];
	uint64_t *bytes = NULL, held = 0, high = 0;
	bool *want = NULL, *show = NULL;
	const char **types = NULL;
	size_t rest = 0;

	if (!p->narenas)
		goto omitted;
	/* The top arenas by high-water; the others in one line. */
	bytes = calloc(p->narenas, sizeof(*bytes));
	want = calloc(p->narenas, sizeof(*want));
	show = calloc(p->narenas, sizeof(*show));
	types = calloc(p->narenas, sizeof(*types));
	for (size_t i = 0; bytes && want && show && types && i < p->narenas; i++) {
		bytes[i] = p->arenas[i].high_water_bytes;
		types[i] = p->arenas[i].type;
		want[i] = true;
	}
	if (bytes && want && show && types && top < p->narenas)
		pick_top(bytes, want, p->narenas, top, show);
	else if (show)
		memset(show, 1, p->narenas * sizeof(*show));
	fprintf(f, "  %-10s %-16s %9s %10s %10s %7s %10s  %s\n", "ARENA", "ADDRESS", "CHUNKS",
		"HELD", "HIGH-WATER", "RESETS", "KEPT", "RELEASE");
	for (size_t i = 0; i < p->narenas; i++) {
		const struct rep_arena *a = &p->arenas[i];

		if (show && !show[i]) {
			rest++;
			held += a->bytes;
			high += a->high_water_bytes;
			continue;
		}

		fprintf(f, "  %-10.10s 0x%-14llx %4llu/%-4llu %10s %10s %7llu %10s  %s%s\n",
			out_printable(a->type, ty, sizeof(ty)), (unsigned long long)a->addr,
			(unsigned long long)a->chunks, (unsigned long long)a->chunks_acquired,
			out_bytes(a->bytes, b1, sizeof(b1)),
			out_bytes(a->high_water_bytes, b2, sizeof(b2)),
			(unsigned long long)a->resets, out_bytes(a->kept_bytes, b3, sizeof(b3)),
			a->release, a->ended ? " (ended)" : "");
		if (hist)
			print_hist(f, a->lifetime_hist, AT_LIFE_SLOTS, "chunk lifetime us",
				   "count");
	}
	if (rest) {
		char list[200];

		name_counts(list, sizeof(list), types, show, p->narenas);
		fprintf(f, "  ... %zu more arenas (%s): %s held, %s high-water in all\n", rest,
			list, out_bytes(held, b1, sizeof(b1)), out_bytes(high, b2, sizeof(b2)));
	}
	free(bytes);
	free(want);
	free(show);
	free(types);
omitted:
	if (p->arenas_omitted)
		fprintf(f, "  (%llu older ended arenas not kept)\n",
			(unsigned long long)p->arenas_omitted);
}

static void print_findings(FILE *f, const struct rep_proc *p)
{
	char b[32];

	for (size_t i = 0; i < p->nfindings; i++) {
		const struct rep_finding *x = &p->findings[i];

		char who[96];

		fprintf(f, "  FINDING %s (%s, %s): %s\n    advice: %s\n", x->kind,
			out_printable(x->allocator, who, sizeof(who)),
			out_bytes(x->bytes, b, sizeof(b)), x->evidence, x->advice);
	}
}

static void print_proc(FILE *f, const struct rep_proc *p, const struct report *r, bool hist,
		       size_t top)
{
	char b1[32], b2[32], b3[32], b4[32], b5[32], comm[128], name[96], frame[256];

	fprintf(f, "\nPID %d (%s)%s  RSS %s  LazyFree %s\n", p->pid,
		out_printable(p->comm, comm, sizeof(comm)), p->exited ? " [exited]" : "",
		out_bytes(p->rss_bytes, b1, sizeof(b1)),
		out_bytes(p->lazyfree_bytes, b2, sizeof(b2)));
	if (p->has_uprobes_after)
		fprintf(f,
			"  uprobes in place %.1f ms after its %s (its calls before: not counted)\n",
			(double)p->uprobes_after_ns / 1e6, p->uprobes_after_exec ? "exec" : "fork");
	fprintf(f, "  %-12s %11s %11s %11s %11s %11s\n", "ALLOCATOR", "MAPPED", "RESERVED",
		"RESIDENT", "PRE-MAPPED", "PRE-RESID");
	for (size_t i = 0; i < p->nallocs; i++) {
		const struct rep_alloc *a = &p->allocs[i];

		fprintf(f, "  %-12.12s %11s %11s %11s %11s %11s\n",
			out_printable(a->name, name, sizeof(name)),
			out_bytes(a->mapped_bytes, b1, sizeof(b1)),
			out_bytes(a->reserved_bytes, b2, sizeof(b2)),
			out_bytes(a->resident_bytes, b3, sizeof(b3)),
			out_bytes(a->pre_mapped_bytes, b4, sizeof(b4)),
			out_bytes(a->pre_resident_bytes, b5, sizeof(b5)));
		print_books(f, a);
		print_heap(f, p, a, r, hist);
		print_internals(f, a);
		print_returns(f, a);
		print_events(f, a);
	}
	print_arenas(f, p, hist, top);
	print_findings(f, p);
	if (p->nstacks && r->stack_sample_bytes > 1)
		fprintf(f,
			"  top allocation stacks by live bytes (estimated from a sample per %llu "
			"bytes):\n",
			(unsigned long long)r->stack_sample_bytes);
	else if (p->nstacks)
		fprintf(f, "  top allocation stacks by live bytes:\n");
	for (size_t i = 0; i < p->nstacks; i++) {
		char b[40];

		char fname[512];

		fprintf(f, "    %s in %lld blocks (%s)\n",
			signed_bytes(p->stacks[i].bytes, b, sizeof(b)),
			(long long)p->stacks[i].blocks,
			p->stacks[i].allocator ? p->stacks[i].allocator : "?");
		for (size_t k = 0; k < p->stacks[i].nframes; k++)
			fprintf(f, "      %s\n",
				out_printable(out_frame_text(&p->stacks[i].frames[k], fname,
							     sizeof(fname)),
					      frame, sizeof(frame)));
	}
}

/* A process's bytes, to rank exited ones: what its allocators held at its exit. */
static uint64_t proc_bytes(const struct rep_proc *p)
{
	uint64_t b = 0;

	for (size_t i = 0; i < p->nallocs; i++)
		b += p->allocs[i].mapped_bytes + p->allocs[i].pre_mapped_bytes;
	return b;
}

/* Live processes in full; exited ones once (an interval report leaves out those an earlier
 * one showed), the top ones by bytes, the rest counted in one line. */
static void print_procs(FILE *f, const struct report *r, bool hist, size_t top)
{
	size_t n = r->nprocs, rest = 0, before = 0;
	uint64_t *bytes = calloc(n ? n : 1, sizeof(*bytes)), rest_bytes = 0;
	bool *want = calloc(n ? n : 1, sizeof(*want)), *show = calloc(n ? n : 1, sizeof(*show));
	const char **comms = calloc(n ? n : 1, sizeof(*comms));
	char b[32], list[200];

	if (!bytes || !want || !show || !comms) {
		/* Short of memory: every process, in full. */
		free(bytes);
		free(want);
		free(show);
		free(comms);
		bytes = NULL, want = show = NULL, comms = NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct rep_proc *p = &r->procs[i];
		bool again = r->interval && p->exit_reported;

		if (show)
			show[i] = !p->exited;
		if (want)
			want[i] = p->exited && !again;
		if (bytes)
			bytes[i] = proc_bytes(p);
		if (comms)
			comms[i] = p->comm;
		before += again;
	}
	if (bytes && want && show)
		pick_top(bytes, want, n, top, show);
	for (size_t i = 0; i < n; i++) {
		const struct rep_proc *p = &r->procs[i];

		if (!show || show[i]) {
			print_proc(f, p, r, hist, top);
		} else if (!want || want[i]) {
			rest++;
			rest_bytes += proc_bytes(p);
		}
	}
	if (rest && want && show && comms) {
		/* Those shown or reported before are not in the names' counts. */
		for (size_t i = 0; i < n; i++)
			show[i] |= !want[i];
		name_counts(list, sizeof(list), comms, show, n);
		fprintf(f, "\n... %zu more exited processes (%s): %s mapped at exit in all\n", rest,
			list, out_bytes(rest_bytes, b, sizeof(b)));
	}
	if (before)
		fprintf(f, "\n(%zu exited processes shown in an earlier interval)\n", before);
	free(bytes);
	free(want);
	free(show);
	free(comms);
}

/* Which processes the report covers and how each came to be traced: -p targets, their
 * descendants (--children), children followed from their fork, the command. */
static void print_included(FILE *f, const struct report *r)
{
	static const char *const label[AT_ORIGIN_NR] = {
		[AT_ORIGIN_COMMAND] = "command",
		[AT_ORIGIN_PID] = "-p",
		[AT_ORIGIN_DESCENDANT] = "--children",
		[AT_ORIGIN_FORK] = "forked",
		[AT_ORIGIN_ALL] = "-a",
		[AT_ORIGIN_EXEC] = "-a, started since",
	};
	const size_t most = 16;
	bool first = true;

	for (uint32_t o = 0; o < AT_ORIGIN_NR; o++) {
		size_t n = 0;

		for (size_t i = 0; i < r->nprocs; i++) {
			if (r->procs[i].origin != o)
				continue;
			if (n < most)
				fprintf(f, "%s%d",
					n	? " "
					: first ? "traced: "
						: "; ",
					r->procs[i].pid);
			n++;
		}
		if (n > most)
			fprintf(f, " and %zu more", n - most);
		if (n)
			fprintf(f, " (%s)", label[o]);
		first &= !n;
	}
	if (!first)
		fputc('\n', f);
}

static int text_report(struct out *o, const struct report *r, bool final)
{
	FILE *f = o->f;
	bool any = false;

	/* Say what the counts (returns, syscalls, calls) cover: the whole trace or the
	 * interval. */
	if (r->window_ns > r->start_ns)
		fprintf(f, "%s after %.1fs (counts of the last %.1fs)\n",
			final ? "arenatrace summary" : "arenatrace interval",
			(double)(r->now_ns - r->start_ns) / 1e9,
			(double)(r->now_ns - r->window_ns) / 1e9);
	else
		fprintf(f, "%s after %.1fs\n", final ? "arenatrace summary" : "arenatrace interval",
			(double)(r->now_ns - r->start_ns) / 1e9);
	print_included(f, r);
	print_procs(f, r, o->meta->hist, o->meta->text_top);
	fprintf(f, "\ndrops:");
	for (size_t k = 0; k < r->ndrops; k++) {
		if (r->drops[k].value) {
			fprintf(f, " %s=%llu", r->drops[k].name,
				(unsigned long long)r->drops[k].value);
			any = true;
		}
	}
	fprintf(f, "%s\n", any ? "" : " none");
	return 0;
}

static void text_error(struct out *o, const char *msg)
{
	(void)o;
	(void)msg; /* diagnostics already went to stderr */
}

const struct out_ops out_text_ops = {
	.report = text_report,
	.error = text_error,
};
