// SPDX-License-Identifier: GPL-2.0-only
/* Wiring only: options -> checks -> loader -> model -> output, and the exit code. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "cli.h"
#include "exporter.h"
#include "features.h"
#include "heap.h"
#include "loader.h"
#include "log.h"
#include "model.h"
#include "out.h"
#include "procfs.h"
#include "stacks.h"
#include "syms.h"

#define AT_VERSION "0.1.0"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

struct at_ctx {
	const struct at_opts *opts;
	struct loader *loader;
	struct heap *heap;     /* NULL without the heap level */
	struct arena *arena;   /* NULL without the arena level */
	struct stacks *stacks; /* NULL without --stacks */
	struct model *model;
	struct out out;
	struct out_meta meta;
	struct exporter *exporter; /* --prometheus */
	struct out prom;
	uint64_t start_ns;
	pid_t child;
	int go_fd;   /* the child execs when this is closed */
	int exec_fd; /* the child reports a failed exec here */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void heap_to_model(void *arg, int pid, const char *name, const char *basis,
			  const struct at_heap_stats *s)
{
	model_heap_add(arg, pid, name, basis, s);
}

/* Uprobes of the heap and arena levels for a process now running, or (exe) for the files a
 * process will map after its exec. */
static int probe_running(struct at_ctx *c, int pid)
{
	int err = c->heap ? heap_attach_running(c->heap, pid) : 0;

	if (!err && c->arena)
		err = arena_attach_running(c->arena, pid);
	return err;
}

static int probe_launch(struct at_ctx *c, int pid, const char *exe)
{
	int err = c->heap ? heap_attach_launch(c->heap, pid, exe) : 0;

	if (!err && c->arena)
		err = arena_attach_launch(c->arena, pid, exe);
	return err;
}

/* Process lifecycle, before the model sees the record: probes for a new child or program,
 * and the final heap counters of a process that exits (read while the model still has it
 * alive, then dropped from the BPF maps). */
static void on_proc_record(struct at_ctx *c, const struct at_proc_rec *r)
{
	int pid = (int)r->hdr.pid;

	switch (r->hdr.kind) {
	case AT_PROC_FORK:
		/* Calls the child makes before its probes are in place are not seen: its heap
		 * figures say "since attach", like a -p target's. */
		probe_running(c, pid);
		break;
	case AT_PROC_EXEC:
		/* -a: a new program the kernel started tracing at its exec. */
		if (c->opts->all && !model_is_alive(c->model, pid))
			model_add_launched(c->model, pid);
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
				probe_launch(c, pid, exe);
			}
			probe_running(c, pid);
		}
		break;
	case AT_PROC_EXIT:
		if (c->heap) {
			model_heap_clear(c->model, pid);
			/* Its threads are gone and their counters folded. */
			heap_read(c->heap, pid, false, heap_to_model, c->model);
			model_track_retention(c->model, pid, r->hdr.ts_ns);
		}
		break;
	default:
		break;
	}
}

