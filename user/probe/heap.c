// SPDX-License-Identifier: GPL-2.0-only
#include "heap.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attrib.h"
#include "log.h"
#include "pipeline.h"
#include "x86.h"
#include "procfs.h"
#include "syms.h"

enum family {
	FAM_GLIBC,
	FAM_JEMALLOC,
	FAM_MIMALLOC,
};

static const struct {
	const char *name;
	const char *basis;
	enum at_heap_size_mode mode;
} families[] = {
	[FAM_GLIBC] = { "glibc", "usable", AT_SIZE_GLIBC },
	[FAM_JEMALLOC] = { "jemalloc", "usable", AT_SIZE_JEMALLOC },
	[FAM_MIMALLOC] = { "mimalloc", "requested", AT_SIZE_REQUEST },
};

struct func {
	const char *name;
	enum at_heap_role role;
};

/* Aliases at one address are probed once, under the first name listed. glibc's
 * reallocarray is not listed: it calls realloc. */
static const struct func glibc_funcs[] = {
	{ "malloc", AT_ROLE_MALLOC },
	{ "calloc", AT_ROLE_CALLOC },
	{ "realloc", AT_ROLE_REALLOC },
	{ "free", AT_ROLE_FREE },
	{ "posix_memalign", AT_ROLE_POSIX_MEMALIGN },
	{ "aligned_alloc", AT_ROLE_MEMALIGN },
	{ "memalign", AT_ROLE_MEMALIGN },
	{ "valloc", AT_ROLE_VALLOC },
	{ "pvalloc", AT_ROLE_PVALLOC },
	/* At a thread's exit: free() on each block in its tcache (freed by the program
	 * already) and on the tcache itself (never handed out). Found with libc6-dbg. */
	{ "__malloc_arena_thread_freeres", AT_ROLE_QUIET },
};

/* Prefixed with "", "je_" or "_rjem_". */
static const struct func jemalloc_funcs[] = {
	{ "malloc", AT_ROLE_MALLOC },
	{ "calloc", AT_ROLE_CALLOC },
	{ "realloc", AT_ROLE_REALLOC },
	{ "free", AT_ROLE_FREE },
	{ "posix_memalign", AT_ROLE_POSIX_MEMALIGN },
	{ "aligned_alloc", AT_ROLE_MEMALIGN },
	{ "memalign", AT_ROLE_MEMALIGN },
	{ "valloc", AT_ROLE_VALLOC },
	{ "mallocx", AT_ROLE_MALLOCX },
	{ "rallocx", AT_ROLE_REALLOC },
	{ "xallocx", AT_ROLE_XALLOCX },
	{ "sdallocx", AT_ROLE_FREE },
	{ "dallocx", AT_ROLE_FREE },
};

static const struct func mimalloc_funcs[] = {
	{ "mi_malloc", AT_ROLE_MALLOC },
	{ "mi_zalloc", AT_ROLE_MALLOC },
	{ "mi_calloc", AT_ROLE_CALLOC },
	{ "mi_realloc", AT_ROLE_REALLOC },
	{ "mi_free", AT_ROLE_FREE },
	{ "mi_free_size", AT_ROLE_FREE },
	{ "mi_free_aligned", AT_ROLE_FREE },
	{ "mi_free_size_aligned", AT_ROLE_FREE },
	{ "mi_malloc_aligned", AT_ROLE_ALIGNED },
	{ "mi_zalloc_aligned", AT_ROLE_ALIGNED },
	{ "mi_heap_malloc", AT_ROLE_HEAP_MALLOC },
	{ "mi_heap_zalloc", AT_ROLE_HEAP_MALLOC },
	{ "mi_heap_calloc", AT_ROLE_HEAP_CALLOC },
	{ "mi_heap_realloc", AT_ROLE_HEAP_REALLOC },
	/* The libc names a malloc-overriding build exports. */
	{ "malloc", AT_ROLE_MALLOC },
	{ "calloc", AT_ROLE_CALLOC },
	{ "realloc", AT_ROLE_REALLOC },
	{ "free", AT_ROLE_FREE },
	{ "posix_memalign", AT_ROLE_POSIX_MEMALIGN },
	{ "aligned_alloc", AT_ROLE_MEMALIGN },
	{ "memalign", AT_ROLE_MEMALIGN },
	{ "valloc", AT_ROLE_VALLOC },
	{ "pvalloc", AT_ROLE_PVALLOC },
};

/* C++ operators, probed where the allocator library itself exports them (jemalloc and
 * mimalloc do; libstdc++'s call malloc, which is probed anyway). A delete may call free
 * inside (jemalloc's jumps to it), so it counts at its return, with the free nested. */
