# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The Windows side of tableau_files at the action's ``_execute_module`` boundary.

The upstream modules' results come from ``fixtures/windows/fakewin.py``: an NTFS-like filesystem kept in a dict
that answers win_find / slurp / win_copy / win_file as ansible.windows 3.8.0 does, so every scenario is a real
state change that the next run observes. The files and folders come from the real host layout for Windows
(``plan_host_files``), the decisions from the real planner, the documents from the real renderer.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import ntpath
import re
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[3] / "unit" / "fixtures" / "windows"
sys.path.insert(0, str(FIXTURES))
sys.path.insert(0, str(FIXTURES.parent))

import fakewin  # noqa: E402
from fakewin import FakeAction, FakeWindowsHost  # noqa: E402
from tableau_repository import repository_files  # noqa: E402

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import render_tdc  # noqa: E402
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils import _windows_sync  # noqa: E402
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._files import plan_host_files  # noqa: E402

USER = "jöhn.müller"
HOME = "C:\\Users\\jöhn.müller"
DESKTOP = HOME + "\\Documents\\My Tableau Repository"
PREP = HOME + "\\Documents\\My Tableau Prep Repository"
OAUTH_DIR = DESKTOP + "\\OAuthConfigs"
TDC_DIR = DESKTOP + "\\Datasources"
CANARY = "CANARY-windows-secret-9d41c2"
WRITES = {"ansible.windows.win_copy", "ansible.windows.win_file", "transfer"}
TEMP = fakewin.TEMP_DIR
START = datetime.datetime(2026, 12, 2, 10, 0, tzinfo=datetime.timezone.utc)

