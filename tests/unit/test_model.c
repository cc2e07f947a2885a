// SPDX-License-Identifier: GPL-2.0-only
/* The model fed with synthetic BPF records: attribution by caller file, accounting of every
 * return kind, brk up and down, mremap, stacks and file mappings kept out, fork and exec. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model.h"

#define PID 4000001 /* above pid_max: /proc has nothing, as for an exited process */
#define CHILD 4000002
#define KiB 1024ull

static struct model *new_model(void)
{
	struct model_limits lim = { .max_procs = 8,
				    .max_segs = 1024,
				    .timeline_max = 4,
				    .return_log_max = 2 };
	struct model *m = model__new(&lim, 0);

	assert_non_null(m);
	assert_int_equal(model_add_launched(m, PID), 0);
	return m;
}

/* The report's drop row of that name (fails the test if there is none). */
static uint64_t drop_of(const struct report *r, const char *name)
{
	for (size_t k = 0; k < r->ndrops; k++)
		if (!strcmp(r->drops[k].name, name))
			return r->drops[k].value;
	fail_msg("no drop row '%s'", name);
	return 0;
}

static void sys_pid(struct model *m, int pid, enum at_sys s, const char *file, uint64_t a0,
		    uint64_t a1, uint64_t a2, uint64_t a3, int64_t ret)
{
	struct at_sys_rec r = { .hdr = { .type = AT_REC_SYSCALL,
					 .kind = s,
					 .pid = (__u32)pid,
					 .tid = (__u32)pid,
					 .ts_ns = 1000 },
				.caller_ino = 1,
				.args = { a0, a1, a2, a3 },
				.ret = ret };

	memcpy(r.caller_file, file, strnlen(file, sizeof(r.caller_file) - 1));
	assert_int_equal(model_apply(m, &r, sizeof(r), NULL), 0);
}

static void sys(struct model *m, enum at_sys s, const char *file, uint64_t a0, uint64_t a1,
		uint64_t a2, uint64_t a3, int64_t ret)
{
	sys_pid(m, PID, s, file, a0, a1, a2, a3, ret);
}

static void proc_rec(struct model *m, enum at_proc_kind kind, int pid, int ppid)
{
	struct at_proc_rec r = { .hdr = { .type = AT_REC_PROC, .kind = kind, .pid = (__u32)pid },
				 .ppid = (__u32)ppid,
				 .comm = "prog" };

	assert_int_equal(model_apply(m, &r, sizeof(r), NULL), 0);
}

static const struct rep_alloc *find(const struct rep_proc *p, const char *name)
{
	for (size_t i = 0; i < p->nallocs; i++)
		if (!strcmp(p->allocs[i].name, name))
			return &p->allocs[i];
	return NULL;
}

#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define RW (PROT_READ | PROT_WRITE)
#define BASE 0x7f0000000000ull

