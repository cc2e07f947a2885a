// SPDX-License-Identifier: GPL-2.0-only
/*
 * The arena level's part of the model: arena instances and their chunk lists, rebuilt from
 * the arena records (docs/design.md, "Arena level"), and the calls of allocator internals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "model_priv.h"

/* bumpalo's ChunkFooter: a chunk kept across a reset counts with it in allocated_bytes(). */
#define BUMP_FOOTER_BYTES 48

static uint64_t arg_of(const struct at_arena_rec *r, uint32_t n)
{
	return n >= 1 && n <= 6 ? r->args[n - 1] : 0;
}

static struct marena *arena_new(struct model *m, struct proc *p, const struct at_probe_info *info,
				uint64_t addr, uint64_t t)
{
	struct marena *a;

	if (p->narenas >= m->lim.max_arenas) {
		size_t k = 0;

		/* The oldest ended arena makes room; with none ended, the event is lost. */
		while (k < p->narenas && !p->arenas[k].r.ended)
			k++;
		if (k == p->narenas) {
			m->drops.arenas_full++;
			return NULL;
		}
		free(p->arenas[k].chunks);
		memmove(&p->arenas[k], &p->arenas[k + 1], (p->narenas - k - 1) * sizeof(*a));
		p->narenas--;
		p->r.arenas_omitted++;
	}
	if (at_grow(&p->arenas, p->narenas, &p->arenas_cap, sizeof(*a), 1))
		return NULL;
	a = &p->arenas[p->narenas++];
	memset(a, 0, sizeof(*a));
	a->info = info;
	a->r.type = info->type;
	a->r.addr = addr;
	a->r.since_ns = t;
	a->r.release = info->watched ? "free" : info->has_release ? "probe" : "unseen";
	return a;
}

/* The live arena of this type whose chunk ends at end (bumpalo: a footer) or begins at ptr. */
static struct marena *by_chunk(struct proc *p, const char *type, uint64_t ptr, uint64_t end,
			       size_t *idx)
{
	for (size_t i = 0; i < p->narenas; i++) {
		struct marena *a = &p->arenas[i];

		if (a->r.ended || (type && strcmp(a->r.type, type)))
			continue;
		for (size_t k = a->n; k-- > 0;) {
			if ((end && a->chunks[k].end == end) || (ptr && a->chunks[k].ptr == ptr)) {
				if (idx)
					*idx = k;
				return a;
			}
		}
	}
	return NULL;
}

static struct marena *by_addr(struct proc *p, const char *type, uint64_t addr)
{
	for (size_t i = p->narenas; i-- > 0;)
		if (!p->arenas[i].r.ended && p->arenas[i].r.addr == addr &&
		    !strcmp(p->arenas[i].r.type, type))
			return &p->arenas[i];
	return NULL;
}

static void chunk_add(struct marena *a, uint64_t ptr, uint64_t end, uint64_t bytes, uint64_t t)
{
	if (at_grow(&a->chunks, a->n, &a->cap, sizeof(a->chunks[0]), 1))
		return;
	a->chunks[a->n++] = (struct arena_chunk){ ptr, end, bytes, t, false };
	a->r.chunks = a->n;
	a->r.chunks_acquired++;
	a->r.bytes += bytes;
	if (a->r.bytes > a->r.high_water_bytes)
		a->r.high_water_bytes = a->r.bytes;
	a->reset_seen = false;
}

static void chunk_drop(struct marena *a, size_t k, uint64_t t)
{
	const struct arena_chunk *c = &a->chunks[k];

	a->r.bytes -= c->bytes;
	a->r.chunks_freed++;
	a->r.lifetime_hist[model_log2_slot((t - c->born_ns) / 1000, AT_LIFE_SLOTS)]++;
	memmove(&a->chunks[k], &a->chunks[k + 1], (a->n - k - 1) * sizeof(*c));
	a->r.chunks = --a->n;
}

static void end_arena(struct marena *a, uint64_t t)
{
	a->r.ended = true;
	a->r.ended_ns = t;
}

/* Chunks newer than index keep (all of them for SIZE_MAX) are released. */
static void free_after(struct marena *a, size_t keep, uint64_t t)
{
	while (a->n && (keep == SIZE_MAX || a->n - 1 > keep))
		chunk_drop(a, a->n - 1, t);
}

