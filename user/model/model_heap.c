// SPDX-License-Identifier: GPL-2.0-only
/* The heap level's part of the model: counters per allocator, live and retained figures,
 * allocation stacks. */
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "model.h"
#include "model_priv.h"

/* Clears the heap counters of pid (of every live process when pid is 0). */
static void heap_clear(struct model *m, int pid)
{
	for (size_t i = 0; i < m->nprocs; i++) {
		struct proc *p = m->procs[i];

		/* Exited processes keep the counters read at their exit. */
		if (p->r.exited || (pid && p->r.pid != pid))
			continue;
		for (size_t k = 0; k < p->nallocs; k++)
			memset(&p->allocs[k].heap, 0, sizeof(p->allocs[k].heap));
	}
}

void model_heap_add(struct model *m, int pid, const char *name, const char *basis,
		    const struct at_heap_stats *s)
{
	struct proc *p = model_find_proc(m, pid);
	struct alloc *a;
	int id;

	if (!p)
		return;
	id = model_owner_id(p, name, true);
	a = &p->allocs[id];
	a->r.has_heap = true;
	a->r.live_basis = basis;
	at_heap_stats_add(&a->heap, s);
}

void model_heap_figures(struct proc *p, struct alloc *a, const struct at_heap_stats *base)
{
	static const struct at_heap_stats zero;
	const struct at_heap_stats *h = &a->heap, *b = base ? base : &zero;
	uint64_t resident;

	if (!a->r.has_heap)
		return;
	/* Frees of blocks from before the trace are not in free_bytes (unmatched_free), so
	 * allocated minus freed cannot fall below 0; the floor keeps a count read across a
	 * thread's fold from showing the impossible. No blocks, no bytes. */
	a->r.live_objects = h->alloc_count > h->free_count ? h->alloc_count - h->free_count : 0;
	a->r.live_bytes = h->alloc_bytes > h->free_bytes && a->r.live_objects
				  ? h->alloc_bytes - h->free_bytes
				  : 0;
	a->r.alloc_count = h->alloc_count - b->alloc_count;
	a->r.free_count = h->free_count - b->free_count;
	a->r.alloc_bytes = h->alloc_bytes - b->alloc_bytes;
	a->r.free_bytes = h->free_bytes - b->free_bytes;
	a->r.unmatched_free = h->unmatched_free - b->unmatched_free;
	for (int k = 0; k < AT_HIST_SLOTS; k++)
		a->r.hist[k] = h->hist[k] - b->hist[k];
	/* Retained is only meaningful when every live block is known (the heap level saw the
	 * whole life: traced from exec) and residency is current (the process is alive). */
	a->r.retained_known = !p->r.heap_partial && !h->unmatched_free && !p->r.exited;
	/* Resident bytes that hold no live block, at least: a live block may lie on pages never
	 * touched (calloc'd memory fresh from mmap), which count in live and not in resident,
	 * so resident - live can fall below 0; the figure is then 0, not negative. */
	resident = a->r.resident_bytes + a->r.pre_resident_bytes;
	a->r.retained_bytes = resident > a->r.live_bytes ? resident - a->r.live_bytes : 0;
}

/* The strings of a stack copy, each once: an open-addressed set of offsets into buf (a
 * thousand stacks name a few dozen files and functions). */
