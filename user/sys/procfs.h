/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Readers of /proc/PID files: maps, stat, smaps_rollup and pagemap residency. The parse_*
 * functions work on text already read, so that tests can feed them fixtures. Functions
 * return 0 or a negative errno.
 */
#ifndef AT_PROCFS_H
#define AT_PROCFS_H

#include <limits.h>

#include "common.h"

struct maps_entry {
	uint64_t start;
	uint64_t end;
	uint64_t offset;
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint8_t prot; /* PROT_* bits */
	bool shared;
	/* Empty for anonymous memory; "[heap]", "[stack]"... Cut at 255 bytes, so that entries
	 * stay small to copy (a process may have tens of thousands); full_path has it all,
	 * valid during the callback of procfs_read_maps only. */
	char path[256];
	const char *full_path;
};

struct proc_stat {
	char comm[64];
	char state;
	int ppid;
	unsigned long flags; /* PF_* */
	uint64_t start_brk;  /* the current break is the end of [heap] in maps */
};

#define AT_PF_KTHREAD 0x00200000ul

int procfs_parse_maps_line(const char *line, struct maps_entry *e);
/* Calls fn for each line of /proc/PID/maps; stops early and returns fn's nonzero result. */
int procfs_read_maps(int pid, int (*fn)(const struct maps_entry *e, void *arg), void *arg);

/* Every line of /proc/PID/maps into *v (a heap array the caller frees; full_path is not
 * kept), *n of them. */
int procfs_read_maps_all(int pid, struct maps_entry **v, size_t *n);

int procfs_parse_stat(const char *buf, struct proc_stat *st);
int procfs_read_stat(int pid, struct proc_stat *st);

/* Rss and LazyFree, in bytes, from smaps_rollup text. */
int procfs_parse_smaps_rollup(const char *buf, uint64_t *rss_bytes, uint64_t *lazyfree_bytes);
int procfs_read_smaps_rollup(int pid, uint64_t *rss_bytes, uint64_t *lazyfree_bytes);

/* Bytes of [start, end) present in RAM, from an open /proc/PID/pagemap descriptor. */
int procfs_resident(int pagemap_fd, uint64_t start, uint64_t end, uint64_t *bytes);

/* Reads a whole small /proc file into a NUL-terminated heap buffer. */
int procfs_slurp(const char *path, char **buf, size_t *len);

/* The directory of a cgroup v2 given by its path in the hierarchy (the v2 root is found in
 * /proc/self/mounts: /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts), in out,
 * and its stat:
 * 0, -ENODEV when no cgroup v2 hierarchy is mounted, -ENOENT when there is no such cgroup. */
struct stat;
int procfs_cgroup_dir(const char *cgroup, char *out, size_t len, struct stat *st);
/* Whether pid is in the cgroup v2 at path (relative to the root) or below; true for NULL. */
bool procfs_in_cgroup(int pid, const char *cgroup);

/* Whose memory (the fleet exporter's labels). The cgroup v2 path of a process from the text
 * of /proc/PID/cgroup: the "0::" entry, which the kernel writes last, taken to the end (the
 * kernel refuses newlines in cgroup names, but a path holding one would be taken whole);
 * " (deleted)" (a removed cgroup) is dropped. Cut to len - 1
 * bytes. 0, or -ENOENT when there is no v2 entry (a v1-only host). */
int procfs_parse_cgroup(const char *text, char *path, size_t len);
int procfs_read_cgroup(int pid, char *path, size_t len);
/* The systemd unit a cgroup path names: its last component ending in ".service" or
 * ".scope" ("" when none). */
void procfs_cgroup_unit(const char *path, char *unit, size_t len);
/* The container id a cgroup path holds: its last run of exactly 64 hex digits
 * (docker-ID.scope, cri-containerd-ID.scope, libpod-ID, .../kubepods/.../ID), "" when none;
 * unit and container need 65 bytes or more. */
void procfs_cgroup_container(const char *path, char *id, size_t len);

/* Calls fn for each executable file pid maps (each once in a row) with a path to open it by:
 * "/proc/PID/root/FILE", so that files in other mount namespaces resolve, or for a file
 * deleted since it was mapped (a library upgraded under a running process)
 * "/proc/PID/map_files/START-END", the file the process really maps; and name, the file's
 * own name (its last component). The first error fn returns is returned after the walk; a
 * negative errno when the maps cannot be read. */
int procfs_each_exec_file(int pid, int (*fn)(void *arg, const char *path, const char *name),
			  void *arg);

#endif
