// SPDX-License-Identifier: GPL-2.0-only
/* The trace: one dispatcher for every record, the periodic samples (residency, heap
 * counters, --prometheus), interval and final reports, and the end of the trace. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "arena.h"
#include "exporter.h"
#include "heap.h"
#include "loader.h"
#include "log.h"
#include "model.h"
#include "procfs.h"
#include "stacks.h"

volatile sig_atomic_t at_stop_flag;

uint64_t app_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* An output that cannot be written ends the trace: whoever read it is gone (| head -1),
 * or the disk is full; main says which at the end. */
static void output_check(struct at_ctx *c)
{
	int e = errno;

	if (!ferror(c->out.f) || c->output_errno)
		return;
	c->output_errno = e ? e : EIO;
	at_stop_flag = 1;
}

static void heap_to_model(void *arg, int pid, const char *name, const char *basis,
			  const struct at_heap_stats *s)
{
	model_heap_add(arg, pid, name, basis, s);
}

/* The heap counters' source for model_heap_refresh: every probed process (pid 0) with its
 * live threads' counters, or one process that exited (its threads' counters are folded). */
struct heap_source {
	struct heap *heap;
	bool live_threads;
};

static void read_heap(void *arg, struct model *m, int pid)
{
	const struct heap_source *src = arg;

	heap_read(src->heap, pid, src->live_threads, heap_to_model, m);
}

/* Before the model sees a process record: probes for a new child or program, and the final
 * heap counters of a process that exits (read while the model still has it alive). */
static void before_proc(struct at_ctx *c, const struct at_proc_rec *r)
{
	int pid = (int)r->hdr.pid;

	switch (r->hdr.kind) {
	case AT_PROC_FORK:
		/* Calls the child makes before its probes are in place are not seen: its heap
		 * counters are partial (the model's heap_partial), its other figures whole. */
		targets_probe_running(c, pid);
		break;
	case AT_PROC_EXEC:
		/* -a: a new program the kernel started tracing at its exec. */
		if (c->opts->all && !model_is_alive(c->model, pid) &&
		    !model_add_launched(c->model, pid))
			model_set_origin(c->model, pid, AT_ORIGIN_EXEC);
		/* A traced process that execs may map another libc or allocator. The loader
		 * may not have mapped the libraries yet: probe what the new program needs, as
		 * for -- CMD, then whatever is mapped already. */
		loader_add_process(c->loader, pid);
		if (c->heap || c->arena) {
			char link[64], exe[PATH_MAX];
			ssize_t n;

			snprintf(link, sizeof(link), "/proc/%d/exe", pid);
			n = readlink(link, exe, sizeof(exe) - 1);
			if (n > 0) {
				exe[n] = '\0';
				targets_probe_launch(c, pid, exe);
			}
			targets_probe_running(c, pid);
		}
		break;
	case AT_PROC_EXIT:
		if (c->heap)
			model_heap_refresh(c->model, pid, r->hdr.ts_ns, read_heap,
					   &(struct heap_source){ c->heap, false });
		break;
	default:
		break;
	}
}

/* After the model applied a process's exit: its probes and BPF map entries go. */
static void after_exit(struct at_ctx *c, int pid)
{
	if (c->heap)
		heap_forget(c->heap, pid);
	if (c->arena)
		arena_forget(c->arena, pid);
}

static void log_syscall(const struct at_sys_rec *s)
{
	at_note(3, "pid %u %s(0x%llx, %llu, %llu, 0x%llx) = 0x%llx from %.32s+0x%llx%s", s->hdr.pid,
		model_sys_name(s->hdr.kind), (unsigned long long)s->args[0],
		(unsigned long long)s->args[1], (unsigned long long)s->args[2],
		(unsigned long long)s->args[3], (unsigned long long)s->ret, s->caller_file,
		(unsigned long long)s->caller_off,
		s->caller_kind == AT_CALLER_WRAPPER ? "" : " (ip)");
}

int trace_on_record(void *arg, void *data, size_t len)
{
	struct at_ctx *c = arg;
	const struct at_rec_hdr *h = data;
	const struct at_probe_info *probe = NULL;
	bool proc;
	int err;

	if (len < sizeof(*h))
		return 0;
	proc = h->type == AT_REC_PROC && len >= sizeof(struct at_proc_rec);
	if (out_wants_events(&c->out)) {
		errno = 0;
		out_event(&c->out, data, len, c->start_ns);
		output_check(c);
	}
	if (h->type == AT_REC_ARENA && c->arena && len >= sizeof(struct at_arena_rec))
		probe = arena_probe_of(
			c->arena, AT_ACOOKIE_PROBE(((const struct at_arena_rec *)data)->cookie));
	if (proc)
		before_proc(c, data);
	err = model_apply(c->model, data, len, probe);
	if (proc && h->kind == AT_PROC_EXIT)
		after_exit(c, (int)h->pid);
	if (at_log_level >= 3 && h->type == AT_REC_SYSCALL && len >= sizeof(struct at_sys_rec))
		log_syscall(data);
	/* Only an allocation failure gets here; the record is lost, the trace goes on. */
	if (err)
		at_note(0, "a record was not applied: %s", strerror(-err));
	return 0;
}

