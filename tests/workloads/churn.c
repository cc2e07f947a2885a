// SPDX-License-Identifier: GPL-2.0-only
/*
 * Process churn for the fleet test: for AT_CHURN_S seconds (default 60), short-lived
 * processes at a few hundred a second: each child maps, touches and unmaps memory, mallocs
 * and frees, and every fourth one execs /bin/true. The truth has how many were started and
 * how many exited cleanly.
 */
#include <sys/wait.h>
#include <time.h>

#include "truth.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
	const char *env = getenv("AT_CHURN_S");
	double secs = env ? atof(env) : 60, end;
	uint64_t started = 0, ok = 0;

	truth_open();
	truth_go();
	end = now_s() + secs;
	while (now_s() < end) {
		pid_t pid = fork();
		int st;

		if (pid == 0) {
			if (started % 4 == 3) {
				execl("/bin/true", "true", (char *)NULL);
				_exit(2);
			}
			char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			void *q = malloc(1000);

			if (p == MAP_FAILED || !q)
				_exit(3);
			memset(p, 1, 1 << 20);
			opaque(q);
			free(q);
			munmap(p, 1 << 20);
			_exit(0);
		}
		if (pid < 0) {
			usleep(1000);
			continue;
		}
		started++;
		if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
		usleep(2000);
	}
	truth_u64("started", started);
	truth_u64("ok", ok);
	truth_done();
	return 0;
}
