// SPDX-License-Identifier: GPL-2.0-only
/* A forking server (issue 13, item 6): the parent makes OLD small blocks and BIG mmapped
 * ones, then forks WORKERS workers; each frees one inherited big block (glibc munmaps it),
 * allocates big and small blocks of its own and keeps them all, and writes its truth to
 * AT_TRUTH.N (N = 0, 1, ...): its pid, glibc's mallinfo2() and the bytes it returned. The
 * parent writes AT_TRUTH (how many workers) once every worker has, and all hold until
 * AT_HOLD exists. Built -O0; the blocks go through opaque(). */
#include <malloc.h>
#include <signal.h>
#include <sys/wait.h>

#include "truth.h"

#define WORKERS 3
#define OLD 200
#define BIG 4
#define BIG_BYTES (1u << 20)
#define OWN_BIG 2
#define OWN_SMALL 300

static void worker(int n, void **big)
{
	static void *own_big[OWN_BIG], *own_small[OWN_SMALL];
	char path[4200];
	const char *base = getenv("AT_TRUTH");
	struct mallinfo2 mi;
	uint64_t returned;

	/* An mmapped chunk is its usable size and a 16-byte header, unmapped whole. */
	returned = malloc_usable_size(big[n]) + 16;
	free(big[n]);
	for (int i = 0; i < OWN_BIG; i++) {
		own_big[i] = malloc(2 * BIG_BYTES + (size_t)n * 4096);
		if (!own_big[i])
			_exit(1);
		memset(own_big[i], 2, 2 * BIG_BYTES);
		opaque(own_big[i]);
	}
	for (int i = 0; i < OWN_SMALL; i++) {
		own_small[i] = malloc(100 + (size_t)i);
		if (!own_small[i])
			_exit(1);
		opaque(own_small[i]);
	}
	snprintf(path, sizeof(path), "%s.%d", base ? base : "/dev/null", n);
	if (base && setenv("AT_TRUTH", path, 1))
		_exit(1);
	truth_open(); /* its FILE is a block too: mallinfo2 after it */
	mi = mallinfo2();
	truth_u64("pid", (uint64_t)getpid());
	truth_u64("arena", mi.arena);
	truth_u64("hblkhd", mi.hblkhd);
	truth_u64("uordblks", mi.uordblks);
	truth_u64("returned_munmap", returned);
	truth_done();
	_exit(0);
}

int main(void)
{
	static void *old[OLD], *big[BIG];
	pid_t pids[WORKERS];
	char path[4200];
	const char *base = getenv("AT_TRUTH");
	int rc = 0;

	truth_go();
	for (int i = 0; i < OLD; i++) {
		old[i] = malloc(1000);
		if (!old[i])
			return 1;
		memset(old[i], 1, 1000);
		opaque(old[i]);
	}
	for (int i = 0; i < BIG; i++) {
		big[i] = malloc(BIG_BYTES);
		if (!big[i])
			return 1;
		memset(big[i], 1, BIG_BYTES);
	}
	for (int n = 0; n < WORKERS; n++) {
		pids[n] = fork();
		if (pids[n] < 0)
			return 1;
		if (!pids[n])
			worker(n, big);
	}
	/* The parent's truth once every worker's is there. */
	for (int n = 0; n < WORKERS && base; n++) {
		snprintf(path, sizeof(path), "%s.%d", base, n);
		while (access(path, F_OK))
			usleep(10000);
	}
	truth_u64("workers", WORKERS);
	truth_done();
	for (int n = 0; n < WORKERS; n++) {
		int status;

		if (waitpid(pids[n], &status, 0) != pids[n] || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			rc = 1;
	}
	return rc;
}
