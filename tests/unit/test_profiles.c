// SPDX-License-Identifier: GPL-2.0-only
/* --folded and --pprof, from one synthetic report: the folded lines exactly, and the pprof
 * profile gunzipped and decoded with protobuf-c (samples, values, labels, locations,
 * functions, lines, mappings). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "out.h"
#include "profile.pb-c.h"

#define EXE "/opt/app/bin/server"
#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"

/* Process 7: two stacks of glibc through parse() and load() (one line each), a third whose
 * blocks were all freed (alloc totals only), and a jemalloc stack whose innermost frame has
 * no symbol. Process 9: one stack of a frame with a ';' in its name. */
static const struct rep_frame f_parse[] = {
	{ 0x555500001234, EXE, "abcd", 0x1234, "parse", 0x34, "src/parse.c", 42 },
	{ 0x555500002010, EXE, "abcd", 0x2010, "main", 0x10, "src/main.c", 7 },
	{ 0x7f0000029d90, LIBC, "ef01", 0x29d90, "__libc_start_call_main", 0x80, NULL, 0 },
};
static const struct rep_frame f_load[] = {
	{ 0x555500001300, EXE, "abcd", 0x1300, "load", 0x20, "src/load.c", 11 },
	{ 0x555500002040, EXE, "abcd", 0x2040, "main", 0x40, "src/main.c", 9 },
	{ 0x7f0000029d90, LIBC, "ef01", 0x29d90, "__libc_start_call_main", 0x80, NULL, 0 },
};
static const struct rep_frame f_anon[] = {
	{ 0x555500003000, EXE, "abcd", 0x3000, NULL, 0, NULL, 0 },
	{ 0x555500002040, EXE, "abcd", 0x2040, "main", 0x40, "src/main.c", 9 },
};
static const struct rep_frame f_semi[] = {
	{ 0x400100, "/bin/x", NULL, 0x100, "a;b", 0, NULL, 0 },
};

static const struct rep_stack stacks7[] = {
	{ "glibc", 3000, 3, 5000, 5, f_parse, 3 },
	{ "jemalloc", 512, 2, 512, 2, f_anon, 2 },
	{ "glibc", 100, 1, 100, 1, f_load, 3 },
	{ "glibc", 0, 0, 800, 8, f_load, 2 },
};
static const struct rep_stack stacks9[] = {
	{ "mimalloc", 64, 1, 64, 1, f_semi, 1 },
};

static struct rep_proc procs[] = {
	{ .pid = 7,
	  .comm = "server",
	  .has_stacks = true,
	  .stacks = stacks7,
	  .nstacks = 2,
	  .nstacks_all = 4 },
	{ .pid = 9,
	  .comm = "x",
	  .has_stacks = true,
	  .stacks = stacks9,
	  .nstacks = 1,
	  .nstacks_all = 1 },
};
static const struct report rep = { .procs = procs, .nprocs = 2, .now_ns = 3000000000ull };

static void test_folded(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_int_equal(out_folded_write(f, &rep), 0);
	fclose(f);
	/* Root first, the process and the allocator as root frames; sorted; the stack whose
	 * blocks were freed is left out; ';' in a name cannot split a frame. */
	assert_string_equal(buf, "server-7;glibc;__libc_start_call_main;main;load 100\n"
				 "server-7;glibc;__libc_start_call_main;main;parse 3000\n"
				 "server-7;jemalloc;main;server+0x3000 512\n"
				 "x-9;mimalloc;a:b 64\n");
	free(buf);
}

