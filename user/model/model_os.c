// SPDX-License-Identifier: GPL-2.0-only
/*
 * The os level's part of the model: each process's interval map of anonymous memory, built
 * from /proc at attach and from the memory syscall records, the returns they make, and the
 * residency samples. Above the model's core (docs/design.md, "The model's layers").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "attrib.h"
#include "imap.h"
#include "model.h"
#include "model_priv.h"
#include "procfs.h"

struct preload {
	struct proc *p;
	struct maps_entry prev;
	bool have_prev;
	uint64_t file_end; /* the end of the mapping before, when it maps a file */
};

/* Anonymous memory already there at attach, by layout alone (evidence "inferred"; the
 * allocators' books, read later, decide with better evidence). A writable mapping right
 * after a file's is that file's .bss; [heap] is glibc's brk heap;
 * a 4 KiB PROT_NONE guard right below a writable region is a thread stack; a region at a
 * 64 MiB boundary whose writable head and PROT_NONE tail span 64 MiB is a glibc thread
 * heap. */
static int preload_entry(const struct maps_entry *e, void *arg)
{
	struct preload *pl = arg;
	struct proc *p = pl->p;
	const char *path = e->path;
	int owner = AT_OWNER_UNKNOWN;
	uint8_t pre = IMAP_F_PRE | IMAP_F_EV(AT_EV_INFERRED);

	if (e->inode || (path[0] && strcmp(path, "[heap]") && strncmp(path, "[anon:", 6))) {
		pl->have_prev = false;
		pl->file_end = e->inode ? e->end : 0;
		return 0;
	}
	if (!path[0] && e->start == pl->file_end && (e->prot & PROT_WRITE)) {
		/* Right after a file's last mapping: its .bss past the file's pages, the
		 * loader's doing, nobody's allocator memory. */
		owner = AT_OWNER_LDSO;
	} else if (!strcmp(path, "[heap]")) {
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
			    pre, NULL, NULL);
	}
	imap_insert(p->im, e->start, e->end, (uint16_t)owner, e->prot,
		    owner == AT_OWNER_UNKNOWN ? IMAP_F_PRE : pre, NULL, NULL);
	pl->file_end = 0;
	pl->prev = *e;
	pl->have_prev = true;
	return 0;
}

int model_os_preload(struct proc *p, const struct proc_stat *st)
{
	struct preload pl = { .p = p };

	/* With no [heap] yet, the break is still where it started. */
	p->brk_cur = st->start_brk;
	p->brk_known = st->start_brk != 0;
	return procfs_read_maps(p->r.pid, preload_entry, &pl);
}

struct touch {
	struct proc *p;
	struct model *m;
	enum at_ret kind; /* AT_RET_NR: no return */
	int new_prot;	  /* mprotect / overlay target protection, -1 if none */
	uint64_t ts;
	uint64_t owner_bytes[AT_MAX_OWNERS];
	uint64_t unused_bytes[AT_MAX_OWNERS]; /* pieces that never held a page (IMAP_F_UNUSED) */
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
	/* Never accessible, never resident: nothing is returned (a munmap releases it apart). */
	if (s->flags & IMAP_F_UNUSED) {
		t->unused_bytes[s->owner] += bytes;
		return;
	}
	t->owner_bytes[s->owner] += bytes;
}

