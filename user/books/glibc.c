// SPDX-License-Identifier: GPL-2.0-only
/* glibc's books of a running process: locate main_arena, walk the arena ring, find the
 * heaps and mmapped chunks among the mappings, add the tcaches, and sum as mallinfo2 does. */
#include "glibc_priv.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "glibc_layout.h"
#include "procfs.h"

#define DEF_ARENAS 1024u
#define DEF_CHUNKS (1ull << 18)
#define DEF_PAGES (1ull << 20)
#define DEF_READ (64ull << 20)
#define MAX_MAPS (1u << 20)
/* mmapped chunk headers read in all (glibc's own limit, n_mmaps_max, is 65536). */
#define MAX_MMAPPED (1u << 18)
/* Pages stepped over looking for mmapped chunks inside merged mappings. */
#define MAX_DEEP (1u << 16)
/* The one glibc release whose layouts glibc_layout.h holds. */
#define GLIBC_KNOWN 36
#define ARENA_TRIES 3

struct gl_ctx {
	struct tmem *t;
	int pid;
	struct books_glibc_opts o;
	struct gl_maps maps;
	struct glibc_elf elf;
	struct glibc_where where;
	struct glibc_mem anon;	  /* private writable memory without a file */
	struct glibc_mem reached; /* chunk memory of every arena reached */
	struct glibc_mem claimed; /* ranges already given an owner */
	struct glibc_walk w;
	struct books *out;
	bool has_mp;
	uint64_t heap_max, mmapped_mem, n_mmaps, tc_bins, tc_count;
	uint64_t system_mem, top, bins, fastbins, arenas;
	uint64_t mmapped_found, mmapped_chunks, tcache, tcache_chunks, tcache_threads;
	bool tcache_read;
};

/* ---- mappings ---- */

static const char *basename_of(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

static bool is_libc_name(const char *path)
{
	const char *b = basename_of(path);

	return !strcmp(b, "libc.so.6") || (!strncmp(b, "libc-2.", 7) && strstr(b, ".so"));
}

static int on_map(const struct maps_entry *e, void *arg)
{
	struct gl_maps *m = arg;
	struct gl_map g = { e->start, e->end, e->prot, GM_OTHER };

	if (m->n >= MAX_MAPS) {
		m->truncated = true;
		return 1;
	}
	/* Private memory without a file; "[anon:NAME]" is such memory named by prctl. */
	if ((!e->path[0] || !strncmp(e->path, "[anon:", 6)) && !e->shared)
		g.kind = GM_ANON;
	else if (!strcmp(e->path, "[heap]"))
		g.kind = GM_HEAP;
	if (e->path[0] == '/' && !e->offset) {
		if (!m->libc[0] && is_libc_name(e->path)) {
			snprintf(m->libc, sizeof(m->libc), "%s", e->path);
			m->libc_base = e->start;
			m->libc_end = e->end;
		}
		if (!m->ld[0] && !strncmp(basename_of(e->path), "ld-linux", 8)) {
			snprintf(m->ld, sizeof(m->ld), "%s", e->path);
			m->ld_base = e->start;
			m->ld_end = e->end;
		}
		if (m->exe[0] && !m->exe_base && !strcmp(e->path, m->exe)) {
			m->exe_base = e->start;
			m->exe_end = e->end;
		}
	}
	if (at_grow(&m->v, m->n, &m->cap, sizeof(*m->v), 1))
		return -ENOMEM;
	m->v[m->n++] = g;
	return 0;
}

int gl_maps_read(int pid, struct gl_maps *m)
{
	char path[64];
	ssize_t n;
	int err;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, m->exe, sizeof(m->exe) - 1);
	m->exe[n > 0 ? n : 0] = 0;
	err = procfs_read_maps(pid, on_map, m);
	return err < 0 ? err : 0;
}

void gl_maps_release(struct gl_maps *m)
{
	free(m->v);
	memset(m, 0, sizeof(*m));
}

const struct gl_map *gl_maps_find(const struct gl_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && addr < m->v[lo - 1].end ? &m->v[lo - 1] : NULL;
}

