// SPDX-License-Identifier: GPL-2.0-only
/*
 * --unwind dwarf: the sampled allocations, unwound as they arrive, summed per process and
 * stack (allocator and return addresses) as estimates: a sample of size bytes stands for
 * 1/p allocations like it, p = min(1, size / rate), so that live and allocated bytes and
 * blocks per stack are unbiased (exact at rate 1). A sample stays live until the record of
 * its block's free; a process's samples go when it execs (the new program's stacks only)
 * and once its stacks were read at its exit.
 */
#include <string.h>

#include "app.h"
#include "loader.h"
#include "log.h"
#include "ustack.h"

/* One stack of a process: its return addresses and the estimates. */
struct sstack {
	uint64_t ips[AT_STACK_DEPTH];
	uint32_t nips;
	uint32_t alloc;
	uint64_t hash;
	double bytes, blocks, alloc_bytes, alloc_count;
};

/* A live sample: the stack it counts in, and what it counts there. */
struct slive {
	uint32_t id;
	uint32_t stack; /* index in the process's stacks; UINT32_MAX: a free slot */
	double bytes, blocks;
};

/* A sample of a process gone before it was read, kept until the process's exit record,
 * after which the mappings the kernel reported at its exit unwind it. As many as the ring
 * held when the process died, at most. */
struct pending {
	struct at_ustack_rec *rec; /* its stack_len bytes of stack only */
	bool freed;
};

struct sproc {
	int pid;
	struct pending *pending;
	size_t npending, pending_cap;
	struct sstack *stacks;
	size_t nstacks, cap;
	uint32_t *index; /* open addressing on the stacks' hash: index + 1, 0 empty */
	size_t index_cap;
	struct slive *live; /* open addressing on the sample id, linear probing */
	size_t nlive, live_cap;
};

struct samples {
	uint64_t rate;
	uint64_t gone; /* samples of processes gone before they were unwound */
	struct sproc **procs;
	size_t nprocs, cap;
	struct sproc *last; /* the last one looked up: samples come in runs of a process */
};

struct samples *samples__new(uint64_t rate)
{
	struct samples *s = calloc(1, sizeof(*s));

	if (s)
		s->rate = rate ? rate : 1;
	return s;
}

static void sproc_free(struct sproc *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->npending; i++)
		free(p->pending[i].rec);
	free(p->pending);
	free(p->stacks);
	free(p->index);
	free(p->live);
	free(p);
}

void samples__free(struct samples *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nprocs; i++)
		sproc_free(s->procs[i]);
	free(s->procs);
	free(s);
}

static struct sproc *sproc_of(struct samples *s, int pid, bool create)
{
	struct sproc *p;

	if (s->last && s->last->pid == pid)
		return s->last;
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i]->pid == pid)
			return s->last = s->procs[i];
	if (!create || at_grow(&s->procs, s->nprocs, &s->cap, sizeof(*s->procs), 1))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p) {
		p->pid = pid;
		s->procs[s->nprocs++] = p;
	}
	return p;
}

void samples_forget(struct samples *s, int pid)
{
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i]->pid == pid) {
			if (s->last == s->procs[i])
				s->last = NULL;
			sproc_free(s->procs[i]);
			s->procs[i] = s->procs[--s->nprocs];
			return;
		}
}

