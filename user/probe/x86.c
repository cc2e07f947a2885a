// SPDX-License-Identifier: GPL-2.0-only
#include "x86.h"

#include <string.h>
#include <unistd.h>

#define REG_RSP 4

/* Length of a push (with REX.B for r8-r15), or 0. */
static size_t push_len(const unsigned char *c, size_t len)
{
	size_t i = (len > 1 && c[0] == 0x41) ? 1 : 0;

	return len > i && c[i] >= 0x50 && c[i] <= 0x57 ? i + 1 : 0;
}

static size_t emulated_len(const unsigned char *c, size_t len)
{
	if (push_len(c, len))
		return push_len(c, len);
	if (len >= 2 && ((c[0] >= 0x70 && c[0] <= 0x7f) || c[0] == 0xeb))
		return 2; /* jcc rel8, jmp rel8 */
	if (len >= 5 && (c[0] == 0xe8 || c[0] == 0xe9))
		return 5; /* call, jmp rel32 */
	if (len >= 6 && c[0] == 0x0f && (c[1] & 0xf0) == 0x80)
		return 6; /* jcc rel32 */
	if (len >= 1 && c[0] == 0x90)
		return 1;
	return 0;
}

/* Bytes of the ModRM operand's SIB and displacement, after the ModRM byte. */
static size_t modrm_extra(const unsigned char *c, size_t len, size_t at)
{
	int mod = c[at] >> 6, rm = c[at] & 7;
	size_t n = 0;

	if (mod == 3)
		return 0;
	if (rm == 4) {
		if (at + 1 >= len)
			return SIZE_MAX;
		n = 1;
		if (mod == 0 && (c[at + 1] & 7) == 5)
			n += 4; /* no base: disp32 */
	} else if (mod == 0 && rm == 5) {
		n = 4; /* rip + disp32 */
	}
	if (mod == 1)
		n += 1;
	else if (mod == 2)
		n += 4;
	return n;
}

/* Length of an instruction that writes no memory and does not branch, or 0: the forms
 * compilers put at a function's start (mov, lea, test, cmp, and, or, xor, add, sub, shifts,
 * with or without a segment prefix), decoded just enough to know that. *dest is the
 * register it writes (-1: none), *src the register a 64-bit register move copies (-1). */
static size_t simple_len(const unsigned char *c, size_t len, int *dest, int *src)
{
	size_t i = 0, extra;
	int rex = 0, op, reg, rm;
	bool reads_only_memory_ok = false;

	*dest = *src = -1;
	if (len >= 4 && c[0] == 0xf3 && c[1] == 0x0f && c[2] == 0x1e && c[3] == 0xfa)
		return 4; /* endbr64 */
	if (i < len && (c[i] == 0x64 || c[i] == 0x65))
		i++; /* %fs:, %gs: */
	if (i < len && (c[i] & 0xf0) == 0x40)
		rex = c[i++];
	if (i >= len)
		return 0;
	op = c[i++];
	switch (op) {
	case 0x05:
	case 0x0d:
	case 0x25:
	case 0x2d:
	case 0x35: /* op %eax/%rax, imm32 */
		*dest = 0;
		/* fall through */
	case 0x3d: /* cmp %eax, imm32 */
	case 0xa9: /* test %eax, imm32 */
		return i + 4 <= len ? i + 4 : 0;
	case 0xa8: /* test %al, imm8 */
		return i + 1 <= len ? i + 1 : 0;
	case 0xb8:
	case 0xb9:
	case 0xba:
	case 0xbb:
	case 0xbc:
	case 0xbd:
	case 0xbe:
	case 0xbf:
		/* mov $imm, %reg: imm64 with REX.W */
		*dest = (op - 0xb8) | ((rex & 1) ? 8 : 0);
		i += (rex & 8) ? 8 : 4;
		return i <= len ? i : 0;
	default:
		break;
	}
	if (i >= len)
		return 0;
	reg = ((c[i] >> 3) & 7) | ((rex & 4) ? 8 : 0);
	rm = (c[i] & 7) | ((rex & 1) ? 8 : 0);
	extra = modrm_extra(c, len, i);
	if (extra == SIZE_MAX)
		return 0;
	switch (op) {
	case 0x84:
	case 0x85:
	case 0x38:
	case 0x39:
	case 0x3a:
	case 0x3b: /* test, cmp */
		reads_only_memory_ok = true;
		break;
	case 0x8b:
	case 0x8d:
	case 0x03:
	case 0x0b:
	case 0x23:
	case 0x2b:
	case 0x33:
		*dest = reg; /* reg <- r/m: memory is only read (lea does not even read) */
		reads_only_memory_ok = true;
		if (op == 0x8b && (c[i] >> 6) == 3 && (rex & 8))
			*src = rm;
		break;
	case 0x89:
	case 0x01:
	case 0x09:
	case 0x21:
	case 0x29:
	case 0x31:
		*dest = rm; /* r/m <- reg: a write when r/m is memory */
		if (op == 0x89 && (rex & 8))
			*src = reg;
		break;
	case 0xc7: /* mov $imm32, r/m */
		if (((c[i] >> 3) & 7) != 0)
			return 0;
		extra += 4;
		*dest = rm;
		break;
	case 0x81:
	case 0x83:
	case 0xc1:
		extra += op == 0x81 ? 4 : 1;
		if (op == 0xc1 || ((c[i] >> 3) & 7) != 7)
			*dest = rm; /* all but cmp write r/m */
		else
			reads_only_memory_ok = true;
		break;
	default:
		return 0;
	}
	if ((c[i] >> 6) != 3 && !reads_only_memory_ok)
		return 0;
	i += 1 + extra;
	return i <= len ? i : 0;
}