static int anon_memory(struct gl_ctx *c)
{
	for (size_t i = 0; i < c->maps.n; i++) {
		const struct gl_map *m = &c->maps.v[i];

		if (m->kind != GM_OTHER && (m->prot & PROT_WRITE) &&
		    glibc_mem_add(&c->anon, m->start, m->end))
			return -ENOMEM;
	}
	glibc_mem_sort(&c->anon);
	return 0;
}

/* Where [start, ...) stays mapped without a file, up to limit: a heap's reservation. */
static uint64_t anon_extent(const struct gl_ctx *c, uint64_t start, uint64_t limit)
{
	const struct gl_map *m = gl_maps_find(&c->maps, start);
	uint64_t end = start;

	while (m && m->kind == GM_ANON && m->start <= end && end < limit) {
		end = m->end < limit ? m->end : limit;
		m = m + 1 < c->maps.v + c->maps.n ? m + 1 : NULL;
	}
	return end;
}

/* Heaps are claimed, so that the later searches of the mappings skip them. */
static int add_range(struct gl_ctx *c, uint64_t start, uint64_t end, enum books_evidence ev,
		     enum books_glibc_kind kind)
{
	if (end <= start)
		return 0;
	if (kind != GLIBC_RANGE_MMAPPED && glibc_mem_add(&c->claimed, start, end))
		return -ENOMEM;
	return books_add_range(c->out, start, end, ev, kind);
}

/* c->claimed is sorted before each search that asks. */
static bool is_claimed(const struct gl_ctx *c, uint64_t start)
{
	return glibc_mem_find(&c->claimed, start, 1);
}

/* ---- locating glibc ---- */

static int read_mstate(struct tmem *t, uint64_t addr, struct glibc_mstate *m)
{
	unsigned char buf[GL_MS_SIZE];
	int err = tmem_read(t, addr, buf, sizeof(buf));

	if (!err)
		glibc_mstate_decode(buf, m);
	return err;
}

/* A symbol's address still has to hold a malloc_state: a stale debug file or a corrupted
 * heap are refused, not believed. A race may tear one read, so a few are tried. */
static int check_symbol(struct gl_ctx *c, uint64_t addr, const char **why)
{
	struct glibc_mstate m;
	int err = -EBADMSG;

	*why = "unreadable";
	for (int i = 0; i < ARENA_TRIES && err; i++) {
		err = read_mstate(c->t, addr, &m);
		if (err == -ENOSPC) {
			*why = "read budget spent";
			return err;
		}
		if (err)
			continue;
		err = glibc_mstate_check(&m, addr, &c->anon, why);
		if (!err)
			err = glibc_ring_check(c->t, addr, &m, c->o.max_arenas, why);
	}
	return err;
}

static int locate_file(struct gl_ctx *c, char *why, size_t len)
{
	const char *file = c->maps.libc[0] ? c->maps.libc : c->maps.exe;
	uint64_t base = c->maps.libc[0] ? c->maps.libc_base : c->maps.exe_base;
	uint64_t end = c->maps.libc[0] ? c->maps.libc_end : c->maps.exe_end;
	struct glibc_where *g = &c->where;
	char path[PATH_MAX + 32];
	int err;

	if (!file[0] || !base) {
		snprintf(why, len, "no libc mapped");
		return -ENOENT;
	}
	/* The file the process mapped, even when an upgrade has replaced the path since (a
	 * service up for weeks): its map_files link, else the path in its mount namespace. */
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", c->pid,
		 (unsigned long long)base, (unsigned long long)end);
	err = glibc_elf_read(path, !c->o.no_symbols, &c->elf);
	if (err) {
		snprintf(path, sizeof(path), "/proc/%d/root%s", c->pid, file);
		err = glibc_elf_read(path, !c->o.no_symbols, &c->elf);
	}
	if (err) {
		snprintf(why, len, "cannot read '%s': %s", file, strerror(-err));
		return err == -ENOEXEC ? -ENOENT : err;
	}
	if (c->elf.version >= 0 && c->elf.version != GLIBC_KNOWN) {
		snprintf(why, len, "glibc 2.%d: layouts known for 2.%d only", c->elf.version,
			 GLIBC_KNOWN);
		return -ENOTSUP;
	}
	snprintf(g->path, sizeof(g->path), "%s", file);
	g->is_static = !c->maps.libc[0];
	g->version = c->elf.version;
	g->bias = base - c->elf.first_vaddr;
	g->rw_start = g->bias + c->elf.rw_vaddr;
	g->rw_end = g->rw_start + c->elf.rw_memsz;
	return 0;
}

