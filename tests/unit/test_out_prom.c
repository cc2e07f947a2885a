// SPDX-License-Identifier: GPL-2.0-only
/* The Prometheus backend (out_prom.c) rendering a report built by hand: every series line
 * and value, the top processes by RSS with their own labels and the rest summed under
 * pid="other", label escaping, findings by kind, drops and health. Where Debian's promtool
 * is installed, the output must also pass `promtool check metrics`. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "model_helpers.h"
#include "out.h"

static struct rep_alloc a1[4], a2[2], a3[2], a4[2];
static struct rep_finding f1[2], f2[1], f3[1];
static struct rep_proc procs[4];
static struct report rep;
static struct rep_drop drops[AT_REP_DROPS];

static void set_heap(struct rep_alloc *a, uint64_t live, bool known, uint64_t retained)
{
	a->has_heap = true;
	a->live_basis = "usable";
	a->live_bytes = live;
	a->retained_known = known;
	a->retained_bytes = retained;
}

/* Four processes, listed out of RSS order: P1 (pid 100, 300 MiB) and P2 (pid 200, 200 MiB)
 * are the top two; P4 (pid 50) and P3 (pid 300), 100 MiB each, are summed as "other". */
static void build(void)
{
	memset(a1, 0, sizeof(a1));
	memset(a2, 0, sizeof(a2));
	memset(a3, 0, sizeof(a3));
	memset(a4, 0, sizeof(a4));
	/* P1: glibc (traced and pre-existing), jemalloc with retained unknown, memory of
	 * unknown origin (not an allocator: no series), the program's own mmap (no heap). */
	a1[0] = (struct rep_alloc){ .name = "glibc",
				    .is_allocator = true,
				    .mapped_bytes = 10 * MiB,
				    .pre_mapped_bytes = 2 * MiB,
				    .resident_bytes = 6 * MiB,
				    .pre_resident_bytes = 1 * MiB };
	set_heap(&a1[0], 5 * MiB, true, 2 * MiB);
	a1[0].ret_bytes[AT_RET_MUNMAP] = 1 * MiB;
	a1[0].ret_bytes[AT_RET_BRK_SHRINK] = 512 * KiB;
	a1[1] = (struct rep_alloc){ .name = "jemalloc",
				    .is_allocator = true,
				    .mapped_bytes = 64 * MiB,
				    .resident_bytes = 32 * MiB };
	set_heap(&a1[1], 20 * MiB, false, 12 * MiB);
	a1[1].ret_bytes[AT_RET_MADV_FREE] = 4 * MiB;
	a1[1].ret_bytes[AT_RET_MADV_DONTNEED] = 8 * MiB;
	a1[2] = (struct rep_alloc){ .name = "unknown",
				    .is_allocator = false,
				    .pre_mapped_bytes = 1 * MiB,
				    .pre_resident_bytes = 1 * MiB };
	a1[3] = (struct rep_alloc){ .name = "app",
				    .is_allocator = true,
				    .mapped_bytes = 4 * MiB,
				    .resident_bytes = 4 * MiB };
	a1[3].ret_bytes[AT_RET_DECOMMIT] = 64 * KiB;
	/* P2: mimalloc holding no live block, all it keeps resident retained. */
	a2[0] = (struct rep_alloc){ .name = "glibc",
				    .is_allocator = true,
				    .mapped_bytes = 3 * MiB,
				    .resident_bytes = 2 * MiB };
	set_heap(&a2[0], 1 * MiB, true, 1 * MiB);
	a2[1] = (struct rep_alloc){ .name = "mimalloc",
				    .is_allocator = true,
				    .mapped_bytes = 8 * MiB,
				    .resident_bytes = 8 * MiB };
	set_heap(&a2[1], 0, true, 8 * MiB);
	/* P3 and P4: summed per allocator; glibc's retained is unknown in P4, so the sum has
	 * none. */
	a3[0] = (struct rep_alloc){ .name = "glibc",
				    .is_allocator = true,
				    .mapped_bytes = 1 * MiB,
				    .resident_bytes = 1 * MiB };
	set_heap(&a3[0], 512 * KiB, true, 512 * KiB);
	a3[0].ret_bytes[AT_RET_MUNMAP] = 2 * MiB;
	a3[1] = (struct rep_alloc){ .name = "jemalloc",
				    .is_allocator = true,
				    .mapped_bytes = 512 * KiB,
				    .resident_bytes = 128 * KiB };
	set_heap(&a3[1], 0, true, 128 * KiB);
	a4[0] = (struct rep_alloc){ .name = "glibc",
				    .is_allocator = true,
				    .mapped_bytes = 2 * MiB,
				    .resident_bytes = 1 * MiB };
	set_heap(&a4[0], 0, false, 1 * MiB);
	a4[1] = (struct rep_alloc){ .name = "jemalloc",
				    .is_allocator = true,
				    .mapped_bytes = 1 * MiB,
				    .resident_bytes = 1 * MiB };
	set_heap(&a4[1], 768 * KiB, true, 256 * KiB);
	a4[1].ret_bytes[AT_RET_MADV_DONTNEED] = 64 * KiB;

	f1[0] = (struct rep_finding){ .kind = "glibc_untrimmable", .allocator = "glibc" };
	f1[1] = (struct rep_finding){ .kind = "idle_purge", .allocator = "jemalloc" };
	f2[0] = (struct rep_finding){ .kind = "glibc_untrimmable", .allocator = "glibc" };
	f3[0] = (struct rep_finding){ .kind = "retention_growth", .allocator = "glibc" };

	/* A comm with a quote, a backslash and a control byte. */
	procs[0] = (struct rep_proc){ .pid = 300,
				      .comm = "batch",
				      .rss_bytes = 100 * MiB,
				      .allocs = a3,
				      .nallocs = 2,
				      .findings = f3,
				      .nfindings = 1 };
	procs[1] = (struct rep_proc){ .pid = 100,
				      .comm = "web\"srv\\\x01",
				      .rss_bytes = 300 * MiB,
				      .lazyfree_bytes = 4 * MiB,
				      .allocs = a1,
				      .nallocs = 4,
				      .findings = f1,
				      .nfindings = 2 };
	procs[2] = (struct rep_proc){ .pid = 50,
				      .comm = "tiny",
				      .rss_bytes = 100 * MiB,
				      .lazyfree_bytes = 1 * MiB,
				      .allocs = a4,
				      .nallocs = 2 };
	procs[3] = (struct rep_proc){ .pid = 200,
				      .comm = "worker",
				      .rss_bytes = 200 * MiB,
				      .allocs = a2,
				      .nallocs = 2,
				      .findings = f2,
				      .nfindings = 1 };
	rep = (struct report){ .start_ns = 1000,
			       .window_ns = 1000,
			       .now_ns = 10 * SEC,
			       .records = 12345,
			       .procs = procs,
			       .nprocs = 4 };
	for (int k = 0; k < AT_DROP_NR; k++)
		drops[k] = (struct rep_drop){ model_drop_name(k), 0 };
	drops[AT_DROP_RINGBUF_FULL].value = 7;
	drops[AT_DROP_HEAP_LIVE_FULL].value = 3;
	drops[AT_DROP_NR] = (struct rep_drop){ "model_procs_full", 1 };
	drops[AT_DROP_NR + 1] = (struct rep_drop){ "segments_full", 2 };
	drops[AT_DROP_NR + 2] = (struct rep_drop){ "unattributed", 0 };
	drops[AT_DROP_NR + 3] = (struct rep_drop){ "arenas_full", 5 };
	drops[AT_DROP_NR + 4] = (struct rep_drop){ "warnings_not_shown", 0 };
	rep.drops = drops;
	rep.ndrops = AT_REP_DROPS;
	rep.health = (struct rep_health){ .bpf_run_ns = 1500000000,
					  .bpf_run_count = 42,
					  .bpf_stats = true,
					  .cpu_ns = 2500000000,
					  .rss_bytes = 16 * MiB };
}

