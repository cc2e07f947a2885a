// SPDX-License-Identifier: GPL-2.0-only
#include "stacks.h"

#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <libiberty/demangle.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "procfs.h"
#include "syms.h"

/* A mapped file, shared by every process that maps it: its symbols and its DWARF. */
/* The code bytes before a return address, read once (stacks_code_before). */
#define CODE_BEFORE 8
struct code_entry {
	uint64_t off1; /* the file offset + 1; 0: empty */
	uint8_t len;
	unsigned char code[CODE_BEFORE];
};

struct sfile {
	struct syms_lazy syms;
	struct code_entry *code; /* open addressing, a power of two */
	size_t ncode, code_cap;
	uint32_t dev_major, dev_minor; /* 0 0 0: not known */
	uint64_t ino;
	Dwfl *dwfl; /* NULL until the first line lookup, or when it failed (dwfl_failed) */
	Dwfl_Module *mod;
	bool dwfl_failed;
};

struct region {
	uint64_t start, end, offset;
	struct sfile *file;
};

/* A process's executable file mappings, as last read. */
struct sproc {
	int pid;
	struct region *regions;
	size_t nregions, rcap;
};

struct stacks {
	struct sfile **files;
	size_t nfiles, fcap;
	struct sproc *procs;
	size_t nprocs, pcap;
	/* stacks_refresh's reading, swapped in when it found something */
	struct region *tmp;
	size_t ntmp, tcap;
	/* stacks_exit_vma's, until stacks_exit_commit */
	int exit_pid;
	struct region *exiting;
	size_t nexiting, ecap;
};

static int note_mapping(const struct maps_entry *e, void *arg);

struct stacks *stacks__new(void)
{
	struct stacks *s = calloc(1, sizeof(struct stacks));

	/* arenatrace's own libraries (libc...) are most processes' too: their paths are then
	 * known by inode, for a process whose mappings arrive only at its exit. */
	if (s)
		procfs_read_maps(getpid(), note_mapping, s);
	return s;
}

void stacks__free(struct stacks *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nfiles; i++) {
		syms_lazy_release(&s->files[i]->syms);
		free(s->files[i]->code);
		if (s->files[i]->dwfl)
			dwfl_end(s->files[i]->dwfl);
		free(s->files[i]);
	}
	for (size_t i = 0; i < s->nprocs; i++)
		free(s->procs[i].regions);
	free(s->procs);
	free(s->files);
	free(s->tmp);
	free(s->exiting);
	free(s);
}

char *stacks_demangle(const char *name)
{
	return cplus_demangle(name, DMGL_PARAMS | DMGL_AUTO);
}

static struct sfile *file_of(struct stacks *s, const char *path)
{
	struct sfile *f;

	for (size_t i = 0; i < s->nfiles; i++)
		if (!strcmp(s->files[i]->syms.path, path))
			return s->files[i];
	if (at_grow(&s->files, s->nfiles, &s->fcap, sizeof(s->files[0]), 1))
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	syms_lazy_init(&f->syms, path);
	s->files[s->nfiles++] = f;
	return f;
}

static struct sproc *proc_of(struct stacks *s, int pid, bool add)
{
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i].pid == pid)
			return &s->procs[i];
	if (!add || at_grow(&s->procs, s->nprocs, &s->pcap, sizeof(s->procs[0]), 1))
		return NULL;
	s->procs[s->nprocs] = (struct sproc){ .pid = pid };
	return &s->procs[s->nprocs++];
}

static struct sfile *file_by_id(struct stacks *s, uint32_t major, uint32_t minor, uint64_t ino)
{
	for (size_t i = 0; ino && i < s->nfiles; i++)
		if (s->files[i]->ino == ino && s->files[i]->dev_major == major &&
		    s->files[i]->dev_minor == minor)
			return s->files[i];
	return NULL;
}

/* The file of a mapping, its identity remembered. */
static struct sfile *file_of_entry(struct stacks *s, const struct maps_entry *e)
{
	struct sfile *f = file_of(s, e->path);

