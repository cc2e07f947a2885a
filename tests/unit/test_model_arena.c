// SPDX-License-Identifier: GPL-2.0-only
/* The arena level of the model, fed with synthetic arena records (model_arena_apply) and read
 * back through model_report: bumpalo chains (reset and drop probes, the heap level's watch
 * with and without a reset probe, a Bump that moves or is recreated), obstacks, a --arena
 * custom arena, max_arenas, lifetime slots, allocator internals. Expected figures are
 * computed from the chunk sizes and times fed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "model_helpers.h"

#define PID FAKE_PID
#define FOOTER 48 /* bumpalo's ChunkFooter, counted with a chunk kept across a reset */

static struct model *new_model(size_t max_arenas)
{
	struct model_limits lim = { .max_procs = 4, .max_segs = 64, .max_arenas = max_arenas };

	return th_model(&lim, PID);
}

static const struct rep_proc *report(struct model *m, uint64_t now)
{
	const struct report *r = model_report(m, now);

	assert_non_null(r);
	assert_int_equal(r->nprocs, 1);
	return &r->procs[0];
}

/* The log2 lifetime slot of a chunk born at born_ns and freed at freed_ns (microseconds). */
static uint32_t life_slot(uint64_t born_ns, uint64_t freed_ns)
{
	uint64_t us = (freed_ns - born_ns) / 1000;
	uint32_t slot = 0;

	while (us >>= 1)
		slot++;
	return slot < AT_LIFE_SLOTS ? slot : AT_LIFE_SLOTS - 1;
}

static uint64_t hist_sum(const uint64_t *h, size_t n)
{
	uint64_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += h[i];
	return s;
}

/* ---- bumpalo ---- */

static const struct at_probe_info bump_probe = {
	.type = "bumpalo",
	.func = "alloc_layout_slow",
	.kind = AT_AK_BUMP_SLOW,
	.has_reset = true,
	.has_release = true,
};
static const struct at_probe_info bump_watched = {
	.type = "bumpalo",
	.func = "alloc_layout_slow",
	.kind = AT_AK_BUMP_SLOW,
	.has_reset = true,
	.has_release = true,
	.watched = true,
};
/* Fat LTO: reset inlined, releases seen only at the allocator's free. */
static const struct at_probe_info bump_lto = {
	.type = "bumpalo",
	.func = "alloc_layout_slow",
	.kind = AT_AK_BUMP_SLOW,
	.has_release = true,
	.watched = true,
};

#define BUMP 0x7ffc00001000ull	/* the Bump, on a stack */
#define BUMP2 0x7ffc00002000ull /* the same Bump after a move */
#define EMPTY 0x555500001000ull /* bumpalo's EMPTY_CHUNK footer: never a chunk */
#define DATA(i) (0x100000000ull * (i))

static void bump(struct model *m, uint64_t t, enum at_arena_kind kind,
		 const struct at_probe_info *info, uint64_t self, uint64_t data, uint64_t footer,
		 uint64_t prev)
{
	th_bump(m, PID, t, kind, info, self, data, footer, prev);
}

static void chunk_freed(struct model *m, uint64_t t, uint64_t data)
{
	th_chunk_freed(m, PID, t, data);
}

static void assert_arena(const struct rep_arena *a, uint64_t chunks, uint64_t acquired,
			 uint64_t freed, uint64_t bytes, uint64_t high_water, uint64_t resets,
			 uint64_t kept, uint64_t kept_max)
{
	assert_int_equal(a->chunks, chunks);
	assert_int_equal(a->chunks_acquired, acquired);
	assert_int_equal(a->chunks_freed, freed);
	assert_int_equal(a->bytes, bytes);
	assert_int_equal(a->high_water_bytes, high_water);
	assert_int_equal(a->resets, resets);
	assert_int_equal(a->kept_bytes, kept);
	assert_int_equal(a->kept_max_bytes, kept_max);
	assert_int_equal(hist_sum(a->lifetime_hist, AT_LIFE_SLOTS), freed);
}

/* Reset and drop probes (no heap level): a reset keeps the newest chunk with its footer
 * and frees the others, a drop frees every chunk and ends the arena. */
