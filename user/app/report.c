// SPDX-License-Identifier: GPL-2.0-only
/*
 * arenatrace report RUN.json [RUN2.json...] [-o FILE]: one self-contained HTML page from
 * JSON reports (the final one of each file), no BPF, no root. The page (user/app/report.html,
 * compiled in by the Makefile with xxd -i) draws everything with its own script; this
 * embeds the data as JSON in it: each run's report as it is, and with several runs
 * arenatrace diff's table (diff_table_json), so that the page and the terminal agree.
 * docs/design.md, "arenatrace report".
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "log.h"

/* The page, from xxd -i (not NUL-terminated). */
extern unsigned char at_report_html[];
extern unsigned int at_report_html_len;

#define REPORT_MARK "@ARENATRACE_DATA@"

static const char report_usage[] = "usage: arenatrace report RUN.json [RUN2.json...] [-o FILE]";

/* The data as the page's script reads it, safe inside <script>: JSON text has '<', '>' and
 * '&' only inside strings, where \u escapes mean the same, so no name in a report (a process
 * called "</script>") can end the element or open a comment; U+2028 and U+2029 are escaped
 * too, for any reader that takes the text as JavaScript. */
static int put_data(FILE *f, const char *json)
{
	for (const char *p = json; *p; p++) {
		const unsigned char *u = (const unsigned char *)p;

		if (*p == '<' || *p == '>' || *p == '&')
			fprintf(f, "\\u%04x", *u);
		else if (u[0] == 0xe2 && u[1] == 0x80 && (u[2] == 0xa8 || u[2] == 0xa9)) {
			fprintf(f, "\\u%04x", u[2] == 0xa8 ? 0x2028 : 0x2029);
			p += 2;
		} else
			fputc(*p, f);
	}
	return ferror(f) ? -(errno ? errno : EIO) : 0;
}

/* The page with the data where the template's mark is. */
static int write_page(FILE *f, struct json_object *data)
{
	const char *page = (const char *)at_report_html, *mark;
	size_t len = at_report_html_len, mlen = strlen(REPORT_MARK), head;
	int err;

	mark = memmem(page, len, REPORT_MARK, mlen);
	if (!mark) {
		at_err("the page's template has no data mark (a build error)");
		return -EINVAL;
	}
	head = (size_t)(mark - page);
	fwrite(page, 1, head, f);
	errno = 0;
	err = put_data(f, json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN));
	if (err)
		return err;
	fwrite(mark + mlen, 1, len - head - mlen, f);
	return ferror(f) ? -(errno ? errno : EIO) : 0;
}

/* What the page gets: the runs (label, file, report) and, with several, diff's table. */
static struct json_object *page_data(struct json_object **reps, char **paths, size_t n,
				     const char *version)
{
	struct json_object *data = json_object_new_object(), *runs = json_object_new_array();
	char gen[64];

	snprintf(gen, sizeof(gen), "arenatrace %s", version);
	json_object_object_add(data, "generator", json_object_new_string(gen));
	for (size_t i = 0; i < n; i++) {
		struct json_object *r = json_object_new_object();
		const char *base = strrchr(paths[i], '/');

		json_object_object_add(r, "file",
				       json_object_new_string(base ? base + 1 : paths[i]));
		json_object_object_add(r, "report", json_object_get(reps[i]));
		json_object_array_add(runs, r);
	}
	json_object_object_add(data, "runs", runs);
	json_object_object_add(data, "compare",
			       n > 1 ? diff_table_json(reps, (const char *const *)paths, n) : NULL);
	return data;
}

bool app_link_planted(const char *path, const struct stat *ls)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat ds;

	if (ls->st_uid == geteuid() || ls->st_uid == 0)
		return false;
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
	return stat(dir, &ds) || (ds.st_mode & (S_IWGRP | S_IWOTH)) || ds.st_uid != ls->st_uid;
}

