// SPDX-License-Identifier: GPL-2.0-only
/* --stacks: reading the processes' allocation stacks from the BPF maps, resolving their
 * frames against the processes' mappings, and handing them to the model. A process's
 * mappings are read when it execs and whenever it maps new code (a library loaded), while
 * it lives; at its exit its stacks are read with the mappings read last, once for all the
 * processes that exited since (a walk of the stack map each costs two system calls per
 * stack kept). */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "heap.h"
#include "loader.h"
#include "log.h"
#include "model.h"
#include "stacks.h"
#include "ustack.h"
#include "x86.h"

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void pid_add(struct pid_set *s, int pid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == (uint32_t)pid)
			return;
	if (!at_grow(&s->v, s->n, &s->cap, sizeof(*s->v), 1))
		s->v[s->n++] = (uint32_t)pid;
}

/* The resolved frames of a capture, one per distinct address of a process. */
struct frame_set {
	uint64_t *addrs; /* sorted */
	struct stacks_frame *sf;
	int *err; /* stacks_frame's result */
	size_t n;
};

static void frame_set_free(struct frame_set *fs)
{
	free(fs->addrs);
	free(fs->sf);
	free(fs->err);
	memset(fs, 0, sizeof(*fs));
}

static int resolve_all(struct at_ctx *c, int pid, const struct loader_stack *raw, size_t nraw,
		       struct frame_set *fs)
{
	size_t total = 0, n = 0;

	for (size_t i = 0; i < nraw; i++)
		total += raw[i].nips;
	fs->addrs = malloc((total ? total : 1) * sizeof(*fs->addrs));
	if (!fs->addrs)
		return -ENOMEM;
	for (size_t i = 0; i < nraw; i++)
		for (size_t k = 0; k < raw[i].nips; k++)
			fs->addrs[n++] = raw[i].ips[k];
	qsort(fs->addrs, n, sizeof(*fs->addrs), cmp_u64);
	fs->n = 0;
	for (size_t i = 0; i < n; i++)
		if (!fs->n || fs->addrs[fs->n - 1] != fs->addrs[i])
			fs->addrs[fs->n++] = fs->addrs[i];
	fs->sf = calloc(fs->n ? fs->n : 1, sizeof(*fs->sf));
	fs->err = calloc(fs->n ? fs->n : 1, sizeof(*fs->err));
	if (!fs->sf || !fs->err)
		return -ENOMEM;
	for (size_t i = 0; i < fs->n; i++) {
		unsigned char code[8];
		size_t len = sizeof(code);

		fs->err[i] = stacks_frame(c->stacks, pid, fs->addrs[i], &fs->sf[i]);
		/* A return address follows a call: one that does not is not one (a frame
		 * pointer walk through code without frame pointers reads any word); the file
		 * that cannot be read is given the benefit of the doubt. */
		if (!fs->err[i] && !stacks_code_before(c->stacks, pid, fs->addrs[i], code, &len) &&
		    !x86_after_call(code, len))
			fs->err[i] = -ENOENT;
	}
	return 0;
}

static const char *or_null(const char *s)
{
	return s[0] ? s : NULL;
}

/* A stack's frames, innermost first, up to the first that cannot be trusted: an address in
 * no executable file mapping, or one that does not follow a call instruction (what a
 * frame-pointer walk finds past code built without frame pointers). When the process's
 * mappings were never had, the addresses alone. */
static size_t stack_frames(const struct frame_set *fs, const struct loader_stack *raw,
			   struct rep_frame *out)
{
	size_t n = 0;

	for (size_t k = 0; k < raw->nips; k++) {
		uint64_t *at = bsearch(&raw->ips[k], fs->addrs, fs->n, sizeof(*fs->addrs), cmp_u64);
		size_t i = (size_t)(at - fs->addrs);
		const struct stacks_frame *f = &fs->sf[i];

		if (fs->err[i] == -ENOENT)
			break;
		out[n++] = (struct rep_frame){
			.address = raw->ips[k],
			.module = or_null(f->module),
			.build_id = or_null(f->build_id),
			.offset = f->offset,
			.function = or_null(f->function),
			.function_offset = f->function_offset,
			.file = or_null(f->file),
			.line = f->line,
		};
	}
	return n;
}

/* One process's stacks (raw, n of them, largest first) into the model. */
static void set_stacks(struct at_ctx *c, int pid, bool exited, const struct loader_stack *raw,
		       size_t n)
{
	struct rep_stack *rep = calloc(n ? n : 1, sizeof(*rep));
	struct rep_frame *frames = calloc(n ? n * AT_STACK_DEPTH : 1, sizeof(*frames));
	struct frame_set fs = { 0 };
	size_t shown = 0;

	if (!rep || !frames || resolve_all(c, pid, raw, n, &fs))
		goto out;
	for (size_t i = 0; i < n; i++) {
		rep[i] = (struct rep_stack){
			.allocator = heap_alloc_name(c->heap, raw[i].alloc),
			.bytes = raw[i].bytes,
			.blocks = raw[i].blocks,
			.alloc_bytes = raw[i].alloc_bytes,
			.alloc_count = raw[i].alloc_count,
			.frames = &frames[i * AT_STACK_DEPTH],
		};
		rep[i].nframes = stack_frames(&fs, &raw[i], &frames[i * AT_STACK_DEPTH]);
		/* Shown: the first N with live blocks (they come first). */
		if (raw[i].blocks > 0 && raw[i].bytes > 0 && shown == i &&
		    shown < (size_t)c->opts->stacks)
			shown++;
	}
	model_set_stacks(c->model, pid, exited, rep, n, shown);
out:
	frame_set_free(&fs);
	free(frames);
	free(rep);
}