/* tcache's offset from the thread pointer: what ld.so wrote in libc's GOT slot, or for a
 * static executable (TLS block right below the thread pointer) its TLS size rounded up. */
static void locate_tcache(struct gl_ctx *c)
{
	struct glibc_where *g = &c->where;
	uint64_t v = 0;

	if (!c->elf.has_tcache_tls || !c->elf.tcache_key)
		return;
	g->tcache_key = g->bias + c->elf.tcache_key;
	if (c->elf.tcache_got && !tmem_read_u64(c->t, g->bias + c->elf.tcache_got, &v))
		g->tcache_tpoff = (int64_t)v;
	else if (g->is_static && c->elf.tls_align)
		g->tcache_tpoff = (int64_t)c->elf.tcache_tls -
				  (int64_t)((c->elf.tls_memsz + c->elf.tls_align - 1) /
					    c->elf.tls_align * c->elf.tls_align);
	/* The TLS block lies below the thread pointer (x86_64's variant II). */
	if (g->tcache_tpoff >= 0)
		g->tcache_tpoff = 0;
}

static int locate(struct gl_ctx *c, char *why, size_t len)
{
	struct glibc_where *g = &c->where;
	const char *w = NULL;
	int err = locate_file(c, why, len);

	if (err)
		return err;
	if (c->elf.main_arena) {
		g->main_arena = g->bias + c->elf.main_arena;
		g->by_symbol = true;
		err = check_symbol(c, g->main_arena, &w);
		if (err) {
			snprintf(why, len, "main_arena at %#llx does not validate: %s",
				 (unsigned long long)g->main_arena, w);
			return err == -ENOSPC ? err : -EBADMSG;
		}
		g->mp = c->elf.mp ? g->bias + c->elf.mp : 0;
		locate_tcache(c);
		return 0;
	}
	err = glibc_scan_main_arena(c->t, g->rw_start, g->rw_end, &c->anon, &g->main_arena, &w);
	if (err) {
		snprintf(why, len, "%s%s",
			 g->is_static ? "no glibc malloc in the executable: " : "",
			 w		  ? w
			 : err == -ENOSPC ? "read budget spent"
					  : strerror(-err));
		return err == -ENOSPC || err == -ENOMEM ? err : g->is_static ? -ENOENT : -EBADMSG;
	}
	return 0;
}

static void opts_defaults(struct gl_ctx *c, const struct books_glibc_opts *o)
{
	if (o)
		c->o = *o;
	if (!c->o.max_arenas)
		c->o.max_arenas = DEF_ARENAS;
	if (!c->o.max_chunks)
		c->o.max_chunks = DEF_CHUNKS;
	if (!c->o.max_pages)
		c->o.max_pages = DEF_PAGES;
	if (!c->o.max_read_bytes)
		c->o.max_read_bytes = DEF_READ;
}

static int ctx_open(struct gl_ctx *c, struct tmem *t, int pid, const struct books_glibc_opts *o,
		    char *why, size_t len)
{
	int err;

	memset(c, 0, sizeof(*c));
	c->t = t;
	c->pid = pid;
	c->heap_max = GL_HEAP_MAX;
	opts_defaults(c, o);
	tmem_set_budget(t, c->o.max_read_bytes);
	err = gl_maps_read(pid, &c->maps);
	if (!err)
		err = anon_memory(c);
	if (err) {
		snprintf(why, len, "cannot read the mappings: %s", strerror(-err));
		return err;
	}
	return locate(c, why, len);
}

static void ctx_close(struct gl_ctx *c)
{
	gl_maps_release(&c->maps);
	glibc_mem_release(&c->anon);
	glibc_mem_release(&c->reached);
	glibc_mem_release(&c->claimed);
}

int books_glibc_locate(struct tmem *t, int pid, const struct books_glibc_opts *o,
		       struct glibc_where *w, char *why, size_t whylen)
{
	struct gl_ctx c;
	int err = ctx_open(&c, t, pid, o, why, whylen);

	*w = c.where;
	ctx_close(&c);
	return err;
}

