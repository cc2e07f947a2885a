// SPDX-License-Identifier: GPL-2.0-only
/* Parse, run, exit code: options -> checks -> loader, levels and model -> targets -> the
 * trace (trace.c) -> the exit code. */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "arena.h"
#include "cli.h"
#include "debuginfo.h"
#include "exporter.h"
#include "features.h"
#include "heap.h"
#include "loader.h"
#include "log.h"
#include "model.h"
#include "out.h"
#include "procfs.h"
#include "stacks.h"
#include "ustack.h"
#include "syms.h"

#define AT_VERSION "0.1.0"

static void on_signal(int sig)
{
	(void)sig;
	at_stop_flag = 1;
}

/* -o FILE. A symbolic link is followed only when another user cannot have planted it: its
 * owner is us or root, or its directory is writable by its owner alone. An existing file is
 * not truncated until the trace has started (output_start), so that an error never
 * destroys it. */
struct output {
	FILE *f;
	bool fresh;   /* ours to write: stdout, created by us, or truncated at the start */
	bool created; /* created by this run (removed again if nothing was written) */
};

static int open_output(const struct at_opts *o, struct output *out)
{
	struct stat ls;
	int fd;

	*out = (struct output){ .f = stdout, .fresh = true };
	if (o->output) {
		if (!lstat(o->output, &ls) && S_ISLNK(ls.st_mode) &&
		    app_link_planted(o->output, &ls)) {
			at_err("'%s' is a symbolic link of uid %u in a directory others can write: "
			       "not followed",
			       o->output, (unsigned)ls.st_uid);
			return -EPERM;
		}
		fd = open(o->output, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		out->created = out->fresh = fd >= 0;
		if (fd < 0 && errno == EEXIST)
			fd = open(o->output, O_WRONLY | O_CLOEXEC);
		out->f = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (!out->f) {
			at_err("cannot open '%s': %s", o->output, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -errno;
		}
	}
	setvbuf(out->f, NULL, _IOLBF, 0);
	return 0;
}

/* The trace has started: the output is ours to replace. */
static void output_start(struct output *out)
{
	struct stat st;

	if (out->fresh)
		return;
	if (!fstat(fileno(out->f), &st) && S_ISREG(st.st_mode) && ftruncate(fileno(out->f), 0))
		at_err("cannot truncate the output: %s", strerror(errno));
	out->fresh = true;
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

/* The -C capacities take kernel memory that no cgroup limits here: past an eighth of RAM
 * they are refused before anything is loaded (the kernel's OOM killer would otherwise kill
 * unrelated processes first). */
static int check_budget(const struct loader_opts *lo)
{
	struct sysinfo si;
	const char *largest = "?";
	uint64_t need = loader_kernel_bytes(lo, (int)sysconf(_SC_NPROCESSORS_CONF), &largest),
		 budget;

	if (sysinfo(&si))
		return 0;
	budget = (uint64_t)si.totalram * si.mem_unit / 8;
	if (need <= budget)
		return 0;
	at_err("the -C capacities would take about %llu MiB of kernel memory (most for %s), "
	       "past the limit of %llu MiB (an eighth of RAM): lower them (see --config-help)",
	       (unsigned long long)(need >> 20), largest, (unsigned long long)(budget >> 20));
	return AT_EXIT_USAGE;
}

static int run(struct at_ctx *c)
{
	const struct at_opts *o = c->opts;
	struct loader_opts lo;
	int rc;

	/* Privileges first: without them no target can be read, and that is the reason. */
	rc = features_check_privileges();
	if (rc)
		return rc == -EPERM ? AT_EXIT_PRIV : AT_EXIT_RUNTIME;
	for (size_t i = 0; i < o->npids; i++) {
		rc = targets_check(o->pids[i]);
		if (rc)
			return rc;
	}
	if (o->cgroup && !cgroup_exists(o->cgroup))
		return AT_EXIT_TARGET;
	rc = features_check_kernel();
	if (rc)
		return rc == -EOPNOTSUPP ? AT_EXIT_KERNEL : AT_EXIT_RUNTIME;
	lo = cli_loader_opts(o);
	rc = check_budget(&lo);
	if (rc)
		return rc;
	c->start_ns = app_now_ns();
	c->meta.start_unix_ns = app_unix_ns();
	c->model = model__new(
		&(struct model_limits){ .max_procs = o->max_procs,
					.max_segs = o->max_segs,
					.timeline_max = o->timeline_max,
					.return_log_max = o->return_log_max,
					.max_arenas = o->max_arenas,
					.finding_min_bytes = o->finding_min_bytes,
					.idle_purge_ms = o->idle_purge_ms,
					.growth_samples = o->growth_samples,
					.min_rss = o->min_rss,
					.sample_ms = o->sample_ms,
					.stack_sample_bytes = o->stacks && o->unwind_dwarf
								      ? o->stack_sample_bytes
								      : 0 },
		c->start_ns);
	c->loader = loader__new(&lo, trace_on_record, c);
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
		if (o->stacks && o->unwind_dwarf) {
			c->ustack = ustack__new(c->stacks);
			c->samples = samples__new(o->stack_sample_bytes);
			if (!c->ustack || !c->samples)
				return AT_EXIT_RUNTIME;
		}
	}
	if (o->prometheus) {
		c->exporter = exporter__new(o->prometheus);
		if (!c->exporter)
			return AT_EXIT_RUNTIME;
	}
	if (o->prometheus || o->textfile) {
		out_init(&c->prom, OUT_PROM, stdout, false, &c->meta);
		c->has_prom = true;
	}
	if (o->level_arena) {
		c->arena = arena__new(c->loader, &(struct arena_opts){ .all = o->all,
								       .watch = o->level_heap,
								       .specs = o->arenas,
								       .nspecs = o->narenas });
		if (!c->arena)
			return AT_EXIT_RUNTIME;
	}
	if (o->dry_run) {
		at_note(0, "BPF programs loaded and verified; nothing attached (--dry-run)");
		return AT_EXIT_OK;
	}
	if (loader_attach_tracepoints(c->loader))
		return AT_EXIT_RUNTIME;
	rc = targets_setup(c);
	if (rc)
		return rc;
	/* Ctrl-C during the set-up: the command never runs, nothing is traced. */
	if (at_stop_flag)
		return AT_EXIT_OK;
	if (o->cmd) {
		rc = targets_release_child(c);
		if (rc)
			return rc;
	}
	trace_publish(c, app_now_ns());	       /* scrapes get figures from the start */
	trace_write_textfile(c, app_now_ns()); /* and a --textfile that cannot be written fails */
	if (c->textfile_errno)
		return AT_EXIT_RUNTIME;
	output_start(c->output);
	at_note(0, "tracing%s; Ctrl-C to stop", o->cmd ? " the command" : "");
	return trace_loop(c);
}

/* Every write and the final close are checked (a full disk, /dev/full): one line and a
 * runtime failure. A reader gone away (EPIPE: | head) is no failure. */
static int finish_output(const struct at_ctx *c, struct output *out, const char *path, int rc)
{
	int err = c->output_errno;
	bool empty = out->f != stdout && !ftell(out->f);

	if ((fflush(out->f) || ferror(out->f)) && !err)
		err = errno ? errno : EIO;
	if (out->f != stdout && fclose(out->f) && !err)
		err = errno ? errno : EIO;
	if (out->created && empty)
		unlink(path); /* made by this run, and nothing to show */
	if (!err || err == EPIPE)
		return rc;
	at_err("cannot write %s%s%s: %s", path ? "'" : "the output", path ? path : "",
	       path ? "'" : "", strerror(err));
	return rc ? rc : AT_EXIT_RUNTIME;
}

int main(int argc, char **argv)
{
	struct at_ctx c = { .go_fd = -1, .exec_fd = -1 };
	struct at_opts o;
	struct utsname un;
	char err[256], levels[32];
	struct output out;
	int rc;

	if (argc > 1 && !strcmp(argv[1], "diff"))
		return diff_main(argc - 2, argv + 2, stdout);
	if (argc > 1 && !strcmp(argv[1], "report"))
		return report_main(argc - 1, argv + 1, AT_VERSION);
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
	if (open_output(&o, &out))
		return AT_EXIT_USAGE;
	c.output = &out;
	uname(&un);
	snprintf(levels, sizeof(levels), "%s%s%s", o.level_os ? ",os" : "",
		 o.level_arena ? ",arena" : "", o.level_heap ? ",heap" : "");
	memmove(levels, levels + 1, strlen(levels));
	c.opts = &o;
	c.meta = (struct out_meta){ .version = AT_VERSION,
				    .kernel = un.release,
				    .duration_s = o.duration_s,
				    .interval_s = o.interval_s,
				    .command = o.cmd ? o.cmd[0] : NULL,
				    .pids = o.pids,
				    .npids = o.npids,
				    .follow_forks = o.follow,
				    .children = o.children,
				    .unwind = !o.stacks	       ? NULL
					      : o.unwind_dwarf ? "dwarf"
							       : "fp",
				    .stack_sample_bytes =
					    o.stacks && o.unwind_dwarf ? o.stack_sample_bytes : 0,
				    .hist = o.hist,
				    .levels = levels,
				    .prom_top = (size_t)o.prom_top,
				    .text_top = (size_t)o.text_top };
	out_init(&c.out, o.ndjson ? OUT_NDJSON : o.format, out.f, o.pretty, &c.meta);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	rc = run(&c);
	at_warn_flush();
	/* Into a file of ours only: an existing one stays as it was. */
	if (rc && rc != AT_EXIT_VANISHED && out.fresh)
		out_error(&c.out, "arenatrace failed; see the message on stderr");
	if (c.go_fd >= 0)
		close(c.go_fd); /* a child still waiting gives up without running CMD */
	/* Reap the command if it is done, and, as time and strace do, end with its status
	 * (128 + N for a signal N) when arenatrace itself did not fail; one still running
	 * (-d, Ctrl-C) is left alone, never killed or waited for. */
	if (c.child > 0) {
		int st;

		if (waitpid(c.child, &st, WNOHANG) == c.child && rc == AT_EXIT_OK && c.released)
			rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	capture_free(&c);
	stacks__free(c.stacks);
	samples__free(c.samples);
	ustack__free(c.ustack);
	heap__free(c.heap);
	arena__free(c.arena);
	exporter__free(c.exporter);
	if (c.has_prom)
		out_close(&c.prom);
	out_close(&c.out);
	loader__free(c.loader);
	model__free(c.model);
	syms_cache_clear();
	debuginfo_end();
	if (c.textfile_errno && (rc == AT_EXIT_OK || rc == AT_EXIT_VANISHED))
		rc = AT_EXIT_RUNTIME;
	return finish_output(&c, &out, o.output, rc);
}
