// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where jemalloc's globals are in a process: in a mapped file whose symbols name them
 * (a static or prefixed build, or a separate debug file found by build-id or .gnu_debuglink),
 * else, for a libjemalloc build-id in the table below, at the RIP-relative operands of a few
 * instructions of its exported functions, each decoded from the file by a decoder that
 * knows the one form it expects (lea r64, mov r32, cmp r32 with a rip+disp32 operand, or
 * call rel32) and refuses anything else. The file is opened through /proc/PID/map_files
 * (the very inode mapped), else /proc/PID/root/PATH.
 */
#include "jemalloc_priv.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "syms.h"

enum je_glob {
	G_ARENAS,
	G_NARENAS_TOTAL,
	G_NARENAS_AUTO,
	G_EMAP,
	G_SZ_TAB,
	G_BIN_OFFSETS,
	G_BIN_INFOS,
	G_NHBINS,
	G_NR,
};

/* jemalloc's names (after the private namespace prefix, "" or "_rjem_" ...). */
static const char *const glob_names[G_NR] = {
	[G_ARENAS] = "je_arenas",
	[G_NARENAS_AUTO] = "je_narenas_auto",
	[G_EMAP] = "je_arena_emap_global",
	[G_SZ_TAB] = "je_sz_index2size_tab",
	[G_BIN_OFFSETS] = "je_arena_bin_offsets",
	[G_BIN_INFOS] = "je_bin_infos",
	[G_NHBINS] = "je_nhbins",
};

/* The instruction forms the decoder accepts. */
enum x86_form {
	X_LEA,	 /* REX.W 8D /r, mod 00 rm 101: lea r64, [rip + disp32] */
	X_CMP32, /* [REX] 3B /r, mod 00 rm 101: cmp r32, [rip + disp32] */
	X_MOV32, /* 8B 05: mov eax, [rip + disp32] */
	X_CALL,	 /* E8: call rel32 */
};

/* One operand to decode: in function fn, at byte off, of form form; via != NULL: the
 * instruction is a call, and the operand is at via_off of its target. */
struct je_ref {
	enum je_glob g;
	const char *fn;
	uint32_t off;
	enum x86_form form;
	uint32_t via_off;
	enum x86_form via_form;
};

struct je_build {
	const char *build_id;
	const char *what;
	struct je_ref refs[8];
	size_t nrefs;
	/* narenas_total is static in jemalloc.c, no exported code names it: its distance
	 * from je_arenas in that object's .bss; je_narenas_auto's is checked the same way. */
	int64_t narenas_total_delta, narenas_auto_delta;
};

/* Debian 12 libjemalloc2 5.3.0-1 amd64 (/usr/lib/x86_64-linux-gnu/libjemalloc.so.2).
 * Offsets from Debian's libjemalloc_pic.a of the same build (its relocations name each
 * operand); the .so's code is those objects linked, each instruction at the same place. */
static const struct je_build builds[] = {
	{
		.build_id = "1d5163c246dc9cd2b4d339f2ac42efd95c6e0ae1",
		.what = "Debian libjemalloc2 5.3.0-1 amd64",
		.refs = {
			{ G_ARENAS, "mallocx", 0x444, X_LEA },
			{ G_NARENAS_AUTO, "mallocx", 0xe6e, X_CMP32 },
			{ G_EMAP, "malloc_usable_size", 0x218, X_LEA },
			{ G_SZ_TAB, "malloc_usable_size", 0x90, X_LEA },
			{ G_NHBINS, "dallocx", 0x1e5, X_LEA },
			/* dallocx calls je_arena_dalloc_small, which names both. */
			{ G_BIN_OFFSETS, "dallocx", 0x3ef, X_CALL, 0x7e, X_LEA },
			{ G_BIN_INFOS, "dallocx", 0x3ef, X_CALL, 0x115, X_LEA },
		},
		.nrefs = 7,
		.narenas_total_delta = 0x8148,
		.narenas_auto_delta = -0x3c,
	},
};

