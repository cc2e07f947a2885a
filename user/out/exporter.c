// SPDX-License-Identifier: GPL-2.0-only
#include "exporter.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct exporter {
	struct MHD_Daemon *d;
	pthread_mutex_t lock;
	char *text;
	size_t len;
	uint64_t scrapes; /* /metrics requests served */
};

int exporter_parse_addr(const char *addr, uint32_t *ip_be, uint16_t *port)
{
	const char *colon = strrchr(addr, ':'), *p = colon ? colon + 1 : addr;
	char host[64] = "127.0.0.1", *end;
	unsigned long v;
	struct in_addr in;

	if (colon) {
		if ((size_t)(colon - addr) >= sizeof(host) || colon == addr)
			return -EINVAL;
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = '\0';
		if (!strcmp(host, "localhost"))
			strcpy(host, "127.0.0.1");
	}
	v = strtoul(p, &end, 10);
	if (!*p || *end || v == 0 || v > 65535 || inet_pton(AF_INET, host, &in) != 1)
		return -EINVAL;
	*ip_be = in.s_addr;
	*port = (uint16_t)v;
	return 0;
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned int status, const char *type,
			       const char *body, size_t len)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **state)
{
	static const char index_page[] =
		"<html><body>arenatrace: <a href=\"/metrics\">/metrics</a></body></html>\n";
	struct exporter *e = cls;
	enum MHD_Result ret;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "GET only\n", 9);
	if (!strcmp(url, "/"))
		return respond(c, MHD_HTTP_OK, "text/html", index_page, sizeof(index_page) - 1);
	if (strcmp(url, "/metrics"))
		return respond(c, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n", 10);
	pthread_mutex_lock(&e->lock);
	ret = respond(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
		      e->text ? e->text : "", e->text ? e->len : 0);
	e->scrapes += ret == MHD_YES;
	pthread_mutex_unlock(&e->lock);
	return ret;
}

struct exporter *exporter__new(const char *addr)
{
	struct exporter *e = calloc(1, sizeof(*e));
	struct sockaddr_in sa = { .sin_family = AF_INET };
	uint16_t port;

	if (!e)
		return NULL;
	if (exporter_parse_addr(addr, &sa.sin_addr.s_addr, &port)) {
		at_err("invalid --prometheus address '%s': expected [ADDR:]PORT", addr);
		free(e);
		errno = EINVAL;
		return NULL;
	}
	sa.sin_port = htons(port);
	pthread_mutex_init(&e->lock, NULL);
	/* Slow and idle clients (slowloris: a header line every few seconds) must not take
	 * every slot from the scrapers: epoll, so that slots are not bounded by select's
	 * FD_SETSIZE, 1,024 of them, and 2 s of silence closes a connection (a scraper sends
	 * its request at once). */
	e->d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD, port, NULL, NULL, handle, e,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_CONNECTION_TIMEOUT,
				2u, MHD_OPTION_END);
	if (!e->d) {
		at_err("cannot serve metrics on '%s': the address is in use or not local", addr);
		pthread_mutex_destroy(&e->lock);
		free(e);
		errno = EADDRINUSE;
		return NULL;
	}
	return e;
}

void exporter__free(struct exporter *e)
{
	if (!e)
		return;
	MHD_stop_daemon(e->d);
	pthread_mutex_destroy(&e->lock);
	free(e->text);
	free(e);
}

uint64_t exporter_scrapes(struct exporter *e)
{
	uint64_t n;

	pthread_mutex_lock(&e->lock);
	n = e->scrapes;
	pthread_mutex_unlock(&e->lock);
	return n;
}

void exporter_publish(struct exporter *e, const char *text, size_t len)
{
	char *copy = malloc(len + 1);

	if (!copy)
		return;
	memcpy(copy, text, len);
	copy[len] = '\0';
	pthread_mutex_lock(&e->lock);
	free(e->text);
	e->text = copy;
	e->len = len;
	pthread_mutex_unlock(&e->lock);
}
