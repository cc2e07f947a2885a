// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer: the /proc parsers (a maps line, stat, smaps_rollup) on any bytes, and the
 * pagemap reader on a file of those bytes (a memfd), over the range its first bytes name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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
	if (size >= 4) {
		int fd = memfd_create("pagemap", MFD_CLOEXEC);
		uint64_t start = (uint64_t)data[0] << 12, end = start + ((uint64_t)data[1] << 16),
			 bytes = 0;

		if (fd >= 0 && write(fd, data + 2, size - 2) == (ssize_t)(size - 2) &&
		    !procfs_resident(fd, start, end, &bytes) && bytes > end - start + 4096)
			abort(); /* more present than the range holds */
		if (fd >= 0)
			close(fd);
	}
	return 0;
}
