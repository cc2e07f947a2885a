// SPDX-License-Identifier: GPL-2.0-only
/*
 * The os level: syscall tracepoints for mmap, munmap, mremap, brk, madvise, process_madvise
 * and mprotect, and fork/exec/exit of traced processes. One program per syscall, at
 * sys_exit: the arguments are still in the saved user registers there and the user stack is
 * as the caller left it, so the exact caller is found by unwinding out of libc's wrapper in
 * the kernel (find_caller), with no uprobe and so no trap in the traced process. Syscalls
 * are rare, so each one becomes a ring buffer record.
 */
#include "common.bpf.h"

/* Unwind sites of the libc wrappers, filled by user space from .eh_frame. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AT_DEF_MAX_SITES);
	__type(key, struct at_site_key);
	__type(value, struct at_site);
} unwind_sites SEC(".maps");

/* Code address -> file mapping and unwind site, per process generation. A miss costs a
 * bpf_find_vma; an evicted entry is simply looked up again. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AT_DEF_CODE_CACHE);
	__type(key, struct at_code_key);
	__type(value, struct at_code);
} code_cache SEC(".maps");

static long code_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct at_code *c = data;
	struct file *f = vma->vm_file;

	if (!f)
		return 0;
	c->ino = BPF_CORE_READ(f, f_inode, i_ino);
	c->off = c->off - vma->vm_start + (vma->vm_pgoff << 12);
	bpf_probe_read_kernel_str(c->name, sizeof(c->name),
				  BPF_CORE_READ(f, f_path.dentry, d_name.name));
	return 0;
}

static __always_inline struct at_code *code_at(struct task_struct *task, __u32 tgid, __u32 gen,
					       __u64 addr)
{
	struct at_code_key key = { .tgid = tgid, .gen = gen, .addr = addr };
	struct at_code *c = bpf_map_lookup_elem(&code_cache, &key), fresh = {};
	struct at_site_key skey;
	struct at_site *site;

	if (c)
		return c;
	fresh.off = addr; /* code_cb turns it into a file offset */
	/* bpf_find_vma only try-locks the mm: while another thread maps or protects memory it
	 * fails, and that answer must not be cached for the process's generation (its calls
	 * from there would all look like anonymous code). */
	if (bpf_find_vma(task, addr, code_cb, &fresh, 0))
		return NULL;
	if (!fresh.ino)
		fresh.off = 0;
	skey.ino = fresh.ino;
	skey.off = fresh.off;
	site = fresh.ino ? bpf_map_lookup_elem(&unwind_sites, &skey) : NULL;
	fresh.cfa = site ? site->cfa : 0;
	bpf_map_update_elem(&code_cache, &key, &fresh, BPF_ANY);
	return bpf_map_lookup_elem(&code_cache, &key);
}

/* Bumped by user space each time it adds unwind sites: a code address looked up before its
 * file's sites were known (a syscall made while arenatrace attaches) is looked up again,
 * instead of staying "not a wrapper" in the cache for the rest of the trace. */
__u32 sites_gen = 0;

/* Start at the user PC and step out of known wrapper frames: the first address that is not
 * an unwind site is the caller. */
static __always_inline void find_caller(struct task_struct *task, struct pt_regs *regs, __u32 tgid,
					__u32 gen, struct at_sys_rec *rec)
{
	__u64 pc = regs->ip, sp = regs->sp;
	struct at_code *c = NULL;
	int i;

	rec->ip = pc;
	rec->caller_kind = AT_CALLER_IP;
	for (i = 0; i < AT_MAX_UNWIND + 1; i++) {
		__u64 ret;

		c = code_at(task, tgid, gen, pc);
		if (!c) {
			rec->caller_kind = AT_CALLER_UNRESOLVED;
			break;
		}
		if (!c->cfa || i == AT_MAX_UNWIND)
			break;
		if (bpf_probe_read_user(&ret, sizeof(ret), (void *)(sp + c->cfa - 8)))
			break;
		sp += c->cfa;
		pc = ret;
		rec->caller_kind = AT_CALLER_WRAPPER;
	}
	rec->caller = pc;
	if (c) {
		rec->caller_ino = c->ino;
		rec->caller_off = c->off;
		__builtin_memcpy(rec->caller_file, c->name, sizeof(rec->caller_file));
	}
}

