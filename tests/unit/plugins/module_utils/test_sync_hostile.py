# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""What a hostile desktop user can do to the host-side file sync from inside their own tree, on real files and
real throwaway users: confuse the child's answer, stall or flood the child, hold the host lock, block other users'
folders, plant terminal escapes; and the secret masking and identity checks those paths rely on."""

# ruff: noqa: F811 - the shared fixtures are imported from test_sync_posix and then requested by name

from __future__ import annotations

import ctypes
import json
import os
import pwd
import signal
import subprocess
import time
import uuid

import pytest
from test_sync_posix import (  # noqa: F401  # pylint: disable=unused-import  # fixtures, received by name
    NAME,
    base,
    canary,
    desktop_request,
    desktop_user,
    needs_root,
    oauth_xml,
    run_as_user,
)

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._secrets import (
    REDACTED,
    content_secrets,
    mask_xml_secrets,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync import _plan, _posix
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._plan import SyncError
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import render_tdc


def tdc_xml(tdc_class="redshift", value="yes"):
    return render_tdc({"class": tdc_class, "customizations": {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": value}})


def server_folder(base):
    """A root-owned folder next to the user's: it must be synced whatever the user does."""
    folder = base / "server" / "Datasources"
    files = [{"path": str(folder / "redshift.tdc"), "content": tdc_xml(), "kind": "tdc", "mode": "0644"}]
    dirs = [{"path": str(folder), "kind": "tdc", "application": "server"}]
    return folder, files, dirs


SETPRIV = ("setpriv", "--reuid")
# The system interpreter: the test venv's python needs a libpython a plain user may not reach.
SYSTEM_PYTHON = "/usr/bin/python3"


def write_as(user, path, data):
    subprocess.run(
        [
            *SETPRIV,
            str(user["uid"]),
            "--regid",
            str(user["gid"]),
            "--init-groups",
            "sh",
            "-c",
            'cat > "$1"',
            "-",
            str(path),
        ],
        input=data,
        check=True,
    )


# ---------------------------------------------------------------------------------------------
# the child's answer
# ---------------------------------------------------------------------------------------------


def test_the_child_encoding_cannot_be_confused_by_what_a_user_names():
    value = {"__b64__": "s:b:AAAA", "b:AAAA": ["s:", b"\x00bytes", "__b64__", None, 3, True]}
    assert _posix._decode(json.loads(json.dumps(_posix._encode(value)))) == value
    with pytest.raises(ValueError):
        _posix._decode({"entries": "untagged"})


@needs_root
def test_a_manifest_key_like_the_old_bytes_tag_fails_nobody(desktop_user, base):
    folder, files, dirs = desktop_request(desktop_user)
    tdc_folder = folder.parent / "Datasources"
    dirs.append({"path": str(tdc_folder), "kind": "tdc", "application": "desktop", "owner": desktop_user["name"]})
    server, server_files, server_dirs = server_folder(base)
    _posix.PosixSync(files, dirs).run()
    manifest = {"managed_by": "tabops.redshift_oauth", "files": {"__b64__": {"kind": "tdc"}}}
    write_as(desktop_user, tdc_folder / ".tabops-managed.json", json.dumps(manifest).encode())
    result = _posix.PosixSync(files + server_files, dirs + server_dirs).run()
    assert [folder["status"] for folder in result["folders"]] == ["ok", "changed", "changed"]
    assert (server / "redshift.tdc").read_text() == tdc_xml()


