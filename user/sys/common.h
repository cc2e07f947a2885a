/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Included first by every user/ file: standard headers, the fixed-width kernel types the
 * shared ABI header uses, and a poison on the kernel's short typedefs.
 */
#ifndef AT_COMMON_H
#define AT_COMMON_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <linux/types.h>

#pragma GCC poison u8 u16 u32 u64 s32 s64

#define AT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define AT_PAGE_SIZE 4096u

/* Makes room in the growing array *arr (n used, *cap allocated, elements of size bytes)
 * for extra more: 0 or -ENOMEM (the array is then unchanged). */
static inline int at_grow(void *arr, size_t n, size_t *cap, size_t size, size_t extra)
{
	size_t ncap = *cap ? *cap : 16;
	void *a;

	if (n + extra <= *cap)
		return 0;
	while (ncap < n + extra)
		ncap *= 2;
	a = realloc(*(void **)arr, ncap * size);
	if (!a)
		return -ENOMEM;
	*(void **)arr = a;
	*cap = ncap;
	return 0;
}

#endif