static char *render(const struct report *r, size_t top)
{
	const struct out_meta meta = { .version = "0.1.0",
				       .kernel = "6.18.0-test",
				       .prom_top = top };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct out o;

	assert_non_null(f);
	out_init(&o, OUT_PROM, f, false, &meta);
	assert_false(out_wants_events(&o));
	assert_int_equal(out_report(&o, r, false), 0);
	fclose(f);
	return buf;
}

/* The output without its # HELP lines (their wording is free; the rest is the format). */
static char *without_help(const char *s)
{
	char *out = calloc(1, strlen(s) + 1), *o = out;

	assert_non_null(out);
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) + 1 : strlen(s);

		if (strncmp(s, "# HELP ", 7)) {
			memcpy(o, s, n);
			o += n;
		}
		s += n;
	}
	return out;
}

/* promtool check metrics, when Debian's prometheus package put it here: 0 passed, 1 failed,
 * -1 not installed. */
static int promtool(const char *text)
{
	FILE *p;
	int st;

	if (system("command -v promtool >/dev/null 2>&1"))
		return -1;
	p = popen("promtool check metrics >&2", "w");
	if (!p)
		return -1;
	fputs(text, p);
	st = pclose(p);
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : 1;
}

#define P1 "pid=\"100\",comm=\"web\\\"srv\\\\?\""
#define P2 "pid=\"200\",comm=\"worker\""
#define PO "pid=\"other\",comm=\"other\""
#define RET(labels, alloc, munmap, dontneed, madvfree, remove, brk, mremap, decommit)              \
	"arenatrace_returned_bytes_total{" labels ",allocator=\"" alloc                            \
	"\",kind=\"munmap\"} " munmap "\n"                                                         \
	"arenatrace_returned_bytes_total{" labels ",allocator=\"" alloc                            \
	"\",kind=\"madv_dontneed\"} " dontneed "\n"                                                \
	"arenatrace_returned_bytes_total{" labels ",allocator=\"" alloc                            \
	"\",kind=\"madv_free\"} " madvfree "\n"                                                    \
	"arenatrace_returned_bytes_total{" labels ",allocator=\"" alloc                            \
	"\",kind=\"madv_remove\"} " remove "\n"                                                    \
	"arenatrace_returned_bytes_total{" labels ",allocator=\"" alloc                            \
	"\",kind=\"brk_shrink\"} " brk "\n"                                                        \
	"arenatrace_returned_bytes_total{" labels ",allocator=\"" alloc                            \
	"\",kind=\"mremap_shrink\"} " mremap "\n"                                                  \
	"arenatrace_returned_bytes_total{" labels ",allocator=\"" alloc                            \
	"\",kind=\"decommit\"} " decommit "\n"

