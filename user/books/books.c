// SPDX-License-Identifier: GPL-2.0-only
#include "books.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void books_release(struct books *b)
{
	free(b->ranges);
	memset(b, 0, sizeof(*b));
}

int books_add_range(struct books *b, uint64_t start, uint64_t end, enum books_evidence ev,
		    uint32_t kind)
{
	if (at_grow(&b->ranges, b->nranges, &b->ranges_cap, sizeof(*b->ranges), 1))
		return -ENOMEM;
	b->ranges[b->nranges++] =
		(struct books_range){ .start = start, .end = end, .evidence = ev, .kind = kind };
	return 0;
}

static int by_start(const void *a, const void *b)
{
	const struct books_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

void books_sort_ranges(struct books *b)
{
	if (b->nranges > 1)
		qsort(b->ranges, b->nranges, sizeof(*b->ranges), by_start);
}

static void set_figure(struct books *b, const char *name, uint64_t v, bool count)
{
	for (size_t i = 0; i < b->nfigures; i++) {
		if (!strcmp(b->figures[i].name, name)) {
			b->figures[i].bytes = v;
			b->figures[i].count = count;
			return;
		}
	}
	if (b->nfigures < BOOKS_MAX_FIGURES)
		b->figures[b->nfigures++] =
			(struct books_figure){ .name = name, .bytes = v, .count = count };
}

void books_set_figure(struct books *b, const char *name, uint64_t bytes)
{
	set_figure(b, name, bytes, false);
}

void books_set_count(struct books *b, const char *name, uint64_t n)
{
	set_figure(b, name, n, true);
}

void books_partial(struct books *b, const char *fmt, ...)
{
	va_list ap;

	if (b->partial)
		return;
	b->partial = true;
	va_start(ap, fmt);
	vsnprintf(b->reason, sizeof(b->reason), fmt, ap);
	va_end(ap);
}
