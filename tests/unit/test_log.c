// SPDX-License-Identifier: GPL-2.0-only
/* Rate-limited warnings (sys/log.h, at_warn): per call site, AT_WARN_BURST printed in a
 * window, a message printed once, the rest counted and said in one line at the window's end
 * or at at_warn_flush; at_warn_suppressed counts them all. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

static char *buf;
static size_t len;
static FILE *f;

static int setup(void **state)
{
	(void)state;
	at_log_reset();
	fake_now = 1000;
	at_log_set_clock(fake_clock);
	f = open_memstream(&buf, &len);
	at_log_set_stream(f);
	return f ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	at_log_set_stream(NULL);
	at_log_set_clock(NULL);
	fclose(f);
	free(buf);
	return 0;
}

static int count(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void warn_gone(int pid)
{
	at_warn("cannot attach to '/proc/%d/root/libc.so.6': No such file", pid);
}

static void test_burst_then_counted(void **state)
{
	(void)state;
	for (int pid = 1; pid <= 12; pid++)
		warn_gone(pid);
	fflush(f);
	assert_int_equal(count(buf, "cannot attach"), AT_WARN_BURST);
	assert_int_equal(at_warn_suppressed(), 12 - AT_WARN_BURST);
	at_warn_flush();
	fflush(f);
	assert_non_null(strstr(buf, "arenatrace: 7 more like this not shown: cannot attach to "
				    "'/proc/12/root/libc.so.6': No such file\n"));
	/* Said once: a second flush adds nothing. */
	size_t before = len;

	at_warn_flush();
	fflush(f);
	assert_int_equal(len, before);
	assert_int_equal(at_warn_suppressed(), 7);
}

static void test_identical_message_once(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++)
		warn_gone(42);
	fflush(f);
	assert_int_equal(count(buf, "/proc/42/"), 1);
	assert_int_equal(at_warn_suppressed(), 2);
}

static void test_window_rolls(void **state)
{
	(void)state;
	for (int pid = 1; pid <= 8; pid++)
		warn_gone(pid);
	fake_now += AT_WARN_WINDOW_S * 1000000000ull;
	warn_gone(100); /* a new window: what was held is said, then this one printed */
	fflush(f);
	assert_non_null(strstr(buf, "arenatrace: 3 more like this not shown: cannot attach to "
				    "'/proc/8/"));
	assert_non_null(strstr(buf, "arenatrace: cannot attach to '/proc/100/"));
	assert_int_equal(count(buf, "cannot attach"), AT_WARN_BURST + 2);
	assert_int_equal(at_warn_suppressed(), 3);
}

static void warn_other(int n)
{
	at_warn("other site %d", n);
}

static void test_sites_apart(void **state)
{
	(void)state;
	for (int i = 0; i < 6; i++) {
		warn_gone(i);
		warn_other(i);
	}
	fflush(f);
	assert_int_equal(count(buf, "cannot attach"), AT_WARN_BURST);
	assert_int_equal(count(buf, "other site"), AT_WARN_BURST);
	assert_int_equal(at_warn_suppressed(), 2);
}

static void test_errors_never_limited(void **state)
{
	(void)state;
	for (int i = 0; i < 20; i++)
		at_err("fatal %d", i);
	fflush(f);
	assert_int_equal(count(buf, "fatal"), 20);
	assert_int_equal(at_warn_suppressed(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_burst_then_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identical_message_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_rolls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sites_apart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors_never_limited, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