static void count_reset(struct marena *a, uint64_t kept)
{
	a->r.resets++;
	a->r.kept_bytes = kept;
	if (kept > a->r.kept_max_bytes)
		a->r.kept_max_bytes = kept;
}

/* bumpalo: the chunk that survives a reset is counted with its footer from then on (the
 * high-water mark, bumpalo's allocated_bytes() at its largest, is not raised by it). */
static void bump_keep(struct marena *a, size_t k)
{
	if (!a->chunks[k].kept) {
		a->chunks[k].kept = true;
		a->chunks[k].bytes += BUMP_FOOTER_BYTES;
		a->r.bytes += BUMP_FOOTER_BYTES;
	}
	count_reset(a, a->chunks[k].bytes);
}

static void apply_bump(struct model *m, struct proc *p, const struct at_arena_rec *r,
		       const struct at_probe_info *info, uint64_t t)
{
	uint64_t footer = r->words[0], data = r->words[1], prev = r->words[4];
	struct marena *a;
	size_t k = 0;

	if (!footer)
		return; /* not a footer: the Bump's layout was not recognised */
	if (r->hdr.kind == AT_AK_BUMP_SLOW) {
		if (!r->ret)
			return; /* the allocation failed */
		a = by_chunk(p, "bumpalo", 0, prev, NULL);
		if (!a)
			a = arena_new(m, p, info, r->args[0], t);
		if (!a)
			return;
		a->r.addr = r->args[0];
		chunk_add(a, data, footer, footer - data, t);
		return;
	}
	a = by_chunk(p, "bumpalo", 0, footer, &k);
	if (!a)
		return; /* the empty Bump, or chunks from before the trace */
	if (r->hdr.kind == AT_AK_BUMP_RESET) {
		/* Every chunk but the current one goes (through free, when watched). */
		bump_keep(a, k);
		if (!a->info->watched)
			for (size_t i = a->n; i-- > 0;)
				if (i != k)
					chunk_drop(a, i, t);
		return;
	}
	/* Drop: every chunk goes. */
	if (!a->info->watched) {
		free_after(a, SIZE_MAX, t);
		end_arena(a, t);
	}
}

/* A watched chunk reached its allocator's free. Without a reset probe, older chunks freed
 * while the newest lives are a reset (bumpalo's reset keeps the newest; a drop frees the
 * newest first). */
static void apply_freed(struct proc *p, const struct at_arena_rec *r, uint64_t t)
{
	size_t k;
	struct marena *a = by_chunk(p, NULL, r->args[0], 0, &k);

	if (!a)
		return;
	if (k + 1 < a->n && !a->info->has_reset && !a->reset_seen) {
		a->reset_seen = true;
		if (!strcmp(a->r.type, "bumpalo"))
			bump_keep(a, a->n - 1);
		else
			count_reset(a, a->chunks[a->n - 1].bytes);
	}
	chunk_drop(a, k, t);
	if (!a->n)
		end_arena(a, t);
}

static void apply_obstack(struct model *m, struct proc *p, const struct at_arena_rec *r,
			  const struct at_probe_info *info, uint64_t t)
{
	uint64_t h = r->args[0], chunk = r->words[1], limit = r->words[5], prev = r->words[6];
	struct marena *a = by_addr(p, "obstack", h);
	size_t k = SIZE_MAX;

	if (r->hdr.kind == AT_AK_OBSTACK_FREE) {
		if (!a)
			return;
		if (!r->args[1]) { /* obstack_free(h, NULL): everything */
			free_after(a, SIZE_MAX, t);
			end_arena(a, t);
			return;
		}
		/* Chunks newer than the one now current went back through freefun. */
		if (by_chunk(p, "obstack", chunk, 0, &k) == a)
			free_after(a, k, t);
		count_reset(a, a->r.bytes);
		return;
	}
	if (!chunk || limit <= chunk)
		return;
	if (a && !prev) { /* _obstack_begin on an obstack never freed */
		end_arena(a, t);
		a = NULL;
	}
	if (!a)
		a = arena_new(m, p, info, h, t);
	if (!a)
		return;
	/* _obstack_newchunk frees the old chunk when it held only the object being moved:
	 * the new chunk's prev is then older. */
	if (prev && by_chunk(p, "obstack", prev, 0, &k) == a)
		free_after(a, k, t);
	chunk_add(a, chunk, limit, limit - chunk, t);
}