/* A process whose exit record was lost (ring buffer full) must not be waited for forever:
 * gone from /proc, or a zombie, it gets the exit record it missed. */
static void check_gone(void *arg, int pid)
{
	struct at_ctx *c = arg;
	struct proc_stat st;
	struct at_proc_rec r = {
		.hdr = { .type = AT_REC_PROC, .kind = AT_PROC_EXIT, .pid = (__u32)pid }
	};

	if (!procfs_read_stat(pid, &st) && st.state != 'Z' && st.state != 'X')
		return;
	/* The child may be being reaped right now: give a real record the first chance. */
	if (loader_poll(c->loader, 0) > 0 && !model_is_alive(c->model, pid))
		return;
	trace_on_record(c, &r, sizeof(r));
}

/* --stacks: the top stacks of a live process, symbolised now (its maps are needed). */
static void capture_stacks(void *arg, int pid)
{
	struct at_ctx *c = arg;
	size_t n = (size_t)c->opts->stacks;
	struct loader_stack *raw = calloc(n, sizeof(*raw));
	struct rep_stack *rep = calloc(n, sizeof(*rep));
	int got = raw && rep ? loader_heap_top_stacks(c->loader, pid, raw, n) : -ENOMEM;

	if (got >= 0 && !stacks_refresh(c->stacks, pid)) {
		for (int i = 0; i < got; i++) {
			rep[i].bytes = raw[i].bytes;
			rep[i].blocks = raw[i].blocks;
			rep[i].nframes = raw[i].nips;
			for (size_t k = 0; k < raw[i].nips; k++)
				stacks_symbolize(c->stacks, raw[i].ips[k], rep[i].frames[k],
						 sizeof(rep[i].frames[k]));
		}
		model_set_stacks(c->model, pid, rep, (size_t)got);
	}
	free(raw);
	free(rep);
}

