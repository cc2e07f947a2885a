# SPDX-License-Identifier: GPL-2.0-only
"""arenatrace report (issue 15, parts 5 and 6): the HTML page of real traced runs, loaded in
headless browsers. Chromium gives the rendered DOM (--dump-dom): the page's status, every
series with its number of samples and last value, a tick per logged return, the findings,
the flame graph's frames with the workload's own live bytes, and with several runs the
same table as arenatrace diff. Firefox cannot dump a DOM headless; with its content console
on stdout, it gives the page's own summary line (status and counts), and any script error."""
import datetime
import html.parser
import json
import os
import re
import subprocess
import time

from helpers import ARENATRACE, Run, diff_demo_runs, load

MiB = 1 << 20


class Dom(html.parser.HTMLParser):
    """The elements of a page (tag, attributes) and its text."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.elems, self.texts = [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.elems.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.elems.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.texts.append(data)

    def find(self, tag=None, cls=None, **attrs):
        return [a for t, a in self.elems
                if (tag is None or t == tag) and (cls is None or cls in a.get("class", "").split())
                and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def root(self):
        return self.find("html")[0]


def report(paths, out):
    r = subprocess.run([ARENATRACE, "report", *map(str, paths), "-o", str(out)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    return str(out)


def chromium(page, tmp_path):
    r = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                        f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom",
                        "file://" + page], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0 and "<html" in r.stdout, r.stderr
    dom = Dom(r.stdout)
    root = dom.root()
    assert root.get("data-status") == "ok", root.get("data-error")
    return dom, r.stdout


def firefox(page, tmp_path):
    """The page's summary line from Firefox: (status, counts)."""
    prof = tmp_path / "firefox"
    prof.mkdir(exist_ok=True)
    (prof / "user.js").write_text('user_pref("devtools.console.stdout.content", true);\n')
    r = subprocess.run(["firefox-esr", "--headless", "--no-remote", "-profile", str(prof),
                        "--screenshot", str(tmp_path / "firefox.png"), "file://" + page],
                       capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, HOME=str(tmp_path)))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "JavaScript error: file:" not in out, out
    m = re.search(r'console\.log: "arenatrace-report: (\w+) (\{.*\})"', out)
    assert m, out
    return m.group(1), json.loads(m.group(2).replace('\\"', '"'))


def counts(dom):
    root = dom.root()
    return {k: int(root[f"data-{k.replace('_', '-')}"])
            for k in ("charts", "series", "returns", "findings", "flame_nodes")}


def last(samples, key):
    v = samples[-1][key] if samples else None
    return "" if v is None else str(v)


def check_run(dom, rep):
    """Every allocator's series as in the JSON, a tick per logged return, the findings."""
    assert rep["start_time"] in "".join(dom.texts)
    ticks = 0
    for p in rep["processes"]:
        for a in p["allocators"]:
            tl = a["timeline"]
            sec = dom.find("section", cls="alloc", data_allocator=a["name"])
            assert sec, a["name"]
            for series, key in (("mapped", "mapped_bytes"), ("resident", "resident_bytes"),
                                ("live", "live_bytes"), ("retained", "retained_bytes")):
                got = [g for g in dom.find("g", cls="series", data_series=series)
                       if g["data-last"] == last(tl, key) and
                       g["data-samples"] == str(len(tl))]
                assert got, (a["name"], series, last(tl, key), len(tl))
            ticks += len(a["return_log"])
    return ticks


def findings_shown(rep):
    """Each finding is listed once per allocator it names, or once among the others."""
    n = 0
    for p in rep["processes"]:
        names = {a["name"] for a in p["allocators"]}
        for f in p["findings"]:
            n += max(1, len(names & set(f["allocator"].split("+"))))
    return n


def check_timelines(rep):
    """Each allocator's timeline against its figures: its last sample is the report's, and
    at each sample of a process traced from its exec its allocators' resident and mapped add
    up to the process's own (no memory of unknown owner). An allocator's timeline begins
    at the first sample after its first memory: a sample before has none of it (the
    process's first sample may come before any allocator has memory: all zero)."""
    for p in rep["processes"]:
        by_t, first = {}, []
        for a in p["allocators"]:
            tl, pre = a["timeline"], a["preexisting"]
            assert tl and [s["t_ms"] for s in tl] == sorted(s["t_ms"] for s in tl)
            assert tl[-1]["resident_bytes"] == a["resident_bytes"] + pre["resident_bytes"]
            assert tl[-1]["mapped_bytes"] == a["mapped_bytes"] + pre["mapped_bytes"]
            if tl[-1]["source"] == "books":
                assert tl[-1]["live_bytes"] == a["books"]["live_bytes"]
                assert tl[-1]["retained_bytes"] == a["books"]["retained_bytes"]
            elif tl[-1]["source"] == "heap":
                assert tl[-1]["live_bytes"] == a["live_bytes"]
            first.append(tl[0]["t_ms"])
            for s in tl:
                t = by_t.setdefault(s["t_ms"], [0, 0, 0])
                t[0] += s["resident_bytes"]
                t[1] += s["mapped_bytes"]
                t[2] += 1
        assert p["origin"] == "command" and "unattributed" not in p
        for s in p["timeline"]:
            begun = sum(1 for f in first if f <= s["t_ms"])
            assert by_t.get(s["t_ms"], [0, 0, 0]) == [s["resident_bytes"], s["mapped_bytes"],
                                                      begun], (s, by_t.get(s["t_ms"]))


