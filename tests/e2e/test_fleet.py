# SPDX-License-Identifier: GPL-2.0-only
"""Fleet mode: -a picks up new processes from their exec, with filters; a real Prometheus
server scrapes the exporter and its HTTP API gives back the workload's truth; NDJSON
streams events and snapshots; churn keeps arenatrace bounded; SIGKILL harms nothing."""
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import time
import urllib.parse
import urllib.request

from helpers import ARENATRACE, bpf_progs, interrupt, load, loaded_prog_ids, map_dump, \
    map_tgids, prog_ids, until, \
    wait_attached, wait_file, workload


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


def metrics(port):
    """The exporter's samples, as {name{labels}: value}."""
    out = {}
    for line in get(f"http://127.0.0.1:{port}/metrics").splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


class Fleet:
    """arenatrace -a with args, its stderr in tmp_path/err."""

    def __init__(self, tmp_path, *args):
        self.err = tmp_path / "err"
        with open(self.err, "w") as e:
            # An ASan build holds freed blocks back (its quarantine, up to 256 MiB): with
            # none, its RSS follows arenatrace's own heap, so that growth can be measured.
            env = dict(os.environ, ASAN_OPTIONS="quarantine_size_mb=0:" +
                       os.environ.get("ASAN_OPTIONS", ""))
            self.proc = subprocess.Popen([ARENATRACE, "-a", "-C", "sample_ms=200", *args],
                                         stderr=e, stdout=subprocess.DEVNULL, env=env)
        wait_attached(str(self.err), self.proc)

    def stop(self):
        if self.proc.poll() is None:
            assert interrupt(self.proc) == 0, self.err.read_text()


def start_workload(tmp_path, name, *args, env=None):
    paths = {k: tmp_path / k for k in ("go", "truth", "hold")}
    e = dict(os.environ, AT_GO=str(paths["go"]), AT_TRUTH=str(paths["truth"]),
             AT_HOLD=str(paths["hold"]), **(env or {}))
    return subprocess.Popen([workload(name), *args], env=e), paths


def test_prometheus_scrapes_the_truth(tmp_path):
    port = free_port()
    # Running before arenatrace starts (found by its scan of /proc): its live bytes count
    # from the attach, as the workload counts them from its go signal.
    target, paths = start_workload(tmp_path, "heap_calls")
    # The heap level's live bytes (--no-books: the books would count the blocks from
    # before the attach too, which the workload does not).
    fleet = Fleet(tmp_path, "--comm", "heap_calls", "--level", "os,arena,heap", "--no-books",
                  "--prometheus", f"127.0.0.1:{port}")
    prom, api = start_prometheus(tmp_path, port)
    try:
        pid = target.pid
        key = f'arenatrace_process_rss_bytes{{pid="{pid}",comm="heap_calls",cgroup="'
        until(lambda: any(k.startswith(key) for k in metrics(port)))
        paths["go"].touch()
        wait_file(str(paths["truth"]), target)
        truth = load(paths["truth"])

        def query(q):
            """Prometheus answers the query"""
            url = f"{api}query?" + \
                urllib.parse.urlencode({"query": q})
            try:
                res = json.loads(get(url))["data"]["result"]
            except OSError:
                return None
            return res[0]["value"][1] if res else None

        live = f'arenatrace_live_bytes{{pid="{pid}",allocator="glibc"}}'

        def live_is_truth():
            """Prometheus has the workload's live bytes"""
            v = query(live)
            return v is not None and int(float(v)) == truth["live_bytes"]

        until(live_is_truth)
        assert int(float(query(live))) == truth["live_bytes"]
        assert float(query(f'arenatrace_mapped_bytes{{pid="{pid}",allocator="glibc"}}')) > 0
        assert float(query('sum(arenatrace_drops_total)')) == 0
        assert float(query('arenatrace_processes')) >= 1
        assert float(query('process_resident_memory_bytes')) > 0
    finally:
        prom.terminate()
        prom.wait(timeout=60)
        paths["hold"].touch()
        try:
            target.wait(timeout=60)
        finally:
            fleet.stop()
            fleet.proc.kill()  # never left behind, whatever failed


