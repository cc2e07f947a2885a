// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <elf.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mimalloc.h"
#include "procfs.h"
#include "tmem.h"

/* ---- fabricated segments (tmem__from_buf) ------------------------------------------ */

#define BASE 0x100000000000ull
#define KEY 0x5eed5eed12345678ull
#define BUF_BYTES (256u << 10)
#define TCB_OFF 0x30000u
#define HEAP_OFF 0x20000u
#define ELF_OFF 0x38000u
#define HEAD(i) (264u + 80u * (i))
#define BLOCK(i) (65536u + 384u + 64u * (i)) /* page 1: 64-byte blocks */

static void put64(unsigned char *m, size_t off, uint64_t v)
{
	memcpy(m + off, &v, sizeof(v));
}

static void put32(unsigned char *m, size_t off, uint32_t v)
{
	memcpy(m + off, &v, sizeof(v));
}

static void put16(unsigned char *m, size_t off, uint16_t v)
{
	memcpy(m + off, &v, sizeof(v));
}

static void put_slice(unsigned char *m, unsigned idx, uint32_t count, uint32_t xblock)
{
	put32(m, HEAD(idx), count);
	put32(m, HEAD(idx) + 28, xblock);
	m[HEAD(idx) + 8] = 2; /* is_committed */
}

/* A normal segment at BASE as mimalloc 2.0.9 lays it out: the info span, one page of
 * 64-byte blocks (10 in use out of 100 made), and a free span for the rest. With threaded,
 * it belongs to a thread whose TCB is in the buffer, else it is abandoned. */
static unsigned char *fab_segment(bool threaded)
{
	unsigned char *m = calloc(1, BUF_BYTES);
	uint64_t tid = threaded ? BASE + TCB_OFF : 0;

	assert_non_null(m);
	for (int i = 0; i < 8; i++)
		put64(m, 112 + 8 * i, ~0ull);
	put64(m, 16, 32u << 20);
	m[10] = 1;
	m[32] = 1;
	put64(m, 208, 1);
	put64(m, 216, BASE ^ KEY);
	put64(m, 224, 512);
	put64(m, 232, 1);
	put64(m, 248, 512);
	put64(m, 256, tid);
	put64(m, TCB_OFF, tid);
	put64(m, TCB_OFF + 16, tid);
	put_slice(m, 0, 1, 65536);
	put_slice(m, 1, 1, 64);
	put16(m, HEAD(1) + 10, 100);
	put16(m, HEAD(1) + 12, (65536 - 384) / 64);
	put32(m, HEAD(1) + 24, 10);
	put_slice(m, 2, 510, 0);
	m[HEAD(2) + 8] = 0;
	return m;
}

/* A heap for the page, at HEAP_OFF: the main heap when its cookie is KEY. */
static void fab_heap(unsigned char *m, uint64_t delayed, uint64_t queue_first)
{
	put64(m, HEAD(1) + 48, BASE + HEAP_OFF);
	put64(m, HEAP_OFF, BASE + 0x28000);
	put64(m, HEAP_OFF + 1040 + 24 * 5, queue_first);
	put64(m, HEAP_OFF + 2840, delayed);
	put64(m, HEAP_OFF + 2848, BASE + TCB_OFF);
	put64(m, HEAP_OFF + 2864, KEY);
}

static int read_buf(const unsigned char *m, uint64_t budget, struct books *b,
		    struct books_mi_stats *st)
{
	struct maps_entry e = { .start = BASE, .end = BASE + (32u << 20), .prot = 3 };
	struct tmem *t = tmem__from_buf(BASE, m, BUF_BYTES);
	int err;

	assert_non_null(t);
	tmem_set_budget(t, budget);
	err = books_mimalloc_read_maps(t, &e, 1, b, st);
	tmem__free(t);
	return err;
}

