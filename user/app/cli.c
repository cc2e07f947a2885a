// SPDX-License-Identifier: GPL-2.0-only
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arenatrace.h"
#include "exporter.h"

enum {
	OPT_PRETTY = 256,
	OPT_FORMAT,
	OPT_DRY_RUN,
	OPT_CONFIG_HELP,
	OPT_NO_FOLLOW,
	OPT_NO_BOOKS,
	OPT_LEVEL,
	OPT_HIST,
	OPT_STACKS,
	OPT_FOLDED,
	OPT_PPROF,
	OPT_UNWIND,
	OPT_ARENA,
	OPT_COMM,
	OPT_CGROUP,
	OPT_MIN_RSS,
	OPT_PROMETHEUS,
	OPT_TEXTFILE,
	OPT_NDJSON,
	OPT_CHILDREN,
};

struct opt_desc {
	struct option lo;
	int shortopt;
	const char *arg;
	const char *heading; /* starts a new group in --help */
	const char *help;
};

static const struct opt_desc opts[] = {
	{ { "pid", required_argument, NULL, 'p' },
	  'p',
	  "PID",
	  "Targets",
	  "trace a running process (repeatable, or a comma-separated list: -p 12,34); its "
	  "memory from before attach is shown apart" },
	{ { "children", no_argument, NULL, OPT_CHILDREN },
	  0,
	  NULL,
	  NULL,
	  "-p: also trace the targets' descendants running now (a forking server's workers); "
	  "the summary's 'traced:' line lists every process included and why" },
	{ { "all", no_argument, NULL, 'a' },
	  'a',
	  NULL,
	  NULL,
	  "trace every process on the host (os and arena levels; the heap level "
	  "only with --level), new ones from their exec; see the filters below" },
	{ { "comm", required_argument, NULL, OPT_COMM },
	  0,
	  "NAME",
	  NULL,
	  "-a: only processes with this command name (repeatable)" },
	{ { "cgroup", required_argument, NULL, OPT_CGROUP },
	  0,
	  "PATH",
	  NULL,
	  "-a: only processes in this cgroup v2 or below (path in the v2 "
	  "hierarchy, e.g. system.slice/nginx.service)" },
	{ { "min-rss", required_argument, NULL, OPT_MIN_RSS },
	  0,
	  "BYTES",
	  NULL,
	  "-a: report only processes with at least this RSS (K, M, G suffixes)" },
	{ { "no-follow", no_argument, NULL, OPT_NO_FOLLOW },
	  0,
	  NULL,
	  NULL,
	  "do not trace processes forked by the targets" },
	{ { "level", required_argument, NULL, OPT_LEVEL },
	  0,
	  "LIST",
	  "Levels",
	  "levels to trace, comma-separated, or all (default os,arena; "
	  "the allocators' own books are read at every level unless --no-books):\n"
	  "os: memory syscalls (mmap, munmap, brk, madvise...); one BPF "
	  "program per syscall, no trap in the process: always cheap\n"
	  "arena: uprobes on rare functions (arena chunks and resets: "
	  "bumpalo, obstack, --arena; allocator internals): a trap per "
	  "chunk, cheap\n"
	  "heap: malloc/free families; a uprobe trap per call (0.5 to "
	  "1 us each here), counted in the kernel: live, retained bytes" },
	{ { "no-books", no_argument, NULL, OPT_NO_BOOKS },
	  0,
	  NULL,
	  NULL,
	  "do not read the allocators' own books from the processes' memory "
	  "(docs/attach.md); live and retained then need the heap level" },
	{ { "arena", required_argument, NULL, OPT_ARENA },
	  0,
	  "SPEC",
	  NULL,
	  "trace a custom arena (repeatable, arena level):\n"
	  "NAME:alloc=SYM[,size=N][,self=N]\n"
	  "[,free=SYM[,ptr=N]][,reset=SYM]\n"
	  "alloc returns a chunk whose size is argument N (1); self=N "
	  "names the argument that identifies the arena; free releases "
	  "the chunk in argument ptr=N; reset rewinds the arena" },
	{ { "duration", required_argument, NULL, 'd' },
	  'd',
	  "SECONDS",
	  "Timing",
	  "stop after SECONDS and print the summary (default: until Ctrl-C or the targets exit)" },
	{ { "interval", required_argument, NULL, 'i' },
	  'i',
	  "SECONDS",
	  NULL,
	  "print a report every SECONDS (also: positional INTERVAL [COUNT])" },
	{ { "json", no_argument, NULL, 'j' },
	  'j',
	  NULL,
	  "Output",
	  "JSON output, one object per report (schema: docs/json.md)" },
	{ { "format", required_argument, NULL, OPT_FORMAT },
	  0,
	  "text|json",
	  NULL,
	  "output format" },
	{ { "pretty", no_argument, NULL, OPT_PRETTY }, 0, NULL, NULL, "indent JSON for humans" },
	{ { "ndjson", no_argument, NULL, OPT_NDJSON },
	  0,
	  NULL,
	  NULL,
	  "a stream of JSON lines: every event as it comes, and a snapshot "
	  "every -i SECONDS (default 10; docs/json.md)" },
	{ { "prometheus", required_argument, NULL, OPT_PROMETHEUS },
	  0,
	  "[ADDR:]PORT",
	  NULL,
	  "serve Prometheus metrics at http://ADDR:PORT/metrics (ADDR "
	  "defaults to 127.0.0.1); runs until stopped" },
	{ { "textfile", required_argument, NULL, OPT_TEXTFILE },
	  0,
	  "PATH",
	  NULL,
	  "write the Prometheus metrics to PATH (node_exporter's textfile "
	  "collector: a .prom file in its directory) at each -i report and at "
	  "the end, replaced at once (a new file renamed over it)" },
	{ { "hist", no_argument, NULL, OPT_HIST },
	  0,
	  NULL,
	  NULL,
	  "print log2 histograms of allocation sizes and the purge latency, in samples "
	  "(heap level)" },
	{ { "stacks", optional_argument, NULL, OPT_STACKS },
	  0,
	  "[=N]",
	  NULL,
	  "show the N (10) user stacks holding the most live bytes (heap level; "
	  "glibc blocks then go into the live-block table too: slower); symbols from "
	  "debug files, and from debuginfod when DEBUGINFOD_URLS is set" },
	{ { "folded", required_argument, NULL, OPT_FOLDED },
	  0,
	  "FILE",
	  NULL,
	  "write the live bytes by stack to FILE at each report, as folded stacks for flame "
	  "graphs (flamegraph.pl, inferno, speedscope); implies --stacks" },
	{ { "pprof", required_argument, NULL, OPT_PPROF },
	  0,
	  "FILE",
	  NULL,
	  "write the stacks to FILE at each report as a gzipped pprof profile (inuse and "
	  "alloc space and objects; go tool pprof, Pyroscope, Parca); implies --stacks" },
	{ { "unwind", required_argument, NULL, OPT_UNWIND },
	  0,
	  "fp|dwarf",
	  NULL,
	  "how stacks are taken: fp (default), every allocation's by frame pointers in the "
	  "kernel; dwarf, a sample of allocations (one per 512 KiB allocated on average, -C "
	  "stack_sample_bytes) unwound in user space with the binaries' .eh_frame from a copy of "
	  "8 KiB of stack, for code built without frame pointers (figures then are estimates, "
	  "exact at -C stack_sample_bytes=1); implies --stacks" },
	{ { "output", required_argument, NULL, 'o' },
	  'o',
	  "FILE",
	  NULL,
	  "write reports to FILE instead of stdout" },
	{ { "config", required_argument, NULL, 'C' },
	  'C',
	  "KEY=VALUE",
	  "Tuning",
	  "set a capacity or rare knob (see --config-help)" },
	{ { "config-help", no_argument, NULL, OPT_CONFIG_HELP },
	  0,
	  NULL,
	  NULL,
	  "list the -C keys and when to raise them" },
	{ { "dry-run", no_argument, NULL, OPT_DRY_RUN },
	  0,
	  NULL,
	  "Other",
	  "load and verify the BPF programs, attach nothing" },
	{ { "verbose", no_argument, NULL, 'v' },
	  'v',
	  NULL,
	  NULL,
	  "more notes on stderr (repeatable)" },
	{ { "version", no_argument, NULL, 'V' }, 'V', NULL, NULL, "print the version" },
	{ { "help", no_argument, NULL, 'h' }, 'h', NULL, NULL, "print this help" },
};

