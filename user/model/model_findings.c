// SPDX-License-Identifier: GPL-2.0-only
/*
 * Findings: retention explained in plain words, from the figures the report already has
 * (docs/design.md, "Findings"). Each kind names its evidence in numbers and what would
 * release the memory. Computed for each report; nothing here reads the kernel or /proc.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "model_priv.h"

#define MIB(v) ((double)(v) / 1048576.0)

static struct rep_finding *add(struct proc *p, const char *kind, const char *who, uint64_t bytes,
			       uint64_t since_ns)
{
	struct rep_finding *f;

	if (at_grow(&p->findings, p->nfindings, &p->findings_cap, sizeof(*f), 1))
		return NULL;
	f = &p->findings[p->nfindings++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	snprintf(f->allocator, sizeof(f->allocator), "%s", who);
	f->bytes = bytes;
	f->since_ns = since_ns;
	return f;
}

static void arena_resets(struct proc *p, uint64_t min)
{
	for (size_t i = 0; i < p->r.narenas; i++) {
		const struct rep_arena *a = &p->r.arenas[i];
		struct rep_finding *f;

		if (a->ended || !a->resets || a->kept_bytes < min || !a->kept_bytes)
			continue;
		f = add(p, "arena_reset_retains", a->type, a->kept_bytes, a->since_ns);
		if (!f)
			return;
		snprintf(f->evidence, sizeof(f->evidence),
			 "%s arena at 0x%llx: %llu resets, %.1f MiB held across the last one in "
			 "%llu "
			 "chunks (high-water %.1f MiB)",
			 a->type, (unsigned long long)a->addr, (unsigned long long)a->resets,
			 MIB(a->kept_bytes), (unsigned long long)a->chunks,
			 MIB(a->high_water_bytes));
		snprintf(f->advice, sizeof(f->advice), "%s",
			 !strcmp(a->type, "bumpalo")
				 ? "reset() keeps the Bump's newest, largest chunk: drop and "
				   "recreate "
				   "the Bump after an outsized batch, or cap it with "
				   "Bump::set_allocation_limit"
				 : "a reset keeps the arena's chunks for reuse: release them after "
				   "an "
				   "outsized batch");
	}
}

/* What an allocator keeps free in RAM and what the application holds: from its own books
 * when they were read (blocks from before attach included), else from the heap level when
 * its retained is known. False when neither knows. */
static bool kept_of(const struct rep_alloc *a, uint64_t *kept, uint64_t *live)
{
	if (a->books.known) {
		*kept = a->books.retained_bytes;
		*live = a->books.live_bytes;
		return true;
	}
	if (!a->has_heap || !a->retained_known || !a->retained_bytes)
		return false;
	*kept = a->retained_bytes;
	*live = a->live_bytes;
	return true;
}

/* Since when a has kept at least min, to the end (a finding about the state at the report):
 * the first sample of the last run of its timeline whose known retained bytes are all at
 * least min (samples where retained is unknown neither start nor break it); the report's
 * own moment when none, or no timeline. */
static uint64_t kept_since(const struct rep_alloc *a, uint64_t min, uint64_t now)
{
	uint64_t since = now;

	for (size_t i = a->ntimeline; i-- > 0;) {
		const struct rep_asample *s = &a->timeline[i];

		if (!s->retained_known)
			continue;
		if (s->retained_bytes < min || !s->retained_bytes)
			break;
		since = s->t_ns;
	}
	return since;
}

