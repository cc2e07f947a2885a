// SPDX-License-Identifier: GPL-2.0-only
#include "arena.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attrib.h"
#include "x86.h"
#include "log.h"
#include "pipeline.h"
#include "procfs.h"
#include "stacks.h"
#include "syms.h"

/* An allocator's internal function: its name without the allocator's prefix, what it does
 * and which argument holds the size. */
struct internal {
	const char *func;
	const char *op;
	int size_arg;
};

/* jemalloc 5: the page layer every extent goes through (pages_map(addr, size, align,
 * commit), pages_unmap(addr, size), pages_purge_*(addr, size)), and the extent layer above
 * it (ecache_alloc_grow(tsdn, pac, ehooks, ecache, expand, size, ...): an extent carved
 * from the retained address space, growing it when needed, when no dirty or muzzy extent
 * fits; extent_dalloc_wrapper: an extent back to retained or unmapped; pac_decay_all: a
 * purge pass). */
static const struct internal jemalloc_internals[] = {
	{ "pages_map", "map", 2 },
	{ "pages_unmap", "unmap", 2 },
	{ "pages_purge_forced", "purge_forced", 2 },
	{ "pages_purge_lazy", "purge_lazy", 2 },
	{ "ecache_alloc_grow", "extent_grow", 6 },
	{ "extent_dalloc_wrapper", "extent_dalloc", 0 },
	{ "pac_decay_all", "decay", 0 },
};

/* glibc's malloc.c, in libc6-dbg's symbol table (GCC may have cloned them). */
static const struct internal glibc_internals[] = {
	{ "sysmalloc", "grow", 1 },	      /* sysmalloc(nb, av): memory from the OS */
	{ "systrim", "trim", 0 },	      /* main arena: brk shrink; returns 1 when it did */
	{ "new_heap", "new_heap", 1 },	      /* a thread arena's heap reservation */
	{ "heap_trim", "heap_trim", 0 },      /* a thread arena's heap shrink */
	{ "munmap_chunk", "unmap_chunk", 0 }, /* free of an mmapped chunk */
};

/* glibc's LIBC_PROBE(memory_*) points, where a libc is built with SystemTap SDT notes
 * (Debian's is not). */
static const struct internal usdt_internals[] = {
	{ "memory_sbrk_more", "sbrk_more", 2 }, { "memory_sbrk_less", "sbrk_less", 2 },
	{ "memory_heap_new", "heap_new", 2 },	{ "memory_heap_more", "heap_more", 2 },
	{ "memory_heap_less", "heap_less", 2 }, { "memory_heap_free", "heap_free", 2 },
	{ "memory_arena_new", "arena_new", 2 },
};

struct arena {
	struct loader *loader;
	struct arena_opts opts;
	struct at_probe_info *probes; /* id k is probes[k - 1] */
	size_t nprobes, probes_cap;
	struct probe_pipe pipe;
};

static const struct probe_level arena_level;

struct arena *arena__new(struct loader *l, const struct arena_opts *o)
{
	struct arena *a = calloc(1, sizeof(*a));

	if (a) {
		a->loader = l;
		a->opts = *o;
		probe_pipe_init(&a->pipe, l, &arena_level, a, o->all);
	}
	return a;
}

void arena__free(struct arena *a)
{
	if (!a)
		return;
	probe_pipe_release(&a->pipe);
	free(a->probes);
	free(a);
}

const struct at_probe_info *arena_probe_of(const struct arena *a, uint32_t id)
{
	return id && id <= a->nprobes ? &a->probes[id - 1] : NULL;
}

/* The probes found in one file, before they are attached. */
struct found {
	struct arena *a;
	struct probe_file *pf;
	/* bumpalo */
	uint64_t bump_slow[16], bump_reset[16], bump_drop[16], bump_glue[16];
	size_t nslow, nreset, ndrop, nglue;
};

static uint32_t new_probe(struct arena *a, const struct at_probe_info *pr)
{
	if (at_grow(&a->probes, a->nprobes, &a->probes_cap, sizeof(a->probes[0]), 1))
		return 0;
	a->probes[a->nprobes++] = *pr;
	return (uint32_t)a->nprobes;
}