void cli_defaults(struct at_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->follow = true;
	o->ringbuf_bytes = AT_DEF_RINGBUF_BYTES;
	o->max_procs = AT_DEF_MAX_PROCS;
	o->code_cache = AT_DEF_CODE_CACHE;
	o->heap_stats = AT_DEF_HEAP_STATS;
	o->heap_live = AT_DEF_HEAP_LIVE;
	/* Production defaults: no trap per malloc. The books give live and retained. */
	o->level_os = true;
	o->level_heap = false;
	o->level_arena = true;
	o->books = true;
	o->arena_chunks = AT_DEF_ARENA_CHUNKS;
	o->max_arenas = 256;
	o->finding_min_bytes = 1u << 20;
	o->idle_purge_ms = 10000;
	o->growth_samples = 4;
	o->prom_top = 20;
	o->text_top = 10;
	o->stack_sample_bytes = 512 * 1024;
	o->max_sites = AT_DEF_MAX_SITES;
	o->max_segs = 1u << 20;
	o->timeline_max = 3600;
	o->return_log_max = 256;
	o->sample_ms = 1000;
}

static int fail(char *err, size_t len, const char *fmt, const char *a, const char *b)
{
	snprintf(err, len, fmt, a, b);
	return -EINVAL;
}

static int parse_seconds(const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	/* Written so that NaN fails too. */
	return (errno || end == s || *end || !(*v > 0 && *v <= 1e7)) ? -EINVAL : 0;
}

