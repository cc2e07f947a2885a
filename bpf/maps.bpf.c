// SPDX-License-Identifier: GPL-2.0-only
/* Owns every map and counter shared between the levels; the other objects declare them
 * extern (common.bpf.h), and bpftool links all of them into one skeleton. */
#define AT_MAPS_OWNER
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";