/* Whether a branch anywhere in the function might land in (off, off + k]. A byte scan
 * finds every possible branch, real or not: a false one only makes this say yes. */
static bool branch_into(const unsigned char *c, size_t len, size_t k)
{
	for (size_t i = 0; i < len; i++) {
		int64_t target = -1;

		if ((c[i] >= 0x70 && c[i] <= 0x7f) || c[i] == 0xeb) {
			if (i + 2 <= len)
				target = (int64_t)(i + 2) + (int8_t)c[i + 1];
		} else if (c[i] == 0xe9 || c[i] == 0xe8 ||
			   (c[i] == 0x0f && i + 1 < len && (c[i + 1] & 0xf0) == 0x80)) {
			size_t at = c[i] == 0x0f ? i + 2 : i + 1;
			int32_t rel;

			if (at + 4 <= len) {
				memcpy(&rel, c + at, 4);
				target = (int64_t)(at + 4) + rel;
			}
		}
		if (target > 0 && (uint64_t)target <= k)
			return true;
	}
	return false;
}

/* Follows an instruction writing register dest (-1: none), a copy of src when src >= 0,
 * in the set of registers that hold a value. */
static void track_write(uint32_t *set, int dest, int src)
{
	bool copy = src >= 0 && (*set & (1u << src));

	if (dest < 0)
		return;
	*set &= ~(1u << dest);
	if (copy)
		*set |= 1u << dest;
}

/* A register of the set: the argument's own when it is still there (the BPF programs read
 * arguments in rdi, rsi and rdx without copying all registers), else the lowest; own when
 * the set is empty. */
static int reg_in(uint32_t set, int own)
{
	if (!set || (set & (1u << own)))
		return own;
	return __builtin_ctz(set);
}

uint64_t x86_probe_offset(const unsigned char *code, size_t len, uint64_t off, int nargs,
			  uint32_t *arg_regs)
{
	/* Which registers hold each argument; rdi, rsi, rdx at the entry. */
	uint32_t held[3] = { 1u << 7, 1u << 6, 1u << 2 };
	size_t i = 0, n;

	*arg_regs = AT_ARG_REGS(7, 6, 2);
	while (i < len && i < 96) {
		int dest, src;

		if (emulated_len(code + i, len - i)) {
			if (!i || branch_into(code, len, i))
				return off;
			/* Arguments not read may be gone: any register will do for them. */
			*arg_regs = AT_ARG_REGS(reg_in(held[0], AT_REG_RDI),
						reg_in(held[1], AT_REG_RSI),
						reg_in(held[2], AT_REG_RDX));
			return off + i;
		}
		n = simple_len(code + i, len - i, &dest, &src);
		if (!n || dest == REG_RSP)
			break;
		for (int k = 0; k < 3; k++)
			track_write(&held[k], dest, src);
		for (int k = 0; k < nargs; k++)
			if (!held[k])
				return off; /* an argument the program reads is gone */
		i += n;
	}
	return off;
}

