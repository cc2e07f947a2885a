// SPDX-License-Identifier: GPL-2.0-only
/* The maps' side of the loader: heap counters (per-CPU sums and live threads' snapshot),
 * live stacks, the live-block table, and forgetting what an exited process left in them.
 * Loading and attaching stay in loader.c. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abi.h"
#include "loader_int.h"

void loader_heap_folds(const struct loader *l, uint64_t *begun, uint64_t *done)
{
	/* done first: a fold that begins between the two loads shows as in progress. */
	*done = __atomic_load_n(&l->skel->bss->heap_folds_done, __ATOMIC_SEQ_CST);
	*begun = __atomic_load_n(&l->skel->bss->heap_folds_begun, __ATOMIC_SEQ_CST);
}

int loader_heap_snapshot(struct loader *l)
{
	struct at_thread_counts rec;
	ssize_t got;
	int fd;

	if (!l->iter_link) {
		l->iter_link = bpf_program__attach_iter(l->skel->progs.heap_iter, NULL);
		if (!l->iter_link)
			return -errno;
	}
	fd = bpf_iter_create(bpf_link__fd(l->iter_link));
	if (fd < 0)
		return -errno;
	l->nsnap = 0;
	/* Records are whole: bpf_seq_write never splits one across reads. */
	while ((got = read(fd, &rec, sizeof(rec))) == sizeof(rec)) {
		if (at_grow(&l->snap, l->nsnap, &l->snap_cap, sizeof(rec), 1))
			break;
		l->snap[l->nsnap++] = rec;
	}
	close(fd);
	return got < 0 ? -errno : 0;
}

int loader_heap_stats(const struct loader *l, int pid, uint32_t alloc, bool live_threads,
		      struct at_heap_stats *sum)
{
	struct at_heap_key key = { .tgid = (__u32)pid, .alloc = alloc };
	struct at_heap_stats *per = calloc((size_t)l->ncpus, sizeof(*per));
	bool found = false;

	if (!per)
		return -ENOMEM;
	memset(sum, 0, sizeof(*sum));
	if (!bpf_map__lookup_elem(l->skel->maps.heap_stats, &key, sizeof(key), per,
				  sizeof(*per) * (size_t)l->ncpus, 0)) {
		found = true;
		for (int c = 0; c < l->ncpus; c++)
			at_heap_stats_add(sum, &per[c]);
	}
	free(per);
	for (size_t i = 0; live_threads && i < l->nsnap; i++) {
		if (l->snap[i].tgid != (__u32)pid || l->snap[i].alloc != alloc)
			continue;
		at_heap_stats_add(sum, &l->snap[i].s);
		found = true;
	}
	return found ? 0 : -ENOENT;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return (x > y) - (x < y);
}

static bool in_sorted(const __u32 *set, size_t n, __u32 tgid)
{
	return bsearch(&tgid, set, n, sizeof(*set), cmp_u32) != NULL;
}

static int cmp_stack(const void *a, const void *b)
{
	const struct loader_stack *x = a, *y = b;
	int64_t bx = x->blocks > 0 ? x->bytes : 0, by = y->blocks > 0 ? y->bytes : 0;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	if (x->execs != y->execs)
		return x->execs > y->execs ? -1 : 1; /* the latest program first */
	if (bx != by)
		return bx < by ? 1 : -1;
	return (x->alloc_bytes < y->alloc_bytes) - (x->alloc_bytes > y->alloc_bytes);
}

/* Keeps the stacks of each process's latest program (first in all, sorted), deleting the
 * others from the map; returns how many are kept. */
static size_t latest_program(const struct loader *l, struct loader_stack *all, size_t nall)
{
	size_t kept = 0;

	for (size_t i = 0; i < nall; i++) {
		struct at_stack_key key = { .tgid = all[i].tgid,
					    .stack_id = all[i].stack_id,
					    .execs = all[i].execs };

		/* The first of a tgid has its latest execs. */
		if (kept && all[kept - 1].tgid == all[i].tgid &&
		    all[kept - 1].execs != all[i].execs) {
			bpf_map__delete_elem(l->skel->maps.heap_stack_live, &key, sizeof(key), 0);
			continue;
		}
		if (kept != i)
			all[kept] = all[i];
		kept++;
	}
	return kept;
}

