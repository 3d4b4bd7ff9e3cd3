# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""One table of sync scenarios, two transports, identical findings.

- POSIX: the ``tableau_files`` module on a real lab Linux desktop, over SSH, through the action
  (``files`` + ``folders`` given: the low-level pass-through), one ansible-playbook run per phase with a
  loop over the scenarios.
- Windows: ``plugin_utils/_windows_sync.sync`` with the ansible.windows modules answered by
  ``tests/unit/fixtures/windows/fakewin.py`` (an NTFS-like filesystem in a dict, so every run is a real state
  change that the next run observes).

Both get the same documents from the real renderer and the same folders from the real host layout (per OS), and
every scenario runs inside the same realistic ``My Tableau Repository`` (tests/unit/fixtures/tableau_repository.py),
whose files must be left byte for byte.
Each scenario lives in its own folder tree under the user's home, so one playbook run covers all of them.
For every scenario the findings (per file: status, action, differences; unmanaged: reason; changed, failed,
created folders, manifests, number of backups) and the files left on the host (relative path and bytes) must
be identical.
"""

from __future__ import annotations

import hashlib
import json
import ntpath
import re
import subprocess
import sys
from pathlib import Path

import pytest
from labfleet import REPO, requires_lab

sys.path.insert(0, str(REPO / "tests" / "unit" / "fixtures" / "windows"))
sys.path.insert(0, str(REPO / "tests" / "unit" / "fixtures"))

import fakewin
from fakewin import FakeAction, FakeWindowsHost
from tableau_repository import repository_files

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import render_tdc
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils import _windows_sync
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._files import plan_host_files

pytestmark = [pytest.mark.lab, requires_lab]

USER = "analyst1"
LINUX_HOME = "/home/analyst1"
WINDOWS_HOME = "C:\\Users\\analyst1"
SECRET = "CANARY-transport-secret-51e0aa"
OKTA = {
    "id": "custom_redshift_okta",
    "idp": "okta",
    "idp_base_url": "https://corp.okta.example",
    "auth_server": "default",
    "client_id_desktop": "desktop-client",
    "client_secret_desktop": SECRET,
}
AZURE = {
    "id": "custom_redshift_azure",
    "idp": "okta",
    "idp_base_url": "https://other.okta.example",
    "auth_server": "default",
    "client_id_desktop": "other-client",
}
TEAM = dict(AZURE, id="custom_team_snowflake")
TDC = {"name": "redshift-oauth", "class": "redshift", "customizations": {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": "yes"}}
RIVAL_TDC = render_tdc({"class": "redshift", "customizations": {"CAP_ODBC_METADATA_SUPPRESS_EXECUTED_QUERY": "yes"}})
REPOSITORY = repository_files()
OAUTH = "My Tableau Repository/OAuthConfigs/"
DATASOURCES = "My Tableau Repository/Datasources/"


def reformat(text):
    body = re.sub(r"^<\?xml[^>]*\?>\s*", "", text)
    return "<!-- tidied by hand -->\n" + re.sub(r">\s+<", "><", body).replace("'", '"')


def edit_client(text):
    return text.replace("desktop-client", "someone-else")


def team_config(_text):
    return _render(TEAM)


def rival_tdc(_text):
    return RIVAL_TDC


def _render(config):
    planned = plan_host_files(
        oauth_configs=[config], applications=["desktop"], desktop_users=[USER], kinds=["oauth_config"]
    )
    return planned["files"][0]["content"]


# name, desired before (None: nothing), mutations (relative path, new text from old), desired of the observed run, check
SCENARIOS = [
    ("first_run", None, [], (OKTA,), False),
    ("no_change", (OKTA,), [], (OKTA,), False),
    ("reformatted_file", (OKTA,), [(OAUTH + "custom_redshift_okta.xml", reformat)], (OKTA,), False),
    ("edited_field", (OKTA,), [(OAUTH + "custom_redshift_okta.xml", edit_client)], (OKTA,), False),
    ("unowned_file", (OKTA,), [(OAUTH + "custom_team_snowflake.xml", team_config)], (OKTA,), False),
    ("stale_owned_file", (OKTA, AZURE), [], (OKTA,), False),
    ("conflicting_tdc", (OKTA,), [(DATASOURCES + "team-redshift.tdc", rival_tdc)], (OKTA,), False),
    ("check_mode_first_run", None, [], (OKTA, AZURE), True),
    ("check_mode_drift", (OKTA, AZURE), [(OAUTH + "custom_redshift_okta.xml", edit_client)], (OKTA,), True),
]


def module_args(configs, root, family):
    join = ntpath.join if family == "Windows" else (lambda *parts: "/".join(parts))
    planned = plan_host_files(
        oauth_configs=list(configs),
        tdc_files=[TDC],
        applications=["desktop"],
        desktop_users=[USER],
        os_family=family,
        layout={"desktop_repository": join(root, "My Tableau Repository")},
    )
    return dict(planned, tdc_conflicts="fail", backup=True, backup_keep=5)


def relative(path, root):
    assert path.startswith(root), (path, root)
    return path[len(root) + 1 :].replace("\\", "/")


def relative_text(differences, root):
    """The differences as JSON, with the scenario's root and the path separator written alike on both sides."""
    text = json.dumps(differences, sort_keys=True)
    for form in (root, root.replace("\\", "/")):
        text = text.replace(json.dumps(form)[1:-1], "<root>")
    return text.replace("\\\\", "/")


