#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Checks that user/'s includes point down its layers (docs/design.md, "Source layout").

Each folder may include its own headers and those of the folders listed for it; a few
headers are the one door a layer has into another (the model's report types for out/, its
probe description for probe/). Exits 1 naming every include that points the wrong way."""
import os
import re
import sys

ALLOWED = {
    "sys": {"sys"},
    "kern": {"kern", "sys"},
    "books": {"books", "sys"},
    "model": {"model", "sys"},
    "probe": {"probe", "kern", "sys"},
    "out": {"out", "sys"},
    "app": {"app", "out", "probe", "model", "books", "kern", "sys"},
}
DOORS = {
    "probe": {"probe_info.h"},  # model/probe_info.h: what the model needs of a probe
    "out": {"report.h"},        # model/report.h: the report's types
}
SHARED = {"arenatrace.h", "arenatrace.skel.h", "profile.pb-c.h"}  # bpf/ ABI, generated code


def main(top):
    user = os.path.join(top, "user")
    home = {}
    for d in ALLOWED:
        for f in os.listdir(os.path.join(user, d)):
            if f.endswith(".h"):
                home[f] = d
    bad = []
    for d in ALLOWED:
        for f in sorted(os.listdir(os.path.join(user, d))):
            if not f.endswith((".c", ".h")):
                continue
            path = os.path.join(user, d, f)
            for n, line in enumerate(open(path), 1):
                m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                if not m or m.group(1) in SHARED:
                    continue
                inc = m.group(1)
                there = home.get(inc)
                if there is None:
                    bad.append(f"{path}:{n}: '{inc}' is in no layer folder")
                elif there not in ALLOWED[d] and inc not in DOORS.get(d, ()):
                    bad.append(f"{path}:{n}: {d}/ includes {there}/{inc}, which {d}/ may not use")
    for b in bad:
        print(b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