/* arenatrace's own costs, for the report. */
static void set_health(struct at_ctx *c)
{
	struct rep_health h = { 0 };
	struct rusage ru;
	unsigned long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	h.bpf_stats = loader_bpf_stats(c->loader, &h.bpf_run_ns, &h.bpf_run_count);
	if (!getrusage(RUSAGE_SELF, &ru))
		h.cpu_ns =
			((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) *
				1000000000ull +
			((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
	if (f && fscanf(f, "%lu %lu", &pages, &rss) == 2)
		h.rss_bytes = (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
	if (f)
		fclose(f);
	h.warnings_not_shown = at_warn_suppressed();
	model_set_health(c->model, &h);
}

/* The model's report now, with the kernel's drop counters and arenatrace's own health:
 * the counts of the whole trace (the final summary; Prometheus, whose counters never go
 * back), or of the last interval. */
static const struct report *current_report(struct at_ctx *c, uint64_t t, bool whole)
{
	uint64_t drops[AT_DROP_NR];

	loader_drops(c->loader, drops);
	model_set_bpf_drops(c->model, drops);
	set_health(c);
	return whole ? model_report_total(c->model, t) : model_report(c->model, t);
}

/* --prometheus: the current figures, rendered for the next scrapes. */
void trace_publish(struct at_ctx *c, uint64_t t)
{
	const struct report *r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!c->exporter)
		return;
	r = current_report(c, t, true);
	f = open_memstream(&buf, &len);
	if (r && f) {
		c->prom.f = f;
		out_report(&c->prom, r, false);
	}
	if (f)
		fclose(f);
	if (buf)
		exporter_publish(c->exporter, buf, len);
	free(buf);
}

/* Residency from /proc and the heap counters of live threads, read together. A periodic
 * sample (not the one before a report) also refreshes --prometheus and, with -a, forgets
 * the processes that have exited. */
/* Pointer evidence (heap level): a block in the live-block table lies in memory its
 * allocator owns; for processes attached with memory of unknown owner left, a few
 * thousand blocks a pass, the next pass going on where this one stopped. */
#define POINTER_PASS_MAX 4096

struct pointer_pass {
	struct at_ctx *c;
	uint32_t *tgids;
	size_t n, cap;
};

static void want_pointers(void *arg, int pid)
{
	struct pointer_pass *pp = arg;

	if (model_has_unknown(pp->c->model, pid) &&
	    heap_table_owner(pp->c->heap, pid, pp->c->stacks != NULL) &&
	    !at_grow(&pp->tgids, pp->n, &pp->cap, sizeof(*pp->tgids), 1))
		pp->tgids[pp->n++] = (uint32_t)pid;
}

static int cmp_tgid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static void claim_pointer(void *arg, uint32_t tgid, uint64_t ptr)
{
	struct pointer_pass *pp = arg;
	const char *owner = heap_table_owner(pp->c->heap, (int)tgid, pp->c->stacks != NULL);

	if (owner)
		model_claim_pointer(pp->c->model, (int)tgid, owner, ptr);
}

static void pointer_evidence(struct at_ctx *c)
{
	struct pointer_pass pp = { .c = c };

	model_for_each_alive(c->model, want_pointers, &pp);
	if (pp.n) {
		qsort(pp.tgids, pp.n, sizeof(*pp.tgids), cmp_tgid);
		c->pointers_next = loader_heap_blocks(c->loader, pp.tgids, pp.n, c->pointers_next,
						      POINTER_PASS_MAX, claim_pointer, &pp);
	}
	free(pp.tgids);
}

struct books_pass {
	struct at_ctx *c;
	uint64_t t;
};

static void read_books(void *arg, int pid)
{
	struct books_pass *b = arg;

	attach_read_books(b->c, pid, b->t);
}

static void sample(struct at_ctx *c, uint64_t t, bool periodic)
{
	/* The books, and the heap level's pointers, cost about 1% of a core at most: a pass
	 * that took T waits 100 T before the next periodic one (a 4 GiB glibc heap takes about
	 * 140 ms here). A report reads them afresh. */
	if ((c->opts->books || c->heap) && (!periodic || t >= c->books_next_ns)) {
		uint64_t t0 = app_now_ns();

		if (c->opts->books)
			model_for_each_alive(c->model, read_books, &(struct books_pass){ c, t });
		if (c->heap)
			pointer_evidence(c);
		c->books_next_ns = t0 + 100 * (app_now_ns() - t0);
	}
	model_sample(c->model, t);
	if (c->heap)
		model_heap_refresh(c->model, 0, t, read_heap,
				   &(struct heap_source){ c->heap, true });
	if (periodic)
		trace_publish(c, t);
	if (periodic && c->heap)
		loader_heap_sweep(c->loader);
	if (periodic && c->opts->all)
		model_prune_exited(c->model);
}

static void report(struct at_ctx *c, bool final)
{
	uint64_t t = app_now_ns();
	const struct report *r;

	sample(c, t, false);
	if (c->stacks)
		heap_for_each_pid(c->heap, capture_stacks, c);
	at_warn_flush(); /* what repeated since the last report, before it */
	r = current_report(c, t, final);
	errno = 0;
	if (r)
		out_report(&c->out, r, final);
	fflush(c->out.f);
	output_check(c);
}

static bool targets_vanished(const struct at_ctx *c)
{
	for (size_t i = 0; i < c->opts->npids; i++)
		if (!model_is_alive(c->model, c->opts->pids[i]))
			return true;
	return false;
}

int trace_loop(struct at_ctx *c)
{
	const struct at_opts *o = c->opts;
	uint64_t start = app_now_ns(), next_sample = start, next_report = 0, end = 0;
	long reports = 0;
	int rc = AT_EXIT_OK, n;

	if (o->interval_s > 0)
		next_report = start + (uint64_t)(o->interval_s * 1e9);
	if (o->duration_s > 0)
		end = start + (uint64_t)(o->duration_s * 1e9);
	while (!at_stop_flag) {
		uint64_t t;

		n = loader_poll(c->loader, 100);
		if (n < 0 && n != -EINTR) {
			at_err("reading the ring buffer failed: %s", strerror(-n));
			return AT_EXIT_RUNTIME;
		}
		t = app_now_ns();
		if (t >= next_sample) {
			model_for_each_alive(c->model, check_gone, c);
			sample(c, t, true);
			next_sample = t + o->sample_ms * 1000000ull;
		}
		if (next_report && t >= next_report) {
			report(c, false);
			model_reset_counters(c->model, app_now_ns());
			next_report += (uint64_t)(o->interval_s * 1e9);
			if (o->count && ++reports >= o->count)
				break;
		}
		if (end && t >= end)
			break;
		if (!o->all && !model_any_alive(c->model))
			break;
	}
	/* Whatever is still queued belongs to the summary. */
	while (loader_poll(c->loader, 0) > 0)
		;
	if (targets_vanished(c)) {
		at_err("a traced process exited before the end of the trace; the summary covers "
		       "it up to its exit");
		rc = AT_EXIT_VANISHED;
	}
	if (!(o->count && reports >= o->count))
		report(c, true);
	return rc;
}
