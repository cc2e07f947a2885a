// SPDX-License-Identifier: GPL-2.0-only
/* Findings (docs/design.md, "Findings"): for each kind a case where it must be raised, with
 * its bytes, allocator, since and evidence, and look-alikes where it must not. Residency and
 * LazyFree are real: the model traces this test process (its /proc is readable without
 * root), which maps and touches the memory that the synthetic mmap records describe, so
 * that resident bytes are exactly the bytes touched. Heap figures come through
 * model_heap_add; retained = resident - live. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model_helpers.h"

#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define RW (PROT_READ | PROT_WRITE)
#define JE "libjemalloc.so.2"
#define MI "libmimalloc.so.2"
#define LIBC "libc.so.6"
/* A break far from anything this process maps: never resident. */
#define BRK 0x100000000000ull

#define MIN_BYTES (1 * MiB)
#define IDLE_MS 10000
#define GROWTH 4

/* This process, traced from its "exec", and the memory it mapped for the test. */
struct fx {
	struct model *m;
	int pid;
	void *maps[16];
	size_t lens[16];
	size_t n;
};

static struct model *live_model(int pid, uint64_t min)
{
	struct model_limits lim = { .max_procs = 4,
				    .max_segs = 1024,
				    .timeline_max = 16,
				    .return_log_max = 16,
				    .max_arenas = 16,
				    .finding_min_bytes = min,
				    .idle_purge_ms = IDLE_MS,
				    .growth_samples = GROWTH };

	return th_model(&lim, pid);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->pid = getpid();
	f->m = live_model(f->pid, MIN_BYTES);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	model__free(f->m);
	for (size_t i = 0; i < f->n; i++)
		munmap(f->maps[i], f->lens[i]);
	free(f);
	return 0;
}

/* Maps len bytes for real, makes touched of them resident, and tells the model that file
 * mapped them at t. */
static void *map(struct fx *f, uint64_t t, const char *file, size_t len, size_t touched)
{
	void *p = mmap(NULL, len, RW, ANON, -1, 0);

	assert_ptr_not_equal(p, MAP_FAILED);
	assert_true(f->n < AT_ARRAY_SIZE(f->maps));
	f->maps[f->n] = p;
	f->lens[f->n++] = len;
	madvise(p, len, MADV_NOHUGEPAGE); /* residency page by page */
	memset(p, 0x5a, touched);
	th_sys(f->m, f->pid, t, AT_SYS_MMAP, file, 0, len, RW, ANON, (int64_t)(uintptr_t)p);
	return p;
}

static void unmap(struct fx *f, uint64_t t, const char *file, void *p)
{
	for (size_t i = 0; i < f->n; i++) {
		if (f->maps[i] != p)
			continue;
		assert_int_equal(munmap(p, f->lens[i]), 0);
		th_sys(f->m, f->pid, t, AT_SYS_MUNMAP, file, (uint64_t)(uintptr_t)p, f->lens[i], 0,
		       0, 0);
		f->maps[i] = f->maps[--f->n];
		f->lens[i] = f->lens[f->n];
		return;
	}
	fail_msg("%p was not mapped by the test", p);
}

/* MADV_FREE for real, with LazyFree complete at once: the kernel marks lazily freed pages
 * through per-CPU batches, which stay partly undrained (smaps_rollup then misses the tail,
 * up to 30 pages) until the next MADV_FREE on that CPU drains them first. So the thread
 * stays on one CPU for the call and an MADV_FREE of a page never touched (nothing to add
 * to the batch) follows it. */
static void madv_free_now(void *p, size_t len)
{
	void *scratch = mmap(NULL, AT_PAGE_SIZE, RW, ANON, -1, 0);
	cpu_set_t old, one;
	int cpu = sched_getcpu();
	bool pinned = cpu >= 0 && !sched_getaffinity(0, sizeof(old), &old);

	assert_ptr_not_equal(scratch, MAP_FAILED);
	if (pinned) {
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		pinned = !sched_setaffinity(0, sizeof(one), &one);
	}
	assert_int_equal(madvise(p, len, MADV_FREE), 0);
	assert_int_equal(madvise(scratch, AT_PAGE_SIZE, MADV_FREE), 0);
	if (pinned)
		sched_setaffinity(0, sizeof(old), &old);
	munmap(scratch, AT_PAGE_SIZE);
}

/* One allocator's heap counters: live = alloc - freed. */
struct fig {
	const char *name;
	uint64_t alloc, freed, unmatched;
};

