/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the heap and arena levels share about their uprobes: the links of one process (or,
 * with -a, of all: pid -1) and the (inode, offset) points already probed, the set of files
 * already scanned, and the walk over a process's executable file mappings. Not
 * thread-safe.
 */
#ifndef AT_PROBESET_H
#define AT_PROBESET_H

#include "common.h"
#include "loader.h"

struct probeset {
	int pid;
	struct loader_link **links;
	size_t nlinks;
	uint64_t (*done)[2]; /* (inode, offset) already probed */
	size_t ndone, done_cap;
};

/* Detaches every link and forgets everything (pid too). */
void probeset_release(struct probeset *p);
/* Marks (inode, offset) as probed; false if it already was (or memory ran out). */
bool probeset_first(struct probeset *p, uint64_t ino, uint64_t off);

/* A set of inodes (files scanned once for every process, -a). */
struct inoset {
	uint64_t *ino;
	size_t n, cap;
};

/* Adds ino; false if it was there already (or memory ran out). */
bool inoset_add(struct inoset *s, uint64_t ino);
bool inoset_has(const struct inoset *s, uint64_t ino);
void inoset_free(struct inoset *s);

/* Calls fn with "/proc/PID/root/FILE" for each executable file pid maps (each once in a
 * row), so that files in other mount namespaces resolve. The first error fn returns is
 * returned after the walk; a negative errno when the maps cannot be read. */
int probeset_each_exec_file(int pid, int (*fn)(void *arg, const char *path), void *arg);

#endif