	if (f && e->inode) {
		/* Another file at that path now (a package upgraded): its code is not the
		 * cached one. */
		if (f->ino != e->inode || f->dev_major != e->dev_major ||
		    f->dev_minor != e->dev_minor) {
			free(f->code);
			f->code = NULL;
			f->ncode = f->code_cap = 0;
		}
		f->dev_major = e->dev_major;
		f->dev_minor = e->dev_minor;
		f->ino = e->inode;
	}
	return f;
}

static int note_mapping(const struct maps_entry *e, void *arg)
{
	if ((e->prot & 4 /* PROT_EXEC */) && e->path[0] == '/')
		file_of_entry(arg, e);
	return 0;
}

void stacks_note_file(struct stacks *s, const char *path)
{
	struct maps_entry e = { 0 };
	struct stat st;

	if (stat(path, &st) || strlen(path) >= sizeof(e.path))
		return;
	snprintf(e.path, sizeof(e.path), "%s", path);
	e.dev_major = major(st.st_dev);
	e.dev_minor = minor(st.st_dev);
	e.inode = st.st_ino;
	file_of_entry(s, &e);
}

/* A file known only by its identity and name: looked for beside the files known (and in
 * their ../lib, where a program's own libraries go), then in the usual library
 * directories; the one whose device and inode match is it. */
static struct sfile *find_by_name(struct stacks *s, uint32_t major, uint32_t minor, uint64_t ino,
				  const char *name)
{
	static const char *const libdirs[] = { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu",
					       "/usr/local/lib", "/usr/lib", "/lib" };
	size_t nfiles = s->nfiles;
	char path[PATH_MAX];
	struct stat st;

	if (!name[0] || strchr(name, '/'))
		return NULL;
	for (size_t i = 0; i < nfiles + AT_ARRAY_SIZE(libdirs); i++) {
		for (int up = 0; up < 2; up++) {
			const char *dir = i < nfiles ? s->files[i]->syms.path : libdirs[i - nfiles];
			const char *slash = i < nfiles ? strrchr(dir, '/') : dir + strlen(dir);
			int dlen = slash ? (int)(slash - dir) : 0;

			if (!slash || (up && i >= nfiles))
				continue;
			snprintf(path, sizeof(path), "%.*s%s/%s", dlen, dir, up ? "/../lib" : "",
				 name);
			if (!stat(path, &st) && st.st_ino == ino && major(st.st_dev) == major &&
			    minor(st.st_dev) == minor) {
				char real[PATH_MAX];

				stacks_note_file(s, realpath(path, real) ? real : path);
				return file_by_id(s, major, minor, ino);
			}
		}
	}
	return NULL;
}

void stacks_exit_vma(struct stacks *s, int pid, uint64_t start, uint64_t end, uint64_t offset,
		     uint32_t dev_major, uint32_t dev_minor, uint64_t ino, const char *name)
{
	struct sfile *f = file_by_id(s, dev_major, dev_minor, ino);

	if (s->exit_pid != pid)
		s->nexiting = 0;
	s->exit_pid = pid;
	if (!f)
		f = find_by_name(s, dev_major, dev_minor, ino, name);
	if (!f)
		f = file_of(s, name);
	if (f && !at_grow(&s->exiting, s->nexiting, &s->ecap, sizeof(s->exiting[0]), 1))
		s->exiting[s->nexiting++] = (struct region){ start, end, offset, f };
}

void stacks_exit_commit(struct stacks *s, int pid)
{
	struct sproc *p;

	if (s->exit_pid != pid || !s->nexiting)
		return;
	p = proc_of(s, pid, true);
	if (p && !at_grow(&p->regions, 0, &p->rcap, sizeof(p->regions[0]), s->nexiting)) {
		memcpy(p->regions, s->exiting, s->nexiting * sizeof(s->exiting[0]));
		p->nregions = s->nexiting;
	}
	s->nexiting = 0;
	s->exit_pid = 0;
}

static int add_region(const struct maps_entry *e, void *arg)
{
	struct stacks *s = arg;
	struct sfile *f;

	if (!(e->prot & 4 /* PROT_EXEC */) || e->path[0] != '/')
		return 0;
	f = file_of_entry(s, e);
	if (!f || at_grow(&s->tmp, s->ntmp, &s->tcap, sizeof(s->tmp[0]), 1))
		return -ENOMEM;
	s->tmp[s->ntmp++] = (struct region){ e->start, e->end, e->offset, f };
	return 0;
}

