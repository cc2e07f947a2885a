// SPDX-License-Identifier: GPL-2.0-only
/* --unwind dwarf through a library loaded after the process's maps were read: one block
 * allocated first (so that its maps are read), then libz is dlopen'ed and deflateInit_
 * allocates the stream's state and windows (zlib's -O2 code, no frame pointers) through
 * deflateInit2_, from main. The stream is never ended: its blocks stay live. */
#include <dlfcn.h>
#include <string.h>

#include "truth.h"

typedef int (*deflate_init_fn)(void *strm, int level, const char *version, int size);

__attribute__((noinline)) static void *before_dlopen(void)
{
	return malloc(5000);
}

int main(void)
{
	static char strm[112]; /* z_stream on x86-64 */
	deflate_init_fn init;
	void *lib, *first;

	truth_open();
	truth_go();
	first = before_dlopen();
	opaque(first);
	usleep(300000); /* arenatrace reads the maps at this first sample */
	lib = dlopen("libz.so.1", RTLD_NOW);
	init = lib ? (deflate_init_fn)dlsym(lib, "deflateInit_") : NULL;
	if (!init)
		return 99;
	memset(strm, 0, sizeof(strm));
	truth_u64("deflate_init", (uint64_t)init(strm, 6, "1.2.13", (int)sizeof(strm)));
	opaque(strm);
	truth_done();
	return 0;
}