static int on_record(void *arg, void *data, size_t len)
{
	struct at_ctx *c = arg;
	const struct at_proc_rec *r = data;
	int err;

	if (out_wants_events(&c->out))
		out_event(&c->out, data, len, c->start_ns);
	if (len >= sizeof(struct at_arena_rec) && r->hdr.type == AT_REC_ARENA) {
		const struct at_arena_rec *a = data;

		model_arena_apply(c->model, a,
				  c->arena ? arena_probe_of(c->arena, AT_ACOOKIE_PROBE(a->cookie))
					   : NULL);
		return 0;
	}
	if (len >= sizeof(*r) && r->hdr.type == AT_REC_PROC)
		on_proc_record(c, r);
	err = model_apply(c->model, data, len);
	if (len >= sizeof(*r) && r->hdr.type == AT_REC_PROC && r->hdr.kind == AT_PROC_EXIT) {
		if (c->heap)
			heap_forget(c->heap, (int)r->hdr.pid);
		if (c->arena)
			arena_forget(c->arena, (int)r->hdr.pid);
	}

	if (at_log_level >= 3 && len >= sizeof(struct at_sys_rec) && r->hdr.type == AT_REC_SYSCALL) {
		const struct at_sys_rec *s = data;

		at_note(3, "pid %u %s(0x%llx, %llu, %llu, 0x%llx) = 0x%llx from %.32s+0x%llx%s",
			s->hdr.pid, model_sys_name(s->hdr.kind), (unsigned long long)s->args[0],
			(unsigned long long)s->args[1], (unsigned long long)s->args[2],
			(unsigned long long)s->args[3], (unsigned long long)s->ret, s->caller_file,
			(unsigned long long)s->caller_off,
			s->caller_kind == AT_CALLER_WRAPPER ? "" : " (ip)");
	}

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
	struct at_proc_rec r = { .hdr = { .type = AT_REC_PROC, .kind = AT_PROC_EXIT, .pid = (__u32)pid } };

	if (!procfs_read_stat(pid, &st) && st.state != 'Z' && st.state != 'X')
		return;
	/* The child may be being reaped right now: give a real record the first chance. */
	if (loader_poll(c->loader, 0) > 0 && !model_is_alive(c->model, pid))
		return;
	on_record(c, &r, sizeof(r));
}

static int check_target(int pid)
{
	struct proc_stat st;
	char maps[64];

	if (procfs_read_stat(pid, &st)) {
		at_err("no process with pid %d", pid);
		return AT_EXIT_TARGET;
	}
	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	if ((st.flags & AT_PF_KTHREAD) || access(maps, R_OK)) {
		if (st.flags & AT_PF_KTHREAD)
			at_err("pid %d (%s) is a kernel thread: it has no user memory to trace", pid,
			       st.comm);
		else
			at_err("cannot read /proc/%d/maps: %s", pid, strerror(errno));
		return AT_EXIT_TARGET;
	}
	if (st.state == 'Z') {
		at_err("pid %d (%s) has already exited (zombie)", pid, st.comm);
		return AT_EXIT_TARGET;
	}
	return 0;
}

/* Fork CMD stopped before exec, so that it is traced from its first instruction. */
static int launch(struct at_ctx *c)
{
	int go[2], ex[2];

	if (pipe2(go, O_CLOEXEC) || pipe2(ex, O_CLOEXEC))
		return -errno;
	c->child = fork();
	if (c->child < 0)
		return -errno;
	if (c->child == 0) {
		char b;
		int e;

		close(go[1]);
		close(ex[0]);
		if (read(go[0], &b, 1) != 1)
			_exit(127); /* arenatrace gave up */
		execvp(c->opts->cmd[0], c->opts->cmd);
		e = errno;
		if (write(ex[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(ex[1]);
	c->go_fd = go[1];
	c->exec_fd = ex[0];
	return 0;
}

static int release_child(struct at_ctx *c)
{
	int e = 0;
	ssize_t n;

	if (write(c->go_fd, "g", 1) != 1)
		return -errno;
	close(c->go_fd);
	c->go_fd = -1;
	n = read(c->exec_fd, &e, sizeof(e));
	close(c->exec_fd);
	c->exec_fd = -1;
	if (n == sizeof(e)) {
		waitpid(c->child, NULL, 0);
		at_err("cannot run '%s': %s", c->opts->cmd[0], strerror(e));
		return AT_EXIT_TARGET;
	}
	return 0;
}

/* The file execvp will run, for probing a statically linked allocator before it runs. */
static const char *resolve_command(const char *cmd, char *out)
{
	const char *path = getenv("PATH");
	char *dirs, *dir, *save = NULL;

	if (strchr(cmd, '/'))
		return realpath(cmd, out) ? out : NULL;
	dirs = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, PATH_MAX, "%s/%s", dir, cmd);
		if (!access(out, X_OK))
			break;
	}
	free(dirs);
	return dir ? out : NULL;
}

/* -a: whether a process passes --comm and --cgroup. */
static bool wanted(const struct at_opts *o, int pid, const char *comm)
{
	bool ok = !o->ncomms;

	for (size_t i = 0; i < o->ncomms && !ok; i++)
		ok = !strcmp(o->comms[i], comm);
	return ok && procfs_in_cgroup(pid, o->cgroup);
}

/* Start tracing one process found running (-a); it may vanish meanwhile, which is fine. */
static void adopt(struct at_ctx *c, int pid)
{
	struct proc_stat st;

	if (procfs_read_stat(pid, &st) || (st.flags & AT_PF_KTHREAD) || st.state == 'Z' ||
	    !wanted(c->opts, pid, st.comm))
		return;
	if (loader_trace_pid(c->loader, pid, true) || model_add_running(c->model, pid))
		return;
	loader_add_process(c->loader, pid);
	probe_running(c, pid);
}

/* -a: every process now running (new ones come through their exec record). */
static int adopt_all(struct at_ctx *c)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (!d) {
		at_err("cannot read /proc: %s", strerror(errno));
		return AT_EXIT_RUNTIME;
	}
	/* The probes are attached per file for all processes: libc and the allocator
	 * libraries now, so that new programs are covered from their first call. */
	loader_add_process(c->loader, getpid());
	probe_launch(c, getpid(), NULL);
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0 || pid == getpid())
			continue;
		adopt(c, (int)pid);
	}
	closedir(d);
	return 0;
}