static const char want[] =
	"# TYPE arenatrace_mapped_bytes gauge\n"
	"arenatrace_mapped_bytes{" P1 ",allocator=\"glibc\"} 12582912\n"
	"arenatrace_mapped_bytes{" P1 ",allocator=\"jemalloc\"} 67108864\n"
	"arenatrace_mapped_bytes{" P1 ",allocator=\"app\"} 4194304\n"
	"arenatrace_mapped_bytes{" P2 ",allocator=\"glibc\"} 3145728\n"
	"arenatrace_mapped_bytes{" P2 ",allocator=\"mimalloc\"} 8388608\n"
	"arenatrace_mapped_bytes{" PO ",allocator=\"glibc\"} 3145728\n"
	"arenatrace_mapped_bytes{" PO ",allocator=\"jemalloc\"} 1572864\n"
	"# TYPE arenatrace_resident_bytes gauge\n"
	"arenatrace_resident_bytes{" P1 ",allocator=\"glibc\"} 7340032\n"
	"arenatrace_resident_bytes{" P1 ",allocator=\"jemalloc\"} 33554432\n"
	"arenatrace_resident_bytes{" P1 ",allocator=\"app\"} 4194304\n"
	"arenatrace_resident_bytes{" P2 ",allocator=\"glibc\"} 2097152\n"
	"arenatrace_resident_bytes{" P2 ",allocator=\"mimalloc\"} 8388608\n"
	"arenatrace_resident_bytes{" PO ",allocator=\"glibc\"} 2097152\n"
	"arenatrace_resident_bytes{" PO ",allocator=\"jemalloc\"} 1179648\n"
	"# TYPE arenatrace_live_bytes gauge\n"
	"arenatrace_live_bytes{" P1 ",allocator=\"glibc\"} 5242880\n"
	"arenatrace_live_bytes{" P1 ",allocator=\"jemalloc\"} 20971520\n"
	"arenatrace_live_bytes{" P2 ",allocator=\"glibc\"} 1048576\n"
	"arenatrace_live_bytes{" P2 ",allocator=\"mimalloc\"} 0\n"
	"arenatrace_live_bytes{" PO ",allocator=\"glibc\"} 524288\n"
	"arenatrace_live_bytes{" PO ",allocator=\"jemalloc\"} 786432\n"
	"# TYPE arenatrace_retained_bytes gauge\n"
	"arenatrace_retained_bytes{" P1 ",allocator=\"glibc\"} 2097152\n"
	"arenatrace_retained_bytes{" P2 ",allocator=\"glibc\"} 1048576\n"
	"arenatrace_retained_bytes{" P2 ",allocator=\"mimalloc\"} 8388608\n"
	"arenatrace_retained_bytes{" PO ",allocator=\"jemalloc\"} 393216\n"
	"# TYPE arenatrace_returned_bytes_total counter\n" RET(P1, "glibc", "1048576", "0", "0",
							       "0", "524288", "0", "0")
		RET(P1, "jemalloc", "0", "8388608", "4194304", "0", "0", "0",
		    "0") RET(P1, "app", "0", "0", "0", "0", "0", "0",
			     "65536") RET(P2, "glibc", "0", "0", "0", "0", "0", "0", "0")
			RET(P2, "mimalloc", "0", "0", "0", "0", "0", "0",
			    "0") RET(PO, "glibc", "2097152", "0", "0", "0", "0", "0", "0")
				RET(PO, "jemalloc", "0", "65536", "0", "0", "0", "0",
				    "0") "# TYPE arenatrace_process_rss_bytes gauge\n"
					 "arenatrace_process_rss_bytes{" P1 "} 314572800\n"
					 "arenatrace_process_rss_bytes{" P2 "} 209715200\n"
					 "arenatrace_process_rss_bytes{" PO "} 209715200\n"
					 "# TYPE arenatrace_process_lazyfree_bytes gauge\n"
					 "arenatrace_process_lazyfree_bytes{" P1 "} 4194304\n"
					 "arenatrace_process_lazyfree_bytes{" P2 "} 0\n"
					 "arenatrace_process_lazyfree_bytes{" PO "} 1048576\n"
					 "# TYPE arenatrace_findings gauge\n"
					 "arenatrace_findings{kind=\"retention_growth\"} 1\n"
					 "arenatrace_findings{kind=\"glibc_untrimmable\"} 2\n"
					 "arenatrace_findings{kind=\"idle_purge\"} 1\n"
					 "# TYPE arenatrace_processes gauge\n"
					 "arenatrace_processes 4\n"
					 "# TYPE arenatrace_events_total counter\n"
					 "arenatrace_events_total 12345\n"
					 "# TYPE arenatrace_drops_total counter\n"
					 "arenatrace_drops_total{reason=\"ringbuf_full\"} 7\n"
					 "arenatrace_drops_total{reason=\"procs_full\"} 0\n"
					 "arenatrace_drops_total{reason=\"heap_stats_full\"} 0\n"
					 "arenatrace_drops_total{reason=\"heap_live_full\"} 3\n"
					 "arenatrace_drops_total{reason=\"stack_id\"} 0\n"
					 "arenatrace_drops_total{reason=\"arena_chunks_full\"} 0\n"
					 "arenatrace_drops_total{reason=\"arena_nest\"} 0\n"
					 "arenatrace_drops_total{reason=\"model_procs_full\"} 1\n"
					 "arenatrace_drops_total{reason=\"segments_full\"} 2\n"
					 "arenatrace_drops_total{reason=\"unattributed\"} 0\n"
					 "arenatrace_drops_total{reason=\"arenas_full\"} 5\n"
					 "arenatrace_drops_total{reason=\"warnings_not_shown\"} 0\n"
					 "# TYPE arenatrace_bpf_run_seconds_total counter\n"
					 "arenatrace_bpf_run_seconds_total 1.500000000\n"
					 "# TYPE arenatrace_bpf_runs_total counter\n"
					 "arenatrace_bpf_runs_total 42\n"
					 "# TYPE arenatrace_cpu_seconds_total counter\n"
					 "arenatrace_cpu_seconds_total 2.500\n"
					 "# TYPE arenatrace_resident_memory_bytes gauge\n"
					 "arenatrace_resident_memory_bytes 16777216\n";

