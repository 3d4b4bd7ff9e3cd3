# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Issue 19 on real files and real throwaway users: root parses nothing a user wrote, one folder's content fails
that folder only, the run has a deadline and never leaves the host lock held, file names are data, and a desktop
user that is missing (or root) fails only their folders."""

# ruff: noqa: F811 - the shared fixtures are imported from test_sync_posix and then requested by name

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest
from test_sync_hostile import server_folder, tdc_xml, write_as
from test_sync_posix import (  # noqa: F401  # pylint: disable=unused-import  # fixtures, received by name
    NAME,
    base,
    desktop_request,
    desktop_user,
    needs_root,
    oauth_xml,
)

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync import _digest, _posix

SECRET = "CANARY-posix-secret-18fe"


def statuses(result):
    return {folder["path"]: (folder["status"], folder["error"]) for folder in result["folders"]}


def controller_accepts(result):
    """What the controller does with a module's answer: strict UTF-8 JSON (no lone surrogates, no raw controls)."""
    text = json.dumps(result, ensure_ascii=False)
    text.encode("utf-8")  # raises on a lone surrogate, as "Refusing to deserialize an invalid UTF8 string" does
    assert not any(ord(char) < 0x20 and char not in "\n\t" for char in text)
    return text


# ---------------------------------------------------------------------------------------------
# the manifest: parsed by the worker, checked field by field, a finding of its folder
# ---------------------------------------------------------------------------------------------


def nested(depth):
    value = "x"
    for _level in range(depth):
        value = [value]
    return value


@needs_root
@pytest.mark.parametrize(
    ("artifact", "finding"),
    [
        ("[" * 950 + '"x"' + "]" * 950, "manifest entry zz_stale.xml: artifact must be a string"),
        ("42", "manifest entry zz_stale.xml: artifact must be a string"),
        (json.dumps("x" * 300), "manifest entry zz_stale.xml: artifact is longer than 256 characters"),
        ('"x", "kind": ["tdc"]', "manifest entry zz_stale.xml: kind must be a string"),
    ],
    ids=["950-deep", "number", "too-long", "kind-list"],
)
def test_a_malformed_manifest_entry_fails_its_folder_only(desktop_user, base, artifact, finding):
    folder, files, dirs = desktop_request(desktop_user)
    server, server_files, server_dirs = server_folder(base)
    _posix.PosixSync(files, dirs).run()
    manifest = json.loads((folder / ".tabops-managed.json").read_text())
    # Written as text: json.dumps of a 950-deep list needs more than the default recursion limit.
    text = '{"managed_by": "tabops.redshift_oauth", "files": {"%s": %s, "zz_stale.xml": {"artifact": %s}}}' % (
        NAME,
        json.dumps(manifest["files"][NAME]),
        artifact,
    )
    write_as(desktop_user, folder / ".tabops-managed.json", text.encode())
    result = _posix.PosixSync(files + server_files, dirs + server_dirs).run()
    found = statuses(result)
    assert found[str(server)] == ("changed", None)
    assert found[str(folder)][0] == "error"
    assert finding in found[str(folder)][1]
    assert (server / "redshift.tdc").read_text() == tdc_xml()
    controller_accepts(result)


def test_the_root_side_schema_refuses_raw_bytes_and_deep_values():
    observation = {"state": "present", "digested": True, "entries": {NAME: {"type": "file", "data": b"<x/>"}}}
    with pytest.raises(_digest.SchemaError, match=r"entries\.custom_redshift_okta\.xml carries raw bytes"):
        _digest.check_observation(observation)
    deep = {"path": "x", "expected": nested(3), "actual": None}
    observation["entries"][NAME] = {"type": "file", "document": {"differences": [deep]}}
    with pytest.raises(_digest.SchemaError, match=r"differences\[0\].expected\[\] must be text"):
        _digest.check_observation(observation)
    observation["entries"] = {"bad\udcffname.xml": {"type": "file"}}
    with pytest.raises(_digest.SchemaError, match="a name is not plain text"):
        _digest.check_observation(observation)
    with pytest.raises(_digest.SchemaError, match="not digested"):
        _digest.check_observation({"state": "present"})


# ---------------------------------------------------------------------------------------------
# the secret-masking hang (issue row 1): bounded, the lock released
# ---------------------------------------------------------------------------------------------

