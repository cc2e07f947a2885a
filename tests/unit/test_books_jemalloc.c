// SPDX-License-Identifier: GPL-2.0-only
/*
 * books/jemalloc against jemalloc's own mallctl statistics: workloads/je_books (Debian's
 * libjemalloc.so.2, globals through decoded code references) and je_books_static (linked
 * with libjemalloc_pic.a, globals through symbols; je_books_split, the same stripped, its
 * symbols in the file its .gnu_debuglink names) write their stats after "epoch" and wait;
 * the reader reads them from outside. Then hostile memory through tmem__from_buf.
 * The workloads are found beside this test's directory (OUTPUT/workloads); without them
 * the process tests are skipped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jemalloc.h"
#include "jemalloc_priv.h"

struct target {
	pid_t pid;
	char dir[64], truth[4096];
};

/* The running workload, killed by the teardown when an assertion ended a test early. */
static pid_t live_pid;

static int kill_live(void **state)
{
	(void)state;
	if (live_pid > 0) {
		kill(live_pid, SIGKILL);
		waitpid(live_pid, NULL, 0);
	}
	live_pid = 0;
	return 0;
}

static bool workload_path(const char *name, char *path, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return false;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = 0;
	snprintf(path, len, "%s/../workloads/%s", exe, name);
	return access(path, X_OK) == 0;
}

static bool read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
	return n > 0;
}

/* Starts a workload (decay off, so that nothing moves) and waits for its truth. */
static bool start(struct target *tg, const char *name, const char *preload)
{
	char path[PATH_MAX + 32], tpath[128], hpath[128];

	if (!workload_path(name, path, sizeof(path)))
		return false;
	snprintf(tg->dir, sizeof(tg->dir), "/tmp/at-books-je.XXXXXX");
	assert_non_null(mkdtemp(tg->dir));
	snprintf(tpath, sizeof(tpath), "%s/truth", tg->dir);
	snprintf(hpath, sizeof(hpath), "%s/hold", tg->dir);
	tg->pid = fork();
	assert_true(tg->pid >= 0);
	if (!tg->pid) {
		setenv("MALLOC_CONF", "dirty_decay_ms:-1,muzzy_decay_ms:-1", 1);
		setenv("AT_TRUTH", tpath, 1);
		setenv("AT_HOLD", hpath, 1);
		if (preload)
			setenv("LD_PRELOAD", preload, 1);
		execl(path, name, (char *)NULL);
		_exit(127);
	}
	live_pid = tg->pid;
	for (int i = 0; i < 30000 && access(tpath, F_OK); i++)
		usleep(1000);
	assert_true(read_file(tpath, tg->truth, sizeof(tg->truth)));
	return true;
}

static void stop(struct target *tg)
{
	char path[128];

	kill_live(NULL);
	snprintf(path, sizeof(path), "%s/truth", tg->dir);
	unlink(path);
	rmdir(tg->dir);
}

static uint64_t truth(const struct target *tg, const char *key)
{
	char pat[80];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(tg->truth, pat);
	assert_non_null(p);
	return strtoull(p + strlen(pat), NULL, 10);
}

static uint64_t figure(const struct books *b, const char *name)
{
	for (size_t i = 0; i < b->nfigures; i++)
		if (!strcmp(b->figures[i].name, name))
			return b->figures[i].bytes;
	fail_msg("no figure '%s'", name);
	return 0;
}

static int collect(const struct maps_entry *e, void *arg)
{
	struct {
		struct maps_entry *v;
		size_t n, cap;
	} *m = arg;

	if (at_grow(&m->v, m->n, &m->cap, sizeof(*m->v), 1))
		return -ENOMEM;
	m->v[m->n++] = *e;
	return 0;
}

