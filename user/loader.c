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
#include "unwind.h"

_Static_assert(sizeof(struct at_sys_rec) == 152, "at_sys_rec layout");
_Static_assert(offsetof(struct at_sys_rec, args) == 40, "at_sys_rec.args offset");
_Static_assert(offsetof(struct at_sys_rec, caller_ino) == 104, "at_sys_rec.caller_ino offset");
_Static_assert(offsetof(struct at_sys_rec, caller_file) == 120, "at_sys_rec.caller_file offset");
_Static_assert(sizeof(struct at_proc_rec) == 40, "at_proc_rec layout");
_Static_assert(sizeof(struct at_code) == 56 && sizeof(struct at_code_key) == 16, "code layout");
_Static_assert(sizeof(struct at_traced) == 8, "at_traced layout");
_Static_assert(sizeof(struct at_site_key) == 16 && sizeof(struct at_site) == 8, "site layout");

#define AT_MAX_LINKS 64
#define AT_MAX_SITES_PER_FILE 256
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
	bpf_map__set_max_entries(l->skel->maps.code_cache, (__u32)o->code_cache);
	bpf_map__set_max_entries(l->skel->maps.unwind_sites, (__u32)o->max_sites);
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
		err = keep_link(l, bpf_program__attach(prog));
		if (err) {
			at_err("cannot attach '%s': %s", bpf_program__name(prog), strerror(-err));
			return err;
		}
	}
	return 0;
}

int loader_add_file(struct loader *l, const char *path)
{
	struct unwind_site sites[AT_MAX_SITES_PER_FILE];
	struct stat st;
	int n;

	if (stat(path, &st))
		return -errno;
	for (size_t i = 0; i < l->nfiles; i++)
		if (l->files[i].dev == st.st_dev && l->files[i].ino == st.st_ino)
			return 0;
	if (l->nfiles == AT_MAX_FILES)
		return -ENOSPC;
	n = unwind_sites(path, sites, AT_ARRAY_SIZE(sites));
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		struct at_site_key key = { .ino = st.st_ino, .off = sites[i].off };
		struct at_site val = { .cfa = sites[i].cfa };

		if (bpf_map__update_elem(l->skel->maps.unwind_sites, &key, sizeof(key), &val,
					 sizeof(val), BPF_ANY)) {
			at_err("the unwind-site map is full: raise -C max_sites");
			return -errno;
		}
	}
	l->files[l->nfiles++] = (struct attached_file){ st.st_dev, st.st_ino };
	at_note(1, "%d unwind sites in the memory wrappers of '%s'", n, path);
	return 0;
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
	err = loader_add_file(sc->l, path);
	if (err)
		sc->err = err;
	else
		sc->found++;
	return 0;
}

int loader_add_process(struct loader *l, int pid)
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
	err = loader_add_file(l, exe);
	if (err == -ENOENT || err == -ENODATA)
		at_note(1, "pid %d has no libc wrappers: its syscalls are attributed by "
			   "instruction pointer only", pid);
	return err == -ENOENT || err == -ENODATA ? 0 : err;
}

int loader_trace_pid(struct loader *l, int pid, bool follow)
{
	__u32 key = (__u32)pid;
	struct at_traced val = { .flags = follow ? AT_TRACE_FOLLOW_FORK : 0 };

	if (bpf_map__update_elem(l->skel->maps.traced, &key, sizeof(key), &val, sizeof(val),
				 BPF_ANY))
		return -errno;
	return 0;
}

int loader_poll(struct loader *l, int timeout_ms)
{
	int n = ring_buffer__poll(l->rb, timeout_ms);

	/* Records are submitted without a wakeup until a batch builds up: take whatever is
	 * there after every poll. */
	if (n >= 0)
		n = ring_buffer__consume(l->rb);
	return n;
}

void loader_drops(const struct loader *l, uint64_t drops[AT_DROP_NR])
{
	for (int i = 0; i < AT_DROP_NR; i++)
		drops[i] = __atomic_load_n(&l->skel->bss->drops[i], __ATOMIC_RELAXED);
}