int cli_parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s == '-')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return (errno || end == s || *end) ? -EINVAL : 0;
}

static int parse_levels(struct at_opts *o, const char *list, char *err, size_t len)
{
	char buf[64], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	o->levels_given = true;
	o->level_os = o->level_heap = o->level_arena = false;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "os"))
			o->level_os = true;
		else if (!strcmp(tok, "heap"))
			o->level_heap = true;
		else if (!strcmp(tok, "arena"))
			o->level_arena = true;
		else if (!strcmp(tok, "all"))
			o->level_os = o->level_arena = o->level_heap = true;
		else
			return fail(err, len, "unknown level '%s'%s: use os, arena, heap or all",
				    tok, "");
	}
	if (!o->level_os && !o->level_heap && !o->level_arena)
		return fail(err, len, "--level needs at least one level%s%s", "", "");
	return 0;
}

/* A byte count with an optional K, M or G suffix (powers of 1024). */
static int parse_bytes(const char *s, uint64_t *v)
{
	char *end;

	if (*s == '-')
		return -EINVAL;
	errno = 0;
	unsigned shift = 0;

	*v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'K':
	case 'k':
		shift = 10;
		end++;
		break;
	case 'M':
	case 'm':
		shift = 20;
		end++;
		break;
	case 'G':
	case 'g':
		shift = 30;
		end++;
		break;
	default:
		break;
	}
	if (*end || *v > UINT64_MAX >> shift) /* a suffix must not wrap the count */
		return -EINVAL;
	*v <<= shift;
	return 0;
}

static bool has_pid(const struct at_opts *o, int pid)
{
	for (size_t i = 0; i < o->npids; i++)
		if (o->pids[i] == pid)
			return true;
	return false;
}

/* One -p value: a PID or a comma-separated list of them. Decimal only, as /proc names them:
 * 010 is ten, 0x10 is no PID. */
