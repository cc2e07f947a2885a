// SPDX-License-Identifier: GPL-2.0-only
/*
 * Each thread's tcache, read from outside. tcache is a TLS variable, so it sits at a fixed
 * offset (tpoff) from each thread's thread pointer, which is the address of the thread's
 * struct pthread. /proc does not show thread pointers; glibc keeps every struct pthread on
 * two lists (GL(dl_stack_used), GL(dl_stack_user)) that libthread_db walks, and these are
 * walked first. A struct pthread also shows itself: its first word (tcb) and third (self)
 * are its own address, and its tid is known. For threads not on the lists, the places glibc
 * puts them are searched: the top of the thread stacks it maps (above a PROT_NONE guard),
 * ld.so's small early mappings (the main thread's), and the start of a static executable's
 * brk heap (_dl_early_allocate).
 */
#include "glibc_priv.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "glibc_layout.h"

#define MAX_TIDS 65536u
/* Mappings this small are searched whole (ld.so's early pages hold the main thread's). */
#define SMALL_MAP (64u << 10)
/* The top of a thread stack that is searched: struct pthread is 2368 bytes. */
#define STACK_TOP (2u * AT_PAGE_SIZE)
/* The start of [heap] that is searched (a static executable's TLS block and TCB). */
#define HEAP_HEAD (4u * AT_PAGE_SIZE)
#define MAX_PAGES 16384u

struct tcb {
	uint32_t tid;
	bool ambiguous;
	bool listed; /* found on glibc's lists: what the search finds is not asked */
	uint64_t addr;
};

struct tcbs {
	struct tcb *v; /* one per tid, sorted by tid */
	size_t n;
	size_t pages;
};

static int by_tid(const void *a, const void *b)
{
	const struct tcb *x = a, *y = b;

	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int read_tids(int pid, struct tcbs *s)
{
	char path[64];
	struct dirent *d;
	size_t cap = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((d = readdir(dir)) && s->n < MAX_TIDS) {
		long tid = strtol(d->d_name, NULL, 10);

		if (tid <= 0)
			continue;
		if (at_grow(&s->v, s->n, &cap, sizeof(*s->v), 1)) {
			closedir(dir);
			return -ENOMEM;
		}
		s->v[s->n++] = (struct tcb){ .tid = (uint32_t)tid };
	}
	closedir(dir);
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), by_tid);
	return 0;
}

static void found(struct tmem *t, struct tcbs *s, uint64_t addr, uint64_t tid_off, bool listed)
{
	struct tcb key, *hit;
	uint32_t tid;

	if (tmem_read(t, addr + tid_off, &tid, sizeof(tid)))
		return;
	key.tid = tid;
	hit = bsearch(&key, s->v, s->n, sizeof(*s->v), by_tid);
	if (!hit || hit->addr == addr || (hit->listed && !listed))
		return;
	hit->listed = listed;
	/* Two structs claiming one live tid: neither is trusted. */
	if (hit->addr)
		hit->ambiguous = true;
	hit->addr = addr;
}

static void search(struct tmem *t, struct tcbs *s, uint64_t start, uint64_t end, uint64_t tid_off)
{
	uint64_t page[AT_PAGE_SIZE / 8];

	for (uint64_t pg = start; pg < end && s->pages < MAX_PAGES; pg += AT_PAGE_SIZE) {
		s->pages++;
		if (tmem_read(t, pg, page, sizeof(page)))
			continue;
		for (size_t o = 0; o < AT_PAGE_SIZE; o += GL_PD_ALIGN) {
			uint64_t a = pg + o;

			if (page[(o + GL_PD_TCB) / 8] == a && page[(o + GL_PD_SELF) / 8] == a)
				found(t, s, a, tid_off, false);
		}
	}
}

static void find_tcbs(struct tmem *t, const struct gl_maps *maps, struct tcbs *s, uint64_t tid_off)
{
	for (size_t i = 0; i < maps->n; i++) {
		const struct gl_map *m = &maps->v[i];
		uint64_t len = m->end - m->start;

		if (m->kind == GM_HEAP)
			search(t, s, m->start, len < HEAP_HEAD ? m->end : m->start + HEAP_HEAD,
			       tid_off);
		if (m->kind != GM_ANON || !(m->prot & PROT_WRITE))
			continue;
		if (len <= SMALL_MAP)
			search(t, s, m->start, m->end, tid_off);
		else if (i && maps->v[i - 1].end == m->start && !maps->v[i - 1].prot)
			search(t, s, m->end - STACK_TOP, m->end, tid_off);
	}
}