static uint64_t chain_hash(uint32_t alloc, const uint64_t *ips, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ alloc;

	for (size_t i = 0; i < n; i++)
		h = (h ^ ips[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static int index_grow(struct sproc *p)
{
	size_t cap = p->index_cap ? p->index_cap * 2 : 64;
	uint32_t *idx = calloc(cap, sizeof(*idx));

	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < p->nstacks; i++) {
		size_t k = p->stacks[i].hash & (cap - 1);

		while (idx[k])
			k = (k + 1) & (cap - 1);
		idx[k] = (uint32_t)i + 1;
	}
	free(p->index);
	p->index = idx;
	p->index_cap = cap;
	return 0;
}

/* The index of the stack (alloc, ips), added when new; -ENOMEM. */
static long stack_of(struct sproc *p, uint32_t alloc, const uint64_t *ips, size_t n)
{
	uint64_t h = chain_hash(alloc, ips, n);
	struct sstack *st;
	size_t k;

	if ((p->nstacks + 1) * 2 > p->index_cap && index_grow(p))
		return -ENOMEM;
	for (k = h & (p->index_cap - 1); p->index[k]; k = (k + 1) & (p->index_cap - 1)) {
		st = &p->stacks[p->index[k] - 1];
		if (st->hash == h && st->alloc == alloc && st->nips == n &&
		    !memcmp(st->ips, ips, n * sizeof(*ips)))
			return p->index[k] - 1;
	}
	if (at_grow(&p->stacks, p->nstacks, &p->cap, sizeof(*p->stacks), 1))
		return -ENOMEM;
	st = &p->stacks[p->nstacks];
	memset(st, 0, sizeof(*st));
	memcpy(st->ips, ips, n * sizeof(*ips));
	st->nips = (uint32_t)n;
	st->alloc = alloc;
	st->hash = h;
	p->index[k] = (uint32_t)++p->nstacks;
	return (long)(p->nstacks - 1);
}

static size_t live_slot(const struct sproc *p, uint32_t id)
{
	return (id * 0x9e3779b1u) & (p->live_cap - 1);
}

static int live_grow(struct sproc *p)
{
	size_t cap = p->live_cap ? p->live_cap * 2 : 64, old_cap = p->live_cap;
	struct slive *old = p->live;

	p->live = malloc(cap * sizeof(*p->live));
	if (!p->live) {
		p->live = old;
		return -ENOMEM;
	}
	p->live_cap = cap;
	for (size_t i = 0; i < cap; i++)
		p->live[i].stack = UINT32_MAX;
	for (size_t i = 0; i < old_cap; i++) {
		size_t k;

		if (old[i].stack == UINT32_MAX)
			continue;
		for (k = live_slot(p, old[i].id); p->live[k].stack != UINT32_MAX;)
			k = (k + 1) & (cap - 1);
		p->live[k] = old[i];
	}
	free(old);
	return 0;
}

/* A sample with its stack into the sums: allocated, and live unless freed already. */
static void account(struct samples *s, struct sproc *p, const struct at_ustack_rec *r,
		    const uint64_t *ips, size_t n, bool freed)
{
	uint64_t size = r->size ? r->size : 1;
	double w = size >= s->rate ? 1.0 : (double)s->rate / (double)size;
	struct sstack *st;
	size_t k;
	long i;

	i = stack_of(p, r->alloc, ips, n);
	if (i < 0 || ((p->nlive + 1) * 2 > p->live_cap && live_grow(p)))
		return;
	st = &p->stacks[i];
	st->alloc_bytes += (double)r->size * w;
	st->alloc_count += w;
	if (freed)
		return;
	st->bytes += (double)r->size * w;
	st->blocks += w;
	for (k = live_slot(p, r->id); p->live[k].stack != UINT32_MAX;)
		k = (k + 1) & (p->live_cap - 1);
	p->live[k] = (struct slive){ .id = r->id,
				     .stack = (uint32_t)i,
				     .bytes = (double)r->size * w,
				     .blocks = w };
	p->nlive++;
}

static size_t stack_len(const struct at_ustack_rec *r)
{
	return r->stack_len < AT_USTACK_BYTES ? r->stack_len : AT_USTACK_BYTES;
}

void samples_add(struct samples *s, struct ustack *u, const struct at_ustack_rec *r)
{
	struct sproc *p = sproc_of(s, (int)r->hdr.pid, true);
	size_t n, len = stack_len(r), head = AT_OFFSET(struct at_ustack_rec, stack);
	uint64_t ips[AT_STACK_DEPTH];
	struct at_ustack_rec *copy;
	bool gone;

	if (!p)
		return;
	n = ustack_unwind(u, (int)r->hdr.pid, (int)r->hdr.tid, (const uint64_t *)r->regs, r->stack,
			  len, ips, AT_STACK_DEPTH, false, &gone);
	if (!gone) {
		account(s, p, r, ips, n, false);
		return;
	}
	copy = malloc(head + len);
	if (!copy || at_grow(&p->pending, p->npending, &p->pending_cap, sizeof(*p->pending), 1)) {
		free(copy);
		s->gone++;
		return;
	}
	memcpy(copy, r, head + len);
	p->pending[p->npending++] = (struct pending){ .rec = copy };
}

void samples_exit(struct samples *s, struct ustack *u, int pid)
{
	struct sproc *p = sproc_of(s, pid, false);
	uint64_t ips[AT_STACK_DEPTH];
	bool gone;

	if (!p || !p->npending)
		return;
	/* Its modules again, now from the mappings it had at its exit. */
	ustack_forget(u, pid);
	for (size_t i = 0; i < p->npending; i++) {
		const struct at_ustack_rec *r = p->pending[i].rec;
		size_t n = ustack_unwind(u, pid, (int)r->hdr.tid, (const uint64_t *)r->regs,
					 r->stack, stack_len(r), ips, AT_STACK_DEPTH, true, &gone);

		s->gone += gone;
		account(s, p, r, ips, n, p->pending[i].freed);
		free(p->pending[i].rec);
	}
	p->npending = 0;
	ustack_forget(u, pid);
}

void samples_free(struct samples *s, const struct at_ustack_free *r)
{
	struct sproc *p = sproc_of(s, (int)r->hdr.pid, false);
	size_t k, hole, want;

	if (!p)
		return;
	if (!p->live_cap && live_grow(p))
		return;
	for (k = live_slot(p, r->id); p->live[k].stack != UINT32_MAX && p->live[k].id != r->id;)
		k = (k + 1) & (p->live_cap - 1);
	if (p->live[k].stack == UINT32_MAX) {
		/* A sample waiting for its process's exit, or one from before an exec (gone
		 * with the old program). */
		for (size_t i = 0; i < p->npending; i++)
			if (p->pending[i].rec->id == r->id)
				p->pending[i].freed = true;
		return;
	}
	p->stacks[p->live[k].stack].bytes -= p->live[k].bytes;
	p->stacks[p->live[k].stack].blocks -= p->live[k].blocks;
	p->live[k].stack = UINT32_MAX;
	p->nlive--;
	/* Backward-shift deletion: the entries after the hole that probed past it move up. */
	hole = k;
	for (k = (k + 1) & (p->live_cap - 1); p->live[k].stack != UINT32_MAX;
	     k = (k + 1) & (p->live_cap - 1)) {
		want = live_slot(p, p->live[k].id);
		if (((k - want) & (p->live_cap - 1)) >= ((k - hole) & (p->live_cap - 1))) {
			p->live[hole] = p->live[k];
			p->live[k].stack = UINT32_MAX;
			hole = k;
		}
	}
}

uint64_t samples_gone(const struct samples *s)
{
	return s ? s->gone : 0;
}

static int64_t est(double v)
{
	return v > 0 ? (int64_t)(v + 0.5) : 0;
}

/* Those holding the most live bytes first, then the most allocated (as loader_heap_stacks). */
static int cmp_row(const void *a, const void *b)
{
	const struct loader_stack *x = a, *y = b;
	int64_t bx = x->blocks > 0 ? x->bytes : 0, by = y->blocks > 0 ? y->bytes : 0;

	if (bx != by)
		return bx < by ? 1 : -1;
	return (x->alloc_bytes < y->alloc_bytes) - (x->alloc_bytes > y->alloc_bytes);
}

int samples_stacks(struct samples *s, int pid, struct loader_stack **out)
{
	struct sproc *p = sproc_of(s, pid, false);
	struct loader_stack *rows;

	*out = NULL;
	if (!p || !p->nstacks)
		return 0;
	rows = calloc(p->nstacks, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	for (size_t i = 0; i < p->nstacks; i++) {
		const struct sstack *st = &p->stacks[i];

		rows[i] = (struct loader_stack){ .tgid = (uint32_t)pid,
						 .stack_id = -1,
						 .bytes = est(st->bytes),
						 .blocks = est(st->blocks),
						 .alloc_bytes = (uint64_t)est(st->alloc_bytes),
						 .alloc_count = (uint64_t)est(st->alloc_count),
						 .alloc = st->alloc,
						 .nips = st->nips };
		memcpy(rows[i].ips, st->ips, st->nips * sizeof(st->ips[0]));
	}
	qsort(rows, p->nstacks, sizeof(*rows), cmp_row);
	*out = rows;
	return (int)p->nstacks;
}
