// SPDX-License-Identifier: GPL-2.0-only
#include "pipeline.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attrib.h"
#include "log.h"
#include "needed.h"
#include "procfs.h"
#include "syms.h"

/* Its links go to the loader's reaper thread (their teardown waits for the kernel). */
static void probeset_release(struct loader *l, struct probeset *p)
{
	for (size_t i = 0; i < p->nlinks; i++)
		loader_link__retire(l, p->links[i]);
	free(p->links);
	free(p->done);
	memset(p, 0, sizeof(*p));
}

static bool probeset_first(struct probeset *p, struct file_id file, uint64_t off)
{
	for (size_t i = 0; i < p->ndone; i++)
		if (file_id_eq(p->done[i].file, file) && p->done[i].off == off)
			return false;
	if (at_grow(&p->done, p->ndone, &p->done_cap, sizeof(p->done[0]), 1))
		return false;
	p->done[p->ndone++] = (struct probe_point){ file, off };
	return true;
}

/* Adds file; false if it was there already (or memory ran out). */
static bool fileset_add(struct fileset *s, struct file_id file)
{
	for (size_t i = 0; i < s->n; i++)
		if (file_id_eq(s->f[i], file))
			return false;
	if (at_grow(&s->f, s->n, &s->cap, sizeof(*s->f), 1))
		return false;
	s->f[s->n++] = file;
	return true;
}

bool probe_file_first(struct probe_file *f, uint64_t off)
{
	return probeset_first(f->owner, f->file, off);
}

int probe_file_push(struct probe_file *f, uint64_t off, uint64_t cookie, bool entry_only)
{
	if (at_grow(&f->specs, f->nspecs, &f->cap, sizeof(f->specs[0]), 1))
		return -ENOMEM;
	f->specs[f->nspecs++] = (struct loader_probe_spec){ .off = off,
							    .cookie = cookie,
							    .entry_only = entry_only };
	return 0;
}

void probe_pipe_init(struct probe_pipe *pp, struct loader *l, const struct probe_level *lv,
		     void *ctx, bool all)
{
	memset(pp, 0, sizeof(*pp));
	pp->loader = l;
	pp->lv = lv;
	pp->ctx = ctx;
	pp->all = all;
	pp->global.pid = -1;
}

void probe_pipe_release(struct probe_pipe *pp)
{
	for (size_t i = 0; i < pp->nprocs; i++)
		probeset_release(pp->loader, &pp->procs[i].ps);
	probeset_release(pp->loader, &pp->global);
	free(pp->procs);
	free(pp->scanned.f);
	memset(pp, 0, sizeof(*pp));
}

struct probe_proc *probe_pipe_find(struct probe_pipe *pp, int pid)
{
	for (size_t i = 0; i < pp->nprocs; i++)
		if (pp->procs[i].ps.pid == pid)
			return &pp->procs[i];
	return NULL;
}

/* The entry of pid, made in a free slot or a new one. */
static struct probe_proc *proc_get(struct probe_pipe *pp, int pid)
{
	struct probe_proc *p = probe_pipe_find(pp, pid), *n;

	if (!p)
		p = probe_pipe_find(pp, -1);
	if (!p) {
		n = realloc(pp->procs, (pp->nprocs + 1) * sizeof(*n));
		if (!n)
			return NULL;
		pp->procs = n;
		p = &n[pp->nprocs++];
	}
	if (p->ps.pid != pid) {
		memset(p, 0, sizeof(*p));
		p->ps.pid = pid;
	}
	return p;
}

void probe_pipe_forget(struct probe_pipe *pp, int pid)
{
	struct probe_proc *p = probe_pipe_find(pp, pid);

	if (!p)
		return;
	probeset_release(pp->loader, &p->ps);
	p->nids = 0;
	p->ps.pid = -1;
}