/* ---- mp_ ---- */

static void read_mp(struct gl_ctx *c)
{
	unsigned char b[GL_MP_SIZE];
	uint64_t hp, bins, count, mm;
	int32_t n;

	if (!c->where.mp || tmem_read(c->t, c->where.mp, b, sizeof(b)))
		return;
	memcpy(&hp, b + GL_MP_HP_PAGESIZE, 8);
	memcpy(&n, b + GL_MP_N_MMAPS, 4);
	memcpy(&mm, b + GL_MP_MMAPPED_MEM, 8);
	memcpy(&bins, b + GL_MP_TCACHE_BINS, 8);
	memcpy(&count, b + GL_MP_TCACHE_COUNT, 8);
	/* Refused whole when any field is out of its range. */
	if (n < 0 || (mm & (AT_PAGE_SIZE - 1)) || bins > GL_TCACHE_BINS || count > UINT16_MAX ||
	    (hp && ((hp & (hp - 1)) || hp < AT_PAGE_SIZE || hp > (1ull << 30))))
		return;
	c->has_mp = true;
	c->n_mmaps = (uint64_t)n;
	c->mmapped_mem = mm;
	c->tc_bins = bins;
	c->tc_count = count;
	/* glibc.malloc.hugetlb=2 makes heaps 4 huge pages long (heap_max_size in arena.c). */
	if (hp)
		c->heap_max = 4 * hp;
}

/* ---- arenas ---- */

/* The main arena's memory: the brk heap. Once brk failed, glibc goes on in regions it
 * mmaps (marking the arena noncontiguous), and the arena does not say where they are: its
 * chunks may then lie in any private writable memory (where the kernel may also have merged
 * a region with its neighbours). A contiguous arena's top outside [heap] is refused. */
static int main_memory(struct gl_ctx *c, const struct glibc_mstate *m, struct glibc_mem *mem)
{
	if (m->flags & GL_NONCONTIGUOUS_BIT) {
		for (size_t i = 0; i < c->anon.n; i++) /* [heap] included */
			if (glibc_mem_add(mem, c->anon.v[i].start, c->anon.v[i].end))
				return -ENOMEM;
		return 0;
	}
	for (size_t i = 0; i < c->maps.n; i++)
		if (c->maps.v[i].kind == GM_HEAP &&
		    glibc_mem_add(mem, c->maps.v[i].start, c->maps.v[i].end))
			return -ENOMEM;
	glibc_mem_sort(mem);
	return 0;
}

static int arena_memory(struct gl_ctx *c, uint64_t addr, bool is_main, const struct glibc_mstate *m,
			struct glibc_mem *mem, struct glibc_mem *heaps, const char **why)
{
	uint64_t sum;
	int err;

	glibc_mem_release(mem);
	glibc_mem_release(heaps);
	if (is_main)
		return main_memory(c, m, mem);
	err = glibc_thread_heaps(c->t, addr, m->top, c->heap_max, mem, heaps, &sum, why);
	if (err)
		return err;
	glibc_mem_sort(mem);
	if (sum != m->system_mem)
		glibc_walk_fail(&c->w, "arena %#llx: heaps' sizes disagree with system_mem",
				(unsigned long long)addr);
	return 0;
}

/* The main arena owns [heap]; of its mmapped regions only its top chunk is known for sure
 * (the rest stays unknown). A thread arena owns its heaps' reservations. */
static int main_ranges(struct gl_ctx *c, const struct glibc_mstate *m, uint64_t top_bytes)
{
	const struct gl_map *top = gl_maps_find(&c->maps, m->top);
	int err = 0;

	for (size_t i = 0; i < c->maps.n && !err; i++)
		if (c->maps.v[i].kind == GM_HEAP)
			err = add_range(c, c->maps.v[i].start, c->maps.v[i].end, BOOKS_EV_BOOKS,
					GLIBC_RANGE_MAIN_HEAP);
	if (!err && top_bytes && top && top->kind == GM_ANON)
		err = add_range(c, m->top, m->top + top_bytes, BOOKS_EV_BOOKS,
				GLIBC_RANGE_MAIN_HEAP);
	return err;
}

