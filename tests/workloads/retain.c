// SPDX-License-Identifier: GPL-2.0-only
/*
 * Retention patterns for the findings (truth.h protocol), by mode:
 *   pin       glibc: 40 MB of small blocks freed but the last one: the heap cannot trim
 *   all       glibc: the same blocks all freed: the heap trims itself (no finding)
 *   grow      glibc: batches of growing block sizes (10 KB up), each then shrunk to a 16-byte
 *             pin (realloc frees its tail): the holes between the pins are too small for
 *             the next batch, so retention rises batch by batch while live barely moves
 *   swell     glibc: batches of growing block sizes that keep every other block: live and
 *             retention rise together (a workload that simply grows; no finding)
 *   steady    glibc: batches that free everything they allocate (no growth)
 *   madv_free / madv_dontneed: 32 MiB mapped, touched and given back lazily or at once
 * The truth has what was kept (live bytes in glibc's usable sizes) and given back.
 */
#include <stdbool.h>

#include "truth.h"

enum { NBLK = 40000, BATCH = 4000, NBATCH = 6 };
static void *blk[NBLK];

static uint64_t usable(void *p)
{
	uint64_t word = ((uint64_t *)p)[-1], size = word & ~7ull;

	return size - ((word & 2) ? 16 : 8);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "pin";
	uint64_t live = 0;

	truth_open();
	truth_go();
	if (!strcmp(mode, "pin") || !strcmp(mode, "all")) {
		for (int i = 0; i < NBLK; i++) {
			blk[i] = malloc(1000);
			memset(blk[i], 1, 1000);
		}
		for (int i = 0; i < NBLK - (!strcmp(mode, "pin")); i++)
			free(blk[i]);
		if (!strcmp(mode, "pin"))
			live = usable(blk[NBLK - 1]);
	} else if (!strcmp(mode, "grow") || !strcmp(mode, "swell") || !strcmp(mode, "steady")) {
		bool grow = !strcmp(mode, "grow"), swell = !strcmp(mode, "swell");

		/* grow: more batches of fewer, larger blocks: the rises outlast a sample taken in
		 * the middle of a batch, and glibc's bins hold few chunks, so that its books are
		 * read often (a reading is paced by what it costs). */
		int nbatch = grow ? 2 * NBATCH : NBATCH, batch = grow ? BATCH / 20 : BATCH;

		for (int b = 0; b < nbatch; b++) {
			size_t size = grow ? 10000 + 2000 * (size_t)b
				      : swell ? 1000 + 200 * (size_t)b
					      : 1000;

			for (int i = 0; i < batch; i++) {
				blk[b * batch + i] = malloc(size);
				memset(blk[b * batch + i], 1, size);
			}
			for (int i = 0; i < batch; i++) {
				void **p = &blk[b * batch + i];

				if (grow) {
					/* Shrunk in place: the head stays (a pin), the rest is
					 * freed, a hole between two pins. */
					*p = realloc(*p, 16);
					live += usable(*p);
				} else if (swell && i % 2) {
					live += usable(*p);
				} else {
					free(*p);
				}
			}
			/* A few samples between batches; grow's allow a reading of the books
			 * (paced at 1% of a core: 100 times what one costs, 6 to 10 ms here). */
			usleep(grow ? 800000 : 300000);
		}
	} else {
		size_t len = 32u << 20;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return 1;
		memset(p, 1, len);
		madvise(p, len, !strcmp(mode, "madv_free") ? MADV_FREE : MADV_DONTNEED);
		truth_u64("given_back", len);
	}
	truth_u64("live_bytes", live);
	truth_done();
	return 0;
}
