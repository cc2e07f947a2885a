// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer: the /proc parsers (a maps line, stat, smaps_rollup) on any bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct maps_entry e;
	struct proc_stat st;
	uint64_t rss, lazy;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (!procfs_parse_maps_line(s, &e) && (e.start > e.end || strlen(e.path) >= sizeof(e.path)))
		abort();
	procfs_parse_stat(s, &st);
	procfs_parse_smaps_rollup(s, &rss, &lazy);
	free(s);
	return 0;
}
