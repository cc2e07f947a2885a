// SPDX-License-Identifier: GPL-2.0-only
/* The carry that keeps Prometheus counters from falling (prom_carry.c): gains go to the
 * process's own series while it is exported, to its allocator's pid="other" otherwise;
 * restarts (an exec, a pid reused) count from 0; processes no longer rendered are
 * forgotten. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
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

	assert_int_equal(prom_carry_add(c, pid, gen, name, raw, top, out), 0);
}

static void test_moves_exits_restarts(void **state)
{
	struct prom_carry *c = prom_carry__new(2);
	double own[2];

	(void)state;
	assert_non_null(c);
	/* Two processes, pid 1 exported, pid 2 among the others, each with two counters. */
	prom_carry_begin(c);
	render(c, 1, 0, "glibc", 10, 1, true, own);
	assert_true(own[0] == 10 && own[1] == 1);
	render(c, 2, 0, "glibc", 4, 2, false, NULL);
	render(c, 2, 0, "jemalloc", 8, 0, false, NULL);
	prom_carry_end(c);
	assert_int_equal(prom_carry_others(c), 2);
	assert_true(other(c, "glibc")[0] == 4 && other(c, "glibc")[1] == 2);
	assert_true(other(c, "jemalloc")[0] == 8);

	/* They swap: each series gets only the gains made since. */
	prom_carry_begin(c);
	render(c, 1, 0, "glibc", 15, 1, false, NULL);
	render(c, 2, 0, "glibc", 6, 2, true, own);
	assert_true(own[0] == 2 && own[1] == 0);
	render(c, 2, 0, "jemalloc", 9, 0, true, own);
	assert_true(own[0] == 1);
	prom_carry_end(c);
	assert_true(other(c, "glibc")[0] == 9 && other(c, "glibc")[1] == 2);
	assert_true(other(c, "jemalloc")[0] == 8);

	/* pid 2 exits (not rendered): forgotten. A new process with its pid starts from 0:
	 * all it has is new. pid 1 execs (generation 1): its counters restarted at 3. */
	prom_carry_begin(c);
	render(c, 1, 1, "glibc", 3, 0, false, NULL);
	prom_carry_end(c);
	assert_true(other(c, "glibc")[0] == 12);
	prom_carry_begin(c);
	render(c, 2, 0, "glibc", 1, 1, true, own);
	assert_true(own[0] == 1 && own[1] == 1);
	/* A counter that fell without an exec seen (a pid reused between two renders) is a
	 * restart too. */
	render(c, 1, 1, "glibc", 2, 0, false, NULL);
	prom_carry_end(c);
	assert_true(other(c, "glibc")[0] == 14);
	/* pid 2 execs and its new program returns more than the old one had: all 5 are new
	 * (the generation says so; the counters alone would show a gain of 4). */
	prom_carry_begin(c);
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
		prom_carry_begin(c);
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
