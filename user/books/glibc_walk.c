// SPDX-License-Identifier: GPL-2.0-only
/* The pure parts of the glibc reader: checks of malloc_state, heap_info and chunk headers,
 * and the bounded walks of the free lists. Everything read is hostile (glibc.h). */
#include "glibc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "glibc_layout.h"

/* The most heaps one arena may have: 16384 x 64 MiB is 1 TiB of arena. */
#define MAX_HEAPS 16384u
/* Free bytes one list may hold at most: more means a loop the link checks missed. */
#define MAX_ARENA_BYTES (1ull << 47)

int glibc_mem_add(struct glibc_mem *m, uint64_t start, uint64_t end)
{
	if (end <= start)
		return -EINVAL;
	if (at_grow(&m->v, m->n, &m->cap, sizeof(*m->v), 1))
		return -ENOMEM;
	m->v[m->n++] = (struct glibc_span){ start, end };
	return 0;
}

static int by_start(const void *a, const void *b)
{
	const struct glibc_span *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

void glibc_mem_sort(struct glibc_mem *m)
{
	size_t k = 0;

	if (m->n < 2)
		return;
	qsort(m->v, m->n, sizeof(*m->v), by_start);
	/* Overlapping or touching spans merge: a chunk may not cross a gap, only a seam. */
	for (size_t i = 1; i < m->n; i++) {
		if (m->v[i].start <= m->v[k].end) {
			if (m->v[i].end > m->v[k].end)
				m->v[k].end = m->v[i].end;
		} else {
			m->v[++k] = m->v[i];
		}
	}
	m->n = k + 1;
}

const struct glibc_span *glibc_mem_find(const struct glibc_mem *m, uint64_t addr, uint64_t len)
{
	size_t lo = 0, hi = m->n;

	if (addr + len < addr)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr + len > m->v[lo - 1].end)
		return NULL;
	return &m->v[lo - 1];
}

void glibc_mem_release(struct glibc_mem *m)
{
	free(m->v);
	memset(m, 0, sizeof(*m));
}

void glibc_mstate_decode(const void *buf, struct glibc_mstate *m)
{
	const unsigned char *b = buf;

	m->mutex = books_ld32(b, GL_MS_MUTEX);
	m->flags = books_ld32(b, GL_MS_FLAGS);
	m->have_fastchunks = books_ld32(b, GL_MS_HAVE_FAST);
	for (size_t i = 0; i < GL_NFASTBINS; i++)
		m->fastbins[i] = books_ld64(b, GL_MS_FASTBINS + 8 * i);
	m->top = books_ld64(b, GL_MS_TOP);
	m->last_remainder = books_ld64(b, GL_MS_LAST_REMAINDER);
	for (size_t i = 0; i < AT_ARRAY_SIZE(m->bins); i++)
		m->bins[i] = books_ld64(b, GL_MS_BINS + 8 * i);
	for (size_t i = 0; i < 4; i++)
		m->binmap[i] = books_ld32(b, GL_MS_BINMAP + 4 * i);
	m->next = books_ld64(b, GL_MS_NEXT);
	m->next_free = books_ld64(b, GL_MS_NEXT_FREE);
	m->attached_threads = books_ld64(b, GL_MS_ATTACHED);
	m->system_mem = books_ld64(b, GL_MS_SYSTEM_MEM);
	m->max_system_mem = books_ld64(b, GL_MS_MAX_SYSTEM_MEM);
}

uint64_t glibc_bin_at(uint64_t arena, unsigned i)
{
	/* bin_at: the pair of links posing as the fd/bk of a chunk 16 bytes before them. */
	return arena + GL_MS_BINS + 16ull * (i - 1) - GL_CHUNK_FD_OFF;
}

static bool chunk_in(const struct glibc_mem *mem, uint64_t p, uint64_t len)
{
	return p && !(p & GL_ALIGN_MASK) && glibc_mem_find(mem, p, len);
}

static int bad(const char **why, const char *what)
{
	*why = what;
	return -EBADMSG;
}

