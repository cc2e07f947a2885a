// SPDX-License-Identifier: GPL-2.0-only
#include "model.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "attrib.h"
#include "imap.h"
#include "model_priv.h"
#include "procfs.h"

static const char *const ret_names[] = {
	"munmap", "madv_dontneed", "madv_free", "madv_remove", "brk_shrink", "mremap_shrink",
	"decommit",
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

const char *model_ret_name(enum at_ret r)
{
	return r < AT_RET_NR ? ret_names[r] : "?";
}

const char *model_sys_name(enum at_sys s)
{
	return s < AT_SYS_NR ? sys_names[s] : "?";
}

struct model *model__new(const struct model_limits *lim, uint64_t start_ns)
{
	struct model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->lim = *lim;
	m->start_ns = m->window_ns = start_ns;
	m->procs = calloc(lim->max_procs ? lim->max_procs : 1, sizeof(*m->procs));
	if (!m->procs) {
		free(m);
		return NULL;
	}
	return m;
}

static void proc_free(struct proc *p)
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
	model_arena_free(p);
	free(p->findings);
	if (p->pagemap_fd >= 0)
		close(p->pagemap_fd);
	free(p);
}

void model__free(struct model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nprocs; i++)
		proc_free(m->procs[i]);
	free(m->procs);
	free(m->rep_procs);
	free(m);
}

struct proc *model_find_proc(const struct model *m, int pid)
{
	/* Newest first: a recycled pid belongs to the latest process that had it. */
	for (size_t i = m->nprocs; i > 0; i--)
		if (m->procs[i - 1]->r.pid == pid && !m->procs[i - 1]->r.exited)
			return m->procs[i - 1];
	return NULL;
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
	free(a->freed);
	free(a->returned);
}

static void reset_owners(struct proc *p)
{
	for (size_t i = 0; i < p->nallocs; i++)
		model_alloc_free(&p->allocs[i]);
	p->nallocs = 0;
	model_owner_id(p, "unknown", false);
	model_owner_id(p, "stack", false);
	model_owner_id(p, "ld.so", false);
}

static void reset_timeline(struct proc *p)
{
	p->tl_head = p->tl_n = 0;
	p->r.timeline_omitted = 0;
}

static struct proc *new_proc(struct model *m, int pid)
{
	struct proc *p;

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
		reset_owners(p);
	if (!p->im || !p->attrib || p->nallocs != AT_OWNER_FIRST) {
		proc_free(p);
		errno = ENOMEM;
		return NULL;
	}
	m->procs[m->nprocs++] = p;
	return p;
}

static void set_comm(struct proc *p, const char *comm)
{
	snprintf(p->comm, sizeof(p->comm), "%s", comm);
}

static void open_pagemap(struct proc *p)
{
	char path[64];

	if (p->pagemap_fd >= 0)
		close(p->pagemap_fd);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", p->r.pid);
	p->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
}

struct preload {
	struct proc *p;
	struct maps_entry prev;
	bool have_prev;
};

/* Anonymous memory already there at attach. [heap] is glibc's brk heap; a 4 KiB PROT_NONE
 * guard right below a writable region is a thread stack; a region at a 64 MiB boundary
 * whose writable head and PROT_NONE tail span 64 MiB is a glibc thread heap. */
static int preload_entry(const struct maps_entry *e, void *arg)
{
	struct preload *pl = arg;
	struct proc *p = pl->p;
	const char *path = e->path;
	int owner = AT_OWNER_UNKNOWN;

	if (e->inode || (path[0] && strcmp(path, "[heap]") && strncmp(path, "[anon:", 6))) {
		pl->have_prev = false;
		return 0;
	}
	if (!strcmp(path, "[heap]")) {
		owner = model_owner_id(p, "glibc", true);
		p->brk_cur = e->end;
	} else if (pl->have_prev && pl->prev.end == e->start && !pl->prev.prot &&
		   pl->prev.end - pl->prev.start == AT_PAGE_SIZE && (e->prot & PROT_WRITE)) {
		owner = AT_OWNER_STACK;
		imap_insert(p->im, pl->prev.start, pl->prev.end, AT_OWNER_STACK, 0, IMAP_F_PRE,
			    NULL, NULL);
	} else if (pl->have_prev && pl->prev.end == e->start && !e->prot && pl->prev.prot &&
		   !(pl->prev.start & ((64ull << 20) - 1)) &&
		   e->end - pl->prev.start == (64ull << 20)) {
		owner = model_owner_id(p, "glibc", true);
		imap_insert(p->im, pl->prev.start, pl->prev.end, (uint16_t)owner, pl->prev.prot,
			    IMAP_F_PRE, NULL, NULL);
	}
	imap_insert(p->im, e->start, e->end, (uint16_t)owner, e->prot, IMAP_F_PRE, NULL, NULL);
	pl->prev = *e;
	pl->have_prev = true;
	return 0;
}

