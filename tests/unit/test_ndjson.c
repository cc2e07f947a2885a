// SPDX-License-Identifier: GPL-2.0-only
/* NDJSON (docs/json.md, "NDJSON"): each ring-buffer record type as one event line with
 * exactly its fields, every event name, what is not a record (no line), and the snapshot
 * as one compact line whatever --pretty says. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "model_helpers.h"
#include "out.h"

#define START (100 * SEC) /* the trace's start, CLOCK_MONOTONIC */

static const struct out_meta meta = { .version = "0.1.0",
				      .kernel = "6.18.0-test",
				      .levels = "os,arena,heap" };

/* What one call writes, through a backend of its own. */
struct sink {
	char *buf;
	size_t len;
	FILE *f;
	struct out o;
};

static void open_sink(struct sink *s, enum out_format fmt, bool pretty)
{
	memset(s, 0, sizeof(*s));
	s->f = open_memstream(&s->buf, &s->len);
	assert_non_null(s->f);
	out_init(&s->o, fmt, s->f, pretty, &meta);
}

/* Closes the sink and hands over what was written (the caller frees it). */
static char *close_sink(struct sink *s)
{
	fclose(s->f);
	assert_non_null(s->buf);
	return s->buf;
}

static char *event_of(enum out_format fmt, const void *rec, size_t len)
{
	struct sink s;

	open_sink(&s, fmt, false);
	out_event(&s.o, rec, len, START);
	return close_sink(&s);
}

/* The one line rec renders to, checked exactly and as JSON. */
static void assert_event(const void *rec, size_t len, const char *want)
{
	char *got = event_of(OUT_NDJSON, rec, len);
	struct json_object *o;

	assert_string_equal(got, want);
	o = json_tokener_parse(got);
	assert_non_null(o);
	json_object_put(o);
	free(got);
}

static void assert_no_event(enum out_format fmt, const void *rec, size_t len)
{
	char *got = event_of(fmt, rec, len);

	assert_string_equal(got, "");
	free(got);
}

static void test_syscall_event(void **state)
{
	struct at_sys_rec r = th_sys_rec(42, START + 5 * MS + 999999, AT_SYS_MMAP, "libc.so.6", 0,
					 4096, 3, 0x22, 0x7f0000000000);

	(void)state;
	r.hdr.tid = 43;
	r.args[4] = UINT64_MAX;
	r.caller_off = 0x1234;
	r.caller = 0x7f1234; /* not shown */
	r.ip = 0x7f5678;     /* not shown */
	assert_event(&r, sizeof(r),
		     "{\"type\":\"event\",\"t_ms\":5,\"pid\":42,\"event\":\"mmap\",\"tid\":43,"
		     "\"args\":[0,4096,3,34,18446744073709551615,0],\"ret\":139637976727552,"
		     "\"caller_file\":\"libc.so.6\",\"caller_off\":4660}\n");
	/* A failed call: ret is signed. A caller file of all 32 bytes, no NUL. */
	r = th_sys_rec(42, START, AT_SYS_MADVISE, "abcdefghijklmnopqrstuvwxyz012345", 1, 2, 8, 0,
		       -12);
	assert_event(&r, sizeof(r),
		     "{\"type\":\"event\",\"t_ms\":0,\"pid\":42,\"event\":\"madvise\",\"tid\":42,"
		     "\"args\":[1,2,8,0,0,0],\"ret\":-12,"
		     "\"caller_file\":\"abcdefghijklmnopqrstuvwxyz012345\",\"caller_off\":0}\n");
}

static void test_syscall_names(void **state)
{
	static const char *const names[] = { "mmap",	"munmap",   "mremap",	      "brk",
					     "madvise", "mprotect", "process_madvise" };
	char want[512];

	(void)state;
	for (uint32_t k = 0; k <= AT_ARRAY_SIZE(names); k++) {
		struct at_sys_rec r = th_sys_rec(7, START + 2 * SEC, k, "x", 0, 0, 0, 0, 0);

		snprintf(want, sizeof(want),
			 "{\"type\":\"event\",\"t_ms\":2000,\"pid\":7,\"event\":\"%s\","
			 "\"tid\":7,\"args\":[0,0,0,0,0,0],\"ret\":0,\"caller_file\":\"x\","
			 "\"caller_off\":0}\n",
			 k < AT_ARRAY_SIZE(names) ? names[k] : "?");
		assert_event(&r, sizeof(r), want);
	}
}