/* The words that say nothing about other memory. */
static int mstate_words(const struct glibc_mstate *m, const char **why)
{
	if (m->mutex > 2)
		return bad(why, "lock word out of range");
	if (m->flags & ~(GL_NONCONTIGUOUS_BIT | GL_ARENA_CORRUPTION_BIT))
		return bad(why, "unknown flags");
	if (m->have_fastchunks > 1)
		return bad(why, "have_fastchunks not a bool");
	if (m->attached_threads > (1u << 22))
		return bad(why, "attached_threads out of range");
	if (m->system_mem > m->max_system_mem || m->max_system_mem > MAX_ARENA_BYTES)
		return bad(why, "system_mem above max_system_mem");
	if (!m->next || (m->next & 7))
		return bad(why, "next not a pointer");
	return 0;
}

int glibc_mstate_check(const struct glibc_mstate *m, uint64_t addr, const struct glibc_mem *mem,
		       const char **why)
{
	int err = mstate_words(m, why);

	if (err)
		return err;
	if (m->top == glibc_bin_at(addr, 1)) {
		/* The initial top (no memory yet) is the unsorted bin itself. */
		if (m->system_mem)
			return bad(why, "initial top with system memory");
	} else if (!chunk_in(mem, m->top, GL_CHUNK_HDR)) {
		return bad(why, "top outside the arena's memory");
	}
	for (unsigned i = 0; i < GL_NFASTBINS; i++)
		if (m->fastbins[i] && !chunk_in(mem, m->fastbins[i], GL_MINSIZE))
			return bad(why, "fastbin head outside the arena's memory");
	for (unsigned i = 1; i < GL_NBINS; i++) {
		uint64_t fd = m->bins[2 * (i - 1)], bk = m->bins[2 * (i - 1) + 1];
		uint64_t self = glibc_bin_at(addr, i);

		if (fd == self && bk == self)
			continue;
		if (fd == self || bk == self)
			return bad(why, "bin half empty");
		if (!chunk_in(mem, fd, GL_MINSIZE) || !chunk_in(mem, bk, GL_MINSIZE))
			return bad(why, "bin link outside the arena's memory");
		/* Chunks reach bins 2..127 only from the unsorted scan, which marks the bin. */
		if (i >= 2 && !(m->binmap[i / 32] & (1u << (i % 32))))
			return bad(why, "non-empty bin not in the binmap");
	}
	return 0;
}

int glibc_ring_check(struct tmem *t, uint64_t addr, const struct glibc_mstate *m, uint32_t max,
		     const char **why)
{
	uint64_t cur = m->next, ar;

	for (uint32_t i = 0; i < max; i++) {
		if (cur == addr)
			return 0;
		if (!cur || (cur & 7) || cur < GL_HI_SIZEOF)
			return bad(why, "next not a pointer");
		/* Every arena but main_arena follows the heap_info of its first heap. */
		if (tmem_read_u64(t, cur - GL_HI_SIZEOF + GL_HI_AR_PTR, &ar) || ar != cur)
			return bad(why, "arena on the ring without its heap_info");
		if (tmem_read_u64(t, cur + GL_MS_NEXT, &cur))
			return bad(why, "arena on the ring unreadable");
	}
	return bad(why, "ring does not come back");
}

/* Cheap words first, so that most addresses of a scan cost no decoding. */
static bool scan_prefilter(const unsigned char *b)
{
	uint64_t next = books_ld64(b, GL_MS_NEXT);

	return books_ld32(b, GL_MS_MUTEX) <= 2 && books_ld32(b, GL_MS_HAVE_FAST) <= 1 &&
	       !(books_ld32(b, GL_MS_FLAGS) & ~(GL_NONCONTIGUOUS_BIT | GL_ARENA_CORRUPTION_BIT)) &&
	       next && !(next & 7) &&
	       books_ld64(b, GL_MS_SYSTEM_MEM) <= books_ld64(b, GL_MS_MAX_SYSTEM_MEM);
}

