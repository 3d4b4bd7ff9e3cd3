# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Host-side file sync (_sync: planner + POSIX transport) on real temporary folders, real files and the real
XML parser. The pure planner alone is covered in test_sync_plan.py, the privilege boundary in
test_sync_posix.py."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import stat
import subprocess
import time
from pathlib import Path

import pytest

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._secrets import (
    REDACTED,
    content_secrets,
    mask_xml_secrets,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync import _posix
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._plan import (
    MANIFEST_NAME,
    TEMP_PREFIX,
    SyncError,
    render_manifest,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import (
    render_oauth_config,
    render_tdc,
)

CANARY = "CANARY-client-secret-7f3a9c"
OLD_SECRET = "OLD-secret-on-disk-51d2e0"
IS_ROOT = os.geteuid() == 0


def oauth_xml(config_id="custom_redshift_okta", client_id="tableau-desktop", secret=CANARY, comment=None):
    return render_oauth_config(
        {
            "id": config_id,
            "idp": "okta",
            "idp_base_url": "https://example.okta.com",
            "auth_server": "default",
            "client_id_desktop": client_id,
            "client_secret_desktop": secret,
        },
        managed_comment=comment,
    )


def tdc_xml(tdc_class="redshift", value="yes"):
    return render_tdc({"class": tdc_class, "customizations": {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": value}})


def reformat(text):
    """Same meaning, other bytes: no indentation, a comment, attribute quoting changed, no declaration."""
    body = re.sub(r"^<\?xml[^>]*\?>\s*", "", text)
    body = re.sub(r">\s+<", "><", body)
    return "<!-- edited by hand -->\n" + body.replace("'", '"')


@pytest.fixture
def layout(tmp_path):
    return _layout(tmp_path)


def _layout(tmp_path):
    oauth_dir = tmp_path / "OAuthConfigs"
    tdc_dir = tmp_path / "Datasources"
    dirs = [
        {"path": str(oauth_dir), "kind": "oauth_config", "application": "desktop"},
        {"path": str(tdc_dir), "kind": "tdc", "application": "server"},
    ]

    def desired(oauth_text=None, tdc_text=None, mode="0640", **extra):
        files = []
        if oauth_text is not None:
            files.append(
                dict(
                    path=str(oauth_dir / "custom_redshift_okta.xml"),
                    content=oauth_text,
                    kind="oauth_config",
                    application="desktop",
                    artifact="custom_redshift_okta",
                    mode=mode,
                    **extra,
                )
            )
        if tdc_text is not None:
            files.append(
                dict(
                    path=str(tdc_dir / "redshift.tdc"),
                    content=tdc_text,
                    kind="tdc",
                    application="server",
                    artifact="redshift",
                    mode="0644",
                    **extra,
                )
            )
        return files

    return {"oauth_dir": oauth_dir, "tdc_dir": tdc_dir, "dirs": dirs, "desired": desired, "root": tmp_path}


def plan_sync(files, dirs, tdc_conflicts="fail", **options):
    """The check-mode result: the plan as the module reports it (writes nothing)."""
    return _posix.PosixSync(files, dirs, tdc_conflicts, **options).run(check_mode=True, diff=True)


def sync(files, dirs, tdc_conflicts="fail", **options):
    predicted = plan_sync(files, dirs, tdc_conflicts, **options)
    result = _posix.PosixSync(files, dirs, tdc_conflicts, **options).run(diff=True)
    assert result["changed"] == predicted["changed"], "check mode prediction must equal what the run does"
    assert actions(result) == actions(predicted)
    assert len(result["backups"]) == len(predicted["backups"])
    assert result["created_dirs"] == predicted["created_dirs"]
    assert result["manifests"] == predicted["manifests"]
    return result, result["changed"], result["backups"]


def actions(plan):
    return {os.path.basename(entry["path"]): (entry["status"], entry["action"]) for entry in plan["files"]}


def tree_snapshot(root):
    """{relative path: (sha256, mode, mtime_ns)} of every file and link below root."""
    snapshot = {}
    for folder, dirnames, filenames in os.walk(root):
        for name in filenames + dirnames:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            digest = None
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
            snapshot[os.path.relpath(path, root)] = (digest, stat.S_IMODE(st.st_mode), st.st_mtime_ns)
    return snapshot


# ---------------------------------------------------------------------------------------------
# create / no-op / update / adopt / remove
# ---------------------------------------------------------------------------------------------


def test_first_run_creates_folders_files_and_manifests(layout):
    oauth_text, tdc_text = oauth_xml(), tdc_xml()
    plan, changed, backups = sync(layout["desired"](oauth_text, tdc_text), layout["dirs"])
    assert changed is True
    assert backups == []
    assert actions(plan) == {
        "custom_redshift_okta.xml": ("missing", "create"),
        "redshift.tdc": ("missing", "create"),
    }
    written = layout["oauth_dir"] / "custom_redshift_okta.xml"
    assert written.read_text() == oauth_text
    assert stat.S_IMODE(written.stat().st_mode) == 0o640
    assert stat.S_IMODE(layout["oauth_dir"].stat().st_mode) == 0o755
    manifest = json.loads((layout["oauth_dir"] / MANIFEST_NAME).read_text())
    assert manifest == {
        "managed_by": "tabops.redshift_oauth",
        "files": {
            "custom_redshift_okta.xml": {
                "kind": "oauth_config",
                "artifact": "custom_redshift_okta",
                "sha256": hashlib.sha256(oauth_text.encode()).hexdigest(),
            }
        },
    }
    assert plan["restart_needed"] == ["desktop", "server"]


def test_missing_parents_are_created_with_the_managed_folder_mode(tmp_path):
    repository = tmp_path / "home" / "analyst" / "Documents" / "My Tableau Repository"
    dirs = [
        {"path": str(repository / "OAuthConfigs"), "kind": "oauth_config", "application": "desktop", "mode": "0750"},
        {"path": str(repository / "Datasources"), "kind": "tdc", "application": "desktop", "mode": "0750"},
    ]
    (tmp_path / "home").mkdir()
    plan = plan_sync([], dirs)
    expected = [str(tmp_path / "home" / "analyst"), str(tmp_path / "home" / "analyst" / "Documents")]
    expected += [str(repository), str(repository / "OAuthConfigs"), str(repository / "Datasources")]
    assert plan["created_dirs"] == expected
    assert plan["changed"] is True
    assert not (tmp_path / "home" / "analyst").exists(), "planning creates nothing"
    result, changed, _backups = sync([], dirs)
    assert changed is True
    assert result["created_dirs"] == expected
    for folder in (repository, repository / "OAuthConfigs", repository / "Datasources"):
        assert folder.is_dir()
        assert stat.S_IMODE(folder.stat().st_mode) == 0o750
    assert plan_sync([], dirs)["changed"] is False


def test_a_file_in_the_way_of_a_managed_folder_fails_that_folder_only(tmp_path):
    (tmp_path / "Documents").write_text("not a folder")
    dirs = [
        {"path": str(tmp_path / "Documents" / "x" / "OAuthConfigs"), "kind": "oauth_config", "application": "prep"},
        {"path": str(tmp_path / "Other" / "OAuthConfigs"), "kind": "oauth_config", "application": "prep"},
    ]
    result, changed, _backups = sync([], dirs)
    first, second = result["folders"]
    assert first["status"] == "error"
    assert re.search(r"managed folder .*OAuthConfigs refused: .*/Documents exists but is not a folder", first["error"])
    assert first["written"] == []
    assert second["status"] == "changed" and (tmp_path / "Other" / "OAuthConfigs").is_dir()
    assert changed is True
    assert (tmp_path / "Documents").read_text() == "not a folder"
    assert str(tmp_path / "Documents") in result["msg"]


def test_second_run_changes_nothing_and_rewrites_no_manifest(layout):
    files = layout["desired"](oauth_xml(), tdc_xml())
    sync(files, layout["dirs"])
    before = tree_snapshot(layout["root"])
    time.sleep(0.01)
    plan, changed, _backups = sync(files, layout["dirs"])
    assert changed is False
    assert {status for status, _action in actions(plan).values()} == {"compliant"}
    assert plan["restart_needed"] == []
    assert tree_snapshot(layout["root"]) == before


def test_manifest_text_is_deterministic(layout):
    files = {"b.xml": {"kind": "oauth_config", "artifact": "b", "sha256": "1"}, "a.tdc": {"kind": "tdc"}}
    text = render_manifest(files)
    assert text == render_manifest(dict(reversed(list(files.items()))))
    assert text.index('"a.tdc"') < text.index('"b.xml"')
    assert text.endswith("\n")


def test_reformatted_owned_file_is_compliant_and_left_alone(layout):
    oauth_text = oauth_xml()
    files = layout["desired"](oauth_text)
    sync(files, layout["dirs"])
    target = layout["oauth_dir"] / "custom_redshift_okta.xml"
    target.write_text(reformat(oauth_text))
    target.chmod(0o640)
    before = tree_snapshot(layout["root"])
    plan, changed, _backups = sync(files, layout["dirs"])
    assert changed is False
    assert actions(plan)["custom_redshift_okta.xml"] == ("compliant", "none")
    assert tree_snapshot(layout["root"]) == before


def test_semantic_change_is_updated_with_backup(layout):
    sync(layout["desired"](oauth_xml(client_id="old-client", secret=OLD_SECRET)), layout["dirs"])
    target = layout["oauth_dir"] / "custom_redshift_okta.xml"
    old_bytes = target.read_bytes()
    inode = target.stat().st_ino
    new_text = oauth_xml(client_id="new-client")
    plan, changed, backups = sync(layout["desired"](new_text), layout["dirs"])
    assert changed is True
    entry = plan["files"][0]
    assert (entry["status"], entry["action"]) == ("drift", "update")
    public = plan["files"][0]
    assert {"path": "client_id_desktop", "expected": "new-client", "actual": "old-client"} in public["differences"]
    assert {"path": "client_secret_desktop", "expected": REDACTED, "actual": REDACTED} in public["differences"]
    assert target.read_text() == new_text
    assert target.stat().st_ino != inode, "atomic replace writes a new inode"
    assert len(backups) == 1
    backup = backups[0]
    assert os.path.dirname(backup) == str(layout["oauth_dir"] / ".tabops-backups")
    assert re.fullmatch(r"custom_redshift_okta\.xml\.\d{8}T\d{6}Z", os.path.basename(backup))
    with open(backup, "rb") as handle:
        assert handle.read() == old_bytes
    assert stat.S_IMODE(os.stat(os.path.dirname(backup)).st_mode) == 0o700
    manifest = json.loads((layout["oauth_dir"] / MANIFEST_NAME).read_text())
    assert manifest["files"]["custom_redshift_okta.xml"]["sha256"] == hashlib.sha256(new_text.encode()).hexdigest()


def test_backup_can_be_switched_off(layout):
    sync(layout["desired"](oauth_xml(client_id="one")), layout["dirs"])
    _plan, changed, backups = sync(layout["desired"](oauth_xml(client_id="two")), layout["dirs"], backup=False)
    assert changed is True
    assert backups == []
    assert not (layout["oauth_dir"] / ".tabops-backups").exists()


def test_two_backups_in_the_same_second_do_not_overwrite(layout):
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    sync(layout["desired"](oauth_xml(client_id="first")), layout["dirs"], now=now)
    _result, _changed, one = sync(layout["desired"](oauth_xml(client_id="second")), layout["dirs"], now=now)
    _result, _changed, two = sync(layout["desired"](oauth_xml(client_id="third")), layout["dirs"], now=now)
    assert one[0] != two[0]
    assert two[0] == one[0] + ".1"
    assert "first" in Path(one[0]).read_text()
    assert "second" in Path(two[0]).read_text()


def test_matching_unowned_file_at_desired_path_is_adopted_without_content_change(layout):
    layout["oauth_dir"].mkdir()
    target = layout["oauth_dir"] / "custom_redshift_okta.xml"
    hand_made = reformat(oauth_xml())
    target.write_text(hand_made)
    target.chmod(0o640)
    plan, changed, backups = sync(layout["desired"](oauth_xml()), layout["dirs"])
    assert changed is True, "the manifest is written"
    assert actions(plan)["custom_redshift_okta.xml"] == ("compliant", "none")
    assert plan["files"][0]["adopted"] is True
    assert backups == []
    assert target.read_text() == hand_made
    manifest = json.loads((layout["oauth_dir"] / MANIFEST_NAME).read_text())
    assert manifest["files"]["custom_redshift_okta.xml"]["sha256"] == hashlib.sha256(hand_made.encode()).hexdigest()
    _plan, changed_again, _backups = sync(layout["desired"](oauth_xml()), layout["dirs"])
    assert changed_again is False


def test_differing_unowned_file_at_desired_path_is_replaced_with_backup(layout):
    layout["oauth_dir"].mkdir()
    target = layout["oauth_dir"] / "custom_redshift_okta.xml"
    target.write_text(oauth_xml(client_id="someone-else"))
    plan, _changed, backups = sync(layout["desired"](oauth_xml()), layout["dirs"])
    assert actions(plan)["custom_redshift_okta.xml"] == ("drift", "update")
    assert len(backups) == 1
    assert "someone-else" in Path(backups[0]).read_text()
    assert target.read_text() == oauth_xml()


def test_owned_file_no_longer_desired_is_removed_with_backup_and_unowned_files_stay(layout):
    sync(layout["desired"](oauth_xml(), tdc_xml()), layout["dirs"])
    foreign = layout["tdc_dir"] / "snowflake.tdc"
    foreign.write_text(tdc_xml("snowflake"))
    plan, changed, backups = sync(layout["desired"](oauth_xml()), layout["dirs"])
    assert changed is True
    assert actions(plan)["redshift.tdc"] == ("stale", "remove")
    assert not (layout["tdc_dir"] / "redshift.tdc").exists()
    assert foreign.read_text() == tdc_xml("snowflake")
    assert [os.path.basename(path) for path in backups] == [os.path.basename(backups[0])] and backups[0].startswith(
        str(layout["tdc_dir"] / ".tabops-backups" / "redshift.tdc.")
    )
    manifest = json.loads((layout["tdc_dir"] / MANIFEST_NAME).read_text())
    assert manifest["files"] == {}
    assert plan["restart_needed"] == ["server"]


def test_owned_file_already_gone_only_leaves_the_manifest(layout):
    sync(layout["desired"](tdc_text=tdc_xml()), layout["dirs"])
    (layout["tdc_dir"] / "redshift.tdc").unlink()
    plan, changed, backups = sync([], layout["dirs"])
    assert actions(plan)["redshift.tdc"] == ("stale", "none")
    assert changed is True
    assert backups == []
    assert json.loads((layout["tdc_dir"] / MANIFEST_NAME).read_text())["files"] == {}


# ---------------------------------------------------------------------------------------------
# owner, group, mode
# ---------------------------------------------------------------------------------------------


def test_mode_only_drift_is_fixed_in_place_without_backup(layout):
    files = layout["desired"](oauth_xml(), mode="0600")
    sync(files, layout["dirs"])
    target = layout["oauth_dir"] / "custom_redshift_okta.xml"
    target.chmod(0o664)
    inode = target.stat().st_ino
    plan, changed, backups = sync(files, layout["dirs"])
    assert changed is True
    assert plan["files"][0]["differences"] == [{"path": "file.mode", "expected": "0600", "actual": "0664"}]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.stat().st_ino == inode
    assert backups == []
    diff = plan.get("diff", [])
    assert diff == [
        {
            "before_header": str(target) + " (attributes)",
            "after_header": str(target) + " (attributes)",
            "before": "file.mode: 0664\n",
            "after": "file.mode: 0600\n",
        }
    ]


@pytest.mark.skipif(not IS_ROOT, reason="chown to another user needs root")
def test_owner_and_group_are_enforced_with_a_real_uid(traversable_tmp):
    layout = _layout(traversable_tmp)
    nobody = 65534
    files = layout["desired"](oauth_xml(), owner=str(nobody), group=str(nobody))
    layout["dirs"][0].update(owner=str(nobody), group=str(nobody), mode="0750")
    plan, _changed, _backups = sync(files, layout["dirs"])
    target = layout["oauth_dir"] / "custom_redshift_okta.xml"
    assert (target.stat().st_uid, target.stat().st_gid) == (nobody, nobody)
    assert (layout["oauth_dir"].stat().st_uid, stat.S_IMODE(layout["oauth_dir"].stat().st_mode)) == (nobody, 0o750)
    os.chown(target, nobody, 0)
    plan, changed, backups = sync(files, layout["dirs"])
    assert changed is True
    assert [d["path"] for d in plan["files"][0]["differences"]] == ["file.group"]
    assert (target.stat().st_uid, target.stat().st_gid) == (nobody, nobody)
    assert backups == []
    # The folder is now nobody's: the sync works there as nobody, so a root-owned file it cannot read is left alone.
    os.chown(target, 0, 0)
    plan = _posix.PosixSync(files, layout["dirs"]).run()
    assert plan["changed"] is False
    assert plan["files"][0]["status"] == "error"
    assert "Permission denied" in plan["folders"][0]["error"] and str(target) in plan["folders"][0]["error"]
    assert (target.stat().st_uid, target.stat().st_gid) == (0, 0)
    assert target.read_text() == oauth_xml()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"mode": "rw-r--r--"}, r"files\[0\]\.mode \(file .*\.xml\): mode 'rw-r--r--' is not an octal string"),
        ({"mode": "99999"}, r"files\[0\]\.mode \(file .*\.xml\): mode '99999' is not an octal string"),
        ({"path": "relative/custom.xml"}, r"files\[0\]\.path: path 'relative/custom.xml' must be absolute"),
        ({"path": "/elsewhere/custom.xml"}, r"files\[0\]\.path: parent folder /elsewhere is not one of folders"),
        ({"kind": "tdc"}, r"files\[0\]\.path: a tdc file must end with \.tdc"),
        ({"content": ""}, r"files\[0\]\.content: rendered document text is required"),
        ({"content": "<nope>"}, r"files\[0\]\.content: Tableau file custom_redshift_okta is not a valid oauth_config"),
        ({"application": "excel"}, r"files\[0\]\.application: 'excel' is not one of"),
    ],
)
def test_bad_file_input_names_field_and_file(layout, change, match):
    files = layout["desired"](oauth_xml())
    files[0].update(change)
    with pytest.raises(SyncError, match=match):
        plan_sync(files, layout["dirs"])
    assert not layout["oauth_dir"].exists()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"owner": "no-such-user-tabops"}, r"files\[0\]\.owner \(file .*custom_redshift_okta\.xml\): user"),
        ({"group": "no-such-group-tabops"}, r"files\[0\]\.group .*group 'no-such-group-tabops' does not exist"),
    ],
)
def test_an_unknown_owner_or_group_fails_its_folder_naming_the_field(layout, change, match):
    """A user or group missing on this host is a problem of the folders it is declared for, not of the host."""
    files = layout["desired"](oauth_xml())
    files[0].update(change)
    result = _posix.PosixSync(files, layout["dirs"]).run()
    failed = [folder for folder in result["folders"] if folder["status"] == "error"]
    assert [folder["path"] for folder in failed] == [str(layout["oauth_dir"])]
    assert re.search(match, failed[0]["error"])
    assert not layout["oauth_dir"].exists()


