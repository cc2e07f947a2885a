// SPDX-License-Identifier: GPL-2.0-only
#include "log.h"

#include "common.h"

#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

int at_log_level;

static FILE *stream;
static uint64_t (*clock_fn)(void);

/* One at_warn call site. */
struct site {
	const char *fmt;
	uint64_t window_ns; /* start of its window */
	unsigned printed;   /* in this window */
	uint64_t held;	    /* not printed, not said yet */
	char last[320];	    /* the last message held back */
	uint32_t seen[16];  /* hashes of the messages printed */
	unsigned nseen;
};

#define AT_WARN_SITES 32
static struct site sites[AT_WARN_SITES];
static size_t nsites;
static uint64_t suppressed;

static FILE *out(void)
{
	return stream ? stream : stderr;
}

static uint64_t now(void)
{
	struct timespec ts;

	if (clock_fn)
		return clock_fn();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void vsay(const char *fmt, va_list ap)
{
	FILE *f = out();

	fputs("arenatrace: ", f);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
}

void at_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

void at_note(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > at_log_level)
		return;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void say_held(struct site *s)
{
	if (!s->held)
		return;
	fprintf(out(), "arenatrace: %llu more like this not shown: %s\n",
		(unsigned long long)s->held, s->last);
	s->held = 0;
}

static struct site *site_of(const char *fmt)
{
	for (size_t i = 0; i < nsites; i++)
		if (sites[i].fmt == fmt)
			return &sites[i];
	if (nsites == AT_WARN_SITES)
		return NULL;
	sites[nsites].fmt = fmt;
	sites[nsites].window_ns = now();
	return &sites[nsites++];
}

void at_warn(const char *fmt, ...)
{
	struct site *s = site_of(fmt);
	char msg[sizeof(s->last)];
	bool repeat = false;
	uint32_t h;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!s) {
		/* More call sites than the table holds: never silent. */
		fprintf(out(), "arenatrace: %s\n", msg);
		return;
	}
	if (now() - s->window_ns >= AT_WARN_WINDOW_S * 1000000000ull) {
		say_held(s);
		s->window_ns = now();
		s->printed = 0;
	}
	h = hash(msg);
	for (unsigned i = 0; i < s->nseen && i < AT_ARRAY_SIZE(s->seen); i++)
		repeat |= s->seen[i] == h;
	if (repeat || s->printed >= AT_WARN_BURST) {
		s->held++;
		suppressed++;
		memcpy(s->last, msg, sizeof(msg));
		return;
	}
	s->printed++;
	s->seen[s->nseen++ % AT_ARRAY_SIZE(s->seen)] = h;
	fprintf(out(), "arenatrace: %s\n", msg);
}

void at_warn_flush(void)
{
	for (size_t i = 0; i < nsites; i++)
		say_held(&sites[i]);
}

uint64_t at_warn_suppressed(void)
{
	return suppressed;
}

void at_log_set_stream(FILE *f)
{
	stream = f;
}

void at_log_set_clock(uint64_t (*now_ns)(void))
{
	clock_fn = now_ns;
}

void at_log_reset(void)
{
	memset(sites, 0, sizeof(sites));
	nsites = 0;
	suppressed = 0;
}
