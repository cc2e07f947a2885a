// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tmem.h"

/* This process read from outside: a touched buffer reads back; an untouched page is refused
 * and stays untouched (mincore says so after the attempt). */
static void test_self(void **state)
{
	struct tmem *t = tmem__open(getpid());
	unsigned char *m = mmap(NULL, 2 * AT_PAGE_SIZE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t word = 0, v = 0;
	unsigned char vec[2];
	char got[16];

	(void)state;
	assert_non_null(t);
	assert_ptr_not_equal(m, MAP_FAILED);
	memcpy(m, "arenatrace-tmem", 16);
	assert_int_equal(tmem_read(t, (uint64_t)(uintptr_t)m, got, 16), 0);
	assert_string_equal(got, "arenatrace-tmem");
	word = 0x1122334455667788ull;
	assert_int_equal(tmem_read_u64(t, (uint64_t)(uintptr_t)&word, &v), 0);
	assert_int_equal(v, 0x1122334455667788ull);

	assert_false(tmem_resident(t, (uint64_t)(uintptr_t)(m + AT_PAGE_SIZE)));
	assert_int_equal(tmem_resident_bytes(t, (uint64_t)(uintptr_t)m,
					     (uint64_t)(uintptr_t)(m + 2 * AT_PAGE_SIZE), &v),
			 0);
	assert_int_equal(v, AT_PAGE_SIZE);
	assert_int_equal(tmem_read(t, (uint64_t)(uintptr_t)(m + AT_PAGE_SIZE - 8), &v, 16),
			 -EFAULT);
	assert_int_equal(mincore(m, 2 * AT_PAGE_SIZE, vec), 0);
	assert_true(vec[0] & 1);
	assert_false(vec[1] & 1);

	/* The budget bounds the bytes read, then refuses. */
	tmem_set_budget(t, 20);
	assert_int_equal(tmem_read(t, (uint64_t)(uintptr_t)m, got, 16), 0);
	assert_int_equal(tmem_read(t, (uint64_t)(uintptr_t)m, got, 16), -ENOSPC);
	assert_int_equal(tmem_bytes_read(t), 16);
	assert_int_equal(tmem_refused(t), 1);
	munmap(m, 2 * AT_PAGE_SIZE);
	assert_int_equal(tmem_read(t, (uint64_t)(uintptr_t)m, got, 5), -ENOSPC);
	tmem_set_budget(t, 0);
	assert_int_equal(tmem_read(t, (uint64_t)(uintptr_t)m, got, 1), -EFAULT);
	tmem__free(t);
}

/* Anonymous memory: the untouched page reads as zeros and stays untouched; the touched one
 * reads back. */
static void test_anon(void **state)
{
	struct tmem *t = tmem__open(getpid());
	unsigned char *m = mmap(NULL, 2 * AT_PAGE_SIZE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char got[32], vec[2];

	(void)state;
	assert_non_null(t);
	assert_ptr_not_equal(m, MAP_FAILED);
	memset(m, 0xab, AT_PAGE_SIZE);
	assert_int_equal(tmem_read_anon(t, (uint64_t)(uintptr_t)(m + AT_PAGE_SIZE - 16), got, 32),
			 0);
	for (int i = 0; i < 32; i++)
		assert_int_equal(got[i], i < 16 ? 0xab : 0);
	assert_int_equal(mincore(m, 2 * AT_PAGE_SIZE, vec), 0);
	assert_false(vec[1] & 1);
	tmem_set_budget(t, 40);
	assert_int_equal(tmem_read_anon(t, (uint64_t)(uintptr_t)(m + AT_PAGE_SIZE), got, 32), 0);
	assert_int_equal(tmem_read_anon(t, (uint64_t)(uintptr_t)(m + AT_PAGE_SIZE), got, 32),
			 -ENOSPC);
	munmap(m, 2 * AT_PAGE_SIZE);
	tmem__free(t);
}

static void test_buffer(void **state)
{
	const char data[] = "0123456789abcdef";
	struct tmem *t = tmem__from_buf(0x1000, data, 16);
	uint64_t v;
	char got[8];

	(void)state;
	assert_non_null(t);
	assert_int_equal(tmem_read(t, 0x1008, got, 8), 0);
	assert_memory_equal(got, "89abcdef", 8);
	assert_int_equal(tmem_read(t, 0x1009, got, 8), -EFAULT);
	assert_int_equal(tmem_read(t, 0xff8, got, 8), -EFAULT);
	assert_int_equal(tmem_read(t, UINT64_MAX - 2, got, 8), -EFAULT);
	assert_true(tmem_resident(t, 0x100f));
	assert_false(tmem_resident(t, 0x1010));
	assert_int_equal(tmem_resident_bytes(t, 0x1008, 0x2000, &v), 0);
	assert_int_equal(v, 8);
	assert_int_equal(tmem_resident_bytes(t, 0x2000, 0x1000, &v), 0);
	assert_int_equal(v, 0);
	tmem__free(t);
	tmem__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_anon),
		cmocka_unit_test(test_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
