// SPDX-License-Identifier: GPL-2.0-only
#include "loader.h"

#include <limits.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arenatrace.skel.h"
#include "attrib.h"
#include "log.h"
#include "procfs.h"
#include "syms.h"

_Static_assert(sizeof(struct at_sys_rec) == 152, "at_sys_rec layout");
_Static_assert(offsetof(struct at_sys_rec, args) == 40, "at_sys_rec.args offset");
_Static_assert(offsetof(struct at_sys_rec, caller_file) == 120, "at_sys_rec.caller_file offset");
_Static_assert(sizeof(struct at_proc_rec) == 40, "at_proc_rec layout");
_Static_assert(sizeof(struct at_inflight) == 88, "at_inflight layout");

#define AT_MAX_LINKS 512
#define AT_MAX_FILES 64

struct attached_file {
	dev_t dev;
	ino_t ino;
};

struct loader {
	struct arenatrace_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[AT_MAX_LINKS];
	size_t nlinks;
	struct attached_file files[AT_MAX_FILES];
	size_t nfiles;
	loader_event_fn fn;
	void *ctx;
};

/* The libc wrappers whose return address names the caller of a memory syscall. glibc's
 * own malloc calls the same entry points (mmap == __mmap, sbrk == __sbrk). */
static const struct {
	const char *name;
	enum at_sys sys;
} wrappers[] = {
	{ "mmap", AT_SYS_MMAP },	 { "munmap", AT_SYS_MUNMAP },
	{ "mremap", AT_SYS_MREMAP },	 { "madvise", AT_SYS_MADVISE },
	{ "mprotect", AT_SYS_MPROTECT }, { "sbrk", AT_SYS_BRK },
	{ "syscall", AT_SYS_ANY },
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && at_log_level < 3)
		return 0;
	if (level == LIBBPF_INFO && at_log_level < 2)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct loader *l = ctx;

	return l->fn(l->ctx, data, len);
}

struct loader *loader__new(const struct at_opts *o, loader_event_fn fn, void *ctx)
{
	struct loader *l = calloc(1, sizeof(*l));
	int err;

	if (!l)
		return NULL;
	l->fn = fn;
	l->ctx = ctx;
	libbpf_set_print(libbpf_print);
	l->skel = arenatrace_bpf__open();
	if (!l->skel) {
		err = -errno;
		at_err("cannot open the BPF object: %s", strerror(-err));
		goto fail;
	}
	bpf_map__set_max_entries(l->skel->maps.traced, (__u32)o->max_procs);
	bpf_map__set_max_entries(l->skel->maps.inflight, (__u32)o->max_threads);
	bpf_map__set_max_entries(l->skel->maps.events, (__u32)o->ringbuf_bytes);
	err = arenatrace_bpf__load(l->skel);
	if (err) {
		at_err("cannot load the BPF programs: %s (run with -vv for the verifier log)",
		       strerror(-err));
		goto fail;
	}
	l->rb = ring_buffer__new(bpf_map__fd(l->skel->maps.events), on_event, l, NULL);
	if (!l->rb) {
		err = -errno;
		at_err("cannot open the ring buffer: %s", strerror(-err));
		goto fail;
	}
	return l;
fail:
	loader__free(l);
	errno = -err;
	return NULL;
}

void loader__free(struct loader *l)
{
	if (!l)
		return;
	ring_buffer__free(l->rb);
	for (size_t i = 0; i < l->nlinks; i++)
		bpf_link__destroy(l->links[i]);
	arenatrace_bpf__destroy(l->skel);
	free(l);
}

static int keep_link(struct loader *l, struct bpf_link *link)
{
	if (!link)
		return -errno;
	if (l->nlinks == AT_MAX_LINKS) {
		bpf_link__destroy(link);
		return -ENOSPC;
	}
	l->links[l->nlinks++] = link;
	return 0;
}