static void test_accounting(void **state)
{
	struct model *m = new_model();
	const struct report *r;
	const struct rep_alloc *g, *j, *a;

	(void)state;
	proc_rec(m, AT_PROC_EXEC, PID, 0);
	sys(m, AT_SYS_BRK, "ld-linux-x86-64.so.2", 0, 0, 0, 0, 0x10000);
	sys(m, AT_SYS_BRK, "libc.so.6", 0x30000, 0, 0, 0, 0x30000);
	sys(m, AT_SYS_BRK, "libc.so.6", 0x20000, 0, 0, 0, 0x20000);
	sys(m, AT_SYS_MMAP, "libjemalloc.so.2", 0, 1024 * KiB, RW, ANON | MAP_NORESERVE, BASE);
	sys(m, AT_SYS_MUNMAP, "libjemalloc.so.2", BASE + 512 * KiB, 64 * KiB, 0, 0, 0);
	sys(m, AT_SYS_MADVISE, "libjemalloc.so.2", BASE, 128 * KiB, MADV_DONTNEED, 0, 0);
	sys(m, AT_SYS_MADVISE, "libjemalloc.so.2", BASE + 128 * KiB, 64 * KiB, MADV_FREE, 0, 0);
	sys(m, AT_SYS_MREMAP, "libjemalloc.so.2", BASE, 512 * KiB, 256 * KiB, 0, BASE);
	/* The application's own mapping, made PROT_NONE in part, then committed again. */
	sys(m, AT_SYS_MMAP, "prog", 0, 64 * KiB, RW, ANON, BASE + 0x100000000ull);
	sys(m, AT_SYS_MPROTECT, "prog", BASE + 0x100000000ull, 16 * KiB, PROT_NONE, 0, 0);
	sys(m, AT_SYS_MPROTECT, "prog", BASE + 0x100000000ull, 8 * KiB, RW, 0, 0);
	/* A thread stack and a file mapping: nobody's allocator memory. */
	sys(m, AT_SYS_MMAP, "libc.so.6", 0, 8 << 20, 0, ANON | MAP_STACK, BASE + 0x200000000ull);
	sys(m, AT_SYS_MADVISE, "libc.so.6", BASE + 0x200000000ull, 8 << 20, MADV_DONTNEED, 0, 0);
	sys(m, AT_SYS_MMAP, "libc.so.6", 0, 4096, PROT_READ, MAP_PRIVATE, BASE + 0x300000000ull);
	sys(m, AT_SYS_MUNMAP, "libc.so.6", BASE + 0x300000000ull, 4096, 0, 0, 0);

	r = model_report(m, 2000);
	assert_non_null(r);
	assert_int_equal(r->nprocs, 1);
	g = find(&r->procs[0], "glibc");
	j = find(&r->procs[0], "jemalloc");
	a = find(&r->procs[0], "app");
	assert_non_null(g);
	assert_non_null(j);
	assert_non_null(a);
	assert_null(find(&r->procs[0], "stack"));
	assert_int_equal(r->procs[0].nallocs, 3);

	assert_int_equal(g->mapped_bytes, 0x10000);
	assert_int_equal(g->mapped_total_bytes, 0x20000);
	assert_int_equal(g->ret_bytes[AT_RET_BRK_SHRINK], 0x10000);
	assert_int_equal(g->events[AT_SYS_BRK], 2);
	assert_int_equal(g->events[AT_SYS_MMAP], 0);
	assert_int_equal(g->events[AT_SYS_MADVISE], 0);
	assert_int_equal(g->ret_bytes[AT_RET_MADV_DONTNEED], 0);

	assert_int_equal(j->mapped_bytes, 1024 * KiB - 64 * KiB - 256 * KiB);
	assert_int_equal(j->ret_bytes[AT_RET_MUNMAP], 64 * KiB);
	assert_int_equal(j->ret_bytes[AT_RET_MADV_DONTNEED], 128 * KiB);
	assert_int_equal(j->ret_bytes[AT_RET_MADV_FREE], 64 * KiB);
	assert_int_equal(j->ret_bytes[AT_RET_MREMAP_SHRINK], 256 * KiB);
	assert_int_equal(j->events[AT_SYS_MMAP], 1);
	assert_int_equal(j->events[AT_SYS_MADVISE], 2);
	assert_int_equal(j->events[AT_SYS_MREMAP], 1);
	/* The return log keeps the newest two; the rest are counted. */
	assert_int_equal(j->nreturns, 2);
	assert_int_equal(j->returns_omitted, 2);
	assert_int_equal(j->returns[1].kind, AT_RET_MREMAP_SHRINK);

	assert_int_equal(a->mapped_bytes, 64 * KiB);
	assert_int_equal(a->reserved_bytes, 8 * KiB);
	assert_int_equal(a->ret_bytes[AT_RET_DECOMMIT], 16 * KiB);
	assert_int_equal(a->events[AT_SYS_MPROTECT], 2);
	model__free(m);
}

/* Records come in the order their sys_exit programs ran: thread A's munmap of a block can
 * come after thread B's mmap that was given the same addresses (the soak test, issue 13).
 * Both blocks are returned, each once, and the mapping B holds is B's until its own
 * munmap; a MAP_FIXED mmap over mapped memory is not such a case. */
static void test_late_unmap_record(void **state)
{
	struct model *m = new_model();
	const struct rep_alloc *g;

	(void)state;
	proc_rec(m, AT_PROC_EXEC, PID, 0);
	sys(m, AT_SYS_MMAP, "libc.so.6", 0, 256 * KiB, RW, ANON, BASE); /* A's */
	sys(m, AT_SYS_MMAP, "libc.so.6", 0, 512 * KiB, RW, ANON, BASE); /* B's */
	g = find(&model_report(m, 1)->procs[0], "glibc");
	assert_int_equal(g->mapped_bytes, 512 * KiB);
	assert_int_equal(g->ret_count[AT_RET_MUNMAP], 1); /* A's block went before B's mmap */
	assert_int_equal(g->ret_bytes[AT_RET_MUNMAP], 256 * KiB);
	sys(m, AT_SYS_MUNMAP, "libc.so.6", BASE, 256 * KiB, 0, 0, 0); /* A's record, late */
	g = find(&model_report(m, 2)->procs[0], "glibc");
	assert_int_equal(g->mapped_bytes, 512 * KiB);
	assert_int_equal(g->ret_count[AT_RET_MUNMAP], 1);
	assert_int_equal(g->events[AT_SYS_MUNMAP], 1);
	sys(m, AT_SYS_MUNMAP, "libc.so.6", BASE, 512 * KiB, 0, 0, 0); /* B's */
	g = find(&model_report(m, 3)->procs[0], "glibc");
	assert_int_equal(g->mapped_bytes, 0);
	assert_int_equal(g->ret_count[AT_RET_MUNMAP], 2);
	assert_int_equal(g->ret_bytes[AT_RET_MUNMAP], 768 * KiB);
	/* MAP_FIXED replaces: nothing is returned, and a munmap after it is B's own. */
	sys(m, AT_SYS_MMAP, "libc.so.6", 0, 256 * KiB, RW, ANON, BASE);
	sys(m, AT_SYS_MMAP, "libc.so.6", BASE, 256 * KiB, RW, ANON | MAP_FIXED, BASE);
	sys(m, AT_SYS_MUNMAP, "libc.so.6", BASE, 256 * KiB, 0, 0, 0);
	g = find(&model_report(m, 4)->procs[0], "glibc");
	assert_int_equal(g->mapped_bytes, 0);
	assert_int_equal(g->ret_count[AT_RET_MUNMAP], 3);
	assert_int_equal(g->ret_bytes[AT_RET_MUNMAP], 1024 * KiB);
	model__free(m);
}

