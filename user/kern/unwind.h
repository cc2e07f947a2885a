/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unwind sites of libc's memory-syscall wrappers, so that the BPF programs can find the
 * exact caller of a syscall without a uprobe: for each syscall instruction inside mmap,
 * munmap, mremap, madvise, mprotect, brk, sbrk and syscall(), and for each call from one of
 * those wrappers to another (sbrk -> brk), the file offset of the return PC and the CFA
 * offset from the stack pointer there, read from .eh_frame with libdw. The return address
 * is then at sp + cfa - 8 (x86-64 ABI).
 */
#ifndef AT_UNWIND_H
#define AT_UNWIND_H

#include "common.h"

struct unwind_site {
	uint64_t off; /* file offset of the PC after the syscall or call instruction */
	uint32_t cfa; /* CFA = sp + cfa there */
};

/* Fills out with the sites of the file at path; returns how many, or a negative errno
 * (-ENOENT: the file has none of the wrappers). */
int unwind_sites(const char *path, struct unwind_site *out, size_t max);

#endif