static void lazyfree(struct proc *p, uint64_t min)
{
	const struct rep_alloc *who = NULL;
	struct rep_finding *f;

	if (p->r.exited || p->r.lazyfree_bytes < min || !p->r.lazyfree_bytes)
		return;
	/* The allocator that gave back the most with MADV_FREE; none made a traced one: the
	 * pages were advised before attach ("unknown"). */
	for (size_t i = 0; i < p->r.nallocs; i++)
		if (p->r.allocs[i].ret_bytes[AT_RET_MADV_FREE] &&
		    (!who ||
		     p->r.allocs[i].ret_bytes[AT_RET_MADV_FREE] > who->ret_bytes[AT_RET_MADV_FREE]))
			who = &p->r.allocs[i];
	f = add(p, "lazyfree_in_rss", who ? who->name : "unknown", p->r.lazyfree_bytes,
		who ? who->ret_last_ns[AT_RET_MADV_FREE] : 0);
	if (!f)
		return;
	snprintf(f->evidence, sizeof(f->evidence),
		 "%.1f MiB given back with MADV_FREE are still counted in RSS (LazyFree); %s made "
		 "%llu MADV_FREE calls for %.1f MiB",
		 MIB(p->r.lazyfree_bytes), f->allocator,
		 (unsigned long long)(who ? who->ret_count[AT_RET_MADV_FREE] : 0),
		 MIB(who ? who->ret_bytes[AT_RET_MADV_FREE] : 0));
	snprintf(f->advice, sizeof(f->advice),
		 "not a leak: the kernel takes these pages only under memory pressure, so RSS "
		 "overstates use; for an exact RSS return memory with MADV_DONTNEED (jemalloc: "
		 "muzzy_decay_ms:0; mimalloc: MIMALLOC_PURGE_DECOMMITS=1)");
}

/* One of the allocator's own figures by name (0 when its books lack it). */
static uint64_t book_figure(const struct rep_books *b, const char *name)
{
	for (size_t i = 0; i < b->nfigures; i++)
		if (b->figures[i].name && !strcmp(b->figures[i].name, name))
			return b->figures[i].bytes;
	return 0;
}

/* jemalloc and mimalloc purge freed pages on a timer that runs only when the allocator
 * is called; an idle process keeps them. glibc has its own kind. */
static void idle_purge(const struct model *m, struct proc *p, uint64_t now, uint64_t min)
{
	uint64_t idle = m->lim.idle_purge_ms * 1000000ull;

	if (p->r.exited || now < idle)
		return;
	for (size_t i = AT_OWNER_FIRST; i < p->nallocs; i++) {
		const struct rep_alloc *a = &p->allocs[i].r;
		/* Freed since traced, not in the report's window: an interval of an idle
		 * process frees nothing, and that is the process this finding is about. */
		uint64_t freed = p->allocs[i].heap.free_bytes;
		uint64_t last = 0, kept, live;
		struct rep_finding *f;

		/* With the books, what is kept free is known to have been freed; the heap level
		 * alone needs to have seen frees. */
		if (!kept_of(a, &kept, &live) || !strcmp(a->name, "glibc") || kept < min || !kept ||
		    (!a->books.known && !freed))
			continue;
		for (int k = 0; k < AT_RET_NR; k++)
			if (a->ret_last_ns[k] > last)
				last = a->ret_last_ns[k];
		if (now - last < idle)
			continue;
		f = add(p, "idle_purge", a->name, kept, last);
		if (!f)
			return;
		char freed_s[96];

		/* What the allocator's own books say it keeps: freed pages, not holes. */
		if (!a->books.known)
			snprintf(freed_s, sizeof(freed_s), "%.1f MiB freed", MIB(freed));
		else if (!strcmp(a->name, "jemalloc"))
			snprintf(freed_s, sizeof(freed_s),
				 "its books: %.1f MiB dirty and %.1f MiB muzzy pages",
				 MIB(book_figure(&a->books, "dirty")),
				 MIB(book_figure(&a->books, "muzzy")));
		else
			snprintf(freed_s, sizeof(freed_s), "its books: %.1f MiB committed",
				 MIB(book_figure(&a->books, "committed")));
		snprintf(f->evidence, sizeof(f->evidence),
			 "%s keeps %.1f MiB resident that the application does not use (resident "
			 "%.1f MiB, live %.1f MiB); %s, nothing returned to the OS for %.1f s",
			 a->name, MIB(kept), MIB(a->resident_bytes + a->pre_resident_bytes),
			 MIB(live), freed_s, (double)(now - last) / 1e9);
		snprintf(
			f->advice, sizeof(f->advice), "%s",
			!strcmp(a->name, "jemalloc")
				? "jemalloc purges on decay (dirty_decay_ms, muzzy_decay_ms) only "
				  "when it is called: enable background_thread:true, or purge with "
				  "mallctl(\"arena.<i>.purge\")"
				: "call the allocator's collect (mimalloc: mi_collect(true)) when "
				  "idle, "
				  "or shorten its purge delay");
	}
}

