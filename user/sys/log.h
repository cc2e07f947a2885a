/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Diagnostics to stderr: "arenatrace: " then a lowercase message with no trailing period.
 * at_log_level is the -v count; notes at a level above it are not printed.
 */
#ifndef AT_LOG_H
#define AT_LOG_H

extern int at_log_level;

void at_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void at_note(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
