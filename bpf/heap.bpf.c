// SPDX-License-Identifier: GPL-2.0-only
/*
 * The heap level: uprobes on the malloc/free families, attached per traced process by user
 * space. Every call is aggregated here, in per-CPU counters per (process, allocator); none
 * is sent to user space.
 *
 * Only the outermost call of a thread counts (glibc's realloc(NULL, n) calls malloc,
 * memalign may call malloc, mimalloc's malloc calls mi_malloc): a per-thread depth, kept in
 * task storage, is raised at each entry and lowered at each return.
 *
 * Sizes: glibc's usable size is in the chunk header at ptr - 8, so its free needs no lookup.
 * jemalloc and mimalloc keep no header there; their blocks go into heap_table (or, when
 * their bucket is full, heap_live) with the size (jemalloc's size class, or the requested
 * size) until they are freed.
 */
#include "common.bpf.h"

/* Live blocks (arenatrace.h): 2^heap_table_bits buckets; user space sizes it and clears
 * the slots of exited processes through a mapping of it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, AT_DEF_HEAP_LIVE / AT_LIVE_WAYS);
	__type(key, __u32);
	__type(value, struct at_live_bucket);
} heap_table SEC(".maps");

/* The overflow of heap_table. When full, the allocation is counted but its free will not
 * find its size: AT_DROP_HEAP_LIVE_FULL, and the free shows as unmatched. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AT_DEF_HEAP_LIVE / 16);
	__type(key, struct at_live_key);
	__type(value, struct at_live);
} heap_live SEC(".maps");

/* --stacks: user stacks of allocations, and the blocks each still has outstanding. When
 * either is full, the block is not attributed to a stack: AT_DROP_STACK_ID. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, AT_DEF_STACKS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, AT_STACK_DEPTH * sizeof(__u64));
} heap_stack_traces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AT_DEF_STACKS);
	__type(key, struct at_stack_key);
	__type(value, struct at_stack_live);
} heap_stack_live SEC(".maps");

/* For make bench: the programs return at once, to measure the probes' own cost (the floor). */
const volatile bool heap_floor = false;
/* --stacks: remember each block's allocation stack (glibc blocks then go into heap_table). */
const volatile bool heap_stacks = false;
/* --unwind dwarf: stacks are taken of sampled allocations only, one per unwind_rate bytes
 * on average, as registers and a copy of the stack (struct at_ustack_rec). */
const volatile bool heap_unwind = false;
const volatile __u64 unwind_rate = 1;
/* The next sample's number. */
__u32 ustack_seq = 0;
/* log2 of heap_table's buckets. */
const volatile __u32 heap_table_bits = 18;
/* Set once a block has gone to heap_live: until then a free not in heap_table skips it. */
bool heap_overflowed = false;

static __always_inline void stack_add(__u32 tgid, __s32 stack_id, __s64 bytes, __s64 blocks,
				      __u32 alloc)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct at_stack_key key = { .tgid = tgid,
				    .stack_id = stack_id,
				    .execs = (__u32)BPF_CORE_READ(task, self_exec_id) };
	struct at_stack_live *v, zero = { .alloc = alloc };

	v = bpf_map_lookup_elem(&heap_stack_live, &key);
	if (!v) {
		if (blocks < 0)
			return;
		if (bpf_map_update_elem(&heap_stack_live, &key, &zero, BPF_NOEXIST) == -7) {
			drop(AT_DROP_STACK_ID);
			return;
		}
		v = bpf_map_lookup_elem(&heap_stack_live, &key);
		if (!v)
			return;
	}
	__sync_fetch_and_add(&v->bytes, bytes);
	__sync_fetch_and_add(&v->blocks, blocks);
	if (blocks > 0) {
		__sync_fetch_and_add(&v->alloc_bytes, bytes);
		__sync_fetch_and_add(&v->alloc_count, blocks);
	}
}

/* --unwind dwarf: whether to sample a block of size bytes (probability min(1, size/rate),
 * so that user space's estimates, each sample weighed 1/p, are unbiased), and if so, its
 * registers and stack into the ring: its sample id, or -1 (not sampled, or lost). */
