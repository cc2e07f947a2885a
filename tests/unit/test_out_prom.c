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
					  .rss_bytes = 16 * MiB,
					  .vm_bytes = 64 * MiB,
					  .start_time_s = 1700000000.5,
					  .open_fds = 12,
					  .max_fds = 1024 };
}

/* Renders r with o, an output kept from one report to the next (its counters). */
static char *render_with(struct out *o, const struct report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	o->f = f;
	assert_int_equal(out_report(o, r, false), 0);
	fclose(f);
	return buf;
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
	out_close(&o);
	fclose(f);
	return buf;
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
#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
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
					 "arenatrace_drops_total{reason=\"ustack\"} 0\n"
					 "arenatrace_drops_total{reason=\"exit_vmas\"} 0\n"
					 "arenatrace_drops_total{reason=\"model_procs_full\"} 1\n"
					 "arenatrace_drops_total{reason=\"segments_full\"} 2\n"
					 "arenatrace_drops_total{reason=\"unattributed\"} 0\n"
					 "arenatrace_drops_total{reason=\"arenas_full\"} 5\n"
					 "arenatrace_drops_total{reason=\"warnings_not_shown\"} 0\n"
					 "# TYPE arenatrace_bpf_run_seconds_total counter\n"
					 "arenatrace_bpf_run_seconds_total 1.500000000\n"
					 "# TYPE arenatrace_bpf_runs_total counter\n"
					 "arenatrace_bpf_runs_total 42\n"
					 "# TYPE process_cpu_seconds_total counter\n"
					 "process_cpu_seconds_total 2.500\n"
					 "# TYPE process_resident_memory_bytes gauge\n"
					 "process_resident_memory_bytes 16777216\n";

/* The families above, whose lines this test checks in full; the others have tests of
 * their own below. */
static const char *const checked[] = {
	"arenatrace_mapped_bytes",
	"arenatrace_resident_bytes",
	"arenatrace_live_bytes",
	"arenatrace_retained_bytes",
	"arenatrace_returned_bytes_total",
	"arenatrace_process_rss_bytes",
	"arenatrace_process_lazyfree_bytes",
	"arenatrace_findings",
	"arenatrace_processes",
	"arenatrace_events_total",
	"arenatrace_drops_total",
	"arenatrace_bpf_run_seconds_total",
	"arenatrace_bpf_runs_total",
	"process_cpu_seconds_total",
	"process_resident_memory_bytes",
	NULL,
};

/* The lines of s of the families named (samples and # TYPE lines). */
static char *only(const char *s, const char *const *names)
{
	char *out = calloc(1, strlen(s) + 1), *o = out;

	assert_non_null(out);
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) + 1 : strlen(s);
		const char *name = strncmp(s, "# TYPE ", 7) ? s : s + 7;
		size_t len = strcspn(name, "{ \n");

		for (const char *const *k = names; *k; k++) {
			if (strlen(*k) == len && !strncmp(name, *k, len)) {
				memcpy(o, s, n);
				o += n;
				break;
			}
		}
		s += n;
	}
	return out;
}

