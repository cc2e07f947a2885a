/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Counters that never fall, for the Prometheus backend (docs/design.md, "Fleet"). Each
 * (process, allocator) hands in its cumulative counters at every render; what they gained
 * since the last render goes to the process's own series while it is among the exported
 * processes (prom_top), and to the allocator's pid="other" carry otherwise. So a process
 * moving in or out of the top, or exiting, never makes a series fall, and the sum over all
 * series is exact. A process whose counters restarted (an exec, a pid reused) gains its new
 * counts from 0. Entries of processes no longer rendered are forgotten at the end of the
 * render (their series end). Single-threaded; functions return 0 or a negative errno.
 */
#ifndef AT_PROM_CARRY_H
#define AT_PROM_CARRY_H

#include "common.h"

struct prom_carry;

/* width: the number of counters of each entry. */
struct prom_carry *prom_carry__new(size_t width);
void prom_carry__free(struct prom_carry *c);

/* One render: begin, add for each (process, allocator), then end. */
void prom_carry_begin(struct prom_carry *c);
/* gen: the process's generation (its execs); raw: its width cumulative counters; top:
 * exported under its own pid. out (width values, when top): the process's series. */
int prom_carry_add(struct prom_carry *c, int pid, uint32_t gen, const char *name, const double *raw,
		   bool top, double *out);
void prom_carry_end(struct prom_carry *c);

/* The pid="other" series: n of them, each an allocator name and its width values. The
 * names stay once they appeared (a carry only grows). */
size_t prom_carry_others(const struct prom_carry *c);
const char *prom_carry_other(const struct prom_carry *c, size_t i, const double **values);

#endif
