// SPDX-License-Identifier: GPL-2.0-only
#include "procfs.h"

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int procfs_parse_maps_line(const char *line, struct maps_entry *e)
{
	char perms[8] = "";
	unsigned long long start, end, off, ino;
	unsigned int maj, min;
	int n = 0;
	const char *p;

	memset(e, 0, sizeof(*e));
	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &off, &maj, &min,
		   &ino, &n) < 7 ||
	    strlen(perms) != 4 || start > end)
		return -EINVAL;
	e->start = start;
	e->end = end;
	e->offset = off;
	e->inode = ino;
	e->dev_major = maj;
	e->dev_minor = min;
	e->prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
		  (perms[2] == 'x' ? PROT_EXEC : 0);
	e->shared = perms[3] == 's';
	p = line + n;
	while (*p == ' ')
		p++;
	e->full_path = p; /* the caller's line, which ends at the newline */
	snprintf(e->path, sizeof(e->path), "%.*s", (int)strcspn(p, "\n"), p);
	return 0;
}

int procfs_slurp(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "re");
	size_t cap = 4096, n = 0, got;
	char *b = NULL, *nb;
	int err = 0;

	if (!f)
		return -errno;
	for (;;) {
		nb = realloc(b, cap + 1);
		if (!nb) {
			err = -ENOMEM;
			break;
		}
		b = nb;
		got = fread(b + n, 1, cap - n, f);
		n += got;
		if (n < cap) {
			if (ferror(f))
				err = -EIO;
			break;
		}
		cap *= 2;
	}
	fclose(f);
	if (err) {
		free(b);
		return err;
	}
	b[n] = '\0';
	*buf = b;
	if (len)
		*len = n;
	return 0;
}

/* /proc/PID/name, whole. */
static int slurp_pid(int pid, const char *name, char **buf)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	return procfs_slurp(path, buf, NULL);
}

int procfs_read_maps(int pid, int (*fn)(const struct maps_entry *e, void *arg), void *arg)
{
	char *buf, *line, *save = NULL;
	struct maps_entry e;
	int err;

	err = slurp_pid(pid, "maps", &buf);
	if (err)
		return err;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (procfs_parse_maps_line(line, &e))
			continue;
		err = fn(&e, arg);
		if (err)
			break;
	}
	free(buf);
	return err;
}

struct maps_all {
	struct maps_entry *v;
	size_t n, cap;
};

static int keep_entry(const struct maps_entry *e, void *arg)
{
	struct maps_all *m = arg;

	if (at_grow(&m->v, m->n, &m->cap, sizeof(*m->v), 1))
		return -ENOMEM;
	m->v[m->n] = *e;
	m->v[m->n++].full_path = NULL;
	return 0;
}

int procfs_read_maps_all(int pid, struct maps_entry **v, size_t *n)
{
	struct maps_all m = { 0 };
	int err = procfs_read_maps(pid, keep_entry, &m);

	if (err) {
		free(m.v);
		m.v = NULL;
		m.n = 0;
	}
	*v = m.v;
	*n = m.n;
	return err;
}

int procfs_parse_stat(const char *buf, struct proc_stat *st)
{
	/* comm may hold spaces and parentheses: it runs to the last ')'. */
	const char *open = strchr(buf, '('), *close = strrchr(buf, ')'), *p;
	unsigned long long v;
	size_t len;
	int field;

	memset(st, 0, sizeof(*st));
	if (!open || !close || close < open)
		return -EINVAL;
	len = (size_t)(close - open - 1);
	if (len >= sizeof(st->comm))
		len = sizeof(st->comm) - 1;
	memcpy(st->comm, open + 1, len);
	p = close + 1;
	/* Fields counted from 3 (state) as in proc(5). */
	for (field = 3; *p; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (field == 3) {
			st->state = *p;
		} else {
			v = strtoull(p, NULL, 10);
			if (field == 4)
				st->ppid = (int)v;
			else if (field == 9)
				st->flags = (unsigned long)v;
			else if (field == 47)
				st->start_brk = v;
		}
		while (*p && *p != ' ')
			p++;
	}
	return field > 9 ? 0 : -EINVAL;
}

