// SPDX-License-Identifier: GPL-2.0-only
/* The loader's state, shared by its two halves: loader.c loads the BPF object and attaches
 * its programs; maps.c reads and prunes the maps the programs fill. Private to kern/. */
#ifndef AT_LOADER_INT_H
#define AT_LOADER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "arenatrace.skel.h"
#include "loader.h"

#define AT_MAX_LINKS 64
#define AT_MAX_FILES 64
/* Each close of a uprobe link waits for the kernel's grace periods, and closes made at the
 * same time share them: under fork churn, links are closed by up to this many threads. */
#define AT_MAX_REAPERS 32

struct attached_file {
	dev_t dev;
	ino_t ino;
};

struct loader {
	struct arenatrace_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[AT_MAX_LINKS];
	size_t nlinks;
	struct attached_file files[AT_MAX_FILES];
	size_t nfiles;
	loader_event_fn fn;
	void *ctx;
	int ncpus;
	bool uprobe_multi; /* the uprobe programs attach through uprobe_multi links */
	struct bpf_link *iter_link;
	int stats_fd;		       /* BPF_ENABLE_STATS: run time is counted while it is open */
	struct at_thread_counts *snap; /* live threads' counters, at the last snapshot */
	size_t nsnap, snap_cap;
	struct at_live_bucket *table; /* heap_table, mapped */
	unsigned table_bits;
	__u32 *gone; /* exited processes whose live blocks loader_heap_sweep frees */
	size_t ngone, gone_cap;
	/* Links of exited processes, closed by threads of their own (loader_link__retire). */
	pthread_t reapers[AT_MAX_REAPERS];
	size_t nreapers;
	bool reaper_stop;
	pthread_mutex_t reap_lock;
	pthread_cond_t reap_cond;
	struct loader_link **reap;
	size_t nreap, reap_cap;
};

#endif
