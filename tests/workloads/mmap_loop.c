// SPDX-License-Identifier: GPL-2.0-only
/*
 * The attach window (issue 12): maps and unmaps 64 KiB every half millisecond, from the
 * executable itself, until killed; prints its pid first. Every one of those syscalls is
 * the application's, whenever arenatrace attaches.
 */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
	printf("%d\n", getpid());
	fflush(stdout);
	for (;;) {
		void *p = mmap(NULL, 64 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);

		if (p != MAP_FAILED)
			munmap(p, 64 << 10);
		usleep(500);
	}
}
