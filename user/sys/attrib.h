/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Attribution of a syscall to the allocator whose code made it. The BPF record names the
 * file mapping (basename, inode, file offset) that holds the caller: the return address of
 * libc's wrapper, or the syscall instruction when no wrapper was used. Known allocator
 * libraries are recognised by name; in any other file the caller is symbolised, so that an
 * allocator linked statically (je_*, _rjem_*, mi_*, glibc's malloc internals) is still found.
 * Anything else is the application ("app", for the executable) or the library's file name.
 * One object per process; not thread-safe.
 */
#ifndef AT_ATTRIB_H
#define AT_ATTRIB_H

#include "common.h"
#include "arenatrace.h"

struct attrib;

struct attrib *attrib__new(int pid);
void attrib__free(struct attrib *a);
/* Re-read the process's file mappings (after attach, exec, or a miss). */
void attrib_refresh(struct attrib *a);
void attrib_classify(struct attrib *a, const struct at_sys_rec *r, char *name, size_t len,
		     bool *is_allocator);
/* The allocator a library file name stands for, or NULL ("libc.so.6" -> "glibc"). */
const char *attrib_library(const char *basename);
/* The allocator a function name belongs to, or NULL ("je_pages_map" -> "jemalloc"). */
const char *attrib_function(const char *func);

#endif