@needs_root
def test_the_parent_takes_only_the_folders_it_asked_about(desktop_user, base, monkeypatch):
    folder, files, dirs = desktop_request(desktop_user)
    server, server_files, server_dirs = server_folder(base)
    real = _posix._observe_many

    def confused(dirs, names, rollback_run_id=None):
        observed = real(dirs, names, rollback_run_id)
        if os.geteuid() == 0:
            return observed
        # What a corrupted child could answer: a folder it was not asked about and a non-observation.
        return {str(server): {"state": "absent", "missing": []}, str(folder): "present"}

    monkeypatch.setattr(_posix, "_observe_many", confused)
    result = _posix.PosixSync(files + server_files, dirs + server_dirs).run()
    statuses = {entry["path"]: (entry["status"], entry["error"]) for entry in result["folders"]}
    assert statuses[str(folder)] == (
        "error",
        "managed folder %s refused: the worker gave no usable answer for this folder" % folder,
    )
    assert statuses[str(server)] == ("changed", None)
    assert (server / "redshift.tdc").read_text() == tdc_xml()


# ---------------------------------------------------------------------------------------------
# the child's deadline and memory
# ---------------------------------------------------------------------------------------------


def _stop_myself():
    os.kill(os.getpid(), signal.SIGSTOP)
    return "resumed"


@needs_root
@pytest.mark.parametrize("stall", ["sleep", "stopped"])
def test_a_stalled_child_is_killed_at_its_deadline(desktop_user, stall):
    started = time.monotonic()
    with pytest.raises(
        RuntimeError, match=r"worker for user %s did not answer within 1s; killed" % desktop_user["name"]
    ):
        if stall == "sleep":
            _posix.run_as(desktop_user["uid"], time.sleep, 30, timeout=1)
        else:
            _posix.run_as(desktop_user["uid"], _stop_myself, timeout=1)
    assert time.monotonic() - started < 5
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # reaped: no child left behind


@needs_root
def test_a_user_stopping_their_child_fails_their_folders_only(desktop_user, base, monkeypatch):
    folder, files, dirs = desktop_request(desktop_user)
    _server, server_files, server_dirs = server_folder(base)
    real = _posix._observe_many

    def observe(dirs, names, rollback_run_id=None):
        if os.geteuid() != 0:
            os.kill(os.getpid(), signal.SIGSTOP)  # what the user may do to a process running as them
        return real(dirs, names, rollback_run_id)

    monkeypatch.setattr(_posix, "_observe_many", observe)
    started = time.monotonic()
    result = _posix.PosixSync(files + server_files, dirs + server_dirs, worker_timeout=1).run()
    assert time.monotonic() - started < 5
    assert [folder["status"] for folder in result["folders"]] == ["error", "changed"]
    assert "did not answer within 1s; killed" in result["folders"][0]["error"]
    assert not folder.exists()


def _dumpable():
    return ctypes.CDLL(None).prctl(3, 0, 0, 0, 0)  # PR_GET_DUMPABLE


@needs_root
def test_the_child_is_not_dumpable_and_its_proc_files_stay_closed_to_the_user(desktop_user):
    assert _posix.run_as(desktop_user["uid"], _dumpable) == 0
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        try:
            _posix.drop_privileges(desktop_user["uid"])
            _posix._not_dumpable()
            time.sleep(30)
        finally:
            os._exit(0)
    try:
        time.sleep(0.2)
        probe = run_as_user(
            desktop_user,
            SYSTEM_PYTHON,
            "-c",
            "import sys\ntry:\n open('/proc/%d/environ','rb').read(1); print('read')\n"
            "except OSError as e: print(e.strerror)" % child,
        )
        assert probe.stdout.strip() == "Permission denied"
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)


def test_a_folder_with_too_many_candidate_files_fails_with_a_clear_message(base):
    folder = base / "flood"
    folder.mkdir()
    for index in range(_posix.MAX_FOLDER_ENTRIES + 1):
        (folder / ("s%05d.tdc" % index)).write_bytes(b"")
    _server, server_files, server_dirs = server_folder(base)
    dirs = [{"path": str(folder), "kind": "tdc", "application": "server"}, *server_dirs]
    result = _posix.PosixSync(server_files, dirs).run()
    assert result["folders"][0]["status"] == "error"
    assert "holds more than 1000 candidate files" in result["folders"][0]["error"]
    assert result["folders"][1]["status"] == "changed"


