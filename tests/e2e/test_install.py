# SPDX-License-Identifier: GPL-2.0-only
"""make install puts the binary, the man page and the systemd unit in place; systemd
accepts the unit, which runs the installed binary as a fleet exporter."""
import os
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_make_install(tmp_path):
    prefix = tmp_path / "usr"
    unitdir = tmp_path / "unit"
    subprocess.run(["make", "-s", "-C", ROOT, "install", f"PREFIX={prefix}",
                    f"UNITDIR={unitdir}"], check=True, capture_output=True)
    binary = prefix / "sbin" / "arenatrace"
    assert os.access(binary, os.X_OK)
    assert (prefix / "share" / "man" / "man8" / "arenatrace.8").is_file()
    # The alert rules and the dashboard, as shipped in docs/fleet.
    for name in ("arenatrace-rules.yml", "arenatrace-dashboard.json"):
        with open(os.path.join(ROOT, "docs", "fleet", name)) as f:
            assert (prefix / "share" / "arenatrace" / name).read_text() == f.read()
    unit = (unitdir / "arenatrace.service").read_text()
    assert f"ExecStart={binary} -a --prometheus 127.0.0.1:9464" in unit
    assert "NoNewPrivileges=yes" in unit and "CapabilityBoundingSet=CAP_BPF" in unit
    r = subprocess.run(["systemd-analyze", "verify", "--man=no",
                        str(unitdir / "arenatrace.service")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # The installed binary is the built one.
    r = subprocess.run([str(binary), "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and "arenatrace" in r.stdout
