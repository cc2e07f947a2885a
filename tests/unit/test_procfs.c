// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "procfs.h"

static void test_maps_lines(void **state)
{
	struct maps_entry e;

	(void)state;
	assert_int_equal(
		procfs_parse_maps_line("7f1c2a000000-7f1c2a021000 rw-p 00000000 00:00 0 ", &e), 0);
	assert_int_equal(e.start, 0x7f1c2a000000ull);
	assert_int_equal(e.end, 0x7f1c2a021000ull);
	assert_int_equal(e.prot, PROT_READ | PROT_WRITE);
	assert_false(e.shared);
	assert_string_equal(e.path, "");

	assert_int_equal(procfs_parse_maps_line("55d0c5a4e000-55d0c5a6f000 rw-p 00000000 00:00 0   "
						"                       [heap]\n",
						&e),
			 0);
	assert_string_equal(e.path, "[heap]");

	assert_int_equal(
		procfs_parse_maps_line("7f1c2a200000-7f1c2a375000 r-xp 00026000 fe:00 1311243      "
				       "              /usr/lib/x86_64-linux-gnu/my lib (deleted)",
				       &e),
		0);
	assert_int_equal(e.prot, PROT_READ | PROT_EXEC);
	assert_int_equal(e.offset, 0x26000);
	assert_int_equal(e.dev_major, 0xfe);
	assert_int_equal(e.inode, 1311243);
	assert_string_equal(e.path, "/usr/lib/x86_64-linux-gnu/my lib (deleted)");

	assert_int_equal(procfs_parse_maps_line("7f00-7e00 rw-p 0 00:00 0", &e), -EINVAL);
	assert_int_equal(procfs_parse_maps_line("garbage", &e), -EINVAL);
	assert_int_equal(procfs_parse_maps_line("1000-2000 rw 0 00:00 0", &e), -EINVAL);
}

static void test_stat(void **state)
{
	struct proc_stat st;
	/* A comm with spaces and parentheses, a kernel thread's flags, start_brk in field 47. */
	const char *line = "42 (a) (b c) S 2 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0 "
			   "18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 1 0 0 0 0 "
			   "0 0 0 94000000000000 0 0 0 0 0";

	(void)state;
	assert_int_equal(procfs_parse_stat(line, &st), 0);
	assert_string_equal(st.comm, "a) (b c");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 2);
	assert_true(st.flags & AT_PF_KTHREAD);
	assert_int_equal(st.start_brk, 94000000000000ull);
	assert_int_equal(procfs_parse_stat("no parens here", &st), -EINVAL);
	assert_int_equal(procfs_parse_stat("1 (x) R 0", &st), -EINVAL);
}

static void test_smaps_rollup(void **state)
{
	uint64_t rss = 0, lazy = 0;
	const char *buf = "55d0c5a4e000-7ffd5a1fe000 ---p 00000000 00:00 0 [rollup]\n"
			  "Rss:               71680 kB\nPss:               70000 kB\n"
			  "Pss_Anon:          65536 kB\nLazyFree:          65472 kB\n";

	(void)state;
	assert_int_equal(procfs_parse_smaps_rollup(buf, &rss, &lazy), 0);
	assert_int_equal(rss, 71680ull * 1024);
	assert_int_equal(lazy, 65472ull * 1024);
	assert_int_equal(procfs_parse_smaps_rollup("Pss: 1 kB\n", &rss, &lazy), -ENOENT);
}

/* pagemap: the present bit of each 8-byte entry; a file that ends in a partial entry (not
 * pagemap, but what a bad descriptor could give) ends the count instead of spinning. */
static void test_pagemap_entries(void **state)
{
	uint64_t e[3] = { 1ull << 63, 0, (1ull << 63) | 42 }, bytes = 0;
	int fd = memfd_create("pagemap", 0);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, e, sizeof(e)), sizeof(e));
	assert_int_equal(write(fd, "abc", 3), 3);
	assert_int_equal(procfs_resident(fd, 0, 4 * 4096, &bytes), 0);
	assert_int_equal(bytes, 2 * 4096);
	assert_int_equal(procfs_resident(fd, 4096, 4096 + 1, &bytes), 0);
	assert_int_equal(bytes, 0);
	assert_int_equal(procfs_resident(fd, 4096, 3 * 4096, &bytes), 0);
	assert_int_equal(bytes, 4096);
	close(fd);
}

/* Whose memory: the v2 path, its systemd unit and its container id, from the texts real
 * hosts write (a pure v2 host, a hybrid one, docker, containerd under Kubernetes, podman, a
 * user session), and hostile names. */
