// SPDX-License-Identifier: GPL-2.0-only
/* The targets of a run: processes given with -p, every process with -a, or a command
 * launched under trace, stopped before its exec until everything is in place. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app.h"
#include "arena.h"
#include "heap.h"
#include "loader.h"
#include "log.h"
#include "model.h"
#include "procfs.h"
#include "stacks.h"

/* Uprobes of the heap and arena levels for a process now running, or (exe) for the files a
 * process will map after its exec. */
int targets_probe_running(struct at_ctx *c, int pid)
{
	int err = c->heap ? heap_attach_running(c->heap, pid) : 0;

	/* --stacks: its mappings now, while they can be read: should it exit before a report,
	 * the kernel's exit record names its files by their last component alone. */
	if (c->stacks && heap_has_pid(c->heap, pid))
		stacks_refresh(c->stacks, pid);

	if (!err && c->arena)
		err = arena_attach_running(c->arena, pid);
	return err;
}

int targets_probe_launch(struct at_ctx *c, int pid, const char *exe)
{
	int err = c->heap ? heap_attach_launch(c->heap, pid, exe) : 0;

	/* --stacks: the program's path, known by its inode should it exit before its mappings
	 * are read. */
	if (c->stacks && exe)
		stacks_note_file(c->stacks, exe);
	if (!err && c->arena)
		err = arena_attach_launch(c->arena, pid, exe);
	return err;
}

int targets_check(int pid)
{
	struct proc_stat st;
	char maps[64];
	int fd;

	if (procfs_read_stat(pid, &st)) {
		at_err("no process with pid %d", pid);
		return AT_EXIT_TARGET;
	}
	if (st.flags & AT_PF_KTHREAD) {
		at_err("pid %d (%s) is a kernel thread: it has no user memory to trace", pid,
		       st.comm);
		return AT_EXIT_TARGET;
	}
	if (st.state == 'Z') {
		at_err("pid %d (%s) has already exited (zombie)", pid, st.comm);
		return AT_EXIT_TARGET;
	}
	/* Opened, not access(): the kernel checks ptrace access at open, and root can be
	 * refused too (another user namespace's init, a process that is not dumpable). */
	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	fd = open(maps, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		at_err("cannot read the memory map of pid %d (%s): %s%s", pid, st.comm,
		       strerror(errno),
		       errno == EACCES || errno == EPERM
			       ? " (ptrace access refused: another user namespace, or not dumpable)"
			       : "");
		return AT_EXIT_TARGET;
	}
	close(fd);
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

int targets_release_child(struct at_ctx *c)
{
	int e = 0;
	ssize_t n;

	if (write(c->go_fd, "g", 1) != 1)
		return -errno;
	c->released = true;
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
	/* Unwind sites before tracing: a syscall made in between is attributed as well. */
	loader_add_process(c->loader, pid);
	if (loader_trace_pid(c->loader, pid, true, true) || model_add_running(c->model, pid))
		return;
	model_set_origin(c->model, pid, AT_ORIGIN_ALL);
	targets_probe_running(c, pid);
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
	targets_probe_launch(c, getpid(), NULL);
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

/* Traces a process now running (-p, --children): its unwind sites first, so that a syscall
 * it makes while arenatrace attaches finds its caller like any other (issue 12: attribution
 * must not depend on the attach window), then the kernel's traced map, the model, the
 * probes. */
static int trace_running(struct at_ctx *c, int pid, enum at_origin origin)
{
	int err = loader_add_process(c->loader, pid);

	if (!err)
		err = loader_trace_pid(c->loader, pid, c->opts->follow, true);
	if (!err)
		err = model_add_running(c->model, pid);
	if (!err)
		err = model_set_origin(c->model, pid, origin);
	if (!err)
		err = targets_probe_running(c, pid);
	return err;
}

/* --children: the descendants of the -p targets running now, from the parent pids in
 * /proc/PID/stat (a pass over /proc for each generation found). A child forked after its
 * parent was traced is followed by the kernel already (and is in the model: skipped). One
 * that exits meanwhile is simply not there. */
static void trace_descendants(struct at_ctx *c)
{
	bool more = true;

	while (more) {
		DIR *d = opendir("/proc");
		struct dirent *e;

		more = false;
		if (!d)
			return;
		while ((e = readdir(d))) {
			struct proc_stat st;
			char *end;
			long pid = strtol(e->d_name, &end, 10);

			if (*end || pid <= 0 || pid == getpid() ||
			    model_is_alive(c->model, (int)pid) || procfs_read_stat((int)pid, &st) ||
			    st.state == 'Z' || (st.flags & AT_PF_KTHREAD) ||
			    !model_is_alive(c->model, st.ppid))
				continue;
			if (!trace_running(c, (int)pid, AT_ORIGIN_DESCENDANT))
				more = true; /* its own children may come later in /proc */
			else
				at_note(1, "descendant %ld not traced: it exited", pid);
		}
		closedir(d);
	}
}

int targets_setup(struct at_ctx *c)
{
	const struct at_opts *o = c->opts;
	char exe[PATH_MAX];
	int err;

	if (o->all)
		return adopt_all(c);
	for (size_t i = 0; i < o->npids; i++) {
		err = trace_running(c, o->pids[i], AT_ORIGIN_PID);
		if (err == -ENOENT || err == -ESRCH) {
			at_err("pid %d exited while arenatrace attached", o->pids[i]);
			return AT_EXIT_TARGET;
		}
		if (err) {
			at_err("cannot trace pid %d: %s", o->pids[i], strerror(-err));
			return AT_EXIT_RUNTIME;
		}
	}
	if (o->children)
		trace_descendants(c);
	if (!o->cmd)
		return 0;
	/* The command will map the same libc as arenatrace; another one is picked up at its
	 * exec. */
	err = loader_add_process(c->loader, getpid());
	if (!err)
		err = launch(c);
	if (!err)
		err = loader_trace_pid(c->loader, c->child, o->follow, false);
	if (!err)
		err = model_add_launched(c->model, c->child);
	if (!err)
		err = targets_probe_launch(c, c->child, resolve_command(o->cmd[0], exe));
	if (err) {
		at_err("cannot start '%s': %s", o->cmd[0], strerror(-err));
		return AT_EXIT_RUNTIME;
	}
	return 0;
}