struct strset {
	char *buf;
	size_t len, cap;
	size_t *slot; /* offset + 1; 0: empty */
	size_t nslots, used;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static int strset_grow(struct strset *t)
{
	size_t n = t->nslots ? t->nslots * 2 : 256, *slot = calloc(n, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < t->nslots; i++) {
		size_t k;

		if (!t->slot[i])
			continue;
		k = str_hash(t->buf + t->slot[i] - 1) & (n - 1);
		while (slot[k])
			k = (k + 1) & (n - 1);
		slot[k] = t->slot[i];
	}
	free(t->slot);
	t->slot = slot;
	t->nslots = n;
	return 0;
}

/* The offset + 1 of s in the set's buffer (0 for NULL or on failure: the string is lost). */
static size_t strset_add(struct strset *t, const char *s)
{
	size_t k, len;

	if (!s || ((t->used + 1) * 2 > t->nslots && strset_grow(t)))
		return 0;
	k = str_hash(s) & (t->nslots - 1);
	for (; t->slot[k]; k = (k + 1) & (t->nslots - 1))
		if (!strcmp(t->buf + t->slot[k] - 1, s))
			return t->slot[k];
	len = strlen(s) + 1;
	if (at_grow(&t->buf, t->len, &t->cap, 1, len))
		return 0;
	memcpy(t->buf + t->len, s, len);
	t->slot[k] = t->len + 1;
	t->len += len;
	t->used++;
	return t->slot[k];
}

/* A stack's strings as offsets + 1 into the set, until the block is laid out. */
#define STR_OF(base, o) ((o) ? (const char *)(base) + (o)-1 : NULL)

int model_set_stacks(struct model *m, int pid, bool exited, const struct rep_stack *stacks,
		     size_t n, size_t nshown)
{
	struct proc *p = NULL;
	struct strset t = { 0 };
	size_t nframes = 0, *off, k = 0;
	struct rep_stack *copy = NULL;
	struct rep_frame *frames;
	char *strs;
	int err = -ENOMEM;

	/* Newest first: a recycled pid belongs to the latest process that had it. */
	for (size_t i = m->nprocs; i > 0 && !p; i--)
		if (m->procs[i - 1]->r.pid == pid && m->procs[i - 1]->r.exited == exited)
			p = m->procs[i - 1];
	if (!p)
		return -ESRCH;
	for (size_t i = 0; i < n; i++)
		nframes += stacks[i].nframes;
	/* Per stack its allocator, per frame four strings. */
	off = calloc(n + 4 * nframes + 1, sizeof(*off));
	if (!off)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		off[k++] = strset_add(&t, stacks[i].allocator);
		for (size_t f = 0; f < stacks[i].nframes; f++) {
			const struct rep_frame *fr = &stacks[i].frames[f];

			off[k++] = strset_add(&t, fr->module);
			off[k++] = strset_add(&t, fr->build_id);
			off[k++] = strset_add(&t, fr->function);
			off[k++] = strset_add(&t, fr->file);
		}
	}
	copy = malloc(n * sizeof(*copy) + nframes * sizeof(*frames) + t.len + 1);
	if (!copy)
		goto out;
	frames = (struct rep_frame *)(copy + n);
	strs = (char *)(frames + nframes);
	if (t.len)
		memcpy(strs, t.buf, t.len);
	k = 0;
	for (size_t i = 0; i < n; i++) {
		copy[i] = stacks[i];
		copy[i].allocator = STR_OF(strs, off[k]);
		k++;
		copy[i].frames = frames;
		for (size_t f = 0; f < stacks[i].nframes; f++, frames++) {
			*frames = stacks[i].frames[f];
			frames->module = STR_OF(strs, off[k]);
			frames->build_id = STR_OF(strs, off[k + 1]);
			frames->function = STR_OF(strs, off[k + 2]);
			frames->file = STR_OF(strs, off[k + 3]);
			k += 4;
		}
	}
	free(p->stacks);
	p->stacks = copy;
	p->nstacks = nshown < n ? nshown : n;
	p->nstacks_all = n;
	p->r.has_stacks = true;
	err = 0;
out:
	free(off);
	free(t.buf);
	free(t.slot);
	return err;
}

/* Purge latency of one allocator at a sample: without heap counters no free is known, and
 * the returns since the last sample are dropped rather than matched later. */
static void heap_latency(const struct model *m, struct alloc *a, uint64_t t_ns)
{
	if (!a->r.has_heap) {
		lat_forget_returns(&a->lat);
		return;
	}
	lat_match(&a->lat, t_ns, m->lim.sample_ms * 1000000ull, a->heap.free_bytes,
		  a->r.purge_latency_hist, &a->r.purge_latency_byte_seconds,
		  &a->r.purge_unmatched_bytes);
}

/* The heap level's live and retained in the allocator's sample of now (model_sample took
 * it just before), unless its books gave them. Only when they are the whole's: counters
 * since attach (or since a forked child's probes) are not the process's live, and between
 * two reads of the books they drew a saw of two figures (redis attached with -p). */
static void heap_sample(const struct model *m, struct alloc *a, uint64_t now_ns)
{
	struct rep_asample *s = model_alloc_sample_at(a, m->lim.timeline_max, now_ns - m->start_ns);

	if (!s || !a->r.has_heap || s->source != AT_SRC_NONE || !a->r.retained_known)
		return;
	s->source = AT_SRC_HEAP;
	s->live_bytes = a->r.live_bytes;
	s->retained_known = a->r.retained_known;
	s->retained_bytes = a->r.retained_known ? a->r.retained_bytes : 0;
}

/* After fresh heap counters: match the bytes freed since the last sample with the returns
 * to the OS (purge latency), and remember each allocator's retained bytes when they
 * changed (retention_growth looks at the last changes). */
static void track_retention(struct model *m, int pid, uint64_t now_ns)
{
	for (size_t i = 0; i < m->nprocs; i++) {
		struct proc *p = m->procs[i];

		if (p->r.exited || (pid && p->r.pid != pid))
			continue;
		for (size_t k = AT_OWNER_FIRST; k < p->nallocs; k++) {
			struct alloc *a = &p->allocs[k];

			heap_latency(m, a, now_ns - m->start_ns);
			model_heap_figures(p, a, &a->heap_base);
			heap_sample(m, a, now_ns);
			/* The books, when read, keep the history (model_set_books). */
			if (a->r.has_heap && a->r.retained_known && !a->r.books.known)
				model_note_retained(m, a, a->r.retained_bytes, a->r.live_bytes,
						    now_ns);
		}
	}
}

void model_heap_refresh(struct model *m, int pid, uint64_t now_ns, model_heap_read_fn read,
			void *arg)
{
	heap_clear(m, pid);
	read(arg, m, pid);
	track_retention(m, pid, now_ns);
}
