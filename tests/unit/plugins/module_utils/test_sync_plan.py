# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The pure planner (_sync/_plan.py): hand-built observations in, plans and operations out; no filesystem."""

from __future__ import annotations

import ast
import hashlib
import json
import ntpath
from pathlib import Path

import pytest

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._secrets import REDACTED
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync import _plan
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import render_oauth_config, render_tdc

SECRET = "CANARY-plan-secret-5e2b"
STAMP = "20260102T030405Z"
FOLDER = "/home/alice/Documents/My Tableau Repository/OAuthConfigs"
NAME = "custom_redshift_okta.xml"


def oauth_xml(client_id="tableau-desktop", secret=SECRET):
    return render_oauth_config(
        {
            "id": "custom_redshift_okta",
            "idp": "okta",
            "idp_base_url": "https://example.okta.com",
            "auth_server": "default",
            "client_id_desktop": client_id,
            "client_secret_desktop": secret,
        }
    )


def tdc_xml(tdc_class="redshift", value="yes"):
    return render_tdc({"class": tdc_class, "customizations": {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": value}})


def request(text=None, mode="0600", folder=FOLDER, kind="oauth_config", name=NAME, paths=None):
    files = []
    if text is not None:
        files.append({"path": folder + ("\\" if paths is ntpath else "/") + name, "content": text, "kind": kind})
        files[0].update(mode=mode, artifact=name.rsplit(".", 1)[0])
    dirs = [{"path": folder, "kind": kind, "application": "desktop"}]
    return _plan.normalize_request(files, dirs, **({"paths": paths} if paths else {}))


def file_entry(data, mode=0o600, nlink=1, ino=7, uid=1000):
    return {
        "type": "file",
        "data": data,
        "sha256": None,
        "problem": None,
        "uid": uid,
        "gid": uid,
        "owner": "alice",
        "group": "alice",
        "mode": mode,
        "nlink": nlink,
        "identity": [1, ino, 0o100000 | mode, uid, uid, nlink, len(data or b""), 5],
    }


def manifest_bytes(files):
    return _plan.render_manifest(files).encode("ascii")


def owned(text, name=NAME):
    return {
        name: {"kind": "oauth_config", "artifact": name.rsplit(".", 1)[0], "sha256": _plan.sha256_bytes(text.encode())}
    }


def present(entries=None, manifest=None, backups=(), temp_files=(), backups_problem=None):
    return {
        "state": "present",
        "detail": "",
        "missing": [],
        "manifest": None if manifest is None else {"data": manifest, "identity": [1, 99, 0o100644, 0, 0, 1, 1, 1]},
        "backups": list(backups),
        "backups_problem": backups_problem,
        "temp_files": list(temp_files),
        "entries": entries or {},
        "identity": [1, 2],
    }


def plan(desired, dirs, observation, **options):
    return _plan.plan_host(desired, dirs, {dirs[0]["path"]: observation}, STAMP, **options)


def ops(result):
    return [(op["op"], op.get("to") or op["path"]) for op in result["folders"][0]["operations"]]


def test_the_planner_does_no_io():
    source = Path(_plan.__file__).read_text()
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    imported |= {
        node.module.split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not imported & {"os", "shutil", "pwd", "grp", "tempfile", "pathlib", "subprocess", "datetime", "time"}
    assert "open(" not in source


def test_absent_folder_plans_mkdirs_outermost_first_then_the_file_then_the_manifest():
    desired, dirs = request(oauth_xml())
    missing = [FOLDER.rsplit("/", 1)[0], FOLDER]
    result = plan(desired, dirs, {"state": "absent", "missing": missing})
    assert ops(result) == [
        ("mkdir", missing[0]),
        ("mkdir", missing[1]),
        ("write", FOLDER + "/" + NAME),
        ("manifest", FOLDER + "/.tabops-managed.json"),
    ]
    write = result["folders"][0]["operations"][2]
    assert write["expect"] is None and write["mode"] == 0o600 and write["data"] == oauth_xml().encode()
    manifest = json.loads(result["folders"][0]["operations"][3]["data"])
    assert manifest["files"] == owned(oauth_xml())
    assert result["folders"][0]["created_dirs"] == missing


def test_same_meaning_other_bytes_is_compliant_and_plans_nothing():
    text = oauth_xml()
    reformatted = text.replace("\n  ", "\n\t").replace("?>\n", "?>\n<!-- by hand -->\n", 1)
    assert reformatted != text
    desired, dirs = request(text)
    result = plan(desired, dirs, present({NAME: file_entry(reformatted.encode())}, manifest_bytes(owned(text))))
    assert ops(result) == []
    assert result["files"][0]["status"] == "compliant"


def test_mode_drift_is_an_attributes_operation_bound_to_the_observed_inode():
    desired, dirs = request(oauth_xml())
    observed = file_entry(oauth_xml().encode(), mode=0o644)
    result = plan(desired, dirs, present({NAME: observed}, manifest_bytes(owned(oauth_xml()))))
    assert ops(result) == [("attributes", FOLDER + "/" + NAME)]
    operation = result["folders"][0]["operations"][0]
    assert operation["expect"] == observed["identity"] and operation["mode"] == 0o600
    assert result["files"][0]["differences"] == [{"path": "file.mode", "expected": "0600", "actual": "0644"}]


def test_a_hard_link_at_a_managed_name_is_refused_not_compared_not_changed_not_shown():
    desired, dirs = request(oauth_xml())
    observed = file_entry(None, mode=0o644, nlink=2)
    observed["problem"] = "has 2 hard links (not read)"
    result = plan(desired, dirs, present({NAME: observed}, manifest_bytes(owned(oauth_xml()))))
    assert ops(result) == []
    entry = result["files"][0]
    assert entry["status"] == "error" and entry["differences"][0]["path"] == "file.links"
    assert _plan.report_diff(result) == []
    finished = _plan.finish_host(result, {})
    assert finished["folders"][0]["status"] == "error" and "2 hard links" in finished["msg"]


def test_a_symlink_at_a_managed_name_is_backed_up_as_a_link_and_replaced():
    desired, dirs = request(oauth_xml())
    link = dict(file_entry(None), type="symlink")
    result = plan(desired, dirs, present({NAME: link}))
    assert ops(result) == [
        ("backup", FOLDER + "/.tabops-backups/" + NAME + "." + STAMP),
        ("write", FOLDER + "/" + NAME),
        ("manifest", FOLDER + "/.tabops-managed.json"),
    ]
    backup, write = result["folders"][0]["operations"][:2]
    assert backup["type"] == "symlink" and backup["expect"] == write["expect"] == link["identity"]


def test_a_refused_backup_folder_stops_replacements_but_not_new_files():
    text = oauth_xml(client_id="new")
    desired, dirs = _plan.normalize_request(
        [
            {"path": FOLDER + "/" + NAME, "content": text, "kind": "oauth_config"},
            {
                "path": FOLDER + "/custom_new.xml",
                "content": text.replace("custom_redshift_okta", "custom_new"),
                "kind": "oauth_config",
            },
        ],
        [{"path": FOLDER, "kind": "oauth_config", "application": "desktop"}],
    )
    observation = present(
        {NAME: file_entry(oauth_xml(client_id="old").encode(), mode=0o644)}, backups_problem="is a symbolic link"
    )
    result = plan(desired, dirs, observation)
    assert ("write", FOLDER + "/custom_new.xml") in ops(result)
    assert ("write", FOLDER + "/" + NAME) not in ops(result)
    entry = result["files"][0]
    assert entry["status"] == "error" and "nothing may be lost" in entry["differences"][0]["actual"]


@pytest.mark.parametrize(("keep", "removed"), [(5, 2), (1, 6), (0, 6)])
def test_backup_retention_keeps_the_newest_per_file(keep, removed):
    desired, dirs = request(oauth_xml(client_id="new"))
    old = ["%s.2025010%dT000000Z" % (NAME, day) for day in range(1, 7)]
    others = ["custom_other.xml.20250101T000000Z", "notes.txt"]
    observation = present(
        {NAME: file_entry(oauth_xml(client_id="old").encode())}, manifest_bytes(owned(oauth_xml())), old + others
    )
    result = plan(desired, dirs, observation, backup_keep=keep)
    folder = result["folders"][0]
    assert folder["removed_backups"] == [FOLDER + "/.tabops-backups/" + name for name in old[:removed]]
    assert all(name not in " ".join(folder["removed_backups"]) for name in others)
    assert len(folder["backups"]) == (1 if keep else 0)


def test_leftover_temp_files_are_removed_first():
    desired, dirs = request(oauth_xml())
    observation = present(
        {NAME: file_entry(oauth_xml().encode())},
        manifest_bytes(owned(oauth_xml())),
        temp_files=[".tabops-tmp-abc", ".tabops-backups/.tabops-tmp-def"],
    )
    result = plan(desired, dirs, observation)
    assert ops(result) == [
        ("remove_temp", FOLDER + "/.tabops-tmp-abc"),
        ("remove_temp", FOLDER + "/.tabops-backups/.tabops-tmp-def"),
    ]
    assert _plan.finish_host(result, {}, check_mode=True)["removed_temp_files"] == [op[1] for op in ops(result)]


@pytest.mark.parametrize(
    ("manifest", "match"),
    [
        ({"problem": "is a symlink, not a regular file"}, "is a symlink, not a regular file; fix or remove it"),
        ({"data": b"{nope"}, "is not valid JSON"),
        ({"data": json.dumps({"managed_by": "x", "files": {}}).encode()}, "refusing to take over"),
        ({"data": json.dumps({"managed_by": _plan.MANAGED_BY, "files": {"../x.xml": {}}}).encode()}, "malformed"),
        ({"data": json.dumps({"managed_by": _plan.MANAGED_BY, "files": {"C:\\x.xml": {}}}).encode()}, "malformed"),
    ],
)
def test_an_untrusted_manifest_fails_the_folder_with_no_operations(manifest, match):
    desired, dirs = request(oauth_xml())
    observation = present({NAME: file_entry(oauth_xml(client_id="old").encode())})
    observation["manifest"] = manifest
    result = plan(desired, dirs, observation)
    assert ops(result) == []
    assert match in result["folders"][0]["error"]
    assert result["files"][0]["status"] == "error"


def test_a_refused_folder_is_an_error_naming_it():
    desired, dirs = request(oauth_xml())
    result = plan(desired, dirs, {"state": "refused", "detail": "/home/alice/Documents is a symbolic link"})
    finished = _plan.finish_host(result, {})
    assert finished["folders"] == [
        {
            "path": FOLDER,
            "status": "error",
            "error": "managed folder %s refused: /home/alice/Documents is a symbolic link" % FOLDER,
            "written": [],
        }
    ]
    assert finished["changed"] is False


def test_stale_owned_files_are_backed_up_and_removed_and_folders_at_owned_names_are_not():
    desired, dirs = request(None)
    previous = dict(owned(oauth_xml()), **owned(oauth_xml(), name="custom_dir.xml"))
    entries = {NAME: file_entry(oauth_xml().encode()), "custom_dir.xml": dict(file_entry(None), type="directory")}
    result = plan(desired, dirs, present(entries, manifest_bytes(previous)))
    assert ops(result)[:2] == [
        ("backup", FOLDER + "/.tabops-backups/" + NAME + "." + STAMP),
        ("remove", FOLDER + "/" + NAME),
    ]
    statuses = {entry["path"].rsplit("/", 1)[1]: entry["status"] for entry in result["files"]}
    assert statuses == {NAME: "stale", "custom_dir.xml": "error"}
    manifest = json.loads(result["folders"][0]["operations"][-1]["data"])
    assert list(manifest["files"]) == ["custom_dir.xml"], "a name not removed stays owned"


def test_with_remove_only_recorded_a_hand_edited_stale_file_stays_owned_and_costs_no_backup():
    """The Windows transport's rule: a stale owned file goes only while its bytes are the ones the manifest recorded.
    A hand edit is refused before any backup is planned, so ``backup_keep`` prunes nothing for it."""
    desired, dirs = request(None)
    old = ["%s.2025010%dT000000Z" % (NAME, day) for day in (1, 2)]
    edited = present(
        {NAME: file_entry(oauth_xml(client_id="by-hand").encode())}, manifest_bytes(owned(oauth_xml())), old
    )
    refused = plan(desired, dirs, edited, backup_keep=2, remove_only_recorded=True)
    assert ops(refused) == []
    assert refused["files"][0]["status"] == "error"
    assert "content is not what this collection wrote" in json.dumps(refused["files"][0])
    # POSIX (the default) re-checks identity on the fd instead: the same folder is backed up, pruned and removed.
    removed = plan(desired, dirs, edited, backup_keep=2)
    assert ("remove", FOLDER + "/" + NAME) in ops(removed)
    # The recorded bytes themselves are removed under the rule too.
    recorded = present({NAME: file_entry(oauth_xml().encode())}, manifest_bytes(owned(oauth_xml())), old)
    assert ("remove", FOLDER + "/" + NAME) in ops(
        plan(desired, dirs, recorded, backup_keep=2, remove_only_recorded=True)
    )


def test_a_tdc_conflict_with_fail_fails_that_folder_and_clears_its_operations():
    desired, dirs = request(tdc_xml(), mode="0644", kind="tdc", name="redshift.tdc")
    rogue = file_entry(tdc_xml(value="no").encode())
    result = plan(desired, dirs, present({"rogue.tdc": rogue}))
    assert "fail_msg" not in result  # a conflict fails its folder, never the whole host
    assert result["folders"][0]["error"].startswith(
        "TDC conflict, nothing written in %s: %s/rogue.tdc" % (FOLDER, FOLDER)
    )
    assert ops(result) == []
    finished = _plan.finish_host(result, {})
    assert finished["folders"][0]["status"] == "error" and finished["msg"].startswith("1 of 1 managed folders failed")
    assert finished["files"][0]["status"] == "error" and finished["changed"] is False
    warned = plan(desired, dirs, present({"rogue.tdc": rogue}), tdc_conflicts="warn")
    assert ("write", FOLDER + "/redshift.tdc") in ops(warned)


def test_a_failed_write_keeps_the_previous_manifest_entry_and_says_what_was_written():
    desired, dirs = request(oauth_xml(client_id="new"))
    before = owned(oauth_xml(client_id="old"))
    observation = present({NAME: file_entry(oauth_xml(client_id="old").encode())}, manifest_bytes(before))
    result = plan(desired, dirs, observation)
    operations = result["folders"][0]["operations"]
    assert [op["op"] for op in operations] == ["backup", "write", "manifest"]
    message = FOLDER + "/" + NAME + ": write No space left on device"
    finished = _plan.finish_host(result, {FOLDER: {"done": [0], "errors": [{"index": 1, "path": "", "msg": message}]}})
    folder = finished["folders"][0]
    assert folder["status"] == "error" and folder["error"] == message
    assert folder["written"] == [operations[0]["to"]]
    assert finished["files"][0]["status"] == "error"
    assert finished["changed"] is True, "the backup was written"
    assert finished["restart_needed"] == []
    assert json.loads(_plan.manifest_after_failures(operations[2], {NAME}))["files"] == before


def test_check_mode_reports_exactly_the_planned_operations():
    desired, dirs = request(oauth_xml(client_id="new"))
    observation = present(
        {NAME: file_entry(oauth_xml(client_id="old").encode())},
        manifest_bytes(owned(oauth_xml())),
        backups=["%s.2025010%dT000000Z" % (NAME, day) for day in range(1, 6)],
        temp_files=[".tabops-tmp-x"],
    )
    result = plan(desired, dirs, observation)
    predicted = _plan.finish_host(result, {}, check_mode=True)
    everything = {FOLDER: {"done": list(range(len(result["folders"][0]["operations"]))), "errors": []}}
    done = _plan.finish_host(result, everything)
    assert predicted == done
    assert len(done["removed_backups"]) == 1 and done["removed_temp_files"] == [FOLDER + "/.tabops-tmp-x"]


def test_secrets_are_masked_in_reports_and_diffs():
    desired, dirs = request(oauth_xml(secret=SECRET))
    old = oauth_xml(secret="OLD-secret-on-disk-9911")
    result = plan(desired, dirs, present({NAME: file_entry(old.encode())}))
    shown = json.dumps([_plan.report_files(result), _plan.report_diff(result), _plan.finish_host(result, {})])
    assert SECRET not in shown and "OLD-secret-on-disk-9911" not in shown
    assert {"path": "client_secret_desktop", "expected": REDACTED, "actual": REDACTED} in result["files"][0][
        "differences"
    ]


def test_windows_paths_and_hash_only_observations_plan_the_same():
    folder = "C:\\Users\\Ana\\Documents\\My Tableau Repository\\OAuthConfigs"
    desired, dirs = request(oauth_xml(), folder=folder, paths=ntpath)
    same = {
        "type": "file",
        "data": None,
        "sha256": hashlib.sha256(oauth_xml().encode()).hexdigest(),
        "mode": None,
        "nlink": 1,
        "identity": "file-id-1",
    }
    result = _plan.plan_host(desired, dirs, {folder: present({NAME: same})}, STAMP, paths=ntpath)
    assert result["files"][0]["status"] == "compliant"
    assert [op["op"] for op in result["folders"][0]["operations"]] == ["manifest"]
    assert result["folders"][0]["operations"][0]["path"] == folder + "\\.tabops-managed.json"
    other = dict(same, sha256="0" * 64)
    result = _plan.plan_host(desired, dirs, {folder: present({NAME: other})}, STAMP, paths=ntpath)
    assert result["files"][0]["status"] == "drift"


@pytest.mark.parametrize(("option", "value"), [("backup_keep", -1), ("backup_keep", True), ("tdc_conflicts", "x")])
def test_bad_options_are_refused_naming_them(option, value):
    # The engine checks them once, before the host is touched (test_sync_engine covers that it does).
    with pytest.raises(_plan.SyncError, match=option):
        _plan.check_options(**{option: value})