static __noinline __s32 ustack_sample(struct pt_regs *ctx, __u32 tgid, __u64 size, __u32 alloc)
{
	__u64 rate = unwind_rate, sp = ctx->sp;
	struct at_ustack_rec *r;
	__u32 len = 0, id;

	if (rate > 1 && size < rate &&
	    (__u64)bpf_get_prandom_u32() >= ((size ? size : 1) << 32) / rate)
		return -1;
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		drop(AT_DROP_RINGBUF_FULL);
		return -1;
	}
	rec_hdr(&r->hdr, AT_REC_USTACK, 0, tgid);
	id = __sync_fetch_and_add(&ustack_seq, 1) & 0x7fffffff;
	r->id = id;
	r->alloc = alloc;
	r->size = size;
	r->pad = 0;
	r->regs[AT_UREG_IP] = ctx->ip;
	r->regs[AT_UREG_SP] = sp;
	r->regs[AT_UREG_BP] = ctx->bp;
	r->regs[AT_UREG_BX] = ctx->bx;
	r->regs[AT_UREG_R12] = ctx->r12;
	r->regs[AT_UREG_R13] = ctx->r13;
	r->regs[AT_UREG_R14] = ctx->r14;
	r->regs[AT_UREG_R15] = ctx->r15;
	/* Chunk by chunk up to the first that cannot be read: the top of the stack. */
	for (int i = 0; i < AT_USTACK_BYTES / AT_USTACK_CHUNK; i++) {
		if (bpf_probe_read_user(&r->stack[i * AT_USTACK_CHUNK], AT_USTACK_CHUNK,
					(void *)(sp + i * AT_USTACK_CHUNK)))
			break;
		len += AT_USTACK_CHUNK;
	}
	/* The last chunk may reach past the end: its bytes up to the page's end. */
	if (len < AT_USTACK_BYTES) {
		__u32 rest = 4096 - ((sp + len) & 4095);

		if (rest < AT_USTACK_CHUNK &&
		    !bpf_probe_read_user(&r->stack[len & (AT_USTACK_BYTES - AT_USTACK_CHUNK)],
					 rest & (AT_USTACK_CHUNK - 1), (void *)(sp + len)))
			len += rest & (AT_USTACK_CHUNK - 1);
	}
	if (!len)
		drop(AT_DROP_USTACK);
	r->stack_len = len;
	submit(r);
	return (__s32)id;
}

/* --unwind dwarf: the free of a sampled block, for user space to take from its stack. */
static __noinline void ustack_free(__u32 tgid, __s32 id, __u64 size)
{
	struct at_ustack_free *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);

	if (!r) {
		drop(AT_DROP_RINGBUF_FULL);
		return;
	}
	rec_hdr(&r->hdr, AT_REC_USTACK_FREE, 0, tgid);
	r->id = (__u32)id;
	r->pad = 0;
	r->size = size;
	submit(r);
}

/* The counters to add to: the thread's own slot for this (process, allocator), or the
 * shared per-CPU ones when the thread already uses two other allocators (*shared: atomics
 * needed then). */
static __always_inline struct at_heap_stats *counters(struct at_heap_thread *th, __u32 tgid,
						      __u32 alloc, bool *shared)
{
	*shared = false;
	for (int i = 0; th && i < AT_THREAD_SLOTS; i++) {
		struct at_thread_counts *c = &th->slot[i];

		if (c->alloc == alloc && c->tgid == tgid)
			return &c->s;
		if (!c->alloc) {
			c->alloc = alloc;
			c->tgid = tgid;
			return &c->s;
		}
	}
	*shared = true;
	return shared_stats(tgid, alloc);
}

#define ADD(shared, field, v)                                                                      \
	do {                                                                                       \
		if (shared)                                                                        \
			__sync_fetch_and_add(&(field), (v));                                       \
		else                                                                               \
			(field) += (v);                                                            \
	} while (0)

/* floor(log2(v)), 0 for 0 and 1. */
static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0, shift;

	shift = (v > 0xffffffffull) << 5;
	v >>= shift;
	r |= shift;
	shift = (v > 0xffff) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xff) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xf) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

