// SPDX-License-Identifier: GPL-2.0-only
/* The heap level's part of the model: counters per allocator, live and retained figures,
 * allocation stacks. */
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "model_priv.h"

void model_heap_clear(struct model *m, int pid)
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
	a->heap.alloc_count += s->alloc_count;
	a->heap.free_count += s->free_count;
	a->heap.alloc_bytes += s->alloc_bytes;
	a->heap.free_bytes += s->free_bytes;
	a->heap.unmatched_free += s->unmatched_free;
	for (int k = 0; k < AT_HIST_SLOTS; k++)
		a->heap.hist[k] += s->hist[k];
}

void model_heap_figures(struct proc *p, struct alloc *a)
{
	const struct at_heap_stats *h = &a->heap, *b = &a->heap_base;

	if (!a->r.has_heap)
		return;
	a->r.live_bytes = (int64_t)(h->alloc_bytes - h->free_bytes);
	a->r.live_objects = (int64_t)(h->alloc_count - h->free_count);
	a->r.alloc_count = h->alloc_count - b->alloc_count;
	a->r.free_count = h->free_count - b->free_count;
	a->r.alloc_bytes = h->alloc_bytes - b->alloc_bytes;
	a->r.free_bytes = h->free_bytes - b->free_bytes;
	a->r.unmatched_free = h->unmatched_free - b->unmatched_free;
	for (int k = 0; k < AT_HIST_SLOTS; k++)
		a->r.hist[k] = h->hist[k] - b->hist[k];
	/* Retained is only meaningful when every live block is known (traced from exec) and
	 * residency is current (the process is alive). */
	a->r.retained_known = !p->r.attached_running && !h->unmatched_free && !p->r.exited;
	a->r.retained_bytes = (int64_t)(a->r.resident_bytes + a->r.pre_resident_bytes) -
			      a->r.live_bytes;
}

int model_set_stacks(struct model *m, int pid, const struct rep_stack *stacks, size_t n)
{
	struct proc *p = model_find_proc(m, pid);
	struct rep_stack *copy;

	if (!p)
		return -ESRCH;
	copy = n ? malloc(n * sizeof(*copy)) : NULL;
	if (n && !copy)
		return -ENOMEM;
	if (n)
		memcpy(copy, stacks, n * sizeof(*copy));
	free(p->stacks);
	p->stacks = copy;
	p->r.stacks = copy;
	p->r.nstacks = n;
	p->r.has_stacks = true;
	return 0;
}

/* Appends to a queue of (time, bytes); beyond AT_LAT_QUEUE the two oldest entries merge
 * (the older time kept), so memory stays bounded and no byte is lost. */
static void lat_push(struct lat_entry **q, size_t *n, size_t *cap, uint64_t t_ns, uint64_t bytes)
{
	if (*n == AT_LAT_QUEUE) {
		(*q)[1].bytes += (*q)[0].bytes;
		(*q)[1].t_ns = (*q)[0].t_ns;
		memmove(*q, *q + 1, (*n - 1) * sizeof(**q));
		(*n)--;
	}
	if (at_grow(q, *n, cap, sizeof(**q), 1))
		return;
	(*q)[(*n)++] = (struct lat_entry){ t_ns, bytes };
}

void model_note_return(struct alloc *a, uint64_t t_ns, uint64_t bytes)
{
	lat_push(&a->returned, &a->nreturned, &a->returned_cap, t_ns, bytes);
}

/* Bytes the application freed since the last sample join the queue, stamped now; then
 * every pending return takes bytes from the oldest frees (first in, first out). A return
 * earlier than the free it is matched with (both fell in one sample interval) has latency
 * 0. Returns beyond all bytes freed are unmatched. */
void model_heap_latency(struct alloc *a, uint64_t t_ns)
{
	uint64_t freed = a->heap.free_bytes;

	if (!a->r.has_heap) {
		a->nreturned = 0;
		return;
	}
	if (freed > a->freed_seen)
		lat_push(&a->freed, &a->nfreed, &a->freed_cap, t_ns, freed - a->freed_seen);
	a->freed_seen = freed;
	for (size_t i = 0; i < a->nreturned; i++) {
		struct lat_entry *r = &a->returned[i];

		while (r->bytes && a->nfreed) {
			struct lat_entry *f = &a->freed[0];
			uint64_t take = r->bytes < f->bytes ? r->bytes : f->bytes;
			uint64_t lat_ns = r->t_ns > f->t_ns ? r->t_ns - f->t_ns : 0;

			a->r.purge_latency_hist[model_log2_slot(lat_ns / 1000, AT_LAT_SLOTS)] += take;
			r->bytes -= take;
			f->bytes -= take;
			if (!f->bytes)
				memmove(a->freed, a->freed + 1, --a->nfreed * sizeof(*f));
		}
		a->r.purge_unmatched_bytes += r->bytes;
	}
	a->nreturned = 0;
}