/* Two stacks naming the same frames (two call sites in one function) make one line. */
static void test_folded_merges(void **state)
{
	static const struct rep_frame a[] = { { 0x10, "/m", NULL, 0x10, "f", 1, NULL, 0 } };
	static const struct rep_frame b[] = { { 0x20, "/m", NULL, 0x20, "f", 2, NULL, 0 } };
	const struct rep_stack st[] = { { "glibc", 10, 1, 10, 1, a, 1 },
					{ "glibc", 32, 2, 32, 2, b, 1 } };
	struct rep_proc p = { .pid = 1, .comm = "m", .stacks = st, .nstacks_all = 2 };
	struct report r = { .procs = &p, .nprocs = 1 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_int_equal(out_folded_write(f, &r), 0);
	fclose(f);
	assert_string_equal(buf, "m-1;glibc;f 42\n");
	free(buf);
}

static Arenatrace__Pprof__Profile *decode(void)
{
	char *gz = NULL;
	size_t gzlen = 0;
	FILE *f = open_memstream(&gz, &gzlen);
	struct out o;
	uint8_t raw[65536];
	z_stream z = { 0 };
	Arenatrace__Pprof__Profile *p;

	out_init(&o, OUT_PPROF, f, false, NULL);
	assert_int_equal(out_report(&o, &rep, true), 0);
	fclose(f);
	/* gzip's magic, then inflate as gzip. */
	assert_true(gzlen > 2 && (uint8_t)gz[0] == 0x1f && (uint8_t)gz[1] == 0x8b);
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (uint8_t *)gz;
	z.avail_in = (uInt)gzlen;
	z.next_out = raw;
	z.avail_out = sizeof(raw);
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	p = arenatrace__pprof__profile__unpack(NULL, z.total_out, raw);
	inflateEnd(&z);
	free(gz);
	assert_non_null(p);
	return p;
}

static const char *str(const Arenatrace__Pprof__Profile *p, int64_t i)
{
	assert_true(i >= 0 && (size_t)i < p->n_string_table);
	return p->string_table[i];
}

static const Arenatrace__Pprof__Location *loc(const Arenatrace__Pprof__Profile *p, uint64_t id)
{
	assert_true(id >= 1 && id <= p->n_location);
	assert_int_equal(p->location[id - 1]->id, id);
	return p->location[id - 1];
}

static const Arenatrace__Pprof__Function *fn_of(const Arenatrace__Pprof__Profile *p,
						const Arenatrace__Pprof__Location *l)
{
	uint64_t id;

	assert_int_equal(l->n_line, 1);
	id = l->line[0]->function_id;
	assert_true(id >= 1 && id <= p->n_function);
	return p->function[id - 1];
}

static const char *label(const Arenatrace__Pprof__Profile *p, const Arenatrace__Pprof__Sample *s,
			 const char *key, int64_t *num)
{
	for (size_t i = 0; i < s->n_label; i++) {
		if (strcmp(str(p, s->label[i]->key), key))
			continue;
		if (num)
			*num = s->label[i]->num;
		return str(p, s->label[i]->str);
	}
	fail_msg("no label %s", key);
	return NULL;
}

static void test_pprof(void **state)
{
	static const char *const types[4][2] = { { "inuse_space", "bytes" },
						 { "inuse_objects", "count" },
						 { "alloc_space", "bytes" },
						 { "alloc_objects", "count" } };
	Arenatrace__Pprof__Profile *p = decode();
	const Arenatrace__Pprof__Sample *s;
	const Arenatrace__Pprof__Location *l;
	const Arenatrace__Pprof__Mapping *m;
	int64_t pid = 0;

	(void)state;
	assert_string_equal(str(p, 0), "");
	assert_int_equal(p->n_sample_type, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(str(p, p->sample_type[i]->type), types[i][0]);
		assert_string_equal(str(p, p->sample_type[i]->unit), types[i][1]);
	}
	assert_string_equal(str(p, p->default_sample_type), "inuse_space");
	/* Every stack is a sample, the freed one too (alloc figures). */
	assert_int_equal(p->n_sample, 5);
	s = p->sample[0];
	assert_int_equal(s->n_value, 4);
	assert_int_equal(s->value[0], 3000);
	assert_int_equal(s->value[1], 3);
	assert_int_equal(s->value[2], 5000);
	assert_int_equal(s->value[3], 5);
	assert_string_equal(label(p, s, "allocator", NULL), "glibc");
	assert_string_equal(label(p, s, "comm", NULL), "server");
	label(p, s, "pid", &pid);
	assert_int_equal(pid, 7);
	/* Leaf first: parse, main, __libc_start_call_main. */
	assert_int_equal(s->n_location_id, 3);
	l = loc(p, s->location_id[0]);
	assert_int_equal(l->address, 0x555500001234);
	assert_string_equal(str(p, fn_of(p, l)->name), "parse");
	assert_string_equal(str(p, fn_of(p, l)->filename), "src/parse.c");
	assert_int_equal(l->line[0]->line, 42);
	m = p->mapping[l->mapping_id - 1];
	assert_int_equal(m->id, l->mapping_id);
	assert_string_equal(str(p, m->filename), EXE);
	assert_string_equal(str(p, m->build_id), "abcd");
	/* memory_start + file offset maps the address back to its offset in the file. */
	assert_int_equal(l->address - m->memory_start + m->file_offset, 0x1234);
	assert_true(m->memory_limit > 0x555500003000);
	l = loc(p, s->location_id[2]);
	m = p->mapping[l->mapping_id - 1];
	assert_string_equal(str(p, m->filename), LIBC);
	assert_int_equal(l->address - m->memory_start + m->file_offset, 0x29d90);
	assert_int_equal(l->line[0]->line, 0);
	/* One location per (process, address): __libc_start_call_main is shared. */
	assert_int_equal(p->sample[2]->location_id[2], s->location_id[2]);
	/* A frame with no function has a location with no line, in its mapping. */
	s = p->sample[1];
	assert_string_equal(label(p, s, "allocator", NULL), "jemalloc");
	l = loc(p, s->location_id[0]);
	assert_int_equal(l->n_line, 0);
	assert_int_equal(l->address, 0x555500003000);
	assert_int_not_equal(l->mapping_id, 0);
	/* The freed stack: nothing in use, its allocations counted. */
	s = p->sample[3];
	assert_int_equal(s->value[0], 0);
	assert_int_equal(s->value[1], 0);
	assert_int_equal(s->value[2], 800);
	assert_int_equal(s->value[3], 8);
	s = p->sample[4];
	label(p, s, "pid", &pid);
	assert_int_equal(pid, 9);
	assert_string_equal(str(p, fn_of(p, loc(p, s->location_id[0]))->name), "a;b");
	/* Functions are one per (name, file): main in src/main.c once. */
	{
		size_t mains = 0;

		for (size_t i = 0; i < p->n_function; i++)
			mains += !strcmp(str(p, p->function[i]->name), "main");
		assert_int_equal(mains, 1);
	}
	arenatrace__pprof__profile__free_unpacked(p, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folded),
		cmocka_unit_test(test_folded_merges),
		cmocka_unit_test(test_pprof),
	};

	return cmocka_run_group_tests_name("profiles", tests, NULL, NULL);
}