/* A sample at t as the tracer takes it: residency, then every allocator's counters. */
static void sample(struct fx *f, uint64_t t, const struct fig *figs, size_t n)
{
	struct th_heap_fig h[8];

	assert_true(n <= AT_ARRAY_SIZE(h));
	model_sample(f->m, t);
	for (size_t i = 0; i < n; i++) {
		h[i] = (struct th_heap_fig){ figs[i].name, th_heap(figs[i].alloc, figs[i].freed) };
		h[i].s.unmatched_free = figs[i].unmatched;
	}
	th_heap_refresh(f->m, f->pid, t, h, n);
}

static const struct rep_proc *report(struct model *m, int pid, uint64_t now)
{
	const struct report *r = model_report(m, now);
	const struct rep_proc *p;

	assert_non_null(r);
	p = th_rep_proc(r, pid);
	assert_non_null(p);
	return p;
}

/* ---- arena_reset_retains ---- */

static const struct at_probe_info bump_probe = {
	.type = "bumpalo",
	.func = "alloc_layout_slow",
	.kind = AT_AK_BUMP_SLOW,
	.has_reset = true,
	.has_release = true,
};
static const struct at_probe_info obstack_probe = {
	.type = "obstack",
	.func = "_obstack_newchunk",
	.kind = AT_AK_OBSTACK_NEW,
	.has_reset = true,
	.has_release = true,
};

#define BUMP 0x7ffc00001000ull
#define BUMP2 0x7ffc00002000ull
#define EMPTY 0x555500001000ull
#define DATA(i) (0x100000000ull * (i))

/* A live arena reset and holding at least the minimum across its last reset; not an ended
 * one, not one below the minimum, not one never reset. */
static void test_arena_reset_retains(void **state)
{
	const int pid = FAKE_PID; /* nothing here needs /proc */
	const uint64_t s1 = 512 * KiB, s2 = 2 * MiB;
	const uint64_t f1 = DATA(1) + s1, f2 = DATA(2) + s2;
	struct model *m = live_model(pid, MIN_BYTES);
	const struct rep_proc *p;
	const struct rep_finding *f;

	(void)state;
	/* Raised: a Bump reset twice, keeping its 2 MiB chunk (with its 48-byte footer). */
	th_bump(m, pid, 1 * MS, AT_AK_BUMP_SLOW, &bump_probe, BUMP, DATA(1), f1, EMPTY);
	th_bump(m, pid, 2 * MS, AT_AK_BUMP_SLOW, &bump_probe, BUMP, DATA(2), f2, f1);
	th_bump(m, pid, 3 * MS, AT_AK_BUMP_RESET, &bump_probe, BUMP, DATA(2), f2, f1);
	th_bump(m, pid, 4 * MS, AT_AK_BUMP_RESET, &bump_probe, BUMP, DATA(2), f2, f1);
	/* Not: another Bump reset with 512 KiB kept. */
	th_bump(m, pid, 5 * MS, AT_AK_BUMP_SLOW, &bump_probe, BUMP2, DATA(3), DATA(3) + s1, EMPTY);
	th_bump(m, pid, 6 * MS, AT_AK_BUMP_RESET, &bump_probe, BUMP2, DATA(3), DATA(3) + s1, EMPTY);
	/* Not: a Bump of 4 MiB never reset. */
	th_bump(m, pid, 7 * MS, AT_AK_BUMP_SLOW, &bump_probe, BUMP2 + 0x1000, DATA(4),
		DATA(4) + 4 * MiB, EMPTY);
	/* Raised: an obstack rewound with exactly the minimum held. Not: one rewound with a
	 * byte less; one rewound with 4 MiB, then freed (ended). */
	th_obstack(m, pid, 8 * MS, AT_AK_OBSTACK_NEW, &obstack_probe, 0x1000, 0, DATA(5),
		   DATA(5) + MIN_BYTES, 0);
	th_obstack(m, pid, 9 * MS, AT_AK_OBSTACK_FREE, &obstack_probe, 0x1000, DATA(5) + 64,
		   DATA(5), DATA(5) + MIN_BYTES, 0);
	th_obstack(m, pid, 8 * MS, AT_AK_OBSTACK_NEW, &obstack_probe, 0x2000, 0, DATA(6),
		   DATA(6) + MIN_BYTES - 1, 0);
	th_obstack(m, pid, 9 * MS, AT_AK_OBSTACK_FREE, &obstack_probe, 0x2000, DATA(6) + 64,
		   DATA(6), DATA(6) + MIN_BYTES - 1, 0);
	th_obstack(m, pid, 8 * MS, AT_AK_OBSTACK_NEW, &obstack_probe, 0x3000, 0, DATA(7),
		   DATA(7) + 4 * MiB, 0);
	th_obstack(m, pid, 9 * MS, AT_AK_OBSTACK_FREE, &obstack_probe, 0x3000, DATA(7) + 64,
		   DATA(7), DATA(7) + 4 * MiB, 0);
	th_obstack(m, pid, 10 * MS, AT_AK_OBSTACK_FREE, &obstack_probe, 0x3000, 0, 0, 0, 0);

	p = report(m, pid, 20 * MS);
	assert_int_equal(p->nfindings, 2);
	f = th_finding(p, "arena_reset_retains", "bumpalo");
	assert_non_null(f);
	assert_int_equal(f->bytes, s2 + 48);
	assert_int_equal(f->since_ns, 1 * MS);
	assert_string_equal(f->evidence, "bumpalo arena at 0x7ffc00001000: 2 resets, 2.0 MiB held "
					 "across the last one in 1 chunks (high-water 2.5 MiB)");
	assert_contains(f->advice, "Bump::set_allocation_limit");
	f = th_finding(p, "arena_reset_retains", "obstack");
	assert_non_null(f);
	assert_int_equal(f->bytes, MIN_BYTES);
	assert_int_equal(f->since_ns, 8 * MS);
	assert_contains(f->evidence, "obstack arena at 0x1000: 1 resets, 1.0 MiB held");
	assert_contains(f->advice, "a reset keeps the arena's chunks for reuse");
	model__free(m);
}