static int arena_ranges(struct gl_ctx *c, bool is_main, const struct glibc_mstate *m,
			uint64_t top_bytes, const struct glibc_mem *mem,
			const struct glibc_mem *heaps)
{
	int err = is_main ? main_ranges(c, m, top_bytes) : 0;

	for (size_t i = 0; i < mem->n && !err; i++)
		err = glibc_mem_add(&c->reached, mem->v[i].start, mem->v[i].end);
	for (size_t i = 0; i < heaps->n && !err; i++)
		err = add_range(c, heaps->v[i].start,
				anon_extent(c, heaps->v[i].start, heaps->v[i].end), BOOKS_EV_BOOKS,
				GLIBC_RANGE_THREAD_HEAP);
	return err;
}

/* Reads and checks one arena's malloc_state and memory; a race may tear a read, so a few
 * are tried. */
static int load_arena(struct gl_ctx *c, uint64_t addr, bool is_main, struct glibc_mstate *m,
		      struct glibc_mem *mem, struct glibc_mem *heaps)
{
	const char *why = "unreadable";
	int err = -EBADMSG;

	for (int i = 0; i < ARENA_TRIES && err; i++) {
		err = read_mstate(c->t, addr, m);
		if (!err)
			err = arena_memory(c, addr, is_main, m, mem, heaps, &why);
		if (!err)
			err = glibc_mstate_check(m, addr, mem, &why);
	}
	if (err)
		glibc_walk_fail(&c->w, "arena %#llx: %s", (unsigned long long)addr, why);
	return err;
}

/* Reads, checks and walks one arena; *next is where its ring goes on. A list that changed
 * under the walk fails it: the arena is read and walked again from its state (a few times),
 * unless a cap stopped the walk. */
static int read_arena(struct gl_ctx *c, uint64_t addr, bool is_main, uint64_t *next)
{
	struct glibc_mem mem = { 0 }, heaps = { 0 };
	struct glibc_walk before = c->w;
	struct glibc_arena_figs f;
	struct glibc_mstate m;
	int err = 0;

	for (int i = 0; i < ARENA_TRIES; i++) {
		c->w = before;
		err = load_arena(c, addr, is_main, &m, &mem, &heaps);
		if (err)
			goto out;
		glibc_walk_arena(&c->w, addr, &m, &mem, &f);
		if (c->w.nfail == before.nfail || !c->w.chunks_left)
			break;
	}
	c->system_mem += f.system_mem;
	c->top += f.top;
	c->bins += f.bins;
	c->fastbins += f.fastbins;
	c->arenas++;
	*next = m.next;
	err = arena_ranges(c, is_main, &m, f.top, &mem, &heaps);
out:
	glibc_mem_release(&mem);
	glibc_mem_release(&heaps);
	return err;
}

static int read_ring(struct gl_ctx *c)
{
	uint64_t main = c->where.main_arena, addr = main, *seen;
	uint32_t n = 0;
	int err = 0;

	seen = calloc(c->o.max_arenas, sizeof(*seen));
	if (!seen)
		return -ENOMEM;
	do {
		bool again = false;

		if (n == c->o.max_arenas) {
			glibc_walk_fail(&c->w, "more than %u arenas", c->o.max_arenas);
			break;
		}
		for (uint32_t i = 0; i < n; i++)
			again |= seen[i] == addr;
		if (again) {
			glibc_walk_fail(&c->w, "arena ring loops");
			break;
		}
		seen[n++] = addr;
		err = read_arena(c, addr, addr == main, &addr);
	} while (!err && addr != main);
	free(seen);
	/* A bad arena ends the walk and marks it partial; only running out of memory fails. */
	return err == -ENOMEM ? err : 0;
}

/* ---- headers among the mappings ---- */

/* Heaps whose arena was not reached (the ring cut short, or an arena being created). */
static int find_heap_headers(struct gl_ctx *c)
{
	int err = 0;

	for (size_t i = 0; i < c->maps.n && !err; i++) {
		const struct gl_map *m = &c->maps.v[i];
		uint64_t hi[6];

		if (m->kind != GM_ANON || !(m->prot & PROT_WRITE) ||
		    (m->start & (c->heap_max - 1)) || is_claimed(c, m->start) ||
		    tmem_read(c->t, m->start, hi, sizeof(hi)) ||
		    !glibc_heap_info_ok(hi, m->start, c->heap_max))
			continue;
		err = add_range(c, m->start, anon_extent(c, m->start, m->start + c->heap_max),
				BOOKS_EV_HEADER, GLIBC_RANGE_THREAD_HEAP);
	}
	return err;
}