static void settle(struct touch *t, enum at_sys sys, uint64_t addr)
{
	struct proc *p = t->p;
	size_t best = AT_OWNER_UNKNOWN;
	uint64_t best_bytes = 0;

	for (size_t i = 0; i < p->nallocs; i++) {
		if (t->unused_bytes[i] && t->kind == AT_RET_MUNMAP) {
			struct rep_alloc *r = &p->allocs[i].r;

			r->reserve_released_bytes += t->unused_bytes[i];
			r->reserve_released_count++;
			r->reserve_released_last_ns = t->ts;
		}
		if (!t->owner_bytes[i])
			continue;
		if (t->owner_bytes[i] > best_bytes) {
			best_bytes = t->owner_bytes[i];
			best = i;
		}
		if (t->kind < AT_RET_NR)
			model_log_return(t->m, &p->allocs[i], t->kind, t->ts, addr,
					 t->owner_bytes[i]);
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

/* Records of different threads reach arenatrace in the order their sys_exit programs ran,
 * not in the order the kernel changed the memory map: a thread that unmaps a block can be
 * preempted between its munmap and its record, while another thread's mmap is given the
 * same addresses and its record comes first. An mmap without MAP_FIXED is never given memory
 * that is mapped, so the memory the model still has there was unmapped by a record yet to
 * come: it is returned (munmap) to its owner now, and remembered, so that the record, when
 * it comes within AT_LATE_UNMAP_NS, is not applied to the new mapping (issue 13, the soak
 * test: about one munmap in 5,000 under thread churn went to the wrong mapping). */
static void late_unmap_note(struct model *m, struct proc *p, uint64_t start, uint64_t end,
			    uint64_t ts)
{
	struct touch t = { .p = p, .m = m, .kind = AT_RET_MUNMAP, .ts = ts };

	imap_visit(p->im, start, end, touch_piece, &t);
	if (!t.any || imap_remove(p->im, start, end, NULL, NULL))
		return;
	settle(&t, AT_SYS_NR, start);
	if (p->nlate == AT_LATE_UNMAPS) {
		memmove(p->late, p->late + 1, sizeof(p->late) - sizeof(p->late[0]));
		p->nlate--;
	}
	p->late[p->nlate++] = (struct late_unmap){ start, end, ts, t.first_owner };
}

/* The late record of an unmap credited already: the part of [*start, *end) that a remembered
 * range covers is taken out (the caller applies what is left before and after it, in
 * *start..*cut and *resume..*end); true when one was found. Expired ones go. */
static bool late_unmap_take(struct proc *p, uint64_t start, uint64_t end, uint64_t ts,
			    uint64_t *cut, uint64_t *resume, uint16_t *owner)
{
	size_t k = 0;
	bool found = false;

	for (size_t i = 0; i < p->nlate; i++) {
		struct late_unmap *l = &p->late[i];

		if (ts > l->ts + AT_LATE_UNMAP_NS)
			continue;
		if (!found && l->start < end && start < l->end) {
			*cut = l->start > start ? l->start : start;
			*resume = l->end < end ? l->end : end;
			*owner = l->owner;
			found = true;
			continue;
		}
		p->late[k++] = *l;
	}
	p->nlate = k;
	return found;
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
	if (!(flags & MAP_FIXED))
		late_unmap_note(m, p, start, start + len, ts);
	if (prot == PROT_NONE) {
		/* MAP_FIXED PROT_NONE over accessible memory decommits it. */
		t.kind = AT_RET_DECOMMIT;
		t.new_prot = 0;
	}
	/* A new PROT_NONE mapping has no page, and can have none until made accessible. */
	err = imap_insert(p->im, start, start + len, (uint16_t)owner, (uint8_t)prot,
			  prot == PROT_NONE ? IMAP_F_UNUSED : 0, touch_piece, &t);
	if (err)
		return err;
	if (t.kind < AT_RET_NR)
		settle(&t, AT_SYS_NR, start); /* the mmap counts under its caller, below */
	p->allocs[owner].r.events[AT_SYS_MMAP]++;
	p->allocs[owner].r.mapped_total_bytes += len;
	return 0;
}

static int unmap_range(struct model *m, struct proc *p, uint64_t start, uint64_t end, uint64_t ts)
{
	struct touch t = { .p = p, .m = m, .kind = AT_RET_MUNMAP, .ts = ts };
	int err = start < end ? imap_remove(p->im, start, end, touch_piece, &t) : 0;

	if (!err)
		settle(&t, AT_SYS_MUNMAP, start);
	return err;
}

static int apply_munmap(struct model *m, struct proc *p, const struct at_sys_rec *r, uint64_t ts)
{
	uint64_t start = r->args[0], end = start + page_up(r->args[1]), cut, resume;
	uint16_t owner;
	int err;

	if (!p->nlate || !late_unmap_take(p, start, end, ts, &cut, &resume, &owner))
		return unmap_range(m, p, start, end, ts);
	/* Its part in the remembered range was returned when the mmap came; the rest of it
	 * is applied as any munmap. */
	p->allocs[owner].r.events[AT_SYS_MUNMAP]++;
	err = unmap_range(m, p, start, cut, ts);
	return err ? err : unmap_range(m, p, resume, end, ts);
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
		model_log_return(m, &p->allocs[t.first_owner], AT_RET_MREMAP_SHRINK, ts,
				 old + new_len, old_len - new_len);
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
					model_log_return(m, &p->allocs[i], AT_RET_BRK_SHRINK, ts,
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
	int err = imap_update(p->im, start, start + len, prot, 0, prot ? IMAP_F_UNUSED : 0,
			      touch_piece, &t);

	/* Only accessible -> PROT_NONE pieces count as returned (touch_piece); a commit
	 * credits the event alone. */
	if (!err)
		settle(&t, AT_SYS_MPROTECT, start);
	return err;
}

/* How strongly a kind of evidence decides an owner: a claim replaces only a weaker one. */
static int strength(const struct imap_seg *s)
{
	if (s->owner == AT_OWNER_UNKNOWN)
		return 0;
	switch (IMAP_EV_OF(s->flags)) {
	case AT_EV_INFERRED:
		return 1;
	case AT_EV_CALLER:
	case AT_EV_POINTER:
		return 2;
	default:
		return 3; /* header, books */
	}
}

static int strength_of(enum at_evidence ev)
{
	return ev == AT_EV_INFERRED ? 1 : ev == AT_EV_CALLER || ev == AT_EV_POINTER ? 2 : 3;
}

/* Pieces of memory from before attach that a claim may take. */
struct claimable {
	struct {
		uint64_t start, end;
	} piece[32];
	size_t n;
	int below;  /* strength the owner's evidence must be below */
	bool whole; /* the whole segment, not the piece */
	const struct imap *im;
};

static void collect_claimable(const struct imap_seg *s, void *arg)
{
	struct claimable *c = arg;
	const struct imap_seg *g = c->whole ? imap_find(c->im, s->start) : s;

	/* A writable mapping right after a file's was taken for its .bss by layout alone;
	 * anonymous mappings made later next to it merge into it, so a validated header or
	 * the allocator's own books (strength 3) may still take their part of it. */
	if (!(s->flags & IMAP_F_PRE) || s->owner == AT_OWNER_STACK ||
	    (s->owner == AT_OWNER_LDSO && c->below < 3) || strength(s) >= c->below ||
	    c->n == AT_ARRAY_SIZE(c->piece) || !g)
		return;
	c->piece[c->n].start = g->start;
	c->piece[c->n++].end = g->end;
}

/* Gives the pre-existing memory of [start, end) whose owner is decided by weaker evidence
 * to owner, with ev (whole: each whole mapping touched). Memory mapped since attach keeps
 * its traced caller. Returns the bytes claimed. */
static uint64_t claim(struct proc *p, int owner, uint64_t start, uint64_t end, enum at_evidence ev,
		      bool whole)
{
	struct claimable c = { .below = strength_of(ev), .whole = whole, .im = p->im };
	uint64_t bytes = 0;

	imap_visit(p->im, start, end, collect_claimable, &c);
	for (size_t i = 0; i < c.n; i++) {
		const struct imap_seg *g = imap_find(p->im, c.piece[i].start);
		struct imap_seg was;

		if (!g || !(g->flags & IMAP_F_PRE) || strength(g) >= c.below)
			continue;
		was = *g; /* the piece lies in one segment: it was clipped to one */
		if (!imap_insert(p->im, c.piece[i].start, c.piece[i].end, (uint16_t)owner, was.prot,
				 (uint8_t)((was.flags & ~IMAP_F_EV_MASK) | IMAP_F_EV(ev)), NULL,
				 NULL))
			bytes += c.piece[i].end - c.piece[i].start;
	}
	return bytes;
}

int model_os_claim(struct proc *p, int owner, uint64_t start, uint64_t end, enum at_evidence ev,
		   bool whole)
{
	return claim(p, owner, start, end, ev, whole) ? 0 : -ENOENT;
}

static void any_unknown(const struct imap_seg *s, void *arg)
{
	*(bool *)arg |= (s->flags & IMAP_F_PRE) && s->owner == AT_OWNER_UNKNOWN;
}

bool model_os_has_unknown(const struct proc *p)
{
	bool any = false;

	imap_visit(p->im, 0, UINT64_MAX, any_unknown, &any);
	return any;
}

/* Evidence during the trace: a memory syscall whose unwound caller is X (an allocator, the
 * application or a library), on memory that existed before attach and whose owner was not
 * known or only inferred, makes X the owner of each whole mapping it touches, from then on;
 * the syscall, a return included, then counts under X. */
static void claim_by_caller(struct proc *p, const struct at_sys_rec *r, uint64_t start,
			    uint64_t len)
{
	struct claimable c = { .below = strength_of(AT_EV_CALLER), .im = p->im };
	int owner;

	/* Most syscalls touch memory traced since attach: no attribution needed. */
	imap_visit(p->im, start, start + len, collect_claimable, &c);
	if (!c.n)
		return;
	owner = owner_for(p, r);
	if (owner >= AT_OWNER_FIRST)
		claim(p, owner, start, start + len, AT_EV_CALLER, true);
}

int model_os_apply(struct model *m, const struct at_sys_rec *r)
{
	struct proc *p = model_find_proc(m, (int)r->hdr.pid);
	uint64_t ts = r->hdr.ts_ns > m->start_ns ? r->hdr.ts_ns - m->start_ns : 0;
	int err = 0;

	if (!p) {
		m->drops.unattributed++;
		return 0;
	}
	switch (r->hdr.kind) {
	case AT_SYS_MUNMAP:
	case AT_SYS_MREMAP:
	case AT_SYS_MADVISE:
	case AT_SYS_MPROTECT:
		claim_by_caller(p, r, r->args[0], page_up(r->args[1]));
		break;
	default:
		break;
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

	imap_insert(dst, s->start, s->end, s->owner, s->prot, s->flags, NULL, NULL);
}

void model_os_inherit(struct proc *child, const struct proc *parent)
{
	imap_visit(parent->im, 0, UINT64_MAX, copy_seg, child->im);
	child->brk_cur = parent->brk_cur;
	child->brk_known = parent->brk_known;
}

struct residency {
	struct proc *p;
	uint64_t traced[AT_MAX_OWNERS];
	uint64_t pre[AT_MAX_OWNERS];
	uint64_t mapped[AT_MAX_OWNERS];
};

/* An allocator's sample in its timeline: its memory now, and live and retained from its
 * books when they were read for this sample (they are read at a pace, and figures read
 * earlier would show as if current; the heap level's figures come after,
 * model_heap_refresh). */
static void alloc_sample(const struct model *m, struct alloc *a, const struct residency *res,
			 size_t k, uint64_t t_ns)
{
	struct rep_asample *s = model_alloc_sample(m, a);

	if (!s)
		return;
	s->t_ns = t_ns;
	s->mapped_bytes = res->mapped[k];
	s->resident_bytes = res->traced[k] + res->pre[k];
	if (a->r.books.known && a->r.books.t_ns == t_ns) {
		s->source = AT_SRC_BOOKS;
		s->live_bytes = a->r.books.live_bytes;
		s->retained_bytes = a->r.books.retained_bytes;
		s->retained_known = true;
	}
}

void model_sample(struct model *m, uint64_t now_ns)
{
	for (size_t i = 0; i < m->nprocs; i++) {
		struct proc *p = m->procs[i];
		struct residency res = { .p = p };
		struct rep_sample s = { .t_ns = now_ns - m->start_ns }, *slot;
		size_t n = imap_count(p->im), max = m->lim.timeline_max;

		if (p->r.exited || p->pagemap_fd < 0)
			continue;
		if (procfs_read_smaps_rollup(p->r.pid, &p->r.rss_bytes, &p->r.lazyfree_bytes))
			continue;     /* gone: keep the last sample */
		model_read_cgroup(p); /* a process can be moved to another cgroup at any time */
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
			res.mapped[g->owner] += g->end - g->start;
			if (g->owner >= AT_OWNER_FIRST || g->owner == AT_OWNER_UNKNOWN)
				s.mapped_bytes += g->end - g->start;
		}
		for (size_t k = 0; k < p->nallocs; k++) {
			struct rep_alloc *a = &p->allocs[k].r;

			a->resident_bytes = res.traced[k];
			a->pre_resident_bytes = res.pre[k];
			if (res.traced[k] + res.pre[k] > a->peak_resident_bytes) {
				a->peak_resident_bytes = res.traced[k] + res.pre[k];
				a->peak_resident_ns = s.t_ns;
			}
			if (k >= AT_OWNER_FIRST || k == AT_OWNER_UNKNOWN)
				s.resident_bytes += res.traced[k] + res.pre[k];
			if (k >= AT_OWNER_FIRST && a->is_allocator)
				alloc_sample(m, &p->allocs[k], &res, k, s.t_ns);
		}
		s.rss_bytes = p->r.rss_bytes;
		s.lazyfree_bytes = p->r.lazyfree_bytes;
		slot = model_ring_push((void **)&p->tl, sizeof(*p->tl), &p->tl_head, &p->tl_n,
				       &p->tl_cap, max, &p->r.timeline_omitted);
		if (slot)
			*slot = s;
	}
}
