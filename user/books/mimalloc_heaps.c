// SPDX-License-Identifier: GPL-2.0-only
#include "mimalloc_priv.h"

#include <stdio.h>

struct heap_ref {
	uint64_t addr, tid;
};

static int by_ref(const void *a, const void *b)
{
	const struct heap_ref *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* The (heap, thread) pairs the pages of live threads name (xheap), each once. */
static int heap_refs(struct bmi_rd *r, struct heap_ref **out, size_t *nout)
{
	struct heap_ref *v = NULL;
	size_t n = 0, cap = 0;

	*out = NULL;
	*nout = 0;
	for (size_t i = 0; i < r->npages; i++) {
		const struct books_mi_page *p = &r->pages[i];
		uint64_t tid = r->segs[p->seg].s.thread_id;

		if (!p->heap || !tid || r->segs[p->seg].refused)
			continue;
		if (n && v[n - 1].addr == p->heap && v[n - 1].tid == tid)
			continue;
		if (at_grow(&v, n, &cap, sizeof(*v), 1)) {
			free(v);
			return -ENOMEM;
		}
		v[n++] = (struct heap_ref){ .addr = p->heap, .tid = tid };
	}
	if (n)
		qsort(v, n, sizeof(*v), by_ref);
	*out = v;
	*nout = n;
	return 0;
}

/* One entry per heap; a heap named by pages of two threads belongs to neither for sure. */
static int gather_heaps(struct bmi_rd *r)
{
	struct heap_ref *v;
	size_t n;
	int err = heap_refs(r, &v, &n);

	for (size_t i = 0; !err && i < n; i++) {
		if (r->nheaps && r->heaps[r->nheaps - 1].addr == v[i].addr) {
			r->heaps[r->nheaps - 1].bad |= r->heaps[r->nheaps - 1].tid != v[i].tid;
			continue;
		}
		if (r->nheaps >= MAX_HEAPS) {
			books_partial(r->b, "more than %u heaps", MAX_HEAPS);
			break;
		}
		if (at_grow(&r->heaps, r->nheaps, &r->heaps_cap, sizeof(*r->heaps), 1)) {
			err = -ENOMEM;
			break;
		}
		r->heaps[r->nheaps++] = (struct heap_ent){ .addr = v[i].addr, .tid = v[i].tid };
	}
	free(v);
	return err;
}

/* A heap is kept when it says it belongs to the thread owning the pages that name it. */
static int read_heaps(struct bmi_rd *r)
{
	for (size_t i = 0; i < r->nheaps; i++) {
		struct heap_ent *h = &r->heaps[i];
		int err = h->bad ? 0 : bmi_read(r, h->addr, h->raw, sizeof(h->raw));

		if (bmi_spent(r, err))
			return err;
		if (h->bad || err || books_ld64(h->raw, HEAP_THREAD_ID) != h->tid ||
		    !user_ptr(books_ld64(h->raw, HEAP_TLD))) {
			h->bad = true;
			continue;
		}
		h->cookie = books_ld64(h->raw, HEAP_COOKIE);
		h->delayed = books_ld64(h->raw, HEAP_DELAYED_FREE);
		r->st->heaps++;
	}
	return 0;
}

static int by_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The most common segment key, if two segments or more share it. */
static int majority_key(struct bmi_rd *r, uint64_t *key)
{
	uint64_t *k = malloc((r->nsegs ? r->nsegs : 1) * sizeof(*k));
	size_t n = 0, best = 0;

	if (!k)
		return -ENOMEM;
	for (size_t i = 0; i < r->nsegs; i++)
		if (!r->segs[i].refused)
			k[n++] = r->segs[i].s.cookie_key;
	qsort(k, n, sizeof(*k), by_u64);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i; j < n && k[j] == k[i]; j++)
			;
		if (j - i > best) {
			best = j - i;
			*key = k[i];
		}
	}
	free(k);
	return best >= 2 ? 0 : -ENOENT;
}

/*
 * Every segment's cookie is its address xor _mi_heap_main.cookie, a random key. The main
 * heap is the heap whose own cookie is that key; else two segments agreeing on it will do.
 * A segment with another key is not mimalloc's (or not this process's).
 */