/* ---- lazyfree_in_rss ---- */

/* LazyFree at least the minimum, named after the allocator that MADV_FREE'd most; not
 * below the minimum, not once the process has exited. */
static void test_lazyfree_in_rss(void **state)
{
	struct fx *f = *state;
	void *je = map(f, 1 * MS, JE, 2 * MiB, 2 * MiB);
	void *g = map(f, 1 * MS, LIBC, 1 * MiB, 1 * MiB);
	struct model *strict;
	const struct rep_proc *p;
	const struct rep_finding *fd;

	madv_free_now(je, 2 * MiB);
	th_sys(f->m, f->pid, 100 * MS, AT_SYS_MADVISE, JE, (uint64_t)(uintptr_t)je, 2 * MiB,
	       MADV_FREE, 0, 0);
	madv_free_now(g, 1 * MiB);
	th_sys(f->m, f->pid, 200 * MS, AT_SYS_MADVISE, LIBC, (uint64_t)(uintptr_t)g, 1 * MiB,
	       MADV_FREE, 0, 0);
	sample(f, 300 * MS, NULL, 0);

	p = report(f->m, f->pid, 300 * MS);
	assert_int_equal(p->lazyfree_bytes, 3 * MiB);
	assert_int_equal(p->ntimeline, 1);
	assert_int_equal(p->timeline[0].lazyfree_bytes, 3 * MiB);
	assert_int_equal(th_nfindings(p, "lazyfree_in_rss"), 1);
	fd = th_finding(p, "lazyfree_in_rss", "jemalloc");
	assert_non_null(fd);
	assert_int_equal(fd->bytes, 3 * MiB);
	assert_int_equal(fd->since_ns, 100 * MS);
	assert_string_equal(fd->evidence, "3.0 MiB given back with MADV_FREE are still counted in "
					  "RSS (LazyFree); jemalloc made 1 MADV_FREE calls for "
					  "2.0 MiB");
	assert_contains(fd->advice, "not a leak");

	/* The same process under a higher minimum: nothing. */
	strict = live_model(f->pid, 3 * MiB + AT_PAGE_SIZE);
	model_sample(strict, 300 * MS);
	p = report(strict, f->pid, 300 * MS);
	assert_int_equal(p->lazyfree_bytes, 3 * MiB);
	assert_null(th_finding(p, "lazyfree_in_rss", NULL));
	model__free(strict);

	/* Exited: LazyFree is the last sample's, and nothing is said about it. */
	th_proc(f->m, AT_PROC_EXIT, f->pid, 0, 400 * MS);
	p = report(f->m, f->pid, 400 * MS);
	assert_true(p->exited);
	assert_int_equal(p->lazyfree_bytes, 3 * MiB);
	assert_null(th_finding(p, "lazyfree_in_rss", NULL));
}

/* LazyFree with no MADV_FREE traced (the record was lost, or came before the trace): the
 * finding names whatever allocator is listed first, with "made 0 MADV_FREE calls". */