def findings(result, root):
    """What must be the same on both transports (paths relative to the scenario's root)."""
    return {
        "failed": bool(result.get("failed")),
        "unreachable": bool(result.get("unreachable")),
        "changed": result.get("changed"),
        "files": sorted(
            (relative(f["path"], root), f["status"], f["action"], relative_text(f["differences"], root))
            for f in result.get("files", [])
        ),
        "unmanaged": sorted((relative(u["path"], root), u["status"], u["reason"]) for u in result.get("unmanaged", [])),
        "created_dirs": sorted(relative(p, root) for p in result.get("created_dirs", [])),
        "manifests": sorted(relative(p, root) for p in result.get("manifests", [])),
        "backups": len(result.get("backups", [])),
        "restart_needed": result.get("restart_needed", []),
    }


def state_key(path):
    # Backup names carry the UTC second of the run: the same file, another second.
    return re.sub(r"\.\d{8}T\d{6}Z(\.\d+)?$", ".<stamp>", path)


# ---------------------------------------------------------------------------------------------
# the Windows transport (mocked upstream modules, state in a dict)
# ---------------------------------------------------------------------------------------------


class WindowsSide:
    def __init__(self):
        self.host = FakeWindowsHost()
        self.host.mkdir(WINDOWS_HOME)

    def root(self, name):
        return ntpath.join(WINDOWS_HOME, "transport", name)

    def prepare(self, names):
        # Every scenario runs in a realistic My Tableau Repository (Logs, Workbooks, Datasources full of other files).
        for name in names:
            for rel, data in REPOSITORY.items():
                self.host.write(ntpath.join(self.root(name), "My Tableau Repository", rel.replace("/", "\\")), data)

    def run(self, jobs):
        results = {}
        for name, configs, check in jobs:
            action = FakeAction(self.host, check_mode=check)
            results[name] = _windows_sync.sync(action, {}, module_args(configs, self.root(name), "Windows"))
            if check:
                assert {module for module, _args in action.calls} <= {
                    "ansible.windows.win_find",
                    "ansible.windows.slurp",
                }
        return results

    def mutate(self, mutations):
        for name, rel, change in mutations:
            path = ntpath.join(self.root(name), rel.replace("/", "\\"))
            old = self.host.read(path).decode("utf-8") if self.host.exists(path) else ""
            self.host.write(path, change(old))

    def state(self, name):
        root = self.root(name)
        return {
            state_key(relative(path, root)): hashlib.sha256(data).hexdigest()
            for path, data in self.host.files_under(root).items()
        }


# ---------------------------------------------------------------------------------------------
# the POSIX transport (the module on a lab Linux desktop, over SSH)
# ---------------------------------------------------------------------------------------------

PLAYBOOK = """\
- name: Transport scenarios
  hosts: desktop1
  gather_facts: false
  tasks:
    - name: transport run
      tabops.redshift_oauth.tableau_files:
        files: "{{ item.args.files }}"
        folders: "{{ item.args.folders }}"
        tdc_conflicts: "{{ item.args.tdc_conflicts }}"
        backup: true
        backup_keep: 5
      check_mode: "{{ item.check }}"
      loop: "{{ transport_runs }}"
      loop_control:
        label: "{{ item.name }}"
      ignore_errors: true
      ignore_unreachable: true
      register: transport_results
    # The registered results keep each item's `failed` (the JSON callback drops it for ignored items).
    - name: keep the results
      ansible.builtin.copy:
        content: "{{ transport_results | to_json }}"
        dest: "{{ transport_out }}"
        mode: "0600"
      delegate_to: localhost
"""


