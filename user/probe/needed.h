/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a command will map, known before it runs: its executable, preloaded libraries and
 * their DT_NEEDED closure, searched as ld.so searches. The heap and arena levels probe
 * these files before the command's exec (-- CMD, a traced process's exec).
 */
#ifndef AT_NEEDED_H
#define AT_NEEDED_H

#include "common.h"

typedef int (*needed_fn)(void *arg, const char *path);

/* Calls fn for each file the command will map: LD_PRELOAD's libraries, exe and its needed
 * libraries, and this process's libc (a script's interpreter is not known). The dynamic
 * loader is left out. Returns the first error fn returned (after every file), 0, or a
 * negative errno. */
int needed_launch_files(const char *exe, needed_fn fn, void *arg);

#endif
