// SPDX-License-Identifier: GPL-2.0-only
#include "prom_carry.h"

#include <stdlib.h>
#include <string.h>

struct entry {
	int pid;
	uint32_t gen;
	bool seen; /* in this render */
	char *name;
	double *last;	  /* the raw counters at the last render */
	double *exported; /* the process's own series: its gains while in the top */
};

struct other {
	char *name;
	double *values;
};

struct prom_carry {
	size_t width;
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

void prom_carry_begin(struct prom_carry *c)
{
	for (size_t i = 0; i < c->n; i++)
		c->e[i].seen = false;
	c->sorted = c->n;
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

int prom_carry_add(struct prom_carry *c, int pid, uint32_t gen, const char *name, const double *raw,
		   bool top, double *out)
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

void prom_carry_end(struct prom_carry *c)
{
	size_t k = 0;

	for (size_t i = 0; i < c->n; i++) {
		if (c->e[i].seen)
			c->e[k++] = c->e[i];
		else
			entry_free(&c->e[i]);
	}
	c->n = k;
	if (c->n)
		qsort(c->e, c->n, sizeof(*c->e), cmp_entry);
	c->sorted = c->n;
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