static void test_bumpalo_reset_and_drop(void **state)
{
	const uint64_t s1 = 4 * KiB, s2 = 8 * KiB, s3 = 16 * KiB, s4 = 32 * KiB;
	const uint64_t f1 = DATA(1) + s1, f2 = DATA(2) + s2, f3 = DATA(3) + s3, f4 = DATA(4) + s4;
	const uint64_t t1 = 1 * MS, t2 = 2 * MS, t3 = 3 * MS, t4 = 4 * MS, t5 = 5 * MS, t6 = 6 * MS,
		       t7 = 7 * MS, t8 = 10 * MS;
	struct model *m = new_model(8);
	const struct rep_proc *p;
	const struct rep_arena *a;
	uint64_t hist[AT_LIFE_SLOTS] = { 0 };

	(void)state;
	bump(m, t1, AT_AK_BUMP_SLOW, &bump_probe, BUMP, DATA(1), f1, EMPTY);
	bump(m, t2, AT_AK_BUMP_SLOW, &bump_probe, BUMP, DATA(2), f2, f1);
	bump(m, t3, AT_AK_BUMP_SLOW, &bump_probe, BUMP, DATA(3), f3, f2);
	p = report(m, t3);
	assert_int_equal(p->narenas, 1);
	a = &p->arenas[0];
	assert_string_equal(a->type, "bumpalo");
	assert_string_equal(a->release, "probe");
	assert_int_equal(a->addr, BUMP);
	assert_int_equal(a->since_ns, t1);
	assert_false(a->ended);
	assert_arena(a, 3, 3, 0, s1 + s2 + s3, s1 + s2 + s3, 0, 0, 0);

	/* reset: the current chunk (f3) stays, now with its footer. */
	bump(m, t4, AT_AK_BUMP_RESET, &bump_probe, BUMP, DATA(3), f3, f2);
	hist[life_slot(t1, t4)]++;
	hist[life_slot(t2, t4)]++;
	a = &report(m, t4)->arenas[0];
	assert_arena(a, 1, 3, 2, s3 + FOOTER, s1 + s2 + s3, 1, s3 + FOOTER, s3 + FOOTER);
	assert_memory_equal(a->lifetime_hist, hist, sizeof(hist));

	/* A reset of a footer nobody knows changes nothing. */
	bump(m, t4, AT_AK_BUMP_RESET, &bump_probe, BUMP, DATA(9), DATA(9) + s1, 0);

	/* The Bump moved: its next chunk links to f3, so it is the same arena. */
	bump(m, t5, AT_AK_BUMP_SLOW, &bump_probe, BUMP2, DATA(4), f4, f3);
	p = report(m, t5);
	assert_int_equal(p->narenas, 1);
	a = &p->arenas[0];
	assert_int_equal(a->addr, BUMP2);
	assert_arena(a, 2, 4, 2, s3 + FOOTER + s4, s3 + FOOTER + s4, 1, s3 + FOOTER, s3 + FOOTER);

	bump(m, t6, AT_AK_BUMP_RESET, &bump_probe, BUMP2, DATA(4), f4, f3);
	hist[life_slot(t3, t6)]++;
	/* A second reset with the one chunk left: its footer is not counted twice. */
	bump(m, t7, AT_AK_BUMP_RESET, &bump_probe, BUMP2, DATA(4), f4, f3);
	a = &report(m, t7)->arenas[0];
	assert_arena(a, 1, 4, 3, s4 + FOOTER, s3 + FOOTER + s4, 3, s4 + FOOTER, s4 + FOOTER);

	bump(m, t8, AT_AK_BUMP_DROP, &bump_probe, BUMP2, DATA(4), f4, f3);
	hist[life_slot(t5, t8)]++;
	a = &report(m, t8)->arenas[0];
	assert_true(a->ended);
	assert_int_equal(a->ended_ns, t8);
	assert_arena(a, 0, 4, 4, 0, s3 + FOOTER + s4, 3, s4 + FOOTER, s4 + FOOTER);
	assert_memory_equal(a->lifetime_hist, hist, sizeof(hist));
	/* The slots themselves: 3 ms and 2 ms, 3 ms, 5 ms. */
	assert_int_equal(a->lifetime_hist[10], 1); /* 2000 us: [1024, 2047] */
	assert_int_equal(a->lifetime_hist[11], 2); /* 3000 us: [2048, 4095] */
	assert_int_equal(a->lifetime_hist[12], 1); /* 5000 us: [4096, 8191] */
	model__free(m);
}

/* Heap level on, reset probed: the reset only counts; the chunks go when free() sees them,
 * and the arena ends with its last chunk (the drop probe adds nothing). */