/* Reads [start, end) page by page; ok[i] says whether page i was resident. */
static int read_pages(struct tmem *t, uint64_t start, uint64_t end, unsigned char *buf, bool *ok)
{
	for (uint64_t pg = start, i = 0; pg < end;
	     pg = (pg & ~(uint64_t)(AT_PAGE_SIZE - 1)) + AT_PAGE_SIZE, i++) {
		uint64_t stop = (pg & ~(uint64_t)(AT_PAGE_SIZE - 1)) + AT_PAGE_SIZE;
		int err;

		if (stop > end)
			stop = end;
		err = tmem_read(t, pg, buf + (pg - start), stop - pg);
		if (err == -ENOSPC)
			return err;
		ok[i] = !err;
	}
	return 0;
}

#define SCAN_MAX (4ull << 20)

int glibc_scan_main_arena(struct tmem *t, uint64_t start, uint64_t end,
			  const struct glibc_mem *anon, uint64_t *found, const char **why)
{
	uint64_t first = start & ~(uint64_t)(AT_PAGE_SIZE - 1), len = end - first, n = 0;
	unsigned char *buf = NULL;
	bool *ok = NULL;
	int err = 0;

	*why = NULL;
	if (end <= start || len > SCAN_MAX)
		return bad(why, "writable data too large to scan");
	buf = malloc(len);
	ok = calloc(len / AT_PAGE_SIZE + 1, sizeof(*ok));
	if (!buf || !ok) {
		err = -ENOMEM;
		goto out;
	}
	err = read_pages(t, first, end, buf, ok);
	if (err)
		goto out;
	for (uint64_t a = (start + 7) & ~7ull; a + GL_MS_SIZE <= end; a += 8) {
		uint64_t o = a - first;
		struct glibc_mstate m;
		const char *w;

		if (!ok[o / AT_PAGE_SIZE] || !ok[(o + GL_MS_SIZE - 1) / AT_PAGE_SIZE] ||
		    !scan_prefilter(buf + o))
			continue;
		glibc_mstate_decode(buf + o, &m);
		if (glibc_mstate_check(&m, a, anon, &w) || glibc_ring_check(t, a, &m, 1024, &w))
			continue;
		if (n++)
			break;
		*found = a;
	}
	if (!n)
		err = bad(why, "no malloc_state validates in libc's data");
	else if (n > 1)
		err = bad(why, "several malloc_states validate in libc's data") ? -EEXIST : 0;
out:
	free(buf);
	free(ok);
	return err;
}

void glibc_walk_init(struct glibc_walk *w, struct tmem *t, uint64_t max_chunks, uint64_t max_pages)
{
	memset(w, 0, sizeof(*w));
	w->t = t;
	w->chunks_left = max_chunks;
	w->pages_left = max_pages;
}

void glibc_walk_fail(struct glibc_walk *w, const char *fmt, ...)
{
	va_list ap;

	w->nfail++;
	if (w->partial)
		return;
	w->partial = true;
	va_start(ap, fmt);
	vsnprintf(w->why, sizeof(w->why), fmt, ap);
	va_end(ap);
}

/* One list's sums, added to the walk only when the whole list validated (then n has
 * WALKED set). */
#define WALKED (1ull << 63)

struct acc {
	uint64_t bytes, n, resident, measured, unmeasured;
};

/* Residency of a free chunk [p, p + len) whose first 'seen' bytes were just read (so their
 * page is resident): a chunk within that page costs no pagemap read. */
static void measure(struct glibc_walk *w, struct acc *a, uint64_t p, uint64_t len)
{
	uint64_t page_end = (p & ~(uint64_t)(AT_PAGE_SIZE - 1)) + AT_PAGE_SIZE;
	uint64_t npages = ((p + len - 1) / AT_PAGE_SIZE) - (p / AT_PAGE_SIZE) + 1, res = 0;

	if (p + len <= page_end) {
		a->resident += len;
		a->measured += len;
		return;
	}
	if (npages > w->pages_left || tmem_resident_bytes(w->t, p, p + len, &res)) {
		a->unmeasured += len;
		return;
	}
	w->pages_left -= npages;
	a->resident += res;
	a->measured += len;
}

