/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by the glibc reader's files (glibc.c, glibc_elf.c, glibc_tcache.c) only: the
 * process's mappings as the reader keeps them, what the libc file says, and the tcache
 * search. Not thread-safe; 0 or a negative errno.
 */
#ifndef AT_GLIBC_PRIV_H
#define AT_GLIBC_PRIV_H

#include <limits.h>

#include "glibc.h"

enum gl_map_kind {
	GM_ANON = 0,  /* private, no file */
	GM_HEAP = 1,  /* [heap] */
	GM_OTHER = 2, /* a file, shared memory, [stack], [vdso]... */
};

struct gl_map {
	uint64_t start, end;
	uint8_t prot; /* PROT_* */
	uint8_t kind; /* enum gl_map_kind */
};

/* The mappings, in address order, and the two files the reader may need. */
struct gl_maps {
	struct gl_map *v;
	size_t n, cap;
	char libc[PATH_MAX], exe[PATH_MAX]; /* paths as maps names them ("" when absent) */
	uint64_t libc_base, exe_base;	    /* where each file's offset 0 is mapped */
	uint64_t libc_end, exe_end;	    /* and where that mapping ends */
	char ld[PATH_MAX];		    /* ld.so, which keeps the lists of threads */
	uint64_t ld_base, ld_end;
	bool truncated;
};

/* What the libc file (or a static executable) says; addresses are the ELF's own. */
struct glibc_elf {
	uint64_t first_vaddr;	     /* page-aligned address of the segment at file offset 0 */
	uint64_t rw_vaddr, rw_memsz; /* the writable PT_LOAD: .data, .bss */
	uint64_t tls_memsz, tls_align;
	int version;					 /* 2.N: N, or -1 */
	bool is_exec;					 /* ET_EXEC */
	uint64_t main_arena, mp, tcache_key, tcache_tls; /* symbols, 0 when absent */
	bool has_tcache_tls;
	uint64_t tcache_got; /* the GOT slot that ld.so fills with tcache's tpoff; 0: none */
	/* libthread_db's descriptors (exported for debuggers, no debug file needed): offsets of
	 * struct pthread's tid and list, and of the thread lists in _rtld_global. 0: absent. */
	uint32_t pd_tid, pd_list, rtld_stack_used, rtld_stack_user;
	uint64_t dl_stack_used, dl_stack_user; /* a static executable's own list heads */
};

/* Where the threads' struct pthread can be found: the heads of glibc's two thread lists
 * (GL(dl_stack_used): stacks glibc mapped; GL(dl_stack_user): the main thread and user
 * stacks; 0 when unknown), the offset of list_t in struct pthread and of its tid. */
struct gl_threads {
	uint64_t heads[2];
	uint64_t list_off, tid_off;
};

/* Reads path's segments, version banner and (when symbols) its data symbols, from the file
 * or its build-id debug file. */
int glibc_elf_read(const char *path, bool symbols, struct glibc_elf *e);
/* The address (the ELF's own) of the data symbol name in path's .dynsym or .symtab. */
int glibc_elf_symbol(const char *path, const char *name, uint64_t *vaddr);

int gl_maps_read(int pid, struct gl_maps *m);
void gl_maps_release(struct gl_maps *m);
/* The mapping holding addr, or NULL. */
const struct gl_map *gl_maps_find(const struct gl_maps *m, uint64_t addr);

/*
 * Each thread's tcache (glibc_tcache.c): the threads' struct pthread taken from glibc's
 * thread lists, else found by their self pointers and tids; tcache read at tpoff from each,
 * walked against mem (the memory of every arena reached). Adds the tcache bytes and counts
 * to *bytes, *chunks and *threads (threads whose tcache was read, empty ones included);
 * marks w partial for threads not reached.
 */
int glibc_read_tcaches(struct glibc_walk *w, int pid, const struct gl_maps *maps,
		       const struct gl_threads *th, int64_t tpoff,
		       const struct glibc_tcache_params *p, const struct glibc_mem *mem,
		       uint64_t *bytes, uint64_t *chunks, uint64_t *threads);

#endif
