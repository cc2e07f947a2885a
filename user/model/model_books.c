// SPDX-License-Identifier: GPL-2.0-only
/*
 * The allocators' own books in the model (attach truth): the ranges they say they own
 * decide the owners of memory from before attach, and their figures (live, free, retained
 * and their own counters) go to the report as read. Above the os part (docs/design.md,
 * "The model's layers").
 */
#include <string.h>

#include "imap.h"
#include "model.h"
#include "model_priv.h"

int model_set_books(struct model *m, int pid, const char *allocator, const struct rep_books *b,
		    const struct model_range *ranges, size_t n)
{
	struct proc *p = model_find_proc(m, pid);
	int id;

	if (!p)
		return -ESRCH;
	id = model_owner_id(p, allocator, true);
	if (id < AT_OWNER_FIRST)
		return -ENOSPC;
	for (size_t i = 0; i < n; i++)
		model_os_claim(p, id, ranges[i].start, ranges[i].end, ranges[i].evidence, false);
	p->allocs[id].r.books = *b;
	model_note_retained(m, &p->allocs[id], b->retained_bytes, b->live_bytes,
			    m->start_ns + b->t_ns);
	return 0;
}

bool model_has_unknown(const struct model *m, int pid)
{
	const struct proc *p = model_find_proc(m, pid);

	return p && p->r.attached_running && model_os_has_unknown(p);
}

int model_claim_pointer(struct model *m, int pid, const char *allocator, uint64_t ptr)
{
	struct proc *p = model_find_proc(m, pid);
	int id;

	if (!p)
		return -ESRCH;
	id = model_owner_id(p, allocator, true);
	if (id < AT_OWNER_FIRST)
		return -ENOSPC;
	return model_os_claim(p, id, ptr, ptr + 1, AT_EV_POINTER, true);
}
