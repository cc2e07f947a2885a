/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ABI shared by the BPF programs and user space: record layouts, keys, limits and drop
 * reasons. Fixed-width types only; this header includes nothing and compiles after either
 * vmlinux.h or <linux/types.h>. Bump AT_ABI_VERSION whenever a layout changes; user/
 * asserts sizes and offsets at compile time.
 */
#ifndef ARENATRACE_H
#define ARENATRACE_H

#define AT_ABI_VERSION 15

/* Default capacities; user space may override them before load (-C key=value). */
#define AT_DEF_MAX_PROCS 8192
#define AT_DEF_CODE_CACHE 16384
#define AT_DEF_RINGBUF_BYTES (16u << 20)
#define AT_DEF_MAX_SITES 4096
#define AT_DEF_HEAP_STATS 16384	    /* (process, allocator) pairs with heap counters */
#define AT_DEF_HEAP_LIVE (1u << 20) /* live blocks of allocators without a size header */
#define AT_HIST_SLOTS 48	    /* log2 buckets of requested sizes */
#define AT_MAX_HEAP_IDS 64	    /* allocator instances (ids 1..64) in one run */
#define AT_DEF_STACKS 16384	    /* distinct allocation stacks kept (--stacks) */
#define AT_STACK_DEPTH 32	    /* frames kept per stack */
#define AT_DEF_ARENA_CHUNKS 65536   /* arena chunks watched for their free at the heap level */
#define AT_ARENA_NEST 4		    /* nested arena calls followed per thread */
#define AT_MAX_COMM_FILTERS 64	    /* -a --comm names */
/* Frames unwound through wrappers (syscall in __brk <- sbrk <- caller is two). */
#define AT_MAX_UNWIND 3

/* Compile-time layout checks beside the types, in BPF and user space alike (offsetof
 * without <stddef.h>). */
#define AT_OFFSET(type, field) __builtin_offsetof(type, field)
#define AT_LAYOUT(cond, what) _Static_assert(cond, what)

/* Record type tags: every ring buffer record starts with a struct at_rec_hdr. */
enum at_rec_type {
	AT_REC_SYSCALL = 1,
	AT_REC_PROC = 2,
	AT_REC_ARENA = 3,
	AT_REC_VMA = 4,		/* --stacks: an executable file mapping of a process at its exit */
	AT_REC_USTACK = 5,	/* --unwind dwarf: a sampled allocation's registers and stack */
	AT_REC_USTACK_FREE = 6, /* --unwind dwarf: the free of a sampled block */
};

struct at_rec_hdr {
	__u32 type;  /* enum at_rec_type */
	__u32 kind;  /* SYSCALL: enum at_sys; PROC: enum at_proc_kind; ARENA: enum at_arena_kind */
	__u32 pid;   /* tgid */
	__u32 tid;   /* the thread that made the call; PROC: the task that forked, exec'd, exited */
	__u64 ts_ns; /* CLOCK_MONOTONIC */
};
AT_LAYOUT(sizeof(struct at_rec_hdr) == 24, "at_rec_hdr layout");

/* The memory syscalls traced at the os level. */
enum at_sys {
	AT_SYS_MMAP = 0,
	AT_SYS_MUNMAP = 1,
	AT_SYS_MREMAP = 2,
	AT_SYS_BRK = 3,
	AT_SYS_MADVISE = 4,
	AT_SYS_MPROTECT = 5,
	AT_SYS_PROCESS_MADVISE = 6,
	AT_SYS_NR = 7,
};

/* How the caller address of a syscall record was found. */
enum at_caller_kind {
	AT_CALLER_IP = 0,	  /* not issued by a known wrapper: the syscall instruction */
	AT_CALLER_WRAPPER = 1,	  /* return address of the libc wrapper that issued it */
	AT_CALLER_UNRESOLVED = 2, /* the kernel could not look the address up (its mm lock
				   * was taken by another thread): caller is the address alone */
};

/* An unwind site: the PC after a syscall or call instruction inside a libc wrapper, as a
 * file offset, and the CFA offset from the stack pointer there (from .eh_frame). The return
 * address is at sp + cfa - 8. Keyed by inode only: a file seen through overlayfs has another
 * st_dev in user space than in the kernel's mapping. */
struct at_site_key {
	__u64 ino;
	__u64 off;
};