/* Adds a probe point (once per process, file and offset). cookie_rest: the AT_ACOOKIE
 * fields other than the probe id. */
static int add_point(struct found *f, uint64_t off, const struct at_probe_info *pr,
		     uint64_t cookie_rest, bool entry_only)
{
	uint32_t id;

	if (!probe_file_first(f->pf, off))
		return 0;
	id = new_probe(f->a, pr);
	if (!id)
		return -ENOMEM;
	return probe_file_push(f->pf, off, ((uint64_t)id << AT_ACOOKIE_PROBE_SHIFT) | cookie_rest,
			       entry_only);
}

/* A function by name, or by a name GCC gave its clone (sysmalloc.constprop.0). */
static int find_func(const struct syms *s, const char *name, uint64_t *off, uint64_t *size)
{
	static const char *const clones[] = { "", ".constprop.0", ".isra.0", ".part.0" };

	for (size_t i = 0; i < AT_ARRAY_SIZE(clones); i++) {
		char full[128];

		snprintf(full, sizeof(full), "%s%s", name, clones[i]);
		if (!syms_func(s, full, off, size))
			return 0;
	}
	return -ENOENT;
}

/* Internal functions can be called often (glibc's systrim at each heap shrink): their
 * probe goes past the prologue to an instruction the kernel emulates, as the heap level's
 * do, with the registers of the first three arguments in the cookie. */
static uint64_t place(int fd, uint64_t off, uint64_t size, int nargs, uint64_t *cookie)
{
	uint32_t regs;
	uint64_t at = x86_probe_place(fd, off, size, nargs, false, &regs);

	if (at != off)
		*cookie |= AT_ACOOKIE_REGS | AT_ACOOKIE_ARG_REGS(regs);
	return at;
}

/* bumpalo's functions, in every monomorphized copy: Rust symbols (legacy or v0 mangling)
 * demangled, their hash dropped. */
static void bump_symbol(void *arg, const char *name, uint64_t off)
{
	struct found *f = arg;
	char *d, *h;
	size_t n;

	if (!strstr(name, "bumpalo"))
		return;
	d = stacks_demangle(name);
	if (!d)
		return;
	h = strstr(d, "::h");
	if (h && strlen(h) == 19)
		*h = '\0';
	n = strlen(d);
#define ENDS(s) (n >= sizeof(s) - 1 && !strcmp(d + n - (sizeof(s) - 1), s))
#define PUT(arr, cnt)                                                                              \
	do {                                                                                       \
		if (f->cnt < AT_ARRAY_SIZE(f->arr))                                                \
			f->arr[f->cnt++] = off;                                                    \
	} while (0)
	if (strstr(d, "bumpalo::Bump") && ENDS("::alloc_layout_slow"))
		PUT(bump_slow, nslow);
	else if (!strncmp(d, "bumpalo::Bump", 13) && ENDS("::reset"))
		PUT(bump_reset, nreset);
	else if (!strncmp(d, "<bumpalo::Bump", 14) && ENDS("Drop>::drop"))
		PUT(bump_drop, ndrop);
	else if (!strncmp(d, "core::ptr::drop_in_place<bumpalo::Bump", 38))
		PUT(bump_glue, nglue);
#undef PUT
#undef ENDS
	free(d);
}

static int probe_bumpalo(struct found *f, const struct syms *s)
{
	bool watch = f->a->opts.watch;
	struct at_probe_info pr = { .type = "bumpalo" };
	const uint64_t *drops;
	size_t ndrops;
	int err = 0;

	syms_each(s, bump_symbol, f);
	/* Drop glue calls Drop::drop: probe it only where Drop::drop itself is gone. */
	drops = f->ndrop ? f->bump_drop : f->bump_glue;
	ndrops = f->ndrop ? f->ndrop : f->nglue;
	if (!f->nslow)
		return 0;
	pr.has_reset = f->nreset > 0;
	pr.has_release = f->nreset || ndrops;
	pr.watched = watch;
	snprintf(pr.func, sizeof(pr.func), "alloc_layout_slow");
	for (size_t i = 0; i < f->nslow && !err; i++)
		err = add_point(f, f->bump_slow[i], &pr,
				AT_ACOOKIE(0, AT_AK_BUMP_SLOW, 0, 1, 0) |
					(watch ? AT_ACOOKIE_WATCH : 0),
				false);
	snprintf(pr.func, sizeof(pr.func), "reset");
	for (size_t i = 0; i < f->nreset && !err; i++)
		err = add_point(f, f->bump_reset[i], &pr, AT_ACOOKIE(0, AT_AK_BUMP_RESET, 0, 1, 0),
				true);
	snprintf(pr.func, sizeof(pr.func), "drop");
	for (size_t i = 0; i < ndrops && !err; i++)
		err = add_point(f, drops[i], &pr, AT_ACOOKIE(0, AT_AK_BUMP_DROP, 0, 1, 0), true);
	if (!pr.has_release && !watch)
		at_note(0,
			"pid %d: bumpalo's reset and drop are inlined: its chunk releases need "
			"the heap level",
			f->pf->owner->pid);
	return err;
}