#define INSN_MAX 8

/* Decodes one instruction of the expected form at vaddr; its rip-relative target. */
static int x86_target(const uint8_t *b, enum x86_form form, uint64_t vaddr, uint64_t *target)
{
	size_t len;
	int32_t disp;

	switch (form) {
	case X_LEA:
		if ((b[0] != 0x48 && b[0] != 0x4c) || b[1] != 0x8d || (b[2] & 0xc7) != 0x05)
			return -EPROTO;
		len = 7;
		break;
	case X_CMP32:
		if ((b[0] == 0x44 || b[0] == 0x40) && b[1] == 0x3b && (b[2] & 0xc7) == 0x05)
			len = 7;
		else if (b[0] == 0x3b && (b[1] & 0xc7) == 0x05)
			len = 6;
		else
			return -EPROTO;
		break;
	case X_MOV32:
		if (b[0] != 0x8b || b[1] != 0x05)
			return -EPROTO;
		len = 6;
		break;
	case X_CALL:
		if (b[0] != 0xe8)
			return -EPROTO;
		len = 5;
		break;
	default:
		return -EPROTO;
	}
	memcpy(&disp, b + len - 4, 4);
	*target = vaddr + len + (uint64_t)(int64_t)disp;
	return 0;
}

struct je_file {
	int fd;
	Elf *elf;
	char build_id[41];
	const char *path;
};

/* The file bytes at virtual address vaddr (from a PT_LOAD that has them in the file). */
static int read_vaddr(struct je_file *f, uint64_t vaddr, void *buf, size_t len)
{
	size_t n;

	if (elf_getphdrnum(f->elf, &n))
		return -EIO;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(f->elf, (int)i, &ph) || ph.p_type != PT_LOAD ||
		    vaddr < ph.p_vaddr || vaddr + len > ph.p_vaddr + ph.p_filesz)
			continue;
		return pread(f->fd, buf, len, (off_t)(vaddr - ph.p_vaddr + ph.p_offset)) ==
				       (ssize_t)len
			       ? 0
			       : -EIO;
	}
	return -EFAULT;
}

static void read_build_id(struct je_file *f)
{
	if (syms_elf_build_id(f->elf, f->build_id, sizeof(f->build_id)))
		f->build_id[0] = 0;
}

/* An object or function symbol of .symtab: its value, size. */
struct sym_hit {
	uint64_t value, size;
	bool found;
};

static void match_sym(const char *name, const GElf_Sym *s, char *prefix, size_t plen,
		      struct sym_hit hits[G_NR + 1])
{
	size_t n = strlen(name);

	/* The prefix comes from je_arenas (4095 pointers), the others must share it. */
	if (!prefix[0] && !hits[G_ARENAS].found && n >= 9 && !strcmp(name + n - 9, "je_arenas") &&
	    s->st_size == JE_ARENA_LIMIT * 8ull && n - 9 < plen) {
		memcpy(prefix, name, n - 9);
		prefix[n - 9] = 0;
		hits[G_ARENAS] = (struct sym_hit){ s->st_value, s->st_size, true };
		return;
	}
	for (int g = 0; g <= G_NR; g++) {
		const char *want = g == G_NR ? "je_narenas_total_get" : glob_names[g];
		size_t pl = strlen(prefix);

		if (!want || hits[g].found || strncmp(name, prefix, pl) || strcmp(name + pl, want))
			continue;
		hits[g] = (struct sym_hit){ s->st_value, s->st_size, true };
	}
}

