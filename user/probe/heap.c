// SPDX-License-Identifier: GPL-2.0-only
#include "heap.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attrib.h"
#include "log.h"
#include "needed.h"
#include "probeset.h"
#include "procfs.h"
#include "syms.h"

enum family {
	FAM_GLIBC,
	FAM_JEMALLOC,
	FAM_MIMALLOC,
};

static const struct {
	const char *name;
	const char *basis;
	enum at_heap_size_mode mode;
} families[] = {
	[FAM_GLIBC] = { "glibc", "usable", AT_SIZE_GLIBC },
	[FAM_JEMALLOC] = { "jemalloc", "usable", AT_SIZE_JEMALLOC },
	[FAM_MIMALLOC] = { "mimalloc", "requested", AT_SIZE_REQUEST },
};

struct func {
	const char *name;
	enum at_heap_role role;
};

/* Aliases at one address are probed once, under the first name listed. glibc's
 * reallocarray is not listed: it calls realloc. */
static const struct func glibc_funcs[] = {
	{ "malloc", AT_ROLE_MALLOC },		{ "calloc", AT_ROLE_CALLOC },
	{ "realloc", AT_ROLE_REALLOC },		{ "free", AT_ROLE_FREE },
	{ "posix_memalign", AT_ROLE_POSIX_MEMALIGN }, { "aligned_alloc", AT_ROLE_MEMALIGN },
	{ "memalign", AT_ROLE_MEMALIGN },	{ "valloc", AT_ROLE_VALLOC },
	{ "pvalloc", AT_ROLE_PVALLOC },
};

/* Prefixed with "", "je_" or "_rjem_". */
static const struct func jemalloc_funcs[] = {
	{ "malloc", AT_ROLE_MALLOC },		{ "calloc", AT_ROLE_CALLOC },
	{ "realloc", AT_ROLE_REALLOC },		{ "free", AT_ROLE_FREE },
	{ "posix_memalign", AT_ROLE_POSIX_MEMALIGN }, { "aligned_alloc", AT_ROLE_MEMALIGN },
	{ "memalign", AT_ROLE_MEMALIGN },	{ "valloc", AT_ROLE_VALLOC },
	{ "mallocx", AT_ROLE_MALLOCX },		{ "rallocx", AT_ROLE_REALLOC },
	{ "xallocx", AT_ROLE_XALLOCX },		{ "sdallocx", AT_ROLE_FREE },
	{ "dallocx", AT_ROLE_FREE },
};

static const struct func mimalloc_funcs[] = {
	{ "mi_malloc", AT_ROLE_MALLOC },	   { "mi_zalloc", AT_ROLE_MALLOC },
	{ "mi_calloc", AT_ROLE_CALLOC },	   { "mi_realloc", AT_ROLE_REALLOC },
	{ "mi_free", AT_ROLE_FREE },		   { "mi_free_size", AT_ROLE_FREE },
	{ "mi_free_aligned", AT_ROLE_FREE },	   { "mi_free_size_aligned", AT_ROLE_FREE },
	{ "mi_malloc_aligned", AT_ROLE_ALIGNED },  { "mi_zalloc_aligned", AT_ROLE_ALIGNED },
	{ "mi_heap_malloc", AT_ROLE_HEAP_MALLOC }, { "mi_heap_zalloc", AT_ROLE_HEAP_MALLOC },
	{ "mi_heap_calloc", AT_ROLE_HEAP_CALLOC }, { "mi_heap_realloc", AT_ROLE_HEAP_REALLOC },
	/* The libc names a malloc-overriding build exports. */
	{ "malloc", AT_ROLE_MALLOC },		   { "calloc", AT_ROLE_CALLOC },
	{ "realloc", AT_ROLE_REALLOC },		   { "free", AT_ROLE_FREE },
	{ "posix_memalign", AT_ROLE_POSIX_MEMALIGN }, { "aligned_alloc", AT_ROLE_MEMALIGN },
	{ "memalign", AT_ROLE_MEMALIGN },	   { "valloc", AT_ROLE_VALLOC },
	{ "pvalloc", AT_ROLE_PVALLOC },
};

