// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "cli.h"
#include "loader.h"

static int parse(struct at_opts *o, char *err, int argc, char **argv)
{
	cli_defaults(o);
	return cli_parse(argc, argv, o, err, 256);
}

static void test_pids_interval_count(void **state)
{
	char *argv[] = {
		"arenatrace", "-p", "10", "--pid", "20", "-j", "--pretty", "5", "3", NULL
	};
	struct at_opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, 9, argv), 0);
	assert_int_equal(o.npids, 2);
	assert_int_equal(o.pids[1], 20);
	assert_int_equal(o.format, OUT_JSON);
	assert_true(o.pretty);
	assert_true(o.interval_s == 5.0);
	assert_int_equal(o.count, 3);
	assert_null(o.cmd);
}

/* Several PIDs in one -p (issue 13, item 6), mixed with repeated -p, and --children, which
 * needs -p. */
static void test_pid_list_children(void **state)
{
	char *list[] = { "arenatrace", "-p", "10,20,10", "-p", "30", "--children", NULL };
	char *trailing[] = { "arenatrace", "-p", "10,", NULL };
	char *empty[] = { "arenatrace", "-p", "10,,20", NULL };
	char *zero[] = { "arenatrace", "-p", "10,0", NULL };
	char *alone[] = { "arenatrace", "--children", "-a", NULL };
	struct at_opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, 6, list), 0);
	assert_int_equal(o.npids, 3);
	assert_int_equal(o.pids[0], 10);
	assert_int_equal(o.pids[1], 20);
	assert_int_equal(o.pids[2], 30);
	assert_true(o.children);
	assert_int_equal(parse(&o, err, 3, trailing), -EINVAL);
	assert_non_null(strstr(err, "invalid PID '10,'"));
	assert_int_equal(parse(&o, err, 3, empty), -EINVAL);
	assert_int_equal(parse(&o, err, 3, zero), -EINVAL);
	assert_int_equal(parse(&o, err, 3, alone), -EINVAL);
	assert_non_null(strstr(err, "--children needs -p"));
}

/* Production defaults: os and arena levels and the books, no trap per malloc; "all" adds
 * the heap level; --no-books turns the books off. */
static void test_levels(void **state)
{
	char *plain[] = { "arenatrace", "-p", "10", NULL };
	char *all[] = { "arenatrace", "--level", "all", "--no-books", "-p", "10", NULL };
	char *heap[] = { "arenatrace", "--level", "heap", "-p", "10", NULL };
	char *bad[] = { "arenatrace", "--level", "os,everything", "-p", "10", NULL };
	struct at_opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, 3, plain), 0);
	assert_true(o.level_os && o.level_arena && o.books);
	assert_false(o.level_heap);
	assert_int_equal(parse(&o, err, 6, all), 0);
	assert_true(o.level_os && o.level_arena && o.level_heap);
	assert_false(o.books);
	assert_int_equal(parse(&o, err, 5, heap), 0);
	assert_true(o.level_heap && o.books);
	assert_false(o.level_os || o.level_arena);
	assert_int_equal(parse(&o, err, 5, bad), -EINVAL);
	assert_non_null(strstr(err, "unknown level 'everything'"));
}

/* --textfile PATH, alone or with --prometheus; an empty path is refused. */
static void test_textfile(void **state)
{
	char *both[] = { "arenatrace", "-a",	     "--prometheus",
			 "9464",       "--textfile", "/var/lib/node/at.prom",
			 "-i",	       "30",	     NULL };
	char *empty[] = { "arenatrace", "-a", "--textfile", "", NULL };
	struct at_opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, 8, both), 0);
	assert_string_equal(o.textfile, "/var/lib/node/at.prom");
	assert_string_equal(o.prometheus, "9464");
	assert_int_equal(parse(&o, err, 4, empty), -EINVAL);
	assert_non_null(strstr(err, "--textfile needs a path"));
}

