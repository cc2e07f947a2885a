// SPDX-License-Identifier: GPL-2.0-only
#include "probeset.h"

#include <stdlib.h>
#include <string.h>


void probeset_release(struct probeset *p)
{
	for (size_t i = 0; i < p->nlinks; i++)
		loader_link__destroy(p->links[i]);
	free(p->links);
	free(p->done);
	memset(p, 0, sizeof(*p));
}

bool probeset_first(struct probeset *p, struct file_id file, uint64_t off)
{
	for (size_t i = 0; i < p->ndone; i++)
		if (file_id_eq(p->done[i].file, file) && p->done[i].off == off)
			return false;
	if (at_grow(&p->done, p->ndone, &p->done_cap, sizeof(p->done[0]), 1))
		return false;
	p->done[p->ndone++] = (struct probe_point){ file, off };
	return true;
}

static bool fileset_has(const struct fileset *s, struct file_id file)
{
	for (size_t i = 0; i < s->n; i++)
		if (file_id_eq(s->f[i], file))
			return true;
	return false;
}

bool fileset_add(struct fileset *s, struct file_id file)
{
	if (fileset_has(s, file) || at_grow(&s->f, s->n, &s->cap, sizeof(*s->f), 1))
		return false;
	s->f[s->n++] = file;
	return true;
}

void fileset_free(struct fileset *s)
{
	free(s->f);
	memset(s, 0, sizeof(*s));
}
