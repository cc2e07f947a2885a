/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The heap level in user space: find every allocator a process uses (shared libraries,
 * preloaded ones, allocators linked statically into the executable or a library, found by
 * their symbols) and attach the heap probes to its malloc/free family, for that process
 * only. Then read the per-process counters back. One object per run; not thread-safe.
 * Functions return 0 or a negative errno; heap__new returns NULL with errno set.
 */
#ifndef AT_HEAP_H
#define AT_HEAP_H

#include "common.h"
#include "arenatrace.h"
#include "loader.h"

struct heap;

/* all (-a): each file's probes are attached once, for every process. */
struct heap *heap__new(struct loader *l, bool all);
void heap__free(struct heap *h);

/* Probe every allocator pid maps now: a running process, or one that just exec'd. */
int heap_attach_running(struct heap *h, int pid);
/* Probe, before it execs, every allocator the command may map: libc, the allocator
 * libraries installed in the usual directories, LD_PRELOAD, and the executable itself. */
int heap_attach_launch(struct heap *h, int pid, const char *exe);

/* The counters of each allocator instance of pid (of every probed process when pid is 0).
 * basis: "usable" (glibc, jemalloc: the allocator's size for each block) or "requested"
 * (mimalloc). live_threads: add the counters of threads still running (read now);
 * without it, only those of exited threads (all of them, for a process that exited). */
typedef void (*heap_visit_fn)(void *arg, int pid, const char *name, const char *basis,
			      const struct at_heap_stats *s);
void heap_read(struct heap *h, int pid, bool live_threads, heap_visit_fn fn, void *arg);
/* Calls fn for each process with heap probes. */
void heap_for_each_pid(struct heap *h, void (*fn)(void *arg, int pid), void *arg);
/* pid exited: its probes and counters go. */
void heap_forget(struct heap *h, int pid);

/* The file offset to probe for the function whose code (len bytes) starts at file offset
 * off and whose first nargs arguments (1 to 3) the probe reads, and in *arg_regs
 * (AT_ARG_REGS) the registers that hold them there. The kernel emulates a jump, call,
 * push or nop but must single-step anything else, a trap that costs ten to thirty times
 * more here. So the probe goes on the first such instruction of the function's
 * straight-line start, provided the instructions before it write neither memory nor rsp,
 * every argument read is still in some register (moves between registers are followed),
 * and no branch in the function lands between the entry and the probe. Otherwise on the
 * entry, with the arguments in rdi, rsi and rdx. */
uint64_t heap_probe_offset(const unsigned char *code, size_t len, uint64_t off, int nargs,
			   uint32_t *arg_regs);

/* For glibc's free, which loads its chunk's size word from ptr - 8 early: the offset of
 * the first instruction the kernel emulates once the word is in a register, or 0. free has
 * no return probe, so the way there may push registers and set up a stack frame, and leave
 * at free(NULL) (test %ptr,%ptr; je); otherwise the rules of heap_probe_offset hold.
 * *arg_regs: the pointer's and the word's registers, with AT_COOKIE_SIZE_WORD. */
uint64_t heap_size_word_offset(const unsigned char *code, size_t len, uint64_t off,
			       uint32_t *arg_regs);

/* heap_probe_offset for the function of size bytes at file offset off in the open file fd
 * (the entry, with the arguments in rdi, rsi and rdx, when the code cannot be read); with
 * size_word, heap_size_word_offset first. */
uint64_t heap_probe_place(int fd, uint64_t off, uint64_t size, int nargs, bool size_word,
			  uint32_t *arg_regs);

#endif
