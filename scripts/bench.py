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

heap level, per allocator, per malloc+free pair: arenatrace --level heap; the floor, the
same probe points with programs that return at once (-C heap_floor=1); and the memleak way
(bcc's memleak, written in bpftrace: uprobe and uretprobe on malloc's entry, uprobe on
free's entry, a hash map of pointers)."""
import os
import shutil
import signal
import statistics
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


if __name__ == "__main__":
    if os.environ.get("BENCH_ONLY") in (None, "", "os"):
        main()
    if os.environ.get("BENCH_ONLY") in (None, "", "heap"):
        heap_bench()
    if os.environ.get("BENCH_ONLY") in (None, "", "fleet"):
        fleet_bench()
