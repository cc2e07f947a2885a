/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ABI shared by the BPF programs and user space: record layouts, keys, limits and drop
 * reasons. Fixed-width types only; this header includes nothing and compiles after either
 * vmlinux.h or <linux/types.h>. Bump AT_ABI_VERSION whenever a layout changes; user/
 * asserts sizes and offsets at compile time.
 */
#ifndef ARENATRACE_H
#define ARENATRACE_H

#define AT_ABI_VERSION 1

/* Default capacities; user space may override them before load (-C key=value). */
#define AT_DEF_MAX_PROCS 8192
#define AT_DEF_MAX_THREADS 32768
#define AT_DEF_RINGBUF_BYTES (4u << 20)

/* Record type tags: every ring buffer record starts with one. */
enum at_rec_type {
	AT_REC_SYSCALL = 1,
	AT_REC_PROC = 2,
};

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
	/* wrapper kind only: libc's syscall(), which may issue any of the above */
	AT_SYS_ANY = 15,
};

/* How the caller address of a syscall record was found. */
enum at_caller_kind {
	AT_CALLER_IP = 0,      /* no libc wrapper seen: caller is the syscall instruction */
	AT_CALLER_WRAPPER = 1, /* return address of the libc wrapper that issued it */
};

/* Why data was lost; index into the stats counters. */
enum at_drop {
	AT_DROP_RINGBUF_FULL = 0,  /* ring buffer reservation failed: event lost */
	AT_DROP_THREADS_FULL = 1,  /* per-thread in-flight map full: event lost */
	AT_DROP_PROCS_FULL = 2,    /* traced-process map full: child not followed */
	AT_DROP_UNMATCHED_EXIT = 3, /* sys_exit without its sys_enter (attached mid-call) */
	AT_DROP_NR = 4,
};

enum at_proc_kind {
	AT_PROC_FORK = 1,
	AT_PROC_EXEC = 2,
	AT_PROC_EXIT = 3,
};

/* Bits of the traced-process map value. */
#define AT_TRACE_FOLLOW_FORK 0x1u

/* A memory syscall, emitted at sys_exit with the arguments saved at sys_enter. */
struct at_sys_rec {
	__u32 type; /* AT_REC_SYSCALL */
	__u32 sys;  /* enum at_sys */
	__u32 pid;  /* tgid */
	__u32 tid;
	__u64 ts_ns; /* CLOCK_MONOTONIC at sys_enter */
	__u64 caller;
	__u64 ip; /* user instruction pointer at the syscall */
	__u64 args[6];
	__s64 ret;
	__u32 caller_kind; /* enum at_caller_kind */
	/* The file mapping that holds the caller (resolved in the kernel, so that records of
	 * processes that have already exited can still be attributed). ino 0: anonymous code
	 * or no mapping. */
	__u32 caller_dev;
	__u64 caller_ino;
	__u64 caller_off; /* file offset of the caller address */
	char caller_file[32]; /* basename of the mapped file */
};

/* Fork, exec or exit of a traced process. */
struct at_proc_rec {
	__u32 type; /* AT_REC_PROC */
	__u32 kind; /* enum at_proc_kind */
	__u32 pid;
	__u32 ppid;
	__u64 ts_ns;
	char comm[16];
};

/* Per-thread state between a libc wrapper's entry, sys_enter and sys_exit. */
struct at_inflight {
	__u64 caller;    /* wrapper return address, 0 if none */
	__u64 wrap_ip;   /* wrapper entry address */
	__u64 ts_ns;
	__u64 ip;
	__u64 args[6];
	__u32 wrap_sys;  /* enum at_sys the wrapper issues, AT_SYS_ANY for syscall() */
	__u32 sys;       /* set at sys_enter, AT_SYS_NR before */
};

#endif /* ARENATRACE_H */
