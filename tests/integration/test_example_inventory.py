# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""``inventories/example`` exactly as shipped, rolled out and checked by ``scripts/compliance``.

The example (a 3-node Linux Tableau Server cluster, a Linux and a Windows Bridge, a Windows desktop with two users,
a Mac) is used as it is: its hosts.yml and group_vars, its placeholder vault.yml (plain text, not encrypted: no
vault password is needed). A second inventory, generated here (``example_overlay.overlay_inventory``), only says how
each example host is reached:

- the Linux server and Bridge hosts: real lab fleet hosts over SSH (``tab-node1`` of ``tableau_server_initial`` is
  the lab's initial node, where the tsm stand-in keeps its state);
- the Mac: the Mac-shaped lab host (``scripts/lab-fleet up --macs 1``: ``/Users`` homes, group ``staff``);
- the Windows desktops and the Windows Bridge: ``ansible_connection: tabops_windows_double``, a test-only connection
  plugin (tests/unit/fixtures/windows) that answers their ``ansible.windows`` calls from the fake NTFS host;
- plus hosts outside the Tableau groups (group ``monitoring``): one real lab host, one that cannot be reached.

What the example needs at run time and the lab lacks is provided here, on the hosts: a Redshift ODBC driver
(stand-in dpkg package, ``tests/lab/odbc/install-driver``) on the Linux hosts, where the preflight requires one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml
from example_overlay import EXAMPLE, MONITORING, example_hosts, overlay_inventory
from labfleet import REPO, VENV_BIN, Fleet, PlaybookRun, lab_available, requires_lab, unique_fleet_id

sys.path.insert(0, str(REPO / "tests" / "unit" / "fixtures" / "windows"))

import fakewin

pytestmark = [pytest.mark.lab, requires_lab]

COMPLIANCE = REPO / "scripts" / "compliance"
INSTALL_DRIVER = (REPO / "tests" / "lab" / "odbc" / "install-driver").read_text()
EXAMPLE_DATA = yaml.safe_load((EXAMPLE / "group_vars" / "all" / "tabops.yml").read_text())
# The example's placeholder server client secret (group_vars/all/vault.yml): it must never show in any output.
VAULT_TEXT = (EXAMPLE / "group_vars" / "all" / "vault.yml").read_text()
SECRET = yaml.safe_load(VAULT_TEXT)["vault_okta_server_client_secret"]
DESKTOP_CLIENT = EXAMPLE_DATA["tabops_oauth_configs"][0]["client_id_desktop"]
EDITED_CLIENT = "0oa1someoneelse"
WINDOWS_CONFIG = "C:\\Users\\jdoe\\Documents\\My Tableau Repository\\OAuthConfigs\\custom_redshift_okta.xml"


class ExampleFleet(Fleet):
    """Lab hosts for the example's Linux and Mac hosts, one more for a non-Tableau host."""

    def __init__(self, fleet_id, workdir, servers, bridges, macs):
        super().__init__(fleet_id, workdir, servers=servers, bridges=bridges, desktops=1)
        self.macs = macs

    def up(self):
        self.lab("down", check=False)
        self.lab(
            "up",
            *("--servers", str(self.sizes["servers"]), "--bridges", str(self.sizes["bridges"])),
            *("--desktops", "1", "--macs", str(self.macs)),
        )
        return self

    def instances(self):
        """{lab host: {address, user, port, identity_file}} (``lab-fleet inventory --json``)."""
        return {item["instance"]: item for item in json.loads(self.lab("inventory", "--json").stdout)}


def run_playbook(playbook, inventories, *args):
    env = {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_FORCE_COLOR": "0",
    }
    command = [str(VENV_BIN / "ansible-playbook"), str(REPO / playbook)]
    for inventory in inventories:
        command += ["-i", str(inventory)]
    completed = subprocess.run(
        [*command, *args], capture_output=True, text=True, cwd=REPO, check=False, timeout=300, env=_env(env)
    )
    run = PlaybookRun(completed.returncode, completed.stdout, completed.stderr)
    try:
        run.result = json.loads(completed.stdout)
    except json.JSONDecodeError:
        run.result = {}
    return run


def _env(extra):
    return dict(os.environ, **extra)


def compliance(inventories, report_dir):
    command = [str(COMPLIANCE)]
    for inventory in inventories:
        command += ["-i", str(inventory)]
    completed = subprocess.run(
        [*command, "--report-dir", str(report_dir)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env=_env({"ANSIBLE_FORCE_COLOR": "0"}),
    )
    latest = report_dir / "latest" / "compliance.json"
    report = json.loads(latest.read_text()) if latest.exists() else None
    return completed, report


def install_driver(fleet, host):
    fleet.write(host, "/usr/local/sbin/tabops-install-driver", INSTALL_DRIVER)
    fleet.sh(host, "chmod 755 /usr/local/sbin/tabops-install-driver && tabops-install-driver v2 2.1.0.0 package")


def finding_keys(report):
    return sorted((f["host"], f["artifact"], f["kind"], f["status"], f["message"]) for f in report["findings"])


@pytest.fixture
def example(tmp_path, monkeypatch):
    if lab_available():
        pytest.skip(lab_available())
    hosts = example_hosts()
    linux = [host for host, info in hosts.items() if info["os_family"] == "Linux"]
    servers = [host for host in linux if "tableau_server" in hosts[host]["groups"]]
    fleet = ExampleFleet(
        unique_fleet_id("ex"),
        tmp_path,
        servers=len(servers),
        bridges=len(linux) - len(servers),
        macs=len([host for host, info in hosts.items() if info["os_family"] == "Darwin"]),
    ).up()
    try:
        double = tmp_path / "windows-hosts"
        double.mkdir()
        for name, value in fakewin.playbook_env(double).items():
            monkeypatch.setenv(name, value)
        with_extras, mapping = overlay_inventory(hosts, fleet.instances(), tmp_path / "overlay", extras=True)
        without_extras, _mapping = overlay_inventory(hosts, fleet.instances(), tmp_path / "overlay-plain", extras=False)
        linux_lab_hosts = [mapping[host] for host in linux]
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda lab_host: install_driver(fleet, lab_host), linux_lab_hosts))
        yield {
            "fleet": fleet,
            "hosts": hosts,
            "mapping": mapping,
            "double": double,
            "with_extras": [EXAMPLE, with_extras],
            "without_extras": [EXAMPLE, without_extras],
        }
    finally:
        fleet.down()