static void test_bumpalo_watched(void **state)
{
	const uint64_t s1 = 64 * KiB, s2 = 128 * KiB, s3 = 256 * KiB;
	const uint64_t f1 = DATA(1) + s1, f2 = DATA(2) + s2, f3 = DATA(3) + s3;
	struct model *m = new_model(8);
	const struct rep_arena *a;

	(void)state;
	bump(m, 1 * MS, AT_AK_BUMP_SLOW, &bump_watched, BUMP, DATA(1), f1, EMPTY);
	bump(m, 2 * MS, AT_AK_BUMP_SLOW, &bump_watched, BUMP, DATA(2), f2, f1);
	bump(m, 3 * MS, AT_AK_BUMP_SLOW, &bump_watched, BUMP, DATA(3), f3, f2);
	bump(m, 4 * MS, AT_AK_BUMP_RESET, &bump_watched, BUMP, DATA(3), f3, f2);
	a = &report(m, 4 * MS)->arenas[0];
	assert_string_equal(a->release, "free");
	/* The footer counts from the reset on; the high-water mark is not raised by it. */
	assert_arena(a, 3, 3, 0, s1 + s2 + s3 + FOOTER, s1 + s2 + s3, 1, s3 + FOOTER, s3 + FOOTER);

	chunk_freed(m, 5 * MS, DATA(1));
	chunk_freed(m, 5 * MS, DATA(2));
	chunk_freed(m, 5 * MS, DATA(7)); /* not a chunk: ignored */
	a = &report(m, 5 * MS)->arenas[0];
	/* A reset was probed: frees of older chunks are not taken for another one. */
	assert_arena(a, 1, 3, 2, s3 + FOOTER, s1 + s2 + s3, 1, s3 + FOOTER, s3 + FOOTER);
	/* 4 ms and 3 ms: both in [2048, 4095] us. */
	assert_int_equal(life_slot(1 * MS, 5 * MS), 11);
	assert_int_equal(a->lifetime_hist[11], 2);

	bump(m, 6 * MS, AT_AK_BUMP_DROP, &bump_watched, BUMP, DATA(3), f3, f2);
	a = &report(m, 6 * MS)->arenas[0];
	assert_false(a->ended);
	assert_int_equal(a->chunks, 1);
	chunk_freed(m, 7 * MS, DATA(3));
	a = &report(m, 7 * MS)->arenas[0];
	assert_true(a->ended);
	assert_int_equal(a->ended_ns, 7 * MS);
	assert_arena(a, 0, 3, 3, 0, s1 + s2 + s3, 1, s3 + FOOTER, s3 + FOOTER);
	model__free(m);
}

/* Heap level on, reset inlined (fat LTO): older chunks freed while the newest lives are one
 * reset; a drop frees the newest first, which is no reset. */
static void test_bumpalo_inferred_reset(void **state)
{
	const uint64_t s1 = 64 * KiB, s2 = 128 * KiB, s3 = 256 * KiB, s4 = 512 * KiB;
	const uint64_t f1 = DATA(1) + s1, f2 = DATA(2) + s2, f3 = DATA(3) + s3, f4 = DATA(4) + s4;
	struct model *m = new_model(8);
	const struct rep_arena *a;

	(void)state;
	bump(m, 1 * MS, AT_AK_BUMP_SLOW, &bump_lto, BUMP, DATA(1), f1, EMPTY);
	bump(m, 2 * MS, AT_AK_BUMP_SLOW, &bump_lto, BUMP, DATA(2), f2, f1);
	bump(m, 3 * MS, AT_AK_BUMP_SLOW, &bump_lto, BUMP, DATA(3), f3, f2);
	chunk_freed(m, 4 * MS, DATA(1));
	chunk_freed(m, 4 * MS, DATA(2));
	a = &report(m, 4 * MS)->arenas[0];
	assert_arena(a, 1, 3, 2, s3 + FOOTER, s1 + s2 + s3, 1, s3 + FOOTER, s3 + FOOTER);

	bump(m, 5 * MS, AT_AK_BUMP_SLOW, &bump_lto, BUMP, DATA(4), f4, f3);
	chunk_freed(m, 6 * MS, DATA(4));
	chunk_freed(m, 6 * MS, DATA(3));
	a = &report(m, 6 * MS)->arenas[0];
	assert_true(a->ended);
	assert_int_equal(a->ended_ns, 6 * MS);
	assert_arena(a, 0, 4, 4, 0, s3 + FOOTER + s4, 1, s3 + FOOTER, s3 + FOOTER);
	model__free(m);
}

/* A Bump recreated at the same address starts a new chain: a new arena. Two Bumps alive
 * at once are two arenas. Live arenas are listed first. */