/* Looks for jemalloc's globals in the .symtab of elf (hits[G_NR]: je_narenas_total_get). */
static bool find_syms(Elf *elf, struct sym_hit hits[G_NR + 1])
{
	char prefix[32] = "";
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	memset(hits, 0, sizeof(*hits) * (G_NR + 1));
	for (int pass = 0; pass < 2; pass++) {
		while ((scn = elf_nextscn(elf, scn))) {
			Elf_Data *data;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize ||
			    !(data = elf_getdata(scn, NULL)))
				continue;
			for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
				GElf_Sym s;
				const char *name;

				if (!gelf_getsym(data, (int)i, &s) || s.st_shndx == SHN_UNDEF ||
				    !(name = elf_strptr(elf, sh.sh_link, s.st_name)))
					continue;
				match_sym(name, &s, prefix, sizeof(prefix), hits);
			}
		}
		/* The prefix may be learnt after names that carry it went by: a second pass. */
		if (!hits[G_ARENAS].found)
			return false;
	}
	return true;
}

/* Whether the file's read-only data holds jemalloc 5.3.0's version string. */
static bool has_version(struct je_file *f)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t shstrndx;

	if (elf_getshdrstrndx(f->elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(f->elf, scn))) {
		const char *name;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(name = elf_strptr(f->elf, shstrndx, sh.sh_name)) || strcmp(name, ".rodata"))
			continue;
		data = elf_getdata(scn, NULL);
		if (data && data->d_buf &&
		    memmem(data->d_buf, data->d_size, JE_VERSION_530, sizeof(JE_VERSION_530)))
			return true;
	}
	return false;
}

/* narenas_total through je_narenas_total_get, whose whole body is "mov eax, [rip+d]; ret". */
static int narenas_total_from_code(struct je_file *f, const struct sym_hit *fn, uint64_t *at)
{
	uint8_t b[INSN_MAX];

	if (!fn->found || fn->size != 7 || read_vaddr(f, fn->value, b, 7) || b[6] != 0xc3)
		return -ENOENT;
	return x86_target(b, X_MOV32, fn->value, at);
}

static int where_from_syms(struct je_file *f, Elf *elf, uint64_t bias, struct books_je_where *w)
{
	struct sym_hit h[G_NR + 1];
	uint64_t v[G_NR] = { 0 };

	if (!find_syms(elf, h))
		return -ENOENT;
	if (!h[G_NARENAS_AUTO].found || !h[G_EMAP].found || !h[G_SZ_TAB].found ||
	    narenas_total_from_code(f, &h[G_NR], &v[G_NARENAS_TOTAL]))
		return -EPROTO;
	for (int g = 0; g < G_NR; g++)
		if (h[g].found)
			v[g] = h[g].value;
	*w = (struct books_je_where){
		.arenas = v[G_ARENAS] + bias,
		.narenas_total = v[G_NARENAS_TOTAL] + bias,
		.narenas_auto = v[G_NARENAS_AUTO] + bias,
		.emap = v[G_EMAP] + bias,
		.sz_tab = v[G_SZ_TAB] + bias,
		.bin_offsets = v[G_BIN_OFFSETS] ? v[G_BIN_OFFSETS] + bias : 0,
		.bin_infos = v[G_BIN_INFOS] ? v[G_BIN_INFOS] + bias : 0,
		.nhbins = v[G_NHBINS] ? v[G_NHBINS] + bias : 0,
	};
	return 0;
}

/* The address (in the file) of exported function fn, from .dynsym. */
static int dynsym(Elf *elf, const char *fn, uint64_t *value, uint64_t *size)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize ||
		    !(data = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *name;

			if (gelf_getsym(data, (int)i, &s) && GELF_ST_TYPE(s.st_info) == STT_FUNC &&
			    s.st_shndx != SHN_UNDEF &&
			    (name = elf_strptr(elf, sh.sh_link, s.st_name)) && !strcmp(name, fn)) {
				*value = s.st_value;
				*size = s.st_size;
				return 0;
			}
		}
	}
	return -ENOENT;
}

