# SPDX-License-Identifier: GPL-2.0-only
"""Nothing is lost silently: with capacities far too small, the losses are counted and
shown, in JSON and in text."""
import json
import os
import signal
import subprocess
import time

from helpers import (ARENATRACE, Run, allocator, assert_no_drops, interrupt, load, wait_attached,
                     wait_file, workload)


def test_ring_buffer_overflow_is_counted(tmp_path):
    out = tmp_path / "out.json"
    # A 4 KiB ring holds 26 records; the storm makes 40000, drained every 100 ms.
    r = subprocess.run([ARENATRACE, "--level", "os", "-C", "ringbuf_bytes=4096", "-j", "-o",
                        str(out), "--", workload("bench_mmap"), "20000"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    report = json.loads(out.read_text())
    lost = report["drops"]["ringbuf_full"]
    assert lost > 0
    # What arrived plus what was lost is every mmap and munmap the storm made.
    (p,) = [x for x in report["processes"] if x["comm"] == "bench_mmap"]
    app = allocator(p, "app")
    assert app["events"]["mmap"] + app["events"]["munmap"] <= 40000
    r = subprocess.run([ARENATRACE, "--level", "os", "-C", "ringbuf_bytes=4096", "--",
                        workload("bench_mmap"), "20000"], capture_output=True, text=True,
                       timeout=300)
    assert "ringbuf_full=" in r.stdout


def test_pointer_map_overflow_is_counted(tmp_path):
    # jemalloc keeps its live pointers in a map of 1024 here; the workload holds more.
    run = Run(tmp_path, "je_heap_calls", mode="attach", args=("-C", "heap_live=1024"))
    assert run.report["drops"]["heap_live_full"] > 0
    a = allocator(run.proc, "jemalloc")
    # The blocks that did not fit cannot be sized at their free: shown as unmatched.
    assert a["unmatched_free"] > 0
    assert a["alloc_count"] == run.truth["allocs"]


def test_madvise_storm_fits_the_default_ring(tmp_path):
    """An madvise storm at default sizes (issue 12 item 14): 2 threads x 45,000
    madvise(MADV_DONTNEED), made while arenatrace cannot read at all (stopped), fit in the
    default ring (16 MiB: 104,857 records of 160 bytes), and every one is counted once it
    reads again. The 4 MiB ring of before held 26,214 of them."""
    paths = {k: tmp_path / k for k in ("go", "truth", "hold")}
    env = dict(os.environ, AT_GO=str(paths["go"]), AT_TRUTH=str(paths["truth"]),
               AT_HOLD=str(paths["hold"]))
    target = subprocess.Popen([workload("madvise_storm"), "2", "45000", "0"], env=env)
    out, err = tmp_path / "out.json", tmp_path / "err"
    with open(err, "w") as e:
        at = subprocess.Popen([ARENATRACE, "-j", "-o", str(out), "-p", str(target.pid)],
                              stderr=e)
    try:
        wait_attached(str(err), at)
        at.send_signal(signal.SIGSTOP)
        paths["go"].touch()
        wait_file(paths["truth"], target)
        at.send_signal(signal.SIGCONT)
        # Let it read what waited in the ring (its next poll), then end the trace.
        time.sleep(1)
        assert interrupt(at) == 0, err.read_text()
    finally:
        at.send_signal(signal.SIGCONT)
        paths["hold"].touch()
        target.wait(timeout=60)
    truth, report = load(paths["truth"]), load(out)
    assert_no_drops(report)
    (p,) = [x for x in report["processes"] if x["pid"] == target.pid]
    assert sum(a["events"]["madvise"] for a in p["allocators"]) == truth["madvise"] == 90000