def test_a_folder_whose_files_hold_too_many_bytes_fails_with_a_clear_message(base):
    folder = base / "sparse"
    folder.mkdir()
    for index in range(_posix.MAX_FOLDER_READ_BYTES // (256 << 10) + 1):
        with open(folder / ("s%03d.tdc" % index), "wb") as handle:
            handle.truncate(256 << 10)  # sparse: no disk used, 256 KiB read
    result = _posix.PosixSync([], [{"path": str(folder), "kind": "tdc", "application": "server"}]).run(True)
    assert result["folders"][0]["status"] == "error"
    assert "its files hold more than 16 MiB; not read" in result["folders"][0]["error"]
    assert result["unmanaged"] == []


# ---------------------------------------------------------------------------------------------
# the host lock
# ---------------------------------------------------------------------------------------------


@needs_root
def test_the_lock_file_is_private_even_when_it_was_left_world_readable(desktop_user, base):
    path = base / "test.lock"
    path.write_text("")
    path.chmod(0o644)
    with _posix.HostLock(timeout=0, path=str(path)):
        assert oct(path.stat().st_mode & 0o7777) == oct(0o600)
        with pytest.raises(subprocess.CalledProcessError) as failed:
            run_as_user(desktop_user, SYSTEM_PYTHON, "-c", "import os; os.open(%r, os.O_RDONLY)" % str(path))
        assert "Permission denied" in failed.value.stderr
    os.unlink(path)
    with _posix.HostLock(timeout=0, path=str(path)):
        assert oct(path.stat().st_mode & 0o7777) == oct(0o600), "created private"


@needs_root
def test_a_lock_file_owned_by_a_user_or_hard_linked_is_refused(desktop_user, base):
    path = base / "user.lock"
    path.write_text("")
    os.chown(path, desktop_user["uid"], desktop_user["gid"])
    with pytest.raises(SyncError, match="is not a regular file of uid 0 with one link"):
        _posix.HostLock(timeout=0, path=str(path)).acquire()
    linked = base / "linked.lock"
    linked.write_text("")
    os.link(linked, base / "other")
    with pytest.raises(SyncError, match="with one link"):
        _posix.HostLock(timeout=0, path=str(linked)).acquire()


# ---------------------------------------------------------------------------------------------
# a home that does not exist yet
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def homeless_user(base):
    """A real throwaway user whose home is not created (a directory-service user before the first login)."""
    if os.geteuid() != 0:
        pytest.skip("needs root and useradd")
    name = "tbh1" + uuid.uuid4().hex[:8]
    home = base / "home" / name
    home.parent.mkdir()
    subprocess.run(["useradd", "-M", "-d", str(home), "-s", "/usr/sbin/nologin", name], check=True)
    entry = pwd.getpwnam(name)
    try:
        yield {"name": name, "uid": entry.pw_uid, "gid": entry.pw_gid, "home": home}
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)


@needs_root
def test_root_creates_only_the_missing_home_and_the_user_does_the_rest(homeless_user):
    folder, files, dirs = desktop_request(homeless_user)
    result = _posix.PosixSync(files, dirs).run()
    assert result["folders"][0]["status"] == "changed", result
    assert result["created_dirs"][0] == str(homeless_user["home"])
    made = [homeless_user["home"], folder.parent.parent, folder.parent, folder, folder / NAME]
    made.append(folder / ".tabops-managed.json")
    ids = (homeless_user["uid"], homeless_user["gid"])
    # The home is made by root with the user's primary group (not gid 0); the rest by the user's own child.
    assert [(path.stat().st_uid, path.stat().st_gid) for path in made] == [ids] * len(made)
    assert _posix.PosixSync(files, dirs).run()["changed"] is False


# ---------------------------------------------------------------------------------------------
# what reaches the operator's terminal
# ---------------------------------------------------------------------------------------------