def test_content_of_other_kind_is_refused(layout):
    files = layout["desired"](tdc_xml())
    with pytest.raises(SyncError, match=r"files\[0\]\.content: Tableau file custom_redshift_okta is not a valid"):
        plan_sync(files, layout["dirs"])


def test_two_desired_tdcs_of_one_class_in_one_folder_are_refused(layout):
    files = layout["desired"](tdc_text=tdc_xml())
    files.append(dict(files[0], path=str(layout["tdc_dir"] / "redshift-copy.tdc"), artifact="copy"))
    with pytest.raises(SyncError, match=r"files\[1\]: TDC .*redshift-copy\.tdc has class 'redshift'"):
        plan_sync(files, layout["dirs"])


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"kind": "csv"}, r"folders\[0\]\.kind: 'csv' is not one of"),
        ({"path": "OAuthConfigs"}, r"folders\[0\]\.path: path 'OAuthConfigs' must be absolute"),
        ({"mode": "abc"}, r"folders\[0\]\.mode \(folder .*\): mode 'abc'"),
    ],
)
def test_bad_folder_input_names_field(layout, change, match):
    layout["dirs"][0].update(change)
    with pytest.raises(SyncError, match=match):
        plan_sync([], layout["dirs"])


@pytest.mark.parametrize(
    ("manifest_text", "match"),
    [
        ("{not json", r"manifest .*OAuthConfigs/\.tabops-managed\.json is not valid JSON"),
        (
            json.dumps({"managed_by": "someone-else", "files": {}}),
            r"managed_by is 'someone-else'.*refusing to take over",
        ),
        (
            json.dumps({"managed_by": "tabops.redshift_oauth", "files": {"../../etc/passwd": {}}}),
            r"entry '\.\./\.\./etc/passwd' is malformed",
        ),
        (
            json.dumps({"managed_by": "tabops.redshift_oauth", "files": {"/etc/passwd": {}}}),
            r"entry '/etc/passwd' is malformed",
        ),
    ],
)
def test_untrusted_manifest_fails_its_folder_naming_it_and_the_others_go_on(layout, manifest_text, match):
    layout["oauth_dir"].mkdir()
    manifest = layout["oauth_dir"] / MANIFEST_NAME
    manifest.write_text(manifest_text)
    result, changed, _backups = sync(layout["desired"](oauth_xml(), tdc_xml()), layout["dirs"])
    oauth_folder, tdc_folder = result["folders"]
    assert oauth_folder["status"] == "error" and re.search(match, oauth_folder["error"])
    assert actions(result)["custom_redshift_okta.xml"] == ("error", "none")
    assert not (layout["oauth_dir"] / "custom_redshift_okta.xml").exists()
    assert manifest.read_text() == manifest_text
    assert tdc_folder["status"] == "changed" and (layout["tdc_dir"] / "redshift.tdc").exists()
    assert changed is True
    assert re.search(match, result["msg"])


