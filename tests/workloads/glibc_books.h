/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What tests/workloads/glibc_books.c reports through the file descriptor it is given:
 * glibc's own mallinfo2() once its threads are at rest, and what the workload itself freed
 * into tcaches (which mallinfo2 counts as in use).
 */
#ifndef AT_GLIBC_BOOKS_H
#define AT_GLIBC_BOOKS_H

#include <stdint.h>

#define GLIBC_BOOKS_THREADS 8

struct glibc_books_report {
	uint64_t arena, ordblks, smblks, hblks, hblkhd, uordblks, fordblks, fsmblks, keepcost;
	uint64_t tcache_bytes, tcache_chunks; /* freed into tcaches, every thread together */
	uint64_t threads;		      /* threads at rest, the main one included */
};

#endif