def test_report_of_a_run_with_stacks(tmp_path):
    # stack_sites: two sites hold known bytes (usable sizes), the third frees all it took.
    before = time.time_ns()
    run = Run(tmp_path, "stack_sites", args=("--stacks=5",))
    rep = run.report
    # The wall clock at the start: within the run, and the same instant in RFC 3339.
    assert before <= rep["start_unix_ns"] <= time.time_ns()
    start = datetime.datetime.fromtimestamp(rep["start_unix_ns"] // 1000000 / 1000,
                                            datetime.timezone.utc)
    assert rep["start_time"] == start.strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{rep['start_unix_ns'] // 1000000 % 1000:03d}Z"
    check_timelines(rep)
    page = report([run.out_path], tmp_path / "report.html")
    dom, text = chromium(page, tmp_path)
    ticks = check_run(dom, rep)
    assert len(dom.find("line", cls="ret")) == ticks
    assert len(dom.find("li", cls="finding")) == findings_shown(rep)
    # The flame graph: the sites with the workload's own live bytes, under main.
    by_name = {g["data-name"]: int(g["data-bytes"]) for g in dom.find("g", cls="fg")}
    assert by_name["site_big"] == run.truth["big_bytes"]
    assert by_name["site_small"] == run.truth["small_bytes"]
    assert "site_freed" not in by_name
    assert by_name["all"] == sum(s["live_bytes"] for p in rep["processes"]
                                 for s in p["stacks"] or [] if s["live_bytes"] > 0)
    c = counts(dom)
    assert c["returns"] == ticks and c["flame_nodes"] == len(dom.find("g", cls="fg"))
    # Self-contained: nothing to fetch, and a policy that would refuse it.
    assert not [a for _, a in dom.elems if {"src", "href", "srcset", "action"} & set(a)]
    assert not re.search(r"url\(|@import|fetch\(|XMLHttpRequest|WebSocket|sendBeacon", text)
    assert dom.find("meta", http_equiv="Content-Security-Policy")[0]["content"].startswith(
        "default-src 'none'")
    # The same page in Firefox: no script error, the same things drawn.
    assert firefox(page, tmp_path) == ("ok", c)
    # The pointer over a chart shows the values of the nearest sample (a script added to a
    # copy moves it over the middle of each chart).
    hover = tmp_path / "hover.html"
    with open(page) as f:
        hover.write_text(f.read().replace("</body>", HOVER + "</body>"))
    dom, _ = chromium(str(hover), tmp_path)
    shown = dom.root()["data-hover"].split("|")
    assert len(shown) == c["charts"] and all(re.match(r"[\d.]+ s: \w+ ", t) for t in shown)


HOVER = """<script>
var shown = [];
document.querySelectorAll('svg.chart').forEach(function (svg) {
	var box = svg.getBoundingClientRect();
	svg.dispatchEvent(new MouseEvent('mousemove', { clientX: box.left + box.width * 0.6,
		clientY: box.top + 50 }));
	var g = svg.querySelector('g.cursor');
	if (g.getAttribute('visibility') === 'visible')
		shown.push(g.querySelector('text').textContent);
});
document.documentElement.setAttribute('data-hover', shown.join('|'));
</script>
"""


def test_report_side_by_side(tmp_path):
    # The demo's churn under glibc and under jemalloc, with return events: the page's
    # table is arenatrace diff's, and each run is drawn with every return it logged.
    paths = diff_demo_runs(tmp_path)
    reps = [load(str(p)) for p in paths]
    for rep in reps:
        check_timelines(rep)
    page = report(paths, tmp_path / "cmp.html")
    dom, text = chromium(page, tmp_path)
    diff = subprocess.run([ARENATRACE, "diff", *map(str, paths)], capture_output=True,
                          text=True, timeout=60)
    assert diff.returncode == 0, diff.stderr
    lines = diff.stdout.splitlines()
    rows = [ln for ln in lines[1:] if ln.strip() and not ln.startswith("keeps")]
    table = [a for t, a in dom.elems if t == "tr" and "data-row" in a]
    assert [a["data-row"] for a in table] == [ln[:24].strip() for ln in rows]
    # Byte rows: the same cells, and the bytes behind them.
    cells = re.findall(r'<tr data-row="([^"]*)"><th>[^<]*</th>((?:<td[^>]*>[^<]*</td>)+)',
                       text)
    assert len(cells) == len(rows)
    for (title, tds), ln in zip(cells, rows):
        shown = re.findall(r">([^<]*)</td>", tds)
        if title in ("allocators", "findings"):
            assert [s[:18] for s in shown] == ln[24:].split()
        else:
            assert " ".join(shown).split() == ln[24:].split(), (title, shown, ln)
    assert lines[-1] in "".join(dom.texts)
    # What the workload kept is live at the end: the final live row is the books'.
    for rep, cell in zip(reps, re.findall(r">([^<]*)</td>", dict(cells)["final live"])):
        (p,) = [x for x in rep["processes"] if x["comm"] == "diff_demo"]
        live = sum(a["books"]["live_bytes"] for a in p["allocators"] if a["books"])
        assert cell == f"{live / MiB:.1f} MiB"
    ticks = sum(check_run(dom, rep) for rep in reps)
    assert len(dom.find("line", cls="ret")) == ticks and ticks > 0
    assert len(dom.find("li", cls="finding")) == sum(map(findings_shown, reps))
    assert len(dom.find("section", cls="run")) == 2
    assert firefox(page, tmp_path) == ("ok", counts(dom))


HOSTILE = '</script><script>window.PWNED=1</script><!--<img src=x onerror=alert(1)>\u2028&amp;'


def hostile_report():
    frame = {"address": 4198400, "module": "/tmp/" + HOSTILE, "build_id": None,
             "offset": 4096, "function": HOSTILE, "function_offset": 5, "file": HOSTILE,
             "line": 7}
    return {"schema_version": 1, "tool": "arenatrace", "final": True, "elapsed_ms": 1000,
            "start_unix_ns": 1796069786253035747, "start_time": "2026-11-30T20:16:26.253Z",
            "kernel": HOSTILE, "options": {"command": HOSTILE, "pids": [], "levels": HOSTILE},
            "drops": {HOSTILE: 1}, "records": 3,
            "processes": [{
                "pid": 7, "ppid": 1, "comm": HOSTILE, "exited": False, "origin": HOSTILE,
                "rss_bytes": MiB,
                "timeline": [{"t_ms": 100, "rss_bytes": MiB, "lazyfree_bytes": 0,
                              "mapped_bytes": 2 * MiB, "resident_bytes": MiB}],
                "allocators": [{
                    "name": HOSTILE, "mapped_bytes": 2 * MiB, "resident_bytes": MiB,
                    "preexisting": {"mapped_bytes": 0, "resident_bytes": 0},
                    "returned": {"munmap_bytes": 4096}, "returned_count": {"munmap": 1},
                    "return_log": [{"t_ms": 500, "kind": HOSTILE, "addr": 1, "bytes": 4096}],
                    "timeline": [{"t_ms": 100, "mapped_bytes": 2 * MiB, "resident_bytes": MiB,
                                  "live_bytes": 5, "retained_bytes": None, "source": "heap"}],
                    "books": None, "live_bytes": 5, "retained_bytes": None}],
                "findings": [{"kind": HOSTILE, "allocator": HOSTILE, "bytes": 1, "since_ms": 3,
                              "evidence": HOSTILE, "advice": HOSTILE}],
                "stacks": [{"allocator": HOSTILE, "live_bytes": 5, "live_objects": 1,
                            "frames": [frame]}]}]}


def test_hostile_names_stay_text(tmp_path):
    # Names from the traced processes (comm, libraries, functions, findings' text) cannot
    # end the data's <script>, add elements or run code: they show as they are, as text.
    runs = []
    for i in range(2):
        runs.append(tmp_path / f"<b>run{i}&amp;.json")
        runs[-1].write_text(json.dumps(hostile_report()))
    page = report(runs, tmp_path / "hostile.html")
    dom, text = chromium(page, tmp_path)
    assert len(dom.find("script")) == 3  # the page's own: onerror, data, drawing
    assert not dom.find("img")
    texts = "".join(dom.texts)
    assert texts.count(HOSTILE) >= 6, texts  # comm, allocator, finding, kernel...
    assert len(dom.find("line", cls="ret")) == 2
    fg = {g["data-name"]: g["data-bytes"] for g in dom.find("g", cls="fg")}
    assert fg[HOSTILE] == "5"
    assert firefox(page, tmp_path)[0] == "ok"
