/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the heap and arena levels share about their uprobes: the links of one process (or,
 * with -a, of all: pid -1) and the (file, offset) points already probed, and the set of
 * files already scanned. Not thread-safe. Files are told apart by device and inode.
 */
#ifndef AT_PROBESET_H
#define AT_PROBESET_H

#include <sys/stat.h>

#include "common.h"
#include "loader.h"

/* A file, as the kernel knows it: device and inode (the same path may name different files
 * in different mount namespaces, and equal inode numbers on two devices are two files). */
struct file_id {
	uint64_t dev, ino;
};

static inline struct file_id file_id_of(const struct stat *st)
{
	return (struct file_id){ (uint64_t)st->st_dev, (uint64_t)st->st_ino };
}

static inline bool file_id_eq(struct file_id a, struct file_id b)
{
	return a.dev == b.dev && a.ino == b.ino;
}

struct probe_point {
	struct file_id file;
	uint64_t off;
};

struct probeset {
	int pid;
	struct loader_link **links;
	size_t nlinks;
	struct probe_point *done; /* already probed */
	size_t ndone, done_cap;
};

/* Detaches every link and forgets everything (pid too). */
void probeset_release(struct probeset *p);
/* Marks (file, offset) as probed; false if it already was (or memory ran out). */
bool probeset_first(struct probeset *p, struct file_id file, uint64_t off);

/* A set of files (scanned once for every process, -a). */
struct fileset {
	struct file_id *f;
	size_t n, cap;
};

/* Adds file; false if it was there already (or memory ran out). */
bool fileset_add(struct fileset *s, struct file_id file);
void fileset_free(struct fileset *s);

#endif
