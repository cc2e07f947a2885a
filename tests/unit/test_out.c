// SPDX-License-Identifier: GPL-2.0-only
/* The backends, rendered from one synthetic report and compared with golden files
 * (tests/unit/golden; AT_UPDATE_GOLDEN=1 rewrites them), and the JSON string cleaning. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "model.h"
#include "out.h"

static const struct rep_return returns[] = {
	{ .t_ns = 1500000000, .addr = 0x7f0000000000, .bytes = 1 << 20, .kind = AT_RET_MUNMAP },
	{ .t_ns = 2500000000, .addr = 0x7f0000200000, .bytes = 4 << 20, .kind = AT_RET_MADV_FREE },
};

static struct rep_alloc allocs[2];
static const struct rep_internal internals[] = {
	{ .func = "sysmalloc", .op = "grow", .calls = 3, .bytes = 409600, .total_ns = 12000 },
};
static struct rep_arena arenas[1];
static const struct rep_finding findings[] = {
	{ .kind = "arena_reset_retains",
	  .allocator = "bumpalo",
	  .bytes = 33554416,
	  .since_ns = 200000000,
	  .evidence = "bumpalo arena at 0x1000: 4 resets",
	  .advice = "drop and recreate the Bump" },
};
static struct rep_sample samples[2];
/* The allocator's: from the heap level (retained unknown), then from its books. */
static const struct rep_asample asamples[] = {
	{ .t_ns = 1000000000,
	  .mapped_bytes = 72 << 20,
	  .resident_bytes = 6 << 20,
	  .live_bytes = 4 << 20,
	  .source = AT_SRC_HEAP },
	{ .t_ns = 2000000000,
	  .mapped_bytes = 72 << 20,
	  .resident_bytes = 6 << 20,
	  .live_bytes = 5 << 20,
	  .retained_bytes = 1 << 20,
	  .retained_known = true,
	  .source = AT_SRC_BOOKS },
};
static struct rep_proc procs[1];
static struct report rep;
static struct rep_drop drops[AT_REP_DROPS];
static const int pids[] = { 1234 };
static const struct out_meta meta = { .version = "0.1.0",
				      .kernel = "6.18.0-test",
				      .start_unix_ns = 1796069786253035747ull,
				      .duration_s = 5,
				      .pids = pids,
				      .npids = 1,
				      .follow_forks = true };

