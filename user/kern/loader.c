// SPDX-License-Identifier: GPL-2.0-only
#include "loader.h"

#include <limits.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "abi.h"
#include "attrib.h"
#include "loader_int.h"
#include "log.h"
#include "procfs.h"
#include "syms.h"
#include "unwind.h"

static void reaper_end(struct loader *l);

/* The ABI layouts are checked beside their types, in bpf/arenatrace.h. */

/* struct loader: loader_int.h; the maps it reads: maps.c. */
#define AT_MAX_SITES_PER_FILE 256

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && at_log_level < 3)
		return 0;
	if (level == LIBBPF_INFO && at_log_level < 2)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct loader *l = ctx;

	return l->fn(l->ctx, data, len);
}

/* The kernel's uprobe_multi link (6.6), which libbpf 1.1 does not wrap: the UAPI constants
 * and the link_create layout, stable since. */
#define AT_BPF_TRACE_UPROBE_MULTI 48
#define AT_BPF_F_UPROBE_MULTI_RETURN 1u

struct uprobe_multi_attr {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__u64 path;
	__u64 offsets;
	__u64 ref_ctr_offsets;
	__u64 cookies;
	__u32 cnt;
	__u32 multi_flags;
	__u32 pid;
	__u32 pad;
};

static int uprobe_multi_link(int prog_fd, const char *path, const uint64_t *offs,
			     const uint64_t *cookies, size_t n, int pid, bool ret)
{
	struct uprobe_multi_attr a = {
		.prog_fd = (__u32)prog_fd,
		.attach_type = AT_BPF_TRACE_UPROBE_MULTI,
		.path = (__u64)(uintptr_t)path,
		.offsets = (__u64)(uintptr_t)offs,
		.cookies = (__u64)(uintptr_t)cookies,
		.cnt = (__u32)n,
		.multi_flags = ret ? AT_BPF_F_UPROBE_MULTI_RETURN : 0,
		.pid = (__u32)pid,
	};
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	memcpy(&attr, &a, sizeof(a));
	return (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
}

/* Whether this kernel takes uprobe_multi links: a trivial program on arenatrace's own main,
 * which is never called again. */
static bool probe_uprobe_multi(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, po, .expected_attach_type = AT_BPF_TRACE_UPROBE_MULTI);
	uint64_t off, cookie = 0;
	struct syms *s = syms__new("/proc/self/exe");
	int prog = -1, link = -1;

	if (s && !syms_offset_of(s, "main", &off)) {
		prog = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "at_probe", "GPL", insns, 2, &po);
		if (prog >= 0)
			link = uprobe_multi_link(prog, "/proc/self/exe", &off, &cookie, 1, getpid(),
						 false);
	}
	syms__free(s);
	if (link >= 0)
		close(link);
	if (prog >= 0)
		close(prog);
	return link >= 0;
}

/* --cgroup PATH (checked to exist before): the cgroup v2 directory's inode is its id; its
 * depth below the root is the ancestor level the BPF side compares at. */
static int cgroup_filter(const char *path, __u64 *id, __u32 *level)
{
	char dir[PATH_MAX];
	struct stat st;
	int err = procfs_cgroup_dir(path, dir, sizeof(dir), &st);

	if (err) {
		at_err("no cgroup '%s'", path);
		return err;
	}
	*id = st.st_ino;
	*level = 0;
	while (*path == '/')
		path++;
	for (const char *c = path; *c; c++)
		if (*c != '/' && (c == path || c[-1] == '/'))
			(*level)++;
	return 0;
}

struct loader *loader__new(const struct loader_opts *o, loader_event_fn fn, void *ctx)
{
	struct loader *l = calloc(1, sizeof(*l));
	int err;

