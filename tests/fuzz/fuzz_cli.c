// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer: the command line (arguments split at NUL bytes, -C and --arena specs among
 * them) and one --arena spec on its own: a usage error or a valid struct, never a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[66] = { "arenatrace" }, err[256];
	struct at_arena_spec spec;
	struct at_opts o;
	int argc = 1;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (!cli_parse_arena(buf, &spec, err, sizeof(err)) &&
	    (spec.size_arg > 6 || spec.self_arg > 6 || spec.ptr_arg > 6 || !spec.alloc[0]))
		abort();
	for (size_t i = 0; i < size && argc < 65; i += strlen(buf + i) + 1)
		argv[argc++] = buf + i;
	argv[argc] = NULL;
	cli_defaults(&o);
	if (!cli_parse(argc, argv, &o, err, sizeof(err)) && o.npids > AT_MAX_PIDS)
		abort();
	free(buf);
	return 0;
}
