// SPDX-License-Identifier: GPL-2.0-only
/* A forked child frees its copy of the parent's blocks: blocks older than the child's
 * counters, which must be counted apart and never subtracted from the child's live (issue
 * 13, item 4). The parent makes OLD blocks, then forks; the child frees them all, makes NEW
 * blocks and keeps them, and writes the truth (the file was opened by the parent, so that
 * the child allocates nothing else). The child starts once AT_CHILD_GO exists. */
#include <malloc.h>
#include <sys/wait.h>

#include "truth.h"

#define OLD 100
#define NEW 5

int main(void)
{
	static void *old[OLD], *fresh[NEW];
	uint64_t live = 0;
	int status;
	pid_t pid;

	truth_open();
	truth_go();
	for (int i = 0; i < OLD; i++) {
		old[i] = malloc(2000);
		if (!old[i])
			return 1;
		memset(old[i], 1, 2000);
	}
	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid) {
		/* Until arenatrace has probed this process (AT_CHILD_GO, made by the test). */
		wait_for("AT_CHILD_GO");
		for (int i = 0; i < OLD; i++)
			free(old[i]);
		for (int i = 0; i < NEW; i++) {
			fresh[i] = malloc(100);
			if (!fresh[i])
				_exit(1);
			opaque(fresh[i]);
			live += malloc_usable_size(fresh[i]);
		}
		truth_u64("allocs", NEW);
		truth_u64("frees", 0);
		truth_u64("old_frees", OLD);
		truth_u64("live_bytes", live);
		truth_u64("live_objects", NEW);
		truth_done();
		_exit(0);
	}
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
