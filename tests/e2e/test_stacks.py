# SPDX-License-Identifier: GPL-2.0-only
"""--stacks, --folded and --pprof: the allocating functions of a workload with known sites,
their exact live bytes, file:line from DWARF, build-ids, folded stacks that sum to the live
bytes, a pprof profile read back by go tool pprof, and the stacks of a launched process
kept after it exits."""
import os
import re
import subprocess

from helpers import ARENATRACE, Run, allocator, assert_no_drops, load, process, until, \
    wait_attached, workload

EXIT_VANISHED = 6  # a -p target exited before the end of the trace (man page, EXIT STATUS)
SRC = os.path.join(os.path.dirname(__file__), "..", "workloads", "stack_sites.c")


def marks():
    """The source lines the workload marks with /* at:NAME */."""
    with open(SRC) as f:
        return {m.group(1): n for n, line in enumerate(f, 1)
                if (m := re.search(r"/\* at:(\w+) \*/", line))}


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True,
                         check=True).stdout
    return re.search(r"Build ID: ([0-9a-f]+)", out).group(1)


def check_sites(proc, t):
    """The two sites that hold memory, with their bytes, blocks, functions, lines, files."""
    m, exe = marks(), os.path.realpath(workload("stack_sites"))
    by_leaf = {s["frames"][0]["function"]: s for s in proc["stacks"]}
    big, small = by_leaf["site_big"], by_leaf["site_small"]
    assert (big["live_bytes"], big["live_objects"]) == (t["big_bytes"], 10)
    assert (small["live_bytes"], small["live_objects"]) == (t["small_bytes"], 100)
    assert proc["stacks"][0] is big and proc["stacks"][1] is small  # largest first
    for s, leaf, caller in ((big, "big", "main_big"), (small, "small", "main_small")):
        assert s["allocator"] == "glibc"
        assert s["alloc_bytes"] == s["live_bytes"] and s["alloc_count"] == s["live_objects"]
        f0, f1 = s["frames"][0], s["frames"][1]
        assert f0["file"].endswith("tests/workloads/stack_sites.c")
        assert (f0["line"], f1["function"], f1["line"]) == (m[leaf], "main", m[caller])
        for f in (f0, f1):
            assert f["module"] == exe and f["build_id"] == build_id(exe)
            assert f["offset"] > 0 and f["function_offset"] > 0
        # The stack ends in libc's start-up code: nothing past a frame it cannot trust.
        assert all(f["module"] for f in s["frames"])
    # What was freed holds nothing.
    assert "site_freed" not in by_leaf


def test_stacks_structured_frames(tmp_path):
    run = Run(tmp_path, "stack_sites", mode="attach", args=("--stacks=5",))
    check_sites(run.proc, run.truth)
    assert_no_drops(run.report)


def test_stacks_attached_then_exited(tmp_path):
    # -p, and the process exits before any report: its stacks are read at its exit with the
    # mappings the kernel reported then, which name files by their last component alone;
    # its executable (in no library directory, beside no file known) is known by its full
    # path from its mappings read at attach, so its frames are named (they were bare
    # module+offset, the module a bare name). arenatrace says the target exited mid-trace.
    out, err, truth, go = (tmp_path / n for n in ("out.json", "err", "truth.json", "go"))
    target = subprocess.Popen([workload("stack_sites")],
                              env=dict(os.environ, AT_TRUTH=str(truth), AT_GO=str(go)))
    with open(err, "w") as e:
        tracer = subprocess.Popen([ARENATRACE, "-j", "-o", str(out), "--level", "heap",
                                   "--stacks=5", "-p", str(target.pid)], stderr=e)
    try:
        wait_attached(str(err), tracer)
        go.touch()
        assert target.wait(timeout=60) == 0
        assert tracer.wait(timeout=60) == EXIT_VANISHED, err.read_text()
    finally:
        target.kill()
        tracer.kill()
    report = load(str(out))
    proc = process(report, "stack_sites")
    assert proc["exited"]
    check_sites(proc, load(str(truth)))
    assert_no_drops(report)


def pprof_raw(path, home):
    """go tool pprof -raw: {leaf function: [inuse_space, inuse_objects, alloc_space,
    alloc_objects]} summed over samples, and the samples' labels."""
    out = subprocess.run(["go", "tool", "pprof", "-symbolize=none", "-raw", path],
                         capture_output=True, text=True, check=True,
                         env=dict(os.environ, HOME=home)).stdout
    samples = out.split("Samples:")[1].split("Locations")[0]
    locs = out.split("Locations")[1].split("Mappings")[0]
    names = {int(m.group(1)): m.group(2)
             for m in re.finditer(r"^\s+(\d+): 0x[0-9a-f]+ M=\d+ (\S+)", locs, re.M)}
    by_leaf, labels = {}, []
    for m in re.finditer(r"^\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+): ([\d ]+)\n((?:\s+\w+:\[.*\n)*)",
                         samples, re.M):
        leaf = names[int(m.group(5).split()[0])]
        vals = [int(m.group(k)) for k in range(1, 5)]
        by_leaf[leaf] = [a + b for a, b in zip(by_leaf.get(leaf, [0] * 4), vals)]
        labels.append(m.group(6))
    return by_leaf, labels, out


