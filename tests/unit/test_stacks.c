// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "procfs.h"
#include "stacks.h"

static void expect(const char *mangled, const char *want)
{
	char *got = stacks_demangle(mangled);

	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_demangle(void **state)
{
	(void)state;
	expect("_Znwm", "operator new(unsigned long)");
	expect("_ZN5arena4growEm", "arena::grow(unsigned long)");
	/* Rust, legacy and v0 mangling. */
	expect("_ZN7bumpalo4Bump17alloc_layout_slow17h0123456789abcdefE",
	       "bumpalo::Bump::alloc_layout_slow");
	expect("_RNvCsfLfy6EI15iL_7___rustc12___rust_alloc", "__rustc::__rust_alloc");
	expect("main", NULL);
}

/* The test's own executable mapping, as /proc/self/maps has it. */
struct own_map {
	struct maps_entry e;
	uintptr_t want;
	bool found;
};

static int find_own(const struct maps_entry *e, void *arg)
{
	struct own_map *m = arg;

	if ((e->prot & 4) && e->start <= m->want && m->want < e->end) {
		m->e = *e;
		m->e.full_path = NULL;
		m->found = true;
	}
	return 0;
}

__attribute__((noinline)) static int known_function(int x)
{
	return x * 3 + 1;
}

/* A process known only by the mappings the kernel sent at its exit: the file is found by
 * its device and inode (noted before), its symbols give the function; an unknown inode
 * gives the file's name alone; an address in no mapping is not trusted. */
static void test_exit_mappings(void **state)
{
	struct stacks *s = stacks__new();
	struct own_map m = { .want = (uintptr_t)known_function };
	struct stacks_frame f;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const int pid = 4000001; /* above pid_max: no /proc entry */

	(void)state;
	assert_non_null(s);
	assert_true(n > 0);
	exe[n] = '\0';
	assert_int_equal(procfs_read_maps(getpid(), find_own, &m), 0);
	assert_true(m.found);
	assert_int_equal(stacks_frame(s, pid, m.want, &f), -ESRCH);
	stacks_note_file(s, exe);
	stacks_exit_vma(s, pid, m.e.start, m.e.end, m.e.offset, m.e.dev_major, m.e.dev_minor,
			m.e.inode, "test_stacks");
	stacks_exit_vma(s, pid, 0x10000, 0x20000, 0, 0, 0, 12345, "libgone.so");
	stacks_exit_commit(s, pid);
	/* A return address one byte into the function: the call is the byte before. */
	assert_int_equal(stacks_frame(s, pid, m.want + 1, &f), 0);
	assert_string_equal(f.module, exe);
	assert_string_equal(f.function, "known_function");
	assert_int_equal(f.function_offset, 1);
	assert_int_equal(f.offset, m.want + 1 - m.e.start + m.e.offset);
	assert_int_equal(stacks_frame(s, pid, 0x10010, &f), 0);
	assert_string_equal(f.module, "libgone.so");
	assert_string_equal(f.function, "");
	assert_int_equal(f.offset, 0x10);
	assert_int_equal(stacks_frame(s, pid, 0x30000, &f), -ENOENT);
	/* A file never seen, found by its name beside a known one (its device and inode
	 * match): the unit test of the model, built beside this one. */
	{
		char other[PATH_MAX];
		struct stat st;

		snprintf(other, sizeof(other), "%.*s/test_model", (int)(strrchr(exe, '/') - exe),
			 exe);
		assert_int_equal(stat(other, &st), 0);
		stacks_exit_vma(s, pid + 1, 0x40000, 0x50000, 0x1000, major(st.st_dev),
				minor(st.st_dev), st.st_ino, "test_model");
		stacks_exit_vma(s, pid + 1, 0x60000, 0x70000, 0, major(st.st_dev), minor(st.st_dev),
				st.st_ino + 1000000, "test_model");
		stacks_exit_commit(s, pid + 1);
		assert_int_equal(stacks_frame(s, pid + 1, 0x40010, &f), 0);
		assert_string_equal(f.module, other);
		assert_int_equal(f.offset, 0x1010);
		/* The same name, another inode: not that file. */
		assert_int_equal(stacks_frame(s, pid + 1, 0x60010, &f), 0);
		assert_string_equal(f.module, "test_model");
		stacks_forget(s, pid + 1);
	}
	/* Its mappings go with it. */
	stacks_forget(s, pid);
	assert_int_equal(stacks_frame(s, pid, m.want + 1, &f), -ESRCH);
	assert_int_equal(known_function(1), 4);
	stacks__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demangle),
		cmocka_unit_test(test_exit_mappings),
	};

	return cmocka_run_group_tests_name("stacks", tests, NULL, NULL);
}