	if (!l)
		return NULL;
	l->fn = fn;
	l->ctx = ctx;
	l->stats_fd = -1;
	pthread_mutex_init(&l->reap_lock, NULL);
	pthread_cond_init(&l->reap_cond, NULL);
	libbpf_set_print(libbpf_print);
	l->skel = arenatrace_bpf__open();
	if (!l->skel) {
		err = -errno;
		at_err("cannot open the BPF object: %s", strerror(-err));
		goto fail;
	}
	bpf_map__set_max_entries(l->skel->maps.traced, (__u32)o->max_procs);
	bpf_map__set_max_entries(l->skel->maps.code_cache, (__u32)o->code_cache);
	bpf_map__set_max_entries(l->skel->maps.heap_stats, (__u32)o->heap_stats);
	/* heap_table: buckets for at least heap_live blocks; heap_live, its overflow, a
	 * sixteenth of that. Both at their smallest when the heap level is off. */
	l->table_bits = 2;
	while (o->level_heap && ((uint64_t)AT_LIVE_WAYS << l->table_bits) < o->heap_live)
		l->table_bits++;
	l->skel->rodata->heap_table_bits = l->table_bits;
	bpf_map__set_max_entries(l->skel->maps.heap_table, 1u << l->table_bits);
	bpf_map__set_max_entries(l->skel->maps.heap_live, o->level_heap && o->heap_live / 16 > 1024
								  ? (__u32)(o->heap_live / 16)
								  : 1024);
	l->ncpus = libbpf_num_possible_cpus();
	l->skel->rodata->heap_floor = o->heap_floor;
	l->skel->rodata->heap_stacks = o->stacks;
	l->skel->rodata->heap_unwind = o->stacks && o->unwind_rate;
	l->skel->rodata->unwind_rate = o->unwind_rate ? o->unwind_rate : 1;
	if (o->stacks && o->unwind_rate) {
		/* The stack maps are not used: samples go through the ring. */
		bpf_map__set_max_entries(l->skel->maps.heap_stack_traces, 1);
		bpf_map__set_max_entries(l->skel->maps.heap_stack_live, 1);
	}
	l->skel->rodata->os_exit_vmas = o->stacks;
	l->skel->rodata->arena_watch = o->level_arena && o->level_heap;
	l->skel->rodata->trace_all = o->all;
	l->skel->rodata->comm_filter_on = o->ncomms > 0;
	if (o->cgroup) {
		err = cgroup_filter(o->cgroup, &l->skel->rodata->cgroup_filter_id,
				    &l->skel->rodata->cgroup_filter_level);
		if (err)
			goto fail;
	}
	bpf_map__set_max_entries(l->skel->maps.arena_chunks, (__u32)o->arena_chunks);
	/* Levels not asked for are not even loaded. */
	if ((o->level_heap || o->level_arena) && probe_uprobe_multi()) {
		struct bpf_program *multi[] = {
			l->skel->progs.heap_enter, l->skel->progs.heap_exit,
			l->skel->progs.heap_free,  l->skel->progs.arena_enter,
			l->skel->progs.arena_exit, l->skel->progs.arena_event
		};

		l->uprobe_multi = true;
		for (size_t i = 0; i < AT_ARRAY_SIZE(multi); i++)
			bpf_program__set_expected_attach_type(multi[i], AT_BPF_TRACE_UPROBE_MULTI);
	} else if (o->level_heap || o->level_arena) {
		at_note(1, "no uprobe_multi links (kernel 6.6): one perf-event uprobe per probe "
			   "point");
	}
	if (!o->level_arena) {
		bpf_program__set_autoload(l->skel->progs.arena_enter, false);
		bpf_program__set_autoload(l->skel->progs.arena_exit, false);
		bpf_program__set_autoload(l->skel->progs.arena_event, false);
		bpf_program__set_autoload(l->skel->progs.arena_usdt, false);
	}
	if (!o->level_heap) {
		bpf_program__set_autoload(l->skel->progs.heap_iter, false);
		bpf_program__set_autoload(l->skel->progs.heap_enter, false);
		bpf_program__set_autoload(l->skel->progs.heap_exit, false);
		bpf_program__set_autoload(l->skel->progs.heap_free, false);
	}
	if (!o->level_os) {
		struct bpf_program *prog;

		bpf_object__for_each_program(prog, l->skel->obj)
			if (!strncmp(bpf_program__section_name(prog), "tracepoint/syscalls/", 20))
				bpf_program__set_autoload(prog, false);
	}
	bpf_map__set_max_entries(l->skel->maps.unwind_sites, (__u32)o->max_sites);
	bpf_map__set_max_entries(l->skel->maps.events, (__u32)o->ringbuf_bytes);
	err = arenatrace_bpf__load(l->skel);
	if (err) {
		at_err("cannot load the BPF programs: %s (run with -vv for the verifier log)",
		       strerror(-err));
		goto fail;
	}
	for (size_t i = 0; i < o->ncomms; i++) {
		char key[16] = { 0 };
		__u8 one = 1;

		memcpy(key, o->comms[i], strnlen(o->comms[i], 15));
		bpf_map__update_elem(l->skel->maps.comm_filter, key, sizeof(key), &one, sizeof(one),
				     BPF_ANY);
	}
	l->table = mmap(NULL, sizeof(*l->table) << l->table_bits, PROT_READ | PROT_WRITE,
			MAP_SHARED, bpf_map__fd(l->skel->maps.heap_table), 0);
	if (l->table == MAP_FAILED) {
		err = -errno;
		l->table = NULL;
		at_err("cannot map the heap table: %s", strerror(-err));
		goto fail;
	}
	l->rb = ring_buffer__new(bpf_map__fd(l->skel->maps.events), on_event, l, NULL);
	if (!l->rb) {
		err = -errno;
		at_err("cannot open the ring buffer: %s", strerror(-err));
		goto fail;
	}
	return l;
fail:
	loader__free(l);
	errno = -err;
	return NULL;
}