static void commit(struct glibc_walk *w, const struct acc *a, uint64_t *bytes, uint64_t *n)
{
	*bytes += a->bytes;
	if (n)
		*n += a->n;
	w->resident += a->resident;
	w->measured += a->measured;
	w->unmeasured += a->unmeasured;
}

static bool take_chunk(struct glibc_walk *w)
{
	if (!w->chunks_left) {
		glibc_walk_fail(w, "free-chunk walk stopped at its cap");
		return false;
	}
	w->chunks_left--;
	return true;
}

/* Bin i, from its last chunk back (as int_mallinfo walks it), each link checked both ways. */
static void walk_bin(struct glibc_walk *w, uint64_t arena, const struct glibc_mstate *m, unsigned i,
		     const struct glibc_mem *mem, struct acc *a)
{
	uint64_t b = glibc_bin_at(arena, i), prev = b, p = m->bins[2 * (i - 1) + 1], c[4];

	while (p != b) {
		uint64_t sz;

		if (!take_chunk(w))
			return;
		if (!chunk_in(mem, p, GL_MINSIZE) || tmem_read(w->t, p, c, sizeof(c))) {
			glibc_walk_fail(w, "bin %u: chunk %#llx unreadable", i,
					(unsigned long long)p);
			return;
		}
		sz = c[1] & ~GL_SIZE_BITS;
		if (sz < GL_MINSIZE || (sz & GL_ALIGN_MASK) || (c[1] & GL_IS_MMAPPED) ||
		    !glibc_mem_find(mem, p, sz) || (i > 1 && gl_bin_index(sz) != i)) {
			glibc_walk_fail(w, "bin %u: chunk %#llx has a bad size", i,
					(unsigned long long)p);
			return;
		}
		if (c[2] != prev) {
			glibc_walk_fail(w, "bin %u: links of %#llx disagree", i,
					(unsigned long long)p);
			return;
		}
		a->bytes += sz;
		a->n++;
		if (a->bytes > m->system_mem) {
			glibc_walk_fail(w, "bin %u: more free than the arena holds", i);
			return;
		}
		measure(w, a, p, sz);
		prev = p;
		p = c[3];
	}
	if (m->bins[2 * (i - 1)] != prev) {
		glibc_walk_fail(w, "bin %u: head and tail disagree", i);
		return;
	}
	a->n |= WALKED;
}

/* Fastbin i: a singly linked, safe-linked list of chunks of size 32 + 16 i. Brent's method
 * finds a loop in bounded steps without remembering the chunks. */
static void walk_fastbin(struct glibc_walk *w, const struct glibc_mstate *m, unsigned i,
			 const struct glibc_mem *mem, struct acc *a)
{
	uint64_t p = m->fastbins[i], want = GL_MINSIZE + 16ull * i, tortoise = p, c[3];
	uint64_t power = 1, lam = 0;

	while (p) {
		if (!take_chunk(w))
			return;
		if (!chunk_in(mem, p, want) || tmem_read(w->t, p, c, sizeof(c))) {
			glibc_walk_fail(w, "fastbin %u: chunk %#llx unreadable", i,
					(unsigned long long)p);
			return;
		}
		if ((c[1] & ~GL_SIZE_BITS) != want || (c[1] & GL_IS_MMAPPED)) {
			glibc_walk_fail(w, "fastbin %u: chunk %#llx has a bad size", i,
					(unsigned long long)p);
			return;
		}
		a->bytes += want;
		a->n++;
		measure(w, a, p, want);
		p = gl_reveal(p + GL_CHUNK_FD_OFF, c[2]);
		if (p == tortoise || a->bytes > m->system_mem) {
			glibc_walk_fail(w, "fastbin %u loops", i);
			return;
		}
		if (++lam == power) {
			tortoise = p;
			power *= 2;
			lam = 0;
		}
	}
	a->n |= WALKED;
}