# ---------------------------------------------------------------------------------------------
# unmanaged files: conflicts, strays, hostile documents
# ---------------------------------------------------------------------------------------------


def test_unmanaged_tdc_of_same_class_fails_its_folder_only_and_the_others_are_synced(layout):
    layout["tdc_dir"].mkdir()
    rogue = layout["tdc_dir"] / "odbc-redshift.tdc"
    rogue.write_text(tdc_xml("redshift", value="no"))
    before = tree_snapshot(layout["tdc_dir"])
    result = _posix.PosixSync(layout["desired"](oauth_xml(), tdc_xml()), layout["dirs"], "fail").run(True)
    assert result["changed"] is True, "check mode predicts the other folder's writes"
    result = _posix.PosixSync(layout["desired"](oauth_xml(), tdc_xml()), layout["dirs"], "fail").run()
    assert re.match(r"1 of 2 managed folders failed: TDC conflict, nothing written in .*Datasources: ", result["msg"])
    assert "odbc-redshift.tdc: unmanaged TDC has class 'redshift'" in result["msg"]
    folders = {Path(folder["path"]).name: folder for folder in result["folders"]}
    assert folders["Datasources"]["status"] == "error" and folders["Datasources"]["written"] == []
    assert "odbc-redshift.tdc" in folders["Datasources"]["error"]
    assert folders["OAuthConfigs"]["status"] == "changed"
    by_name = {Path(entry["path"]).name: entry for entry in result["files"]}
    assert by_name["redshift.tdc"]["status"] == "error"
    assert "TDC conflict" in by_name["redshift.tdc"]["differences"][0]["actual"]
    assert tree_snapshot(layout["tdc_dir"]) == before, "nothing written in the conflicting folder"
    assert (layout["oauth_dir"] / "custom_redshift_okta.xml").read_text() == oauth_xml()


