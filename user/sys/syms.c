// SPDX-License-Identifier: GPL-2.0-only
#include "syms.h"

#include <fcntl.h>
#include <limits.h>
#include <elfutils/libdwelf.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debuginfo.h"
#include "log.h"

struct sym {
	uint64_t addr;
	uint64_t size;
	char *name;
};

struct seg {
	uint64_t vaddr;
	uint64_t off;
	uint64_t filesz;
};

struct syms {
	struct sym *syms;
	size_t n, cap;
	uint32_t *by_name; /* indices into syms, by name then address */
	/* The cache: files are identified by device, inode, size and mtime. */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	unsigned refs;
	uint64_t last_use;
	struct seg segs[16];
	size_t nsegs;
	bool has_usdt;
	bool has_symtab;   /* a .symtab, the file's or its debug file's, was read */
	bool fetched;	   /* its debug file was asked of debuginfod */
	char build_id[41]; /* hex, "" when the file has none */
};

static int add_sym(struct syms *s, uint64_t addr, uint64_t size, const char *name)
{
	if (at_grow(&s->syms, s->n, &s->cap, sizeof(s->syms[0]), 1))
		return -ENOMEM;
	s->syms[s->n].name = strdup(name);
	if (!s->syms[s->n].name)
		return -ENOMEM;
	s->syms[s->n].addr = addr;
	s->syms[s->n].size = size;
	s->n++;
	return 0;
}

static int read_symtab(struct syms *s, Elf *elf, Elf64_Word type)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	int found = 0;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		size_t i, cnt;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf)
			continue;
		cnt = data->d_size / sh.sh_entsize;
		for (i = 0; i < cnt; i++) {
			GElf_Sym sym;
			const char *name;
			int t;

			if (!gelf_getsym(data, (int)i, &sym))
				continue;
			t = GELF_ST_TYPE(sym.st_info);
			if ((t != STT_FUNC && t != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
			    !sym.st_value)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!name || !*name)
				continue;
			if (add_sym(s, sym.st_value, sym.st_size, name))
				return -ENOMEM;
			found++;
		}
	}
	return found;
}

static void read_segments(struct syms *s, Elf *elf)
{
	size_t i, n;

	if (elf_getphdrnum(elf, &n))
		return;
	for (i = 0; i < n && s->nsegs < AT_ARRAY_SIZE(s->segs); i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		s->segs[s->nsegs++] = (struct seg){ ph.p_vaddr, ph.p_offset, ph.p_filesz };
	}
}

int syms_elf_build_id(struct Elf *elf, char *hex, size_t len)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		GElf_Nhdr nh;
		size_t off = 0, noff, doff;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		while (data && (off = gelf_getnote(data, off, &nh, &noff, &doff)) > 0) {
			const unsigned char *id = (const unsigned char *)data->d_buf + doff;

			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_descsz < 2 ||
			    2 * (size_t)nh.n_descsz + 1 > len || nh.n_namesz != 4 ||
			    memcmp((const char *)data->d_buf + noff, "GNU", 4))
				continue;
			for (size_t i = 0; i < nh.n_descsz; i++)
				snprintf(hex + 2 * i, 3, "%02x", id[i]);
			return 0;
		}
	}
	return -ENOENT;
}

int syms_elf_debug_file(struct Elf *elf, const char *path, bool fetch, char *out, size_t len)
{
	GElf_Word crc = 0;
	const char *link = dwelf_elf_gnu_debuglink(elf, &crc);
	char id[129];
	bool has_id = !syms_elf_build_id(elf, id, sizeof(id));

	if (!debuginfo_local(path, has_id ? id : NULL, link, crc, out, len))
		return 0;
	return fetch && has_id ? debuginfo_fetch(id, out, len) : -ENOENT;
}

static int load_file(struct syms *s, const char *path, bool main_file)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), found = 0;
	char dbg[PATH_MAX];
	Elf *elf;

	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (elf)
			elf_end(elf);
		close(fd);
		return -ENOEXEC;
	}
	if (main_file) {
		Elf_Scn *scn = NULL;
		size_t shstrndx;
		GElf_Shdr sh;

		read_segments(s, elf);
		if (syms_elf_build_id(elf, s->build_id, sizeof(s->build_id)))
			s->build_id[0] = '\0';
		while (!elf_getshdrstrndx(elf, &shstrndx) && (scn = elf_nextscn(elf, scn))) {
			const char *name = gelf_getshdr(scn, &sh)
						   ? elf_strptr(elf, shstrndx, sh.sh_name)
						   : NULL;

			if (name && !strcmp(name, ".note.stapsdt"))
				s->has_usdt = true;
		}
	}
	found = read_symtab(s, elf, SHT_SYMTAB);
	if (found > 0)
		s->has_symtab = true;
	if (found <= 0 && main_file && !syms_elf_debug_file(elf, path, false, dbg, sizeof(dbg)))
		found = load_file(s, dbg, false);
	if (found <= 0)
		found = read_symtab(s, elf, SHT_DYNSYM);
	elf_end(elf);
	close(fd);
	return found < 0 ? found : 0;
}