static void test_lazyfree_nobody_traced(void **state)
{
	struct fx *f = *state;
	void *je = map(f, 1 * MS, JE, 2 * MiB, 2 * MiB);
	const struct rep_proc *p;
	const struct rep_finding *fd;

	madv_free_now(je, 2 * MiB);
	sample(f, 300 * MS, NULL, 0);
	p = report(f->m, f->pid, 300 * MS);
	fd = th_finding(p, "lazyfree_in_rss", NULL);
	assert_non_null(fd);
	assert_string_equal(fd->allocator, "unknown");
}

/* ---- idle_purge ---- */

/* jemalloc retains 3 MiB, the application freed 2 MiB, and jemalloc returned nothing for
 * idle_purge_ms: raised from that moment on. mimalloc retaining with nothing freed: not,
 * until it frees. */
static void test_idle_purge(void **state)
{
	struct fx *f = *state;
	const uint64_t ret_t = 1 * SEC, idle = IDLE_MS * MS;
	void *spare;
	struct fig figs[] = {
		{ "jemalloc", 3 * MiB, 2 * MiB, 0 }, /* live 1 MiB */
		{ "mimalloc", 512 * KiB, 0, 0 },     /* live 512 KiB, nothing freed */
	};
	const struct rep_proc *p;
	const struct rep_finding *fd;
	const struct rep_alloc *a;

	(void)map(f, 1 * MS, JE, 4 * MiB, 4 * MiB);
	spare = map(f, 1 * MS, JE, 1 * MiB, 0);
	(void)map(f, 1 * MS, MI, 2 * MiB, 2 * MiB);
	unmap(f, ret_t, JE, spare); /* jemalloc's last return */
	sample(f, 2 * SEC, figs, AT_ARRAY_SIZE(figs));

	p = report(f->m, f->pid, ret_t + idle - 1);
	a = th_alloc(p, "jemalloc");
	assert_non_null(a);
	assert_int_equal(a->resident_bytes, 4 * MiB);
	assert_true(a->retained_known);
	assert_int_equal(a->retained_bytes, 3 * MiB);
	assert_null(th_finding(p, "idle_purge", NULL));

	p = report(f->m, f->pid, ret_t + idle);
	assert_int_equal(th_nfindings(p, "idle_purge"), 1);
	fd = th_finding(p, "idle_purge", "jemalloc");
	assert_non_null(fd);
	assert_int_equal(fd->bytes, 3 * MiB);
	assert_int_equal(fd->since_ns, ret_t);
	assert_string_equal(fd->evidence, "jemalloc keeps 3.0 MiB resident that the application "
					  "does not use (resident 4.0 MiB, live 1.0 MiB); 2.0 MiB "
					  "freed, nothing returned to the OS for 10.0 s");
	assert_contains(fd->advice, "background_thread:true");
	/* glibc's kind is another finding; mimalloc freed nothing. */
	assert_null(th_finding(p, "glibc_untrimmable", NULL));

	/* mimalloc frees 256 KiB; it never returned anything: idle since the start. */
	figs[1].freed = 256 * KiB;
	sample(f, 11 * SEC, figs, AT_ARRAY_SIZE(figs));
	p = report(f->m, f->pid, 12 * SEC);
	assert_int_equal(th_nfindings(p, "idle_purge"), 2);
	fd = th_finding(p, "idle_purge", "mimalloc");
	assert_non_null(fd);
	assert_int_equal(fd->bytes, 2 * MiB - 256 * KiB);
	assert_int_equal(fd->since_ns, 0);
	assert_contains(fd->evidence, "mimalloc keeps 1.8 MiB resident");
	assert_contains(fd->evidence, "nothing returned to the OS for 12.0 s");
	assert_contains(fd->advice, "mi_collect(true)");

	/* A free of a block allocated before the trace: retained is unknown, nothing said. */
	figs[0].unmatched = 1;
	sample(f, 12 * SEC, figs, AT_ARRAY_SIZE(figs));
	p = report(f->m, f->pid, 12 * SEC);
	assert_false(th_alloc(p, "jemalloc")->retained_known);
	assert_null(th_finding(p, "idle_purge", "jemalloc"));
	assert_non_null(th_finding(p, "idle_purge", "mimalloc"));
}

/* From the books: what the allocator keeps are freed pages, in its own figures (mimalloc's
 * committed, jemalloc's dirty and muzzy), not holes between live blocks (issue 13, item 5). */
