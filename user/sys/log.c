// SPDX-License-Identifier: GPL-2.0-only
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

int at_log_level;

void at_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("arenatrace: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void at_note(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > at_log_level)
		return;
	va_start(ap, fmt);
	fputs("arenatrace: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