/* Bytes of each range kind, and of them resident now (pagemap). */
static void range_bytes(int pid, const struct books *b, uint64_t bytes[6], uint64_t *resident)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	memset(bytes, 0, 6 * sizeof(bytes[0]));
	*resident = 0;
	for (size_t i = 0; i < b->nranges; i++) {
		uint64_t r = 0;

		assert_true(b->ranges[i].kind >= BOOKS_JE_BASE &&
			    b->ranges[i].kind <= BOOKS_JE_RETAINED);
		assert_int_equal(b->ranges[i].evidence, BOOKS_EV_BOOKS);
		if (i)
			assert_true(b->ranges[i].start >= b->ranges[i - 1].end);
		bytes[b->ranges[i].kind] += b->ranges[i].end - b->ranges[i].start;
		assert_int_equal(procfs_resident(fd, b->ranges[i].start, b->ranges[i].end, &r), 0);
		*resident += r;
	}
	close(fd);
}

static uint64_t arena_truth(const struct target *tg, unsigned i, const char *what)
{
	char key[64];

	snprintf(key, sizeof(key), "a%u_%s", i, what);
	return truth(tg, key);
}

static void check_arenas(const struct target *tg, const struct books_je_arena *a, size_t n)
{
	size_t seen = 0;

	for (unsigned i = 0; i < truth(tg, "narenas"); i++) {
		char pat[64];

		snprintf(pat, sizeof(pat), "\"a%u_pactive\"", i);
		if (!strstr(tg->truth, pat))
			continue; /* not initialized: not in the table either */
		assert_true(seen < n);
		assert_int_equal(a[seen].ind, i);
		assert_int_equal(a[seen].pactive, arena_truth(tg, i, "pactive"));
		assert_int_equal(a[seen].pdirty, arena_truth(tg, i, "pdirty"));
		assert_int_equal(a[seen].pmuzzy, arena_truth(tg, i, "pmuzzy"));
		assert_int_equal(a[seen].tcache_bytes, arena_truth(tg, i, "tcache_bytes"));
		assert_int_equal(a[seen].mapped, arena_truth(tg, i, "mapped"));
		assert_int_equal(a[seen].resident, arena_truth(tg, i, "resident"));
		assert_int_equal(a[seen].pretained * JE_PAGE, arena_truth(tg, i, "retained"));
		seen++;
	}
	assert_int_equal(seen, n);
}

/*
 * Exact: allocated, active, metadata, mapped, retained, dirty, muzzy, tcache and every
 * arena's pages, read as jemalloc's ctl_refresh sums them, from a target at rest. resident
 * is jemalloc's own estimate (base pages it assumes touched, every active and dirty page),
 * so the reader's figure equals it exactly; what pagemap finds resident in the ranges is
 * another thing. It adds the muzzy pages (MADV_FREE leaves them in RAM until the kernel
 * needs them) and lacks the pages of extents never written: here the tails of large
 * classes (a 300000-byte block in a 327680 + 4096-byte extent leaves 7 pages untouched, a
 * 20000-byte one 1), the untouched parts of slabs and of the radix tree's 2 MiB leaves
 * (base memory counted as resident when handed out). Measured 12% below the estimate;
 * the check: never above estimate + muzzy, never below 80% of the estimate.
 */
