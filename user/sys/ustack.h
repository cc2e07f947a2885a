/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --unwind dwarf: a user stack unwound from a copy of it and the registers at one moment
 * (struct at_ustack_rec), with the call frame information of the binaries mapped there
 * (.eh_frame, or .debug_frame of a debug file), through libdw's unwinder; where a module
 * has none, libdw's x86-64 backend follows the frame pointer. Per process, libdw's view
 * of its modules is built from /proc/PID/maps at its first sample and kept (at most
 * USTACK_MAX_PROCS processes; the one used longest ago goes first) until ustack_forget.
 * Not thread-safe; ustack__new returns NULL with errno set.
 */
#ifndef AT_USTACK_H
#define AT_USTACK_H

#include "common.h"

#define USTACK_MAX_PROCS 64

struct ustack;

struct ustack *ustack__new(void);
void ustack__free(struct ustack *u);
/* Forget pid's modules: it mapped new code, exec'd or exited. */
void ustack_forget(struct ustack *u, int pid);
/* The return addresses of thread tid of pid, innermost first, from regs (AT_UREG_*; ip is
 * the first) and len bytes of its stack from regs[AT_UREG_SP], into ips (up to max): how
 * many, 1 at least when ip is not 0. *cut is set when unwinding stopped before the stack's
 * outermost frame (the copy ended, or the modules of pid could not be read: the process is
 * gone). */
size_t ustack_unwind(struct ustack *u, int pid, int tid, const uint64_t *regs, const uint8_t *stack,
		     size_t len, uint64_t *ips, size_t max, bool *cut);

#endif