struct at_site {
	__u32 cfa;
	__u32 pad;
};
AT_LAYOUT(sizeof(struct at_site_key) == 16 && sizeof(struct at_site) == 8, "site layout");

/* Why data was lost; index into the stats counters. */
enum at_drop {
	AT_DROP_RINGBUF_FULL = 0,      /* ring buffer reservation failed: event lost */
	AT_DROP_PROCS_FULL = 1,	       /* traced-process map full: child not followed */
	AT_DROP_HEAP_STATS_FULL = 2,   /* heap counter map full: a call not counted */
	AT_DROP_HEAP_LIVE_FULL = 3,    /* live-pointer map full: its free will not find the size */
	AT_DROP_STACK_ID = 4,	       /* --stacks: the stack could not be recorded (map full) */
	AT_DROP_ARENA_CHUNKS_FULL = 5, /* chunk-watch map full: that chunk's free is not seen */
	AT_DROP_ARENA_NEST = 6,	       /* arena calls nested too deep: a return not recorded */
	AT_DROP_USTACK = 7,    /* --unwind dwarf: a sample's stack could not be read (unwound as
			     * far as its registers go: its first frame) */
	AT_DROP_EXIT_VMAS = 8, /* --stacks: an exiting process's code mappings could not be
				* read (its mm locked): its stacks resolve with those read last */
	AT_DROP_NR = 9,
};

enum at_proc_kind {
	AT_PROC_FORK = 1,
	AT_PROC_EXEC = 2,
	AT_PROC_EXIT = 3,
	AT_PROC_NR = 4,
};

/* Value of the traced-process map. gen changes whenever code may have moved (exec, a new
 * executable mapping), which invalidates the code-location cache of that process. */
#define AT_TRACE_FOLLOW_FORK 0x1u
/* The process had blocks before it was traced (-p, -a, a forked child): glibc's blocks go
 * into the live-block table too, so that the free of an older block is told apart (counted
 * in unmatched_free, not subtracted from live). Cleared at exec. */
#define AT_TRACE_OLD_BLOCKS 0x2u

struct at_traced {
	__u32 flags;
	__u32 gen;
};
AT_LAYOUT(sizeof(struct at_traced) == 8, "at_traced layout");

/* A memory syscall, emitted at sys_exit with its arguments (still in the saved user
 * registers there) and its result. */
struct at_sys_rec {
	struct at_rec_hdr hdr; /* AT_REC_SYSCALL, kind: enum at_sys; ts_ns at sys_exit */
	__u64 caller;
	__u64 ip; /* user instruction pointer at the syscall */
	__u64 args[6];
	__s64 ret;
	__u32 caller_kind; /* enum at_caller_kind */
	__u32 pad;
	/* The file mapping that holds the caller (resolved in the kernel, so that records of
	 * processes that have already exited can still be attributed). ino 0: anonymous code
	 * or no mapping. */
	__u64 caller_ino;
	__u64 caller_off;     /* file offset of the caller address */
	char caller_file[32]; /* basename of the mapped file */
};
AT_LAYOUT(sizeof(struct at_sys_rec) == 152, "at_sys_rec layout");
AT_LAYOUT(AT_OFFSET(struct at_sys_rec, args) == 40, "at_sys_rec.args offset");
AT_LAYOUT(AT_OFFSET(struct at_sys_rec, caller_ino) == 104, "at_sys_rec.caller_ino offset");
AT_LAYOUT(AT_OFFSET(struct at_sys_rec, caller_file) == 120, "at_sys_rec.caller_file offset");

/* Fork, exec or exit of a traced process. */
struct at_proc_rec {
	struct at_rec_hdr hdr; /* AT_REC_PROC, kind: enum at_proc_kind */
	__u32 ppid;
	__u32 pad;
	char comm[16];
};
AT_LAYOUT(sizeof(struct at_proc_rec) == 48, "at_proc_rec layout");

/* --stacks: the executable file mappings of a process as it exits, sent just before its
 * exit record (the kernel still has its mm at sched_process_exit since 6.16), so that its
 * stacks can be resolved once it is gone. At most AT_EXIT_VMAS (frames in the others are
 * then cut, as in no mapping); none when the mm is gone (older kernels) or its lock is
 * taken (user space then uses the mappings it read last). Not shown in --ndjson. */
