# SPDX-License-Identifier: GPL-2.0-only
"""arenatrace diff (issue 15, item 6): runs side by side from their JSON reports."""
import json
import subprocess

from helpers import ARENATRACE, diff_demo_runs, load

MiB = 1 << 20
KINDS = ("munmap", "madv_dontneed", "madv_free", "madv_remove", "brk_shrink",
         "mremap_shrink", "decommit")


def alloc(name, resident, pre_resident=0, books=None, returned=None):
    a = {"name": name, "mapped_bytes": resident, "resident_bytes": resident,
         "preexisting": {"mapped_bytes": pre_resident, "resident_bytes": pre_resident},
         "books": books, "live_bytes": None, "retained_bytes": None,
         "returned": {f"{k}_bytes": (returned or {}).get(k, 0) for k in KINDS}}
    return a


def report(allocs, peak, lazyfree=0, findings=()):
    return {"schema_version": 1, "final": True, "processes": [{
        "pid": 1, "comm": "w", "allocators": allocs,
        "timeline": [{"t_ms": 0, "resident_bytes": peak // 2, "lazyfree_bytes": 0},
                     {"t_ms": 200, "resident_bytes": peak, "lazyfree_bytes": 0},
                     {"t_ms": 400, "resident_bytes": peak // 3, "lazyfree_bytes": lazyfree}],
        "findings": [{"kind": k} for k in findings]}]}


def rows(text):
    return {line[:24].strip(): line[24:].split() for line in text.splitlines()[1:]
            if line and not line.startswith("keeps")}


def test_three_known_runs(tmp_path):
    runs = {
        "glibc": report([alloc("glibc", 60 * MiB, books={"live_bytes": 20 * MiB,
                                                          "retained_bytes": 40 * MiB}),
                         alloc("app", 1 * MiB)], 80 * MiB,
                        findings=["glibc_untrimmable"]),
        "jemalloc": report([alloc("jemalloc", 30 * MiB, 2 * MiB,
                                  books={"live_bytes": 20 * MiB, "retained_bytes": 12 * MiB},
                                  returned={"madv_dontneed": 5 * MiB, "munmap": MiB})],
                           70 * MiB),
        "mimalloc": report([alloc("mimalloc", 25 * MiB,
                                  books={"live_bytes": 20 * MiB, "retained_bytes": 5 * MiB},
                                  returned={"madv_free": 8 * MiB})], 90 * MiB,
                           lazyfree=3 * MiB),
    }
    paths = []
    for name, rep in runs.items():
        paths.append(str(tmp_path / f"{name}.json"))
        # The JSON of a run with -i: interval reports, then the final one.
        with open(paths[-1], "w") as f:
            f.write(json.dumps(dict(rep, final=False)) + "\n" + json.dumps(rep) + "\n")
    r = subprocess.run([ARENATRACE, "diff", *paths], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    t = rows(r.stdout)
    assert r.stdout.split()[1:4] == ["glibc", "jemalloc", "mimalloc"]
    assert t["allocators"] == ["glibc", "jemalloc", "mimalloc"]
    assert t["peak resident"] == ["80.0", "MiB", "70.0", "MiB", "90.0", "MiB"]
    assert t["final resident"] == ["61.0", "MiB", "32.0", "MiB", "25.0", "MiB"]
    assert t["final live"] == ["20.0", "MiB"] * 3
    assert t["final retained"] == ["40.0", "MiB", "12.0", "MiB", "5.0", "MiB"]
    assert t["LazyFree"] == ["0", "B", "0", "B", "3.0", "MiB"]
    assert t["returned munmap"] == ["0", "B", "1.0", "MiB", "0", "B"]
    assert t["returned madv_dontneed"] == ["0", "B", "5.0", "MiB", "0", "B"]
    assert t["returned madv_free"] == ["0", "B", "0", "B", "8.0", "MiB"]
    assert "returned brk_shrink" not in t  # no run had one
    assert t["findings"] == ["glibc_untrimmable", "-", "-"]
    assert r.stdout.rstrip().endswith(
        "keeps least at the end: mimalloc (resident 25.0 MiB); most: glibc (resident "
        "61.0 MiB, 36.0 MiB more; glibc retains 40.0 MiB of it)")


def test_bad_input(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("not json\n")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(report([alloc("glibc", MiB)], MiB)))
    r = subprocess.run([ARENATRACE, "diff", str(good), str(bad)], capture_output=True,
                       text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert f"'{bad}' is not an arenatrace JSON report" in r.stderr
    r = subprocess.run([ARENATRACE, "diff", str(good)], capture_output=True, text=True)
    assert r.returncode == 2 and "2 to 8" in r.stderr


def test_real_runs_under_two_allocators(tmp_path):
    # The demo's workload under glibc and under jemalloc: diff's figures are the reports'.
    reps = diff_demo_runs(tmp_path)
    r = subprocess.run([ARENATRACE, "diff", *map(str, reps)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    t = rows(r.stdout)
    assert t["allocators"] == ["glibc", "jemalloc"]
    for i, path in enumerate(reps):
        (p,) = [x for x in load(str(path))["processes"] if x["comm"] == "diff_demo"]
        live = sum(a["books"]["live_bytes"] for a in p["allocators"] if a["books"])
        # The same rounding as the table's (out_bytes: one decimal of MiB).
        assert t["final live"][2 * i] == f"{live / MiB:.1f}", (t, live)