static const struct func cxx_funcs[] = {
	{ "_Znwm", AT_ROLE_MALLOC },
	{ "_Znam", AT_ROLE_MALLOC },
	{ "_ZnwmRKSt9nothrow_t", AT_ROLE_MALLOC },
	{ "_ZnamRKSt9nothrow_t", AT_ROLE_MALLOC },
	{ "_ZnwmSt11align_val_t", AT_ROLE_ALIGNED },
	{ "_ZnamSt11align_val_t", AT_ROLE_ALIGNED },
	{ "_ZnwmSt11align_val_tRKSt9nothrow_t", AT_ROLE_ALIGNED },
	{ "_ZnamSt11align_val_tRKSt9nothrow_t", AT_ROLE_ALIGNED },
	{ "_ZdlPv", AT_ROLE_DELETE },
	{ "_ZdaPv", AT_ROLE_DELETE },
	{ "_ZdlPvm", AT_ROLE_DELETE },
	{ "_ZdaPvm", AT_ROLE_DELETE },
	{ "_ZdlPvRKSt9nothrow_t", AT_ROLE_DELETE },
	{ "_ZdaPvRKSt9nothrow_t", AT_ROLE_DELETE },
	{ "_ZdlPvSt11align_val_t", AT_ROLE_DELETE },
	{ "_ZdaPvSt11align_val_t", AT_ROLE_DELETE },
	{ "_ZdlPvmSt11align_val_t", AT_ROLE_DELETE },
	{ "_ZdaPvmSt11align_val_t", AT_ROLE_DELETE },
};

/* How many arguments (in rdi, rsi, rdx) the BPF side reads for a role. */
static int role_args(enum at_heap_role role)
{
	switch (role) {
	case AT_ROLE_MALLOC:
	case AT_ROLE_FREE:
	case AT_ROLE_DELETE:
	case AT_ROLE_VALLOC:
	case AT_ROLE_PVALLOC:
	case AT_ROLE_QUIET:
		return 1;
	case AT_ROLE_CALLOC:
	case AT_ROLE_REALLOC:
	case AT_ROLE_MEMALIGN:
	case AT_ROLE_ALIGNED:
	case AT_ROLE_HEAP_MALLOC:
	case AT_ROLE_MALLOCX:
		return 2;
	default:
		return 3;
	}
}

struct instance {
	struct file_id file;
	enum family fam;
	uint32_t id;
};

/* The counters of one (process, allocator instance), read for heap_read. */
struct heap_read {
	int pid;
	uint32_t id;
	struct at_heap_stats s;
};

struct heap {
	struct loader *loader;
	struct instance *inst;
	size_t ninst;
	/* The probed processes; with -a the probes are attached once per file for every
	 * process, and a process's entry only lists the allocator ids to read. */
	struct probe_pipe pipe;
	struct heap_read *reads; /* heap_read's last pass */
	size_t nreads, reads_cap;
	enum family found; /* the family the file being scanned holds (one at most) */
};

static const struct probe_level heap_level;

struct heap *heap__new(struct loader *l, bool all)
{
	struct heap *h = calloc(1, sizeof(*h));

	if (h) {
		h->loader = l;
		probe_pipe_init(&h->pipe, l, &heap_level, h, all);
	}
	return h;
}

void heap__free(struct heap *h)
{
	if (!h)
		return;
	probe_pipe_release(&h->pipe);
	free(h->reads);
	free(h->inst);
	free(h);
}

static uint32_t instance_id(struct heap *h, struct file_id file, enum family fam)
{
	struct instance *n;

	for (size_t i = 0; i < h->ninst; i++)
		if (file_id_eq(h->inst[i].file, file) && h->inst[i].fam == fam)
			return h->inst[i].id;
	if (h->ninst == AT_MAX_HEAP_IDS)
		return 0; /* os_exec clears ids up to this */
	n = realloc(h->inst, (h->ninst + 1) * sizeof(*n));
	if (!n)
		return 0;
	h->inst = n;
	n[h->ninst] = (struct instance){ .file = file, .fam = fam, .id = (uint32_t)h->ninst + 1 };
	return n[h->ninst++].id;
}

/* The process holds allocator instance id. */
static void holds(struct probe_proc *p, uint32_t id)
{
	for (size_t i = 0; i < p->nids; i++)
		if (p->ids[i] == id)
			return;
	if (p->nids < AT_ARRAY_SIZE(p->ids))
		p->ids[p->nids++] = id;
}

/* The probe points of one family's functions in the file (those not attached yet: to this
 * process, or with -a to any); the family's id goes to the process's list. */