static void apply_custom(struct model *m, struct proc *p, const struct at_arena_rec *r,
			 const struct at_probe_info *info, uint64_t t)
{
	uint64_t self = arg_of(r, AT_ACOOKIE_SELF_ARG(r->cookie));
	struct marena *a = by_addr(p, info->type, self);
	size_t k;

	switch (r->hdr.kind) {
	case AT_AK_CHUNK_ALLOC:
		if (!r->ret)
			return;
		if (!a)
			a = arena_new(m, p, info, self, t);
		if (a)
			chunk_add(a, r->ret, 0, arg_of(r, AT_ACOOKIE_SIZE_ARG(r->cookie)), t);
		return;
	case AT_AK_CHUNK_FREE:
		if (a &&
		    by_chunk(p, info->type, arg_of(r, AT_ACOOKIE_PTR_ARG(r->cookie)), 0, &k) == a) {
			chunk_drop(a, k, t);
			if (!a->n)
				end_arena(a, t); /* every chunk freed, as a watched arena ends */
		}
		return;
	case AT_AK_RESET:
		if (a)
			count_reset(a, a->r.bytes);
		return;
	default:
		return;
	}
}

static void apply_internal(struct proc *p, const struct at_arena_rec *r,
			   const struct at_probe_info *info)
{
	int id = model_owner_id(p, info->type, true); /* may move p->allocs */
	struct alloc *al = &p->allocs[id];
	struct rep_internal *in = NULL;

	for (size_t i = 0; i < al->r.ninternals; i++)
		if (!strcmp(al->internals[i].func, info->func))
			in = &al->internals[i];
	if (!in) {
		if (al->r.ninternals == AT_MAX_INTERNALS)
			return;
		in = &al->internals[al->r.ninternals++];
		snprintf(in->func, sizeof(in->func), "%s", info->func);
		in->op = info->op;
	}
	in->calls++;
	in->bytes += arg_of(r, (uint32_t)info->size_arg);
	in->zero_ret += r->hdr.kind == AT_AK_INTERNAL && !r->ret;
	in->total_ns += r->dur_ns;
}

void model_arena_apply(struct model *m, const struct at_arena_rec *r,
		       const struct at_probe_info *info)
{
	struct proc *p = model_find_proc(m, (int)r->hdr.pid);
	uint64_t t = r->hdr.ts_ns > m->start_ns ? r->hdr.ts_ns - m->start_ns : 0;

	if (!p) {
		m->drops.unattributed++;
		return;
	}
	if (r->hdr.kind == AT_AK_CHUNK_FREED) {
		apply_freed(p, r, t);
		return;
	}
	if (!info)
		return;
	switch (r->hdr.kind) {
	case AT_AK_BUMP_SLOW:
	case AT_AK_BUMP_RESET:
	case AT_AK_BUMP_DROP:
		apply_bump(m, p, r, info, t);
		break;
	case AT_AK_OBSTACK_NEW:
	case AT_AK_OBSTACK_FREE:
		apply_obstack(m, p, r, info, t);
		break;
	case AT_AK_CHUNK_ALLOC:
	case AT_AK_CHUNK_FREE:
	case AT_AK_RESET:
		apply_custom(m, p, r, info, t);
		break;
	case AT_AK_INTERNAL:
	case AT_AK_USDT:
		apply_internal(p, r, info);
		break;
	default:
		break;
	}
}

void model_arena_report(struct proc *p)
{
	struct rep_arena *out = p->narenas ? calloc(p->narenas, sizeof(*out)) : NULL;
	size_t n = 0;

	free(p->rep_arenas);
	p->rep_arenas = out;
	for (int pass = 0; out && pass < 2; pass++)
		for (size_t i = 0; i < p->narenas; i++)
			if (p->arenas[i].r.ended == (pass == 1))
				out[n++] = p->arenas[i].r;
	p->r.arenas = out;
	p->r.narenas = n;
}

void model_arena_free(struct proc *p)
{
	for (size_t i = 0; i < p->narenas; i++)
		free(p->arenas[i].chunks);
	free(p->arenas);
	free(p->rep_arenas);
	p->arenas = NULL;
	p->rep_arenas = NULL;
	p->narenas = p->arenas_cap = 0;
}