static void test_fabricated(void **state)
{
	unsigned char *m = fab_segment(false);
	struct books_mi_stats st;
	struct books b;

	(void)state;
	assert_int_equal(read_buf(m, 0, &b, &st), 0);
	assert_false(b.partial);
	assert_int_equal(b.live_bytes, 640);
	assert_int_equal(st.live_blocks, 10);
	assert_int_equal(b.nranges, 1);
	assert_int_equal(b.ranges[0].start, BASE);
	assert_int_equal(b.ranges[0].end, BASE + (32u << 20));
	assert_int_equal(b.ranges[0].evidence, BOOKS_EV_HEADER);
	assert_int_equal(b.ranges[0].kind, BOOKS_MI_ABANDONED);
	assert_int_equal(b.mapped_bytes, 32u << 20);
	assert_int_equal(b.free_bytes, (32u << 20) - 65536 - 640);
	assert_false(st.key_known); /* one segment, no heap: nothing to check the key by */
	books_release(&b);

	/* Owned by a thread, reached from its main heap: the key is known, evidence BOOKS, and
	 * the two blocks on the heap's delayed-free list are not live. */
	free(m);
	m = fab_segment(true);
	fab_heap(m, BASE + BLOCK(3), BASE + HEAD(1));
	put64(m, BLOCK(3), BASE + BLOCK(7));
	put64(m, HEAD(1) + 40, (BASE + BLOCK(5)) | 2); /* thread-free list, flag bits */
	assert_int_equal(read_buf(m, 0, &b, &st), 0);
	assert_false(b.partial);
	assert_true(st.key_known);
	assert_int_equal(st.heaps, 1);
	assert_int_equal(st.delayed_frees, 2);
	assert_int_equal(st.thread_frees, 1);
	assert_int_equal(b.live_bytes, 7 * 64);
	assert_int_equal(b.ranges[0].evidence, BOOKS_EV_BOOKS);
	assert_int_equal(b.ranges[0].kind, BOOKS_MI_SEGMENT);
	books_release(&b);
	free(m);
}

struct mutation {
	size_t off, len;
	uint64_t value;
	const char *why;
};

/* Each field the header checks rests on, made absurd, refuses the segment with its reason
 * (the range is then not mimalloc's as far as the books go) and never crashes. */
static void test_header_checks(void **state)
{
	static const struct mutation muts[] = {
		{ 240, 4, 7, "segment kind" },
		{ 8, 1, 9, "boolean" },
		{ 232, 8, 3, "info slices" },
		{ 224, 8, 513, "normal segment" },
		{ 248, 8, 1ull << 32, "normal segment" },
		{ 208, 8, 5000, "page counts" },
		{ 192, 8, 2, "page counts" },
		{ 256, 8, 0x123, "thread id" },
		{ 256, 8, BASE + 0x10, "TCB" },
		{ 16, 8, 12345, "alignment" },
		{ 56, 8, 1, "decommit mask" },
		{ 112, 8, 0, "info slices not committed" },
		{ 184, 8, 0x1000, "links" },
	};
	struct books_mi_stats st;
	struct books b;

	(void)state;
	for (size_t i = 0; i < AT_ARRAY_SIZE(muts); i++) {
		unsigned char *m = fab_segment(false);

		memcpy(m + muts[i].off, &muts[i].value, muts[i].len);
		if (muts[i].off == 56)
			put64(m, 120, 0); /* 64 KiB units 64..127 decommitted, one scheduled */
		assert_int_equal(read_buf(m, 0, &b, &st), 0);
		print_message("%-28s -> %s\n", muts[i].why, st.first_refusal);
		assert_int_equal(b.nranges, 0);
		assert_int_equal(st.refused, 1);
		assert_non_null(strstr(st.first_refusal, muts[i].why));
		books_release(&b);
		free(m);
	}
}

/* A huge segment whose slice count would make it 1 PiB: refused before any walk. */
static void test_absurd_huge(void **state)
{
	unsigned char *m = fab_segment(false);
	struct books_mi_segment seg;
	const char *why = NULL;

	(void)state;
	put32(m, 240, 1);
	put64(m, 224, 1ull << 34);
	assert_int_equal(books_mi_parse_segment(m, BASE, &seg, &why), -EINVAL);
	assert_non_null(strstr(why, "huge"));
	/* Sane counts but larger than its mapping (the fake maps entry is 32 MiB). */
	put64(m, 224, 1024);
	put64(m, 32 + 8, 0);
	assert_int_equal(books_mi_parse_segment(m, BASE, &seg, &why), 0);
	free(m);
}

static void expect_refused_partial(unsigned char *m, const char *why)
{
	struct books_mi_stats st;
	struct books b;

	assert_int_equal(read_buf(m, 0, &b, &st), 0);
	print_message("%-28s -> %s\n", why, b.reason);
	assert_true(b.partial);
	assert_non_null(strstr(b.reason, why));
	assert_int_equal(b.nranges, 0);
	assert_int_equal(b.live_bytes, 0);
	books_release(&b);
	free(m);
}