#define AT_EXIT_VMAS 256
struct at_vma_rec {
	struct at_rec_hdr hdr; /* AT_REC_VMA, kind 0 */
	__u64 start;
	__u64 end;
	__u64 offset; /* the file offset of start */
	__u64 ino;
	__u32 dev_major;
	__u32 dev_minor;
	char name[64]; /* the file's last path component */
};
AT_LAYOUT(sizeof(struct at_vma_rec) == 128, "at_vma_rec layout");

/* Where a code address lies: its file mapping and, for a wrapper's unwind site, the CFA
 * offset (0 for any other address). Cached per process and generation. */
struct at_code_key {
	__u32 tgid;
	__u32 gen;
	__u64 addr;
};

struct at_code {
	__u64 ino;
	__u64 off;
	__u32 cfa;
	__u32 pad;
	char name[32];
};
AT_LAYOUT(sizeof(struct at_code) == 56 && sizeof(struct at_code_key) == 16, "code layout");

/* Heap level. A probe's attach cookie says which allocator instance (an id chosen by user
 * space), which function role, how sizes are known, and in which registers the first three
 * arguments are at the probed instruction (x86 numbers: the probe may sit past the entry,
 * after the function copied an argument elsewhere):
 *   bits 0-7 role, 8-11 size mode, 12-23 registers of arguments 1-3, 32-63 allocator id. */
enum at_heap_role {
	AT_ROLE_MALLOC = 1,	    /* (size) -> ptr; also calloc-like zalloc, operator new */
	AT_ROLE_CALLOC = 2,	    /* (n, size) -> ptr */
	AT_ROLE_REALLOC = 3,	    /* (ptr, size) -> ptr; also rallocx (ptr, size, flags) */
	AT_ROLE_MEMALIGN = 4,	    /* (align, size) -> ptr: memalign, aligned_alloc */
	AT_ROLE_POSIX_MEMALIGN = 5, /* (ptr *, align, size) -> int */
	AT_ROLE_VALLOC = 6,	    /* (size) -> ptr, page aligned */
	AT_ROLE_PVALLOC = 7,	    /* (size) -> ptr, size rounded up to pages */
	AT_ROLE_FREE = 8,	    /* (ptr): free, dallocx, sdallocx, operator delete */
	AT_ROLE_XALLOCX = 9,	    /* (ptr, size, extra, flags) -> new usable size, in place */
	AT_ROLE_ALIGNED = 10,	    /* (size, align) -> ptr: mi_malloc_aligned */
	AT_ROLE_HEAP_MALLOC = 11,   /* (heap, size) -> ptr: mi_heap_malloc, mi_heap_zalloc */
	AT_ROLE_HEAP_CALLOC = 12,   /* (heap, n, size) -> ptr */
	AT_ROLE_HEAP_REALLOC = 13,  /* (heap, ptr, size) -> ptr */
	AT_ROLE_MALLOCX = 14,	    /* (size, flags) -> ptr: jemalloc, flags carry the alignment */
	AT_ROLE_DELETE = 15,	    /* (ptr): a free that may call free inside (operator delete) */
	AT_ROLE_QUIET = 16, /* the allocator's own clean-up, calling free on blocks the program
			     * freed already (glibc's tcache flush at thread exit): nothing in
			     * it counts */
};

enum at_heap_size_mode {
	AT_SIZE_GLIBC = 1,    /* usable size from the chunk header at ptr - 8 */
	AT_SIZE_JEMALLOC = 2, /* jemalloc's size class of the request, kept until free */
	AT_SIZE_REQUEST = 3,  /* the requested size, kept until free */
};

#define AT_REG_RDI 7
#define AT_REG_RSI 6
#define AT_REG_RDX 2
#define AT_ARG_REGS(r1, r2, r3) (((r1) << 12) | ((r2) << 16) | ((r3) << 20))
#define AT_COOKIE(alloc, mode, role, regs)                                                         \
	(((__u64)(alloc) << 32) | (regs) | ((mode) << 8) | (role))
#define AT_COOKIE_ROLE(c) ((__u32)(c)&0xff)
#define AT_COOKIE_MODE(c) ((__u32)((c) >> 8) & 0xf)
#define AT_COOKIE_ARG_REGS(c) ((__u32)((c) >> 12) & 0xfff) /* 4 bits per argument */
#define AT_COOKIE_ALLOC(c) ((__u32)((c) >> 32))
/* free in glibc mode: the second register of AT_ARG_REGS holds the chunk's size word, which
 * the function has loaded from ptr - 8 before the probe point. */