int procfs_read_stat(int pid, struct proc_stat *st)
{
	char *buf;
	int err = slurp_pid(pid, "stat", &buf);

	if (err)
		return err;
	err = procfs_parse_stat(buf, st);
	free(buf);
	return err;
}

static int kb_field(const char *buf, const char *key, uint64_t *bytes)
{
	const char *p = buf;
	size_t klen = strlen(key);

	while ((p = strstr(p, key))) {
		if ((p == buf || p[-1] == '\n') && p[klen] == ':') {
			*bytes = strtoull(p + klen + 1, NULL, 10) * 1024;
			return 0;
		}
		p += klen;
	}
	return -ENOENT;
}

int procfs_parse_smaps_rollup(const char *buf, uint64_t *rss_bytes, uint64_t *lazyfree_bytes)
{
	int err = kb_field(buf, "Rss", rss_bytes);

	if (err)
		return err;
	return kb_field(buf, "LazyFree", lazyfree_bytes);
}

int procfs_read_smaps_rollup(int pid, uint64_t *rss_bytes, uint64_t *lazyfree_bytes)
{
	char *buf;
	int err = slurp_pid(pid, "smaps_rollup", &buf);

	if (err)
		return err;
	err = procfs_parse_smaps_rollup(buf, rss_bytes, lazyfree_bytes);
	free(buf);
	return err;
}

#define PM_PRESENT (1ull << 63)

int procfs_resident(int pagemap_fd, uint64_t start, uint64_t end, uint64_t *bytes)
{
	uint64_t buf[512], page = start / AT_PAGE_SIZE,
			   last = (end + AT_PAGE_SIZE - 1) / AT_PAGE_SIZE;
	uint64_t present = 0;

	while (page < last) {
		size_t want = last - page > AT_ARRAY_SIZE(buf) ? AT_ARRAY_SIZE(buf) : last - page;
		ssize_t got = pread(pagemap_fd, buf, want * 8, (off_t)(page * 8));

		if (got < 0)
			return -errno;
		if (got < 8)
			break; /* the end (a short tail would never advance) */
		for (ssize_t i = 0; i < got / 8; i++)
			present += !!(buf[i] & PM_PRESENT);
		page += (uint64_t)got / 8;
	}
	*bytes = present * AT_PAGE_SIZE;
	return 0;
}

bool procfs_in_cgroup(int pid, const char *cgroup)
{
	char path[64], line[4096], want[PATH_MAX];
	const char *p = cgroup;
	bool ok = false;
	FILE *f;

	if (!p)
		return true;
	while (*p == '/')
		p++;
	snprintf(want, sizeof(want), "0::/%s", p);
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		size_t n = strlen(want);

		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, want, n) && (line[n] == '\0' || line[n] == '/'))
			ok = true;
	}
	if (f)
		fclose(f);
	return ok;
}