static int parse_pids(struct at_opts *o, const char *arg, char *err, size_t len)
{
	for (const char *s = arg;; s++) {
		size_t n = strspn(s, "0123456789");
		char one[16];
		uint64_t v;

		if (!n || n >= sizeof(one) || (s[n] && s[n] != ',') || (s[n] == ',' && !s[n + 1]))
			return fail(err, len, "invalid PID '%s'%s", arg, "");
		memcpy(one, s, n);
		one[n] = '\0';
		if (parse_bytes(one, &v) || v == 0 || v > 4194304)
			return fail(err, len, "invalid PID '%s'%s", arg, "");
		/* The same process given twice is traced once. */
		if (!has_pid(o, (int)v)) {
			if (o->npids == AT_MAX_PIDS)
				return fail(err, len, "too many -p PIDs (at most %s)%s", "64", "");
			o->pids[o->npids++] = (int)v;
		}
		s += n;
		if (!*s)
			return 0;
	}
}

static int arg_number(const char *v, int *out)
{
	if (v[0] < '1' || v[0] > '6' || v[1])
		return -EINVAL;
	*out = v[0] - '0';
	return 0;
}

static int copy_symbol(char *dst, size_t cap, const char *v)
{
	if (!*v || strlen(v) >= cap)
		return -EINVAL;
	snprintf(dst, cap, "%s", v);
	return 0;
}

int cli_parse_arena(const char *spec, struct at_arena_spec *a, char *err, size_t len)
{
	const char *colon = strchr(spec, ':');
	char buf[1024], *tok, *save = NULL;

	memset(a, 0, sizeof(*a));
	a->size_arg = 1;
	if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof(a->name))
		return fail(err, len, "malformed --arena '%s': expected NAME:alloc=SYMBOL,...%s",
			    spec, "");
	memcpy(a->name, spec, (size_t)(colon - spec));
	if (strlen(colon + 1) >= sizeof(buf))
		return fail(err, len, "malformed --arena '%s': too long%s", spec, "");
	snprintf(buf, sizeof(buf), "%s", colon + 1);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		int bad;

		if (!eq)
			return fail(err, len, "malformed --arena '%s': '%s' is not KEY=VALUE", spec,
				    tok);
		*eq = '\0';
		if (!strcmp(tok, "alloc"))
			bad = copy_symbol(a->alloc, sizeof(a->alloc), eq + 1);
		else if (!strcmp(tok, "free"))
			bad = copy_symbol(a->free, sizeof(a->free), eq + 1);
		else if (!strcmp(tok, "reset"))
			bad = copy_symbol(a->reset, sizeof(a->reset), eq + 1);
		else if (!strcmp(tok, "size"))
			bad = arg_number(eq + 1, &a->size_arg);
		else if (!strcmp(tok, "self"))
			bad = arg_number(eq + 1, &a->self_arg);
		else if (!strcmp(tok, "ptr"))
			bad = arg_number(eq + 1, &a->ptr_arg);
		else
			return fail(err, len,
				    "malformed --arena '%s': unknown key '%s' (alloc, size, "
				    "self, free, ptr, reset)",
				    spec, tok);
		if (bad)
			return fail(err, len,
				    "malformed --arena '%s': bad value for '%s' (a symbol, "
				    "or an argument number 1-6)",
				    spec, tok);
	}
	if (!a->alloc[0])
		return fail(err, len, "malformed --arena '%s': alloc=SYMBOL is required%s", spec,
			    "");
	if (a->ptr_arg && !a->free[0])
		return fail(err, len, "malformed --arena '%s': ptr= needs free=SYMBOL%s", spec, "");
	if (!a->ptr_arg)
		a->ptr_arg = a->self_arg == 1 ? 2 : 1;
	if (a->size_arg == a->self_arg)
		return fail(err, len,
			    "malformed --arena '%s': size and self name the same "
			    "argument%s",
			    spec, "");
	return 0;
}

