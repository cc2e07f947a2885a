# SPDX-License-Identifier: GPL-2.0-only
"""Symbols from separate debug files: a stripped build of the stack_sites workload whose
DWARF was split into a file named by its .gnu_debuglink, found where gdb looks (beside it,
in its .debug/, under /usr/lib/debug), with the link's CRC checked; from a debuginfod server
when DEBUGINFOD_URLS names one; and, without a debug file or with the server down or silent,
frames that fall back to the module and offset, never to a wrong name. A stripped
libstdc++ frame is named from its .dynsym where a symbol covers it."""
import os
import re
import shutil
import socket
import subprocess
import threading
import urllib.request

import pytest

from helpers import ARENATRACE, assert_no_drops, load, process, until, workload
from test_stacks import build_id, marks

NAME = "stack_sites"


def run(tmp_path, exe, env=None, args=("--stacks=5",)):
    """arenatrace launching exe (heap level), without any debuginfod server unless env
    names one: the report, the workload's truth and arenatrace's stderr."""
    out, err, truth = tmp_path / "out.json", tmp_path / "err", tmp_path / "truth.json"
    # (conftest.py clears the environment's DEBUGINFOD_ variables)
    with open(err, "w") as e:
        rc = subprocess.run([ARENATRACE, "-j", "-o", str(out), "--level", "heap", *args,
                             "--", str(exe)], stderr=e, timeout=120,
                            env=dict(os.environ, AT_TRUTH=str(truth), **(env or {})))
    assert rc.returncode == 0, err.read_text()
    return load(str(out)), load(str(truth)), err.read_text()


def split(tmp_path):
    """The workload, stripped of every symbol and section it can lose, linked to its
    debug file (tmp_path/dbg/stack_sites.debug): the stripped file's path."""
    full, d = workload(NAME), tmp_path / "dbg"
    d.mkdir()
    subprocess.run(["objcopy", "--only-keep-debug", full, str(d / f"{NAME}.debug")], check=True)
    exe = tmp_path / "bin" / NAME
    exe.parent.mkdir()
    subprocess.run(["objcopy", "--strip-all", f"--add-gnu-debuglink={d / f'{NAME}.debug'}",
                    full, str(exe)], check=True)
    sections = subprocess.run(["readelf", "-SW", str(exe)], capture_output=True, text=True,
                              check=True).stdout
    assert ".gnu_debuglink" in sections and ".symtab" not in sections
    assert ".debug_info" not in sections
    return exe


def segments(path):
    """The LOAD segments of an ELF file: (file offset, vaddr, file size)."""
    out = subprocess.run(["readelf", "-lW", path], capture_output=True, text=True,
                         check=True).stdout
    return [(int(m.group(1), 16), int(m.group(2), 16), int(m.group(3), 16))
            for m in re.finditer(r"^\s+LOAD\s+(0x\S+)\s+(0x\S+)\s+\S+\s+(0x\S+)", out, re.M)]


def vaddr(path, off):
    for o, v, size in segments(path):
        if o <= off < o + size:
            return off - o + v
    raise AssertionError(f"offset {off:#x} in no segment of {path}")


def functions(path, dynamic=False):
    """{name: (start, end)} of the defined functions of an ELF file (nm; unversioned)."""
    out = subprocess.run(["nm", "-S", "--defined-only", *(["-D"] if dynamic else []), path],
                         capture_output=True, text=True, check=True).stdout
    spans = {}
    for m in re.finditer(r"^([0-9a-f]+) ([0-9a-f]+) [tTiW] (\S+)$", out, re.M):
        start = int(m.group(1), 16)
        spans[m.group(3).split("@")[0]] = (start, start + int(m.group(2), 16))
    return spans


def sites(proc):
    """The stacks holding the 10 big and the 100 small blocks."""
    by_count = {s["live_objects"]: s for s in proc["stacks"]}
    return by_count[10], by_count[100]


