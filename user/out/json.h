/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * JSON helpers over json-c. json-c escapes control bytes but passes invalid UTF-8 through,
 * so strings from the outside world (comm, paths) go through json_str(), which replaces each
 * invalid byte with U+FFFD.
 */
#ifndef AT_JSON_H
#define AT_JSON_H

#include <json-c/json.h>

#include "common.h"

/* Copies src into dst (at most len bytes with the NUL), repairing invalid UTF-8. */
void json_utf8_clean(const char *src, char *dst, size_t len);
struct json_object *json_str(const char *s);
struct json_object *json_u64(uint64_t v);

#endif
