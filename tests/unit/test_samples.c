// SPDX-License-Identifier: GPL-2.0-only
/* --unwind dwarf's sums (app/samples.c): the weights of sampled allocations, frees taken
 * off their stack, and the live samples' table under many inserts and deletes. The
 * samples are of a pid that does not exist, as of a process gone before its samples were
 * read: they wait for its exit (samples_exit), frees of them noted, and then keep their
 * first frame (ip, with no mappings known) and count as gone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "app.h"
#include "abi.h"
#include "loader.h"
#include "ustack.h"

#define PID 0x3ffffff0 /* above pid_max: no such process */

static struct at_ustack_rec rec;

static void add(struct samples *s, struct ustack *u, uint32_t id, uint64_t size, uint64_t ip)
{
	memset(&rec, 0, sizeof(rec));
	rec.hdr.type = AT_REC_USTACK;
	rec.hdr.pid = rec.hdr.tid = PID;
	rec.id = id;
	rec.alloc = 1;
	rec.size = size;
	rec.regs[AT_UREG_IP] = ip;
	samples_add(s, u, &rec);
}

static void del(struct samples *s, uint32_t id)
{
	struct at_ustack_free f = { .hdr = { .type = AT_REC_USTACK_FREE, .pid = PID }, .id = id };

	samples_free(s, &f);
}

/* The row of the stack whose only frame is ip. */
static const struct loader_stack *row(const struct loader_stack *rows, int n, uint64_t ip)
{
	for (int i = 0; i < n; i++)
		if (rows[i].nips == 1 && rows[i].ips[0] == ip)
			return &rows[i];
	fail_msg("no stack 0x%llx", (unsigned long long)ip);
	return NULL;
}

static void test_weights(void **state)
{
	struct samples *s = samples__new(1000);
	struct ustack *u = ustack__new(NULL);
	struct loader_stack *rows;
	const struct loader_stack *r;
	int n;

	(void)state;
	/* At or above the rate: taken always, weight 1. Below: weight rate / size. */
	add(s, u, 1, 3000, 0x1000);
	add(s, u, 2, 1000, 0x1000);
	add(s, u, 3, 250, 0x2000);
	add(s, u, 4, 250, 0x2000);
	del(s, 2);
	del(s, 4);
	del(s, 99); /* a sample never seen (before an exec): nothing */
	assert_int_equal(samples_stacks(s, PID, &rows), 0); /* waiting for the exit */
	assert_int_equal(samples_gone(s), 0);
	samples_exit(s, u, PID);
	n = samples_stacks(s, PID, &rows);
	assert_int_equal(n, 2);
	r = row(rows, n, 0x1000);
	assert_int_equal(r->bytes, 3000);
	assert_int_equal(r->blocks, 1);
	assert_int_equal(r->alloc_bytes, 4000);
	assert_int_equal(r->alloc_count, 2);
	assert_int_equal(r->alloc, 1);
	r = row(rows, n, 0x2000);
	assert_int_equal(r->bytes, 1000); /* 250 bytes, weight 4 */
	assert_int_equal(r->blocks, 4);
	assert_int_equal(r->alloc_bytes, 2000);
	assert_int_equal(r->alloc_count, 8);
	/* The most live bytes first. */
	assert_int_equal(rows[0].ips[0], 0x1000);
	free(rows);
	assert_int_equal(samples_gone(s), 4);
	samples_forget(s, PID);
	assert_int_equal(samples_stacks(s, PID, &rows), 0);
	samples__free(s);
	ustack__free(u);
}

static void test_many_live(void **state)
{
	struct samples *s = samples__new(1);
	struct ustack *u = ustack__new(NULL);
	struct loader_stack *rows;
	uint32_t order[3000];
	int n;

	(void)state;
	for (uint32_t i = 0; i < 3000; i++) {
		add(s, u, i * 7919u, 16 + i % 3, 0x1000 + (i % 5) * 0x10);
		order[i] = i;
	}
	/* Unwound at the exit (no stack then), before the frees: these go through the table
	 * of live samples. */
	samples_exit(s, u, PID);
	/* Freed in a shuffled order, all but every tenth: what stays is exact. */
	for (uint32_t i = 2999; i > 0; i--) {
		uint32_t k = (i * 2654435761u) % (i + 1), t = order[i];

		order[i] = order[k];
		order[k] = t;
	}
	for (uint32_t i = 0; i < 3000; i++)
		if (order[i] % 10)
			del(s, order[i] * 7919u);
	n = samples_stacks(s, PID, &rows);
	assert_int_equal(n, 5);
	for (int k = 0; k < 5; k++) {
		const struct loader_stack *r = row(rows, n, 0x1000 + (uint64_t)k * 0x10);
		int64_t bytes = 0, blocks = 0;

		for (uint32_t i = (uint32_t)k; i < 3000; i += 5)
			if (!(i % 10)) {
				bytes += 16 + i % 3;
				blocks++;
			}
		assert_int_equal(r->bytes, bytes);
		assert_int_equal(r->blocks, blocks);
		assert_int_equal(r->alloc_count, 600);
	}
	free(rows);
	samples__free(s);
	ustack__free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weights),
		cmocka_unit_test(test_many_live),
	};

	return cmocka_run_group_tests_name("samples", tests, NULL, NULL);
}