/* glibc: the usable size of a chunk from its size word (bits 0-2 are flags; IS_MMAPPED = 2). */
static __always_inline __u64 glibc_word_usable(__u64 word)
{
	__u64 size = word & ~7ull;

	if (size < 16)
		return 0;
	return size - ((word & 2) ? 16 : 8);
}

/* glibc: the size word at ptr - 8, read from user memory (about 50 ns). */
static __always_inline __u64 glibc_usable(__u64 ptr)
{
	__u64 word = 0;

	if (bpf_probe_read_user(&word, sizeof(word), (void *)(ptr - 8)))
		return 0;
	return glibc_word_usable(word);
}

/* jemalloc 5's size class of a request (sz_s2u, 16-byte quantum, four classes per doubling
 * from 64 bytes up); aligned requests are rounded up to the alignment first (sz_sa2u for
 * alignments up to a page). */
static __always_inline __u64 jemalloc_usable(__u64 size, __u64 align)
{
	__u64 delta;
	__u32 lg;

	if (align > 16)
		size = (size + align - 1) & ~(align - 1);
	if (size <= 8)
		return 8;
	if (size <= 16)
		return 16;
	if (size <= 32)
		return 32;
	if (size <= 64)
		return (size + 15) & ~15ull;
	lg = log2_u64(size - 1) + 1; /* ceil(log2(size)) */
	delta = 1ull << (lg - 3);
	return (size + delta - 1) & ~(delta - 1);
}

/* heap_table's bucket and tag of (tgid, ptr), false for pointers it cannot hold. */
static __always_inline bool live_slot_of(__u32 tgid, __u64 ptr, __u32 *bucket, __u64 *tag)
{
	__u32 bits = heap_table_bits;
	__u64 h;

	if ((ptr & 7) || (ptr >> (AT_LIVE_PTR_BITS + 3)) || bits < 2 || bits > 30)
		return false;
	h = at_live_mix(ptr);
	*bucket = AT_LIVE_BUCKET(h, tgid, bits);
	*tag = (h >> bits) | ((__u64)tgid << (AT_LIVE_PTR_BITS - bits));
	return true;
}

/* Remembers a live block; a block already there under the same pointer (its free was not
 * seen) is replaced. */
static __always_inline void live_put(__u32 tgid, __u64 ptr, __u64 size, __s32 stack_id)
{
	struct at_live_key key = { .tgid = tgid, .ptr = ptr };
	struct at_live live = { .size = size, .stack_id = stack_id };
	struct at_live_bucket *b = NULL;
	__u32 bucket;
	__u64 tag;
	int i;

	if (size <= 0xffffffffull && live_slot_of(tgid, ptr, &bucket, &tag))
		b = bpf_map_lookup_elem(&heap_table, &bucket);
	if (b) {
		for (i = 0; i < AT_LIVE_WAYS; i++)
			if (b->slot[i].tag == tag)
				goto put;
		for (i = 0; i < AT_LIVE_WAYS; i++)
			if (!b->slot[i].tag &&
			    !__sync_val_compare_and_swap(&b->slot[i].tag, 0, tag))
				goto put;
	}
	if (bpf_map_update_elem(&heap_live, &key, &live, BPF_ANY)) {
		drop(AT_DROP_HEAP_LIVE_FULL);
		return;
	}
	if (!heap_overflowed)
		heap_overflowed = true;
	return;
put:
	/* The block's free comes after malloc has returned, so after these stores. */
	b->slot[i].size = (__u32)size;
	b->slot[i].stack_id = stack_id;
}

/* Takes a live block out: true and its size and stack when it was there. */
static __always_inline bool live_take(__u32 tgid, __u64 ptr, __u64 *size, __s32 *stack_id)
{
	struct at_live_key key = { .tgid = tgid, .ptr = ptr };
	struct at_live_bucket *b = NULL;
	struct at_live *v;
	__u32 bucket;
	__u64 tag;

	if (live_slot_of(tgid, ptr, &bucket, &tag))
		b = bpf_map_lookup_elem(&heap_table, &bucket);
	if (b) {
		for (int i = 0; i < AT_LIVE_WAYS; i++) {
			if (b->slot[i].tag != tag)
				continue;
			*size = b->slot[i].size;
			*stack_id = b->slot[i].stack_id;
			/* Only the thread freeing ptr can clear its tag; others only fill free slots. */
			b->slot[i].tag = 0;
			return true;
		}
		if (!heap_overflowed)
			return false;
	}
	v = bpf_map_lookup_elem(&heap_live, &key);
	if (!v)
		return false;
	*size = v->size;
	*stack_id = v->stack_id;
	bpf_map_delete_elem(&heap_live, &key);
	return true;
}

