// SPDX-License-Identifier: GPL-2.0-only
/* The live-block table's slots read back: every (tgid, ptr) the BPF side files under a
 * bucket and tag (bpf/heap.bpf.c live_slot_of) decodes to itself, at every table size. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "abi.h"

/* What live_slot_of does, from the shared mix. */
static void encode(uint32_t tgid, uint64_t ptr, unsigned bits, uint32_t *bucket, uint64_t *tag)
{
	uint64_t h = at_live_mix(ptr);

	*bucket = AT_LIVE_BUCKET(h, tgid, bits);
	*tag = (h >> bits) | ((uint64_t)tgid << (AT_LIVE_PTR_BITS - bits));
}

static void test_live_slots_decode(void **state)
{
	const uint64_t ptrs[] = {
		8, 0x10, 0x55d0c5a4e010ull, 0x7f1c2a000000ull, 0x7ffffffff000ull, (1ull << 47) - 8
	};
	const uint32_t tgids[] = { 1, 4242, (1u << 22) - 1 };
	uint64_t x = 0x123456789abcdefull;

	(void)state;
	for (unsigned bits = 2; bits <= 22; bits += 4) {
		for (size_t i = 0; i < AT_ARRAY_SIZE(ptrs) * AT_ARRAY_SIZE(tgids) + 2000; i++) {
			uint64_t ptr, got_ptr, tag;
			uint32_t tgid, got_tgid, bucket;

			if (i < AT_ARRAY_SIZE(ptrs) * AT_ARRAY_SIZE(tgids)) {
				ptr = ptrs[i % AT_ARRAY_SIZE(ptrs)];
				tgid = tgids[i / AT_ARRAY_SIZE(ptrs)];
			} else {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				ptr = x & 0x7ffffffffff8ull;
				tgid = (uint32_t)(x >> 50) & ((1u << 22) - 1);
			}
			encode(tgid, ptr, bits, &bucket, &tag);
			assert_true(bucket < (1u << bits));
			at_live_decode(bucket, tag, bits, &got_tgid, &got_ptr);
			assert_int_equal(got_tgid, tgid);
			assert_int_equal(got_ptr, ptr);
		}
	}
	assert_int_equal(at_live_unmix(at_live_mix(0x7f0012345678ull)), 0x7f0012345678ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_slots_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