/* Slices that are not a span chain: the segment is refused and the books say why. */
static void test_slice_checks(void **state)
{
	unsigned char *m;

	(void)state;
	m = fab_segment(false);
	put32(m, HEAD(2), 0);
	expect_refused_partial(m, "not a span head");
	m = fab_segment(false);
	put32(m, HEAD(1), 100000);
	expect_refused_partial(m, "span past the segment");
	m = fab_segment(false);
	put16(m, HEAD(1) + 12, 5);
	expect_refused_partial(m, "page block counts");
	m = fab_segment(false);
	put16(m, HEAD(1) + 12, 200);
	expect_refused_partial(m, "reserved count");
	m = fab_segment(false);
	put32(m, HEAD(1) + 24, 101);
	expect_refused_partial(m, "block counts");
	m = fab_segment(false);
	put64(m, 208, 2);
	expect_refused_partial(m, "differ from the header");
	m = fab_segment(false);
	put32(m, HEAD(0) + 28, 4096);
	expect_refused_partial(m, "info span");
}

static void expect_partial(unsigned char *m, const char *why, uint64_t live)
{
	struct books_mi_stats st;
	struct books b;

	assert_int_equal(read_buf(m, 0, &b, &st), 0);
	print_message("%-28s -> %s\n", why, b.reason);
	assert_true(b.partial);
	assert_non_null(strstr(b.reason, why));
	assert_int_equal(b.nranges, 1);
	assert_int_equal(b.live_bytes, live);
	books_release(&b);
	free(m);
}

/* Free lists that loop or point outside their page: bounded by the page's used count,
 * partial with a reason, never followed outside. */
static void test_hostile_lists(void **state)
{
	unsigned char *m;

	(void)state;
	m = fab_segment(false);
	put64(m, HEAD(1) + 40, BASE + BLOCK(2));
	put64(m, BLOCK(2), BASE + BLOCK(2));
	expect_partial(m, "thread-free list", 0);
	m = fab_segment(false);
	put64(m, HEAD(1) + 40, 0x7fffdeadb000);
	expect_partial(m, "thread-free list", 640);
	m = fab_segment(false);
	put64(m, HEAD(1) + 40, BASE + BLOCK(2) + 8);
	expect_partial(m, "thread-free list", 640);
	m = fab_segment(true);
	fab_heap(m, BASE + BLOCK(4), BASE + HEAD(1));
	put64(m, BLOCK(4), BASE + BLOCK(4));
	expect_partial(m, "delayed-free list", 0);
	m = fab_segment(true);
	fab_heap(m, BASE + HEAP_OFF, BASE + HEAD(1));
	expect_partial(m, "delayed-free list", 640);
	m = fab_segment(true);
	fab_heap(m, 0, BASE + HEAD(1));
	put64(m, HEAD(1) + 56, BASE + HEAD(1));
	expect_partial(m, "page queues", 640);
	m = fab_segment(true);
	fab_heap(m, 0, BASE + HEAD(2));
	expect_partial(m, "outside the segments", 640);
}

/* A heap pointer outside anything readable, or naming another thread: the heap is not
 * used, and the read goes on. */
static void test_bad_heap(void **state)
{
	struct books_mi_stats st;
	unsigned char *m = fab_segment(true);
	struct books b;

	(void)state;
	put64(m, HEAD(1) + 48, 0x7fff00000000);
	assert_int_equal(read_buf(m, 0, &b, &st), 0);
	assert_int_equal(st.heaps, 0);
	assert_int_equal(b.live_bytes, 640);
	books_release(&b);
	fab_heap(m, 0, 0);
	put64(m, HEAP_OFF + 2848, BASE + 0x40);
	assert_int_equal(read_buf(m, 0, &b, &st), 0);
	assert_int_equal(st.heaps, 0);
	assert_int_equal(b.ranges[0].evidence, BOOKS_EV_HEADER);
	books_release(&b);
	free(m);
}

/* Two segments whose cookies give different keys and no heap to arbitrate: neither is
 * trusted. A third agreeing with one of them makes that key the process's. */