/* How glibc's blocks are sized at free in this process: GLIBC_WORD, by their size word
 * alone; GLIBC_TABLE (--stacks), through the live-block table, a block missing there sized
 * by its word; GLIBC_OLD, through the table, where blocks from before the trace can be freed
 * (AT_TRACE_OLD_BLOCKS: -p, -a, a forked child), so that such a free is told apart from the
 * free of a block counted here. The traced flag is looked up once per thread (exec clears
 * the thread's copy). */
enum { GLIBC_WORD, GLIBC_TABLE, GLIBC_OLD };

static __always_inline int glibc_table(struct at_heap_thread *th, __u32 tgid)
{
	struct at_traced *tr;
	bool old;

	if (th && th->table) {
		old = th->table == 2;
	} else {
		tr = traced_lookup(tgid);
		old = tr && (tr->flags & AT_TRACE_OLD_BLOCKS);
		if (th)
			th->table = old ? 2 : 1;
	}
	return old ? GLIBC_OLD : heap_stacks ? GLIBC_TABLE : GLIBC_WORD;
}

static __always_inline void account_alloc(void *ctx, struct at_heap_thread *th, __u64 cookie,
					  __u64 ptr, __u64 req, __u64 align)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, mode = AT_COOKIE_MODE(cookie), slot;
	struct at_heap_stats *s;
	bool shared;
	__u64 size;

	if (!ptr)
		return;
	s = counters(th, tgid, AT_COOKIE_ALLOC(cookie), &shared);
	if (!s)
		return;
	if (mode == AT_SIZE_GLIBC)
		size = glibc_usable(ptr);
	else
		size = mode == AT_SIZE_JEMALLOC ? jemalloc_usable(req, align) : req;
	if (mode != AT_SIZE_GLIBC || glibc_table(th, tgid) != GLIBC_WORD) {
		__s32 stack_id = -1;

		if (heap_unwind) {
			stack_id = ustack_sample((struct pt_regs *)ctx, tgid, size,
						 AT_COOKIE_ALLOC(cookie));
		} else if (heap_stacks) {
			/* At the return probe, the stack begins in the caller of malloc. */
			stack_id = bpf_get_stackid(ctx, &heap_stack_traces, BPF_F_USER_STACK);
			if (stack_id >= 0)
				stack_add(tgid, stack_id, (__s64)size, 1, AT_COOKIE_ALLOC(cookie));
			else
				drop(AT_DROP_STACK_ID);
		}
		live_put(tgid, ptr, size, stack_id);
	}
	slot = log2_u64(req);
	if (slot >= AT_HIST_SLOTS)
		slot = AT_HIST_SLOTS - 1;
	ADD(shared, s->alloc_count, 1);
	ADD(shared, s->alloc_bytes, size);
	ADD(shared, s->hist[slot], 1);
}

/* An arena chunk coming back to its allocator (arena.bpf.c watches them): one record. */
static __noinline void chunk_freed(__u32 tgid, __u64 ptr)
{
	struct at_chunk_key key = { .tgid = tgid, .ptr = ptr };
	struct at_arena_rec *r;
	__u64 *cookie = bpf_map_lookup_elem(&arena_chunks, &key);

	if (!cookie)
		return;
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (r) {
		__builtin_memset(r, 0, sizeof(*r));
		rec_hdr(&r->hdr, AT_REC_ARENA, AT_AK_CHUNK_FREED, tgid);
		r->cookie = *cookie;
		r->args[0] = ptr;
		submit(r);
	} else {
		drop(AT_DROP_RINGBUF_FULL);
	}
	if (!bpf_map_delete_elem(&arena_chunks, &key))
		__sync_fetch_and_sub(&arena_watched, 1);
}