static int resolve_key(struct bmi_rd *r)
{
	size_t live = 0;
	int err;

	for (size_t i = 0; i < r->nheaps && !r->key_known; i++) {
		if (r->heaps[i].bad)
			continue;
		for (size_t j = 0; j < r->nsegs && !r->key_known; j++)
			if (!r->segs[j].refused && r->segs[j].s.cookie_key == r->heaps[i].cookie) {
				r->key = r->heaps[i].cookie;
				r->key_known = true;
			}
	}
	if (!r->key_known) {
		err = majority_key(r, &r->key);
		if (err == -ENOMEM)
			return err;
		r->key_known = !err;
	}
	for (size_t i = 0; i < r->nsegs; i++)
		live += !r->segs[i].refused;
	for (size_t i = 0; i < r->nsegs && (r->key_known || live > 1); i++) {
		struct seg_ent *se = &r->segs[i];

		if (se->refused || (r->key_known && se->s.cookie_key == r->key))
			continue;
		se->refused = true;
		bmi_refuse(r, "cookie does not match the process's key");
		books_partial(r->b, "segment %#llx: cookie does not match the process's key",
			      (unsigned long long)se->s.addr);
	}
	r->st->key_known = r->key_known;
	return 0;
}

/* A heap's delayed-free list: blocks other threads freed in its full pages. Each block
 * must be one of the heap's pages' blocks, and no page gets more than its used count. */
static int walk_delayed(struct bmi_rd *r, struct heap_ent *h)
{
	uint64_t b = h->delayed;
	int err;

	while (b) {
		struct books_mi_page *p = bmi_page_at(r, b);

		if (!p || p->heap != h->addr || b < p->blocks || (b - p->blocks) % p->block_size ||
		    (b - p->blocks) / p->block_size >= p->capacity ||
		    p->thread_frees + p->delayed_frees >= p->used) {
			books_partial(r->b, "delayed-free list of heap %#llx inconsistent",
				      (unsigned long long)h->addr);
			return 0;
		}
		err = bmi_list_step(r, &b, "delayed-free list of heap", h->addr);
		if (err)
			return err < 0 ? err : 0;
		p->delayed_frees++;
	}
	return 0;
}

/* The page whose mi_page_t is at head (pages are sorted by head as well as by start). */
static struct books_mi_page *page_by_head(struct bmi_rd *r, uint64_t head)
{
	size_t lo = 0, hi = r->npages;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->pages[mid].head < head)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < r->npages && r->pages[lo].head == head && !r->segs[r->pages[lo].seg].refused)
		return &r->pages[lo];
	return NULL;
}

/* Pages reached from a heap's page queues (mimalloc's own lists) make their segments
 * BOOKS evidence. The queues, all together, cannot hold more pages than were found. */
static void walk_queues(struct bmi_rd *r, const struct heap_ent *h)
{
	uint64_t steps = 0, stray = 0;

	for (int q = 0; q < HEAP_QUEUES; q++) {
		uint64_t pa = books_ld64(h->raw, HEAP_PAGES + 24 * q);

		while (pa) {
			struct books_mi_page *p = page_by_head(r, pa);

			if (steps++ > r->npages) {
				books_partial(r->b, "page queues of heap %#llx loop",
					      (unsigned long long)h->addr);
				return;
			}
			if (!p || p->heap != h->addr) {
				stray++;
				break;
			}
			r->segs[p->seg].books = true;
			pa = p->next;
		}
	}
	if (stray)
		books_partial(r->b, "heap %#llx lists pages outside the segments read",
			      (unsigned long long)h->addr);
}

int bmi_heaps(struct bmi_rd *r)
{
	int err = gather_heaps(r);

	if (!err)
		err = read_heaps(r);
	if (!err || err == -ENOSPC)
		err = resolve_key(r);
	for (size_t i = 0; i < r->nheaps && !err; i++)
		if (!r->heaps[i].bad)
			err = walk_delayed(r, &r->heaps[i]);
	for (size_t i = 0; i < r->nheaps; i++)
		if (!r->heaps[i].bad)
			walk_queues(r, &r->heaps[i]);
	return err;
}