static void walk_top(struct glibc_walk *w, uint64_t arena, const struct glibc_mstate *m,
		     const struct glibc_mem *mem, struct glibc_arena_figs *f)
{
	struct acc a = { 0 };
	uint64_t sz;

	if (m->top == glibc_bin_at(arena, 1))
		return;
	if (!chunk_in(mem, m->top, GL_CHUNK_HDR) ||
	    tmem_read_u64(w->t, m->top + GL_CHUNK_SIZE_OFF, &sz)) {
		glibc_walk_fail(w, "arena %#llx: top unreadable", (unsigned long long)arena);
		return;
	}
	/* The top chunk always has PREV_INUSE and ends inside the arena's memory. */
	if (!(sz & GL_PREV_INUSE) || (sz & (GL_IS_MMAPPED)) || ((sz & ~GL_SIZE_BITS) & 15) ||
	    !glibc_mem_find(mem, m->top, sz & ~GL_SIZE_BITS) ||
	    (sz & ~GL_SIZE_BITS) > m->system_mem) {
		glibc_walk_fail(w, "arena %#llx: top has a bad size", (unsigned long long)arena);
		return;
	}
	sz &= ~GL_SIZE_BITS;
	a.bytes = sz;
	if (sz)
		measure(w, &a, m->top, sz);
	commit(w, &a, &f->top, NULL);
}

void glibc_walk_arena(struct glibc_walk *w, uint64_t addr, const struct glibc_mstate *m,
		      const struct glibc_mem *mem, struct glibc_arena_figs *f)
{
	memset(f, 0, sizeof(*f));
	f->system_mem = m->system_mem;
	walk_top(w, addr, m, mem, f);
	for (unsigned i = 0; i < GL_NFASTBINS; i++) {
		struct acc a = { 0 };

		walk_fastbin(w, m, i, mem, &a);
		if (a.n & WALKED) {
			a.n &= ~WALKED;
			commit(w, &a, &f->fastbins, &f->fast_chunks);
		}
	}
	for (unsigned i = 1; i < GL_NBINS; i++) {
		struct acc a = { 0 };

		walk_bin(w, addr, m, i, mem, &a);
		if (a.n & WALKED) {
			a.n &= ~WALKED;
			commit(w, &a, &f->bins, &f->bin_chunks);
		}
	}
	/* Lists that each validated may still add up to more than the arena: a race. */
	if (f->top + f->bins + f->fastbins > f->system_mem) {
		glibc_walk_fail(w, "arena %#llx: more free than system_mem",
				(unsigned long long)addr);
		f->bins = f->fastbins = 0;
	}
}

bool glibc_heap_info_ok(const uint64_t hi[6], uint64_t addr, uint64_t heap_max)
{
	uint64_t size = hi[GL_HI_SIZE / 8], mprot = hi[GL_HI_MPROTECT / 8];
	uint64_t pagesize = hi[GL_HI_PAGESIZE / 8], prev = hi[GL_HI_PREV / 8];

	if ((addr & (heap_max - 1)) || !hi[GL_HI_AR_PTR / 8] || (hi[GL_HI_AR_PTR / 8] & 7))
		return false;
	if (pagesize < AT_PAGE_SIZE || (pagesize & (pagesize - 1)) || pagesize > heap_max)
		return false;
	if (!size || (size & (pagesize - 1)) || (mprot & (pagesize - 1)))
		return false;
	if (size > mprot || mprot > heap_max || (prev & (heap_max - 1)) || prev == addr)
		return false;
	/* The first heap of an arena holds the arena itself, right after its heap_info. */
	return prev || hi[GL_HI_AR_PTR / 8] == addr + GL_HI_SIZEOF;
}