static int family_specs(struct heap *h, struct probe_file *f, enum family fam, const char *prefix,
			const struct func *funcs, size_t nfuncs)
{
	uint64_t off[64], size[64];
	uint32_t id;
	size_t found = 0;
	int err;

	h->found = fam;
	/* An instance id only for a file that holds the family's functions: a file named
	 * like an allocator that does not validate takes none of the 64. */
	for (size_t i = 0; i < nfuncs && i < AT_ARRAY_SIZE(off); i++) {
		char name[96];

		snprintf(name, sizeof(name), "%s%s", prefix, funcs[i].name);
		off[i] = 0;
		if (!syms_func(f->syms, name, &off[i], &size[i]) && off[i])
			found++;
		else
			off[i] = 0;
	}
	if (!found)
		return 0;
	id = instance_id(h, f->file, fam);
	if (!id) {
		at_warn("more than %d allocator instances: '%s' is not probed", AT_MAX_HEAP_IDS,
			f->path);
		return 0;
	}
	for (size_t i = 0; i < nfuncs && i < AT_ARRAY_SIZE(off); i++) {
		uint32_t regs;
		uint64_t at;

		if (!off[i])
			continue;
		at = x86_probe_place(f->fd, off[i], size[i], role_args(funcs[i].role),
				     families[fam].mode == AT_SIZE_GLIBC &&
					     funcs[i].role == AT_ROLE_FREE,
				     &regs);
		if (!probe_file_first(f, at))
			continue;
		err = probe_file_push(f, at, AT_COOKIE(id, families[fam].mode, funcs[i].role, regs),
				      funcs[i].role == AT_ROLE_FREE);
		if (err)
			return err;
	}
	holds(f->proc, id);
	return 0;
}

static bool defines(const struct syms *s, const char *name)
{
	uint64_t off;

	return !syms_offset_of(s, name, &off);
}

/* -a: a file probed before for every process: this process only learns which allocator
 * instances it holds. */
static void heap_known(void *ctx, struct probe_proc *p, struct file_id file)
{
	struct heap *h = ctx;

	for (size_t k = 0; k < h->ninst; k++)
		if (file_id_eq(h->inst[k].file, file))
			holds(p, h->inst[k].id);
}

/* Every allocator family the file holds: by library name, else by symbols (an allocator
 * linked statically). */
static int heap_scan(void *ctx, struct probe_file *f)
{
	struct heap *h = ctx;
	const char *lib = attrib_library(f->name);
	const struct syms *s = f->syms;
	int err = 0;

#define PROBE(fam, prefix, table) family_specs(h, f, fam, prefix, table, AT_ARRAY_SIZE(table))
	if (lib && !strcmp(lib, "glibc")) {
		err = PROBE(FAM_GLIBC, "", glibc_funcs);
	} else if (lib && !strcmp(lib, "jemalloc")) {
		err = PROBE(FAM_JEMALLOC, "", jemalloc_funcs);
		if (!err)
			err = PROBE(FAM_JEMALLOC, "", cxx_funcs);
	} else if (lib && !strcmp(lib, "mimalloc")) {
		err = PROBE(FAM_MIMALLOC, "", mimalloc_funcs);
		if (!err)
			err = PROBE(FAM_MIMALLOC, "", cxx_funcs);
	} else if (defines(s, "mi_malloc")) {
		err = PROBE(FAM_MIMALLOC, "", mimalloc_funcs);
	} else if (defines(s, "_rjem_malloc")) {
		err = PROBE(FAM_JEMALLOC, "_rjem_", jemalloc_funcs);
	} else if (defines(s, "je_malloc")) {
		err = PROBE(FAM_JEMALLOC, "je_", jemalloc_funcs);
	} else if (defines(s, "je_malloc_default") && defines(s, "malloc")) {
		err = PROBE(FAM_JEMALLOC, "", jemalloc_funcs); /* unprefixed static jemalloc */
	} else if (defines(s, "_int_malloc") && defines(s, "malloc")) {
		err = PROBE(FAM_GLIBC, "", glibc_funcs); /* static glibc */
	}
#undef PROBE
	return err;
}

static void heap_attached(void *ctx, const struct probe_file *f)
{
	struct heap *h = ctx;

	at_note(1, "pid %d: %s heap probes on %zu functions in '%s'", f->owner->pid,
		families[h->found].name, f->nspecs, f->path);
}

static bool preloaded(const char *path)
{
	const char *env = getenv("LD_PRELOAD"), *slash = strrchr(path, '/');

	return env && strstr(env, slash ? slash + 1 : path);
}

