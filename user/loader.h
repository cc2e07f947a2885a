/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The BPF side: open the skeleton, size its maps from the options, load, attach the
 * tracepoints, give the kernel the unwind sites of each libc's memory wrappers (once per
 * file, identified by device and inode), mark processes as traced and drain the ring buffer.
 * Functions return 0 or a negative errno; loader__new returns NULL with errno set.
 */
#ifndef AT_LOADER_H
#define AT_LOADER_H

#include "common.h"
#include "cli.h"

struct loader;

typedef int (*loader_event_fn)(void *ctx, void *data, size_t len);

struct loader *loader__new(const struct at_opts *o, loader_event_fn fn, void *ctx);
void loader__free(struct loader *l);

int loader_attach_tracepoints(struct loader *l);
/* Add the unwind sites of the libc (or static executable) that pid maps. */
int loader_add_process(struct loader *l, int pid);
/* Add the unwind sites of one file, given its path. */
int loader_add_file(struct loader *l, const char *path);
int loader_trace_pid(struct loader *l, int pid, bool follow);
/* Poll the ring buffer; returns records consumed or a negative errno. */
int loader_poll(struct loader *l, int timeout_ms);
void loader_drops(const struct loader *l, uint64_t drops[AT_DROP_NR]);

#endif
