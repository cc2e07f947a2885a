// SPDX-License-Identifier: GPL-2.0-only
/* An application that manages memory itself with mmap, munmap, mremap, madvise, mprotect,
 * brk and raw syscall(), and counts exactly what it did. No allocator is involved. */
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "truth.h"

#define MiB (1ull << 20)

static uint64_t mapped, reserved, n_mmap, n_munmap, n_mremap, n_madvise, n_mprotect, n_brk;
static uint64_t n_process_madvise;
static uint64_t munmap_b, dontneed_b, free_b, decommit_b, mremap_shrink_b, brk_shrink_b;

static char *map(size_t len, int prot)
{
	char *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		exit(2);
	n_mmap++;
	mapped += len;
	if (prot == PROT_NONE)
		reserved += len;
	return p;
}

int main(void)
{
	char *pre, *a, *b, *c, *r, *f;
	void *brk0;
	int fd;

	/* Before the go signal: memory that exists before arenatrace -p attaches. */
	pre = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(pre, 1, 2 * MiB);
	opaque(malloc(1)); /* glibc's break is initialised before the measured part */
	truth_go();

	a = map(16 * MiB, PROT_READ | PROT_WRITE);
	memset(a, 1, 16 * MiB);
	/* A hole in the middle splits the mapping. */
	munmap(a + 4 * MiB, MiB);
	n_munmap++, munmap_b += MiB, mapped -= MiB;
	madvise(a, 2 * MiB, MADV_DONTNEED);
	n_madvise++, dontneed_b += 2 * MiB;
	madvise(a + 8 * MiB, 4 * MiB, MADV_FREE);
	n_madvise++, free_b += 4 * MiB;
	mprotect(a + 14 * MiB, MiB, PROT_NONE);
	n_mprotect++, decommit_b += MiB, reserved += MiB;
	/* Advice that returns nothing still counts as an event. */
	madvise(a + 12 * MiB, MiB, MADV_WILLNEED);
	n_madvise++;

	/* Grow (and maybe move), then shrink. */
	b = map(4 * MiB, PROT_READ | PROT_WRITE);
	memset(b, 2, 4 * MiB);
	b = mremap(b, 4 * MiB, 8 * MiB, MREMAP_MAYMOVE);
	if (b == MAP_FAILED)
		return 3;
	n_mremap++, mapped += 4 * MiB;
	b = mremap(b, 8 * MiB, 2 * MiB, 0);
	if (b == MAP_FAILED)
		return 3;
	n_mremap++, mremap_shrink_b += 6 * MiB, mapped -= 6 * MiB;

	/* MAP_FIXED PROT_NONE overlay: a decommit by mmap. */
	c = map(2 * MiB, PROT_READ | PROT_WRITE);
	memset(c, 3, 2 * MiB);
	if (mmap(c + MiB, MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
	    MAP_FAILED)
		return 4;
	n_mmap++, decommit_b += MiB, reserved += MiB;

	/* Raw syscall(): attributed through libc's syscall() wrapper. */
	r = (char *)syscall(SYS_mmap, NULL, 3 * MiB, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED)
		return 5;
	n_mmap++, mapped += 3 * MiB;
	memset(r, 4, MiB);
	syscall(SYS_munmap, r + 2 * MiB, MiB);
	n_munmap++, munmap_b += MiB, mapped -= MiB;

	/* The program break, moved by the application itself. */
	brk0 = sbrk(0);
	if (sbrk(64 * 1024) != brk0)
		return 6;
	memset(brk0, 5, 64 * 1024);
	n_brk++, mapped += 64 * 1024;
	sbrk(-16 * 1024);
	n_brk++, brk_shrink_b += 16 * 1024, mapped -= 16 * 1024;

	/* Advice through a pidfd (here on itself): an event, nothing returned. */
	{
		int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
		struct iovec iov = { .iov_base = a + 12 * MiB, .iov_len = MiB };

		if (pidfd < 0 || syscall(SYS_process_madvise, pidfd, &iov, 1, MADV_COLD, 0) < 0)
			return 7;
		close(pidfd);
		n_process_madvise++;
	}

	/* A file mapping is not allocator memory: it must not show up anywhere. */
	fd = open("/proc/self/exe", O_RDONLY);
	f = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	opaque(f);
	munmap(f, 4096);
	close(fd);

	truth_u64("pre_bytes", 2 * MiB);
	truth_u64("pre_resident_bytes", resident(pre, 2 * MiB));
	truth_u64("mapped_bytes", mapped);
	truth_u64("reserved_bytes", reserved);
	truth_u64("resident_bytes", resident(a, 4 * MiB) + resident(a + 5 * MiB, 11 * MiB) +
					    resident(b, 2 * MiB) + resident(c, 2 * MiB) +
					    resident(r, 2 * MiB) + resident(brk0, 48 * 1024));
	truth_u64("mmap", n_mmap);
	truth_u64("munmap", n_munmap);
	truth_u64("mremap", n_mremap);
	truth_u64("madvise", n_madvise);
	truth_u64("mprotect", n_mprotect);
	truth_u64("brk", n_brk);
	truth_u64("process_madvise", n_process_madvise);
	truth_u64("munmap_bytes", munmap_b);
	truth_u64("madv_dontneed_bytes", dontneed_b);
	truth_u64("madv_free_bytes", free_b);
	truth_u64("decommit_bytes", decommit_b);
	truth_u64("mremap_shrink_bytes", mremap_shrink_b);
	truth_u64("brk_shrink_bytes", brk_shrink_b);
	truth_done();
	return 0;
}