def test_pprof_and_folded(tmp_path):
    prof, folded = tmp_path / "heap.pb.gz", tmp_path / "heap.folded"
    run = Run(tmp_path, "stack_sites", mode="attach",
              args=("--pprof", str(prof), "--folded", str(folded)))
    t = run.truth
    # --pprof implies --stacks (10 shown).
    check_sites(run.proc, t)
    by_leaf, labels, raw = pprof_raw(str(prof), str(tmp_path))
    assert by_leaf["site_big"] == [t["big_bytes"], 10, t["big_bytes"], 10], raw
    assert by_leaf["site_small"] == [t["small_bytes"], 100, t["small_bytes"], 100], raw
    # site_freed held nothing at the end, but allocated 5 blocks.
    assert by_leaf["site_freed"][:2] == [0, 0] and by_leaf["site_freed"][3] == 5, raw
    pid = run.proc["pid"]
    for lab in labels:
        assert "allocator:[glibc]" in lab and "comm:[stack_sites]" in lab
        assert f"pid:[{pid}]" in lab
    assert "tests/workloads/stack_sites.c:%d" % marks()["big"] in raw
    assert build_id(workload("stack_sites")) in raw.split("Mappings")[1]
    # Folded: one line per stack, root first, process and allocator as root frames; the
    # lines sum to the allocator's live bytes.
    lines = folded.read_text().splitlines()
    total = 0
    for line in lines:
        stack, n = line.rsplit(" ", 1)
        frames = stack.split(";")
        assert frames[0] == f"stack_sites-{run.proc['pid']}" and frames[1] == "glibc"
        total += int(n)
    assert any(line.endswith(";main;site_big %d" % t["big_bytes"]) for line in lines), lines
    assert any(line.endswith(";main;site_small %d" % t["small_bytes"]) for line in lines)
    assert total == t["big_bytes"] + t["small_bytes"]
    assert total == allocator(run.proc, "glibc")["live_bytes"]
    assert_no_drops(run.report)


def test_stacks_kept_after_exit(tmp_path):
    # A launched command that runs and exits at once, before the end of the trace, keeps
    # its stacks: read at its exit, with the executable mappings the kernel reported as it
    # exited (nothing here waits for arenatrace to have read /proc/PID/maps).
    out, err, folded = tmp_path / "out.json", tmp_path / "err", tmp_path / "f"
    truth = tmp_path / "truth.json"
    with open(err, "w") as e:
        rc = subprocess.run([ARENATRACE, "-j", "-o", str(out), "--level", "all", "--folded",
                             str(folded), "--", workload("stack_sites")], stderr=e,
                            env=dict(os.environ, AT_TRUTH=str(truth)), timeout=120).returncode
    assert rc == 0, err.read_text()
    report, t = load(str(out)), load(str(truth))
    proc = process(report, "stack_sites")
    assert proc["exited"]
    check_sites(proc, t)
    lines = folded.read_text().splitlines()
    assert sum(int(line.rsplit(" ", 1)[1]) for line in lines
               if ";site_" in line) == t["big_bytes"] + t["small_bytes"]
    assert_no_drops(report)


def exec_mappings(pid):
    with open(f"/proc/{pid}/maps") as f:
        return sum(1 for line in f if line.split()[1][2] == "x" and "/" in line)


def test_stacks_of_the_program_after_exec(tmp_path):
    # The workload allocates 3 blocks and execs itself (AT_REEXEC): those blocks' stacks,
    # whose addresses mean nothing in the new program, are not shown; the new program's
    # are, each with its frames. It waits (AT_GO) until arenatrace has read its mappings
    # after the exec, so that its executable's path is known.
    out, err, go = tmp_path / "out.json", tmp_path / "err", tmp_path / "go"
    truth, folded = tmp_path / "truth.json", tmp_path / "folded"
    env = dict(os.environ, AT_GO=str(go), AT_TRUTH=str(truth), AT_REEXEC="1")
    with open(err, "w") as e:
        tracer = subprocess.Popen([ARENATRACE, "-v", "-v", "-j", "-o", str(out), "--level",
                                   "all", "--stacks=20", "--folded", str(folded), "--",
                                   workload("stack_sites")], stderr=e, env=env)
    try:
        def execd():
            """the workload, after its exec"""
            for t in os.listdir(f"/proc/{tracer.pid}/task"):
                with open(f"/proc/{tracer.pid}/task/{t}/children") as f:
                    for pid in f.read().split():
                        with open(f"/proc/{pid}/environ", "rb") as c:
                            if b"AT_REEXEC=" not in c.read():
                                return int(pid)
            return None
        pid = until(execd)
        want = exec_mappings(pid)
        wait_attached(str(err), tracer, timeout=60,
                      text=f"pid {pid}: {want} executable mappings read")
        go.touch()
        assert tracer.wait(timeout=120) == 0
    finally:
        go.touch()
        if tracer.poll() is None:
            tracer.kill()
    report, t = load(str(out)), load(str(truth))
    proc = process(report, "stack_sites")
    assert proc["pid"] == pid
    check_sites(proc, t)
    for s in proc["stacks"]:
        assert s["frames"], s
        assert s["frames"][0]["function"] != "site_before_exec", s
    # Every stack with live bytes (the JSON shows them all here) is the new program's:
    # the folded lines are those, each with frames below the process and the allocator.
    lines = folded.read_text().splitlines()
    assert all(len(line.rsplit(" ", 1)[0].split(";")) > 2 for line in lines), lines
    assert sum(int(line.rsplit(" ", 1)[1]) for line in lines) == \
        sum(s["live_bytes"] for s in proc["stacks"])