/* --unwind dwarf: pid's sampled stacks into the model; at its exit they go. */
static void sampled_stacks(struct at_ctx *c, int pid, bool exited)
{
	struct loader_stack *rows = NULL;
	int n = samples_stacks(c->samples, pid, &rows);

	if (n >= 0)
		set_stacks(c, pid, exited, rows, (size_t)n);
	free(rows);
	if (exited) {
		samples_forget(c->samples, pid);
		ustack_forget(c->ustack, pid);
	}
}

/* The stacks of the processes in set (exited ones, or live ones whose mappings are read
 * again first), in one walk of the stack map. */
static void capture(struct at_ctx *c, struct pid_set *set, bool exited)
{
	struct loader_stack *raw = NULL;
	int got;

	if (!set->n)
		return;
	qsort(set->v, set->n, sizeof(*set->v), cmp_u32);
	got = c->samples ? 0 : loader_heap_stacks(c->loader, set->v, set->n, &raw);
	for (size_t i = 0, k = 0; got >= 0 && i < set->n; i++) {
		size_t first = k;
		int pid = (int)set->v[i];

		while (k < (size_t)got && raw[k].tgid == set->v[i])
			k++;
		if (!exited)
			stacks_refresh(c->stacks, pid); /* else the mappings read last */
		if (c->samples)
			sampled_stacks(c, pid, exited);
		else
			set_stacks(c, pid, exited, &raw[first], k - first);
		if (exited)
			stacks_forget(c->stacks, pid);
	}
	free(raw);
	set->n = 0;
}

void capture_sample(struct at_ctx *c, const void *data, size_t len)
{
	const struct at_rec_hdr *h = data;

	if (!c->samples)
		return;
	if (h->type == AT_REC_USTACK && len >= sizeof(struct at_ustack_rec))
		samples_add(c->samples, c->ustack, data);
	else if (h->type == AT_REC_USTACK_FREE && len >= sizeof(struct at_ustack_free))
		samples_free(c->samples, data);
}

void capture_record(struct at_ctx *c, const void *data, size_t len)
{
	const struct at_sys_rec *r = data;

	/* A successful mmap or mprotect of executable memory: the process loaded code whose
	 * frames its stacks may hold. */
	if (r->hdr.type == AT_REC_SYSCALL && len >= sizeof(*r) &&
	    (r->hdr.kind == AT_SYS_MMAP || r->hdr.kind == AT_SYS_MPROTECT) &&
	    (r->args[2] & 4 /* PROT_EXEC */) && r->ret >= 0 &&
	    heap_has_pid(c->heap, (int)r->hdr.pid)) {
		pid_add(&c->maps_stale, (int)r->hdr.pid);
		if (c->ustack)
			ustack_stale(c->ustack, (int)r->hdr.pid);
	}
}

void capture_exec(struct at_ctx *c, int pid)
{
	/* The old program's mappings go; the new one's executable was noted with its probes
	 * (targets_probe_launch). */
	stacks_forget(c->stacks, pid);
	if (c->samples) {
		samples_forget(c->samples, pid);
		ustack_forget(c->ustack, pid);
	}
	/* Its mappings now, as far as the loader has made them, and again at the next sample:
	 * a program that exits at once may leave no other (its exit's mappings are not read
	 * when the kernel's lock on them is held: drops.exit_vmas). */
	if (heap_has_pid(c->heap, pid)) {
		stacks_refresh(c->stacks, pid);
		pid_add(&c->maps_stale, pid);
	}
}

void capture_vma(struct at_ctx *c, const struct at_vma_rec *r)
{
	char name[sizeof(r->name) + 1];

	memcpy(name, r->name, sizeof(r->name));
	name[sizeof(r->name)] = '\0';
	stacks_exit_vma(c->stacks, (int)r->hdr.pid, r->start, r->end, r->offset, r->dev_major,
			r->dev_minor, r->ino, name);
}

void capture_maps(struct at_ctx *c)
{
	for (size_t i = 0; i < c->maps_stale.n; i++) {
		int pid = (int)c->maps_stale.v[i], n = stacks_refresh(c->stacks, pid);

		if (n >= 0)
			at_note(2, "pid %d: %d executable mappings read for --stacks", pid, n);
	}
	c->maps_stale.n = 0;
}

void capture_exit(struct at_ctx *c, int pid)
{
	/* What it mapped last, if it still can be read; then what the kernel said it had
	 * mapped as it exited (the records just before this one), when it did. */
	capture_maps(c);
	stacks_exit_commit(c->stacks, pid);
	if (c->samples)
		samples_exit(c->samples, c->ustack, pid);
	pid_add(&c->stack_exits, pid);
}

void capture_exits(struct at_ctx *c)
{
	capture(c, &c->stack_exits, true);
}

static void add_live(void *arg, int pid)
{
	pid_add(arg, pid);
}

void capture_live(struct at_ctx *c)
{
	struct pid_set live = { 0 };

	capture_exits(c);
	heap_for_each_pid(c->heap, add_live, &live);
	capture(c, &live, false);
	free(live.v);
}

void capture_free(struct at_ctx *c)
{
	free(c->maps_stale.v);
	free(c->stack_exits.v);
}
