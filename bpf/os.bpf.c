// SPDX-License-Identifier: GPL-2.0-only
/*
 * The os level: syscall tracepoints for mmap, munmap, mremap, brk, madvise, process_madvise
 * and mprotect, uprobes on libc's wrappers of those calls (to learn the exact caller), and
 * fork/exec/exit of traced processes. Syscalls are rare, so each one becomes a ring buffer
 * record, emitted at sys_exit so that it carries the result.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Per-thread state from wrapper entry to sys_exit. When full, the syscall is lost and
 * AT_DROP_THREADS_FULL counts it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AT_DEF_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct at_inflight);
} inflight SEC(".maps");

/* A libc wrapper's syscall instruction lies within this distance of the wrapper's entry
 * (glibc's __sbrk calls __brk, which sits just before it). A wrapper that returned early
 * without a syscall leaves a stale record; the distance check keeps a later raw syscall of
 * the same thread from inheriting its caller. */
#define AT_WRAPPER_SPAN 4096

/* Entry of a libc wrapper (mmap, munmap, ...). The attach cookie says which syscall it
 * issues. The return address on the stack is the exact caller. */
SEC("uprobe")
int BPF_KPROBE(os_wrapper_enter)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct at_inflight st = {};

	if (!traced_lookup(tgid))
		return 0;
	if (bpf_probe_read_user(&st.caller, sizeof(st.caller), (void *)PT_REGS_SP(ctx)))
		st.caller = 0;
	st.wrap_ip = PT_REGS_IP(ctx);
	st.wrap_sys = (__u32)bpf_get_attach_cookie(ctx);
	st.sys = AT_SYS_NR;
	if (bpf_map_update_elem(&inflight, &tid, &st, BPF_ANY))
		drop(AT_DROP_THREADS_FULL);
	return 0;
}

static __always_inline int sys_enter(struct trace_event_raw_sys_enter *ctx, enum at_sys sys,
				     const int nargs)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct task_struct *task;
	struct pt_regs *regs;
	struct at_inflight *st, fresh = {};
	__u64 ip;
	__s64 dist;

	if (!traced_lookup(tgid))
		return 0;
	task = bpf_get_current_task_btf();
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	ip = regs ? BPF_CORE_READ(regs, ip) : 0;

	st = bpf_map_lookup_elem(&inflight, &tid);
	if (st) {
		dist = (__s64)(ip - st->wrap_ip);
		if (dist < 0)
			dist = -dist;
		if ((st->wrap_sys != sys && st->wrap_sys != AT_SYS_ANY) || st->sys != AT_SYS_NR ||
		    dist > AT_WRAPPER_SPAN)
			st->caller = 0; /* stale: not the wrapper of this syscall */
	} else {
		if (bpf_map_update_elem(&inflight, &tid, &fresh, BPF_ANY)) {
			drop(AT_DROP_THREADS_FULL);
			return 0;
		}
		st = bpf_map_lookup_elem(&inflight, &tid);
		if (!st)
			return 0;
	}
	st->sys = sys;
	st->ip = ip;
	st->ts_ns = bpf_ktime_get_ns();
	/* Unrolled by hand (the verifier refuses ctx accesses at a computed offset), and only
	 * as many as the syscall has: a read past its record makes the attach fail. */
	st->args[0] = ctx->args[0];
	if (nargs > 1)
		st->args[1] = ctx->args[1];
	if (nargs > 2)
		st->args[2] = ctx->args[2];
	if (nargs > 3)
		st->args[3] = ctx->args[3];
	if (nargs > 4)
		st->args[4] = ctx->args[4];
	if (nargs > 5)
		st->args[5] = ctx->args[5];
	return 0;
}

struct caller_vma {
	__u64 addr;
	__u64 ino;
	__u64 off;
	__u32 dev;
	char name[32];
};

static long caller_vma_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct caller_vma *cv = data;
	struct file *f = vma->vm_file;

	if (!f)
		return 0;
	cv->ino = BPF_CORE_READ(f, f_inode, i_ino);
	cv->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	cv->off = cv->addr - vma->vm_start + (vma->vm_pgoff << 12);
	bpf_probe_read_kernel_str(cv->name, sizeof(cv->name),
				  BPF_CORE_READ(f, f_path.dentry, d_name.name));
	return 0;
}

