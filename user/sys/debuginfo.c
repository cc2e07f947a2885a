// SPDX-License-Identifier: GPL-2.0-only
#include "debuginfo.h"

#include <elfutils/debuginfod.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "log.h"

/* The CRC of a .gnu_debuglink is zlib's CRC-32 of the whole debug file. */
static bool crc_matches(const char *path, uint32_t want)
{
	unsigned char buf[65536];
	uLong crc = crc32(0, Z_NULL, 0);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		crc = crc32(crc, buf, (uInt)n);
	close(fd);
	return n == 0 && (uint32_t)crc == want;
}

/* Splits path into the root of its mount namespace ("/proc/PID/root", or "") and the path
 * under it: the length of the root. */
static size_t root_len(const char *path)
{
	int n = 0;

	if (sscanf(path, "/proc/%*u/root%n", &n) >= 0 && n > 0 && path[n] == '/')
		return (size_t)n;
	return 0;
}

static int found(const char *cand, char *out, size_t len)
{
	if (access(cand, R_OK))
		return -ENOENT;
	return snprintf(out, len, "%s", cand) < (int)len ? 0 : -ENAMETOOLONG;
}

static int by_build_id(size_t rlen, const char *path, const char *id, char *out, size_t len)
{
	char cand[PATH_MAX];

	if (!id || strlen(id) < 4)
		return -ENOENT;
	/* The debug files of the process's own root, then the host's (the id names the
	 * build, wherever it was installed). */
	for (int host = 0; host < 2; host++) {
		if (host && !rlen)
			break;
		snprintf(cand, sizeof(cand), "%.*s/usr/lib/debug/.build-id/%.2s/%s.debug",
			 host ? 0 : (int)rlen, path, id, id + 2);
		if (!found(cand, out, len))
			return 0;
	}
	return -ENOENT;
}

int debuginfo_local(const char *path, const char *build_id, const char *link, uint32_t crc,
		    char *out, size_t len)
{
	size_t rlen = root_len(path);
	const char *slash = strrchr(path, '/');
	int dlen = slash ? (int)(slash - path) : 0;
	char cand[PATH_MAX];

	if (!by_build_id(rlen, path, build_id, out, len))
		return 0;
	if (!link || !*link || strchr(link, '/') || !slash)
		return -ENOENT;
	/* gdb's order: beside the file, in its .debug/, under the debug directory. */
	for (int i = 0; i < 3; i++) {
		if (i < 2)
			snprintf(cand, sizeof(cand), "%.*s%s/%s", dlen, path, i ? "/.debug" : "",
				 link);
		else
			snprintf(cand, sizeof(cand), "%.*s/usr/lib/debug%.*s/%s", (int)rlen, path,
				 dlen - (int)rlen, path + rlen, link);
		if (strcmp(cand, path) && !access(cand, R_OK) && crc_matches(cand, crc))
			return found(cand, out, len);
	}
	return -ENOENT;
}

/* debuginfod: one client a run, made at the first fetch; the build-ids asked, with the
 * file each gave (NULL: none). */
struct asked {
	char id[41];
	char *path;
};
static debuginfod_client *client;
static bool fetch_off;
static struct asked *asked;
static size_t nasked, asked_cap;

bool debuginfo_can_fetch(void)
{
	const char *urls = getenv(DEBUGINFOD_URLS_ENV_VAR);

	return !fetch_off && urls && *urls;
}

/* Asks the servers (NULL: not there, or they failed). */
static char *ask(const char *id)
{
	char *path = NULL;
	int fd;

	if (!client)
		client = debuginfod_begin();
	if (!client) {
		fetch_off = true;
		at_warn("debuginfod: cannot start a client: %s", strerror(errno));
		return NULL;
	}
	fd = debuginfod_find_debuginfo(client, (const unsigned char *)id, 0, &path);
	if (fd >= 0) {
		close(fd);
		return path;
	}
	free(path);
	/* Not on the servers: the next file is asked. Anything else is a server that is
	 * down, slow or refusing: none is asked again this run, so that a report waits for
	 * it once at most. */
	if (fd != -ENOENT) {
		fetch_off = true;
		at_warn("debuginfod at '%s' failed: %s; symbols without a local debug file "
			"come from the files themselves",
			getenv(DEBUGINFOD_URLS_ENV_VAR), strerror(-fd));
	}
	return NULL;
}

int debuginfo_fetch(const char *build_id, char *out, size_t len)
{
	struct asked *a = NULL;

	if (!build_id || strlen(build_id) < 4 || strlen(build_id) >= sizeof(a->id))
		return -ENOENT;
	for (size_t i = 0; i < nasked && !a; i++)
		if (!strcmp(asked[i].id, build_id))
			a = &asked[i];
	if (!a) {
		if (!debuginfo_can_fetch())
			return -ENOSYS;
		if (at_grow(&asked, nasked, &asked_cap, sizeof(asked[0]), 1))
			return -ENOMEM;
		a = &asked[nasked++];
		snprintf(a->id, sizeof(a->id), "%s", build_id);
		a->path = ask(build_id);
	}
	if (!a->path)
		return -ENOENT;
	return snprintf(out, len, "%s", a->path) < (int)len ? 0 : -ENAMETOOLONG;
}

void debuginfo_end(void)
{
	if (client)
		debuginfod_end(client);
	client = NULL;
	for (size_t i = 0; i < nasked; i++)
		free(asked[i].path);
	free(asked);
	asked = NULL;
	nasked = asked_cap = 0;
}