/* C++ operators, probed where the allocator library itself exports them (jemalloc and
 * mimalloc do; libstdc++'s call malloc, which is probed anyway). A delete may call free
 * inside (jemalloc's jumps to it), so it counts at its return, with the free nested. */
static const struct func cxx_funcs[] = {
	{ "_Znwm", AT_ROLE_MALLOC },
	{ "_Znam", AT_ROLE_MALLOC },
	{ "_ZnwmRKSt9nothrow_t", AT_ROLE_MALLOC },
	{ "_ZnamRKSt9nothrow_t", AT_ROLE_MALLOC },
	{ "_ZnwmSt11align_val_t", AT_ROLE_ALIGNED },
	{ "_ZnamSt11align_val_t", AT_ROLE_ALIGNED },
	{ "_ZnwmSt11align_val_tRKSt9nothrow_t", AT_ROLE_ALIGNED },
	{ "_ZnamSt11align_val_tRKSt9nothrow_t", AT_ROLE_ALIGNED },
	{ "_ZdlPv", AT_ROLE_DELETE },
	{ "_ZdaPv", AT_ROLE_DELETE },
	{ "_ZdlPvm", AT_ROLE_DELETE },
	{ "_ZdaPvm", AT_ROLE_DELETE },
	{ "_ZdlPvRKSt9nothrow_t", AT_ROLE_DELETE },
	{ "_ZdaPvRKSt9nothrow_t", AT_ROLE_DELETE },
	{ "_ZdlPvSt11align_val_t", AT_ROLE_DELETE },
	{ "_ZdaPvSt11align_val_t", AT_ROLE_DELETE },
	{ "_ZdlPvmSt11align_val_t", AT_ROLE_DELETE },
	{ "_ZdaPvmSt11align_val_t", AT_ROLE_DELETE },
};

/* How many arguments (in rdi, rsi, rdx) the BPF side reads for a role. */
static int role_args(enum at_heap_role role)
{
	switch (role) {
	case AT_ROLE_MALLOC:
	case AT_ROLE_FREE:
	case AT_ROLE_DELETE:
	case AT_ROLE_VALLOC:
	case AT_ROLE_PVALLOC:
		return 1;
	case AT_ROLE_CALLOC:
	case AT_ROLE_REALLOC:
	case AT_ROLE_MEMALIGN:
	case AT_ROLE_ALIGNED:
	case AT_ROLE_HEAP_MALLOC:
	case AT_ROLE_MALLOCX:
		return 2;
	default:
		return 3;
	}
}

struct instance {
	struct file_id file;
	enum family fam;
	uint32_t id;
};

struct proc_probes {
	struct probeset ps;
	uint32_t ids[16];
	size_t nids;
};

/* The counters of one (process, allocator instance), read for heap_read. */
struct heap_read {
	int pid;
	uint32_t id;
	struct at_heap_stats s;
};

struct heap {
	struct loader *loader;
	struct instance *inst;
	size_t ninst;
	struct proc_probes *procs;
	size_t nprocs;
	/* -a: probes attached once per file for every process (pid -1); per-process entries
	 * then only list the allocator ids to read. */
	bool all;
	struct probeset global;
	struct fileset scanned; /* -a: the files already probed for every process */
	struct heap_read *reads; /* heap_read's last pass */
	size_t nreads, reads_cap;
};

struct heap *heap__new(struct loader *l, bool all)
{
	struct heap *h = calloc(1, sizeof(*h));

	if (h) {
		h->loader = l;
		h->all = all;
		h->global.pid = -1;
	}
	return h;
}

static void proc_release(struct proc_probes *p)
{
	probeset_release(&p->ps);
	p->nids = 0;
}