/* The mmapped chunks in a row from the start of mapping m. With deep, what is not a chunk
 * is stepped over a page at a time, and only the chunks after it are new (the leading run
 * was taken by the first pass). */
static int mmapped_run(struct gl_ctx *c, const struct gl_map *m, bool deep, uint32_t *probes)
{
	uint64_t pos = m->start, h[2], len;
	bool add = !deep;
	int err = 0;

	while (pos < m->end && !err && (!deep || c->mmapped_found < c->mmapped_mem)) {
		if ((*probes)++ == (deep ? MAX_DEEP : MAX_MMAPPED)) {
			glibc_walk_fail(&c->w, "more than %u mmapped chunk headers read",
					deep ? MAX_DEEP : MAX_MMAPPED);
			return 0;
		}
		if (!is_claimed(c, pos) && !tmem_read(c->t, pos, h, sizeof(h)) &&
		    glibc_mmapped_header(h[0], h[1], m->end - pos, &len)) {
			if (add) {
				err = add_range(c, pos, pos + len, BOOKS_EV_HEADER,
						GLIBC_RANGE_MMAPPED);
				c->mmapped_found += len;
				c->mmapped_chunks++;
			}
			pos += len;
			continue;
		}
		if (!deep)
			break;
		add = true;
		pos += AT_PAGE_SIZE;
	}
	return err;
}

/*
 * Chunks glibc mmapped itself: one mapping each, starting with the chunk's header. The
 * kernel merges neighbouring anonymous mappings, so a mapping may hold several chunks in a
 * row (found by the first pass), or chunks after memory that is not one (a region of
 * another owner mapped later, just below). When mp_ says bytes are still missing, a second
 * pass steps through the rest of each mapping a page at a time, until they are found or
 * MAX_DEEP headers have been read.
 */
static int find_mmapped(struct gl_ctx *c)
{
	uint32_t probes = 0;
	int err = 0;

	for (int deep = 0; deep < 2 && !err; deep++) {
		if (deep && (!c->has_mp || c->mmapped_found >= c->mmapped_mem))
			break;
		probes = 0;
		for (size_t i = 0; i < c->maps.n && !err; i++) {
			const struct gl_map *m = &c->maps.v[i];

			if (m->kind != GM_ANON || !(m->prot & PROT_READ) ||
			    !(m->prot & PROT_WRITE) || (!deep && is_claimed(c, m->start)))
				continue;
			err = mmapped_run(c, m, deep, &probes);
		}
	}
	return err;
}

/* ---- tcache ---- */

/* The heads of glibc's thread lists: a static executable's own variables, else in ld.so's
 * _rtld_global at the offsets libc's libthread_db descriptors give. */
static void thread_lists(struct gl_ctx *c, struct gl_threads *th)
{
	const struct glibc_elf *e = &c->elf;
	char path[PATH_MAX + 32];
	uint64_t rtld = 0;

	th->tid_off = e->pd_tid ? e->pd_tid : GL_PD_TID;
	th->list_off = e->pd_list;
	if (!e->pd_list)
		return;
	if (c->where.is_static) {
		th->heads[0] = e->dl_stack_used ? c->where.bias + e->dl_stack_used : 0;
		th->heads[1] = e->dl_stack_user ? c->where.bias + e->dl_stack_user : 0;
		return;
	}
	if (!c->maps.ld[0] || !e->rtld_stack_used || !e->rtld_stack_user)
		return;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", c->pid,
		 (unsigned long long)c->maps.ld_base, (unsigned long long)c->maps.ld_end);
	if (glibc_elf_symbol(path, "_rtld_global", &rtld)) {
		snprintf(path, sizeof(path), "/proc/%d/root%s", c->pid, c->maps.ld);
		if (glibc_elf_symbol(path, "_rtld_global", &rtld))
			return;
	}
	/* ld.so's first segment is at address 0, so its base is its bias. */
	th->heads[0] = c->maps.ld_base + rtld + e->rtld_stack_used;
	th->heads[1] = c->maps.ld_base + rtld + e->rtld_stack_user;
}