static __always_inline int sys_exit(struct trace_event_raw_sys_exit *ctx, enum at_sys sys)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct at_traced *tr = traced_lookup(tgid);
	struct task_struct *task;
	struct pt_regs *regs;
	struct at_sys_rec *rec;
	long ret = ctx->ret;

	if (!tr)
		return 0;
	/* Failed calls change nothing, except brk, which returns the unchanged break. */
	if (ret < 0 && ret > -4096 && sys != AT_SYS_BRK)
		return 0;
	task = bpf_get_current_task_btf();
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return 0;
	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		drop(AT_DROP_RINGBUF_FULL);
		return 0;
	}
	__builtin_memset(rec, 0, sizeof(*rec));
	rec_hdr(&rec->hdr, AT_REC_SYSCALL, sys, tgid);
	/* The x86-64 syscall ABI: rdi, rsi, rdx, r10, r8, r9. regs is a BTF pointer: plain
	 * loads (the verifier makes them fault-safe), no helper call per field. */
	rec->args[0] = regs->di;
	rec->args[1] = regs->si;
	rec->args[2] = regs->dx;
	rec->args[3] = regs->r10;
	rec->args[4] = regs->r8;
	rec->args[5] = regs->r9;
	rec->ret = ret;
	/* The process's generation and the sites' share the cache key's 32 bits: both only
	 * need to differ from the values the cached entries were made with. */
	find_caller(task, regs, tgid, tr->gen + (*(volatile __u32 *)&sites_gen << 24), rec);
	/* New code may now sit where old code was: forget this process's cached lookups. */
	if ((sys == AT_SYS_MMAP || sys == AT_SYS_MPROTECT) && (rec->args[2] & 4 /* PROT_EXEC */))
		__sync_fetch_and_add(&tr->gen, 1);
	submit(rec);
	return 0;
}

#define AT_SYSCALL_PROG(name, sys)                                                                 \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                                 \
	int os_##name##_exit(struct trace_event_raw_sys_exit *ctx)                                 \
	{                                                                                          \
		return sys_exit(ctx, sys);                                                         \
	}

AT_SYSCALL_PROG(mmap, AT_SYS_MMAP)
AT_SYSCALL_PROG(munmap, AT_SYS_MUNMAP)
AT_SYSCALL_PROG(mremap, AT_SYS_MREMAP)
AT_SYSCALL_PROG(brk, AT_SYS_BRK)
AT_SYSCALL_PROG(madvise, AT_SYS_MADVISE)
AT_SYSCALL_PROG(mprotect, AT_SYS_MPROTECT)
AT_SYSCALL_PROG(process_madvise, AT_SYS_PROCESS_MADVISE)

static __always_inline void emit_proc(enum at_proc_kind kind, struct task_struct *p, __u32 ppid)
{
	struct at_proc_rec *rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);

	if (!rec) {
		drop(AT_DROP_RINGBUF_FULL);
		return;
	}
	rec_hdr(&rec->hdr, AT_REC_PROC, kind, BPF_CORE_READ(p, tgid));
	rec->hdr.tid = BPF_CORE_READ(p, pid);
	rec->ppid = ppid;
	rec->pad = 0;
	BPF_CORE_READ_STR_INTO(&rec->comm, p, comm);
	/* A new process or program waits for its uprobes (heap, arena) until user space reads
	 * this record: wake it now rather than at its next poll (up to 100 ms later), which
	 * is how long a forked child's calls would go unseen. Exits can wait for the batch. */
	if (kind == AT_PROC_EXIT)
		submit(rec);
	else
		bpf_ringbuf_submit(rec, BPF_RB_FORCE_WAKEUP);
}

/* A new process (not a thread) forked by a traced one is traced too. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(os_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	struct at_traced *tr, val;

	if (child->pid != child->tgid)
		return 0;
	tr = traced_lookup(ptgid);
	if (!tr || !(tr->flags & AT_TRACE_FOLLOW_FORK))
		return 0;
	/* Its copy of the parent's blocks can be freed: they are older than its counters. */
	val.flags = tr->flags | AT_TRACE_OLD_BLOCKS;
	val.gen = 0;
	if (bpf_map_update_elem(&traced, &ctgid, &val, BPF_NOEXIST)) {
		drop(AT_DROP_PROCS_FULL);
		return 0;
	}
	emit_proc(AT_PROC_FORK, child, ptgid);
	return 0;
}

/* -a: does the process (the current task, at its exec) pass the --comm and --cgroup
 * filters? */