static __always_inline int sys_exit(struct trace_event_raw_sys_exit *ctx, enum at_sys sys)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct at_inflight *st;
	struct at_sys_rec *rec;
	long ret = ctx->ret;
	int i;

	if (!traced_lookup(tgid))
		return 0;
	st = bpf_map_lookup_elem(&inflight, &tid);
	if (!st || st->sys != sys) {
		drop(AT_DROP_UNMATCHED_EXIT);
		return 0;
	}
	/* Failed calls change nothing, except brk, which returns the unchanged break. */
	if (ret < 0 && ret > -4096 && sys != AT_SYS_BRK)
		goto out;
	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		drop(AT_DROP_RINGBUF_FULL);
		goto out;
	}
	rec->type = AT_REC_SYSCALL;
	rec->sys = sys;
	rec->pid = tgid;
	rec->tid = tid;
	rec->ts_ns = st->ts_ns;
	rec->caller = st->caller;
	rec->caller_kind = st->caller ? AT_CALLER_WRAPPER : AT_CALLER_IP;
	rec->ip = st->ip;
	for (i = 0; i < 6; i++)
		rec->args[i] = st->args[i];
	rec->ret = ret;
	{
		struct caller_vma cv = { .addr = st->caller ? st->caller : st->ip };

		bpf_find_vma(bpf_get_current_task_btf(), cv.addr, caller_vma_cb, &cv, 0);
		rec->caller_dev = cv.dev;
		rec->caller_ino = cv.ino;
		rec->caller_off = cv.off;
		__builtin_memcpy(rec->caller_file, cv.name, sizeof(cv.name));
	}
	bpf_ringbuf_submit(rec, 0);
out:
	bpf_map_delete_elem(&inflight, &tid);
	return 0;
}

#define AT_SYSCALL_PROGS(name, sys, nargs)                                                    \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                      \
	int os_##name##_enter(struct trace_event_raw_sys_enter *ctx)                     \
	{                                                                                \
		return sys_enter(ctx, sys, nargs);                                       \
	}                                                                                \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                       \
	int os_##name##_exit(struct trace_event_raw_sys_exit *ctx)                       \
	{                                                                                \
		return sys_exit(ctx, sys);                                               \
	}

AT_SYSCALL_PROGS(mmap, AT_SYS_MMAP, 6)
AT_SYSCALL_PROGS(munmap, AT_SYS_MUNMAP, 2)
AT_SYSCALL_PROGS(mremap, AT_SYS_MREMAP, 5)
AT_SYSCALL_PROGS(brk, AT_SYS_BRK, 1)
AT_SYSCALL_PROGS(madvise, AT_SYS_MADVISE, 3)
AT_SYSCALL_PROGS(mprotect, AT_SYS_MPROTECT, 3)
AT_SYSCALL_PROGS(process_madvise, AT_SYS_PROCESS_MADVISE, 5)

static __always_inline void emit_proc(enum at_proc_kind kind, struct task_struct *p, __u32 ppid)
{
	struct at_proc_rec *rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);

	if (!rec) {
		drop(AT_DROP_RINGBUF_FULL);
		return;
	}
	rec->type = AT_REC_PROC;
	rec->kind = kind;
	rec->pid = BPF_CORE_READ(p, tgid);
	rec->ppid = ppid;
	rec->ts_ns = bpf_ktime_get_ns();
	BPF_CORE_READ_STR_INTO(&rec->comm, p, comm);
	bpf_ringbuf_submit(rec, 0);
}

/* A new process (not a thread) forked by a traced one is traced too. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(os_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	__u32 *flags, val;

	if (child->pid != child->tgid)
		return 0;
	flags = traced_lookup(ptgid);
	if (!flags || !(*flags & AT_TRACE_FOLLOW_FORK))
		return 0;
	val = *flags;
	if (bpf_map_update_elem(&traced, &ctgid, &val, BPF_NOEXIST)) {
		drop(AT_DROP_PROCS_FULL);
		return 0;
	}
	emit_proc(AT_PROC_FORK, child, ptgid);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(os_exec, struct task_struct *p)
{
	if (!traced_lookup(p->tgid))
		return 0;
	emit_proc(AT_PROC_EXEC, p, 0);
	return 0;
}

/* Fires per thread. The thread's in-flight state goes; the process leaves the traced map
 * when its last thread exits (signal->live has already dropped to zero then, on any
 * kernel, whatever the tracepoint's own arguments). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(os_exit, struct task_struct *p)
{
	__u32 tid = p->pid, tgid = p->tgid;

	bpf_map_delete_elem(&inflight, &tid);
	if (!traced_lookup(tgid))
		return 0;
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	emit_proc(AT_PROC_EXIT, p, 0);
	bpf_map_delete_elem(&traced, &tgid);
	return 0;
}
