# SPDX-License-Identifier: GPL-2.0-only
"""Attach truth: `arenatrace -p PID` on a process whose heap was built before arenatrace
started, at the default levels (no trap per malloc). The allocators' own books, read from
the process, must give what the process itself knows: its live bytes exactly, and an owner
for the memory that was there before attach."""
import os
import re
import socket
import struct
import subprocess
import time

from helpers import ARENATRACE, Run, allocator, load, process, until, workload


def attach(tmp_path, pid, *args):
    """One default `-p` run of a second, JSON out: the report and arenatrace's stderr."""
    out = tmp_path / "out.json"
    r = subprocess.run([ARENATRACE, "-j", "-o", str(out), "-d", "1", *args, "-p", str(pid)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return load(str(out)), r.stderr


def start(name, env=None):
    """A workload that builds its heap, prints its truth on one line and waits."""
    p = subprocess.Popen([workload(name)], stdout=subprocess.PIPE, text=True,
                         env=dict(os.environ, **(env or {})))
    line = p.stdout.readline().split()
    assert line, f"{name} printed no truth (exit {p.poll()})"
    return p, [int(w, 16) if i >= 6 else int(w) for i, w in enumerate(line)]


def stop(p):
    p.kill()
    p.wait(timeout=30)


def owned_share(proc):
    """Of the resident memory from before attach, the share that has an owner."""
    owned = sum(a["preexisting"]["resident_bytes"] for a in proc["allocators"])
    unknown = (proc.get("unattributed") or {}).get("resident_bytes", 0)
    return owned / max(owned + unknown, 1)


def check_mimalloc(tmp_path, name, env=None):
    p, t = start(name, env)
    try:
        report, _ = attach(tmp_path, p.pid)
    finally:
        stop(p)
    proc = process(report, name[:15])
    mi = allocator(proc, "mimalloc")
    assert mi is not None, [a["name"] for a in proc["allocators"]]
    books = mi["books"]
    # Exactly what mimalloc's own block visit counted in the process (t[0], bytes).
    assert books["live_bytes"] == t[0], (books, t)
    assert not books["partial"], books["reason"]
    # Every segment the books found (all from before attach) is mimalloc's in the model,
    # by its header or by the books; the workload's blocks live in at least t[5] of them.
    by = mi["owner_evidence_bytes"]
    assert by["header"] + by["books"] == books["mapped_bytes"] >= t[5] * (4 << 20), by
    assert mi["preexisting"]["mapped_bytes"] == books["mapped_bytes"]
    assert owned_share(proc) >= 0.95, proc.get("unattributed")
    # The default levels trap no malloc: the heap level's figures are absent.
    assert mi["live_objects"] is None and report["options"]["levels"] == "os,arena"


def test_mimalloc_linked(tmp_path):
    check_mimalloc(tmp_path, "mi_books")


def test_mimalloc_preloaded(tmp_path):
    check_mimalloc(tmp_path, "books_mi_preload", {"LD_PRELOAD": "libmimalloc.so.2"})


def test_glibc_threads(tmp_path):
    # glibc_books: 8 threads, each in an arena of its own, hold blocks, an mmapped chunk,
    # free chunks in bins, fastbins and tcaches; mallinfo2() is its truth (12 words on a
    # pipe, tests/workloads/glibc_books.h). With libc6-dbg the tcaches are reached: what
    # mallinfo2 counts in use minus what the workload freed into tcaches is live.
    rd, wr = os.pipe()
    p = subprocess.Popen([workload("glibc_books"), str(wr)], pass_fds=(wr,))
    os.close(wr)
    try:
        raw = b""
        while len(raw) < 12 * 8:
            chunk = os.read(rd, 12 * 8 - len(raw))
            assert chunk, "glibc_books wrote no report"
            raw += chunk
        (arena, _ordblks, _smblks, _hblks, hblkhd, uordblks, fordblks, _fsmblks, _keepcost,
         tc_bytes, _tc_chunks, threads) = struct.unpack("<12Q", raw[:96])
        report, _ = attach(tmp_path, p.pid)
    finally:
        os.close(rd)
        stop(p)
    proc = process(report, "glibc_books")
    g = allocator(proc, "glibc")
    books = g["books"]
    assert not books["partial"], books["reason"]
    figures = books["figures"]
    assert figures["system_mem"] == arena
    assert figures["arenas"] == threads
    assert figures["mmapped"] == hblkhd
    assert figures["tcache"] == tc_bytes
    assert books["live_bytes"] == uordblks + hblkhd - tc_bytes
    assert books["free_bytes"] == fordblks + tc_bytes
    assert 0 < books["retained_bytes"] <= books["free_bytes"]
    # Every thread heap and the main heap are glibc's by its books or headers.
    by = g["owner_evidence_bytes"]
    assert by["books"] + by["header"] >= arena + hblkhd, by
    assert owned_share(proc) >= 0.95, proc.get("unattributed")
    # Launched under trace, the same workload's books are read the same way (its own
    # mallinfo2 of that run is their truth), and its heaps were traced from their mmap.
    lg, lt = launched_glibc_books(tmp_path / "launched")
    lg = allocator(lg, "glibc")
    assert lg["books"]["figures"]["system_mem"] == lt[0]
    assert lg["books"]["live_bytes"] == lt[5] + lt[4] - lt[9]
    assert lg["owner_evidence_bytes"]["traced"] >= lt[0]


def test_thread_arenas_are_glibcs(tmp_path):
    # Eight threads each creating an arena at once, at the os level alone, three runs: every
    # 64 MiB heap reservation is glibc's (new_heap's mmap), none the application's. They
    # were the application's in every run when the kernel's look-up of the caller failed
    # (its mm lock taken by another thread) and that failure stayed cached (issue 13).
    for i in range(3):
        proc, _ = launched_glibc_books(tmp_path / str(i), "--level", "os")
        glibc, app = allocator(proc, "glibc"), allocator(proc, "app")
        assert glibc["mapped_bytes"] >= 8 * (64 << 20), [
            (a["name"], a["mapped_bytes"]) for a in proc["allocators"]]
        assert app is None or app["mapped_bytes"] < 1 << 20


def launched_glibc_books(tmp_path, *args):
    """glibc_books launched under trace (default levels, or args): its report, taken at
    Ctrl-C while it is at rest, and its own 12 words."""
    tmp_path.mkdir()
    out = tmp_path / "out.json"
    rd, wr = os.pipe()
    tracer = subprocess.Popen([ARENATRACE, "-j", "-o", str(out), *args, "--",
                               workload("glibc_books"), str(wr)], pass_fds=(wr,),
                              stderr=subprocess.PIPE, text=True)
    os.close(wr)
    child = None
    try:
        got = b""
        while len(got) < 96:
            chunk = os.read(rd, 96 - len(got))
            assert chunk, "glibc_books wrote no report"
            got += chunk
        child = [int(c) for c in open(f"/proc/{tracer.pid}/task/{tracer.pid}/children")
                 .read().split()]
        tracer.send_signal(2)
        assert tracer.wait(timeout=60) == 0, tracer.stderr.read()
    finally:
        os.close(rd)
        for c in child or ():
            os.kill(c, 9)
        if tracer.poll() is None:
            tracer.kill()
    return process(load(str(out)), "glibc_books"), struct.unpack("<12Q", got)


def test_hostile_target(tmp_path):
    # A target that rewrites its free lists with garbage (self-loops, cycles, sizes and
    # pointers into nowhere) and maps and unmaps fake headers while it is read, sampled
    # every 50 ms for 3 s: arenatrace ends normally with a report, the target lives on, and
    # no garbage region is named an allocator's by its header.
    p = subprocess.Popen([workload("hostile_heap")], stdout=subprocess.PIPE, text=True)
    try:
        assert int(p.stdout.readline())
        out = tmp_path / "out.json"
        r = subprocess.run([ARENATRACE, "-j", "-o", str(out), "-d", "3", "-C", "sample_ms=50",
                            "-p", str(p.pid)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert p.poll() is None
        proc = process(load(str(out)), "hostile_heap")
        assert allocator(proc, "mimalloc") is None and allocator(proc, "jemalloc") is None
        g = allocator(proc, "glibc")
        assert g is not None and g["books"] is not None
    finally:
        stop(p)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_memory(port):
    out = subprocess.run(["redis-cli", "-p", str(port), "INFO", "memory"], capture_output=True,
                         text=True, check=True, timeout=30).stdout
    return {k: int(v) for k, v in (l.split(":", 1) for l in out.splitlines() if ":" in l)
            if v.strip().isdigit()}


def redis_cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True,
                          text=True, check=True, timeout=120).stdout.strip()


def test_redis_filled_then_attached(tmp_path):
    # Debian's redis-server (jemalloc, stripped libjemalloc.so.2) filled with 100,000 keys
    # of 1,000 bytes, then attached at the default levels. Its INFO memory is jemalloc's own
    # view (mallctl stats after an epoch): allocated, active and resident must match what
    # the books read, within what redis itself allocates between the two readings. Then
    # FLUSHALL ASYNC and MEMORY PURGE during the trace: every byte returned is jemalloc's.
    port = free_port()
    srv = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                            "--save", "", "--appendonly", "no", "--enable-debug-command",
                            "local", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        until(lambda: subprocess.run(["redis-cli", "-p", str(port), "PING"],
                                     capture_output=True, text=True).stdout.strip() == "PONG")
        redis_cli(port, "DEBUG", "POPULATE", "100000", "key", "1000")
        before = redis_memory(port)
        report, _ = attach(tmp_path, srv.pid)
        after = redis_memory(port)
        je = allocator(process(report, "redis-server"), "jemalloc")
        books = je["books"]
        assert books is not None and not books["partial"], books
        fig = books["figures"]
        for key, name in (("allocator_allocated", "allocated"), ("allocator_active", "active"),
                          ("allocator_resident", "resident")):
            lo, hi = sorted((before[key], after[key]))
            assert lo - (64 << 10) <= fig[name] <= hi + (64 << 10), (name, fig[name], lo, hi)
        assert books["live_bytes"] == fig["allocated"] - fig["tcache"]
        assert owned_share(process(report, "redis-server")) >= 0.95

        # Returns during the trace: jemalloc's, never unknown's.
        out = tmp_path / "purge.json"
        tracer = subprocess.Popen([ARENATRACE, "-j", "-o", str(out), "-d", "4", "-C",
                                   "sample_ms=200", "-p", str(srv.pid)],
                                  stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        redis_cli(port, "FLUSHALL", "ASYNC")
        until(lambda: redis_memory(port)["allocator_allocated"] < 20 << 20)
        redis_cli(port, "MEMORY", "PURGE")
        assert tracer.wait(timeout=60) == 0, tracer.stderr.read()
        proc = process(load(str(out)), "redis-server")
        je = allocator(proc, "jemalloc")
        returned = je["returned"]["madv_dontneed_bytes"] + je["returned"]["munmap_bytes"]
        assert returned >= 80 << 20, je["returned"]
        unknown = [a for a in proc["allocators"] if a["name"] == "unknown"]
        assert not unknown or not any(unknown[0]["returned"].values())
        assert je["books"]["live_bytes"] < 20 << 20
    finally:
        srv.kill()
        srv.wait(timeout=30)


def test_rust_on_static_jemalloc(tmp_path):
    # A Rust release binary on jemalloc linked statically (jemalloc-sys over Debian's
    # libjemalloc_pic.a): once it has written its truth it holds, at rest; its own
    # mallctl figures (stats.allocated, mapped, retained) are what the books must read.
    truth, hold = tmp_path / "truth.json", tmp_path / "hold"
    p = subprocess.Popen([workload("rust_bump")],
                         env=dict(os.environ, AT_TRUTH=str(truth), AT_HOLD=str(hold)))
    try:
        until(lambda: truth.exists())
        t = load(str(truth))
        report, _ = attach(tmp_path, p.pid)
    finally:
        hold.touch()
        p.wait(timeout=60)
    je = allocator(process(report, "rust_bump"), "jemalloc")
    fig = je["books"]["figures"]
    assert (fig["mapped"], fig["retained"]) == (t["je_mapped"], t["je_retained"])
    # stats.allocated moves by what the program allocates formatting and writing its truth
    # after reading it (its thread cache fills for those sizes); the C workloads' unit tests
    # (test_books_jemalloc) hold it exact.
    assert abs(fig["allocated"] - t["je_allocated"]) <= 64 << 10
    assert je["owner_evidence_bytes"]["books"] == je["books"]["mapped_bytes"]


def test_pointer_evidence(tmp_path):
    # jemalloc's first extents are mapped before attach and no syscall touches them during
    # the trace (decay off): without the books, only the pointers jemalloc hands out from
    # them (heap level) say whose they are. Without the heap level they stay unknown.
    env = {"MALLOC_CONF": "dirty_decay_ms:-1,muzzy_decay_ms:-1"}
    run = Run(tmp_path / "heap", "je_pointer", mode="attach",
              args=["--level", "all", "--no-books"], env=env)
    je = allocator(run.proc, "jemalloc")
    assert je["owner_evidence_bytes"]["pointer"] >= 4 << 20, je["owner_evidence_bytes"]
    assert je["alloc_count"] >= run.truth["blocks"]
    run = Run(tmp_path / "os", "je_pointer", mode="attach",
              args=["--level", "os,arena", "--no-books"], env=env)
    assert allocator(run.proc, "jemalloc") is None
    assert run.proc["unattributed"]["mapped_bytes"] >= 4 << 20


def test_attach_window_attribution(tmp_path):
    # A program that maps and unmaps every half millisecond, attached three times: its
    # syscalls made while arenatrace attaches are the application's like the others, never
    # glibc's (they were, for the whole trace, when the caller cache ran ahead of the unwind
    # sites).
    p = subprocess.Popen([workload("mmap_loop")], stdout=subprocess.PIPE, text=True)
    try:
        assert int(p.stdout.readline()) == p.pid
        for _ in range(3):
            report, _ = attach(tmp_path, p.pid)
            proc = process(report, "mmap_loop")
            app = allocator(proc, "app")
            assert app is not None and app["events"]["mmap"] > 100, proc["allocators"]
            glibc = allocator(proc, "glibc")
            assert glibc is None or glibc["events"]["mmap"] == 0, glibc["events"]
    finally:
        stop(p)


PY_FILLED = r"""
import os, sys, time
x = [(i, str(i)) for i in range(300000)]
del x[::3]
w = int(sys.argv[1])
sys._debugmallocstats()   # to stderr: CPython's own count of its blocks
os.write(w, b"ready\n")    # nothing allocated after the count (constants only)
time.sleep(600)
"""


def test_python_filled_then_attached(tmp_path):
    # A Python process that built 300,000 tuples and freed a third, attached with -p: its
    # pymalloc pools are read from outside (issue 13, item 9) and give exactly the blocks
    # and bytes in use that CPython's own _debugmallocstats counts, and own the memory.
    err = tmp_path / "stats"
    r2, w2 = os.pipe()
    with open(err, "w") as e:
        target = subprocess.Popen(["/usr/bin/python3", "-c", PY_FILLED, str(w2)], stderr=e,
                                  pass_fds=(w2,))
    os.close(w2)
    try:
        assert os.read(r2, 6) == b"ready\n"
        out = tmp_path / "out.json"
        r = subprocess.run([ARENATRACE, "-j", "-o", str(out), "-d", "0.5", "-p",
                            str(target.pid)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
    finally:
        target.kill()
        target.wait(timeout=60)
    stats = err.read_text()
    live = int(re.search(r"# bytes in allocated blocks *= *([\d,]+)", stats).group(1)
               .replace(",", ""))
    rows = re.findall(r"^ +\d+ +\d+ +(\d+) +(\d+) +\d+$", stats, re.M)
    pools, blocks = sum(int(p) for p, _ in rows), sum(int(b) for _, b in rows)
    (p,) = [x for x in load(str(out))["processes"] if x["pid"] == target.pid]
    py = allocator(p, "pymalloc")
    assert py is not None, [a["name"] for a in p["allocators"]]
    books = py["books"]
    figures = books["figures"]
    assert books["live_bytes"] == live
    assert figures["pools"] == pools and figures["blocks"] == blocks
    assert not books["partial"], books["reason"]
    # Every pool's 16 KiB is pymalloc's, by its header.
    assert py["owner_evidence_bytes"]["header"] == pools * 16384
    assert blocks > 400000
