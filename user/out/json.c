// SPDX-License-Identifier: GPL-2.0-only
#include "json.h"

#include <string.h>

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void json_utf8_clean(const char *src, char *dst, size_t len)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0;

	if (!len)
		return;
	while (*s) {
		size_t n = utf8_len(s);
		const unsigned char *from = s;

		if (!n) {
			from = (const unsigned char *)"\xef\xbf\xbd";
			n = 3;
			s++;
		} else {
			s += n;
		}
		if (o + n >= len)
			break;
		memcpy(dst + o, from, n);
		o += n;
	}
	dst[o] = '\0';
}

struct json_object *json_str(const char *s)
{
	char buf[1024];

	json_utf8_clean(s ? s : "", buf, sizeof(buf));
	return json_object_new_string(buf);
}

struct json_object *json_u64(uint64_t v)
{
	return json_object_new_uint64(v);
}