int procfs_parse_cgroup(const char *text, char *path, size_t len)
{
	static const char deleted[] = " (deleted)";
	const char *p = text, *end;
	size_t n;

	while (p && strncmp(p, "0::", 3)) {
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	if (!p || !len)
		return -ENOENT;
	p += 3;
	end = p + strlen(p);
	if (end > p && end[-1] == '\n')
		end--;
	if ((size_t)(end - p) >= sizeof(deleted) - 1 &&
	    !memcmp(end - (sizeof(deleted) - 1), deleted, sizeof(deleted) - 1))
		end -= sizeof(deleted) - 1;
	n = (size_t)(end - p) < len - 1 ? (size_t)(end - p) : len - 1;
	memcpy(path, p, n);
	path[n] = '\0';
	return 0;
}

int procfs_read_cgroup(int pid, char *path, size_t len)
{
	char file[64], *buf = NULL;
	size_t n;
	int err;

	snprintf(file, sizeof(file), "/proc/%d/cgroup", pid);
	err = procfs_slurp(file, &buf, &n);
	if (!err)
		err = procfs_parse_cgroup(buf, path, len);
	free(buf);
	return err;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n > k && !memcmp(s + n - k, suffix, k);
}

void procfs_cgroup_unit(const char *path, char *unit, size_t len)
{
	const char *end = path + strlen(path);

	unit[0] = '\0';
	while (end > path) {
		const char *start = end;
		size_t n;

		while (start > path && start[-1] != '/')
			start--;
		n = (size_t)(end - start);
		if (ends_with(start, n, ".service") || ends_with(start, n, ".scope")) {
			snprintf(unit, len, "%.*s", (int)n, start);
			return;
		}
		end = start > path ? start - 1 : path;
	}
}

void procfs_cgroup_container(const char *path, char *id, size_t len)
{
	size_t run = 0;

	id[0] = '\0';
	for (const char *c = path;; c++) {
		if (*c && isxdigit((unsigned char)*c)) {
			run++;
			continue;
		}
		if (run == 64)
			snprintf(id, len, "%.64s", c - 64);
		run = 0;
		if (!*c)
			break;
	}
}

/* Where the cgroup v2 hierarchy is mounted, in root (PATH_MAX bytes). */
static int cgroup2_root(char root[PATH_MAX])
{
	char dev[256], type[64];
	FILE *f = fopen("/proc/self/mounts", "re");
	int err = -ENOENT;

	while (f && err && fscanf(f, "%255s %4095s %63s %*[^\n]", dev, root, type) == 3)
		if (!strcmp(type, "cgroup2"))
			err = 0;
	if (f)
		fclose(f);
	return err;
}

int procfs_cgroup_dir(const char *cgroup, char *out, size_t len, struct stat *st)
{
	char root[PATH_MAX];
	int n;

	if (cgroup2_root(root))
		return -ENODEV;
	while (*cgroup == '/')
		cgroup++;
	n = snprintf(out, len, "%.*s/%s", (int)(len / 2), root, cgroup);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return stat(out, st) || !S_ISDIR(st->st_mode) ? -ENOENT : 0;
}

struct walk {
	int pid;
	int (*fn)(void *arg, const char *path, const char *name);
	void *arg;
	char last[PATH_MAX];
	int err;
};

/* A file name as /proc/PID/maps shows it, with the newlines it escapes as \012 restored. */
static void unescape_name(char *out, size_t len, const char *s)
{
	size_t k = 0;

	while (*s && k + 1 < len) {
		if (!strncmp(s, "\\012", 4)) {
			out[k++] = '\n';
			s += 4;
		} else {
			out[k++] = *s++;
		}
	}
	out[k] = '\0';
}

static int each_mapping(const struct maps_entry *e, void *arg)
{
	struct walk *w = arg;
	static const char deleted[] = " (deleted)";
	char path[PATH_MAX + 32], name[NAME_MAX + 1];
	const char *slash = strrchr(e->full_path, '/');
	size_t n = strlen(e->full_path), dl = sizeof(deleted) - 1;
	int err;

	if (!(e->prot & 4 /* PROT_EXEC */) || e->full_path[0] != '/' ||
	    !strcmp(e->full_path, w->last))
		return 0;
	snprintf(w->last, sizeof(w->last), "%s", e->full_path);
	unescape_name(name, sizeof(name), slash + 1);
	if (n > dl && !strcmp(e->full_path + n - dl, deleted)) {
		name[strlen(name) > dl ? strlen(name) - dl : 0] = '\0';
		snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", w->pid,
			 (unsigned long long)e->start, (unsigned long long)e->end);
	} else if (strstr(e->full_path, "\\012")) {
		/* A newline in the name, which maps shows as \012: the file by its mapping. */
		snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", w->pid,
			 (unsigned long long)e->start, (unsigned long long)e->end);
	} else {
		snprintf(path, sizeof(path), "/proc/%d/root%s", w->pid, e->full_path);
	}
	err = w->fn(w->arg, path, name);
	if (err && !w->err)
		w->err = err;
	return 0;
}

int procfs_each_exec_file(int pid, int (*fn)(void *arg, const char *path, const char *name),
			  void *arg)
{
	struct walk *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	*w = (struct walk){ .pid = pid, .fn = fn, .arg = arg };
	err = procfs_read_maps(pid, each_mapping, w);
	if (!err)
		err = w->err;
	free(w);
	return err;
}