int loader_attach_tracepoints(struct loader *l)
{
	struct bpf_program *prog;
	int err;

	bpf_object__for_each_program(prog, l->skel->obj) {
		if (prog == l->skel->progs.os_wrapper_enter)
			continue;
		err = keep_link(l, bpf_program__attach(prog));
		if (err) {
			at_err("cannot attach '%s': %s", bpf_program__name(prog), strerror(-err));
			return err;
		}
	}
	return 0;
}

int loader_attach_file(struct loader *l, const char *path)
{
	uint64_t offs[AT_ARRAY_SIZE(wrappers)];
	size_t noffs = 0;
	struct syms *s;
	struct stat st;
	int err = 0;

	if (stat(path, &st))
		return -errno;
	for (size_t i = 0; i < l->nfiles; i++)
		if (l->files[i].dev == st.st_dev && l->files[i].ino == st.st_ino)
			return 0;
	if (l->nfiles == AT_MAX_FILES)
		return -ENOSPC;
	s = syms__new(path);
	if (!s)
		return -errno;
	for (size_t i = 0; i < AT_ARRAY_SIZE(wrappers) && !err; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .bpf_cookie = wrappers[i].sys);
		uint64_t off;
		bool dup = false;

		if (syms_offset_of(s, wrappers[i].name, &off))
			continue;
		for (size_t k = 0; k < noffs; k++)
			dup |= offs[k] == off;
		if (dup)
			continue;
		offs[noffs++] = off;
		/* Every process mapping this file: the program filters by traced tgid, so
		 * forked children are covered from their first instruction. */
		err = keep_link(l, bpf_program__attach_uprobe_opts(l->skel->progs.os_wrapper_enter,
								    -1, path, (size_t)off, &uo));
		if (err)
			at_err("cannot attach a uprobe to '%s' in '%s': %s", wrappers[i].name,
			       path, strerror(-err));
	}
	syms__free(s);
	if (!err && !noffs)
		return -ENOENT;
	if (!err) {
		l->files[l->nfiles++] = (struct attached_file){ st.st_dev, st.st_ino };
		at_note(1, "uprobes on %zu wrappers in '%s'", noffs, path);
	}
	return err;
}

struct libc_scan {
	struct loader *l;
	int pid;
	int found;
	int err;
};

static int scan_libc(const struct maps_entry *e, void *arg)
{
	struct libc_scan *sc = arg;
	const char *slash = strrchr(e->path, '/');
	const char *lib;
	char path[PATH_MAX];
	int err;

	if (!slash || !(e->prot & 4 /* PROT_EXEC */))
		return 0;
	lib = attrib_library(slash + 1);
	if (!lib || strcmp(lib, "glibc"))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/root%s", sc->pid, e->path);
	err = loader_attach_file(sc->l, path);
	if (err)
		sc->err = err;
	else
		sc->found++;
	return 0;
}

int loader_attach_process(struct loader *l, int pid)
{
	struct libc_scan sc = { .l = l, .pid = pid };
	char exe[64];
	int err = procfs_read_maps(pid, scan_libc, &sc);

	if (err)
		return err;
	if (sc.found)
		return 0;
	if (sc.err)
		return sc.err;
	/* No shared libc: a static executable carries its own wrappers. */
	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	err = loader_attach_file(l, exe);
	if (err == -ENOENT)
		at_note(1, "pid %d has no libc wrappers: syscalls are attributed by instruction "
			   "pointer only", pid);
	return err == -ENOENT ? 0 : err;
}

int loader_trace_pid(struct loader *l, int pid, bool follow)
{
	__u32 key = (__u32)pid, val = follow ? AT_TRACE_FOLLOW_FORK : 0;

	if (bpf_map__update_elem(l->skel->maps.traced, &key, sizeof(key), &val, sizeof(val),
				 BPF_ANY))
		return -errno;
	return 0;
}

int loader_poll(struct loader *l, int timeout_ms)
{
	return ring_buffer__poll(l->rb, timeout_ms);
}

void loader_drops(const struct loader *l, uint64_t drops[AT_DROP_NR])
{
	for (int i = 0; i < AT_DROP_NR; i++)
		drops[i] = __atomic_load_n(&l->skel->bss->drops[i], __ATOMIC_RELAXED);
}