static int read_tcache(struct gl_ctx *c)
{
	struct glibc_tcache_params p = { .bins = c->tc_bins, .count = c->tc_count };
	struct gl_threads th = { 0 };
	int err;

	if (!c->has_mp || !c->where.tcache_tpoff || !c->where.tcache_key ||
	    tmem_read_u64(c->t, c->where.tcache_key, &p.key))
		return 0;
	glibc_mem_sort(&c->reached);
	thread_lists(c, &th);
	err = glibc_read_tcaches(&c->w, c->pid, &c->maps, &th, c->where.tcache_tpoff, &p,
				 &c->reached, &c->tcache, &c->tcache_chunks, &c->tcache_threads);
	c->tcache_read = !err;
	return err == -ENOMEM ? err : 0;
}

/* ---- figures ---- */

static void figures(struct gl_ctx *c)
{
	struct books *b = c->out;
	uint64_t mmapped = c->has_mp ? c->mmapped_mem : c->mmapped_found;
	uint64_t freeb = c->top + c->bins + c->fastbins + c->tcache, res = c->w.resident;

	b->free_bytes = freeb;
	b->live_bytes = c->system_mem + mmapped > freeb ? c->system_mem + mmapped - freeb : 0;
	/* Free bytes past the page cap are taken as resident in the proportion measured. */
	if (c->w.unmeasured && c->w.measured)
		res += (uint64_t)((double)c->w.unmeasured * (double)c->w.resident /
				  (double)c->w.measured);
	if (c->w.unmeasured)
		glibc_walk_fail(&c->w, "residency of %llu free bytes estimated",
				(unsigned long long)c->w.unmeasured);
	b->free_resident_bytes = res;
	for (size_t i = 0; i < b->nranges; i++)
		b->mapped_bytes += b->ranges[i].end - b->ranges[i].start;
	books_set_figure(b, "system_mem", c->system_mem);
	books_set_count(b, "arenas", c->arenas);
	books_set_figure(b, "top", c->top);
	books_set_figure(b, "bins", c->bins);
	books_set_figure(b, "fastbins", c->fastbins);
	books_set_figure(b, "mmapped", mmapped);
	books_set_count(b, "mmapped_chunks", c->has_mp ? c->n_mmaps : c->mmapped_chunks);
	books_set_figure(b, "mmapped_located", c->mmapped_found);
	if (c->tcache_read) {
		books_set_figure(b, "tcache", c->tcache);
		books_set_count(b, "tcache_chunks", c->tcache_chunks);
		books_set_count(b, "tcache_threads", c->tcache_threads);
	}
	/* Spending the budget shows as unreadable memory: say why first. */
	if (tmem_refused(c->t))
		books_partial(b, "read budget of %llu bytes spent: %s",
			      (unsigned long long)c->o.max_read_bytes, c->w.why);
	else if (c->w.partial)
		books_partial(b, "%s", c->w.why);
}

int books_glibc_read(struct tmem *t, int pid, const struct books_glibc_opts *o, struct books *out)
{
	struct gl_ctx c;
	char why[128] = "";
	int err;

	memset(out, 0, sizeof(*out));
	out->allocator = "glibc";
	err = ctx_open(&c, t, pid, o, why, sizeof(why));
	if (err) {
		books_partial(out, "%s", why);
		goto out;
	}
	c.out = out;
	glibc_walk_init(&c.w, t, c.o.max_chunks, c.o.max_pages);
	if (c.maps.truncated)
		glibc_walk_fail(&c.w, "more than %u mappings", MAX_MAPS);
	read_mp(&c);
	err = read_ring(&c);
	glibc_mem_sort(&c.claimed);
	if (!err)
		err = find_heap_headers(&c);
	glibc_mem_sort(&c.claimed);
	if (!err)
		err = find_mmapped(&c);
	if (!err)
		err = read_tcache(&c);
	if (err) {
		books_release(out);
		out->allocator = "glibc";
		books_partial(out, "%s", strerror(-err));
		goto out;
	}
	figures(&c);
	books_sort_ranges(out);
out:
	ctx_close(&c);
	return err;
}