static void test_series(void **state)
{
	char *s, *body;

	(void)state;
	build();
	s = render(&rep, 2);
	body = without_help(s);
	assert_string_equal(body, want);
	free(body);
	free(s);
}

/* Each family: one # HELP and one # TYPE line, in that order, before its samples. */
static void test_help_and_type(void **state)
{
	char *s, *p;
	size_t families = 0;

	(void)state;
	build();
	s = render(&rep, 2);
	for (p = s; (p = strstr(p, "# TYPE ")); p++) {
		char name[96], help[128], *line = p;
		size_t n = strcspn(p + 7, " ");

		assert_true(n < sizeof(name));
		memcpy(name, p + 7, n);
		name[n] = '\0';
		snprintf(help, sizeof(help), "# HELP %s ", name);
		/* The line before is this family's HELP. */
		assert_true(line > s);
		line--;
		while (line > s && line[-1] != '\n')
			line--;
		assert_int_equal(strncmp(line, help, strlen(help)), 0);
		/* No other family of this name. */
		assert_null(strstr(p + 1, help));
		families++;
	}
	assert_int_equal(families, 15);
	free(s);
}

/* Without BPF statistics there are no BPF series; with every process in the top there is
 * no pid="other"; with a top of 0, every process is "other". */
static void test_variants(void **state)
{
	char *s;

	(void)state;
	build();
	rep.health.bpf_stats = false;
	s = render(&rep, 4);
	assert_null(strstr(s, "arenatrace_bpf_run"));
	assert_null(strstr(s, "pid=\"other\""));
	assert_contains(s, "arenatrace_process_rss_bytes{pid=\"50\",comm=\"tiny\"} 104857600\n");
	assert_contains(s, "arenatrace_process_rss_bytes{pid=\"300\",comm=\"batch\"} 104857600\n");
	free(s);

	s = render(&rep, 0);
	assert_null(strstr(s, "pid=\"100\""));
	assert_contains(s, "arenatrace_process_rss_bytes{" PO "} 734003200\n");
	/* glibc of all four: 12 + 3 + 1 + 2 MiB mapped; live 5 + 1 + 0.5 + 0 MiB. */
	assert_contains(s, "arenatrace_mapped_bytes{" PO ",allocator=\"glibc\"} 18874368\n");
	assert_contains(s, "arenatrace_live_bytes{" PO ",allocator=\"glibc\"} 6815744\n");
	assert_null(strstr(s, "arenatrace_retained_bytes{" PO ",allocator=\"glibc\"}"));
	/* mimalloc is P2's alone: its retained stands. */
	assert_contains(s, "arenatrace_retained_bytes{" PO ",allocator=\"mimalloc\"} 8388608\n");
	free(s);

	/* An empty report is still a valid exposition. */
	memset(&rep, 0, sizeof(rep));
	s = render(&rep, 20);
	assert_contains(s, "arenatrace_processes 0\n");
	assert_null(strstr(s, "pid="));
	free(s);
}

