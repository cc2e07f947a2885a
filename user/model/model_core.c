// SPDX-License-Identifier: GPL-2.0-only
/*
 * The bottom of the model: processes and their owners (allocators and the non-allocator
 * owners below AT_OWNER_FIRST), the return log, and the names of the ABI's enums. Calls
 * nothing above it (docs/design.md, "The model's layers").
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attrib.h"
#include "imap.h"
#include "model.h"
#include "model_priv.h"
#include "procfs.h"

static const char *const ret_names[] = {
	"munmap",     "madv_dontneed", "madv_free", "madv_remove",
	"brk_shrink", "mremap_shrink", "decommit",
};
_Static_assert(AT_ARRAY_SIZE(ret_names) == AT_RET_NR, "a return kind without a name");
static const char *const sys_names[] = {
	"mmap", "munmap", "mremap", "brk", "madvise", "mprotect", "process_madvise",
};
_Static_assert(AT_ARRAY_SIZE(sys_names) == AT_SYS_NR, "a syscall without a name");

static const char *const drop_names[] = {
	[AT_DROP_RINGBUF_FULL] = "ringbuf_full",
	[AT_DROP_PROCS_FULL] = "procs_full",
	[AT_DROP_HEAP_STATS_FULL] = "heap_stats_full",
	[AT_DROP_HEAP_LIVE_FULL] = "heap_live_full",
	[AT_DROP_STACK_ID] = "stack_id",
	[AT_DROP_ARENA_CHUNKS_FULL] = "arena_chunks_full",
	[AT_DROP_ARENA_NEST] = "arena_nest",
	[AT_DROP_USTACK] = "ustack",
	[AT_DROP_EXIT_VMAS] = "exit_vmas",
};
_Static_assert(AT_ARRAY_SIZE(drop_names) == AT_DROP_NR, "a drop reason without a name");

/* Kinds start at 1: slot 0 names an unknown kind. */
static const char *const proc_kind_names[] = {
	[0] = "?",
	[AT_PROC_FORK] = "fork",
	[AT_PROC_EXEC] = "exec",
	[AT_PROC_EXIT] = "exit",
};
_Static_assert(AT_ARRAY_SIZE(proc_kind_names) == AT_PROC_NR, "a process event without a name");
static const char *const arena_kind_names[] = {
	[0] = "?",
	[AT_AK_CHUNK_ALLOC] = "chunk_alloc",
	[AT_AK_CHUNK_FREE] = "chunk_free",
	[AT_AK_RESET] = "reset",
	[AT_AK_BUMP_SLOW] = "bump_slow",
	[AT_AK_BUMP_RESET] = "bump_reset",
	[AT_AK_BUMP_DROP] = "bump_drop",
	[AT_AK_OBSTACK_NEW] = "obstack_new",
	[AT_AK_OBSTACK_FREE] = "obstack_free",
	[AT_AK_INTERNAL] = "internal",
	[AT_AK_CHUNK_FREED] = "chunk_freed",
	[AT_AK_USDT] = "usdt",
};
_Static_assert(AT_ARRAY_SIZE(arena_kind_names) == AT_AK_NR, "an arena event without a name");

const char *model_proc_kind_name(uint32_t k)
{
	return k < AT_PROC_NR ? proc_kind_names[k] : "?";
}

const char *model_arena_kind_name(uint32_t k)
{
	return k < AT_AK_NR ? arena_kind_names[k] : "?";
}

const char *model_drop_name(enum at_drop d)
{
	return d < AT_DROP_NR ? drop_names[d] : "?";
}

static const char *const evidence_names[] = {
	[AT_EV_TRACED] = "traced", [AT_EV_HEADER] = "header",	[AT_EV_BOOKS] = "books",
	[AT_EV_CALLER] = "caller", [AT_EV_POINTER] = "pointer", [AT_EV_INFERRED] = "inferred",
};
_Static_assert(AT_ARRAY_SIZE(evidence_names) == AT_EV_NR, "an evidence without a name");
_Static_assert(AT_EV_NR <= (IMAP_F_EV_MASK >> IMAP_F_EV_SHIFT) + 1, "evidence fits its bits");

const char *model_evidence_name(enum at_evidence e)
{
	return e < AT_EV_NR ? evidence_names[e] : "?";
}

