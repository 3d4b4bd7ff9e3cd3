# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""issue 19, point 5 (report side), on a real lab fleet: what one user writes into their own folder never stops
the compliance report of the fleet.

A desktop user (a real local account on the lab's desktop host) adds entries to the collection's manifest in
their own OAuthConfigs folder whose ``artifact`` is a list and a number. Once, the report task crashed on such an
entry ("unhashable type: 'list'", "'<' not supported") and no report was written for ANY host. Now the report set
is written for every checked host; that desktop is an ``error`` with the reason, every other host as it is.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from labfleet import REPO, requires_lab

pytestmark = [pytest.mark.lab, requires_lab]

COMPLIANCE = REPO / "scripts" / "compliance"
HOST = "desktop1"
USER = "analyst1"
FOLDER = f"/home/{USER}/Documents/My Tableau Repository/OAuthConfigs"
MANIFEST = f"{FOLDER}/.tabops-managed.json"


def as_user(fleet, script):
    quoted = script.replace("'", "'\\''")
    return fleet.sh(HOST, f"runuser -u {USER} -- /bin/sh -c '{quoted}'")


def test_a_users_malformed_manifest_entry_never_stops_the_report_of_the_fleet(fleet, tmp_path):
    converged = fleet.playbook("playbooks/site.yml")
    assert converged.returncode == 0, converged.stdout[-3000:]
    manifest = json.loads(fleet.read(HOST, MANIFEST))
    manifest["files"]["zz_stale.xml"] = {"kind": "oauth_config", "artifact": ["a", ["b"]], "sha256": "0" * 64}
    manifest["files"]["zz_number.xml"] = {"kind": "oauth_config", "artifact": 7, "sha256": "0" * 64}
    # The user writes their own manifest: no root involved.
    as_user(fleet, f"cat > '{MANIFEST}' <<'EOF'\n{json.dumps(manifest)}\nEOF")

    reports = tmp_path / "reports"
    completed = subprocess.run(
        [str(COMPLIANCE), "-i", str(fleet.inventory), "--report-dir", str(reports)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    said = completed.stdout + completed.stderr
    assert "unhashable type" not in said and "not supported between" not in said, said[-3000:]
    assert (reports / "latest" / "compliance.json").exists(), said[-3000:]
    report = json.loads((reports / "latest" / "compliance.json").read_text())
    assert sorted(report["hosts"]) == sorted(fleet.hosts()), "a row for every host"
    assert report["hosts"][HOST] == "error", report["hosts"]
    others = {host: status for host, status in report["hosts"].items() if host != HOST}
    assert set(others.values()) == {"compliant"}, others
    reasons = [f["message"] for f in report["findings"] if f["host"] == HOST and f["status"] == "error"]
    assert any("artifact" in reason and ("string" in reason or "list" in reason) for reason in reasons), reasons
    # Every rendering of the set was written, and the person running it reads the host and the cause.
    for name in ("compliance.json", "junit.xml", "report.html", "compliance.prom", "findings.ndjson"):
        assert (reports / "latest" / name).stat().st_size > 0, name
    assert completed.returncode == 1, said[-3000:]
    assert f"error              {HOST}:" in completed.stdout, completed.stdout[-3000:]
