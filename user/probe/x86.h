/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where a uprobe goes in an x86-64 function, shared by the heap and arena levels: a small
 * decoder of the straight-line start of a function (pushes, register moves, branches),
 * enough to put the probe on an instruction the kernel emulates rather than single-steps.
 * Pure functions of the code bytes, apart from x86_probe_place, which reads them. Also
 * (--stacks) whether code bytes end with a call.
 */
#ifndef AT_X86_H
#define AT_X86_H

#include "common.h"
#include "arenatrace.h"

/* The file offset to probe for the function whose code (len bytes) starts at file offset
 * off and whose first nargs arguments (1 to 3) the probe reads, and in *arg_regs
 * (AT_ARG_REGS) the registers that hold them there. The kernel emulates a jump, call,
 * push or nop but must single-step anything else, a trap that costs ten to thirty times
 * more here. So the probe goes on the first such instruction of the function's
 * straight-line start, provided the instructions before it write neither memory nor rsp,
 * every argument read is still in some register (moves between registers are followed),
 * and no branch in the function lands between the entry and the probe. Otherwise on the
 * entry, with the arguments in rdi, rsi and rdx. */
uint64_t x86_probe_offset(const unsigned char *code, size_t len, uint64_t off, int nargs,
			  uint32_t *arg_regs);

/* For glibc's free, which loads its chunk's size word from ptr - 8 early: the offset of
 * the first instruction the kernel emulates once the word is in a register, or 0. free has
 * no return probe, so the way there may push registers and set up a stack frame, and leave
 * at free(NULL) (test %ptr,%ptr; je); otherwise the rules of x86_probe_offset hold.
 * *arg_regs: the pointer's and the word's registers, with AT_COOKIE_SIZE_WORD. */
uint64_t x86_size_word_offset(const unsigned char *code, size_t len, uint64_t off,
			      uint32_t *arg_regs);

/* x86_probe_offset for the function of size bytes at file offset off in the open file fd
 * (the entry, with the arguments in rdi, rsi and rdx, when the code cannot be read); with
 * size_word, x86_size_word_offset first. */
uint64_t x86_probe_place(int fd, uint64_t off, uint64_t size, int nargs, bool size_word,
			 uint32_t *arg_regs);

/* Whether the len bytes code (those right before a return address) end with a call
 * instruction (call rel32, or call r/m64 in any addressing form): a return address a
 * frame-pointer walk found is to be trusted only then. */
bool x86_after_call(const unsigned char *code, size_t len);

#endif