int model_add_running(struct model *m, int pid)
{
	struct proc_stat st;
	struct preload pl = { 0 };
	struct proc *p;
	int err;

	err = procfs_read_stat(pid, &st);
	if (err)
		return err;
	p = new_proc(m, pid);
	if (!p)
		return -errno;
	set_comm(p, st.comm);
	p->r.ppid = st.ppid;
	p->r.attached_running = true;
	/* With no [heap] yet, the break is still where it started. */
	p->brk_cur = st.start_brk;
	p->brk_known = st.start_brk != 0;
	pl.p = p;
	err = procfs_read_maps(pid, preload_entry, &pl);
	attrib_refresh(p->attrib);
	open_pagemap(p);
	return err;
}

int model_add_launched(struct model *m, int pid)
{
	struct proc *p = new_proc(m, pid);

	if (!p)
		return -errno;
	set_comm(p, "(exec)");
	return 0;
}

/* Accounting of the pieces an event touched. */
struct touch {
	struct proc *p;
	struct model *m;
	enum at_ret kind;     /* AT_RET_NR: no return */
	int new_prot;         /* mprotect / overlay target protection, -1 if none */
	uint64_t ts;
	uint64_t owner_bytes[AT_MAX_OWNERS];
	uint16_t first_owner;
	uint8_t first_prot;
	bool any;
};

static void touch_piece(const struct imap_seg *s, void *arg)
{
	struct touch *t = arg;
	uint64_t bytes = s->end - s->start;

	if (!t->any) {
		t->first_owner = s->owner;
		t->first_prot = s->prot;
		t->any = true;
	}
	if (t->kind == AT_RET_DECOMMIT && !(s->prot && t->new_prot == 0))
		return;
	t->owner_bytes[s->owner] += bytes;
}