def check_named(report, t, exe):
    """The two sites named from the debug file: functions, files and lines."""
    proc, m = process(report, NAME), marks()
    big, small = sites(proc)
    assert (big["live_bytes"], small["live_bytes"]) == (t["big_bytes"], t["small_bytes"])
    for s, leaf, caller in ((big, "big", "main_big"), (small, "small", "main_small")):
        f0, f1 = s["frames"][0], s["frames"][1]
        assert (f0["function"], f0["line"]) == (f"site_{leaf}", m[leaf]), f0
        assert (f1["function"], f1["line"]) == ("main", m[caller]), f1
        for f in (f0, f1):
            assert f["file"].endswith("tests/workloads/stack_sites.c"), f
            assert f["module"] == str(exe) and f["build_id"] == build_id(str(exe)), f
    assert_no_drops(report)


def check_unnamed(report, t, exe):
    """Without the debug file: the sites' frames carry the module, build-id and offset
    (which lie in the right functions of the unstripped build), and no name or line."""
    proc = process(report, NAME)
    big, small = sites(proc)
    assert (big["live_bytes"], small["live_bytes"]) == (t["big_bytes"], t["small_bytes"])
    syms, full = functions(workload(NAME)), workload(NAME)
    for s, leaf in ((big, "site_big"), (small, "site_small")):
        for f, fn in zip(s["frames"][:2], (leaf, "main")):
            assert f["module"] == str(exe) and f["build_id"] == build_id(str(exe)), f
            assert (f["function"], f["file"], f["line"]) == (None, None, None), f
            lo, hi = syms[fn]
            assert lo <= vaddr(full, f["offset"] - 1) < hi, (f, fn)
        # The stack goes on into libc, named there: only the executable lost its names.
        assert any(f["function"] == "__libc_start_call_main" for f in s["frames"]), s
    assert_no_drops(report)


def debug_places(tmp_path):
    return {
        "beside": tmp_path / "bin",
        "dot_debug": tmp_path / "bin" / ".debug",
        "debug_dir": f"/usr/lib/debug{tmp_path / 'bin'}",
    }


@pytest.mark.parametrize("place", ["beside", "dot_debug", "debug_dir"])
def test_debuglink_names_and_lines(tmp_path, place):
    exe = split(tmp_path)
    where = debug_places(tmp_path)[place]
    # The first directory made under /usr/lib/debug, removed at the end.
    made = str(where)
    while not os.path.exists(os.path.dirname(made)):
        made = os.path.dirname(made)
    try:
        os.makedirs(where, exist_ok=True)
        shutil.copy(tmp_path / "dbg" / f"{NAME}.debug", where)
        # A server that would be asked if the local file were missed: never asked.
        report, t, err = run(tmp_path, exe, {"DEBUGINFOD_URLS": "http://127.0.0.1:1"})
    finally:
        if place == "debug_dir" and os.path.exists(made):
            shutil.rmtree(made)
    check_named(report, t, exe)
    assert "debuginfod" not in err, err


def test_debuglink_crc_mismatch_and_missing(tmp_path):
    exe = split(tmp_path)
    # No debug file: module and offset.
    report, t, _ = run(tmp_path, exe)
    check_unnamed(report, t, exe)
    # A file of that name whose CRC is not the link's (another build's): not used.
    bad = tmp_path / "bin" / f"{NAME}.debug"
    shutil.copy(tmp_path / "dbg" / f"{NAME}.debug", bad)
    with open(bad, "ab") as f:
        f.write(b"\0")
    report, t, _ = run(tmp_path, exe)
    check_unnamed(report, t, exe)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def requests(log, bid):
    with open(log) as f:
        return len(re.findall(rf"GET /buildid/{bid}/debuginfo ", f.read()))