static void build(void)
{
	allocs[0] = (struct rep_alloc){ .name = "glibc",
					.is_allocator = true,
					.mapped_bytes = 70 << 20,
					.reserved_bytes = 62 << 20,
					.resident_bytes = 6 << 20,
					.pre_mapped_bytes = 135168,
					.pre_resident_bytes = 4096,
					.mapped_total_bytes = 80 << 20,
					.returns = returns,
					.nreturns = 2,
					.returns_omitted = 3,
					.timeline = asamples,
					.ntimeline = 2,
					.timeline_omitted = 5 };
	allocs[0].ret_bytes[AT_RET_MUNMAP] = 5 << 20;
	allocs[0].ret_count[AT_RET_MUNMAP] = 4;
	allocs[0].ret_last_ns[AT_RET_MUNMAP] = 1500000000;
	allocs[0].ret_bytes[AT_RET_MADV_FREE] = 4 << 20;
	allocs[0].ret_count[AT_RET_MADV_FREE] = 1;
	allocs[0].ret_last_ns[AT_RET_MADV_FREE] = 2500000000;
	/* The unaligned rest of a thread heap's reservation, never accessible. */
	allocs[0].reserve_released_bytes = 64 << 20;
	allocs[0].reserve_released_count = 2;
	allocs[0].reserve_released_last_ns = 300000000;
	allocs[0].events[AT_SYS_MMAP] = 7;
	allocs[0].events[AT_SYS_MUNMAP] = 4;
	allocs[0].events[AT_SYS_BRK] = 12;
	allocs[0].internals = internals;
	allocs[0].ninternals = 1;
	/* Of the pre-existing 132 KiB, 128 KiB decided by the books, 4 KiB by a syscall. */
	allocs[0].pre_evidence_bytes[AT_EV_BOOKS] = 131072;
	allocs[0].pre_evidence_bytes[AT_EV_CALLER] = 4096;
	allocs[0].books = (struct rep_books){ .known = true,
					      .t_ns = 4000000000,
					      .live_bytes = 5 << 20,
					      .free_bytes = 3 << 20,
					      .retained_bytes = 1 << 20,
					      .mapped_bytes = 70 << 20,
					      .nfigures = 2,
					      .partial = true,
					      .reason = "tcache not reached: counted in use" };
	allocs[0].books.figures[0].name = "top";
	allocs[0].books.figures[0].bytes = 2 << 20;
	allocs[0].books.figures[1].name = "fastbins";
	allocs[0].books.figures[1].bytes = 4096;
	arenas[0] = (struct rep_arena){ .type = "bumpalo",
					.addr = 0x1000,
					.since_ns = 200000000,
					.chunks = 1,
					.chunks_acquired = 13,
					.chunks_freed = 12,
					.bytes = 33554416,
					.high_water_bytes = 58720112,
					.resets = 4,
					.kept_bytes = 33554416,
					.kept_max_bytes = 33554416,
					.release = "free" };
	arenas[0].lifetime_hist[10] = 12;
	allocs[1] = (struct rep_alloc){ .name = "unknown",
					.is_allocator = false,
					.pre_mapped_bytes = 2 << 20,
					.pre_resident_bytes = 1 << 20 };
	samples[0] = (struct rep_sample){ .t_ns = 1000000000,
					  .rss_bytes = 10 << 20,
					  .mapped_bytes = 72 << 20,
					  .resident_bytes = 7 << 20 };
	samples[1] = (struct rep_sample){ .t_ns = 2000000000,
					  .rss_bytes = 11 << 20,
					  .lazyfree_bytes = 4 << 20,
					  .mapped_bytes = 72 << 20,
					  .resident_bytes = 8 << 20 };
	/* A comm with a control byte and invalid UTF-8 must still give valid JSON. */
	procs[0] = (struct rep_proc){ .pid = 1234,
				      .ppid = 1,
				      .comm = "srv\x01\xff",
				      .exited = false,
				      .attached_running = true,
				      .origin = AT_ORIGIN_PID,
				      .heap_partial = true,
				      .rss_bytes = 11 << 20,
				      .lazyfree_bytes = 4 << 20,
				      .allocs = allocs,
				      .nallocs = 2,
				      .timeline = samples,
				      .ntimeline = 2,
				      .arenas = arenas,
				      .narenas = 1,
				      .findings = findings,
				      .nfindings = 1 };
	rep = (struct report){ .start_ns = 1000,
			       .now_ns = 5000001000,
			       .records = 23,
			       .procs = procs,
			       .nprocs = 1 };
	/* The rows as the model lays them out; one reason lost data. */
	for (int k = 0; k < AT_DROP_NR; k++)
		drops[k] =
			(struct rep_drop){ model_drop_name(k), k == AT_DROP_RINGBUF_FULL ? 2 : 0 };
	drops[AT_DROP_NR] = (struct rep_drop){ "model_procs_full", 0 };
	drops[AT_DROP_NR + 1] = (struct rep_drop){ "segments_full", 0 };
	drops[AT_DROP_NR + 2] = (struct rep_drop){ "unattributed", 0 };
	drops[AT_DROP_NR + 3] = (struct rep_drop){ "arenas_full", 0 };
	drops[AT_DROP_NR + 4] = (struct rep_drop){ "warnings_not_shown", 0 };
	rep.drops = drops;
	rep.ndrops = AT_REP_DROPS;
}

