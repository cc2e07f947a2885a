// SPDX-License-Identifier: GPL-2.0-only
/*
 * The arena level: uprobes on rare functions (an arena's chunk acquisition, release and
 * reset; an allocator's internal map, unmap and purge functions), attached per traced
 * process by user space. Each call sends one record to user space, which keeps the arenas'
 * chunk lists; what a kind reads from the target's memory is described at at_arena_rec.
 *
 * Chunks of arenas whose release has no probe of its own (bumpalo's reset and drop inlined
 * by LTO) are watched: their data pointer goes into arena_chunks, and the heap level's free
 * reports them when they come back (heap.bpf.c).
 */
#include "common.bpf.h"
#include <bpf/usdt.bpf.h>

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct at_arena_thread);
} arena_thread SEC(".maps");

/* Set by user space when the heap level is on: chunks are then watched until their free. */
const volatile bool arena_watch = false;

static __always_inline void args6(struct pt_regs *ctx, __u64 cookie, __u64 a[6])
{
	if (cookie & AT_ACOOKIE_REGS) {
		/* Past the entry: the first three arguments, wherever the function has them. */
		regs3(ctx, AT_ACOOKIE_ARG_REGS_OF(cookie), a);
		a[3] = a[4] = a[5] = 0;
		return;
	}
	a[0] = PT_REGS_PARM1(ctx);
	a[1] = PT_REGS_PARM2(ctx);
	a[2] = PT_REGS_PARM3(ctx);
	a[3] = PT_REGS_PARM4(ctx);
	a[4] = PT_REGS_PARM5(ctx);
	a[5] = ctx->r9; /* libbpf 1.1 has no PT_REGS_PARM6 */
}

/* bumpalo: the current chunk's footer. Bump's first field is the footer pointer in every
 * layout rustc has chosen so far; the other word position is tried if the first does not
 * look like a footer (its data pointer below it, within 1 TiB). */
static __always_inline void read_bump(struct at_arena_rec *r, __u64 self)
{
	__u64 w[3] = {}, footer;

	if (bpf_probe_read_user(w, sizeof(w), (void *)self))
		return;
	for (int k = 0; k < 3; k += 2) {
		footer = w[k];
		if (!footer || bpf_probe_read_user(&r->words[1], 6 * sizeof(__u64), (void *)footer))
			continue;
		if (r->words[1] <= footer && footer - r->words[1] < (1ull << 40)) {
			r->words[0] = footer;
			r->words[7] = k * 8;
			return;
		}
	}
	__builtin_memset(r->words, 0, sizeof(r->words));
}

/* glibc obstack: struct obstack's first five words, and the current chunk's header. */
static __always_inline void read_obstack(struct at_arena_rec *r, __u64 h)
{
	if (bpf_probe_read_user(r->words, 5 * sizeof(__u64), (void *)h))
		return;
	if (r->words[1])
		bpf_probe_read_user(&r->words[5], 2 * sizeof(__u64), (void *)r->words[1]);
}

static __always_inline void watch(__u32 tgid, __u64 ptr, __u64 cookie)
{
	struct at_chunk_key key = { .tgid = tgid, .ptr = ptr };

	if (!arena_watch || !(cookie & AT_ACOOKIE_WATCH) || !ptr)
		return;
	if (bpf_map_update_elem(&arena_chunks, &key, &cookie, BPF_NOEXIST)) {
		if (!bpf_map_lookup_elem(&arena_chunks, &key))
			drop(AT_DROP_ARENA_CHUNKS_FULL);
		return;
	}
	__sync_fetch_and_add(&arena_watched, 1);
}

/* Sends the record of one call: at the entry (ret unknown) or at the return. */
static __always_inline void emit(__u64 cookie, const __u64 a[6], __u64 ret, __u64 entry_ns)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct at_arena_rec *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	__u32 kind = AT_ACOOKIE_KIND(cookie);

	if (!r) {
		drop(AT_DROP_RINGBUF_FULL);
		return;
	}
	__builtin_memset(r, 0, sizeof(*r));
	rec_hdr(&r->hdr, AT_REC_ARENA, kind, id >> 32);
	r->cookie = cookie;
	for (int i = 0; i < 6; i++)
		r->args[i] = a[i];
	r->ret = ret;
	r->dur_ns = entry_ns ? r->hdr.ts_ns - entry_ns : 0;
	switch (kind) {
	case AT_AK_BUMP_SLOW:
	case AT_AK_BUMP_RESET:
	case AT_AK_BUMP_DROP:
		read_bump(r, a[0]);
		if (kind == AT_AK_BUMP_SLOW && ret)
			watch(r->hdr.pid, r->words[1], cookie);
		break;
	case AT_AK_OBSTACK_NEW:
	case AT_AK_OBSTACK_FREE:
		read_obstack(r, a[0]);
		break;
	case AT_AK_CHUNK_ALLOC:
		watch(r->hdr.pid, ret, cookie);
		break;
	default:
		break;
	}
	submit(r);
}

/* Entry of a function whose return matters: the arguments wait in task storage. */
SEC("uprobe")
int BPF_KPROBE(arena_enter)
{
	struct at_arena_thread *th;
	__u32 d;

	if (!uprobe_wanted())
		return 0;
	th = bpf_task_storage_get(&arena_thread, bpf_get_current_task_btf(), 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!th)
		return 0;
	d = th->depth++;
	if (d >= AT_ARENA_NEST) {
		drop(AT_DROP_ARENA_NEST);
		return 0;
	}
	th->f[d].cookie = bpf_get_attach_cookie(ctx);
	th->f[d].ts_ns = bpf_ktime_get_ns();
	args6(ctx, th->f[d].cookie, th->f[d].args);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(arena_exit)
{
	struct at_arena_thread *th =
		bpf_task_storage_get(&arena_thread, bpf_get_current_task_btf(), 0, 0);
	__u32 d;

	/* No state or depth 0: the call began before the probe was attached. */
	if (!th || !th->depth)
		return 0;
	d = --th->depth;
	if (d >= AT_ARENA_NEST)
		return 0;
	emit(th->f[d].cookie, th->f[d].args, PT_REGS_RC(ctx), th->f[d].ts_ns);
	return 0;
}

/* Entry of a function whose return does not matter (a release, a reset). */
SEC("uprobe")
int BPF_KPROBE(arena_event)
{
	__u64 a[6], cookie = bpf_get_attach_cookie(ctx);

	if (!uprobe_wanted())
		return 0;
	args6(ctx, cookie, a);
	emit(cookie, a, 0, 0);
	return 0;
}

/* A libc memory_* USDT probe (glibc's LIBC_PROBE points, where a libc is built with them):
 * up to three arguments. The probe id is the cookie user space gave at attach. */
SEC("usdt")
int BPF_USDT(arena_usdt, long x1, long x2, long x3)
{
	__u64 a[6] = { (__u64)x1, (__u64)x2, (__u64)x3 };

	if (!uprobe_wanted())
		return 0;
	emit(bpf_usdt_cookie(ctx), a, 0, 0);
	return 0;
}