static void test_idle_purge_books(void **state)
{
	struct fx *f = *state;
	struct rep_books mi = { .known = true,
				.live_bytes = 1434 * KiB,
				.free_bytes = 252 * MiB,
				.retained_bytes = 252 * MiB };
	struct rep_books je = { .known = true,
				.live_bytes = 1 * MiB,
				.free_bytes = 6 * MiB,
				.retained_bytes = 5 * MiB };
	const struct rep_proc *p;
	const struct rep_finding *fd;

	mi.figures[0].name = "committed";
	mi.figures[0].bytes = mi.live_bytes + mi.retained_bytes;
	mi.nfigures = 1;
	je.figures[0].name = "dirty";
	je.figures[0].bytes = 4 * MiB;
	je.figures[1].name = "muzzy";
	je.figures[1].bytes = 1 * MiB;
	je.nfigures = 2;
	assert_int_equal(model_set_books(f->m, f->pid, "mimalloc", &mi, NULL, 0), 0);
	assert_int_equal(model_set_books(f->m, f->pid, "jemalloc", &je, NULL, 0), 0);
	p = report(f->m, f->pid, 11 * SEC);
	fd = th_finding(p, "idle_purge", "mimalloc");
	assert_non_null(fd);
	assert_int_equal(fd->bytes, 252 * MiB);
	assert_string_equal(fd->evidence,
			    "mimalloc keeps 252.0 MiB resident that the application "
			    "does not use (resident 0.0 MiB, live 1.4 MiB); its books: "
			    "253.4 MiB committed, nothing returned to the OS for 11.0 s");
	fd = th_finding(p, "idle_purge", "jemalloc");
	assert_non_null(fd);
	assert_contains(fd->evidence, "its books: 4.0 MiB dirty and 1.0 MiB muzzy pages");
}

/* Interval mode (-i): counters restart at each report, so an interval in which the idle
 * application freed nothing has free_bytes 0, and idle_purge, which asks for bytes freed,
 * is no longer raised for the very process it describes (idle, 3 MiB retained, nothing
 * returned for 11 s). */
static void test_idle_purge_interval_mode(void **state)
{
	struct fx *f = *state;
	const struct fig fig = { "jemalloc", 3 * MiB, 2 * MiB, 0 };
	const struct rep_proc *p;

	(void)map(f, 1 * MS, JE, 4 * MiB, 4 * MiB);
	sample(f, 1 * SEC, &fig, 1);
	assert_non_null(th_finding(report(f->m, f->pid, 11 * SEC), "idle_purge", "jemalloc"));
	model_reset_counters(f->m, 11 * SEC); /* the interval report at 11 s */
	sample(f, 12 * SEC, &fig, 1);	      /* idle: the same counters */
	p = report(f->m, f->pid, 12 * SEC);
	assert_int_equal(th_alloc(p, "jemalloc")->retained_bytes, 3 * MiB);
	assert_non_null(th_finding(p, "idle_purge", "jemalloc"));
}

/* ---- glibc_untrimmable ---- */

/* glibc retaining at least the minimum (not below it, not with retained unknown), with its
 * brk shrinks in the evidence; never idle_purge. */
static void test_glibc_untrimmable(void **state)
{
	struct fx *f = *state;
	struct fig fig = { "glibc", 2 * MiB, 1 * MiB, 0 }; /* live 1 MiB */
	const struct rep_proc *p;
	const struct rep_finding *fd;

	(void)map(f, 1 * MS, LIBC, 4 * MiB, 4 * MiB);
	th_sys(f->m, f->pid, 2 * MS, AT_SYS_BRK, LIBC, 0, 0, 0, 0, BRK);
	th_sys(f->m, f->pid, 3 * MS, AT_SYS_BRK, LIBC, BRK + 2 * MiB, 0, 0, 0, BRK + 2 * MiB);
	th_sys(f->m, f->pid, 4 * MS, AT_SYS_BRK, LIBC, BRK + 1 * MiB, 0, 0, 0, BRK + 1 * MiB);
	sample(f, 1 * SEC, &fig, 1);

	p = report(f->m, f->pid, 60 * SEC);
	assert_int_equal(p->nfindings, 1);
	fd = th_finding(p, "glibc_untrimmable", "glibc");
	assert_non_null(fd);
	assert_int_equal(fd->bytes, 3 * MiB);
	/* Since the first sample that found it keeping that much (the only one, at 1 s). */
	assert_int_equal(fd->since_ns, 1 * SEC);
	assert_string_equal(fd->evidence, "3.0 MiB free inside glibc's heaps but resident "
					  "(resident 4.0 MiB, live 1.0 MiB); 1 brk shrinks, "
					  "1.0 MiB trimmed");
	assert_contains(fd->advice, "malloc_trim(0)");

	/* Exactly the minimum: raised. */
	fig = (struct fig){ "glibc", 3 * MiB, 0, 0 };
	sample(f, 2 * SEC, &fig, 1);
	fd = th_finding(report(f->m, f->pid, 2 * SEC), "glibc_untrimmable", "glibc");
	assert_non_null(fd);
	assert_int_equal(fd->bytes, MIN_BYTES);
	/* A byte less: not. */
	fig.alloc++;
	sample(f, 3 * SEC, &fig, 1);
	assert_int_equal(report(f->m, f->pid, 3 * SEC)->nfindings, 0);
	/* Unknown retained (an unmatched free): not. */
	fig = (struct fig){ "glibc", 2 * MiB, 1 * MiB, 5 };
	sample(f, 4 * SEC, &fig, 1);
	assert_int_equal(report(f->m, f->pid, 4 * SEC)->nfindings, 0);
}

