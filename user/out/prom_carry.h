/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Counters that never fall, for the Prometheus backend (docs/design.md, "Fleet"). Each
 * (process, allocator) hands in its cumulative counters at every render; what they gained
 * since the last render goes to the process's own series while it is among the exported
 * processes (prom_top), and to the allocator's pid="other" carry otherwise. So a process
 * moving in or out of the top, or exiting, never makes a series fall, and the sum over all
 * series is exact. A process whose counters restarted (an exec, a pid reused) gains its new
 * counts from 0.
 *
 * A process's own series that ends (the process exited, or fell among the others) stays,
 * its counters frozen, until a reader has read it: until the reads counter (scrapes served,
 * files written) has risen by 2 since the last render that had it in the top, so that the
 * gains made since the previous scrape are not lost with the series. At most
 * PROM_CARRY_LINGER such series wait (the oldest go first). Single-threaded; functions
 * return 0 or a negative errno.
 */
#ifndef AT_PROM_CARRY_H
#define AT_PROM_CARRY_H

#include "common.h"

struct prom_carry;

/* width: the number of counters of each entry. */
struct prom_carry *prom_carry__new(size_t width);
void prom_carry__free(struct prom_carry *c);

#define PROM_CARRY_LINGER 4096

/* One render: begin, add for each (process, allocator), then end. reads: how many times
 * what was rendered has been read so far. */
void prom_carry_begin(struct prom_carry *c, uint64_t reads);
/* gen: the process's generation (its execs); raw: its width cumulative counters; top:
 * exported under its own series, whose labels (copied) are given. out (width values, when
 * top): the process's series. */
int prom_carry_add(struct prom_carry *c, int pid, uint32_t gen, const char *name,
		   const char *labels, const double *raw, bool top, double *out);
void prom_carry_end(struct prom_carry *c);

/* The own series that ended and wait for a reader, after prom_carry_end: fn gets each
 * one's labels, allocator name and frozen values (valid until the next render). */
void prom_carry_each_ended(const struct prom_carry *c,
			   void (*fn)(void *arg, const char *labels, const char *name,
				      const double *values),
			   void *arg);

/* The pid="other" series: n of them, each an allocator name and its width values. The
 * names stay once they appeared (a carry only grows). */
size_t prom_carry_others(const struct prom_carry *c);
const char *prom_carry_other(const struct prom_carry *c, size_t i, const double **values);

#endif
