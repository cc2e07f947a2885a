// SPDX-License-Identifier: GPL-2.0-only
#include "out.h"

#include <string.h>

#include "json.h"

void out_init(struct out *o, enum out_format fmt, FILE *f, bool pretty, const struct out_meta *m)
{
	static const struct out_ops *const ops[] = {
		[OUT_TEXT] = &out_text_ops,	[OUT_JSON] = &out_json_ops,
		[OUT_PROM] = &out_prom_ops,	[OUT_NDJSON] = &out_ndjson_ops,
		[OUT_FOLDED] = &out_folded_ops, [OUT_PPROF] = &out_pprof_ops,
	};

	o->ops = ops[fmt];
	o->f = f;
	o->pretty = pretty;
	o->meta = m;
	o->priv = NULL;
	o->reads = 0;
}

void out_close(struct out *o)
{
	if (o->ops && o->ops->close)
		o->ops->close(o);
}

int out_report(struct out *o, const struct report *r, bool final)
{
	int err = o->ops->report(o, r, final);

	fflush(o->f);
	return err;
}

void out_error(struct out *o, const char *msg)
{
	if (o->ops->error)
		o->ops->error(o, msg);
	fflush(o->f);
}

bool out_wants_events(const struct out *o)
{
	return o->ops->event != NULL;
}

void out_event(struct out *o, const void *rec, size_t len, uint64_t start_ns)
{
	if (o->ops->event)
		o->ops->event(o, rec, len, start_ns);
}

const char *out_bytes(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u + 1 < AT_ARRAY_SIZE(unit)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
	return buf;
}

const char *out_printable(const char *s, char *buf, size_t len)
{
	json_utf8_clean(s ? s : "", buf, len);
	for (char *c = buf; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return buf;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

const char *out_frame_name(const struct rep_frame *f, char *buf, size_t len)
{
	if (f->function)
		snprintf(buf, len, "%s", f->function);
	else if (f->module)
		snprintf(buf, len, "%s+0x%llx", base_name(f->module),
			 (unsigned long long)f->offset);
	else
		snprintf(buf, len, "0x%llx", (unsigned long long)f->address);
	return buf;
}

const char *out_frame_text(const struct rep_frame *f, char *buf, size_t len)
{
	if (!f->function) {
		out_frame_name(f, buf, len);
	} else if (f->file && f->line) {
		snprintf(buf, len, "%s+0x%llx (%s:%u)", f->function,
			 (unsigned long long)f->function_offset, base_name(f->file), f->line);
	} else {
		snprintf(buf, len, "%s+0x%llx (%s)", f->function,
			 (unsigned long long)f->function_offset,
			 f->module ? base_name(f->module) : "?");
	}
	return buf;
}

double out_rate(const struct report *r, uint64_t count)
{
	double secs = (double)(r->now_ns - r->window_ns) / 1e9;

	return secs > 0 ? (double)count / secs : 0;
}