int syms_debug_file(const char *path, bool fetch, char *out, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = -ENOENT;
	Elf *elf;

	if (fd < 0)
		return -errno;
	if (elf_version(EV_CURRENT) != EV_NONE) {
		elf = elf_begin(fd, ELF_C_READ, NULL);
		if (elf && elf_kind(elf) == ELF_K_ELF)
			err = syms_elf_debug_file(elf, path, fetch, out, len);
		if (elf)
			elf_end(elf);
	}
	close(fd);
	return err;
}

static const struct syms *sort_ctx;

static int cmp_name(const void *a, const void *b)
{
	const struct sym *x = &sort_ctx->syms[*(const uint32_t *)a];
	const struct sym *y = &sort_ctx->syms[*(const uint32_t *)b];
	int c = strcmp(x->name, y->name);

	return c ? c : (x->addr > y->addr) - (x->addr < y->addr);
}

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* Prefer a sized symbol, then the shorter (public) alias, for a stable choice. */
	if (!x->size != !y->size)
		return x->size ? -1 : 1;
	return (int)strlen(x->name) - (int)strlen(y->name);
}

/* Loaded files, shared: every level and every process that maps a file (a fleet maps
 * libc hundreds of times) reads its symbols once. Unused ones are kept up to CACHE_IDLE,
 * the least recently used going first. */
#define CACHE_IDLE 32
static struct syms **cache;
static size_t ncache, cache_cap;
static uint64_t cache_clock;

/* Sorts the symbols by address and indexes them by name (on failure, nothing moved). */
static int index_syms(struct syms *s)
{
	uint32_t *by_name = realloc(s->by_name, (s->n ? s->n : 1) * sizeof(*s->by_name));

	if (!by_name)
		return -ENOMEM;
	s->by_name = by_name;
	if (s->n) /* a file without symbols has no array to sort (NULL) */
		qsort(s->syms, s->n, sizeof(s->syms[0]), cmp_sym);
	for (size_t i = 0; i < s->n; i++)
		s->by_name[i] = (uint32_t)i;
	sort_ctx = s;
	if (s->n)
		qsort(s->by_name, s->n, sizeof(*s->by_name), cmp_name);
	return 0;
}

static void destroy(struct syms *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->syms[i].name);
	free(s->syms);
	free(s->by_name);
	free(s);
}

static struct syms *load(const char *path)
{
	struct syms *s;
	int err;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	err = load_file(s, path, true);
	if (!err)
		err = index_syms(s);
	if (err) {
		destroy(s);
		errno = -err;
		return NULL;
	}
	return s;
}

static void evict_idle(void)
{
	size_t idle = 0, oldest = SIZE_MAX;

	for (size_t i = 0; i < ncache; i++) {
		if (cache[i]->refs)
			continue;
		idle++;
		if (oldest == SIZE_MAX || cache[i]->last_use < cache[oldest]->last_use)
			oldest = i;
	}
	if (idle <= CACHE_IDLE)
		return;
	destroy(cache[oldest]);
	cache[oldest] = cache[--ncache];
}

struct syms *syms__new(const char *path)
{
	struct stat st;
	struct syms *s;

	if (stat(path, &st))
		return load(path); /* says why, through errno */
	for (size_t i = 0; i < ncache; i++) {
		s = cache[i];
		if (s->dev == st.st_dev && s->ino == st.st_ino && s->size == st.st_size &&
		    s->mtime.tv_sec == st.st_mtim.tv_sec &&
		    s->mtime.tv_nsec == st.st_mtim.tv_nsec) {
			s->refs++;
			s->last_use = ++cache_clock;
			return s;
		}
	}
	s = load(path);
	if (!s || at_grow(&cache, ncache, &cache_cap, sizeof(*cache), 1))
		return s; /* uncached: refs 0 marks it */
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->size = st.st_size;
	s->mtime = st.st_mtim;
	s->refs = 1;
	s->last_use = ++cache_clock;
	cache[ncache++] = s;
	return s;
}

void syms__free(struct syms *s)
{
	if (!s)
		return;
	if (!s->refs) {
		destroy(s);
		return;
	}
	if (--s->refs == 0)
		evict_idle();
}

void syms_cache_clear(void)
{
	size_t k = 0;

	for (size_t i = 0; i < ncache; i++) {
		if (cache[i]->refs)
			cache[k++] = cache[i];
		else
			destroy(cache[i]);
	}
	ncache = k;
	if (!ncache) {
		free(cache);
		cache = NULL;
		cache_cap = 0;
	}
}