static void test_bumpalo_instances(void **state)
{
	const uint64_t s = 4 * KiB;
	struct model *m = new_model(8);
	const struct rep_proc *p;

	(void)state;
	bump(m, 1 * MS, AT_AK_BUMP_SLOW, &bump_probe, BUMP, DATA(1), DATA(1) + s, EMPTY);
	bump(m, 2 * MS, AT_AK_BUMP_DROP, &bump_probe, BUMP, DATA(1), DATA(1) + s, EMPTY);
	bump(m, 3 * MS, AT_AK_BUMP_SLOW, &bump_probe, BUMP, DATA(2), DATA(2) + 2 * s, EMPTY);
	bump(m, 4 * MS, AT_AK_BUMP_SLOW, &bump_probe, BUMP2, DATA(3), DATA(3) + 3 * s, EMPTY);
	/* A failed allocation (ret 0) and a Bump whose layout was not recognised (no
	 * footer) add nothing. */
	{
		struct at_arena_rec r = th_arena_rec(PID, 5 * MS, AT_AK_BUMP_SLOW);

		r.args[0] = BUMP;
		r.words[0] = DATA(5) + s;
		r.words[1] = DATA(5);
		r.words[4] = EMPTY;
		th_arena(m, &r, &bump_probe); /* ret 0 */
		r.ret = DATA(5);
		r.words[0] = 0;
		th_arena(m, &r, &bump_probe);
	}
	p = report(m, 5 * MS);
	assert_int_equal(p->narenas, 3);
	assert_false(p->arenas[0].ended);
	assert_int_equal(p->arenas[0].since_ns, 3 * MS);
	assert_int_equal(p->arenas[0].bytes, 2 * s);
	assert_false(p->arenas[1].ended);
	assert_int_equal(p->arenas[1].addr, BUMP2);
	assert_int_equal(p->arenas[1].bytes, 3 * s);
	assert_true(p->arenas[2].ended);
	assert_int_equal(p->arenas[2].since_ns, 1 * MS);
	assert_int_equal(p->arenas[2].chunks_freed, 1);
	assert_int_equal(p->arenas_omitted, 0);
	/* exec: the old program's arenas are gone with it. */
	th_proc(m, AT_PROC_EXEC, PID, 0, 6 * MS);
	assert_int_equal(report(m, 6 * MS)->narenas, 0);
	model__free(m);
}

/* ---- obstack ---- */

static const struct at_probe_info obstack_probe = {
	.type = "obstack",
	.func = "_obstack_newchunk",
	.kind = AT_AK_OBSTACK_NEW,
	.has_reset = true,
	.has_release = true,
};

#define OBSTACK 0x601000ull
#define CHUNK(i) (0x1000000ull * (i))

static void obstack(struct model *m, uint64_t t, enum at_arena_kind kind, uint64_t h, uint64_t obj,
		    uint64_t chunk, uint64_t limit, uint64_t prev)
{
	th_obstack(m, PID, t, kind, &obstack_probe, h, obj, chunk, limit, prev);
}