int loader_heap_stacks(struct loader *l, const uint32_t *tgids, size_t n, struct loader_stack **out)
{
	const struct bpf_map *live = l->skel->maps.heap_stack_live;
	struct at_stack_key key, next;
	struct loader_stack *all = NULL;
	size_t nall = 0, cap = 0;
	bool first = true;

	*out = NULL;
	while (!bpf_map__get_next_key(live, first ? NULL : &key, &next, sizeof(next))) {
		struct at_stack_live v;
		__u64 ips[AT_STACK_DEPTH] = { 0 };
		__u32 id = (__u32)next.stack_id;
		struct loader_stack *s;

		first = false;
		key = next;
		if (!in_sorted(tgids, n, next.tgid) ||
		    bpf_map__lookup_elem(live, &next, sizeof(next), &v, sizeof(v), 0) ||
		    !v.alloc_count)
			continue;
		if (at_grow(&all, nall, &cap, sizeof(all[0]), 1)) {
			free(all);
			return -ENOMEM;
		}
		s = &all[nall++];
		memset(s, 0, sizeof(*s));
		s->tgid = next.tgid;
		s->execs = next.execs;
		s->stack_id = next.stack_id;
		s->bytes = v.bytes;
		s->blocks = v.blocks;
		s->alloc_bytes = v.alloc_bytes;
		s->alloc_count = v.alloc_count;
		s->alloc = v.alloc;
		if (bpf_map__lookup_elem(l->skel->maps.heap_stack_traces, &id, sizeof(id), ips,
					 sizeof(ips), 0))
			continue;
		for (size_t k = 0; k < AT_STACK_DEPTH && ips[k]; k++)
			s->ips[s->nips++] = ips[k];
	}
	if (nall)
		qsort(all, nall, sizeof(*all), cmp_stack);
	nall = latest_program(l, all, nall);
	*out = all;
	return (int)nall;
}

/* Deletes every key of map whose first 32 bits are one of the tgids (sorted), in one walk;
 * returns how many. The cursor is the last key kept: after a delete the walk goes on from
 * there, or from the start when nothing was kept yet. */
static size_t delete_keys_of(const struct bpf_map *map, size_t key_size, const __u32 *tgids,
			     size_t ntgids)
{
	unsigned char cur[32], next[32];
	bool have_cur = false;
	size_t n = 0;

	if (key_size > sizeof(cur))
		return 0;
	while (!bpf_map__get_next_key(map, have_cur ? cur : NULL, next, key_size)) {
		__u32 key_tgid;

		memcpy(&key_tgid, next, sizeof(key_tgid));
		if (in_sorted(tgids, ntgids, key_tgid)) {
			n += !bpf_map__delete_elem(map, next, key_size, 0);
			continue;
		}
		memcpy(cur, next, key_size);
		have_cur = true;
	}
	return n;
}

void loader_heap_forget(struct loader *l, int pid, const uint32_t *allocs, size_t nallocs)
{
	for (size_t i = 0; i < nallocs; i++) {
		struct at_heap_key hk = { .tgid = (__u32)pid, .alloc = allocs[i] };

		bpf_map__delete_elem(l->skel->maps.heap_stats, &hk, sizeof(hk), 0);
	}
	if (!at_grow(&l->gone, l->ngone, &l->gone_cap, sizeof(*l->gone), 1))
		l->gone[l->ngone++] = (__u32)pid;
}

void loader_heap_sweep(struct loader *l)
{
	if (!l->ngone)
		return;
	qsort(l->gone, l->ngone, sizeof(*l->gone), cmp_u32);
	/* heap_table through its mapping; a slot taken meanwhile by a new block is left alone. */
	for (size_t i = 0; i < (size_t)1 << l->table_bits; i++) {
		for (int k = 0; k < AT_LIVE_WAYS; k++) {
			__u64 *tag = &l->table[i].slot[k].tag,
			      t = __atomic_load_n(tag, __ATOMIC_RELAXED);

			if (t && in_sorted(l->gone, l->ngone, AT_LIVE_TAG_TGID(t, l->table_bits)))
				__atomic_compare_exchange_n(tag, &t, 0, false, __ATOMIC_RELAXED,
							    __ATOMIC_RELAXED);
		}
	}
	delete_keys_of(l->skel->maps.heap_live, sizeof(struct at_live_key), l->gone, l->ngone);
	delete_keys_of(l->skel->maps.heap_stack_live, sizeof(struct at_stack_key), l->gone,
		       l->ngone);
	l->ngone = 0;
}

size_t loader_heap_blocks(const struct loader *l, const uint32_t *tgids, size_t n, size_t start,
			  size_t max, void (*fn)(void *arg, uint32_t tgid, uint64_t ptr), void *arg)
{
	size_t nb = (size_t)1 << l->table_bits, seen = 0, i = start % nb;

	for (size_t step = 0; l->table && n && step < nb && seen < max; step++, i = (i + 1) % nb) {
		for (int k = 0; k < AT_LIVE_WAYS; k++) {
			__u64 t = __atomic_load_n(&l->table[i].slot[k].tag, __ATOMIC_RELAXED);
			uint32_t tgid;
			uint64_t ptr;

			if (!t || !in_sorted(tgids, n, AT_LIVE_TAG_TGID(t, l->table_bits)))
				continue;
			at_live_decode((uint32_t)i, t, l->table_bits, &tgid, &ptr);
			fn(arg, tgid, ptr);
			seen++;
		}
	}
	return i;
}

void loader_arena_forget(struct loader *l, int pid)
{
	__u32 tgid = (__u32)pid;
	size_t n;

	/* Nothing watched anywhere: no walk (a fleet sees many exits). */
	if (__atomic_load_n(&l->skel->bss->arena_watched, __ATOMIC_RELAXED) <= 0)
		return;
	n = delete_keys_of(l->skel->maps.arena_chunks, sizeof(struct at_chunk_key), &tgid, 1);

	/* The kernel side skips its lookups while the count is 0. */
	if (n)
		__atomic_fetch_sub(&l->skel->bss->arena_watched, (__s64)n, __ATOMIC_RELAXED);
}