def test_ndjson_stream(tmp_path):
    out = tmp_path / "out.ndjson"
    target, paths = start_workload(tmp_path, "heap_calls")
    time.sleep(0.5)  # running before arenatrace, as above
    fleet = Fleet(tmp_path, "--comm", "heap_calls", "--level", "os,arena,heap", "--ndjson",
                  "-i", "0.5", "-o", str(out))
    try:
        paths["go"].touch()
        wait_file(str(paths["truth"]), target)
        truth = load(paths["truth"])

        def snapshot_lines():
            # Whole lines only; a later snapshot may catch the process freeing at its exit.
            return [l for l in out.read_text().rsplit("\n", 1)[0].splitlines()
                    if json.loads(l)["type"] == "snapshot"]
        # The second snapshot from now was sampled after the workload wrote its truth.
        before = len(snapshot_lines())
        holding = until(lambda: (l := snapshot_lines())[before + 1:] and l)
    finally:
        paths["hold"].touch()
        target.wait(timeout=60)
        fleet.stop()
    lines = [json.loads(l) for l in out.read_text().splitlines()]
    events = [l for l in lines if l["type"] == "event" and l["pid"] == target.pid]
    snaps = [json.loads(l) for l in holding]
    assert any(e["event"] == "exit" for e in events)
    assert any(e["event"] == "mmap" for e in events)
    held = [p for s in snaps for p in s["processes"] if p["pid"] == target.pid]
    glibc = [a for a in held[-1]["allocators"] if a["name"] == "glibc"][0]
    assert glibc["live_bytes"] == truth["live_bytes"]
    assert glibc["alloc_count"] is not None


def run_filtered(tmp_path, fleet_args, commands, ready=None):
    """Runs each command (argv, or a shell string) with the truth protocol under
    arenatrace -a, interrupts arenatrace while they hold, and returns the report and the
    pids. ready: a pattern arenatrace's stderr must match before the commands work (AT_GO)."""
    out = tmp_path / "out.json"
    fleet = Fleet(tmp_path, *fleet_args, "-j", "-o", str(out))
    procs = []
    try:
        for i, cmd in enumerate(commands):
            d = tmp_path / str(i)
            d.mkdir()
            env = dict(os.environ, AT_TRUTH=str(d / "truth"), AT_HOLD=str(d / "hold"))
            if ready:
                env["AT_GO"] = str(d / "go")
            procs.append((subprocess.Popen(cmd, env=env, shell=isinstance(cmd, str)), d))
        if ready:
            until(lambda: re.search(ready, fleet.err.read_text()), timeout=60)
            for p, d in procs:
                (d / "go").touch()
        for p, d in procs:
            wait_file(str(d / "truth"), p)
        time.sleep(0.5)  # a sample of the held state
        fleet.stop()
    finally:
        for p, d in procs:
            (d / "hold").touch()
            p.wait(timeout=60)
        fleet.proc.kill()
    return load(out), [p.pid for p, d in procs]


def cgroup2_root():
    with open("/proc/self/mounts") as f:
        for line in f:
            dev, path, fstype = line.split()[:3]
            if fstype == "cgroup2":
                return path
    raise AssertionError("no cgroup v2 hierarchy mounted")


def test_cgroup_filter(tmp_path):
    cg = os.path.join(cgroup2_root(), "arenatrace-test")
    os.makedirs(cg, exist_ok=True)
    try:
        rep, (inside, outside) = run_filtered(
            tmp_path, ["--cgroup", "arenatrace-test"],
            [f"echo $$ > {cg}/cgroup.procs && exec {workload('retain')} pin",
             [workload("retain"), "pin"]])
    finally:
        # The cgroup empties once the kernel has released its last task.
        until(lambda: subprocess.run(["rmdir", cg]).returncode == 0 or not os.path.exists(cg),
              timeout=30)
    pids = {p["pid"]: p for p in rep["processes"]}
    assert inside in pids and outside not in pids
    glibc = [a for a in pids[inside]["allocators"] if a["name"] == "glibc"][0]
    assert glibc["mapped_bytes"] >= 40000 * 1000  # traced from its exec in the cgroup