/* size: known already (glibc realloc reads it before the call), or 0 to find it now. */
static __always_inline void account_free(struct at_heap_thread *th, __u64 cookie, __u64 ptr,
					 __u64 size)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct at_heap_stats *s;
	bool shared;
	int glibc;

	if (!ptr)
		return;
	if (arena_watched > 0)
		chunk_freed(tgid, ptr);
	s = counters(th, tgid, AT_COOKIE_ALLOC(cookie), &shared);
	if (!s)
		return;
	if (AT_COOKIE_MODE(cookie) == AT_SIZE_GLIBC && !size)
		size = glibc_usable(ptr);
	glibc = AT_COOKIE_MODE(cookie) == AT_SIZE_GLIBC ? glibc_table(th, tgid) : GLIBC_WORD;
	if (AT_COOKIE_MODE(cookie) != AT_SIZE_GLIBC || glibc != GLIBC_WORD) {
		__u64 live_size;
		__s32 stack_id;

		if (!live_take(tgid, ptr, &live_size, &stack_id)) {
			/* A block from before the trace (or one a full table could not keep) is
			 * counted apart, never subtracted from live. */
			if (AT_COOKIE_MODE(cookie) != AT_SIZE_GLIBC || glibc == GLIBC_OLD) {
				ADD(shared, s->unmatched_free, 1);
				return;
			}
		} else {
			if (AT_COOKIE_MODE(cookie) != AT_SIZE_GLIBC)
				size = live_size;
			if (stack_id >= 0 && heap_unwind)
				ustack_free(tgid, stack_id, live_size);
			else if (stack_id >= 0)
				stack_add(tgid, stack_id, -(__s64)live_size, -1, 0);
		}
	}
	ADD(shared, s->free_count, 1);
	ADD(shared, s->free_bytes, size);
}

/* The first three arguments, in the registers the cookie names (x86 numbers). */
static __always_inline void args_of(struct pt_regs *ctx, __u64 cookie, __u64 *a0, __u64 *a1,
				    __u64 *a2)
{
	__u64 v[3];

	/* Most probes sit where the arguments are still in rdi, rsi and rdx: three loads. */
	if ((cookie & AT_ARG_REGS(0xf, 0xf, 0xf)) ==
	    AT_ARG_REGS(AT_REG_RDI, AT_REG_RSI, AT_REG_RDX)) {
		*a0 = ctx->di;
		if (a1)
			*a1 = ctx->si;
		if (a2)
			*a2 = ctx->dx;
		return;
	}
	regs3(ctx, AT_COOKIE_ARG_REGS(cookie), v);
	*a0 = v[0];
	if (a1)
		*a1 = v[1];
	if (a2)
		*a2 = v[2];
}

