// SPDX-License-Identifier: GPL-2.0-only
/* What the libc file says: its writable segment and TLS, its version banner, the data
 * symbols (main_arena, mp_, tcache_key, the TLS variable tcache) that libc6-dbg names, and
 * the layout descriptors libc exports for libthread_db. */
#include "glibc_priv.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "syms.h"

#ifndef R_X86_64_TPOFF64
#define R_X86_64_TPOFF64 18
#endif

static void read_segments(Elf *elf, struct glibc_elf *e)
{
	size_t n;

	if (elf_getphdrnum(elf, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph))
			continue;
		if (ph.p_type == PT_LOAD && !ph.p_offset)
			e->first_vaddr = ph.p_vaddr & ~(uint64_t)(AT_PAGE_SIZE - 1);
		if (ph.p_type == PT_LOAD && (ph.p_flags & PF_W) && !e->rw_memsz) {
			e->rw_vaddr = ph.p_vaddr;
			e->rw_memsz = ph.p_memsz;
		}
		if (ph.p_type == PT_TLS) {
			e->tls_memsz = ph.p_memsz;
			e->tls_align = ph.p_align ? ph.p_align : 1;
		}
	}
}

/* "... stable release version 2.36." in libc.so.6 (__libc_print_version's banner); a static
 * executable does not link it in. */
static int read_version(Elf *elf)
{
	static const char key[] = "release version 2.";
	size_t len = 0;
	const char *raw = elf_rawfile(elf, &len), *p;

	p = raw ? memmem(raw, len, key, sizeof(key) - 1) : NULL;
	if (!p || p + sizeof(key) + 2 > raw + len)
		return -1;
	p += sizeof(key) - 1;
	if (p[0] < '0' || p[0] > '9')
		return -1;
	return p[1] >= '0' && p[1] <= '9' ? (p[0] - '0') * 10 + (p[1] - '0') : p[0] - '0';
}

/* libthread_db's descriptors (nptl_db's DB_STRUCT_FIELD): uint32_t { bits, count, offset }
 * in read-only data. Kept by symbol address until the file's sections are read. */
struct descs {
	uint64_t pd_tid, pd_list, stack_used, stack_user;
};

static bool read_desc(Elf *elf, uint64_t vaddr, uint32_t bits, uint32_t max, uint32_t *off)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	uint32_t d[3];

	while (vaddr && (scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS || vaddr < sh.sh_addr ||
		    vaddr + sizeof(d) > sh.sh_addr + sh.sh_size)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf || vaddr - sh.sh_addr + sizeof(d) > data->d_size)
			return false;
		memcpy(d, (const char *)data->d_buf + (vaddr - sh.sh_addr), sizeof(d));
		if (d[0] != bits || d[1] != 1 || d[2] >= max)
			return false;
		*off = d[2];
		return true;
	}
	return false;
}

static void take_desc(struct descs *ds, const char *name, uint64_t v)
{
	if (!strcmp(name, "_thread_db_pthread_tid"))
		ds->pd_tid = v;
	else if (!strcmp(name, "_thread_db_pthread_list"))
		ds->pd_list = v;
	else if (!strcmp(name, "_thread_db_rtld_global__dl_stack_used"))
		ds->stack_used = v;
	else if (!strcmp(name, "_thread_db_rtld_global__dl_stack_user"))
		ds->stack_user = v;
}

static void take_sym(struct glibc_elf *e, const char *name, const GElf_Sym *s)
{
	int type = GELF_ST_TYPE(s->st_info);

	if (type == STT_OBJECT && !strcmp(name, "main_arena"))
		e->main_arena = s->st_value;
	else if (type == STT_OBJECT && !strcmp(name, "mp_"))
		e->mp = s->st_value;
	else if (type == STT_OBJECT && !strcmp(name, "tcache_key"))
		e->tcache_key = s->st_value;
	else if (type == STT_TLS && !strcmp(name, "tcache") && s->st_size == 8) {
		e->tcache_tls = s->st_value;
		e->has_tcache_tls = true;
	} else if (type == STT_OBJECT && !strcmp(name, "_dl_stack_used")) {
		e->dl_stack_used = s->st_value;
	} else if (type == STT_OBJECT && !strcmp(name, "_dl_stack_user")) {
		e->dl_stack_user = s->st_value;
	}
}

/* Calls fn for each defined symbol of the file's .symtab and .dynsym. */
static void each_symbol(Elf *elf, void (*fn)(void *arg, const char *name, const GElf_Sym *s),
			void *arg)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || !sh.sh_entsize ||
		    (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *name;

			if (!gelf_getsym(data, (int)i, &s) || s.st_shndx == SHN_UNDEF)
				continue;
			name = elf_strptr(elf, sh.sh_link, s.st_name);
			if (name)
				fn(arg, name, &s);
		}
	}
}

struct sym_arg {
	struct glibc_elf *e;
	struct descs *ds;
};

static void on_sym(void *arg, const char *name, const GElf_Sym *s)
{
	struct sym_arg *a = arg;

	take_sym(a->e, name, s);
	if (a->ds && GELF_ST_TYPE(s->st_info) == STT_OBJECT)
		take_desc(a->ds, name, s->st_value);
}

static void read_symbols(Elf *elf, struct glibc_elf *e, struct descs *ds)
{
	struct sym_arg a = { e, ds };

	each_symbol(elf, on_sym, &a);
}