static __always_inline bool wanted_at_exec(struct task_struct *p)
{
	char comm[16] = {};

	if (comm_filter_on) {
		BPF_CORE_READ_STR_INTO(&comm, p, comm);
		if (!bpf_map_lookup_elem(&comm_filter, comm))
			return false;
	}
	return !cgroup_filter_id ||
	       bpf_get_current_ancestor_cgroup_id(cgroup_filter_level) == cgroup_filter_id;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(os_exec, struct task_struct *p)
{
	struct at_traced *tr = traced_lookup(p->tgid);

	if (!tr && trace_all && wanted_at_exec(p)) {
		/* From its first instruction: nothing of the new program is missed. */
		struct at_traced val = { .flags = AT_TRACE_FOLLOW_FORK };
		__u32 tgid = p->tgid;

		if (bpf_map_update_elem(&traced, &tgid, &val, BPF_NOEXIST))
			drop(AT_DROP_PROCS_FULL);
		tr = traced_lookup(tgid);
	}
	if (!tr)
		return 0;
	__sync_fetch_and_add(&tr->gen, 1);
	__sync_fetch_and_and(&tr->flags, ~AT_TRACE_OLD_BLOCKS);
	/* The new program's heap starts empty (the other threads are gone by now, their
	 * counters folded into heap_stats). */
	for (__u32 id = 1; id <= AT_MAX_HEAP_IDS; id++) {
		struct at_heap_key key = { .tgid = p->tgid, .alloc = id };

		bpf_map_delete_elem(&heap_stats, &key);
	}
	{
		struct at_heap_thread *th = bpf_task_storage_get(&heap_thread, p, 0, 0);

		if (th) {
			__builtin_memset(th->slot, 0, sizeof(th->slot));
			th->table = 0;
		}
	}
	emit_proc(AT_PROC_EXEC, p, 0);
	return 0;
}

/* --stacks: send the exiting process's executable file mappings. */
const volatile bool os_exit_vmas = false;

extern int bpf_iter_task_vma_new(struct bpf_iter_task_vma *it, struct task_struct *task,
				 __u64 addr) __ksym;
extern struct vm_area_struct *bpf_iter_task_vma_next(struct bpf_iter_task_vma *it) __ksym;
extern void bpf_iter_task_vma_destroy(struct bpf_iter_task_vma *it) __ksym;

static __always_inline void exit_vmas(struct task_struct *p, __u32 tgid)
{
	struct bpf_iter_task_vma it;
	struct vm_area_struct *vma;
	int n = 0;

	/* Fails when the mm is gone or its lock is held (a uprobe being put in place or
	 * removed takes it for writing): counted, and user space keeps the mappings it read
	 * last. */
	if (bpf_iter_task_vma_new(&it, p, 0))
		drop(AT_DROP_EXIT_VMAS);
	while ((vma = bpf_iter_task_vma_next(&it)) && n < AT_EXIT_VMAS) {
		struct file *f = vma->vm_file;
		struct at_vma_rec *rec;
		dev_t dev;

		if (!f || !(vma->vm_flags & 0x4 /* VM_EXEC */))
			continue;
		rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
		if (!rec) {
			drop(AT_DROP_RINGBUF_FULL);
			break;
		}
		rec_hdr(&rec->hdr, AT_REC_VMA, 0, tgid);
		rec->start = vma->vm_start;
		rec->end = vma->vm_end;
		rec->offset = vma->vm_pgoff << 12;
		rec->ino = BPF_CORE_READ(f, f_inode, i_ino);
		dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
		rec->dev_major = dev >> 20;
		rec->dev_minor = dev & 0xfffff;
		bpf_probe_read_kernel_str(rec->name, sizeof(rec->name),
					  BPF_CORE_READ(f, f_path.dentry, d_name.name));
		submit(rec);
		n++;
	}
	bpf_iter_task_vma_destroy(&it);
}

/* Fires per thread; the process leaves the traced map when its last thread exits
 * (signal->live has already dropped to zero then, on any kernel, whatever the tracepoint's
 * own arguments). Its code-cache entries age out of the LRU map. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(os_exit, struct task_struct *p)
{
	__u32 tgid = p->tgid;

	if (!traced_lookup(tgid))
		return 0;
	/* Every exiting thread hands its heap counters over, before the process's exit
	 * record, after which user space reads them for the last time. */
	fold_thread(p);
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	if (os_exit_vmas)
		exit_vmas(p, tgid);
	emit_proc(AT_PROC_EXIT, p, 0);
	bpf_map_delete_elem(&traced, &tgid);
	return 0;
}