const char *model_origin_name(uint32_t origin)
{
	static const char *const names[AT_ORIGIN_NR] = {
		[AT_ORIGIN_COMMAND] = "command",
		[AT_ORIGIN_PID] = "pid",
		[AT_ORIGIN_DESCENDANT] = "children",
		[AT_ORIGIN_FORK] = "fork",
		[AT_ORIGIN_ALL] = "all",
		[AT_ORIGIN_EXEC] = "exec",
	};

	return origin < AT_ORIGIN_NR ? names[origin] : "?";
}

const char *model_ret_name(enum at_ret r)
{
	return r < AT_RET_NR ? ret_names[r] : "?";
}

void model_lat_bounds(uint32_t slot, uint64_t sample_ms, uint64_t *low, uint64_t *high)
{
	*low = slot ? sample_ms << (slot - 1) : 0;
	*high = slot + 1 < AT_LAT_SLOTS ? sample_ms << slot : UINT64_MAX;
}

const char *model_source_name(enum at_source s)
{
	return s == AT_SRC_BOOKS ? "books" : s == AT_SRC_HEAP ? "heap" : NULL;
}

const char *model_sys_name(enum at_sys s)
{
	return s < AT_SYS_NR ? sys_names[s] : "?";
}

struct proc *model_find_proc(const struct model *m, int pid)
{
	/* Newest first: a recycled pid belongs to the latest process that had it. */
	for (size_t i = 0; i < m->nalive; i++)
		if (m->alive[i]->r.pid == pid)
			return m->alive[i];
	return NULL;
}

void model_proc_exited(struct model *m, struct proc *p)
{
	size_t i = p->alive_idx;

	if (i >= m->nalive || m->alive[i] != p)
		return;
	m->alive[i] = m->alive[--m->nalive];
	m->alive[i]->alive_idx = i;
}

int model_owner_id(struct proc *p, const char *name, bool is_allocator)
{
	struct alloc *a;

	for (size_t i = 0; i < p->nallocs; i++)
		if (!strcmp(p->allocs[i].name, name))
			return (int)i;
	if (p->nallocs == AT_MAX_OWNERS)
		return AT_OWNER_UNKNOWN;
	if (p->nallocs == p->allocs_cap) {
		size_t cap = p->allocs_cap ? 2 * p->allocs_cap : 8;

		a = realloc(p->allocs, cap * sizeof(*a));
		if (!a)
			return AT_OWNER_UNKNOWN;
		p->allocs = a;
		p->allocs_cap = cap;
	}
	a = &p->allocs[p->nallocs];
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->r.is_allocator = is_allocator;
	return (int)p->nallocs++;
}

void model_alloc_free(struct alloc *a)
{
	free(a->log);
	free(a->log_flat);
	free(a->tl);
	free(a->tl_flat);
	lat_release(&a->lat);
}

void model_reset_owners(struct proc *p)
{
	for (size_t i = 0; i < p->nallocs; i++)
		model_alloc_free(&p->allocs[i]);
	p->nallocs = 0;
	model_owner_id(p, "unknown", false);
	model_owner_id(p, "stack", false);
	model_owner_id(p, "ld.so", false);
}

void model_reset_timeline(struct proc *p)
{
	p->tl_head = p->tl_n = 0;
	p->r.timeline_omitted = 0;
}

/* What the bottom layer owns of a process (the arena level frees its own first). */
void model_proc_free(struct proc *p)
{
	if (!p)
		return;
	imap__free(p->im);
	attrib__free(p->attrib);
	for (size_t i = 0; i < p->nallocs; i++)
		model_alloc_free(&p->allocs[i]);
	free(p->allocs);
	free(p->rep_allocs);
	free(p->tl);
	free(p->tl_flat);
	free(p->stacks);
	free(p->findings);
	if (p->pagemap_fd >= 0)
		close(p->pagemap_fd);
	free(p);
}

struct proc *model_proc_new(struct model *m, int pid)
{
	struct proc *p, *old;

