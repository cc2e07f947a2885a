// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer: the parsers of ELF files a target maps (any local user can write one): the
 * symbol tables, segments, USDT and build-id notes (syms), the debug-file lookup by
 * build-id, the .eh_frame unwind sites of libc's wrappers (libdw), glibc's version, symbols
 * and TLS relocation, and jemalloc's image (build-id, code references, symbols). The bytes
 * are a file (a memfd, read by path as arenatrace reads /proc/PID/root/...): refused or
 * read, never a crash, a hang or a leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "glibc_priv.h"
#include "jemalloc.h"
#include "syms.h"
#include "unwind.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void visit(void *arg, const char *name, uint64_t off)
{
	size_t *n = arg;

	*n += strlen(name) + (off & 1);
}

static void read_syms(const char *path)
{
	struct syms *s = syms__new(path);
	uint64_t off, fsize, vaddr;
	size_t n = 0;

	if (!s)
		return;
	syms_each(s, visit, &n);
	if (!syms_func(s, "malloc", &off, &fsize)) {
		syms_name_at(s, off);
		syms_vaddr(s, off, &vaddr);
	}
	syms_name_at(s, 0x1000);
	syms_has_usdt(s);
	syms__free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz_elf", MFD_CLOEXEC);
	char path[64], dbg[4096], why[256];
	struct unwind_site sites[64];
	struct glibc_elf ge;
	struct books_je_where w;
	struct maps_entry e = { .start = 0x7f0000000000ull, .end = 0x7f0000100000ull };

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	snprintf(e.path, sizeof(e.path), "%s", "libjemalloc.so.2");
	read_syms(path);
	syms_cache_clear(); /* a new file each run: nothing kept from the last */
	syms_debug_file(path, false, dbg, sizeof(dbg));
	unwind_sites(path, sites, AT_ARRAY_SIZE(sites));
	glibc_elf_read(path, true, &ge);
	books_jemalloc_locate_fd(fd, &e, &w, why, sizeof(why));
	close(fd);
	return 0;
}