static void glibc_untrimmable(struct proc *p, uint64_t min, uint64_t now)
{
	for (size_t i = 0; i < p->r.nallocs; i++) {
		const struct rep_alloc *a = &p->r.allocs[i];
		struct rep_finding *f;

		uint64_t kept, live;

		if (strcmp(a->name, "glibc") || !kept_of(a, &kept, &live) || kept < min || !kept)
			continue;
		f = add(p, "glibc_untrimmable", a->name, kept, kept_since(a, min, now));
		if (!f)
			return;
		snprintf(f->evidence, sizeof(f->evidence),
			 "%.1f MiB free inside glibc's heaps but resident (resident %.1f MiB, live "
			 "%.1f MiB); %llu brk shrinks, %.1f MiB trimmed",
			 MIB(kept), MIB(a->resident_bytes + a->pre_resident_bytes), MIB(live),
			 (unsigned long long)a->ret_count[AT_RET_BRK_SHRINK],
			 MIB(a->ret_bytes[AT_RET_BRK_SHRINK]));
		snprintf(f->advice, sizeof(f->advice),
			 "free() trims only the top of a heap, above M_TRIM_THRESHOLD, and a live "
			 "block above the free memory pins it: malloc_trim(0) releases free pages "
			 "inside the heap; fewer arenas (MALLOC_ARENA_MAX) or a lower "
			 "M_MMAP_THRESHOLD keep less");
	}
}

static void several_allocators(struct proc *p, uint64_t min, uint64_t now)
{
	char names[64] = "", list[320] = "";
	uint64_t total = 0, since = 0;
	int n = 0;
	struct rep_finding *f;

	for (size_t i = 0; i < p->r.nallocs; i++) {
		const struct rep_alloc *a = &p->r.allocs[i];
		size_t l = strlen(list), k = strlen(names);
		uint64_t kept, live;

		if (!kept_of(a, &kept, &live) || kept < min || !kept)
			continue;
		n++;
		total += kept;
		/* Several at once: since the last of them began. */
		if (kept_since(a, min, now) > since)
			since = kept_since(a, min, now);
		snprintf(names + k, sizeof(names) - k, "%s%s", k ? "+" : "", a->name);
		snprintf(list + l, sizeof(list) - l, "%s%s %.1f MiB", l ? ", " : "", a->name,
			 MIB(kept));
	}
	if (n < 2 || !(f = add(p, "several_allocators_retain", names, total, since)))
		return;
	snprintf(f->evidence, sizeof(f->evidence), "%d allocators each keep unused memory: %s", n,
		 list);
	snprintf(f->advice, sizeof(f->advice),
		 "each allocator keeps its own free memory and none can use another's: route the "
		 "process's allocations through one allocator (LD_PRELOAD, the global allocator)");
}

/* What the books say the retained memory is, and what to do: glibc's free chunks in its bins
 * sit between live blocks (fragmentation); jemalloc's and mimalloc's are whole pages they keep
 * for reuse until they purge them, which is not fragmentation (issue 13, item 5: mimalloc's
 * 252 MiB committed for 1.4 MiB live was blamed on batches). */
