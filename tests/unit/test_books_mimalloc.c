// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
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

struct maps_vec {
	struct maps_entry *v;
	size_t n, cap;
};

static int keep_entry(const struct maps_entry *e, void *arg)
{
	struct maps_vec *m = arg;

	if (at_grow(&m->v, m->n, &m->cap, sizeof(*m->v), 1))
		return -ENOMEM;
	m->v[m->n++] = *e;
	return 0;
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
	struct maps_vec m = { 0 };
	struct truth tr;
	uint64_t rss0, rss1, lazy, committed;
	pid_t pid = spawn(name, preload, &tr);
	struct tmem *t = tmem__open(pid);

	assert_non_null(t);
	assert_int_equal(procfs_read_smaps_rollup(pid, &rss0, &lazy), 0);
	assert_int_equal(procfs_read_maps(pid, keep_entry, &m), 0);
	assert_int_equal(books_mimalloc_read_maps(t, m.v, m.n, &b, &st), 0);
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
		      (unsigned long long)committed, tr.commit,
		      (unsigned long long)b.free_bytes, (unsigned long long)b.free_resident_bytes,
		      (unsigned long long)st.refused, b.partial ? " partial: " : "", b.reason);
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
	free(m.v);
	tmem__free(t);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
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
		cmocka_unit_test(test_linked),
		cmocka_unit_test(test_preload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