static void test_proc_event(void **state)
{
	static const char *const kinds[] = { "?", "fork", "exec", "exit", "?" };
	struct at_proc_rec r = { .hdr = { .type = AT_REC_PROC,
					  .kind = AT_PROC_FORK,
					  .pid = 44,
					  .ts_ns = START + 1 * SEC },
				 .ppid = 42,
				 .comm = "worker" };
	char want[256];

	(void)state;
	for (uint32_t k = 0; k < AT_ARRAY_SIZE(kinds); k++) {
		r.hdr.kind = k;
		snprintf(want, sizeof(want),
			 "{\"type\":\"event\",\"t_ms\":1000,\"pid\":44,\"event\":\"%s\","
			 "\"ppid\":42,\"comm\":\"worker\"}\n",
			 kinds[k]);
		assert_event(&r, sizeof(r), want);
	}
	/* A comm of all 16 bytes, no NUL; a control byte escaped; invalid UTF-8 replaced. */
	r.hdr.kind = AT_PROC_EXEC;
	memcpy(r.comm, "0123456789abcdef", 16);
	assert_event(&r, sizeof(r),
		     "{\"type\":\"event\",\"t_ms\":1000,\"pid\":44,\"event\":\"exec\",\"ppid\":42,"
		     "\"comm\":\"0123456789abcdef\"}\n");
	memset(r.comm, 0, sizeof(r.comm));
	memcpy(r.comm, "a\x01\xff", 3);
	assert_event(&r, sizeof(r),
		     "{\"type\":\"event\",\"t_ms\":1000,\"pid\":44,\"event\":\"exec\",\"ppid\":42,"
		     "\"comm\":\"a\\u0001\xef\xbf\xbd\"}\n");
}

static void test_arena_event(void **state)
{
	static const char *const kinds[] = { "?",	  "chunk_alloc", "chunk_free",
					     "reset",	  "bump_slow",	 "bump_reset",
					     "bump_drop", "obstack_new", "obstack_free",
					     "internal",  "chunk_freed", "usdt",
					     "?" };
	struct at_arena_rec r = th_arena_rec(42, START - 1, AT_AK_BUMP_SLOW);
	char want[512];

	(void)state;
	r.hdr.tid = 45;
	for (int i = 0; i < 6; i++)
		r.args[i] = (uint64_t)i + 1;
	r.ret = UINT64_MAX - 1;
	r.dur_ns = 1234;
	r.cookie = 0xffff;  /* not shown */
	r.words[0] = 0x777; /* not shown */
	/* Before the start (a record from the attach): t_ms 0. */
	assert_event(&r, sizeof(r),
		     "{\"type\":\"event\",\"t_ms\":0,\"pid\":42,\"event\":\"bump_slow\",\"tid\":45,"
		     "\"args\":[1,2,3,4,5,6],\"ret\":18446744073709551614,\"duration_ns\":1234}\n");
	r.hdr.ts_ns = START + 3 * SEC + 500 * MS;
	r.ret = 0;
	for (uint32_t k = 0; k < AT_ARRAY_SIZE(kinds); k++) {
		r.hdr.kind = k;
		snprintf(want, sizeof(want),
			 "{\"type\":\"event\",\"t_ms\":3500,\"pid\":42,\"event\":\"%s\",\"tid\":45,"
			 "\"args\":[1,2,3,4,5,6],\"ret\":0,\"duration_ns\":1234}\n",
			 kinds[k]);
		assert_event(&r, sizeof(r), want);
	}
}

/* An unknown type, or a record shorter than its type's layout: no line. Other backends
 * show no events at all. */
