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

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The resolved frames of a capture, one per distinct address. */
struct frame_set {
	uint64_t *addrs; /* sorted */
	struct stacks_frame *sf;
	int *err; /* stacks_frame's result */
	size_t n;
};

static int resolve_all(struct at_ctx *c, int pid, const struct loader_stack *raw, size_t nraw,
		       struct frame_set *fs)
{
	size_t total = 0, n = 0;

	for (size_t i = 0; i < nraw; i++)
		total += raw[i].nips;
	fs->addrs = malloc((total ? total : 1) * sizeof(*fs->addrs));
	if (!fs->addrs)
		return -ENOMEM;
	for (size_t i = 0; i < nraw; i++)
		for (size_t k = 0; k < raw[i].nips; k++)
			fs->addrs[n++] = raw[i].ips[k];
	qsort(fs->addrs, n, sizeof(*fs->addrs), cmp_u64);
	fs->n = 0;
	for (size_t i = 0; i < n; i++)
		if (!fs->n || fs->addrs[fs->n - 1] != fs->addrs[i])
			fs->addrs[fs->n++] = fs->addrs[i];
	fs->sf = calloc(fs->n ? fs->n : 1, sizeof(*fs->sf));
	fs->err = calloc(fs->n ? fs->n : 1, sizeof(*fs->err));
	if (!fs->sf || !fs->err)
		return -ENOMEM;
	for (size_t i = 0; i < fs->n; i++)
		fs->err[i] = stacks_frame(c->stacks, pid, fs->addrs[i], &fs->sf[i]);
	return 0;
}

static const char *or_null(const char *s)
{
	return s[0] ? s : NULL;
}

/* A stack's frames, innermost first, up to the first that cannot be trusted: an address in
 * no executable file mapping (what a frame-pointer walk finds past code built without
 * frame pointers). When the process's mappings were never read, the addresses alone. */
static size_t stack_frames(const struct frame_set *fs, const struct loader_stack *raw,
			   struct rep_frame *out)
{
	size_t n = 0;

	for (size_t k = 0; k < raw->nips; k++) {
		uint64_t *at = bsearch(&raw->ips[k], fs->addrs, fs->n, sizeof(*fs->addrs), cmp_u64);
		size_t i = (size_t)(at - fs->addrs);
		const struct stacks_frame *f = &fs->sf[i];

		if (fs->err[i] == -ENOENT)
			break;
		out[n++] = (struct rep_frame){
			.address = raw->ips[k],
			.module = or_null(f->module),
			.build_id = or_null(f->build_id),
			.offset = f->offset,
			.function = or_null(f->function),
			.function_offset = f->function_offset,
			.file = or_null(f->file),
			.line = f->line,
		};
	}
	return n;
}

/* --stacks: every stack of a process, resolved with its mappings as last read (now when it
 * is alive, at its last executable mapping when it has exited), for the report. */
static void capture_stacks(void *arg, int pid)
{
	struct at_ctx *c = arg;
	struct loader_stack *raw = NULL;
	struct rep_stack *rep = NULL;
	struct rep_frame *frames = NULL;
	struct frame_set fs = { 0 };
	int got = loader_heap_stacks(c->loader, pid, &raw);
	size_t shown = 0;

	if (got < 0)
		return;
	stacks_refresh(c->stacks, pid); /* else the mappings read last */
	rep = calloc(got ? (size_t)got : 1, sizeof(*rep));
	frames = calloc(got ? (size_t)got * AT_STACK_DEPTH : 1, sizeof(*frames));
	if (!rep || !frames || resolve_all(c, pid, raw, (size_t)got, &fs))
		goto out;
	for (int i = 0; i < got; i++) {
		rep[i] = (struct rep_stack){
			.allocator = heap_alloc_name(c->heap, raw[i].alloc),
			.bytes = raw[i].bytes,
			.blocks = raw[i].blocks,
			.alloc_bytes = raw[i].alloc_bytes,
			.alloc_count = raw[i].alloc_count,
			.frames = &frames[(size_t)i * AT_STACK_DEPTH],
		};
		rep[i].nframes = stack_frames(&fs, &raw[i], &frames[(size_t)i * AT_STACK_DEPTH]);
		/* Shown: the first N with live blocks (they come first). */
		if (raw[i].blocks > 0 && raw[i].bytes > 0 && shown == (size_t)i &&
		    shown < (size_t)c->opts->stacks)
			shown++;
	}
	model_set_stacks(c->model, pid, rep, (size_t)got, shown);
out:
	free(fs.addrs);
	free(fs.sf);
	free(fs.err);
	free(frames);
	free(rep);
	free(raw);
}

