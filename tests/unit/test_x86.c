// SPDX-License-Identifier: GPL-2.0-only
/* Where the heap probes go: past single-stepped prologue instructions to the first one the
 * kernel emulates, only when that is safe. Byte fixtures from Debian 12's libraries. */
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "x86.h"

#define OFF 0x1000

static void test_glibc_free(void **state)
{
	/* test %rdi,%rdi; je ...; push %rbp */
	const unsigned char c[] = { 0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf, 0x00, 0x00, 0x00, 0x55 };

	uint32_t regs;

	(void)state;
	assert_int_equal(x86_probe_offset(c, sizeof(c), OFF, 1, &regs), OFF + 3);
}

static void test_entry_already_emulated(void **state)
{
	/* glibc malloc: push %r12 */
	const unsigned char c[] = { 0x41, 0x54, 0x55, 0x53 };

	uint32_t regs;

	(void)state;
	assert_int_equal(x86_probe_offset(c, sizeof(c), OFF, 1, &regs), OFF);
}

static void test_jemalloc_free(void **state)
{
	/* mov %rdi,%rax; mov disp(%rip),%rdx; mov %rdi,%rcx; shr $0x1a,%rax; and $imm,%rcx;
	 * and $0xf0,%eax; add %fs:0,%rax; add %rdx,%rax; cmp 0x1b0(%rax),%rcx; jne */
	const unsigned char c[] = { 0x48, 0x89, 0xf8, 0x48, 0x8b, 0x15, 0x0e, 0x53, 0x0a,
				    0x00, 0x48, 0x89, 0xf9, 0x48, 0xc1, 0xe8, 0x1a, 0x48,
				    0x81, 0xe1, 0x00, 0x00, 0x00, 0xc0, 0x25, 0xf0, 0x00,
				    0x00, 0x00, 0x64, 0x48, 0x03, 0x04, 0x25, 0x00, 0x00,
				    0x00, 0x00, 0x48, 0x01, 0xd0, 0x48, 0x3b, 0x88, 0xb0,
				    0x01, 0x00, 0x00, 0x0f, 0x85, 0x8a, 0x00, 0x00, 0x00 };

	uint32_t regs;

	(void)state;
	assert_int_equal(x86_probe_offset(c, sizeof(c), OFF, 1, &regs), OFF + 48);
	/* The same code for a function whose third argument is read: rdx is overwritten at +3. */
	assert_int_equal(x86_probe_offset(c, sizeof(c), OFF, 3, &regs), OFF);
}

static void test_own_register_preferred(void **state)
{
	/* mimalloc's mi_free: mov %rdi,%rcx; test %rdi,%rdi; je: the pointer is in rcx and
	 * rdi, read from rdi (the programs' fast path). */
	const unsigned char c[] = { 0x48, 0x89, 0xf9, 0x48, 0x85, 0xff, 0x74, 0x5d };
	uint32_t regs;

	(void)state;
	assert_int_equal(x86_probe_offset(c, sizeof(c), OFF, 1, &regs), OFF + 6);
	assert_int_equal(regs, AT_ARG_REGS(AT_REG_RDI, AT_REG_RSI, AT_REG_RDX));
}

static void test_argument_followed(void **state)
{
	/* mimalloc's mi_malloc: mov disp(%rip),%rax; mov %rdi,%rsi; mov %fs:(%rax),%rdi;
	 * cmp $0x400,%rsi; ja: the size moved to rsi before rdi was overwritten. */
	const unsigned char c[] = { 0x48, 0x8b, 0x05, 0x49, 0xb4, 0x00, 0x00, 0x48,
				    0x89, 0xfe, 0x64, 0x48, 0x8b, 0x38, 0x48, 0x81,
				    0xfe, 0x00, 0x04, 0x00, 0x00, 0x77, 0x29 };
	uint32_t regs;

	(void)state;
	assert_int_equal(x86_probe_offset(c, sizeof(c), OFF, 1, &regs), OFF + 21);
	assert_int_equal(regs & 0xf000, AT_REG_RSI << 12);
}

static void test_argument_overwritten(void **state)
{
	/* mov %fs:(%rax),%rdi with no copy first: the size is gone. */
	const unsigned char c[] = { 0x64, 0x48, 0x8b, 0x38, 0x48, 0x81, 0xfe,
				    0x00, 0x04, 0x00, 0x00, 0x77, 0x29 };
	uint32_t regs;

	(void)state;
	assert_int_equal(x86_probe_offset(c, sizeof(c), OFF, 1, &regs), OFF);
	assert_int_equal(regs, AT_ARG_REGS(AT_REG_RDI, AT_REG_RSI, AT_REG_RDX));
}

static void test_memory_write_stops(void **state)
{
	/* mov %rdi,(%rax); je */
	const unsigned char c[] = { 0x48, 0x89, 0x38, 0x74, 0x05 };

	uint32_t regs;

	(void)state;
	assert_int_equal(x86_probe_offset(c, sizeof(c), OFF, 1, &regs), OFF);
}

static void test_branch_into_window(void **state)
{
	/* test %rdi,%rdi; je +2; ...; jmp back to offset 3 (the probe would be a loop head) */
	const unsigned char c[] = { 0x48, 0x85, 0xff, 0x74, 0x02, 0x90, 0x90, 0xeb, 0xfa };

	uint32_t regs;

	(void)state;
	assert_int_equal(x86_probe_offset(c, sizeof(c), OFF, 1, &regs), OFF);
}

/* glibc 2.36's free: test %rdi,%rdi; je (free(NULL)); push %rbp; lea -0x10(%rdi),%rsi;
 * push %rbx; sub $0x18,%rsp; mov disp(%rip),%rbx; mov -0x8(%rdi),%rax; mov %fs:(%rbx),%ebp;
 * test $0x2,%al; jne: the size word is in rax at the jne, +35. */
