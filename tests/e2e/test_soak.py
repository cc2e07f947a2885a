# SPDX-License-Identifier: GPL-2.0-only
"""The soak test (issue 13): thread churn (thousands of threads created and joined), fork
churn and allocation churn for 40 s, launched (every level) and attached (the default
levels and the books); at the end the live, mapped and returned figures match the
workload's own counters, with no drift. glibc's stack cache is off
(glibc.pthread.stack_cache_size=0), so that a joined thread's TLS vector is freed with its
stack: no block of glibc's own stays live behind the program's back."""
from helpers import Run, allocator, assert_no_drops

SOAK = {"AT_SOAK_S": "40", "GLIBC_TUNABLES": "glibc.pthread.stack_cache_size=0"}


def check_main(report, proc, t):
    assert t["threads"] >= 2000 and t["children"] >= 200 and t["children_failed"] == 0, t
    g = allocator(proc, "glibc")
    # Every big block glibc mmapped (above the fixed threshold, when no free chunk could
    # take it) given back by munmap, to the byte; and the children's, every one.
    assert g["returned"]["munmap_bytes"] == t["big_unmapped_bytes"]
    assert g["returned_count"]["munmap"] == t["big_frees"]
    kids = [p for p in report["processes"] if p["ppid"] == proc["pid"]]
    assert len(kids) == t["children"]
    assert sum(a["returned"]["munmap_bytes"] for p in kids
               for a in p["allocators"]) == t["children_unmapped_bytes"]
    # Each child is traced from its birth as its parent is: whole when the parent was.
    assert all(p["attached_running"] == proc["attached_running"] and p["origin"] == "fork"
               for p in kids)
    # glibc's books against its own mallinfo2(), every thread arena included.
    books = g["books"]
    assert books and not books["partial"], books and books["reason"]
    assert books["figures"]["system_mem"] == t["arena"]
    assert books["figures"]["mmapped"] == t["hblkhd"] == 0
    assert books["live_bytes"] + books["figures"]["tcache"] == t["uordblks"]
    return g


def main_of(report):
    """The workload's main process: the one its children's ppid names."""
    pids = {p["pid"] for p in report["processes"]}
    (main,) = [p for p in report["processes"] if p["ppid"] not in pids]
    return main


def test_soak(tmp_path):
    launched = Run(tmp_path / "launch", "soak", env=SOAK)
    assert_no_drops(launched.report)  # first: a loss would make the sums below differ
    main = main_of(launched.report)
    g = check_main(launched.report, main, launched.truth)
    # The heap level, traced from exec: live is what the program holds, block for block,
    # after thousands of thread exits (each flushing its tcache) and cross-thread frees.
    assert g["live_objects"] == launched.truth["live_objects"]
    assert g["live_bytes"] == launched.truth["live_bytes"]
    assert g["unmatched_free"] == 0
    assert g["alloc_count"] - g["free_count"] == g["live_objects"]

    # Without the heap level's probes the workload runs faster: about 10,000 processes in
    # 40 s, each kept for the report, past the default 8,192 (they would be counted as
    # procs_full and model_procs_full, and their records lost).
    attached = Run(tmp_path / "attach", "soak", mode="attach",
                   args=["--level", "os,arena", "-C", "max_procs=16384"], env=SOAK)
    assert_no_drops(attached.report)
    main = main_of(attached.report)
    check_main(attached.report, main, attached.truth)