#define AT_COOKIE_SIZE_WORD (1u << 24)

struct at_heap_key {
	__u32 tgid;
	__u32 alloc;
};

/* Per process and allocator instance, per CPU (user space sums the CPUs). */
struct at_heap_stats {
	__u64 alloc_count;
	__u64 free_count;
	__u64 alloc_bytes;
	__u64 free_bytes;
	__u64 unmatched_free; /* frees of pointers the map did not know (allocated before attach) */
	__u64 hist[AT_HIST_SLOTS]; /* slot k: requested sizes in [2^k, 2^(k+1)), slot 0: 0 and 1 */
};

struct at_live_key {
	__u32 tgid;
	__u32 pad;
	__u64 ptr;
};

/* A thread's own heap counters, for up to AT_THREAD_SLOTS allocator instances: the hot path
 * adds to them without a map lookup or an atomic. They are folded into the per-process map
 * when the thread exits; a task iterator reads those of live threads for each report. */
#define AT_THREAD_SLOTS 2

struct at_thread_counts {
	__u32 alloc; /* 0: free slot */
	__u32 tgid;
	struct at_heap_stats s;
};
AT_LAYOUT(sizeof(struct at_thread_counts) == 8 + sizeof(struct at_heap_stats),
	  "at_thread_counts layout");

struct at_heap_thread {
	__u32 depth; /* nesting of allocator calls: only the outermost counts */
	__u32 table; /* glibc blocks in the live-block table: 0 not looked up yet, 1 no, 2 yes */
	__u64 cookie;
	__u64 a0, a1, a2;
	__u64 old_size; /* realloc in glibc mode: the old chunk's size, read before it goes */
	struct at_thread_counts slot[AT_THREAD_SLOTS];
};

/*
 * Live blocks of allocators that keep no size header (jemalloc, mimalloc; every allocator
 * with --stacks): a table of buckets of AT_LIVE_WAYS slots, one cache line each, in an
 * array map (heap_table), so that the hot path makes no map helper call. A block goes into
 * a free slot of its bucket; when all are taken, into the overflow hash map heap_live.
 *
 * A slot is named by a tag that, with the bucket index, determines (tgid, ptr): ptr >> 3
 * (user pointers are below 2^47 and 8-byte aligned; others go to the overflow map) is mixed
 * by a bijection h on 44 bits; the bucket is the low bits of h ^ mix(tgid), the tag holds
 * the rest of h and the tgid (below 2^22) above it, so it is never 0 (a free slot).
 */
#define AT_LIVE_WAYS 4
#define AT_LIVE_PTR_BITS 44
#define AT_LIVE_MUL 0x9e3779b97f4a7c15ull
#define AT_LIVE_MUL_INV 0x3e19937733dull /* AT_LIVE_MUL's inverse modulo 2^44 */
#define AT_LIVE_MASK ((1ull << AT_LIVE_PTR_BITS) - 1)

/* The bijection h of ptr >> 3 (xor-shift, odd multiply, xor-shift on 44 bits), so that
 * blocks of one size class, equal in their low bits, still spread over the buckets; and its
 * inverse, for user space reading the table back. */
static inline __u64 at_live_mix(__u64 ptr)
{
	__u64 h = ptr >> 3;

	h ^= h >> 22;
	h = (h * AT_LIVE_MUL) & AT_LIVE_MASK;
	return h ^ (h >> 22);
}

static inline __u64 at_live_unmix(__u64 h)
{
	h ^= h >> 22;
	h = (h * AT_LIVE_MUL_INV) & AT_LIVE_MASK;
	return (h ^ (h >> 22)) << 3;
}

/* The bucket of mix h for tgid, in a table of 2^bits buckets. */
#define AT_LIVE_BUCKET(h, tgid, bits)                                                              \
	((__u32)(((h) ^ ((__u64)(tgid)*0x85ebca6bull)) & ((1ull << (bits)) - 1)))
/* The tgid of a slot's tag, in a table of 2^bucket_bits buckets. */
#define AT_LIVE_TAG_TGID(tag, bucket_bits) ((__u32)((tag) >> (AT_LIVE_PTR_BITS - (bucket_bits))))

struct at_live_slot {
	__u64 tag; /* 0: free */
	__u32 size;
	__s32 stack_id;
};

struct at_live_bucket {
	struct at_live_slot slot[AT_LIVE_WAYS];
};
AT_LAYOUT(sizeof(struct at_live_bucket) == 64, "at_live_bucket: one cache line");