HANG = (
    "<?xml version='1.0' encoding='utf-8'?>\n<pluginOAuthConfig><dbclass>redshift</dbclass>"
    "<oauthConfigId>custom_redshift_okta</oauthConfigId>"
    "<clientIdDesktop>&lt;clientSecretDesktop&gt;</clientIdDesktop>"
    "<clientSecretDesktop>" + SECRET + "<![CDATA[]]>" * 26
)


@needs_root
def test_a_hostile_config_is_masked_in_bounded_time_and_the_lock_is_released(desktop_user, base):
    folder, files, dirs = desktop_request(desktop_user)
    server, server_files, server_dirs = server_folder(base)
    _posix.PosixSync(files, dirs).run()
    write_as(desktop_user, folder / NAME, HANG.encode())
    lock = str(base / "host.lock")
    started = time.monotonic()
    with _posix.HostLock(timeout=0, path=lock):
        result = _posix.PosixSync(files + server_files, dirs + server_dirs).run(diff=True)
    assert time.monotonic() - started < 20
    with _posix.HostLock(timeout=0, path=lock):
        pass  # released: the next run gets it at once
    found = statuses(result)
    assert found[str(folder)] == ("changed", None)  # the hostile copy is replaced (with a backup)
    assert found[str(server)] == ("changed", None)
    assert SECRET not in controller_accepts(result)


# ---------------------------------------------------------------------------------------------
# file names are data (issue row 3)
# ---------------------------------------------------------------------------------------------


@needs_root
def test_names_that_are_not_utf8_or_hold_controls_survive_and_never_reach_the_result_raw(desktop_user, base):
    folder, files, dirs = desktop_request(desktop_user)
    server, server_files, server_dirs = server_folder(base)
    _posix.PosixSync(files, dirs).run()
    odd = [b"bad\xff\xfe.xml", b"new\nline.xml", b"esc\x1b]0;pwned\x07.xml", b".tabops-tmp-\xff"]
    for name in odd:
        # As the user, the name as bytes (write_as takes text).
        path = os.path.join(os.fsencode(folder), name)
        command = ["setpriv", "--reuid", str(desktop_user["uid"]), "--regid", str(desktop_user["gid"])]
        subprocess.run([*command, "--init-groups", "sh", "-c", 'cat > "$1"', "-", path], input=b"<x/>", check=True)
    before = {name: os.stat(os.path.join(os.fsencode(folder), name)) for name in odd}
    result = _posix.PosixSync(files + server_files, dirs + server_dirs).run(diff=True)
    text = controller_accepts(result)
    found = statuses(result)
    assert found[str(folder)] == ("ok", None)
    assert found[str(server)] == ("changed", None)
    for name in odd:
        after = os.stat(os.path.join(os.fsencode(folder), name))
        assert (after.st_ino, after.st_mtime_ns, after.st_size) == (
            before[name].st_ino,
            before[name].st_mtime_ns,
            before[name].st_size,
        )
    reported = {item["path"] for item in result["unmanaged"]}
    assert str(folder / "bad\\xff\\xfe.xml") in reported
    assert str(folder / "esc\\x1b]0;pwned\\x07.xml") in reported
    assert "\x1b" not in text and "\udcff" not in text


def test_escape_name_is_visible_and_plain():
    assert _digest.escape_name(b"a\xff\n\x1b.xml") == "a\\xff\\x0a\\x1b.xml"
    assert _digest.plain_name(_digest.escape_name("x\udcff\x07"))
    assert not _digest.plain_name("x\udcff")


# ---------------------------------------------------------------------------------------------
# desktop users: missing, root, system accounts (issue row 6, host side)
# ---------------------------------------------------------------------------------------------


@needs_root
def test_a_missing_desktop_user_fails_only_their_folder(desktop_user, base):
    folder, files, dirs = desktop_request(desktop_user)
    ghost = base / "home" / "ghost" / "OAuthConfigs"
    dirs.append({"path": str(ghost), "kind": "oauth_config", "application": "desktop", "owner": "tabops-no-such-u"})
    files.append(
        {"path": str(ghost / NAME), "content": oauth_xml(), "kind": "oauth_config", "owner": "tabops-no-such-u"}
    )
    result = _posix.PosixSync(files, dirs).run()
    found = statuses(result)
    assert found[str(folder)] == ("changed", None)
    assert found[str(ghost)][0] == "error"
    assert "user 'tabops-no-such-u' does not exist on this host" in found[str(ghost)][1]
    assert not ghost.exists()