static int write_failed(const char *path, int err)
{
	if (err != -EINVAL) /* -EINVAL: write_page said why */
		at_err("cannot write %s%s%s: %s", path ? "'" : "the output", path ? path : "",
		       path ? "'" : "", strerror(-err));
	return AT_EXIT_RUNTIME;
}

/* Opens what is not a regular file (a device, a FIFO, a symbolic link as -o follows one)
 * to be written as it is. */
static FILE *open_direct(const char *path, const struct stat *ls, int *rc)
{
	FILE *f;
	int fd;

	if (S_ISLNK(ls->st_mode) && app_link_planted(path, ls)) {
		at_err("'%s' is a symbolic link of uid %u in a directory others can write: "
		       "not followed",
		       path, (unsigned)ls->st_uid);
		*rc = AT_EXIT_USAGE;
		return NULL;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		at_err("cannot write '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		*rc = AT_EXIT_RUNTIME;
	}
	return f;
}

/* To stdout, or to a regular file (or a new one) through a new file beside it renamed over
 * it at the end: a reader never sees half a page, and an error leaves what was there. */
static int write_out(const char *path, struct json_object *data)
{
	char tmp[PATH_MAX];
	FILE *f = stdout;
	struct stat ls;
	int fd = -1, err, rc = AT_EXIT_RUNTIME;

	if (path && !lstat(path, &ls) && !S_ISREG(ls.st_mode)) {
		f = open_direct(path, &ls, &rc);
		if (!f)
			return rc;
		err = write_page(f, data);
		if (fclose(f) && !err)
			err = -errno;
		return err ? write_failed(path, err) : AT_EXIT_OK;
	}
	if (path) {
		if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
			at_err("cannot write '%s': %s", path, strerror(ENAMETOOLONG));
			return AT_EXIT_RUNTIME;
		}
		fd = mkstemp(tmp);
		f = fd >= 0 && !fchmod(fd, 0644) ? fdopen(fd, "w") : NULL;
		if (!f) {
			at_err("cannot write '%s': %s", path, strerror(errno));
			if (fd >= 0) {
				close(fd);
				unlink(tmp);
			}
			return AT_EXIT_RUNTIME;
		}
	}
	err = write_page(f, data);
	if (fflush(f) && !err)
		err = -errno;
	if (path && fclose(f) && !err)
		err = -errno;
	if (path && !err && rename(tmp, path))
		err = -errno;
	if (path && err)
		unlink(tmp);
	return err ? write_failed(path, err) : AT_EXIT_OK;
}

int report_main(int argc, char **argv, const char *version)
{
	static const struct option longs[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *reps[DIFF_MAX_RUNS] = { 0 }, *data;
	const char *out = NULL;
	size_t n;
	int c, rc = AT_EXIT_OK;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", longs, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = strcmp(optarg, "-") ? optarg : NULL;
			break;
		case 'h':
			printf("%s\n", report_usage);
			return AT_EXIT_OK;
		case ':':
			at_err("report: '%s' needs a value; %s", argv[optind - 1], report_usage);
			return AT_EXIT_USAGE;
		default:
			at_err("report: unknown option '%s'; %s", argv[optind - 1], report_usage);
			return AT_EXIT_USAGE;
		}
	}
	n = (size_t)(argc - optind);
	if (n < 1 || n > DIFF_MAX_RUNS) {
		at_err("report needs 1 to %d JSON reports (arenatrace -j -o FILE); %s",
		       DIFF_MAX_RUNS, report_usage);
		return AT_EXIT_USAGE;
	}
	for (size_t i = 0; i < n && !rc; i++)
		rc = diff_load(argv[optind + (int)i], &reps[i]);
	if (!rc) {
		data = page_data(reps, argv + optind, n, version);
		rc = write_out(out, data);
		json_object_put(data);
	}
	for (size_t i = 0; i < n; i++)
		json_object_put(reps[i]);
	return rc;
}
