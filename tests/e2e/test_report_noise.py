# SPDX-License-Identifier: GPL-2.0-only
"""Report noise (issue 13, item 8): exited processes are reported once in interval mode,
the text lists the largest of them (-C text_top) and counts the rest, and JSON keeps all."""
import re
import subprocess

from helpers import ARENATRACE, Run, load, wait_file, workload

TOP = 4


def test_exited_children_once_and_summarised(tmp_path):
    # 12 children, one after the other, child i mapping (i + 1) x 256 KiB, all exited before
    # the workload writes its truth; text reports every 0.2 s.
    truth, out = tmp_path / "truth.json", tmp_path / "out.txt"
    tracer = subprocess.Popen([ARENATRACE, "-o", str(out), "-i", "0.2", "-C", f"text_top={TOP}",
                               "--", workload("short_procs")],
                              env={"AT_TRUTH": str(truth), "PATH": "/usr/bin:/bin"},
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_file(str(truth), tracer)
        assert tracer.wait(timeout=120) == 0, tracer.stderr.read()
    finally:
        if tracer.poll() is None:
            tracer.kill()
    t = load(str(truth))
    pids = [t[f"pid{i}"] for i in range(t["children"])]
    text = out.read_text()
    intervals, summary = text.rsplit("arenatrace summary", 1)
    # Each child reported exited at most once in all the interval reports together (while
    # alive it may show in any).
    for pid in pids:
        assert len(re.findall(rf"\nPID {pid} \(short_procs\) \[exited\]", intervals)) <= 1, pid
    assert "exited processes shown in an earlier interval" in intervals
    # The summary: the TOP largest children (the last ones), the others and the workload
    # itself (exited too, and smaller than any child: they hold a copy of its memory and
    # a mapping of their own) counted.
    shown = [int(p) for p in re.findall(r"\nPID (\d+) \(short_procs\) \[exited\]", summary)]
    assert sorted(shown) == sorted(pids[-TOP:]), (shown, pids)
    more = t["children"] - TOP + 1
    assert f"... {more} more exited processes (short_procs {more}):" in summary


def test_json_keeps_every_exited_process(tmp_path):
    run = Run(tmp_path, "short_procs", args=("-C", f"text_top={TOP}"), hold=False)
    t = run.truth
    got = {p["pid"] for p in run.report["processes"] if p["exited"]}
    assert {t[f"pid{i}"] for i in range(t["children"])} <= got
