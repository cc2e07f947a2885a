// SPDX-License-Identifier: GPL-2.0-only
/* Threads that each create a glibc arena: all of them malloc at once (a barrier keeps each
 * from finding another's arena free), so glibc's new_heap makes a heap for each, carved out
 * of a PROT_NONE reservation of twice the heap's size whose unaligned rest it unmaps at
 * once. Those munmaps release address space that never held a page: not returns (issue 13,
 * item 3; memcached showed 256 MiB "returned"). The truth: how many threads found an arena
 * of their own, and the bytes they touched. */
#include <malloc.h>
#include <pthread.h>

#include "truth.h"

#define THREADS 4
#define BLOCK 100000

static pthread_barrier_t all_in;
static void *blocks[THREADS];

static void *worker(void *arg)
{
	void **slot = arg;

	pthread_barrier_wait(&all_in);
	*slot = malloc(BLOCK);
	if (*slot)
		memset(*slot, 1, BLOCK);
	pthread_barrier_wait(&all_in);
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	int own = 0;

	truth_open();
	truth_go();
	pthread_barrier_init(&all_in, NULL, THREADS);
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, worker, &blocks[i]))
			return 1;
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	/* A block from a thread arena lies outside the brk heap, in a 64 MiB-aligned heap. */
	for (int i = 0; i < THREADS; i++)
		for (int k = 0; k < i; k++)
			if (!blocks[i] || ((uintptr_t)blocks[i] >> 26) == ((uintptr_t)blocks[k] >> 26))
				goto shared;
	own = THREADS;
shared:
	truth_u64("threads", THREADS);
	truth_u64("own_arenas", (uint64_t)own);
	truth_u64("touched", (uint64_t)THREADS * BLOCK);
	truth_done();
	for (int i = 0; i < THREADS; i++)
		free(blocks[i]);
	return 0;
}
