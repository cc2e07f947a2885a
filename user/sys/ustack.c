// SPDX-License-Identifier: GPL-2.0-only
#include "ustack.h"

#include <elfutils/libdwfl.h>
#include <string.h>
#include <time.h>

#include "abi.h"
#include "log.h"
#include "stacks.h"

/* x86-64's DWARF register numbers. */
enum { DW_RBX = 3, DW_RBP = 6, DW_RSP = 7, DW_R12 = 12 };

/* The sample being unwound, which libdw's callbacks read. */
struct sample {
	int tid;
	const uint64_t *regs;
	const uint8_t *stack;
	size_t len;
	bool given; /* next_thread: the one thread was given */
};

struct proc {
	int pid;
	uint64_t used; /* ustack's clock at its last use */
	Dwfl *dwfl;
	struct sample *cur;
	bool stale;	  /* mapped new code since its maps were read */
	uint64_t read_ns; /* when its maps were read last */
};

/* Each proc has its own allocation: libdw keeps its address as the callbacks' argument. */
struct ustack {
	struct proc *procs[USTACK_MAX_PROCS];
	size_t nprocs;
	uint64_t clock;
	struct stacks *stacks; /* the mappings of processes gone */
};

/* The same lookups as stacks.c: the files by their path in the process's mount namespace,
 * a debug file by its build-id or debuglink for .debug_frame where .eh_frame is missing. */
static const Dwfl_Callbacks proc_cbs = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
};

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct proc *p = arg;

	(void)dwfl;
	if (!p->cur || p->cur->given)
		return 0;
	p->cur->given = true;
	*thread_argp = p->cur;
	return p->cur->tid;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct proc *p = arg;

	(void)dwfl;
	if (!p->cur || p->cur->tid != tid)
		return false;
	*thread_argp = p->cur;
	return true;
}

/* Only the copied stack can be read: a word outside it ends the unwinding. */
static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct proc *p = arg;
	const struct sample *s = p->cur;
	uint64_t sp;

	(void)dwfl;
	if (!s)
		return false;
	sp = s->regs[AT_UREG_SP];
	if (addr < sp || addr - sp > s->len || s->len - (addr - sp) < sizeof(*result))
		return false;
	memcpy(result, s->stack + (addr - sp), sizeof(*result));
	return true;
}

/* The registers a return probe has of the caller: the callee-saved ones, sp and the return
 * address as pc; the others are undefined (the CFI of a caller never needs them). */
static bool set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	const struct sample *s = thread_arg;
	Dwarf_Word bx = s->regs[AT_UREG_BX],
		   bp_sp[2] = { s->regs[AT_UREG_BP], s->regs[AT_UREG_SP] },
		   r12_15[4] = { s->regs[AT_UREG_R12], s->regs[AT_UREG_R13], s->regs[AT_UREG_R14],
				 s->regs[AT_UREG_R15] };

	dwfl_thread_state_register_pc(thread, s->regs[AT_UREG_IP]);
	return dwfl_thread_state_registers(thread, DW_RBX, 1, &bx) &&
	       dwfl_thread_state_registers(thread, DW_RBP, 2, bp_sp) &&
	       dwfl_thread_state_registers(thread, DW_R12, 4, r12_15);
}

static const Dwfl_Thread_Callbacks thread_cbs = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

/* For a process gone: its files by path, as the mappings last known place them. */
static const Dwfl_Callbacks gone_cbs = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
};

struct ustack *ustack__new(struct stacks *stacks)
{
	struct ustack *u = calloc(1, sizeof(struct ustack));

	if (u)
		u->stacks = stacks;
	return u;
}

struct gone {
	Dwfl *dwfl;
	const char *paths[64]; /* reported: a file with two executable mappings is one module */
	size_t n;
};

static void report_module(void *arg, const char *path, uint64_t start, uint64_t end, uint64_t bias)
{
	struct gone *g = arg;

	(void)start;
	(void)end;
	for (size_t i = 0; i < g->n; i++)
		if (!strcmp(g->paths[i], path))
			return;
	if (g->n < AT_ARRAY_SIZE(g->paths) && dwfl_report_elf(g->dwfl, path, path, -1, bias, false))
		g->paths[g->n++] = path;
}

/* A gone process's modules: its files by path, where the mappings last known placed them. */
static Dwfl *gone_report(struct ustack *u, int pid)
{
	struct gone g = { .dwfl = u->stacks ? dwfl_begin(&gone_cbs) : NULL };

	if (!g.dwfl)
		return NULL;
	dwfl_report_begin(g.dwfl);
	if (!stacks_modules(u->stacks, pid, report_module, &g) &&
	    !dwfl_report_end(g.dwfl, NULL, NULL) && g.n) {
		at_note(3, "pid %d: its samples are unwound with the mappings last known", pid);
		return g.dwfl;
	}
	dwfl_end(g.dwfl);
	return NULL;
}

/* libdw's modules of pid: from /proc/PID/maps while it lives, else (gone_ok) from the
 * mappings stacks last knew of it. */