static void check_process(const char *name, const char *how)
{
	struct {
		struct maps_entry *v;
		size_t n, cap;
	} m = { 0 };
	struct books_je_arena arenas[32];
	struct books_je_where w;
	struct books b = { 0 };
	struct target tg;
	uint64_t bytes[6], res, est;
	size_t na = 0;
	struct tmem *t;
	char why[160];

	if (!start(&tg, name, NULL))
		fail_msg("workload %s is not built (make workloads)", name);
	assert_int_equal(books_jemalloc_locate(tg.pid, &w, why, sizeof(why)), 0);
	assert_non_null(strstr(w.how, how));
	assert_int_equal(procfs_read_maps(tg.pid, collect, &m), 0);
	t = tmem__open(tg.pid);
	assert_non_null(t);
	tmem_set_budget(t, 64ull << 20);
	assert_int_equal(books_jemalloc_read_at(t, &w, m.v, m.n, &b, arenas, 32, &na), 0);
	assert_false(b.partial);
	assert_string_equal(b.allocator, "jemalloc");
	assert_int_equal(figure(&b, "allocated"), truth(&tg, "allocated"));
	assert_int_equal(figure(&b, "active"), truth(&tg, "active"));
	assert_int_equal(figure(&b, "metadata"), truth(&tg, "metadata"));
	assert_int_equal(figure(&b, "mapped"), truth(&tg, "mapped"));
	assert_int_equal(figure(&b, "retained"), truth(&tg, "retained"));
	assert_int_equal(figure(&b, "resident"), truth(&tg, "resident"));
	check_arenas(&tg, arenas, na);
	assert_true(figure(&b, "tcache") > 0 && figure(&b, "muzzy") > 0 && figure(&b, "dirty") > 0);
	assert_int_equal(b.live_bytes, figure(&b, "allocated") - figure(&b, "tcache"));
	assert_int_equal(b.mapped_bytes, truth(&tg, "mapped") + truth(&tg, "retained"));
	assert_int_equal(b.free_resident_bytes, figure(&b, "dirty") + figure(&b, "tcache"));

	/* The ranges: every extent once, by state; the base blocks are the rest of mapped. */
	range_bytes(tg.pid, &b, bytes, &res);
	assert_int_equal(bytes[BOOKS_JE_ACTIVE], truth(&tg, "active"));
	assert_int_equal(bytes[BOOKS_JE_DIRTY], figure(&b, "dirty"));
	assert_int_equal(bytes[BOOKS_JE_MUZZY], figure(&b, "muzzy"));
	assert_int_equal(bytes[BOOKS_JE_RETAINED], truth(&tg, "retained"));
	assert_int_equal(bytes[BOOKS_JE_BASE] + bytes[BOOKS_JE_ACTIVE] + bytes[BOOKS_JE_DIRTY] +
				 bytes[BOOKS_JE_MUZZY],
			 truth(&tg, "mapped"));
	est = truth(&tg, "resident");
	print_message("resident: pagemap %llu, jemalloc's estimate %llu, muzzy %llu\n",
		      (unsigned long long)res, (unsigned long long)est,
		      (unsigned long long)figure(&b, "muzzy"));
	assert_true(res <= est + figure(&b, "muzzy"));
	assert_true(res >= est / 5 * 4);
	assert_true(b.free_bytes + b.live_bytes + bytes[BOOKS_JE_BASE] == b.mapped_bytes);

	/* The whole path, from the pid alone. */
	books_release(&b);
	assert_int_equal(books_jemalloc_read(t, tg.pid, &b), 0);
	assert_false(b.partial);
	assert_int_equal(figure(&b, "allocated"), truth(&tg, "allocated"));
	books_release(&b);
	tmem__free(t);
	free(m.v);
	stop(&tg);
}

static void test_shared_library(void **state)
{
	(void)state;
	check_process("je_books", "code references");
}

static void test_static_copy(void **state)
{
	(void)state;
	check_process("je_books_static", "symbols");
}

/* The static copy stripped, its symbols in the file its .gnu_debuglink names. */
static void test_static_copy_debuglink(void **state)
{
	(void)state;
	check_process("je_books_split", "symbols");
}

/* A copy of Debian's library with one byte of its build-id changed: same code, but not a
 * build the reader knows, and no symbols: refused with a reason, never guessed. */