void loader__free(struct loader *l)
{
	if (!l)
		return;
	reaper_end(l);
	ring_buffer__free(l->rb);
	bpf_link__destroy(l->iter_link);
	if (l->stats_fd >= 0)
		close(l->stats_fd);
	free(l->snap);
	free(l->gone);
	if (l->table)
		munmap(l->table, sizeof(*l->table) << l->table_bits);
	for (size_t i = 0; i < l->nlinks; i++)
		bpf_link__destroy(l->links[i]);
	arenatrace_bpf__destroy(l->skel);
	free(l);
}

static int keep_link(struct loader *l, struct bpf_link *link)
{
	if (!link)
		return -errno;
	if (l->nlinks == AT_MAX_LINKS) {
		bpf_link__destroy(link);
		return -ENOSPC;
	}
	l->links[l->nlinks++] = link;
	return 0;
}

/* A preallocated hash element: the kernel's header, the key and the value, 8-byte rounded. */
static uint64_t htab_elem(uint64_t key, uint64_t value)
{
	return 48 + ((key + 7) & ~7ull) + ((value + 7) & ~7ull);
}

uint64_t loader_kernel_bytes(const struct loader_opts *o, int ncpus, const char **largest)
{
	unsigned bits = 2;
	uint64_t sum = 0, most = 0, live;

	while (o->level_heap && ((uint64_t)AT_LIVE_WAYS << bits) < o->heap_live)
		bits++;
	live = o->level_heap && o->heap_live / 16 > 1024 ? o->heap_live / 16 : 1024;
	const struct {
		const char *knob;
		uint64_t bytes;
	} m[] = {
		{ "max_procs", o->max_procs * htab_elem(4, sizeof(struct at_traced)) },
		{ "code_cache",
		  o->code_cache * htab_elem(sizeof(struct at_code_key), sizeof(struct at_code)) },
		{ "heap_stats", o->heap_stats * (htab_elem(sizeof(struct at_heap_key), 8) +
						 (uint64_t)ncpus * sizeof(struct at_heap_stats)) },
		{ "heap_live",
		  ((uint64_t)sizeof(struct at_live_bucket) << bits) +
			  live * htab_elem(sizeof(struct at_live_key), sizeof(struct at_live)) },
		{ "arena_chunks", o->arena_chunks * htab_elem(sizeof(struct at_chunk_key), 8) },
		{ "max_sites",
		  o->max_sites * htab_elem(sizeof(struct at_site_key), sizeof(struct at_site)) },
		{ "ringbuf_bytes", o->ringbuf_bytes },
	};

	for (size_t i = 0; i < AT_ARRAY_SIZE(m); i++) {
		sum += m[i].bytes;
		if (m[i].bytes > most) {
			most = m[i].bytes;
			*largest = m[i].knob;
		}
	}
	return sum;
}