	if (m->nprocs == m->lim.max_procs) {
		m->drops.procs_full++;
		errno = ENOSPC;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pagemap_fd = -1;
	p->r.pid = pid;
	p->im = imap__new(m->lim.max_segs);
	p->attrib = attrib__new(pid);
	if (p->im && p->attrib)
		model_reset_owners(p);
	if (!p->im || !p->attrib || p->nallocs != AT_OWNER_FIRST) {
		model_proc_free(p);
		errno = ENOMEM;
		return NULL;
	}
	/* A pid is alive in one process at a time: an older one still holding it (its exit
	 * record lost) is found no more, as the newest always won. */
	old = model_find_proc(m, pid);
	if (old)
		model_proc_exited(m, old);
	m->procs[m->nprocs++] = p;
	p->alive_idx = m->nalive;
	m->alive[m->nalive++] = p;
	return p;
}

void model_set_comm(struct proc *p, const char *comm)
{
	snprintf(p->comm, sizeof(p->comm), "%s", comm);
}

void model_read_cgroup(struct proc *p)
{
	if (procfs_read_cgroup(p->r.pid, p->cgroup, sizeof(p->cgroup)))
		return;
	procfs_cgroup_unit(p->cgroup, p->unit, sizeof(p->unit));
	procfs_cgroup_container(p->cgroup, p->container, sizeof(p->container));
}

void model_open_pagemap(struct proc *p)
{
	char path[64];

	if (p->pagemap_fd >= 0)
		close(p->pagemap_fd);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", p->r.pid);
	p->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
}

void model_note_retained(const struct model *m, struct alloc *a, uint64_t v, uint64_t live,
			 uint64_t now_ns)
{
	/* A change is a move of at least a growth_samples'th of the finding's minimum: the
	 * allocator's small ups and downs (a sample in the middle of a batch, the top chunk)
	 * are not batches, and would break or fake a run of rises. */
	uint64_t grain =
		m->lim.growth_samples ? m->lim.finding_min_bytes / m->lim.growth_samples : 0;
	uint64_t prev = a->ngrowth ? a->growth[a->ngrowth - 1].retained : 0;

	if (a->ngrowth && (v > prev ? v - prev : prev - v) < (grain ? grain : 1))
		return;
	if (a->ngrowth == AT_ARRAY_SIZE(a->growth)) {
		memmove(a->growth, a->growth + 1, sizeof(a->growth) - sizeof(a->growth[0]));
		a->ngrowth--;
	}
	a->growth[a->ngrowth++] = (struct growth_pt){ v, live, now_ns - m->start_ns };
}

void *model_ring_push(void **buf, size_t elem, size_t *head, size_t *n, size_t *cap, size_t max,
		      uint64_t *omitted)
{
	void *slot;

	if (!max)
		return NULL;
	if (*n == max) {
		(*omitted)++;
		*head = (*head + 1) % max;
		(*n)--;
	} else if (*n == *cap) {
		/* Not wrapped yet (the head moves only once full): it grows in place. */
		size_t c = *cap ? 2 * *cap : 16;
		void *b;

		c = c < max ? c : max;
		b = realloc(*buf, c * elem);
		if (!b) {
			(*omitted)++;
			return NULL;
		}
		*buf = b;
		*cap = c;
	}
	slot = (char *)*buf + ((*head + (*n)++) % max) * elem;
	memset(slot, 0, elem);
	return slot;
}

struct rep_asample *model_alloc_sample(const struct model *m, struct alloc *a)
{
	return model_ring_push((void **)&a->tl, sizeof(*a->tl), &a->tl_head, &a->tl_n, &a->tl_cap,
			       m->lim.timeline_max, &a->r.timeline_omitted);
}

struct rep_asample *model_alloc_sample_at(struct alloc *a, size_t max, uint64_t t_ns)
{
	struct rep_asample *s;

	if (!a->tl_n)
		return NULL;
	s = &a->tl[(a->tl_head + a->tl_n - 1) % max];
	return s->t_ns == t_ns ? s : NULL;
}

void model_log_return(const struct model *m, struct alloc *a, enum at_ret kind, uint64_t t_ns,
		      uint64_t addr, uint64_t bytes)
{
	size_t max = m->lim.return_log_max;

	a->r.ret_bytes[kind] += bytes;
	a->r.ret_count[kind]++;
	a->r.ret_last_ns[kind] = t_ns;
	lat_note_return(&a->lat, t_ns, bytes);
	if (!max)
		return;
	if (!a->log) {
		a->log = calloc(max, sizeof(*a->log));
		if (!a->log)
			return;
	}
	if (a->log_n == max) {
		a->r.returns_omitted++;
		a->log_head = (a->log_head + 1) % max;
		a->log_n--;
	}
	a->log[(a->log_head + a->log_n) % max] =
		(struct rep_return){ .t_ns = t_ns, .addr = addr, .bytes = bytes, .kind = kind };
	a->log_n++;
}

/* Credit the bytes an event returned to each owner it touched, and the event itself (unless
 * sys is AT_SYS_NR) once, under the owner that had most of the range. */