void heap__free(struct heap *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nprocs; i++)
		proc_release(&h->procs[i]);
	probeset_release(&h->global);
	fileset_free(&h->scanned);
	free(h->procs);
	free(h->reads);
	free(h->inst);
	free(h);
}

static struct proc_probes *proc_get(struct heap *h, int pid)
{
	struct proc_probes *n, *unused = NULL;

	for (size_t i = 0; i < h->nprocs; i++) {
		if (h->procs[i].ps.pid == pid)
			return &h->procs[i];
		if (h->procs[i].ps.pid < 0 && !unused)
			unused = &h->procs[i]; /* its process exited (heap_forget) */
	}
	if (unused) {
		memset(unused, 0, sizeof(*unused));
		unused->ps.pid = pid;
		return unused;
	}
	n = realloc(h->procs, (h->nprocs + 1) * sizeof(*n));
	if (!n)
		return NULL;
	h->procs = n;
	memset(&n[h->nprocs], 0, sizeof(*n));
	n[h->nprocs].ps.pid = pid;
	return &n[h->nprocs++];
}

static uint32_t instance_id(struct heap *h, struct file_id file, enum family fam)
{
	struct instance *n;

	for (size_t i = 0; i < h->ninst; i++)
		if (file_id_eq(h->inst[i].file, file) && h->inst[i].fam == fam)
			return h->inst[i].id;
	if (h->ninst == AT_MAX_HEAP_IDS)
		return 0; /* os_exec clears ids up to this */
	n = realloc(h->inst, (h->ninst + 1) * sizeof(*n));
	if (!n)
		return 0;
	h->inst = n;
	n[h->ninst] = (struct instance){ .file = file, .fam = fam, .id = (uint32_t)h->ninst + 1 };
	return n[h->ninst++].id;
}

#define REG_RSP 4

/* Length of an instruction the kernel emulates (0 if it is not one). */
/* Length of a push (with REX.B for r8-r15), or 0. */
static size_t push_len(const unsigned char *c, size_t len)
{
	size_t i = (len > 1 && c[0] == 0x41) ? 1 : 0;

	return len > i && c[i] >= 0x50 && c[i] <= 0x57 ? i + 1 : 0;
}

static size_t emulated_len(const unsigned char *c, size_t len)
{
	if (push_len(c, len))
		return push_len(c, len);
	if (len >= 2 && ((c[0] >= 0x70 && c[0] <= 0x7f) || c[0] == 0xeb))
		return 2; /* jcc rel8, jmp rel8 */
	if (len >= 5 && (c[0] == 0xe8 || c[0] == 0xe9))
		return 5; /* call, jmp rel32 */
	if (len >= 6 && c[0] == 0x0f && (c[1] & 0xf0) == 0x80)
		return 6; /* jcc rel32 */
	if (len >= 1 && c[0] == 0x90)
		return 1;
	return 0;
}

/* Bytes of the ModRM operand's SIB and displacement, after the ModRM byte. */
static size_t modrm_extra(const unsigned char *c, size_t len, size_t at)
{
	int mod = c[at] >> 6, rm = c[at] & 7;
	size_t n = 0;

	if (mod == 3)
		return 0;
	if (rm == 4) {
		if (at + 1 >= len)
			return SIZE_MAX;
		n = 1;
		if (mod == 0 && (c[at + 1] & 7) == 5)
			n += 4; /* no base: disp32 */
	} else if (mod == 0 && rm == 5) {
		n = 4; /* rip + disp32 */
	}
	if (mod == 1)
		n += 1;
	else if (mod == 2)
		n += 4;
	return n;
}

/* Length of an instruction that writes no memory and does not branch, or 0: the forms
 * compilers put at a function's start (mov, lea, test, cmp, and, or, xor, add, sub, shifts,
 * with or without a segment prefix), decoded just enough to know that. *dest is the
 * register it writes (-1: none), *src the register a 64-bit register move copies (-1). */
