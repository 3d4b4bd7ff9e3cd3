# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The POSIX transport (_sync/_posix.py) on real files: descriptor walks, identity re-checks, the privilege
drop to a real throwaway user (created with useradd when the tests run as root), the per-host lock."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync import _posix
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._plan import SyncError
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import render_oauth_config

IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT or shutil.which("useradd") is None, reason="needs root and useradd")
NAME = "custom_redshift_okta.xml"


def oauth_xml(client_id="tableau-desktop"):
    return render_oauth_config(
        {
            "id": "custom_redshift_okta",
            "idp": "okta",
            "idp_base_url": "https://example.okta.com",
            "auth_server": "default",
            "client_id_desktop": client_id,
            "client_secret_desktop": "CANARY-posix-secret-18fe",
        }
    )


@pytest.fixture
def base():
    """A folder every user can traverse (pytest's tmp_path is 0700 to root)."""
    path = Path(tempfile.mkdtemp(prefix="tabops-posix-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def desktop_user(base):
    """A real throwaway user with a home folder under ``base``; removed afterwards."""
    if not IS_ROOT or shutil.which("useradd") is None:
        pytest.skip("needs root and useradd")
    name = "tbh1" + uuid.uuid4().hex[:8]
    home = base / "home" / name
    home.parent.mkdir()
    subprocess.run(["useradd", "-m", "-d", str(home), "-s", "/usr/sbin/nologin", "-K", "UMASK=077", name], check=True)
    entry = pwd.getpwnam(name)
    try:
        yield {"name": name, "uid": entry.pw_uid, "gid": entry.pw_gid, "home": home}
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)


@pytest.fixture
def canary(base):
    """A root-only folder with a root-only file: nothing a desktop user does may change them."""
    folder = base / "root-only"
    folder.mkdir(mode=0o700)
    secret = folder / "shadow"
    secret.write_text("root-only-content\n")
    secret.chmod(0o600)
    return {"folder": folder, "file": secret}


def fingerprint(path):
    st = os.lstat(path)
    data = path.read_bytes() if path.is_file() and not path.is_symlink() else None
    listing = sorted(os.listdir(path)) if path.is_dir() else None
    return (st.st_mode, st.st_uid, st.st_gid, data, listing)


def desktop_request(user, client_id="tableau-desktop"):
    folder = user["home"] / "Documents" / "My Tableau Repository" / "OAuthConfigs"
    files = [{"path": str(folder / NAME), "content": oauth_xml(client_id), "kind": "oauth_config", "mode": "0600"}]
    dirs = [{"path": str(folder), "kind": "oauth_config", "application": "desktop", "owner": user["name"]}]
    return folder, files, dirs


def run_as_user(user, *argv):
    return subprocess.run(
        ["setpriv", "--reuid", str(user["uid"]), "--regid", str(user["gid"]), "--init-groups", *argv],
        check=True,
        capture_output=True,
        text=True,
    )


# ---------------------------------------------------------------------------------------------
# walking
# ---------------------------------------------------------------------------------------------


def test_open_tree_reports_missing_folders_and_refuses_a_file_in_the_way(base):
    fd, _anchor, missing = _posix.open_tree(str(base / "a" / "b"))
    os.close(fd)
    assert missing == [str(base / "a"), str(base / "a" / "b")]
    (base / "a").write_text("x")
    with pytest.raises(_posix.Refused, match="%s exists but is not a folder" % (base / "a")):
        _posix.open_tree(str(base / "a" / "b"))


def test_open_tree_never_follows_a_link_a_user_owns(base):
    (base / "real").mkdir()
    (base / "link").symlink_to(base / "real")
    if IS_ROOT:
        os.lchown(base / "link", 65534, 65534)
        with pytest.raises(_posix.Refused, match="link is a symbolic link \\(not followed\\)"):
            _posix.open_tree(str(base / "link" / "x"))
        os.lchown(base / "link", 0, 0)
        fd, anchor, missing = _posix.open_tree(str(base / "link"))
        os.close(fd)
        assert (anchor, missing) == (None, []), "a root-owned link in a root-owned path is system layout"
    (base / "real").chmod(0o755)
    os.chown(base / "real", 65534, 65534) if IS_ROOT else None
    (base / "real" / "inner").mkdir()
    (base / "real" / "jump").symlink_to(base)
    with pytest.raises(_posix.Refused, match="jump is a symbolic link"):
        _posix.open_tree(str(base / "real" / "jump"))


def test_a_hard_link_is_observed_but_not_read(base):
    (base / "target").write_text("<secret/>")
    os.link(base / "target", base / "alias.xml")
    fd = os.open(str(base), os.O_RDONLY)
    try:
        entry = _posix.observe_entry(fd, "alias.xml")
    finally:
        os.close(fd)
    assert entry["type"] == "file" and entry["nlink"] == 2 and entry["data"] is None
    assert "2 hard links" in entry["problem"]


# ---------------------------------------------------------------------------------------------
# identity: nothing observed once is trusted again
# ---------------------------------------------------------------------------------------------


def test_a_file_swapped_for_a_symlink_after_the_plan_is_never_followed(base, canary):
    folder = base / "Datasources"
    folder.mkdir()
    files = [{"path": str(folder / NAME), "content": oauth_xml(), "kind": "oauth_config", "mode": "0600"}]
    dirs = [{"path": str(folder), "kind": "oauth_config", "application": "server"}]
    _posix.PosixSync(files, dirs).run()
    (folder / NAME).chmod(0o644)
    sync = _posix.PosixSync(files, dirs)
    sync.make_plan()
    assert [op["op"] for op in sync.plan["folders"][0]["operations"]] == ["attributes"]
    # The swap a hostile user does right after the read: the name now points at a root-only file.
    (folder / NAME).unlink()
    (folder / NAME).symlink_to(canary["file"])
    before = fingerprint(canary["file"])
    outcomes = sync.apply()
    assert fingerprint(canary["file"]) == before
    assert "changed since it was read" in outcomes[str(folder)]["errors"][0]["msg"]
    # The next run converges: the link is replaced (and kept as a link in the backups).
    result = _posix.PosixSync(files, dirs).run()
    assert result["folders"][0]["status"] == "changed"
    assert not (folder / NAME).is_symlink() and stat.S_IMODE((folder / NAME).stat().st_mode) == 0o600
    assert os.readlink(result["backups"][0]) == str(canary["file"])
    assert fingerprint(canary["file"]) == before


def test_a_backup_folder_that_is_a_symlink_is_refused_and_nothing_is_replaced(base, canary):
    folder = base / "Datasources"
    folder.mkdir()
    files = [{"path": str(folder / NAME), "content": oauth_xml("new"), "kind": "oauth_config"}]
    dirs = [{"path": str(folder), "kind": "oauth_config", "application": "server"}]
    (folder / NAME).write_text(oauth_xml("old"))
    (folder / ".tabops-backups").symlink_to(canary["folder"])
    before = fingerprint(canary["folder"])
    result = _posix.PosixSync(files, dirs).run()
    assert fingerprint(canary["folder"]) == before
    assert result["files"][0]["status"] == "error"
    assert ".tabops-backups" in result["folders"][0]["error"] and "symbolic link" in result["folders"][0]["error"]
    assert "old" in (folder / NAME).read_text()


def test_a_hard_link_to_a_root_file_at_a_managed_name_is_neither_chowned_nor_shown(base, canary):
    folder = base / "Datasources"
    folder.mkdir()
    os.link(canary["file"], folder / NAME)
    before = fingerprint(canary["file"])
    files = [{"path": str(folder / NAME), "content": oauth_xml(), "kind": "oauth_config", "owner": "65534"}]
    dirs = [{"path": str(folder), "kind": "oauth_config", "application": "server"}]
    result = _posix.PosixSync(files, dirs).run(diff=True)
    assert fingerprint(canary["file"]) == before
    assert result["files"][0]["status"] == "error" and "hard links" in result["folders"][0]["error"]
    assert "root-only-content" not in repr(result)


# ---------------------------------------------------------------------------------------------
# the privilege boundary
# ---------------------------------------------------------------------------------------------


@needs_root
def test_drop_privileges_is_for_good(desktop_user):
    def probe():
        state = {"resuid": list(os.getresuid()), "resgid": list(os.getresgid()), "groups": os.getgroups()}
        try:
            os.setuid(0)
            state["regained"] = True
        except PermissionError:
            state["regained"] = False
        try:
            with open("/etc/shadow", "rb"):
                state["shadow"] = "read"
        except PermissionError:
            state["shadow"] = "denied"
        return state

    state = _posix.run_as(desktop_user["uid"], probe)
    uid, gid = desktop_user["uid"], desktop_user["gid"]
    assert state == {"resuid": [uid] * 3, "resgid": [gid] * 3, "groups": [gid], "regained": False, "shadow": "denied"}
    assert os.geteuid() == 0, "the parent keeps root"


@needs_root
def test_a_folder_in_a_users_home_is_worked_on_as_that_user(desktop_user, canary):
    folder, files, dirs = desktop_request(desktop_user)
    sync = _posix.PosixSync(files, dirs)
    result = sync.run()
    assert sync.workers[str(folder)] == (desktop_user["uid"], None)
    assert result["folders"][0]["status"] == "changed"
    for path in [folder.parent, folder, folder / NAME, folder / ".tabops-managed.json"]:
        assert (path.stat().st_uid, path.stat().st_gid) == (desktop_user["uid"], desktop_user["gid"]), path
    assert stat.S_IMODE((folder / NAME).stat().st_mode) == 0o600
    assert _posix.PosixSync(files, dirs).run()["changed"] is False


@needs_root
def test_a_declared_owner_other_than_the_homes_owner_is_refused(desktop_user):
    _folder, files, dirs = desktop_request(desktop_user)
    dirs[0]["owner"] = "root"
    # Allowed as a desktop user here: the tree's owner decides, whatever is declared.
    result = _posix.PosixSync(files, dirs, allow_system_users=True).run()
    assert result["folders"][0]["status"] == "error"
    assert "owned by %s but declared owner root" % desktop_user["name"] in result["folders"][0]["error"]
    assert not (desktop_user["home"] / "Documents").exists()


@needs_root
@pytest.mark.parametrize("planted", ["repository", "backups", "managed_file"])
def test_what_a_user_plants_reaches_no_further_than_the_user(desktop_user, canary, planted):
    folder, files, dirs = desktop_request(desktop_user, "old")
    _posix.PosixSync(files, dirs).run()
    folder, files, dirs = desktop_request(desktop_user, "new")
    target = str(canary["folder"])
    if planted == "repository":
        run_as_user(desktop_user, "sh", "-c", 'rm -rf "$1" && ln -s "$2" "$1"', "-", str(folder.parent), target)
    elif planted == "backups":
        run_as_user(
            desktop_user, "sh", "-c", 'rm -rf "$1" && ln -s "$2" "$1"', "-", str(folder / ".tabops-backups"), target
        )
    else:
        run_as_user(
            desktop_user, "sh", "-c", 'rm -f "$1" && ln -s "$2" "$1"', "-", str(folder / NAME), str(canary["file"])
        )
    before = (fingerprint(canary["folder"]), fingerprint(canary["file"]))
    result = _posix.PosixSync(files, dirs).run()
    assert (fingerprint(canary["folder"]), fingerprint(canary["file"])) == before
    if planted == "managed_file":
        # Replaced, never followed; the link itself is what the backup keeps.
        assert result["folders"][0]["status"] == "changed"
        assert not (folder / NAME).is_symlink() and "new" in (folder / NAME).read_text()
    else:
        assert result["folders"][0]["status"] == "error"
        assert "symbolic link" in result["folders"][0]["error"]


@needs_root
def test_a_worker_that_cannot_drop_fails_its_folders_only(base):
    # A uid without a user entry: the child refuses to work rather than stay root.
    stranger = base / "stranger"
    stranger.mkdir()
    os.chown(stranger, 54321, 54321)
    dirs = [
        {"path": str(stranger / "OAuthConfigs"), "kind": "oauth_config", "application": "desktop"},
        {"path": str(base / "server" / "Datasources"), "kind": "tdc", "application": "server"},
    ]
    result = _posix.PosixSync([], dirs).run()
    assert result["folders"][0]["status"] == "error"
    assert "uid 54321 has no user entry" in result["folders"][0]["error"]
    assert not (stranger / "OAuthConfigs").exists()
    assert result["folders"][1]["status"] == "changed"


# ---------------------------------------------------------------------------------------------
# the per-host lock
# ---------------------------------------------------------------------------------------------


def test_a_second_lock_waits_then_names_the_holder(base):
    path = str(base / "test.lock")
    holder = _posix.HostLock(timeout=0, path=path).acquire()
    try:
        with pytest.raises(SyncError, match=r"\(pid %d\) holds the host lock %s; waited 1s" % (os.getpid(), path)):
            _posix.HostLock(timeout=1, path=path).acquire()
    finally:
        holder.release()
    with _posix.HostLock(timeout=0, path=path):
        pass


def test_a_lock_file_that_is_a_symlink_is_refused(base, canary):
    path = base / "test.lock"
    path.symlink_to(canary["file"])
    before = fingerprint(canary["file"])
    with pytest.raises(SyncError, match="cannot be opened"):
        _posix.HostLock(timeout=0, path=str(path)).acquire()
    assert fingerprint(canary["file"]) == before


def test_the_default_lock_lives_where_no_user_can_plant_it():
    path = _posix.lock_path()
    folder = os.path.dirname(path)
    st = os.stat(folder)
    if IS_ROOT:
        assert st.st_uid == 0 and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH), path