@needs_root
def test_root_and_system_accounts_are_refused_as_desktop_users_unless_allowed(desktop_user, base):
    folder, files, dirs = desktop_request(desktop_user)
    rooted = base / "root-desktop" / "OAuthConfigs"
    system = base / "daemon-desktop" / "OAuthConfigs"
    dirs.append({"path": str(rooted), "kind": "oauth_config", "application": "desktop", "owner": "root"})
    dirs.append({"path": str(system), "kind": "oauth_config", "application": "prep", "owner": "daemon"})
    result = _posix.PosixSync(files, dirs).run()
    found = statuses(result)
    assert found[str(folder)] == ("changed", None)
    assert "owner root (uid 0) is root or a system account (below UID_MIN" in found[str(rooted)][1]
    assert "owner daemon (uid 1) is root or a system account" in found[str(system)][1]
    assert not rooted.exists() and not system.exists()
    allowed = _posix.PosixSync(files, dirs, allow_system_users=True).run()
    assert statuses(allowed)[str(rooted)][0] == "changed"


def test_uid_min_is_read_only_from_a_root_owned_file(base):
    defs = base / "login.defs"
    defs.write_text("# comment\nUID_MIN\t\t 2000\nUID_MAX 60000\n")
    defs.chmod(0o644)
    if os.geteuid() == 0:
        assert _posix.uid_min(str(defs)) == 2000
    defs.chmod(0o666)
    assert _posix.uid_min(str(defs)) == _posix.DEFAULT_UID_MIN
    assert _posix.uid_min(str(base / "absent")) == _posix.DEFAULT_UID_MIN


# ---------------------------------------------------------------------------------------------
# the run's deadline (issue point 3)
# ---------------------------------------------------------------------------------------------


def lock_fds_held(lock_path):
    """How many descriptors of this process are open on ``lock_path`` (by device and inode, no /proc needed)."""
    target = os.stat(lock_path)
    held = 0
    for fd in range(3, 1024):
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        held += (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino)
    return held


@needs_root
def test_a_stalled_observation_fails_its_users_folders_only(desktop_user, base, monkeypatch):
    """The hang of issue row 1 wherever it comes from: the user's worker is killed at its deadline."""
    folder, files, dirs = desktop_request(desktop_user)
    server, server_files, server_dirs = server_folder(base)
    real = _posix.observe_and_digest

    def stalling(directory, desired, rollback_run_id=None):
        if os.geteuid() != 0:
            time.sleep(60)
        return real(directory, desired, rollback_run_id)

    monkeypatch.setattr(_posix, "observe_and_digest", stalling)
    started = time.monotonic()
    result = _posix.PosixSync(files + server_files, dirs + server_dirs, worker_timeout=2).run()
    assert time.monotonic() - started < 10
    found = statuses(result)
    assert found[str(server)] == ("changed", None)
    assert "did not answer within 2s; killed" in found[str(folder)][1]


@needs_root
def test_a_stalled_worker_is_cut_at_the_run_deadline_and_the_rest_is_kept(desktop_user, base, monkeypatch):
    folder, files, dirs = desktop_request(desktop_user)
    server, server_files, server_dirs = server_folder(base)
    lock = str(base / "host.lock")
    report = base / "lock-fds"
    report.touch()
    os.chown(report, desktop_user["uid"], desktop_user["gid"])
    real = _posix.sync_folder

    def stalling(folder_path, operations, expected_identity):
        if os.geteuid() != 0:  # the user's worker: say whether it holds the host lock, then hang
            report.write_text(str(lock_fds_held(lock)))
            time.sleep(60)
        return real(folder_path, operations, expected_identity)

    monkeypatch.setattr(_posix, "sync_folder", stalling)
    started = time.monotonic()
    with _posix.HostLock(timeout=0, path=lock):
        sync = _posix.PosixSync(server_files + files, server_dirs + dirs, run_timeout=4)
        with sync.deadline_alarm():
            result = sync.run()
    assert time.monotonic() - started < 12
    with _posix.HostLock(timeout=0, path=lock):
        pass  # released
    assert report.read_text() == "0"  # the worker never held the host lock
    found = statuses(result)
    assert found[str(server)] == ("changed", None)
    assert found[str(folder)][0] == "error"
    assert "did not answer within" in found[str(folder)][1]
    assert (server / "redshift.tdc").read_text() == tdc_xml()
    assert not (folder / NAME).exists()


