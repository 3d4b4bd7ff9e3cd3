# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Run journals and the rollback of a run (_sync/_journal.py) through the POSIX transport, on real files:
exact restore (bytes, mode, owner, manifest), files the run created removed, hand edits kept, check mode
predicting the real rollback, retention keeping what a rollback needs, and journals a user tampered with."""

# ruff: noqa: F811 - the shared fixtures are imported from test_sync_posix and then requested by name

from __future__ import annotations

import datetime
import json
import os
import shutil
import stat

import pytest
from test_sync_posix import (  # noqa: F401  # pylint: disable=unused-import  # fixtures, received by name
    base,
    desktop_user,
    oauth_xml,
)

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync import _posix
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._plan import SyncError, finish_host

START = datetime.datetime(2026, 12, 2, 10, 0, 0, tzinfo=datetime.timezone.utc)


def at(minutes):
    return START + datetime.timedelta(minutes=minutes)


def sync(folder, files, minutes, **options):
    dirs = [{"path": str(folder), "kind": "oauth_config", "application": "desktop"}]
    request = [
        {"path": str(folder / name), "content": content, "kind": "oauth_config", "mode": mode}
        for name, (content, mode) in files.items()
    ]
    options.setdefault("run_log_dir", str(folder.parent / "run-log"))
    return _posix.PosixSync(request, dirs, now=at(minutes), **options)


def state(folder):
    """Every entry of the managed folder but the backups: bytes, mode, owner."""
    found = {}
    for name in sorted(os.listdir(folder)):
        if name == ".tabops-backups":
            continue
        st = os.lstat(folder / name)
        found[name] = ((folder / name).read_bytes(), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    return found


A = {"custom_a.xml": (oauth_xml("client-a"), "0644"), "custom_b.xml": (oauth_xml("client-b"), "0644")}
B = {
    "custom_a.xml": (oauth_xml("client-a2"), "0644"),  # replaced
    "custom_c.xml": (oauth_xml("client-c"), "0640"),  # created
}  # custom_b.xml removed (stale)


def test_rollback_of_a_run_restores_the_folder_exactly(base):
    folder = base / "OAuthConfigs"
    assert not sync(folder, A, 0, run_id="run-a").run()["folders"][0]["error"]
    after_a = state(folder)
    result_b = sync(folder, B, 1, run_id="run-b").run()
    assert result_b["journals"] == [str(folder / ".tabops-backups" / "tabops-run-run-b.json")]
    journal = folder / ".tabops-backups" / "tabops-run-run-b.json"
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    assert "CANARY" not in journal.read_text()  # hashes and backup names, never content
    assert state(folder) != after_a

    checked = sync(folder, {}, 2, rollback_run_id="run-b").run(check_mode=True, diff=True)
    predicted = {f["path"]: f["action"] for f in checked["files"]}
    assert predicted == {
        str(folder / "custom_a.xml"): "restore",
        str(folder / "custom_b.xml"): "restore",
        str(folder / "custom_c.xml"): "remove",
    }
    assert all("CANARY" not in d["before"] + d["after"] for d in checked["diff"])

    real = sync(folder, {}, 2, rollback_run_id="run-b").run()
    assert {f["path"]: f["action"] for f in real["files"]} == predicted
    assert real["changed"] and not any(f["error"] for f in real["folders"])
    assert state(folder) == after_a
    assert real["rollback"]["removed"] == [str(folder / "custom_c.xml")]

    again = sync(folder, {}, 3, rollback_run_id="run-b").run()
    assert not again["changed"] and state(folder) == after_a
    # The rollout's data A now finds nothing to do: the manifest is A's too.
    assert not sync(folder, A, 4, run_id="run-a2").run()["changed"]


def test_a_hand_edit_after_the_run_is_kept_unless_forced(base):
    folder = base / "OAuthConfigs"
    sync(folder, A, 0, run_id="run-a").run()
    sync(folder, B, 1, run_id="run-b").run()
    edited = oauth_xml("edited-by-hand").encode()
    (folder / "custom_a.xml").write_bytes(edited)
    result = sync(folder, {}, 2, rollback_run_id="run-b").run()
    assert result["rollback"]["hand_edited"] == [str(folder / "custom_a.xml")]
    assert (folder / "custom_a.xml").read_bytes() == edited
    assert not (folder / "custom_c.xml").exists() and (folder / "custom_b.xml").exists()
    manifest = json.loads((folder / ".tabops-managed.json").read_text())["files"]
    assert "custom_c.xml" not in manifest and "custom_a.xml" in manifest
    forced = sync(folder, {}, 3, rollback_run_id="run-b", rollback_force=True).run()
    assert forced["rollback"]["restored"] == [str(folder / "custom_a.xml")]
    assert (folder / "custom_a.xml").read_bytes() == A["custom_a.xml"][0].encode()
    # The hand edit was backed up before it was replaced: nothing is lost.
    backups = [(folder / ".tabops-backups" / n).read_bytes() for n in os.listdir(folder / ".tabops-backups")]
    assert edited in backups


def test_a_mode_change_is_rolled_back_and_a_folder_without_the_journal_is_left(base):
    folder = base / "OAuthConfigs"
    sync(folder, A, 0, run_id="run-a").run()
    after_a = state(folder)
    moded = {name: (content, "0600") for name, (content, _mode) in A.items()}
    result = sync(folder, moded, 1, run_id="run-m").run()
    assert {f["action"] for f in result["files"]} == {"update"}
    assert sync(folder, {}, 2, rollback_run_id="run-m").run()["changed"]
    assert state(folder) == after_a
    untouched = sync(folder, {}, 3, rollback_run_id="run-unknown").run()
    assert not untouched["changed"] and untouched["rollback"]["journals"] == []


def test_retention_keeps_the_backups_of_runs_that_can_still_be_rolled_back(base):
    folder = base / "OAuthConfigs"
    for index in range(5):
        files = {"custom_a.xml": (oauth_xml("client-%d" % index), "0644")}
        sync(folder, files, index, run_id="run-%d" % index, backup_keep=2).run()
    journals = sorted(n for n in os.listdir(folder / ".tabops-backups") if n.startswith("tabops-run-"))
    assert journals == ["tabops-run-run-3.json", "tabops-run-run-4.json"]
    listed = sync(folder, {}, 9)
    listed.observe()
    assert [run["run_id"] for run in listed.runs()] == ["run-4", "run-3"]
    # run-3 can still be rolled back: its backup (client-2) was kept.
    sync(folder, {}, 10, rollback_run_id="run-4").run()
    sync(folder, {}, 11, rollback_run_id="run-3").run()
    assert (folder / "custom_a.xml").read_bytes() == oauth_xml("client-2").encode()


def test_a_retry_under_the_same_run_id_keeps_the_state_before_the_first_try(base):
    folder = base / "OAuthConfigs"
    sync(folder, A, 0, run_id="run-a").run()
    after_a = state(folder)
    sync(folder, B, 1, run_id="run-b").run()
    retry = dict(B, **{"custom_c.xml": (oauth_xml("client-c2"), "0640")})
    sync(folder, retry, 2, run_id="run-b").run()
    sync(folder, {}, 3, rollback_run_id="run-b").run()
    assert state(folder) == after_a


@pytest.mark.parametrize(
    "tamper",
    [
        lambda doc: doc["files"]["custom_a.xml"]["before"].update(mode=0o4755),
        lambda doc: doc["files"]["custom_a.xml"]["before"].update(backup="../../etc/shadow"),
        lambda doc: doc["files"].update({"../escape.xml": doc["files"]["custom_a.xml"]}),
        lambda doc: doc.update(run_id="other"),
    ],
    ids=["setuid-mode", "backup-outside", "name-outside", "other-run"],
)
def test_a_tampered_journal_fails_its_folder_and_changes_nothing(base, tamper):
    folder = base / "OAuthConfigs"
    sync(folder, A, 0, run_id="run-a").run()
    sync(folder, B, 1, run_id="run-b").run()
    journal = folder / ".tabops-backups" / "tabops-run-run-b.json"
    document = json.loads(journal.read_text())
    tamper(document)
    journal.write_text(json.dumps(document))
    before = state(folder)
    result = sync(folder, {}, 2, rollback_run_id="run-b").run()
    assert "run journal" in result["msg"] and not result["changed"]
    assert state(folder) == before


def test_a_missing_backup_is_reported_and_that_file_is_left(base):
    folder = base / "OAuthConfigs"
    sync(folder, A, 0, run_id="run-a").run()
    sync(folder, B, 1, run_id="run-b").run()
    for name in os.listdir(folder / ".tabops-backups"):
        if name.startswith("custom_a.xml."):
            os.unlink(folder / ".tabops-backups" / name)
    result = sync(folder, {}, 2, rollback_run_id="run-b").run()
    assert "custom_a.xml" in result["msg"] and "is gone" in result["msg"]
    assert (folder / "custom_a.xml").read_bytes() == B["custom_a.xml"][0].encode()


def test_bad_run_ids_are_refused_before_anything_is_read(base):
    for bad in ("", "../x", "a/b", "x" * 65, "-lead"):
        with pytest.raises(SyncError, match="run_id"):
            sync(base / "f", {}, 0, rollback_run_id=bad or "\x00")


def test_a_users_folder_is_journaled_and_rolled_back_as_that_user(desktop_user):
    folder = desktop_user["home"] / "Documents" / "My Tableau Repository" / "OAuthConfigs"
    dirs = [{"path": str(folder), "kind": "oauth_config", "application": "desktop", "owner": desktop_user["name"]}]

    def run(files, minutes, **options):
        request = [
            {"path": str(folder / n), "content": c, "kind": "oauth_config", "mode": m} for n, (c, m) in files.items()
        ]
        log = str(desktop_user["home"].parent / "run-log")
        return _posix.PosixSync(request, dirs, now=at(minutes), run_log_dir=log, **options).run()

    run(A, 0, run_id="run-a")
    after_a = state(folder)
    run(B, 1, run_id="run-b")
    journal = folder / ".tabops-backups" / "tabops-run-run-b.json"
    assert journal.stat().st_uid == desktop_user["uid"] and stat.S_IMODE(journal.stat().st_mode) == 0o600
    run({}, 2, rollback_run_id="run-b")
    assert state(folder) == after_a
    assert all(uid == desktop_user["uid"] for _data, _mode, uid, _gid in after_a.values())


def test_only_the_root_run_log_makes_a_run_trusted_and_a_forged_stamp_is_not(base):
    folder = base / "OAuthConfigs"
    sync(folder, A, 0, run_id="run-a").run()
    sync(folder, B, 1, run_id="run-b").run()
    log = base / "run-log"
    assert stat.S_IMODE(log.stat().st_mode) == 0o700
    assert sorted(os.listdir(log)) == ["tabops-run-run-a.json", "tabops-run-run-b.json"]
    # The folder's owner re-stamps run-a's journal into the future and plants a journal of a made-up run.
    journal = folder / ".tabops-backups" / "tabops-run-run-a.json"
    document = json.loads(journal.read_text())
    journal.write_text(json.dumps(dict(document, stamp="99991231T235959Z")))
    (folder / ".tabops-backups" / "tabops-run-made-up.json").write_text(
        json.dumps(dict(document, run_id="made-up", stamp="99991231T235959Z"))
    )
    deep = folder / ".tabops-backups" / "tabops-run-deep.json"
    deep.write_text("[" * 50000 + "]" * 50000)
    listed = sync(folder, {}, 2)
    listed.observe()
    runs = {run["run_id"]: (run["stamp"], run["trusted"]) for run in listed.runs()}
    assert runs["run-b"] == ("20261202T100100Z", True)
    assert runs["run-a"][1] is True and runs["made-up"][1] is False and "deep" not in runs
    trusted = [run["run_id"] for run in listed.runs() if run["trusted"]]
    assert trusted[0] == "run-b"
    # The nested journal fails nothing but itself: the next rollout still writes the folder.
    assert sync(folder, A, 3, run_id="run-c").run()["changed"]


def test_an_adopted_file_is_given_back_and_a_refused_backup_folder_changes_nothing(base):
    folder = base / "OAuthConfigs"
    folder.mkdir()
    (folder / "custom_a.xml").write_text(A["custom_a.xml"][0])
    (folder / "custom_a.xml").chmod(0o644)
    before = state(folder)
    adopted = sync(folder, {"custom_a.xml": A["custom_a.xml"]}, 0, run_id="run-adopt").run()
    assert adopted["changed"] and adopted["journals"]
    sync(folder, {}, 1, rollback_run_id="run-adopt").run()
    assert state(folder) == before  # the file stays, the collection no longer owns it
    assert not sync(folder, {}, 2, run_id="run-empty").run()["changed"]  # nothing owned: nothing removed
    assert (folder / "custom_a.xml").exists()

    other = base / "Other"
    other.mkdir()
    (base / "elsewhere").mkdir()
    (other / ".tabops-backups").symlink_to(base / "elsewhere")
    refused = sync(other, A, 3, run_id="run-x").run()
    assert "run journal cannot be written" in refused["msg"]
    assert sorted(os.listdir(other)) == [".tabops-backups"]


def test_a_backup_folder_swapped_for_a_link_after_the_run_fails_the_rollback_of_its_folder(base):
    folder = base / "OAuthConfigs"
    sync(folder, A, 0, run_id="run-a").run()
    sync(folder, B, 1, run_id="run-b").run()
    (folder / ".tabops-backups").rename(base / "moved")
    (folder / ".tabops-backups").symlink_to(base / "moved")
    before = state(folder)
    result = sync(folder, {}, 2, rollback_run_id="run-b").run()
    assert "its run journals cannot be read" in result["msg"] and not result["changed"]
    assert state(folder) == before


def test_a_folder_holding_a_journal_of_a_skipped_run_is_left_alone_and_named(base):
    """rollback_skip_runs (what rollback.yml passes for a newer run only users' journals name): that folder keeps
    everything, every other folder is rolled back; the run rolled back itself can never be skipped."""
    mine, other = base / "OAuthConfigs", base / "Other"
    dirs = [{"path": str(folder), "kind": "oauth_config", "application": "desktop"} for folder in (mine, other)]

    def go(files, minutes, **options):
        request = [
            {"path": str(folder / name), "content": content, "kind": "oauth_config", "mode": mode}
            for folder in (mine, other)
            for name, (content, mode) in files.items()
        ]
        return _posix.PosixSync(request, dirs, now=at(minutes), run_log_dir=str(base / "run-log"), **options)

    go(A, 0, run_id="run-a").run()
    after_a = {folder: state(folder) for folder in (mine, other)}
    go(B, 1, run_id="run-b").run()
    after_b = state(mine)
    journal = json.loads((mine / ".tabops-backups" / "tabops-run-run-b.json").read_text())
    forged = mine / ".tabops-backups" / "tabops-run-forged.json"
    forged.write_text(json.dumps(dict(journal, run_id="forged", stamp="99991231T235959Z")))

    checked = go({}, 2, rollback_run_id="run-b", rollback_skip_runs=["forged"]).run(check_mode=True)
    result = go({}, 2, rollback_run_id="run-b", rollback_skip_runs=["forged"]).run()
    assert sorted(f["path"] for f in result["files"]) == sorted(f["path"] for f in checked["files"])
    assert result["rollback"]["skipped"] == checked["rollback"]["skipped"] == [{"path": str(mine), "runs": ["forged"]}]
    assert all(path.startswith(str(other)) for path in result["rollback"]["restored"] + result["rollback"]["removed"])
    assert state(mine) == after_b and state(other) == after_a[other]
    # Named by id, the folder is rolled back too (the forgery holds run-b's changes there).
    assert go({}, 3, rollback_run_id="forged").run()["rollback"]["skipped"] == []
    assert state(mine) == after_a[mine]

    for bad, message in ((["run-b"], "names run-b, the run rolled back"), (["../x"], r"rollback_skip_runs\[0\]")):
        with pytest.raises(SyncError, match=message):
            go({}, 4, rollback_run_id="run-b", rollback_skip_runs=bad)


def test_an_owner_the_journal_may_not_hand_out_is_neither_restored_nor_compared(base):
    folder = base / "OAuthConfigs"
    sync(folder, A, 0, run_id="run-a").run()
    after_a = state(folder)
    sync(folder, B, 1, run_id="run-b").run()
    # The folder's owner names another user as the owner custom_a.xml had before run-b.
    journal = folder / ".tabops-backups" / "tabops-run-run-b.json"
    document = json.loads(journal.read_text())
    document["files"]["custom_a.xml"]["before"].update(uid=4242, gid=4242)
    journal.write_text(json.dumps(document))
    first = sync(folder, {}, 2, rollback_run_id="run-b").run()
    assert str(folder / "custom_a.xml") in first["rollback"]["restored"]
    assert state(folder) == after_a  # root's, as the folder: 4242 was not handed out
    again = sync(folder, {}, 3, rollback_run_id="run-b").run()
    assert again["changed"] is False and again["rollback"]["hand_edited"] == [], again["rollback"]


def test_check_mode_fails_on_a_run_log_folder_the_real_run_refuses_and_changes_none(base):
    folder = base / "OAuthConfigs"
    (base / "elsewhere").mkdir()
    (base / "linked").symlink_to(base / "elsewhere")
    for options in ({"run_log_dir": str(base / "linked" / "runs")}, {"run_log_dir": str(base / "open" / "runs")}):
        if "open" in options["run_log_dir"]:
            (base / "open").mkdir(mode=0o777)
            (base / "open").chmod(0o777)  # another user could swap what comes next: refused
        with pytest.raises(SyncError, match=r"run log .* not written") as checked:
            sync(folder, A, 0, run_id="run-a", **options).run(check_mode=True)
        with pytest.raises(SyncError, match=r"run log .* not written") as real:
            sync(folder, A, 0, run_id="run-a", **options).run()
        assert str(checked.value) == str(real.value)
        assert not folder.exists()
    # A run log folder of root's that others can read: check mode passes and leaves its mode; the real run makes it
    # private.
    log = base / "log"
    log.mkdir()
    log.chmod(0o755)
    assert sync(folder, A, 0, run_id="run-a", run_log_dir=str(log)).run(check_mode=True)["changed"]
    assert stat.S_IMODE(log.stat().st_mode) == 0o755
    assert sync(folder, A, 0, run_id="run-a", run_log_dir=str(log)).run()["changed"]
    assert stat.S_IMODE(log.stat().st_mode) == 0o700


def test_a_failed_restore_keeps_the_manifest_entry_of_that_file(base):
    """A rollback that would leave nothing owned removes the manifest, except the entries of files it could not put
    back: those stay owned, so the next rollback (or rollout) still knows them."""
    folder = base / "OAuthConfigs"
    sync(folder, A, 0, run_id="run-a").run()
    rollback = sync(folder, {}, 1, rollback_run_id="run-a")
    rollback.make_plan()
    last = rollback.plan["folders"][0]["operations"][-1]
    assert (last["op"], last["path"]) == ("remove", str(folder / ".tabops-managed.json"))
    # custom_a.xml is replaced by an identical copy after the plan: its removal fails (not the file it read).
    copy = folder / "copy.tmp"
    copy.write_bytes((folder / "custom_a.xml").read_bytes())
    os.rename(copy, folder / "custom_a.xml")
    result = finish_host(rollback.plan, rollback.apply())
    assert [f["path"] for f in result["files"] if f["status"] == "error"] == [str(folder / "custom_a.xml")]
    assert not (folder / "custom_b.xml").exists()
    manifest = json.loads((folder / ".tabops-managed.json").read_text())
    assert sorted(manifest["files"]) == ["custom_a.xml"]
    # The next rollback finishes the job: nothing owned, no manifest.
    assert sync(folder, {}, 2, rollback_run_id="run-a").run()["rollback"]["removed"] == [str(folder / "custom_a.xml")]
    assert sorted(os.listdir(folder)) == [".tabops-backups"]


def test_a_refused_backup_folder_fails_no_change_the_journal_would_not_record(base):
    folder = base / "OAuthConfigs"
    sync(folder, A, 0, run_id="run-a").run()
    manifest = folder / ".tabops-managed.json"
    manifest.write_text(json.dumps(json.loads(manifest.read_text())))  # same entries, not as the module writes it
    shutil.rmtree(folder / ".tabops-backups")
    (base / "elsewhere").mkdir()
    (folder / ".tabops-backups").symlink_to(base / "elsewhere")
    result = sync(folder, A, 1, run_id="run-b").run()
    assert result["folders"][0]["error"] is None and result["changed"] and result["journals"] == []
    assert manifest.read_text().startswith("{\n")  # rewritten as the module writes it
    assert os.listdir(base / "elsewhere") == []
    # A change the journal records still fails the folder: no journal, no change.
    refused = sync(folder, B, 2, run_id="run-c").run()
    assert "run journal cannot be written" in refused["folders"][0]["error"] and not refused["changed"]