def test_comm_and_min_rss_filters(tmp_path):
    rep, (big, small, other) = run_filtered(
        tmp_path, ["--comm", "retain", "--min-rss", "20M"],
        [[workload("retain"), "pin"], [workload("retain"), "all"],
         [workload("je_retain"), "idle"]])
    pids = {p["pid"] for p in rep["processes"]}
    assert big in pids and small not in pids and other not in pids
    assert all(p["rss_bytes"] >= 20 << 20 for p in rep["processes"])


def test_churn_stays_bounded(tmp_path):
    """Hundreds of short-lived processes a second for a minute, at every level: arenatrace's
    memory and its maps stay bounded, nothing crashes, every child ran correctly. With
    --stacks, glibc's blocks go into the live-block table too (of 4096 here), where the
    blocks of exited processes must not stay."""
    port = free_port()
    fleet = Fleet(tmp_path, "--comm", "churn", "--comm", "true", "--level", "os,arena,heap",
                  "--stacks", "-C", "heap_live=4096", "--prometheus", f"127.0.0.1:{port}")
    target, paths = start_workload(tmp_path, "churn", env={"AT_CHURN_S": "60"})
    rss, procs, traced = [], [], []
    try:
        paths["go"].touch()
        while target.poll() is None and not paths["truth"].exists():
            m = metrics(port)
            rss.append(m["process_resident_memory_bytes"])
            procs.append(m["arenatrace_processes"])
            traced.append(len(map_dump("traced", fleet.proc.pid)))
            time.sleep(2)
        truth = load(paths["truth"])
        m = metrics(port)
        # The blocks of exited processes leave the table once their exits are handled
        # (arenatrace may be a second behind the churn): live processes' only, in time.
        deadline = time.monotonic() + 20
        while True:
            table = map_tgids("heap_table", lambda e: [
                e["value"][off:off + 8] for off in range(0, 64, 16)], shift=44 - 10,
                pid=fleet.proc.pid)
            overflow = map_tgids("heap_live", lambda e: [e["key"][:4]], pid=fleet.proc.pid)
            dead = [t for t in table | overflow if not os.path.exists(f"/proc/{t}")]
            if not dead or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        paths["hold"].touch()
        target.wait(timeout=60)
        fleet.stop()
    assert target.pid in table  # the table was used
    assert not dead
    # A process gone before its probes were attached is normal under churn, no error.
    assert "cannot attach" not in fleet.err.read_text()
    assert truth["started"] >= 60 * 100 and truth["ok"] == truth["started"]
    # Bounded: after the first quarter, arenatrace's RSS grows by less than 8 MiB, and it
    # keeps only the processes alive now plus those that exited since the last sample
    # (200 ms of churn, pruned at the next), a number that does not grow with time.
    settled = rss[len(rss) // 4:]
    assert max(settled) - min(settled) < 8 << 20, rss
    # With --stacks arenatrace keeps each library's symbols and DWARF line tables for the
    # frames' file:line (libc6-dbg's libc: about 15 MiB here); the fleet's 64 MiB target is
    # for the default levels (docs/performance.md).
    assert max(rss) < 96 << 20
    # Not a timing bound: a sample delayed on a loaded machine keeps more exited processes
    # for a moment, but kept for good they would add up to the whole churn (18,000 here).
    # So: never more than two seconds of churn, and the median does not grow.
    rate = truth["started"] / 60
    half = len(procs) // 2
    for series in (procs, traced):  # traced: the kernel's map, live processes only
        assert max(series) < 3 + rate * 2, series
        assert statistics.median(series[half:]) <= 1.5 * statistics.median(series[1:half]) + 5, \
            series
    assert m["arenatrace_events_total"] > truth["started"]


def test_sigkill_leaves_processes_running_and_correct(tmp_path):
    fleet = Fleet(tmp_path, "--comm", "heap_calls", "--level", "os,arena,heap")
    target, paths = start_workload(tmp_path, "heap_calls")
    try:
        time.sleep(1)
        paths["go"].touch()
        time.sleep(0.2)
        assert "heap_enter" in bpf_progs()
        ours = prog_ids(fleet.proc.pid)
        fleet.proc.kill()  # mid-trace, probes attached to libc for every process
        fleet.proc.wait()
        wait_file(str(paths["truth"]), target)
        paths["hold"].touch()
        assert target.wait(timeout=120) == 0
    finally:
        fleet.proc.kill()
        target.kill()
    truth = load(paths["truth"])
    assert truth["allocs"] - truth["frees"] == truth["live_objects"]
    # The kernel removed every program with arenatrace's last file descriptor.
    # (Its own programs: other instances may run beside it.)
    assert ours
    until(lambda: not ours & loaded_prog_ids(), timeout=30)


def test_other_mount_namespace(tmp_path):
    """A program that exists only in its own mount namespace (as in a container) is found
    through /proc/PID/root: its bumpalo arena is probed and exact. (A new program's own
    file is probed when arenatrace handles its exec, a few milliseconds in, or more on a
    busy machine: the workload waits until arenatrace says so of the arena probes, which
    come after the heap probes of the jemalloc linked into the same file; libc and the
    allocator libraries are probed from the start.)"""
    script = ("mkdir -p /tmp/at-ns && mount -t tmpfs none /tmp/at-ns && "
              f"cp {workload('rust_bump')} /tmp/at-ns/rust_ns && exec /tmp/at-ns/rust_ns reset")
    rep, (pid,) = run_filtered(
        tmp_path, ["-v", "--comm", "rust_ns", "--level", "os,arena,heap"],
        [["unshare", "--mount", "--propagation", "private", "sh", "-c", script]],
        ready=r"arena probes in '\S*/tmp/at-ns/rust_ns'")
    assert not os.path.exists("/tmp/at-ns/rust_ns")  # not in arenatrace's namespace
    truth = load(tmp_path / "0" / "truth")
    (proc,) = [p for p in rep["processes"] if p["pid"] == pid]
    (bump,) = [a for a in proc["arenas"] if a["type"] == "bumpalo" and not a["ended"]]
    assert bump["bytes"] == truth["allocated_bytes"]


def test_scrapes_served_past_slow_and_idle_clients(tmp_path):
    # Slowloris (issue 12): 200 idle sockets and 64 clients sending one header line every
    # 3 s for 15 s do not keep a scraper out: every scrape in that time is served.
    port = free_port()
    fleet = Fleet(tmp_path, "--comm", "no-such-comm", "--prometheus",
                  f"127.0.0.1:{port}")
    idle, slow = [], []
    try:
        until(lambda: "arenatrace_processes" in get(f"http://127.0.0.1:{port}/metrics"))
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(200)]
        slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(64)]
        for s in slow:
            s.sendall(b"GET /metrics HTTP/1.1\r\n")
        served, deadline = 0, time.monotonic() + 15
        next_drip = time.monotonic() + 3
        while time.monotonic() < deadline:
            assert "arenatrace_processes" in get(f"http://127.0.0.1:{port}/metrics")
            served += 1
            if time.monotonic() >= next_drip:
                for s in slow:
                    try:
                        s.sendall(b"X-Slow: 1\r\n")
                    except OSError:
                        pass  # closed for its silence: that is the defence
                next_drip += 3
            time.sleep(0.5)
        assert served >= 20
    finally:
        for s in idle + slow:
            s.close()
        fleet.stop()


