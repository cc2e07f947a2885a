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

bool fileset_has(const struct fileset *s, struct file_id file)
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