def test_debuginfod_fetches_the_debug_file(tmp_path):
    # The debug file is only on the server: debuginfod indexes the directory it is in.
    exe = split(tmp_path)
    bid, port = build_id(str(exe)), free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "debuginfod.log"
    with open(log, "w") as lf:
        server = subprocess.Popen(["debuginfod", "-p", str(port), "-F", str(tmp_path / "dbg"),
                                   "-d", str(tmp_path / "db.sqlite")], stdout=lf, stderr=lf)
    try:
        def served():
            """debuginfod serving the debug file"""
            if server.poll() is not None:
                raise AssertionError("debuginfod exited: " + log.read_text())
            try:
                with urllib.request.urlopen(f"{url}/buildid/{bid}/debuginfo", timeout=5) as r:
                    return r.status == 200
            except OSError:
                return False
        until(served, timeout=120)
        before = requests(log, bid)
        cache = tmp_path / "cache"
        report, t, err = run(tmp_path, exe, {"DEBUGINFOD_URLS": url,
                                             "DEBUGINFOD_CACHE_PATH": str(cache)})
        check_named(report, t, exe)
        assert "debuginfod" not in err, err
        # Fetched once, for the names and the lines, into the library's cache.
        assert requests(log, bid) == before + 1, log.read_text()
        assert (cache / bid / "debuginfo").is_file()
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_debuginfod_down(tmp_path):
    # Nothing listens on the port: one warning, and the frames fall back.
    exe = split(tmp_path)
    report, t, err = run(tmp_path, exe, {"DEBUGINFOD_URLS": f"http://127.0.0.1:{free_port()}",
                                         "DEBUGINFOD_CACHE_PATH": str(tmp_path / "cache")})
    check_unnamed(report, t, exe)
    warns = [line for line in err.splitlines() if "debuginfod" in line]
    assert len(warns) == 1 and "Connection refused" in warns[0], err


def test_debuginfod_silent(tmp_path):
    # A server that accepts and never answers: the library's timeout (DEBUGINFOD_TIMEOUT)
    # ends the wait, with one warning; the frames fall back.
    exe = split(tmp_path)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                pass
    th = threading.Thread(target=accept)
    th.start()
    try:
        report, t, err = run(tmp_path, exe, {
            "DEBUGINFOD_URLS": f"http://127.0.0.1:{listener.getsockname()[1]}",
            "DEBUGINFOD_CACHE_PATH": str(tmp_path / "cache"), "DEBUGINFOD_TIMEOUT": "1"})
    finally:
        stop.set()
        th.join()
        for c in held:
            c.close()
        listener.close()
    check_unnamed(report, t, exe)
    warns = [line for line in err.splitlines() if "debuginfod" in line]
    assert len(warns) == 1 and "Timer expired" in warns[0], err


def test_stripped_libstdcxx_frames(tmp_path):
    # Debian's libstdc++ has .dynsym only: operator new is named from it; a frame that no
    # exported symbol covers shows its module and offset, with no name.
    lib = os.path.realpath("/usr/lib/x86_64-linux-gnu/libstdc++.so.6")
    assert ".symtab" not in subprocess.run(["readelf", "-SW", lib], capture_output=True,
                                           text=True, check=True).stdout
    report, _, _ = run(tmp_path, workload("cxx_new"), args=("--stacks=20",))
    proc = process(report, "cxx_new")
    dyn = functions(lib, dynamic=True)
    seen = set()
    for s in proc["stacks"]:
        for f in s["frames"]:
            if f["module"] != lib:
                continue
            assert f["build_id"] == build_id(lib), f
            v = vaddr(lib, f["offset"] - 1)  # the call, before the return address
            covering = {n for n, (lo, hi) in dyn.items() if lo <= v < hi}
            if f["function"] is None:
                assert not covering, (f, covering)
                seen.add(None)
            else:
                assert f["function"] == "operator new(unsigned long)" and "_Znwm" in covering
                seen.add(f["function"])
    # The 10 arrays still held were allocated through operator new.
    held = [s for s in proc["stacks"] if s["live_objects"] == 10]
    assert held and held[0]["frames"][0]["function"] == "operator new(unsigned long)", held
    assert "operator new(unsigned long)" in seen