static int probe_obstack(struct found *f, const struct syms *s)
{
	static const struct {
		const char *func;
		enum at_arena_kind kind;
	} fns[] = {
		{ "_obstack_begin", AT_AK_OBSTACK_NEW },
		{ "_obstack_begin_1", AT_AK_OBSTACK_NEW },
		{ "_obstack_newchunk", AT_AK_OBSTACK_NEW },
		{ "_obstack_free", AT_AK_OBSTACK_FREE },
	};
	struct at_probe_info pr = { .type = "obstack", .has_reset = true, .has_release = true };
	uint64_t off;
	int err = 0;

	if (syms_offset_of(s, "_obstack_newchunk", &off))
		return 0;
	for (size_t i = 0; i < AT_ARRAY_SIZE(fns) && !err; i++) {
		if (syms_offset_of(s, fns[i].func, &off))
			continue;
		snprintf(pr.func, sizeof(pr.func), "%s", fns[i].func);
		pr.kind = fns[i].kind;
		err = add_point(f, off, &pr, AT_ACOOKIE(0, fns[i].kind, 0, 1, 0), false);
	}
	return err;
}

static int probe_custom(struct found *f, const struct syms *s, const struct at_arena_spec *sp)
{
	bool watch = f->a->opts.watch && !sp->free[0];
	struct at_probe_info pr = { .type = sp->name,
				    .has_reset = sp->reset[0] != 0,
				    .has_release = sp->free[0] || sp->reset[0],
				    .watched = watch };
	uint64_t off;
	int err;

	if (syms_offset_of(s, sp->alloc, &off))
		return 0;
	snprintf(pr.func, sizeof(pr.func), "%.63s", sp->alloc);
	pr.kind = AT_AK_CHUNK_ALLOC;
	err = add_point(f, off, &pr,
			AT_ACOOKIE(0, AT_AK_CHUNK_ALLOC, sp->size_arg, sp->self_arg, 0) |
				(watch ? AT_ACOOKIE_WATCH : 0),
			false);
	if (!err && sp->free[0] && !syms_offset_of(s, sp->free, &off)) {
		snprintf(pr.func, sizeof(pr.func), "%.63s", sp->free);
		pr.kind = AT_AK_CHUNK_FREE;
		err = add_point(f, off, &pr,
				AT_ACOOKIE(0, AT_AK_CHUNK_FREE, 0, sp->self_arg, sp->ptr_arg),
				true);
	}
	if (!err && sp->reset[0] && !syms_offset_of(s, sp->reset, &off)) {
		snprintf(pr.func, sizeof(pr.func), "%.63s", sp->reset);
		pr.kind = AT_AK_RESET;
		/* At its return: what it kept is known once its releases are done. */
		err = add_point(f, off, &pr, AT_ACOOKIE(0, AT_AK_RESET, 0, sp->self_arg, 0), false);
	}
	return err;
}