int loader_attach_tracepoints(struct loader *l)
{
	struct bpf_program *prog;
	int err;

	bpf_object__for_each_program(prog, l->skel->obj) {
		/* The heap and arena probes are attached per process; unloaded levels are
		 * skipped. */
		if (!strncmp(bpf_program__section_name(prog), "uprobe", 6) ||
		    !strncmp(bpf_program__section_name(prog), "uretprobe", 9) ||
		    !strncmp(bpf_program__section_name(prog), "usdt", 4) ||
		    !strncmp(bpf_program__section_name(prog), "iter/", 5) ||
		    !bpf_program__autoload(prog))
			continue;
		err = keep_link(l, bpf_program__attach(prog));
		if (err) {
			at_err("cannot attach '%s': %s", bpf_program__name(prog), strerror(-err));
			return err;
		}
	}
	return 0;
}

int loader_add_file(struct loader *l, const char *path)
{
	struct unwind_site sites[AT_MAX_SITES_PER_FILE];
	struct stat st;
	int n;

	if (stat(path, &st))
		return -errno;
	for (size_t i = 0; i < l->nfiles; i++)
		if (l->files[i].dev == st.st_dev && l->files[i].ino == st.st_ino)
			return 0;
	if (l->nfiles == AT_MAX_FILES)
		return -ENOSPC;
	n = unwind_sites(path, sites, AT_ARRAY_SIZE(sites));
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		struct at_site_key key = { .ino = st.st_ino, .off = sites[i].off };
		struct at_site val = { .cfa = sites[i].cfa };

		if (bpf_map__update_elem(l->skel->maps.unwind_sites, &key, sizeof(key), &val,
					 sizeof(val), BPF_ANY)) {
			at_err("the unwind-site map is full: raise -C max_sites");
			return -errno;
		}
	}
	l->files[l->nfiles++] = (struct attached_file){ st.st_dev, st.st_ino };
	if (n)
		__atomic_add_fetch(&l->skel->bss->sites_gen, 1, __ATOMIC_SEQ_CST);
	at_note(1, "%d unwind sites in the memory wrappers of '%s'", n, path);
	return 0;
}

struct libc_scan {
	struct loader *l;
	int found;
};

/* The wrappers' unwind sites of each libc the process maps (through /proc/PID/root). */
static int scan_libc(void *arg, const char *path, const char *name)
{
	struct libc_scan *sc = arg;
	const char *lib = attrib_library(name);
	int err;

	if (!lib || strcmp(lib, "glibc"))
		return 0;
	err = loader_add_file(sc->l, path);
	sc->found += !err;
	return err;
}

int loader_add_process(struct loader *l, int pid)
{
	struct libc_scan sc = { .l = l };
	char exe[64];
	int err = procfs_each_exec_file(pid, scan_libc, &sc);

	if (sc.found)
		return 0;
	if (err)
		return err;
	/* No shared libc: a static executable carries its own wrappers. */
	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	err = loader_add_file(l, exe);
	if (err == -ENOENT || err == -ENODATA)
		at_note(2,
			"pid %d has no libc wrappers: its syscalls are attributed by "
			"instruction pointer only",
			pid);
	return err == -ENOENT || err == -ENODATA ? 0 : err;
}

int loader_trace_pid(struct loader *l, int pid, bool follow, bool running)
{
	__u32 key = (__u32)pid;
	struct at_traced val = { .flags = (follow ? AT_TRACE_FOLLOW_FORK : 0) |
					  (running ? AT_TRACE_OLD_BLOCKS : 0) };

	if (bpf_map__update_elem(l->skel->maps.traced, &key, sizeof(key), &val, sizeof(val),
				 BPF_ANY))
		return -errno;
	return 0;
}

int loader_poll(struct loader *l, int timeout_ms)
{
	int n = ring_buffer__poll(l->rb, timeout_ms);

	/* Records are submitted without a wakeup until a batch builds up: take whatever is
	 * there after every poll. */
	if (n >= 0)
		n = ring_buffer__consume(l->rb);
	return n;
}

