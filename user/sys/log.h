/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Diagnostics to stderr: "arenatrace: " then a lowercase message with no trailing period.
 * at_log_level is the -v count; notes at a level above it are not printed.
 *
 * at_warn is for what can repeat during a trace (a file per process, a process per fork):
 * per call site (its format string), the first AT_WARN_BURST messages of a window of
 * AT_WARN_WINDOW_S seconds are printed and the rest counted; a message identical to one
 * already printed by the site is counted, not printed again. When the window ends, and at
 * at_warn_flush, one line says how many were not shown, with the last of them.
 */
#ifndef AT_LOG_H
#define AT_LOG_H

#include <stdint.h>
#include <stdio.h>

extern int at_log_level;

#define AT_WARN_BURST 5
#define AT_WARN_WINDOW_S 60

void at_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void at_note(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void at_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Says what at_warn held back and not said yet (at a report, and at the end). */
void at_warn_flush(void);
/* Warnings not printed since the start (the report's warnings_not_shown row). */
uint64_t at_warn_suppressed(void);

/* For tests: where the diagnostics go (NULL: stderr) and the clock (NULL: CLOCK_MONOTONIC,
 * in nanoseconds); at_log_reset forgets every call site. */
void at_log_set_stream(FILE *f);
void at_log_set_clock(uint64_t (*now_ns)(void));
void at_log_reset(void);

#endif