static size_t simple_len(const unsigned char *c, size_t len, int *dest, int *src)
{
	size_t i = 0, extra;
	int rex = 0, op, reg, rm;
	bool reads_only_memory_ok = false;

	*dest = *src = -1;
	if (len >= 4 && c[0] == 0xf3 && c[1] == 0x0f && c[2] == 0x1e && c[3] == 0xfa)
		return 4; /* endbr64 */
	if (i < len && (c[i] == 0x64 || c[i] == 0x65))
		i++; /* %fs:, %gs: */
	if (i < len && (c[i] & 0xf0) == 0x40)
		rex = c[i++];
	if (i >= len)
		return 0;
	op = c[i++];
	switch (op) {
	case 0x05: case 0x0d: case 0x25: case 0x2d: case 0x35: /* op %eax/%rax, imm32 */
		*dest = 0;
		/* fall through */
	case 0x3d: /* cmp %eax, imm32 */
	case 0xa9: /* test %eax, imm32 */
		return i + 4 <= len ? i + 4 : 0;
	case 0xa8: /* test %al, imm8 */
		return i + 1 <= len ? i + 1 : 0;
	case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
		/* mov $imm, %reg: imm64 with REX.W */
		*dest = (op - 0xb8) | ((rex & 1) ? 8 : 0);
		i += (rex & 8) ? 8 : 4;
		return i <= len ? i : 0;
	default:
		break;
	}
	if (i >= len)
		return 0;
	reg = ((c[i] >> 3) & 7) | ((rex & 4) ? 8 : 0);
	rm = (c[i] & 7) | ((rex & 1) ? 8 : 0);
	extra = modrm_extra(c, len, i);
	if (extra == SIZE_MAX)
		return 0;
	switch (op) {
	case 0x84: case 0x85: case 0x38: case 0x39: case 0x3a: case 0x3b: /* test, cmp */
		reads_only_memory_ok = true;
		break;
	case 0x8b: case 0x8d: case 0x03: case 0x0b: case 0x23: case 0x2b: case 0x33:
		*dest = reg; /* reg <- r/m: memory is only read (lea does not even read) */
		reads_only_memory_ok = true;
		if (op == 0x8b && (c[i] >> 6) == 3 && (rex & 8))
			*src = rm;
		break;
	case 0x89: case 0x01: case 0x09: case 0x21: case 0x29: case 0x31:
		*dest = rm; /* r/m <- reg: a write when r/m is memory */
		if (op == 0x89 && (rex & 8))
			*src = reg;
		break;
	case 0xc7: /* mov $imm32, r/m */
		if (((c[i] >> 3) & 7) != 0)
			return 0;
		extra += 4;
		*dest = rm;
		break;
	case 0x81: case 0x83: case 0xc1:
		extra += op == 0x81 ? 4 : 1;
		if (op == 0xc1 || ((c[i] >> 3) & 7) != 7)
			*dest = rm; /* all but cmp write r/m */
		else
			reads_only_memory_ok = true;
		break;
	default:
		return 0;
	}
	if ((c[i] >> 6) != 3 && !reads_only_memory_ok)
		return 0;
	i += 1 + extra;
	return i <= len ? i : 0;
}

/* Whether a branch anywhere in the function might land in (off, off + k]. A byte scan
 * finds every possible branch, real or not: a false one only makes this say yes. */
static bool branch_into(const unsigned char *c, size_t len, size_t k)
{
	for (size_t i = 0; i < len; i++) {
		int64_t target = -1;

		if ((c[i] >= 0x70 && c[i] <= 0x7f) || c[i] == 0xeb) {
			if (i + 2 <= len)
				target = (int64_t)(i + 2) + (int8_t)c[i + 1];
		} else if (c[i] == 0xe9 || c[i] == 0xe8 || (c[i] == 0x0f && i + 1 < len &&
							    (c[i + 1] & 0xf0) == 0x80)) {
			size_t at = c[i] == 0x0f ? i + 2 : i + 1;
			int32_t rel;

			if (at + 4 <= len) {
				memcpy(&rel, c + at, 4);
				target = (int64_t)(at + 4) + rel;
			}
		}
		if (target > 0 && (uint64_t)target <= k)
			return true;
	}
	return false;
}

