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
#include <unistd.h>
#include <zlib.h>

#include "debuginfo.h"
#include "log.h"
#include "syms.h"

static char dir[256];

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static uint32_t crc_of(const char *text)
{
	return (uint32_t)crc32(crc32(0, Z_NULL, 0), (const Bytef *)text, (uInt)strlen(text));
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s/at-debuginfo-XXXXXX", getenv("TMPDIR") ?: "/tmp");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* The .gnu_debuglink places, in gdb's order, each used only when its CRC is the link's; a
 * file under /proc/PID/root is looked for beside it there. */
static void test_debuglink_places(void **state)
{
	char prog[PATH_MAX], path[PATH_MAX], out[PATH_MAX], want[PATH_MAX];
	const char *text = "not really DWARF, but the CRC is what is checked\n";

	(void)state;
	snprintf(prog, sizeof(prog), "%s/prog", dir);
	put(prog, "the program\n");
	assert_int_equal(debuginfo_local(prog, NULL, "prog.debug", crc_of(text), out, sizeof(out)),
			 -ENOENT);
	/* In .debug/ */
	snprintf(path, sizeof(path), "%s/.debug", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(want, sizeof(want), "%s/.debug/prog.debug", dir);
	put(want, text);
	assert_int_equal(debuginfo_local(prog, NULL, "prog.debug", crc_of(text), out, sizeof(out)),
			 0);
	assert_string_equal(out, want);
	/* Beside the file comes first. */
	snprintf(want, sizeof(want), "%s/prog.debug", dir);
	put(want, text);
	assert_int_equal(debuginfo_local(prog, NULL, "prog.debug", crc_of(text), out, sizeof(out)),
			 0);
	assert_string_equal(out, want);
	/* Another CRC: neither file is that debug file. */
	assert_int_equal(
		debuginfo_local(prog, NULL, "prog.debug", crc_of(text) ^ 1, out, sizeof(out)),
		-ENOENT);
	/* Another build beside it (its CRC differs): the one in .debug/ is. */
	put(want, "another build\n");
	assert_int_equal(debuginfo_local(prog, NULL, "prog.debug", crc_of(text), out, sizeof(out)),
			 0);
	snprintf(want, sizeof(want), "%s/.debug/prog.debug", dir);
	assert_string_equal(out, want);
	/* Through the process's root. */
	snprintf(path, sizeof(path), "/proc/%d/root%s/prog", getpid(), dir);
	assert_int_equal(debuginfo_local(path, NULL, "prog.debug", crc_of(text), out, sizeof(out)),
			 0);
	snprintf(want, sizeof(want), "/proc/%d/root%s/.debug/prog.debug", getpid(), dir);
	assert_string_equal(out, want);
	/* A link with a directory in it, or none, is not followed. */
	assert_int_equal(
		debuginfo_local(prog, NULL, "../prog.debug", crc_of(text), out, sizeof(out)),
		-ENOENT);
	assert_int_equal(debuginfo_local(prog, NULL, NULL, 0, out, sizeof(out)), -ENOENT);
}

__attribute__((noipa)) static int known_function(int x)
{
	return x * 5 + 2;
}

static void sh(const char *fmt, const char *a, const char *b, const char *c)
{
	char cmd[4 * PATH_MAX];

	snprintf(cmd, sizeof(cmd), fmt, a, b, c);
	assert_int_equal(system(cmd), 0);
}

/* This test's executable split as Debian's packages are: a stripped file (no .symtab) and
 * its .symtab and DWARF in a file named by its .gnu_debuglink. Its symbols name a function
 * from there; without the debug file they do not. */
static void test_syms_through_debuglink(void **state)
{
	char exe[PATH_MAX], stripped[PATH_MAX], dbg[PATH_MAX], out[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const struct syms *full;
	struct syms *s;
	uint64_t off, in_func = 0;

	(void)state;
	assert_true(n > 0);
	exe[n] = '\0';
	snprintf(stripped, sizeof(stripped), "%s/stripped", dir);
	snprintf(dbg, sizeof(dbg), "%s/stripped.dbg", dir);
	sh("objcopy --only-keep-debug '%s' '%s'%s", exe, dbg, "");
	sh("objcopy --strip-all --add-gnu-debuglink='%s' '%s' '%s'", dbg, exe, stripped);
	full = syms__new(exe);
	assert_non_null(full);
	assert_int_equal(syms_offset_of(full, "known_function", &off), 0);
	s = syms__new(stripped);
	assert_non_null(s);
	assert_string_equal(syms_func_at(s, off + 3, &in_func), "known_function");
	assert_int_equal(in_func, 3);
	assert_int_equal(syms_debug_file(stripped, false, out, sizeof(out)), 0);
	assert_string_equal(out, dbg);
	syms__free(s);
	/* Without it: the stripped file's own symbols (none of this function). */
	assert_int_equal(unlink(dbg), 0);
	syms_cache_clear();
	s = syms__new(stripped);
	assert_non_null(s);
	assert_null(syms_func_at(s, off + 3, NULL));
	assert_int_equal(syms_debug_file(stripped, false, out, sizeof(out)), -ENOENT);
	syms__free(s);
	syms__free((struct syms *)full);
	syms_cache_clear();
	assert_int_equal(known_function(1), 7);
}

/* debuginfod: not asked unless DEBUGINFOD_URLS names a server; a server that cannot be
 * reached is warned about once and not asked again. */
static void test_fetch(void **state)
{
	char out[PATH_MAX], cache[PATH_MAX], *buf = NULL;
	const char *id = "0123456789abcdef0123456789abcdef01234567";
	size_t len = 0;
	FILE *f;

	(void)state;
	unsetenv("DEBUGINFOD_URLS");
	assert_false(debuginfo_can_fetch());
	assert_int_equal(debuginfo_fetch(id, out, sizeof(out)), -ENOSYS);
	setenv("DEBUGINFOD_URLS", "", 1);
	assert_false(debuginfo_can_fetch());
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	setenv("DEBUGINFOD_CACHE_PATH", cache, 1);
	/* Port 1 on the loopback: nothing listens there. */
	setenv("DEBUGINFOD_URLS", "http://127.0.0.1:1", 1);
	assert_true(debuginfo_can_fetch());
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	at_log_reset();
	at_log_set_stream(f);
	assert_int_equal(debuginfo_fetch(id, out, sizeof(out)), -ENOENT);
	assert_false(debuginfo_can_fetch());
	/* The same id: the answer kept; another: not asked. */
	assert_int_equal(debuginfo_fetch(id, out, sizeof(out)), -ENOENT);
	assert_int_equal(
		debuginfo_fetch("89abcdef0123456789abcdef0123456789abcdef", out, sizeof(out)),
		-ENOSYS);
	at_log_set_stream(NULL);
	fclose(f);
	assert_string_equal(buf, "arenatrace: debuginfod at 'http://127.0.0.1:1' failed: "
				 "Connection refused; symbols without a local debug file come from "
				 "the files themselves\n");
	free(buf);
	debuginfo_end();
	unsetenv("DEBUGINFOD_URLS");
	unsetenv("DEBUGINFOD_CACHE_PATH");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debuglink_places),
		cmocka_unit_test(test_syms_through_debuglink),
		cmocka_unit_test(test_fetch),
	};

	return cmocka_run_group_tests_name("debuginfo", tests, setup, teardown);
}