def test_example_inventory_rolls_out_and_compliance_reports_exactly_its_tableau_hosts(example, tmp_path):
    fleet, hosts, mapping, double = example["fleet"], example["hosts"], example["mapping"], example["double"]
    tableau_hosts = {host for host, info in hosts.items() if info["tableau"]}
    windows = sorted(host for host in tableau_hosts if hosts[host]["os_family"] == "Windows")
    assert windows and any(hosts[host]["os_family"] == "Darwin" for host in tableau_hosts)
    # The merged inventory really has the extra hosts, outside every Tableau group.
    merged = example_hosts(*example["with_extras"])
    assert {host for host, info in merged.items() if not info["tableau"]} == set(MONITORING)
    assert {host for host, info in merged.items() if info["tableau"]} == tableau_hosts
    monitoring_lab_host = mapping["monitoring"]
    untouched = fleet.snapshot(monitoring_lab_host)

    rollout = run_playbook("playbooks/site.yml", example["with_extras"])
    assert rollout.returncode == 0, rollout.stdout[-4000:] + rollout.stderr[-2000:]
    synced = rollout.host_results("Sync this host")
    assert set(synced) == tableau_hosts, sorted(synced)
    assert all(result[0]["changed"] and not result[0].get("failed") for result in synced.values())
    assert SECRET not in rollout.stdout + rollout.stderr
    # The Windows hosts' files are in the double, one state file per Windows host and none for any other host.
    assert sorted(path.stem for path in double.glob("*.json")) == windows
    desktop = fakewin.load_host(double / "analyst-pc17.corp.example.json")
    assert DESKTOP_CLIENT in desktop.read(WINDOWS_CONFIG).decode("utf-8")
    bridge = fakewin.load_host(double / "bridge-win1.corp.example.json")
    assert bridge.exists(
        "C:\\Users\\svc_tableau_bridge\\Documents\\My Tableau Bridge Repository\\OAuthConfigs\\custom_redshift_okta.xml"
    )
    mac = fleet.sh(
        mapping["analyst-mac03.corp.example"], "find /Users -name custom_redshift_okta.xml -printf '%p %u:%g\\n'"
    )
    assert sorted(mac.splitlines()) == [
        f"/Users/mlee/Documents/{repository}/OAuthConfigs/custom_redshift_okta.xml mlee:staff"
        for repository in ("My Tableau Prep Repository", "My Tableau Repository")
    ]
    # tabops_tsm_apply: defer (example group_vars/tableau_server): the server client is pending, no restart.
    tsm = fleet.tsm_state(mapping["tab-node1.corp.example"])
    assert "custom_redshift_okta" in tsm["pending"].get("oauth.config.clients", ""), tsm["pending"]
    assert tsm["restarts"] == 0
    # Deferred changes are drift for compliance ("changes pending but not applied") until the operator runs what
    # the rollout says: 'tsm pending-changes apply' on the initial node.
    fleet.sh(mapping["tab-node1.corp.example"], "bash -lc 'tsm pending-changes apply --ignore-prompt'")
    tsm = fleet.tsm_state(mapping["tab-node1.corp.example"])
    assert tsm["pending"] == {} and tsm["restarts"] == 1

    completed, report = compliance(example["with_extras"], tmp_path / "reports")
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
    assert report["exit_code"] == 0 and report["run"]["mode"] == "check"
    assert set(report["hosts"]) == tableau_hosts
    assert {finding["host"] for finding in report["findings"]} == tableau_hosts
    assert set(report["hosts"].values()) == {"compliant"}
    assert SECRET not in json.dumps(report) + completed.stdout + completed.stderr

    # One edited field of one OAuth config on a Windows desktop: drift (exit 2), that host and field named.
    desktop = fakewin.load_host(double / "analyst-pc17.corp.example.json")
    desktop.write(WINDOWS_CONFIG, desktop.read(WINDOWS_CONFIG).decode("utf-8").replace(DESKTOP_CLIENT, EDITED_CLIENT))
    fakewin.save_host(desktop, double / "analyst-pc17.corp.example.json")
    completed, drifted = compliance(example["with_extras"], tmp_path / "reports-drift")
    assert completed.returncode == 2, completed.stdout[-4000:] + completed.stderr[-2000:]
    assert set(drifted["hosts"]) == tableau_hosts
    assert {host: status for host, status in drifted["hosts"].items() if status != "compliant"} == {
        "analyst-pc17.corp.example": "drift"
    }
    [drift] = [finding for finding in drifted["findings"] if finding["status"] != "compliant"]
    assert (drift["host"], drift["artifact"], drift["kind"]) == (
        "analyst-pc17.corp.example",
        "custom_redshift_okta",
        "oauth_config",
    )
    # The finding covers the config on every user's repository; only the edited file drifted.
    [item] = [item for item in drift["items"] if item["status"] != "compliant"]
    assert {other["status"] for other in drift["items"] if other is not item} == {"compliant"}
    assert item["path"] == WINDOWS_CONFIG
    assert item["differences"] == [{"path": "client_id_desktop", "expected": DESKTOP_CLIENT, "actual": EDITED_CLIENT}]
    assert "client_id_desktop" in drift["message"]
    # Check mode: the edited file is still there.
    assert EDITED_CLIENT in fakewin.load_host(double / "analyst-pc17.corp.example.json").read(WINDOWS_CONFIG).decode()

    # Without the hosts outside the Tableau groups: the same report.
    completed, plain = compliance(example["without_extras"], tmp_path / "reports-plain")
    assert completed.returncode == 2, completed.stdout[-4000:] + completed.stderr[-2000:]
    assert plain["hosts"] == drifted["hosts"]
    assert finding_keys(plain) == finding_keys(drifted)
    assert {key: value for key, value in plain["run"].items() if key not in ("start", "end", "inventory")} == {
        key: value for key, value in drifted["run"].items() if key not in ("start", "end", "inventory")
    }
    # Nothing was written on the non-Tableau lab host.
    assert fleet.snapshot(monitoring_lab_host) == untouched