static void test_unknown_build_refused(void **state)
{
	const char *lib = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
	static const unsigned char id[] = { 0x1d, 0x51, 0x63, 0xc2, 0x46, 0xdc, 0x9c, 0xd2 };
	char dir[] = "/tmp/at-je-lib.XXXXXX", copy[64];
	struct books b = { 0 };
	struct target tg;
	unsigned char *img;
	struct tmem *t;
	long len;
	FILE *f;
	void *at;

	(void)state;
	f = fopen(lib, "rb");
	if (!f)
		fail_msg("%s: %s (Debian's libjemalloc2 is a test dependency)", lib,
			 strerror(errno));
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	img = malloc((size_t)len);
	assert_int_equal(fread(img, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	at = memmem(img, (size_t)len, id, sizeof(id));
	if (!at) {
		free(img);
		fail_msg("%s is not Debian 12's build (its build-id was not found)", lib);
	}
	((unsigned char *)at)[0] ^= 0xff;
	assert_non_null(mkdtemp(dir));
	snprintf(copy, sizeof(copy), "%s/libjemalloc.so.2", dir);
	f = fopen(copy, "wb");
	assert_int_equal(fwrite(img, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	free(img);
	if (!start(&tg, "je_books", copy))
		fail_msg("workload je_books is not built (make workloads)");
	t = tmem__open(tg.pid);
	assert_int_equal(books_jemalloc_read(t, tg.pid, &b), -EPROTO);
	assert_true(b.partial);
	assert_non_null(strstr(b.reason, "not a known build"));
	assert_int_equal(b.nranges, 0);
	books_release(&b);
	tmem__free(t);
	stop(&tg);
	unlink(copy);
	rmdir(dir);
}

static void test_no_jemalloc(void **state)
{
	struct books_je_where w;
	char why[160];

	(void)state;
	assert_int_equal(books_jemalloc_locate(getpid(), &w, why, sizeof(why)), -ENOENT);
}

/* A made-up process image: globals, one arena with its base, one tcache. */
#define FAKE_BASE 0x10000000ull
#define F_ARENAS 0x0
#define F_NTOTAL 0x8000
#define F_NAUTO 0x8004
#define F_NHBINS 0x8008
#define F_SZ 0x9000
#define F_BINOFF 0x9800
#define F_BININF 0x9a00
#define F_EMAP 0xa000
#define F_ARENA 0x10000
#define F_BLOCK 0x30000
#define F_DESC 0x32000
#define F_CBINS 0x32100
#define F_STACK 0x33000
#define F_LEAFPAGE 0x34000 /* the leaf page of FAKE_BASE's 2 MiB */
#define F_EDATA 0x38000
#define F_SIZE 0x40000

static void put64(unsigned char *img, uint64_t off, uint64_t v)
{
	memcpy(img + off, &v, 8);
}

static void put16(unsigned char *img, uint64_t off, uint16_t v)
{
	memcpy(img + off, &v, 2);
}

static void put32(unsigned char *img, uint64_t off, uint32_t v)
{
	memcpy(img + off, &v, 4);
}

static void fake_image(unsigned char *img, struct books_je_where *w)
{
	const uint64_t a = FAKE_BASE + F_ARENA, base = FAKE_BASE + F_BLOCK + JE_BLOCK_HEADER;

	memset(img, 0, F_SIZE);
	*w = (struct books_je_where){ .arenas = FAKE_BASE + F_ARENAS,
				      .narenas_total = FAKE_BASE + F_NTOTAL,
				      .narenas_auto = FAKE_BASE + F_NAUTO,
				      .emap = FAKE_BASE + F_EMAP,
				      .sz_tab = FAKE_BASE + F_SZ,
				      .bin_offsets = FAKE_BASE + F_BINOFF,
				      .bin_infos = FAKE_BASE + F_BININF,
				      .nhbins = FAKE_BASE + F_NHBINS };
	put64(img, F_ARENAS, a);
	put32(img, F_NTOTAL, 1);
	put32(img, F_NAUTO, 1);
	put32(img, F_NHBINS, 2);
	for (unsigned i = 0; i < JE_NSIZES; i++)
		put64(img, F_SZ + i * 8, je_index2size(i));
	for (unsigned i = 0; i < JE_NBINS; i++) {
		put32(img, F_BINOFF + i * 4, JE_ARENA_SIZE + i * JE_BIN_SIZE);
		put64(img, F_BININF + i * JE_BI_SIZE, je_index2size(i));
		put32(img, F_BININF + i * JE_BI_SIZE + JE_BI_NSHARDS, 1);
	}
	put64(img, F_EMAP + JE_RT_BASE, base);
	/* The arena's pointers to itself and to the shared objects. */
	put64(img, F_ARENA + JE_A_BASE, base);
	put64(img, F_ARENA + JE_A_SHARD_BASE, base);
	put64(img, F_ARENA + JE_A_PAC_BASE, base);
	put64(img, F_ARENA + JE_A_SHARD_EMAP, w->emap);
	put64(img, F_ARENA + JE_A_PAC_EMAP, w->emap);
	put64(img, F_ARENA + JE_A_PAC_EDATA_CACHE, a + JE_A_EDATA_CACHE);
	put64(img, F_ARENA + JE_A_SHARD_STATS, a + JE_A_PA_SHARD_STATS);
	put64(img, F_ARENA + JE_A_PAC_STATS_PTR, a + JE_A_PAC_STATS);
	put32(img, F_ARENA + JE_A_ECACHE_DIRTY + JE_EC_STATE, JE_ST_DIRTY);
	put32(img, F_ARENA + JE_A_ECACHE_MUZZY + JE_EC_STATE, JE_ST_MUZZY);
	put32(img, F_ARENA + JE_A_ECACHE_RETAINED + JE_EC_STATE, JE_ST_RETAINED);
	/* Figures: 10 active pages, 3 dirty, 2 large 16 KiB blocks, 5 regions of 48 bytes. */
	put64(img, F_ARENA + JE_A_NACTIVE, 10);
	put64(img, F_ARENA + JE_A_ECACHE_DIRTY + JE_EC_NPAGES, 3);
	put64(img, F_ARENA + JE_A_PAC_MAPPED, 13 * JE_PAGE);
	put64(img, F_ARENA + JE_A_LSTATS, 7);
	put64(img, F_ARENA + JE_A_LSTATS + 8, 5);
	put64(img, F_ARENA + JE_ARENA_SIZE + 3 * JE_BIN_SIZE + JE_BIN_CURREGS, 5);
	/* The base: one block of 8 pages. */
	put64(img, F_BLOCK, 8 * JE_PAGE);
	put64(img, F_BLOCK + JE_BLOCK_HEADER + JE_B_BLOCKS, FAKE_BASE + F_BLOCK);
	put64(img, F_BLOCK + JE_BLOCK_HEADER + JE_B_ALLOCATED, 1000);
	put64(img, F_BLOCK + JE_BLOCK_HEADER + JE_B_RESIDENT, 4096);
	put64(img, F_BLOCK + JE_BLOCK_HEADER + JE_B_MAPPED, 8 * JE_PAGE);
	/* One tcache of two bins: bin 0 empty, bin 1 with 3 blocks of 16 bytes (4 slots). */
	put64(img, F_ARENA + JE_A_DESC_QL, FAKE_BASE + F_DESC);
	put64(img, F_DESC, FAKE_BASE + F_DESC);
	put64(img, F_DESC + 8, FAKE_BASE + F_DESC);
	put64(img, F_DESC + JE_DESC_BINS, FAKE_BASE + F_CBINS);
	put64(img, F_CBINS, FAKE_BASE + F_STACK + 0x3000);
	put16(img, F_CBINS + JE_CB_LOW_BITS_FULL, 0x5fe0);
	put16(img, F_CBINS + JE_CB_LOW_BITS_EMPTY, 0x6000);
	put64(img, F_CBINS + JE_CB_SIZE, FAKE_BASE + F_STACK + 8);
	put16(img, F_CBINS + JE_CB_SIZE + JE_CB_LOW_BITS_FULL, 0x3000);
	put16(img, F_CBINS + JE_CB_SIZE + JE_CB_LOW_BITS_EMPTY, 0x3020);
}

static int read_fake_maps(const unsigned char *img, const struct books_je_where *w, struct books *b,
			  uint64_t budget, const struct maps_entry *maps, size_t n)
{
	struct tmem *t = tmem__from_buf(FAKE_BASE, img, F_SIZE);
	int err;

	assert_non_null(t);
	tmem_set_budget(t, budget);
	memset(b, 0, sizeof(*b));
	err = books_jemalloc_read_at(t, w, maps, n, b, NULL, 0, NULL);
	tmem__free(t);
	return err;
}

static int read_fake(const unsigned char *img, const struct books_je_where *w, struct books *b,
		     uint64_t budget)
{
	return read_fake_maps(img, w, b, budget, NULL, 0);
}

/*
 * The radix tree of the made-up image: one anonymous run holding the image, the root slot
 * of its GiB naming a leaf placed so that the leaf page for the image's first 2 MiB is
 * F_LEAFPAGE (element k: page FAKE_BASE + k * 4 KiB).
 */
static const struct maps_entry fake_maps[] = {
	{ .start = FAKE_BASE - 0x4c000, .end = FAKE_BASE + 0x200000 },
};

static void fake_rtree(unsigned char *img)
{
	put64(img, F_EMAP + JE_RT_ROOT, FAKE_BASE + F_LEAFPAGE - 128 * JE_PAGE);
}

/* An active extent of two pages at FAKE_BASE + 0x20000, named by its two boundary pages. */
static void fake_extent(unsigned char *img)
{
	const uint64_t edata = FAKE_BASE + F_EDATA;

	put64(img, F_EDATA + JE_E_BITS, (uint64_t)JE_ST_ACTIVE << 17);
	put64(img, F_EDATA + JE_E_ADDR, FAKE_BASE + 0x20000 + 0x40);
	put64(img, F_EDATA + JE_E_SIZE, 2 * JE_PAGE);
	put64(img, F_LEAFPAGE + 0x20 * 8, edata | 2);
	put64(img, F_LEAFPAGE + 0x21 * 8, edata);
}

static void test_fake_rtree(void **state)
{
	unsigned char *img = malloc(F_SIZE);
	uint64_t seed = 0x1234567887654321ull;
	struct books_je_where w;
	struct books b;

	(void)state;
	fake_image(img, &w);
	fake_rtree(img);
	fake_extent(img);
	assert_int_equal(read_fake_maps(img, &w, &b, 0, fake_maps, 1), 0);
	assert_false(b.partial);
	assert_int_equal(b.nranges, 2);
	assert_int_equal(b.ranges[0].start, FAKE_BASE + 0x20000);
	assert_int_equal(b.ranges[0].end, FAKE_BASE + 0x22000);
	assert_int_equal(b.ranges[0].kind, BOOKS_JE_ACTIVE);
	assert_int_equal(b.ranges[1].kind, BOOKS_JE_BASE);
	books_release(&b);

	/* A state that disagrees with the leaf, an extent reaching outside the run. */
	put64(img, F_EDATA + JE_E_BITS, (uint64_t)JE_ST_DIRTY << 17);
	assert_int_equal(read_fake_maps(img, &w, &b, 0, fake_maps, 1), 0);
	assert_true(b.partial);
	assert_int_equal(b.nranges, 1);
	books_release(&b);
	fake_extent(img);
	put64(img, F_EDATA + JE_E_SIZE, 1ull << 40);
	assert_int_equal(read_fake_maps(img, &w, &b, 0, fake_maps, 1), 0);
	assert_true(b.partial);
	assert_int_equal(b.nranges, 1);
	books_release(&b);

	/* Garbage leaves: bounded, partial, nothing claimed outside the run. */
	for (int round = 0; round < 200; round++) {
		fake_image(img, &w);
		fake_rtree(img);
		for (int k = 0; k < 512; k++) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			put64(img, F_LEAFPAGE + k * 8,
			      round % 2 ? seed : (FAKE_BASE + F_EDATA) | (seed & 0xe));
		}
		put64(img, F_EDATA + JE_E_ADDR, seed & 0xffffffffffull);
		put64(img, F_EDATA + JE_E_SIZE, seed >> 20);
		assert_int_equal(read_fake_maps(img, &w, &b, 1 << 20, fake_maps, 1), 0);
		for (size_t i = 0; i < b.nranges; i++)
			assert_true(b.ranges[i].start >= fake_maps[0].start &&
				    b.ranges[i].end <= fake_maps[0].end);
		books_release(&b);
	}
	free(img);
}

static void test_fake_reads(void **state)
{
	unsigned char *img = malloc(F_SIZE);
	struct books_je_where w;
	struct books b;

	(void)state;
	fake_image(img, &w);
	assert_int_equal(read_fake(img, &w, &b, 0), 0);
	assert_false(b.partial);
	assert_int_equal(figure(&b, "active"), 10 * JE_PAGE);
	assert_int_equal(figure(&b, "dirty"), 3 * JE_PAGE);
	assert_int_equal(figure(&b, "allocated_large"), 2 * 16384);
	assert_int_equal(figure(&b, "allocated_small"), 5 * 48);
	assert_int_equal(figure(&b, "tcache"), 3 * 16);
	assert_int_equal(figure(&b, "mapped"), 13 * JE_PAGE + 8 * JE_PAGE);
	assert_int_equal(figure(&b, "metadata"), 1000);
	assert_int_equal(b.nranges, 1);
	assert_int_equal(b.ranges[0].start, FAKE_BASE + F_BLOCK);
	assert_int_equal(b.ranges[0].kind, BOOKS_JE_BASE);
	books_release(&b);
	free(img);
}

/* Each corruption: refused (-EPROTO) or read partial, never a crash or a hang. */
static void test_hostile(void **state)
{
	unsigned char *img = malloc(F_SIZE);
	struct books_je_where w;
	struct books b;

	(void)state;
	fake_image(img, &w);
	put32(img, F_NTOTAL, 0xffffffff);
	assert_int_equal(read_fake(img, &w, &b, 0), -EPROTO);
	assert_true(b.partial);
	books_release(&b);

	fake_image(img, &w);
	put64(img, F_ARENAS, 0xdeadbeef0);
	assert_int_equal(read_fake(img, &w, &b, 0), -EPROTO);
	books_release(&b);

	fake_image(img, &w);
	put64(img, F_SZ + 40 * 8, 12345);
	assert_int_equal(read_fake(img, &w, &b, 0), -EPROTO);
	assert_non_null(strstr(b.reason, "size classes"));
	books_release(&b);

	/* A tcache ring that never comes back to its head: bounded, the rest still read. */
	fake_image(img, &w);
	put64(img, F_DESC, FAKE_BASE + F_DESC + 0x40);
	put64(img, F_DESC + 0x40, FAKE_BASE + F_DESC + 0x40);
	put64(img, F_DESC + 0x40 + JE_DESC_BINS, FAKE_BASE + F_CBINS);
	assert_int_equal(read_fake(img, &w, &b, 0), 0);
	assert_true(b.partial);
	assert_non_null(strstr(b.reason, "tcache list too long"));
	assert_int_equal(figure(&b, "tcache"), 0);
	assert_int_equal(figure(&b, "active"), 10 * JE_PAGE);
	books_release(&b);

	/* A base block list that loops: bounded, partial. */
	fake_image(img, &w);
	put64(img, F_BLOCK + 8, FAKE_BASE + F_BLOCK);
	assert_int_equal(read_fake(img, &w, &b, 0), 0);
	assert_true(b.partial);
	books_release(&b);

	/* Large counts beyond any address space. */
	fake_image(img, &w);
	put64(img, F_ARENA + JE_A_LSTATS + 8, 9);
	assert_int_equal(read_fake(img, &w, &b, 0), -EPROTO);
	books_release(&b);

	/* The budget stops the reading. */
	fake_image(img, &w);
	assert_int_equal(read_fake(img, &w, &b, 4096), -EPROTO);
	books_release(&b);
	free(img);
}

/* Random bytes over the arena, its base, its tcache: always an answer. */
static void test_fuzz(void **state)
{
	unsigned char *img = malloc(F_SIZE);
	struct books_je_where w;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	struct books b;

	(void)state;
	for (int round = 0; round < 3000; round++) {
		int err;

		fake_image(img, &w);
		for (int k = 0; k < 1 + round % 8; k++) {
			uint64_t off;

			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			off = F_ARENA + seed % (F_SIZE - F_ARENA - 8);
			if (round % 3 == 0) /* aim at the fields read */
				off = (seed >> 32) % 2
					      ? F_ARENA + JE_A_TAIL_START + seed % JE_A_TAIL_LEN
					      : F_DESC + seed % 0x40;
			put64(img, off, seed);
		}
		err = read_fake(img, &w, &b, 1 << 20);
		assert_true(err == 0 || err == -EPROTO);
		assert_true(err == 0 || b.partial);
		books_release(&b);
	}
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_shared_library, kill_live),
		cmocka_unit_test_teardown(test_static_copy, kill_live),
		cmocka_unit_test_teardown(test_static_copy_debuglink, kill_live),
		cmocka_unit_test_teardown(test_unknown_build_refused, kill_live),
		cmocka_unit_test(test_no_jemalloc),
		cmocka_unit_test(test_fake_reads),
		cmocka_unit_test(test_fake_rtree),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
