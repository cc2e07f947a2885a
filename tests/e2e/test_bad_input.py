# SPDX-License-Identifier: GPL-2.0-only
"""Bad input: one clear line on stderr and the documented exit code; targets unharmed."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from helpers import ARENATRACE, interrupt, load, loaded_prog_ids, prog_ids, until, wait_attached, \
    workload

EXIT_USAGE, EXIT_TARGET, EXIT_PRIV, EXIT_KERNEL, EXIT_VANISHED = 2, 3, 4, 5, 6


def run_at(*args, **kw):
    return subprocess.run([ARENATRACE, *args], capture_output=True, text=True, timeout=120,
                          **kw)


def one_line(stderr):
    lines = [l for l in stderr.splitlines() if l.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("arenatrace: ")
    return lines[0]


@pytest.mark.parametrize("args,needle", [
    (["--bogus"], "unknown"),
    (["-p"], "needs a value"),
    (["-p", "abc"], "invalid PID 'abc'"),
    (["-p", "1", "-d", "-3"], "invalid duration"),
    (["-p", "1", "-C", "nonsense"], "expected KEY=VALUE"),
    (["-p", "1", "-C", "ringbuf_bytes=5000"], "power of two"),
    (["-p", "1", "-C", "no_such_key=1"], "unknown -C key"),
    (["-p", "1", "--format", "xml"], "unknown format"),
    ([], "nothing to trace"),
    (["-p", "1", "--", "true"], "give one of"),
    (["-p", "1", "--level", "os,nonsense"], "unknown level 'nonsense'"),
    (["-p", "1", "--arena", "pool"], "malformed --arena 'pool'"),
    (["-p", "1", "--arena", "pool:free=x"], "alloc=SYMBOL is required"),
    (["-p", "1", "--arena", "pool:alloc=f,size=9"], "bad value for 'size'"),
    (["-p", "1", "--arena", "pool:alloc=f,colour=red"], "unknown key 'colour'"),
    (["-p", "1", "--arena", "pool:alloc=f,size=1,self=1"], "same argument"),
    (["-a", "--prometheus", "1.2.3:99999"], "invalid --prometheus '1.2.3:99999'"),
    (["-a", "--min-rss", "lots"], "invalid --min-rss 'lots'"),
    (["-a", "--comm", "a-name-longer-than-15"], "invalid --comm"),
    (["-a", "-p", "1"], "give one of"),
    (["-p", "1", "--comm", "x"], "filter -a"),
])
def test_usage_errors(args, needle):
    r = run_at(*args)
    assert r.returncode == EXIT_USAGE
    line = one_line(r.stderr)
    assert needle in line and "--help" in line


def free_pid():
    with open("/proc/sys/kernel/pid_max") as f:
        pid = int(f.read()) - 1
    while os.path.exists(f"/proc/{pid}"):
        pid -= 1
    return pid


def test_no_such_process():
    pid = free_pid()
    r = run_at("-p", str(pid))
    assert r.returncode == EXIT_TARGET
    assert f"no process with pid {pid}" in one_line(r.stderr)


def test_no_such_process_json_error_object():
    r = run_at("-j", "-p", str(free_pid()))
    assert r.returncode == EXIT_TARGET
    assert "error" in json.loads(r.stdout)


def test_kernel_thread():
    r = run_at("-p", "2")
    assert r.returncode == EXIT_TARGET
    assert "kernel thread" in one_line(r.stderr)


@pytest.mark.parametrize("kind,err", [("missing", "No such file"),
                                      ("not-executable", "Permission denied")])
def test_command_cannot_run(tmp_path, kind, err):
    cmd = tmp_path / "prog"
    if kind == "not-executable":
        cmd.write_text("not a program\n")
        cmd.chmod(0o644)
    r = run_at("--", str(cmd))
    assert r.returncode == EXIT_TARGET
    line = one_line(r.stderr)
    assert f"cannot run '{cmd}'" in line and err in line


def test_target_exits_mid_trace(tmp_path):
    # The target ends on its own (cat at the end of its input) once arenatrace traces it.
    target = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    out, err = tmp_path / "out.json", tmp_path / "err"
    with open(err, "w") as e:
        tracer = subprocess.Popen([ARENATRACE, "-j", "-o", str(out), "-p", str(target.pid),
                                   "-d", "60"], stderr=e)
    try:
        wait_attached(str(err), tracer)
        target.stdin.close()
        assert target.wait(timeout=60) == 0
        assert tracer.wait(timeout=60) == EXIT_VANISHED
    finally:
        target.kill()
        tracer.kill()
    assert "exited before the end of the trace" in err.read_text()
    report = load(out)
    (p,) = report["processes"]
    assert p["pid"] == target.pid and p["exited"]


def test_without_privileges():
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "--inh-caps=-all", ARENATRACE, "-p", str(os.getpid())],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == EXIT_PRIV
    line = one_line(r.stderr)
    assert "CAP_BPF" in line and "CAP_PERFMON" in line


def test_tracefs_mounted_when_missing():
    script = (f"umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug 2>/dev/null; "
              f"{ARENATRACE} --dry-run && grep -c ' /sys/kernel/tracing tracefs' /proc/self/mounts")
    r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1"


def test_tracefs_cannot_be_mounted():
    script = (f"umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug 2>/dev/null; "
              f"mount -t tmpfs -o ro none /sys/kernel && {ARENATRACE} --dry-run")
    r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == EXIT_KERNEL
    assert "mount -t tracefs nodev /sys/kernel/tracing" in one_line(r.stderr)


def test_sigkill_leaves_target_running_and_removes_probes(tmp_path):
    go, truth = tmp_path / "go", tmp_path / "truth.json"
    target = subprocess.Popen([workload("app_syscalls")],
                              env=dict(os.environ, AT_GO=str(go), AT_TRUTH=str(truth)))
    err = tmp_path / "err"
    try:
        with open(err, "w") as e:
            tracer = subprocess.Popen([ARENATRACE, "-o", "/dev/null", "-p", str(target.pid)],
                                      stderr=e)
        wait_attached(str(err), tracer)
        ours = prog_ids(tracer.pid)
        assert ours and ours <= loaded_prog_ids()
        tracer.kill()
        tracer.wait()
        go.touch()
        assert target.wait(timeout=60) == 0
    finally:
        target.kill()
        tracer.kill()
    t = load(truth)
    assert t["munmap_bytes"] == 2 << 20
    # This arenatrace's programs (other instances may run beside it) are all gone.
    deadline = time.monotonic() + 30
    while ours & loaded_prog_ids() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not ours & loaded_prog_ids()


def test_no_such_cgroup():
    r = run_at("-a", "--cgroup", "no/such/cgroup", "-d", "1")
    assert r.returncode == EXIT_TARGET
    assert "no cgroup 'no/such/cgroup'" in one_line(r.stderr)


def test_prometheus_address_in_use():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = run_at("-a", "--prometheus", f"127.0.0.1:{port}", "-d", "1")
    assert r.returncode == 1
    assert "cannot serve metrics" in one_line(r.stderr)


def test_help_and_version():
    r = run_at("--help")
    assert r.returncode == 0 and "EXAMPLES" in r.stdout and "Exit status" in r.stdout
    r = run_at("--config-help")
    assert r.returncode == 0 and "ringbuf_bytes" in r.stdout
    r = run_at("-V")
    assert r.returncode == 0 and r.stdout.startswith("arenatrace ")


def test_output_file_kept_on_error(tmp_path):
    # -o never destroys an existing file before the trace has something to write: not on
    # a bad target, not on --dry-run; a file this run created and left empty is removed.
    keep = tmp_path / "keep"
    keep.write_text("precious\n")
    r = run_at("-o", str(keep), "-p", "999999")
    assert r.returncode == EXIT_TARGET, r.stderr
    r = run_at("-j", "-o", str(keep), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert keep.read_text() == "precious\n"
    fresh = tmp_path / "fresh"
    assert run_at("-o", str(fresh), "-p", "999999").returncode == EXIT_TARGET
    assert not fresh.exists()
    # In JSON mode a file of its own gets the error object.
    assert run_at("-j", "-o", str(fresh), "-p", "999999").returncode == EXIT_TARGET
    assert json.loads(fresh.read_text())["error"]


def test_output_planted_symlink_not_followed(tmp_path):
    # A link another user planted in a directory anyone can write (/tmp-like) is not
    # followed: the file it names stays as it was.
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    victim = tmp_path / "victim"
    victim.write_text("root's file\n")
    link = shared / "out.json"
    link.symlink_to(victim)
    os.lchown(link, 65534, 65534)
    r = run_at("-j", "-o", str(link), "-p", str(os.getpid()), "-d", "0.2")
    assert r.returncode == EXIT_USAGE
    assert "not followed" in one_line(r.stderr)
    assert victim.read_text() == "root's file\n"


def test_closed_output_ends_the_trace():
    # `arenatrace -p PID -i 0.2 | head -1`: once head is gone, the next write fails and the
    # trace ends by itself, with no error line (it used to run on until killed).
    target = subprocess.Popen(["sleep", "60"])
    try:
        r = subprocess.run(f"{ARENATRACE} -p {target.pid} -i 0.2 | head -1", shell=True,
                           capture_output=True, text=True, timeout=60,
                           executable="/bin/bash")
        assert r.returncode == 0
        assert r.stdout.startswith("arenatrace interval")
        assert "cannot write" not in r.stderr
    finally:
        target.kill()
        target.wait()


@pytest.mark.parametrize("script,status", [("exit 7", 7), ("exit 0", 0), ("kill -9 $$", 137)])
def test_command_status_is_returned(script, status):
    # Like time and strace: a traced command's exit status is arenatrace's (128 + N for a
    # signal N); arenatrace's own failures before it ran keep their codes (cannot run: 3).
    r = run_at("-o", "/dev/null", "--", "sh", "-c", script)
    assert r.returncode == status, r.stderr
    r = run_at("-o", "/dev/null", "--", "/nonexistent/command")
    assert r.returncode == EXIT_TARGET


def test_capacities_past_the_kernel_memory_budget():
    # The documented -C maximum of heap_stats would take about 14 GB of kernel memory on
    # 2 CPUs: refused before anything is loaded, naming the cost (issue 12).
    r = run_at("-C", "heap_stats=16777216", "-p", str(os.getpid()), "-d", "0.1")
    assert r.returncode == EXIT_USAGE
    line = one_line(r.stderr)
    assert "kernel memory" in line and "heap_stats" in line


@pytest.mark.parametrize("how", ["deleted", "long_path"])
def test_library_deleted_or_long_path(tmp_path, how):
    # A library deleted after the process mapped it (an upgrade) or under a path longer than
    # 255 bytes: the process is traced, not reported as exited, and its allocator is
    # probed through the file it really maps.
    libdir = tmp_path
    if how == "long_path":
        for i in range(6):
            libdir = libdir / ("d" * 60 + str(i))
    libdir.mkdir(parents=True, exist_ok=True)
    lib = libdir / "libjemalloc.so.2"
    shutil.copy("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", lib)
    target = subprocess.Popen(["sleep", "60"], env=dict(os.environ, LD_PRELOAD=str(lib)))
    try:
        until(lambda: str(lib) in open(f"/proc/{target.pid}/maps").read())
        if how == "deleted":
            lib.unlink()
        r = run_at("-v", "--level", "all", "-o", "/dev/null", "-d", "0.5", "-p",
                   str(target.pid))
        assert r.returncode == 0, r.stderr
        assert "jemalloc heap probes" in r.stderr
        assert "cannot" not in r.stderr and "exited" not in r.stderr
    finally:
        target.kill()
        target.wait()


def test_malformed_files_named_like_allocators(tmp_path):
    # 70 truncated copies of libjemalloc.so.2 and a garbage libmimalloc.so.2, mapped
    # executable by the target: each is skipped with a warning naming it, none takes one of
    # the 64 allocator ids, and the real libc is still probed. The warnings are rate-limited
    # (5 a call site, a message once): one line then says how many more, and the report's
    # drops count them (item 13).
    real = open("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", "rb").read()[:5000]
    paths = []
    for i in range(70):
        d = tmp_path / f"d{i}"
        d.mkdir()
        (d / "libjemalloc.so.2").write_bytes(real)
        paths.append(str(d / "libjemalloc.so.2"))
    (tmp_path / "libmimalloc.so.2").write_bytes(b"\x7fELF\x02\x01\x01" + os.urandom(20000))
    paths.append(str(tmp_path / "libmimalloc.so.2"))
    script = ("import mmap, os, sys, time\n"
              "m = [mmap.mmap(os.open(p, os.O_RDONLY), 0, prot=mmap.PROT_READ | mmap.PROT_EXEC,"
              " flags=mmap.MAP_PRIVATE) for p in sys.argv[1:]]\n"
              "print(os.getpid(), flush=True)\ntime.sleep(60)\n")
    target = subprocess.Popen(["python3", "-c", script, *paths], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert int(target.stdout.readline()) == target.pid
        r = run_at("-v", "--level", "all", "-d", "0.5", "-p", str(target.pid))
        assert r.returncode == 0, r.stderr
        assert "glibc heap probes" in r.stderr
        assert "allocator instances" not in r.stderr
        shown = re.findall(r"^arenatrace: '/proc/\d+/root(/\S+)' is named like (\w+) but is "
                           r"not a valid library: not probed$", r.stderr, re.M)
        assert len(shown) == 5, r.stderr
        assert all(p in paths and lib == ("mimalloc" if "mimalloc" in p else "jemalloc")
                   for p, lib in shown), shown
        more = re.findall(r"arenatrace: (\d+) more like this not shown: '/proc/\d+/root(/\S+)' "
                          r"is named like", r.stderr)
        assert len(more) == 1 and more[0][1] in paths, r.stderr
        # Every file once for each of the two levels that read files (heap, arena).
        assert 5 + int(more[0][0]) == 2 * len(paths)
        assert f"warnings_not_shown={more[0][0]}" in r.stdout
    finally:
        target.kill()
        target.wait()


def test_write_errors_are_failures(tmp_path):
    # Every write and the final close are checked: a full device, a file that refuses
    # writes and a filesystem that fills up give one line and exit status 1 (issue 12).
    me = str(os.getpid())
    for path in ("/dev/full", "/proc/version"):
        r = run_at("-j", "-o", path, "-p", me, "-d", "0.2")
        assert r.returncode == 1, (path, r.stderr)
        assert f"cannot write '{path}'" in r.stderr
    mnt = tmp_path / "small"
    mnt.mkdir()
    script = (f"mount -t tmpfs -o size=4k none {mnt} && "
              f"{ARENATRACE} -j --pretty -i 0.05 -o {mnt}/out.json -p {me} -d 0.5")
    r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1, r.stderr
    assert "No space left on device" in r.stderr


def test_ctrl_c_during_start_up_never_runs_the_command(tmp_path):
    # SIGINT at moments across the set-up (loading BPF, attaching, probing the command's
    # libraries): until arenatrace says "tracing", the command must never run, and no child
    # is left behind (item 10; 4 runs of 6 launched it before).
    for i, delay in enumerate((0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8)):
        mark, err = tmp_path / f"ran{i}", tmp_path / f"err{i}"
        with open(err, "w") as e:
            at = subprocess.Popen([ARENATRACE, "--level", "all", "-o", "/dev/null", "--", "sh",
                                   "-c", f"touch {mark}; sleep 30"], stderr=e)
        time.sleep(delay)
        at.send_signal(signal.SIGINT)
        rc = at.wait(timeout=60)
        said = err.read_text()
        assert rc in (0, -signal.SIGINT), (delay, rc, said)
        if "tracing" in said:
            continue  # the trace had begun: the command runs on, untouched, as documented
        time.sleep(0.2)
        assert not mark.exists(), (delay, said)
        left = subprocess.run(["pgrep", "-f", f"touch {mark}"], capture_output=True)
        assert left.returncode == 1, (delay, left.stdout)


def test_library_truncated_while_parsed(tmp_path):
    # A process maps a copy of a large library and truncates and rewrites it without pause
    # while arenatrace attaches at every level and parses it: arenatrace never dies of
    # SIGBUS (item 1: libelf used to read through mmap); it may skip the file.
    lib = tmp_path / "libjemalloc.so.2"
    data = open("/usr/lib/x86_64-linux-gnu/libc.so.6", "rb").read()
    lib.write_bytes(data)
    script = ("import mmap, os, sys, time\n"
              "p = sys.argv[1]\ndata = open(p, 'rb').read()\n"
              "m = mmap.mmap(os.open(p, os.O_RDONLY), 0, prot=mmap.PROT_READ | mmap.PROT_EXEC,"
              " flags=mmap.MAP_PRIVATE)\n"
              "print(os.getpid(), flush=True)\n"
              "while True:\n"
              "    fd = os.open(p, os.O_WRONLY)\n"
              "    os.ftruncate(fd, 4096)\n"
              "    os.pwrite(fd, data, 0)\n"
              "    os.close(fd)\n"
              "    time.sleep(0.003)\n")
    target = subprocess.Popen(["python3", "-c", script, str(lib)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert int(target.stdout.readline()) == target.pid
        for _ in range(12):
            r = run_at("--level", "all", "-o", "/dev/null", "-d", "0.1", "-p", str(target.pid))
            assert r.returncode == 0, (r.returncode, r.stderr)
            assert target.poll() is None
    finally:
        target.kill()
        target.wait()


def test_hostile_names_are_printable(tmp_path):
    # A library whose file name carries a terminal escape, a quote and a newline maps 8 MiB
    # during the trace, from a process whose comm carries an escape too (items 2, 9): the
    # text report shows both made printable (no ESC byte, no line of the attacker's), and
    # JSON keeps the exact names. A newline in a file name (\\012 in /proc/PID/maps) made
    # -p fail with "exited while arenatrace attached" before.
    name = 'e\x1b[2J"} 1\nbad 6\n.so'
    src = tmp_path / "grab.c"
    src.write_text("#include <sys/mman.h>\n"
                   "char *grab(unsigned long n) {\n"
                   "    char *p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,"
                   " -1, 0);\n"
                   "    for (unsigned long i = 0; i < n; i += 4096) p[i] = 1;\n"
                   "    return p;\n}\n")
    lib = tmp_path / name
    subprocess.run(["gcc", "-O0", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    go = tmp_path / "go"
    script = ("import ctypes, os, sys, time\n"
              "lib = ctypes.CDLL(sys.argv[1])\nlib.grab.restype = ctypes.c_void_p\n"
              "ctypes.CDLL(None).prctl(15, b'ev\\x1b[2Jil', 0, 0, 0)\n"
              "print(os.getpid(), flush=True)\n"
              "for go in sys.argv[2:]:\n"
              "    while not os.path.exists(go): time.sleep(0.01)\n"
              "    lib.grab(8 << 20)\n    print('done', flush=True)\n"
              "time.sleep(60)\n")
    target = subprocess.Popen(["python3", "-c", script, str(lib), f"{go}.text", f"{go}.json"],
                              stdout=subprocess.PIPE, text=True)
    out, err = tmp_path / "out.txt", tmp_path / "err"
    try:
        pid = int(target.stdout.readline())
        for fmt, path in (("text", out), ("json", tmp_path / "out.json")):
            with open(err, "w") as e:
                at = subprocess.Popen([ARENATRACE, "-o", str(path), "-p", str(pid)] +
                                      (["-j"] if fmt == "json" else []), stderr=e)
            wait_attached(str(err), at)
            (tmp_path / f"go.{fmt}").touch()
            assert target.stdout.readline() == "done\n"
            assert interrupt(at) == 0, err.read_text()
    finally:
        target.kill()
        target.wait()
    text = out.read_bytes()
    assert b"\x1b" not in text
    assert not any(line.startswith(b"bad 6") for line in text.splitlines())
    assert b"8.0 MiB" in text
    # JSON: the exact names, escaped by the JSON writer.
    report = json.loads((tmp_path / "out.json").read_text())
    (p,) = [x for x in report["processes"] if x["pid"] == pid]
    assert p["comm"] == "ev\x1b[2Jil"
    assert name in [a["name"] for a in p["allocators"]], [a["name"] for a in p["allocators"]]


@pytest.mark.parametrize("content,needle", [
    ("not json\n", "is not an arenatrace JSON report"),
    ('{"a": 1}', "is not an arenatrace JSON report"),
    ('{"schema_version": 1, "processes": {}}', "is not an arenatrace JSON report"),
    ("[1, 2]", "is not an arenatrace JSON report"),
    ("", "is not an arenatrace JSON report"),
    ('{"schema_version": 1, "error": "no such process"}', "run that failed: no such process"),
])
def test_report_not_a_report(tmp_path, content, needle):
    # arenatrace report (and diff) on a file that is no report: one line, a usage error,
    # and the output is left alone.
    bad, out = tmp_path / "bad.json", tmp_path / "out.html"
    bad.write_text(content)
    out.write_text("kept\n")
    for cmd in (["report", str(bad), "-o", str(out)], ["diff", str(bad), str(bad)]):
        r = run_at(*cmd)
        assert r.returncode == EXIT_USAGE, r.stderr
        assert needle in one_line(r.stderr)
    assert out.read_text() == "kept\n"


def test_report_usage_and_files(tmp_path):
    good, out = tmp_path / "good.json", tmp_path / "out.html"
    good.write_text('{"schema_version": 1, "processes": []}')
    for args, code, needle in (
            ([], EXIT_USAGE, "needs 1 to 8 JSON reports"),
            ([str(good)] * 9, EXIT_USAGE, "needs 1 to 8 JSON reports"),
            (["-x", str(good)], EXIT_USAGE, "unknown option '-x'"),
            ([str(good), "-o"], EXIT_USAGE, "'-o' needs a value"),
            ([str(tmp_path / "missing.json")], 1, "cannot read"),
            ([str(tmp_path)], 1, "Is a directory"),
            ([str(good), "-o", str(tmp_path / "no" / "dir.html")], 1, "cannot write"),
            ([str(good), "-o", "/dev/full"], 1, "No space left on device")):
        r = run_at("report", *args)
        assert r.returncode == code, (args, r.stderr)
        assert needle in one_line(r.stderr), args
    assert os.path.exists("/dev/full") and not os.path.isfile("/dev/full")
    assert not [f for f in os.listdir(tmp_path) if f.startswith("out.html")]
    r = run_at("report", str(good), "-o", str(out))
    assert r.returncode == 0 and r.stderr == "" and "<html" in out.read_text()
    assert sorted(os.listdir(tmp_path)) == ["good.json", "out.html"]  # no temporary left
    # diff writes to the terminal only, and says where the page is.
    r = run_at("diff", str(good), str(good), "-o", str(out))
    assert r.returncode == EXIT_USAGE and "arenatrace report" in one_line(r.stderr)
    r = run_at("report", "--help")
    assert r.returncode == 0 and "arenatrace report" in r.stdout
    # A link planted by another user in a directory anyone can write is not followed.
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    victim = tmp_path / "victim"
    victim.write_text("root's file\n")
    link = shared / "out.html"
    link.symlink_to(victim)
    os.lchown(link, 65534, 65534)
    r = run_at("report", str(good), "-o", str(link))
    assert r.returncode == EXIT_USAGE and "not followed" in one_line(r.stderr)
    assert victim.read_text() == "root's file\n"