static void test_obstack(void **state)
{
	const uint64_t s1 = 4064, s2 = 8000, s3 = 16000, s4 = 2000;
	struct model *m = new_model(8);
	const struct rep_proc *p;
	const struct rep_arena *a;

	(void)state;
	obstack(m, 1 * MS, AT_AK_OBSTACK_NEW, OBSTACK, 0, CHUNK(1), CHUNK(1) + s1, 0);
	obstack(m, 2 * MS, AT_AK_OBSTACK_NEW, OBSTACK, 0, CHUNK(2), CHUNK(2) + s2, CHUNK(1));
	/* The object moved out of chunk 2, which held nothing else: it was freed, and the
	 * new chunk's prev skips it. */
	obstack(m, 3 * MS, AT_AK_OBSTACK_NEW, OBSTACK, 0, CHUNK(3), CHUNK(3) + s3, CHUNK(1));
	a = &report(m, 3 * MS)->arenas[0];
	assert_string_equal(a->type, "obstack");
	assert_string_equal(a->release, "probe");
	assert_int_equal(a->addr, OBSTACK);
	assert_arena(a, 2, 3, 1, s1 + s3, s1 + s3, 0, 0, 0);
	assert_int_equal(a->lifetime_hist[life_slot(2 * MS, 3 * MS)], 1);

	/* obstack_free(h, obj) back into chunk 1: chunk 3 went, and it is a rewind. */
	obstack(m, 4 * MS, AT_AK_OBSTACK_FREE, OBSTACK, CHUNK(1) + 32, CHUNK(1), CHUNK(1) + s1, 0);
	a = &report(m, 4 * MS)->arenas[0];
	assert_arena(a, 1, 3, 2, s1, s1 + s3, 1, s1, s1);

	obstack(m, 5 * MS, AT_AK_OBSTACK_NEW, OBSTACK, 0, CHUNK(4), CHUNK(4) + s4, CHUNK(1));
	/* A rewind within the newest chunk frees nothing. */
	obstack(m, 6 * MS, AT_AK_OBSTACK_FREE, OBSTACK, CHUNK(4) + 32, CHUNK(4), CHUNK(4) + s4,
		CHUNK(1));
	a = &report(m, 6 * MS)->arenas[0];
	assert_arena(a, 2, 4, 2, s1 + s4, s1 + s3, 2, s1 + s4, s1 + s4);
	obstack(m, 7 * MS, AT_AK_OBSTACK_FREE, OBSTACK, CHUNK(1) + 32, CHUNK(1), CHUNK(1) + s1, 0);
	a = &report(m, 7 * MS)->arenas[0];
	/* kept is the last reset's, kept_max the most across one. */
	assert_arena(a, 1, 4, 3, s1, s1 + s3, 3, s1, s1 + s4);

	/* obstack_free(h, NULL): everything, and the obstack is done. */
	obstack(m, 9 * MS, AT_AK_OBSTACK_FREE, OBSTACK, 0, 0, 0, 0);
	a = &report(m, 9 * MS)->arenas[0];
	assert_true(a->ended);
	assert_int_equal(a->ended_ns, 9 * MS);
	assert_arena(a, 0, 4, 4, 0, s1 + s3, 3, s1, s1 + s4);
	assert_int_equal(a->lifetime_hist[9], 2);  /* chunks 2 and 3: 1000 us */
	assert_int_equal(a->lifetime_hist[10], 1); /* chunk 4: 2000 us */
	assert_int_equal(a->lifetime_hist[12], 1); /* chunk 1: 8000 us */

	/* The same struct obstack begun again: a new arena. */
	obstack(m, 10 * MS, AT_AK_OBSTACK_NEW, OBSTACK, 0, CHUNK(5), CHUNK(5) + s1, 0);
	/* _obstack_begin again on an obstack never freed: the old one ends there. */
	obstack(m, 11 * MS, AT_AK_OBSTACK_NEW, OBSTACK, 0, CHUNK(6), CHUNK(6) + s2, 0);
	/* A chunk whose limit is not above its start is not a chunk. */
	obstack(m, 12 * MS, AT_AK_OBSTACK_NEW, OBSTACK, 0, CHUNK(7), CHUNK(7), CHUNK(6));
	p = report(m, 12 * MS);
	assert_int_equal(p->narenas, 3);
	assert_false(p->arenas[0].ended);
	assert_int_equal(p->arenas[0].since_ns, 11 * MS);
	assert_arena(&p->arenas[0], 1, 1, 0, s2, s2, 0, 0, 0);
	assert_true(p->arenas[1].ended);
	assert_int_equal(p->arenas[1].since_ns, 1 * MS);
	assert_true(p->arenas[2].ended);
	assert_int_equal(p->arenas[2].since_ns, 10 * MS);
	assert_int_equal(p->arenas[2].ended_ns, 11 * MS);
	assert_int_equal(p->arenas[2].chunks, 1); /* never freed: held to the end */
	model__free(m);
}

/* ---- --arena NAME:alloc=,size=,self=,free=,ptr=,reset= ---- */

static const struct at_probe_info pool_alloc = {
	.type = "pool",
	.func = "pool_chunk_new",
	.kind = AT_AK_CHUNK_ALLOC,
	.has_reset = true,
	.has_release = true,
};
static const struct at_probe_info pool_free = {
	.type = "pool",
	.func = "pool_chunk_free",
	.kind = AT_AK_CHUNK_FREE,
	.has_reset = true,
	.has_release = true,
};
static const struct at_probe_info pool_reset = {
	.type = "pool",
	.func = "pool_clear",
	.kind = AT_AK_RESET,
	.has_reset = true,
	.has_release = true,
};

#define POOL 0x5000ull
#define POOL2 0x6000ull
#define DECOY 0xdeadbeefull

/* alloc=pool_chunk_new,size=2,self=3; free=pool_chunk_free,ptr=4 (self=3); reset (self=3):
 * the other arguments hold decoys that must not be read. */
