/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Function symbols of one ELF file (.symtab, else that of its separate debug file found by
 * build-id or .gnu_debuglink as debuginfo.h says, else .dynsym), read with libelf. Addresses
 * are exchanged as file offsets, the unit of uprobes and of the caller offsets the BPF
 * programs report. syms__new returns NULL with errno set; the object is immutable
 * afterwards, but for the symbols syms_lazy_get_debug adds (names handed out stay valid). Objects are
 * shared: syms__new of a file already loaded (same device, inode, size and mtime) returns
 * it again, and syms__free releases one reference. Not thread-safe.
 */
#ifndef AT_SYMS_H
#define AT_SYMS_H

#include "common.h"

struct syms;
struct Elf; /* libelf's */

/* The GNU build-id note of an open ELF file, in lowercase hex (2 characters a byte, NUL
 * ended) in hex: 0, or -ENOENT when it has none that fits. */
int syms_elf_build_id(struct Elf *elf, char *hex, size_t len);

struct syms *syms__new(const char *path);
void syms__free(struct syms *s);
/* The separate debug file of the ELF file at path, when installed (by build-id, else by its
 * .gnu_debuglink, CRC checked: debuginfo.h), else with fetch from a configured debuginfod
 * server (at report time only: it may wait for the network): 0, or a negative errno
 * (-ENOENT: none). For readers of data symbols and DWARF, which struct syms does not keep. */
int syms_debug_file(const char *path, bool fetch, char *out, size_t len);
/* The same for an open ELF file (path: where it is, for its .gnu_debuglink). */
int syms_elf_debug_file(struct Elf *elf, const char *path, bool fetch, char *out, size_t len);
/* Destroys the cached files no one holds (at exit: the cache keeps up to 32 idle ones). */
void syms_cache_clear(void);

/* A file mapped by a process, whose symbols are loaded at the first lookup: through
 * /proc/PID/root (processes in other mount namespaces), else the plain path (the process
 * is gone). A failure is remembered. */
struct syms_lazy {
	char path[256];
	struct syms *syms;
	bool failed;
};

void syms_lazy_init(struct syms_lazy *l, const char *path);
const struct syms *syms_lazy_get(struct syms_lazy *l, int pid);
/* The same, for symbolisation at report time: when the file's symbols are its .dynsym alone
 * (no .symtab, no local debug file) and a debuginfod server is configured, its debug file is
 * fetched by build-id (once) and its .symtab added. */
const struct syms *syms_lazy_get_debug(struct syms_lazy *l, int pid);
void syms_lazy_release(struct syms_lazy *l);

/* Name of the function containing file offset off, or NULL. */
const char *syms_name_at(const struct syms *s, uint64_t off);
/* The same, and off's distance from the function's start in *in_func (may be NULL). */
const char *syms_func_at(const struct syms *s, uint64_t off, uint64_t *in_func);
/* The file's GNU build-id in lowercase hex, or NULL when it has none. */
const char *syms_build_id(const struct syms *s);
/* File offset of the function called name (first definition), or -ENOENT. */
int syms_offset_of(const struct syms *s, const char *name, uint64_t *off);
/* File offset and size of the function called name. */
int syms_func(const struct syms *s, const char *name, uint64_t *off, uint64_t *size);
/* The virtual address (as in .eh_frame) of file offset off. */
int syms_vaddr(const struct syms *s, uint64_t off, uint64_t *vaddr);
/* Calls fn for every function symbol, with its file offset. */
typedef void (*syms_visit_fn)(void *arg, const char *name, uint64_t off);
void syms_each(const struct syms *s, syms_visit_fn fn, void *arg);
/* The file has SystemTap SDT notes (USDT probes). */
bool syms_has_usdt(const struct syms *s);
/* Functions known in the file (0: none, as in a file that is no real library). */
size_t syms_count(const struct syms *s);

#endif