static void test_cookie_keys(void **state)
{
	size_t len = (64u << 20) + BUF_BYTES;
	unsigned char *m = calloc(1, len), *seg = fab_segment(false);
	struct maps_entry e = { .start = BASE, .end = BASE + (96u << 20), .prot = 3 };
	struct books_mi_stats st;
	struct books b;
	struct tmem *t;

	(void)state;
	assert_non_null(m);
	for (int i = 0; i < 3; i++) {
		memcpy(m + ((size_t)i << 25), seg, i < 2 ? BUF_BYTES : 0);
		put64(m + ((size_t)i << 25), 216, (BASE + ((uint64_t)i << 25)) ^ (KEY + (i == 1)));
	}
	t = tmem__from_buf(BASE, m, (64u << 20) + 65536);
	assert_int_equal(books_mimalloc_read_maps(t, &e, 1, &b, &st), 0);
	assert_int_equal(b.nranges, 0);
	assert_true(b.partial);
	assert_non_null(strstr(b.reason, "cookie"));
	books_release(&b);
	tmem__free(t);
	memcpy(m + (2u << 25), seg, BUF_BYTES);
	put64(m + (2u << 25), 216, (BASE + (2ull << 25)) ^ KEY);
	t = tmem__from_buf(BASE, m, len);
	assert_int_equal(books_mimalloc_read_maps(t, &e, 1, &b, &st), 0);
	assert_true(st.key_known);
	assert_int_equal(b.nranges, 2);
	assert_int_equal(b.ranges[0].start, BASE);
	assert_int_equal(b.ranges[1].start, BASE + (2u << 25));
	books_release(&b);
	tmem__free(t);
	free(seg);
	free(m);
}

/* A libmimalloc.so whose build-id is not the one whose layout we know: nothing is read. */
static void fab_elf(unsigned char *m, const uint8_t *id)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)(m + ELF_OFF);
	Elf64_Phdr *ph = (Elf64_Phdr *)(m + ELF_OFF + sizeof(*eh));
	size_t note = sizeof(*eh) + sizeof(*ph);

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	ph->p_type = PT_NOTE;
	ph->p_offset = ph->p_vaddr = note;
	ph->p_filesz = 16 + 20;
	put32(m, ELF_OFF + note, 4);
	put32(m, ELF_OFF + note + 4, 20);
	put32(m, ELF_OFF + note + 8, NT_GNU_BUILD_ID);
	memcpy(m + ELF_OFF + note + 12, "GNU", 4);
	memcpy(m + ELF_OFF + note + 16, id, 20);
}

static void test_build_id(void **state)
{
	static const uint8_t known[20] = { 0xd0, 0x7f, 0x4e, 0x7d, 0xc9, 0xa0, 0x39,
					   0xfc, 0xbe, 0x77, 0x47, 0xf4, 0x16, 0x47,
					   0x6b, 0xd6, 0x5c, 0xb4, 0x8e, 0x8b };
	uint8_t other[20];
	struct maps_entry e[2] = {
		{ .start = BASE, .end = BASE + ELF_OFF, .prot = 3 },
		{ .start = BASE + ELF_OFF, .end = BASE + ELF_OFF + 4096, .prot = 1 },
	};
	unsigned char *m = fab_segment(false);
	struct books_mi_stats st;
	struct books b;
	struct tmem *t;

	(void)state;
	strcpy(e[1].path, "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2.0");
	memset(other, 0x11, sizeof(other));
	fab_elf(m, other);
	t = tmem__from_buf(BASE, m, BUF_BYTES);
	assert_int_equal(books_mimalloc_read_maps(t, e, 2, &b, &st), 0);
	assert_true(b.partial);
	assert_non_null(strstr(b.reason, "build-id 1111"));
	assert_int_equal(st.candidates, 0);
	books_release(&b);
	tmem__free(t);
	fab_elf(m, known);
	t = tmem__from_buf(BASE, m, BUF_BYTES);
	assert_int_equal(books_mimalloc_read_maps(t, e, 2, &b, &st), 0);
	assert_true(st.build_id_known);
	assert_int_equal(st.candidates, 1);
	/* The segment does not fit in the anonymous memory before the library. */
	assert_non_null(strstr(st.first_refusal, "extends past"));
	books_release(&b);
	tmem__free(t);
	free(m);
}

/* Bounds: a tiny read budget, and 16 TiB of readable anonymous memory to scan. */
static void test_bounds(void **state)
{
	struct maps_entry e = { .start = BASE, .end = BASE + (16ull << 40), .prot = 3 };
	unsigned char *m = fab_segment(false);
	struct books_mi_stats st;
	struct books b;
	struct tmem *t;

	(void)state;
	assert_int_equal(read_buf(m, 300, &b, &st), 0);
	assert_true(b.partial);
	assert_non_null(strstr(b.reason, "budget"));
	books_release(&b);
	t = tmem__from_buf(BASE, m, BUF_BYTES);
	assert_int_equal(books_mimalloc_read_maps(t, &e, 1, &b, &st), 0);
	assert_true(b.partial);
	assert_non_null(strstr(b.reason, "candidate"));
	assert_int_equal(st.segments, 1);
	books_release(&b);
	tmem__free(t);
	free(m);
}

