// SPDX-License-Identifier: GPL-2.0-only
/*
 * The -C KEY=VALUE capacities and tunables: their table (bounds and help), parsing one,
 * --config-help with the kernel memory the defaults take, and what the loader gets of
 * the options. The rest of the command line is cli.c's.
 */
#include "cli.h"
#include "loader.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct knob {
	const char *key;
	size_t off;
	uint64_t min, max;
	const char *help;
};

static const struct knob knobs[] = {
	{ "ringbuf_bytes", offsetof(struct at_opts, ringbuf_bytes), 4096, 1ull << 30,
	  "ring buffer for syscall and process events (power of two); raise it when "
	  "drops.ringbuf_full is not zero" },
	{ "max_procs", offsetof(struct at_opts, max_procs), 1, 1u << 20,
	  "traced processes, in BPF and in the model; raise it when procs_full is not zero" },
	{ "code_cache", offsetof(struct at_opts, code_cache), 64, 1u << 22,
	  "code addresses whose file and unwind site the kernel remembers (LRU); raise it when "
	  "many processes with many call sites are traced, to save lookups" },
	{ "heap_stats", offsetof(struct at_opts, heap_stats), 16, 1u << 24,
	  "(process, allocator) pairs with heap counters; raise it when heap_stats_full is not "
	  "zero" },
	{ "heap_live", offsetof(struct at_opts, heap_live), 1024, 1u << 26,
	  "live blocks kept for jemalloc and mimalloc, whose size is not in a header (16 bytes "
	  "each, rounded up to a power of two, and an overflow map of a sixteenth of it); raise "
	  "it when heap_live_full is not zero" },
	{ "max_sites", offsetof(struct at_opts, max_sites), 64, 1u << 20,
	  "unwind sites of libc memory wrappers known to the kernel (a few dozen per libc); "
	  "raise it when arenatrace says the map is full" },
	{ "max_segments", offsetof(struct at_opts, max_segs), 16, 1u << 26,
	  "interval-map segments per process; raise it when segments_full is not zero" },
	{ "timeline_max", offsetof(struct at_opts, timeline_max), 0, 1u << 20,
	  "samples kept per process for the timeline (the oldest are dropped and counted)" },
	{ "return_log_max", offsetof(struct at_opts, return_log_max), 0, 1u << 20,
	  "return events listed per allocator (older ones are counted, totals stay exact)" },
	{ "sample_ms", offsetof(struct at_opts, sample_ms), 10, 3600000,
	  "how often residency is read from /proc/PID/pagemap and smaps_rollup; also the "
	  "purge latency's resolution" },
	{ "heap_floor", offsetof(struct at_opts, heap_floor), 0, 1,
	  "1: the heap programs return at once (make bench measures the probes' own cost)" },
	{ "arena_chunks", offsetof(struct at_opts, arena_chunks), 64, 1u << 24,
	  "arena chunks watched in the kernel until their free (when no release function can "
	  "be probed); raise it when arena_chunks_full is not zero" },
	{ "max_arenas", offsetof(struct at_opts, max_arenas), 1, 1u << 20,
	  "arena instances kept per process, live and ended (the oldest ended ones go first)" },
	{ "finding_min_bytes", offsetof(struct at_opts, finding_min_bytes), 0, 1ull << 50,
	  "findings name only retention of at least this many bytes" },
	{ "idle_purge_ms", offsetof(struct at_opts, idle_purge_ms), 1, 1ull << 32,
	  "an allocator holding freed memory this long without returning any is starving "
	  "its purge (finding idle_purge)" },
	{ "prom_top", offsetof(struct at_opts, prom_top), 1, 100000,
	  "--prometheus: processes exported one by one (the largest by RSS); the others are "
	  "summed under pid=\"other\"" },
	{ "text_top", offsetof(struct at_opts, text_top), 0, 1u << 20,
	  "text reports list this many exited processes and arenas per process, the largest "
	  "by bytes, and count the rest in one line (0: all; JSON always has all)" },
	{ "stack_sample_bytes", offsetof(struct at_opts, stack_sample_bytes), 1, 1ull << 31,
	  "--unwind dwarf: take the stack of one allocation per this many bytes allocated, on "
	  "average (an allocation of n bytes with probability n / this; the figures are scaled "
	  "back, unbiased); 1: every allocation, exact figures, at the cost of an 8 KiB stack "
	  "copy and a user-space unwind per call (see docs/performance.md)" },
	{ "growth_samples", offsetof(struct at_opts, growth_samples), 2, 15,
	  "retained memory that rose at this many changes in a row while live did not "
	  "is a finding (retention_growth; the model keeps the last 16 changes)" },
};

int cli_parse_knob(struct at_opts *o, const char *kv, char *err, size_t len)
{
	const char *eq = strchr(kv, '=');
	uint64_t v;

	if (!eq)
		return snprintf(err, len, "malformed -C '%s': expected KEY=VALUE", kv), -EINVAL;
	for (size_t i = 0; i < AT_ARRAY_SIZE(knobs); i++) {
		const struct knob *k = &knobs[i];

		if (strlen(k->key) != (size_t)(eq - kv) || strncmp(kv, k->key, (size_t)(eq - kv)))
			continue;
		if (cli_parse_u64(eq + 1, &v) || v < k->min || v > k->max)
			return snprintf(err, len, "bad value in -C '%s': see --config-help", kv),
			       -EINVAL;
		if (!strcmp(k->key, "ringbuf_bytes") && (v & (v - 1)))
			return snprintf(err, len, "bad value in -C '%s': must be a power of two",
					kv),
			       -EINVAL;
		*(uint64_t *)((char *)o + k->off) = v;
		return 0;
	}
	return snprintf(err, len, "unknown -C key in '%s': see --config-help", kv), -EINVAL;
}

struct loader_opts cli_loader_opts(const struct at_opts *o)
{
	return (struct loader_opts){ .level_os = o->level_os,
				     .level_heap = o->level_heap,
				     .level_arena = o->level_arena,
				     .all = o->all,
				     .stacks = o->stacks > 0,
				     .unwind_rate = o->unwind_dwarf ? o->stack_sample_bytes : 0,
				     .heap_floor = o->heap_floor != 0,
				     .cgroup = o->cgroup,
				     .comms = (const char(*)[16])o->comms,
				     .ncomms = o->ncomms,
				     .ringbuf_bytes = o->ringbuf_bytes,
				     .max_procs = o->max_procs,
				     .code_cache = o->code_cache,
				     .heap_stats = o->heap_stats,
				     .heap_live = o->heap_live,
				     .max_sites = o->max_sites,
				     .arena_chunks = o->arena_chunks };
}

void cli_config_help(FILE *f)
{
	struct at_opts all;
	struct loader_opts lo;
	const char *largest = "?";
	uint64_t need;

	fprintf(f, "Keys for -C KEY=VALUE:\n");
	for (size_t i = 0; i < AT_ARRAY_SIZE(knobs); i++) {
		struct at_opts d;

		cli_defaults(&d);
		fprintf(f, "  %-18s default %-10llu ", knobs[i].key,
			(unsigned long long)*(uint64_t *)((char *)&d + knobs[i].off));
		cli_print_wrapped(f, knobs[i].help, 40);
	}
	cli_defaults(&all);
	all.level_heap = true;
	lo = cli_loader_opts(&all);
	need = loader_kernel_bytes(&lo, (int)sysconf(_SC_NPROCESSORS_CONF), &largest);
	fprintf(f,
		"\nAt these values the BPF maps take about %llu MiB of kernel memory on this\n"
		"host (most for %s). Capacities past an eighth of RAM are refused, naming\n"
		"the cost: kernel memory is not limited by any cgroup, and the OOM killer\n"
		"would stop other processes first.\n",
		(unsigned long long)(need >> 20), largest);
}