int glibc_thread_heaps(struct tmem *t, uint64_t arena, uint64_t top, uint64_t heap_max,
		       struct glibc_mem *mem, struct glibc_mem *heaps, uint64_t *sum,
		       const char **why)
{
	uint64_t h = top & ~(heap_max - 1), tortoise = h, power = 1, lam = 0, hi[6];

	*sum = 0;
	for (unsigned n = 0; n < MAX_HEAPS; n++) {
		if (tmem_read(t, h, hi, sizeof(hi)) || !glibc_heap_info_ok(hi, h, heap_max))
			return bad(why, "heap_info does not validate");
		if (hi[GL_HI_AR_PTR / 8] != arena)
			return bad(why, "heap of another arena");
		if (glibc_mem_add(mem, h, h + hi[GL_HI_SIZE / 8]) ||
		    (heaps && glibc_mem_add(heaps, h, h + heap_max)))
			return bad(why, "out of memory");
		*sum += hi[GL_HI_SIZE / 8];
		if (!hi[GL_HI_PREV / 8])
			return 0;
		h = hi[GL_HI_PREV / 8];
		if (h == tortoise)
			return bad(why, "heap list loops");
		if (++lam == power) {
			tortoise = h;
			power *= 2;
			lam = 0;
		}
	}
	return bad(why, "too many heaps");
}

bool glibc_mmapped_header(uint64_t prev_size, uint64_t size_word, uint64_t room, uint64_t *len)
{
	uint64_t sz = size_word & ~GL_SIZE_BITS;

	/* At a mapping's start: prev_size 0 (a memalign offset is kept in the header of the
	 * chunk it hands out, further in), only IS_MMAPPED, a whole number of pages. */
	if (prev_size || (size_word & GL_SIZE_BITS) != GL_IS_MMAPPED)
		return false;
	if (sz < AT_PAGE_SIZE || (sz & (AT_PAGE_SIZE - 1)) || sz > room)
		return false;
	*len = sz;
	return true;
}

static int walk_tcache_bin(struct glibc_walk *w, unsigned i, uint64_t e, uint64_t count,
			   const struct glibc_tcache_params *p, const struct glibc_mem *mem,
			   struct acc *a, const char **why)
{
	uint64_t want = GL_MINSIZE + 16ull * i, c[4];

	for (uint64_t k = 0; k < count; k++) {
		if (!take_chunk(w))
			return bad(why, "free-chunk cap");
		if (!e || !chunk_in(mem, e - GL_CHUNK_HDR, want) ||
		    tmem_read(w->t, e - GL_CHUNK_HDR, c, sizeof(c)))
			return bad(why, "tcache entry unreadable");
		if ((c[1] & ~GL_SIZE_BITS) != want || (c[1] & GL_IS_MMAPPED) || c[3] != p->key)
			return bad(why, "tcache entry does not validate");
		a->bytes += want;
		a->n++;
		measure(w, a, e - GL_CHUNK_HDR, want);
		e = gl_reveal(e + GL_TE_NEXT, c[2]);
	}
	return e ? bad(why, "tcache bin longer than its count") : 0;
}

int glibc_walk_tcache(struct glibc_walk *w, uint64_t addr, const struct glibc_tcache_params *p,
		      const struct glibc_mem *mem, uint64_t *bytes, uint64_t *chunks,
		      const char **why)
{
	unsigned char b[GL_CHUNK_HDR + GL_TC_SIZE];
	struct acc a = { 0 };
	int err;

	*bytes = *chunks = 0;
	if (!chunk_in(mem, addr - GL_CHUNK_HDR, GL_TC_CHUNK) ||
	    tmem_read(w->t, addr - GL_CHUNK_HDR, b, sizeof(b)))
		return bad(why, "tcache unreadable");
	if ((books_ld64(b, GL_CHUNK_SIZE_OFF) & ~GL_SIZE_BITS) != GL_TC_CHUNK)
		return bad(why, "tcache chunk has a bad size");
	for (unsigned i = 0; i < GL_TCACHE_BINS; i++) {
		uint16_t cnt;
		uint64_t e = books_ld64(b, GL_CHUNK_HDR + GL_TC_ENTRIES + 8 * i);

		memcpy(&cnt, b + GL_CHUNK_HDR + GL_TC_COUNTS + 2 * i, sizeof(cnt));
		if (cnt > p->count || (i >= p->bins && cnt) || (!cnt && e))
			return bad(why, "tcache counts out of range");
		err = walk_tcache_bin(w, i, e, cnt, p, mem, &a, why);
		if (err)
			return err;
	}
	commit(w, &a, bytes, chunks);
	return 0;
}
