// SPDX-License-Identifier: GPL-2.0-only
/*
 * A thread that mallocs and frees 20,000 blocks and exits (issue 13): at its exit glibc
 * flushes its tcache by calling free() on every block cached there, blocks the program
 * had freed already, and on the tcache itself, which it never handed out. Those are not
 * frees of the program's; the main thread only waits.
 */
#include <pthread.h>
#include <stdlib.h>

#include "truth.h"

#define N 20000

static void *worker(void *arg)
{
	static void *v[N];

	(void)arg;
	for (int i = 0; i < N; i++) {
		v[i] = malloc(16 + (size_t)(i % 64) * 16);
		opaque(v[i]);
	}
	for (int i = N; i-- > 0;)
		free(v[i]);
	return NULL;
}

int main(void)
{
	pthread_t t;

	truth_open();
	truth_go();
	if (pthread_create(&t, NULL, worker, NULL) || pthread_join(t, NULL))
		return 1;
	truth_u64("allocs", N);
	truth_u64("frees", N);
	truth_done();
	wait_for("AT_HOLD");
	return 0;
}
