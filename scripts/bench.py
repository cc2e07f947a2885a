#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""make bench: the cost of tracing, as ratios to the same workload untraced in the same run.
Each workload times its own loop and prints nanoseconds per operation, so arenatrace's
start-up is not counted. Runs alternate (untraced, traced, floor, ...) so that drift on a
shared machine hits all sides alike; medians of the per-round ratios are quoted.

os level: the floor is the same syscall tracepoints with empty programs (bpftrace), what any
tracepoint-based tracer pays before doing any work.

fleet (-a, the default os and arena levels, the whole host): the same workloads started
while arenatrace -a runs, against untraced runs; arenatrace's own CPU time over the traced
run as a share of one core, and its RSS.

attach (-p at the default levels, os and arena plus the allocators' books): on processes
whose heap was built before attach, the share of their anonymous resident memory that gets
an owner, each allocator's resident and live figures against its own (mallinfo2, jemalloc's
INFO memory in redis, mimalloc's own block count), redis-benchmark's throughput and
arenatrace's CPU while attached, and the time and memory of reading a 4 GiB heap's books.

heap level, per allocator, per malloc+free pair: arenatrace --level heap; the floor, the
same probe points with programs that return at once (-C heap_floor=1); and the memleak way
(bcc's memleak, written in bpftrace: uprobe and uretprobe on malloc's entry, uprobe on
free's entry, a hash map of pointers).

stacks (glibc's malloc/free pairs): the heap level without stacks, --stacks by frame
pointers (every allocation, in the kernel), and --unwind dwarf at three sampling rates (a
stack copy and a user-space unwind per sample): the workload's time per pair against its
untraced time, arenatrace's own CPU time, and the samples lost to a full ring."""
import json
import os
import shutil
import socket
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time

OUTPUT = sys.argv[1]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
AT = os.path.join(OUTPUT, "arenatrace")
WORKLOADS = [
    ("malloc/free pairs (glibc)", "bench_malloc", "3000000", "under 1%"),
    ("mmap+touch+munmap storm", "bench_mmap", "100000", "under 10%"),
]
FLOOR_SCRIPT = ("tracepoint:syscalls:sys_exit_mmap,tracepoint:syscalls:sys_exit_munmap,"
                "tracepoint:syscalls:sys_exit_brk,tracepoint:syscalls:sys_exit_madvise,"
                "tracepoint:syscalls:sys_exit_mremap,tracepoint:syscalls:sys_exit_mprotect { }")


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return float(out.split()[-1])


def with_floor(cmd):
    bt = subprocess.Popen(["bpftrace", "-e", FLOOR_SCRIPT], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True)
    bt.stdout.readline()  # "Attaching N probes..."
    time.sleep(0.3)
    try:
        return run(cmd)
    finally:
        bt.send_signal(signal.SIGINT)
        bt.wait()


HEAP = [
    ("glibc", "bench_malloc", "/usr/lib/x86_64-linux-gnu/libc.so.6"),
    ("jemalloc", "je_bench_malloc", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"),
    ("mimalloc", "mi_bench_malloc", "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2"),
]
HEAP_ITERS = "200000"
MEMLEAK = """uprobe:LIB:malloc { @size[tid] = arg0; }
uretprobe:LIB:malloc /@size[tid]/ { @ptrs[retval] = @size[tid]; delete(@size[tid]); }
uprobe:LIB:free { delete(@ptrs[arg0]); }
END { clear(@ptrs); clear(@size); }"""


def memleak_way(wl, lib, tmp):
    go = os.path.join(tmp, "go")
    if os.path.exists(go):
        os.unlink(go)
    target = subprocess.Popen(wl, stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, AT_GO=go))
    bt = subprocess.Popen(["bpftrace", "-p", str(target.pid), "-e",
                           MEMLEAK.replace("LIB", lib)],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    bt.stdout.readline()  # "Attaching N probes..."
    time.sleep(0.5)
    open(go, "w").close()
    out = target.communicate()[0]
    bt.send_signal(signal.SIGINT)
    bt.wait()
    return float(out.split()[-1])


def heap_bench():
    have_bt = shutil.which("bpftrace") is not None
    tmp = tempfile.mkdtemp()
    print(f"\nheap level: ns per malloc+free pair, {ROUNDS} rounds, medians")
    print(f"{'allocator':10} {'untraced':>9} {'traced':>9} {'floor':>9} {'memleak':>9}"
          f" {'traced/untr':>11} {'traced/floor':>12} {'memleak/traced':>14}")
    for name, wl_name, lib in HEAP:
        wl = [os.path.join(OUTPUT, "workloads", wl_name), HEAP_ITERS]
        base, traced, floor, leak = [], [], [], []
        for _ in range(ROUNDS):
            base.append(run(wl))
            traced.append(run([AT, "--level", "heap", "-o", "/dev/null", "--"] + wl))
            floor.append(run([AT, "--level", "heap", "-C", "heap_floor=1", "-o", "/dev/null",
                              "--"] + wl))
            if have_bt:
                leak.append(memleak_way(wl, lib, tmp))
        med = statistics.median
        r_untr = med([t / b for t, b in zip(traced, base)])
        r_floor = med([t / f for t, f in zip(traced, floor)])
        r_leak = med([m / t for m, t in zip(leak, traced)]) if leak else float("nan")
        print(f"{name:10} {med(base):9.1f} {med(traced):9.1f} {med(floor):9.1f} "
              f"{med(leak) if leak else float('nan'):9.1f} {r_untr:11.2f} {r_floor:12.3f} "
              f"{r_leak:14.2f}")
    print("targets: traced/floor at most 1.15, memleak/traced at least 2")


STACK_VARIANTS = [
    ("heap level, no stacks", []),
    ("--stacks (frame pointers)", ["--stacks"]),
    ("--unwind dwarf, 512 KiB", ["--unwind", "dwarf"]),
    ("--unwind dwarf, 64 KiB", ["--unwind", "dwarf", "-C", "stack_sample_bytes=65536"]),
    ("--unwind dwarf, every call", ["--unwind", "dwarf", "-C", "stack_sample_bytes=1"]),
]


def traced_run(args, wl, tmp):
    """The workload's ns per pair under arenatrace args, arenatrace's own CPU seconds (read
    until it exits: its final report's last moments are not counted) and the records its
    ring lost."""
    out = os.path.join(tmp, "stacks.json")
    at = subprocess.Popen([AT, "--level", "heap", "-j", "-o", out, *args, "--"] + wl,
                          stdout=subprocess.PIPE, text=True)
    cpu = 0.0
    while at.poll() is None:
        try:
            cpu = max(cpu, proc_cpu_s(at.pid))  # its own, not the command's
        except (OSError, IndexError, ValueError):
            pass
        time.sleep(0.02)
    assert at.returncode == 0, args
    with open(out) as f:
        lost = json.load(f)["drops"]["ringbuf_full"]
    return float(at.stdout.read().split()[-1]), cpu, lost


def stacks_bench():
    wl = [os.path.join(OUTPUT, "workloads", "bench_malloc"), HEAP_ITERS]
    med = statistics.median
    print(f"\nstacks: ns per malloc+free pair (glibc, {HEAP_ITERS} pairs of 16-4015 bytes), "
          f"{ROUNDS} rounds, medians")
    print(f"{'':28} {'ns/pair':>8} {'/untraced':>9} {'arenatrace CPU s':>16} {'lost':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        base, res = [], {name: [] for name, _ in STACK_VARIANTS}
        for _ in range(ROUNDS):
            base.append(run(wl))
            for name, args in STACK_VARIANTS:
                res[name].append(traced_run(args, wl, tmp))
        print(f"{'untraced':28} {med(base):8.1f}")
        for name, _ in STACK_VARIANTS:
            r = res[name]
            print(f"{name:28} {med(x[0] for x in r):8.1f} "
                  f"{med(x[0] / b for x, b in zip(r, base)):9.2f} "
                  f"{med(x[1] for x in r):16.2f} {med(x[2] for x in r):7.0f}")


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def start_fleet(tmp):
    err = open(os.path.join(tmp, "err"), "w+")
    at = subprocess.Popen([AT, "-a", "-o", "/dev/null"], stderr=err)
    while "tracing" not in open(err.name).read():
        if at.poll() is not None:
            raise SystemExit("bench: arenatrace -a failed: " + open(err.name).read())
        time.sleep(0.1)
    return at


def fleet_bench():
    tmp = tempfile.mkdtemp()
    at = start_fleet(tmp)
    time.sleep(2)
    c0, t0 = proc_cpu_s(at.pid), time.monotonic()
    time.sleep(10)
    idle = (proc_cpu_s(at.pid) - c0) / (time.monotonic() - t0)
    at.send_signal(signal.SIGINT)
    at.wait()
    nprocs = len([d for d in os.listdir("/proc") if d.isdigit()])
    print(f"\nfleet: arenatrace -a (os,arena) on the whole host, {ROUNDS} rounds, medians")
    print(f"{'workload':28} {'untraced':>10} {'traced':>10} {'ratio':>7} {'cpu/core':>9}"
          f" {'tracer RSS':>11}")
    for title, name, iters, _ in WORKLOADS:
        wl = [os.path.join(OUTPUT, "workloads", name), iters]
        ratios, base, traced, cpu, rss = [], [], [], [], []
        for _ in range(ROUNDS):
            b = run(wl)
            at = start_fleet(tmp)
            c0, t0 = proc_cpu_s(at.pid), time.monotonic()
            t = statistics.median([run(wl) for _ in range(3)])
            c1, t1 = proc_cpu_s(at.pid), time.monotonic()
            rss.append(proc_rss(at.pid))
            at.send_signal(signal.SIGINT)
            at.wait()
            base.append(b)
            traced.append(t)
            ratios.append(t / b)
            cpu.append((c1 - c0) / (t1 - t0))
        med = statistics.median
        print(f"{title:28} {med(base):8.1f}ns {med(traced):8.1f}ns {med(ratios):7.3f} "
              f"{100 * med(cpu):8.2f}% {max(rss) / 1048576:9.1f}MiB")
    print(f"{'host otherwise idle':28} {'':>10} {'':>10} {'':>7} {100 * idle:8.2f}%"
          f"   ({nprocs} processes, 10 s)")
    print("targets: under 1% slowdown, under 2% of one core, under 64 MiB")


def attach_json(pid, *args):
    """One default -p run of 2 s: the report's process, and arenatrace's stderr (-vv)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        r = subprocess.run([AT, "-vv", "-j", "-o", out.name, "-d", "2", *args, "-p", str(pid)],
                           capture_output=True, text=True, check=True)
        rep = json.load(open(out.name))
    return [p for p in rep["processes"] if p["pid"] == pid][0], r.stderr


def owned_share(proc):
    owned = sum(a["preexisting"]["resident_bytes"] for a in proc["allocators"])
    unknown = (proc.get("unattributed") or {}).get("resident_bytes", 0)
    return owned / max(owned + unknown, 1)


def alloc_of(proc, name):
    return [a for a in proc["allocators"] if a["name"] == name][0]


def free_port():
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        return sk.getsockname()[1]


def redis_info(port):
    out = subprocess.run(["redis-cli", "-p", str(port), "INFO", "memory"], capture_output=True,
                         text=True, check=True).stdout
    return {k: int(v) for k, v in (l.split(":", 1) for l in out.splitlines() if ":" in l)
            if v.strip().isdigit()}


def start_redis(tmp):
    port = free_port()
    srv = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save",
                            "", "--appendonly", "no", "--enable-debug-command", "local",
                            "--dir", tmp], stdout=subprocess.DEVNULL)
    while subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True,
                         text=True).stdout.strip() != "PONG":
        time.sleep(0.1)
    return srv, port


def redis_sets_per_s(port):
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set", "-n", "200000",
                          "-q", "-P", "1", "-c", "20"], capture_output=True, text=True,
                         check=True).stdout
    # -q rewrites a progress line with \r; the last line has the result.
    last = [l for l in out.replace("\r", "\n").splitlines() if "requests per second" in l][-1]
    return float(last.split("SET:")[1].split()[0])


def attach_accuracy(tmp):
    print(f"{'allocator (workload)':28} {'owned':>7} {'resident':>10} {'its own':>10} "
          f"{'live':>12} {'its own':>12}")
    # glibc: 8 thread arenas, tcaches, an mmapped chunk (tests/workloads/glibc_books.c).
    rd, wr = os.pipe()
    p = subprocess.Popen([os.path.join(OUTPUT, "workloads", "glibc_books"), str(wr)],
                         pass_fds=(wr,))
    os.close(wr)
    raw = b""
    while len(raw) < 96:
        raw += os.read(rd, 96 - len(raw))
    w = struct.unpack("<12Q", raw)
    proc, _ = attach_json(p.pid)
    p.kill()
    p.wait()
    g = alloc_of(proc, "glibc")
    print(f"{'glibc (glibc_books)':28} {100 * owned_share(proc):6.1f}% "
          f"{g['preexisting']['resident_bytes'] / 2**20:8.1f}Mi {'n/a':>10} "
          f"{g['books']['live_bytes'] / 2**20:10.2f}Mi {(w[5] + w[4]) / 2**20:10.2f}Mi")
    # jemalloc: redis-server with 100,000 keys of 1,000 bytes.
    srv, port = start_redis(tmp)
    subprocess.run(["redis-cli", "-p", str(port), "DEBUG", "POPULATE", "100000", "key", "1000"],
                   capture_output=True, check=True)
    info = redis_info(port)
    proc, _ = attach_json(srv.pid)
    srv.kill()
    srv.wait()
    je = alloc_of(proc, "jemalloc")
    print(f"{'jemalloc (redis-server)':28} {100 * owned_share(proc):6.1f}% "
          f"{je['preexisting']['resident_bytes'] / 2**20:8.1f}Mi "
          f"{info['allocator_resident'] / 2**20:8.1f}Mi "
          f"{je['books']['figures']['allocated'] / 2**20:10.2f}Mi "
          f"{info['allocator_allocated'] / 2**20:10.2f}Mi")
    # mimalloc: tests/workloads/mi_books.c (its own count of live bytes; commit).
    p = subprocess.Popen([os.path.join(OUTPUT, "workloads", "mi_books")], stdout=subprocess.PIPE,
                         text=True)
    t = p.stdout.readline().split()
    proc, _ = attach_json(p.pid)
    p.kill()
    p.wait()
    mi = alloc_of(proc, "mimalloc")
    print(f"{'mimalloc (mi_books)':28} {100 * owned_share(proc):6.1f}% "
          f"{mi['preexisting']['resident_bytes'] / 2**20:8.1f}Mi {'n/a':>10} "
          f"{mi['books']['live_bytes'] / 2**20:10.2f}Mi {int(t[0]) / 2**20:10.2f}Mi")
    print("its own: glibc uordblks+hblkhd (mallinfo2; live leaves the tcaches out); jemalloc "
          "allocator_resident and allocator_allocated (redis INFO); mimalloc its own count of "
          "live bytes. Only jemalloc keeps a resident figure of its own (an estimate); "
          "arenatrace's is pagemap's, exact")
    print("targets: owned at least 95%, resident within 5%, live within 2%")


def attach_cost(tmp):
    srv, port = start_redis(tmp)
    subprocess.run(["redis-cli", "-p", str(port), "DEBUG", "POPULATE", "100000", "key", "1000"],
                   capture_output=True, check=True)
    base, traced, cpu = [], [], []
    for _ in range(ROUNDS):
        base.append(redis_sets_per_s(port))
        at = subprocess.Popen([AT, "-o", "/dev/null", "-p", str(srv.pid)],
                              stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        c0, t0 = proc_cpu_s(at.pid), time.monotonic()
        traced.append(redis_sets_per_s(port))
        cpu.append((proc_cpu_s(at.pid) - c0) / (time.monotonic() - t0))
        at.send_signal(signal.SIGINT)
        at.wait()
    at = subprocess.Popen([AT, "-o", "/dev/null", "-p", str(srv.pid)], stderr=subprocess.DEVNULL)
    time.sleep(2)
    c0, t0 = proc_cpu_s(at.pid), time.monotonic()
    time.sleep(10)
    idle = (proc_cpu_s(at.pid) - c0) / (time.monotonic() - t0)
    at.send_signal(signal.SIGINT)
    at.wait()
    srv.kill()
    srv.wait()
    med = statistics.median
    print(f"redis-benchmark SET (20 clients): untraced {med(base):.0f}/s, under -p "
          f"{med(traced):.0f}/s, ratio {med([t / b for t, b in zip(traced, base)]):.3f} "
          f"(min {min(t / b for t, b in zip(traced, base)):.3f}); arenatrace "
          f"{100 * med(cpu):.2f}% of a core under load, {100 * idle:.2f}% idle (1 sample/s)")
    wl = [os.path.join(OUTPUT, "workloads", "bench_malloc"), "3000000"]
    ratios = []
    for _ in range(ROUNDS):
        b = run(wl)
        ratios.append(run([AT, "-o", "/dev/null", "--"] + wl) / b)
    print(f"malloc/free pairs (glibc) at the default levels: ratio {med(ratios):.3f} "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f})")
    print("targets: throughput at least 0.98 of untraced, under 2% of a core")


def attach_bench():
    tmp = tempfile.mkdtemp()
    print("\nattach: -p at the default levels (os, arena, books)")
    attach_accuracy(tmp)
    attach_cost(tmp)
    # The tracer's own peak RSS reading the 4 GiB heap's books.
    p = subprocess.Popen([os.path.join(OUTPUT, "workloads", "bench_bigheap"), "4096"],
                         stdout=subprocess.PIPE, text=True)
    p.stdout.readline()
    at = subprocess.Popen([AT, "-vv", "-o", "/dev/null", "-d", "3", "-p", str(p.pid)],
                          stderr=subprocess.PIPE, text=True)
    time.sleep(2.5)
    rss = proc_rss(at.pid)
    err = at.communicate()[1]
    p.kill()
    p.wait()
    ms = [float(l.split("books read in ")[1].split()[0]) for l in err.splitlines()
          if "books read in" in l]
    print(f"a 4 GiB glibc heap (65,536 blocks, 32,768 free chunks): books read in "
          f"{statistics.median(ms):.0f} ms (median of {len(ms)}), arenatrace peak RSS "
          f"{rss / 2**20:.1f} MiB; targets under 200 ms and 64 MiB")


def main():
    have_bt = shutil.which("bpftrace") is not None
    print(f"arenatrace benchmark, os level: {ROUNDS} rounds, medians of per-round ratios")
    print(f"{'workload':28} {'untraced':>10} {'traced':>10} {'ratio':>7} {'floor':>7}  target")
    for title, name, iters, target in WORKLOADS:
        wl = [os.path.join(OUTPUT, "workloads", name), iters]
        base, traced, ratios, floors = [], [], [], []
        for _ in range(ROUNDS):
            b = run(wl)
            t = run([AT, "--level", "os", "-o", "/dev/null", "--"] + wl)
            base.append(b)
            traced.append(t)
            ratios.append(t / b)
            if have_bt:
                floors.append(with_floor(wl) / b)
        floor = f"{statistics.median(floors):7.3f}" if floors else "    n/a"
        print(f"{title:28} {statistics.median(base):8.1f}ns {statistics.median(traced):8.1f}ns "
              f"{statistics.median(ratios):7.3f} {floor}  {target}")
        print(f"{'':28} ratio min {min(ratios):.3f} max {max(ratios):.3f}")


def storm_run(tmp, rate, iters, traced):
    truth = os.path.join(tmp, "truth")
    out = os.path.join(tmp, "storm.json")
    wl = [os.path.join(OUTPUT, "workloads", "madvise_storm"), "2", str(iters), str(rate)]
    cmd = [AT, "-j", "-o", out, "--"] + wl if traced else wl
    subprocess.run(cmd, env=dict(os.environ, AT_TRUTH=truth), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(truth) as f:
        t = json.load(f)
    rate_s = t["madvise"] / (t["elapsed_ns"] / 1e9)
    if not traced:
        return rate_s, 0.0
    with open(out) as f:
        lost = json.load(f)["drops"]["ringbuf_full"]
    return rate_s, lost / (t["madvise"] + lost)


def storm_bench():
    """The ring buffer at its default size (16 MiB) under an madvise storm from 2 threads,
    the shape of glibc's malloc_trim: which rate the defaults hold with no record lost."""
    rounds = max(3, ROUNDS // 2)
    print(f"\nmadvise storm at default sizes (2 threads, 4 s each), {rounds} rounds")
    print(f"{'asked /s a thread':18} {'made /s (all)':>14} {'lost median':>12} {'lost max':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        base = [storm_run(tmp, 0, 300000, False)[0] for _ in range(rounds)]
        print(f"{'untraced, unpaced':18} {statistics.median(base):14.0f}")
        held = 0
        for rate in (25000, 50000, 100000, 200000, 0):
            iters = rate * 4 if rate else 300000
            runs = [storm_run(tmp, rate, iters, True) for _ in range(rounds)]
            lost = [x[1] for x in runs]
            print(f"{rate if rate else 'unpaced':<18} {statistics.median(x[0] for x in runs):14.0f}"
                  f" {100 * statistics.median(lost):11.3f}% {100 * max(lost):8.3f}%")
            if not max(lost):
                held = max(held, statistics.median(x[0] for x in runs))
    print(f"held with no loss in any round: {held:.0f} madvise/s (2 threads)")


if __name__ == "__main__":
    if os.environ.get("BENCH_ONLY") in (None, "", "os"):
        main()
    if os.environ.get("BENCH_ONLY") in (None, "", "heap"):
        heap_bench()
    if os.environ.get("BENCH_ONLY") in (None, "", "stacks"):
        stacks_bench()
    if os.environ.get("BENCH_ONLY") in (None, "", "fleet"):
        fleet_bench()
    if os.environ.get("BENCH_ONLY") in (None, "", "attach"):
        attach_bench()
    if os.environ.get("BENCH_ONLY") in (None, "", "storm"):
        storm_bench()
