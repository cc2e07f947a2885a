// SPDX-License-Identifier: GPL-2.0-only
/* The trace: one dispatcher for every record, the periodic samples (residency, heap
 * counters, --prometheus), interval and final reports, and the end of the trace. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
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

uint64_t app_unix_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
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
 * heap counters of a process that exits (read while the model still has it alive). When
 * uprobes were put in place for a forked child or an exec'd program: when (0 otherwise). */
static uint64_t before_proc(struct at_ctx *c, const struct at_proc_rec *r)
{
	int pid = (int)r->hdr.pid;

	switch (r->hdr.kind) {
	case AT_PROC_FORK:
		/* Calls the child makes before its probes are in place are not seen: its heap
		 * counters are partial (the model's heap_partial), its other figures whole. The
		 * kernel wakes us at once for this record; how long it took is reported. */
		if (!c->heap && !c->arena)
			return 0;
		targets_probe_running(c, pid);
		return app_now_ns();
	case AT_PROC_EXEC: {
		size_t before = c->heap ? heap_links(c->heap, pid) : 0;

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
		if (c->stacks)
			capture_exec(c, pid);
		/* Probes new to it (the new program's allocator) came after its exec. */
		if (c->heap && heap_links(c->heap, pid) > before)
			return app_now_ns();
		break;
	}
	case AT_PROC_EXIT:
		if (c->heap)
			model_heap_refresh(c->model, pid, r->hdr.ts_ns, read_heap,
					   &(struct heap_source){ c->heap, false });
		if (c->stacks && heap_has_pid(c->heap, pid))
			capture_exit(c, pid);
		break;
	default:
		break;
	}
	return 0;
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
	uint64_t probed_ns = 0;
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
	if (h->type == AT_REC_VMA) {
		if (c->stacks && len >= sizeof(struct at_vma_rec))
			capture_vma(c, data);
		return 0;
	}
	if (h->type == AT_REC_USTACK || h->type == AT_REC_USTACK_FREE) {
		capture_sample(c, data, len);
		return 0;
	}
	if (proc)
		probed_ns = before_proc(c, data);
	else if (c->stacks)
		capture_record(c, data, len);
	err = model_apply(c->model, data, len, probe);
	if (probed_ns)
		model_set_uprobes_at(c->model, (int)h->pid, h->ts_ns, probed_ns,
				     h->kind == AT_PROC_EXEC);
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

/* When arenatrace started, in seconds since the Unix epoch: its start in clock ticks after
 * boot (/proc/self/stat, field 22) plus the boot time (/proc/stat btime); 0 if unknown. */
static double start_time_s(void)
{
	char *buf = NULL, *p;
	size_t len;
	unsigned long long ticks = 0, btime = 0;
	double t = 0;

	if (!procfs_slurp("/proc/self/stat", &buf, &len) && (p = strrchr(buf, ')')) &&
	    sscanf(p + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
		   "%*d %*d %llu",
		   &ticks) == 1) {
		free(buf);
		buf = NULL;
		if (!procfs_slurp("/proc/stat", &buf, &len) && (p = strstr(buf, "\nbtime ")) &&
		    sscanf(p + 7, "%llu", &btime) == 1)
			t = (double)btime + (double)ticks / (double)sysconf(_SC_CLK_TCK);
	}
	free(buf);
	return t;
}

static uint64_t open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	uint64_t n = 0;
	struct dirent *e;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n ? n - 1 : 0; /* the directory's own descriptor */
}

/* arenatrace's own costs, for the report. */
static void set_health(struct at_ctx *c)
{
	struct rep_health h = { 0 };
	struct rusage ru;
	struct rlimit rl;
	unsigned long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	h.bpf_stats = loader_bpf_stats(c->loader, &h.bpf_run_ns, &h.bpf_run_count);
	if (!getrusage(RUSAGE_SELF, &ru))
		h.cpu_ns =
			((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) *
				1000000000ull +
			((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
	if (f && fscanf(f, "%lu %lu", &pages, &rss) == 2) {
		h.rss_bytes = (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
		h.vm_bytes = (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
	}
	if (f)
		fclose(f);
	if (!c->started_s)
		c->started_s = start_time_s();
	h.start_time_s = c->started_s;
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		h.max_fds = rl.rlim_cur == RLIM_INFINITY ? 0 : (uint64_t)rl.rlim_cur;
		h.open_fds = open_fds();
	}
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
	/* A sample unwound no further than its first frame is counted with those whose stack
	 * could not be read. */
	drops[AT_DROP_USTACK] += samples_gone(c->samples);
	model_set_bpf_drops(c->model, drops);
	set_health(c);
	return whole ? model_report_total(c->model, t) : model_report(c->model, t);
}

/* The current figures in Prometheus's format (the counters of the whole trace, which never
 * go back): a heap buffer the caller frees, or NULL. */
static char *render_prom(struct at_ctx *c, uint64_t t, size_t *len)
{
	const struct report *r = current_report(c, t, true);
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (r && f) {
		c->prom.f = f;
		/* An ended series stays until a reader read it (out.h). */
		c->prom.reads =
			(c->exporter ? exporter_scrapes(c->exporter) : 0) + c->textfile_writes;
		out_report(&c->prom, r, false);
	}
	if (f)
		fclose(f);
	return buf;
}

void trace_publish(struct at_ctx *c, uint64_t t)
{
	size_t len = 0;
	char *buf;

	if (!c->exporter)
		return;
	buf = render_prom(c, t, &len);
	if (buf)
		exporter_publish(c->exporter, buf, len);
	free(buf);
}

/* node_exporter's textfile collector reads *.prom files whenever it is scraped: the new
 * text goes to a temporary file in the same directory (not named *.prom), then renamed over
 * the old, so that a scrape sees the old file or the new one, never a part. */
static int write_atomic(const char *path, const char *text, size_t len)
{
	char *tmp = NULL;
	int fd, err = 0;

	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0)
		return -ENOMEM;
	fd = mkstemp(tmp);
	if (fd < 0) {
		err = -errno;
		free(tmp);
		return err;
	}
	for (size_t off = 0; off < len && !err;) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno != EINTR)
			err = -errno;
		else if (n > 0)
			off += (size_t)n;
	}
	if (!err && fchmod(fd, 0644)) /* mkstemp's 0600: node_exporter runs as another user */
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	free(tmp);
	return err;
}

void trace_write_textfile(struct at_ctx *c, uint64_t t)
{
	size_t len = 0;
	char *buf;
	int err;

	if (!c->opts->textfile)
		return;
	buf = render_prom(c, t, &len);
	err = buf ? write_atomic(c->opts->textfile, buf, len) : -ENOMEM;
	free(buf);
	c->textfile_writes += !err;
	if (err && !c->textfile_errno) {
		c->textfile_errno = -err;
		at_err("cannot write --textfile '%s': %s", c->opts->textfile, strerror(-err));
	}
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
	/* The stacks of processes that exited, before the sweep takes them from the maps
	 * and -a forgets the processes. */
	if (c->stacks)
		capture_exits(c);
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
		capture_live(c);
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
	trace_write_textfile(c, t);
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
		if (c->stacks)
			capture_maps(c);
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