/* ---- several_allocators_retain ---- */

/* Two allocators each retaining at least the minimum, a third below it left out; not
 * raised once only one retains that much. */
static void test_several_allocators_retain(void **state)
{
	struct fx *f = *state;
	struct fig figs[] = {
		{ "glibc", 1 * MiB, 0, 0 },	     /* 3 MiB resident: retains 2 MiB */
		{ "jemalloc", 1 * MiB, 0, 0 },	     /* 4 MiB resident: retains 3 MiB */
		{ "mimalloc", 512 * KiB + 1, 0, 0 }, /* 1 MiB resident: retains 512 KiB - 1 */
	};
	const struct rep_proc *p;
	const struct rep_finding *fd;

	(void)map(f, 1 * MS, LIBC, 3 * MiB, 3 * MiB);
	(void)map(f, 1 * MS, JE, 4 * MiB, 4 * MiB);
	(void)map(f, 1 * MS, MI, 1 * MiB, 1 * MiB);
	sample(f, 1 * SEC, figs, AT_ARRAY_SIZE(figs));
	p = report(f->m, f->pid, 1 * SEC);
	assert_int_equal(th_nfindings(p, "several_allocators_retain"), 1);
	fd = th_finding(p, "several_allocators_retain", "glibc+jemalloc");
	assert_non_null(fd);
	assert_int_equal(fd->bytes, 5 * MiB);
	assert_string_equal(fd->evidence, "2 allocators each keep unused memory: glibc 2.0 MiB, "
					  "jemalloc 3.0 MiB");
	assert_contains(fd->advice, "route the process's allocations through one allocator");

	/* jemalloc's application now holds 3.5 MiB: one allocator retains, nothing said. */
	figs[1].alloc = 3 * MiB + 512 * KiB;
	sample(f, 2 * SEC, figs, AT_ARRAY_SIZE(figs));
	p = report(f->m, f->pid, 2 * SEC);
	assert_null(th_finding(p, "several_allocators_retain", NULL));
	assert_non_null(th_finding(p, "glibc_untrimmable", "glibc"));

	/* It frees them again at 3 s: both retain once more, since then (jemalloc's run began
	 * again at 3 s), while glibc has kept its 2 MiB since the first sample. */
	figs[1].alloc = 1 * MiB;
	sample(f, 3 * SEC, figs, AT_ARRAY_SIZE(figs));
	p = report(f->m, f->pid, 3 * SEC);
	fd = th_finding(p, "several_allocators_retain", "glibc+jemalloc");
	assert_non_null(fd);
	assert_int_equal(fd->since_ns, 3 * SEC);
	fd = th_finding(p, "glibc_untrimmable", "glibc");
	assert_non_null(fd);
	assert_int_equal(fd->since_ns, 1 * SEC);
}

/* ---- retention_growth ---- */

/* Retained bytes rising at each of the last growth_samples changes, by at least the minimum
 * in all; repeated values are no change; a fall starts the run again; small rises are not
 * named. */