/* An overflow block: its size and, with --stacks, the stack that allocated it (-1: none). */
struct at_live {
	__u64 size;
	__s32 stack_id;
	__u32 pad;
};
AT_LAYOUT(sizeof(struct at_live) == 16, "at_live layout");

/* Outstanding blocks per allocation stack (--stacks), per program the process ran: execs is
 * the task's self_exec_id (one more at each exec), so that the stacks of a program the
 * process exec'd away from, whose addresses mean nothing in the new one, stay apart (user
 * space keeps a process's latest and deletes the others). */
struct at_stack_key {
	__u32 tgid;
	__s32 stack_id;
	__u32 execs;
	__u32 pad;
};
AT_LAYOUT(sizeof(struct at_stack_key) == 16, "at_stack_key layout");

/* Per (process, stack): live bytes and blocks, and what was allocated in all (--pprof's
 * alloc_space and alloc_objects), by the allocator instance (the cookie's) that first
 * allocated there: a call site calls one allocator. */
struct at_stack_live {
	__s64 bytes;
	__s64 blocks;
	__u64 alloc_bytes;
	__u64 alloc_count;
	__u32 alloc;
	__u32 pad;
};
AT_LAYOUT(sizeof(struct at_stack_live) == 40, "at_stack_live layout");
/* The loader's delete_keys_of reads the tgid first in every per-process key. */
AT_LAYOUT(AT_OFFSET(struct at_live_key, tgid) == 0 && AT_OFFSET(struct at_stack_key, tgid) == 0,
	  "per-process keys begin with the tgid");

/* --unwind dwarf: a sampled allocation, as the allocator returned (at its return probe:
 * the registers are its caller's after the call, ip the return address), with up to
 * AT_USTACK_BYTES of the user stack from sp, for user space to unwind with the binaries'
 * CFI (as perf's --call-graph dwarf). An allocation of size bytes is sampled with
 * probability min(1, size / rate); id is a per-run sample number (below 2^31), which the
 * live block keeps in place of a stack id, so that its free sends an at_ustack_free. */
#define AT_USTACK_BYTES 8192
#define AT_USTACK_CHUNK 512 /* copied in chunks: the stack's end stops the copy there */
enum at_ustack_reg {
	AT_UREG_IP = 0,
	AT_UREG_SP = 1,
	AT_UREG_BP = 2,
	AT_UREG_BX = 3,
	AT_UREG_R12 = 4,
	AT_UREG_R13 = 5,
	AT_UREG_R14 = 6,
	AT_UREG_R15 = 7,
	AT_UREG_NR = 8,
};

struct at_ustack_rec {
	struct at_rec_hdr hdr; /* AT_REC_USTACK, kind 0 */
	__u32 id;
	__u32 alloc; /* the allocator instance */
	__u64 size;  /* the block's bytes, as the heap counters count them */
	__u64 regs[AT_UREG_NR];
	__u32 stack_len; /* bytes of stack copied (0: none could be read) */
	__u32 pad;
	__u8 stack[AT_USTACK_BYTES];
};
AT_LAYOUT(AT_OFFSET(struct at_ustack_rec, regs) == 40 &&
		  AT_OFFSET(struct at_ustack_rec, stack) == 112,
	  "at_ustack_rec layout");

struct at_ustack_free {
	struct at_rec_hdr hdr; /* AT_REC_USTACK_FREE, kind 0 */
	__u32 id;
	__u32 pad;
	__u64 size;
};
AT_LAYOUT(sizeof(struct at_ustack_free) == 40, "at_ustack_free layout");

/* Arena level. Probes on rare functions (chunk acquisition and release, resets, allocator
 * internals) send one record per call. The cookie says what the probe is:
 *   bits 0-7 kind, 8-11 argument (1-6) holding a size, 12-15 argument identifying the arena
 *   instance, 16-19 argument holding a chunk pointer (0: none), 20 AT_ACOOKIE_WATCH,
 *   21 AT_ACOOKIE_REGS, 32-43 with REGS: the registers (x86 numbers, as AT_ARG_REGS) of
 *   arguments 1-3 at a probe placed past the function's entry, 44-63 probe id (user space's
 *   table of probe definitions). Without REGS the probe is on the entry: arguments are in
 *   rdi, rsi, rdx, rcx, r8, r9. */