/* Follows an instruction writing register dest (-1: none), a copy of src when src >= 0,
 * in the set of registers that hold a value. */
static void track_write(uint32_t *set, int dest, int src)
{
	bool copy = src >= 0 && (*set & (1u << src));

	if (dest < 0)
		return;
	*set &= ~(1u << dest);
	if (copy)
		*set |= 1u << dest;
}

/* A register of the set: the argument's own when it is still there (the BPF programs read
 * arguments in rdi, rsi and rdx without copying all registers), else the lowest; own when
 * the set is empty. */
static int reg_in(uint32_t set, int own)
{
	if (!set || (set & (1u << own)))
		return own;
	return __builtin_ctz(set);
}

uint64_t heap_probe_offset(const unsigned char *code, size_t len, uint64_t off, int nargs,
			   uint32_t *arg_regs)
{
	/* Which registers hold each argument; rdi, rsi, rdx at the entry. */
	uint32_t held[3] = { 1u << 7, 1u << 6, 1u << 2 };
	size_t i = 0, n;

	*arg_regs = AT_ARG_REGS(7, 6, 2);
	while (i < len && i < 96) {
		int dest, src;

		if (emulated_len(code + i, len - i)) {
			if (!i || branch_into(code, len, i))
				return off;
			/* Arguments not read may be gone: any register will do for them. */
			*arg_regs = AT_ARG_REGS(reg_in(held[0], AT_REG_RDI), reg_in(held[1], AT_REG_RSI),
						reg_in(held[2], AT_REG_RDX));
			return off + i;
		}
		n = simple_len(code + i, len - i, &dest, &src);
		if (!n || dest == REG_RSP)
			break;
		for (int k = 0; k < 3; k++)
			track_write(&held[k], dest, src);
		for (int k = 0; k < nargs; k++)
			if (!held[k])
				return off; /* an argument the program reads is gone */
		i += n;
	}
	return off;
}

/* mov -8(%base),%reg with base in the set regs: the register loaded, or -1. */
static int loads_size_word(const unsigned char *c, size_t n, uint32_t regs)
{
	int base, dest;

	if (n != 4 || (c[0] & 0xfa) != 0x48 || c[1] != 0x8b || (c[2] >> 6) != 1 ||
	    (c[2] & 7) == 4 || c[3] != 0xf8)
		return -1;
	base = (c[2] & 7) | ((c[0] & 1) ? 8 : 0);
	dest = ((c[2] >> 3) & 7) | ((c[0] & 4) ? 8 : 0);
	return (regs & (1u << base)) ? dest : -1;
}

/* test %reg,%reg (64-bit) with reg in the set regs. */
static bool tests_self(const unsigned char *c, size_t n, uint32_t regs)
{
	int reg = ((c[2] >> 3) & 7) | ((c[0] & 4) ? 8 : 0);

	return n == 3 && (c[0] & 0xfa) == 0x48 && ((c[0] & 4) != 0) == ((c[0] & 1) != 0) &&
	       c[1] == 0x85 && (c[2] >> 6) == 3 && ((c[2] >> 3) & 7) == (c[2] & 7) &&
	       (regs & (1u << reg));
}