static void test_command_keeps_its_options(void **state)
{
	char *argv[] = { "arenatrace", "-d", "2.5", "-C", "sample_ms=50", "--", "ls", "-l", NULL };
	struct at_opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, 8, argv), 0);
	assert_non_null(o.cmd);
	assert_string_equal(o.cmd[0], "ls");
	assert_string_equal(o.cmd[1], "-l");
	assert_true(o.duration_s == 2.5);
	assert_int_equal(o.sample_ms, 50);
}

static void test_errors(void **state)
{
	char *bad_count[] = { "arenatrace", "-p", "1", "5", "x", NULL };
	char *extra[] = { "arenatrace", "-p", "1", "5", "3", "7", NULL };
	char *zero_pid[] = { "arenatrace", "-p", "0", NULL };
	char *knob[] = { "arenatrace", "-p", "1", "-C", "max_procs=0", NULL };
	struct at_opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, 5, bad_count), -EINVAL);
	assert_non_null(strstr(err, "invalid count 'x'"));
	assert_int_equal(parse(&o, err, 6, extra), -EINVAL);
	assert_non_null(strstr(err, "unexpected argument '7'"));
	assert_int_equal(parse(&o, err, 3, zero_pid), -EINVAL);
	assert_int_equal(parse(&o, err, 5, knob), -EINVAL);
	assert_non_null(strstr(err, "max_procs=0"));
}

/* Edges (issue 12): NaN durations and intervals, a size suffix that would wrap, PIDs in
 * octal or hex notation, the same PID twice. */
static void test_edges(void **state)
{
	char *nan_d[] = { "arenatrace", "-d", "nan", "-p", "1", NULL };
	char *nan_i[] = { "arenatrace", "-i", "NaN", "-p", "1", NULL };
	char *nan_pos[] = { "arenatrace", "-p", "1", "nan", NULL };
	char *wrap[] = { "arenatrace", "-a", "--min-rss", "17179869184G", NULL };
	char *big[] = { "arenatrace", "-a", "--min-rss", "16G", NULL };
	char *hex[] = { "arenatrace", "-p", "0x10", NULL };
	char *oct[] = { "arenatrace", "-p", "010", NULL };
	char *twice[] = { "arenatrace", "-p", "12", "-p", "12", "-p", "13", NULL };
	struct at_opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, 5, nan_d), -EINVAL);
	assert_int_equal(parse(&o, err, 5, nan_i), -EINVAL);
	assert_int_equal(parse(&o, err, 4, nan_pos), -EINVAL);
	assert_int_equal(parse(&o, err, 4, wrap), -EINVAL);
	assert_non_null(strstr(err, "17179869184G"));
	assert_int_equal(parse(&o, err, 4, big), 0);
	assert_int_equal(o.min_rss, 16ull << 30);
	assert_int_equal(parse(&o, err, 3, hex), -EINVAL);
	assert_int_equal(parse(&o, err, 3, oct), 0);
	assert_int_equal(o.pids[0], 10);
	assert_int_equal(parse(&o, err, 7, twice), 0);
	assert_int_equal(o.npids, 2);
	assert_int_equal(o.pids[1], 13);
}

/* The kernel memory the maps would take (issue 12): the documented -C maximum of
 * heap_stats on 2 CPUs is about 14 GB, most of the total, and the defaults are small. */
static void test_kernel_budget(void **state)
{
	char *huge[] = { "arenatrace", "-C", "heap_stats=16777216", "-p", "1", NULL };
	struct at_opts o;
	struct loader_opts lo;
	const char *largest = NULL;
	char err[256];
	uint64_t need;

	(void)state;
	assert_int_equal(parse(&o, err, 5, huge), 0);
	lo = cli_loader_opts(&o);
	need = loader_kernel_bytes(&lo, 2, &largest);
	/* 16 Mi elements of (48 + 8 + 8) bytes and two 424-byte per-CPU values. */
	assert_true(need >= 16777216ull * (64 + 2 * 424));
	assert_string_equal(largest, "heap_stats");
	cli_defaults(&o);
	o.level_heap = true;
	lo = cli_loader_opts(&o);
	assert_true(loader_kernel_bytes(&lo, 2, &largest) < (128ull << 20));
}