static int attach(struct probe_pipe *pp, struct probe_file *f)
{
	struct probeset *o = f->owner;
	int err = loader_uprobes_attach(pp->loader, pp->lv->level, o->pid, f->path, f->specs,
					f->nspecs, &o->links, &o->nlinks);

	/* Said once they are in place: from then on every call counts (tests and scripts
	 * wait for this line before their workloads start). */
	if (err == -ENOENT || err == -ESRCH)
		/* The process exited meanwhile (its /proc/PID/root with it): normal under
		 * fork churn, not an error. */
		at_note(1, "%s probes not attached to '%s': the process is gone", pp->lv->name,
			f->path);
	else if (err)
		at_warn("cannot attach the %s probes to '%s': %s", pp->lv->name, f->path,
			strerror(-err));
	else if (pp->lv->attached)
		pp->lv->attached(pp->ctx, f);
	return err;
}

/* One file of process p: its points found by the level, then attached. */
static int probe_file(struct probe_pipe *pp, struct probe_proc *p, const char *path,
		      const char *name)
{
	struct probe_file f = { .path = path, .name = name, .fd = -1, .proc = p };
	const char *lib = attrib_library(name);
	struct syms *s;
	struct stat st;
	int err;

	if (stat(path, &st))
		return -errno; /* the process is gone (its /proc/PID/root with it) */
	f.file = file_id_of(&st);
	f.owner = pp->all ? &pp->global : &p->ps;
	if (pp->all && !fileset_add(&pp->scanned, f.file)) {
		/* Probed for every process already. */
		if (pp->lv->known)
			pp->lv->known(pp->ctx, p, f.file);
		return 0;
	}
	s = syms__new(path);
	if (!s || (lib && !syms_count(s))) {
		/* Not an ELF file is no allocator; a malformed one named like one (no ELF, or
		 * no function in it) is skipped with one warning, and the rest of the process
		 * is probed. */
		int e = s ? ENOEXEC : errno;

		syms__free(s);
		if (e == ENOEXEC && lib)
			at_warn("'%s' is named like %s but is not a valid library: not probed",
				path, lib);
		else if (e != ENOEXEC && e != ENOENT)
			at_warn("'%s' is not probed: %s", path, strerror(e));
		return e == ENOMEM ? -ENOMEM : 0;
	}
	f.syms = s;
	/* Without its code the probes go on the functions' entries. */
	f.fd = open(path, O_RDONLY | O_CLOEXEC);
	err = pp->lv->scan(pp->ctx, &f);
	if (f.fd >= 0)
		close(f.fd);
	if (!err && f.nspecs)
		err = attach(pp, &f);
	free(f.specs);
	syms__free(s);
	/* One bad file (malformed, named like an allocator) is skipped, not the process:
	 * attach() said why; the rest of its files are probed. */
	return err == -ENOMEM ? err : 0;
}

/* The process whose files probe_pipe_running or probe_pipe_launch probes. */
struct walk {
	struct probe_pipe *pp;
	struct probe_proc *p;
	const char *exe; /* launch: the executable */
};

static int running_file(void *arg, const char *path, const char *name)
{
	struct walk *w = arg;

	return probe_file(w->pp, w->p, path, name);
}

static int launch_file(void *arg, const char *path)
{
	struct walk *w = arg;
	const struct probe_level *lv = w->pp->lv;

	const char *slash = strrchr(path, '/');

	if (lv->launch_wants && !lv->launch_wants(w->pp->ctx, path, w->exe))
		return 0;
	return probe_file(w->pp, w->p, path, slash ? slash + 1 : path);
}

int probe_pipe_running(struct probe_pipe *pp, int pid)
{
	struct walk w = { .pp = pp, .p = proc_get(pp, pid) };

	return w.p ? procfs_each_exec_file(pid, running_file, &w) : -ENOMEM;
}

int probe_pipe_launch(struct probe_pipe *pp, int pid, const char *exe)
{
	struct walk w = { .pp = pp, .p = proc_get(pp, pid), .exe = exe };

	return w.p ? needed_launch_files(exe, launch_file, &w) : -ENOMEM;
}