OKTA = {
    "id": "custom_redshift_okta",
    "idp": "okta",
    "idp_base_url": "https://corp.okta.example",
    "auth_server": "default",
    "client_id_desktop": "desktop-client",
    "client_secret_desktop": CANARY,
    "install_on": ["desktop", "prep"],
}
AZURE = {
    "id": "custom_redshift_azure",
    "idp": "okta",
    "idp_base_url": "https://other.okta.example",
    "auth_server": "default",
    "client_id_desktop": "other-client",
    "install_on": ["desktop"],
}
TDC = {"name": "redshift-oauth", "class": "redshift", "customizations": {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": "yes"}}


def module_args(configs=(OKTA,), tdcs=(TDC,), users=(USER,), layout=None, **options):
    planned = plan_host_files(
        oauth_configs=list(configs),
        tdc_files=list(tdcs),
        applications=["desktop", "prep"],
        desktop_users=list(users),
        os_family="Windows",
        layout=layout,
    )
    return dict(planned, tdc_conflicts="fail", backup=True, backup_keep=5, **options)


def run(host, args, check_mode=False, diff=True, fail_after=None):
    action = FakeAction(host, check_mode=check_mode, diff=diff, fail_after=fail_after)
    result = _windows_sync.sync(action, {}, args)
    return result, action


def by_path(result):
    return {item["path"]: item for item in result["files"]}


@pytest.fixture
def host():
    fake = FakeWindowsHost()
    fake.mkdir(HOME)
    return fake


def reformat(text):
    body = re.sub(r"^<\?xml[^>]*\?>\s*", "", text)
    body = re.sub(r">\s+<", "><", body)
    return "<!-- tidied by hand -->\r\n" + body.replace("'", '"')


def test_first_run_creates_folders_files_and_manifests_through_upstream_modules_only(host):
    args = module_args()
    result, action = run(host, args)
    assert result["changed"] is True
    assert not result.get("failed") and not result.get("unreachable")
    assert set(action.modules()) <= {
        "ansible.windows.win_find",
        "ansible.windows.slurp",
        "ansible.windows.win_copy",
        "ansible.windows.win_file",
        "transfer",
    }
    files = by_path(result)
    assert {item["status"] for item in files.values()} == {"missing"}
    assert {item["action"] for item in files.values()} == {"create"}
    for item in args["files"]:
        assert host.read(item["path"]).decode("utf-8") == item["content"]
    for folder in args["folders"]:
        manifest = json.loads(host.read(folder["path"] + "\\.tabops-managed.json"))
        assert manifest["managed_by"] == "tabops.redshift_oauth"
    assert DESKTOP in result["created_dirs"] and PREP in result["created_dirs"]
    assert HOME not in result["created_dirs"]
    assert result["restart_needed"] == ["desktop", "prep"]
    assert result["backups"] == []
    # The user's profile existed; Documents did not. One win_file per innermost folder creates its parents.
    assert HOME + "\\Documents" in result["created_dirs"]
    mkdirs = [a["path"] for name, a in action.calls if name == "ansible.windows.win_file" and a["state"] == "directory"]
    assert sorted(mkdirs) == sorted(d["path"] for d in args["folders"])


def test_second_run_is_one_win_find_and_changes_nothing(host):
    args = module_args()
    run(host, args)
    before = host.files_under(HOME)
    result, action = run(host, args)
    assert result["changed"] is False
    assert action.modules() == ["ansible.windows.win_find"]
    assert {item["status"] for item in result["files"]} == {"compliant"}
    assert host.files_under(HOME) == before
    assert result["manifests"] == [] and result["created_dirs"] == [] and result["restart_needed"] == []


def test_reformatted_file_is_compliant_and_not_rewritten(host):
    args = module_args()
    run(host, args)
    path = OAUTH_DIR + "\\custom_redshift_okta.xml"
    original = host.read(path).decode("utf-8")
    host.write(path, reformat(original))
    before = host.files_under(HOME)
    result, action = run(host, args)
    assert by_path(result)[path]["status"] == "compliant"
    assert result["changed"] is False
    assert not WRITES & set(action.modules())
    # Only the changed file was read (its checksum differed from the desired bytes).
    assert [args["src"] for name, args in action.calls if name == "ansible.windows.slurp"] == [path]
    assert host.files_under(HOME) == before


def test_edited_field_is_drift_naming_the_field_then_fixed_with_a_backup_outside_the_folder(host):
    args = module_args()
    run(host, args)
    path = OAUTH_DIR + "\\custom_redshift_okta.xml"
    edited = host.read(path).decode("utf-8").replace("desktop-client", "someone-else")
    host.write(path, edited)

    checked, action = run(host, args, check_mode=True)
    entry = by_path(checked)[path]
    assert entry["status"] == "drift" and entry["action"] == "update"
    assert entry["differences"] == [
        {"path": "client_id_desktop", "expected": "desktop-client", "actual": "someone-else"}
    ]
    assert not WRITES & set(action.modules())

    result, _action = run(host, args)
    assert by_path(result)[path]["differences"] == entry["differences"]
    assert host.read(path).decode("utf-8") == next(f["content"] for f in args["files"] if f["path"] == path)
    [backup] = result["backups"]
    assert ntpath.dirname(backup) == OAUTH_DIR + "\\.tabops-backups"
    assert host.read(backup).decode("utf-8") == edited
    assert result["restart_needed"] == ["desktop"]
    # The backup does not end in .xml: Tableau never loads it.
    assert not backup.endswith(".xml")


def test_secrets_never_appear_in_results_or_diffs(host):
    args = module_args()
    path = OAUTH_DIR + "\\custom_redshift_okta.xml"
    first, _action = run(host, args)
    host.write(path, host.read(path).decode("utf-8").replace(CANARY, "OLD-secret-on-the-desktop"))
    result, _action = run(host, args)
    text = json.dumps([first, result])
    assert CANARY not in text and "OLD-secret-on-the-desktop" not in text
    assert by_path(result)[path]["differences"] == [
        {"path": "client_secret_desktop", "expected": "[redacted]", "actual": "[redacted]"}
    ]
    assert any("[redacted]" in item["after"] for item in result["diff"])


def test_unowned_file_beside_managed_ones_is_reported_and_untouched(host):
    args = module_args()
    run(host, args)
    foreign = OAUTH_DIR + "\\custom_team_snowflake.xml"
    foreign_text = next(f["content"] for f in module_args(configs=[AZURE])["files"] if "OAuthConfigs" in f["path"])
    foreign_text = foreign_text.replace("custom_redshift_azure", "custom_team_snowflake")
    host.write(foreign, foreign_text)
    for check_mode in (True, False):
        result, _action = run(host, args, check_mode=check_mode)
        assert result["changed"] is False
        [unmanaged] = [item for item in result["unmanaged"] if item["path"] == foreign]
        assert unmanaged["reason"] == "stray_custom_config"
        assert unmanaged["status"] == "unmanaged_conflict"
        assert host.read(foreign).decode("utf-8") == foreign_text
        assert foreign not in by_path(result)


def test_stale_owned_file_is_removed_with_a_backup(host):
    run(host, module_args(configs=[OKTA, AZURE]))
    stale = OAUTH_DIR + "\\custom_redshift_azure.xml"
    assert host.exists(stale)
    result, _action = run(host, module_args(configs=[OKTA]))
    entry = by_path(result)[stale]
    assert (entry["status"], entry["action"]) == ("stale", "remove")
    assert not host.exists(stale)
    assert any(ntpath.basename(b).startswith("custom_redshift_azure.xml.") for b in result["backups"])
    manifest = json.loads(host.read(OAUTH_DIR + "\\.tabops-managed.json"))
    assert sorted(manifest["files"]) == ["custom_redshift_okta.xml"]
    again, action = run(host, module_args(configs=[OKTA]))
    assert again["changed"] is False and action.modules() == ["ansible.windows.win_find"]


def test_conflicting_tdc_fails_its_folder_only_or_warns(host):
    args = module_args()
    run(host, args)
    rival = TDC_DIR + "\\team-redshift.tdc"
    rival_text = render_tdc(
        {"class": "redshift", "customizations": {"CAP_ODBC_METADATA_SUPPRESS_EXECUTED_QUERY": "yes"}}
    )
    host.write(rival, rival_text)
    host.remove(OAUTH_DIR + "\\custom_redshift_okta.xml")  # the other folder: written despite the conflict
    before = {path: data for path, data in host.files_under(HOME).items() if path.startswith(TDC_DIR + "\\")}
    result, _action = run(host, args)
    assert result["failed"] is True and "TDC conflict, nothing written in %s" % TDC_DIR in result["msg"]
    assert not result.get("warnings")
    assert {path: data for path, data in host.files_under(HOME).items() if path.startswith(TDC_DIR + "\\")} == before
    assert host.exists(OAUTH_DIR + "\\custom_redshift_okta.xml")
    [conflict] = [item for item in result["unmanaged"] if item["reason"] == "tdc_conflict"]
    assert conflict["path"] == rival

    warned, _action = run(host, dict(args, tdc_conflicts="warn"))
    assert not warned.get("failed")
    assert host.exists(OAUTH_DIR + "\\custom_redshift_okta.xml")
    assert host.read(rival).decode("utf-8") == rival_text


def test_check_mode_issues_no_write_call_and_predicts_the_real_run(host):
    args = module_args(configs=[OKTA, AZURE])
    predicted, action = run(host, args, check_mode=True)
    assert set(action.modules()) == {"ansible.windows.win_find"}
    assert host.files_under(HOME) == {}
    real, _action = run(host, args)
    for key in ("files", "unmanaged", "restart_needed", "manifests", "created_dirs", "backups", "changed"):
        assert predicted[key] == real[key], key
    # Now a drift plus a stale file: check mode again predicts exactly.
    host.write(OAUTH_DIR + "\\custom_redshift_okta.xml", "<broken")
    args = module_args(configs=[OKTA])
    predicted, action = run(host, args, check_mode=True)
    assert not WRITES & set(action.modules())
    real, _action = run(host, args)
    for key in ("files", "unmanaged", "restart_needed", "manifests", "created_dirs", "changed"):
        assert predicted[key] == real[key], key
    assert len(predicted["backups"]) == len(real["backups"]) == 2


def test_unreachable_mid_run_returns_unreachable_with_what_was_written_and_converges(host):
    args = module_args()
    result, action = run(host, args, fail_after=5)
    assert result["unreachable"] is True
    assert "unreachable" in result["msg"]
    written = [path for folder in result["folders"] for path in folder["written"]]
    assert written, "something was written before the connection broke"
    for path in written:
        assert host.exists(path)
    assert CANARY not in json.dumps(result)
    again, _action = run(host, args)
    assert not again.get("unreachable") and not again.get("failed")
    for item in args["files"]:
        assert host.read(item["path"]).decode("utf-8") == item["content"]
    final, action = run(host, args)
    assert final["changed"] is False and action.modules() == ["ansible.windows.win_find"]


def test_unreachable_before_anything_is_written(host):
    class Gone(FakeAction):
        def _execute_module(self, **kwargs):
            from ansible.errors import AnsibleConnectionFailure

            raise AnsibleConnectionFailure("winrm: connection refused")

    result = _windows_sync.sync(Gone(host), {}, module_args())
    assert result["unreachable"] is True and result["changed"] is False
    assert host.files_under(HOME) == {}


def test_managed_folder_that_is_a_junction_is_refused_and_not_followed(host):
    host.mkdir("C:\\Windows\\System32")
    host.symlink(OAUTH_DIR, "C:\\Windows\\System32", junction=True)
    host.mkdir(TDC_DIR)
    result, _action = run(host, module_args())
    assert result["failed"] is True
    assert "refused" in result["msg"] and OAUTH_DIR in result["msg"]
    assert host.files_under("C:\\Windows") == {}
    # The other folders are still synced (one folder's problem does not stop the host).
    assert host.exists(TDC_DIR + "\\redshift-oauth.tdc")


def test_case_insensitive_names_are_the_same_file(host):
    args = module_args()
    run(host, args)
    path = OAUTH_DIR + "\\custom_redshift_okta.xml"
    data = host.read(path)
    host.remove(path)
    host.write(OAUTH_DIR + "\\CUSTOM_REDSHIFT_OKTA.XML", data)
    result, _action = run(host, args)
    assert by_path(result)[path]["status"] == "compliant"
    assert result["unmanaged"] == [] and result["changed"] is False


def test_long_paths_get_the_extended_prefix(host):
    deep = HOME + "\\" + "\\".join(["Tableau Deployment Area %02d" % n for n in range(12)])
    layout = {"desktop_repository": deep + "\\My Tableau Repository", "prep_repository": deep + "\\Prep"}
    args = module_args(layout=layout)
    assert max(len(f["path"]) for f in args["files"]) > 260
    result, action = run(host, args)
    assert not result.get("failed"), result.get("msg")
    long_calls = [a for name, a in action.calls if name != "transfer" and len(a.get("path", a.get("dest", ""))) > 248]
    assert long_calls and all(a.get("path", a.get("dest", "")).startswith("\\\\?\\") for a in long_calls)
    # Results use plain paths.
    assert all(not item["path"].startswith("\\\\?\\") for item in result["files"])
    again, _action = run(host, args)
    assert again["changed"] is False


def test_several_users_with_non_ascii_names_and_the_bridge_service_profile(host):
    users = ["jöhn.müller", "Zoë Ørsted", "李雷"]
    for user in users:
        host.mkdir("C:\\Users\\" + user)
    args = module_args(users=users)
    result, _action = run(host, args)
    assert not result.get("failed")
    for user in users:
        assert host.exists(
            "C:\\Users\\%s\\Documents\\My Tableau Repository\\OAuthConfigs\\custom_redshift_okta.xml" % user
        )
    bridge = plan_host_files(
        oauth_configs=[dict(OKTA, install_on=["bridge"])],
        tdc_files=[TDC],
        applications=["bridge"],
        bridge_user="svc_tableau_bridge",
        os_family="Windows",
    )
    host.mkdir("C:\\Users\\svc_tableau_bridge")
    result, _action = run(host, dict(bridge, tdc_conflicts="fail", backup=True, backup_keep=5))
    assert not result.get("failed")
    assert host.exists(
        "C:\\Users\\svc_tableau_bridge\\Documents\\My Tableau Bridge Repository\\OAuthConfigs\\custom_redshift_okta.xml"
    )
    assert result["restart_needed"] == ["bridge"]


def test_backup_retention_removes_the_oldest_backups(host):
    import datetime

    args = module_args(configs=[OKTA], tdcs=[])
    path = OAUTH_DIR + "\\custom_redshift_okta.xml"
    run(host, dict(args, backup_keep=2))
    for minute in range(4):
        host.write(path, host.read(path).decode("utf-8").replace("desktop-client", "edit-%d" % minute))
        now = datetime.datetime(2026, 12, 1, 10, minute, tzinfo=datetime.timezone.utc)
        _windows_sync.sync(FakeAction(host), {}, dict(args, backup_keep=2), now=now)
    backups = sorted(n["path"] for n in host.children(OAUTH_DIR + "\\.tabops-backups"))
    assert [ntpath.basename(b) for b in backups] == [
        "custom_redshift_okta.xml.20261201T100200Z",
        "custom_redshift_okta.xml.20261201T100300Z",
    ]


def test_bad_input_fails_before_any_host_call(host):
    args = module_args()
    args["files"][0]["path"] = "relative\\custom.xml"
    result, action = run(host, args)
    assert result["failed"] is True and "files[0].path" in result["msg"]
    assert action.calls == []


class _Templar:
    @staticmethod
    def template(value):
        return value


def action_for(host, task_args, check_mode=False):
    """The real tableau_files action with its host calls answered by the fake Windows host."""
    from types import SimpleNamespace

    from ansible_collections.tabops.redshift_oauth.plugins.action.tableau_files import ActionModule

    fake = FakeAction(host, check_mode=check_mode)
    task = SimpleNamespace(
        args=task_args, check_mode=check_mode, diff=True, async_val=0, action="tabops.redshift_oauth.tableau_files"
    )
    play_context = SimpleNamespace(check_mode=check_mode)
    action = ActionModule(task, fake._connection, play_context, None, _Templar(), None)
    for name in ("_execute_module", "_transfer_data", "_make_tmp_path", "_remove_tmp_path"):
        setattr(action, name, getattr(fake, name))
    return action, fake


def test_the_action_runs_a_windows_desktop_from_inventory_data_through_this_transport(host):
    """inventory vars -> host profile -> rendered files -> sync(): the whole chain a Windows desktop gets."""
    task_vars = {
        "inventory_hostname": "analyst-pc17",
        "groups": {"all": ["analyst-pc17"], "tableau_desktop": ["analyst-pc17"]},
        "ansible_connection": "winrm",
        "tabops_os_family": "Windows",
        "tabops_desktop_users": [USER],
        "tabops_oauth_configs": [OKTA],
        "tabops_tdc_files": [TDC],
    }
    action, fake = action_for(host, {})
    result = action.run(task_vars=task_vars)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    assert host.exists(OAUTH_DIR + "\\custom_redshift_okta.xml")
    assert host.exists(PREP + "\\Datasources\\redshift-oauth.tdc")
    assert CANARY not in json.dumps(result)
    assert set(fake.modules()) <= {
        "ansible.windows.win_find",
        "ansible.windows.slurp",
        "ansible.windows.win_copy",
        "ansible.windows.win_file",
        "transfer",
    }
    again, fake = action_for(host, {})
    second = again.run(task_vars=task_vars)
    assert second["changed"] is False and fake.modules() == ["ansible.windows.win_find"]


def test_folders_with_other_names_and_regex_characters_are_found_again(host):
    """Low-level use: folders of any name (here with spaces, brackets, a dot) are observed like the defaults."""
    folder = "C:\\ProgramData\\Team Configs (prod) [v2.1]\\OAuth"
    content = module_args(tdcs=[])["files"][0]["content"]
    args = {
        "files": [{"path": folder + "\\custom_redshift_okta.xml", "content": content, "kind": "oauth_config"}],
        "folders": [{"path": folder, "kind": "oauth_config", "application": "desktop"}],
    }
    first, _action = run(host, args)
    assert first["changed"] is True and first["created_dirs"] == [
        "C:\\ProgramData",
        "C:\\ProgramData\\Team Configs (prod) [v2.1]",
        folder,
    ]
    second, action = run(host, args)
    assert second["changed"] is False and action.modules() == ["ansible.windows.win_find"]
    assert by_path(second)[folder + "\\custom_redshift_okta.xml"]["status"] == "compliant"


def test_a_link_to_a_folder_at_a_desired_path_is_replaced_not_written_through(host):
    """win_copy would copy into the folder a directory link points to: the link is removed first."""
    args = module_args()
    run(host, args)
    path = OAUTH_DIR + "\\custom_redshift_okta.xml"
    host.remove(path)
    host.mkdir("C:\\Windows\\System32")
    host.symlink(path, "C:\\Windows\\System32")
    result, _action = run(host, args)
    entry = by_path(result)[path]
    assert (entry["status"], entry["action"]) == ("drift", "update")
    assert entry["differences"] == [{"path": "file.type", "expected": "regular file", "actual": "symbolic link"}]
    assert host.files_under("C:\\Windows") == {}
    assert host.nodes[path.lower()]["type"] == "file"
    assert host.read(path).decode("utf-8") == next(f["content"] for f in args["files"] if f["path"] == path)


def test_a_backup_folder_that_is_a_junction_is_refused_and_the_file_not_replaced(host):
    args = module_args()
    run(host, args)
    path = OAUTH_DIR + "\\custom_redshift_okta.xml"
    edited = host.read(path).decode("utf-8").replace("desktop-client", "someone-else")
    host.write(path, edited)
    host.mkdir("C:\\Users\\Public\\Loot")
    host.symlink(OAUTH_DIR + "\\.tabops-backups", "C:\\Users\\Public\\Loot", junction=True)
    result, _action = run(host, args)
    assert result["failed"] is True
    assert by_path(result)[path]["status"] == "error"
    assert "refused" in json.dumps(by_path(result)[path]["differences"])
    assert host.files_under("C:\\Users\\Public") == {}
    assert host.read(path).decode("utf-8") == edited, "not replaced: its backup could not be kept"


# ---------------------------------------------------------------------------------------------------------------------
# links, junctions and content that is not ours (docs/modules.md, "Windows hosts": what is checked, what is left)


class RacingAction(FakeAction):
    """A FakeAction that changes the host right before the ``at``-th win_find answers (someone acting mid-run)."""

    def __init__(self, host, at, change, **options):
        super().__init__(host, **options)
        self.finds, self.at, self.change = 0, at, change

    def _execute_module(self, module_name=None, module_args=None, task_vars=None, **kwargs):
        if module_name == "ansible.windows.win_find":
            self.finds += 1
            if self.finds == self.at:
                self.change()
        return super()._execute_module(module_name, module_args, task_vars, **kwargs)


def removals(action):
    return [
        args["path"] for name, args in action.calls if name == "ansible.windows.win_file" and args["state"] == "absent"
    ]


def test_stale_owned_file_with_other_bytes_is_an_error_and_not_removed(host):
    run(host, module_args(configs=[OKTA, AZURE]))
    stale = OAUTH_DIR + "\\custom_redshift_azure.xml"
    original = host.read(stale)
    host.write(stale, original.decode("utf-8").replace("other-client", "written-by-someone-else"))
    for check_mode in (True, False):
        result, action = run(host, module_args(configs=[OKTA]), check_mode=check_mode)
        entry = by_path(result)[stale]
        assert (entry["status"], entry["action"]) == ("error", "none")
        assert entry["differences"][0]["path"] == "file.sha256"
        assert result["failed"] is True and stale in result["msg"]
        assert removals(action) == [] and result["backups"] == []
        assert b"written-by-someone-else" in host.read(stale)
    # Still owned (the manifest keeps it): once it holds our bytes again, the next run removes it.
    assert "custom_redshift_azure.xml" in json.loads(host.read(OAUTH_DIR + "\\.tabops-managed.json"))["files"]
    host.write(stale, original)
    result, action = run(host, module_args(configs=[OKTA]))
    assert (by_path(result)[stale]["status"], by_path(result)[stale]["action"]) == ("stale", "remove")
    assert not host.exists(stale) and not result.get("failed")


def test_stale_owned_file_rewritten_after_the_find_is_not_removed(host):
    """The bytes change between the run's observation and the remove: the re-check before the first write sees it."""
    run(host, module_args(configs=[OKTA, AZURE]))
    stale = OAUTH_DIR + "\\custom_redshift_azure.xml"
    action = RacingAction(host, at=2, change=lambda: host.write(stale, "<mine>not yours</mine>"))
    result = _windows_sync.sync(action, {}, module_args(configs=[OKTA]))
    assert action.finds == 2  # the observation, then the re-check of the one folder written to
    assert host.read(stale) == b"<mine>not yours</mine>"
    assert stale not in removals(action)
    assert by_path(result)[stale]["status"] == "error" and result["failed"] is True
    assert "sha256" in result["msg"]


def test_managed_folder_swapped_for_a_junction_after_the_find_gets_no_write(host):
    """The folder seen as real is replaced by a junction before the writes: nothing goes through the junction."""
    run(host, module_args())
    victim = "C:\\ProgramData\\Victim"
    host.mkdir(victim)
    path = OAUTH_DIR + "\\custom_redshift_okta.xml"
    host.write(path, host.read(path).decode("utf-8").replace("desktop-client", "edited"))

    def swap():
        host.remove(OAUTH_DIR)
        host.symlink(OAUTH_DIR, victim, junction=True)

    action = RacingAction(host, at=2, change=swap)
    result = _windows_sync.sync(action, {}, module_args())
    assert result["failed"] is True and "is now a link or junction" in result["msg"]
    assert host.files_under(victim) == {}
    assert [
        args for name, args in action.calls if name == "ansible.windows.win_copy" and OAUTH_DIR in args["dest"]
    ] == []


def test_a_write_below_a_folder_not_seen_as_real_is_refused_without_a_host_call(host):
    performer = _windows_sync.Performer(_windows_sync.WindowsHost(FakeAction(host), {}), {})
    outcome = {"done": [], "errors": [], "error": None}
    performer.perform_folder([{"op": "write", "path": OAUTH_DIR + "\\custom_x.xml", "data": b"<x/>"}], outcome)
    assert outcome["done"] == [] and "was not seen as a real folder" in outcome["errors"][0]["msg"]
    assert performer.host.calls == []


def test_desired_files_differing_only_by_case_fail_before_any_host_call(host):
    other = dict(AZURE, id="custom_Redshift_Okta")
    args = module_args(configs=[OKTA, other])
    result, action = run(host, args)
    assert result["failed"] is True and action.calls == []
    assert OAUTH_DIR + "\\custom_redshift_okta.xml" in result["msg"]
    assert OAUTH_DIR + "\\custom_Redshift_Okta.xml" in result["msg"]
    assert "differ only by case" in result["msg"]


def test_owned_file_whose_case_changed_on_disk_is_still_removed_when_stale(host):
    run(host, module_args(configs=[OKTA, AZURE]))
    path = OAUTH_DIR + "\\custom_redshift_azure.xml"
    data = host.read(path)
    host.remove(path)
    host.write(OAUTH_DIR + "\\CUSTOM_REDSHIFT_AZURE.XML", data)
    result, _action = run(host, module_args(configs=[OKTA]))
    assert (by_path(result)[path]["status"], by_path(result)[path]["action"]) == ("stale", "remove")
    assert result["unmanaged"] == [] and not result.get("failed")
    assert not host.exists(path)
    assert sorted(json.loads(host.read(OAUTH_DIR + "\\.tabops-managed.json"))["files"]) == ["custom_redshift_okta.xml"]


def test_backup_folder_swapped_for_a_junction_after_the_find_gets_no_backup(host):
    args = module_args()
    run(host, args)
    path = OAUTH_DIR + "\\custom_redshift_okta.xml"
    host.write(path, host.read(path).decode("utf-8").replace("desktop-client", "edited"))
    run(host, args)  # the first drift fix makes .tabops-backups
    host.write(path, host.read(path).decode("utf-8").replace("desktop-client", "edited-again"))
    victim = "C:\\ProgramData\\Victim"
    host.mkdir(victim)

    def swap():
        host.remove(OAUTH_DIR + "\\.tabops-backups")
        host.symlink(OAUTH_DIR + "\\.tabops-backups", victim, junction=True)

    action = RacingAction(host, at=2, change=swap)
    result = _windows_sync.sync(action, {}, module_args())
    assert result["failed"] is True and ".tabops-backups is now a link or junction" in result["msg"]
    assert host.files_under(victim) == {}
    assert b"edited-again" in host.read(path), "not replaced: its backup could not be kept"


# ---------------------------------------------------------------------------------------------
# run journals and rollback (issue 14)
# ---------------------------------------------------------------------------------------------


def managed_state(host):
    """Every managed file but the backups: what a rollback must restore exactly."""
    return {path: data for path, data in host.files_under(HOME).items() if "\\.tabops-backups\\" not in path}


def test_a_windows_rollout_is_journaled_and_rolled_back_exactly(host):
    run(host, module_args(configs=[OKTA, AZURE], run_id="run-a"))
    after_a = managed_state(host)
    changed_okta = dict(OKTA, client_id_desktop="desktop-client-b")
    extra = dict(AZURE, id="custom_redshift_extra", idp_base_url="https://extra.okta.example")
    result_b, _action = run(host, module_args(configs=[changed_okta, extra], run_id="run-b"))
    journal = OAUTH_DIR + "\\.tabops-backups\\tabops-run-run-b.json"
    assert journal in result_b["journals"]
    assert CANARY not in host.read(journal).decode()
    assert managed_state(host) != after_a

    predicted, action = run(host, module_args(rollback_run_id="run-b"), check_mode=True)
    assert not [call for call in action.calls if call[0] in WRITES]
    assert CANARY not in json.dumps(predicted)
    result, _action = run(host, module_args(rollback_run_id="run-b"))
    assert not result.get("failed"), result.get("msg")
    assert sorted((f["path"], f["action"]) for f in result["files"]) == sorted(
        (f["path"], f["action"]) for f in predicted["files"]
    )
    assert {f["action"] for f in result["files"]} == {"restore", "remove"}
    assert managed_state(host) == after_a
    again, action = run(host, module_args(rollback_run_id="run-b"))
    assert again["changed"] is False and not [call for call in action.calls if call[0] in WRITES]
    # A rollout of data A finds nothing to do.
    converged, _action = run(host, module_args(configs=[OKTA, AZURE], run_id="run-c"))
    assert converged["changed"] is False and converged["journals"] == []


def test_a_windows_hand_edit_is_kept_and_no_change_run_reads_no_journal(host):
    run(host, module_args(configs=[OKTA], run_id="run-a"))
    run(host, module_args(configs=[OKTA, AZURE], run_id="run-b"))
    edited = OAUTH_DIR + "\\custom_redshift_azure.xml"
    host.write(edited, host.read(edited).replace(b"other-client", b"edited-by-hand"))
    result, _action = run(host, module_args(rollback_run_id="run-b"))
    assert result["rollback"]["hand_edited"] == [edited]
    assert b"edited-by-hand" in host.read(edited)
    assert any("changed by hand" in warning for warning in result.get("warnings", []))
    listed, _action = run(host, module_args(list_runs=True))
    assert [entry["run_id"] for entry in listed["runs"]] == ["run-b", "run-a"]
    # A run that changes nothing still costs one win_find: no journal is read.
    host.remove(edited)
    run(host, module_args(configs=[OKTA], run_id="run-c"))
    unchanged, action = run(host, module_args(configs=[OKTA], run_id="run-d"))
    assert unchanged["changed"] is False and action.modules() == ["ansible.windows.win_find"]


def test_windows_flags_given_as_text_mean_what_they_say(host):
    run(host, module_args(configs=[OKTA], run_id="run-a"))
    run(host, module_args(configs=[OKTA, AZURE], run_id="run-b"))
    edited = OAUTH_DIR + "\\custom_redshift_azure.xml"
    host.write(edited, host.read(edited).replace(b"other-client", b"edited-by-hand"))
    # What the role passes for -e tabops_rollback_force=false: the text "false".
    result, _action = run(host, module_args(rollback_run_id="run-b", rollback_force="false"))
    assert result["rollback"]["hand_edited"] == [edited] and host.exists(edited)
    bad, action = run(host, module_args(rollback_run_id="run-b", rollback_force="maybe"))
    assert bad["failed"] and "rollback_force" in bad["msg"] and action.calls == []


def test_windows_backup_pruning_keeps_what_a_kept_run_needs(host):
    def go(configs, minute, **options):
        action = FakeAction(host, check_mode=False, diff=False)
        args = dict(module_args(configs=configs, **options), backup_keep=2)
        return _windows_sync.sync(action, {}, args, now=START + datetime.timedelta(minutes=minute))

    def client(number):
        return dict(OKTA, client_id_desktop="client-%d" % number)

    go([client(1)], 0, run_id="run-a")
    go([client(2)], 1, run_id="run-b")
    go([], 2, rollback_run_id="run-b")  # a third backup, of no run
    go([client(3)], 3, run_id="run-c")
    go([client(3)], 4, run_id="run-d")  # nothing to write: only backup pruning
    forced = go([], 5, rollback_run_id="run-b", rollback_force=True)
    assert not forced.get("failed"), forced.get("msg")
    assert b"client-1" in host.read(OAUTH_DIR + "\\custom_redshift_okta.xml")


def test_windows_journals_over_their_budget_are_not_read(host):
    run(host, module_args(configs=[OKTA], run_id="run-a"))
    big = OAUTH_DIR + "\\.tabops-backups\\tabops-run-zz.json"
    host.write(big, b"x" * (8 << 20))  # written by the folder's user
    result, action = run(host, module_args(list_runs=True))
    slurped = [call[1]["src"] for call in action.calls if call[0] == "ansible.windows.slurp"]
    assert not any(src.endswith("tabops-run-zz.json") for src in slurped)
    assert [(entry["run_id"], entry["trusted"]) for entry in result["runs"]] == [("run-a", False)]


# ---------------------------------------------------------------------------------------------
# the double behaves as the module sources do (win_find.ps1, slurp.ps1, win_copy.ps1, win_file.ps1)
# ---------------------------------------------------------------------------------------------


def _answer(host, module, **args):
    return fakewin.answer(host, "ansible.windows." + module, args, False)


def test_the_double_follows_links_as_test_path_does(host):
    host.write("C:\\Users\\Public\\theirs.xml", "<theirs/>")
    host.symlink(OAUTH_DIR + "\\link.xml", "C:\\Users\\Public\\theirs.xml")
    host.symlink(OAUTH_DIR + "\\dangling.xml", "C:\\Users\\Public\\gone\\x.xml", directory=False)
    host.mkdir("C:\\Users\\Public\\dir")
    host.symlink(OAUTH_DIR + "\\dirlink", "C:\\Users\\Public\\dir")
    found = _answer(host, "win_find", paths=[OAUTH_DIR], file_type="any", checksum_algorithm="sha256")
    items = {item["filename"]: item for item in found["files"]}
    # win_find checksums the TARGET of a link and says where it points; a dangling link has no checksum.
    assert items["link.xml"]["checksum"] == hashlib.sha256(b"<theirs/>").hexdigest()
    assert (items["link.xml"]["islnk"], items["link.xml"]["isreg"]) == (True, False)
    assert items["link.xml"]["lnk_source"] == "C:\\Users\\Public\\theirs.xml"
    assert items["dangling.xml"]["checksum"] is None and items["dangling.xml"]["islnk"] is True
    # slurp reads the target.
    assert base64.b64decode(_answer(host, "slurp", src=OAUTH_DIR + "\\link.xml")["content"]) == b"<theirs/>"
    # win_file state=absent: Test-Path follows links, so a dangling link is "not there" and stays ...
    assert _answer(host, "win_file", path=OAUTH_DIR + "\\dangling.xml", state="absent") == {"changed": False}
    assert host.exists(OAUTH_DIR + "\\dangling.xml")
    # ... and a live link is removed itself (DeleteFileW / RemoveDirectoryW), never what it points to.
    assert _answer(host, "win_file", path=OAUTH_DIR + "\\dirlink", state="absent")["changed"] is True
    assert not host.exists(OAUTH_DIR + "\\dirlink") and host.isdir("C:\\Users\\Public\\dir")
    # win_copy to a dangling link writes through it: File.Copy creates the link's target.
    host.write(TEMP + "\\x.bin", "<ours/>")
    host.mkdir("C:\\Users\\Public\\gone")
    copied = _answer(host, "win_copy", src=TEMP + "\\x.bin", dest=OAUTH_DIR + "\\dangling.xml", _copy_mode="remote")
    assert copied["changed"] is True and host.read("C:\\Users\\Public\\gone\\x.xml") == b"<ours/>"


def test_the_double_answers_locked_files_prefixed_paths_and_unchanged_copies_as_the_modules_do(host):
    path = OAUTH_DIR + "\\a.xml"
    host.write(path, "<a/>")
    host.write(TEMP + "\\a.bin", "<a/>")
    host.lock(path)
    # A locked file: win_find's checksum is null (-ErrorAction SilentlyContinue), slurp fails.
    [item] = _answer(host, "win_find", paths=[OAUTH_DIR], checksum_algorithm="sha256")["files"]
    assert item["checksum"] is None and item["size"] == 4
    assert "being used by another process" in _answer(host, "slurp", src=path)["msg"]
    host.lock(path, False)
    # FullName keeps the \\?\ prefix of the scan root.
    [item] = _answer(host, "win_find", paths=["\\\\?\\" + OAUTH_DIR])["files"]
    assert item["path"] == "\\\\?\\" + path
    # An unchanged remote copy still reports original_basename, size and checksum (win_copy.ps1 sets them always).
    same = _answer(host, "win_copy", src=TEMP + "\\a.bin", dest=path, _copy_mode="remote")
    assert same["changed"] is False and (same["original_basename"], same["size"]) == ("a.bin", 4)
    # Any path of 260 characters or more without the prefix: PathTooLongException, as on PowerShell 5.1.
    deep = OAUTH_DIR + "\\" + "x" * (270 - len(OAUTH_DIR))
    assert "too long" in _answer(host, "slurp", src=deep)["msg"]
    host.write("\\\\?\\" + deep, "<deep/>")
    failed = _answer(host, "win_find", paths=[OAUTH_DIR], recurse=True, patterns=["*.none"])
    assert failed["failed"] is True and "too long" in failed["msg"]
    assert _answer(host, "win_find", paths=["\\\\?\\" + OAUTH_DIR], patterns=["x*"])["matched"] == 1


# ---------------------------------------------------------------------------------------------
# the transport against those behaviours
# ---------------------------------------------------------------------------------------------


def _deep_repository():
    """A repository folder 190 characters deep (a redirected, synced Documents folder)."""
    base = HOME + "\\OneDrive - Contoso Corporation (Europe)\\Documents\\Analytics Team Shared Workspace"
    repository = base + "\\Quarterly Planning"
    repository += "\\" + "R" * (190 - len(repository) - len("\\My Tableau Repository") - 1) + "\\My Tableau Repository"
    assert len(repository) == 190
    return repository


def test_a_repository_190_characters_deep_whose_backups_cross_max_path(host, monkeypatch):
    repository = _deep_repository()
    for rel, data in repository_files(datasources=4, logs=2).items():
        host.write("\\\\?\\" + repository + "\\" + rel.replace("/", "\\"), data)
    args = module_args(layout={"desktop_repository": repository, "prep_repository": HOME + "\\Prep"})
    first, _action = run(host, args)
    assert not first.get("failed"), first.get("msg")
    okta = repository + "\\OAuthConfigs\\custom_redshift_okta.xml"
    host.write("\\\\?\\" + okta, host.read(okta).decode("utf-8").replace("desktop-client", "someone-else"))
    fixed, _action = run(host, args)
    assert not fixed.get("failed"), fixed.get("msg")
    [backup] = [path for path in host.files_under(repository + "\\OAuthConfigs\\.tabops-backups") if ".xml." in path]
    assert len(backup) > 260
    again, action = run(host, args)
    assert not again.get("failed") and again["changed"] is False
    # Every scan root had the prefix; the results are reported with plain paths.
    roots = [path for name, call in action.calls if name.endswith("win_find") for path in call["paths"]]
    assert roots and all(path.startswith("\\\\?\\") for path in roots)
    assert all(not item["path"].startswith("\\\\?\\") for item in again["files"])
    # Without the prefix on the scan roots, the whole scan fails as on Windows PowerShell 5.1.
    original = _windows_sync.long_path
    monkeypatch.setattr(_windows_sync, "long_path", lambda path, scan_root=False: original(path))
    broken, _action = run(host, args)
    assert broken["failed"] is True and "too long" in broken["msg"]


def test_a_dangling_link_at_a_desired_path_is_never_written_through(host):
    args = module_args()
    run(host, args)
    path = OAUTH_DIR + "\\custom_redshift_okta.xml"
    host.remove(path)
    host.mkdir("C:\\Users\\Public\\planted")
    host.symlink(path, "C:\\Users\\Public\\planted\\evil.xml", directory=False)
    result, _action = run(host, args)
    assert result["failed"] is True
    assert "dangling link" in json.dumps(result)
    assert not host.exists("C:\\Users\\Public\\planted\\evil.xml")
    assert host.nodes[path.lower()]["type"] == "symlink"


def test_a_link_to_a_file_at_a_desired_path_is_replaced_and_its_target_untouched(host):
    args = module_args()
    run(host, args)
    path = OAUTH_DIR + "\\custom_redshift_okta.xml"
    host.remove(path)
    host.write("C:\\Users\\Public\\theirs.xml", "<theirs/>")
    host.symlink(path, "C:\\Users\\Public\\theirs.xml")
    result, _action = run(host, args)
    assert not result.get("failed"), result.get("msg")
    assert host.read("C:\\Users\\Public\\theirs.xml") == b"<theirs/>"
    assert host.nodes[path.lower()]["type"] == "file"
    assert host.read(path).decode("utf-8") == next(f["content"] for f in args["files"] if f["path"] == path)


def test_a_locked_file_is_an_error_never_different_and_converges_once_released(host):
    args = module_args()
    run(host, args)
    path = OAUTH_DIR + "\\custom_redshift_okta.xml"
    edited = host.read(path).decode("utf-8").replace("desktop-client", "someone-else")
    host.write(path, edited)
    host.lock(path)
    result, action = run(host, args)
    entry = by_path(result)[path]
    assert entry["status"] == "error" and "locked" in json.dumps(entry)
    assert host.read(path).decode("utf-8") == edited
    assert not any(name.endswith("slurp") and call["src"].endswith("okta.xml") for name, call in action.calls)
    assert [p for p in host.files_under(OAUTH_DIR + "\\.tabops-backups") if ".xml." in p] == []
    host.lock(path, False)
    fixed, _action = run(host, args)
    assert by_path(fixed)[path]["status"] == "drift" and not fixed.get("failed")
    assert "someone-else" not in host.read(path).decode("utf-8")


def test_a_locked_stale_owned_file_is_not_removed(host):
    run(host, module_args(configs=(OKTA, AZURE)))
    stale = OAUTH_DIR + "\\custom_redshift_azure.xml"
    host.lock(stale)
    result, _action = run(host, module_args())
    entry = by_path(result)[stale]
    assert entry["status"] == "error" and "locked" in json.dumps(entry["differences"])
    assert host.exists(stale)
    assert "custom_redshift_azure.xml" in json.loads(host.read(OAUTH_DIR + "\\.tabops-managed.json"))["files"]
    host.lock(stale, False)
    removed, _action = run(host, module_args())
    assert by_path(removed)[stale]["status"] == "stale" and not host.exists(stale)


def test_a_realistic_repository_is_left_alone_and_only_files_of_the_folder_kind_are_read(host):
    files = {DESKTOP + "\\" + rel.replace("/", "\\"): data for rel, data in repository_files().items()}
    for path, data in files.items():
        host.write(path, data)
    args = module_args()
    first, action = run(host, args)
    assert not first.get("failed") and first["unmanaged"] == [], first.get("msg") or first["unmanaged"]
    read = sorted(call["src"] for name, call in action.calls if name.endswith("slurp"))
    other_tdcs = sorted(path for path in files if path.endswith(".tdc"))
    # The conflict scan reads the other TDCs of Datasources (their class decides), nothing else of the repository.
    assert other_tdcs and read == other_tdcs
    second, action = run(host, args)
    assert second["changed"] is False
    assert {path: host.read(path) for path in files} == files