static Dwfl *report(struct ustack *u, int pid, bool gone_ok)
{
	Dwfl *dwfl = dwfl_begin(&proc_cbs);

	if (!dwfl)
		return NULL;
	dwfl_report_begin(dwfl);
	if (!dwfl_linux_proc_report(dwfl, pid) && !dwfl_report_end(dwfl, NULL, NULL))
		return dwfl;
	dwfl_end(dwfl);
	return gone_ok ? gone_report(u, pid) : NULL;
}

static void proc_drop(struct ustack *u, size_t i)
{
	if (u->procs[i]->dwfl)
		dwfl_end(u->procs[i]->dwfl);
	free(u->procs[i]);
	u->procs[i] = u->procs[--u->nprocs];
}

void ustack__free(struct ustack *u)
{
	if (!u)
		return;
	while (u->nprocs)
		proc_drop(u, 0);
	free(u);
}

void ustack_forget(struct ustack *u, int pid)
{
	for (size_t i = 0; i < u->nprocs; i++)
		if (u->procs[i]->pid == pid) {
			proc_drop(u, i);
			return;
		}
}

void ustack_stale(struct ustack *u, int pid)
{
	for (size_t i = 0; i < u->nprocs; i++)
		if (u->procs[i]->pid == pid)
			u->procs[i]->stale = true;
}

/* Its maps again into its Dwfl: a module reported again at the same place is kept, with
 * its ELF and CFI read already; one no longer there goes. False when the maps cannot be
 * read (it is gone). */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool refresh(struct proc *p)
{
	p->stale = false;
	p->read_ns = now_ns();
	dwfl_report_begin(p->dwfl);
	return !dwfl_linux_proc_report(p->dwfl, p->pid) && !dwfl_report_end(p->dwfl, NULL, NULL);
}

/* libdw's view of pid's modules, read now when not kept; NULL when they cannot be read
 * (the process is gone, and gone_ok is false or stacks knows none of its mappings): kept
 * for nothing then, so that a later call (at its exit) tries again. */
static struct proc *proc_of(struct ustack *u, int pid, bool gone_ok)
{
	struct proc *p = NULL;
	size_t oldest = 0;
	Dwfl *dwfl;

	for (size_t i = 0; i < u->nprocs; i++) {
		if (u->procs[i]->pid == pid) {
			u->procs[i]->used = ++u->clock;
			if (!u->procs[i]->stale || refresh(u->procs[i]))
				return u->procs[i];
			/* Gone since: read as a process gone, from here. */
			proc_drop(u, i);
			break;
		}
		if (u->procs[i]->used < u->procs[oldest]->used)
			oldest = i;
	}
	p = calloc(1, sizeof(*p));
	dwfl = p ? report(u, pid, gone_ok) : NULL;
	if (!dwfl || !dwfl_attach_state(dwfl, NULL, pid, &thread_cbs, p)) {
		if (dwfl)
			dwfl_end(dwfl);
		free(p);
		return NULL;
	}
	if (u->nprocs == USTACK_MAX_PROCS)
		proc_drop(u, oldest);
	*p = (struct proc){ .pid = pid, .used = ++u->clock, .dwfl = dwfl, .read_ns = now_ns() };
	u->procs[u->nprocs++] = p;
	return p;
}

struct walk {
	uint64_t *ips;
	size_t n, max;
};

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct walk *w = arg;
	Dwarf_Addr pc;

	if (!dwfl_frame_pc(state, &pc, NULL) || !pc)
		return DWARF_CB_ABORT;
	w->ips[w->n++] = pc;
	return w->n < w->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

size_t ustack_unwind(struct ustack *u, int pid, int tid, const uint64_t *regs, const uint8_t *stack,
		     size_t len, uint64_t *ips, size_t max, bool gone_ok, bool *gone)
{
	struct sample s = { .tid = tid, .regs = regs, .stack = stack, .len = len };
	struct walk w = { .ips = ips, .max = max };
	struct proc *p;
	int rc;

	*gone = false;
	if (!max || !regs[AT_UREG_IP])
		return 0;
	p = proc_of(u, pid, gone_ok);
	if (!p) {
		*gone = true;
		if (!gone_ok)
			return 0;
		ips[0] = regs[AT_UREG_IP];
		return 1;
	}
	p->cur = &s;
	rc = dwfl_getthread_frames(p->dwfl, tid, frame_cb, &w);
	/* Stopped at code in no module: a library loaded since its maps were read, which
	 * nothing said (the os level off: no mmap records). Its maps again, at most every
	 * 100 ms (code that is in no file, a JIT's, stays in none). */
	if (rc < 0 && w.n && w.n < max && !dwfl_addrmodule(p->dwfl, ips[w.n - 1]) &&
	    now_ns() - p->read_ns > 100000000u) {
		w.n = 0;
		if (refresh(p))
			rc = dwfl_getthread_frames(p->dwfl, tid, frame_cb, &w);
	}
	p->cur = NULL;
	if (rc < 0)
		at_note(3, "pid %d: %zu frames unwound: %s", pid, w.n, dwfl_errmsg(-1));
	/* rc 0: the unwinder reached the outermost frame (its return address undefined); else
	 * the copy or the CFI ended, or max frames were had. */
	if (!w.n) {
		ips[0] = regs[AT_UREG_IP];
		return 1;
	}
	return w.n;
}