static void build_short(char *buf, size_t len, struct option *lo)
{
	size_t n = 0, i;

	buf[n++] = '+'; /* stop at the first non-option: CMD's own options stay its own */
	for (i = 0; i < AT_ARRAY_SIZE(opts); i++) {
		lo[i] = opts[i].lo;
		if (!opts[i].shortopt || n + 3 >= len)
			continue;
		buf[n++] = (char)opts[i].shortopt;
		if (opts[i].lo.has_arg == required_argument)
			buf[n++] = ':';
	}
	buf[n] = '\0';
	memset(&lo[i], 0, sizeof(lo[i]));
}

int cli_parse(int argc, char **argv, struct at_opts *o, char *err, size_t len)
{
	struct option lo[AT_ARRAY_SIZE(opts) + 1];
	char shortopts[64];
	uint64_t v;
	int c;

	build_short(shortopts, sizeof(shortopts), lo);
	/* 0, not 1: glibc's getopt then forgets all its state, including a pointer into a
	 * previous argv's option cluster (a second parse, as the tests make, would read it). */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_pids(o, optarg, err, len))
				return -EINVAL;
			break;
		case OPT_CHILDREN:
			o->children = true;
			break;
		case 'd':
			if (parse_seconds(optarg, &o->duration_s))
				return fail(err, len, "invalid duration '%s'%s", optarg, "");
			break;
		case 'i':
			if (parse_seconds(optarg, &o->interval_s))
				return fail(err, len, "invalid interval '%s'%s", optarg, "");
			break;
		case 'j':
			o->format = OUT_JSON;
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "json"))
				o->format = OUT_JSON;
			else if (!strcmp(optarg, "text"))
				o->format = OUT_TEXT;
			else
				return fail(err, len, "unknown format '%s'%s: use text or json",
					    optarg, "");
			break;
		case OPT_PRETTY:
			o->pretty = true;
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'C':
			if (cli_parse_knob(o, optarg, err, len))
				return -EINVAL;
			break;
		case OPT_CONFIG_HELP:
			o->config_help = true;
			break;
		case OPT_DRY_RUN:
			o->dry_run = true;
			break;
		case OPT_NO_BOOKS:
			o->books = false;
			break;
		case OPT_NO_FOLLOW:
			o->follow = false;
			break;
		case OPT_LEVEL:
			if (parse_levels(o, optarg, err, len))
				return -EINVAL;
			break;
		case OPT_HIST:
			o->hist = true;
			break;
		case 'a':
			o->all = true;
			break;
		case OPT_COMM:
			if (o->ncomms == AT_MAX_COMMS)
				return fail(err, len, "too many --comm options (at most %s)%s",
					    "64", "");
			if (!*optarg || strlen(optarg) > 15)
				return fail(err, len,
					    "invalid --comm '%s'%s: 1 to 15 characters, as in "
					    "/proc/PID/comm",
					    optarg, "");
			snprintf(o->comms[o->ncomms++], 16, "%s", optarg);
			break;
		case OPT_CGROUP:
			o->cgroup = optarg;
			break;
		case OPT_MIN_RSS:
			if (parse_bytes(optarg, &o->min_rss))
				return fail(err, len,
					    "invalid --min-rss '%s'%s: bytes, or with K, M, G",
					    optarg, "");
			break;
		case OPT_PROMETHEUS: {
			uint32_t ip;
			uint16_t port;

			if (exporter_parse_addr(optarg, &ip, &port))
				return fail(err, len,
					    "invalid --prometheus '%s'%s: expected [ADDR:]PORT",
					    optarg, "");
			o->prometheus = optarg;
			break;
		}
		case OPT_TEXTFILE:
			if (!*optarg)
				return fail(err, len, "--textfile needs a path%s%s", "", "");
			o->textfile = optarg;
			break;
		case OPT_NDJSON:
			o->ndjson = true;
			break;
		case OPT_ARENA:
			if (o->narenas == AT_MAX_ARENA_SPECS)
				return fail(err, len, "too many --arena options (at most %s)%s",
					    "8", "");
			if (cli_parse_arena(optarg, &o->arenas[o->narenas++], err, len))
				return -EINVAL;
			break;
		case OPT_STACKS:
			o->stacks = 10;
			if (optarg && (cli_parse_u64(optarg, &v) || !v || v > 1000))
				return fail(err, len, "invalid --stacks count '%s'%s", optarg, "");
			if (optarg)
				o->stacks = (long)v;
			break;
		case OPT_FOLDED:
			o->folded = optarg;
			break;
		case OPT_PPROF:
			o->pprof = optarg;
			break;
		case OPT_UNWIND:
			if (strcmp(optarg, "fp") && strcmp(optarg, "dwarf"))
				return fail(err, len, "invalid --unwind '%s'%s", optarg,
					    ": fp or dwarf");
			o->unwind_dwarf = !strcmp(optarg, "dwarf");
			break;
		case 'v':
			o->verbose++;
			break;
		case 'V':
			o->version = true;
			break;
		case 'h':
			o->help = true;
			break;
		default:
			if (optopt && optopt < 256)
				snprintf(err, len, "option '-%c' %s", optopt,
					 strchr(shortopts, optopt) ? "needs a value"
								   : "is unknown");
			else
				snprintf(err, len, "unknown or incomplete option '%s'",
					 argv[optind - 1]);
			return -EINVAL;
		}
	}
	if ((o->folded || o->pprof || o->unwind_dwarf) && !o->level_heap)
		return fail(err, len, "--folded, --pprof and --unwind need the heap level%s%s",
			    " (--level all)", "");
	if ((o->folded || o->pprof || o->unwind_dwarf) && !o->stacks)
		o->stacks = 10;
	if (optind < argc && !strcmp(argv[optind - 1], "--")) {
		o->cmd = &argv[optind];
		return (o->help || o->version || o->config_help || (!o->npids && !o->all))
			       ? 0
			       : fail(err, len, "give one of -a, -p PID and -- CMD%s%s", "", "");
	}
	/* Positional INTERVAL [COUNT], as in vmstat and the bcc tools. */
	if (optind < argc) {
		if (parse_seconds(argv[optind], &o->interval_s))
			return fail(err, len, "invalid interval '%s'%s", argv[optind], "");
		optind++;
	}
	if (optind < argc) {
		if (cli_parse_u64(argv[optind], &v) || !v)
			return fail(err, len, "invalid count '%s'%s", argv[optind], "");
		o->count = (long)v;
		optind++;
	}
	if (optind < argc)
		return fail(err, len, "unexpected argument '%s'%s (a command goes after --)",
			    argv[optind], "");
	if (o->all && o->npids)
		return fail(err, len, "give one of -a, -p PID and -- CMD%s%s", "", "");
	if (o->children && !o->npids)
		return fail(err, len, "--children needs -p PID%s%s", "", "");
	if (!o->all && (o->ncomms || o->cgroup || o->min_rss))
		return fail(err, len, "--comm, --cgroup and --min-rss filter -a%s%s", "", "");
	if (o->ndjson && o->interval_s <= 0)
		o->interval_s = 10; /* a snapshot every 10 s */
	if (!o->help && !o->version && !o->config_help && !o->dry_run && !o->npids && !o->all)
		return fail(err, len, "nothing to trace: give -a, -p PID or -- CMD%s%s", "", "");
	return 0;
}