def test_unmanaged_tdc_conflict_with_warn_is_reported_and_sync_goes_on(layout):
    layout["tdc_dir"].mkdir()
    rogue = layout["tdc_dir"] / "odbc-redshift.tdc"
    rogue.write_text(tdc_xml("redshift", value="no"))
    plan, changed, _backups = sync(layout["desired"](tdc_text=tdc_xml()), layout["dirs"], "warn")
    assert changed is True
    assert plan["unmanaged"] == [
        {
            "path": str(rogue),
            "application": "server",
            "kind": "tdc",
            "status": "unmanaged_conflict",
            "reason": "tdc_conflict",
            "detail": "unmanaged TDC has class 'redshift' like the managed %s; Tableau applies only one TDC per class"
            % (layout["tdc_dir"] / "redshift.tdc"),
        }
    ]
    assert rogue.read_text() == tdc_xml("redshift", value="no")


def test_unmanaged_tdc_of_other_class_is_no_conflict(layout):
    layout["tdc_dir"].mkdir()
    (layout["tdc_dir"] / "snowflake.tdc").write_text(tdc_xml("snowflake"))
    plan = plan_sync(layout["desired"](tdc_text=tdc_xml()), layout["dirs"], "fail")
    assert plan["unmanaged"] == []
    assert "msg" not in plan


