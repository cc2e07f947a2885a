// SPDX-License-Identifier: GPL-2.0-only
#include "attrib.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "procfs.h"
#include "syms.h"

struct file_map {
	uint64_t inode;
	struct syms_lazy file;
};

struct attrib {
	int pid;
	char exe[PATH_MAX];
	struct file_map *files;
	size_t n, cap;
};

struct attrib *attrib__new(int pid)
{
	struct attrib *a = calloc(1, sizeof(*a));

	if (a)
		a->pid = pid;
	return a;
}

void attrib__free(struct attrib *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		syms_lazy_release(&a->files[i].file);
	free(a->files);
	free(a);
}

static struct file_map *find_file(struct attrib *a, uint64_t inode, const char *base)
{
	for (size_t i = 0; i < a->n; i++) {
		const char *path = a->files[i].file.path, *slash = strrchr(path, '/');

		if (a->files[i].inode == inode && !strncmp(slash ? slash + 1 : path, base, 31))
			return &a->files[i];
	}
	return NULL;
}

static int add_file(const struct maps_entry *e, void *arg)
{
	struct attrib *a = arg;
	const char *slash = strrchr(e->path, '/');
	struct file_map *f;

	if (!e->inode || e->path[0] != '/' || find_file(a, e->inode, slash ? slash + 1 : e->path))
		return 0;
	if (at_grow(&a->files, a->n, &a->cap, sizeof(a->files[0]), 1))
		return -ENOMEM;
	f = &a->files[a->n++];
	f->inode = e->inode;
	syms_lazy_init(&f->file, e->path);
	return 0;
}

void attrib_refresh(struct attrib *a)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", a->pid);
	n = readlink(link, a->exe, sizeof(a->exe) - 1);
	a->exe[n > 0 ? n : 0] = '\0';
	procfs_read_maps(a->pid, add_file, a);
}

const char *attrib_library(const char *base)
{
	static const struct {
		const char *prefix;
		const char *name;
	} libs[] = {
		{ "libc.so", "glibc" },	       { "libc-", "glibc" },
		{ "libjemalloc", "jemalloc" }, { "libmimalloc", "mimalloc" },
		{ "libtcmalloc", "tcmalloc" }, { "ld-linux", "ld.so" },
		{ "ld64.so", "ld.so" },
	};

	for (size_t i = 0; i < AT_ARRAY_SIZE(libs); i++)
		if (!strncmp(base, libs[i].prefix, strlen(libs[i].prefix)))
			return libs[i].name;
	return NULL;
}

const char *attrib_function(const char *func)
{
	static const char *const je[] = { "je_", "_rjem_", "os_pages_", "pages_" };
	static const char *const mi[] = { "mi_", "_mi_" };
	/* CPython's object allocator: its arenas come from _PyObject_ArenaMmap and go back
	 * through _PyObject_ArenaMunmap (named so in the interpreter's debug file). */
	static const char *const py[] = { "_PyObject_ArenaMmap", "_PyObject_ArenaMunmap",
					  "_PyObject_ArenaMalloc", "_PyObject_ArenaFree" };
	static const char *const glibc[] = {
		"sysmalloc",	"systrim",	    "_int_malloc",	  "_int_free",
		"_int_realloc", "_int_memalign",    "new_heap",		  "alloc_new_heap",
		"munmap_chunk", "mremap_chunk",	    "heap_trim",	  "__libc_malloc",
		"__libc_free",	"__libc_realloc",   "__libc_calloc",	  "__malloc_trim",
		"malloc_trim",	"__glibc_morecore", "__default_morecore",
	};

	for (size_t i = 0; i < AT_ARRAY_SIZE(je); i++)
		if (!strncmp(func, je[i], strlen(je[i])))
			return "jemalloc";
	for (size_t i = 0; i < AT_ARRAY_SIZE(mi); i++)
		if (!strncmp(func, mi[i], strlen(mi[i])))
			return "mimalloc";
	for (size_t i = 0; i < AT_ARRAY_SIZE(py); i++)
		if (!strncmp(func, py[i], strlen(py[i])))
			return "pymalloc";
	for (size_t i = 0; i < AT_ARRAY_SIZE(glibc); i++)
		if (!strncmp(func, glibc[i], strlen(glibc[i])))
			return "glibc";
	return NULL;
}