ID64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"


def start_prometheus(tmp_path, port):
    """Debian's Prometheus on loopback, scraping arenatrace at port every second; its
    Popen and its API's address."""
    prom_port = free_port()
    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n"
        f"scrape_configs:\n  - job_name: arenatrace\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{port}']\n")
    prom = subprocess.Popen(["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
                             f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{prom_port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return prom, f"http://127.0.0.1:{prom_port}/api/v1/"


def promql(api, q):
    """An instant query's result: [(labels, value)]; [] while Prometheus is not up."""
    try:
        res = json.loads(get(api + "query?" + urllib.parse.urlencode({"query": q})))
    except OSError:
        return []
    return [(r["metric"], float(r["value"][1])) for r in res["data"]["result"]]


def scraped_at(api, q, start):
    """The times (seconds) Prometheus has a sample of q's one series since start, at each
    second (query_range: none while the series was stale)."""
    res = json.loads(get(api + "query_range?" + urllib.parse.urlencode(
        {"query": q, "start": start, "end": time.time(), "step": "1s"})))["data"]["result"]
    assert len(res) <= 1, res
    return [float(t) for t, v in res[0]["values"]] if res else []


def test_counters_never_fall_labels_say_whose(tmp_path):
    """Five processes take turns being large under arenatrace -a -C prom_top=2 -i 1, one
    exiting early, scraped by a real Prometheus: no counter of any series ever falls, the
    processes move in and out of the top, the series of the one that exited end, the
    returns summed over every series are the workloads' own, the labels carry each one's
    cgroup v2 path, unit and container id, and hostile names come out escaped. (systemd is
    not running on the CI machines, so no systemd-run: the units are cgroups named as
    systemd names them.)"""
    parent = os.path.join(cgroup2_root(), "at-fleet-e2e.slice")
    docker = os.path.join(parent, f"docker-{ID64}.scope")
    weird = os.path.join(parent, 'we"ird\\name.service')  # the kernel refuses newlines
    for d in (docker, weird):
        os.makedirs(d, exist_ok=True)
    hostile = tmp_path / 'fc"q\\z'  # a comm with a quote and a backslash
    shutil.copy(workload("fleet_churn"), hostile)
    port = free_port()
    fleet = Fleet(tmp_path, "--comm", "fleet_churn", "--comm", hostile.name, "-C", "prom_top=2",
                  "-i", "1", "--prometheus", f"127.0.0.1:{port}")
    prom, api = start_prometheus(tmp_path, port)
    churn = workload("fleet_churn")
    # (argv, cgroup): INDEX N PHASE_S PHASES; the last one is big in the first phase only
    # and exits after two.
    specs = [([churn, "0", "4", "2", "12"], docker), ([churn, "1", "4", "2", "12"], weird),
             ([churn, "2", "4", "2", "12"], None), ([str(hostile), "3", "4", "2", "12"], None),
             ([churn, "0", "4", "2", "2"], None)]
    go = tmp_path / "go"
    procs = []
    try:
        until(lambda: promql(api, "arenatrace_processes"))
        for i, (argv, cg) in enumerate(specs):
            env = dict(os.environ, AT_GO=str(go), AT_TRUTH=str(tmp_path / f"truth{i}"))
            if i < 4:
                env["AT_HOLD"] = str(tmp_path / "hold")
            if cg:
                env["CG"] = cg
                argv = ["sh", "-c", 'echo $$ > "$CG/cgroup.procs" && exec "$@"', "sh", *argv]
            procs.append(subprocess.Popen(argv, env=env))
        pids = [p.pid for p in procs]
        start = time.time()
        go.touch()
        for i, p in enumerate(procs):
            wait_file(str(tmp_path / f"truth{i}"), p)
        truths = [load(tmp_path / f"truth{i}") for i in range(len(procs))]
        assert procs[4].wait(timeout=60) == 0
        want = {kind: sum(t[f"{key}_bytes"] for t in truths)
                for kind, key in (("munmap", "munmap"), ("madv_dontneed", "dontneed"))}

        got = {}

        def total(kind):
            r = promql(api, "sum(last_over_time(arenatrace_returned_bytes_total"
                            f'{{allocator="app",kind="{kind}"}}[10m]))')
            got[kind] = r and r[0][1]
            return r and r[0][1] == want[kind]

        def totals():
            """every byte the workloads returned is in the series, exactly once"""
            return total("munmap") and total("madv_dontneed")

        try:
            until(totals)
        except AssertionError:
            raise AssertionError(f"{got} != {want}: " + get(f"http://127.0.0.1:{port}/metrics"))
        # The exited process's series ended: none now, though it had some.
        gone = pids[4]
        until(lambda: not promql(api, f'arenatrace_process_rss_bytes{{pid="{gone}"}}'))
        text = get(f"http://127.0.0.1:{port}/metrics")
        # No counter ever fell: resets() over the raw samples of every counter and
        # histogram series of the run.
        names = [n for n in json.loads(get(api + "label/__name__/values"))["data"]
                 if re.search(r"_total$|_bucket$|_count$", n)]
        resets = [r for n in names for r in promql(api, f'resets({n}{{job="arenatrace"}}[10m])')]
        seen = {p: scraped_at(api, f'arenatrace_process_rss_bytes{{pid="{p}"}}', start)
                for p in pids}
        labels = {p: promql(api, f'last_over_time(arenatrace_process_rss_bytes{{pid="{p}"}}[10m])')
                  for p in pids[:4]}
        other = promql(api, 'last_over_time(arenatrace_returned_bytes_total'
                            '{pid="other",allocator="app",kind="munmap"}[10m])')
    finally:
        prom.terminate()
        prom.wait(timeout=60)
        (tmp_path / "hold").touch()
        try:
            for p in procs:
                p.wait(timeout=60)
        finally:
            fleet.stop()
            fleet.proc.kill()  # never left behind, whatever failed
        for d in (docker, weird, parent):
            until(lambda: subprocess.run(["rmdir", d], capture_output=True).returncode == 0
                  or not os.path.exists(d), timeout=30)
    assert len(resets) > 50, resets
    assert [r for r in resets if r[1] != 0] == []
    # The processes moved in and out of the top two: the first three had their own series
    # while their ballast was in, none between (a gap), and theirs again at the next turn;
    # the fourth (16 MiB at least) was always there; the one that exited had series.
    for p in pids[:3]:
        assert any(b - a > 2 for a, b in zip(seen[p], seen[p][1:])), (p, seen[p])
    assert seen[pids[3]] and seen[gone]
    assert other and other[0][1] > 0
    # Whose memory: cgroup v2 path, unit, container id; quotes and backslashes survive.
    (l0, _), = labels[pids[0]]
    assert l0["cgroup"] == f"/at-fleet-e2e.slice/docker-{ID64}.scope"
    assert l0["unit"] == f"docker-{ID64}.scope" and l0["container"] == ID64
    assert l0["comm"] == "fleet_churn"
    (l1, _), = labels[pids[1]]
    assert l1["cgroup"] == '/at-fleet-e2e.slice/we"ird\\name.service'
    assert l1["unit"] == 'we"ird\\name.service' and "container" not in l1
    (l3, _), = labels[pids[3]]
    assert l3["comm"] == 'fc"q\\z'
    with open("/proc/self/cgroup") as f:  # the test's own, which the workload inherited
        assert l3["cgroup"] == f.read().split("0::", 1)[1].rstrip("\n")
    # The exposition as served is clean for promtool, hostile names and all.
    # (The last phase has the fourth process in the top: its hostile comm is served.)
    assert 'comm="fc\\"q\\\\z"' in text
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_textfile(tmp_path):
    """--textfile: the metrics for node_exporter's textfile collector, written at the start,
    at each report and at the end by renaming a complete file over the path: at the end it
    holds the workload's returns exactly, promtool finds it clean, and no temporary file is
    left in the directory."""
    out = tmp_path / "textfile" / "arenatrace.prom"
    out.parent.mkdir()
    fleet = Fleet(tmp_path, "--comm", "fleet_churn", "-i", "0.5", "--textfile", str(out))
    env = dict(os.environ, AT_TRUTH=str(tmp_path / "truth"), AT_HOLD=str(tmp_path / "hold"))
    target = subprocess.Popen([workload("fleet_churn"), "0", "1", "1", "2"], env=env)
    try:
        assert "arenatrace_build_info{" in out.read_text()  # from the start
        first = out.stat().st_ino
        wait_file(str(tmp_path / "truth"), target)
        truth = load(tmp_path / "truth")
        until(lambda: out.stat().st_ino != first)  # replaced, not rewritten in place
        fleet.stop()
    finally:
        (tmp_path / "hold").touch()
        target.wait(timeout=60)
        fleet.proc.kill()
    text = out.read_text()
    samples = dict(l.rsplit(" ", 1) for l in text.splitlines() if not l.startswith("#"))
    with open("/proc/self/cgroup") as f:  # the workload's, inherited from the test
        cgroup = f.read().split("0::", 1)[1].rstrip("\n")

    def returned(kind):
        return float(samples[f'arenatrace_returned_bytes_total{{pid="{target.pid}",'
                             f'comm="fleet_churn",cgroup="{cgroup}",allocator="app",'
                             f'kind="{kind}"}}'])
    assert returned("munmap") == truth["munmap_bytes"]
    assert returned("madv_dontneed") == truth["dontneed_bytes"]
    assert os.listdir(out.parent) == ["arenatrace.prom"]
    assert oct(out.stat().st_mode & 0o777) == "0o644"
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr
