// SPDX-License-Identifier: GPL-2.0-only
/* --pprof: the report's allocation stacks as a pprof profile (proto/profile.proto),
 * gzipped. Per stack one sample: inuse_space, inuse_objects, alloc_space, alloc_objects,
 * labelled with its allocator, pid and comm. Locations are per (process, address), each with
 * its function and source line when known, and the mapping of its file with the file's path
 * and build-id, so that a consumer can symbolise again from the files. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "out.h"
#include "profile.pb-c.h"

typedef Arenatrace__Pprof__Profile Profile;
typedef Arenatrace__Pprof__Sample Sample;
typedef Arenatrace__Pprof__Location Location;
typedef Arenatrace__Pprof__Mapping Mapping;
typedef Arenatrace__Pprof__Function Function;
typedef Arenatrace__Pprof__Line Line;
typedef Arenatrace__Pprof__Label Label;
typedef Arenatrace__Pprof__ValueType ValueType;

/* An index from a 64-bit hash and an equality test to an id (1-based), open addressing. */
struct index {
	uint64_t *hash;
	size_t *id; /* 0: empty */
	size_t cap, n;
};

static int index_grow(struct index *x)
{
	size_t cap = x->cap ? x->cap * 2 : 1024, *id = calloc(cap, sizeof(*id));
	uint64_t *hash = calloc(cap, sizeof(*hash));

	if (!id || !hash) {
		free(id);
		free(hash);
		return -ENOMEM;
	}
	for (size_t i = 0; i < x->cap; i++) {
		size_t k = x->hash[i] & (cap - 1);

		if (!x->id[i])
			continue;
		while (id[k])
			k = (k + 1) & (cap - 1);
		id[k] = x->id[i];
		hash[k] = x->hash[i];
	}
	free(x->id);
	free(x->hash);
	x->id = id;
	x->hash = hash;
	x->cap = cap;
	return 0;
}

static void index_free(struct index *x)
{
	free(x->id);
	free(x->hash);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ull + (v >> 29);
}

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

struct builder {
	Profile p;
	struct index strs, locs, funcs, maps;
	size_t cap_str, cap_loc, cap_func, cap_map, cap_sample;
	int *loc_pid, *map_pid; /* the process of each location and mapping */
	size_t cap_loc_pid, cap_map_pid;
	int err;
};

/* Find the slot for hash h whose entry eq() accepts: its id, or 0 with *slot free. */
#define INDEX_FIND(x, h, eq, slot)                                                                 \
	({                                                                                         \
		size_t _k = (h) & ((x)->cap - 1), _found = 0;                                      \
		for (; (x)->id[_k]; _k = (_k + 1) & ((x)->cap - 1)) {                              \
			size_t _id = (x)->id[_k];                                                  \
			if ((x)->hash[_k] == (h) && (eq)) {                                        \
				_found = _id;                                                      \
				break;                                                             \
			}                                                                          \
		}                                                                                  \
		*(slot) = _k;                                                                      \
		_found;                                                                            \
	})

static int64_t str_id(struct builder *b, const char *s)
{
	uint64_t h;
	size_t slot, id;
	char *copy;

	if (!s || !*s || b->err)
		return 0;
	if ((b->strs.n + 1) * 2 > b->strs.cap && (b->err = index_grow(&b->strs)))
		return 0;
	h = str_hash(s);
	id = INDEX_FIND(&b->strs, h, !strcmp(b->p.string_table[_id], s), &slot);
	if (id)
		return (int64_t)id;
	copy = strdup(s);
	if (!copy ||
	    at_grow(&b->p.string_table, b->p.n_string_table, &b->cap_str, sizeof(char *), 1)) {
		free(copy);
		b->err = -ENOMEM;
		return 0;
	}
	id = b->p.n_string_table++;
	b->p.string_table[id] = copy;
	b->strs.id[slot] = id;
	b->strs.hash[slot] = h;
	b->strs.n++;
	return (int64_t)id;
}

/* A process's mapping of one file: from the file's offset 0 (address - offset of its
 * frames) to past the highest frame seen in it. */
static uint64_t mapping_id(struct builder *b, int pid, const struct rep_frame *f)
{
	uint64_t base = f->address - f->offset, h = mix(mix((uint64_t)pid, base), 77);
	size_t slot, id;
	Mapping *m;

	if (!f->module || b->err)
		return 0;
	if ((b->maps.n + 1) * 2 > b->maps.cap && (b->err = index_grow(&b->maps)))
		return 0;
	id = INDEX_FIND(&b->maps, h,
			b->p.mapping[_id - 1]->memory_start == base && b->map_pid[_id - 1] == pid,
			&slot);
	if (id) {
		m = b->p.mapping[id - 1];
		if (f->address >= m->memory_limit)
			m->memory_limit = f->address + 1;
		return id;
	}
	m = calloc(1, sizeof(*m));
	if (!m || at_grow(&b->p.mapping, b->p.n_mapping, &b->cap_map, sizeof(m), 1) ||
	    at_grow(&b->map_pid, b->p.n_mapping, &b->cap_map_pid, sizeof(int), 1)) {
		free(m);
		b->err = -ENOMEM;
		return 0;
	}
	arenatrace__pprof__mapping__init(m);
	b->map_pid[b->p.n_mapping] = pid;
	b->p.mapping[b->p.n_mapping++] = m;
	m->id = id = b->p.n_mapping;
	m->memory_start = base;
	m->memory_limit = f->address + 1;
	m->file_offset = 0;
	m->filename = str_id(b, f->module);
	m->build_id = str_id(b, f->build_id);
	m->has_functions = m->has_filenames = m->has_line_numbers = true;
	b->maps.id[slot] = id;
	b->maps.hash[slot] = h;
	b->maps.n++;
	return id;
}

static uint64_t function_id(struct builder *b, const struct rep_frame *f)
{
	int64_t name = str_id(b, f->function), file = str_id(b, f->file);
	uint64_t h = mix(mix((uint64_t)name, (uint64_t)file), 13);
	size_t slot, id;
	Function *fn;

	if (!name || b->err)
		return 0;
	if ((b->funcs.n + 1) * 2 > b->funcs.cap && (b->err = index_grow(&b->funcs)))
		return 0;
	id = INDEX_FIND(&b->funcs, h,
			b->p.function[_id - 1]->name == name &&
				b->p.function[_id - 1]->filename == file,
			&slot);
	if (id)
		return id;
	fn = calloc(1, sizeof(*fn));
	if (!fn || at_grow(&b->p.function, b->p.n_function, &b->cap_func, sizeof(fn), 1)) {
		free(fn);
		b->err = -ENOMEM;
		return 0;
	}
	arenatrace__pprof__function__init(fn);
	b->p.function[b->p.n_function++] = fn;
	fn->id = id = b->p.n_function;
	fn->name = fn->system_name = name;
	fn->filename = file;
	b->funcs.id[slot] = id;
	b->funcs.hash[slot] = h;
	b->funcs.n++;
	return id;
}

static uint64_t location_id(struct builder *b, int pid, const struct rep_frame *f)
{
	uint64_t h = mix(mix((uint64_t)pid, f->address), 5), fid;
	size_t slot, id;
	Location *l;

	if (b->err || ((b->locs.n + 1) * 2 > b->locs.cap && (b->err = index_grow(&b->locs))))
		return 0;
	id = INDEX_FIND(&b->locs, h,
			b->p.location[_id - 1]->address == f->address && b->loc_pid[_id - 1] == pid,
			&slot);
	if (id)
		return id;
	l = calloc(1, sizeof(*l));
	if (!l || at_grow(&b->p.location, b->p.n_location, &b->cap_loc, sizeof(l), 1) ||
	    at_grow(&b->loc_pid, b->p.n_location, &b->cap_loc_pid, sizeof(int), 1)) {
		free(l);
		b->err = -ENOMEM;
		return 0;
	}
	arenatrace__pprof__location__init(l);
	b->loc_pid[b->p.n_location] = pid;
	b->p.location[b->p.n_location++] = l;
	l->id = id = b->p.n_location;
	l->address = f->address;
	l->mapping_id = mapping_id(b, pid, f);
	fid = function_id(b, f);
	if (fid) {
		l->line = calloc(1, sizeof(*l->line));
		l->line[0] = calloc(1, sizeof(Line));
		if (!l->line || !l->line[0]) {
			b->err = -ENOMEM;
		} else {
			arenatrace__pprof__line__init(l->line[0]);
			l->line[0]->function_id = fid;
			l->line[0]->line = f->line;
			l->n_line = 1;
		}
	}
	b->locs.id[slot] = id;
	b->locs.hash[slot] = h;
	b->locs.n++;
	return id;
}

static Label *label(struct builder *b, const char *key, const char *str, int64_t num)
{
	Label *l = calloc(1, sizeof(*l));

	if (!l) {
		b->err = -ENOMEM;
		return NULL;
	}
	arenatrace__pprof__label__init(l);
	l->key = str_id(b, key);
	if (str)
		l->str = str_id(b, str);
	else
		l->num = num;
	return l;
}

static void add_sample(struct builder *b, const struct rep_proc *p, const struct rep_stack *s)
{
	Sample *x = calloc(1, sizeof(*x));

	if (!x || at_grow(&b->p.sample, b->p.n_sample, &b->cap_sample, sizeof(x), 1)) {
		free(x);
		b->err = -ENOMEM;
		return;
	}
	arenatrace__pprof__sample__init(x);
	b->p.sample[b->p.n_sample++] = x;
	x->location_id = calloc(s->nframes + 1, sizeof(*x->location_id));
	x->value = calloc(4, sizeof(*x->value));
	x->label = calloc(3, sizeof(*x->label));
	if (!x->location_id || !x->value || !x->label) {
		b->err = -ENOMEM;
		return;
	}
	for (size_t k = 0; k < s->nframes; k++)
		x->location_id[x->n_location_id++] = location_id(b, p->pid, &s->frames[k]);
	/* What a process that exited early left is still live at its exit; a stack whose
	 * blocks were all freed (or freed by another stack's caller) holds nothing. */
	x->value[0] = s->blocks > 0 && s->bytes > 0 ? s->bytes : 0;
	x->value[1] = s->blocks > 0 && s->bytes > 0 ? s->blocks : 0;
	x->value[2] = (int64_t)s->alloc_bytes;
	x->value[3] = (int64_t)s->alloc_count;
	x->n_value = 4;
	x->label[0] = label(b, "allocator", s->allocator ? s->allocator : "unknown", 0);
	x->label[1] = label(b, "pid", NULL, p->pid);
	x->label[2] = label(b, "comm", p->comm ? p->comm : "", 0);
	x->n_label = 3;
}

static const char *const sample_types[4][2] = {
	{ "inuse_space", "bytes" },
	{ "inuse_objects", "count" },
	{ "alloc_space", "bytes" },
	{ "alloc_objects", "count" },
};

static ValueType *value_type(struct builder *b, const char *type, const char *unit)
{
	ValueType *v = calloc(1, sizeof(*v));

	if (!v) {
		b->err = -ENOMEM;
		return NULL;
	}
	arenatrace__pprof__value_type__init(v);
	v->type = str_id(b, type);
	v->unit = str_id(b, unit);
	return v;
}

static void builder_free(struct builder *b)
{
	Profile *p = &b->p;

	for (size_t i = 0; i < p->n_sample_type; i++)
		free(p->sample_type[i]);
	free(p->sample_type);
	free(p->period_type);
	free(p->comment);
	for (size_t i = 0; i < p->n_sample; i++) {
		for (size_t k = 0; k < p->sample[i]->n_label; k++)
			free(p->sample[i]->label[k]);
		free(p->sample[i]->label);
		free(p->sample[i]->value);
		free(p->sample[i]->location_id);
		free(p->sample[i]);
	}
	free(p->sample);
	for (size_t i = 0; i < p->n_location; i++) {
		if (p->location[i]->line)
			free(p->location[i]->line[0]);
		free(p->location[i]->line);
		free(p->location[i]);
	}
	free(p->location);
	for (size_t i = 0; i < p->n_mapping; i++)
		free(p->mapping[i]);
	free(p->mapping);
	for (size_t i = 0; i < p->n_function; i++)
		free(p->function[i]);
	free(p->function);
	for (size_t i = 0; i < p->n_string_table; i++)
		free(p->string_table[i]);
	free(p->string_table);
	index_free(&b->strs);
	index_free(&b->locs);
	index_free(&b->funcs);
	index_free(&b->maps);
	free(b->loc_pid);
	free(b->map_pid);
}