/* Allocator libraries, and the files that may hold a static allocator: the executable and
 * preloaded libraries. */
static bool heap_launch_wants(void *ctx, const char *path, const char *exe)
{
	const char *slash = strrchr(path, '/');

	(void)ctx;
	return attrib_library(slash ? slash + 1 : path) || !strcmp(path, exe ? exe : "") ||
	       preloaded(path);
}

static const struct probe_level heap_level = {
	.name = "heap",
	.level = LOADER_HEAP,
	.scan = heap_scan,
	.known = heap_known,
	.launch_wants = heap_launch_wants,
	.attached = heap_attached,
};

int heap_attach_running(struct heap *h, int pid)
{
	return probe_pipe_running(&h->pipe, pid);
}

int heap_attach_launch(struct heap *h, int pid, const char *exe)
{
	return probe_pipe_launch(&h->pipe, pid, exe);
}

/* One pass over the counters of pid (0: every process) into h->reads. */
static int read_pass(struct heap *h, int pid, bool live_threads)
{
	h->nreads = 0;
	for (size_t i = 0; i < h->pipe.nprocs; i++) {
		const struct probe_proc *p = &h->pipe.procs[i];

		if (p->ps.pid <= 0 || (pid && p->ps.pid != pid))
			continue;
		for (size_t k = 0; k < p->nids; k++) {
			struct heap_read *r;

			if (at_grow(&h->reads, h->nreads, &h->reads_cap, sizeof(*r), 1))
				return -ENOMEM;
			r = &h->reads[h->nreads];
			r->pid = p->ps.pid;
			r->id = p->ids[k];
			if (!loader_heap_stats(h->loader, r->pid, r->id, live_threads, &r->s))
				h->nreads++;
		}
	}
	return 0;
}

void heap_read(struct heap *h, int pid, bool live_threads, heap_visit_fn fn, void *arg)
{
	/* A thread that exits during the pass moves its counters from where the snapshot read
	 * them to the shared map: counted twice or not at all. Such a pass is redone. */
	for (int tries = 0; tries < 8; tries++) {
		uint64_t begun, done, begun_after, done_after;
		bool threads = live_threads;

		loader_heap_folds(h->loader, &begun, &done);
		if (threads && loader_heap_snapshot(h->loader))
			threads = false;
		if (read_pass(h, pid, threads))
			return;
		loader_heap_folds(h->loader, &begun_after, &done_after);
		if (!threads || (begun == done && begun_after == begun))
			break;
		sched_yield();
	}
	for (size_t i = 0; i < h->nreads; i++) {
		const struct heap_read *r = &h->reads[i];
		const struct instance *in = &h->inst[r->id - 1];

		fn(arg, r->pid, families[in->fam].name, families[in->fam].basis, &r->s);
	}
}

const char *heap_table_owner(const struct heap *h, int pid, bool all_blocks)
{
	const struct probe_proc *p = probe_pipe_find((struct probe_pipe *)&h->pipe, pid);
	const char *owner = NULL;

	for (size_t i = 0; p && i < p->nids; i++) {
		const struct instance *in = &h->inst[p->ids[i] - 1];

		if (families[in->fam].mode == AT_SIZE_GLIBC && !all_blocks)
			continue; /* glibc's blocks go to the table with --stacks only */
		if (owner && strcmp(owner, families[in->fam].name))
			return NULL;
		owner = families[in->fam].name;
	}
	return owner;
}

bool heap_has_pid(struct heap *h, int pid)
{
	return probe_pipe_find(&h->pipe, pid) != NULL;
}

size_t heap_links(struct heap *h, int pid)
{
	const struct probe_proc *p = probe_pipe_find(&h->pipe, pid);

	if (h->pipe.all)
		return h->pipe.global.nlinks;
	return p ? p->ps.nlinks : 0;
}

const char *heap_alloc_name(const struct heap *h, uint32_t id)
{
	return id && id <= h->ninst ? families[h->inst[id - 1].fam].name : NULL;
}

void heap_forget(struct heap *h, int pid)
{
	const struct probe_proc *p = probe_pipe_find(&h->pipe, pid);

	if (!p)
		return;
	loader_heap_forget(h->loader, pid, p->ids, p->nids);
	probe_pipe_forget(&h->pipe, pid);
}

void heap_for_each_pid(struct heap *h, void (*fn)(void *arg, int pid), void *arg)
{
	for (size_t i = 0; i < h->pipe.nprocs; i++)
		if (h->pipe.procs[i].ps.pid > 0)
			fn(arg, h->pipe.procs[i].ps.pid);
}