/* One reference of a known build: the instruction must be of its form, inside fn. */
static int decode_ref(struct je_file *f, const struct je_ref *r, uint64_t *target)
{
	uint64_t fn, size, at;
	uint8_t b[INSN_MAX];
	int err;

	err = dynsym(f->elf, r->fn, &fn, &size);
	if (err || r->off + INSN_MAX > size)
		return -EPROTO;
	at = fn + r->off;
	if (read_vaddr(f, at, b, sizeof(b)) || x86_target(b, r->form, at, target))
		return -EPROTO;
	if (r->form != X_CALL || !r->via_off)
		return 0;
	at = *target + r->via_off;
	if (read_vaddr(f, at, b, sizeof(b)) || x86_target(b, r->via_form, at, target))
		return -EPROTO;
	return 0;
}

static int where_from_build(struct je_file *f, const struct je_build *bd, uint64_t bias,
			    struct books_je_where *w)
{
	uint64_t v[G_NR] = { 0 };

	for (size_t i = 0; i < bd->nrefs; i++)
		if (decode_ref(f, &bd->refs[i], &v[bd->refs[i].g]))
			return -EPROTO;
	/* One object's .bss: the decoded je_narenas_auto must sit where the build puts it. */
	if (v[G_NARENAS_AUTO] != v[G_ARENAS] + (uint64_t)bd->narenas_auto_delta)
		return -EPROTO;
	*w = (struct books_je_where){
		.arenas = v[G_ARENAS] + bias,
		.narenas_total = v[G_ARENAS] + (uint64_t)bd->narenas_total_delta + bias,
		.narenas_auto = v[G_NARENAS_AUTO] + bias,
		.emap = v[G_EMAP] + bias,
		.sz_tab = v[G_SZ_TAB] + bias,
		.bin_offsets = v[G_BIN_OFFSETS] + bias,
		.bin_infos = v[G_BIN_INFOS] + bias,
		.nhbins = v[G_NHBINS] + bias,
	};
	return 0;
}

/* bias = where the file's first mapping starts less the address its PT_LOAD gives it. */
static int load_bias(struct je_file *f, const struct maps_entry *e, uint64_t *bias)
{
	size_t n;

	if (elf_getphdrnum(f->elf, &n))
		return -EIO;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(f->elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
		    (ph.p_offset & ~(JE_PAGE - 1)) == e->offset) {
			*bias = e->start - (ph.p_vaddr & ~(JE_PAGE - 1));
			return 0;
		}
	}
	return -ENOENT;
}

