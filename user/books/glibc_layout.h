/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * glibc malloc's layouts on x86_64, as built in glibc 2.36 (Debian 12's libc6 2.36-9, checked
 * with ptype/o against libc6-dbg's DWARF) and as the sources of glibc-2.36 define them
 * (malloc/malloc.c, malloc/arena.c, nptl/descr.h, sysdeps/x86_64/nptl/tls.h). Only the
 * glibc readers (books/glibc*.c) and their tests include this file. Offsets are in bytes.
 */
#ifndef AT_GLIBC_LAYOUT_H
#define AT_GLIBC_LAYOUT_H

/* struct malloc_chunk: the size word's low bits are flags. */
#define GL_SIZE_SZ 8
#define GL_CHUNK_SIZE_OFF 8
#define GL_CHUNK_FD_OFF 16
#define GL_CHUNK_BK_OFF 24
#define GL_CHUNK_HDR 16 /* chunk2mem */
#define GL_MINSIZE 32
#define GL_ALIGN_MASK 15ull /* MALLOC_ALIGNMENT 16 */
#define GL_PREV_INUSE 1ull
#define GL_IS_MMAPPED 2ull
#define GL_NON_MAIN_ARENA 4ull
#define GL_SIZE_BITS 7ull

/* struct malloc_state (2200 bytes). */
#define GL_MS_MUTEX 0
#define GL_MS_FLAGS 4
#define GL_MS_HAVE_FAST 8
#define GL_MS_FASTBINS 16
#define GL_NFASTBINS 10
#define GL_MS_TOP 96
#define GL_MS_LAST_REMAINDER 104
#define GL_MS_BINS 112
#define GL_NBINS 128 /* bins 1..127: 1 unsorted, 2..63 small, 64..126 large (127 unused) */
#define GL_MS_BINMAP 2144
#define GL_MS_NEXT 2160
#define GL_MS_NEXT_FREE 2168
#define GL_MS_ATTACHED 2176
#define GL_MS_SYSTEM_MEM 2184
#define GL_MS_MAX_SYSTEM_MEM 2192
#define GL_MS_SIZE 2200
#define GL_NONCONTIGUOUS_BIT 2u
#define GL_ARENA_CORRUPTION_BIT 4u
#define GL_NSMALLBINS 64
#define GL_MIN_LARGE_SIZE 1024

/* heap_info (48 bytes) at the start of each non-main heap; the arena's malloc_state follows
 * its first heap's. Heaps are HEAP_MAX_SIZE (64 MiB) long and aligned, unless
 * glibc.malloc.hugetlb=2 makes them 4 huge pages (mp_.hp_pagesize). */
#define GL_HI_AR_PTR 0
#define GL_HI_PREV 8
#define GL_HI_SIZE 16
#define GL_HI_MPROTECT 24
#define GL_HI_PAGESIZE 32
#define GL_HI_SIZEOF 48
#define GL_HEAP_MAX (64ull << 20)

/* struct malloc_par mp_ (136 bytes). */
#define GL_MP_HP_PAGESIZE 48
#define GL_MP_N_MMAPS 60 /* int */
#define GL_MP_MMAPPED_MEM 80
#define GL_MP_SBRK_BASE 96
#define GL_MP_TCACHE_BINS 104
#define GL_MP_TCACHE_COUNT 120
#define GL_MP_SIZE 136

/* tcache_perthread_struct (640 bytes: a 0x290 chunk): uint16_t counts[64], then
 * tcache_entry *entries[64]; an entry is the user pointer of a chunk of size 32 + 16 i,
 * holding next (safe-linked) and key (== tcache_key). */
#define GL_TCACHE_BINS 64
#define GL_TC_COUNTS 0
#define GL_TC_ENTRIES 128
#define GL_TC_SIZE 640
#define GL_TC_CHUNK 0x290
#define GL_TE_NEXT 0
#define GL_TE_KEY 8

/* struct pthread: the thread pointer (fs base) points at it; its tcbhead_t starts with
 * tcb and self, both the struct's own address; tid at 0x2d0. Aligned to 64. */
#define GL_PD_TCB 0
#define GL_PD_SELF 16
#define GL_PD_TID 0x2d0
#define GL_PD_ALIGN 64

/* Safe-linking (glibc 2.32+): a stored next pointer is (its own address >> 12) ^ ptr. */
static inline uint64_t gl_reveal(uint64_t pos, uint64_t stored)
{
	return (pos >> 12) ^ stored;
}

static inline unsigned gl_bin_index(uint64_t sz)
{
	if (sz < GL_MIN_LARGE_SIZE)
		return (unsigned)(sz >> 4);
	if ((sz >> 6) <= 48)
		return 48 + (unsigned)(sz >> 6);
	if ((sz >> 9) <= 20)
		return 91 + (unsigned)(sz >> 9);
	if ((sz >> 12) <= 10)
		return 110 + (unsigned)(sz >> 12);
	if ((sz >> 15) <= 4)
		return 119 + (unsigned)(sz >> 15);
	if ((sz >> 18) <= 2)
		return 124 + (unsigned)(sz >> 18);
	return 126;
}

#endif
