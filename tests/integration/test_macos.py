# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""A Mac-shaped lab host (``scripts/lab-fleet up --macs 1``) through the POSIX module, over real SSH.

The host is Darwin-shaped where the collection can tell: ``tabops_os_family: Darwin``, homes in ``/Users``,
every user's primary group ``staff``, ``~/Documents`` private to its user, and no ``ansible_python_interpreter``
in the inventory (Ansible discovers the interpreter, as it does on a Mac). It is still Linux underneath: what
this proves is the Darwin layout, ownership and discovery path, not macOS system calls.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from labfleet import LAB_GROUP_VARS, REPO, Fleet, lab_available, requires_lab, unique_fleet_id

pytestmark = [pytest.mark.lab, requires_lab]

MAC_USERS = ("mlee", "analyst1")
COMPLIANCE = REPO / "scripts" / "compliance"
REPOSITORIES = ("My Tableau Repository", "My Tableau Prep Repository")


class MacFleet(Fleet):
    """One Mac-shaped desktop, nothing else (the default fleet stays as it is)."""

    def __init__(self, fleet_id, workdir):
        super().__init__(fleet_id, workdir, servers=0, bridges=0, desktops=0)

    def up(self):
        self.lab("down", check=False)
        self.lab("up", "--servers", "0", "--bridges", "0", "--desktops", "0", "--macs", "1")
        self.inventory.mkdir(parents=True, exist_ok=True)
        (self.inventory / "hosts.yml").write_text(self.lab("inventory").stdout)
        (self.inventory / "group_vars").symlink_to(LAB_GROUP_VARS)
        return self

    def hosts(self):
        return ["mac1"]

    def listing(self):
        """Owner, group, mode and checksum of every file under /Users and /home."""
        return self.sh(
            "mac1",
            "find /Users /home -xdev -type f -printf '%p %u:%g %m ' -exec sha256sum {} \\; | sort",
        )


@pytest.fixture
def mac_fleet(tmp_path):
    if lab_available():
        pytest.skip(lab_available())
    lab = MacFleet(unique_fleet_id("mac"), tmp_path).up()
    try:
        yield lab
    finally:
        lab.down()
        shutil.rmtree(tmp_path / "inventory", ignore_errors=True)


def compliance(fleet, report_dir):
    completed = subprocess.run(
        [str(COMPLIANCE), "-i", str(fleet.inventory), "--report-dir", str(report_dir), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    latest = report_dir / "latest" / "compliance.json"
    report = json.loads(latest.read_text()) if latest.exists() else None
    return completed, report


def test_mac_host_converges_is_idempotent_and_compliant(mac_fleet, tmp_path):
    first = mac_fleet.playbook("playbooks/site.yml")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    [sync] = first.host_results("Sync this host")["mac1"]
    assert sync["changed"] is True
    # Python came from Ansible's interpreter discovery (the inventory sets none).
    assert "ansible_python_interpreter" not in (mac_fleet.inventory / "hosts.yml").read_text().split("mac1:")[1]

    listing = mac_fleet.listing()
    for user in MAC_USERS:
        for repository in REPOSITORIES:
            base = f"/Users/{user}/Documents/{repository}"
            assert f"{base}/OAuthConfigs/custom_redshift_okta.xml {user}:staff 600 " in listing
            assert f"{base}/Datasources/redshift-oauth.tdc {user}:staff 644 " in listing
            assert f"{base}/OAuthConfigs/.tabops-managed.json {user}:staff 600 " in listing
    assert "/home/" not in listing, "a Darwin host gets nothing under /home"
    paths = {item["path"] for item in sync["files"]}
    assert all(path.startswith("/Users/") for path in paths)

    second = mac_fleet.playbook("playbooks/site.yml")
    assert second.returncode == 0, second.stdout[-3000:]
    assert second.changed_tasks().get("mac1", []) == []
    assert mac_fleet.listing() == listing

    checked = mac_fleet.playbook("playbooks/site.yml", "--check")
    assert checked.returncode == 0 and checked.changed_tasks().get("mac1", []) == []

    completed, report = compliance(mac_fleet, tmp_path / "reports")
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    mac_findings = [f for f in report["findings"] if f["host"] == "mac1"]
    assert mac_findings and {f["status"] for f in mac_findings} == {"compliant"}
    assert mac_fleet.listing() == listing

    # One edited field on the Mac: drift, exit 2, the field named.
    path = f"/Users/mlee/Documents/{REPOSITORIES[0]}/OAuthConfigs/custom_redshift_okta.xml"
    mac_fleet.sh("mac1", f"sed -i 's/0oa-lab-desktop-client/0oa-someone-else/' '{path}'")
    completed, report = compliance(mac_fleet, tmp_path / "reports-drift")
    assert completed.returncode == 2, completed.stdout[-2000:] + completed.stderr[-2000:]
    [drift] = [f for f in report["findings"] if f["host"] == "mac1" and f["status"] == "drift"]
    assert "client_id_desktop" in json.dumps(drift)
