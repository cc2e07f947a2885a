// SPDX-License-Identifier: GPL-2.0-only
/* Allocations through a chain of functions built at -O2 without frame pointers (the
 * Makefile's rule), as most of Debian's libraries are: main -> nofp_a -> nofp_b -> nofp_c ->
 * malloc holds KEPT blocks; main -> nofp_gone -> malloc allocates blocks it frees. The
 * functions are not inlined, and each uses its result after the call so that no call
 * becomes a jump (a tail call would leave no frame); each keeps a buffer on its stack and
 * clobbers rbp, so that a frame-pointer walk cannot follow the chain. The truth has the
 * kept blocks' usable bytes. */
#include <malloc.h>
#include <string.h>

#include "truth.h"

#define KEPT 40

static volatile unsigned long sink;

/* rbp as any other register, as code built without frame pointers may use it. */
#define CLOBBER_RBP() __asm__ volatile("xor %%ebp, %%ebp" : : : "rbp")

__attribute__((noinline)) static void *nofp_c(size_t n)
{
	char pad[64];
	void *p;

	memset(pad, (int)n, sizeof(pad));
	opaque(pad);
	CLOBBER_RBP();
	p = malloc(n);
	sink += (unsigned long)p + (unsigned char)pad[n % 64];
	return p;
}

__attribute__((noinline)) static void *nofp_b(size_t n)
{
	char pad[128];
	void *p;

	memset(pad, (int)n, sizeof(pad));
	opaque(pad);
	p = nofp_c(n + 1);
	sink += (unsigned long)p + (unsigned char)pad[n % 128];
	return p;
}

__attribute__((noinline)) static void *nofp_a(size_t n)
{
	char pad[256];
	void *p;

	memset(pad, (int)n, sizeof(pad));
	opaque(pad);
	p = nofp_b(n + 1);
	sink += (unsigned long)p + (unsigned char)pad[n % 256];
	return p;
}

__attribute__((noinline)) static void *nofp_gone(size_t n)
{
	char pad[32];
	void *p;

	memset(pad, (int)n, sizeof(pad));
	opaque(pad);
	CLOBBER_RBP();
	p = malloc(n);
	sink += (unsigned long)p + (unsigned char)pad[n % 32];
	return p;
}

int main(void)
{
	static void *kept[KEPT];
	uint64_t kept_bytes = 0;

	opaque(malloc(1));
	truth_open();
	truth_go();
	for (int i = 0; i < KEPT; i++) {
		kept[i] = nofp_a(3000 + (size_t)i * 100);
		kept_bytes += malloc_usable_size(kept[i]);
	}
	for (int i = 0; i < 25; i++)
		free(nofp_gone(700));
	opaque(kept);
	truth_u64("kept_bytes", kept_bytes);
	truth_u64("kept", KEPT);
	truth_u64("gone", 25);
	truth_done();
	return (int)(sink & 0);
}
