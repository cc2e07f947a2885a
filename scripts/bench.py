#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""make bench: the cost of tracing at the os level, as ratios to the same workload untraced
in the same run. Each workload times its own loop and prints nanoseconds per operation, so
arenatrace's start-up is not counted. Runs alternate (untraced, traced, floor, ...) so that
drift on a shared machine hits all sides alike; medians of the per-round ratios are quoted.

The floor is the same syscall tracepoints with empty programs (bpftrace), i.e. what any
tracepoint-based tracer pays before doing any work."""
import os
import shutil
import signal
import statistics
import subprocess
import sys
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


def main():
    have_bt = shutil.which("bpftrace") is not None
    print(f"arenatrace benchmark, os level: {ROUNDS} rounds, medians of per-round ratios")
    print(f"{'workload':28} {'untraced':>10} {'traced':>10} {'ratio':>7} {'floor':>7}  target")
    for title, name, iters, target in WORKLOADS:
        wl = [os.path.join(OUTPUT, "workloads", name), iters]
        base, traced, ratios, floors = [], [], [], []
        for _ in range(ROUNDS):
            b = run(wl)
            t = run([AT, "-o", "/dev/null", "--"] + wl)
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
    main()
