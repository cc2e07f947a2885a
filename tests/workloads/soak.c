// SPDX-License-Identifier: GPL-2.0-only
/*
 * The soak workload (issue 13): for AT_SOAK_S seconds (default 40), rounds of thread churn
 * (THREADS threads created and joined a round), fork churn (a child a round) and allocation
 * churn. Each thread mallocs and frees blocks, maps and unmaps a big block (glibc mmaps
 * blocks above M_MMAP_THRESHOLD, fixed at 128 KiB so that it does not move), and hands KEEP
 * blocks to the main thread, which frees them a few rounds later (frees across threads).
 * The main thread keeps a rolling window of blocks. Each child frees and makes blocks and a
 * big block, tells the parent through a pipe what it unmapped, and exits. At the end, with
 * every thread joined, the truth: the blocks the program holds (count, usable bytes), the
 * big blocks it unmapped (count, bytes: usable size + glibc's 16-byte header, unmapped
 * whole), what its children unmapped in all, how many threads and children ran, and glibc's
 * mallinfo2(). Built -O0; blocks go through opaque().
 */
#include <malloc.h>
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>

#include "truth.h"

#define THREADS 8
#define PER_THREAD 200
#define KEEP 4
#define WINDOW 4096
#define BIG (256u << 10)
#define CHILD_BIG 3

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static void *handed[THREADS * KEEP * 4];
static size_t nhanded;
static uint64_t held_count, held_bytes, big_count, big_bytes;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A big block made and freed: the bytes glibc unmaps for it, 0 when it was not mmapped.
 * Above M_MMAP_THRESHOLD glibc mmaps a block only when no free chunk of its heaps can take
 * it (sysmalloc); an mmapped chunk (IS_MMAPPED, bit 1 of its size word) is its usable size
 * and a 16-byte header, unmapped whole. */
static uint64_t big_cycle(void)
{
	void *p = malloc(BIG);
	uint64_t bytes;

	if (!p)
		_exit(2);
	memset(p, 1, BIG);
	bytes = (((uint64_t *)p)[-1] & 2) ? malloc_usable_size(p) + 16 : 0;
	free(p);
	return bytes;
}

static void *worker(void *arg)
{
	void *v[PER_THREAD];
	uint64_t b = big_cycle();

	for (int i = 0; i < PER_THREAD; i++) {
		v[i] = malloc(16 + (size_t)((i * 37 + (int)(intptr_t)arg) % 2000));
		if (!v[i])
			_exit(2);
		opaque(v[i]);
	}
	pthread_mutex_lock(&mu);
	big_count += b != 0;
	big_bytes += b;
	for (int i = 0; i < KEEP; i++) {
		handed[nhanded++] = v[i];
		held_count++;
		held_bytes += malloc_usable_size(v[i]);
	}
	pthread_mutex_unlock(&mu);
	for (int i = KEEP; i < PER_THREAD; i++)
		free(v[i]);
	return NULL;
}

static void release_handed(void)
{
	for (size_t i = 0; i < nhanded; i++) {
		held_count--;
		held_bytes -= malloc_usable_size(handed[i]);
		free(handed[i]);
	}
	nhanded = 0;
}

/* A child: blocks and big blocks, and what it unmapped to the parent through fd. */
static void child(int fd)
{
	static void *v[64];
	uint64_t unmapped = 0;

	for (int i = 0; i < 64; i++) {
		v[i] = malloc(100 + (size_t)i * 50);
		opaque(v[i]);
	}
	for (int i = 0; i < CHILD_BIG; i++)
		unmapped += big_cycle();
	for (int i = 0; i < 64; i++)
		free(v[i]);
	_exit(write(fd, &unmapped, sizeof(unmapped)) == sizeof(unmapped) ? 0 : 3);
}

int main(void)
{
	static void *window[WINDOW];
	const char *env = getenv("AT_SOAK_S");
	double secs = env ? atof(env) : 40, end;
	uint64_t threads = 0, children = 0, children_unmapped = 0, rounds = 0, b;
	pthread_t t[THREADS];
	struct mallinfo2 mi;
	int failed = 0, fds[2];

	mallopt(M_MMAP_THRESHOLD, 128 << 10); /* fixed: no dynamic threshold */
	if (pipe(fds))
		return 2;
	truth_open();
	/* stdio's FILE of the truth file is a block the program holds too. */
	held_count = 1;
	held_bytes = malloc_usable_size(truth_f);
	truth_go();
	end = now_s() + secs;
	while (now_s() < end) {
		pid_t pid;
		int status;

		for (int i = 0; i < THREADS; i++)
			if (pthread_create(&t[i], NULL, worker, (void *)(intptr_t)(rounds + i)))
				return 2;
		for (int i = 0; i < THREADS; i++)
			pthread_join(t[i], NULL);
		threads += THREADS;
		if (nhanded >= AT_ARRAY(handed) - THREADS * KEEP)
			release_handed();
		/* Allocation churn: the window's oldest blocks make way for new ones. */
		for (int i = 0; i < 256; i++) {
			size_t k = (rounds * 256 + (size_t)i) % WINDOW;

			if (window[k]) {
				held_count--;
				held_bytes -= malloc_usable_size(window[k]);
				free(window[k]);
			}
			window[k] = malloc(8 + (size_t)((rounds + (size_t)i) * 13 % 4000));
			if (!window[k])
				return 2;
			opaque(window[k]);
			held_count++;
			held_bytes += malloc_usable_size(window[k]);
		}
		pid = fork();
		if (pid < 0)
			return 2;
		if (!pid)
			child(fds[1]);
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) ||
		    read(fds[0], &b, sizeof(b)) != sizeof(b))
			failed++;
		else
			children_unmapped += b;
		children++;
		rounds++;
	}
	mi = mallinfo2();
	truth_u64("threads", threads);
	truth_u64("children", children);
	truth_u64("children_failed", (uint64_t)failed);
	truth_u64("live_objects", held_count);
	truth_u64("live_bytes", held_bytes);
	truth_u64("big_frees", big_count);
	truth_u64("big_unmapped_bytes", big_bytes);
	truth_u64("children_unmapped_bytes", children_unmapped);
	truth_u64("arena", mi.arena);
	truth_u64("hblkhd", mi.hblkhd);
	truth_u64("uordblks", mi.uordblks);
	truth_done();
	return failed ? 1 : 0;
}
