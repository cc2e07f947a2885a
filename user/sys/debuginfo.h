/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where the separate debug file of an ELF file is, looked for as gdb does: by build-id under
 * /usr/lib/debug/.build-id, then by the .gnu_debuglink name (beside the file, in its .debug/
 * directory, under /usr/lib/debug/ and the file's directory) with the link's CRC checked;
 * and, for symbolisation only, from the debuginfod servers the user configured
 * (DEBUGINFOD_URLS), through libdebuginfod and its cache. A file under /proc/PID/root (a
 * process in another mount namespace) is looked for under that root first.
 * Functions return 0 and the path in out, or a negative errno (-ENOENT: none found).
 * Not thread-safe: the debuginfod client and what it was asked are the module's.
 */
#ifndef AT_DEBUGINFO_H
#define AT_DEBUGINFO_H

#include "common.h"

/* The local debug file of the file at path, whose build-id (lowercase hex, or NULL) and
 * .gnu_debuglink (name and CRC, or NULL) are given. */
int debuginfo_local(const char *path, const char *build_id, const char *link, uint32_t crc,
		    char *out, size_t len);
/* Whether debuginfod servers are configured (DEBUGINFOD_URLS is set and not empty) and
 * none has failed yet in this run. */
bool debuginfo_can_fetch(void);
/* The debug file of build_id from a debuginfod server, downloaded into the library's cache
 * (or found there). Each build-id is asked once a run (the answer is kept). A server that cannot be reached or
 * does not answer in DEBUGINFOD_TIMEOUT is warned about once, and none is asked again:
 * -ENOSYS then, as when none is configured. */
int debuginfo_fetch(const char *build_id, char *out, size_t len);
/* Frees the debuginfod client (at exit). */
void debuginfo_end(void);

#endif