/* mov -8(%base),%reg with base in the set regs: the register loaded, or -1. */
static int loads_size_word(const unsigned char *c, size_t n, uint32_t regs)
{
	int base, dest;

	if (n != 4 || (c[0] & 0xfa) != 0x48 || c[1] != 0x8b || (c[2] >> 6) != 1 ||
	    (c[2] & 7) == 4 || c[3] != 0xf8)
		return -1;
	base = (c[2] & 7) | ((c[0] & 1) ? 8 : 0);
	dest = ((c[2] >> 3) & 7) | ((c[0] & 4) ? 8 : 0);
	return (regs & (1u << base)) ? dest : -1;
}

/* test %reg,%reg (64-bit) with reg in the set regs. */
static bool tests_self(const unsigned char *c, size_t n, uint32_t regs)
{
	int reg = ((c[2] >> 3) & 7) | ((c[0] & 4) ? 8 : 0);

	return n == 3 && (c[0] & 0xfa) == 0x48 && ((c[0] & 4) != 0) == ((c[0] & 1) != 0) &&
	       c[1] == 0x85 && (c[2] >> 6) == 3 && ((c[2] >> 3) & 7) == (c[2] & 7) &&
	       (regs & (1u << reg));
}

uint64_t x86_size_word_offset(const unsigned char *code, size_t len, uint64_t off,
			      uint32_t *arg_regs)
{
	uint32_t ptr = 1u << AT_REG_RDI, word = 0; /* the registers holding each */
	bool tested = false;			   /* the last instruction: test %ptr,%ptr */
	size_t i = 0, n;

	while (i < len && i < 96) {
		int dest, src, loaded;

		if ((n = emulated_len(code + i, len - i))) {
			if (word) {
				if (branch_into(code, len, i))
					return 0;
				*arg_regs = AT_ARG_REGS(reg_in(ptr, AT_REG_RDI),
							__builtin_ctz(word), AT_REG_RDX) |
					    AT_COOKIE_SIZE_WORD;
				return off + i;
			}
			/* je: only after test %ptr,%ptr, the free(NULL) exit */
			if (!push_len(code + i, len - i) &&
			    !(tested &&
			      (code[i] == 0x74 || (code[i] == 0x0f && code[i + 1] == 0x84))))
				return 0;
			tested = false;
			i += n;
			continue;
		}
		n = simple_len(code + i, len - i, &dest, &src);
		if (!n)
			return 0;
		tested = tests_self(code + i, n, ptr);
		loaded = loads_size_word(code + i, n, ptr);
		track_write(&ptr, dest, src);
		track_write(&word, dest, src);
		if (loaded >= 0)
			word |= 1u << loaded;
		if (!ptr)
			return 0;
		i += n;
	}
	return 0;
}

uint64_t x86_probe_place(int fd, uint64_t off, uint64_t size, int nargs, bool size_word,
			 uint32_t *arg_regs)
{
	unsigned char code[4096];
	ssize_t got;
	uint64_t at;

	*arg_regs = AT_ARG_REGS(AT_REG_RDI, AT_REG_RSI, AT_REG_RDX);
	if (fd < 0)
		return off;
	if (!size || size > sizeof(code))
		size = sizeof(code);
	got = pread(fd, code, size, (off_t)off);
	if (got <= 0)
		return off;
	if (size_word && (at = x86_size_word_offset(code, (size_t)got, off, arg_regs)))
		return at;
	return x86_probe_offset(code, (size_t)got, off, nargs, arg_regs);
}

bool x86_after_call(const unsigned char *code, size_t len)
{
	/* call rel32 */
	if (len >= 5 && code[len - 5] == 0xe8)
		return true;
	/* call r/m64 (FF /2): register, memory, rip-relative, SIB, with displacements; any
	 * prefix (REX, notrack, segment) comes before the FF and does not matter. */
	for (size_t k = 2; k <= 7 && k <= len; k++) {
		size_t at = len - k, extra;

		if (code[at] != 0xff || ((code[at + 1] >> 3) & 7) != 2)
			continue;
		extra = modrm_extra(code, len, at + 1);
		if (extra != SIZE_MAX && 2 + extra == k)
			return true;
	}
	return false;
}
