# SPDX-License-Identifier: GPL-2.0-only
"""Nothing is lost silently: with capacities far too small, the losses are counted and
shown, in JSON and in text."""
import json
import subprocess

from helpers import ARENATRACE, Run, allocator, workload


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