static void pool(struct model *m, uint64_t t, const struct at_probe_info *info, uint64_t self,
		 uint64_t size, uint64_t ptr)
{
	struct at_arena_rec r = th_arena_rec(PID, t, info->kind);

	for (int i = 0; i < 6; i++)
		r.args[i] = DECOY + (uint64_t)i;
	r.args[2] = self;
	switch (info->kind) {
	case AT_AK_CHUNK_ALLOC:
		r.cookie = AT_ACOOKIE(1, AT_AK_CHUNK_ALLOC, 2, 3, 0);
		r.args[1] = size;
		r.ret = ptr;
		break;
	case AT_AK_CHUNK_FREE:
		r.cookie = AT_ACOOKIE(2, AT_AK_CHUNK_FREE, 0, 3, 4);
		r.args[3] = ptr;
		break;
	default:
		r.cookie = AT_ACOOKIE(3, AT_AK_RESET, 0, 3, 0);
		break;
	}
	th_arena(m, &r, info);
}

static void test_custom_arena(void **state)
{
	const uint64_t p1 = 0x10000, p2 = 0x20000;
	struct model *m = new_model(8);
	const struct rep_proc *p;
	const struct rep_arena *a;

	(void)state;
	pool(m, 1 * MS, &pool_alloc, POOL, 1000, p1);
	pool(m, 2 * MS, &pool_alloc, POOL, 3000, p2);
	pool(m, 3 * MS, &pool_alloc, POOL, 500, 0); /* failed: ret 0 */
	pool(m, 3 * MS, &pool_alloc, POOL2, 700, 0x30000);
	pool(m, 4 * MS, &pool_reset, POOL, 0, 0);
	p = report(m, 4 * MS);
	assert_int_equal(p->narenas, 2);
	a = &p->arenas[0];
	assert_string_equal(a->type, "pool");
	assert_string_equal(a->release, "probe");
	assert_int_equal(a->addr, POOL);
	assert_int_equal(a->since_ns, 1 * MS);
	assert_arena(a, 2, 2, 0, 4000, 4000, 1, 4000, 4000);
	assert_int_equal(p->arenas[1].addr, POOL2);
	assert_arena(&p->arenas[1], 1, 1, 0, 700, 700, 0, 0, 0);

	pool(m, 5 * MS, &pool_free, POOL2, 0, p2); /* another pool's free: not this chunk */
	pool(m, 5 * MS, &pool_free, POOL, 0, p2);
	pool(m, 6 * MS, &pool_reset, POOL, 0, 0);
	p = report(m, 6 * MS); /* each report replaces the last */
	a = &p->arenas[0];
	assert_arena(a, 1, 2, 1, 1000, 4000, 2, 1000, 4000);
	assert_int_equal(a->lifetime_hist[life_slot(2 * MS, 5 * MS)], 1);
	assert_int_equal(p->arenas[1].chunks, 1);

	pool(m, 7 * MS, &pool_free, POOL, 0, p1);
	p = report(m, 7 * MS);
	a = &p->arenas[1]; /* every chunk freed: ended, listed after the live one */
	assert_int_equal(a->addr, POOL);
	assert_true(a->ended);
	assert_arena(a, 0, 2, 2, 0, 4000, 2, 1000, 4000);
	assert_int_equal(a->lifetime_hist[life_slot(1 * MS, 7 * MS)], 1);
	model__free(m);
}

/* docs/json.md: "ended: dropped, or every chunk freed". A custom arena whose free probe
 * released its last chunk stays live (apply_custom never ends it), unlike a watched one. */
static void test_custom_arena_all_freed_is_ended(void **state)
{
	struct model *m;
	const struct rep_arena *a;

	(void)state;
	m = new_model(8);
	pool(m, 1 * MS, &pool_alloc, POOL, 1000, 0x10000);
	pool(m, 2 * MS, &pool_free, POOL, 0, 0x10000);
	a = &report(m, 2 * MS)->arenas[0];
	assert_int_equal(a->chunks, 0);
	assert_true(a->ended);
	assert_int_equal(a->ended_ns, 2 * MS);
	model__free(m);
}

/* A custom arena without free= and with the heap level: releases come from free(). */
static void test_custom_arena_watched(void **state)
{
	const struct at_probe_info info = { .type = "pool",
					    .func = "pool_chunk_new",
					    .kind = AT_AK_CHUNK_ALLOC,
					    .has_reset = true,
					    .has_release = true,
					    .watched = true };
	struct model *m = new_model(8);
	const struct rep_arena *a;

	(void)state;
	pool(m, 1 * MS, &info, POOL, 1000, 0x10000);
	pool(m, 2 * MS, &info, POOL, 2000, 0x20000);
	chunk_freed(m, 3 * MS, 0x20000);
	a = &report(m, 3 * MS)->arenas[0];
	assert_string_equal(a->release, "free");
	assert_false(a->ended);
	assert_arena(a, 1, 2, 1, 1000, 3000, 0, 0, 0);
	chunk_freed(m, 4 * MS, 0x10000);
	a = &report(m, 4 * MS)->arenas[0];
	assert_true(a->ended);
	assert_int_equal(a->ended_ns, 4 * MS);
	assert_arena(a, 0, 2, 2, 0, 3000, 0, 0, 0);
	model__free(m);
}

