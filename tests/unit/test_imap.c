// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "imap.h"

struct seen {
	struct imap_seg pieces[16];
	int n;
};

static void record(const struct imap_seg *s, void *arg)
{
	struct seen *w = arg;

	if (w->n < 16)
		w->pieces[w->n++] = *s;
}

/* Asserts the map holds exactly the given (start, end, owner, prot) quadruples. */
static void expect(const struct imap *im, int n, const uint64_t (*want)[4])
{
	assert_int_equal(imap_count(im), n);
	for (int i = 0; i < n; i++) {
		const struct imap_seg *s = imap_at(im, (size_t)i);

		assert_int_equal(s->start, want[i][0]);
		assert_int_equal(s->end, want[i][1]);
		assert_int_equal(s->owner, want[i][2]);
		assert_int_equal(s->prot, want[i][3]);
	}
}

static void test_insert_merge_and_neighbours(void **state)
{
	struct imap *im = imap__new(0);

	(void)state;
	assert_int_equal(imap_insert(im, 0x1000, 0x3000, 1, 3, 0, NULL, NULL), 0);
	/* Adjacent and equal: merged. */
	assert_int_equal(imap_insert(im, 0x3000, 0x5000, 1, 3, 0, NULL, NULL), 0);
	/* Adjacent, other owner: kept apart. */
	assert_int_equal(imap_insert(im, 0x5000, 0x6000, 2, 3, 0, NULL, NULL), 0);
	/* Disjoint, below. */
	assert_int_equal(imap_insert(im, 0x0, 0x800, 1, 3, 0, NULL, NULL), 0);
	expect(im, 3,
	       (const uint64_t[][4]){ { 0, 0x800, 1, 3 },
				      { 0x1000, 0x5000, 1, 3 },
				      { 0x5000, 0x6000, 2, 3 } });
	assert_non_null(imap_find(im, 0x4fff));
	assert_null(imap_find(im, 0x900));
	assert_null(imap_find(im, 0x6000));
	imap__free(im);
}

static void test_remove_cases(void **state)
{
	struct imap *im = imap__new(0);
	struct seen w = { 0 };

	(void)state;
	imap_insert(im, 0x1000, 0x9000, 1, 3, 0, NULL, NULL);
	imap_insert(im, 0xa000, 0xc000, 2, 3, 0, NULL, NULL);
	/* Middle of one segment: a split. */
	assert_int_equal(imap_remove(im, 0x3000, 0x4000, record, &w), 0);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.pieces[0].end - w.pieces[0].start, 0x1000);
	/* Across a gap and two segments, clipped at both ends. */
	w.n = 0;
	assert_int_equal(imap_remove(im, 0x8000, 0xb000, record, &w), 0);
	assert_int_equal(w.n, 2);
	assert_int_equal(w.pieces[0].start, 0x8000);
	assert_int_equal(w.pieces[0].end, 0x9000);
	assert_int_equal(w.pieces[1].start, 0xa000);
	assert_int_equal(w.pieces[1].end, 0xb000);
	assert_int_equal(w.pieces[1].owner, 2);
	/* Nothing mapped there. */
	w.n = 0;
	assert_int_equal(imap_remove(im, 0x20000, 0x30000, record, &w), 0);
	assert_int_equal(w.n, 0);
	expect(im, 3,
	       (const uint64_t[][4]){ { 0x1000, 0x3000, 1, 3 },
				      { 0x4000, 0x8000, 1, 3 },
				      { 0xb000, 0xc000, 2, 3 } });
	/* Everything. */
	assert_int_equal(imap_remove(im, 0, UINT64_MAX, NULL, NULL), 0);
	assert_int_equal(imap_count(im), 0);
	imap__free(im);
}

static void test_fixed_overlay_reports_replaced(void **state)
{
	struct imap *im = imap__new(0);
	struct seen w = { 0 };

	(void)state;
	imap_insert(im, 0x1000, 0x3000, 1, 3, 0, NULL, NULL);
	imap_insert(im, 0x4000, 0x6000, 2, 3, 0, NULL, NULL);
	assert_int_equal(imap_insert(im, 0x2000, 0x5000, 3, 0, 0, record, &w), 0);
	assert_int_equal(w.n, 2);
	assert_int_equal(w.pieces[0].start, 0x2000);
	assert_int_equal(w.pieces[0].end, 0x3000);
	assert_int_equal(w.pieces[1].start, 0x4000);
	assert_int_equal(w.pieces[1].end, 0x5000);
	expect(im, 3,
	       (const uint64_t[][4]){ { 0x1000, 0x2000, 1, 3 },
				      { 0x2000, 0x5000, 3, 0 },
				      { 0x5000, 0x6000, 2, 3 } });
	imap__free(im);
}

static void test_update_splits_and_remerges(void **state)
{
	struct imap *im = imap__new(0);
	struct seen w = { 0 };

	(void)state;
	imap_insert(im, 0x1000, 0x9000, 1, 3, 0, NULL, NULL);
	assert_int_equal(imap_update(im, 0x3000, 0x5000, 0, 0, 0, record, &w), 0);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.pieces[0].prot, 3); /* as it was before */
	expect(im, 3,
	       (const uint64_t[][4]){ { 0x1000, 0x3000, 1, 3 },
				      { 0x3000, 0x5000, 1, 0 },
				      { 0x5000, 0x9000, 1, 3 } });
	/* Flags split too; clearing them merges back. */
	assert_int_equal(imap_update(im, 0x6000, 0x7000, -1, IMAP_F_LAZY, 0, NULL, NULL), 0);
	assert_int_equal(imap_count(im), 5);
	assert_int_equal(imap_update(im, 0x0, 0x10000, 3, 0, IMAP_F_LAZY, NULL, NULL), 0);
	expect(im, 1, (const uint64_t[][4]){ { 0x1000, 0x9000, 1, 3 } });
	imap__free(im);
}

static void test_limit_leaves_map_unchanged(void **state)
{
	struct imap *im = imap__new(3);

	(void)state;
	assert_int_equal(imap_insert(im, 0x1000, 0x8000, 1, 3, 0, NULL, NULL), 0);
	assert_int_equal(imap_remove(im, 0x2000, 0x3000, NULL, NULL), 0);
	/* A change that could pass the limit (two splits) is refused whole. */
	assert_int_equal(imap_remove(im, 0x5000, 0x6000, NULL, NULL), -ENOSPC);
	expect(im, 2, (const uint64_t[][4]){ { 0x1000, 0x2000, 1, 3 }, { 0x3000, 0x8000, 1, 3 } });
	imap__free(im);
}

static void test_visit_clips(void **state)
{
	struct imap *im = imap__new(0);
	struct seen w = { 0 };

	(void)state;
	imap_insert(im, 0x1000, 0x4000, 1, 3, 0, NULL, NULL);
	imap_visit(im, 0x2000, 0x8000, record, &w);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.pieces[0].start, 0x2000);
	assert_int_equal(w.pieces[0].end, 0x4000);
	imap__free(im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_merge_and_neighbours),
		cmocka_unit_test(test_remove_cases),
		cmocka_unit_test(test_fixed_overlay_reports_replaced),
		cmocka_unit_test(test_update_splits_and_remerges),
		cmocka_unit_test(test_limit_leaves_map_unchanged),
		cmocka_unit_test(test_visit_clips),
	};

	return cmocka_run_group_tests_name("imap", tests, NULL, NULL);
}