enum at_arena_kind {
	AT_AK_CHUNK_ALLOC = 1,	/* return: ret is a new chunk of the size argument */
	AT_AK_CHUNK_FREE = 2,	/* entry: the chunk argument is released */
	AT_AK_RESET = 3,	/* return: the arena rewound, keeping (some of) its chunks */
	AT_AK_BUMP_SLOW = 4,	/* bumpalo Bump::alloc_layout_slow(&self, layout): return */
	AT_AK_BUMP_RESET = 5,	/* bumpalo Bump::reset(&mut self): entry */
	AT_AK_BUMP_DROP = 6,	/* bumpalo Drop for Bump, or its drop glue: entry */
	AT_AK_OBSTACK_NEW = 7,	/* _obstack_begin, _obstack_begin_1, _obstack_newchunk: return */
	AT_AK_OBSTACK_FREE = 8, /* _obstack_free(h, obj): return */
	AT_AK_INTERNAL = 9,	/* an allocator's internal function: return, with its duration */
	AT_AK_CHUNK_FREED = 10, /* a watched chunk reached the allocator's free (heap level) */
	AT_AK_USDT = 11,	/* a libc memory_* USDT probe */
	AT_AK_NR = 12,
};

#define AT_ACOOKIE_PROBE_SHIFT 44
#define AT_ACOOKIE(probe, kind, size_arg, self_arg, ptr_arg)                                       \
	(((__u64)(probe) << AT_ACOOKIE_PROBE_SHIFT) | ((ptr_arg) << 16) | ((self_arg) << 12) |     \
	 ((size_arg) << 8) | (kind))
#define AT_ACOOKIE_REGS (1u << 21)
#define AT_ACOOKIE_ARG_REGS(regs) ((__u64)((regs) >> 12) << 32) /* from AT_ARG_REGS */
#define AT_ACOOKIE_ARG_REGS_OF(c) ((__u32)((c) >> 32) & 0xfff)	/* 4 bits per argument */
#define AT_ACOOKIE_WATCH (1u << 20) /* watch the chunk until the allocator's free */
#define AT_ACOOKIE_KIND(c) ((__u32)(c)&0xff)
#define AT_ACOOKIE_SIZE_ARG(c) ((__u32)((c) >> 8) & 0xf)
#define AT_ACOOKIE_SELF_ARG(c) ((__u32)((c) >> 12) & 0xf)
#define AT_ACOOKIE_PTR_ARG(c) ((__u32)((c) >> 16) & 0xf)
#define AT_ACOOKIE_PROBE(c) ((__u32)((c) >> AT_ACOOKIE_PROBE_SHIFT))

/* One arena event. words: what the kind reads from the target's memory:
 *   BUMP_*: [0] the footer address of the current chunk, [1..6] that footer (data, layout
 *     size, layout align, prev, ptr, allocated_bytes; bumpalo's ChunkFooter is repr(C)),
 *     [7] the offset in the Bump at which the footer pointer was found;
 *   OBSTACK_*: [0..4] struct obstack's chunk_size, chunk, object_base, next_free,
 *     chunk_limit, [5..6] the current chunk's limit and prev. */
struct at_arena_rec {
	struct at_rec_hdr hdr; /* AT_REC_ARENA, kind: enum at_arena_kind */
	__u64 cookie;
	__u64 args[6];
	__u64 ret;
	__u64 dur_ns; /* entry to return, for kinds probed at both */
	__u64 words[8];
};
AT_LAYOUT(sizeof(struct at_arena_rec) == 160 && AT_OFFSET(struct at_arena_rec, args) == 32 &&
		  AT_OFFSET(struct at_arena_rec, words) == 96,
	  "at_arena_rec layout");

/* A chunk watched until it reaches free(): its data pointer, and the cookie of the probe
 * that acquired it. */
struct at_chunk_key {
	__u32 tgid;
	__u32 pad;
	__u64 ptr;
};
AT_LAYOUT(AT_OFFSET(struct at_chunk_key, tgid) == 0 && sizeof(struct at_chunk_key) == 16,
	  "at_chunk_key layout");

struct at_arena_frame {
	__u64 cookie;
	__u64 ts_ns;
	__u64 args[6];
};

struct at_arena_thread {
	__u32 depth;
	__u32 pad;
	struct at_arena_frame f[AT_ARENA_NEST];
};

#endif /* ARENATRACE_H */
