# SPDX-License-Identifier: GPL-2.0-only
"""Figures that cannot lie (issue 13, item 4): live, resident and retained never go below 0
or above their whole, with workloads that know their own truth at the edges: live blocks on
pages never touched, and frees of blocks allocated before attach."""
import os
import subprocess

from helpers import ARENATRACE, Run, allocator, assert_no_drops, interrupt, load, until, \
    wait_file, workload


def check_wholes(proc):
    """No part exceeds its whole, in every allocator and every sample."""
    for a in proc["allocators"]:
        assert a["resident_bytes"] <= a["mapped_bytes"], a["name"]
        assert a["reserved_bytes"] <= a["mapped_bytes"], a["name"]
        pre = a["preexisting"]
        assert pre["resident_bytes"] <= pre["mapped_bytes"], a["name"]
        if a["books"]:
            assert a["books"]["retained_bytes"] <= a["books"]["free_bytes"], a["name"]
    for s in proc["timeline"]:
        assert s["resident_bytes"] <= s["mapped_bytes"]
        assert s["lazyfree_bytes"] <= s["rss_bytes"]


def test_calloc_untouched_retained_not_negative(tmp_path):
    # 4 x 32 MiB calloc'd from fresh mmap, never touched: live 128 MiB, resident a few
    # pages. Retained (resident - live) was -127 MiB; it is at least 0 by definition.
    run = Run(tmp_path, "calloc_untouched")
    t = run.truth
    g = allocator(run.proc, "glibc")
    assert t["big_resident"] < t["big_bytes"] // 100  # the workload's own mincore
    # Launched (retained needs every block known), so libc's few start-up blocks (stdio)
    # count too: the workload's blocks and those, none freed before the truth was written.
    assert g["alloc_count"] - g["free_count"] == g["live_objects"] >= t["live_objects"]
    assert t["live_bytes"] <= g["live_bytes"] < t["live_bytes"] + (64 << 10)
    resident = g["resident_bytes"] + g["preexisting"]["resident_bytes"]
    assert resident < g["live_bytes"]
    assert g["retained_bytes"] == 0
    check_wholes(run.proc)
    # No finding is made of a figure below 0.
    assert not [f for f in run.proc["findings"] if f["allocator"] == "glibc"
                and f["kind"] in ("glibc_untrimmable", "retention_growth")]
    assert_no_drops(run.report)


def test_frees_of_blocks_from_before_attach(tmp_path):
    # 1000 blocks made before attach are freed after it (one by realloc); 11 new ones are
    # kept. live is exactly the new blocks (it was 11 blocks minus 1000), and the old frees
    # are counted apart.
    run = Run(tmp_path, "old_frees", mode="attach")
    t = run.truth
    g = allocator(run.proc, "glibc")
    assert g["alloc_count"] == t["allocs"]
    assert g["free_count"] == t["frees"]
    assert g["unmatched_free"] == t["old_frees"]
    assert g["live_bytes"] == t["live_bytes"]
    assert g["live_objects"] == t["live_objects"]
    assert g["retained_bytes"] is None  # older blocks are unknown
    check_wholes(run.proc)
    assert_no_drops(run.report)


def test_forked_child_frees_parents_blocks(tmp_path):
    # A child frees its 100 copies of the parent's blocks and keeps 5 of its own: its live
    # is those 5 (it was 5 blocks minus 100), the 100 frees are counted apart. The child
    # starts once arenatrace says it has probed it.
    truth, hold, go = tmp_path / "truth.json", tmp_path / "hold", tmp_path / "child_go"
    out, err = tmp_path / "out.json", tmp_path / "err.txt"
    env = dict(os.environ, AT_TRUTH=str(truth), AT_HOLD=str(hold), AT_CHILD_GO=str(go))
    with open(err, "w") as e:
        tracer = subprocess.Popen([ARENATRACE, "-v", "-j", "-o", str(out), "-C", "sample_ms=100",
                                   "--level", "all", "--", workload("fork_frees")],
                                  stderr=e, env=env)
    try:
        until(lambda: err.read_text().count("glibc heap probes") >= 2, timeout=120)
        go.touch()
        wait_file(str(truth), tracer)
        assert interrupt(tracer) == 0, err.read_text()
    finally:
        hold.touch()
        if tracer.poll() is None:
            tracer.kill()
    t, report = load(str(truth)), load(str(out))
    parent, child = [p for p in report["processes"] if p["comm"] == "fork_frees"]
    assert child["ppid"] == parent["pid"]
    g = allocator(child, "glibc")
    assert g["alloc_count"] == t["allocs"]
    assert g["free_count"] == t["frees"]
    assert g["unmatched_free"] == t["old_frees"]
    assert g["live_bytes"] == t["live_bytes"]
    assert g["live_objects"] == t["live_objects"]
    # Its uprobes came after its birth, and the report says how long after (the parent,
    # probed before its exec, has no such gap).
    assert child["heap_partial"] and child["origin"] == "fork"
    assert child["uprobes_after_ms"] is not None and child["uprobes_after_ms"] >= 0
    assert parent["uprobes_after_ms"] is None
    check_wholes(child)
    assert_no_drops(report)
