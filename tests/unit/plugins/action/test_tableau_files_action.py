# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The tableau_files action, for real: ansible-playbook on localhost (local connection, the system Python).

The host is in two groups (a desktop that also runs Bridge); every path is under the test's tmp dir
(tabops_paths), owned by root.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[4]
ANSIBLE_PLAYBOOK = REPO_ROOT / ".venv" / "bin" / "ansible-playbook"
SECRET = "canary-action-secret-4b2e"
OKTA = {
    "id": "custom_redshift_okta",
    "idp": "okta",
    "idp_base_url": "https://corp.okta.example",
    "client_id_desktop": "desktop-client",
    "client_secret_desktop": SECRET,
    "install_on": ["desktop", "prep", "bridge"],
}
TDC = {
    "name": "redshift-oauth",
    "class": "redshift",
    "customizations": {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": "yes"},
    "install_on": ["server", "bridge", "desktop", "prep"],
}
PREFLIGHT = {
    "name": "preflight",
    "hosts": "all",
    "gather_facts": False,
    "any_errors_fatal": True,
    "tasks": [
        {
            "name": "fleet",
            "ansible.builtin.import_role": {
                "name": "tabops.redshift_oauth.preflight",
                "tasks_from": "fleet.yml",
                "rolespec_validate": False,
            },
        }
    ],
}
ROLE_PLAY = {
    "name": "files",
    "hosts": "tableau_desktop",
    "gather_facts": False,
    "roles": [{"role": "tabops.redshift_oauth.tableau_files"}],
}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="writes files owned by root into its tmp dir")


def inventory(tmp_path, **overrides):
    home = tmp_path / "home"
    values = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "/usr/bin/python3",
        "tabops_oauth_configs": [OKTA],
        "tabops_tdc_files": [TDC],
        "tabops_desktop_users": ["root"],
        # root stands in for a desktop user here (the folders live under tmp_path): allowed explicitly.
        "tabops_allow_system_desktop_users": True,
        "tabops_paths": {"root_home": str(home / "root"), "user_group": "root"},
        "tabops_preflight_driver_required": False,
    }
    values.update(overrides)
    document = {
        "all": {
            "children": {
                "tableau_desktop": {"hosts": {"localhost": values}},
                "tableau_bridge": {"hosts": {"localhost": {}}},
            }
        }
    }
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(document))
    return path


