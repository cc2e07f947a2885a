// SPDX-License-Identifier: GPL-2.0-only
#include "needed.h"

#include <gelf.h>
#include <glob.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attrib.h"
#include "procfs.h"

/* Library search, as ld.so does it for a command: its RPATH or RUNPATH ($ORIGIN expanded),
 * LD_LIBRARY_PATH, the directories of /etc/ld.so.conf.d, then the defaults. */
struct needed {
	char paths[64][PATH_MAX];
	size_t n;
};

static bool lib_find(const char *name, const char *origin, const char *rpath, char *out)
{
	static const char *const defaults = "/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:"
					    "/lib64:/usr/lib64:/lib:/usr/lib";
	const char *env = getenv("LD_LIBRARY_PATH");
	char dirs[8192], *dir, *save = NULL;
	FILE *conf;
	glob_t g;

	if (strchr(name, '/'))
		return realpath(name, out) != NULL;
	snprintf(dirs, sizeof(dirs), "%s:%s:", rpath ? rpath : "", env ? env : "");
	if (!glob("/etc/ld.so.conf.d/*.conf", 0, NULL, &g)) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			char line[PATH_MAX];

			conf = fopen(g.gl_pathv[i], "re");
			while (conf && fgets(line, sizeof(line), conf)) {
				line[strcspn(line, "\n")] = '\0';
				if (line[0] == '/' &&
				    strlen(dirs) + strlen(line) + 2 < sizeof(dirs)) {
					strcat(dirs, line);
					strcat(dirs, ":");
				}
			}
			if (conf)
				fclose(conf);
		}
		globfree(&g);
	}
	strncat(dirs, defaults, sizeof(dirs) - strlen(dirs) - 1);
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char cand[PATH_MAX];

		if (!strncmp(dir, "$ORIGIN", 7))
			snprintf(cand, sizeof(cand), "%s%s/%s", origin, dir + 7, name);
		else
			snprintf(cand, sizeof(cand), "%s/%s", dir, name);
		if (!access(cand, R_OK))
			return realpath(cand, out) != NULL;
	}
	return false;
}

/* Adds path and, recursively, every library it needs (DT_NEEDED) to nd. */
static void needed_closure(const char *path, struct needed *nd)
{
	char origin[PATH_MAX], rpath[4096] = "", *slash;
	const char *names[64];
	size_t nnames = 0;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	Elf *elf;
	int fd;

	for (size_t i = 0; i < nd->n; i++)
		if (!strcmp(nd->paths[i], path))
			return;
	if (nd->n == AT_ARRAY_SIZE(nd->paths))
		return;
	snprintf(nd->paths[nd->n++], PATH_MAX, "%s", path);
	snprintf(origin, sizeof(origin), "%s", path);
	slash = strrchr(origin, '/');
	if (slash)
		*slash = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	while (elf && (scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		GElf_Dyn dyn;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC)
			continue;
		data = elf_getdata(scn, NULL);
		for (int i = 0; data && gelf_getdyn(data, i, &dyn); i++) {
			const char *str = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val);

			if (!str)
				continue;
			if (dyn.d_tag == DT_NEEDED && nnames < AT_ARRAY_SIZE(names))
				names[nnames++] = str;
			else if (dyn.d_tag == DT_RUNPATH || dyn.d_tag == DT_RPATH)
				snprintf(rpath, sizeof(rpath), "%s", str);
		}
	}
	for (size_t i = 0; i < nnames; i++) {
		char lib[PATH_MAX];

		if (lib_find(names[i], origin, rpath, lib))
			needed_closure(lib, nd);
	}
	if (elf)
		elf_end(elf);
	close(fd);
}

static int own_libc(const struct maps_entry *e, void *arg)
{
	char *out = arg;
	const char *slash = strrchr(e->path, '/');
	const char *lib = slash ? attrib_library(slash + 1) : NULL;

	if (lib && !strcmp(lib, "glibc") && (e->prot & 4)) {
		snprintf(out, PATH_MAX, "%s", e->path);
		return 1;
	}
	return 0;
}

int needed_launch_files(const char *exe, needed_fn fn, void *arg)
{
	struct needed *nd = calloc(1, sizeof(*nd));
	char libc[PATH_MAX] = "", *preload, *tok, *save = NULL;
	const char *env = getenv("LD_PRELOAD");
	int err = 0;

	if (!nd)
		return -ENOMEM;
	/* The uprobes are registered on the files, for this pid: they take effect when the
	 * command maps them after its exec, from its first instruction. So probe, before it
	 * runs, what it will load: preloaded libraries, the executable and what it needs. */
	if (env) {
		preload = strdup(env);
		for (tok = strtok_r(preload, ": ", &save); tok; tok = strtok_r(NULL, ": ", &save)) {
			char lib[PATH_MAX];

			if (lib_find(tok, "", NULL, lib))
				needed_closure(lib, nd);
		}
		free(preload);
	}
	if (exe)
		needed_closure(exe, nd);
	/* A script's interpreter is not known here; libc is what nearly every program maps. */
	procfs_read_maps(getpid(), own_libc, libc);
	if (libc[0])
		needed_closure(libc, nd);
	for (size_t i = 0; i < nd->n; i++) {
		const char *slash = strrchr(nd->paths[i], '/');
		const char *lib = attrib_library(slash ? slash + 1 : nd->paths[i]);
		int e = !lib || strcmp(lib, "ld.so") ? fn(arg, nd->paths[i]) : 0;

		if (e && !err)
			err = e;
	}
	free(nd);
	return err;
}