/* Help text in a right column starting at indent: lines of at most 80 columns, broken at
 * spaces (and where the text has a newline), continuation lines under the first. */
void cli_print_wrapped(FILE *f, const char *text, size_t indent)
{
	const size_t width = 80 - indent;
	size_t col = 0;

	while (*text) {
		size_t word = strcspn(text, " \n");

		if (col && col + 1 + word > width) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = 0;
		} else if (col) {
			fputc(' ', f);
			col++;
		}
		fwrite(text, 1, word, f);
		col += word;
		text += word;
		if (*text == '\n') {
			fprintf(f, "\n%*s", (int)indent, "");
			col = 0;
		}
		if (*text)
			text++;
	}
	fputc('\n', f);
}

void cli_help(FILE *f)
{
	fprintf(f,
		"Usage: arenatrace [OPTIONS] -p PID [INTERVAL [COUNT]]\n"
		"       arenatrace [OPTIONS] -- CMD [ARGS...]\n"
		"       arenatrace -a [--comm NAME] [--cgroup PATH] [--min-rss BYTES]\n"
		"                  [--prometheus [ADDR:]PORT | --ndjson] [OPTIONS]\n"
		"       arenatrace diff A.json B.json [C.json...]   (runs side by side)\n"
		"       arenatrace report RUN.json [RUN2.json...] [-o FILE.html]\n"
		"                  (one self-contained HTML page: timelines per allocator, "
		"returns,\n"
		"                  findings, a flame graph of --stacks; several runs side by "
		"side)\n\n"
		"Shows, per process and per memory allocator, the address space taken from\n"
		"the OS, how much of it is resident, and every time memory went back to the\n"
		"OS and how (munmap, MADV_DONTNEED, MADV_FREE, brk shrink, mremap, PROT_NONE).\n\n"
		"The allocators' own books, read from the process without a probe (glibc,\n"
		"jemalloc, mimalloc, CPython's pymalloc), give what the application really holds "
		"(live) and what\n"
		"each allocator keeps unused (retained), memory from before attach included.\n"
		"With the arena level (default), arenas' chunks (bumpalo, obstack, custom),\n"
		"allocator internals, and findings that explain retention in plain words.\n"
		"With the heap level (--level all), exact per-call counts, size histograms\n"
		"and allocation stacks, at a trap per malloc and free.\n");
	for (size_t i = 0; i < AT_ARRAY_SIZE(opts); i++) {
		const struct opt_desc *d = &opts[i];
		char left[48];

		if (d->heading)
			fprintf(f, "\n%s:\n", d->heading);
		if (d->shortopt)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", d->shortopt, d->lo.name,
				 d->arg ? " " : "", d->arg ? d->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", d->lo.name,
				 d->arg && strncmp(d->arg, "[=", 2) ? " " : "",
				 d->arg ? d->arg : "");
		fprintf(f, "  %-26s ", left);
		cli_print_wrapped(f, d->help, 29);
	}
	fprintf(f,
		"\nExit status:\n"
		"  0 success, 1 runtime failure (also: the --prometheus address is in use),\n"
		"  2 usage error, 3 bad target (no such process, kernel thread, command cannot\n"
		"  run, no such --cgroup), 4 missing privileges (CAP_BPF and CAP_PERFMON, or\n"
		"  root), 5 missing kernel feature, 6 a -p target exited before the end of the\n"
		"  trace (the summary is still printed). With -- CMD, once the command ran:\n"
		"  its status (128 + N for a signal N), unless arenatrace failed itself.\n"
		"  diff and report: 2 for a file that is no arenatrace JSON report, 1 for a\n"
		"  file that cannot be read or an output that cannot be written.\n"
		"\nEXAMPLES:\n"
		"  sudo arenatrace -p 1234 -d 30        # 30 s, then one summary\n"
		"  sudo arenatrace -p 1234 5 12         # a report every 5 s, 12 times\n"
		"  sudo arenatrace -p 1234 --children   # a forking server and its workers\n"
		"  sudo arenatrace -j -o out.json -- ./server --port 8080\n"
		"  arenatrace report out.json -o report.html   # the run as a page\n"
		"  sudo arenatrace -C ringbuf_bytes=16777216 -p 1234\n"
		"  sudo arenatrace --arena pool:alloc=pool_grow,size=2,self=1,reset=pool_reset \\\n"
		"       -p 1234\n"
		"  sudo arenatrace --level heap --unwind dwarf --pprof heap.pb.gz -p 1234\n"
		"                                       # stacks of -O2 and Rust code\n"
		"  sudo arenatrace -a --prometheus 9464  # the whole host, for Prometheus\n"
		"  sudo arenatrace -a --comm nginx --ndjson -o /var/log/arenatrace.ndjson\n");
}
