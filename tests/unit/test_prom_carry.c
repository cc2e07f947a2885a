// SPDX-License-Identifier: GPL-2.0-only
/* The carry that keeps Prometheus counters from falling (prom_carry.c): gains go to the
 * process's own series while it is exported, to its allocator's pid="other" otherwise;
 * restarts (an exec, a pid reused) count from 0; processes no longer rendered are
 * forgotten. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom_carry.h"

static const double *other(const struct prom_carry *c, const char *name)
{
	for (size_t i = 0; i < prom_carry_others(c); i++) {
		const double *v;

		if (!strcmp(prom_carry_other(c, i, &v), name))
			return v;
	}
	return NULL;
}

static void render(struct prom_carry *c, int pid, uint32_t gen, const char *name, double a,
		   double b, bool top, double *out)
{
	const double raw[2] = { a, b };
	char labels[32];

	snprintf(labels, sizeof(labels), "pid=\"%d\"", pid);
	assert_int_equal(prom_carry_add(c, pid, gen, name, top ? labels : NULL, raw, top, out), 0);
}

/* The own series that ended and wait for a reader, as "labels name value0;...". */
static void ended_one(void *arg, const char *labels, const char *name, const double *v)
{
	char *out = arg;

	snprintf(out + strlen(out), 256 - strlen(out), "%s %s %g;", labels, name, v[0]);
}

static const char *ended(const struct prom_carry *c)
{
	static char out[256];

	out[0] = '\0';
	prom_carry_each_ended(c, ended_one, out);
	return out;
}

static void test_moves_exits_restarts(void **state)
{
	struct prom_carry *c = prom_carry__new(2);
	double own[2];

	(void)state;
	assert_non_null(c);
	/* Two processes, pid 1 exported, pid 2 among the others, each with two counters. */
	prom_carry_begin(c, 0);
	render(c, 1, 0, "glibc", 10, 1, true, own);
	assert_true(own[0] == 10 && own[1] == 1);
	render(c, 2, 0, "glibc", 4, 2, false, NULL);
	render(c, 2, 0, "jemalloc", 8, 0, false, NULL);
	prom_carry_end(c);
	assert_int_equal(prom_carry_others(c), 2);
	assert_true(other(c, "glibc")[0] == 4 && other(c, "glibc")[1] == 2);
	assert_true(other(c, "jemalloc")[0] == 8);
	assert_string_equal(ended(c), "");

	/* A read, then they swap: each series gets only the gains made since. pid 1's own
	 * series ended: frozen, it waits for a reader. */
	prom_carry_begin(c, 1);
	render(c, 1, 0, "glibc", 15, 1, false, NULL);
	render(c, 2, 0, "glibc", 6, 2, true, own);
	assert_true(own[0] == 2 && own[1] == 0);
	render(c, 2, 0, "jemalloc", 9, 0, true, own);
	assert_true(own[0] == 1);
	prom_carry_end(c);
	assert_true(other(c, "glibc")[0] == 9 && other(c, "glibc")[1] == 2);
	assert_true(other(c, "jemalloc")[0] == 8);
	assert_string_equal(ended(c), "pid=\"1\" glibc 10;");

	/* One read since: it could have been the text before; still there. pid 2 exits
	 * (not rendered): its own series waits too. */
	prom_carry_begin(c, 1);
	render(c, 1, 0, "glibc", 15, 1, false, NULL);
	prom_carry_end(c);
	assert_string_equal(ended(c), "pid=\"1\" glibc 10;pid=\"2\" glibc 2;pid=\"2\" jemalloc 1;");

	/* Two reads since pid 1 left the top, one since pid 2 did: pid 1's series goes; pid
	 * 1 execs (generation 1): its counters restarted at 3. */
	prom_carry_begin(c, 2);
	render(c, 1, 1, "glibc", 3, 0, false, NULL);
	prom_carry_end(c);
	assert_true(other(c, "glibc")[0] == 12);
	assert_string_equal(ended(c), "pid=\"2\" glibc 2;pid=\"2\" jemalloc 1;");

	/* pid 2 read twice since: forgotten. A new process with its pid starts from 0: all
	 * it has is new. */
	prom_carry_begin(c, 3);
	render(c, 1, 1, "glibc", 3, 0, false, NULL);
	prom_carry_end(c);
	assert_string_equal(ended(c), "");
	prom_carry_begin(c, 3);
	render(c, 2, 0, "glibc", 1, 1, true, own);
	assert_true(own[0] == 1 && own[1] == 1);
	/* A counter that fell without an exec seen (a pid reused between two renders) is a
	 * restart too. */
	render(c, 1, 1, "glibc", 2, 0, false, NULL);
	prom_carry_end(c);
	assert_true(other(c, "glibc")[0] == 14);
	assert_string_equal(ended(c), "");
	/* pid 2 execs and its new program returns more than the old one had: all 5 are new
	 * (the generation says so; the counters alone would show a gain of 4). */
	prom_carry_begin(c, 3);
	render(c, 2, 1, "glibc", 5, 1, true, own);
	assert_true(own[0] == 6 && own[1] == 2);
	prom_carry_end(c);
	prom_carry__free(c);
	prom_carry__free(NULL);
}

/* Many processes rendered in any order: the sorted look-up finds each, and the others'
 * sum is exact. */
static void test_many(void **state)
{
	struct prom_carry *c = prom_carry__new(2);
	double total = 0;

	(void)state;
	for (int round = 1; round <= 3; round++) {
		prom_carry_begin(c, 0);
		for (int i = 0; i < 500; i++) {
			int pid = (i * 7919) % 500 + 1;

			render(c, pid, 0, pid % 2 ? "a" : "b", round * pid, 0, false, NULL);
		}
		prom_carry_end(c);
	}
	for (int pid = 1; pid <= 500; pid++)
		total += 3 * pid;
	assert_true(other(c, "a")[0] + other(c, "b")[0] == total);
	prom_carry__free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_moves_exits_restarts),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests_name("prom_carry", tests, NULL, NULL);
}