static char *render(enum out_format fmt, bool pretty)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct out o;

	build();
	out_init(&o, fmt, f, pretty, &meta);
	assert_int_equal(out_report(&o, &rep, true), 0);
	out_close(&o);
	fclose(f);
	return buf;
}

static void golden(const char *name, const char *got)
{
	char path[256], *want = NULL;
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "tests/unit/golden/%s", name);
	if (getenv("AT_UPDATE_GOLDEN")) {
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(got, f);
		fclose(f);
	}
	f = fopen(path, "r");
	assert_non_null(f);
	want = calloc(1, 1 << 16);
	len = fread(want, 1, (1 << 16) - 1, f);
	fclose(f);
	want[len] = '\0';
	assert_string_equal(got, want);
	free(want);
}

static void test_text_golden(void **state)
{
	char *s = render(OUT_TEXT, false);

	(void)state;
	golden("report.txt", s);
	free(s);
}

static void test_json_golden_and_valid(void **state)
{
	char *s = render(OUT_JSON, true);
	struct json_object *root = json_tokener_parse(s), *arr, *p, *comm, *a, *ret;

	(void)state;
	golden("report.json", s);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "processes", &arr));
	p = json_object_array_get_idx(arr, 0);
	assert_true(json_object_object_get_ex(p, "comm", &comm));
	assert_string_equal(json_object_get_string(comm), "srv\x01\xef\xbf\xbd");
	assert_non_null(strstr(s, "\\u0001"));
	assert_true(json_object_object_get_ex(p, "allocators", &a));
	assert_int_equal(json_object_array_length(a), 1);
	a = json_object_array_get_idx(a, 0);
	assert_true(json_object_object_get_ex(a, "returned", &ret));
	assert_true(json_object_object_get_ex(ret, "madv_free_bytes", &ret));
	assert_int_equal(json_object_get_uint64(ret), 4 << 20);
	json_object_put(root);
	free(s);
}

static char *render_report(enum out_format fmt, const struct report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct out o;

	out_init(&o, fmt, f, false, &meta);
	assert_int_equal(out_report(&o, r, true), 0);
	out_close(&o); /* the backend's state between reports (Prometheus' counters) */
	fclose(f);
	return buf;
}

/* Every drop counter the kernel side defines, and the model's own, reaches every backend
 * with its value: each row gets a distinct value, read back from the text, the JSON and the
 * Prometheus output of one model report. */
static void test_every_drop_in_every_backend(void **state)
{
	struct model_limits lim = { .max_procs = 1, .max_segs = 16 };
	struct model *m = model__new(&lim, 0);
	uint64_t bpf[AT_DROP_NR];
	const struct report *r;
	char *text, *json, *prom, want[128];
	struct json_object *root, *jd, *v;

	(void)state;
	for (int k = 0; k < AT_DROP_NR; k++)
		bpf[k] = 1000 + (uint64_t)k;
	model_set_bpf_drops(m, bpf);
	assert_int_equal(model_add_launched(m, 1), 0);
	assert_int_equal(model_add_launched(m, 2), -ENOSPC); /* model_procs_full = 1 */
	r = model_report(m, 1);
	assert_int_equal(r->ndrops, AT_REP_DROPS);
	text = render_report(OUT_TEXT, r);
	json = render_report(OUT_JSON, r);
	prom = render_report(OUT_PROM, r);
	root = json_tokener_parse(json);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "drops", &jd));
	for (int k = 0; k < AT_DROP_NR; k++) {
		const char *name = model_drop_name(k);

		assert_string_equal(r->drops[k].name, name);
		snprintf(want, sizeof(want), " %s=%d", name, 1000 + k);
		assert_non_null(strstr(text, want));
		snprintf(want, sizeof(want), "arenatrace_drops_total{reason=\"%s\"} %d\n", name,
			 1000 + k);
		assert_non_null(strstr(prom, want));
		assert_true(json_object_object_get_ex(jd, name, &v));
		assert_int_equal(json_object_get_uint64(v), 1000 + k);
	}
	for (size_t k = AT_DROP_NR; k < r->ndrops; k++) {
		snprintf(want, sizeof(want), "arenatrace_drops_total{reason=\"%s\"} %llu\n",
			 r->drops[k].name, (unsigned long long)r->drops[k].value);
		assert_non_null(strstr(prom, want));
		assert_true(json_object_object_get_ex(jd, r->drops[k].name, &v));
		assert_int_equal(json_object_get_uint64(v), r->drops[k].value);
	}
	assert_non_null(strstr(text, " model_procs_full=1"));
	json_object_put(root);
	free(text);
	free(json);
	free(prom);
	model__free(m);
}

