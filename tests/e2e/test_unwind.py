# SPDX-License-Identifier: GPL-2.0-only
"""--unwind dwarf: stacks through code built without frame pointers, unwound in user space
with the binaries' CFI from a copy of the stack taken at sampled allocations. An -O2 C
workload built with -fomit-frame-pointer that clobbers rbp, a Rust release binary, and
Debian's redis-server give their full chains, with exact figures when every allocation is
sampled (-C stack_sample_bytes=1); the frame-pointer walk does not get past the first
frame of the same workloads."""
import os
import shutil
import subprocess
import tempfile
import time

from helpers import ARENATRACE, Run, allocator, assert_no_drops, interrupt, load, process, \
    until, wait_attached, workload

EVERY = ("--unwind", "dwarf", "-C", "stack_sample_bytes=1")


def functions(stack):
    return [f.get("function") for f in stack["frames"]]


def stack_with(proc, leaf):
    """The stack whose first frame is in function leaf (one, and only one)."""
    found = [s for s in proc["stacks"] if s["frames"] and s["frames"][0]["function"] == leaf]
    assert len(found) == 1, [functions(s) for s in proc["stacks"]]
    return found[0]


def check_nofp(run, live_bytes=None):
    t, proc = run.truth, run.proc
    s = stack_with(proc, "nofp_c")
    # The whole chain, each frame in the workload with its line, then libc's start-up.
    assert functions(s)[:4] == ["nofp_c", "nofp_b", "nofp_a", "main"], functions(s)
    for f in s["frames"][:4]:
        assert f["module"] == os.path.realpath(workload(run.name)) and f["line"] > 0
        assert f["file"].endswith("tests/workloads/stack_nofp.c")
    assert all(f["module"] for f in s["frames"])
    assert (s["live_bytes"], s["live_objects"]) == (live_bytes or t["kept_bytes"], t["kept"])
    assert (s["alloc_bytes"], s["alloc_count"]) == (s["live_bytes"], s["live_objects"])
    # nofp_gone's blocks were all freed: its stack holds nothing, so is not shown.
    assert not any("nofp_gone" in functions(x) for x in proc["stacks"])
    assert run.report["options"]["unwind"] == "dwarf"
    assert_no_drops(run.report)


def test_unwind_c_without_frame_pointers(tmp_path):
    run = Run(tmp_path / "dwarf", "stack_nofp", mode="attach", args=EVERY + ("--stacks=5",))
    check_nofp(run)
    assert run.report["options"]["stack_sample_bytes"] == 1
    # The same workload by frame pointers: the walk ends after the first frame (rbp is 0
    # there), which is what --unwind dwarf is for.
    fp = Run(tmp_path / "fp", "stack_nofp", mode="attach", args=("--stacks=5",))
    s = stack_with(fp.proc, "nofp_c")
    assert "nofp_b" not in functions(s), functions(s)
    assert fp.report["options"]["unwind"] == "fp"


def test_unwind_frame_pointers_without_cfi(tmp_path):
    # An executable with frame pointers and no call frame information at all (no .eh_frame,
    # no DWARF): libdw falls back to the frame pointers there, then libc's CFI goes on.
    run = Run(tmp_path, "stack_sites_nocfi", mode="attach", args=EVERY + ("--stacks=5",))
    assert not any(x in subprocess.run(["readelf", "-S", workload("stack_sites_nocfi")],
                                       capture_output=True, text=True).stdout
                   for x in (".eh_frame", ".debug_frame"))
    t, proc = run.truth, run.proc
    for leaf, key, n in (("site_big", "big_bytes", 10), ("site_small", "small_bytes", 100)):
        s = stack_with(proc, leaf)
        assert functions(s)[:3] == [leaf, "main", "__libc_start_call_main"], functions(s)
        assert (s["live_bytes"], s["live_objects"]) == (t[key], n)
    assert_no_drops(run.report)


def test_unwind_library_loaded_later(tmp_path):
    # libz, dlopen'ed after the process's maps were read for its first sample: with the os
    # level its mmap says so; without it, a frame in no module known has the maps read
    # again. Either way deflateInit_'s blocks have zlib's frames, then main.
    for levels in ("os,heap", "heap"):
        run = Run(tmp_path / levels, "stack_dlopen", mode="attach",
                  args=EVERY + ("--stacks=20", "--level", levels))
        assert run.truth["deflate_init"] == 0
        chains = [functions(s) for s in run.proc["stacks"]
                  if s["frames"] and s["frames"][0]["function"] == "deflateInit2_"]
        assert chains, [functions(s) for s in run.proc["stacks"]]
        for names in chains:
            assert names[:3] == ["deflateInit2_", "deflateInit_", "main"], names
            assert "__libc_start_call_main" in names
        assert_no_drops(run.report)


def test_unwind_launched_and_exited(tmp_path):
    # The command exits at once: its samples may reach arenatrace after it is gone (its
    # /proc/PID/maps with it); they are unwound at its exit record, with the mappings the
    # kernel reported as it exited. Either way the chain is whole and no sample is lost.
    # The kernel cannot give the mappings at the exit while their lock is held (a uprobe
    # being put in place or removed, here or by another tracer on the machine): that is
    # counted (drops.exit_vmas) and the run is tried again, up to three times.
    for attempt in range(3):
        run = Run(tmp_path / str(attempt), "stack_nofp", mode="launch", hold=False,
                  args=EVERY + ("--stacks=5",))
        if not run.report["drops"]["exit_vmas"]:
            break
    assert run.proc["exited"]
    check_nofp(run)