/* Lifetime slots: microseconds, log2, 0 and 1 in slot 0, the last slot open-ended. */
static void test_lifetime_slots(void **state)
{
	static const struct {
		uint64_t life_ns;
		uint32_t slot;
	} cases[] = {
		{ 0, 0 },
		{ 1999, 0 }, /* 1 us */
		{ 2000, 1 }, /* 2 us */
		{ 1023 * US, 9 },
		{ 1024 * US, 10 },
		{ (1ull << 39) * US, 39 },
		{ (1ull << 45) * US, 39 }, /* beyond the last slot */
	};
	const uint64_t t0 = 1 * MS;
	uint64_t want[AT_LIFE_SLOTS] = { 0 };
	struct model *m = new_model(8);
	const struct rep_arena *a;

	(void)state;
	/* A chunk held throughout keeps it one arena. */
	pool(m, t0, &pool_alloc, POOL, 4096, 0x1000);
	for (size_t i = 0; i < AT_ARRAY_SIZE(cases); i++) {
		uint64_t ptr = 0x10000 * (i + 1);

		pool(m, t0, &pool_alloc, POOL, 4096, ptr);
		pool(m, t0 + cases[i].life_ns, &pool_free, POOL, 0, ptr);
		want[cases[i].slot]++;
	}
	a = &report(m, t0 + (1ull << 45) * US)->arenas[0];
	assert_memory_equal(a->lifetime_hist, want, sizeof(want));
	assert_int_equal(a->chunks_freed, AT_ARRAY_SIZE(cases));
	model__free(m);
}

/* max_arenas: the oldest ended arena makes room (arenas_omitted); with none ended, the
 * events of a new arena are lost (drops.arenas_full). */
static void test_max_arenas(void **state)
{
	const uint64_t h1 = 0x1000, h2 = 0x2000, h3 = 0x3000, h4 = 0x4000;
	struct model *m = new_model(2);
	const struct report *r;
	const struct rep_proc *p;

	(void)state;
	obstack(m, 1 * MS, AT_AK_OBSTACK_NEW, h1, 0, CHUNK(1), CHUNK(1) + 4000, 0);
	obstack(m, 2 * MS, AT_AK_OBSTACK_NEW, h2, 0, CHUNK(2), CHUNK(2) + 4000, 0);
	obstack(m, 3 * MS, AT_AK_OBSTACK_NEW, h3, 0, CHUNK(3), CHUNK(3) + 4000, 0);
	obstack(m, 3 * MS, AT_AK_OBSTACK_NEW, h3, 0, CHUNK(4), CHUNK(4) + 4000, CHUNK(3));
	r = model_report(m, 3 * MS);
	assert_int_equal(th_drop(r, "arenas_full"), 2);
	p = &r->procs[0];
	assert_int_equal(p->narenas, 2);
	assert_int_equal(p->arenas[0].addr, h1);
	assert_int_equal(p->arenas[1].addr, h2);
	assert_int_equal(p->arenas_omitted, 0);

	obstack(m, 4 * MS, AT_AK_OBSTACK_FREE, h1, 0, 0, 0, 0);
	obstack(m, 5 * MS, AT_AK_OBSTACK_NEW, h3, 0, CHUNK(5), CHUNK(5) + 4000, 0);
	r = model_report(m, 5 * MS);
	p = &r->procs[0];
	assert_int_equal(th_drop(r, "arenas_full"), 2);
	assert_int_equal(p->arenas_omitted, 1);
	assert_int_equal(p->narenas, 2);
	assert_int_equal(p->arenas[0].addr, h2);
	assert_int_equal(p->arenas[1].addr, h3);
	assert_int_equal(p->arenas[1].since_ns, 5 * MS);

	obstack(m, 6 * MS, AT_AK_OBSTACK_FREE, h2, 0, 0, 0, 0);
	obstack(m, 7 * MS, AT_AK_OBSTACK_NEW, h4, 0, CHUNK(6), CHUNK(6) + 4000, 0);
	p = &model_report(m, 7 * MS)->procs[0];
	assert_int_equal(p->arenas_omitted, 2);
	assert_int_equal(p->narenas, 2);
	assert_int_equal(p->arenas[0].addr, h3);
	assert_int_equal(p->arenas[1].addr, h4);
	model__free(m);
}