static void add_comments(struct builder *b, uint64_t sample_bytes)
{
	char text[256];

	if (!sample_bytes)
		snprintf(text, sizeof(text),
			 "arenatrace: every allocation's stack, by frame "
			 "pointers; values exact");
	else if (sample_bytes == 1)
		snprintf(text, sizeof(text),
			 "arenatrace: every allocation's stack, unwound with "
			 "DWARF CFI (--unwind dwarf); values exact");
	else
		snprintf(text, sizeof(text),
			 "arenatrace: stacks of allocations sampled with probability min(1, "
			 "size/%llu), unwound with DWARF CFI (--unwind dwarf); values are "
			 "unbiased estimates, already scaled by 1/p",
			 (unsigned long long)sample_bytes);
	b->p.comment = calloc(1, sizeof(*b->p.comment));
	if (!b->p.comment) {
		b->err = -ENOMEM;
		return;
	}
	b->p.comment[0] = str_id(b, text);
	b->p.n_comment = 1;
}

int out_pprof_encode(const struct report *r, int64_t time_ns, uint8_t **buf, size_t *len)
{
	struct builder b = { .p = ARENATRACE__PPROF__PROFILE__INIT };
	int err;

	*buf = NULL;
	*len = 0;
	/* Entry 0 of the string table is "". */
	b.p.string_table = calloc(1, sizeof(char *));
	b.p.sample_type = calloc(4, sizeof(ValueType *));
	if (!b.p.string_table || !b.p.sample_type || !(b.p.string_table[0] = strdup(""))) {
		builder_free(&b);
		return -ENOMEM;
	}
	b.cap_str = b.p.n_string_table = 1;
	for (size_t i = 0; i < 4; i++)
		b.p.sample_type[b.p.n_sample_type++] =
			value_type(&b, sample_types[i][0], sample_types[i][1]);
	b.p.period_type = value_type(&b, "space", "bytes");
	/* Sampled stacks: the mean bytes between samples, as Go's heap profiles give theirs;
	 * the values are already scaled (each sample weighed 1/p), which a comment says. */
	b.p.period = r->stack_sample_bytes ? (int64_t)r->stack_sample_bytes : 1;
	add_comments(&b, r->stack_sample_bytes);
	b.p.default_sample_type = b.p.sample_type[0] ? b.p.sample_type[0]->type : 0;
	b.p.time_nanos = time_ns;
	b.p.duration_nanos = (int64_t)(r->now_ns - r->window_ns);
	for (size_t i = 0; i < r->nprocs && !b.err; i++)
		for (size_t k = 0; k < r->procs[i].nstacks_all && !b.err; k++)
			add_sample(&b, &r->procs[i], &r->procs[i].stacks[k]);
	err = b.err;
	if (!err) {
		*len = arenatrace__pprof__profile__get_packed_size(&b.p);
		*buf = malloc(*len ? *len : 1);
		if (*buf)
			arenatrace__pprof__profile__pack(&b.p, *buf);
		else
			err = -ENOMEM;
	}
	builder_free(&b);
	return err;
}

/* gzip (RFC 1952) of the encoded profile, as pprof's readers expect. */
static int write_gzip(FILE *f, const uint8_t *buf, size_t len)
{
	z_stream z = { 0 };
	uint8_t out[65536];
	int ret;

	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY))
		return -ENOMEM;
	z.next_in = (uint8_t *)buf;
	z.avail_in = (uInt)len;
	do {
		z.next_out = out;
		z.avail_out = sizeof(out);
		ret = deflate(&z, Z_FINISH);
		if (ret == Z_STREAM_ERROR)
			break;
		fwrite(out, 1, sizeof(out) - z.avail_out, f);
	} while (ret != Z_STREAM_END);
	deflateEnd(&z);
	return ret == Z_STREAM_END && !ferror(f) ? 0 : -EIO;
}

static int pprof_report(struct out *o, const struct report *r, bool final)
{
	struct timespec ts;
	uint8_t *buf;
	size_t len;
	int err;

	(void) final;
	clock_gettime(CLOCK_REALTIME, &ts);
	err = out_pprof_encode(r, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, &buf, &len);
	if (!err)
		err = write_gzip(o->f, buf, len);
	free(buf);
	return err;
}

const struct out_ops out_pprof_ops = { .report = pprof_report };
