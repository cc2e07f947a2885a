/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by the unit tests that feed the model: synthetic records built field by field
 * through the public headers only (model.h, arenatrace.h), so that a change of the model's
 * entry points (model_apply's parameters) is made here once. Include after <cmocka.h>.
 * Every helper asserts what it needs; nothing here is a test by itself.
 */
#ifndef AT_TEST_MODEL_HELPERS_H
#define AT_TEST_MODEL_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h" /* common.h first, then arenatrace.h */

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define US 1000ull	 /* nanoseconds */
#define MS 1000000ull	 /* nanoseconds */
#define SEC 1000000000ull /* nanoseconds */

/* A pid above pid_max: /proc has nothing for it, as for a process that has exited. */
#define FAKE_PID 4000001

static inline void th_apply(struct model *m, const void *rec, size_t len)
{
	assert_int_equal(model_apply(m, rec, len, NULL), 0);
}

/* An arena record, with what its probe is. */
static inline void th_arena(struct model *m, const struct at_arena_rec *r,
			    const struct at_probe_info *info)
{
	assert_int_equal(model_apply(m, r, sizeof(*r), info), 0);
}

/* One allocator's heap counters, for th_heap_refresh. */
struct th_heap_fig {
	const char *name;
	struct at_heap_stats s;
};

struct th_heap_src {
	const struct th_heap_fig *figs;
	size_t n;
};

static inline void th_heap_read(void *arg, struct model *m, int pid)
{
	const struct th_heap_src *src = arg;

	for (size_t i = 0; i < src->n; i++)
		model_heap_add(m, pid, src->figs[i].name, "usable", &src->figs[i].s);
}

/* A heap refresh at t, as the tracer makes one: these counters for pid. */
static inline void th_heap_refresh(struct model *m, int pid, uint64_t t,
				   const struct th_heap_fig *figs, size_t n)
{
	model_heap_refresh(m, pid, t, th_heap_read, &(struct th_heap_src){ figs, n });
}

static inline void th_proc(struct model *m, enum at_proc_kind kind, int pid, int ppid,
			   uint64_t ts_ns)
{
	struct at_proc_rec r = { .hdr = { .type = AT_REC_PROC, .kind = kind, .pid = (__u32)pid,
					  .tid = (__u32)pid, .ts_ns = ts_ns },
				 .ppid = (__u32)ppid, .comm = "prog" };

	th_apply(m, &r, sizeof(r));
}

/* A model (trace started at 0) tracing pid from its exec: heap figures are complete. */
static inline struct model *th_model(const struct model_limits *lim, int pid)
{
	struct model *m = model__new(lim, 0);

	assert_non_null(m);
	assert_int_equal(model_add_launched(m, pid), 0);
	th_proc(m, AT_PROC_EXEC, pid, 0, 0);
	return m;
}

/* A syscall record made by code in file (its basename decides the allocator). */
static inline struct at_sys_rec th_sys_rec(int pid, uint64_t ts_ns, enum at_sys sys,
					   const char *file, uint64_t a0, uint64_t a1,
					   uint64_t a2, uint64_t a3, int64_t ret)
{
	struct at_sys_rec r = { .hdr = { .type = AT_REC_SYSCALL, .kind = sys, .pid = (__u32)pid,
					 .tid = (__u32)pid, .ts_ns = ts_ns },
				.caller_ino = 1,
				.args = { a0, a1, a2, a3 }, .ret = ret };

	memcpy(r.caller_file, file, strnlen(file, sizeof(r.caller_file)));
	return r;
}

static inline void th_sys(struct model *m, int pid, uint64_t ts_ns, enum at_sys sys,
			  const char *file, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
			  int64_t ret)
{
	struct at_sys_rec r = th_sys_rec(pid, ts_ns, sys, file, a0, a1, a2, a3, ret);

	th_apply(m, &r, sizeof(r));
}

/* An arena record with nothing but its header; callers fill args, ret and words. */
static inline struct at_arena_rec th_arena_rec(int pid, uint64_t ts_ns, enum at_arena_kind kind)
{
	return (struct at_arena_rec){ .hdr = { .type = AT_REC_ARENA, .kind = kind,
					       .pid = (__u32)pid, .tid = (__u32)pid, .ts_ns = ts_ns } };
}

/* A bumpalo record: the Bump (self), and its current chunk (data, its footer, the footer of
 * the chunk before). */
static inline void th_bump(struct model *m, int pid, uint64_t t, enum at_arena_kind kind,
			   const struct at_probe_info *info, uint64_t self, uint64_t data,
			   uint64_t footer, uint64_t prev)
{
	struct at_arena_rec r = th_arena_rec(pid, t, kind);

	r.args[0] = self;
	r.ret = kind == AT_AK_BUMP_SLOW ? footer - 64 : 0; /* the new allocation */
	r.words[0] = footer;
	r.words[1] = data;
	r.words[2] = footer - data; /* layout size */
	r.words[3] = 16;	    /* layout align */
	r.words[4] = prev;
	r.words[5] = footer - 64;
	th_arena(m, &r, info);
}

/* An obstack record: h, the object freed (obstack_free; 0 frees everything), and the
 * current chunk after the call (its header address, limit, and prev). */
static inline void th_obstack(struct model *m, int pid, uint64_t t, enum at_arena_kind kind,
			      const struct at_probe_info *info, uint64_t h, uint64_t obj,
			      uint64_t chunk, uint64_t limit, uint64_t prev)
{
	struct at_arena_rec r = th_arena_rec(pid, t, kind);

	r.args[0] = h;
	r.args[1] = obj;
	r.ret = kind == AT_AK_OBSTACK_NEW ? 1 : 0;
	r.words[0] = 4064;	 /* chunk_size */
	r.words[1] = chunk;
	r.words[2] = chunk + 16; /* object_base */
	r.words[3] = chunk + 16; /* next_free */
	r.words[4] = limit;	 /* chunk_limit */
	r.words[5] = limit;
	r.words[6] = prev;
	th_arena(m, &r, info);
}

/* The heap level saw the allocator's free of a watched chunk (its data pointer). */
static inline void th_chunk_freed(struct model *m, int pid, uint64_t t, uint64_t data)
{
	struct at_arena_rec r = th_arena_rec(pid, t, AT_AK_CHUNK_FREED);

	r.args[0] = data;
	th_arena(m, &r, NULL);
}

/* The heap counters of one allocator (cumulative, as BPF keeps them). */
static inline struct at_heap_stats th_heap(uint64_t alloc_bytes, uint64_t free_bytes)
{
	/* Blocks of one byte: as many blocks live as bytes, never bytes without a block. */
	return (struct at_heap_stats){ .alloc_count = alloc_bytes,
				       .free_count = free_bytes,
				       .alloc_bytes = alloc_bytes,
				       .free_bytes = free_bytes };
}

/* The report's drop row of that name (fails the test if there is none). */
static inline uint64_t th_drop(const struct report *r, const char *name)
{
	for (size_t k = 0; k < r->ndrops; k++)
		if (!strcmp(r->drops[k].name, name))
			return r->drops[k].value;
	fail_msg("no drop row '%s'", name);
	return 0;
}

static inline const struct rep_proc *th_rep_proc(const struct report *r, int pid)
{
	for (size_t i = r->nprocs; i-- > 0;)
		if (r->procs[i].pid == pid)
			return &r->procs[i];
	return NULL;
}

static inline const struct rep_alloc *th_alloc(const struct rep_proc *p, const char *name)
{
	for (size_t i = 0; p && i < p->nallocs; i++)
		if (!strcmp(p->allocs[i].name, name))
			return &p->allocs[i];
	return NULL;
}

/* The finding of kind about who (any when who is NULL), and how many of kind there are. */
static inline const struct rep_finding *th_finding(const struct rep_proc *p, const char *kind,
						   const char *who)
{
	for (size_t i = 0; p && i < p->nfindings; i++)
		if (!strcmp(p->findings[i].kind, kind) &&
		    (!who || !strcmp(p->findings[i].allocator, who)))
			return &p->findings[i];
	return NULL;
}

static inline size_t th_nfindings(const struct rep_proc *p, const char *kind)
{
	size_t n = 0;

	for (size_t i = 0; p && i < p->nfindings; i++)
		n += !strcmp(p->findings[i].kind, kind);
	return n;
}

/* s contains part (the message shows both when it does not). */
#define assert_contains(s, part)                                                        \
	do {                                                                            \
		if (!strstr((s), (part)))                                               \
			fail_msg("\"%s\" does not contain \"%s\"", (s), (part));        \
	} while (0)

#endif
