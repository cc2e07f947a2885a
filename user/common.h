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
#include <linux/types.h>

#pragma GCC poison u8 u16 u32 u64 s32 s64

#define AT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define AT_PAGE_SIZE 4096u

#endif
