# SPDX-License-Identifier: GPL-2.0-only
"""An application managing memory itself: every figure equals the workload's own counts."""
import json
import os
import subprocess

import pytest

from helpers import ARENATRACE, Run, allocator, assert_no_drops, process, workload

KINDS = ("munmap_bytes", "madv_dontneed_bytes", "madv_free_bytes", "decommit_bytes",
         "mremap_shrink_bytes", "brk_shrink_bytes")
EVENTS = ("munmap", "mremap", "madvise", "mprotect", "brk", "process_madvise")


def check_common(run, app):
    t = run.truth
    for k in KINDS:
        assert app["returned"][k] == t[k], k
    assert app["returned"]["madv_remove_bytes"] == 0
    for e in EVENTS:
        assert app["events"][e] == t[e], e
    # MADV_FREE'd pages stay resident and show as LazyFree until the kernel reclaims them.
    assert run.proc["lazyfree_bytes"] >= t["madv_free_bytes"]
    assert_no_drops(run.report)


@pytest.mark.parametrize("mode", ["launch", "attach"])
def test_app_figures_equal_workload_counts(tmp_path, mode):
    run = Run(tmp_path, "app_syscalls", mode=mode)
    app = allocator(run.proc, "app")
    assert app is not None
    t = run.truth
    check_common(run, app)
    assert app["reserved_bytes"] == t["reserved_bytes"]
    if mode == "launch":
        # Traced from exec: the early region is the application's too.
        assert app["mapped_bytes"] == t["mapped_bytes"] + t["pre_bytes"]
        assert app["resident_bytes"] == t["resident_bytes"] + t["pre_resident_bytes"]
        assert app["events"]["mmap"] == t["mmap"] + 1
        assert not run.proc["attached_running"]
    else:
        # Memory from before attach is kept apart, never mixed into the traced figures.
        assert app["mapped_bytes"] == t["mapped_bytes"]
        assert app["resident_bytes"] == t["resident_bytes"]
        assert app["events"]["mmap"] == t["mmap"]
        assert run.proc["attached_running"]
        assert run.proc["unattributed"]["mapped_bytes"] >= t["pre_bytes"]
        assert run.proc["unattributed"]["resident_bytes"] >= t["pre_resident_bytes"]
        assert run.target_rc == 0


def test_app_memory_not_given_to_glibc(tmp_path):
    run = Run(tmp_path, "app_syscalls", strace=True)
    glibc = allocator(run.proc, "glibc")
    # glibc only moved the break for stdio and the workload's own bookkeeping.
    assert glibc is None or glibc["mapped_bytes"] < (1 << 20)
    assert glibc is None or sum(glibc["returned"].values()) == 0


def test_timeline_and_text_output(tmp_path):
    run = Run(tmp_path, "app_syscalls")
    tl = run.proc["timeline"]
    assert tl, "no samples"
    assert all(s["rss_bytes"] > 0 for s in tl)
    assert [s["t_ms"] for s in tl] == sorted(s["t_ms"] for s in tl)


def test_follows_forks_through_a_shell(tmp_path):
    # The shell forks (the "; true" keeps it from exec'ing in place); the workload is traced
    # from its exec in the child, exactly as if launched directly.
    run = Run(tmp_path, "app_syscalls", args=())
    direct = allocator(run.proc, "app")
    run2 = Run(tmp_path / "sh", "app_syscalls", shell=True)
    app = allocator(run2.proc, "app")
    check_common(run2, app)
    assert app["mapped_bytes"] == direct["mapped_bytes"]
    assert run2.proc["ppid"] in [p["pid"] for p in run2.report["processes"]]


def test_interval_reports(tmp_path):
    out = tmp_path / "out.ndjson"
    r = subprocess.run([ARENATRACE, "-j", "-o", str(out), "-i", "0.2", "--",
                        workload("app_syscalls")], env=dict(os.environ, AT_TRUTH=str(tmp_path / "t")),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    reports = [json.loads(l) for l in out.read_text().splitlines()]
    assert reports[-1]["final"] and not any(x["final"] for x in reports[:-1])

    def munmapped(x):
        a = allocator(process(x, "app_syscalls"), "app")
        return a["returned"]["munmap_bytes"] if a else 0

    # Interval reports count their interval (window_start_ms says from when); the final
    # summary counts the whole trace, whatever the intervals were (issue 13).
    assert all(x["window_start_ms"] > 0 for x in reports[1:-1])
    assert reports[-1]["window_start_ms"] == 0
    assert munmapped(reports[-1]) == 2 << 20
    assert sum(munmapped(x) for x in reports[:-1]) <= 2 << 20


def test_interval_count_stops(tmp_path):
    go = tmp_path / "go"
    target = subprocess.Popen([workload("app_syscalls")], env=dict(os.environ, AT_GO=str(go)))
    try:
        r = subprocess.run([ARENATRACE, "-p", str(target.pid), "0.1", "3"], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout.count("arenatrace interval") == 3
        assert "arenatrace summary" not in r.stdout
    finally:
        go.touch()
        assert target.wait(timeout=60) == 0
