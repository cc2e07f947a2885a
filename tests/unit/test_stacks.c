// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>

#include "stacks.h"

static void expect(const char *mangled, const char *want)
{
	char *got = stacks_demangle(mangled);

	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_demangle(void **state)
{
	(void)state;
	expect("_Znwm", "operator new(unsigned long)");
	expect("_ZN5arena4growEm", "arena::grow(unsigned long)");
	/* Rust, legacy and v0 mangling. */
	expect("_ZN7bumpalo4Bump17alloc_layout_slow17h0123456789abcdefE",
	       "bumpalo::Bump::alloc_layout_slow");
	expect("_RNvCsfLfy6EI15iL_7___rustc12___rust_alloc", "__rustc::__rust_alloc");
	expect("main", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demangle),
	};

	return cmocka_run_group_tests_name("stacks", tests, NULL, NULL);
}
