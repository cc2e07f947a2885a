// SPDX-License-Identifier: GPL-2.0-only
/*
 * Purge latency, the model's leaf: bytes freed by the application and bytes returned to the
 * OS wait in two queues and are matched first in, first out at each sample.
 */
#include <string.h>

#include "model.h"
#include "model_priv.h"

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

/* Returns all wait for the next match only: beyond AT_LAT_QUEUE a return joins the newest
 * (its earlier time kept), in constant time, as an madvise storm needs (hundreds of
 * thousands a second; moving the whole queue for each cost most of arenatrace's time). */
void lat_note_return(struct purge_lat *l, uint64_t t_ns, uint64_t bytes)
{
	if (l->nreturned == AT_LAT_QUEUE) {
		l->returned[l->nreturned - 1].bytes += bytes;
		return;
	}
	lat_push(&l->returned, &l->nreturned, &l->returned_cap, t_ns, bytes);
}

void lat_forget_returns(struct purge_lat *l)
{
	l->nreturned = 0;
}

/* The slot of a latency measured to a resolution of res_ns (one sample interval: a free is
 * known only at the sample after it): 0 below one interval, then one slot per doubling of
 * whole intervals, the last open. */
static uint32_t lat_slot(uint64_t lat_ns, uint64_t res_ns)
{
	uint64_t n = res_ns ? lat_ns / res_ns : 0;

	return n ? model_log2_slot(n, AT_LAT_SLOTS - 1) + 1 : 0;
}

/* Bytes the application freed since the last sample join the queue, stamped now; then
 * every pending return takes bytes from the oldest frees (first in, first out). A return
 * earlier than the free it is matched with (both fell in one sample interval) has latency
 * 0. Returns beyond all bytes freed are unmatched. */
void lat_match(struct purge_lat *l, uint64_t t_ns, uint64_t res_ns, uint64_t freed_total,
	       uint64_t hist[AT_LAT_SLOTS], double *byte_seconds, uint64_t *unmatched)
{
	if (freed_total > l->freed_seen)
		lat_push(&l->freed, &l->nfreed, &l->freed_cap, t_ns, freed_total - l->freed_seen);
	l->freed_seen = freed_total;
	for (size_t i = 0; i < l->nreturned; i++) {
		struct lat_entry *r = &l->returned[i];

		while (r->bytes && l->nfreed) {
			struct lat_entry *f = &l->freed[0];
			uint64_t take = r->bytes < f->bytes ? r->bytes : f->bytes;
			uint64_t lat_ns = r->t_ns > f->t_ns ? r->t_ns - f->t_ns : 0;

			hist[lat_slot(lat_ns, res_ns)] += take;
			*byte_seconds += (double)take * (double)lat_ns / 1e9;
			r->bytes -= take;
			f->bytes -= take;
			if (!f->bytes)
				memmove(l->freed, l->freed + 1, --l->nfreed * sizeof(*f));
		}
		*unmatched += r->bytes;
	}
	l->nreturned = 0;
}

void lat_release(struct purge_lat *l)
{
	free(l->freed);
	free(l->returned);
	memset(l, 0, sizeof(*l));
}
