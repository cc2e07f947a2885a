/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading another process's memory from outside, without stopping it and without faulting
 * anything in: a read is served only when every page it covers is present in RAM (pagemap),
 * so a page the target never touched or that was swapped out stays as it is. Every read
 * counts against a byte budget, so that a walk of a hostile or huge heap is bounded. A
 * buffer-backed variant serves unit tests and fuzzing. Not thread-safe; functions return 0
 * or a negative errno: -EFAULT (not mapped or not resident), -ENOSPC (budget spent), -EIO.
 */
#ifndef AT_TMEM_H
#define AT_TMEM_H

#include "common.h"

struct tmem;

/* pid's memory through /proc/PID/mem and /proc/PID/pagemap. */
struct tmem *tmem__open(int pid);
/* len bytes of buf, seen at address base (copied; every page counts as resident). */
struct tmem *tmem__from_buf(uint64_t base, const void *buf, size_t len);
void tmem__free(struct tmem *t);

/* Reads len bytes at addr into buf, all or nothing. */
int tmem_read(struct tmem *t, uint64_t addr, void *buf, size_t len);
/* Reads len bytes at addr of private anonymous memory, where a page that is neither present
 * nor swapped out was never written (or was purged) and reads as zeros without being
 * touched; a swapped-out page is -EFAULT. Only for memory known to be anonymous: a file
 * page that is not present holds the file's bytes, not zeros. */
int tmem_read_anon(struct tmem *t, uint64_t addr, void *buf, size_t len);
/* Reads one 64-bit word. */
int tmem_read_u64(struct tmem *t, uint64_t addr, uint64_t *v);
/* Whether the page at addr is present in RAM (a read of it would not fault it in). */
bool tmem_resident(struct tmem *t, uint64_t addr);
/* Bytes of [start, end) on pages present in RAM, counted exactly at both ends: pagemap is
 * read in batches, so a long range costs one read per 512 pages, not one per page. */
int tmem_resident_bytes(struct tmem *t, uint64_t start, uint64_t end, uint64_t *bytes);

/* Bytes the reads may still take (0: unlimited, the default), and the bytes read so far. */
void tmem_set_budget(struct tmem *t, uint64_t bytes);
uint64_t tmem_bytes_read(const struct tmem *t);
/* Reads refused by the budget since it was set. */
uint64_t tmem_refused(const struct tmem *t);

#endif