/* Strings from the outside world (library file names, symbol names) are made printable in
 * text: an escape sequence in an allocator's name or a stack frame cannot reach a terminal. */
static void test_text_printable(void **state)
{
	struct rep_alloc a = { .name = "lib\x1b[2Jevil.so", .is_allocator = true };
	struct rep_frame fr = { .address = 0x1000,
				.module = "/lib/libx.so",
				.offset = 0x10,
				.function = "evil\x1b[31m",
				.function_offset = 4 };
	struct rep_stack st = { .bytes = 64, .blocks = 1, .frames = &fr, .nframes = 1 };
	struct rep_proc p = { .pid = 5,
			      .comm = "c",
			      .allocs = &a,
			      .nallocs = 1,
			      .stacks = &st,
			      .nstacks = 1,
			      .has_stacks = true };
	struct report r = { .procs = &p, .nprocs = 1 };
	char *text;

	(void)state;
	text = render_report(OUT_TEXT, &r);
	assert_null(strchr(text, '\x1b'));
	assert_non_null(strstr(text, "evil?[31m+0x4 (libx.so)"));
	assert_non_null(strstr(text, "lib?[2Jevil."));
	free(text);
}

/* --stacks in JSON: a stack object with its allocator and totals, frames as objects, null
 * for what is not known; the text form of the same frames; only the shown stacks. */
static void test_stack_frames(void **state)
{
	struct rep_frame fr[2] = {
		{ 0x5555000011f8, "/opt/app", "6b94", 0x11f8, "site_big", 14, "src/a.c", 10 },
		{ 0x7f0000029d90, "/lib/libc.so.6", NULL, 0x29d90, NULL, 0, NULL, 0 },
	};
	struct rep_stack st[2] = { { "glibc", 1000, 10, 1500, 15, fr, 2 },
				   { "glibc", 0, 0, 8, 1, fr, 1 } };
	struct rep_alloc a = { .name = "glibc", .is_allocator = true };
	struct rep_proc p = { .pid = 5,
			      .comm = "c",
			      .allocs = &a,
			      .nallocs = 1,
			      .stacks = st,
			      .nstacks = 1,
			      .nstacks_all = 2,
			      .has_stacks = true };
	struct report r = { .procs = &p, .nprocs = 1 };
	char *json, *text;

	(void)state;
	json = render_report(OUT_JSON, &r);
	assert_non_null(strstr(
		json,
		"\"stacks\":[{\"allocator\":\"glibc\",\"live_bytes\":1000,\"live_objects\":10,"
		"\"alloc_bytes\":1500,\"alloc_count\":15,\"frames\":[{\"address\":93823560585720,"
		"\"module\":\"/opt/app\",\"build_id\":\"6b94\",\"offset\":4600,"
		"\"function\":\"site_big\",\"function_offset\":14,\"file\":\"src/a.c\","
		"\"line\":10},{\"address\":139637976898960,\"module\":\"/lib/libc.so.6\","
		"\"build_id\":null,\"offset\":171408,\"function\":null,"
		"\"function_offset\":null,\"file\":null,\"line\":null}]}]"));
	text = render_report(OUT_TEXT, &r);
	assert_non_null(strstr(text, "    1000 B in 10 blocks (glibc)\n"
				     "      site_big+0xe (a.c:10)\n"
				     "      libc.so.6+0x29d90\n"));
	free(json);
	free(text);
}