/* The descriptors are checked against what they must describe (a 32-bit tid, 16-byte
 * list_t) and refused otherwise. */
static void read_descs(Elf *elf, const struct descs *ds, struct glibc_elf *e)
{
	uint32_t off;

	if (read_desc(elf, ds->pd_tid, 32, 4096, &off) && off)
		e->pd_tid = off;
	if (read_desc(elf, ds->pd_list, 128, 4096, &off) && off)
		e->pd_list = off;
	if (read_desc(elf, ds->stack_used, 128, 1u << 16, &off) && off)
		e->rtld_stack_used = off;
	if (read_desc(elf, ds->stack_user, 128, 1u << 16, &off) && off)
		e->rtld_stack_user = off;
}

struct find_arg {
	const char *name;
	uint64_t v;
};

static void on_find(void *arg, const char *name, const GElf_Sym *s)
{
	struct find_arg *a = arg;

	if (!a->v && GELF_ST_TYPE(s->st_info) == STT_OBJECT && !strcmp(name, a->name))
		a->v = s->st_value;
}

/* libc.so reaches its own initial-exec TLS through GOT slots that ld.so fills with
 * R_X86_64_TPOFF64 (no symbol, addend = the variable's offset in libc's TLS block). */
static void read_tpoff_slot(Elf *elf, struct glibc_elf *e)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn)) && !e->tcache_got) {
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Rela r;

			if (!gelf_getrela(data, (int)i, &r))
				continue;
			if (GELF_R_TYPE(r.r_info) == R_X86_64_TPOFF64 && !GELF_R_SYM(r.r_info) &&
			    (uint64_t)r.r_addend == e->tcache_tls) {
				e->tcache_got = r.r_offset;
				break;
			}
		}
	}
}

static int open_elf(const char *path, int *fd, Elf **elf)
{
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return -errno;
	*elf = elf_begin(*fd, ELF_C_READ, NULL);
	if (!*elf || elf_kind(*elf) != ELF_K_ELF) {
		if (*elf)
			elf_end(*elf);
		close(*fd);
		return -ENOEXEC;
	}
	return 0;
}

/* What a file held, by its identity: reading a libc and its debug file's symbols takes
 * tens of milliseconds, and every sample of every process asks again for the same few files.
 * An upgraded file has another inode or mtime. */
struct elf_cache_entry {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	bool symbols;
	struct glibc_elf e;
};

static struct elf_cache_entry elf_cache[8];
static size_t elf_cache_next;

static struct elf_cache_entry *cached(const struct stat *st, bool symbols)
{
	for (size_t i = 0; i < AT_ARRAY_SIZE(elf_cache); i++) {
		struct elf_cache_entry *c = &elf_cache[i];

		if (c->ino == st->st_ino && c->dev == st->st_dev && c->size == st->st_size &&
		    c->mtime.tv_sec == st->st_mtim.tv_sec &&
		    c->mtime.tv_nsec == st->st_mtim.tv_nsec && c->symbols == symbols && c->ino)
			return c;
	}
	return NULL;
}

static int elf_read(const char *path, bool symbols, struct glibc_elf *e);

int glibc_elf_read(const char *path, bool symbols, struct glibc_elf *e)
{
	struct elf_cache_entry *c;
	struct stat st;
	int err;

	if (stat(path, &st))
		return -errno;
	c = cached(&st, symbols);
	if (c) {
		*e = c->e;
		return 0;
	}
	err = elf_read(path, symbols, e);
	if (!err) {
		c = &elf_cache[elf_cache_next++ % AT_ARRAY_SIZE(elf_cache)];
		*c = (struct elf_cache_entry){ st.st_dev,  st.st_ino, st.st_size,
					       st.st_mtim, symbols,   *e };
	}
	return err;
}

static int elf_read(const char *path, bool symbols, struct glibc_elf *e)
{
	char dbg[PATH_MAX];
	GElf_Ehdr eh;
	Elf *elf, *delf;
	struct descs ds = { 0 };
	int fd, dfd, err;

	memset(e, 0, sizeof(*e));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	err = open_elf(path, &fd, &elf);
	if (err)
		return err;
	if (gelf_getehdr(elf, &eh))
		e->is_exec = eh.e_type == ET_EXEC;
	read_segments(elf, e);
	e->version = read_version(elf);
	if (symbols) {
		read_symbols(elf, e, &ds);
		read_descs(elf, &ds, e);
		if (!e->main_arena && !syms_debug_file(path, false, dbg, sizeof(dbg)) &&
		    !open_elf(dbg, &dfd, &delf)) {
			read_symbols(delf, e, NULL);
			elf_end(delf);
			close(dfd);
		}
		if (e->has_tcache_tls)
			read_tpoff_slot(elf, e);
	}
	elf_end(elf);
	close(fd);
	return e->rw_memsz ? 0 : -ENOEXEC;
}

int glibc_elf_symbol(const char *path, const char *name, uint64_t *vaddr)
{
	struct find_arg a = { name, 0 };
	Elf *elf;
	int fd, err;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	err = open_elf(path, &fd, &elf);
	if (err)
		return err;
	each_symbol(elf, on_find, &a);
	elf_end(elf);
	close(fd);
	*vaddr = a.v;
	return a.v ? 0 : -ENOENT;
}