int stacks_refresh(struct stacks *s, int pid)
{
	struct sproc *p;
	int err;

	s->ntmp = 0;
	err = procfs_read_maps(pid, add_region, s);
	/* A process that has exited (a zombie included) shows no mapping: keep the last. */
	if (err || !s->ntmp)
		return err ? err : -ESRCH;
	p = proc_of(s, pid, true);
	if (!p)
		return -ENOMEM;
	if (at_grow(&p->regions, 0, &p->rcap, sizeof(p->regions[0]), s->ntmp))
		return -ENOMEM;
	memcpy(p->regions, s->tmp, s->ntmp * sizeof(s->tmp[0]));
	p->nregions = s->ntmp;
	return (int)s->ntmp;
}

void stacks_forget(struct stacks *s, int pid)
{
	struct sproc *p = proc_of(s, pid, false);

	if (!p)
		return;
	free(p->regions);
	*p = s->procs[--s->nprocs];
}

/* The debug file of a module without DWARF, through the lookup the symbols use (build-id,
 * .gnu_debuglink, debuginfod when configured): libdwfl's own search would ask debuginfod
 * for every module again, outside the rules of debuginfo.h (each file asked once, one
 * warning, none asked again after a failure). */
static int find_debug(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		      const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
		      char **debuginfo_file_name)
{
	char path[PATH_MAX];
	int fd;

	(void)mod, (void)userdata, (void)modname, (void)base;
	/* Asked for a .gnu_debugaltlink (dwz) file, which has no CRC: libdw finds it itself
	 * (by its absolute path or its build-id) when this fails. */
	if (debuglink_file && !debuglink_crc)
		return -1;
	if (!file_name || syms_debug_file(file_name, true, path, sizeof(path)))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		*debuginfo_file_name = strdup(path);
		if (!*debuginfo_file_name) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

static const Dwfl_Callbacks dwfl_offline = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = find_debug,
	.section_address = dwfl_offline_section_address,
};

/* The file's DWARF (its own, or its debug file's), opened once. */
static Dwfl_Module *dwfl_of(struct sfile *f, int pid)
{
	char path[PATH_MAX];

	if (f->mod || f->dwfl_failed)
		return f->mod;
	f->dwfl_failed = true;
	f->dwfl = dwfl_begin(&dwfl_offline);
	if (!f->dwfl)
		return NULL;
	snprintf(path, sizeof(path), "/proc/%d/root%s", pid, f->syms.path);
	if (access(path, R_OK))
		snprintf(path, sizeof(path), "%s", f->syms.path);
	f->mod = dwfl_report_offline(f->dwfl, f->syms.path, path, -1);
	if (dwfl_report_end(f->dwfl, NULL, NULL) || !f->mod) {
		dwfl_end(f->dwfl);
		f->dwfl = NULL;
		f->mod = NULL;
		return NULL;
	}
	f->dwfl_failed = false;
	return f->mod;
}

/* The source file and line of the instruction at file offset off (the call). */
static void source_line(struct sfile *f, const struct syms *syms, int pid, uint64_t off,
			struct stacks_frame *out)
{
	Dwfl_Module *mod = dwfl_of(f, pid);
	Dwarf_Addr bias = 0;
	Dwfl_Line *ln;
	uint64_t vaddr;
	const char *src;
	int line = 0;

	if (!mod || !syms || syms_vaddr(syms, off, &vaddr) || !dwfl_module_getelf(mod, &bias))
		return;
	ln = dwfl_module_getsrc(mod, vaddr + bias);
	src = ln ? dwfl_lineinfo(ln, NULL, &line, NULL, NULL, NULL) : NULL;
	if (!src || line <= 0)
		return;
	snprintf(out->file, sizeof(out->file), "%s", src);
	out->line = (uint32_t)line;
}