uint64_t heap_size_word_offset(const unsigned char *code, size_t len, uint64_t off,
			       uint32_t *arg_regs)
{
	uint32_t ptr = 1u << AT_REG_RDI, word = 0; /* the registers holding each */
	bool tested = false;			   /* the last instruction: test %ptr,%ptr */
	size_t i = 0, n;

	while (i < len && i < 96) {
		int dest, src, loaded;

		if ((n = emulated_len(code + i, len - i))) {
			if (word) {
				if (branch_into(code, len, i))
					return 0;
				*arg_regs = AT_ARG_REGS(reg_in(ptr, AT_REG_RDI), __builtin_ctz(word),
							AT_REG_RDX) |
					    AT_COOKIE_SIZE_WORD;
				return off + i;
			}
			/* je: only after test %ptr,%ptr, the free(NULL) exit */
			if (!push_len(code + i, len - i) &&
			    !(tested && (code[i] == 0x74 || (code[i] == 0x0f && code[i + 1] == 0x84))))
				return 0;
			tested = false;
			i += n;
			continue;
		}
		n = simple_len(code + i, len - i, &dest, &src);
		if (!n)
			return 0;
		tested = tests_self(code + i, n, ptr);
		loaded = loads_size_word(code + i, n, ptr);
		track_write(&ptr, dest, src);
		track_write(&word, dest, src);
		if (loaded >= 0)
			word |= 1u << loaded;
		if (!ptr)
			return 0;
		i += n;
	}
	return 0;
}

/* The probe points of one family's functions in one file, appended to specs (those not
 * attached yet: to this process, or with -a to any); the family's id goes to p's list. */
static int family_specs(struct heap *h, struct proc_probes *p, const char *path, struct file_id file,
			int fd, const struct syms *s, enum family fam, const char *prefix,
			const struct func *funcs, size_t nfuncs, struct loader_probe_spec **specs,
			size_t *nspecs, size_t *cap)
{
	uint32_t id = instance_id(h, file, fam);
	struct probeset *owner = h->all ? &h->global : &p->ps;
	size_t found = 0;

	if (!id) {
		at_err("more than %d allocator instances: '%s' is not probed", AT_MAX_HEAP_IDS, path);
		return 0;
	}
	for (size_t i = 0; i < nfuncs; i++) {
		char name[96];
		uint64_t off, size;
		uint32_t regs;

		snprintf(name, sizeof(name), "%s%s", prefix, funcs[i].name);
		if (syms_func(s, name, &off, &size))
			continue;
		off = heap_probe_place(fd, off, size, role_args(funcs[i].role),
				       families[fam].mode == AT_SIZE_GLIBC &&
					       funcs[i].role == AT_ROLE_FREE,
				       &regs);
		found++;
		if (!probeset_first(owner, file, off))
			continue;
		if (at_grow(specs, *nspecs, cap, sizeof(**specs), 1))
			return -ENOMEM;
		(*specs)[(*nspecs)++] = (struct loader_probe_spec){
			.off = off,
			.cookie = AT_COOKIE(id, families[fam].mode, funcs[i].role, regs),
			.entry_only = funcs[i].role == AT_ROLE_FREE,
		};
	}
	if (found) {
		bool have = false;

		for (size_t i = 0; i < p->nids; i++)
			have |= p->ids[i] == id;
		if (!have && p->nids < AT_ARRAY_SIZE(p->ids))
			p->ids[p->nids++] = id;
	}
	return 0;
}

static bool defines(const struct syms *s, const char *name)
{
	uint64_t off;

	return !syms_offset_of(s, name, &off);
}

/* -a: a file probed before for every process needs no second look; this process only
 * learns which allocator instances it holds. Otherwise the file is marked as scanned. */
static bool file_scanned(struct heap *h, struct proc_probes *p, struct file_id file)
{
	if (fileset_add(&h->scanned, file))
		return false;
	for (size_t k = 0; k < h->ninst; k++) {
		bool have = false;

		if (!file_id_eq(h->inst[k].file, file))
			continue;
		for (size_t j = 0; j < p->nids; j++)
			have |= p->ids[j] == h->inst[k].id;
		if (!have && p->nids < AT_ARRAY_SIZE(p->ids))
			p->ids[p->nids++] = h->inst[k].id;
	}
	return true;
}