static int open_mapped(int pid, const struct maps_entry *e)
{
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid,
		 (unsigned long long)e->start, (unsigned long long)e->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	snprintf(path, sizeof(path), "/proc/%d/root%s", pid, e->path);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* Symbols of the separate debug file, when installed (by build-id or .gnu_debuglink). */
static int where_from_debug(struct je_file *f, uint64_t bias, struct books_je_where *w)
{
	char path[PATH_MAX];
	Elf *elf;
	int fd, err;

	if (syms_elf_debug_file(f->elf, f->path, false, path, sizeof(path)))
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	err = elf ? where_from_syms(f, elf, bias, w) : -EIO;
	elf_end(elf);
	close(fd);
	return err;
}

static bool is_libjemalloc(const char *path)
{
	const char *base = strrchr(path, '/');

	return !strncmp(base ? base + 1 : path, "libjemalloc", 11);
}

/* One mapped file: 0 (w filled), -ENOENT (no jemalloc in it) or -EPROTO (why says why). */
static int try_file(struct je_file *f, const struct maps_entry *e, struct books_je_where *w,
		    char *why, size_t why_len)
{
	uint64_t bias;
	int err;

	if (elf_kind(f->elf) != ELF_K_ELF || load_bias(f, e, &bias))
		return -ENOENT;
	read_build_id(f);
	for (size_t i = 0; i < AT_ARRAY_SIZE(builds); i++) {
		if (strcmp(f->build_id, builds[i].build_id))
			continue;
		err = where_from_build(f, &builds[i], bias, w);
		if (err)
			snprintf(why, why_len, "'%s' (%s): its code is not as expected", e->path,
				 builds[i].what);
		else
			snprintf(w->how, sizeof(w->how), "build-id %.12s: code references",
				 f->build_id);
		return err;
	}
	err = where_from_syms(f, f->elf, bias, w);
	if (err == -ENOENT)
		err = where_from_debug(f, bias, w);
	if (!err && !has_version(f)) {
		snprintf(why, why_len, "'%s': jemalloc symbols but not version 5.3.0", e->path);
		return -EPROTO;
	}
	if (!err)
		snprintf(w->how, sizeof(w->how), "symbols (build-id %.12s)", f->build_id);
	else if (err == -EPROTO || is_libjemalloc(e->path))
		snprintf(why, why_len, "'%s' build-id %s: not a known build, no usable symbols",
			 e->path, f->build_id[0] ? f->build_id : "none");
	return err == -ENOENT && is_libjemalloc(e->path) ? -EPROTO : err;
}

int books_jemalloc_locate_fd(int fd, const struct maps_entry *e, struct books_je_where *w,
			     char *why, size_t why_len)
{
	struct je_file f = { .fd = fd, .path = e->path };
	int ret = -ENOENT;

	f.elf = elf_begin(fd, ELF_C_READ, NULL);
	if (f.elf)
		ret = try_file(&f, e, w, why, why_len);
	elf_end(f.elf);
	return ret;
}

struct maps_vec {
	struct maps_entry *v;
	size_t n;
};

/* The first mapping of each file, once. */
static bool first_of_file(const struct maps_vec *m, size_t i)
{
	const struct maps_entry *e = &m->v[i];

	if (!e->path[0] || e->path[0] == '[' || !e->inode)
		return false;
	for (size_t j = 0; j < i; j++)
		if (m->v[j].inode == e->inode && m->v[j].dev_major == e->dev_major &&
		    m->v[j].dev_minor == e->dev_minor)
			return false;
	return true;
}

static int locate_in(int pid, const struct maps_vec *m, struct books_je_where *w, char *why,
		     size_t why_len)
{
	int ret = -ENOENT;

	for (size_t i = 0; i < m->n && ret == -ENOENT; i++) {
		int fd;

		if (!first_of_file(m, i))
			continue;
		fd = open_mapped(pid, &m->v[i]);
		if (fd < 0)
			continue;
		ret = books_jemalloc_locate_fd(fd, &m->v[i], w, why, why_len);
		close(fd);
	}
	if (ret == -ENOENT)
		snprintf(why, why_len, "no jemalloc mapped");
	return ret;
}

static int read_maps(int pid, struct maps_vec *m)
{
	return procfs_read_maps_all(pid, &m->v, &m->n);
}

int books_jemalloc_locate(int pid, struct books_je_where *w, char *why, size_t why_len)
{
	struct maps_vec m;
	int err;

	memset(w, 0, sizeof(*w));
	if (why_len)
		why[0] = 0;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EIO;
	err = read_maps(pid, &m);
	if (err)
		return err;
	err = locate_in(pid, &m, w, why, why_len);
	free(m.v);
	return err;
}

int books_jemalloc_read(struct tmem *t, int pid, struct books *out)
{
	struct books_je_where w;
	struct maps_vec m;
	char why[160];
	int err;

	out->allocator = "jemalloc";
	err = books_jemalloc_locate(pid, &w, why, sizeof(why));
	if (err) {
		if (err == -EPROTO)
			books_partial(out, "jemalloc: %s: refused", why);
		return err;
	}
	err = read_maps(pid, &m);
	if (err)
		return err;
	err = books_jemalloc_read_at(t, &w, m.v, m.n, out, NULL, 0, NULL);
	free(m.v);
	return err;
}