static __always_inline struct at_heap_thread *thread_state(bool create)
{
	return bpf_task_storage_get(&heap_thread, bpf_get_current_task_btf(), 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

SEC("uprobe")
int BPF_KPROBE(heap_enter)
{
	struct at_heap_thread *th;
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 role = AT_COOKIE_ROLE(cookie);

	if (heap_floor || !uprobe_wanted())
		return 0;
	th = thread_state(true);
	if (!th)
		return 0;
	if (th->depth++)
		return 0; /* nested: the outermost call accounts */
	th->cookie = cookie;
	args_of(ctx, cookie, &th->a0, &th->a1, &th->a2);
	th->old_size = 0;
	if (AT_COOKIE_MODE(cookie) == AT_SIZE_GLIBC && role == AT_ROLE_REALLOC && th->a0)
		th->old_size = glibc_usable(th->a0);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(heap_exit)
{
	struct at_heap_thread *th;
	__u64 ret = PT_REGS_RC(ctx), cookie, a0, a1, a2, ptr = 0;

	if (heap_floor)
		return 0;
	th = thread_state(false);
	/* No state or depth 0: the call began before the probe was attached. */
	if (!th || !th->depth)
		return 0;
	if (--th->depth)
		return 0;
	cookie = th->cookie;
	a0 = th->a0;
	a1 = th->a1;
	a2 = th->a2;
	switch (AT_COOKIE_ROLE(cookie)) {
	case AT_ROLE_MALLOC:
		account_alloc(ctx, th, cookie, ret, a0, 0);
		break;
	case AT_ROLE_MALLOCX:
		/* The low 6 bits of flags are log2 of the alignment. */
		account_alloc(ctx, th, cookie, ret, a0, (a1 & 0x3f) ? 1ull << (a1 & 0x3f) : 0);
		break;
	case AT_ROLE_CALLOC:
		account_alloc(ctx, th, cookie, ret, a0 * a1, 0);
		break;
	case AT_ROLE_HEAP_MALLOC:
		account_alloc(ctx, th, cookie, ret, a1, 0);
		break;
	case AT_ROLE_HEAP_CALLOC:
		account_alloc(ctx, th, cookie, ret, a1 * a2, 0);
		break;
	case AT_ROLE_MEMALIGN:
		account_alloc(ctx, th, cookie, ret, a1, a0);
		break;
	case AT_ROLE_ALIGNED:
		account_alloc(ctx, th, cookie, ret, a0, a1);
		break;
	case AT_ROLE_VALLOC:
		account_alloc(ctx, th, cookie, ret, a0, 4096);
		break;
	case AT_ROLE_PVALLOC:
		account_alloc(ctx, th, cookie, ret, (a0 + 4095) & ~4095ull, 4096);
		break;
	case AT_ROLE_POSIX_MEMALIGN:
		if (ret == 0 && !bpf_probe_read_user(&ptr, sizeof(ptr), (void *)a0))
			account_alloc(ctx, th, cookie, ptr, a2, a1);
		break;
	case AT_ROLE_REALLOC:
	case AT_ROLE_HEAP_REALLOC: {
		__u64 old = AT_COOKIE_ROLE(cookie) == AT_ROLE_REALLOC ? a0 : a1;
		__u64 size = AT_COOKIE_ROLE(cookie) == AT_ROLE_REALLOC ? a1 : a2;

		/* NULL returned for a non-zero size: failed, the old block stays. */
		if (!ret && size)
			break;
		account_free(th, cookie, old, th->old_size);
		account_alloc(ctx, th, cookie, ret, size, 0);
		break;
	}
	case AT_ROLE_DELETE:
		/* Counted at its return, so that the free it calls inside is nested. */
		account_free(th, cookie, a0, 0);
		break;
	case AT_ROLE_QUIET:
		break; /* the frees inside were nested, so not counted */
	case AT_ROLE_XALLOCX:
		/* Resized in place to ret usable bytes: the old size goes, the new one comes. */
		account_free(th, cookie, a0, 0);
		account_alloc(ctx, th, cookie, a0, ret, 0);
		break;
	default:
		break;
	}
	return 0;
}

/* free, dallocx, sdallocx, operator delete: entry only, no return probe needed. */
SEC("uprobe")
int BPF_KPROBE(heap_free)
{
	struct at_heap_thread *th;

	if (heap_floor || !uprobe_wanted())
		return 0;
	th = thread_state(true);
	if (th && th->depth)
		return 0; /* inside realloc or another allocator call */
	{
		__u64 cookie = bpf_get_attach_cookie(ctx), ptr, word = 0;

		/* glibc's free past its load of the size word: no read of user memory. */
		if (cookie & AT_COOKIE_SIZE_WORD)
			args_of(ctx, cookie, &ptr, &word, NULL);
		else
			args_of(ctx, cookie, &ptr, NULL, NULL);
		account_free(th, cookie, ptr, glibc_word_usable(word));
	}
	return 0;
}

/* For each report: the counters of live threads, which are folded into heap_stats only at
 * their exit. */
SEC("iter/task")
int heap_iter(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct at_heap_thread *th;

	if (!task)
		return 0;
	th = bpf_task_storage_get(&heap_thread, task, 0, 0);
	if (!th)
		return 0;
	for (int i = 0; i < AT_THREAD_SLOTS; i++)
		if (th->slot[i].alloc)
			bpf_seq_write(ctx->meta->seq, &th->slot[i], sizeof(th->slot[i]));
	return 0;
}
