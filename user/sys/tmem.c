// SPDX-License-Identifier: GPL-2.0-only
#include "tmem.h"
#include "procfs.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)

struct tmem {
	int mem_fd, pagemap_fd; /* -1 for a buffer */
	uint64_t base;		/* buffer: its address and bytes */
	unsigned char *buf;
	size_t len;
	uint64_t budget, used, refused;
	/* The last pagemap word read, for walks that stay on one page. */
	uint64_t pm_page, pm_word;
	bool pm_valid;
};

static struct tmem *tmem_alloc(void)
{
	struct tmem *t = calloc(1, sizeof(*t));

	if (t)
		t->mem_fd = t->pagemap_fd = -1;
	return t;
}

struct tmem *tmem__open(int pid)
{
	struct tmem *t = tmem_alloc();
	char path[64];
	int err;

	if (!t)
		return NULL;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	t->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	if (t->mem_fd >= 0)
		t->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (t->pagemap_fd < 0) {
		err = errno;
		tmem__free(t);
		errno = err;
		return NULL;
	}
	return t;
}

struct tmem *tmem__from_buf(uint64_t base, const void *buf, size_t len)
{
	struct tmem *t = tmem_alloc();

	if (!t)
		return NULL;
	t->buf = malloc(len ? len : 1);
	if (!t->buf) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(t->buf, buf, len);
	t->base = base;
	t->len = len;
	return t;
}

void tmem__free(struct tmem *t)
{
	if (!t)
		return;
	if (t->mem_fd >= 0)
		close(t->mem_fd);
	if (t->pagemap_fd >= 0)
		close(t->pagemap_fd);
	free(t->buf);
	free(t);
}

/* The pagemap word of the page at addr, or 0 when it cannot be read. */
static uint64_t pm_word(struct tmem *t, uint64_t addr)
{
	uint64_t page = addr / AT_PAGE_SIZE;

	if (!t->pm_valid || t->pm_page != page) {
		if (pread(t->pagemap_fd, &t->pm_word, 8, (off_t)(page * 8)) != 8)
			return 0;
		t->pm_page = page;
		t->pm_valid = true;
	}
	return t->pm_word;
}

bool tmem_resident(struct tmem *t, uint64_t addr)
{
	if (t->buf)
		return addr >= t->base && addr - t->base < t->len;
	return pm_word(t, addr) & PM_PRESENT;
}

/* The part of page pg (an address) that [start, end) covers. */
static uint64_t page_overlap(uint64_t pg, uint64_t start, uint64_t end)
{
	uint64_t lo = pg > start ? pg : start;
	uint64_t hi = pg + AT_PAGE_SIZE < end ? pg + AT_PAGE_SIZE : end;

	return hi > lo ? hi - lo : 0;
}

int tmem_resident_bytes(struct tmem *t, uint64_t start, uint64_t end, uint64_t *bytes)
{
	uint64_t buf[512], pg = start & ~(uint64_t)(AT_PAGE_SIZE - 1), sum = 0;

	*bytes = 0;
	if (end <= start)
		return 0; /* an empty or reversed range holds nothing */
	if (t->buf) {
		uint64_t lo = start > t->base ? start : t->base;
		uint64_t hi = end < t->base + t->len ? end : t->base + t->len;

		*bytes = hi > lo ? hi - lo : 0;
		return 0;
	}
	while (pg < end) {
		uint64_t npages = (end - pg + AT_PAGE_SIZE - 1) / AT_PAGE_SIZE;
		size_t want = npages > AT_ARRAY_SIZE(buf) ? AT_ARRAY_SIZE(buf) : (size_t)npages;
		ssize_t got = pread(t->pagemap_fd, buf, want * 8, (off_t)(pg / AT_PAGE_SIZE * 8));

		if (got <= 0)
			return got < 0 ? -errno : -EFAULT;
		for (ssize_t i = 0; i < got / 8; i++, pg += AT_PAGE_SIZE)
			if (buf[i] & PM_PRESENT)
				sum += page_overlap(pg, start, end);
	}
	*bytes = sum;
	return 0;
}

int tmem_read(struct tmem *t, uint64_t addr, void *buf, size_t len)
{
	uint64_t end = addr + len;

	if (!len)
		return 0;
	if (end < addr)
		return -EFAULT;
	if (t->budget && t->used + len > t->budget) {
		t->refused++;
		return -ENOSPC;
	}
	t->used += len;
	if (t->buf) {
		if (addr < t->base || end > t->base + t->len)
			return -EFAULT;
		memcpy(buf, t->buf + (addr - t->base), len);
		return 0;
	}
	for (uint64_t p = addr & ~(uint64_t)(AT_PAGE_SIZE - 1); p < end; p += AT_PAGE_SIZE)
		if (!tmem_resident(t, p))
			return -EFAULT;
	/* The target may unmap the range meanwhile: a short read or an error is -EFAULT. */
	return pread(t->mem_fd, buf, len, (off_t)addr) == (ssize_t)len ? 0 : -EFAULT;
}

int tmem_read_anon(struct tmem *t, uint64_t addr, void *buf, size_t len)
{
	unsigned char *out = buf;
	uint64_t end = addr + len;

	if (t->buf || !len)
		return tmem_read(t, addr, buf, len);
	if (end < addr)
		return -EFAULT;
	while (addr < end) {
		uint64_t next = (addr & ~(uint64_t)(AT_PAGE_SIZE - 1)) + AT_PAGE_SIZE;
		size_t n = (size_t)((next < end ? next : end) - addr);
		uint64_t w = pm_word(t, addr);
		int err;

		if (!(w & (PM_PRESENT | PM_SWAPPED))) {
			/* A pagemap that cannot be read is not a page that was never touched. */
			if (!t->pm_valid || t->pm_page != addr / AT_PAGE_SIZE)
				return -EIO;
			if (t->budget && t->used + n > t->budget)
				return -ENOSPC;
			t->used += n;
			memset(out, 0, n);
		} else if ((err = tmem_read(t, addr, out, n))) {
			return err;
		}
		out += n;
		addr += n;
	}
	return 0;
}

int tmem_read_u64(struct tmem *t, uint64_t addr, uint64_t *v)
{
	return tmem_read(t, addr, v, sizeof(*v));
}

void tmem_set_budget(struct tmem *t, uint64_t bytes)
{
	t->budget = bytes;
	t->used = t->refused = 0;
}

uint64_t tmem_bytes_read(const struct tmem *t)
{
	return t->used;
}

uint64_t tmem_refused(const struct tmem *t)
{
	return t->refused;
}
