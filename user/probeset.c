// SPDX-License-Identifier: GPL-2.0-only
#include "probeset.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"

void probeset_release(struct probeset *p)
{
	for (size_t i = 0; i < p->nlinks; i++)
		loader_link__destroy(p->links[i]);
	free(p->links);
	free(p->done);
	memset(p, 0, sizeof(*p));
}

bool probeset_first(struct probeset *p, uint64_t ino, uint64_t off)
{
	for (size_t i = 0; i < p->ndone; i++)
		if (p->done[i][0] == ino && p->done[i][1] == off)
			return false;
	if (at_grow(&p->done, p->ndone, &p->done_cap, sizeof(p->done[0]), 1))
		return false;
	p->done[p->ndone][0] = ino;
	p->done[p->ndone][1] = off;
	p->ndone++;
	return true;
}

bool inoset_has(const struct inoset *s, uint64_t ino)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->ino[i] == ino)
			return true;
	return false;
}

bool inoset_add(struct inoset *s, uint64_t ino)
{
	if (inoset_has(s, ino) || at_grow(&s->ino, s->n, &s->cap, sizeof(*s->ino), 1))
		return false;
	s->ino[s->n++] = ino;
	return true;
}

void inoset_free(struct inoset *s)
{
	free(s->ino);
	memset(s, 0, sizeof(*s));
}

struct walk {
	int pid;
	int (*fn)(void *arg, const char *path);
	void *arg;
	char last[PATH_MAX];
	int err;
};

static int each_mapping(const struct maps_entry *e, void *arg)
{
	struct walk *w = arg;
	char path[PATH_MAX + 32];
	int err;

	if (!(e->prot & 4 /* PROT_EXEC */) || e->path[0] != '/' || !strcmp(e->path, w->last))
		return 0;
	snprintf(w->last, sizeof(w->last), "%s", e->path);
	snprintf(path, sizeof(path), "/proc/%d/root%s", w->pid, e->path);
	err = w->fn(w->arg, path);
	if (err && !w->err)
		w->err = err;
	return 0;
}

int probeset_each_exec_file(int pid, int (*fn)(void *arg, const char *path), void *arg)
{
	struct walk *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	*w = (struct walk){ .pid = pid, .fn = fn, .arg = arg };
	err = procfs_read_maps(pid, each_mapping, w);
	if (!err)
		err = w->err;
	free(w);
	return err;
}
