/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by books/jemalloc*.c only: jemalloc 5.3.0's layouts on x86_64 (LG_PAGE 12,
 * LG_VADDR 48, no debug build: mutexes of 112 bytes), as in its source (arena_structs.h,
 * pa.h, pac.h, ecache.h, eset.h, base_structs.h, bin.h, edata.h, rtree.h, cache_bin.h)
 * and checked against the DWARF of a build of Debian's 5.3.0-1 source with Debian's
 * configure options; docs/attach-jemalloc.md lists them. Only offsets that a structural
 * check pins (or that lie between pinned ones) are used.
 */
#ifndef AT_BOOKS_JEMALLOC_PRIV_H
#define AT_BOOKS_JEMALLOC_PRIV_H

#include "jemalloc.h"

#define JE_VERSION_530 "5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c"

#define JE_PAGE 4096ull
#define JE_VADDR_BITS 48
#define JE_ARENA_LIMIT 4095u /* MALLOCX_ARENA_LIMIT: je_arenas[] entries */
#define JE_NSIZES 232	     /* SC_NSIZES */
#define JE_NBINS 36	     /* SC_NBINS */
#define JE_NLARGE (JE_NSIZES - JE_NBINS)
#define JE_BIN_SHARDS_MAX 64

/* arena_t */
#define JE_A_STATS_INTERNAL 0x38 /* stats.internal (atomic size_t) */
#define JE_A_PA_SHARD_STATS 0x70 /* stats.pa_shard_stats */
#define JE_A_PAC_STATS 0x78	 /* stats.pa_shard_stats.pac_stats */
#define JE_A_PAC_MAPPED 0xb0	 /* stats.pa_shard_stats.pac_stats.pac_mapped */
#define JE_A_LSTATS 0x3d0	 /* stats.lstats[196], 48 bytes each: nmalloc, ndalloc */
#define JE_LSTATS_SIZE 48
#define JE_A_DESC_QL 0x28a0	 /* cache_bin_array_descriptor_ql.qlh_first */
#define JE_A_NACTIVE 0x29a0	 /* pa_shard.nactive */
#define JE_A_ECACHE_DIRTY 0x29e8 /* pa_shard.pac.ecache_dirty */
#define JE_A_ECACHE_MUZZY 0x75d8
#define JE_A_ECACHE_RETAINED 0xc1c8
#define JE_A_PAC_BASE 0x10db8 /* pa_shard.pac.base */
#define JE_A_PAC_EMAP 0x10dc0
#define JE_A_PAC_EDATA_CACHE 0x10dc8
#define JE_A_PAC_STATS_MTX 0x11cb8 /* NULL where 64-bit atomics exist */
#define JE_A_PAC_STATS_PTR 0x11cc0
#define JE_A_EDATA_CACHE 0x13398 /* pa_shard.edata_cache */
#define JE_A_SHARD_IND 0x13428
#define JE_A_SHARD_STATS 0x13438
#define JE_A_SHARD_EMAP 0x13440
#define JE_A_SHARD_BASE 0x13448
#define JE_A_IND 0x13450
#define JE_A_BASE 0x13458
#define JE_ARENA_SIZE 0x13468	      /* sizeof(arena_t): bins[] follow */
#define JE_A_TAIL_START JE_A_PAC_BASE /* one read covers the pointers from here */
#define JE_A_TAIL_LEN (JE_ARENA_SIZE - JE_A_TAIL_START)

/* ecache_t: eset (npages at +9640 of an eset), guarded_eset, state, ind */
#define JE_EC_NPAGES 0x2618	    /* 112 + 9640 */
#define JE_EC_GUARDED_NPAGES 0x4bd0 /* 9768 + 9640 */
#define JE_EC_STATE 0x4be0
#define JE_EC_IND 0x4be4

/* bin_t (224 bytes): stats.curregs, stats.curslabs, slabcur */
#define JE_BIN_SIZE 224
#define JE_BIN_CURREGS 136
#define JE_BIN_CURSLABS 176
/* bin_info_t (40 bytes): reg_size, slab_size, nregs, n_shards */
#define JE_BI_SIZE 40
#define JE_BI_NREGS 16
#define JE_BI_NSHARDS 20

/* base_t: ehooks.ind, blocks, allocated, resident, mapped; base_block_t: size, next */
#define JE_B_IND 0
#define JE_B_BLOCKS 160
#define JE_B_ALLOCATED 3880
#define JE_B_RESIDENT 3888
#define JE_B_MAPPED 3896
#define JE_BLOCK_HEADER 192 /* sizeof(base_block_t) 144, to the cache line: where base_t is */

/* emap_t = rtree_t: base, init_lock, root[1 << 18] of leaf pointers */
#define JE_RT_BASE 0
#define JE_RT_ROOT 0x78
#define JE_RT_BITS 18

/* edata_t: e_bits (arena 0-11, slab 12, state 17-19, szind 20-27), e_addr, e_size_esn */
#define JE_EDATA_ALIGN 128
#define JE_E_BITS 0
#define JE_E_ADDR 8
#define JE_E_SIZE 16

/* cache_bin_array_descriptor_t: link.next, link.prev, bins; cache_bin_t (24 bytes) */
#define JE_DESC_BINS 16
#define JE_CB_SIZE 24
#define JE_CB_LOW_BITS_FULL 18
#define JE_CB_LOW_BITS_EMPTY 20

/* The extent states (extent_state_t) and their order in ecache_t's arena copies. */
enum { JE_ST_ACTIVE = 0, JE_ST_DIRTY = 1, JE_ST_MUZZY = 2, JE_ST_RETAINED = 3 };

/* Walk bounds: what happens at each is a partial read with its reason. */
#define JE_MAX_BASE_BLOCKS 4096		 /* per base: blocks grow geometrically */
#define JE_MAX_ALL_BASE_BLOCKS 65536	 /* over every base */
#define JE_MAX_TCACHES 65536		 /* per arena: one per thread that used it */
#define JE_MAX_EXTENTS (1u << 20)	 /* extents seen in the radix tree, in all */
#define JE_MAX_BAD_EXTENTS 4096		 /* leaf elements that did not validate, in all */
#define JE_MAX_RTREE_BYTES (64ull << 20) /* leaf bytes read, in all */

/* jemalloc's size classes for LG_QUANTUM 4, LG_PAGE 12 (sz_index2size_tab). */
uint64_t je_index2size(unsigned ind);

/* The ranges: base blocks of every base, extents through the radix tree. */
struct je_ctx {
	struct tmem *t;
	const struct books_je_where *w;
	uint64_t (*anon)[2]; /* the private anonymous mappings, adjacent ones merged */
	size_t nanon;
	bool have_maps;
	struct books *out;
	uint32_t narenas;
	uint64_t bases[JE_ARENA_LIMIT]; /* distinct */
	size_t nbases;
	size_t nblocks; /* base blocks walked, over every base */
};

int je_read_ranges(struct je_ctx *c);
/* The anonymous mappings of maps, in c. */
int je_set_maps(struct je_ctx *c, const struct maps_entry *maps, size_t nmaps);
void je_ctx_release(struct je_ctx *c);
/* Whether [start, end) lies inside one run of anonymous mappings (true without maps). */
bool je_in_anon(const struct je_ctx *c, uint64_t start, uint64_t end);
/* Reads the target: inside anonymous mappings a page never touched reads as zeros
 * (tmem_read_anon), elsewhere only present pages are read. */
int je_read_mem(struct je_ctx *c, uint64_t addr, void *buf, size_t len);

#endif