static void test_json_error_object(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct out o;

	(void)state;
	out_init(&o, OUT_JSON, f, false, &meta);
	out_error(&o, "no process with pid 7");
	fclose(f);
	assert_string_equal(buf, "{\"schema_version\":1,\"error\":\"no process with pid 7\"}\n");
	free(buf);
}

static void test_utf8_clean(void **state)
{
	char out[16];

	(void)state;
	json_utf8_clean("plain", out, sizeof(out));
	assert_string_equal(out, "plain");
	json_utf8_clean("caf\xc3\xa9", out, sizeof(out));
	assert_string_equal(out, "caf\xc3\xa9");
	json_utf8_clean("a\xc3", out, sizeof(out)); /* truncated sequence */
	assert_string_equal(out, "a\xef\xbf\xbd");
	json_utf8_clean("\xc0\xaf", out, sizeof(out)); /* overlong '/' */
	assert_string_equal(out, "\xef\xbf\xbd\xef\xbf\xbd");
	json_utf8_clean("\xed\xa0\x80", out, sizeof(out)); /* a surrogate */
	assert_string_equal(out, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	json_utf8_clean("0123456789abcdefXYZ", out, 8); /* truncated to fit */
	assert_string_equal(out, "0123456");
}

/* Purge latency in the units of its resolution, one sample (issue 13, item 10: it showed a
 * 0 -> 1 us bucket): slot 0 is "within one sample", then doublings of the sample interval,
 * in milliseconds, in text (--hist) and JSON alike. */
static void test_purge_latency_units(void **state)
{
	struct out_meta hist_meta = meta;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	struct out o;

	(void)state;
	hist_meta.hist = true;
	for (int fmt = 0; fmt < 2; fmt++) {
		f = open_memstream(&buf, &len);
		build();
		allocs[0].has_heap = true;
		allocs[0].live_basis = "usable";
		allocs[0].purge_latency_hist[0] = 4096;
		allocs[0].purge_latency_hist[2] = 8192;
		rep.sample_ms = 200;
		out_init(&o, fmt ? OUT_JSON : OUT_TEXT, f, false, &hist_meta);
		assert_int_equal(out_report(&o, &rep, true), 0);
		out_close(&o);
		fclose(f);
		if (fmt) {
			assert_non_null(strstr(buf,
					       "\"purge_latency_ms_hist\":[{\"low\":0,\"high\":"
					       "200,\"bytes\":4096},{\"low\":200,\"high\":400,"
					       "\"bytes\":0},{\"low\":400,\"high\":800,\"bytes\":"
					       "8192}]"));
			assert_non_null(strstr(buf, "\"purge_latency_resolution_ms\":200"));
		} else {
			assert_non_null(
				strstr(buf, "purge latency ms (1 sample = 200 ms) : bytes"));
			assert_non_null(strstr(buf, "        0 -> 200      : 4096 "));
			assert_non_null(strstr(buf, "      400 -> 800      : 8192 "));
		}
		assert_null(strstr(buf, "latency us"));
		assert_null(strstr(buf, "latency_us"));
		free(buf);
		buf = NULL;
	}
	memset(allocs[0].purge_latency_hist, 0, sizeof(allocs[0].purge_latency_hist));
}

/* Report noise (issue 13, item 8): with -C text_top=3, text lists the 3 largest of 14
 * exited processes and counts the other 11 by command in one line, lists the 3 largest of
 * a process's 15 arenas and counts the other 12; an interval report leaves out the exits an
 * earlier one showed. JSON keeps every process and arena. */
#define NOISY 15
static struct rep_proc noisy_procs[NOISY];
static struct rep_alloc noisy_allocs[NOISY];
static struct rep_arena noisy_arenas[NOISY];

static char *render_noisy(enum out_format fmt, bool interval)
{
	struct out_meta top_meta = meta;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct out o;

	build();
	for (int i = 0; i < NOISY; i++) {
		noisy_arenas[i] =
			(struct rep_arena){ .type = i == 7 ? "bumpalo" : "obstack",
					    .addr = 0x1000u + (uint64_t)i,
					    .chunks = 1,
					    .chunks_acquired = 1,
					    .bytes = 4096,
					    .high_water_bytes = 4096ull * (uint64_t)(i + 1),
					    .release = "probe" };
		noisy_allocs[i] = (struct rep_alloc){ .name = "glibc",
						      .is_allocator = true,
						      .mapped_bytes = (uint64_t)(i + 1) << 20 };
		noisy_procs[i] = (struct rep_proc){ .pid = 100 + i,
						    .comm = i % 2 ? "cc1" : "as",
						    .exited = i > 0,
						    .exit_reported = interval && i > 0 && i <= 5,
						    .allocs = &noisy_allocs[i],
						    .nallocs = 1 };
	}
	noisy_procs[0].comm = "make";
	noisy_procs[0].arenas = noisy_arenas;
	noisy_procs[0].narenas = NOISY;
	rep.procs = noisy_procs;
	rep.nprocs = NOISY;
	rep.interval = interval;
	top_meta.text_top = 3;
	out_init(&o, fmt, f, false, &top_meta);
	assert_int_equal(out_report(&o, &rep, !interval), 0);
	out_close(&o);
	fclose(f);
	return buf;
}

static size_t count_of(const char *s, const char *what)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

static void test_text_summarises_noise(void **state)
{
	char *s;

	(void)state;
	s = render_noisy(OUT_TEXT, false);
	assert_int_equal(count_of(s, "\nPID "), 4); /* make and the 3 largest exits */
	assert_non_null(strstr(s, "PID 114 (as) [exited]"));
	assert_non_null(strstr(s, "PID 113 (cc1) [exited]"));
	assert_non_null(strstr(s, "PID 112 (as) [exited]"));
	assert_null(strstr(s, "PID 111 "));
	/* 2 + ... + 12 MiB of the 11 not listed: 77 MiB. */
	assert_non_null(strstr(s, "... 11 more exited processes (cc1 6, as 5): 77.0 MiB mapped at "
				  "exit in all\n"));
	/* Arenas: the 3 with the highest high-water (60, 56, 52 KiB), then the 12 others. */
	assert_int_equal(count_of(s, "  obstack    0x"), 3);
	assert_non_null(strstr(s, "... 12 more arenas (obstack 11, bumpalo 1): 48.0 KiB held, "
				  "312.0 KiB high-water in all\n"));
	free(s);
	/* An interval report: the 5 exits an earlier one showed are not shown again. */
	s = render_noisy(OUT_TEXT, true);
	assert_int_equal(count_of(s, "\nPID "), 4);
	assert_non_null(strstr(s, "... 6 more exited processes"));
	assert_non_null(strstr(s, "(5 exited processes shown in an earlier interval)"));
	free(s);
	/* JSON keeps everything. */
	s = render_noisy(OUT_JSON, true);
	assert_int_equal(count_of(s, "\"pid\":"), NOISY);
	assert_int_equal(count_of(s, "\"type\":\"obstack\""), NOISY - 1);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_golden),
		cmocka_unit_test(test_json_golden_and_valid),
		cmocka_unit_test(test_stack_frames),
		cmocka_unit_test(test_purge_latency_units),
		cmocka_unit_test(test_text_summarises_noise),
		cmocka_unit_test(test_json_error_object),
		cmocka_unit_test(test_every_drop_in_every_backend),
		cmocka_unit_test(test_text_printable),
		cmocka_unit_test(test_utf8_clean),
	};

	return cmocka_run_group_tests_name("out", tests, NULL, NULL);
}