static void test_cgroup(void **state)
{
	static const char id[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char path[256], unit[128], cid[65], big[400];

	(void)state;
	assert_int_equal(
		procfs_parse_cgroup("0::/system.slice/nginx.service\n", path, sizeof(path)), 0);
	assert_string_equal(path, "/system.slice/nginx.service");
	procfs_cgroup_unit(path, unit, sizeof(unit));
	assert_string_equal(unit, "nginx.service");
	procfs_cgroup_container(path, cid, sizeof(cid));
	assert_string_equal(cid, "");
	/* Hybrid: v1 lines first, the v2 entry last. */
	assert_int_equal(procfs_parse_cgroup("12:pids:/user.slice\n1:name=systemd:/x.scope\n"
					     "0::/user.slice/user-1000.slice/user@1000.service/"
					     "app.slice/foo.scope\n",
					     path, sizeof(path)),
			 0);
	assert_string_equal(path,
			    "/user.slice/user-1000.slice/user@1000.service/app.slice/foo.scope");
	procfs_cgroup_unit(path, unit, sizeof(unit));
	assert_string_equal(unit, "foo.scope"); /* the last unit, not user@1000.service */
	/* v1 only: no v2 entry. */
	assert_int_equal(procfs_parse_cgroup("4:memory:/x\n", path, sizeof(path)), -ENOENT);
	assert_int_equal(procfs_parse_cgroup("", path, sizeof(path)), -ENOENT);
	/* The root, and a cgroup removed while the process is in it. */
	assert_int_equal(procfs_parse_cgroup("0::/\n", path, sizeof(path)), 0);
	assert_string_equal(path, "/");
	procfs_cgroup_unit(path, unit, sizeof(unit));
	assert_string_equal(unit, "");
	assert_int_equal(procfs_parse_cgroup("0::/a/b.service (deleted)\n", path, sizeof(path)), 0);
	assert_string_equal(path, "/a/b.service");
	/* Docker under systemd: the scope is the unit, the id the container. */
	snprintf(big, sizeof(big), "0::/system.slice/docker-%s.scope\n", id);
	assert_int_equal(procfs_parse_cgroup(big, path, sizeof(path)), 0);
	procfs_cgroup_unit(path, unit, sizeof(unit));
	procfs_cgroup_container(path, cid, sizeof(cid));
	assert_string_equal(cid, id);
	assert_int_equal(strncmp(unit, "docker-", 7), 0);
	assert_string_equal(unit + 7 + 64, ".scope");
	/* Kubernetes with cgroupfs: the id is the last component; the pod's uid (with dashes)
	 * is no id; with containerd's systemd driver the id follows "cri-containerd:". */
	snprintf(big, sizeof(big), "/kubepods/burstable/pod1b2c3d4e-aaaa-bbbb-cccc-0123456789ab/%s",
		 id);
	procfs_cgroup_container(big, cid, sizeof(cid));
	assert_string_equal(cid, id);
	procfs_cgroup_unit(big, unit, sizeof(unit));
	assert_string_equal(unit, "");
	snprintf(big, sizeof(big),
		 "/system.slice/containerd.service/kubepods-pod1.slice:cri-containerd:%s", id);
	procfs_cgroup_container(big, cid, sizeof(cid));
	assert_string_equal(cid, id);
	procfs_cgroup_unit(big, unit, sizeof(unit));
	assert_string_equal(unit, "containerd.service");
	/* 63 or 65 hex digits are no id. */
	procfs_cgroup_container(
		"/x/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", cid,
		sizeof(cid));
	assert_string_equal(cid, "");
	snprintf(big, sizeof(big), "/x/%sf", id);
	procfs_cgroup_container(big, cid, sizeof(cid));
	assert_string_equal(cid, "");
	/* A name holding a newline, quotes and a backslash is taken whole (the v2 entry comes
	 * last); ".service" alone is no unit; a long path is cut to the buffer. */
	assert_int_equal(procfs_parse_cgroup("0::/a\nb\"c\\.service\n", path, sizeof(path)), 0);
	assert_string_equal(path, "/a\nb\"c\\.service");
	procfs_cgroup_unit(path, unit, sizeof(unit));
	assert_string_equal(unit, "a\nb\"c\\.service");
	procfs_cgroup_unit("/x/.service", unit, sizeof(unit));
	assert_string_equal(unit, "");
	memset(big, 'a', sizeof(big));
	memcpy(big, "0::/", 4);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(procfs_parse_cgroup(big, path, 16), 0);
	assert_int_equal(strlen(path), 15);
}

static void test_live_self(void **state)
{
	struct proc_stat st;
	uint64_t rss = 0, lazy = 0, res = 0;
	char path[64];
	int fd;
	char *p = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_int_equal(procfs_read_stat(getpid(), &st), 0);
	assert_int_equal(procfs_read_smaps_rollup(getpid(), &rss, &lazy), 0);
	assert_true(rss > 0);
	memset(p, 1, 3 * 4096);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", getpid());
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(procfs_resident(fd, (uint64_t)(uintptr_t)p,
					 (uint64_t)(uintptr_t)p + 8 * 4096, &res),
			 0);
	assert_int_equal(res, 3 * 4096);
	close(fd);
	munmap(p, 8 * 4096);
	/* Every process has a v2 entry here (CI and this host mount cgroup v2). */
	assert_int_equal(procfs_read_cgroup(getpid(), path, sizeof(path)), 0);
	assert_true(path[0] == '/');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps_lines),   cmocka_unit_test(test_stat),
		cmocka_unit_test(test_smaps_rollup), cmocka_unit_test(test_pagemap_entries),
		cmocka_unit_test(test_cgroup),	     cmocka_unit_test(test_live_self),
	};

	return cmocka_run_group_tests_name("procfs", tests, NULL, NULL);
}
