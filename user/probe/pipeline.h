/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one per-file probe pipeline of the heap and arena levels. A level says how to scan one
 * file for probe points (struct probe_level); the pipeline does the rest the same way for
 * both: the table of probed processes (with -a, one global set of links for every process),
 * the walk over the files a running process maps or a launched command will map, the
 * file's identity, symbols and code, the points already probed, the attach through the
 * loader, and its messages. Not thread-safe. Files are told apart by device and inode.
 * Functions return 0 or a negative errno.
 */
#ifndef AT_PIPELINE_H
#define AT_PIPELINE_H

#include <sys/stat.h>

#include "common.h"
#include "loader.h"

struct syms;

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

/* The links of one process (or, with -a, of all: pid -1) and the points they cover. */
struct probeset {
	int pid;
	struct loader_link **links;
	size_t nlinks;
	struct probe_point *done; /* already probed */
	size_t ndone, done_cap;
};

/* A set of files (scanned once for every process, -a). */
struct fileset {
	struct file_id *f;
	size_t n, cap;
};

/* One probed process. pid < 0: a free slot (its process exited). */
struct probe_proc {
	struct probeset ps;
	uint32_t ids[16]; /* the heap level's allocator instances in this process */
	size_t nids;
};

/* One file being scanned, handed to the level. */
struct probe_file {
	const char *path; /* to open it by */
	const char *name; /* the file's own name (last component) */
	struct file_id file;
	int fd; /* the file, open for reading its code, or -1 */
	const struct syms *syms;
	struct probe_proc *proc; /* the process being probed */
	struct probeset *owner;	 /* the points and links: the process's, or with -a the global */
	struct loader_probe_spec *specs; /* the points found, to attach */
	size_t nspecs, cap;
};

/* Marks offset off of the file as probed for the owner: false if it was already (or memory
 * ran out), and then it is not to be added again. */
bool probe_file_first(struct probe_file *f, uint64_t off);
int probe_file_push(struct probe_file *f, uint64_t off, uint64_t cookie, bool entry_only);

struct probe_level {
	const char *name; /* "heap", "arena": in messages */
	enum loader_level level;
	/* Finds the points of one file (probe_file_first, then probe_file_push). */
	int (*scan)(void *ctx, struct probe_file *f);
	/* -a: a file already probed for every process; the process learns what it holds. */
	void (*known)(void *ctx, struct probe_proc *p, struct file_id file);
	/* For a launch: whether a file the command will map is worth a look (NULL: all). */
	bool (*launch_wants)(void *ctx, const char *path, const char *exe);
	/* Says (-v) what was put in place, once the links are attached. */
	void (*attached)(void *ctx, const struct probe_file *f);
};

struct probe_pipe {
	struct loader *loader;
	const struct probe_level *lv;
	void *ctx;
	bool all;
	struct probe_proc *procs;
	size_t nprocs;
	struct probeset global; /* -a: the links of every process */
	struct fileset scanned; /* -a: the files already probed */
};

void probe_pipe_init(struct probe_pipe *pp, struct loader *l, const struct probe_level *lv,
		     void *ctx, bool all);
/* Detaches every link. */
void probe_pipe_release(struct probe_pipe *pp);
/* Probe every file pid maps now, or (launch) the files a command will map: the libraries it
 * needs, the allocator libraries installed, LD_PRELOAD, and the executable exe. */
int probe_pipe_running(struct probe_pipe *pp, int pid);
int probe_pipe_launch(struct probe_pipe *pp, int pid, const char *exe);
/* The entry of pid, or NULL. */
struct probe_proc *probe_pipe_find(struct probe_pipe *pp, int pid);
/* pid exited: its links go and its slot is reused. */
void probe_pipe_forget(struct probe_pipe *pp, int pid);

#endif