/* Every allocator family the file holds: by library name, else by symbols (an allocator
 * linked statically). */
static int probe_file(struct heap *h, struct proc_probes *p, const char *path)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	const char *lib = attrib_library(base);
	struct loader_probe_spec *specs = NULL;
	size_t nspecs = 0, cap = 0;
	enum family fam = FAM_GLIBC; /* the one the file holds (one at most) */
	struct syms *s;
	struct stat st;
	int fd, err = 0;

	if (stat(path, &st))
		return -errno;
	if (h->all && file_scanned(h, p, file_id_of(&st)))
		return 0;
	s = syms__new(path);
	if (!s)
		return errno == ENOEXEC ? 0 : -errno;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
#define PROBE(f, prefix, table)                                                             \
	family_specs(h, p, path, file_id_of(&st), fd, s, fam = (f), prefix, table,                 \
		     AT_ARRAY_SIZE(table), &specs, &nspecs, &cap)
	if (lib && !strcmp(lib, "glibc")) {
		err = PROBE(FAM_GLIBC, "", glibc_funcs);
	} else if (lib && !strcmp(lib, "jemalloc")) {
		err = PROBE(FAM_JEMALLOC, "", jemalloc_funcs);
		if (!err)
			err = PROBE(FAM_JEMALLOC, "", cxx_funcs);
	} else if (lib && !strcmp(lib, "mimalloc")) {
		err = PROBE(FAM_MIMALLOC, "", mimalloc_funcs);
		if (!err)
			err = PROBE(FAM_MIMALLOC, "", cxx_funcs);
	} else if (defines(s, "mi_malloc")) {
		err = PROBE(FAM_MIMALLOC, "", mimalloc_funcs);
	} else if (defines(s, "_rjem_malloc")) {
		err = PROBE(FAM_JEMALLOC, "_rjem_", jemalloc_funcs);
	} else if (defines(s, "je_malloc")) {
		err = PROBE(FAM_JEMALLOC, "je_", jemalloc_funcs);
	} else if (defines(s, "je_malloc_default") && defines(s, "malloc")) {
		err = PROBE(FAM_JEMALLOC, "", jemalloc_funcs); /* unprefixed static jemalloc */
	} else if (defines(s, "_int_malloc") && defines(s, "malloc")) {
		err = PROBE(FAM_GLIBC, "", glibc_funcs); /* static glibc */
	}
#undef PROBE
	close(fd);
	if (!err && nspecs) {
		struct probeset *owner = h->all ? &h->global : &p->ps;

		err = loader_uprobes_attach(h->loader, LOADER_HEAP, owner->pid, path, specs, nspecs,
					    &owner->links, &owner->nlinks);
		/* Said once they are in place: from then on every call counts (tests wait
		 * for this line before their workloads start). */
		if (err)
			at_err("cannot attach the heap probes to '%s': %s", path, strerror(-err));
		else
			at_note(1, "pid %d: %s heap probes on %zu functions in '%s'", owner->pid,
				families[fam].name, nspecs, path);
	}
out:
	free(specs);
	syms__free(s);
	return err;
}

/* The process whose files heap_attach_running or heap_attach_launch probes. */
struct running {
	struct heap *h;
	struct proc_probes *p;
	const char *exe; /* launch: the executable */
};

static int running_file(void *arg, const char *path)
{
	struct running *r = arg;

	return probe_file(r->h, r->p, path);
}

int heap_attach_running(struct heap *h, int pid)
{
	struct running r = { .h = h, .p = proc_get(h, pid) };

	return r.p ? procfs_each_exec_file(pid, running_file, &r) : -ENOMEM;
}