int stacks_frame(struct stacks *s, int pid, uint64_t addr, struct stacks_frame *out)
{
	struct sproc *p = proc_of(s, pid, false);

	memset(out, 0, sizeof(*out));
	if (!p)
		return -ESRCH;
	for (size_t i = 0; i < p->nregions; i++) {
		const struct region *r = &p->regions[i];
		struct sfile *f = r->file;
		const struct syms *syms;
		const char *name = NULL, *id;
		uint64_t in_func = 0;
		char *dem;

		if (addr < r->start || addr >= r->end)
			continue;
		out->offset = addr - r->start + r->offset;
		snprintf(out->module, sizeof(out->module), "%s", f->syms.path);
		syms = syms_lazy_get_debug(&f->syms, pid);
		id = syms ? syms_build_id(syms) : NULL;
		if (id)
			snprintf(out->build_id, sizeof(out->build_id), "%s", id);
		/* A return address: the call is the byte before it. */
		if (syms && out->offset)
			name = syms_func_at(syms, out->offset - 1, &in_func);
		if (name) {
			dem = stacks_demangle(name);
			snprintf(out->function, sizeof(out->function), "%s", dem ? dem : name);
			free(dem);
			out->function_offset = in_func + 1;
		}
		if (out->offset)
			source_line(f, syms, pid, out->offset - 1, out);
		return 0;
	}
	return -ENOENT;
}

static struct code_entry *code_slot(struct sfile *f, uint64_t off)
{
	size_t k = (size_t)((off * 0x9e3779b97f4a7c15ull) >> 32) & (f->code_cap - 1);

	while (f->code[k].off1 && f->code[k].off1 != off + 1)
		k = (k + 1) & (f->code_cap - 1);
	return &f->code[k];
}

/* The cache's entry for off, found or made (NULL: no memory). */
static struct code_entry *code_entry(struct sfile *f, uint64_t off)
{
	if ((f->ncode + 1) * 2 > f->code_cap) {
		size_t cap = f->code_cap ? f->code_cap * 2 : 64;
		struct code_entry *old = f->code;
		size_t oldcap = f->code_cap;

		f->code = calloc(cap, sizeof(*f->code));
		if (!f->code) {
			f->code = old;
			return NULL;
		}
		f->code_cap = cap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].off1)
				*code_slot(f, old[i].off1 - 1) = old[i];
		free(old);
	}
	return code_slot(f, off);
}

int stacks_code_before(struct stacks *s, int pid, uint64_t addr, unsigned char *buf, size_t *len)
{
	struct sproc *p = proc_of(s, pid, false);
	char path[PATH_MAX];

	for (size_t i = 0; p && i < p->nregions; i++) {
		const struct region *r = &p->regions[i];
		uint64_t off = addr - r->start + r->offset, n = *len;
		ssize_t got;
		int fd;

		struct code_entry *e;

		if (addr < r->start || addr >= r->end)
			continue;
		/* Not before the mapping: bytes there may be another mapping's, or none. */
		if (n > addr - r->start)
			n = addr - r->start;
		if (n > CODE_BEFORE)
			n = CODE_BEFORE;
		/* Read once a file: a live process's stacks are resolved at every report. */
		e = code_entry(r->file, off);
		if (e && e->off1 && e->len == n) {
			memcpy(buf, e->code, n);
			*len = n;
			return 0;
		}
		snprintf(path, sizeof(path), "/proc/%d/root%s", pid, r->file->syms.path);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fd = open(r->file->syms.path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		got = pread(fd, buf, n, (off_t)(off - n));
		close(fd);
		if (got != (ssize_t)n)
			return -EIO;
		if (e) {
			if (!e->off1)
				r->file->ncode++;
			e->off1 = off + 1;
			e->len = (uint8_t)n;
			memcpy(e->code, buf, n);
		}
		*len = n;
		return 0;
	}
	return -ENOENT;
}

int stacks_modules(struct stacks *s, int pid, stacks_module_fn fn, void *arg)
{
	struct sproc *p = proc_of(s, pid, false);

	if (!p)
		return -ESRCH;
	for (size_t i = 0; i < p->nregions; i++) {
		const struct region *r = &p->regions[i];
		const struct syms *syms = syms_lazy_get(&r->file->syms, pid);
		uint64_t vaddr;

		if (syms && !syms_vaddr(syms, r->offset, &vaddr))
			fn(arg, r->file->syms.path, r->start, r->end, r->start - vaddr);
	}
	return 0;
}