/* Random bytes over a valid segment with a heap: the reader stays inside its bounds. */
static void test_fuzz(void **state)
{
	unsigned char *good = fab_segment(true), *m = malloc(BUF_BYTES);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	struct books_mi_stats st;
	struct books b;

	(void)state;
	assert_non_null(m);
	fab_heap(good, BASE + BLOCK(3), BASE + HEAD(1));
	put64(good, BLOCK(3), BASE + BLOCK(7));
	put64(good, HEAD(1) + 40, BASE + BLOCK(5));
	for (int it = 0; it < 4000; it++) {
		int n = 1 + it % 8;

		memcpy(m, good, BUF_BYTES);
		for (int k = 0; k < n; k++) {
			size_t off;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* Mostly the header, the first slices and the heap's fields. */
			off = (x >> 8) % 4 == 0	  ? (x >> 16) % BUF_BYTES
			      : (x >> 8) % 4 == 1 ? HEAP_OFF + 2840 + (x >> 16) % 32
						  : (x >> 16) % HEAD(3);
			m[off] = (uint8_t)(x >> 40);
		}
		assert_int_equal(read_buf(m, 0, &b, &st), 0);
		assert_true(b.nranges <= 1);
		assert_true(b.live_bytes <= b.mapped_bytes);
		assert_true(b.free_resident_bytes <= b.mapped_bytes);
		books_release(&b);
	}
	free(good);
	free(m);
}

/* ---- a live child, read from outside ---------------------------------------------- */

struct truth {
	unsigned long long live_bytes, live_blocks, cross_freed, commit, rss;
	unsigned long long segs[64];
	int nsegs;
};

static int workload_path(const char *name, char *path, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return -1;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	snprintf(path, len, "%s/../workloads/%s", self, name);
	return access(path, X_OK);
}

/* The running child, killed by the teardown even when an assertion failed. */
static pid_t child = -1;

static int kill_child(void **state)
{
	(void)state;
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	child = -1;
	return 0;
}