class PosixSide:
    def __init__(self, fleet, workdir):
        self.fleet = fleet
        self.playbook_path = Path(workdir) / "transport.yml"
        self.playbook_path.write_text(PLAYBOOK)

    def root(self, name):
        return f"{LINUX_HOME}/transport/{name}"

    def prepare(self, names):
        files = {f"{name}/My Tableau Repository/{rel}": data for name in names for rel, data in REPOSITORY.items()}
        self.fleet.put_tree("desktop1", f"{LINUX_HOME}/transport", files, owner=USER)

    def run(self, jobs):
        runs = [
            {"name": name, "check": check, "args": module_args(configs, self.root(name), "Linux")}
            for name, configs, check in jobs
        ]
        out = self.playbook_path.with_suffix(".out.json")
        out.unlink(missing_ok=True)
        played = self.fleet.playbook(
            str(self.playbook_path), extra_vars={"transport_runs": runs, "transport_out": str(out)}
        )
        assert out.exists(), played.stdout[-3000:] + played.stderr[-3000:]
        task = json.loads(out.read_text())
        if task.get("unreachable") and "results" not in task:
            return {name: task for name, _configs, _check in jobs}
        return {item["item"]["name"]: item for item in task["results"]}

    def mutate(self, mutations):
        for name, rel, change in mutations:
            path = f"{self.root(name)}/{rel}"
            exists = self.fleet.exists("desktop1", path)
            old = self.fleet.read("desktop1", path) if exists else ""
            # fleet.write appends the newline a heredoc needs; keep the bytes as the change made them.
            self.fleet.write("desktop1", path, change(old).rstrip("\n"), owner=USER)

    def state(self, name):
        root = self.root(name)
        listing = self.fleet.sh("desktop1", f"cd '{root}' && find . -type f -exec sha256sum {{}} + | sort")
        files = {}
        for line in listing.splitlines():
            digest, path = line.split("  ", 1)
            files[state_key(path[2:])] = digest
        return files


def play_scenarios(side):
    """Run the whole table on one transport; returns {scenario: (findings, files left)}."""
    side.prepare([name for name, *_rest in SCENARIOS])
    side.run([(name, before, False) for name, before, _mutations, _desired, _check in SCENARIOS if before])
    side.mutate(
        [(name, rel, change) for name, _before, mutations, _desired, _check in SCENARIOS for rel, change in mutations]
    )
    results = side.run([(name, desired, check) for name, _before, _mutations, desired, check in SCENARIOS])
    return {name: (findings(results[name], side.root(name)), side.state(name)) for name, *_rest in SCENARIOS}


@pytest.mark.fleet_size(servers=0, bridges=0, desktops=1)
def test_scenario_table_gives_identical_findings_on_both_transports(fleet, tmp_path):
    windows = play_scenarios(WindowsSide())
    posix = play_scenarios(PosixSide(fleet, tmp_path))
    for name, *_rest in SCENARIOS:
        assert windows[name][0] == posix[name][0], name
    # The scenarios say what they are about (so the table cannot pass by everything being "compliant").
    expected = {
        "first_run": {("missing", "create")},
        "no_change": {("compliant", "none")},
        "reformatted_file": {("compliant", "none")},
        "edited_field": {("drift", "update"), ("compliant", "none")},
        "stale_owned_file": {("stale", "remove"), ("compliant", "none")},
        "check_mode_first_run": {("missing", "create")},
        "check_mode_drift": {("drift", "update"), ("stale", "remove"), ("compliant", "none")},
    }
    for name, pairs in expected.items():
        assert {(status, action) for _path, status, action, _diff in windows[name][0]["files"]} == pairs, name
    [edited] = [f for f in windows["edited_field"][0]["files"] if f[1] == "drift"]
    assert json.loads(edited[3]) == [
        {"path": "client_id_desktop", "expected": "desktop-client", "actual": "someone-else"}
    ]
    assert [u[2] for u in windows["unowned_file"][0]["unmanaged"]] == ["stray_custom_config"]
    assert [u[2] for u in windows["conflicting_tdc"][0]["unmanaged"]] == ["tdc_conflict"]
    assert windows["conflicting_tdc"][0]["failed"] is True
    assert SECRET not in json.dumps([windows[name][0] for name in windows])
    # The files left behind: same names, same bytes (the mutated files aside, whose bytes each side wrote itself).
    for name, *_rest in SCENARIOS:
        assert set(windows[name][1]) == set(posix[name][1]), name
        for rel, digest in windows[name][1].items():
            if not any(rel == m[0] for scenario in SCENARIOS if scenario[0] == name for m in scenario[2]):
                assert posix[name][1][rel] == digest, (name, rel)
    # The realistic repository around the managed folders is left byte for byte on both sides.
    untouched = {
        state_key("My Tableau Repository/" + rel): hashlib.sha256(data).hexdigest() for rel, data in REPOSITORY.items()
    }
    for name, *_rest in SCENARIOS:
        for side in (windows, posix):
            assert {rel: side[name][1].get(rel) for rel in untouched} == untouched, name
    assert windows["check_mode_first_run"][1] == untouched == posix["check_mode_first_run"][1]


