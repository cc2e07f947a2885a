// SPDX-License-Identifier: GPL-2.0-only
/*
 * The top of the model: its lifetime, the processes' lifecycle (attach, launch, fork, exec,
 * exit) and model_apply, the one entry for every record type, which hands each record to
 * its level's part (docs/design.md, "The model's layers").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attrib.h"
#include "imap.h"
#include "model.h"
#include "model_priv.h"
#include "procfs.h"

struct model *model__new(const struct model_limits *lim, uint64_t start_ns)
{
	struct model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->lim = *lim;
	if (!m->lim.sample_ms)
		m->lim.sample_ms = 1000;
	m->start_ns = m->window_ns = start_ns;
	m->procs = calloc(lim->max_procs ? lim->max_procs : 1, sizeof(*m->procs));
	m->alive = calloc(lim->max_procs ? lim->max_procs : 1, sizeof(*m->alive));
	if (!m->procs || !m->alive) {
		free(m->procs);
		free(m->alive);
		free(m);
		return NULL;
	}
	return m;
}

static void proc_destroy(struct proc *p)
{
	if (!p)
		return;
	model_arena_free(p);
	model_proc_free(p);
}

void model__free(struct model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nprocs; i++)
		proc_destroy(m->procs[i]);
	free(m->procs);
	free(m->alive);
	free(m->rep_procs);
	free(m);
}

int model_add_running(struct model *m, int pid)
{
	struct proc_stat st;
	struct proc *p;
	int err;

	err = procfs_read_stat(pid, &st);
	if (err)
		return err;
	p = model_proc_new(m, pid);
	if (!p)
		return -errno;
	model_set_comm(p, st.comm);
	p->r.ppid = st.ppid;
	p->r.attached_running = true;
	model_read_cgroup(p);
	p->r.heap_partial = true;
	p->r.origin = AT_ORIGIN_PID;
	err = model_os_preload(p, &st);
	attrib_refresh(p->attrib);
	model_open_pagemap(p);
	return err;
}

int model_add_launched(struct model *m, int pid)
{
	struct proc *p = model_proc_new(m, pid);

	if (!p)
		return -errno;
	model_set_comm(p, "(exec)");
	model_read_cgroup(p);
	p->r.origin = AT_ORIGIN_COMMAND;
	return 0;
}

int model_set_uprobes_at(struct model *m, int pid, uint64_t since_ns, uint64_t ns, bool exec)
{
	struct proc *p = model_find_proc(m, pid);

	if (!p)
		return -ESRCH;
	p->uprobes_at_ns = ns;
	p->r.has_uprobes_after = true;
	p->r.uprobes_after_exec = exec;
	p->r.uprobes_after_ns = ns > since_ns ? ns - since_ns : 0;
	p->r.heap_partial = true;
	return 0;
}

int model_set_origin(struct model *m, int pid, enum at_origin origin)
{
	struct proc *p = model_find_proc(m, pid);

	if (!p)
		return -ESRCH;
	p->r.origin = origin;
	return 0;
}

static int apply_proc(struct model *m, const struct at_proc_rec *r)
{
	struct proc *p = model_find_proc(m, (int)r->hdr.pid), *parent;
	char comm[17];

	memcpy(comm, r->comm, 16);
	comm[16] = '\0';
	switch (r->hdr.kind) {
	case AT_PROC_FORK:
		parent = model_find_proc(m, (int)r->ppid);
		if (p || !(p = model_proc_new(m, (int)r->hdr.pid)))
			return 0;
		model_set_comm(p, comm);
		model_read_cgroup(p);
		p->r.ppid = (int)r->ppid;
		p->r.origin = AT_ORIGIN_FORK;
		/* Traced from its birth (the kernel's fork hook), with its parent's picture at
		 * the fork: the parent's mappings, owners and flags, so memory the parent had
		 * from before the trace stays so in the child, and memory the trace saw mapped
		 * stays traced. A child of a process traced whole is traced whole. Its uprobes
		 * come after its birth (they are per process): its heap counters miss the
		 * start. Without the parent's record the child's past is unknown. */
		p->r.attached_running = !parent || parent->r.attached_running;
		p->r.heap_partial = true;
		if (parent) {
			for (size_t i = AT_OWNER_FIRST; i < parent->nallocs; i++)
				model_owner_id(p, parent->allocs[i].name,
					       parent->allocs[i].r.is_allocator);
			model_os_inherit(p, parent);
		}
		attrib_refresh(p->attrib);
		model_open_pagemap(p);
		break;
	case AT_PROC_EXEC:
		if (!p)
			return 0;
		model_set_comm(p, comm);
		model_read_cgroup(p);
		p->r.execs++;
		imap_clear(p->im);
		p->nlate = 0;
		model_reset_owners(p);
		model_reset_timeline(p);
		model_arena_free(p); /* the old program's arenas are gone with it */
		p->brk_known = false;
		p->r.attached_running = false;
		/* The new program is whole at the heap level unless its probes came after this
		 * exec (a child probed late, when it had exec'd already). */
		p->r.heap_partial = p->uprobes_at_ns > r->hdr.ts_ns;
		p->r.has_uprobes_after = p->r.heap_partial;
		p->r.uprobes_after_exec = true;
		p->r.uprobes_after_ns = p->r.heap_partial ? p->uprobes_at_ns - r->hdr.ts_ns : 0;
		attrib_refresh(p->attrib);
		model_open_pagemap(p);
		break;
	case AT_PROC_EXIT:
		if (!p)
			return 0;
		p->r.exited = true;
		model_proc_exited(m, p);
		if (p->pagemap_fd >= 0) {
			close(p->pagemap_fd);
			p->pagemap_fd = -1;
		}
		break;
	default:
		break;
	}
	return 0;
}

int model_apply(struct model *m, const void *rec, size_t len, const struct at_probe_info *probe)
{
	const struct at_rec_hdr *h = rec;

	if (len < sizeof(*h))
		return -EINVAL;
	m->rep.records++;
	if (h->type == AT_REC_SYSCALL && len >= sizeof(struct at_sys_rec))
		return model_os_apply(m, rec);
	if (h->type == AT_REC_PROC && len >= sizeof(struct at_proc_rec))
		return apply_proc(m, rec);
	if (h->type == AT_REC_ARENA && len >= sizeof(struct at_arena_rec)) {
		model_arena_apply(m, rec, probe);
		return 0;
	}
	return -EINVAL;
}

void model_set_bpf_drops(struct model *m, const uint64_t drops[AT_DROP_NR])
{
	memcpy(m->bpf_drops, drops, sizeof(m->bpf_drops));
}

void model_set_health(struct model *m, const struct rep_health *h)
{
	m->rep.health = *h;
}

void model_for_each_alive(const struct model *m, void (*fn)(void *arg, int pid), void *arg)
{
	for (size_t i = 0; i < m->nprocs; i++)
		if (!m->procs[i]->r.exited)
			fn(arg, m->procs[i]->r.pid);
}

bool model_any_alive(const struct model *m)
{
	for (size_t i = 0; i < m->nprocs; i++)
		if (!m->procs[i]->r.exited)
			return true;
	return false;
}

bool model_is_alive(const struct model *m, int pid)
{
	return model_find_proc(m, pid) != NULL;
}

void model_prune_exited(struct model *m)
{
	size_t k = 0;

	for (size_t i = 0; i < m->nprocs; i++) {
		if (m->procs[i]->r.exited)
			proc_destroy(m->procs[i]);
		else
			m->procs[k++] = m->procs[i];
	}
	m->nprocs = k;
}