/* One circular list of struct pthread (by their list_t): bounded, and Brent's method ends a
 * loop that does not come back to the head. */
static void walk_list(struct tmem *t, struct tcbs *s, uint64_t head, const struct gl_threads *th)
{
	uint64_t e, tortoise, power = 1, lam = 0;

	if (!head || tmem_read_u64(t, head, &e))
		return;
	tortoise = e;
	for (uint32_t n = 0; e != head && n < 2 * MAX_TIDS; n++) {
		uint64_t pd = e - th->list_off, w[3];

		if ((e & 7) || e < th->list_off || tmem_read(t, pd, w, sizeof(w)))
			return;
		if (w[GL_PD_TCB / 8] == pd && w[GL_PD_SELF / 8] == pd)
			found(t, s, pd, th->tid_off, true);
		if (tmem_read_u64(t, e, &e) || e == tortoise)
			return;
		if (++lam == power) {
			tortoise = e;
			power *= 2;
			lam = 0;
		}
	}
}

static bool all_found(const struct tcbs *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (!s->v[i].addr)
			return false;
	return true;
}

static bool seen_before(uint64_t *seen, size_t *n, uint64_t addr)
{
	for (size_t i = 0; i < *n; i++)
		if (seen[i] == addr)
			return true;
	seen[(*n)++] = addr;
	return false;
}

/* The thread runs on while its tcache is walked: a walk that failed is tried again from the
 * tcache pointer, a few times. */
static int walk_retrying(struct glibc_walk *w, uint64_t slot, uint64_t *tc,
			 const struct glibc_tcache_params *p, const struct glibc_mem *mem,
			 uint64_t *b, uint64_t *c, const char **why)
{
	int err = glibc_walk_tcache(w, *tc, p, mem, b, c, why);

	for (int i = 1; i < 3 && err && w->chunks_left; i++) {
		if (tmem_read_u64(w->t, slot, tc))
			break;
		*b = *c = 0;
		if (!*tc)
			return 0;
		err = glibc_walk_tcache(w, *tc, p, mem, b, c, why);
	}
	return err;
}

int glibc_read_tcaches(struct glibc_walk *w, int pid, const struct gl_maps *maps,
		       const struct gl_threads *th, int64_t tpoff,
		       const struct glibc_tcache_params *p, const struct glibc_mem *mem,
		       uint64_t *bytes, uint64_t *chunks, uint64_t *threads)
{
	struct tcbs s = { 0 };
	size_t missed = 0, bad = 0, nseen = 0;
	uint64_t *seen = NULL;
	const char *why = NULL;
	int err = read_tids(pid, &s);

	if (!err && !(seen = calloc(s.n + 1, sizeof(*seen))))
		err = -ENOMEM;
	if (err)
		goto out;
	if (th->list_off) {
		walk_list(w->t, &s, th->heads[0], th);
		walk_list(w->t, &s, th->heads[1], th);
	}
	if (!all_found(&s))
		find_tcbs(w->t, maps, &s, th->tid_off);
	for (size_t i = 0; i < s.n; i++) {
		uint64_t tc, b, c;

		if (!s.v[i].addr || s.v[i].ambiguous ||
		    tmem_read_u64(w->t, s.v[i].addr + (uint64_t)tpoff, &tc)) {
			missed++;
			continue;
		}
		/* A thread that never allocated, or whose tcache is shut down, has none. */
		if (tc && !seen_before(seen, &nseen, tc)) {
			if (walk_retrying(w, s.v[i].addr + (uint64_t)tpoff, &tc, p, mem, &b, &c,
					  &why)) {
				bad++;
				continue;
			}
			*bytes += b;
			*chunks += c;
		}
		(*threads)++;
	}
	if (missed || bad)
		glibc_walk_fail(w, "tcache of %zu of %zu threads not reached%s%s (counted in use)",
				missed + bad, s.n, why ? ": " : "", why ? why : "");
out:
	free(seen);
	free(s.v);
	return err;
}
