# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""POSIX transport of the Tableau file sync: observe folders and perform planned operations, safely as root.

The boundary (see docs/security.md):

- Every folder inside a tree a desktop user owns (the first existing path component not owned by root, for example
  ``/home/alice``) is observed and written by a forked child that has dropped to that user (``setgroups``,
  ``setresgid``, ``setresuid``, checked that root cannot be regained) before it touches the tree. Nothing the user
  plants can make the work reach further than the user already can.
- Root keeps only root-owned trees and Tableau Server folders (``application: server``, owned by root or the
  service account).
- Everywhere: the walk opens each component with ``O_NOFOLLOW | O_DIRECTORY`` relative to its parent's descriptor;
  files are opened with ``O_NOFOLLOW`` relative to the folder's descriptor; owner and mode are set on descriptors;
  renames and unlinks are relative to descriptors. Files with more than one hard link are refused. Before each
  write, attribute change or removal the entry is checked to be the same inode in the same state as observed.

Standard library only (Python >= 3.9).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import fcntl
import gc
import grp
import json
import os
import posixpath
import pwd
import select
import signal
import stat
import sys
import tempfile
import time

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._errors import TabopsError
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._root_journal import (
    DARWIN_RUN_LOG_DIR,
    DEFAULT_RUN_LOG_DIR,
    RootJournalError,
    RunLog,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._digest import (
    SchemaError,
    check_observation,
    check_sync_outcome,
    digest_observation,
    escape_name,
    plain_name,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._engine import (
    OperationFailure,
    SyncEngine,
    perform_operations,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._journal import (
    MAX_JOURNAL_BYTES,
    MAX_JOURNALS_READ_BYTES,
    journal_name,
    journal_run_id,
    parse_journal,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._plan import (
    BACKUP_DIR_MODE,
    BACKUP_DIR_NAME,
    DEFAULT_BACKUP_KEEP,
    KIND_SUFFIX,
    MANIFEST_NAME,
    TEMP_PREFIX,
    SyncError,
    absent_entry,
    observed_names,
    parse_manifest,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import MAX_DOCUMENT_BYTES

O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
DIR_FLAGS = os.O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
READ_FLAGS = os.O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC
LOCK_NAME = "tabops-artifacts.lock"
LOCK_DIRS = ("/run/lock", "/var/lock", "/run")
LOCK_MODE = 0o600
DEFAULT_LOCK_TIMEOUT = 60
# The whole run on one host (every folder's worker included): then no folder is started, workers still running are
# killed, the host lock is released and only the folders not finished fail.
DEFAULT_RUN_TIMEOUT = 600
ROOT = 0
# A per-user child must answer within this many seconds (its user can stop it); then it is killed and only that
# user's folders fail.
WORKER_TIMEOUT = 120
MAX_WORKER_ANSWER_BYTES = 64 << 20
# Per managed folder: at most this many entries (candidate files, temp files, backups) and bytes of file content
# are observed; a folder beyond either fails with a message saying so.
MAX_FOLDER_ENTRIES = 1000
MAX_FOLDER_READ_BYTES = 16 << 20
PR_SET_DUMPABLE = 4
PR_SET_PDEATHSIG = 1
# What one folder's observation may take in a child's answer: its content base64-encoded, plus names and stats.
_MAX_FOLDER_ANSWER_BYTES = (MAX_FOLDER_READ_BYTES + MAX_JOURNALS_READ_BYTES) * 3 // 2 + (4 << 20)


class Refused(TabopsError):
    """A folder or entry this transport will not use; the message names the path and why."""


class Changed(TabopsError):
    """An entry is no longer what was observed; the next run converges."""


class RunDeadline(TabopsError):
    """The run's deadline (run_timeout) passed while root itself was busy (see ``deadline_alarm``)."""


# Descriptors of host locks this process holds: a forked worker closes them first thing, so a worker its user
# stopped never keeps the host locked after root gave up on it (flock belongs to the open file, shared on fork).
_HELD_LOCK_FDS = set()
# After the deadline the workers were killed at, root's own in-process work gets this much longer.
DEADLINE_GRACE_SECONDS = 5


# ---------------------------------------------------------------------------------------------
# users
# ---------------------------------------------------------------------------------------------


def _resolve_id(value, field, lookup, what):
    """The id of a user or group given by name or number (None when not given)."""
    if value is None or value == "":
        return None
    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        return lookup(text)
    except KeyError:
        raise SyncError("%s: %s %r does not exist on this host" % (field, what, text)) from None


def resolve_uid(owner, field):
    return _resolve_id(owner, field, lambda name: pwd.getpwnam(name).pw_uid, "user")


def resolve_gid(group, field):
    return _resolve_id(group, field, lambda name: grp.getgrnam(name).gr_gid, "group")


LOGIN_DEFS = "/etc/login.defs"
# Where login.defs says nothing (macOS has none: its first user is 501).
DEFAULT_UID_MIN = 501 if sys.platform == "darwin" else 1000
_MAX_LOGIN_DEFS_BYTES = 256 << 10
# Folders of these applications belong to desktop users (tabops_desktop_users): never root or a system account.
DESKTOP_APPLICATIONS = ("desktop", "prep")


def uid_min(path=LOGIN_DEFS):
    """UID_MIN of ``path`` (the first uid of a regular user), else DEFAULT_UID_MIN. Read only when root owns it and
    nobody else can write it (never through a link), size bounded."""
    try:
        fd = os.open(path, READ_FLAGS)
    except OSError:
        return DEFAULT_UID_MIN
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != ROOT or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return DEFAULT_UID_MIN
        data = _read_fd(fd, _MAX_LOGIN_DEFS_BYTES)
    finally:
        os.close(fd)
    value = DEFAULT_UID_MIN
    for line in data[:_MAX_LOGIN_DEFS_BYTES].decode("utf-8", "replace").splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "UID_MIN" and words[1].isdigit():
            value = int(words[1])
    return value


class UserProblems:
    """Resolves owners and groups like ``resolve_uid``/``resolve_gid`` but, instead of failing the host, records
    a problem for the folder the field belongs to (a desktop user missing on one host fails only their folders)."""

    def __init__(self):
        self.by_field = {}

    def _resolve(self, resolver, value, field):
        try:
            return resolver(value, field)
        except SyncError as exc:
            self.by_field[field] = str(exc)
            return None

    def uid(self, value, field):
        return self._resolve(resolve_uid, value, field)

    def gid(self, value, field):
        return self._resolve(resolve_gid, value, field)

    def of(self, field_prefix):
        return [problem for field, problem in self.by_field.items() if field.startswith(field_prefix)]


def user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_name(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def drop_privileges(uid):
    """Become ``uid`` for good (its primary and supplementary groups); raises OSError/RuntimeError if not possible."""
    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        raise RuntimeError("uid %d has no user entry; cannot work as it" % uid) from None
    gid = entry.pw_gid
    os.setgroups(os.getgrouplist(entry.pw_name, gid))
    if hasattr(os, "setresuid"):
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        stuck = os.getresuid() == (uid, uid, uid) and os.getresgid() == (gid, gid, gid)
    else:  # macOS: setuid() as root sets the real, effective and saved ids alike
        os.setgid(gid)
        os.setuid(uid)
        stuck = (os.getuid(), os.geteuid(), os.getgid(), os.getegid()) == (uid, uid, gid, gid)
    if not stuck:
        raise RuntimeError("privilege drop to uid %d did not stick" % uid)
    try:
        os.setuid(ROOT)
    except PermissionError:
        pass
    else:
        raise RuntimeError("after dropping to uid %d root could be regained" % uid)
    os.umask(0o077)
    os.chdir("/")


# ---------------------------------------------------------------------------------------------
# walking without following
# ---------------------------------------------------------------------------------------------


def identity(st):
    """What an entry must still be at apply time (JSON-able): inode, type and mode, owner, links, size, mtime and
    ctime (a user can set mtime back with utime(), never ctime)."""
    return [
        st.st_dev,
        st.st_ino,
        st.st_mode,
        st.st_uid,
        st.st_gid,
        st.st_nlink,
        st.st_size,
        st.st_mtime_ns,
        st.st_ctime_ns,
    ]


def _components(path):
    return [part for part in path.split("/") if part]


def open_tree(path):
    """Open folder ``path`` from ``/`` down, one component at a time, never following a link a user could plant.

    Returns ``(fd, anchor_uid, missing)``: ``fd`` is the folder (``missing`` empty) or its deepest existing
    ancestor (``missing``: the folders to create, outermost first); ``anchor_uid`` is the owner of the first
    component not owned by root (None: root all the way). A symbolic link is followed only while every component
    so far, and the link itself, belong to root (a system layout such as ``/home -> /data/home``). Raises Refused.
    """
    fd = os.open("/", os.O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    anchor = None
    parts = _components(path)
    try:
        for index, part in enumerate(parts):
            here = "/" + "/".join(parts[: index + 1])
            try:
                next_fd = os.open(part, DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                missing = ["/" + "/".join(parts[: j + 1]) for j in range(index, len(parts))]
                return fd, anchor, missing
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    raise Refused("%s cannot be opened: %s" % (here, exc.strerror or exc)) from None
                try:
                    st = os.stat(part, dir_fd=fd, follow_symlinks=False)
                except OSError as inner:
                    raise Refused("%s cannot be read: %s" % (here, inner.strerror or inner)) from None
                if not stat.S_ISLNK(st.st_mode):
                    raise Refused("%s exists but is not a folder" % here) from None
                if anchor is not None or st.st_uid != ROOT:
                    raise Refused("%s is a symbolic link (not followed)" % here) from None
                try:
                    next_fd = os.open(part, os.O_RDONLY | O_DIRECTORY | O_CLOEXEC, dir_fd=fd)
                except OSError as inner:
                    raise Refused(
                        "%s is a symbolic link that does not lead to a folder: %s" % (here, inner.strerror)
                    ) from None
            os.close(fd)
            fd = next_fd
            if anchor is None:
                st = os.fstat(fd)
                if st.st_uid != ROOT:
                    anchor = st.st_uid
        return fd, anchor, []
    except BaseException:
        os.close(fd)
        raise


def tree_owner(path):
    """(anchor uid or None, detail or None) of a managed folder, as root sees it; never follows a user's link."""
    try:
        fd, anchor, _missing = open_tree(path)
    except Refused as exc:
        return None, str(exc)
    os.close(fd)
    return anchor, None


def _read_fd(fd, limit):
    chunks = []
    remaining = limit + 1
    while remaining > 0:
        chunk = os.read(fd, min(65536, remaining))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def observe_entry(dir_fd, name, read=True):
    """EntryObservation of ``name`` in the folder ``dir_fd`` (see docs/design.md)."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return absent_entry()
    except OSError as exc:
        return {"type": "other", "data": None, "problem": "cannot be read: %s" % exc.strerror, "nlink": 1}
    entry = {
        "data": None,
        "sha256": None,
        "problem": None,
        "uid": st.st_uid,
        "gid": st.st_gid,
        "owner": user_name(st.st_uid),
        "group": group_name(st.st_gid),
        "mode": stat.S_IMODE(st.st_mode),
        "nlink": st.st_nlink,
        "identity": identity(st),
    }
    if stat.S_ISLNK(st.st_mode):
        entry["type"] = "symlink"
        return entry
    if stat.S_ISDIR(st.st_mode):
        entry["type"] = "directory"
        return entry
    if not stat.S_ISREG(st.st_mode):
        entry.update(type="other", problem="is not a regular file")
        return entry
    entry["type"] = "file"
    if st.st_nlink > 1:
        entry["problem"] = "has %d hard links (not read)" % st.st_nlink
        return entry
    if st.st_size > MAX_DOCUMENT_BYTES:
        entry["problem"] = "is larger than %d KiB" % (MAX_DOCUMENT_BYTES // 1024)
        return entry
    if not read:
        return entry
    try:
        fd = os.open(name, READ_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        entry["problem"] = "cannot be read: %s" % (exc.strerror or exc)
        return entry
    try:
        opened = os.fstat(fd)
        if identity(opened) != entry["identity"]:
            entry["problem"] = "changed while it was read"
            return entry
        data = _read_fd(fd, MAX_DOCUMENT_BYTES)
    finally:
        os.close(fd)
    if len(data) > MAX_DOCUMENT_BYTES:
        entry["problem"] = "is larger than %d KiB" % (MAX_DOCUMENT_BYTES // 1024)
        return entry
    entry["data"] = data
    return entry


def _open_backups(dir_fd, create=False):
    """(fd or None, problem or None) of ``.tabops-backups``: a real folder owned like its managed folder, or refused."""
    owner = os.fstat(dir_fd)
    try:
        fd = os.open(BACKUP_DIR_NAME, DIR_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        if not create:
            return None, None
        os.mkdir(BACKUP_DIR_NAME, BACKUP_DIR_MODE, dir_fd=dir_fd)
        fd = os.open(BACKUP_DIR_NAME, DIR_FLAGS, dir_fd=dir_fd)
        try:
            if os.fstat(fd).st_uid != owner.st_uid or os.fstat(fd).st_gid != owner.st_gid:
                os.fchown(fd, owner.st_uid, owner.st_gid)
            os.fchmod(fd, BACKUP_DIR_MODE)
        except BaseException:
            os.close(fd)
            raise
        return fd, None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            try:
                st = os.stat(BACKUP_DIR_NAME, dir_fd=dir_fd, follow_symlinks=False)
            except OSError:
                return None, "changed while it was opened"
            if stat.S_ISLNK(st.st_mode):
                return None, "is a symbolic link (not followed)"
            return None, "is not a folder"
        return None, "cannot be opened: %s" % (exc.strerror or exc)
    st = os.fstat(fd)
    if st.st_uid != owner.st_uid:
        os.close(fd)
        return None, "is owned by %s, not by %s like its folder" % (user_name(st.st_uid), user_name(owner.st_uid))
    return fd, None


def _observe_manifest(dir_fd, listing, path):
    """(manifest observation or None, its files): the names it lists are observed too. Parsed here, in the
    folder's worker (what the planner gets is the digest of it, see _digest)."""
    if MANIFEST_NAME not in listing:
        return None, {}
    entry = observe_entry(dir_fd, MANIFEST_NAME)
    if entry["type"] != "file":
        return {"problem": "is a %s, not a regular file" % entry["type"]}, {}
    if entry["problem"]:
        return {"problem": entry["problem"]}, {}
    manifest = {"data": entry["data"], "identity": entry["identity"], "mode": entry["mode"]}
    try:
        return manifest, parse_manifest(entry["data"], posixpath.join(path, MANIFEST_NAME))
    except SyncError:
        return manifest, {}


def _observe_odd_names(dir_fd, names, suffix, room, budget):
    """({escaped name: EntryObservation}, None) of the files of the folder's kind whose names are not plain text,
    or ({}, "entries" | "bytes") past ``room`` entries or ``budget`` bytes. Read by their real name, known by an
    escaped one: only ever reported (unmanaged), never written, moved or removed."""
    found = {}
    for name in names:
        if name.startswith(".") or not name.lower().endswith(suffix):
            continue
        if len(found) >= room:
            return {}, "entries"
        entry = observe_entry(dir_fd, name)
        budget -= len(entry.get("data") or b"")
        if budget < 0:
            return {}, "bytes"
        found[escape_name(name)] = entry
    return found, None


def _too_much_content(path):
    return "%s: its files hold more than %d MiB; not read (remove what does not belong there)" % (
        path,
        MAX_FOLDER_READ_BYTES >> 20,
    )


def _plain_names(listing):
    """The names of a listing the sync may use: valid UTF-8 without control characters. Any other name (bytes that
    are not UTF-8, a newline, an escape sequence) is never a managed file, a backup or a temp file of this
    collection: it is left alone, like any unmanaged file, and never reaches a result or a terminal."""
    return [name for name in listing if plain_name(name)]


def _too_many_entries(path):
    return "%s holds more than %d candidate files, temp files and backups; not read (remove what does not belong)" % (
        path,
        MAX_FOLDER_ENTRIES,
    )


def _observe_journals(backups_fd, names, rollback_run_id):
    """(journals, backup data): every run journal in ``.tabops-backups``, and for a rollback the backups the journal
    of ``rollback_run_id`` names (read like any document: no link followed, size bounded)."""
    journals, backup_data = {}, {}
    budget = MAX_JOURNALS_READ_BYTES
    for name in names:
        if journal_run_id(name) is None:
            continue
        if budget <= 0:
            journals[name] = {
                "problem": "not read: the folder's journals hold more than %d MiB" % (MAX_JOURNALS_READ_BYTES >> 20)
            }
            continue
        entry = observe_entry(backups_fd, name, read=False)
        if entry["type"] != "file" or entry["problem"]:
            journals[name] = {"problem": entry["problem"] or "is a %s, not a regular file" % entry["type"]}
            continue
        try:
            fd = os.open(name, READ_FLAGS, dir_fd=backups_fd)
            try:
                opened = os.fstat(fd)
                # The entry observed, still one regular file with one link (not swapped for another file).
                if identity(opened) != entry["identity"] or opened.st_nlink != 1 or not stat.S_ISREG(opened.st_mode):
                    journals[name] = {"problem": "changed while it was read"}
                    continue
                data = _read_fd(fd, MAX_JOURNAL_BYTES)
            finally:
                os.close(fd)
        except OSError as exc:
            journals[name] = {"problem": "cannot be read: %s" % (exc.strerror or exc)}
            continue
        if len(data) > MAX_JOURNAL_BYTES:
            journals[name] = {"problem": "is larger than %d KiB" % (MAX_JOURNAL_BYTES >> 10)}
            continue
        budget -= len(data)
        journals[name] = {"data": data, "identity": entry["identity"]}
    target = journals.get(journal_name(rollback_run_id)) if rollback_run_id else None
    if target and target.get("data") is not None:
        try:
            journal = parse_journal(target["data"], journal_name(rollback_run_id), rollback_run_id)
        except SyncError:
            journal = {"files": {}}
        for record in journal["files"].values():
            backup = record["before"].get("backup")
            if backup and backup in names and backup not in backup_data:
                entry = observe_entry(backups_fd, backup, read=budget > 0)
                if entry["type"] == "file" and entry["data"] is not None:
                    budget -= len(entry["data"])
                    backup_data[backup] = entry["data"]
    return journals, backup_data


def _present_observation(st):
    """An empty FolderObservation of a folder that exists (``st``: its fstat)."""
    return {
        "state": "present",
        "detail": "",
        "missing": [],
        "uid": st.st_uid,
        "gid": st.st_gid,
        "identity": [st.st_dev, st.st_ino],
        "backups": [],
        "backups_problem": None,
        "temp_files": [],
        "entries": {},
        "odd_entries": {},
        "manifest": None,
    }


def observe_folder(directory, desired_names, rollback_run_id=None):
    """FolderObservation of one managed folder (see docs/design.md)."""
    path = directory["path"]
    try:
        fd, _anchor, missing = open_tree(path)
    except Refused as exc:
        return {"state": "refused", "detail": str(exc)}
    try:
        if missing:
            return {
                "state": "absent",
                "missing": missing,
                "manifest": None,
                "entries": {},
                "backups": [],
                "temp_files": [],
            }
        observation = _present_observation(os.fstat(fd))
        try:
            raw_listing = os.listdir(fd)
            listing = _plain_names(raw_listing)
        except OSError as exc:
            return {"state": "refused", "detail": "%s cannot be listed: %s" % (path, exc.strerror)}
        observation["temp_files"] = sorted(name for name in listing if name.startswith(TEMP_PREFIX))
        manifest, manifest_files = _observe_manifest(fd, listing, path)
        observation["manifest"] = manifest
        names = observed_names(desired_names, manifest_files, listing, directory["kind"])
        too_many = {"state": "refused", "detail": _too_many_entries(path)}
        if len(names) + len(observation["temp_files"]) > MAX_FOLDER_ENTRIES:
            return too_many
        read_bytes = len(manifest.get("data") or b"") if manifest else 0
        for name in names:
            entry = observe_entry(fd, name)
            read_bytes += len(entry.get("data") or b"")
            if read_bytes > MAX_FOLDER_READ_BYTES:
                return {"state": "refused", "detail": _too_much_content(path)}
            observation["entries"][name] = entry
        odd, problem = _observe_odd_names(
            fd,
            sorted(set(raw_listing) - set(listing)),
            KIND_SUFFIX[directory["kind"]],
            MAX_FOLDER_ENTRIES - len(names),
            MAX_FOLDER_READ_BYTES - read_bytes,
        )
        if problem:
            return too_many if problem == "entries" else {"state": "refused", "detail": _too_much_content(path)}
        observation["odd_entries"] = odd
        backups_fd, problem = _open_backups(fd)
        observation["backups_problem"] = problem
        if backups_fd is not None:
            try:
                for name in sorted(_plain_names(os.listdir(backups_fd))):
                    if name.startswith(TEMP_PREFIX):
                        observation["temp_files"].append(posixpath.join(BACKUP_DIR_NAME, name))
                    else:
                        observation["backups"].append(name)
                if len(observation["backups"]) <= MAX_FOLDER_ENTRIES:
                    observation["journals"], observation["backup_data"] = _observe_journals(
                        backups_fd, observation["backups"], rollback_run_id
                    )
            finally:
                os.close(backups_fd)
        if len(names) + len(observation["temp_files"]) + len(observation["backups"]) > MAX_FOLDER_ENTRIES:
            return too_many
        return observation
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# operations
# ---------------------------------------------------------------------------------------------


def _check_same(dir_fd, name, expect):
    """Raise Changed unless ``name`` is still the observed entry (``expect`` None: still absent)."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        if expect is None:
            return None
        raise Changed("was removed since it was read; left for the next run") from None
    if expect is None:
        raise Changed("appeared since the folder was read; left for the next run")
    if identity(st) != list(expect):
        raise Changed("changed since it was read (inode, type, owner or size); left for the next run")
    return st


def _temp_name():
    return TEMP_PREFIX + binascii.hexlify(os.urandom(8)).decode("ascii")


def _write_new(dir_fd, data_or_copy, mode, uid, gid):
    """Write a fresh temp file in ``dir_fd``; returns its name. ``data_or_copy``: bytes or a readable fd."""
    name = _temp_name()
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600, dir_fd=dir_fd)
    try:
        try:
            if isinstance(data_or_copy, int):
                while True:
                    chunk = os.read(data_or_copy, 65536)
                    if not chunk:
                        break
                    _write_all(fd, chunk)
            else:
                _write_all(fd, data_or_copy)
            if uid is not None or gid is not None:
                os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        _unlink_quietly(dir_fd, name)
        raise
    return name


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _unlink_quietly(dir_fd, name):
    with contextlib.suppress(OSError):
        os.unlink(name, dir_fd=dir_fd)


def _write(dir_fd, name, data, mode, uid, gid, expect):
    temp = _write_new(dir_fd, data, mode, uid, gid)
    try:
        _check_same(dir_fd, name, expect)
        # rename replaces the directory entry: it never follows what the entry is (a symlink is replaced).
        os.rename(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        _unlink_quietly(dir_fd, temp)
        raise
    os.fsync(dir_fd)


def _attributes(dir_fd, name, mode, uid, gid, expect):
    _check_same(dir_fd, name, expect)
    fd = os.open(name, READ_FLAGS, dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        if identity(st) != list(expect) or not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            raise Changed("changed since it was read; left for the next run")
        if uid is not None or gid is not None:
            os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _backup(dir_fd, name, target, expect):
    st = _check_same(dir_fd, name, expect)
    backups_fd, problem = _open_backups(dir_fd, create=True)
    if problem:
        raise Refused("%s %s; not replaced (nothing may be lost)" % (BACKUP_DIR_NAME, problem))
    try:
        try:
            os.stat(target, dir_fd=backups_fd, follow_symlinks=False)
            raise Changed("backup %s already exists; left for the next run" % target)
        except FileNotFoundError:
            pass
        if stat.S_ISLNK(st.st_mode):
            # Keep the link itself, never what it points to.
            link = os.readlink(name, dir_fd=dir_fd)
            temp = _temp_name()
            os.symlink(link, temp, dir_fd=backups_fd)
        else:
            fd = os.open(name, READ_FLAGS, dir_fd=dir_fd)
            try:
                opened = os.fstat(fd)
                if identity(opened) != list(expect) or opened.st_nlink != 1:
                    raise Changed("changed since it was read; left for the next run")
                temp = _write_new(backups_fd, fd, stat.S_IMODE(opened.st_mode), opened.st_uid, opened.st_gid)
            finally:
                os.close(fd)
        try:
            os.rename(temp, target, src_dir_fd=backups_fd, dst_dir_fd=backups_fd)
        except BaseException:
            _unlink_quietly(backups_fd, temp)
            raise
        os.fsync(backups_fd)
    finally:
        os.close(backups_fd)


def _remove(dir_fd, name, expect):
    st = (
        _check_same(dir_fd, name, expect) if expect is not None else os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    )
    if stat.S_ISDIR(st.st_mode):
        raise Refused("is a folder; not removed")
    os.unlink(name, dir_fd=dir_fd)
    os.fsync(dir_fd)


def _mkdir(path, mode, uid, gid):
    parent_fd, _anchor, missing = open_tree(posixpath.dirname(path))
    try:
        if missing:
            raise Refused("parent %s does not exist" % missing[0])
        name = posixpath.basename(path)
        try:
            os.mkdir(name, 0o700, dir_fd=parent_fd)
        except FileExistsError:
            # A parent shared with another managed folder, created a moment ago in this run.
            fd = os.open(name, DIR_FLAGS, dir_fd=parent_fd)
            os.close(fd)
            return
        fd = os.open(name, DIR_FLAGS, dir_fd=parent_fd)
        try:
            if uid is not None or gid is not None:
                os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
            # mkdir applies the umask; the declared mode wins.
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        os.fsync(parent_fd)
    finally:
        os.close(parent_fd)


def _os_message(exc):
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


class PosixFolderIO:
    """One folder's operations on POSIX (FolderIO of _engine): every change relative to the folder's descriptor,
    each entry re-checked against its observed identity right before it changes."""

    errors = (OSError, Refused, Changed)

    def __init__(self, folder_path, expected_identity):
        self.path = folder_path
        self.expected_identity = expected_identity
        self.dir_fd = None

    def open(self):
        try:
            self.dir_fd, _anchor, missing = open_tree(self.path)
            st = os.fstat(self.folder_fd())
        except Refused as exc:
            return "managed folder %s refused: %s" % (self.path, exc)
        except OSError as exc:  # the folder fails as a whole: no change without its descriptor
            return "managed folder %s cannot be opened: %s" % (self.path, _os_message(exc))
        if missing or (self.expected_identity and [st.st_dev, st.st_ino] != list(self.expected_identity)):
            return "managed folder %s changed since it was read; left for the next run" % self.path
        return None

    def folder_fd(self):
        """The folder's descriptor; never None, which would make every call relative to the working directory."""
        if self.dir_fd is None:
            raise Refused("managed folder %s is not open; nothing changed there" % self.path)
        return self.dir_fd

    def close(self):
        if self.dir_fd is not None:
            os.close(self.dir_fd)
            self.dir_fd = None

    def failure(self, operation, exc):
        kind, where = operation["op"], operation.get("to") or operation["path"]
        if kind == "mkdir":
            return OperationFailure("cannot create folder %s: %s" % (where, _os_message(exc)), True, False)
        if kind == "journal":
            # Before any file of the folder changes: no journal, no change (the run's way back).
            message = "run journal %s not written (%s); nothing changed in %s" % (where, _os_message(exc), self.path)
            return OperationFailure(message, True, False)
        return OperationFailure("%s: %s %s" % (where, kind, _os_message(exc)))

    def mkdir(self, operation, later):
        _mkdir(operation["path"], operation["mode"], operation["uid"], operation["gid"])
        return True

    def write(self, op):
        _write(
            self.folder_fd(), posixpath.basename(op["path"]), op["data"], op["mode"], op["uid"], op["gid"], op["expect"]
        )
        return True

    def attributes(self, op):
        _attributes(self.folder_fd(), posixpath.basename(op["path"]), op["mode"], op["uid"], op["gid"], op["expect"])
        return True

    def backup(self, op):
        _backup(self.folder_fd(), posixpath.basename(op["path"]), posixpath.basename(op["to"]), op["expect"])
        return True

    def remove(self, op):
        _remove(self.folder_fd(), posixpath.basename(op["path"]), op["expect"])
        return True

    def remove_backup(self, op):
        relative = op["path"][len(self.path) + 1 :]
        if "/" not in relative:
            _remove(self.folder_fd(), relative, None)
            return True
        backups_fd, problem = _open_backups(self.folder_fd())
        if backups_fd is None:
            raise Refused("%s %s" % (BACKUP_DIR_NAME, problem or "is gone"))
        try:
            _remove(backups_fd, posixpath.basename(relative), None)
        finally:
            os.close(backups_fd)
        return True

    remove_temp = remove_backup

    def journal(self, op):
        backups_fd, problem = _open_backups(self.folder_fd(), create=True)
        if problem:
            raise Refused("%s %s" % (BACKUP_DIR_NAME, problem))
        try:
            st = os.fstat(backups_fd)
            _write(
                backups_fd, posixpath.basename(op["path"]), op["data"], op["mode"], st.st_uid, st.st_gid, op["expect"]
            )
        finally:
            os.close(backups_fd)
        return True

    def manifest(self, op, data):
        st = os.fstat(self.folder_fd())
        _write(self.folder_fd(), MANIFEST_NAME, data, op["mode"], st.st_uid, st.st_gid, op["expect"])
        return True


def sync_folder(folder_path, operations, expected_identity):
    """Perform one folder's operations in order. Returns {"done": [index], "errors": [...], "error": str|None}."""
    return perform_operations(operations, PosixFolderIO(folder_path, expected_identity), posixpath)


# ---------------------------------------------------------------------------------------------
# workers: root in-process, each desktop user in a child that dropped to that user
# ---------------------------------------------------------------------------------------------


# Child -> parent encoding: every string value is tagged, so nothing a user writes (a file name, a manifest key)
# can pass for bytes. "s:" + text is a string, "b:" + base64 is bytes; dict keys are always plain strings.
def _encode(value):
    if isinstance(value, bytes):
        return "b:" + base64.b64encode(value).decode("ascii")
    if isinstance(value, str):
        return "s:" + value
    if isinstance(value, dict):
        return {str(key): _encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(item) for item in value]
    return value


def _decode(value):
    if isinstance(value, str):
        if value.startswith("s:"):
            return value[2:]
        if value.startswith("b:"):
            return base64.b64decode(value[2:], validate=True)
        raise ValueError("untagged string in a worker's answer")
    if isinstance(value, dict):
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def _not_dumpable():
    """Best effort, Linux: the child's memory (the documents it carries) stays out of reach of the user it now
    runs as (no ptrace, no /proc/PID/mem or environ), even where fs.suid_dumpable is not 0."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        # Dies with the root parent: a worker never outlives the run that started it.
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (ImportError, OSError, AttributeError):
        pass


def _read_answer(read_fd, deadline, max_bytes, who):
    """The child's whole answer within ``deadline`` (monotonic) and ``max_bytes``; RuntimeError otherwise."""
    chunks = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RuntimeError("the worker for user %s did not answer within %ds; killed" % (who[0], who[1]))
        ready, _w, _x = select.select([read_fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(read_fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise RuntimeError("the worker for user %s answered more than %d MiB; killed" % (who[0], max_bytes >> 20))
        chunks.append(chunk)


def _reap(pid, deadline):
    """Wait status of child ``pid``; SIGKILLed once ``deadline`` (monotonic) has passed (a stopped child too)."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() >= deadline:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            return os.waitpid(pid, 0)[1]
        time.sleep(0.005)


def run_as(uid, function, *args, timeout=WORKER_TIMEOUT, max_bytes=MAX_WORKER_ANSWER_BYTES):
    """``function(*args)`` in a forked child running as ``uid`` (None: in this process); its JSON-able result.

    The user owns the child once it dropped privileges (it can stop or kill it): the answer must come within
    ``timeout`` seconds and ``max_bytes``, else the child is SIGKILLed. Raises RuntimeError when the child cannot
    drop privileges, dies, runs late or answers too much or something that does not decode.
    """
    if uid is None or os.geteuid() != ROOT or uid == os.geteuid():
        return function(*args)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, reported through the pipe
        status = 0
        # Short-lived, bounded work: no cyclic garbage collection, which would walk (and so copy, page by page)
        # the whole heap inherited from the parent.
        gc.disable()
        try:
            os.close(read_fd)
            for fd in list(_HELD_LOCK_FDS):
                with contextlib.suppress(OSError):
                    os.close(fd)
            try:
                drop_privileges(uid)
                # After the drop: changing credentials resets both flags.
                _not_dumpable()
                payload = {"result": function(*args)}
            except Exception as exc:  # report every failure to the parent, whatever it is
                payload = {"error": "%s: %s" % (exc.__class__.__name__, exc)}
            _write_all(write_fd, json.dumps(_encode(payload)).encode("utf-8"))
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write_fd)
    who = user_name(uid)
    deadline = time.monotonic() + max(timeout, 0)
    try:
        try:
            data = _read_answer(read_fd, deadline, max_bytes, (who, timeout))
        finally:
            os.close(read_fd)
    except BaseException:
        _reap(pid, 0)
        raise
    status = _reap(pid, deadline)
    try:
        payload = _decode(json.loads(data.decode("utf-8")))
        if not isinstance(payload, dict) or not ("error" in payload or "result" in payload):
            raise ValueError("no result")
    except (ValueError, TypeError, binascii.Error, RecursionError):
        raise RuntimeError("the worker for user %s died (wait status %d)" % (who, status)) from None
    if "error" in payload:
        raise RuntimeError("the worker for user %s failed: %s" % (who, payload["error"]))
    return payload["result"]


def worker_for(directory):
    """(uid to work as or None for root, refusal or None) of a managed folder.

    Desktop folders in a user's tree are that user's, whatever is declared; a declaration naming someone else is
    refused. Tableau Server folders (application server) stay with root: they hold the service account's files.
    """
    if os.geteuid() != ROOT:
        return None, None
    anchor, detail = tree_owner(directory["path"])
    if detail:
        return None, detail
    declared = directory.get("uid")
    if directory["application"] == "server" or anchor is None:
        return None, None
    if declared is not None and declared != anchor:
        return None, "is inside a tree owned by %s but declared owner %s; refusing (fix owner or path)" % (
            user_name(anchor),
            user_name(declared),
        )
    return anchor, None


def _checked(observation, failure):
    """A worker's FolderObservation if it fits the schema (_digest.check_observation), else a refusal naming why.
    Only the folders this parent asked about are taken."""
    if not isinstance(observation, dict):
        return {"state": "refused", "detail": failure}
    try:
        return check_observation(observation)
    except SchemaError as exc:
        return {"state": "refused", "detail": "the worker's answer for this folder was refused: %s" % exc}


def _failure_text(exc):
    if isinstance(exc, (RuntimeError, OSError)):
        return str(exc)
    return "%s: %s" % (exc.__class__.__name__, exc)


def observe_and_digest(directory, desired, rollback_run_id=None):
    """What a folder's worker hands back: the folder observed, then digested (parsed, compared, masked: _digest).
    Whatever its content does, the answer is a FolderObservation (a refusal naming the problem at worst)."""
    mine = [item for item in desired if item["dir"] == directory["path"]]
    try:
        observation = observe_folder(directory, [item["name"] for item in mine], rollback_run_id)
        return digest_observation(observation, mine, rollback_run_id, directory["path"])
    except (Exception, RecursionError) as exc:  # this folder's content fails this folder only
        return {"state": "refused", "detail": "%s could not be read: %s" % (directory["path"], _failure_text(exc))}


def _observe_many(dirs, desired, rollback_run_id=None):
    return {d["path"]: observe_and_digest(d, desired, rollback_run_id) for d in dirs}


def _sync_many(jobs):
    return {path: sync_folder(path, operations, expected) for path, operations, expected in jobs}


class PosixTransport:
    """The POSIX transport of the sync engine (_engine): each folder observed and written by the worker of the user
    that owns its tree (root's own folders in this process), every answer checked before root takes it."""

    paths = posixpath
    # Every operation is re-checked by identity in the worker, on the fd it then changes.
    remove_only_recorded = False

    def __init__(
        self,
        worker_timeout=WORKER_TIMEOUT,
        run_log_dir=None,
        backup_keep=DEFAULT_BACKUP_KEEP,
        run_timeout=DEFAULT_RUN_TIMEOUT,
        allow_system_users=False,
    ):
        if isinstance(run_timeout, bool) or not isinstance(run_timeout, int) or run_timeout <= 0:
            raise SyncError("run_timeout: %r must be a positive number of seconds" % (run_timeout,))
        self.run_timeout = run_timeout
        self.deadline = time.monotonic() + run_timeout
        self.worker_timeout = worker_timeout
        self.allow_system_users = allow_system_users
        default_log = DARWIN_RUN_LOG_DIR if sys.platform == "darwin" else DEFAULT_RUN_LOG_DIR
        try:
            self.run_log = RunLog(run_log_dir or default_log, keep=max(backup_keep, 1))
        except RootJournalError as exc:
            raise SyncError("run_log_dir: %s" % exc) from None
        self.users = UserProblems()
        self.resolve_user, self.resolve_group = self.users.uid, self.users.gid
        self.desired, self.dirs, self.refusals = [], [], {}
        self.workers = {}

    def accept(self, desired, dirs):
        self.desired, self.dirs = desired, dirs
        self.refusals = self._user_refusals()

    def _user_refusals(self):
        """{folder path: why} for the folders whose owner (or a file's) does not exist here, or is root or a system
        account where a desktop user belongs: only those folders fail."""
        refusals = {}
        lowest = None if self.allow_system_users else uid_min()
        for index, directory in enumerate(self.dirs):
            problems = self.users.of("folders[%d]." % index)
            problems += [
                problem
                for item in self.desired
                if item["dir"] == directory["path"]
                for problem in self.users.of("files[%d]." % item["index"])
            ]
            uid = directory["uid"]
            desktop = directory["application"] in DESKTOP_APPLICATIONS
            if lowest is not None and desktop and uid is not None and (uid == ROOT or uid < lowest):
                problems.append(
                    "owner %s (uid %d) is root or a system account (below UID_MIN %d): a %s folder belongs to a "
                    "desktop user (allow_system_users, tabops_allow_system_desktop_users, to allow it)"
                    % (directory["owner"] or uid, uid, lowest, directory["application"])
                )
            if problems:
                refusals[directory["path"]] = "; ".join(problems)
        return refusals

    def remaining(self):
        """Seconds left before the run's deadline (run_timeout)."""
        return self.deadline - time.monotonic()

    def _worker_timeout(self):
        return min(self.worker_timeout, max(self.remaining(), 0))

    def _deadline_text(self, what):
        return "%s: the run's deadline (run_timeout %ds) passed first; left for the next run" % (
            what,
            self.run_timeout,
        )

    def _batches(self):
        """(uid, folders) in the order of work: one worker per user; root's own folders one by one (what the
        deadline interrupts in this process then fails that folder only)."""
        groups = {}
        for directory in self.dirs:
            groups.setdefault(self.workers[directory["path"]][0], []).append(directory)
        for uid, dirs in groups.items():
            if uid is None:
                for directory in dirs:
                    yield uid, [directory]
            else:
                yield uid, dirs

    def observe(self, dirs, desired, rollback_run_id):
        """Observe every managed folder, each as the user that owns it."""
        observations = {}
        for directory in dirs:
            refusal = self.refusals.get(directory["path"])
            self.workers[directory["path"]] = (None, refusal) if refusal else worker_for(directory)
            refusal = self.workers[directory["path"]][1]
            if refusal:
                observations[directory["path"]] = {"state": "refused", "detail": refusal}
        for uid, batch in self._batches():
            batch = [d for d in batch if d["path"] not in observations]
            if batch:
                observations.update(self._observe_batch(uid, batch, desired, rollback_run_id))
        return observations

    def _observe_batch(self, uid, dirs, desired, rollback_run_id):
        if self.remaining() <= 0:
            return {d["path"]: {"state": "refused", "detail": self._deadline_text("not read")} for d in dirs}
        answer, failure = {}, "the worker gave no usable answer for this folder"
        try:
            answer = run_as(
                uid,
                _observe_many,
                dirs,
                desired,
                rollback_run_id,
                timeout=self._worker_timeout(),
                max_bytes=len(dirs) * _MAX_FOLDER_ANSWER_BYTES,
            )
        except Exception as exc:  # whatever goes wrong in one user's child fails that user's folders only
            failure = _failure_text(exc)
        answer = answer if isinstance(answer, dict) else {}
        return {d["path"]: _checked(answer.get(d["path"]), failure) for d in dirs}

    def read_journals(self, path, observation):
        """The workers read every folder's journals with the folder (bounded, as its owner)."""

    def trusted_runs(self):
        if os.geteuid() != ROOT:
            return []  # not root: nobody's log to trust
        try:
            return self.run_log.runs()
        except RootJournalError as exc:
            raise SyncError(str(exc)) from None

    def record_run(self, run_id, stamp, folders, check_mode):
        """The root-only run log records which folders get this run's journal (root writes it). In check mode only
        whether it could: a run log folder the real run would refuse fails the check run too."""
        if os.geteuid() != ROOT:
            return
        try:
            if check_mode:
                self.run_log.check()
            else:
                self.run_log.write(run_id, stamp, {"folders": folders})
        except (RootJournalError, OSError) as exc:
            raise SyncError(
                "run log %s not written (%s); nothing changed on this host" % (self.run_log.path, exc)
            ) from None

    def sync_folders(self, plan, observations):
        outcomes = {}
        by_path = {folder_plan["path"]: folder_plan for folder_plan in plan["folders"]}
        for uid, dirs in self._batches():
            jobs = [
                (d["path"], by_path[d["path"]]["operations"], observations[d["path"]].get("identity"))
                for d in dirs
                if by_path[d["path"]]["operations"]
            ]
            if uid is None:
                # A user's tree that does not exist yet (a home before the first login): root makes only its first
                # folder, owned by the user; that user's child does the rest.
                future = [job for job in jobs if self._future_owner(job[0], job[1]) is not None]
                outcomes.update({job[0]: self._sync_for_future_owner(job) for job in future})
                jobs = [job for job in jobs if job not in future]
            if jobs:
                outcomes.update(self._sync_jobs(uid, jobs))
        return outcomes

    def _sync_jobs(self, uid, jobs, offset=0):
        """{path: outcome} of ``jobs`` run as ``uid``; operation indexes shifted by ``offset``."""
        answer, failure = {}, "the worker gave no usable answer for this folder"
        if self.remaining() <= 0:
            return {job[0]: {"done": [], "errors": [], "error": self._deadline_text("nothing changed")} for job in jobs}
        try:
            answer = run_as(uid, _sync_many, jobs, timeout=self._worker_timeout())
        except Exception as exc:  # whatever goes wrong in one user's child fails that user's folders only
            failure = _failure_text(exc)
        outcomes = {}
        for path, operations, _expected in jobs:
            try:
                # The worker ran as the folder's owner: root takes its answer only after the schema check.
                outcome = check_sync_outcome(
                    (answer or {}).get(path) if isinstance(answer, dict) else None, len(operations)
                )
            except SchemaError as exc:
                outcome = {"done": [], "errors": [], "error": failure if answer == {} else "%s (%s)" % (failure, exc)}
            outcomes[path] = {
                "done": [index + offset for index in outcome["done"]],
                "errors": [dict(error, index=error["index"] + offset) for error in outcome["errors"]],
                "error": outcome["error"],
            }
        return outcomes

    def _future_owner(self, path, operations):
        """The declared non-root owner of a desktop folder in a tree still missing (root would do it all), else None."""
        directory = next(d for d in self.dirs if d["path"] == path)
        if directory["application"] == "server" or directory["uid"] in (None, ROOT) or os.geteuid() != ROOT:
            return None
        if not operations or operations[0]["op"] != "mkdir":
            return None
        return directory["uid"]

    def _sync_for_future_owner(self, job):
        path, operations, expected = job
        if self.remaining() <= 0:  # root's own mkdir below has no worker deadline: the run's deadline still holds
            return {"done": [], "errors": [], "error": self._deadline_text("nothing changed")}
        uid = self._future_owner(path, operations)
        first = operations[0]
        offset = 0
        parent_owner, detail = tree_owner(posixpath.dirname(first["path"]))
        if detail:
            return {"done": [], "errors": [], "error": "cannot create folder %s: %s" % (first["path"], detail)}
        if parent_owner is None:
            try:
                gid = first["gid"] if first["gid"] is not None else pwd.getpwuid(uid).pw_gid
            except KeyError:
                return {"done": [], "errors": [], "error": "uid %d has no user entry; cannot work as it" % uid}
            outcome = sync_folder(path, [dict(first, gid=gid)], None)
            if outcome["error"] or len(operations) == 1:
                return outcome
            offset = 1
        outcome = self._sync_jobs(uid, [(path, operations[offset:], expected)], offset)[path]
        if offset:
            outcome["done"].insert(0, 0)
        return outcome

    @contextlib.contextmanager
    def deadline_alarm(self):
        """Within it, root's own work (root-owned folders, done in this process) is interrupted with RunDeadline
        ``DEADLINE_GRACE_SECONDS`` after the run's deadline; the workers are killed at the deadline itself."""
        if not hasattr(signal, "setitimer"):
            yield
            return

        def interrupt(_signum, _frame):
            raise RunDeadline(self._deadline_text("interrupted"))

        previous = signal.signal(signal.SIGALRM, interrupt)
        signal.setitimer(signal.ITIMER_REAL, max(self.remaining() + DEADLINE_GRACE_SECONDS, 0.001))
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


class PosixSync(SyncEngine):
    """One POSIX host's sync: the sync engine over the POSIX transport (what the host module runs)."""

    def __init__(
        self,
        files,
        folders,
        tdc_conflicts="fail",
        backup=True,
        backup_keep=DEFAULT_BACKUP_KEEP,
        now=None,
        worker_timeout=WORKER_TIMEOUT,
        run_log_dir=None,
        run_timeout=DEFAULT_RUN_TIMEOUT,
        allow_system_users=False,
        **options,
    ):
        """``options``: the engine's (run_id, rollback_run_id, rollback_force, rollback_skip_runs, list_runs).
        ``run_log_dir``: the root-only run log that records every run's folders. ``run_timeout``: seconds from now
        after which no folder is started and every worker still running is killed (those folders fail, the others
        keep their results). ``allow_system_users``: desktop and Prep folders may belong to root or a uid below
        UID_MIN."""
        transport = PosixTransport(worker_timeout, run_log_dir, backup_keep, run_timeout, allow_system_users)
        super().__init__(transport, files, folders, tdc_conflicts, backup, backup_keep, now, **options)
        self.workers = transport.workers
        self.deadline_alarm = transport.deadline_alarm
        self.remaining = transport.remaining


# ---------------------------------------------------------------------------------------------
# per-host lock
# ---------------------------------------------------------------------------------------------


def lock_path():
    """A root-owned folder only root can write to when there is one, else the usual lock folders."""
    for folder in LOCK_DIRS:
        try:
            st = os.stat(folder)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or not os.access(folder, os.W_OK):
            continue
        if os.geteuid() == ROOT and (st.st_uid != ROOT or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
            # In a world-writable folder (/run/lock is 1777) a user could plant the lock file first.
            continue
        return posixpath.join(folder, LOCK_NAME)
    return posixpath.join(tempfile.gettempdir(), LOCK_NAME)


class HostLock:
    """An exclusive ``flock`` on a lock file (opened with O_NOFOLLOW, must be a regular file owned by us)."""

    def __init__(self, timeout=DEFAULT_LOCK_TIMEOUT, path=None):
        self.timeout = timeout
        self.path = path or lock_path()
        self.fd = None

    def _holder(self):
        try:
            os.lseek(self.fd, 0, os.SEEK_SET)
            text = os.read(self.fd, 64).decode("ascii", "replace").strip()
        except OSError:
            text = ""
        return text or "unknown"

    def acquire(self):
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, LOCK_MODE)
        except OSError as exc:
            raise SyncError("lock %s cannot be opened: %s" % (self.path, exc.strerror or exc)) from None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_nlink != 1:
            os.close(fd)
            raise SyncError(
                "lock %s is not a regular file of uid %d with one link; refusing to use it" % (self.path, os.geteuid())
            )
        try:
            # Only its owner may open it: whoever can open a file can flock it and stall every run on the host.
            os.fchmod(fd, LOCK_MODE)
        except OSError as exc:
            os.close(fd)
            raise SyncError("lock %s cannot be made private: %s" % (self.path, exc.strerror or exc)) from None
        self.fd = fd
        _HELD_LOCK_FDS.add(fd)
        deadline = time.monotonic() + max(self.timeout, 0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = self._holder()
                    _HELD_LOCK_FDS.discard(fd)
                    os.close(fd)
                    self.fd = None
                    raise SyncError(
                        "another tableau_files run (pid %s) holds the host lock %s; waited %ds (lock_timeout)"
                        % (holder, self.path, self.timeout)
                    ) from None
                select.select([], [], [], 0.1)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, ("%d\n" % os.getpid()).encode("ascii"))
        return self

    def release(self):
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, 0)
            _HELD_LOCK_FDS.discard(self.fd)
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()
