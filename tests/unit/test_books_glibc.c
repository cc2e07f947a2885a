// SPDX-License-Identifier: GPL-2.0-only
/*
 * books/glibc: live processes at rest (tests/workloads/glibc_books, dynamic and static) read
 * from outside and compared exactly with their own mallinfo2(); the symbol-less scan finds
 * the same main_arena; a process that allocates, frees and unmaps while being read; and
 * fabricated, hostile books fed from buffers (loops, links outside, absurd sizes, caps) and
 * random mutations of them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "glibc.h"
#include "glibc_layout.h"
#include "../workloads/glibc_books.h"

/* ---- live processes ---- */

struct child {
	pid_t pid;
	struct glibc_books_report r;
};

/* The workload of the running test, killed by the teardown even when an assertion failed
 * (a workload left behind would hold the test's output open). */
static pid_t running;

static int kill_running(void **state)
{
	(void)state;
	if (running > 0) {
		kill(running, SIGKILL);
		waitpid(running, NULL, 0);
	}
	running = 0;
	return 0;
}

static void spawn(const char *name, const char *mode, struct child *c)
{
	char self[PATH_MAX], path[PATH_MAX + 64], fdarg[16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	size_t got = 0;
	int p[2];

	assert_true(n > 0);
	self[n] = 0;
	snprintf(path, sizeof(path), "%s/../workloads/%s", dirname(self), name);
	assert_int_equal(pipe(p), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (!c->pid) {
		/* Never outlives the test, whatever ends it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
		execl(path, path, fdarg, mode, (char *)NULL);
		_exit(127);
	}
	running = c->pid;
	close(p[1]);
	while (got < sizeof(c->r)) {
		ssize_t k = read(p[0], (char *)&c->r + got, sizeof(c->r) - got);

		assert_true(k > 0); /* the workload died before reporting */
		got += (size_t)k;
	}
	close(p[0]);
}

static void reap(struct child *c)
{
	(void)c;
	kill_running(NULL);
}

static uint64_t fig(const struct books *b, const char *name)
{
	for (size_t i = 0; i < b->nfigures; i++)
		if (!strcmp(b->figures[i].name, name))
			return b->figures[i].bytes;
	fail_msg("no figure '%s'", name);
	return 0;
}

static bool has_fig(const struct books *b, const char *name)
{
	for (size_t i = 0; i < b->nfigures; i++)
		if (!strcmp(b->figures[i].name, name))
			return true;
	return false;
}

static void count_ranges(const struct books *b, size_t n[4], size_t books_ev[4])
{
	memset(n, 0, 4 * sizeof(*n));
	memset(books_ev, 0, 4 * sizeof(*books_ev));
	for (size_t i = 0; i < b->nranges; i++) {
		assert_true(b->ranges[i].kind >= 1 && b->ranges[i].kind <= 3);
		n[b->ranges[i].kind]++;
		books_ev[b->ranges[i].kind] += b->ranges[i].evidence == BOOKS_EV_BOOKS;
		if (i)
			assert_true(b->ranges[i].start >= b->ranges[i - 1].end);
	}
}

/* The books of the workload at rest equal its own mallinfo2, to the byte. */
static void check_at_rest(const struct child *c, const struct books *b, bool tcache,
			  size_t main_heaps)
{
	const struct glibc_books_report *r = &c->r;
	size_t n[4], bk[4];

	if (b->partial)
		fail_msg("partial: %s", b->reason);
	assert_string_equal(b->allocator, "glibc");
	assert_int_equal(fig(b, "arenas"), GLIBC_BOOKS_THREADS + 1);
	assert_int_equal(fig(b, "system_mem"), r->arena);
	assert_int_equal(fig(b, "top") + fig(b, "bins") + fig(b, "fastbins"), r->fordblks);
	assert_int_equal(fig(b, "fastbins"), r->fsmblks);
	/* Chunks in mappings merged with another region's are found when mp_ says they are
	 * missing (with symbols); the brk failure below makes such merges. */
	if (tcache || main_heaps == 1) {
		assert_int_equal(fig(b, "mmapped"), r->hblkhd);
		assert_int_equal(fig(b, "mmapped_chunks"), r->hblks);
		assert_int_equal(fig(b, "mmapped_located"), r->hblkhd);
	} else {
		assert_true(fig(b, "mmapped_located") <= r->hblkhd);
		assert_int_equal(fig(b, "mmapped"), fig(b, "mmapped_located"));
	}
	if (tcache) {
		uint64_t tc = fig(b, "tcache");

		/* When brk fails, glibc frees the old top itself, into the tcache if small. */
		if (main_heaps == 1) {
			assert_int_equal(tc, r->tcache_bytes);
			assert_int_equal(fig(b, "tcache_chunks"), r->tcache_chunks);
		} else {
			assert_true(tc >= r->tcache_bytes && tc - r->tcache_bytes <= 1040);
		}
		assert_int_equal(fig(b, "tcache_threads"), r->threads);
		assert_int_equal(b->live_bytes, r->uordblks + r->hblkhd - tc);
		assert_int_equal(b->free_bytes, r->fordblks + tc);
	} else {
		assert_false(has_fig(b, "tcache"));
		assert_int_equal(b->live_bytes, r->uordblks + fig(b, "mmapped"));
		assert_int_equal(b->free_bytes, r->fordblks);
	}
	assert_true(b->free_resident_bytes > 0 && b->free_resident_bytes <= b->free_bytes);
	count_ranges(b, n, bk);
	assert_int_equal(n[GLIBC_RANGE_MAIN_HEAP], main_heaps);
	assert_int_equal(bk[GLIBC_RANGE_MAIN_HEAP], main_heaps);
	assert_int_equal(n[GLIBC_RANGE_THREAD_HEAP], GLIBC_BOOKS_THREADS);
	assert_int_equal(bk[GLIBC_RANGE_THREAD_HEAP], GLIBC_BOOKS_THREADS);
	assert_int_equal(n[GLIBC_RANGE_MMAPPED], fig(b, "mmapped_chunks"));
	assert_int_equal(bk[GLIBC_RANGE_MMAPPED], 0); /* HEADER */
	if (main_heaps == 1) /* else only the top of the mmapped main heap is known */
		assert_true(b->mapped_bytes >= r->arena + r->hblkhd);
}

static void read_at_rest(const char *workload, const char *mode, size_t main_heaps)
{
	struct books_glibc_opts plain = { 0 }, nosym = { .no_symbols = true };
	struct glibc_where w1, w2;
	struct books b;
	struct child c;
	struct tmem *t;
	char why[128];

	spawn(workload, mode, &c);
	t = tmem__open(c.pid);
	assert_non_null(t);

	assert_int_equal(books_glibc_read(t, c.pid, &plain, &b), 0);
	check_at_rest(&c, &b, true, main_heaps);
	books_release(&b);

	/* Without symbols: the scan finds the same main_arena; no mp_ and no tcache. */
	assert_int_equal(books_glibc_locate(t, c.pid, &plain, &w1, why, sizeof(why)), 0);
	assert_int_equal(books_glibc_locate(t, c.pid, &nosym, &w2, why, sizeof(why)), 0);
	assert_true(w1.by_symbol);
	assert_false(w2.by_symbol);
	assert_int_equal(w1.main_arena, w2.main_arena);
	assert_int_not_equal(w1.mp, 0);
	assert_int_equal(w2.mp, 0);
	assert_int_equal(books_glibc_read(t, c.pid, &nosym, &b), 0);
	check_at_rest(&c, &b, false, main_heaps);
	books_release(&b);

	tmem__free(t);
	reap(&c);
}

static void test_at_rest_shared(void **state)
{
	(void)state;
	read_at_rest("glibc_books", NULL, 1);
}

/* brk failed: the main arena goes on in an mmapped region, which is its memory too. */
static void test_at_rest_noncontiguous(void **state)
{
	(void)state;
	read_at_rest("glibc_books", "noncontig", 2);
}

static void test_at_rest_static(void **state)
{
	(void)state;
	read_at_rest("glibc_books_static", NULL, 1);
}

/* Caps and the byte budget end the walk early: partial with a reason, free a lower bound. */
static void test_caps(void **state)
{
	struct books_glibc_opts few = { .max_chunks = 5 }, poor = { .max_read_bytes = 8192 };
	struct books b;
	struct child c;
	struct tmem *t;
	int err;

	(void)state;
	spawn("glibc_books", NULL, &c);
	t = tmem__open(c.pid);
	assert_non_null(t);
	assert_int_equal(books_glibc_read(t, c.pid, &few, &b), 0);
	assert_true(b.partial);
	assert_non_null(strstr(b.reason, "cap"));
	assert_true(b.free_bytes < c.r.fordblks);
	assert_int_equal(fig(&b, "system_mem"), c.r.arena);
	books_release(&b);

	err = books_glibc_read(t, c.pid, &poor, &b);
	assert_true(err == 0 || err == -ENOSPC);
	assert_true(b.partial);
	assert_non_null(strstr(b.reason, "budget"));
	assert_true(tmem_bytes_read(t) <= 8192);
	books_release(&b);
	tmem__free(t);
	reap(&c);
}

/* A process that allocates, frees and unmaps while it is read: never a crash or a hang;
 * each result is either partial or adds up. */
static void test_race(void **state)
{
	struct books b;
	struct child c;
	struct tmem *t;
	int partial = 0;

	(void)state;
	spawn("glibc_books", "race", &c);
	t = tmem__open(c.pid);
	assert_non_null(t);
	usleep(20000);
	for (int i = 0; i < 40; i++) {
		struct timespec t0, t1;
		int err;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		err = books_glibc_read(t, c.pid, NULL, &b);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		assert_true(t1.tv_sec - t0.tv_sec < 10);
		assert_true(err == 0 || err == -EBADMSG);
		partial += b.partial;
		if (b.partial && getenv("AT_VERBOSE"))
			print_message("race: %s\n", b.reason);
		if (!err) {
			uint64_t free_sum = fig(&b, "top") + fig(&b, "bins") + fig(&b, "fastbins") +
					    (has_fig(&b, "tcache") ? fig(&b, "tcache") : 0);

			assert_int_equal(b.free_bytes, free_sum);
			assert_true(fig(&b, "top") + fig(&b, "bins") + fig(&b, "fastbins") <=
				    fig(&b, "system_mem"));
			assert_int_equal(b.live_bytes + b.free_bytes,
					 fig(&b, "system_mem") + fig(&b, "mmapped"));
		}
		books_release(&b);
	}
	print_message("race: %d of 40 reads partial\n", partial);
	tmem__free(t);
	reap(&c);
}

/* ---- fabricated books ---- */

#define FAB_BASE 0x10000000ull
#define FAB_LEN 0x10000u
#define FAB_HEAP (FAB_BASE + 0x1000) /* the arena's chunks live in [FAB_HEAP, end) */
#define FAB_END (FAB_BASE + FAB_LEN)

static unsigned char fab[FAB_LEN];

static void put(uint64_t addr, uint64_t v)
{
	assert_true(addr >= FAB_BASE && addr + 8 <= FAB_END);
	memcpy(fab + (addr - FAB_BASE), &v, 8);
}

static void put_chunk(uint64_t p, uint64_t size, uint64_t fd, uint64_t bk)
{
	put(p + GL_CHUNK_SIZE_OFF, size);
	put(p + GL_CHUNK_FD_OFF, fd);
	put(p + GL_CHUNK_BK_OFF, bk);
}

static void set_bin(uint64_t arena, unsigned i, uint64_t fd, uint64_t bk)
{
	put(arena + GL_MS_BINS + 16ull * (i - 1), fd);
	put(arena + GL_MS_BINS + 16ull * (i - 1) + 8, bk);
	if (fd != glibc_bin_at(arena, i)) {
		uint32_t map;

		memcpy(&map, fab + (arena - FAB_BASE) + GL_MS_BINMAP + 4 * (i / 32), 4);
		map |= 1u << (i % 32);
		memcpy(fab + (arena - FAB_BASE) + GL_MS_BINMAP + 4 * (i / 32), &map, 4);
	}
}

/* An arena at arena (inside the buffer) with every bin empty and a top chunk at heap taking
 * the rest of the buffer; its ring is itself. */
static void fab_arena(uint64_t arena, uint64_t heap)
{
	memset(fab + (arena - FAB_BASE), 0, GL_MS_SIZE);
	for (unsigned i = 1; i < GL_NBINS; i++)
		set_bin(arena, i, glibc_bin_at(arena, i), glibc_bin_at(arena, i));
	put(arena + GL_MS_TOP, heap);
	put(arena + GL_MS_NEXT, arena);
	put(arena + GL_MS_SYSTEM_MEM, FAB_END - heap);
	put(arena + GL_MS_MAX_SYSTEM_MEM, FAB_END - heap);
	put(heap + GL_CHUNK_SIZE_OFF, (FAB_END - heap) | GL_PREV_INUSE);
}

/* Bin 5 (80-byte chunks) with two chunks and fastbin 1 (48 bytes) with two, safe-linked;
 * the top chunk after them. */
#define X (FAB_HEAP + 0x100)
#define Y (FAB_HEAP + 0x200)
#define F1 (FAB_HEAP + 0x300)
#define F2 (FAB_HEAP + 0x400)
#define TOP (FAB_HEAP + 0x1000)

static void fab_books(void)
{
	uint64_t bin = glibc_bin_at(FAB_BASE, 5);

	memset(fab, 0, sizeof(fab));
	fab_arena(FAB_BASE, FAB_HEAP);
	set_bin(FAB_BASE, 5, X, Y);
	put_chunk(X, 80 | GL_PREV_INUSE, Y, bin);
	put_chunk(Y, 80 | GL_PREV_INUSE, bin, X);
	put(FAB_BASE + GL_MS_FASTBINS + 8, F1);
	put_chunk(F1, 48 | GL_PREV_INUSE, ((F1 + 16) >> 12) ^ F2, 0);
	put_chunk(F2, 48 | GL_PREV_INUSE, ((F2 + 16) >> 12) ^ 0, 0);
	put(FAB_BASE + GL_MS_TOP, TOP);
	put(TOP + GL_CHUNK_SIZE_OFF, (FAB_END - TOP) | GL_PREV_INUSE);
}

struct fab_run {
	struct glibc_arena_figs f;
	struct glibc_walk w;
	int check;
	const char *why;
};

static void fab_walk(struct fab_run *r, uint64_t max_chunks)
{
	struct glibc_mem mem = { 0 };
	struct glibc_mstate m;
	struct tmem *t = tmem__from_buf(FAB_BASE, fab, sizeof(fab));

	assert_non_null(t);
	assert_int_equal(glibc_mem_add(&mem, FAB_HEAP, FAB_END), 0);
	glibc_mstate_decode(fab, &m);
	r->why = NULL;
	r->check = glibc_mstate_check(&m, FAB_BASE, &mem, &r->why);
	glibc_walk_init(&r->w, t, max_chunks, 1000);
	glibc_walk_arena(&r->w, FAB_BASE, &m, &mem, &r->f);
	glibc_mem_release(&mem);
	tmem__free(t);
}

static void test_fab_valid(void **state)
{
	struct fab_run r;

	(void)state;
	fab_books();
	fab_walk(&r, 100);
	assert_int_equal(r.check, 0);
	if (r.w.partial)
		fail_msg("partial: %s", r.w.why);
	assert_int_equal(r.f.bins, 160);
	assert_int_equal(r.f.bin_chunks, 2);
	assert_int_equal(r.f.fastbins, 96);
	assert_int_equal(r.f.fast_chunks, 2);
	assert_int_equal(r.f.top, FAB_END - TOP);
	assert_int_equal(r.w.resident, 160 + 96 + FAB_END - TOP);
}

/* A bin whose last chunk links to itself: found at the first step back, nothing counted. */
static void test_fab_bin_loop(void **state)
{
	struct fab_run r;

	(void)state;
	fab_books();
	put(Y + GL_CHUNK_BK_OFF, Y);
	fab_walk(&r, 1000);
	assert_true(r.w.partial);
	assert_non_null(strstr(r.w.why, "bin 5"));
	assert_int_equal(r.f.bins, 0);
	assert_int_equal(r.f.fastbins, 96); /* the other lists still count */
	assert_true(r.w.chunks_left >= 1000 - 10);

	/* A cycle through both chunks that skips the bin: the links disagree. */
	fab_books();
	put(X + GL_CHUNK_BK_OFF, Y);
	fab_walk(&r, 1000);
	assert_true(r.w.partial);
	assert_int_equal(r.f.bins, 0);
}

static void test_fab_fastbin_loop(void **state)
{
	struct fab_run r;

	(void)state;
	fab_books();
	put(F2 + GL_CHUNK_FD_OFF, ((F2 + 16) >> 12) ^ F1);
	fab_walk(&r, 1000);
	assert_true(r.w.partial);
	assert_non_null(strstr(r.w.why, "loops"));
	assert_int_equal(r.f.fastbins, 0);
	assert_int_equal(r.f.bins, 160);
	assert_true(r.w.chunks_left >= 1000 - 10); /* Brent: a few steps, not the cap */
}

static void test_fab_outside(void **state)
{
	struct fab_run r;

	(void)state;
	/* A bin link outside the arena's memory: the state itself does not validate, and a
	 * walk anyway stops without reading there. */
	fab_books();
	set_bin(FAB_BASE, 5, X, 0xdead0000ull);
	fab_walk(&r, 1000);
	assert_int_equal(r.check, -EBADMSG);
	assert_non_null(r.why);
	assert_true(r.w.partial);
	assert_int_equal(r.f.bins, 0);

	/* A chunk's link to unmapped memory. */
	fab_books();
	put(Y + GL_CHUNK_BK_OFF, 0x7fff00000000ull);
	fab_walk(&r, 1000);
	assert_true(r.w.partial);
	assert_int_equal(r.f.bins, 0);

	/* A top outside: no top counted. */
	fab_books();
	put(FAB_BASE + GL_MS_TOP, FAB_END + 0x1000);
	fab_walk(&r, 1000);
	assert_int_equal(r.check, -EBADMSG);
	assert_int_equal(r.f.top, 0);
	assert_true(r.w.partial);
}

static void test_fab_absurd_sizes(void **state)
{
	static const uint64_t sizes[] = {
		0, 8, 88, 96, 1ull << 60, UINT64_MAX, 80 | GL_IS_MMAPPED,
	};
	struct fab_run r;

	(void)state;
	for (size_t i = 0; i < AT_ARRAY_SIZE(sizes); i++) {
		fab_books();
		put(X + GL_CHUNK_SIZE_OFF, sizes[i]);
		fab_walk(&r, 1000);
		assert_true(r.w.partial);
		assert_int_equal(r.f.bins, 0);
	}
	/* A fastbin chunk of the wrong size, a top larger than the heap. */
	fab_books();
	put(F2 + GL_CHUNK_SIZE_OFF, 64 | GL_PREV_INUSE);
	put(TOP + GL_CHUNK_SIZE_OFF, (1ull << 40) | GL_PREV_INUSE);
	fab_walk(&r, 1000);
	assert_true(r.w.partial);
	assert_int_equal(r.f.fastbins, 0);
	assert_int_equal(r.f.top, 0);
}

/* A long valid bin and a small cap: the walk stops at the cap and says so. */
static void test_fab_cap(void **state)
{
	uint64_t bin = glibc_bin_at(FAB_BASE, 6), first = FAB_HEAP + 0x100, n = 100;
	struct fab_run r;

	(void)state;
	fab_books();
	for (uint64_t k = 0; k < n; k++) {
		uint64_t p = first + 96 * k;

		put_chunk(p, 96 | GL_PREV_INUSE, k + 1 < n ? p + 96 : bin, k ? p - 96 : bin);
	}
	set_bin(FAB_BASE, 6, first, first + 96 * (n - 1));
	/* Over the chunks of fab_books: keep them out of the way. */
	set_bin(FAB_BASE, 5, glibc_bin_at(FAB_BASE, 5), glibc_bin_at(FAB_BASE, 5));
	put(FAB_BASE + GL_MS_FASTBINS + 8, 0);
	put(FAB_BASE + GL_MS_TOP, FAB_HEAP + 0x3000);
	put(FAB_HEAP + 0x3000 + GL_CHUNK_SIZE_OFF, (FAB_END - FAB_HEAP - 0x3000) | GL_PREV_INUSE);
	fab_walk(&r, 1000);
	if (r.w.partial)
		fail_msg("partial: %s", r.w.why);
	assert_int_equal(r.f.bins, 96 * n);
	fab_walk(&r, 10);
	assert_true(r.w.partial);
	assert_non_null(strstr(r.w.why, "cap"));
	assert_int_equal(r.f.bins, 0);
	assert_int_equal(r.w.chunks_left, 0);
}

/* The scan for main_arena (libc's data in the first 8 KiB, the heap after it): one candidate
 * is found, two are refused, none is refused. */
static void test_fab_scan(void **state)
{
	const uint64_t a1 = FAB_BASE + 0x40, data_end = FAB_BASE + 0x2000, heap = data_end;
	struct glibc_mem anon = { 0 };
	const char *why = NULL;
	uint64_t found = 0;
	struct tmem *t;

	(void)state;
	assert_int_equal(glibc_mem_add(&anon, heap, FAB_END), 0);
	memset(fab, 0, sizeof(fab));
	fab_arena(a1, heap);
	t = tmem__from_buf(FAB_BASE, fab, sizeof(fab));
	assert_int_equal(glibc_scan_main_arena(t, FAB_BASE, data_end, &anon, &found, &why), 0);
	assert_int_equal(found, a1);
	tmem__free(t);

	/* Its ring going nowhere: refused. */
	put(a1 + GL_MS_NEXT, heap + 0x100);
	t = tmem__from_buf(FAB_BASE, fab, sizeof(fab));
	assert_int_equal(glibc_scan_main_arena(t, FAB_BASE, data_end, &anon, &found, &why),
			 -EBADMSG);
	assert_non_null(why);
	tmem__free(t);

	/* Zeros, then garbage: nothing validates. */
	memset(fab, 0, sizeof(fab));
	t = tmem__from_buf(FAB_BASE, fab, sizeof(fab));
	assert_int_equal(glibc_scan_main_arena(t, FAB_BASE, data_end, &anon, &found, &why),
			 -EBADMSG);
	tmem__free(t);
	srand(7);
	for (size_t i = 0; i < sizeof(fab); i++)
		fab[i] = (unsigned char)rand();
	t = tmem__from_buf(FAB_BASE, fab, sizeof(fab));
	assert_int_equal(glibc_scan_main_arena(t, FAB_BASE, data_end, &anon, &found, &why),
			 -EBADMSG);
	tmem__free(t);

	/* Two states that each validate: ambiguous, refused. */
	memset(fab, 0, sizeof(fab));
	fab_arena(a1, heap);
	fab_arena(a1 + 0x900, heap);
	t = tmem__from_buf(FAB_BASE, fab, sizeof(fab));
	assert_int_equal(glibc_scan_main_arena(t, FAB_BASE, data_end, &anon, &found, &why),
			 -EEXIST);
	tmem__free(t);
	glibc_mem_release(&anon);
}

/* Thread heaps with a small heap_max: a chain of two validates; a loop of prev is found. */
static void test_fab_heaps(void **state)
{
	const uint64_t hmax = 1ull << 20, base = 0x40000000ull, arena = base + GL_HI_SIZEOF;
	static unsigned char buf[2 << 20];
	uint64_t hi_a[6] = { arena, 0, 0x10000, 0x20000, 4096, 0 };
	uint64_t hi_b[6] = { arena, base, 0x8000, 0x8000, 4096, 0 }, sum = 0;
	struct glibc_mem mem = { 0 }, heaps = { 0 };
	const char *why = NULL;
	struct tmem *t;

	(void)state;
	memcpy(buf, hi_a, sizeof(hi_a));
	memcpy(buf + hmax, hi_b, sizeof(hi_b));
	t = tmem__from_buf(base, buf, sizeof(buf));
	assert_int_equal(
		glibc_thread_heaps(t, arena, base + hmax + 0x100, hmax, &mem, &heaps, &sum, &why),
		0);
	assert_int_equal(sum, 0x18000);
	assert_int_equal(heaps.n, 2);
	assert_int_equal(mem.n, 2);
	tmem__free(t);
	glibc_mem_release(&mem);
	glibc_mem_release(&heaps);

	/* The first heap's prev back to the second: a loop. */
	hi_a[GL_HI_PREV / 8] = base + hmax;
	memcpy(buf, hi_a, sizeof(hi_a));
	t = tmem__from_buf(base, buf, sizeof(buf));
	assert_int_equal(
		glibc_thread_heaps(t, arena, base + hmax + 0x100, hmax, &mem, NULL, &sum, &why),
		-EBADMSG);
	assert_non_null(why);
	tmem__free(t);
	glibc_mem_release(&mem);

	/* Sizes past the reservation, another arena's heap. */
	assert_false(glibc_heap_info_ok((uint64_t[6]){ arena, 0, 2 * hmax, 2 * hmax, 4096, 0 },
					base, hmax));
	assert_false(
		glibc_heap_info_ok((uint64_t[6]){ arena, 0, 0x2000, 0x1000, 4096, 0 }, base, hmax));
	assert_false(glibc_heap_info_ok((uint64_t[6]){ arena + 8, 0, 0x1000, 0x1000, 4096, 0 },
					base, hmax));
	assert_false(glibc_heap_info_ok((uint64_t[6]){ arena, 0, 0x1000, 0x1000, 4096, 0 },
					base + 4096, hmax));
	assert_true(
		glibc_heap_info_ok((uint64_t[6]){ arena, 0, 0x1000, 0x1000, 4096, 0 }, base, hmax));
}

static void test_fab_mmapped(void **state)
{
	uint64_t len = 0;

	(void)state;
	assert_true(glibc_mmapped_header(0, 0x21000 | GL_IS_MMAPPED, 0x21000, &len));
	assert_int_equal(len, 0x21000);
	assert_false(glibc_mmapped_header(0, 0x21000 | GL_IS_MMAPPED, 0x20000, &len));
	assert_false(glibc_mmapped_header(16, 0x21000 | GL_IS_MMAPPED, 0x21000, &len));
	assert_false(glibc_mmapped_header(0, 0x21000 | GL_IS_MMAPPED | 1, 0x21000, &len));
	assert_false(glibc_mmapped_header(0, 0x21010 | GL_IS_MMAPPED, 0x22000, &len));
	assert_false(glibc_mmapped_header(0, UINT64_MAX, UINT64_MAX, &len));
}

/* A tcache_perthread_struct at TC with two 32-byte entries in bin 0. */
#define TC (FAB_HEAP + 0x2010)
#define E1 (FAB_HEAP + 0x2400)
#define E2 (FAB_HEAP + 0x2500)
#define KEY 0x5eed5eed5eedull

static void fab_tcache(void)
{
	uint16_t two = 2;

	memset(fab, 0, sizeof(fab));
	put(TC - 8, GL_TC_CHUNK | GL_PREV_INUSE);
	memcpy(fab + (TC - FAB_BASE) + GL_TC_COUNTS, &two, 2);
	put(TC + GL_TC_ENTRIES, E1);
	put(E1 - 8, 32 | GL_PREV_INUSE);
	put(E1 + GL_TE_NEXT, (E1 >> 12) ^ E2);
	put(E1 + GL_TE_KEY, KEY);
	put(E2 - 8, 32 | GL_PREV_INUSE);
	put(E2 + GL_TE_NEXT, (E2 >> 12) ^ 0);
	put(E2 + GL_TE_KEY, KEY);
}

static int fab_tcache_walk(uint64_t *bytes, uint64_t count)
{
	struct glibc_tcache_params p = { .bins = 64, .count = count, .key = KEY };
	struct glibc_mem mem = { 0 };
	struct glibc_walk w;
	const char *why = NULL;
	uint64_t n;
	struct tmem *t = tmem__from_buf(FAB_BASE, fab, sizeof(fab));
	int err;

	glibc_mem_add(&mem, FAB_HEAP, FAB_END);
	glibc_walk_init(&w, t, 1000, 1000);
	err = glibc_walk_tcache(&w, TC, &p, &mem, bytes, &n, &why);
	assert_true(w.chunks_left >= 1000 - 10);
	glibc_mem_release(&mem);
	tmem__free(t);
	return err;
}

static void test_fab_tcache(void **state)
{
	uint64_t bytes;

	(void)state;
	fab_tcache();
	assert_int_equal(fab_tcache_walk(&bytes, 7), 0);
	assert_int_equal(bytes, 64);
	/* More than tcache_count allows. */
	assert_int_equal(fab_tcache_walk(&bytes, 1), -EBADMSG);
	/* A loop: after its count the list has not ended. */
	put(E2 + GL_TE_NEXT, (E2 >> 12) ^ E1);
	assert_int_equal(fab_tcache_walk(&bytes, 7), -EBADMSG);
	assert_int_equal(bytes, 0);
	/* A wrong key, a wrong size. */
	fab_tcache();
	put(E2 + GL_TE_KEY, KEY + 1);
	assert_int_equal(fab_tcache_walk(&bytes, 7), -EBADMSG);
	fab_tcache();
	put(E2 - 8, 48 | GL_PREV_INUSE);
	assert_int_equal(fab_tcache_walk(&bytes, 7), -EBADMSG);
	fab_tcache();
	put(TC + GL_TC_ENTRIES, 0xdead0010ull);
	assert_int_equal(fab_tcache_walk(&bytes, 7), -EBADMSG);
}

/* Random words written over valid books, many times: every walk ends within its caps. Words
 * are drawn from addresses that matter (chunks, bins, the heap) as well as garbage, so
 * that walks go deep. */
static uint64_t fuzz_word(unsigned *seed)
{
	uint64_t r = (uint64_t)rand_r(seed) << 32 | (uint64_t)rand_r(seed);

	switch (r % 6) {
	case 0:
		return r;
	case 1:
		return FAB_HEAP + (r >> 8) % (FAB_LEN - 0x1000) / 16 * 16;
	case 2:
		return glibc_bin_at(FAB_BASE, 1 + (unsigned)(r >> 8) % 127);
	case 3:
		return (r >> 8) % 2048 | (r & 7);
	case 4: {
		uint64_t p = FAB_HEAP + (r >> 8) % (FAB_LEN - 0x1000) / 16 * 16;

		return ((p + 16) >> 12) ^ (FAB_HEAP + (r >> 20) % (FAB_LEN - 0x1000) / 16 * 16);
	}
	default:
		return 0;
	}
}

static void test_fuzz(void **state)
{
	unsigned seed = 1;

	(void)state;
	for (int iter = 0; iter < 3000; iter++) {
		struct fab_run r;
		uint64_t bytes;

		fab_books();
		for (int k = 0, n = 1 + rand_r(&seed) % 12; k < n; k++) {
			uint64_t at = rand_r(&seed) % 2
					      ? FAB_BASE + (rand_r(&seed) % 275) * 8
					      : FAB_HEAP + (rand_r(&seed) % 0x1ff0) / 8 * 8;

			put(at, fuzz_word(&seed));
		}
		fab_walk(&r, 500);
		assert_true(r.w.chunks_left <= 500);
		assert_true(r.f.top + r.f.bins + r.f.fastbins <= r.f.system_mem || r.w.partial);

		fab_tcache();
		for (int k = 0, n = 1 + rand_r(&seed) % 6; k < n; k++)
			put(FAB_HEAP + 0x2000 + (rand_r(&seed) % 0x600) / 8 * 8, fuzz_word(&seed));
		fab_tcache_walk(&bytes, 7);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fab_valid),
		cmocka_unit_test(test_fab_bin_loop),
		cmocka_unit_test(test_fab_fastbin_loop),
		cmocka_unit_test(test_fab_outside),
		cmocka_unit_test(test_fab_absurd_sizes),
		cmocka_unit_test(test_fab_cap),
		cmocka_unit_test(test_fab_scan),
		cmocka_unit_test(test_fab_heaps),
		cmocka_unit_test(test_fab_mmapped),
		cmocka_unit_test(test_fab_tcache),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test_teardown(test_at_rest_shared, kill_running),
		cmocka_unit_test_teardown(test_at_rest_noncontiguous, kill_running),
		cmocka_unit_test_teardown(test_at_rest_static, kill_running),
		cmocka_unit_test_teardown(test_caps, kill_running),
		cmocka_unit_test_teardown(test_race, kill_running),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
