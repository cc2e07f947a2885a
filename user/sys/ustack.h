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

struct stacks;
/* stacks: the mappings of processes gone before their samples were unwound (or NULL). */
struct ustack *ustack__new(struct stacks *stacks);
void ustack__free(struct ustack *u);
/* Forget pid's modules: it exec'd or exited. */
void ustack_forget(struct ustack *u, int pid);
/* pid mapped new code: its maps are read again at its next sample, the modules it had
 * kept with what libdw read of them. */
void ustack_stale(struct ustack *u, int pid);
/* The return addresses of thread tid of pid, innermost first, from regs (AT_UREG_*; ip is
 * the first) and len bytes of its stack from regs[AT_UREG_SP], into ips (up to max): how
 * many. When pid's maps cannot be read (it is gone), *gone is set and: without gone_ok, 0;
 * with it, the mappings stacks last knew of pid serve (reported at its exit, or read while
 * it lived), or else ip alone. */
size_t ustack_unwind(struct ustack *u, int pid, int tid, const uint64_t *regs, const uint8_t *stack,
		     size_t len, uint64_t *ips, size_t max, bool gone_ok, bool *gone);

#endif