static int probe_internals(struct found *f, const struct syms *s, int fd, const char *type,
			   const char *prefix, const struct internal *t, size_t n)
{
	struct at_probe_info pr = { .type = type, .kind = AT_AK_INTERNAL };
	int err = 0;

	for (size_t i = 0; i < n && !err; i++) {
		uint64_t off, size, cookie = AT_ACOOKIE(0, AT_AK_INTERNAL, t[i].size_arg, 0, 0);
		char name[96];

		snprintf(name, sizeof(name), "%s%s", prefix, t[i].func);
		if (find_func(s, name, &off, &size))
			continue;
		/* Past the entry only the first three arguments are followed. */
		if (t[i].size_arg <= 3)
			off = place(fd, off, size, t[i].size_arg ? t[i].size_arg : 1, &cookie);
		snprintf(pr.func, sizeof(pr.func), "%s", t[i].func);
		pr.op = t[i].op;
		pr.size_arg = t[i].size_arg;
		err = add_point(f, off, &pr, cookie, false);
	}
	return err;
}

static int probe_usdt(struct found *f, const char *path)
{
	struct at_probe_info pr = { .type = "glibc", .kind = AT_AK_USDT };
	int err = 0;

	for (size_t i = 0; i < AT_ARRAY_SIZE(usdt_internals) && !err; i++) {
		uint32_t id;
		int e;

		/* A USDT probe is marked by its index counted down from the top offset. */
		if (!probe_file_first(f->pf, UINT64_MAX - i))
			continue;
		snprintf(pr.func, sizeof(pr.func), "%s", usdt_internals[i].func);
		pr.op = usdt_internals[i].op;
		pr.size_arg = usdt_internals[i].size_arg;
		id = new_probe(f->a, &pr);
		if (!id)
			return -ENOMEM;
		e = loader_usdt_attach(f->a->loader, f->pf->owner->pid, path, "libc", pr.func,
				       AT_ACOOKIE(id, AT_AK_USDT, pr.size_arg, 0, 0),
				       &f->pf->owner->links, &f->pf->owner->nlinks);
		if (e && e != -ENOENT && e != -ESRCH)
			err = e;
	}
	return err;
}

/* Every kind of arena and allocator internal the file holds. */
static int arena_scan(void *ctx, struct probe_file *pf)
{
	struct arena *a = ctx;
	const char *lib = attrib_library(pf->name);
	const struct syms *s = pf->syms;
	struct found *f = calloc(1, sizeof(*f));
	int err;

	if (!f)
		return -ENOMEM;
	f->a = a;
	f->pf = pf;
	err = probe_bumpalo(f, s);
	if (!err)
		err = probe_obstack(f, s);
	for (size_t i = 0; i < a->opts.nspecs && !err; i++)
		err = probe_custom(f, s, &a->opts.specs[i]);
	if (!err && !syms_offset_of(s, "_rjem_je_pages_map", &(uint64_t){ 0 }))
		err = probe_internals(f, s, pf->fd, "jemalloc", "_rjem_je_", jemalloc_internals,
				      AT_ARRAY_SIZE(jemalloc_internals));
	else if (!err && !syms_offset_of(s, "je_pages_map", &(uint64_t){ 0 }))
		err = probe_internals(f, s, pf->fd, "jemalloc", "je_", jemalloc_internals,
				      AT_ARRAY_SIZE(jemalloc_internals));
	if (!err && ((lib && !strcmp(lib, "glibc")) ||
		     !find_func(s, "_int_malloc", &(uint64_t){ 0 }, NULL)))
		err = probe_internals(f, s, pf->fd, "glibc", "", glibc_internals,
				      AT_ARRAY_SIZE(glibc_internals));
	if (!err && syms_has_usdt(s))
		err = probe_usdt(f, pf->path);
	free(f);
	return err;
}

static void arena_attached(void *ctx, const struct probe_file *f)
{
	(void)ctx;
	at_note(1, "pid %d: %zu arena probes in '%s'", f->owner->pid, f->nspecs, f->path);
}

static const struct probe_level arena_level = {
	.name = "arena",
	.level = LOADER_ARENA,
	.scan = arena_scan,
	.attached = arena_attached,
};

int arena_attach_running(struct arena *a, int pid)
{
	return probe_pipe_running(&a->pipe, pid);
}

int arena_attach_launch(struct arena *a, int pid, const char *exe)
{
	return probe_pipe_launch(&a->pipe, pid, exe);
}

void arena_forget(struct arena *a, int pid)
{
	probe_pipe_forget(&a->pipe, pid);
	loader_arena_forget(a->loader, pid);
}
