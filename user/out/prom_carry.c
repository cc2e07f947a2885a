// SPDX-License-Identifier: GPL-2.0-only
#include "prom_carry.h"

#include <stdlib.h>
#include <string.h>

struct entry {
	int pid;
	uint32_t gen;
	bool seen; /* in this render */
	bool top;  /* in the top at this render */
	char *name;
	char *labels;	    /* of its own series, while it has one (else NULL) */
	uint64_t top_reads; /* the reads counter at the last render that had it in the top */
	double *last;	    /* the raw counters at the last render */
	double *exported;   /* the process's own series: its gains while in the top */
};

struct other {
	char *name;
	double *values;
};

struct prom_carry {
	size_t width;
	uint64_t reads;
	struct entry *e; /* sorted by (pid, name) */
	size_t n, cap;
	size_t sorted; /* e[0, sorted) is sorted; entries added in this render follow */
	struct other *o;
	size_t no, ocap;
};

struct prom_carry *prom_carry__new(size_t width)
{
	struct prom_carry *c = calloc(1, sizeof(*c));

	if (c)
		c->width = width;
	return c;
}

static void entry_free(struct entry *e)
{
	free(e->name);
	free(e->labels);
	free(e->last); /* exported shares its block */
}

void prom_carry__free(struct prom_carry *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		entry_free(&c->e[i]);
	for (size_t i = 0; i < c->no; i++) {
		free(c->o[i].name);
		free(c->o[i].values);
	}
	free(c->e);
	free(c->o);
	free(c);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return strcmp(x->name, y->name);
}

void prom_carry_begin(struct prom_carry *c, uint64_t reads)
{
	for (size_t i = 0; i < c->n; i++)
		c->e[i].seen = c->e[i].top = false;
	c->sorted = c->n;
	c->reads = reads;
}

static struct entry *find(struct prom_carry *c, int pid, const char *name)
{
	struct entry key = { .pid = pid, .name = (char *)name };
	struct entry *e =
		c->sorted ? bsearch(&key, c->e, c->sorted, sizeof(*c->e), cmp_entry) : NULL;

	for (size_t i = c->sorted; !e && i < c->n; i++)
		if (!cmp_entry(&key, &c->e[i]))
			e = &c->e[i];
	return e;
}

static double *other_of(struct prom_carry *c, const char *name)
{
	struct other *o;

	for (size_t i = 0; i < c->no; i++)
		if (!strcmp(c->o[i].name, name))
			return c->o[i].values;
	if (at_grow(&c->o, c->no, &c->ocap, sizeof(*c->o), 1))
		return NULL;
	o = &c->o[c->no];
	o->name = strdup(name);
	o->values = calloc(c->width, sizeof(double));
	if (!o->name || !o->values) {
		free(o->name);
		free(o->values);
		return NULL;
	}
	c->no++;
	return o->values;
}

int prom_carry_add(struct prom_carry *c, int pid, uint32_t gen, const char *name,
		   const char *labels, const double *raw, bool top, double *out)
{
	struct entry *e = find(c, pid, name);
	double *other = top ? NULL : other_of(c, name);
	bool restart;

	if (!top && !other)
		return -ENOMEM;
	if (!e) {
		if (at_grow(&c->e, c->n, &c->cap, sizeof(*c->e), 1))
			return -ENOMEM;
		e = &c->e[c->n];
		memset(e, 0, sizeof(*e));
		e->pid = pid;
		e->gen = gen;
		e->name = strdup(name);
		e->last = calloc(2 * c->width, sizeof(double));
		if (!e->name || !e->last) {
			entry_free(e);
			return -ENOMEM;
		}
		e->exported = e->last + c->width;
		c->n++;
	}
	/* Counters that restarted (a new program in the process, or a pid reused before the
	 * old entry went): everything they hold now is new. */
	restart = e->gen != gen;
	for (size_t k = 0; k < c->width && !restart; k++)
		restart = raw[k] < e->last[k];
	if (restart)
		memset(e->last, 0, c->width * sizeof(double));
	e->gen = gen;
	e->seen = true;
	if (top) {
		char *l = labels ? strdup(labels) : NULL;

		if (labels && !l)
			return -ENOMEM;
		free(e->labels);
		e->labels = l;
		e->top = true;
		e->top_reads = c->reads;
	}
	for (size_t k = 0; k < c->width; k++) {
		double gain = raw[k] - e->last[k];

		if (top)
			e->exported[k] += gain;
		else
			other[k] += gain;
		e->last[k] = raw[k];
	}
	if (top && out)
		memcpy(out, e->exported, c->width * sizeof(double));
	return 0;
}

/* Whether e's own series ended and still waits for a reader. */
static bool lingers(const struct prom_carry *c, const struct entry *e)
{
	return !e->top && e->labels && c->reads < e->top_reads + 2;
}

static int cmp_top_reads(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a,
			   *y = *(const struct entry *const *)b;

	return (x->top_reads < y->top_reads) - (x->top_reads > y->top_reads); /* newest first */
}

void prom_carry_end(struct prom_carry *c)
{
	size_t k = 0, nl = 0;
	struct entry **l = NULL;

	for (size_t i = 0; i < c->n; i++) {
		struct entry *e = &c->e[i];

		if (!e->top && e->labels && !lingers(c, e)) {
			free(e->labels); /* read since it ended: the series goes */
			e->labels = NULL;
		}
		nl += lingers(c, e);
	}
	/* Too many waiting: the oldest go (their gains since the last scrape are lost). */
	if (nl > PROM_CARRY_LINGER && (l = calloc(nl, sizeof(*l)))) {
		nl = 0;
		for (size_t i = 0; i < c->n; i++)
			if (lingers(c, &c->e[i]))
				l[nl++] = &c->e[i];
		qsort(l, nl, sizeof(*l), cmp_top_reads);
		for (size_t i = PROM_CARRY_LINGER; i < nl; i++) {
			free(l[i]->labels);
			l[i]->labels = NULL;
		}
		free(l);
	}
	for (size_t i = 0; i < c->n; i++) {
		if (c->e[i].seen || lingers(c, &c->e[i]))
			c->e[k++] = c->e[i];
		else
			entry_free(&c->e[i]);
	}
	c->n = k;
	if (c->n)
		qsort(c->e, c->n, sizeof(*c->e), cmp_entry);
	c->sorted = c->n;
}

void prom_carry_each_ended(const struct prom_carry *c,
			   void (*fn)(void *arg, const char *labels, const char *name,
				      const double *values),
			   void *arg)
{
	for (size_t i = 0; i < c->n; i++)
		if (lingers(c, &c->e[i]))
			fn(arg, c->e[i].labels, c->e[i].name, c->e[i].exported);
}

size_t prom_carry_others(const struct prom_carry *c)
{
	return c->no;
}

const char *prom_carry_other(const struct prom_carry *c, size_t i, const double **values)
{
	*values = c->o[i].values;
	return c->o[i].name;
}
