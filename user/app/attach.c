// SPDX-License-Identifier: GPL-2.0-only
/*
 * Attach truth (docs/attach.md): each allocator's own books, read from a process's memory
 * at every sample with no probe, handed to the model: the ranges each allocator owns (they
 * decide the owner of memory from before attach) and its figures (live, free, retained,
 * its own counters). A reader that finds nothing of its allocator adds nothing.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "books.h"
#include "glibc.h"
#include "jemalloc.h"
#include "log.h"
#include "mimalloc.h"
#include "pymalloc.h"
#include "model.h"
#include "tmem.h"

/* What one reading of a process's books may read in all (the readers bound their walks
 * within it; past it the books are partial and say so). */
#define ATTACH_READ_BUDGET (64ull << 20)

struct reader {
	const char *name;
	int (*read)(struct tmem *t, int pid, struct books *out);
};

static int read_glibc(struct tmem *t, int pid, struct books *out)
{
	return books_glibc_read(t, pid, NULL, out);
}

static const struct reader readers[] = {
	{ "glibc", read_glibc },
	{ "jemalloc", books_jemalloc_read },
	{ "mimalloc", books_mimalloc_read },
	{ "pymalloc", books_pymalloc_read },
};

static enum at_evidence evidence_of(uint32_t ev)
{
	switch (ev) {
	case BOOKS_EV_HEADER:
		return AT_EV_HEADER;
	case BOOKS_EV_BOOKS:
		return AT_EV_BOOKS;
	default:
		return AT_EV_INFERRED;
	}
}

static void to_model(struct at_ctx *c, int pid, const char *name, const struct books *b, uint64_t t)
{
	struct rep_books rb = { .known = true,
				.t_ns = t > c->start_ns ? t - c->start_ns : 0,
				.live_bytes = b->live_bytes,
				.free_bytes = b->free_bytes,
				.retained_bytes = b->free_resident_bytes,
				.mapped_bytes = b->mapped_bytes,
				.partial = b->partial };
	struct model_range *r = b->nranges ? calloc(b->nranges, sizeof(*r)) : NULL;

	for (size_t i = 0; i < b->nfigures && i < AT_BOOKS_FIGURES; i++) {
		rb.figures[i].name = b->figures[i].name;
		rb.figures[i].bytes = b->figures[i].bytes;
		rb.figures[i].count = b->figures[i].count;
		rb.nfigures++;
	}
	snprintf(rb.reason, sizeof(rb.reason), "%s", b->reason);
	for (size_t i = 0; r && i < b->nranges; i++)
		r[i] = (struct model_range){ b->ranges[i].start, b->ranges[i].end,
					     evidence_of(b->ranges[i].evidence) };
	model_set_books(c->model, pid, b->allocator ? b->allocator : name, &rb, r,
			r ? b->nranges : 0);
	free(r);
}

void attach_read_books(struct at_ctx *c, int pid, uint64_t t)
{
	struct tmem *mem = tmem__open(pid);
	uint64_t t0 = app_now_ns();

	if (!mem)
		return; /* gone, or not readable: its books stay as last read */
	for (size_t i = 0; i < AT_ARRAY_SIZE(readers); i++) {
		struct books b = { 0 };
		int err;

		uint64_t r0 = app_now_ns();

		tmem_set_budget(mem, ATTACH_READ_BUDGET);
		err = readers[i].read(mem, pid, &b);
		at_note(3, "pid %d: %s books: %.3f ms", pid, readers[i].name,
			(double)(app_now_ns() - r0) / 1e6);
		if (err)
			at_note(2, "pid %d: %s books not read: %s", pid, readers[i].name,
				strerror(-err));
		else if (b.nranges || b.mapped_bytes || b.live_bytes)
			to_model(c, pid, readers[i].name, &b, t);
		books_release(&b);
	}
	tmem__free(mem);
	/* make bench reads this (-vv): what one reading of a process's books costs. */
	at_note(2, "pid %d: books read in %.3f ms", pid, (double)(app_now_ns() - t0) / 1e6);
}