static void test_fork_exec_exit(void **state)
{
	struct model *m = new_model();
	const struct report *r;
	const struct rep_alloc *g;

	(void)state;
	proc_rec(m, AT_PROC_EXEC, PID, 0);
	sys(m, AT_SYS_MMAP, "libc.so.6", 0, 1 << 20, RW, ANON, BASE);
	proc_rec(m, AT_PROC_FORK, CHILD, PID);
	r = model_report(m, 1);
	assert_int_equal(r->nprocs, 2);
	/* The child of a process traced from its exec inherits its picture: the mapping is
	 * glibc's, traced (issue 13, item 6), and the child is traced from its birth, its
	 * heap counters alone starting with its probes. */
	g = find(&r->procs[1], "glibc");
	assert_non_null(g);
	assert_int_equal(g->mapped_bytes, 1 << 20);
	assert_int_equal(g->pre_mapped_bytes, 0);
	assert_int_equal(r->procs[1].ppid, PID);
	assert_false(r->procs[1].attached_running);
	assert_true(r->procs[1].heap_partial);
	assert_int_equal(r->procs[1].origin, AT_ORIGIN_FORK);
	assert_string_equal(model_origin_name(r->procs[1].origin), "fork");
	assert_int_equal(r->procs[0].origin, AT_ORIGIN_COMMAND);
	assert_false(r->procs[0].heap_partial);
	/* exec starts afresh; exit keeps the final state. */
	proc_rec(m, AT_PROC_EXEC, PID, 0);
	proc_rec(m, AT_PROC_EXIT, CHILD, 0);
	r = model_report(m, 2);
	assert_null(find(&r->procs[0], "glibc"));
	assert_true(r->procs[1].exited);
	assert_true(model_any_alive(m));
	proc_rec(m, AT_PROC_EXIT, PID, 0);
	assert_false(model_any_alive(m));
	/* Records of processes nobody traces are counted, not applied. */
	sys(m, AT_SYS_MUNMAP, "libc.so.6", BASE, 4096, 0, 0, 0);
	assert_int_equal(drop_of(model_report(m, 3), "unattributed"), 1);
	model__free(m);
}

static void test_process_limit(void **state)
{
	struct model_limits lim = { .max_procs = 1, .max_segs = 16 };
	struct model *m = model__new(&lim, 0);

	(void)state;
	assert_int_equal(model_add_launched(m, PID), 0);
	assert_int_equal(model_add_launched(m, CHILD), -ENOSPC);
	assert_int_equal(drop_of(model_report(m, 1), "model_procs_full"), 1);
	model__free(m);
}

static const struct rep_alloc *find_alloc(const struct rep_proc *p, const char *name)
{
	for (size_t i = 0; i < p->nallocs; i++)
		if (!strcmp(p->allocs[i].name, name))
			return &p->allocs[i];
	return NULL;
}

/* An allocator internal's calls survive the owners' array growing under them: one
 * internal-function record, then mmaps from 12 more libraries (a ninth owner moves the
 * array), then the report. The report's internals pointed into the old array before
 * (AddressSanitizer: heap-use-after-free); valgrind this binary to see it. */
static void test_internals_after_owners_grow(void **state)
{
	struct model *m = new_model();
	struct at_probe_info info = { .type = "glibc",
				      .func = "sysmalloc",
				      .kind = AT_AK_INTERNAL,
				      .op = "grow",
				      .size_arg = 1 };
	struct at_arena_rec r = { .hdr = { .type = AT_REC_ARENA,
					   .kind = AT_AK_INTERNAL,
					   .pid = PID,
					   .tid = PID,
					   .ts_ns = 500 },
				  .args = { 135168 },
				  .ret = 1,
				  .dur_ns = 700 };
	const struct rep_alloc *a;
	const struct report *rep;
	char lib[32];

	(void)state;
	assert_int_equal(model_apply(m, &r, sizeof(r), &info), 0);
	for (int i = 0; i < 12; i++) {
		snprintf(lib, sizeof(lib), "libgrow%d.so", i);
		sys(m, AT_SYS_MMAP, lib, 0, 4 * KiB, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS,
		    (int64_t)(0x7f0000000000ull + (uint64_t)i * 0x10000));
	}
	rep = model_report(m, 1000);
	a = find_alloc(&rep->procs[0], "glibc");
	assert_non_null(a);
	assert_int_equal(a->ninternals, 1);
	assert_string_equal(a->internals[0].func, "sysmalloc");
	assert_int_equal(a->internals[0].calls, 1);
	assert_int_equal(a->internals[0].bytes, 135168);
	assert_int_equal(a->internals[0].total_ns, 700);
	assert_non_null(find_alloc(&rep->procs[0], "libgrow11.so"));
	model__free(m);
}