static void test_arena_spec(void **state)
{
	struct at_arena_spec a;
	char err[256];

	(void)state;
	assert_int_equal(cli_parse_arena("pool:alloc=grow,size=2,self=1,free=rel,reset=rst", &a,
					 err, sizeof(err)),
			 0);
	assert_string_equal(a.name, "pool");
	assert_string_equal(a.alloc, "grow");
	assert_string_equal(a.free, "rel");
	assert_string_equal(a.reset, "rst");
	assert_int_equal(a.size_arg, 2);
	assert_int_equal(a.self_arg, 1);
	assert_int_equal(a.ptr_arg, 2); /* the first argument that is not self */
	assert_int_equal(cli_parse_arena("a:alloc=f", &a, err, sizeof(err)), 0);
	assert_int_equal(a.size_arg, 1);
	assert_int_equal(a.self_arg, 0);
	assert_int_equal(cli_parse_arena("a:alloc=f,size=0", &a, err, sizeof(err)), -EINVAL);
	assert_int_equal(cli_parse_arena(":alloc=f", &a, err, sizeof(err)), -EINVAL);
	assert_int_equal(cli_parse_arena("a:alloc=", &a, err, sizeof(err)), -EINVAL);
	assert_int_equal(cli_parse_arena("a:alloc=f,ptr=2", &a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ptr= needs free=SYMBOL"));
}

/* --folded and --pprof imply --stacks (10, or the N given), with -p and with -- CMD, and
 * need the heap level. */
static void test_profile_outputs(void **state)
{
	char *pid[] = { "arenatrace", "--level", "all", "--pprof", "p.pb.gz", "-p", "10", NULL };
	char *cmd[] = { "arenatrace", "--level", "all",	 "--stacks=3", "--folded",
			"f",	      "--",	 "true", NULL };
	char *no_heap[] = { "arenatrace", "--folded", "f", "-p", "10", NULL };
	char *dwarf[] = { "arenatrace",		  "--level", "heap", "--unwind", "dwarf", "-C",
			  "stack_sample_bytes=1", "-p",	     "10",   NULL };
	char *bad_unwind[] = {
		"arenatrace", "--level", "heap", "--unwind", "lbr", "-p", "10", NULL
	};
	char *bad_rate[] = { "arenatrace",	     "--level", "heap", "--unwind", "dwarf", "-C",
			     "stack_sample_bytes=0", "-p",	"10",	NULL };
	struct at_opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, 7, pid), 0);
	assert_string_equal(o.pprof, "p.pb.gz");
	assert_null(o.folded);
	assert_int_equal(o.stacks, 10);
	assert_int_equal(parse(&o, err, 8, cmd), 0);
	assert_string_equal(o.folded, "f");
	assert_int_equal(o.stacks, 3);
	assert_non_null(o.cmd);
	assert_int_equal(parse(&o, err, 5, no_heap), -EINVAL);
	assert_non_null(strstr(err, "--folded, --pprof and --unwind need the heap level"));
	/* --unwind dwarf implies --stacks; the default rate is 512 KiB. */
	assert_int_equal(parse(&o, err, 9, dwarf), 0);
	assert_true(o.unwind_dwarf);
	assert_int_equal(o.stacks, 10);
	assert_int_equal(o.stack_sample_bytes, 1);
	assert_int_equal(parse(&o, err, 7, pid), 0);
	assert_false(o.unwind_dwarf);
	assert_int_equal(o.stack_sample_bytes, 512 * 1024);
	assert_int_equal(parse(&o, err, 7, bad_unwind), -EINVAL);
	assert_non_null(strstr(err, "invalid --unwind 'lbr': fp or dwarf"));
	assert_int_equal(parse(&o, err, 9, bad_rate), -EINVAL);
	assert_non_null(strstr(err, "stack_sample_bytes=0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pids_interval_count),
		cmocka_unit_test(test_pid_list_children),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_textfile),
		cmocka_unit_test(test_profile_outputs),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_kernel_budget),
		cmocka_unit_test(test_command_keeps_its_options),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_arena_spec),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