/* Starts the workload and reads its line of truth (it then waits in pause()). */
static pid_t spawn(const char *name, bool preload, struct truth *tr)
{
	char path[PATH_MAX + 32], line[4096];
	struct pollfd pfd;
	size_t got = 0;
	int fds[2], off = 0, n;
	pid_t pid;

	assert_int_equal(workload_path(name, path, sizeof(path)), 0);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(fds[1], 1);
		close(fds[0]);
		if (preload)
			setenv("LD_PRELOAD", "libmimalloc.so.2", 1);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	child = pid;
	close(fds[1]);
	pfd = (struct pollfd){ .fd = fds[0], .events = POLLIN };
	while (got < sizeof(line) - 1 && !memchr(line, '\n', got)) {
		ssize_t r;

		assert_int_equal(poll(&pfd, 1, 30000), 1);
		r = read(fds[0], line + got, sizeof(line) - 1 - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
	close(fds[0]);
	line[got] = '\0';
	memset(tr, 0, sizeof(*tr));
	assert_int_equal(sscanf(line, "%llu %llu %llu %llu %llu %d%n", &tr->live_bytes,
				&tr->live_blocks, &tr->cross_freed, &tr->commit, &tr->rss,
				&tr->nsegs, &off),
			 6);
	for (int i = 0; i < tr->nsegs && i < 64; i++) {
		assert_int_equal(sscanf(line + off, " %llx%n", &tr->segs[i], &n), 1);
		off += n;
	}
	return pid;
}

static uint64_t figure(const struct books *b, const char *name)
{
	for (size_t i = 0; i < b->nfigures; i++)
		if (!strcmp(b->figures[i].name, name))
			return b->figures[i].bytes;
	fail_msg("no figure '%s'", name);
	return 0;
}

static const struct books_range *range_at(const struct books *b, uint64_t addr)
{
	for (size_t i = 0; i < b->nranges; i++)
		if (b->ranges[i].start == addr)
			return &b->ranges[i];
	return NULL;
}

static void check_child(const char *name, bool preload)
{
	struct books b, plain;
	struct books_mi_stats st;
	struct maps_entry *maps;
	size_t nmaps;
	struct truth tr;
	uint64_t rss0, rss1, lazy, committed;
	pid_t pid = spawn(name, preload, &tr);
	struct tmem *t = tmem__open(pid);

	assert_non_null(t);
	assert_int_equal(procfs_read_smaps_rollup(pid, &rss0, &lazy), 0);
	assert_int_equal(procfs_read_maps_all(pid, &maps, &nmaps), 0);
	assert_int_equal(books_mimalloc_read_maps(t, maps, nmaps, &b, &st), 0);
	assert_int_equal(books_mimalloc_read(t, pid, &plain), 0);
	assert_int_equal(procfs_read_smaps_rollup(pid, &rss1, &lazy), 0);
	committed = figure(&b, "committed");
	print_message("%s: live %llu (truth %llu) blocks %llu (%llu) segments %llu (books %llu, "
		      "huge %llu, abandoned %llu) thread/delayed frees %llu/%llu committed %llu "
		      "(mi_process_info %llu) free %llu resident %llu refused %llu%s%s\n",
		      name, (unsigned long long)b.live_bytes, tr.live_bytes,
		      (unsigned long long)st.live_blocks, tr.live_blocks,
		      (unsigned long long)st.segments, (unsigned long long)st.books_segments,
		      (unsigned long long)st.huge, (unsigned long long)st.abandoned,
		      (unsigned long long)st.thread_frees, (unsigned long long)st.delayed_frees,
		      (unsigned long long)committed, tr.commit, (unsigned long long)b.free_bytes,
		      (unsigned long long)b.free_resident_bytes, (unsigned long long)st.refused,
		      b.partial ? " partial: " : "", b.reason);
	assert_false(b.partial);
	assert_true(st.build_id_known);
	assert_true(st.key_known);
	/* Exact: what mimalloc itself would count once it has collected every free. */
	assert_int_equal(b.live_bytes, tr.live_bytes);
	assert_int_equal(st.live_blocks, tr.live_blocks);
	assert_int_equal(st.thread_frees + st.delayed_frees, tr.cross_freed);
	assert_true(st.delayed_frees >= 1);
	assert_true(st.huge >= 2);
	assert_true(st.abandoned >= 1);
	assert_true(st.books_segments >= 1);
	assert_int_equal(plain.live_bytes, b.live_bytes);
	for (int i = 0; i < tr.nsegs; i++) {
		const struct books_range *r = range_at(&b, tr.segs[i]);

		assert_non_null(r);
		assert_true(r->evidence == BOOKS_EV_HEADER || r->evidence == BOOKS_EV_BOOKS);
	}
	/* Not exact, and not meant to be: mimalloc's counter drops when a huge block freed by
	 * another thread is decommitted (20 MiB here) while the segment's commit mask does not,
	 * and it counts commits outside segments (thread data) and per-thread merges. */
	assert_true(tr.commit <= committed + (8u << 20));
	assert_true(tr.commit + (32u << 20) >= committed);
	assert_true(b.free_resident_bytes <= b.free_bytes);
	assert_true(b.live_bytes + b.free_bytes <= b.mapped_bytes);
	/* Nothing was faulted in. */
	assert_int_equal(rss0, rss1);
	books_release(&b);
	books_release(&plain);
	free(maps);
	tmem__free(t);
}

/* This process (glibc malloc, with 96 MiB of touched anonymous memory): nothing is
 * mimalloc's. */
static void test_not_mimalloc(void **state)
{
	struct tmem *t = tmem__open(getpid());
	void *big[3];
	struct books b;

	(void)state;
	assert_non_null(t);
	for (int i = 0; i < 3; i++) {
		big[i] = malloc(32u << 20);
		assert_non_null(big[i]);
		memset(big[i], 1, 32u << 20);
	}
	assert_int_equal(books_mimalloc_read(t, getpid(), &b), 0);
	assert_int_equal(b.nranges, 0);
	assert_int_equal(b.live_bytes, 0);
	books_release(&b);
	for (int i = 0; i < 3; i++)
		free(big[i]);
	tmem__free(t);
}

static void test_linked(void **state)
{
	(void)state;
	check_child("mi_books", false);
}

static void test_preload(void **state)
{
	(void)state;
	check_child("books_mi_preload", true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fabricated),
		cmocka_unit_test(test_header_checks),
		cmocka_unit_test(test_absurd_huge),
		cmocka_unit_test(test_slice_checks),
		cmocka_unit_test(test_hostile_lists),
		cmocka_unit_test(test_bad_heap),
		cmocka_unit_test(test_cookie_keys),
		cmocka_unit_test(test_build_id),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_not_mimalloc),
		cmocka_unit_test_teardown(test_linked, kill_child),
		cmocka_unit_test_teardown(test_preload, kill_child),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