static void growth_cause(const struct rep_alloc *a, char *why, size_t wlen, char *advice,
			 size_t alen)
{
	const struct rep_books *b = &a->books;

	if (!strcmp(a->name, "glibc")) {
		if (b->known)
			snprintf(why, wlen,
				 "; glibc's books: %.1f MiB free in bins between live "
				 "blocks, %.1f MiB at the top",
				 MIB(book_figure(b, "bins") + book_figure(b, "fastbins")),
				 MIB(book_figure(b, "top")));
		snprintf(advice, alen, "%s",
			 "memory freed by one batch is not reused by the next (fragmentation, or "
			 "blocks kept between batches pin their pages): compare --stacks across "
			 "batches, free long-lived blocks apart from batch data; malloc_trim(0) "
			 "returns the free pages meanwhile");
	} else if (b->known && !strcmp(a->name, "jemalloc")) {
		snprintf(why, wlen,
			 "; jemalloc's books: %.1f MiB dirty and %.1f MiB muzzy pages "
			 "kept for reuse",
			 MIB(book_figure(b, "dirty")), MIB(book_figure(b, "muzzy")));
		snprintf(advice, alen, "%s",
			 "not fragmentation: jemalloc keeps freed pages (dirty, then muzzy) for "
			 "reuse until they decay, and decays only when called: lower "
			 "dirty_decay_ms and muzzy_decay_ms, enable background_thread:true, or "
			 "purge with mallctl(\"arena.<i>.purge\")");
	} else if (b->known && !strcmp(a->name, "mimalloc")) {
		snprintf(why, wlen, "; mimalloc's books: %.1f MiB committed for %.1f MiB live",
			 MIB(book_figure(b, "committed")), MIB(b->live_bytes));
		snprintf(advice, alen, "%s",
			 "not fragmentation: mimalloc keeps freed pages committed for reuse and "
			 "purges them only on its own schedule, when called: mi_collect(true) "
			 "when idle, or MIMALLOC_PURGE_DELAY=0, returns them");
	} else {
		why[0] = '\0';
		snprintf(advice, alen, "%s",
			 "memory freed by one batch is not reused by the next (fragmentation), or "
			 "the allocator keeps freed pages for reuse: its own books (without "
			 "--no-books) tell which; compare --stacks across batches");
	}
}

/* Retained memory growing batch after batch while the application's live memory does not
 * (docs/design.md, "Findings"). Its look-alikes, which it must not name: a workload that
 * simply grows (retained rises with live: the allocator's slack grows with it), and one
 * step such as freeing half the heap after small rises (0.0 -> 0.1 -> 0.2 -> 8.0 MiB on the
 * demo): so retained rises at each of the last growth_samples changes (a change is a move
 * of at least the minimum / growth_samples: smaller ones are noise, model_note_retained),
 * by at least the minimum in all, and live at the end is at most live at the start plus an
 * eighth of the rise. */
static void growth(const struct model *m, struct proc *p, uint64_t min)
{
	size_t need = m->lim.growth_samples;

	/* Like the other heap kinds: only while retained is known (alive, traced whole). */
	if (p->r.exited || !need)
		return;
	for (size_t k = AT_OWNER_FIRST; k < p->nallocs; k++) {
		const struct alloc *a = &p->allocs[k];
		char list[200] = "", why[160], advice[320];
		const struct growth_pt *g = a->growth, *first, *last;
		struct rep_finding *f;
		bool rising = a->ngrowth > need && (a->r.retained_known || a->r.books.known);
		uint64_t rise;

		for (size_t i = a->ngrowth - (rising ? need : 0); rising && i < a->ngrowth; i++)
			rising = g[i].retained > g[i - 1].retained;
		if (!rising)
			continue;
		first = &g[a->ngrowth - need - 1];
		last = &g[a->ngrowth - 1];
		rise = last->retained - first->retained;
		if (rise < (min ? min : 1) || last->live > first->live + rise / 8)
			continue;
		f = add(p, "retention_growth", a->name, rise, first->t_ns);
		if (!f)
			return;
		for (const struct growth_pt *i = first; i <= last; i++) {
			size_t l = strlen(list);

			snprintf(list + l, sizeof(list) - l, "%s%.1f", l ? " -> " : "",
				 MIB(i->retained));
		}
		growth_cause(&a->r, why, sizeof(why), advice, sizeof(advice));
		snprintf(f->evidence, sizeof(f->evidence),
			 "%s's retained memory grew at each of its last %zu changes: %s MiB, while "
			 "live went from %.1f to %.1f MiB%s",
			 a->name, need, list, MIB(first->live), MIB(last->live), why);
		snprintf(f->advice, sizeof(f->advice), "%s", advice);
	}
}

void model_findings(const struct model *m, struct proc *p, uint64_t now_ns)
{
	uint64_t min = m->lim.finding_min_bytes,
		 now = now_ns > m->start_ns ? now_ns - m->start_ns : 0;

	p->nfindings = 0;
	arena_resets(p, min);
	lazyfree(p, min);
	idle_purge(m, p, now, min);
	glibc_untrimmable(p, min, now);
	several_allocators(p, min, now);
	growth(m, p, min);
	p->r.findings = p->findings;
	p->r.nfindings = p->nfindings;
}