def test_unwind_sampled(tmp_path):
    # One sample per 2000 bytes on average: the kept blocks (3000 bytes and more) are taken
    # every time, with weight 1 (exact); nofp_gone's 700-byte blocks with probability 0.35,
    # each standing for 2000/700 blocks, all freed. --folded and --pprof carry the stacks.
    folded, prof = tmp_path / "f", tmp_path / "p.pb.gz"
    run = Run(tmp_path, "stack_nofp", mode="attach",
              args=("--unwind", "dwarf", "-C", "stack_sample_bytes=2000", "--folded",
                    str(folded), "--pprof", str(prof)))
    check_nofp(run)
    assert run.report["options"]["stack_sample_bytes"] == 2000
    line = [x for x in folded.read_text().splitlines() if ";main;nofp_a;nofp_b;nofp_c " in x]
    assert len(line) == 1 and line[0].endswith(" %d" % run.truth["kept_bytes"]), line
    out = subprocess.run(["go", "tool", "pprof", "-symbolize=none", "-raw", str(prof)],
                         capture_output=True, text=True, check=True,
                         env=dict(os.environ, HOME=str(tmp_path))).stdout
    assert "Period: 2000" in out and "unbiased estimates" in out, out[:2000]


def test_unwind_rust_release(tmp_path):
    # A release build (no frame pointers, no debug info of its own) over the system malloc.
    run = Run(tmp_path / "dwarf", "rust_chain", mode="attach", args=EVERY + ("--stacks=5",))
    t = run.truth
    s = stack_with(run.proc, "rust_chain::chain_c")
    names = functions(s)
    assert names[:4] == ["rust_chain::chain_c", "rust_chain::chain_b", "rust_chain::chain_a",
                         "rust_chain::main"], names
    assert "main" in names[4:] and all(f["module"] for f in s["frames"]), names
    assert (s["live_bytes"], s["live_objects"]) == (t["kept_bytes"], t["kept"])
    assert not any("rust_chain::chain_gone" in functions(x) for x in run.proc["stacks"])
    assert_no_drops(run.report)
    fp = Run(tmp_path / "fp", "rust_chain", mode="attach", args=("--stacks=5",))
    assert "rust_chain::chain_b" not in functions(stack_with(fp.proc, "rust_chain::chain_c"))


def redis_pid(sock):
    out = subprocess.run(["redis-cli", "-s", sock, "info", "server"], capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        if line.startswith("process_id:"):
            return int(line.split(":")[1])
    return None


def test_unwind_redis_server(tmp_path):
    # Debian's redis-server (-O2, no frame pointers, over Debian's jemalloc): 200 SETs of a
    # 3000-byte value keep 200 values, each an sds string of jemalloc's 3072-byte class,
    # allocated as redis parsed the command, from its event loop in main.
    d = tempfile.mkdtemp(prefix="at-redis-")
    sock, out, err = os.path.join(d, "s.sock"), tmp_path / "out.json", tmp_path / "err"
    server = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", sock, "--save",
                               "", "--appendonly", "no", "--dir", d],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tracer = None
    try:
        pid = until(lambda: redis_pid(sock), timeout=30)
        assert pid == server.pid
        with open(err, "w") as e:
            tracer = subprocess.Popen([ARENATRACE, "-j", "-o", str(out), "--level", "heap",
                                       "--stacks=5", *EVERY, "-p", str(pid)], stderr=e)
        wait_attached(str(err), tracer)
        cmds = "".join(f"SET key{i} {'x' * 3000}\n" for i in range(200))
        subprocess.run(["redis-cli", "-s", sock], input=cmds, capture_output=True, text=True,
                       check=True)
        assert subprocess.run(["redis-cli", "-s", sock, "dbsize"], capture_output=True,
                              text=True).stdout.strip() == "200"
        time.sleep(0.5)
        assert interrupt(tracer) == 0, err.read_text()
    finally:
        if tracer and tracer.poll() is None:
            tracer.kill()
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(d, ignore_errors=True)
    report = load(str(out))
    proc = process(report, "redis-server")
    values = [s for s in proc["stacks"]
              if "createStringObject" in functions(s) and "_sdsnewlen" in functions(s)]
    assert len(values) == 1, [functions(s) for s in proc["stacks"]]
    s = values[0]
    names = functions(s)
    assert (s["live_objects"], s["live_bytes"]) == (200, 200 * 3072), s
    assert s["allocator"] == "jemalloc"
    # Through the -O2 code from the command's parsing down to main and libc's start-up.
    for fn in ("processMultibulkBuffer", "processInputBuffer", "readQueryFromClient",
               "aeMain", "main"):
        assert fn in names, names
    assert names.index("_sdsnewlen") < names.index("readQueryFromClient") < names.index("main")
    assert all(f["module"] for f in s["frames"])
    assert allocator(proc, "jemalloc")["live_bytes"] >= s["live_bytes"]
    assert_no_drops(report)