static void log_return(struct model *m, struct alloc *a, enum at_ret kind, uint64_t t_ns,
		       uint64_t addr, uint64_t bytes)
{
	size_t max = m->lim.return_log_max;

	a->r.ret_bytes[kind] += bytes;
	a->r.ret_count[kind]++;
	a->r.ret_last_ns[kind] = t_ns;
	model_note_return(a, t_ns, bytes);
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
static void settle(struct touch *t, enum at_sys sys, uint64_t addr)
{
	struct proc *p = t->p;
	size_t best = AT_OWNER_UNKNOWN;
	uint64_t best_bytes = 0;

	for (size_t i = 0; i < p->nallocs; i++) {
		if (!t->owner_bytes[i])
			continue;
		if (t->owner_bytes[i] > best_bytes) {
			best_bytes = t->owner_bytes[i];
			best = i;
		}
		if (t->kind < AT_RET_NR)
			log_return(t->m, &p->allocs[i], t->kind, t->ts, addr, t->owner_bytes[i]);
	}
	if (t->any && sys < AT_SYS_NR)
		p->allocs[best_bytes ? best : t->first_owner].r.events[sys]++;
}

static uint64_t page_up(uint64_t v)
{
	return (v + AT_PAGE_SIZE - 1) & ~(uint64_t)(AT_PAGE_SIZE - 1);
}

static int owner_for(struct proc *p, const struct at_sys_rec *r)
{
	char name[64];
	bool is_alloc = true;

	attrib_classify(p->attrib, r, name, sizeof(name), &is_alloc);
	if (!strcmp(name, "ld.so"))
		return AT_OWNER_LDSO;
	return model_owner_id(p, name, is_alloc);
}

static int apply_mmap(struct model *m, struct proc *p, const struct at_sys_rec *r, uint64_t ts)
{
	uint64_t start = (uint64_t)r->ret, len = page_up(r->args[1]);
	uint64_t prot = r->args[2], flags = r->args[3];
	struct touch t = { .p = p, .m = m, .kind = AT_RET_NR, .ts = ts };
	int owner, err;

	if (!(flags & MAP_ANONYMOUS)) {
		/* A file mapping is not allocator memory; over anonymous memory it replaces it. */
		return imap_remove(p->im, start, start + len, NULL, NULL);
	}
	owner = (flags & MAP_STACK) ? AT_OWNER_STACK : owner_for(p, r);
	if (prot == PROT_NONE) {
		/* MAP_FIXED PROT_NONE over accessible memory decommits it. */
		t.kind = AT_RET_DECOMMIT;
		t.new_prot = 0;
	}
	err = imap_insert(p->im, start, start + len, (uint16_t)owner, (uint8_t)prot, 0, touch_piece,
			  &t);
	if (err)
		return err;
	if (t.kind < AT_RET_NR)
		settle(&t, AT_SYS_NR, start); /* the mmap counts under its caller, below */
	p->allocs[owner].r.events[AT_SYS_MMAP]++;
	p->allocs[owner].r.mapped_total_bytes += len;
	return 0;
}

static int apply_munmap(struct model *m, struct proc *p, const struct at_sys_rec *r, uint64_t ts)
{
	uint64_t start = r->args[0], len = page_up(r->args[1]);
	struct touch t = { .p = p, .m = m, .kind = AT_RET_MUNMAP, .ts = ts };
	int err = imap_remove(p->im, start, start + len, touch_piece, &t);

	if (!err)
		settle(&t, AT_SYS_MUNMAP, start);
	return err;
}

static int apply_mremap(struct model *m, struct proc *p, const struct at_sys_rec *r, uint64_t ts)
{
	uint64_t old = r->args[0], old_len = page_up(r->args[1]), new_len = page_up(r->args[2]);
	uint64_t flags = r->args[3], dst = (uint64_t)r->ret;
	struct touch t = { .p = p, .m = m, .kind = AT_RET_NR, .ts = ts };
	int err;

	imap_visit(p->im, old, old + old_len, touch_piece, &t);
	if (!t.any || !old_len)
		return 0; /* a file mapping, or a duplicate of a shared one */
	if (!(flags & 4 /* MREMAP_DONTUNMAP */)) {
		err = imap_remove(p->im, old, old + old_len, NULL, NULL);
		if (err)
			return err;
	}
	err = imap_insert(p->im, dst, dst + new_len, t.first_owner, t.first_prot, 0, NULL, NULL);
	if (err)
		return err;
	p->allocs[t.first_owner].r.events[AT_SYS_MREMAP]++;
	if (new_len < old_len)
		log_return(m, &p->allocs[t.first_owner], AT_RET_MREMAP_SHRINK, ts, old + new_len,
			   old_len - new_len);
	else
		p->allocs[t.first_owner].r.mapped_total_bytes += new_len - old_len;
	return 0;
}

static int apply_brk(struct model *m, struct proc *p, const struct at_sys_rec *r, uint64_t ts)
{
	uint64_t now = (uint64_t)r->ret;
	int owner = owner_for(p, r);
	int err = 0;

	p->allocs[owner].r.events[AT_SYS_BRK]++;
	if (!p->brk_known) {
		p->brk_cur = now;
		p->brk_known = true;
		return 0;
	}
	if (now > p->brk_cur) {
		uint64_t from = page_up(p->brk_cur), to = page_up(now);

		err = imap_insert(p->im, from, to, (uint16_t)owner, PROT_READ | PROT_WRITE, 0, NULL,
				  NULL);
		if (!err)
			p->allocs[owner].r.mapped_total_bytes += to - from;
	} else if (now < p->brk_cur) {
		struct touch t = { .p = p, .m = m, .kind = AT_RET_BRK_SHRINK, .ts = ts };

		err = imap_remove(p->im, page_up(now), page_up(p->brk_cur), touch_piece, &t);
		if (!err) {
			for (size_t i = 0; i < p->nallocs; i++)
				if (t.owner_bytes[i])
					log_return(m, &p->allocs[i], AT_RET_BRK_SHRINK, ts,
						   page_up(now), t.owner_bytes[i]);
		}
	}
	if (!err)
		p->brk_cur = now;
	return err;
}

static int apply_madvise(struct model *m, struct proc *p, const struct at_sys_rec *r, uint64_t ts)
{
	uint64_t start = r->args[0], len = page_up(r->args[1]);
	struct touch t = { .p = p, .m = m, .kind = AT_RET_NR, .ts = ts };
	uint8_t set = 0, clear = 0;
	int err;

	switch ((int)r->args[2]) {
	case MADV_DONTNEED:
	case 24: /* MADV_DONTNEED_LOCKED */
		t.kind = AT_RET_MADV_DONTNEED;
		clear = IMAP_F_LAZY;
		break;
	case MADV_FREE:
		t.kind = AT_RET_MADV_FREE;
		set = IMAP_F_LAZY;
		break;
	case MADV_REMOVE:
		t.kind = AT_RET_MADV_REMOVE;
		clear = IMAP_F_LAZY;
		break;
	default:
		break;
	}
	err = imap_update(p->im, start, start + len, -1, set, clear, touch_piece, &t);
	if (!err)
		settle(&t, AT_SYS_MADVISE, start);
	return err;
}

static int apply_mprotect(struct model *m, struct proc *p, const struct at_sys_rec *r, uint64_t ts)
{
	uint64_t start = r->args[0], len = page_up(r->args[1]);
	int prot = (int)(r->args[2] & (PROT_READ | PROT_WRITE | PROT_EXEC));
	struct touch t = { .p = p, .m = m, .kind = AT_RET_DECOMMIT, .new_prot = prot, .ts = ts };
	int err = imap_update(p->im, start, start + len, prot, 0, 0, touch_piece, &t);

	/* Only accessible -> PROT_NONE pieces count as returned (touch_piece); a commit
	 * credits the event alone. */
	if (!err)
		settle(&t, AT_SYS_MPROTECT, start);
	return err;
}

static int apply_syscall(struct model *m, const struct at_sys_rec *r)
{
	struct proc *p = model_find_proc(m, (int)r->hdr.pid);
	uint64_t ts = r->hdr.ts_ns > m->start_ns ? r->hdr.ts_ns - m->start_ns : 0;
	int err = 0;

	if (!p) {
		m->drops.unattributed++;
		return 0;
	}
	switch (r->hdr.kind) {
	case AT_SYS_MMAP:
		err = apply_mmap(m, p, r, ts);
		break;
	case AT_SYS_MUNMAP:
		err = apply_munmap(m, p, r, ts);
		break;
	case AT_SYS_MREMAP:
		err = apply_mremap(m, p, r, ts);
		break;
	case AT_SYS_BRK:
		err = apply_brk(m, p, r, ts);
		break;
	case AT_SYS_MADVISE:
		err = apply_madvise(m, p, r, ts);
		break;
	case AT_SYS_MPROTECT:
		err = apply_mprotect(m, p, r, ts);
		break;
	case AT_SYS_PROCESS_MADVISE: {
		/* Advice on another process's memory (via a pidfd): counted, not applied. */
		int owner = owner_for(p, r); /* before p->allocs is read: it may move it */

		p->allocs[owner].r.events[AT_SYS_PROCESS_MADVISE]++;
		break;
	}
	default:
		break;
	}
	if (err == -ENOSPC)
		m->drops.segs_full++;
	return err == -ENOSPC ? 0 : err;
}

static void copy_seg(const struct imap_seg *s, void *arg)
{
	struct imap *dst = arg;

	imap_insert(dst, s->start, s->end, s->owner, s->prot, s->flags | IMAP_F_PRE, NULL, NULL);
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
		if (p || !(p = new_proc(m, (int)r->hdr.pid)))
			return 0;
		set_comm(p, comm);
		p->r.ppid = (int)r->ppid;
		p->r.attached_running = true;
		if (parent) {
			/* The child shares nothing it did itself yet: inherited memory is
			 * pre-existing, still owned by the parent's allocators. */
			for (size_t i = AT_OWNER_FIRST; i < parent->nallocs; i++)
				model_owner_id(p, parent->allocs[i].name, parent->allocs[i].r.is_allocator);
			imap_visit(parent->im, 0, UINT64_MAX, copy_seg, p->im);
			p->brk_cur = parent->brk_cur;
			p->brk_known = parent->brk_known;
		}
		attrib_refresh(p->attrib);
		open_pagemap(p);
		break;
	case AT_PROC_EXEC:
		if (!p)
			return 0;
		set_comm(p, comm);
		imap_clear(p->im);
		reset_owners(p);
		reset_timeline(p);
		model_arena_free(p); /* the old program's arenas are gone with it */
		p->brk_known = false;
		p->r.attached_running = false;
		attrib_refresh(p->attrib);
		open_pagemap(p);
		break;
	case AT_PROC_EXIT:
		if (!p)
			return 0;
		p->r.exited = true;
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

int model_apply(struct model *m, const void *rec, size_t len)
{
	const __u32 *type = rec;

	if (len < sizeof(*type))
		return -EINVAL;
	m->rep.records++;
	if (*type == AT_REC_SYSCALL && len >= sizeof(struct at_sys_rec))
		return apply_syscall(m, rec);
	if (*type == AT_REC_PROC && len >= sizeof(struct at_proc_rec))
		return apply_proc(m, rec);
	return -EINVAL;
}

struct residency {
	struct proc *p;
	uint64_t traced[AT_MAX_OWNERS];
	uint64_t pre[AT_MAX_OWNERS];
};

void model_sample(struct model *m, uint64_t now_ns)
{
	for (size_t i = 0; i < m->nprocs; i++) {
		struct proc *p = m->procs[i];
		struct residency res = { .p = p };
		struct rep_sample s = { .t_ns = now_ns - m->start_ns };
		size_t n = imap_count(p->im), max = m->lim.timeline_max;

		if (p->r.exited || p->pagemap_fd < 0)
			continue;
		if (procfs_read_smaps_rollup(p->r.pid, &p->r.rss_bytes, &p->r.lazyfree_bytes))
			continue; /* gone: keep the last sample */
		for (size_t k = 0; k < n; k++) {
			const struct imap_seg *g = imap_at(p->im, k);
			uint64_t b = 0;

			/* PROT_NONE pages can be resident too (mprotect keeps them). */
			if (!procfs_resident(p->pagemap_fd, g->start, g->end, &b)) {
				if (g->flags & IMAP_F_PRE)
					res.pre[g->owner] += b;
				else
					res.traced[g->owner] += b;
			}
			if (g->owner >= AT_OWNER_FIRST || g->owner == AT_OWNER_UNKNOWN)
				s.mapped_bytes += g->end - g->start;
		}
		for (size_t k = 0; k < p->nallocs; k++) {
			p->allocs[k].r.resident_bytes = res.traced[k];
			p->allocs[k].r.pre_resident_bytes = res.pre[k];
			if (k >= AT_OWNER_FIRST || k == AT_OWNER_UNKNOWN)
				s.resident_bytes += res.traced[k] + res.pre[k];
		}
		s.rss_bytes = p->r.rss_bytes;
		s.lazyfree_bytes = p->r.lazyfree_bytes;
		if (!max)
			continue;
		if (p->tl_n == max) {
			p->r.timeline_omitted++;
			p->tl_head = (p->tl_head + 1) % max;
			p->tl_n--;
		} else if (p->tl_n == p->tl_cap) {
			/* Not wrapped yet (the head moves only once full): it grows in place. */
			size_t cap = p->tl_cap ? 2 * p->tl_cap : 16;
			struct rep_sample *tl;

			cap = cap < max ? cap : max;
			tl = realloc(p->tl, cap * sizeof(*tl));
			if (!tl) {
				p->r.timeline_omitted++;
				continue;
			}
			p->tl = tl;
			p->tl_cap = cap;
		}
		p->tl[(p->tl_head + p->tl_n) % max] = s;
		p->tl_n++;
	}
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
			proc_free(m->procs[i]);
		else
			m->procs[k++] = m->procs[i];
	}
	m->nprocs = k;
}