def test_stray_custom_config_is_reported_and_never_touched(layout):
    layout["oauth_dir"].mkdir()
    stray = layout["oauth_dir"] / "custom_old_okta.xml"
    stray_text = oauth_xml(config_id="custom_old_okta", secret=OLD_SECRET)
    stray.write_text(stray_text)
    plan, _changed, _backups = sync(layout["desired"](oauth_xml()), layout["dirs"])
    unmanaged = plan["unmanaged"]
    assert [(u["path"], u["reason"]) for u in unmanaged] == [(str(stray), "stray_custom_config")]
    assert "custom_old_okta" in unmanaged[0]["detail"]
    assert OLD_SECRET not in json.dumps(unmanaged)
    assert stray.read_text() == stray_text


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<connection-customization class="redshift" enabled="true" version="10.0">
<vendor name="&lol9;"/></connection-customization>
"""


def external_entity(target):
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE c [<!ENTITY leak SYSTEM "file://%s">]>\n'
        '<connection-customization class="redshift" enabled="true" version="10.0">'
        '<vendor name="redshift"/><driver name="&leak;"/></connection-customization>\n' % target
    )


DOCTYPE_ONLY = (
    '<?xml version="1.0"?>\n<!DOCTYPE connection-customization>\n'
    '<connection-customization class="redshift" enabled="true" version="10.0"/>\n'
)


@pytest.fixture
def outside_secret(tmp_path_factory):
    path = tmp_path_factory.mktemp("outside") / "secret.txt"
    path.write_text("OUTSIDE-FILE-MARKER-93ab")
    return path


@pytest.mark.parametrize(
    "hostile", ["billion_laughs", "external_entity", "doctype", "oversize", "binary", "symlink", "fifo"]
)
def test_hostile_unmanaged_files_are_reported_quickly_and_nothing_outside_is_read(layout, outside_secret, hostile):
    layout["tdc_dir"].mkdir()
    target = layout["tdc_dir"] / ("hostile-%s.tdc" % hostile)
    if hostile == "billion_laughs":
        target.write_text(BILLION_LAUGHS)
    elif hostile == "external_entity":
        target.write_text(external_entity(outside_secret))
    elif hostile == "doctype":
        target.write_text(DOCTYPE_ONLY)
    elif hostile == "oversize":
        target.write_text(tdc_xml().replace("<customizations>", "<customizations>" + "<!-- pad -->" * 30000))
    elif hostile == "binary":
        target.write_bytes(b"\xff\xfe\x00<\x00x")
    elif hostile == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to(outside_secret)
    started = time.monotonic()
    plan, _changed, _backups = sync(layout["desired"](tdc_text=tdc_xml()), layout["dirs"])
    assert time.monotonic() - started < 5
    unmanaged = plan["unmanaged"]
    assert [(u["path"], u["reason"], u["status"]) for u in unmanaged] == [
        (str(target), "unparseable", "unmanaged_conflict")
    ]
    assert unmanaged[0]["detail"]
    assert "OUTSIDE-FILE-MARKER" not in json.dumps(unmanaged)
    if hostile == "symlink":
        assert "symbolic link" in unmanaged[0]["detail"]
        assert target.is_symlink()
    if hostile == "oversize":
        assert "larger than 256 KiB" in unmanaged[0]["detail"]
    if hostile == "fifo":
        assert unmanaged[0]["detail"] == "is not a regular file"


@pytest.mark.parametrize("hostile", ["billion_laughs", "external_entity", "symlink"])
def test_hostile_file_at_desired_path_is_drift_and_gets_replaced(layout, outside_secret, hostile):
    layout["tdc_dir"].mkdir()
    target = layout["tdc_dir"] / "redshift.tdc"
    if hostile == "billion_laughs":
        target.write_text(BILLION_LAUGHS)
    elif hostile == "external_entity":
        target.write_text(external_entity(outside_secret))
    else:
        target.symlink_to(outside_secret)
    plan, changed, backups = sync(layout["desired"](tdc_text=tdc_xml()), layout["dirs"])
    assert changed is True
    entry = plan["files"][0]
    assert (entry["status"], entry["action"]) == ("drift", "update")
    if hostile == "symlink":
        assert entry["differences"][0] == {"path": "file.type", "expected": "regular file", "actual": "symbolic link"}
        assert os.readlink(backups[0]) == str(outside_secret), "the link itself is kept, not its target"
    else:
        assert entry["differences"][0]["path"] == "document"
        assert entry["differences"][0]["actual"].startswith("unparseable: ")
    assert "OUTSIDE-FILE-MARKER" not in json.dumps(plan["files"] + plan.get("diff", []))
    assert not target.is_symlink()
    assert target.read_text() == tdc_xml()
    assert outside_secret.read_text() == "OUTSIDE-FILE-MARKER-93ab"


def test_folder_at_desired_path_is_an_error_for_that_file_only(layout):
    (layout["oauth_dir"] / "custom_redshift_okta.xml").mkdir(parents=True)
    result, changed, _backups = sync(layout["desired"](oauth_xml(), tdc_xml()), layout["dirs"])
    assert result["files"][0]["status"] == "error"
    assert result["files"][0]["differences"] == [
        {"path": "file.type", "expected": "regular file", "actual": "directory"}
    ]
    assert re.search(r"custom_redshift_okta\.xml: directory", result["msg"])
    assert (layout["oauth_dir"] / "custom_redshift_okta.xml").is_dir()
    assert result["folders"][0]["status"] == "error"
    assert (layout["tdc_dir"] / "redshift.tdc").exists(), "the other folder is synced"
    assert changed is True
    assert not (layout["oauth_dir"] / MANIFEST_NAME).exists(), "nothing owned, nothing claimed"


# ---------------------------------------------------------------------------------------------
# secrets
# ---------------------------------------------------------------------------------------------


def test_secrets_never_appear_in_results_or_diffs(layout):
    sync(layout["desired"](oauth_xml(secret=OLD_SECRET)), layout["dirs"])
    plan = plan_sync(layout["desired"](oauth_xml(secret=CANARY)), layout["dirs"])
    everything = json.dumps(
        {
            "files": plan["files"],
            "diff": plan.get("diff", []),
            "unmanaged": plan["unmanaged"],
        }
    )
    assert CANARY not in everything
    assert OLD_SECRET not in everything
    diff = plan.get("diff", [])[0]
    assert "<clientSecretDesktop>%s</clientSecretDesktop>" % REDACTED in diff["after"]
    assert "<clientSecretDesktop>%s</clientSecretDesktop>" % REDACTED in diff["before"]
    assert plan["files"][0]["differences"] == [
        {"path": "client_secret_desktop", "expected": REDACTED, "actual": REDACTED}
    ]


def test_secret_in_a_removed_file_is_masked_in_the_diff(layout):
    sync(layout["desired"](oauth_xml(secret=CANARY)), layout["dirs"])
    plan = plan_sync([], layout["dirs"])
    assert CANARY not in json.dumps(plan.get("diff", []))
    assert plan.get("diff", [])[0]["after"] == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<clientSecretDesktop>abc-123</clientSecretDesktop>", ["abc-123"]),
        ("<clientSecretDesktop><![CDATA[cdata-secret]]></clientSecretDesktop>", ["cdata-secret"]),
        ("<clientSecretDesktop>abc</clientSecretDesktop>", []),
        ("<tdc/>", []),
    ],
)
def test_extract_secrets_for_no_log(text, expected):
    assert content_secrets(text) == expected


def test_extract_secrets_reads_the_parsed_value_too():
    text = oauth_xml(secret="a&b<c-secret")
    assert "a&b<c-secret" in content_secrets(text)
    assert "a&amp;b&lt;c-secret" in content_secrets(text)


def test_mask_secrets_handles_attributes_and_multiline():
    text = '<clientSecretDesktop kind="x">\n  s3cret\n</clientSecretDesktop >'
    assert mask_xml_secrets(text) == '<clientSecretDesktop kind="x">%s</clientSecretDesktop >' % REDACTED


# ---------------------------------------------------------------------------------------------
# atomicity
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("failing", ["rename", "fsync", "fchmod"])
def test_failure_mid_write_keeps_the_original_and_leaves_no_temp_file(layout, monkeypatch, failing):
    sync(layout["desired"](oauth_xml(client_id="original")), layout["dirs"])
    target = layout["oauth_dir"] / "custom_redshift_okta.xml"
    original = target.read_bytes()
    manifest_before = (layout["oauth_dir"] / MANIFEST_NAME).read_bytes()

    def broken(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_posix.os, failing, broken)
    result = _posix.PosixSync(layout["desired"](oauth_xml(client_id="next")), layout["dirs"], backup=False).run()
    monkeypatch.undo()
    assert target.read_bytes() == original
    assert result["folders"][0]["status"] == "error"
    assert str(target) in result["folders"][0]["error"] and "No space left on device" in result["folders"][0]["error"]
    assert result["files"][0]["status"] == "error"
    assert (layout["oauth_dir"] / MANIFEST_NAME).read_bytes() == manifest_before
    leftovers = [name for name in os.listdir(layout["oauth_dir"]) if name.startswith(TEMP_PREFIX)]
    assert leftovers == []
    # The next run finishes the job.
    _plan, changed, _backups = sync(layout["desired"](oauth_xml(client_id="next")), layout["dirs"])
    assert changed is True
    assert target.read_text() == oauth_xml(client_id="next")


def test_temp_names_are_never_loaded_by_tableau():
    assert TEMP_PREFIX.startswith(".")
    assert not TEMP_PREFIX.endswith((".xml", ".tdc"))


@pytest.mark.skipif(not os.path.exists("/usr/bin/python3"), reason="needs the host's /usr/bin/python3")
def test_runs_on_the_standard_library_alone():
    # -I -S: no site-packages, no user site, no PYTHON* variables; only the collection itself on the path.
    probe = (
        "import sys; sys.path.insert(0, %r); "
        "from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync import "
        "_digest, _engine, _journal, _plan, _posix; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] not in sys.stdlib_module_names "
        "and not m.startswith('ansible_collections') and m != '__main__'))"
    ) % str(Path(__file__).resolve().parents[4] / ".collections")
    completed = subprocess.run(
        ["/usr/bin/python3", "-I", "-S", "-c", probe], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"
