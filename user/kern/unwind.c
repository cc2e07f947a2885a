// SPDX-License-Identifier: GPL-2.0-only
#include "unwind.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "syms.h"

#define AT_RSP_DWARF 7

/* glibc's names; aliases at the same address are one function. */
static const char *const wrappers[] = {
	"mmap", "munmap", "mremap", "madvise", "mprotect", "brk", "__brk", "sbrk", "syscall",
};

struct func {
	uint64_t off, size;
};

/* CFA offset from rsp at the instruction at file offset off, or -1. */
static int cfa_at(Dwarf_CFI *cfi, const struct syms *s, uint64_t off)
{
	Dwarf_Frame *frame = NULL;
	Dwarf_Op *ops;
	size_t nops;
	uint64_t vaddr;
	int cfa = -1;

	if (syms_vaddr(s, off, &vaddr) || dwarf_cfi_addrframe(cfi, vaddr, &frame))
		return -1;
	if (!dwarf_frame_cfa(frame, &ops, &nops) && nops == 1) {
		if (ops[0].atom == DW_OP_breg0 + AT_RSP_DWARF)
			cfa = (int)ops[0].number;
		else if (ops[0].atom == DW_OP_bregx && ops[0].number == AT_RSP_DWARF)
			cfa = (int)ops[0].number2;
	}
	free(frame);
	return cfa >= 8 && cfa < 4096 ? cfa : -1;
}

static size_t scan(const unsigned char *code, const struct func *f, const struct func *all,
		   size_t nall, Dwarf_CFI *cfi, const struct syms *s, struct unwind_site *out,
		   size_t n, size_t max)
{
	for (uint64_t i = 0; i + 2 <= f->size && n < max; i++) {
		uint64_t ret = 0;
		int cfa;

		if (code[i] == 0x0f && code[i + 1] == 0x05) {
			ret = f->off + i + 2; /* syscall */
		} else if (code[i] == 0xe8 && i + 5 <= f->size) {
			int32_t rel;
			uint64_t target;

			memcpy(&rel, code + i + 1, 4);
			target = f->off + i + 5 + (uint64_t)(int64_t)rel;
			for (size_t k = 0; k < nall; k++)
				if (all[k].off == target)
					ret = f->off + i + 5; /* a call to another wrapper */
		}
		if (!ret)
			continue;
		/* A byte pair inside another instruction gives a PC no thread ever has:
		 * harmless, its entry is never looked up. */
		cfa = cfa_at(cfi, s, f->off + i);
		if (cfa > 0)
			out[n++] = (struct unwind_site){ .off = ret, .cfa = (uint32_t)cfa };
	}
	return n;
}

int unwind_sites(const char *path, struct unwind_site *out, size_t max)
{
	struct func funcs[AT_ARRAY_SIZE(wrappers)];
	size_t nf = 0, n = 0;
	struct syms *s = syms__new(path);
	Dwarf_CFI *cfi = NULL;
	Elf *elf = NULL;
	int fd = -1, err = 0;

	if (!s)
		return -errno;
	for (size_t i = 0; i < AT_ARRAY_SIZE(wrappers); i++) {
		struct func f;
		bool dup = false;

		if (syms_func(s, wrappers[i], &f.off, &f.size) || !f.size || f.size > 65536)
			continue;
		for (size_t k = 0; k < nf; k++)
			dup |= funcs[k].off == f.off;
		if (!dup)
			funcs[nf++] = f;
	}
	if (!nf) {
		err = -ENOENT;
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	elf = elf_begin(fd, ELF_C_READ, NULL);
	cfi = elf ? dwarf_getcfi_elf(elf) : NULL;
	if (!cfi) {
		err = -ENODATA; /* no .eh_frame */
		goto out;
	}
	for (size_t i = 0; i < nf; i++) {
		unsigned char *code = malloc(funcs[i].size);

		if (!code) {
			err = -ENOMEM;
			goto out;
		}
		if (pread(fd, code, funcs[i].size, (off_t)funcs[i].off) == (ssize_t)funcs[i].size)
			n = scan(code, &funcs[i], funcs, nf, cfi, s, out, n, max);
		free(code);
	}
out:
	if (cfi)
		dwarf_cfi_end(cfi);
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	syms__free(s);
	return err ? err : (int)n;
}
