/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Symbolisation of user addresses for --stacks. Per process, the executable file mappings
 * of /proc/PID/maps, as last read by stacks_refresh: kept when the process is gone, so that
 * the stacks of a process can be read at its exit. Per file (shared by every process): the
 * function from its symbols (syms, separate debug files included), C++ and Rust (legacy and
 * v0) names demangled with libiberty, the build-id, and the source file and line from its
 * DWARF or its debug file (libdw's dwfl, opened at the first lookup). Debug files are those
 * syms_debug_file finds, debuginfod's included when configured: the first lookup in a file
 * without a local one may wait for the network (once a file, debuginfo.h). Not
 * thread-safe; stacks__new returns NULL with errno set.
 */
#ifndef AT_STACKS_H
#define AT_STACKS_H

#include "common.h"

struct stacks;

struct stacks *stacks__new(void);
void stacks__free(struct stacks *s);
/* Read pid's mappings again: how many executable file mappings it has, or a negative errno
 * (the process is gone: the mappings read before are kept). */
int stacks_refresh(struct stacks *s, int pid);
/* Forget pid's mappings (its stacks were read, or it exec'd). */
void stacks_forget(struct stacks *s, int pid);
/* An executable file mapping of pid as it exits (the kernel's, identified by the file's
 * device and inode; name: the file's last path component). Gathered until
 * stacks_exit_commit, which makes them pid's mappings when there were any. The file's path
 * is one seen in a mapping read before or noted (stacks_note_file), else its name alone
 * (no symbols then). */
void stacks_exit_vma(struct stacks *s, int pid, uint64_t start, uint64_t end, uint64_t offset,
		     uint32_t dev_major, uint32_t dev_minor, uint64_t ino, const char *name);
void stacks_exit_commit(struct stacks *s, int pid);
/* A file a process may map (an executable), so that its path is known by its inode. */
void stacks_note_file(struct stacks *s, const char *path);

/* One return address, resolved. Strings are "" and line 0 when unknown. */
struct stacks_frame {
	uint64_t offset;	  /* in module */
	uint64_t function_offset; /* from the function's start, when function is known */
	uint32_t line;
	char module[256];
	char build_id[41];
	char function[256];
	char file[256];
};

/* Resolve a return address of pid: 0; -ENOENT when it lies in no executable file mapping
 * (a frame that cannot be trusted: the stack ends there); -ESRCH when pid's mappings were
 * never read. The function and the line are those of the call (the byte before addr). */
int stacks_frame(struct stacks *s, int pid, uint64_t addr, struct stacks_frame *f);
/* Up to *len bytes of the code right before a return address of pid, from the file mapped
 * there (not before the mapping's start), into buf; *len says how many. 0, -ENOENT (in no
 * mapping) or an errno of reading the file. */
int stacks_code_before(struct stacks *s, int pid, uint64_t addr, unsigned char *buf, size_t *len);
/* pid's executable file mappings as last known (read while it lived, or reported at its
 * exit): fn for each whose file can be read, with the file's path and its load bias (start
 * minus the virtual address of the file offset mapped there). 0, or -ESRCH when none were
 * ever had. */
typedef void (*stacks_module_fn)(void *arg, const char *path, uint64_t start, uint64_t end,
				 uint64_t bias);
int stacks_modules(struct stacks *s, int pid, stacks_module_fn fn, void *arg);
/* A demangled copy of name (C++, Rust), or NULL when it is not mangled; free() it. */
char *stacks_demangle(const char *name);

#endif
