// SPDX-License-Identifier: GPL-2.0-only
/* glibc malloc through all its OS paths: brk growth and trim, mmapped chunks, mremap of an
 * mmapped chunk, a thread arena (64 MiB heap reservation, mprotect growth) and
 * malloc_trim(). The truth is glibc's own view: the break, mallinfo2 and the thread heap's
 * header. */
#include <malloc.h>
#include <pthread.h>

#include "truth.h"

#define MiB (1ull << 20)
#define HEAP_MAX (64 * MiB)

static void *thread_ptr;
static uint64_t thread_heap_committed;

static void *worker(void *arg)
{
	void *keep[200];

	(void)arg;
	for (int i = 0; i < 200; i++) {
		keep[i] = malloc(10000);
		memset(keep[i], 1, 10000);
	}
	/* Keep one so that the heap stays; free the rest to give trim something to do. */
	thread_ptr = keep[199];
	for (int i = 0; i < 199; i++)
		free(keep[i]);
	/* heap_info: ar_ptr, prev, size, mprotect_size at the 64 MiB-aligned heap start. */
	thread_heap_committed = ((size_t *)((uintptr_t)thread_ptr & ~(HEAP_MAX - 1)))[3];
	return NULL;
}

static uint64_t start_brk(void)
{
	FILE *f = fopen("/proc/self/stat", "r");
	char buf[4096], *p;
	unsigned long long v = 0;
	int field = 2; /* ')' ends field 2; each space starts the next */

	if (!f || !fgets(buf, sizeof(buf), f))
		exit(90);
	fclose(f);
	p = strrchr(buf, ')') + 1;
	while (field < 47 && p && (p = strchr(p, ' '))) {
		field++;
		p++;
	}
	if (!p || sscanf(p, "%llu", &v) != 1)
		exit(90);
	return v;
}

int main(void)
{
	static void *small[4000];
	void *big[4];
	pthread_t t;
	struct mallinfo2 mi;
	uint64_t brk_base;

	brk_base = start_brk();
	opaque(malloc(1));
	truth_go();

	/* brk growth, then a trim when the top chunk exceeds the trim threshold. */
	for (int i = 0; i < 4000; i++) {
		small[i] = malloc(1000);
		memset(small[i], 1, 1000);
	}
	for (int i = 3999; i >= 0; i--)
		free(small[i]);

	/* Above the mmap threshold: one mapping per chunk, unmapped on free. */
	for (int i = 0; i < 4; i++) {
		big[i] = malloc(MiB);
		memset(big[i], 2, MiB);
	}
	free(big[0]);
	free(big[1]);
	/* realloc of an mmapped chunk is an mremap. */
	big[2] = realloc(big[2], 4 * MiB);
	memset(big[2], 3, 4 * MiB);

	/* A thread arena. */
	pthread_create(&t, NULL, worker, NULL);
	pthread_join(t, NULL);

	malloc_trim(0);

	mi = mallinfo2();
	truth_u64("brk_bytes", (uint64_t)(uintptr_t)sbrk(0) - brk_base);
	truth_u64("mmapped_chunk_bytes", mi.hblkhd);
	truth_u64("mmapped_chunks", mi.hblks);
	truth_u64("thread_heap_bytes", HEAP_MAX);
	truth_u64("thread_heap_committed_bytes", thread_heap_committed);
	truth_u64("mapped_bytes", (uint64_t)(uintptr_t)sbrk(0) - brk_base + mi.hblkhd + HEAP_MAX);
	truth_u64("reserved_bytes", HEAP_MAX - thread_heap_committed);
	opaque(big[3]);
	opaque(thread_ptr);
	truth_done();
	return 0;
}