static const unsigned char glibc_free[] = { 0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf, 0x00, 0x00,
					    0x00, 0x55, 0x48, 0x8d, 0x77, 0xf0, 0x53, 0x48,
					    0x83, 0xec, 0x18, 0x48, 0x8b, 0x1d, 0xd6, 0x9e,
					    0x13, 0x00, 0x48, 0x8b, 0x47, 0xf8, 0x64, 0x8b,
					    0x2b, 0xa8, 0x02, 0x75, 0x5b, 0x48, 0x8b, 0x15 };

static void test_size_word_glibc_free(void **state)
{
	uint32_t regs;

	(void)state;
	assert_int_equal(x86_size_word_offset(glibc_free, sizeof(glibc_free), OFF, &regs),
			 OFF + 35);
	assert_int_equal(regs,
			 AT_ARG_REGS(AT_REG_RDI, 0 /* rax */, AT_REG_RDX) | AT_COOKIE_SIZE_WORD);
}

static void test_size_word_not_there(void **state)
{
	unsigned char c[sizeof(glibc_free)];
	uint32_t regs;

	(void)state;
	/* The word loaded through another register than the pointer's: -0x8(%rsi). */
	memcpy(c, glibc_free, sizeof(c));
	c[28] = 0x46;
	assert_int_equal(x86_size_word_offset(c, sizeof(c), OFF, &regs), 0);
	/* A je that follows no test of the pointer: the path past it is not every free's. */
	memcpy(c, glibc_free, sizeof(c));
	c[2] = 0xf6; /* test %rsi,%rsi */
	assert_int_equal(x86_size_word_offset(c, sizeof(c), OFF, &regs), 0);
	/* The pointer overwritten before the load: lea -0x10(%rdi),%rdi. */
	memcpy(c, glibc_free, sizeof(c));
	c[12] = 0x7f;
	assert_int_equal(x86_size_word_offset(c, sizeof(c), OFF, &regs), 0);
	/* A branch back into the way there (jne to +19). */
	memcpy(c, glibc_free, sizeof(c));
	c[36] = (unsigned char)(19 - 37);
	assert_int_equal(x86_size_word_offset(c, sizeof(c), OFF, &regs), 0);
	/* The size word overwritten before the next emulated instruction: mov %fs:(%rbx),%eax. */
	memcpy(c, glibc_free, sizeof(c));
	c[32] = 0x03;
	assert_int_equal(x86_size_word_offset(c, sizeof(c), OFF, &regs), 0);
}

/* Call instructions that end right before a return address, in every form compilers emit,
 * and bytes that do not end with one. */
static void test_after_call(void **state)
{
	static const struct {
		unsigned char code[8];
		size_t len;
		bool call;
	} cases[] = {
		{ { 0x90, 0x90, 0x90, 0xe8, 0x10, 0x20, 0x30, 0x40 }, 8, true }, /* call rel32 */
		{ { 0x48, 0x89, 0xc7, 0xff, 0xd0 }, 5, true },			 /* call *%rax */
		{ { 0x90, 0x41, 0xff, 0xd3 }, 4, true },			 /* call *%r11 */
		{ { 0x90, 0x3e, 0xff, 0xd2 }, 4, true },		   /* notrack call *%rdx */
		{ { 0x90, 0xff, 0x15, 0x12, 0x34, 0x56, 0x78 }, 7, true }, /* call *0x..(%rip) */
		{ { 0x90, 0xff, 0x10 }, 3, true },			   /* call *(%rax) */
		{ { 0x90, 0xff, 0x50, 0x18 }, 4, true },		   /* call *0x18(%rax) */
		{ { 0x90, 0xff, 0x14, 0x24 }, 4, true },		   /* call *(%rsp) */
		{ { 0x90, 0xff, 0x54, 0x24, 0x08 }, 5, true },		   /* call *0x8(%rsp) */
		{ { 0xff, 0x90, 0x00, 0x01, 0x00, 0x00 }, 6, true },	   /* call *0x100(%rax) */
		{ { 0xff, 0x14, 0xc5, 0x00, 0x10, 0x00, 0x00 },
		  7,
		  true },					      /* call *0x1000(,%rax,8) */
		{ { 0x55, 0x48, 0x89, 0xe5, 0x5d, 0xc3 }, 6, false }, /* push, mov, pop, ret */
		{ { 0x48, 0x83, 0xc4, 0x08 }, 4, false },	      /* add $8,%rsp */
		{ { 0x90, 0xff, 0xe0 }, 3, false },		      /* jmp *%rax */
		{ { 0x90, 0xff, 0x15, 0x12, 0x34 }, 5, false },	      /* rip-relative cut short */
		{ { 0xe8, 0x00 }, 2, false },
		{ { 0 }, 0, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (x86_after_call(cases[i].code, cases[i].len) != cases[i].call)
			fail_msg("case %zu", i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glibc_free),
		cmocka_unit_test(test_entry_already_emulated),
		cmocka_unit_test(test_jemalloc_free),
		cmocka_unit_test(test_own_register_preferred),
		cmocka_unit_test(test_argument_followed),
		cmocka_unit_test(test_argument_overwritten),
		cmocka_unit_test(test_memory_write_stops),
		cmocka_unit_test(test_branch_into_window),
		cmocka_unit_test(test_size_word_glibc_free),
		cmocka_unit_test(test_size_word_not_there),
		cmocka_unit_test(test_after_call),
	};

	return cmocka_run_group_tests_name("heap", tests, NULL, NULL);
}
