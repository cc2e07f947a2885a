/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Symbolisation of user addresses for --stacks: the file mapping from /proc/PID/maps (read
 * again by stacks_refresh), the function from that file's symbols (syms, cached per file),
 * C++ and Rust (legacy and v0) names demangled with libiberty. Not thread-safe;
 * stacks__new returns NULL with errno set.
 */
#ifndef AT_STACKS_H
#define AT_STACKS_H

#include "common.h"

struct stacks;

struct stacks *stacks__new(void);
void stacks__free(struct stacks *s);
/* Read pid's mappings; 0 or a negative errno (the process is gone). */
int stacks_refresh(struct stacks *s, int pid);
/* "function+0xoff (file)", "0xaddr (file)" or "0xaddr", for the pid last refreshed. */
void stacks_symbolize(struct stacks *s, uint64_t addr, char *buf, size_t len);
/* A demangled copy of name (C++, Rust), or NULL when it is not mangled; free() it. */
char *stacks_demangle(const char *name);

#endif