static void test_promtool(void **state)
{
	char *s;
	int r;

	(void)state;
	build();
	s = render(&rep, 2);
	r = promtool(s);
	free(s);
	if (r < 0)
		fail_msg("promtool is not installed (Debian's prometheus package, set 'unit')");
	assert_int_equal(r, 0);
}

/* Label values must escape '"', '\\' and newlines; the allocator's is a file name
 * ("libfoo.so.1") for a library that maps memory itself, and it is written as it is. */
static void test_allocator_label_escaped(void **state)
{
	struct rep_alloc a = { .name = "lib\"x.so", .is_allocator = true, .mapped_bytes = 4096 };
	struct rep_proc p = { .pid = 1, .comm = "c", .allocs = &a, .nallocs = 1 };
	struct report r = { .procs = &p, .nprocs = 1 };
	char *s;

	(void)state;
	s = render(&r, 20);
	assert_contains(s, "arenatrace_mapped_bytes{pid=\"1\",comm=\"c\","
			   "allocator=\"lib\\\"x.so\"} 4096\n");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_series),
		cmocka_unit_test(test_help_and_type),
		cmocka_unit_test(test_variants),
		cmocka_unit_test(test_promtool),
		cmocka_unit_test(test_allocator_label_escaped),
	};

	return cmocka_run_group_tests_name("out_prom", tests, NULL, NULL);
}