def test_roots_own_stalled_work_is_interrupted_after_the_grace(base, monkeypatch):
    server, server_files, server_dirs = server_folder(base)
    other = base / "other" / "Datasources"
    other_dirs = [{"path": str(other), "kind": "tdc", "application": "server"}]
    real = _posix.sync_folder

    def stalling(folder_path, operations, expected_identity):
        if folder_path == str(server):
            time.sleep(30)
        return real(folder_path, operations, expected_identity)

    monkeypatch.setattr(_posix, "sync_folder", stalling)
    monkeypatch.setattr(_posix, "DEADLINE_GRACE_SECONDS", 0.5)
    sync = _posix.PosixSync(server_files, other_dirs + server_dirs, run_timeout=1)
    started = time.monotonic()
    with sync.deadline_alarm():
        result = sync.run()
    assert time.monotonic() - started < 5
    found = statuses(result)
    assert found[str(other)] == ("changed", None)
    assert found[str(server)][0] == "error"
    assert "interrupted: the run's deadline (run_timeout 1s) passed first" in found[str(server)][1]
    assert not (server / "redshift.tdc").exists()


def test_run_timeout_must_be_positive():
    with pytest.raises(_posix.SyncError, match="run_timeout"):
        _posix.PosixSync([], [{"path": "/tmp/x", "kind": "tdc", "application": "server"}], run_timeout=0)


def test_names_and_fields_a_user_writes_are_checked_without_a_regex():
    from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync import _journal, _plan

    assert _journal.journal_run_id("tabops-run-run-1.json") == "run-1"
    assert _journal.journal_run_id("tabops-run-run-1\n.json") is None  # "$" would have let the newline through
    assert _journal.journal_run_id("tabops-run-.x.json") is None
    assert _plan.is_stamp("20261202T101500Z") and not _plan.is_stamp("2026120\uff12T101500Z")
    assert not _plan.is_stamp("20261202T101500Z\n")
    assert _plan.is_sha256("a" * 64) and not _plan.is_sha256("A" * 64)
    assert _plan._backup_key(NAME + ".20261202T101500Z.2", NAME) == ("20261202T101500Z", 2)
    assert _plan._backup_key(NAME + ".20261202T101500Z.²", NAME) is None


@pytest.mark.parametrize(
    "answer, problem",
    [
        ({"done": [0], "errors": [{"index": 0, "path": "x"}]}, "errors[0].msg must be text"),
        ({"done": [-1], "errors": []}, "done[] -1 is not one of the folder's 2 operations"),
        ({"done": [], "errors": [{"index": 7, "msg": "m"}]}, "errors[0].index 7 is not one of"),
        ({"done": [], "errors": [], "error": "x" * 100_000}, "error is longer than"),
        ({"done": "all"}, "done"),
        (["not", "a", "mapping"], "the answer must be a mapping"),
    ],
)
def test_roots_check_of_a_workers_sync_answer_names_the_field(answer, problem):
    with pytest.raises(_digest.SchemaError, match=re.escape(problem)):
        _digest.check_sync_outcome(answer, 2)
    good = {"done": [0, 1], "errors": [{"index": 1, "path": "p", "msg": "m", "extra": [[[]]]}], "error": None}
    assert _digest.check_sync_outcome(good, 2)["errors"] == [{"index": 1, "path": "p", "msg": "m"}]


@needs_root
def test_a_forged_sync_answer_fails_that_folder_only(desktop_user, base, monkeypatch):
    """Root takes the worker's sync answer only after the schema check: a bad one fails its folder, not the host."""
    folder, files, dirs = desktop_request(desktop_user)
    server, server_files, server_dirs = server_folder(base)
    real = _posix._sync_many

    def forging(jobs):
        answer = real(jobs)
        if os.geteuid() != 0:
            answer = {path: {"done": [], "errors": [{"index": -5}]} for path in answer}
        return answer

    monkeypatch.setattr(_posix, "_sync_many", forging)
    result = _posix.PosixSync(files + server_files, dirs + server_dirs).run()
    found = statuses(result)
    assert found[str(server)] == ("changed", None)
    assert "errors[0].index -5 is not one of the folder" in (found[str(folder)][1] or ""), found[str(folder)]