static int setup_targets(struct at_ctx *c)
{
	const struct at_opts *o = c->opts;
	char exe[PATH_MAX];
	int err;

	if (o->all)
		return adopt_all(c);
	for (size_t i = 0; i < o->npids; i++) {
		err = loader_trace_pid(c->loader, o->pids[i], o->follow);
		if (!err)
			err = model_add_running(c->model, o->pids[i]);
		if (!err)
			err = loader_add_process(c->loader, o->pids[i]);
		if (!err)
			err = probe_running(c, o->pids[i]);
		if (err == -ENOENT || err == -ESRCH) {
			at_err("pid %d exited while arenatrace attached", o->pids[i]);
			return AT_EXIT_TARGET;
		}
		if (err) {
			at_err("cannot trace pid %d: %s", o->pids[i], strerror(-err));
			return AT_EXIT_RUNTIME;
		}
	}
	if (!o->cmd)
		return 0;
	/* The command will map the same libc as arenatrace; another one is picked up at its
	 * exec. */
	err = loader_add_process(c->loader, getpid());
	if (!err)
		err = launch(c);
	if (!err)
		err = loader_trace_pid(c->loader, c->child, o->follow);
	if (!err)
		err = model_add_launched(c->model, c->child);
	if (!err)
		err = probe_launch(c, c->child, resolve_command(o->cmd[0], exe));
	if (err) {
		at_err("cannot start '%s': %s", o->cmd[0], strerror(-err));
		return AT_EXIT_RUNTIME;
	}
	return 0;
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
		h.cpu_ns = ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
			   ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
	if (f && fscanf(f, "%lu %lu", &pages, &rss) == 2)
		h.rss_bytes = (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
	if (f)
		fclose(f);
	model_set_health(c->model, &h);
}

/* The model's report now, with the kernel's drop counters and arenatrace's own health. */
static const struct report *current_report(struct at_ctx *c, uint64_t t)
{
	uint64_t drops[AT_DROP_NR];

	loader_drops(c->loader, drops);
	model_set_bpf_drops(c->model, drops);
	set_health(c);
	return model_report(c->model, t);
}

/* --prometheus: the current figures, rendered for the next scrapes. */
static void publish(struct at_ctx *c, uint64_t t)
{
	const struct report *r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!c->exporter)
		return;
	r = current_report(c, t);
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
static void sample(struct at_ctx *c, uint64_t t, bool periodic)
{
	model_sample(c->model, t);
	if (c->heap) {
		model_heap_clear(c->model, 0);
		heap_read(c->heap, 0, true, heap_to_model, c->model);
		model_track_retention(c->model, 0, t);
	}
	if (periodic)
		publish(c, t);
	if (periodic && c->heap)
		loader_heap_sweep(c->loader);
	if (periodic && c->opts->all)
		model_prune_exited(c->model);
}

static void report(struct at_ctx *c, bool final)
{
	uint64_t t = now_ns();
	const struct report *r;

	sample(c, t, false);
	if (c->stacks)
		heap_for_each_pid(c->heap, capture_stacks, c);
	r = current_report(c, t);
	if (r)
		out_report(&c->out, r, final);
}

static bool targets_vanished(const struct at_ctx *c)
{
	for (size_t i = 0; i < c->opts->npids; i++)
		if (!model_is_alive(c->model, c->opts->pids[i]))
			return true;
	return false;
}

static int trace_loop(struct at_ctx *c)
{
	const struct at_opts *o = c->opts;
	uint64_t start = now_ns(), next_sample = start, next_report = 0, end = 0;
	long reports = 0;
	int rc = AT_EXIT_OK, n;

	if (o->interval_s > 0)
		next_report = start + (uint64_t)(o->interval_s * 1e9);
	if (o->duration_s > 0)
		end = start + (uint64_t)(o->duration_s * 1e9);
	while (!stop_flag) {
		uint64_t t;

		n = loader_poll(c->loader, 100);
		if (n < 0 && n != -EINTR) {
			at_err("reading the ring buffer failed: %s", strerror(-n));
			return AT_EXIT_RUNTIME;
		}
		t = now_ns();
		if (t >= next_sample) {
			model_for_each_alive(c->model, check_gone, c);
			sample(c, t, true);
			next_sample = t + o->sample_ms * 1000000ull;
		}
		if (next_report && t >= next_report) {
			report(c, false);
			model_reset_counters(c->model, now_ns());
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

static FILE *open_output(const struct at_opts *o)
{
	FILE *f = stdout;

	if (o->output) {
		f = fopen(o->output, "we");
		if (!f) {
			at_err("cannot open '%s': %s", o->output, strerror(errno));
			return NULL;
		}
	}
	setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

/* --cgroup names a cgroup v2 directory that exists (else one line, and a bad target). */
static bool cgroup_exists(const char *cgroup)
{
	char dir[PATH_MAX];
	struct stat st;
	int err = procfs_cgroup_dir(cgroup, dir, sizeof(dir), &st);

	if (err == -ENODEV)
		at_err("--cgroup needs the cgroup v2 hierarchy, which is not mounted");
	else if (err)
		at_err("no cgroup '%s' (looked for the directory '%s')", cgroup, dir);
	return !err;
}

static int run(struct at_ctx *c)
{
	const struct at_opts *o = c->opts;
	int rc;

	for (size_t i = 0; i < o->npids; i++) {
		rc = check_target(o->pids[i]);
		if (rc)
			return rc;
	}
	if (o->cgroup && !cgroup_exists(o->cgroup))
		return AT_EXIT_TARGET;
	rc = features_check_privileges();
	if (!rc)
		rc = features_check_kernel();
	if (rc)
		return rc;
	c->start_ns = now_ns();
	c->model = model__new(&(struct model_limits){ .max_procs = o->max_procs,
						      .max_segs = o->max_segs,
						      .timeline_max = o->timeline_max,
						      .return_log_max = o->return_log_max,
						      .max_arenas = o->max_arenas,
						      .finding_min_bytes = o->finding_min_bytes,
						      .idle_purge_ms = o->idle_purge_ms,
						      .growth_samples = o->growth_samples,
						      .min_rss = o->min_rss },
			      c->start_ns);
	c->loader = loader__new(o, on_record, c);
	if (!c->model || !c->loader)
		return AT_EXIT_RUNTIME;
	if (o->level_heap) {
		c->heap = heap__new(c->loader, o->all);
		if (!c->heap)
			return AT_EXIT_RUNTIME;
		if (o->stacks) {
			c->stacks = stacks__new();
			if (!c->stacks)
				return AT_EXIT_RUNTIME;
		}
	}
	if (o->prometheus) {
		c->exporter = exporter__new(o->prometheus);
		if (!c->exporter)
			return AT_EXIT_RUNTIME;
		out_init(&c->prom, OUT_PROM, stdout, false, &c->meta);
	}
	if (o->level_arena) {
		c->arena = arena__new(c->loader, o);
		if (!c->arena)
			return AT_EXIT_RUNTIME;
	}
	if (o->dry_run) {
		at_note(0, "BPF programs loaded and verified; nothing attached (--dry-run)");
		return AT_EXIT_OK;
	}
	if (loader_attach_tracepoints(c->loader))
		return AT_EXIT_RUNTIME;
	rc = setup_targets(c);
	if (rc)
		return rc;
	if (o->cmd) {
		rc = release_child(c);
		if (rc)
			return rc;
	}
	publish(c, now_ns()); /* scrapes get figures from the start */
	at_note(0, "tracing%s; Ctrl-C to stop", o->cmd ? " the command" : "");
	return trace_loop(c);
}

int main(int argc, char **argv)
{
	struct at_ctx c = { .go_fd = -1, .exec_fd = -1 };
	struct at_opts o;
	struct utsname un;
	char err[256], levels[32];
	FILE *f;
	int rc;

	cli_defaults(&o);
	if (cli_parse(argc, argv, &o, err, sizeof(err))) {
		at_err("%s; see --help", err);
		return AT_EXIT_USAGE;
	}
	if (o.help || o.version || o.config_help) {
		if (o.help)
			cli_help(stdout);
		if (o.config_help)
			cli_config_help(stdout);
		if (o.version)
			printf("arenatrace %s (ABI %d)\n", AT_VERSION, AT_ABI_VERSION);
		return AT_EXIT_OK;
	}
	at_log_level = o.verbose;
	f = open_output(&o);
	if (!f)
		return AT_EXIT_USAGE;
	uname(&un);
	snprintf(levels, sizeof(levels), "%s%s%s", o.level_os ? ",os" : "",
		 o.level_arena ? ",arena" : "", o.level_heap ? ",heap" : "");
	memmove(levels, levels + 1, strlen(levels));
	c.opts = &o;
	c.meta = (struct out_meta){ .version = AT_VERSION, .kernel = un.release,
				    .duration_s = o.duration_s, .interval_s = o.interval_s,
				    .command = o.cmd ? o.cmd[0] : NULL, .pids = o.pids,
				    .npids = o.npids, .follow_forks = o.follow, .hist = o.hist,
				    .levels = levels, .prom_top = (size_t)o.prom_top };
	out_init(&c.out, o.ndjson ? OUT_NDJSON : o.format, f, o.pretty, &c.meta);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	rc = run(&c);
	if (rc && rc != AT_EXIT_VANISHED)
		out_error(&c.out, "arenatrace failed; see the message on stderr");
	if (c.go_fd >= 0)
		close(c.go_fd); /* a child still waiting gives up without running CMD */
	/* Reap the command if it is done; one still running (arenatrace was interrupted) is
	 * left alone, never killed or waited for. */
	if (c.child > 0)
		waitpid(c.child, NULL, WNOHANG);
	stacks__free(c.stacks);
	heap__free(c.heap);
	arena__free(c.arena);
	exporter__free(c.exporter);
	loader__free(c.loader);
	model__free(c.model);
	syms_cache_clear();
	if (f != stdout)
		fclose(f);
	return rc;
}