uint64_t heap_probe_place(int fd, uint64_t off, uint64_t size, int nargs, bool size_word,
			  uint32_t *arg_regs)
{
	unsigned char code[4096];
	ssize_t got;
	uint64_t at;

	*arg_regs = AT_ARG_REGS(AT_REG_RDI, AT_REG_RSI, AT_REG_RDX);
	if (fd < 0)
		return off;
	if (!size || size > sizeof(code))
		size = sizeof(code);
	got = pread(fd, code, size, (off_t)off);
	if (got <= 0)
		return off;
	if (size_word && (at = heap_size_word_offset(code, (size_t)got, off, arg_regs)))
		return at;
	return heap_probe_offset(code, (size_t)got, off, nargs, arg_regs);
}

static bool preloaded(const char *path)
{
	const char *env = getenv("LD_PRELOAD"), *slash = strrchr(path, '/');

	return env && strstr(env, slash ? slash + 1 : path);
}

/* Allocator libraries, and the files that may hold a static allocator: the executable and
 * preloaded libraries. */
static int launch_file(void *arg, const char *path)
{
	struct running *r = arg;
	const char *slash = strrchr(path, '/');

	if (attrib_library(slash ? slash + 1 : path) || !strcmp(path, r->exe ? r->exe : "") ||
	    preloaded(path))
		return probe_file(r->h, r->p, path);
	return 0;
}

int heap_attach_launch(struct heap *h, int pid, const char *exe)
{
	struct running r = { .h = h, .p = proc_get(h, pid), .exe = exe };

	return r.p ? needed_launch_files(exe, launch_file, &r) : -ENOMEM;
}

/* One pass over the counters of pid (0: every process) into h->reads. */
static int read_pass(struct heap *h, int pid, bool live_threads)
{
	h->nreads = 0;
	for (size_t i = 0; i < h->nprocs; i++) {
		struct proc_probes *p = &h->procs[i];

		if (p->ps.pid <= 0 || (pid && p->ps.pid != pid))
			continue;
		for (size_t k = 0; k < p->nids; k++) {
			struct heap_read *r;

			if (at_grow(&h->reads, h->nreads, &h->reads_cap, sizeof(*r), 1))
				return -ENOMEM;
			r = &h->reads[h->nreads];
			r->pid = p->ps.pid;
			r->id = p->ids[k];
			if (!loader_heap_stats(h->loader, r->pid, r->id, live_threads, &r->s))
				h->nreads++;
		}
	}
	return 0;
}

void heap_read(struct heap *h, int pid, bool live_threads, heap_visit_fn fn, void *arg)
{
	/* A thread that exits during the pass moves its counters from where the snapshot read
	 * them to the shared map: counted twice or not at all. Such a pass is redone. */
	for (int tries = 0; tries < 8; tries++) {
		uint64_t begun, done, begun_after, done_after;
		bool threads = live_threads;

		loader_heap_folds(h->loader, &begun, &done);
		if (threads && loader_heap_snapshot(h->loader))
			threads = false;
		if (read_pass(h, pid, threads))
			return;
		loader_heap_folds(h->loader, &begun_after, &done_after);
		if (!threads || (begun == done && begun_after == begun))
			break;
		sched_yield();
	}
	for (size_t i = 0; i < h->nreads; i++) {
		const struct heap_read *r = &h->reads[i];
		const struct instance *in = &h->inst[r->id - 1];

		fn(arg, r->pid, families[in->fam].name, families[in->fam].basis, &r->s);
	}
}

void heap_forget(struct heap *h, int pid)
{
	for (size_t i = 0; i < h->nprocs; i++) {
		struct proc_probes *p = &h->procs[i];

		if (p->ps.pid != pid)
			continue;
		loader_heap_forget(h->loader, pid, p->ids, p->nids);
		proc_release(p);
		p->ps.pid = -1;
	}
}

void heap_for_each_pid(struct heap *h, void (*fn)(void *arg, int pid), void *arg)
{
	for (size_t i = 0; i < h->nprocs; i++)
		if (h->procs[i].ps.pid > 0)
			fn(arg, h->procs[i].ps.pid);
}