void syms_lazy_init(struct syms_lazy *l, const char *path)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->path, sizeof(l->path), "%s", path);
}

const struct syms *syms_lazy_get(struct syms_lazy *l, int pid)
{
	char path[PATH_MAX];

	if (!l->syms && !l->failed) {
		snprintf(path, sizeof(path), "/proc/%d/root%s", pid, l->path);
		l->syms = syms__new(path);
		if (!l->syms)
			l->syms = syms__new(l->path);
		l->failed = !l->syms;
	}
	return l->syms;
}

const struct syms *syms_lazy_get_debug(struct syms_lazy *l, int pid)
{
	struct syms *s = (struct syms *)syms_lazy_get(l, pid);
	char dbg[PATH_MAX];
	size_t n;

	if (!s || s->has_symtab || s->fetched || !s->build_id[0] || !debuginfo_can_fetch())
		return s;
	s->fetched = true;
	if (debuginfo_fetch(s->build_id, dbg, sizeof(dbg)))
		return s;
	/* The names already handed out stay valid: each is its own allocation. */
	n = s->n;
	if (!load_file(s, dbg, false) && !index_syms(s)) {
		at_note(2, "'%s': %zu symbols from debuginfod's '%s'", l->path, s->n - n, dbg);
		return s;
	}
	/* What was added goes: the symbols stay as they were, their index with them. */
	for (size_t i = n; i < s->n; i++)
		free(s->syms[i].name);
	s->n = n;
	s->has_symtab = false;
	at_note(1, "'%s': cannot read the debug file '%s' from debuginfod", l->path, dbg);
	return s;
}

void syms_lazy_release(struct syms_lazy *l)
{
	syms__free(l->syms);
	l->syms = NULL;
}

static bool off_to_vaddr(const struct syms *s, uint64_t off, uint64_t *vaddr)
{
	for (size_t i = 0; i < s->nsegs; i++) {
		const struct seg *g = &s->segs[i];

		if (off >= g->off && off < g->off + g->filesz) {
			*vaddr = off - g->off + g->vaddr;
			return true;
		}
	}
	return false;
}

static bool vaddr_to_off(const struct syms *s, uint64_t vaddr, uint64_t *off)
{
	for (size_t i = 0; i < s->nsegs; i++) {
		const struct seg *g = &s->segs[i];

		if (vaddr >= g->vaddr && vaddr < g->vaddr + g->filesz) {
			*off = vaddr - g->vaddr + g->off;
			return true;
		}
	}
	return false;
}

const char *syms_name_at(const struct syms *s, uint64_t off)
{
	return syms_func_at(s, off, NULL);
}

const char *syms_func_at(const struct syms *s, uint64_t off, uint64_t *in_func)
{
	uint64_t addr;
	size_t lo = 0, hi = s->n;

	if (!off_to_vaddr(s, off, &addr))
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* lo-1 is the last symbol at or below addr; walk back over aliases to a sized one. */
	for (size_t i = lo; i > 0; i--) {
		const struct sym *y = &s->syms[i - 1];

		if (y->addr + (y->size ? y->size : 1) > addr || (!y->size && y->addr == addr)) {
			if (in_func)
				*in_func = addr - y->addr;
			return y->name;
		}
		if (y->addr < addr && y->size)
			break;
	}
	return NULL;
}

int syms_func(const struct syms *s, const char *name, uint64_t *off, uint64_t *size)
{
	size_t lo = 0, hi = s->n;

	/* The first of the equal names, by address (the name index's order). */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(s->syms[s->by_name[mid]].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == s->n || strcmp(s->syms[s->by_name[lo]].name, name))
		return -ENOENT;
	if (size)
		*size = s->syms[s->by_name[lo]].size;
	return vaddr_to_off(s, s->syms[s->by_name[lo]].addr, off) ? 0 : -ERANGE;
}

void syms_each(const struct syms *s, syms_visit_fn fn, void *arg)
{
	for (size_t i = 0; i < s->n; i++) {
		uint64_t off;

		if (vaddr_to_off(s, s->syms[i].addr, &off))
			fn(arg, s->syms[i].name, off);
	}
}

const char *syms_build_id(const struct syms *s)
{
	return s->build_id[0] ? s->build_id : NULL;
}

bool syms_has_usdt(const struct syms *s)
{
	return s->has_usdt;
}

size_t syms_count(const struct syms *s)
{
	return s->n;
}

int syms_offset_of(const struct syms *s, const char *name, uint64_t *off)
{
	return syms_func(s, name, off, NULL);
}

int syms_vaddr(const struct syms *s, uint64_t off, uint64_t *vaddr)
{
	return off_to_vaddr(s, off, vaddr) ? 0 : -ERANGE;
}