static void test_not_events(void **state)
{
	struct at_sys_rec sys = th_sys_rec(1, START, AT_SYS_MMAP, "x", 0, 0, 0, 0, 0);
	struct at_proc_rec proc = {
		.hdr = { .type = AT_REC_PROC, .pid = 1, .kind = AT_PROC_EXIT }
	};
	struct at_arena_rec arena = th_arena_rec(1, START, AT_AK_RESET);
	const enum out_format others[] = { OUT_TEXT, OUT_JSON, OUT_PROM };

	(void)state;
	assert_no_event(OUT_NDJSON, &sys, sizeof(sys) - 1);
	assert_no_event(OUT_NDJSON, &proc, sizeof(proc) - 1);
	assert_no_event(OUT_NDJSON, &arena, sizeof(arena) - 1);
	sys.hdr.type = 7;
	assert_no_event(OUT_NDJSON, &sys, sizeof(sys));
	sys.hdr.type = AT_REC_SYSCALL;
	for (size_t i = 0; i < AT_ARRAY_SIZE(others); i++) {
		struct sink s;

		open_sink(&s, others[i], false);
		assert_false(out_wants_events(&s.o));
		free(close_sink(&s));
		assert_no_event(others[i], &sys, sizeof(sys));
	}
}

/* A record too short even for its header (type, pid, ts_ns) must not be read past its
 * end: ndjson_event reads pid and ts_ns before it looks at len. Fails under valgrind (or
 * ASan) only: an invalid read of the bytes after the record. */
static void test_short_record_not_read_past(void **state)
{
	__u32 *rec;

	(void)state;
	rec = malloc(sizeof(*rec));
	assert_non_null(rec);
	*rec = AT_REC_SYSCALL;
	assert_no_event(OUT_NDJSON, rec, sizeof(*rec));
	free(rec);
}

static void test_snapshot_line(void **state)
{
	struct rep_proc p = { .pid = 9, .comm = "c" };
	struct report r = { .start_ns = START,
			    .now_ns = START + 2 * SEC,
			    .records = 3,
			    .procs = &p,
			    .nprocs = 1 };
	struct json_object *o, *v;
	struct sink s;
	char *got;

	(void)state;
	open_sink(&s, OUT_NDJSON, true); /* --pretty has no say in NDJSON */
	assert_true(out_wants_events(&s.o));
	assert_int_equal(out_report(&s.o, &r, false), 0);
	got = close_sink(&s);
	assert_non_null(strchr(got, '\n'));
	assert_string_equal(strchr(got, '\n'), "\n"); /* one line */
	assert_int_equal(strncmp(got, "{\"schema_version\":1,", 20), 0);
	assert_contains(got, ",\"records\":3,\"type\":\"snapshot\"}\n");
	o = json_tokener_parse(got);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "final", &v));
	assert_false(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(o, "elapsed_ms", &v));
	assert_int_equal(json_object_get_uint64(v), 2000);
	assert_true(json_object_object_get_ex(o, "processes", &v));
	assert_int_equal(json_object_array_length(v), 1);
	json_object_put(o);
	free(got);
}

static char *error_of(bool pretty)
{
	struct sink s;

	open_sink(&s, OUT_NDJSON, pretty);
	out_error(&s.o, "no process with pid 7");
	return close_sink(&s);
}

/* In NDJSON mode a fatal error is one more line, compact like the others. */
static void test_error_line(void **state)
{
	const char *want = "{\"schema_version\":1,\"error\":\"no process with pid 7\"}\n";
	char *got = error_of(false);

	(void)state;
	assert_string_equal(got, want);
	free(got);
	got = error_of(true);
	assert_string_equal(got, want);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syscall_event),
		cmocka_unit_test(test_syscall_names),
		cmocka_unit_test(test_proc_event),
		cmocka_unit_test(test_arena_event),
		cmocka_unit_test(test_not_events),
		cmocka_unit_test(test_short_record_not_read_past),
		cmocka_unit_test(test_snapshot_line),
		cmocka_unit_test(test_error_line),
	};

	return cmocka_run_group_tests_name("ndjson", tests, NULL, NULL);
}
