// SPDX-License-Identifier: GPL-2.0-only
/*
 * C arenas and allocator internals with known chunk traffic (truth.h protocol):
 *  - two glibc obstacks whose chunk functions count what they hand out: one rewound to its
 *    first object (a reset that keeps the first chunk) and grown again, one freed entirely;
 *  - a custom pool arena (traced with --arena pool:alloc=pool_grow,size=2,self=1,
 *    free=pool_release,reset=pool_reset), two instances;
 *  - glibc internals: mmapped chunks (one munmap_chunk each) and a brk heap that is trimmed;
 *  - libc memory_* USDT probes fired by this program itself (Debian's libc has none).
 */
#include <malloc.h>
#include <obstack.h>
#include <sys/sdt.h>

#include "truth.h"

static uint64_t ob_chunks, ob_freed, ob_bytes_live, mmapped_frees;

/* free, counting the blocks glibc mmapped (IS_MMAPPED in the chunk header): each goes
 * through glibc's munmap_chunk. */
static void xfree(void *p)
{
	if (p && (((size_t *)p)[-1] & 2))
		mmapped_frees++;
	free(p);
}

/* The obstack's chunks: the size asked of chunkfun is the chunk's size (limit - chunk);
 * the header has no size, so a side table remembers it. */
static struct {
	void *p;
	size_t n;
} ob_sizes[8192];
static int ob_nsizes;

static void *ob_chunk_alloc(size_t n)
{
	void *p = malloc(n);

	ob_chunks++;
	ob_bytes_live += n;
	if (ob_nsizes < (int)AT_ARRAY(ob_sizes))
		ob_sizes[ob_nsizes++] = (typeof(ob_sizes[0])){ p, n };
	return p;
}

static void ob_chunk_free(void *p)
{
	for (int i = 0; i < ob_nsizes; i++) {
		if (ob_sizes[i].p == p) {
			ob_bytes_live -= ob_sizes[i].n;
			ob_sizes[i] = ob_sizes[--ob_nsizes];
			break;
		}
	}
	ob_freed++;
	xfree(p);
}

#define obstack_chunk_alloc ob_chunk_alloc
#define obstack_chunk_free ob_chunk_free

/* A pool arena: chunks from malloc, listed in the pool; reset keeps the first chunk. */
struct pool {
	void *chunks[256];
	size_t sizes[256];
	int n;
	uint64_t acquired, released, resets, bytes;
};

__attribute__((noinline)) void *pool_grow(struct pool *p, size_t size)
{
	void *c = malloc(size);

	opaque(c);
	p->chunks[p->n] = c;
	p->sizes[p->n++] = size;
	p->acquired++;
	p->bytes += size;
	return c;
}

__attribute__((noinline)) void pool_release(struct pool *p, void *chunk)
{
	for (int i = 0; i < p->n; i++) {
		if (p->chunks[i] == chunk) {
			p->bytes -= p->sizes[i];
			p->chunks[i] = p->chunks[--p->n];
			p->sizes[i] = p->sizes[p->n];
			break;
		}
	}
	p->released++;
	xfree(chunk);
}

__attribute__((noinline)) void pool_reset(struct pool *p)
{
	p->resets++;
	while (p->n > 1)
		pool_release(p, p->chunks[p->n - 1]);
}

static void pool_truth(const char *name, const struct pool *p)
{
	char key[64];

	snprintf(key, sizeof(key), "%s_addr", name);
	truth_u64(key, (uint64_t)(uintptr_t)p);
	snprintf(key, sizeof(key), "%s_acquired", name);
	truth_u64(key, p->acquired);
	snprintf(key, sizeof(key), "%s_released", name);
	truth_u64(key, p->released);
	snprintf(key, sizeof(key), "%s_resets", name);
	truth_u64(key, p->resets);
	snprintf(key, sizeof(key), "%s_bytes", name);
	truth_u64(key, p->bytes);
}

static struct pool pool_a, pool_b;

int main(void)
{
	struct obstack kept, gone;
	void *first;
	enum { NBIG = 20, NSMALL = 60, NUSDT = 7 };
	void *big[NBIG], *small[NSMALL];
	uint64_t usdt_bytes = 0;

	truth_open();
	truth_go();

	/* Obstacks. */
	obstack_init(&kept);
	first = obstack_alloc(&kept, 1000);
	for (int i = 0; i < 3000; i++)
		opaque(obstack_alloc(&kept, 1000));
	obstack_free(&kept, first); /* rewinds: every chunk but the first goes */
	for (int i = 0; i < 500; i++)
		opaque(obstack_alloc(&kept, 1000));
	obstack_init(&gone);
	for (int i = 0; i < 800; i++)
		opaque(obstack_alloc(&gone, 1000));
	obstack_free(&gone, NULL);
	truth_u64("obstack_addr", (uint64_t)(uintptr_t)&kept);
	truth_u64("obstack_gone_addr", (uint64_t)(uintptr_t)&gone);
	truth_u64("obstack_chunks", ob_chunks);
	truth_u64("obstack_freed", ob_freed);
	truth_u64("obstack_bytes", ob_bytes_live);

	/* Custom pools: a grows to 10 chunks, resets, grows 3 more; b grows 5. */
	for (int i = 0; i < 10; i++)
		pool_grow(&pool_a, 65536u << (i % 3));
	pool_reset(&pool_a);
	for (int i = 0; i < 3; i++)
		pool_grow(&pool_a, 4096);
	for (int i = 0; i < 5; i++)
		pool_grow(&pool_b, 300000);
	pool_truth("pool_a", &pool_a);
	pool_truth("pool_b", &pool_b);

	/* glibc internals: mmapped chunks, each freed by munmap_chunk; then a brk heap of
	 * small blocks freed from the top down, so that it is trimmed. */
	for (int i = 0; i < NBIG; i++) {
		big[i] = malloc(1 << 20);
		opaque(big[i]);
	}
	for (int i = 0; i < NBIG; i++)
		xfree(big[i]);
	for (int i = 0; i < NSMALL; i++) {
		small[i] = malloc(100000);
		memset(small[i], 1, 100000);
	}
	for (int i = NSMALL; i-- > 0;)
		xfree(small[i]);
	truth_u64("mmapped_frees", mmapped_frees);

	/* USDT: the probes glibc would fire if it were built with them. */
	for (int i = 1; i <= NUSDT; i++) {
		STAP_PROBE2(libc, memory_sbrk_more, (void *)0, 4096 * i);
		usdt_bytes += 4096 * i;
	}
	truth_u64("usdt_sbrk_more", NUSDT);
	truth_u64("usdt_sbrk_more_bytes", usdt_bytes);
	truth_done();
	return 0;
}