static void test_retention_growth(void **state)
{
	struct fx *f = *state;
	/* jemalloc: 8 MiB resident; live falls, retained rises (0, 1, 2, 1.5, 3, 4, 5, 6). */
	const uint64_t live[] = { 8 * MiB, 7 * MiB, 6 * MiB, 6 * MiB, 6 * MiB + 512 * KiB,
				  5 * MiB, 4 * MiB, 3 * MiB, 2 * MiB };
	struct fig figs[] = { { "jemalloc", 8 * MiB, 0, 0 }, { "mimalloc", 4 * MiB, 0, 0 } };
	const struct rep_proc *p;
	const struct rep_finding *fd;

	(void)map(f, 1 * MS, JE, 8 * MiB, 8 * MiB);
	(void)map(f, 1 * MS, MI, 4 * MiB, 4 * MiB);
	for (size_t i = 0; i < 3; i++) {
		figs[0].freed = 8 * MiB - live[i];
		sample(f, (i + 1) * SEC, figs, 2);
	}
	/* 0, 1, 2 MiB: two rises, and the same figures again (no change). */
	figs[0].freed = 8 * MiB - live[3];
	sample(f, 4 * SEC, figs, 2);
	assert_null(th_finding(report(f->m, f->pid, 4 * SEC), "retention_growth", NULL));
	/* 1.5 MiB: a fall; then 3, 4, 5: three rises since it. */
	for (size_t i = 4; i < 8; i++) {
		figs[0].freed = 8 * MiB - live[i];
		sample(f, (i + 1) * SEC, figs, 2);
		assert_null(
			th_finding(report(f->m, f->pid, (i + 1) * SEC), "retention_growth", NULL));
	}
	/* 6 MiB: the fourth rise in a row since the fall at 5 s, 4.5 MiB in all. */
	figs[0].freed = 8 * MiB - live[8];
	sample(f, 9 * SEC, figs, 2);
	p = report(f->m, f->pid, 9 * SEC);
	assert_int_equal(th_nfindings(p, "retention_growth"), 1);
	fd = th_finding(p, "retention_growth", "jemalloc");
	assert_non_null(fd);
	assert_int_equal(fd->bytes, 6 * MiB - (1 * MiB + 512 * KiB));
	assert_int_equal(fd->since_ns, 5 * SEC);
	assert_string_equal(fd->evidence,
			    "jemalloc's retained memory grew at each of its last 4 "
			    "changes: 1.5 -> 3.0 -> 4.0 -> 5.0 -> 6.0 MiB, while live "
			    "went from 6.5 to 2.0 MiB");
	/* Without its books, kept pages and fragmentation cannot be told apart: it says so. */
	assert_contains(fd->advice, "its own books (without --no-books) tell which");
}

/* Look-alike (issue 13, item 5): a workload that simply grows. Each second it maps and
 * touches 2 MiB more and holds 1.5 MiB more: retained rises by 0.5 MiB at each change, 2 MiB
 * over the last four, but live rose with it (by 6 MiB): not named. */
static void test_retention_growth_not_when_live_grows(void **state)
{
	struct fx *f = *state;
	struct fig fig = { "jemalloc", 0, 0, 0 };
	const struct rep_proc *p;

	for (size_t i = 0; i <= GROWTH; i++) {
		(void)map(f, (i + 1) * SEC - 1, JE, 2 * MiB, 2 * MiB);
		fig.alloc = (i + 1) * (MiB + 512 * KiB);
		sample(f, (i + 1) * SEC, &fig, 1);
	}
	p = report(f->m, f->pid, 6 * SEC);
	assert_int_equal(th_alloc(p, "jemalloc")->retained_bytes, (GROWTH + 1) * 512 * KiB);
	assert_null(th_finding(p, "retention_growth", NULL));
	/* The same rises with live steady: named. */
	for (size_t i = 0; i <= GROWTH; i++) {
		fig.freed = (i + 1) * 512 * KiB;
		sample(f, (i + 7) * SEC, &fig, 1);
	}
	assert_non_null(th_finding(report(f->m, f->pid, 12 * SEC), "retention_growth", NULL));
}

/* Look-alike: the demo's small rises and then one step (0.0 -> 0.1 -> 0.1 -> 0.2 -> 6.0 MiB,
 * the application freeing a large part of its memory at once), live falling: four rises, 6
 * MiB in all, but three are below a quarter of the minimum (noise, not batches): one
 * change, not named. */
static void test_retention_growth_not_one_step(void **state)
{
	struct fx *f = *state;
	const uint64_t freed[] = { 0, 64 * KiB, 128 * KiB, 192 * KiB, 6 * MiB };
	struct fig fig = { "jemalloc", 8 * MiB, 0, 0 };
	const struct rep_proc *p;

	(void)map(f, 1 * MS, JE, 8 * MiB, 8 * MiB);
	for (size_t i = 0; i < AT_ARRAY_SIZE(freed); i++) {
		fig.freed = freed[i];
		sample(f, (i + 1) * SEC, &fig, 1);
	}
	p = report(f->m, f->pid, 6 * SEC);
	assert_int_equal(th_alloc(p, "jemalloc")->retained_bytes, 6 * MiB);
	assert_null(th_finding(p, "retention_growth", NULL));
}

