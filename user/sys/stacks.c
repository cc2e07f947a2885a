// SPDX-License-Identifier: GPL-2.0-only
#include "stacks.h"

#include <libiberty/demangle.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"
#include "syms.h"

struct region {
	uint64_t start, end, offset;
	size_t file; /* index into files */
};

struct stacks {
	int pid;
	struct region *regions;
	size_t nregions, rcap;
	struct syms_lazy *files;
	size_t nfiles, fcap;
};

struct stacks *stacks__new(void)
{
	return calloc(1, sizeof(struct stacks));
}

void stacks__free(struct stacks *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nfiles; i++)
		syms_lazy_release(&s->files[i]);
	free(s->files);
	free(s->regions);
	free(s);
}

char *stacks_demangle(const char *name)
{
	return cplus_demangle(name, DMGL_PARAMS | DMGL_AUTO);
}

static size_t file_index(struct stacks *s, const char *path)
{
	for (size_t i = 0; i < s->nfiles; i++)
		if (!strcmp(s->files[i].path, path))
			return i;
	if (at_grow(&s->files, s->nfiles, &s->fcap, sizeof(s->files[0]), 1))
		return SIZE_MAX;
	syms_lazy_init(&s->files[s->nfiles], path);
	return s->nfiles++;
}

static int add_region(const struct maps_entry *e, void *arg)
{
	struct stacks *s = arg;
	size_t f;

	if (!(e->prot & 4 /* PROT_EXEC */) || e->path[0] != '/')
		return 0;
	f = file_index(s, e->path);
	if (f == SIZE_MAX)
		return -ENOMEM;
	if (at_grow(&s->regions, s->nregions, &s->rcap, sizeof(s->regions[0]), 1))
		return -ENOMEM;
	s->regions[s->nregions++] = (struct region){ e->start, e->end, e->offset, f };
	return 0;
}

int stacks_refresh(struct stacks *s, int pid)
{
	s->pid = pid;
	s->nregions = 0;
	return procfs_read_maps(pid, add_region, s);
}

void stacks_symbolize(struct stacks *s, uint64_t addr, char *buf, size_t len)
{
	for (size_t i = 0; i < s->nregions; i++) {
		const struct region *r = &s->regions[i];
		struct syms_lazy *f = &s->files[r->file];
		const char *base = strrchr(f->path, '/'), *name = NULL;
		uint64_t off = addr - r->start + r->offset;
		const struct syms *syms;
		char *dem;

		if (addr < r->start || addr >= r->end)
			continue;
		/* A return address: the call is the byte before it. */
		syms = syms_lazy_get(f, s->pid);
		if (syms)
			name = syms_name_at(syms, off - 1);
		if (!name) {
			snprintf(buf, len, "0x%llx (%s)", (unsigned long long)addr,
				 base ? base + 1 : f->path);
			return;
		}
		dem = stacks_demangle(name);
		snprintf(buf, len, "%s (%s)", dem ? dem : name, base ? base + 1 : f->path);
		free(dem);
		return;
	}
	snprintf(buf, len, "0x%llx", (unsigned long long)addr);
}
