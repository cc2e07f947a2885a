# SPDX-License-Identifier: GPL-2.0-only
"""Forking servers (issue 13, item 6): a child forked by a traced process inherits its
parent's picture and is traced from its birth; -p takes several PIDs and --children the
targets' running descendants, and the summary says which processes were included. The
workload fork_workers forks 3 workers that each free an inherited block and allocate their
own; each knows its truth: glibc's mallinfo2() and the bytes it returned."""
import os
import subprocess

from helpers import ARENATRACE, Run, allocator, assert_no_drops, interrupt, load, \
    wait_attached, wait_file, workload

WORKERS = 3


def worker_truths(base):
    truths = {}
    for n in range(WORKERS):
        wait_file(f"{base}.{n}")
        t = load(f"{base}.{n}")
        truths[t["pid"]] = t
    return truths


def check_books(g, t):
    """glibc's own books of a worker against its mallinfo2(), which counts tcache chunks
    as in use and mmapped chunks apart."""
    books = g["books"]
    assert books and not books["partial"], books and books["reason"]
    assert books["figures"]["system_mem"] == t["arena"]
    assert books["figures"]["mmapped"] == t["hblkhd"]
    assert books["live_bytes"] + books["figures"]["tcache"] == t["uordblks"] + t["hblkhd"]


def test_forked_workers_traced_from_birth(tmp_path):
    # Launched: the workers are traced from their birth. Each inherits the parent's
    # mappings as glibc's traced memory (none of it "pre-existing"), is not "attached", and
    # its own figures match its counters: mapped is its heap and its mmapped chunks, the
    # inherited big block it freed is returned by munmap to the byte. The old code treated
    # each worker as attached, its inherited memory pre-existing.
    run = Run(tmp_path, "fork_workers", args=["--level", "os,arena"])
    truths = worker_truths(run.truth_path)
    report = run.report
    (parent,) = [p for p in report["processes"] if p["pid"] not in truths]
    assert not parent["attached_running"]
    workers = {p["pid"]: p for p in report["processes"] if p["pid"] != parent["pid"]}
    assert set(workers) == set(truths)
    for pid, t in truths.items():
        w = workers[pid]
        assert w["ppid"] == parent["pid"]
        g = allocator(w, "glibc")
        assert g["preexisting"]["mapped_bytes"] == 0
        assert not w["attached_running"]
        assert w["origin"] == "fork" and parent["origin"] == "command"
        assert g["owner_evidence_bytes"]["traced"] == g["mapped_bytes"]
        assert g["mapped_bytes"] == t["arena"] + t["hblkhd"]
        assert g["returned"]["munmap_bytes"] == t["returned_munmap"]
        assert g["returned_count"]["munmap"] == 1
        check_books(g, t)
    assert_no_drops(report)


def test_pids_and_children(tmp_path):
    # -p PARENT --children: the workers running at attach are traced too, each with its own
    # figures; the summary says which processes were included and why. Before, -p on a
    # forking server's parent left out the workers where the allocating happens.
    truth, hold = tmp_path / "truth.json", tmp_path / "hold"
    out, text, err = tmp_path / "out.json", tmp_path / "out.txt", tmp_path / "err.txt"
    env = dict(os.environ, AT_TRUTH=str(truth), AT_HOLD=str(hold))
    target = subprocess.Popen([workload("fork_workers")], env=env)
    tracers = []
    try:
        wait_file(str(truth), target)
        truths = worker_truths(str(truth))
        for fmt, path in (("json", out), ("text", text)):
            with open(err, "w") as e:
                tracers.append(subprocess.Popen(
                    [ARENATRACE, "--format", fmt, "-o", str(path), "-C", "sample_ms=100",
                     "-p", str(target.pid), "--children"], stderr=e))
            wait_attached(str(err), tracers[-1])
            assert interrupt(tracers[-1]) == 0, err.read_text()
    finally:
        hold.touch()
        for p in tracers:
            if p.poll() is None:
                p.kill()
        assert target.wait(timeout=60) == 0
    report = load(str(out))
    assert report["options"]["children"] and report["options"]["pids"] == [target.pid]
    procs = {p["pid"]: p for p in report["processes"]}
    assert procs[target.pid]["origin"] == "pid"
    assert set(procs) == {target.pid, *truths}
    for pid, t in truths.items():
        w = procs[pid]
        assert w["origin"] == "children" and w["attached_running"] and w["ppid"] == target.pid
        g = allocator(w, "glibc")
        # Everything was there before attach: pre-existing, glibc's by its books or layout.
        assert g["mapped_bytes"] == 0
        assert g["preexisting"]["mapped_bytes"] == t["arena"] + t["hblkhd"]
        check_books(g, t)
    line = [ln for ln in text.read_text().splitlines() if ln.startswith("traced: ")]
    kids = " ".join(str(p) for p in sorted(truths))
    assert line == [f"traced: {target.pid} (-p); {kids} (--children)"], line
    assert_no_drops(report)


def test_late_probes_are_said(tmp_path):
    # A shell forks a child that execs a jemalloc program: libc's probes follow the child
    # from its fork, jemalloc's can only come after its exec, once arenatrace has read the
    # exec record. Its heap counters then miss their start: they say so (heap_partial, no
    # heap retained) and how long it was, where the old code called them whole. The same
    # program launched directly is probed before its exec: whole, no gap.
    run = Run(tmp_path / "shell", "je_heap_calls", shell=True)
    p = run.proc
    assert p["heap_partial"]
    assert p["uprobes_after_ms"] is not None and p["uprobes_after_ms"] >= 0
    assert allocator(p, "jemalloc")["retained_bytes"] is None
    (sh,) = [q for q in run.report["processes"] if q["comm"] == "sh"]
    assert sh["uprobes_after_ms"] is None and not sh["heap_partial"]
    direct = Run(tmp_path / "direct", "je_heap_calls").proc
    assert not direct["heap_partial"] and direct["uprobes_after_ms"] is None
    assert allocator(direct, "jemalloc")["retained_bytes"] is not None
