# SPDX-License-Identifier: GPL-2.0-only
"""Independent ground truth from strace: every memory syscall of a process, attributed to
an allocator by its user stack (`strace -ff -k`), the way a person reading the log would:
pass over libc's syscall wrappers, then the first frame's file (and symbol) names the caller."""
import glob
import os
import re

WRAPPERS = {"mmap", "mmap64", "__mmap", "__mmap64", "munmap", "__munmap", "mremap",
            "__mremap", "madvise", "__madvise", "mprotect", "__mprotect", "brk", "__brk",
            "sbrk", "__sbrk", "syscall"}
PAGE = 4096
RETURN_KINDS = ("munmap_bytes", "madv_dontneed_bytes", "madv_free_bytes", "madv_remove_bytes",
                "brk_shrink_bytes", "mremap_shrink_bytes", "decommit_bytes")
SYSCALLS = ("mmap", "munmap", "mremap", "brk", "madvise", "mprotect")

CALL_RE = re.compile(r"^(\d+\.\d+) (\w+)\((.*)\)\s+=\s+(-?\w+)")
FRAME_RE = re.compile(r"^ > (\S+?)\((?:([^+)]*)(?:\+0x[0-9a-f]+)?)?\)")


def page_up(n):
    return (n + PAGE - 1) // PAGE * PAGE


def classify_file(path, sym):
    base = os.path.basename(path)
    if base.startswith(("libc.so", "libc-")):
        return "glibc"
    if base.startswith("libjemalloc"):
        return "jemalloc"
    if base.startswith("libmimalloc"):
        return "mimalloc"
    if base.startswith(("ld-linux", "ld64.so")):
        return "ld.so"
    if sym and sym.startswith(("je_", "_rjem_")):
        return "jemalloc"
    if sym and sym.startswith(("mi_", "_mi_")):
        return "mimalloc"
    return "app" if ".so" not in base else base


def caller(frames):
    for path, sym in frames:
        if sym in WRAPPERS and classify_file(path, sym) == "glibc":
            continue
        return classify_file(path, sym)
    return "unknown"


def parse_file(path):
    """Yields (time, name, args, ret, frames) for each completed syscall (strace -ttt)."""
    cur = None
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith(" > "):
                m = FRAME_RE.match(line)
                if cur is not None and m:
                    cur[4].append((m.group(1), m.group(2) or ""))
                continue
            if cur is not None:
                yield cur
                cur = None
            m = CALL_RE.match(line)
            if m:
                args = [a.strip() for a in m.group(3).split(", ")]
                cur = (float(m.group(1)), m.group(2), args, m.group(4), [])
    if cur is not None:
        yield cur


def num(s):
    if s == "NULL":
        return 0
    return int(s, 0)


class Stats:
    def __init__(self):
        self.events = {s: 0 for s in SYSCALLS}
        self.returned = {k: 0 for k in RETURN_KINDS}
        self.mmap_bytes = 0
        self.munmap_bytes = 0
        self.reserve_released = 0  # unmapped, never accessible: not returned


class Ranges:
    """Sorted, disjoint [lo, hi) ranges: the address space mapped PROT_NONE and never made
    accessible since (it never held a page)."""

    def __init__(self):
        self.r = []

    def remove(self, lo, hi):
        """Takes [lo, hi) out; returns how many of its bytes were in."""
        out, n = [], 0
        for a, b in self.r:
            if b <= lo or a >= hi:
                out.append((a, b))
                continue
            n += min(b, hi) - max(a, lo)
            if a < lo:
                out.append((a, lo))
            if b > hi:
                out.append((hi, b))
        self.r = out
        return n

    def add(self, lo, hi):
        self.remove(lo, hi)
        self.r = sorted(self.r + [(lo, hi)])


def analyse(log_prefix, comm):
    """Per-allocator Stats of the process that exec'd comm, from its last exec on. strace
    -ff writes one file per thread: the threads' calls are merged back by time."""
    calls = []
    for path in glob.glob(log_prefix + ".*"):
        mine = list(parse_file(path))
        execs = [i for i, c in enumerate(mine) if c[1] == "execve" and c[3] == "0"]
        if execs:
            if comm not in mine[execs[-1]][2][0]:
                continue
            mine = mine[execs[-1] + 1:]
        calls.extend(mine)
    calls.sort(key=lambda c: c[0])
    return replay([c[1:] for c in calls])


def replay(calls):
    stats = {}
    stacks = []
    unused = Ranges()
    brk = None

    def get(cls):
        return stats.setdefault(cls, Stats())

    def in_stack(addr):
        return any(lo <= addr < hi for lo, hi in stacks)

    for name, args, ret, frames in calls:
        if ret.startswith("-"):
            continue
        who = caller(frames)
        if name == "mmap":
            if "MAP_ANONYMOUS" not in args[3]:
                continue
            length = page_up(num(args[1]))
            if "MAP_STACK" in args[3]:
                stacks.append((num(ret), num(ret) + length))
                continue
            s = get(who)
            s.events["mmap"] += 1
            s.mmap_bytes += length
            if args[2] == "PROT_NONE" and "MAP_FIXED" in args[3]:
                s.returned["decommit_bytes"] += length
            if args[2] == "PROT_NONE":
                unused.add(num(ret), num(ret) + length)
            else:
                unused.remove(num(ret), num(ret) + length)
        elif name in ("munmap", "madvise", "mprotect"):
            if in_stack(num(args[0])):
                continue
            s = get(who)
            s.events[name] += 1
            length = page_up(num(args[1]))
            if name == "munmap":
                never = unused.remove(num(args[0]), num(args[0]) + length)
                s.returned["munmap_bytes"] += length - never
                s.reserve_released += never
                s.munmap_bytes += length
            elif name == "madvise":
                key = {"MADV_DONTNEED": "madv_dontneed_bytes", "MADV_FREE": "madv_free_bytes",
                       "MADV_REMOVE": "madv_remove_bytes"}.get(args[2])
                if key:
                    s.returned[key] += length
            elif args[2] == "PROT_NONE":
                s.returned["decommit_bytes"] += length
            else:
                unused.remove(num(args[0]), num(args[0]) + length)
        elif name == "mremap":
            s = get(who)
            s.events["mremap"] += 1
            old, new = page_up(num(args[1])), page_up(num(args[2]))
            if new < old:
                s.returned["mremap_shrink_bytes"] += old - new
            else:
                s.mmap_bytes += new - old
        elif name == "brk":
            s = get(who)
            s.events["brk"] += 1
            now = num(ret)
            if brk is not None and now < brk:
                s.returned["brk_shrink_bytes"] += page_up(brk) - page_up(now)
            elif brk is not None and now > brk:
                s.mmap_bytes += page_up(now) - page_up(brk)
            brk = now
    return stats
