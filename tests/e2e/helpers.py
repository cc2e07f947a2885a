# SPDX-License-Identifier: GPL-2.0-only
"""Running arenatrace and the workloads for the end-to-end tests."""
import json
import os
import re
import signal
import subprocess
import time

OUTPUT = os.environ.get("AT_OUTPUT", os.path.abspath(os.path.join(
    os.path.dirname(__file__), "..", "..", ".output")))
# AT_ARENATRACE: another build of it (make sanitized), with this output's workloads.
ARENATRACE = os.environ.get("AT_ARENATRACE", os.path.join(OUTPUT, "arenatrace"))
STRACE = ["strace", "-qq", "-ff", "-k", "-ttt",
          "-e", "trace=execve,getppid,mmap,munmap,mremap,brk,madvise,mprotect"]


def workload(name):
    return os.path.join(OUTPUT, "workloads", name)


def wait_file(path, proc=None, timeout=300):
    """Waits for a file; fails early if proc (a Popen) ended first."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{proc.args[0]} exited with {proc.returncode} early")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {path}")
        time.sleep(0.05)


def until(what, timeout=60):
    """Polls what() until it gives something true, which it returns; fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = what()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out: {what.__doc__}")
        time.sleep(0.2)


def wait_attached(err_path, proc, timeout=120, text="tracing"):
    """Waits until arenatrace (proc, its stderr in err_path) says text: by default its
    'tracing' line, once every probe of its targets is in place."""
    deadline = time.monotonic() + timeout
    while True:
        with open(err_path) as f:
            if text in f.read():
                return
        if proc.poll() is not None:
            with open(err_path) as f:
                raise AssertionError("arenatrace ended early: " + f.read())
        if time.monotonic() > deadline:
            raise AssertionError(f"arenatrace did not say {text!r}")
        time.sleep(0.05)


def interrupt(proc, timeout=120):
    proc.send_signal(signal.SIGINT)
    return proc.wait(timeout=timeout)


def load(path):
    with open(path) as f:
        return json.load(f)


def process(report, comm):
    procs = [p for p in report["processes"] if p["comm"] == comm]
    assert procs, f"no process {comm} in {[p['comm'] for p in report['processes']]}"
    return procs[-1]


def allocator(proc, name):
    for a in proc["allocators"]:
        if a["name"] == name:
            return a
    return None


def prog_ids(pid):
    """The ids of the BPF programs process pid holds open (their fdinfo)."""
    ids = set()
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            text = open(f"/proc/{pid}/fdinfo/{fd}").read()
        except OSError:
            continue
        ids |= {int(x) for x in re.findall(r"^prog_id:\s+(\d+)$", text, re.M)}
    return ids


def loaded_prog_ids():
    """The ids of the BPF programs loaded now."""
    r = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                       check=True)
    return {p["id"] for p in json.loads(r.stdout)}


def bpf_progs():
    """The names of the BPF programs loaded now (bpftool)."""
    r = subprocess.run(["bpftool", "prog", "show"], capture_output=True, text=True, check=True)
    return r.stdout


def assert_no_drops(report):
    assert all(v == 0 for v in report["drops"].values()), report["drops"]