void loader_drops(const struct loader *l, uint64_t drops[AT_DROP_NR])
{
	for (int i = 0; i < AT_DROP_NR; i++)
		drops[i] = __atomic_load_n(&l->skel->bss->drops[i], __ATOMIC_RELAXED);
}

struct loader_link {
	int fd;
	struct bpf_link *link;
};

void loader_link__destroy(struct loader_link *k)
{
	if (!k)
		return;
	if (k->fd >= 0)
		close(k->fd);
	bpf_link__destroy(k->link);
	free(k);
}

/* Closing a uprobe link waits for the kernel's grace periods (tens of milliseconds each):
 * done on the main thread at every exit, it delays the records behind it, and with them the
 * probes of the next forked child, whose calls go unseen until then. The links of exited
 * processes are closed by these threads instead: one more while more links wait than
 * threads close them (up to AT_MAX_REAPERS), as concurrent closes share grace periods. */
static void *reaper_main(void *arg)
{
	struct loader *l = arg;

	pthread_mutex_lock(&l->reap_lock);
	for (;;) {
		struct loader_link *k;

		while (!l->nreap && !l->reaper_stop)
			pthread_cond_wait(&l->reap_cond, &l->reap_lock);
		if (!l->nreap)
			break;
		k = l->reap[--l->nreap];
		pthread_mutex_unlock(&l->reap_lock);
		loader_link__destroy(k);
		pthread_mutex_lock(&l->reap_lock);
	}
	pthread_mutex_unlock(&l->reap_lock);
	return NULL;
}

void loader_link__retire(struct loader *l, struct loader_link *k)
{
	if (!k)
		return;
	pthread_mutex_lock(&l->reap_lock);
	if (l->nreap >= l->nreapers && l->nreapers < AT_MAX_REAPERS) {
		pthread_attr_t attr;

		/* A close needs little stack. */
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 256 << 10);
		if (!pthread_create(&l->reapers[l->nreapers], &attr, reaper_main, l))
			l->nreapers++;
		pthread_attr_destroy(&attr);
	}
	if (!l->nreapers || at_grow(&l->reap, l->nreap, &l->reap_cap, sizeof(*l->reap), 1)) {
		pthread_mutex_unlock(&l->reap_lock);
		loader_link__destroy(k); /* no thread or no memory: here, then */
		return;
	}
	l->reap[l->nreap++] = k;
	pthread_cond_signal(&l->reap_cond);
	pthread_mutex_unlock(&l->reap_lock);
}

/* Closes what is left to retire and ends the thread. */
static void reaper_end(struct loader *l)
{
	pthread_mutex_lock(&l->reap_lock);
	l->reaper_stop = true;
	pthread_cond_broadcast(&l->reap_cond);
	pthread_mutex_unlock(&l->reap_lock);
	for (size_t i = 0; i < l->nreapers; i++)
		pthread_join(l->reapers[i], NULL);
	free(l->reap);
	pthread_mutex_destroy(&l->reap_lock);
	pthread_cond_destroy(&l->reap_cond);
}

static int add_link(struct loader_link ***links, size_t *n, int fd, struct bpf_link *link)
{
	struct loader_link *k = calloc(1, sizeof(*k)), **a = realloc(*links, (*n + 1) * sizeof(*a));

	if (!k || !a) {
		free(k);
		if (a)
			*links = a;
		if (fd >= 0)
			close(fd);
		bpf_link__destroy(link);
		return -ENOMEM;
	}
	*links = a;
	k->fd = fd;
	k->link = link;
	a[(*n)++] = k;
	return 0;
}

/* A level's three uprobe programs: at the entry of a function whose return matters, at that
 * return, and at the entry of one whose return does not. */
static void level_progs(const struct loader *l, enum loader_level lv, struct bpf_program *p[3])
{
	p[0] = lv == LOADER_HEAP ? l->skel->progs.heap_enter : l->skel->progs.arena_enter;
	p[1] = lv == LOADER_HEAP ? l->skel->progs.heap_exit : l->skel->progs.arena_exit;
	p[2] = lv == LOADER_HEAP ? l->skel->progs.heap_free : l->skel->progs.arena_event;
}