static void test_series(void **state)
{
	char *s, *body;

	(void)state;
	build();
	s = render(&rep, 2);
	body = only(s, checked);
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
	assert_int_equal(families, 24);
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

/* Whose memory: the cgroup, unit and container of an exported process label its series
 * (escaped, empty ones left out), and its findings carry them with the allocator. */
static void test_labels_and_findings(void **state)
{
	char *s;

	(void)state;
	build();
	procs[1].cgroup = "/system.slice/docker-" ID64 ".scope";
	procs[1].unit = "docker-" ID64 ".scope";
	procs[1].container = ID64;
	procs[3].cgroup = "/a\"b\\c";
	procs[3].unit = "";
	procs[3].container = "";
	f1[0].bytes = 3 * MiB;
	f2[0].bytes = 1 * MiB;
	snprintf(f1[1].allocator, sizeof(f1[1].allocator), "je\"x");
	f1[1].bytes = 12 * MiB;
	s = render(&rep, 2);
	assert_contains(s, "arenatrace_mapped_bytes{" P1 ",cgroup=\"/system.slice/docker-" ID64
			   ".scope\",unit=\"docker-" ID64 ".scope\",container=\"" ID64
			   "\",allocator=\"glibc\"} 12582912\n");
	assert_contains(s,
			"arenatrace_process_rss_bytes{" P2 ",cgroup=\"/a\\\"b\\\\c\"} 209715200\n");
	assert_contains(s, "arenatrace_finding_bytes{" P1 ",cgroup=\"/system.slice/docker-" ID64
			   ".scope\",unit=\"docker-" ID64 ".scope\",container=\"" ID64
			   "\",allocator=\"glibc\",kind=\"glibc_untrimmable\"} 3145728\n");
	assert_contains(s, ",allocator=\"je\\\"x\",kind=\"idle_purge\"} 12582912\n");
	assert_contains(s, "arenatrace_finding_bytes{" P2
			   ",cgroup=\"/a\\\"b\\\\c\",allocator=\"glibc\""
			   ",kind=\"glibc_untrimmable\"} 1048576\n");
	/* The others' findings are counted by kind only (retention_growth is P3's). */
	assert_null(strstr(s, "arenatrace_finding_bytes{pid=\"300\""));
	assert_null(strstr(s, "kind=\"retention_growth\"} 0"));
	assert_contains(s, "arenatrace_findings{kind=\"retention_growth\"} 1\n");
	assert_int_equal(promtool(s), 0);
	free(s);
}

/* The heap level's histograms, cumulative: request sizes at every other power of two
 * (le 2^(k+1) - 1 bytes, no _sum); purge latency in the slots of its resolution, one sample
 * (le sample_ms << k, in seconds, for the first 12 slots, then +Inf), with the sum of bytes
 * times latency. */
static void test_histograms(void **state)
{
	char *s;

	(void)state;
	build();
	a1[0].hist[0] = 1;		    /* 0 or 1 byte */
	a1[0].hist[3] = 2;		    /* 8..15 */
	a1[0].hist[4] = 4;		    /* 16..31 */
	a1[0].hist[10] = 8;		    /* 1024..2047 */
	a1[0].hist[40] = 16;		    /* beyond 1 GiB: +Inf only */
	a1[0].purge_latency_hist[0] = 4096; /* within one sample */
	a1[0].purge_latency_hist[5] = 8192; /* 16 to 32 samples: 3.2 to 6.4 s */
	a1[0].purge_latency_hist[39] = 1;   /* the last slot */
	a1[0].purge_latency_byte_seconds = 12288.25;
	rep.sample_ms = 200;
	s = render(&rep, 2);
#define H1 "{" P1 ",allocator=\"glibc\""
	assert_contains(s, "arenatrace_request_size_bytes_bucket" H1 ",le=\"15\"} 3\n"
			   "arenatrace_request_size_bytes_bucket" H1 ",le=\"63\"} 7\n"
			   "arenatrace_request_size_bytes_bucket" H1 ",le=\"255\"} 7\n"
			   "arenatrace_request_size_bytes_bucket" H1 ",le=\"1023\"} 7\n"
			   "arenatrace_request_size_bytes_bucket" H1 ",le=\"4095\"} 15\n");
	assert_contains(s, "arenatrace_request_size_bytes_bucket" H1 ",le=\"1073741823\"} 15\n"
			   "arenatrace_request_size_bytes_bucket" H1 ",le=\"+Inf\"} 31\n"
			   "arenatrace_request_size_bytes_count" H1 "} 31\n");
	assert_contains(s, "arenatrace_purge_latency_seconds_bucket" H1 ",le=\"0.2\"} 4096\n"
			   "arenatrace_purge_latency_seconds_bucket" H1 ",le=\"0.4\"} 4096\n");
	assert_contains(s, "arenatrace_purge_latency_seconds_bucket" H1 ",le=\"3.2\"} 4096\n"
			   "arenatrace_purge_latency_seconds_bucket" H1 ",le=\"6.4\"} 12288\n");
	assert_contains(s, "arenatrace_purge_latency_seconds_bucket" H1 ",le=\"409.6\"} 12288\n"
			   "arenatrace_purge_latency_seconds_bucket" H1 ",le=\"+Inf\"} 12289\n"
			   "arenatrace_purge_latency_seconds_sum" H1 "} 12288.250000\n"
			   "arenatrace_purge_latency_seconds_count" H1 "} 12289\n");
	/* jemalloc of P1 has the heap level too (all zero); the program's own memory has
	 * none, and pid="other" has no counts: no histogram. */
	assert_contains(s,
			"arenatrace_request_size_bytes_count{" P1 ",allocator=\"jemalloc\"} 0\n");
	assert_null(strstr(s, "arenatrace_request_size_bytes_count{" P1 ",allocator=\"app\"}"));
	assert_null(strstr(s, "arenatrace_request_size_bytes_count{" PO));
	assert_int_equal(promtool(s), 0);
	free(s);
}

/* build_info and arenatrace's own process under the client libraries' names. */
static void test_conventions(void **state)
{
	char *s;

	(void)state;
	build();
	s = render(&rep, 2);
	assert_contains(s, "\narenatrace_build_info{version=\"0.1.0\",abi=\"");
	assert_contains(s, "\",kernel=\"6.18.0-test\"} 1\n");
	assert_contains(s, "\nprocess_virtual_memory_bytes 67108864\n");
	assert_contains(s, "\nprocess_start_time_seconds 1700000000.50\n");
	assert_contains(s, "\nprocess_open_fds 12\n");
	assert_contains(s, "\nprocess_max_fds 1024\n");
	assert_null(strstr(s, "arenatrace_cpu_seconds_total"));
	free(s);
	rep.health.start_time_s = 0;
	rep.health.max_fds = 0;
	s = render(&rep, 2);
	assert_null(strstr(s, "process_start_time_seconds"));
	assert_null(strstr(s, "process_open_fds"));
	free(s);
}

/* The value of the sample named by line's start (name{labels}), or -1 when absent. */
static double sample(const char *s, const char *key)
{
	char line[512];
	const char *p;

	snprintf(line, sizeof(line), "\n%s ", key);
	p = strstr(s, line);
	return p ? atof(p + strlen(line)) : -1;
}

#define MUNMAP(labels, alloc)                                                                      \
	"arenatrace_returned_bytes_total{" labels ",allocator=\"" alloc "\",kind=\"munmap\"}"

/* Counters never fall, whatever moves in and out of the top: one output kept across
 * reports while P1 and P3 trade places, P2 exits and P1 execs. Every byte returned is in
 * exactly one series: the sum over the series is the processes' own total. */
static void test_counters_never_fall(void **state)
{
	const struct out_meta meta = { .version = "0.1.0", .prom_top = 1 };
	struct rep_alloc x[1], y[1], z[1];
	struct rep_proc p[3];
	struct report r = { 0 };
	struct out o;
	char *s;

	(void)state;
	memset(x, 0, sizeof(x));
	memset(y, 0, sizeof(y));
	memset(z, 0, sizeof(z));
	x[0] = (struct rep_alloc){ .name = "glibc", .is_allocator = true };
	y[0] = x[0];
	z[0] = x[0];
	p[0] = (struct rep_proc){ .pid = 1,
				  .comm = "a",
				  .rss_bytes = 30,
				  .allocs = x,
				  .nallocs = 1 };
	p[1] = (struct rep_proc){ .pid = 2,
				  .comm = "b",
				  .rss_bytes = 20,
				  .allocs = y,
				  .nallocs = 1 };
	p[2] = (struct rep_proc){ .pid = 3,
				  .comm = "c",
				  .rss_bytes = 10,
				  .allocs = z,
				  .nallocs = 1 };
	r.procs = p;
	r.nprocs = 3;
	out_init(&o, OUT_PROM, NULL, false, &meta);

	/* 1: P1 on top with 100 returned; P2 (40) and P3 (5) among the others. */
	x[0].ret_bytes[AT_RET_MUNMAP] = 100;
	y[0].ret_bytes[AT_RET_MUNMAP] = 40;
	z[0].ret_bytes[AT_RET_MUNMAP] = 5;
	s = render_with(&o, &r);
	assert_true(sample(s, MUNMAP("pid=\"1\",comm=\"a\"", "glibc")) == 100);
	assert_true(sample(s, MUNMAP(PO, "glibc")) == 45);
	free(s);

	/* 2: P3 grows past P1 (110 returned); P1 (now 130) falls among the others. The
	 * others do not lose P3's 5 (it stays there) and gain P1's 30 and P2's 2; P3's own
	 * series counts what it returned since it came to the top. P1's own series ended:
	 * it stays, frozen at 100, until a scraper has read it. */
	p[2].rss_bytes = 50;
	x[0].ret_bytes[AT_RET_MUNMAP] = 130;
	y[0].ret_bytes[AT_RET_MUNMAP] = 42;
	z[0].ret_bytes[AT_RET_MUNMAP] = 110;
	s = render_with(&o, &r);
	assert_true(sample(s, MUNMAP("pid=\"3\",comm=\"c\"", "glibc")) == 105);
	assert_true(sample(s, MUNMAP(PO, "glibc")) == 45 + 30 + 2);
	assert_true(sample(s, MUNMAP("pid=\"1\",comm=\"a\"", "glibc")) == 100);
	/* No gauge for an ended series. */
	assert_null(strstr(s, "arenatrace_mapped_bytes{pid=\"1\""));
	/* 105 + 77 + P1's 100 = 130 + 42 + 110, all there is. */
	free(s);
	o.reads = 1; /* a scrape, maybe of the text before */
	s = render_with(&o, &r);
	assert_true(sample(s, MUNMAP("pid=\"1\",comm=\"a\"", "glibc")) == 100);
	free(s);
	o.reads = 2; /* read since: the series ends */
	s = render_with(&o, &r);
	assert_true(sample(s, MUNMAP("pid=\"1\",comm=\"a\"", "glibc")) == -1);
	free(s);

	/* 3: P2 exits and is gone from the report (its 42 stay with the others); P1 comes
	 * back to the top: its series goes on from its own 100, plus what it returned since
	 * (10), not what went to the others. */
	p[1] = p[2];
	r.nprocs = 2;
	p[0].rss_bytes = 90;
	x[0].ret_bytes[AT_RET_MUNMAP] = 140;
	p[1].allocs = z;
	z[0].ret_bytes[AT_RET_MUNMAP] = 111;
	s = render_with(&o, &r);
	assert_true(sample(s, MUNMAP("pid=\"1\",comm=\"a\"", "glibc")) == 110);
	assert_true(sample(s, MUNMAP(PO, "glibc")) == 78); /* + P3's 1 */
	/* P3 left the top: frozen at its 105 until read. */
	assert_true(sample(s, MUNMAP("pid=\"3\",comm=\"c\"", "glibc")) == 105);
	free(s);

	/* 4: P1 execs: its counters restart from 0 (7 since the exec); its series goes on
	 * and grows by 7, never falls. */
	p[0].execs = 1;
	p[0].comm = "a";
	x[0].ret_bytes[AT_RET_MUNMAP] = 7;
	s = render_with(&o, &r);
	assert_true(sample(s, MUNMAP("pid=\"1\",comm=\"a\"", "glibc")) == 117);
	assert_true(sample(s, MUNMAP(PO, "glibc")) == 78);
	free(s);

	/* 5: nobody left: the carry's series stays, with no gauges. */
	r.nprocs = 0;
	s = render_with(&o, &r);
	assert_true(sample(s, MUNMAP(PO, "glibc")) == 78);
	assert_null(strstr(s, "arenatrace_mapped_bytes{"));
	assert_int_equal(promtool(s), 0);
	free(s);
	out_close(&o);
	assert_null(o.priv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_series),
		cmocka_unit_test(test_help_and_type),
		cmocka_unit_test(test_variants),
		cmocka_unit_test(test_promtool),
		cmocka_unit_test(test_allocator_label_escaped),
		cmocka_unit_test(test_labels_and_findings),
		cmocka_unit_test(test_histograms),
		cmocka_unit_test(test_conventions),
		cmocka_unit_test(test_counters_never_fall),
	};

	return cmocka_run_group_tests_name("out_prom", tests, NULL, NULL);
}
