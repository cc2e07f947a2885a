/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --prometheus: an HTTP server (libmicrohttpd, its own thread) that serves the last
 * rendered metrics at /metrics. The trace loop renders them (out_prom) and hands the text
 * over with exporter_publish; scrapes never touch the model. exporter__new returns NULL
 * with errno set, and says why on stderr.
 */
#ifndef AT_EXPORTER_H
#define AT_EXPORTER_H

#include "common.h"

struct exporter;

/* addr: "[ADDR:]PORT"; ADDR defaults to 127.0.0.1 (an IPv4 address or "localhost"). */
struct exporter *exporter__new(const char *addr);
void exporter__free(struct exporter *e);
/* Replaces the served text (copied). */
void exporter_publish(struct exporter *e, const char *text, size_t len);
/* How many /metrics requests were served so far. */
uint64_t exporter_scrapes(struct exporter *e);
/* Parses "[ADDR:]PORT" (also used by the option check); 0 or -EINVAL. */
int exporter_parse_addr(const char *addr, uint32_t *ip_be, uint16_t *port);

#endif
