// SPDX-License-Identifier: GPL-2.0-only
/* --folded: the report's live bytes by stack, in the folded format of flamegraph.pl,
 * inferno and speedscope: one line a stack, "comm-pid;allocator;root;...;leaf BYTES". The
 * process and the allocator are the root frames. Stacks that name the same frames (two
 * call sites in one function) are one line; stacks holding nothing are left out. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"

struct line {
	char *text;
	int64_t bytes;
};

/* A frame as the format allows it: no ';' (the separator), no control byte, no newline. */
static void put_frame(char **buf, size_t *len, size_t *cap, const char *s, bool first)
{
	char clean[1024];
	size_t n;

	out_printable(s, clean, sizeof(clean));
	for (char *c = clean; *c; c++)
		if (*c == ';')
			*c = ':';
	n = strlen(clean);
	if (at_grow(buf, *len, cap, 1, n + 2))
		return;
	if (!first)
		(*buf)[(*len)++] = ';';
	memcpy(*buf + *len, clean, n);
	*len += n;
	(*buf)[*len] = '\0';
}

static char *stack_text(const struct rep_proc *p, const struct rep_stack *s)
{
	char *buf = NULL, name[512];
	size_t len = 0, cap = 0;

	snprintf(name, sizeof(name), "%s-%d", p->comm ? p->comm : "?", p->pid);
	put_frame(&buf, &len, &cap, name, true);
	put_frame(&buf, &len, &cap, s->allocator ? s->allocator : "unknown", false);
	for (size_t k = s->nframes; k > 0; k--)
		put_frame(&buf, &len, &cap, out_frame_name(&s->frames[k - 1], name, sizeof(name)),
			  false);
	return buf;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->text, ((const struct line *)b)->text);
}

int out_folded_write(FILE *f, const struct report *r)
{
	struct line *lines = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	for (size_t i = 0; i < r->nprocs && !err; i++) {
		const struct rep_proc *p = &r->procs[i];

		for (size_t k = 0; k < p->nstacks_all && !err; k++) {
			const struct rep_stack *s = &p->stacks[k];

			if (s->blocks <= 0 || s->bytes <= 0)
				continue;
			if (at_grow(&lines, n, &cap, sizeof(*lines), 1)) {
				err = -ENOMEM;
				break;
			}
			lines[n].text = stack_text(p, s);
			lines[n].bytes = s->bytes;
			if (!lines[n++].text)
				err = -ENOMEM;
		}
	}
	if (!err && n)
		qsort(lines, n, sizeof(*lines), cmp_line);
	for (size_t i = 0; !err && i < n; i++) {
		int64_t bytes = lines[i].bytes;

		while (i + 1 < n && !strcmp(lines[i].text, lines[i + 1].text))
			bytes += lines[++i].bytes;
		fprintf(f, "%s %lld\n", lines[i].text, (long long)bytes);
	}
	for (size_t i = 0; i < n; i++)
		free(lines[i].text);
	free(lines);
	return err ? err : ferror(f) ? -EIO : 0;
}

static int folded_report(struct out *o, const struct report *r, bool final)
{
	(void) final;
	return out_folded_write(o->f, r);
}

const struct out_ops out_folded_ops = { .report = folded_report };