/* --stacks: pid's mappings, read again while it lives (-v -v says how many). */
static void refresh_maps(struct at_ctx *c, int pid)
{
	int n = stacks_refresh(c->stacks, pid);

	if (n >= 0)
		at_note(2, "pid %d: %d executable mappings read for --stacks", pid, n);
}

/* Before the model sees a process record: probes for a new child or program, and the final
 * heap counters of a process that exits (read while the model still has it alive). */
static void before_proc(struct at_ctx *c, const struct at_proc_rec *r)
{
	int pid = (int)r->hdr.pid;

	switch (r->hdr.kind) {
	case AT_PROC_FORK:
		/* Calls the child makes before its probes are in place are not seen: its heap
		 * figures say "since attach", like a -p target's. */
		targets_probe_running(c, pid);
		break;
	case AT_PROC_EXEC:
		/* -a: a new program the kernel started tracing at its exec. */
		if (c->opts->all && !model_is_alive(c->model, pid))
			model_add_launched(c->model, pid);
		/* A traced process that execs may map another libc or allocator. The loader
		 * may not have mapped the libraries yet: probe what the new program needs, as
		 * for -- CMD, then whatever is mapped already. */
		loader_add_process(c->loader, pid);
		if (c->stacks) {
			stacks_forget(c->stacks, pid);
			refresh_maps(c, pid);
		}
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
		/* Its stacks are still in the maps until the next sweep, and its mappings
		 * as last read: they are kept for the report. */
		if (c->stacks && heap_has_pid(c->heap, pid))
			capture_stacks(c, pid);
		break;
	default:
		break;
	}
}

/* After the model applied a process's exit: its probes and BPF map entries go. */
static void after_exit(struct at_ctx *c, int pid)
{
	if (c->stacks)
		stacks_forget(c->stacks, pid);
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

/* A successful mmap or mprotect of executable memory: a library loaded, whose frames the
 * process's stacks may hold. Its mappings are read now, while it lives: a process that
 * exits keeps its stacks symbolised with what was read last. */
static bool new_code(const void *data, size_t len)
{
	const struct at_sys_rec *r = data;

	return r->hdr.type == AT_REC_SYSCALL && len >= sizeof(*r) &&
	       (r->hdr.kind == AT_SYS_MMAP || r->hdr.kind == AT_SYS_MPROTECT) &&
	       (r->args[2] & 4 /* PROT_EXEC */) && (int64_t)r->ret >= 0;
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
	else if (c->stacks && new_code(data, len))
		refresh_maps(c, (int)h->pid);
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

/* --folded, --pprof: the report's stacks, replacing the file's content whole (written
 * aside, then renamed), so that a reader never sees half a profile. */
static void write_stacks_file(struct at_ctx *c, enum out_format fmt, const char *path,
			      const struct report *r)
{
	char tmp[PATH_MAX];
	struct out o;
	FILE *f;
	int err;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f) {
		at_warn("cannot write '%s': %s", tmp, strerror(errno));
		return;
	}
	out_init(&o, fmt, f, false, &c->meta);
	err = out_report(&o, r, true);
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		at_warn("cannot write '%s': %s", path, strerror(-err));
		unlink(tmp);
	}
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
	if (r && c->opts->folded)
		write_stacks_file(c, OUT_FOLDED, c->opts->folded, r);
	if (r && c->opts->pprof)
		write_stacks_file(c, OUT_PPROF, c->opts->pprof, r);
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