/* Allocator internals and USDT probes: counted per allocator and function. */
static void test_internals(void **state)
{
	const struct at_probe_info map = { .type = "jemalloc",
					   .func = "pages_map",
					   .kind = AT_AK_INTERNAL,
					   .op = "map",
					   .size_arg = 2 };
	const struct at_probe_info unmap = { .type = "jemalloc",
					     .func = "pages_unmap",
					     .kind = AT_AK_INTERNAL,
					     .op = "unmap",
					     .size_arg = 2 };
	const struct at_probe_info sbrk = { .type = "glibc",
					    .func = "memory_sbrk_more",
					    .kind = AT_AK_USDT,
					    .op = "sbrk_more",
					    .size_arg = 2 };
	const uint64_t sizes[] = { 2 * MiB, 4 * MiB, 1 * MiB }, rets[] = { 0x1000, 0, 0x3000 },
		       durs[] = { 100, 200, 300 };
	struct model *m = new_model(8);
	const struct report *r;
	const struct rep_alloc *je, *g;
	struct at_arena_rec rec;

	(void)state;
	for (int i = 0; i < 3; i++) {
		rec = th_arena_rec(PID, 1 * MS, AT_AK_INTERNAL);
		rec.args[0] = DECOY;
		rec.args[1] = sizes[i];
		rec.ret = rets[i];
		rec.dur_ns = durs[i];
		th_arena(m, &rec, &map);
	}
	rec = th_arena_rec(PID, 1 * MS, AT_AK_INTERNAL);
	rec.args[1] = 64 * KiB;
	rec.ret = 1;
	th_arena(m, &rec, &unmap);
	/* A USDT probe that "returns" 0 is no zero return. */
	rec = th_arena_rec(PID, 1 * MS, AT_AK_USDT);
	rec.args[1] = 132 * KiB;
	th_arena(m, &rec, &sbrk);
	/* A record of a process nobody traces is counted, not applied. */
	rec = th_arena_rec(PID + 7, 1 * MS, AT_AK_INTERNAL);
	th_arena(m, &rec, &map);

	r = model_report(m, 2 * MS);
	assert_int_equal(th_drop(r, "unattributed"), 1);
	assert_int_equal(r->records, 1 + 3 + 1 + 1 + 1); /* the exec, then the arena records */
	je = th_alloc(&r->procs[0], "jemalloc");
	assert_non_null(je);
	assert_true(je->is_allocator);
	assert_int_equal(je->ninternals, 2);
	assert_string_equal(je->internals[0].func, "pages_map");
	assert_string_equal(je->internals[0].op, "map");
	assert_int_equal(je->internals[0].calls, 3);
	assert_int_equal(je->internals[0].bytes, sizes[0] + sizes[1] + sizes[2]);
	assert_int_equal(je->internals[0].zero_ret, 1);
	assert_int_equal(je->internals[0].total_ns, durs[0] + durs[1] + durs[2]);
	assert_string_equal(je->internals[1].func, "pages_unmap");
	assert_int_equal(je->internals[1].calls, 1);
	assert_int_equal(je->internals[1].bytes, 64 * KiB);
	assert_int_equal(je->internals[1].zero_ret, 0);
	g = th_alloc(&r->procs[0], "glibc");
	assert_non_null(g);
	assert_int_equal(g->ninternals, 1);
	assert_string_equal(g->internals[0].op, "sbrk_more");
	assert_int_equal(g->internals[0].bytes, 132 * KiB);
	assert_int_equal(g->internals[0].zero_ret, 0);
	assert_int_equal(r->procs[0].narenas, 0);
	model__free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bumpalo_reset_and_drop),
		cmocka_unit_test(test_bumpalo_watched),
		cmocka_unit_test(test_bumpalo_inferred_reset),
		cmocka_unit_test(test_bumpalo_instances),
		cmocka_unit_test(test_obstack),
		cmocka_unit_test(test_custom_arena),
		cmocka_unit_test(test_custom_arena_all_freed_is_ended),
		cmocka_unit_test(test_custom_arena_watched),
		cmocka_unit_test(test_lifetime_slots),
		cmocka_unit_test(test_max_arenas),
		cmocka_unit_test(test_internals),
	};

	return cmocka_run_group_tests_name("model_arena", tests, NULL, NULL);
}
