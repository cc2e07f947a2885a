# SPDX-License-Identifier: GPL-2.0-only
"""Checks the shipped Grafana dashboard (docs/fleet): valid JSON, unique panel ids, every
query valid PromQL (promtool check rules, on the queries as recording rules with the
dashboard's variables filled in) and naming only metrics the exporter writes (the families
of user/out/out_prom.c). Fails with one line per problem."""
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
VARIABLES = {"$__rate_interval": "5m", "$instance": ".*", "$unit": ".*", "$job": ".*"}
PROMQL_WORDS = {"sum", "by", "rate", "topk", "histogram_quantile", "le", "without", "on",
                "unless", "and", "or", "max", "min", "avg", "count", "increase", "deriv"}


def families():
    with open(os.path.join(ROOT, "user", "out", "out_prom.c")) as f:
        names = set(re.findall(r'family\(f,\s*"([a-z_]+)"', f.read()))
    names |= {n + s for n in names for s in ("_bucket", "_sum", "_count")}
    # The rss and lazyfree gauges are named through an array.
    names |= {"arenatrace_process_rss_bytes", "arenatrace_process_lazyfree_bytes"}
    return names


def main(path):
    with open(path) as f:
        dash = json.load(f)
    known, problems, exprs, ids = families(), [], [], set()
    for p in dash["panels"]:
        if p["id"] in ids:
            problems.append(f"panel id {p['id']} twice")
        ids.add(p["id"])
        for t in p.get("targets", []):
            e = t["expr"]
            for k, v in VARIABLES.items():
                e = e.replace(k, v)
            exprs.append(e)
            # Metric names: identifiers before '{' or '[' or ')' that are not PromQL's.
            for name in re.findall(r"\b([a-z_][a-z0-9_]*)\s*(?=\{|\[)", e):
                if name not in known and name not in PROMQL_WORDS:
                    problems.append(f"panel '{p['title']}': no metric '{name}'")
    for v in dash["templating"]["list"]:
        q = v.get("definition", "")
        for name in re.findall(r"label_values\(([a-z_]+)", q):
            if name not in known:
                problems.append(f"variable '{v['name']}': no metric '{name}'")
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        f.write("groups:\n  - name: dashboard\n    rules:\n")
        for i, e in enumerate(exprs):
            f.write(f"      - record: dashboard:q{i}\n        expr: {json.dumps(e)}\n")
        rules = f.name
    try:
        r = subprocess.run(["promtool", "check", "rules", rules], capture_output=True, text=True)
        if r.returncode:
            problems.append("promtool: " + (r.stdout + r.stderr).strip())
    finally:
        os.unlink(rules)
    for p in problems:
        print(f"{path}: {p}", file=sys.stderr)
    return 1 if problems or not exprs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
