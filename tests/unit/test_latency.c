// SPDX-License-Identifier: GPL-2.0-only
/* Purge latency (docs/design.md, "Purge latency"): bytes the application freed (heap
 * counters, stamped at the sample that saw them) matched first in, first out with the
 * returns to the OS (munmap, madvise, brk shrink, mremap shrink, decommit records), into
 * slots of the sample interval (its resolution: one interval, then doublings of it), and
 * purge_unmatched_bytes. Fed through model_apply, model_heap_add
 * and model_track_retention; the expected slots are computed from the times fed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sys/mman.h>

#include "model_helpers.h"

#define PID FAKE_PID
#define BASE 0x7f0000000000ull
#define BRK 0x100000000000ull
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define RW (PROT_READ | PROT_WRITE)
#define JE "libjemalloc.so.2"

/* The sample interval: the latency's resolution. */
#define SAMPLE (10 * MS)

/* jemalloc holding 8 MiB at BASE, mapped at 1 ms. */
static struct model *new_model(void)
{
	struct model_limits lim = { .max_procs = 4,
				    .max_segs = 1024,
				    .return_log_max = 8,
				    .sample_ms = SAMPLE / MS };
	struct model *m = th_model(&lim, PID);

	th_sys(m, PID, 1 * MS, AT_SYS_MMAP, JE, 0, 8 * MiB, RW, ANON, BASE);
	return m;
}

/* A sample at t: the heap counters of one allocator (cumulative bytes freed), then the
 * matching. */
static void sample(struct model *m, uint64_t t, const char *alloc, uint64_t freed)
{
	struct th_heap_fig h = { alloc, th_heap(64 * MiB, freed) };

	th_heap_refresh(m, PID, t, &h, 1);
}

static void madv(struct model *m, uint64_t t, uint64_t addr, uint64_t len, int advice)
{
	th_sys(m, PID, t, AT_SYS_MADVISE, JE, addr, len, (uint64_t)advice, 0, 0);
}

/* The slot of a latency: 0 below one sample interval, then k for [2^(k-1), 2^k) whole
 * intervals, the last open. */
static uint32_t lat_slot(uint64_t ns)
{
	uint64_t n = ns / SAMPLE;
	uint32_t slot = 0;

	while (n) {
		n >>= 1;
		slot++;
	}
	return slot < AT_LAT_SLOTS ? slot : AT_LAT_SLOTS - 1;
}

static const struct rep_alloc *alloc_at(struct model *m, uint64_t t, const char *name)
{
	const struct report *r = model_report(m, t);
	const struct rep_alloc *a;

	assert_non_null(r);
	a = th_alloc(th_rep_proc(r, PID), name);
	assert_non_null(a);
	return a;
}

static uint64_t sum(const uint64_t *h, size_t n)
{
	uint64_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += h[i];
	return s;
}

/* Returns take from the oldest frees first; a return split over two frees lands in two
 * slots; returns beyond every byte freed are unmatched; a return in the same sample
 * interval as its free (before the sample that saw the free) counts 0. */
static void test_fifo_matching(void **state)
{
	const uint64_t t1 = 10 * MS, r1 = 15 * MS, t2 = 20 * MS, r2 = 120 * MS, r3 = 121 * MS,
		       t3 = 130 * MS, r4 = 190 * MS, t4 = 200 * MS;
	uint64_t want[AT_LAT_SLOTS] = { 0 };
	struct model *m = new_model();
	const struct rep_alloc *a;

	(void)state;
	sample(m, t1, "jemalloc", 1 * MiB); /* F1: 1 MiB at t1 */
	th_sys(m, PID, r1, AT_SYS_MUNMAP, JE, BASE, 768 * KiB, 0, 0, 0);
	sample(m, t2, "jemalloc", 1 * MiB + 512 * KiB); /* F2: 512 KiB at t2 */
	want[lat_slot(r1 - t1)] += 768 * KiB;		/* F1 has 256 KiB left */
	a = alloc_at(m, t2, "jemalloc");
	assert_int_equal(lat_slot(r1 - t1), 0); /* 5 ms: within one sample */
	assert_memory_equal(a->purge_latency_hist, want, sizeof(want));
	assert_int_equal(a->purge_unmatched_bytes, 0);

	madv(m, r2, BASE + 1 * MiB, 512 * KiB, MADV_DONTNEED);
	madv(m, r3, BASE + 2 * MiB, 512 * KiB, MADV_FREE);
	sample(m, t3, "jemalloc", 1 * MiB + 512 * KiB); /* nothing freed since t2 */
	want[lat_slot(r2 - t1)] += 256 * KiB;		/* the rest of F1 */
	want[lat_slot(r2 - t2)] += 256 * KiB;		/* half of F2 */
	want[lat_slot(r3 - t2)] += 256 * KiB;		/* the other half */
	a = alloc_at(m, t3, "jemalloc");
	assert_int_equal(lat_slot(r2 - t1), 4); /* 110 ms: [80, 160) ms, 8 to 16 samples */
	assert_int_equal(lat_slot(r3 - t2), 4); /* 101 ms */
	assert_memory_equal(a->purge_latency_hist, want, sizeof(want));
	assert_int_equal(a->purge_unmatched_bytes, 256 * KiB); /* r3's second half */

	/* Returned at r4, freed within the same interval: seen by the sample at t4. */
	th_sys(m, PID, r4, AT_SYS_MUNMAP, JE, BASE + 3 * MiB, 256 * KiB, 0, 0, 0);
	sample(m, t4, "jemalloc", 1 * MiB + 768 * KiB);
	want[0] += 256 * KiB;
	a = alloc_at(m, t4, "jemalloc");
	assert_memory_equal(a->purge_latency_hist, want, sizeof(want));
	assert_int_equal(a->purge_unmatched_bytes, 256 * KiB);
	assert_int_equal(sum(a->purge_latency_hist, AT_LAT_SLOTS) + a->purge_unmatched_bytes,
			 768 * KiB + 512 * KiB + 512 * KiB + 256 * KiB);
	model__free(m);
}

/* Slot edges: whole sample intervals (10 ms here), 9.999 ms in slot 0, 10 ms in slot 1,
 * 20 ms in slot 2, the last slot takes everything beyond it; model_lat_bounds names them in
 * ms. Each return matches the free of the sample just before. The histogram never claims
 * a resolution finer than the sample (issue 13, item 10: it showed a 0 -> 1 us bucket). */
static void test_slot_edges(void **state)
{
	static const struct {
		uint64_t lat_ns;
		uint32_t slot;
	} cases[] = {
		{ 0, 0 },
		{ SAMPLE - 1, 0 },
		{ SAMPLE, 1 },
		{ 2 * SAMPLE - 1, 1 },
		{ 2 * SAMPLE, 2 },
		{ 1023 * SAMPLE, 10 },
		{ 1024 * SAMPLE, 11 },
		{ (1ull << 38) * SAMPLE, 39 },
		{ (1ull << 39) * SAMPLE, 39 },
	};
	static const struct {
		uint32_t slot;
		uint64_t low, high;
	} bounds[] = {
		{ 0, 0, 10 },
		{ 1, 10, 20 },
		{ 2, 20, 40 },
		{ 11, 10240, 20480 },
		{ 39, 10ull << 38, UINT64_MAX },
	};
	uint64_t want[AT_LAT_SLOTS] = { 0 }, t = 10 * MS, freed = 0;
	struct model *m = new_model();
	const struct rep_alloc *a;

	(void)state;
	for (size_t i = 0; i < AT_ARRAY_SIZE(cases); i++) {
		uint64_t bytes = (i + 1) * 64 * KiB;

		assert_int_equal(lat_slot(cases[i].lat_ns), cases[i].slot);
		freed += bytes;
		sample(m, t, "jemalloc", freed);
		madv(m, t + cases[i].lat_ns, BASE, bytes, MADV_DONTNEED);
		t += cases[i].lat_ns + 1 * MS;
		want[cases[i].slot] += bytes;
	}
	sample(m, t, "jemalloc", freed);
	a = alloc_at(m, t, "jemalloc");
	assert_memory_equal(a->purge_latency_hist, want, sizeof(want));
	assert_int_equal(a->purge_unmatched_bytes, 0);
	assert_int_equal(model_report(m, t)->sample_ms, SAMPLE / MS);
	for (size_t i = 0; i < AT_ARRAY_SIZE(bounds); i++) {
		uint64_t low, high;

		model_lat_bounds(bounds[i].slot, SAMPLE / MS, &low, &high);
		assert_int_equal(low, bounds[i].low);
		assert_int_equal(high, bounds[i].high);
	}
	model__free(m);
}

/* Every kind of return counts: brk shrink (glibc), decommit and mremap shrink (jemalloc).
 * Each allocator matches its own frees. An allocator without heap counters (the program's
 * own mmap) has no purge latency at all. */
static void test_return_kinds_and_allocators(void **state)
{
	const uint64_t t1 = 40 * MS, brk_t = 50 * MS, dec_t = 60 * MS, mrem_t = 70 * MS,
		       t2 = 80 * MS;
	uint64_t want_g[AT_LAT_SLOTS] = { 0 }, want_j[AT_LAT_SLOTS] = { 0 };
	struct model *m = new_model();
	struct at_heap_stats g, j;
	const struct rep_alloc *a;

	(void)state;
	th_sys(m, PID, 2 * MS, AT_SYS_BRK, "libc.so.6", 0, 0, 0, 0, BRK);
	th_sys(m, PID, 3 * MS, AT_SYS_BRK, "libc.so.6", BRK + 4 * MiB, 0, 0, 0, BRK + 4 * MiB);
	th_sys(m, PID, 4 * MS, AT_SYS_MMAP, "prog", 0, 1 * MiB, RW, ANON, BASE + 64 * MiB);
	/* Before the first sample: in the interval of the frees that sample sees, so 0. */
	madv(m, 5 * MS, BASE, 64 * KiB, MADV_DONTNEED);

	g = th_heap(8 * MiB, 2 * MiB);
	j = th_heap(8 * MiB, 1 * MiB);
	th_heap_refresh(m, PID, t1, (struct th_heap_fig[]){ { "glibc", g }, { "jemalloc", j } }, 2);

	th_sys(m, PID, brk_t, AT_SYS_BRK, "libc.so.6", BRK + 3 * MiB, 0, 0, 0, BRK + 3 * MiB);
	th_sys(m, PID, dec_t, AT_SYS_MPROTECT, JE, BASE + 6 * MiB, 128 * KiB, PROT_NONE, 0, 0);
	th_sys(m, PID, mrem_t, AT_SYS_MREMAP, JE, BASE + 4 * MiB, 1 * MiB, 512 * KiB, 0,
	       BASE + 4 * MiB);
	th_sys(m, PID, mrem_t, AT_SYS_MUNMAP, "prog", BASE + 64 * MiB, 1 * MiB, 0, 0, 0);
	th_heap_refresh(m, PID, t2, (struct th_heap_fig[]){ { "glibc", g }, { "jemalloc", j } }, 2);

	want_g[lat_slot(brk_t - t1)] += 1 * MiB;
	want_j[0] += 64 * KiB;
	want_j[lat_slot(dec_t - t1)] += 128 * KiB;
	want_j[lat_slot(mrem_t - t1)] += 512 * KiB;
	a = alloc_at(m, t2, "glibc");
	assert_int_equal(a->ret_bytes[AT_RET_BRK_SHRINK], 1 * MiB);
	assert_memory_equal(a->purge_latency_hist, want_g, sizeof(want_g));
	assert_int_equal(a->purge_unmatched_bytes, 0);
	a = alloc_at(m, t2, "jemalloc");
	assert_int_equal(a->ret_bytes[AT_RET_DECOMMIT], 128 * KiB);
	assert_int_equal(a->ret_bytes[AT_RET_MREMAP_SHRINK], 512 * KiB);
	assert_memory_equal(a->purge_latency_hist, want_j, sizeof(want_j));
	assert_int_equal(a->purge_unmatched_bytes, 0);
	a = alloc_at(m, t2, "app");
	assert_false(a->has_heap);
	assert_int_equal(a->ret_bytes[AT_RET_MUNMAP], 1 * MiB);
	assert_int_equal(sum(a->purge_latency_hist, AT_LAT_SLOTS), 0);
	assert_int_equal(a->purge_unmatched_bytes, 0);
	model__free(m);
}

/* Bounded queues merge their oldest entries: no byte is lost, however many returns come
 * between two samples or however many samples see frees before a return. */
static void test_queues_bounded_bytes_kept(void **state)
{
	const size_t nret = 3000, nfree = 2000, nsamples = 1500;
	uint64_t t = 10 * MS, freed = 0;
	struct model *m = new_model();
	const struct rep_alloc *a;

	(void)state;
	freed = nfree * 4 * KiB;
	sample(m, t, "jemalloc", freed);
	for (size_t i = 0; i < nret; i++)
		madv(m, t + (i + 1) * US, BASE + (i % 512) * 4 * KiB, 4 * KiB, MADV_DONTNEED);
	t += 10 * MS;
	sample(m, t, "jemalloc", freed);
	a = alloc_at(m, t, "jemalloc");
	assert_int_equal(sum(a->purge_latency_hist, AT_LAT_SLOTS), nfree * 4 * KiB);
	assert_int_equal(a->purge_unmatched_bytes, (nret - nfree) * 4 * KiB);

	/* Frees seen by many samples, returned at once. */
	for (size_t i = 0; i < nsamples; i++) {
		t += 1 * MS;
		freed += 4 * KiB;
		sample(m, t, "jemalloc", freed);
	}
	madv(m, t + 1 * MS, BASE, nsamples * 4 * KiB, MADV_DONTNEED);
	sample(m, t + 2 * MS, "jemalloc", freed);
	a = alloc_at(m, t + 2 * MS, "jemalloc");
	assert_int_equal(sum(a->purge_latency_hist, AT_LAT_SLOTS), (nfree + nsamples) * 4 * KiB);
	assert_int_equal(a->purge_unmatched_bytes, (nret - nfree) * 4 * KiB);
	model__free(m);
}

/* A storm: more returns in one sample interval than the queue holds (1,024, AT_LAT_QUEUE
 * in model_priv.h); those beyond it join the newest, and not a byte is lost. */
static void test_return_storm(void **state)
{
	const uint64_t n = 1024 + 900;
	uint64_t want[AT_LAT_SLOTS] = { 0 };
	struct model *m = new_model();
	const struct rep_alloc *a;

	(void)state;
	sample(m, 10 * MS, "jemalloc", 8 * MiB);
	for (uint64_t i = 0; i < n; i++)
		madv(m, 20 * MS + i * 1000, BASE + (i % 2048) * 4096, 4096, MADV_DONTNEED);
	sample(m, 30 * MS, "jemalloc", 8 * MiB);
	a = alloc_at(m, 30 * MS, "jemalloc");
	assert_int_equal(sum(a->purge_latency_hist, AT_LAT_SLOTS), n * 4096);
	assert_int_equal(a->purge_unmatched_bytes, 0);
	/* All 10 ms after the free, within a microsecond or two: one slot. */
	want[lat_slot(10 * MS)] = n * 4096;
	assert_memory_equal(a->purge_latency_hist, want, sizeof(want));
	model__free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_return_storm),
		cmocka_unit_test(test_fifo_matching),
		cmocka_unit_test(test_slot_edges),
		cmocka_unit_test(test_return_kinds_and_allocators),
		cmocka_unit_test(test_queues_bounded_bytes_kept),
	};

	return cmocka_run_group_tests_name("latency", tests, NULL, NULL);
}