class Run:
    """One traced run of a workload. mode: 'launch' (-- CMD) or 'attach' (-p PID).
    strace: run the workload under strace -ff -k for the oracle. hold: keep the workload
    alive after its truth is written until arenatrace has reported (for residency).
    wargs: the workload's own arguments."""

    def __init__(self, tmp_path, name, mode="launch", strace=False, hold=True, args=(),
                 shell=False, env=None, wargs=()):
        self.tracer = self.target = None
        tmp_path.mkdir(parents=True, exist_ok=True)
        try:
            self._run(tmp_path, name, mode, strace, hold, args, shell, env or {}, wargs)
        finally:
            # Never leave a tracer or a waiting workload behind a failed assertion.
            for p in (self.tracer, self.target):
                if p is not None and p.poll() is None:
                    p.kill()
                    p.wait()

    def _run(self, tmp_path, name, mode, strace, hold, args, shell, extra_env, wargs):
        self.tmp = tmp_path
        self.name = name
        self.truth_path = str(tmp_path / "truth.json")
        self.hold_path = str(tmp_path / "hold")
        self.go_path = str(tmp_path / "go")
        self.out_path = str(tmp_path / "out.json")
        self.err_path = str(tmp_path / "err.txt")
        self.strace_prefix = str(tmp_path / "strace")
        env = {"AT_TRUTH": self.truth_path, **extra_env}
        if hold:
            env["AT_HOLD"] = self.hold_path
        cmd = [workload(name), *wargs]
        if shell:
            cmd = ["sh", "-c", f"{cmd[0]}; true"]
        if strace:
            cmd = STRACE + ["-o", self.strace_prefix] + \
                [f"-E{k}={v}" for k, v in env.items()] + cmd
            child_env = os.environ.copy()
        else:
            child_env = dict(os.environ, **env)
        # The workloads check the heap level's figures too: every level is traced unless
        # the test names its own (the default, without heap, has tests of its own).
        levels = [] if "--level" in args else ["--level", "os,arena,heap"]
        at = [ARENATRACE, "-j", "-o", self.out_path, "-C", "sample_ms=100", *levels, *args]
        err = open(self.err_path, "w")
        if mode == "launch":
            self.tracer = subprocess.Popen(at + ["--"] + cmd, stderr=err, env=child_env)
            self.target = None
        else:
            assert not strace, "the strace oracle is for launch mode"
            child_env["AT_GO"] = self.go_path
            self.target = subprocess.Popen(cmd, env=child_env)
            self.tracer = subprocess.Popen(at + ["-p", str(self.target.pid)], stderr=err)
            wait_attached(self.err_path, self.tracer)
            open(self.go_path, "w").close()
        wait_file(self.truth_path, self.tracer)
        self.truth = load(self.truth_path)
        if hold:
            self.rc = interrupt(self.tracer)
            open(self.hold_path, "w").close()
        else:
            self.rc = self.tracer.wait(timeout=300)
        if self.target is not None:
            self.target_rc = self.target.wait(timeout=120)
        with open(self.err_path) as f:
            self.stderr = f.read()
        assert self.rc == 0, self.stderr
        self.report = load(self.out_path)
        self.proc = process(self.report, name[:15])


def map_dump(name, pid=None):
    """The entries of the BPF maps called name: of the arenatrace whose pid is given only
    (other arenatrace instances on a shared machine have maps of that name too), or all."""
    if pid is None:
        return json.loads(subprocess.run(["bpftool", "-j", "map", "dump", "name", name],
                                         capture_output=True, text=True, check=True).stdout)
    # The maps the process holds: the map_id of each of its descriptors (fdinfo).
    ids = set()
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                ids |= {int(l.split()[1]) for l in f if l.startswith("map_id:")}
        except OSError:
            pass
    maps = json.loads(subprocess.run(["bpftool", "-j", "map", "show"], capture_output=True,
                                     text=True, check=True).stdout)
    entries = []
    for m in maps:
        if m.get("name") == name and m["id"] in ids:
            entries += json.loads(subprocess.run(
                ["bpftool", "-j", "map", "dump", "id", str(m["id"])], capture_output=True,
                text=True, check=True).stdout)
    return entries


def map_tgids(name, words, shift=0, pid=None):
    """The tgids in a BPF map's entries (of arenatrace pid, if given): words(entry) gives
    the little-endian hex byte lists that hold one, shifted right by shift bits; 0 (a free
    slot) is left out."""
    return {v >> shift for e in map_dump(name, pid) for w in words(e)
            if (v := int.from_bytes(bytes(int(b, 16) for b in w), "little"))}


def diff_demo_runs(tmp_path):
    """make demo's churn (diff_demo) traced under glibc and under jemalloc, preloaded into
    the command's environment, not arenatrace's own (as make demo does it): the JSON
    reports' paths."""
    paths = []
    for name, preload in (("glibc", None),
                          ("jemalloc", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")):
        out = tmp_path / f"{name}.json"
        pre = ["env", f"LD_PRELOAD={preload}"] if preload else []
        r = subprocess.run([ARENATRACE, "-C", "sample_ms=100", "-d", "2", "-j", "-o",
                            str(out), "--", *pre, workload("diff_demo"), "3", "3"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        paths.append(out)
    return paths