def test_control_characters_a_user_planted_are_escaped_in_results_and_diffs(base):
    folder = base / "Datasources"
    folder.mkdir()
    rogue = folder / "evil\x1b]0;pwned\x07.tdc"
    rogue.write_text(tdc_xml(value="no"))
    (folder / "redshift.tdc").write_bytes(b"\x1b[2J\x1b[31mFAKE: all hosts compliant\x1b[0m\n\tok\n")
    files = [{"path": str(folder / "redshift.tdc"), "content": tdc_xml(), "kind": "tdc"}]
    dirs = [{"path": str(folder), "kind": "tdc", "application": "server"}]
    sync = _posix.PosixSync(files, dirs, "warn")
    result = sync.run(check_mode=True, diff=True)
    text = json.dumps(result, ensure_ascii=False)
    assert "\x1b" not in text and "\x07" not in text
    assert result["unmanaged"][0]["path"] == str(folder / "evil\\x1b]0;pwned\\x07.tdc")
    assert result["diff"][0]["before"].startswith("\\x1b[2J\\x1b[31mFAKE: all hosts compliant\\x1b[0m\n\tok")
    assert _plan.terminal_safe("a\tb\nc\r\x9b") == "a\tb\nc\\x0d\\x9b"


# ---------------------------------------------------------------------------------------------
# masking and identity
# ---------------------------------------------------------------------------------------------


def test_a_cdata_secret_holding_the_end_tag_is_masked_whole():
    document = oauth_xml().replace("CANARY-posix-secret-18fe", "<![CDATA[abcd</clientSecretDesktop>TAILSECRET]]>")
    masked = mask_xml_secrets(document)
    assert "abcd" not in masked and "TAILSECRET" not in masked
    assert "<clientSecretDesktop>%s</clientSecretDesktop>" % REDACTED in masked
    assert content_secrets(document) == ["abcd</clientSecretDesktop>TAILSECRET"]
    # The parsed value is masked wherever else it shows up in the same text.
    echoed = document + "\n<!-- abcd</clientSecretDesktop>TAILSECRET -->"
    assert "TAILSECRET" not in mask_xml_secrets(echoed)


def test_a_file_changed_with_its_mtime_set_back_is_not_overwritten(base):
    folder = base / "OAuthConfigs"
    folder.mkdir()
    target = folder / NAME
    files = [{"path": str(target), "content": oauth_xml("new"), "kind": "oauth_config", "mode": "0600"}]
    dirs = [{"path": str(folder), "kind": "oauth_config", "application": "server"}]
    _posix.PosixSync([dict(files[0], content=oauth_xml("old"))], dirs).run()
    sync = _posix.PosixSync(files, dirs)
    sync.make_plan()
    before = target.stat()
    # Same size, same inode, mtime set back: only ctime tells.
    edited = oauth_xml("olx")
    with open(target, "r+") as handle:
        handle.write(edited)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    outcome = sync.apply()[str(folder)]
    assert outcome["errors"][0]["msg"].endswith(
        "changed since it was read (inode, type, owner or size); left for the next run"
    )
    assert target.read_text() == edited


def test_the_manifest_is_private_and_an_old_world_readable_one_is_made_private(base):
    folder = base / "OAuthConfigs"
    files = [{"path": str(folder / NAME), "content": oauth_xml(), "kind": "oauth_config", "mode": "0600"}]
    dirs = [{"path": str(folder), "kind": "oauth_config", "application": "server", "mode": "0755"}]
    _posix.PosixSync(files, dirs).run()
    manifest = folder / ".tabops-managed.json"
    assert manifest.stat().st_mode & 0o777 == 0o600, "it holds the sha256 of the secret-bearing config"
    manifest.chmod(0o644)  # as an older version left it
    result = _posix.PosixSync(files, dirs).run()
    assert result["manifests"] == [str(manifest)] and manifest.stat().st_mode & 0o777 == 0o600
    assert _posix.PosixSync(files, dirs).run()["changed"] is False
