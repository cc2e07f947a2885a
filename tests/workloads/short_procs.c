// SPDX-License-Identifier: GPL-2.0-only
/* Short-lived children, one after the other, for the report's noise (issue 13, item 8):
 * child i maps (i + 1) x 256 KiB of its own (one mmap, touched) and exits. The truth: how
 * many, their pids in order, and the bytes each mapped. */
#include <sys/wait.h>

#include "truth.h"

#define CHILDREN 12
#define STEP (256u << 10)

int main(void)
{
	char key[32];

	truth_open();
	truth_go();
	truth_u64("children", CHILDREN);
	for (int i = 0; i < CHILDREN; i++) {
		pid_t pid = fork();
		int status;

		if (pid < 0)
			return 1;
		if (!pid) {
			size_t len = (size_t)(i + 1) * STEP;
			char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED)
				_exit(1);
			memset(p, 1, len);
			usleep(50000);
			_exit(0);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
			return 1;
		snprintf(key, sizeof(key), "pid%d", i);
		truth_u64(key, (uint64_t)pid);
	}
	truth_done();
	return 0;
}