@pytest.mark.fleet_size(servers=0, bridges=0, desktops=1)
def test_unreachable_mid_run_then_both_transports_converge_to_the_same_state(fleet, tmp_path):
    windows, posix = WindowsSide(), PosixSide(fleet, tmp_path)
    name = "unreachable"
    for side in (windows, posix):
        side.prepare([name])
    # Windows: the connection breaks after three host-changing calls (some files written, not all).
    action = FakeAction(windows.host, fail_after=3)
    broken = _windows_sync.sync(action, {}, module_args((OKTA, AZURE), windows.root(name), "Windows"))
    # POSIX: the host is down for the run.
    fleet.host_down("desktop1")
    try:
        posix_broken = posix.run([(name, (OKTA, AZURE), False)])[name]
    finally:
        fleet.host_up("desktop1")
    assert broken["unreachable"] is True and posix_broken["unreachable"] is True
    assert any(folder["written"] for folder in broken["folders"]), "the Windows run wrote something before it broke"

    for side in (windows, posix):
        side.run([(name, (OKTA, AZURE), False)])
    final_windows = findings(windows.run([(name, (OKTA, AZURE), False)])[name], windows.root(name))
    final_posix = findings(posix.run([(name, (OKTA, AZURE), False)])[name], posix.root(name))
    assert final_windows == final_posix
    assert final_windows["changed"] is False
    assert {f[1] for f in final_windows["files"]} == {"compliant"}
    assert windows.state(name) == posix.state(name)


WINDOWS_INVENTORY = """\
all:
  children:
    tableau_desktop:
      hosts:
        winpc1:
          # The test-only connection plugin answers the ansible.windows calls from the fake NTFS host.
          ansible_connection: tabops_windows_double
          tabops_os_family: Windows
          tabops_desktop_users: [jöhn.müller, asmith]
"""


@pytest.mark.fleet_size(servers=0, bridges=0, desktops=1)
def test_site_and_compliance_runs_with_a_windows_desktop_through_the_test_double(fleet, tmp_path, monkeypatch):
    """Real ansible-playbook runs (site.yml, scripts/compliance) with a lab Linux desktop and a Windows desktop whose
    ansible.windows calls are answered by the documented test double: converge, idempotent, compliant (exit 0),
    then one edited field on the Windows desktop is drift (exit 2) naming the field."""
    double = tmp_path / "windows-hosts"
    double.mkdir()
    for name, value in fakewin.playbook_env(double).items():
        monkeypatch.setenv(name, value)
    (fleet.inventory / "windows.yml").write_text(WINDOWS_INVENTORY)

    first = fleet.playbook("playbooks/site.yml")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    [sync] = first.host_results("Sync this host")["winpc1"]
    assert sync["changed"] is True and not sync.get("failed")
    host = fakewin.load_host(double / "winpc1.json")
    okta = "C:\\Users\\jöhn.müller\\Documents\\My Tableau Repository\\OAuthConfigs\\custom_redshift_okta.xml"
    assert host.exists(okta)
    assert host.exists("C:\\Users\\asmith\\Documents\\My Tableau Prep Repository\\Datasources\\redshift-oauth.tdc")

    second = fleet.playbook("playbooks/site.yml")
    assert second.returncode == 0 and second.changed_tasks() == {}, second.changed_tasks()

    def compliance(report_dir):
        completed = subprocess.run(
            [
                str(REPO / "scripts" / "compliance"),
                "-i",
                str(fleet.inventory),
                "--report-dir",
                str(report_dir),
                "--quiet",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        return completed, json.loads((report_dir / "latest" / "compliance.json").read_text())

    completed, report = compliance(tmp_path / "reports")
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert {f["status"] for f in report["findings"] if f["host"] == "winpc1"} == {"compliant"}

    host = fakewin.load_host(double / "winpc1.json")
    host.write(okta, host.read(okta).decode("utf-8").replace("0oa-lab-desktop-client", "0oa-someone-else"))
    fakewin.save_host(host, double / "winpc1.json")
    completed, report = compliance(tmp_path / "reports-drift")
    assert completed.returncode == 2, completed.stdout[-2000:] + completed.stderr[-2000:]
    [drift] = [f for f in report["findings"] if f["status"] != "compliant"]
    assert (drift["host"], drift["status"], drift["artifact"]) == ("winpc1", "drift", "custom_redshift_okta")
    assert "client_id_desktop" in drift["message"]
    # Compliance ran in check mode: the edited file is still there.
    assert "0oa-someone-else" in fakewin.load_host(double / "winpc1.json").read(okta).decode("utf-8")