static uint64_t pre_bytes(const struct rep_proc *p, const char *name, enum at_evidence ev)
{
	const struct rep_alloc *a = find_alloc(p, name);

	return a ? a->pre_evidence_bytes[ev] : 0;
}

/* Attach truth in the model: this process attached as a running one, with two read-only
 * mappings of unknown origin (a PROT_NONE gap apart, so the kernel keeps them apart). A
 * munmap by jemalloc of part of the first makes jemalloc the owner of all of it (caller
 * evidence) and its return jemalloc's; glibc's books claim part of the second (books
 * evidence), and a weaker claim (inferred) cannot take it back. */
static void test_attach_evidence(void **state)
{
	struct model_limits lim = { .max_procs = 4, .max_segs = 4096, .return_log_max = 4 };
	struct model *m = model__new(&lim, 0);
	uint64_t b, base, a_end, b_start;
	struct rep_books books = { .known = true,
				   .live_bytes = 4096,
				   .free_bytes = 8192,
				   .retained_bytes = 4096,
				   .mapped_bytes = 64 * KiB };
	struct model_range ranges[] = { { 0, 0, AT_EV_BOOKS } };
	struct model_range weak[] = { { 0, 0, AT_EV_INFERRED } };
	const struct rep_proc *p;
	const struct report *r;
	const struct rep_alloc *je;
	void *res;

	(void)state;
	res = mmap(NULL, 192 * KiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(res != MAP_FAILED);
	base = (uint64_t)(uintptr_t)res;
	a_end = base + 64 * KiB;
	b_start = base + 128 * KiB;
	assert_true(mmap(res, 64 * KiB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
			 0) == res);
	assert_true(mmap((void *)(uintptr_t)b_start, 64 * KiB, PROT_READ,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
			 0) == (void *)(uintptr_t)b_start);
	assert_int_equal(model_add_running(m, getpid()), 0);
	assert_int_equal(pre_bytes(&model_report(m, 1)->procs[0], "jemalloc", AT_EV_CALLER), 0);

	sys_pid(m, getpid(), AT_SYS_MUNMAP, "libjemalloc.so.2", base + 16 * KiB, 16 * KiB, 0, 0, 0);
	ranges[0].start = b_start + 8 * KiB;
	ranges[0].end = b_start + 40 * KiB;
	assert_int_equal(model_set_books(m, getpid(), "glibc", &books, ranges, 1), 0);
	weak[0] = (struct model_range){ b_start, b_start + 64 * KiB, AT_EV_INFERRED };
	assert_int_equal(model_set_books(m, getpid(), "mimalloc", &books, weak, 1), 0);
	p = &model_report(m, 2)->procs[0];
	/* 64 KiB claimed whole, 16 KiB of it unmapped since. */
	b = pre_bytes(p, "jemalloc", AT_EV_CALLER);
	assert_int_equal(b, 48 * KiB);
	je = find_alloc(p, "jemalloc");
	assert_int_equal(je->ret_bytes[AT_RET_MUNMAP], 16 * KiB);
	assert_int_equal(je->events[AT_SYS_MUNMAP], 1);
	assert_int_equal(pre_bytes(p, "glibc", AT_EV_BOOKS), 32 * KiB);
	assert_int_equal(find_alloc(p, "glibc")->books.live_bytes, 4096);
	assert_int_equal(pre_bytes(p, "mimalloc", AT_EV_INFERRED), 32 * KiB); /* the rest */
	/* A child of the attached process inherits its picture as it is: memory from before
	 * attach stays so, owners and evidence with it; older blocks are unknown. */
	proc_rec(m, AT_PROC_FORK, CHILD, getpid());
	r = model_report(m, 3);
	p = &r->procs[r->nprocs - 1];
	assert_int_equal(p->pid, CHILD);
	assert_true(p->attached_running);
	assert_int_equal(pre_bytes(p, "jemalloc", AT_EV_CALLER), 48 * KiB);
	assert_int_equal(pre_bytes(p, "glibc", AT_EV_BOOKS), 32 * KiB);
	assert_int_equal(find_alloc(p, "jemalloc")->mapped_bytes, 0);
	(void)a_end;
	munmap(res, 192 * KiB);
	model__free(m);
}

/* An anonymous writable mapping right after a file's is taken for the file's .bss, by
 * layout (nobody's allocator memory). Arenas mapped next to it later merge into it, so a
 * validated header (pymalloc's pools in a Python process) may take its part of it, but a
 * caller's syscall may not. */
static void test_bss_claimed_by_header(void **state)
{
	struct model_limits lim = { .max_procs = 4, .max_segs = 4096, .return_log_max = 4 };
	struct model *m = model__new(&lim, 0);
	struct rep_books books = { .known = true, .live_bytes = 4096, .mapped_bytes = 16 * KiB };
	struct model_range pools[] = { { 0, 0, AT_EV_HEADER } };
	char path[] = "/tmp/at_bss_XXXXXX";
	int fd = mkstemp(path);
	const struct rep_proc *p;
	uint64_t base;
	void *res;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	res = mmap(NULL, 4096 + 128 * KiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(res != MAP_FAILED);
	base = (uint64_t)(uintptr_t)res;
	assert_true(mmap(res, 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) == res);
	assert_true(mmap((void *)(uintptr_t)(base + 4096), 128 * KiB, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
			 0) == (void *)(uintptr_t)(base + 4096));
	assert_int_equal(model_add_running(m, getpid()), 0);
	sys_pid(m, getpid(), AT_SYS_MADVISE, "libjemalloc.so.2", base + 4096, 4096, MADV_DONTNEED,
		0, 0);
	pools[0].start = base + 4096 + 32 * KiB;
	pools[0].end = base + 4096 + 48 * KiB;
	assert_int_equal(model_set_books(m, getpid(), "pymalloc", &books, pools, 1), 0);
	p = &model_report(m, 2)->procs[0];
	assert_int_equal(pre_bytes(p, "pymalloc", AT_EV_HEADER), 16 * KiB);
	assert_int_equal(pre_bytes(p, "jemalloc", AT_EV_CALLER), 0);
	munmap(res, 4096 + 128 * KiB);
	close(fd);
	unlink(path);
	model__free(m);
}

/* Heap counters as the kernel's would be read: one allocator instance of PID. */
static struct at_heap_stats heap_in;

static void read_heap(void *arg, struct model *m, int pid)
{
	(void)arg;
	model_heap_add(m, pid ? pid : PID, "glibc", "usable", &heap_in);
}

/* Live and retained cannot go below 0 (issue 13, item 4). Live blocks on pages never
 * touched (calloc'd from fresh mmap) are live but not resident: resident - live is below 0,
 * and retained says 0. Counts read across a thread's fold can cross (more frees than
 * allocations): live is 0 then, in bytes and blocks, and no finding is made of it. */
static void test_live_retained_floor(void **state)
{
	struct model *m = new_model();
	const struct rep_alloc *g;
	const struct report *r;

	(void)state;
	proc_rec(m, AT_PROC_EXEC, PID, 0);
	sys(m, AT_SYS_MMAP, "libc.so.6", 0, 32 << 20, RW, ANON, BASE);
	heap_in = (struct at_heap_stats){ .alloc_count = 1, .alloc_bytes = (32 << 20) - 16 };
	model_heap_refresh(m, 0, 1000, read_heap, NULL);
	r = model_report(m, 2000);
	g = find(&r->procs[0], "glibc");
	assert_non_null(g);
	assert_int_equal(g->live_bytes, (32 << 20) - 16);
	assert_int_equal(g->live_objects, 1);
	assert_int_equal(g->resident_bytes, 0); /* never sampled: nothing known resident */
	assert_true(g->retained_known);
	assert_int_equal(g->retained_bytes, 0);

	heap_in = (struct at_heap_stats){ .alloc_count = 2,
					  .alloc_bytes = 100,
					  .free_count = 3,
					  .free_bytes = 500 };
	model_heap_refresh(m, 0, 3000, read_heap, NULL);
	r = model_report(m, 4000);
	g = find(&r->procs[0], "glibc");
	assert_int_equal(g->live_bytes, 0);
	assert_int_equal(g->live_objects, 0);
	assert_int_equal(g->retained_bytes, 0);
	/* Bytes without a block are not live either. */
	heap_in = (struct at_heap_stats){ .alloc_count = 2,
					  .alloc_bytes = 900,
					  .free_count = 2,
					  .free_bytes = 500 };
	model_heap_refresh(m, 0, 5000, read_heap, NULL);
	g = find(&model_report(m, 6000)->procs[0], "glibc");
	assert_int_equal(g->live_bytes, 0);
	assert_int_equal(r->procs[0].nfindings, 0);
	model__free(m);
}

/* Resident is of the last sample: memory unmapped since leaves with its pages, so an
 * allocator's resident never exceeds what it maps now (it showed app MAPPED 3.0 MiB,
 * RESIDENT 3.8 MiB). This process is the target, so that its pages are really resident. */
static void test_resident_within_mapped(void **state)
{
	struct model_limits lim = { .max_procs = 4, .max_segs = 1024, .timeline_max = 4 };
	struct model *m = model__new(&lim, 0);
	const struct rep_alloc *a;
	const struct report *r;
	char *mem;

	(void)state;
	mem = mmap(NULL, 64 * KiB, RW, ANON, -1, 0);
	assert_true(mem != MAP_FAILED);
	memset(mem, 1, 64 * KiB);
	assert_int_equal(model_add_launched(m, getpid()), 0);
	proc_rec(m, AT_PROC_EXEC, getpid(), 0);
	sys_pid(m, getpid(), AT_SYS_MMAP, "prog", 0, 64 * KiB, RW, ANON, (int64_t)(uintptr_t)mem);
	model_sample(m, 1000);
	a = find(&model_report(m, 1500)->procs[0], "app");
	assert_non_null(a);
	assert_int_equal(a->resident_bytes, 64 * KiB);
	/* Half unmapped after the sample. */
	sys_pid(m, getpid(), AT_SYS_MUNMAP, "prog", (uint64_t)(uintptr_t)mem + 32 * KiB, 32 * KiB,
		0, 0, 0);
	r = model_report(m, 2000);
	a = find(&r->procs[0], "app");
	assert_int_equal(a->mapped_bytes, 32 * KiB);
	assert_int_equal(a->resident_bytes, 32 * KiB);
	for (size_t i = 0; i < r->procs[0].ntimeline; i++)
		assert_true(r->procs[0].timeline[i].resident_bytes <=
			    r->procs[0].timeline[i].mapped_bytes);
	munmap(mem, 32 * KiB);
	model__free(m);
}

static void read_heap_self(void *arg, struct model *m, int pid)
{
	(void)arg;
	(void)pid;
	model_heap_add(m, getpid(), "glibc", "usable", &heap_in);
}

/* Each allocator's timeline (issue 15, part 5): a sample per model_sample of its mapped and
 * resident bytes, with live and retained from the heap level when it covers the
 * allocator, from the books when they were read (they come first, as in the final
 * figures), unknown else; timeline_max samples kept, the older ones counted. */
static void test_alloc_timeline(void **state)
{
	struct model_limits lim = { .max_procs = 4, .max_segs = 1024, .timeline_max = 2 };
	struct model *m = model__new(&lim, 0);
	const struct rep_asample *s;
	const struct rep_alloc *a;
	struct rep_books b = { .known = true,
			       .t_ns = 4000,
			       .live_bytes = 20 * KiB,
			       .retained_bytes = 12 * KiB };
	char *mem;

	(void)state;
	mem = mmap(NULL, 64 * KiB, RW, ANON, -1, 0);
	assert_true(mem != MAP_FAILED);
	memset(mem, 1, 64 * KiB);
	assert_int_equal(model_add_launched(m, getpid()), 0);
	proc_rec(m, AT_PROC_EXEC, getpid(), 0);
	sys_pid(m, getpid(), AT_SYS_MMAP, "libc.so.6", 0, 64 * KiB, RW, ANON,
		(int64_t)(uintptr_t)mem);
	heap_in = (struct at_heap_stats){ .alloc_count = 2, .alloc_bytes = 48 * KiB };
	model_sample(m, 1000);
	model_heap_refresh(m, 0, 1000, read_heap_self, NULL);
	a = find(&model_report(m, 1500)->procs[0], "glibc");
	assert_non_null(a);
	assert_int_equal(a->ntimeline, 1);
	s = &a->timeline[0];
	assert_int_equal(s->t_ns, 1000);
	assert_int_equal(s->mapped_bytes, 64 * KiB);
	assert_int_equal(s->resident_bytes, 64 * KiB);
	assert_int_equal(s->source, AT_SRC_HEAP);
	assert_int_equal(s->live_bytes, 48 * KiB);
	assert_true(s->retained_known);
	assert_int_equal(s->retained_bytes, 16 * KiB);

	/* Half unmapped, a block freed; then a sample whose heap figures never came. */
	sys_pid(m, getpid(), AT_SYS_MUNMAP, "libc.so.6", (uint64_t)(uintptr_t)mem + 32 * KiB,
		32 * KiB, 0, 0, 0);
	heap_in.free_count = 1;
	heap_in.free_bytes = 32 * KiB;
	model_sample(m, 2000);
	model_heap_refresh(m, 0, 2000, read_heap_self, NULL);
	model_sample(m, 3000);
	a = find(&model_report(m, 3500)->procs[0], "glibc");
	assert_int_equal(a->ntimeline, 2);
	assert_int_equal(a->timeline_omitted, 1);
	s = &a->timeline[0];
	assert_int_equal(s->t_ns, 2000);
	assert_int_equal(s->mapped_bytes, 32 * KiB);
	assert_int_equal(s->resident_bytes, 32 * KiB);
	assert_int_equal(s->live_bytes, 16 * KiB);
	assert_int_equal(s->retained_bytes, 16 * KiB);
	assert_int_equal(a->timeline[1].t_ns, 3000);
	assert_int_equal(a->timeline[1].source, AT_SRC_NONE);
	assert_false(a->timeline[1].retained_known);

	/* The books, read for a sample, give both; at the next sample, not read again, the
	 * heap level does (the books' figures would show as if current). */
	assert_int_equal(model_set_books(m, getpid(), "glibc", &b, NULL, 0), 0);
	model_sample(m, 4000);
	model_heap_refresh(m, 0, 4000, read_heap_self, NULL);
	a = find(&model_report(m, 4500)->procs[0], "glibc");
	s = &a->timeline[1];
	assert_int_equal(s->t_ns, 4000);
	assert_int_equal(s->source, AT_SRC_BOOKS);
	assert_int_equal(s->live_bytes, 20 * KiB);
	assert_int_equal(s->retained_bytes, 12 * KiB);
	assert_int_equal(a->timeline_omitted, 2);
	model_sample(m, 5000);
	model_heap_refresh(m, 0, 5000, read_heap_self, NULL);
	a = find(&model_report(m, 5500)->procs[0], "glibc");
	s = &a->timeline[1];
	assert_int_equal(s->t_ns, 5000);
	assert_int_equal(s->source, AT_SRC_HEAP);
	assert_int_equal(s->live_bytes, 16 * KiB);

	/* A free of a block older than the counters: they are no longer the whole's, and
	 * between two reads of the books a sample has no live rather than theirs (an attached
	 * redis drew a saw between the books' live and the heap level's since attach). */
	heap_in.unmatched_free = 1;
	model_sample(m, 6000);
	model_heap_refresh(m, 0, 6000, read_heap_self, NULL);
	a = find(&model_report(m, 6500)->procs[0], "glibc");
	s = &a->timeline[1];
	assert_int_equal(s->t_ns, 6000);
	assert_int_equal(s->source, AT_SRC_NONE);
	assert_false(s->retained_known);
	heap_in.unmatched_free = 0;
	munmap(mem, 32 * KiB);
	model__free(m);
}

/* glibc's new_heap: a 128 MiB PROT_NONE reservation, the unaligned rest unmapped at once,
 * the heap's head made accessible, later shrunk by a PROT_NONE overlay (shrink_heap) and the
 * whole heap unmapped (heap_trim). Only memory that was accessible is returned; the rest
 * never held a page and is released apart (issue 13, item 3: 256 MiB "returned" by munmap
 * in a program that touched a few MiB). */
static void test_reserve_trims_are_not_returns(void **state)
{
	struct model *m = new_model();
	const uint64_t heap = BASE + (64ull << 20), p1 = BASE + (48ull << 20);
	const struct rep_alloc *g;

	(void)state;
	proc_rec(m, AT_PROC_EXEC, PID, 0);
	sys(m, AT_SYS_MMAP, "libc.so.6", 0, 128ull << 20, PROT_NONE, ANON | MAP_NORESERVE,
	    (int64_t)p1);
	sys(m, AT_SYS_MUNMAP, "libc.so.6", p1, 16ull << 20, 0, 0, 0);
	sys(m, AT_SYS_MUNMAP, "libc.so.6", heap + (64ull << 20), 48ull << 20, 0, 0, 0);
	sys(m, AT_SYS_MPROTECT, "libc.so.6", heap, 132 * KiB, RW, 0, 0);
	sys(m, AT_SYS_MMAP, "libc.so.6", heap + 64 * KiB, 68 * KiB, PROT_NONE,
	    ANON | MAP_FIXED | MAP_NORESERVE, (int64_t)(heap + 64 * KiB));
	g = find(&model_report(m, 1500)->procs[0], "glibc");
	assert_non_null(g);
	assert_int_equal(g->ret_bytes[AT_RET_MUNMAP], 0);
	assert_int_equal(g->reserve_released_bytes, 64ull << 20);
	assert_int_equal(g->reserve_released_count, 2);
	assert_int_equal(g->ret_bytes[AT_RET_DECOMMIT], 68 * KiB);
	assert_int_equal(g->mapped_bytes, 64ull << 20);
	assert_int_equal(g->reserved_bytes, (64ull << 20) - 64 * KiB);
	sys(m, AT_SYS_MUNMAP, "libc.so.6", heap, 64ull << 20, 0, 0, 0);
	g = find(&model_report(m, 2000)->procs[0], "glibc");
	/* The 64 KiB still accessible went back; the overlay's 68 KiB, decommitted already, and
	 * the part never made accessible are released, not returned. */
	assert_int_equal(g->ret_bytes[AT_RET_MUNMAP], 64 * KiB);
	assert_int_equal(g->ret_count[AT_RET_MUNMAP], 1);
	assert_int_equal(g->reserve_released_bytes, (128ull << 20) - 64 * KiB);
	assert_int_equal(g->reserve_released_count, 3);
	assert_int_equal(g->events[AT_SYS_MUNMAP], 3);
	assert_int_equal(g->mapped_bytes, 0);
	/* Interval mode: the window counts what came since the reset. */
	model_reset_counters(m, 2500);
	sys(m, AT_SYS_MMAP, "libc.so.6", 0, 64ull << 20, PROT_NONE, ANON | MAP_NORESERVE,
	    (int64_t)heap);
	sys(m, AT_SYS_MUNMAP, "libc.so.6", heap + (32ull << 20), 32ull << 20, 0, 0, 0);
	g = find(&model_report(m, 3000)->procs[0], "glibc");
	assert_int_equal(g->reserve_released_bytes, 32ull << 20);
	assert_int_equal(g->reserve_released_count, 1);
	g = find(&model_report_total(m, 3000)->procs[0], "glibc");
	assert_int_equal(g->reserve_released_bytes, (160ull << 20) - 64 * KiB);
	model__free(m);
}

/* Each exited process is reported once in interval mode (issue 13, item 8): the first
 * interval report after its exit shows it, the next ones say it was (exit_reported); the
 * whole trace's report (the final summary, Prometheus) marks nothing. */
static void test_exit_reported_once(void **state)
{
	struct model *m = new_model();

	(void)state;
	proc_rec(m, AT_PROC_EXEC, PID, 0);
	proc_rec(m, AT_PROC_EXIT, PID, 0);
	assert_false(model_report_total(m, 1)->procs[0].exit_reported);
	assert_false(model_report_total(m, 2)->procs[0].exit_reported);
	assert_false(model_report(m, 3)->procs[0].exit_reported);
	assert_true(model_report(m, 4)->procs[0].exit_reported);
	assert_true(model_report(m, 4)->interval);
	assert_false(model_report_total(m, 5)->interval);
	model__free(m);
}

/* --stacks: the model keeps its own copy of the stacks, their frames and strings (the
 * caller's buffers go right after), each string once; the first nshown are shown. */
static void test_stacks_copied(void **state)
{
	struct model *m = new_model();
	char mod[32], fn[2][16], file[32];
	struct rep_frame fr[3];
	struct rep_stack st[2];
	const struct report *r;
	const struct rep_proc *p;

	(void)state;
	strcpy(mod, "/bin/app");
	strcpy(fn[0], "leaf");
	strcpy(fn[1], "main");
	strcpy(file, "app.c");
	fr[0] = (struct rep_frame){ 0x1010, mod, NULL, 0x10, fn[0], 4, file, 12 };
	fr[1] = (struct rep_frame){ 0x1020, mod, NULL, 0x20, fn[1], 8, file, 30 };
	fr[2] = (struct rep_frame){ 0x1030, mod, NULL, 0x30, fn[1], 24, file, 31 };
	st[0] = (struct rep_stack){ "glibc", 100, 2, 300, 6, fr, 2 };
	st[1] = (struct rep_stack){ "glibc", 0, 0, 50, 1, &fr[2], 1 };
	assert_int_equal(model_set_stacks(m, PID, true, st, 2, 1), -ESRCH);
	assert_int_equal(model_set_stacks(m, PID, false, st, 2, 1), 0);
	memset(fr, 0, sizeof(fr));
	memset(st, 0, sizeof(st));
	memset(mod, 'x', sizeof(mod) - 1);
	memset(fn, 'y', sizeof(fn));
	r = model_report_total(m, 1);
	p = &r->procs[0];
	assert_true(p->has_stacks);
	assert_int_equal(p->nstacks, 1);
	assert_int_equal(p->nstacks_all, 2);
	assert_string_equal(p->stacks[0].allocator, "glibc");
	assert_int_equal(p->stacks[0].bytes, 100);
	assert_int_equal(p->stacks[0].alloc_count, 6);
	assert_int_equal(p->stacks[0].nframes, 2);
	assert_string_equal(p->stacks[0].frames[0].function, "leaf");
	assert_string_equal(p->stacks[0].frames[1].function, "main");
	assert_int_equal(p->stacks[0].frames[1].line, 30);
	assert_null(p->stacks[0].frames[0].build_id);
	assert_string_equal(p->stacks[1].frames[0].module, "/bin/app");
	assert_int_equal(p->stacks[1].frames[0].function_offset, 24);
	/* One copy of each string. */
	assert_ptr_equal(p->stacks[0].frames[1].function, p->stacks[1].frames[0].function);
	assert_ptr_equal(p->stacks[0].frames[0].file, p->stacks[1].frames[0].file);
	model__free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accounting),
		cmocka_unit_test(test_late_unmap_record),
		cmocka_unit_test(test_fork_exec_exit),
		cmocka_unit_test(test_process_limit),
		cmocka_unit_test(test_internals_after_owners_grow),
		cmocka_unit_test(test_attach_evidence),
		cmocka_unit_test(test_bss_claimed_by_header),
		cmocka_unit_test(test_live_retained_floor),
		cmocka_unit_test(test_resident_within_mapped),
		cmocka_unit_test(test_alloc_timeline),
		cmocka_unit_test(test_reserve_trims_are_not_returns),
		cmocka_unit_test(test_exit_reported_once),
		cmocka_unit_test(test_stacks_copied),
	};

	return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