/* mimalloc's own books show the retained memory is pages it keeps committed (the issue:
 * 252 MiB committed for 1.4 MiB live): the finding says so with the books' figures and does
 * not blame fragmentation between batches. */
static void test_retention_growth_mimalloc_keeps_pages(void **state)
{
	struct fx *f = *state;
	struct rep_books b = { .known = true, .live_bytes = 1434 * KiB };
	const struct rep_proc *p;
	const struct rep_finding *fd;

	b.figures[0].name = "committed";
	b.nfigures = 1;
	for (size_t i = 0; i <= GROWTH; i++) {
		b.t_ns = (i + 1) * SEC;
		b.retained_bytes = (i ? 63 * MiB * i : 0);
		b.free_bytes = b.retained_bytes;
		b.figures[0].bytes = b.live_bytes + b.retained_bytes;
		assert_int_equal(model_set_books(f->m, f->pid, "mimalloc", &b, NULL, 0), 0);
	}
	p = report(f->m, f->pid, 6 * SEC);
	fd = th_finding(p, "retention_growth", "mimalloc");
	assert_non_null(fd);
	assert_int_equal(fd->bytes, 252 * MiB);
	assert_int_equal(fd->since_ns, 1 * SEC);
	assert_string_equal(fd->evidence,
			    "mimalloc's retained memory grew at each of its last 4 "
			    "changes: 0.0 -> 63.0 -> 126.0 -> 189.0 -> 252.0 MiB, while "
			    "live went from 1.4 to 1.4 MiB; mimalloc's books: 253.4 MiB "
			    "committed for 1.4 MiB live");
	assert_contains(fd->advice, "not fragmentation: mimalloc keeps freed pages committed");
	assert_null(strstr(fd->advice, "batch"));
}

/* Four rises of 128 KiB: 512 KiB in all, below the minimum. */
static void test_retention_growth_small(void **state)
{
	struct fx *f = *state;
	struct fig fig = { "mimalloc", 4 * MiB, 0, 0 };
	const struct rep_proc *p;

	(void)map(f, 1 * MS, MI, 4 * MiB, 4 * MiB);
	for (size_t i = 0; i < 6; i++) {
		fig.freed = i * 128 * KiB;
		sample(f, (i + 1) * SEC, &fig, 1);
	}
	p = report(f->m, f->pid, 7 * SEC);
	assert_int_equal(th_alloc(p, "mimalloc")->retained_bytes, 5 * 128 * KiB);
	assert_null(th_finding(p, "retention_growth", NULL));
}

/* docs/design.md: "the four heap-based kinds are not raised without [retained figures]",
 * which an exited process has not (retained_bytes is null in its JSON); retention_growth
 * still is, from the history kept before the exit. */
static void test_retention_growth_not_after_exit(void **state)
{
	struct fx *f = *state;
	struct fig fig = { "jemalloc", 4 * MiB, 0, 0 };
	const struct rep_proc *p;

	(void)map(f, 1 * MS, JE, 4 * MiB, 4 * MiB);
	for (size_t i = 0; i <= GROWTH; i++) {
		fig.freed = i * MiB;
		sample(f, (i + 1) * SEC, &fig, 1);
	}
	p = report(f->m, f->pid, 6 * SEC);
	assert_non_null(th_finding(p, "retention_growth", "jemalloc"));
	th_proc(f->m, AT_PROC_EXIT, f->pid, 0, 7 * SEC);
	p = report(f->m, f->pid, 7 * SEC);
	assert_true(p->exited);
	assert_false(th_alloc(p, "jemalloc")->retained_known);
	assert_null(th_finding(p, "retention_growth", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arena_reset_retains),
		cmocka_unit_test_setup_teardown(test_lazyfree_in_rss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lazyfree_nobody_traced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_purge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_purge_interval_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_purge_books, setup, teardown),
		cmocka_unit_test_setup_teardown(test_glibc_untrimmable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_several_allocators_retain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_growth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_growth_small, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_growth_not_when_live_grows, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_retention_growth_not_one_step, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_retention_growth_mimalloc_keeps_pages, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_retention_growth_not_after_exit, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("findings", tests, NULL, NULL);
}