def run(tmp_path, plays, *args, inventory_path=None):
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps(plays))
    argv = [str(ANSIBLE_PLAYBOOK), "-i", str(inventory_path or inventory(tmp_path)), str(playbook), *args]
    env = dict(
        os.environ,
        ANSIBLE_HOME=str(tmp_path / ".ansible-home"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
    )
    completed = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    raw = completed.stdout + completed.stderr
    # With -vvv, ansible's own lines come before the json callback's document.
    start = completed.stdout.find("\n{\n") + 1 if not completed.stdout.startswith("{") else 0
    try:
        document = json.loads(completed.stdout[start:])
    except ValueError:
        raise AssertionError(raw[-3000:]) from None
    results = {}
    for play in document["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                results.setdefault(task["task"]["name"].split(" : ")[-1], {})[host] = result
    return completed.returncode, results, raw


SYNC = "Sync this host's Tableau files in one call"


def expected_paths(tmp_path):
    root = tmp_path / "home" / "root" / "Documents"
    return sorted(
        str(root / repo / name)
        for repo in ("My Tableau Repository", "My Tableau Prep Repository", "My_Tableau_Bridge_Repository")
        for name in ("OAuthConfigs/custom_redshift_okta.xml", "Datasources/redshift-oauth.tdc")
    )


def test_one_task_syncs_the_files_from_the_fleet_plan_and_a_second_run_changes_nothing(tmp_path):
    check_rc, check, raw = run(tmp_path, [PREFLIGHT, ROLE_PLAY], "--check", "--diff", "-vvv")
    assert check_rc == 0, raw[-3000:]
    assert not (tmp_path / "home").exists()  # check mode wrote nothing
    predicted = check[SYNC]["localhost"]
    assert predicted["changed"] is True and predicted["plan_source"] == "fleet plan"

    rc, results, raw = run(tmp_path, [PREFLIGHT, ROLE_PLAY], "--diff", "-vvv")
    assert rc == 0, raw[-3000:]
    result = results[SYNC]["localhost"]
    assert result["changed"] is True and result["plan_source"] == "fleet plan"
    assert sorted(item["path"] for item in result["files"]) == expected_paths(tmp_path)
    assert sorted(f["path"] for f in result["files"]) == sorted(f["path"] for f in predicted["files"])
    assert result["profile"]["applications"] == ["desktop", "prep", "bridge"]
    if "host_facts" in result:  # the module reads the facts in the same call
        assert result["host_facts"]["os"]["id"]
        assert {f["code"] for f in result["preflight"]} >= {"driver-missing"}
    for path in expected_paths(tmp_path):
        assert Path(path).is_file()
    config = Path(
        expected_paths(tmp_path)[0].replace("Datasources/redshift-oauth.tdc", "OAuthConfigs/custom_redshift_okta.xml")
    )
    assert SECRET in config.read_text()  # where Tableau needs it
    assert oct(config.stat().st_mode & 0o777) == "0o600"
    assert SECRET not in raw  # not in -vvv output, results or diffs
    assert "invocation" not in result

    again_rc, again, raw = run(tmp_path, [PREFLIGHT, ROLE_PLAY])
    assert again_rc == 0, raw[-3000:]
    assert again[SYNC]["localhost"]["changed"] is False


def test_the_role_alone_renders_by_itself_and_plans_the_same_files(tmp_path):
    rc, results, raw = run(tmp_path, [ROLE_PLAY], "--check")
    assert rc == 0, raw[-3000:]
    result = results[SYNC]["localhost"]
    assert result["plan_source"] == "rendered"
    assert sorted(item["path"] for item in result["files"]) == expected_paths(tmp_path)


def test_a_plan_made_from_other_data_is_not_used(tmp_path):
    # Play vars the preflight did not see: the action notices and renders from what it sees.
    play = dict(ROLE_PLAY, vars={"tabops_tdc_files": []})
    rc, results, raw = run(tmp_path, [PREFLIGHT, play], "--check")
    assert rc == 0, raw[-3000:]
    result = results[SYNC]["localhost"]
    assert result["plan_source"] == "rendered"
    assert not [item for item in result["files"] if item["kind"] == "tdc"]


def test_explicit_files_and_folders_pass_through_unchanged(tmp_path):
    folder = tmp_path / "direct" / "OAuthConfigs"
    content = (
        "<?xml version='1.0' encoding='utf-8'?><pluginOAuthConfig><dbclass>redshift</dbclass>"
        "<oauthConfigId>custom_direct</oauthConfigId><clientIdDesktop>x</clientIdDesktop>"
        f"<clientSecretDesktop>{SECRET}</clientSecretDesktop>"
        "<redirectUrisDesktop>http://localhost:55556/Callback</redirectUrisDesktop>"
        "<authUri>https://idp.example/authorize</authUri><tokenUri>https://idp.example/token</tokenUri>"
        "<scopes>openid</scopes><capabilities/><accessTokenResponseMaps/></pluginOAuthConfig>"
    )
    task = {
        "name": "direct",
        "tabops.redshift_oauth.tableau_files": {
            "folders": [{"path": str(folder), "kind": "oauth_config", "application": "desktop"}],
            "files": [
                {"path": str(folder / "custom_direct.xml"), "kind": "oauth_config", "content": content, "mode": "0600"}
            ],
        },
    }
    rc, results, raw = run(tmp_path, [{"hosts": "localhost", "gather_facts": False, "tasks": [task]}], "-vvv")
    result = results["direct"]["localhost"]
    assert rc == 0, raw[-3000:]
    assert [item["path"] for item in result["files"]] == [str(folder / "custom_direct.xml")]
    assert SECRET in (folder / "custom_direct.xml").read_text()
    assert SECRET not in raw


def test_bad_input_stops_the_run_in_the_preflight_before_the_host_is_touched(tmp_path):
    bad = inventory(tmp_path, tabops_odbc_extras_allowlist=["Foo,Bar"], tabops_desktop_users=["root", "../x"])
    rc, results, raw = run(tmp_path, [PREFLIGHT, ROLE_PLAY], inventory_path=bad)
    assert rc == 2, raw[-3000:]
    lines = results["Preflight summary"]["localhost"]["msg"]
    assert lines[0] == "preflight: 2 error(s), 0 warning(s), 0 info"
    assert any("tabops_odbc_extras_allowlist[0]" in line and "separator" in line for line in lines)
    assert any("tabops_desktop_users[1]" in line for line in lines)
    assert SYNC not in results
    assert not (tmp_path / "home").exists()


def test_paths_that_are_one_file_on_apfs_are_named_before_a_mac_is_touched():
    from ansible_collections.tabops.redshift_oauth.plugins.action.tableau_files import apfs_name_collisions

    folder = "/Users/mlee/Documents/My Tableau Repository/OAuthConfigs/"
    distinct = [{"path": folder + "custom_a.xml"}, {"path": folder + "custom_b.xml"}]
    assert apfs_name_collisions(distinct) == ""
    by_case = [{"path": folder + "custom_redshift_okta.xml"}, {"path": folder + "custom_Redshift_Okta.xml"}]
    message = apfs_name_collisions(by_case)
    assert "files[0].path" in message and "files[1].path" in message and "case-insensitive" in message
    # The same name in composed and decomposed Unicode form (what a Mac keyboard and a Linux editor type).
    by_normalization = [{"path": folder + "custom_caf\u00e9.xml"}, {"path": folder + "custom_cafe\u0301.xml"}]
    assert "files[1].path" in apfs_name_collisions(by_normalization)


def test_the_arguments_a_role_task_passes_are_the_actions_or_the_host_modules():
    """The action skips importing the host module for a role task's arguments: each of them must be valid."""
    from ansible_collections.tabops.redshift_oauth.plugins.action import tableau_files as action

    assert action.ROLE_TASK_ARGS - action.ACTION_ARGS <= set(action.module_spec())  # noqa: SIM300
    assert action.unknown_arguments({"kinds": [], "run_id": "r1"}) == []
    assert action.unknown_arguments({"kinds": [], "no_such_option": 1}) == ["no_such_option"]


def test_the_action_imports_neither_the_sync_engine_nor_the_fleet_rules():
    """Ansible imports an action in every worker it forks, once per host and task: on a POSIX host the engine runs
    remotely and the fleet-wide rules ran once in the preflight, so the action must not pay for importing them."""
    script = (
        "import sys, ansible_collections.tabops.redshift_oauth.plugins.action.tableau_files;"
        "print('\\n'.join(m for m in sys.modules if m.startswith('ansible_collections.tabops')))"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT / ".collections"))
    loaded = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "python"), "-c", script], env=env, check=True, capture_output=True, text=True
    ).stdout.split()
    heavy = {"_sync", "_preflight", "_windows_sync", "_redshift_iam"}
    heavy = [m for m in loaded if m.rsplit(".", 1)[-1] in heavy]
    assert "ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._host_findings" in loaded
    assert heavy == []