static int attach_multi(struct loader *l, enum loader_level lv, int pid, const char *path,
			const struct loader_probe_spec *specs, size_t n,
			struct loader_link ***links, size_t *nlinks)
{
	uint64_t *offs = calloc(n, sizeof(*offs)), *cookies = calloc(n, sizeof(*cookies));
	struct bpf_program *progs[3];
	struct {
		const struct bpf_program *prog;
		bool entry_only, ret;
	} kinds[3];

	level_progs(l, lv, progs);
	/* The return probes first: a call that enters between the two links would otherwise
	 * raise the thread's nesting depth with no return to lower it, and every later call
	 * of that thread would count as nested (not counted). Returns of calls whose entry
	 * was not seen are ignored. */
	kinds[0] = (typeof(kinds[0])){ progs[1], false, true };
	kinds[1] = (typeof(kinds[0])){ progs[0], false, false };
	kinds[2] = (typeof(kinds[0])){ progs[2], true, false };
	int err = offs && cookies ? 0 : -ENOMEM;

	for (size_t k = 0; k < AT_ARRAY_SIZE(kinds) && !err; k++) {
		size_t m = 0;
		int fd;

		for (size_t i = 0; i < n; i++) {
			if (specs[i].entry_only != kinds[k].entry_only)
				continue;
			offs[m] = specs[i].off;
			cookies[m++] = specs[i].cookie;
		}
		if (!m)
			continue;
		fd = uprobe_multi_link(bpf_program__fd(kinds[k].prog), path, offs, cookies, m, pid,
				       kinds[k].ret);
		err = fd < 0 ? -errno : add_link(links, nlinks, fd, NULL);
	}
	free(offs);
	free(cookies);
	return err;
}

int loader_uprobes_attach(struct loader *l, enum loader_level lv, int pid, const char *path,
			  const struct loader_probe_spec *specs, size_t n,
			  struct loader_link ***links, size_t *nlinks)
{
	struct bpf_program *progs[3];
	int err = 0;

	/* pid -1: every process (-a); uprobe_multi says so with 0. */
	if (l->uprobe_multi)
		return attach_multi(l, lv, pid < 0 ? 0 : pid, path, specs, n, links, nlinks);
	level_progs(l, lv, progs);
	for (size_t i = 0; i < n && !err; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .bpf_cookie = specs[i].cookie);
		struct bpf_link *link;

		/* The return probe before the entry probe, as in attach_multi. */
		if (!specs[i].entry_only) {
			uo.retprobe = true;
			link = bpf_program__attach_uprobe_opts(progs[1], pid, path,
							       (size_t)specs[i].off, &uo);
			err = link ? add_link(links, nlinks, -1, link) : -errno;
			if (err)
				continue;
			uo.retprobe = false;
		}
		link = bpf_program__attach_uprobe_opts(specs[i].entry_only ? progs[2] : progs[0],
						       pid, path, (size_t)specs[i].off, &uo);
		err = link ? add_link(links, nlinks, -1, link) : -errno;
	}
	return err;
}

bool loader_bpf_stats(struct loader *l, uint64_t *run_ns, uint64_t *runs)
{
	struct bpf_program *prog;

	if (l->stats_fd < 0)
		l->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (l->stats_fd < 0)
		return false;
	*run_ns = *runs = 0;
	bpf_object__for_each_program(prog, l->skel->obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (bpf_program__fd(prog) < 0 ||
		    bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
			continue;
		*run_ns += info.run_time_ns;
		*runs += info.run_cnt;
	}
	return true;
}

int loader_usdt_attach(struct loader *l, int pid, const char *path, const char *provider,
		       const char *name, uint64_t cookie, struct loader_link ***links,
		       size_t *nlinks)
{
	LIBBPF_OPTS(bpf_usdt_opts, uo, .usdt_cookie = cookie);
	struct bpf_link *link;

	link = bpf_program__attach_usdt(l->skel->progs.arena_usdt, pid, path, provider, name, &uo);
	return link ? add_link(links, nlinks, -1, link) : -errno;
}