static const char *symbolize(struct attrib *a, struct file_map *f, uint64_t off)
{
	const struct syms *syms = syms_lazy_get(&f->file, a->pid);

	return syms ? syms_name_at(syms, off) : NULL;
}

struct addr_file {
	uint64_t addr;
	char base[64];
};

static int file_of_addr(const struct maps_entry *e, void *arg)
{
	struct addr_file *af = arg;
	const char *slash = strrchr(e->path, '/');

	if (af->addr < e->start || af->addr >= e->end)
		return 0;
	if (e->inode && e->path[0] == '/')
		snprintf(af->base, sizeof(af->base), "%s", slash + 1);
	return 1; /* found: stop */
}

/* A record the kernel could not resolve (its mm lock was taken): the file that holds the
 * address, from /proc/PID/maps now, by name; the exact caller stays unknown. */
static void classify_unresolved(struct attrib *a, const struct at_sys_rec *r, char *name,
				size_t len)
{
	struct addr_file af = { .addr = r->caller };
	const char *lib, *slash = strrchr(a->exe, '/');

	procfs_read_maps(a->pid, file_of_addr, &af);
	lib = af.base[0] ? attrib_library(af.base) : NULL;
	if (lib)
		snprintf(name, len, "%s", lib);
	else if (!af.base[0] || !strcmp(af.base, slash ? slash + 1 : a->exe))
		snprintf(name, len, "app");
	else
		snprintf(name, len, "%s", af.base);
}

/* CPython's arena allocator when the interpreter has no symbols for it (no debug file): an
 * anonymous private read-write mmap of exactly one arena (1 MiB since 3.10, 256 KiB
 * before) made from no known function of the interpreter itself (a python executable, or
 * libpython). Its munmaps then follow the mapping's owner. */
static bool pymalloc_by_size(const char *base, const struct at_sys_rec *r)
{
	uint64_t len = r->args[1];

	if (r->hdr.kind != AT_SYS_MMAP || r->args[0] || (len != 1u << 20 && len != 256u << 10) ||
	    r->args[2] != (PROT_READ | PROT_WRITE) ||
	    (r->args[3] & (MAP_PRIVATE | MAP_ANONYMOUS | MAP_SHARED)) !=
		    (MAP_PRIVATE | MAP_ANONYMOUS))
		return false;
	return !strncmp(base, "libpython3", 10) || !strncmp(base, "python3", 7);
}

void attrib_classify(struct attrib *a, const struct at_sys_rec *r, char *name, size_t len,
		     bool *is_allocator)
{
	char base[33];
	const char *lib, *func, *alloc;
	struct file_map *f;

	*is_allocator = true;
	memcpy(base, r->caller_file, 32);
	base[32] = '\0';
	if (r->caller_kind == AT_CALLER_UNRESOLVED) {
		classify_unresolved(a, r, name, len);
		return;
	}
	if (!r->caller_ino) {
		snprintf(name, len, "app"); /* anonymous code: JIT or similar */
		return;
	}
	lib = attrib_library(base);
	if (lib) {
		snprintf(name, len, "%s", lib);
		return;
	}
	f = find_file(a, r->caller_ino, base);
	if (!f) {
		attrib_refresh(a);
		f = find_file(a, r->caller_ino, base);
	}
	func = f ? symbolize(a, f, r->caller_off) : NULL;
	alloc = func ? attrib_function(func) : NULL;
	if (!alloc && !func && pymalloc_by_size(base, r))
		alloc = "pymalloc";
	if (alloc) {
		snprintf(name, len, "%s", alloc);
		return;
	}
	if (f && !strcmp(f->file.path, a->exe)) {
		snprintf(name, len, "app");
		return;
	}
	if (!f) {
		/* The process is gone and the file was never seen: the executable is the one
		 * file mapping every process has, so a file that is not a library is it. */
		snprintf(name, len, "%s", strstr(base, ".so") ? base : "app");
		return;
	}
	snprintf(name, len, "%s", base);
}
