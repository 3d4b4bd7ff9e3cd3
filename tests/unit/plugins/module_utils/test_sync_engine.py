# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The sync engine (_sync/_engine.py) over its transport interface.

An in-memory transport (a dict of folders, I/O only) shows what the engine orchestrates on its own: rollout,
journal, re-run, rollback, check mode, the per-operation loop; the real transports (POSIX workers, ansible.windows)
run the same engine in test_artifacts*.py and test_windows*.py, and end to end in tests/integration.
"""

from __future__ import annotations

import ast
import datetime
import hashlib
import posixpath
import time
from pathlib import Path

import pytest
from test_sync_plan import oauth_xml

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync import _engine, _plan, _posix
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._engine import (
    DONE_WITH_NEXT,
    OperationFailure,
    SyncEngine,
    perform_operations,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils import _windows_sync

FOLDER = "/srv/tableau/OAuthConfigs"
NAME = "custom_redshift_okta.xml"
BACKUPS = posixpath.join(FOLDER, _plan.BACKUP_DIR_NAME)


def at(minute):
    return datetime.datetime(2026, 1, 2, 3, minute, tzinfo=datetime.timezone.utc)


class MemoryFolders:
    """Folders in a dict: {folder: {name: bytes}} plus {folder: {backup name: bytes}}; each file has an inode
    number that changes when it is replaced (the identity the engine's plan carries)."""

    def __init__(self):
        self.files, self.backups, self.inodes, self.next_inode = {}, {}, {}, 1

    def put(self, folder, name, data, backup=False):
        (self.backups if backup else self.files).setdefault(folder, {})[name] = data
        self.inodes[(folder, name, backup)] = self.next_inode
        self.next_inode += 1


class MemoryTransport:
    """Transport of the engine: observe, read, write, remove, mkdir on MemoryFolders; records every call."""

    paths = posixpath
    resolve_user = None
    resolve_group = None
    remove_only_recorded = False

    def __init__(self, disk):
        self.disk = disk
        self.calls = []

    def accept(self, desired, dirs):
        self.calls.append("accept")

    def _entry(self, folder, name):
        data = self.disk.files[folder][name]
        return {
            "type": "file",
            "data": data,
            "sha256": hashlib.sha256(data).hexdigest(),
            "problem": None,
            "uid": None,
            "gid": None,
            "owner": None,
            "group": None,
            "mode": 0o644,
            "nlink": 1,
            "identity": [self.disk.inodes[(folder, name, False)]],
        }

    def observe(self, dirs, desired, rollback_run_id):
        self.calls.append("observe")
        observations = {}
        for directory in dirs:
            folder = directory["path"]
            if folder not in self.disk.files:
                observations[folder] = {"state": "absent", "detail": "", "missing": [folder], "manifest": None}
                continue
            names = self.disk.files[folder]
            backups = self.disk.backups.get(folder, {})
            manifest = names.get(_plan.MANIFEST_NAME)
            observations[folder] = {
                "state": "present",
                "detail": "",
                "missing": [],
                "manifest": None if manifest is None else {"data": manifest},
                "backups": sorted(backups),
                "backups_problem": None,
                "temp_files": [],
                "entries": {name: self._entry(folder, name) for name in names if name != _plan.MANIFEST_NAME},
                "journals": {name: {"data": data, "identity": None} for name, data in backups.items() if "run" in name},
                "backup_data": dict(backups),
            }
        return observations

    def read_journals(self, path, observation):
        self.calls.append("read_journals")

    def trusted_runs(self):
        return []

    def record_run(self, run_id, stamp, folders, check_mode):
        self.calls.append(("record_run", run_id, tuple(folders), check_mode))

    def sync_folders(self, plan, observations):
        self.calls.append("sync_folders")
        return {
            folder_plan["path"]: perform_operations(folder_plan["operations"], MemoryFolderIO(self.disk), posixpath)
            for folder_plan in plan["folders"]
            if folder_plan["operations"]
        }


class MemoryFolderIO:
    errors = (KeyError, ValueError)

    def __init__(self, disk, fail=()):
        self.disk, self.fail, self.done = disk, set(fail), []

    def open(self):
        return None

    def close(self):
        pass

    def failure(self, operation, exc):
        return OperationFailure("%s: %s failed" % (operation["path"], operation["op"]))

    def _check(self, operation):
        self.done.append(operation["op"])
        if operation["op"] in self.fail:
            raise ValueError(operation["op"])

    def mkdir(self, operation, later):
        self._check(operation)
        self.disk.files.setdefault(operation["path"], {})
        return True

    def write(self, operation):
        self._check(operation)
        self.disk.put(FOLDER, posixpath.basename(operation["path"]), operation["data"])
        return True

    def backup(self, operation):
        self._check(operation)
        data = self.disk.files[FOLDER][posixpath.basename(operation["path"])]
        self.disk.put(FOLDER, posixpath.basename(operation["to"]), data, backup=True)
        return True

    def journal(self, operation):
        self._check(operation)
        self.disk.put(FOLDER, posixpath.basename(operation["path"]), operation["data"], backup=True)
        return True

    def remove(self, operation):
        self._check(operation)
        del self.disk.files[FOLDER][posixpath.basename(operation["path"])]
        return True

    def manifest(self, operation, data):
        self._check(operation)
        self.disk.put(FOLDER, _plan.MANIFEST_NAME, data)
        return True


def request(text):
    files = [{"path": posixpath.join(FOLDER, NAME), "content": text, "kind": "oauth_config", "mode": "0644"}]
    return files, [{"path": FOLDER, "kind": "oauth_config", "application": "server", "mode": "0755"}]


def engine(disk, text, minute=0, **options):
    files, dirs = request(text)
    return SyncEngine(MemoryTransport(disk), files, dirs, now=at(minute), **options)


def test_both_transports_are_the_one_engine():
    assert issubclass(_posix.PosixSync, SyncEngine)
    assert _windows_sync.SyncEngine is SyncEngine
    assert _posix.sync_folder.__globals__["perform_operations"] is perform_operations
    assert _windows_sync.Performer.perform_folder.__globals__["perform_operations"] is perform_operations


def test_rollout_then_rerun_then_rollback_through_the_transport_interface():
    disk = MemoryFolders()
    first = engine(disk, oauth_xml("first"), run_id="run-1")
    result = first.run()
    assert result["changed"] is True and result["folders"][0]["status"] == "changed"
    assert disk.files[FOLDER][NAME] == oauth_xml("first").encode()
    assert ("record_run", "run-1", (FOLDER,), False) in first.transport.calls
    assert first.transport.calls.index("observe") < first.transport.calls.index("sync_folders")

    assert engine(disk, oauth_xml("first"), 1).run()["changed"] is False

    second = engine(disk, oauth_xml("second"), 2, run_id="run-2")
    assert second.run()["changed"] is True
    assert "read_journals" in second.transport.calls  # a folder it changes: its journals name the backups to keep
    assert disk.files[FOLDER][NAME] == oauth_xml("second").encode()

    back = engine(disk, oauth_xml("ignored"), 3, rollback_run_id="run-2")
    result = back.run()
    assert result["rollback"]["restored"] == [posixpath.join(FOLDER, NAME)]
    assert disk.files[FOLDER][NAME] == oauth_xml("first").encode()
    assert [run["run_id"] for run in result["runs"]] == ["run-2", "run-1"]


def test_check_mode_predicts_and_performs_nothing():
    disk = MemoryFolders()
    check = engine(disk, oauth_xml(), run_id="run-1")
    predicted = check.run(check_mode=True, diff=True)
    assert "sync_folders" not in check.transport.calls and disk.files == {}
    assert ("record_run", "run-1", (FOLDER,), True) in check.transport.calls
    real = engine(disk, oauth_xml(), run_id="run-1").run()
    assert predicted["created_dirs"] == real["created_dirs"] == [FOLDER]
    assert predicted["journals"] == real["journals"] and predicted["diff"]


def test_list_runs_observes_and_plans_nothing():
    disk = MemoryFolders()
    engine(disk, oauth_xml(), run_id="run-1").run()
    lister = engine(disk, oauth_xml(), list_runs=True)
    assert [run["run_id"] for run in lister.list_runs()] == ["run-1"]
    assert lister.transport.calls == ["accept", "observe"] and lister.desired == []


def manifest_operations():
    files = {NAME: {"kind": "oauth_config", "artifact": "new", "sha256": "b" * 64}}
    previous = {NAME: {"kind": "oauth_config", "artifact": "old", "sha256": "a" * 64}}
    path = posixpath.join(FOLDER, NAME)
    return [
        {"op": "backup", "path": path, "to": posixpath.join(BACKUPS, NAME + ".1")},
        {"op": "write", "path": path, "data": b"<new/>"},
        {"op": "manifest", "path": posixpath.join(FOLDER, _plan.MANIFEST_NAME), "files": files, "previous": previous},
    ]


def test_a_failed_backup_leaves_its_file_and_the_manifest_keeps_its_previous_entry():
    disk = MemoryFolders()
    disk.put(FOLDER, NAME, b"<old/>")
    io = MemoryFolderIO(disk, fail={"backup"})
    outcome = perform_operations(manifest_operations(), io, posixpath)
    assert io.done == ["backup", "manifest"]  # the write of the file whose backup failed is skipped
    assert outcome["done"] == [2] and outcome["errors"][0]["index"] == 0 and outcome["error"] is None
    assert outcome["errors"][0]["path"] == posixpath.join(BACKUPS, NAME + ".1")
    assert disk.files[FOLDER][NAME] == b"<old/>"
    assert b'"artifact": "old"' in disk.files[FOLDER][_plan.MANIFEST_NAME]


class StoppingIO(MemoryFolderIO):
    def failure(self, operation, exc):
        return OperationFailure("folder step %s failed" % operation["op"], stops_folder=True, recorded=False)


def test_a_folder_level_failure_stops_the_folder():
    disk = MemoryFolders()
    disk.put(FOLDER, NAME, b"<old/>")
    io = StoppingIO(disk, fail={"backup"})
    outcome = perform_operations(manifest_operations(), io, posixpath)
    assert io.done == ["backup"] and outcome == {"done": [], "errors": [], "error": "folder step backup failed"}


class RefusingIO(MemoryFolderIO):
    def open(self):
        return "managed folder %s changed since it was read" % FOLDER


def test_a_folder_that_changed_since_it_was_observed_gets_no_change():
    disk = MemoryFolders()
    mkdir = {"op": "mkdir", "path": FOLDER, "mode": 0o755, "uid": None, "gid": None}
    io = RefusingIO(disk)
    outcome = perform_operations([mkdir, *manifest_operations()], io, posixpath)
    assert io.done == ["mkdir"] and outcome["done"] == [0] and "changed since" in outcome["error"]


class UnopenableIO(MemoryFolderIO):
    errors = (KeyError, ValueError, OSError)  # as PosixFolderIO's: an OSError is one operation's failure

    def open(self):
        raise OSError(24, "Too many open files")


def test_a_folder_that_cannot_be_opened_fails_whole_and_no_operation_runs():
    """An error opening the folder is never one operation's failure: the next ones would run without the folder's
    re-checked handle (on POSIX, relative to the working directory)."""
    disk = MemoryFolders()
    disk.put(FOLDER, NAME, b"<old/>")
    io = UnopenableIO(disk)
    outcome = perform_operations(manifest_operations(), io, posixpath)
    assert io.done == [] and outcome["done"] == [] and "cannot be opened" in outcome["error"]
    assert disk.files[FOLDER][NAME] == b"<old/>"


def test_the_posix_folder_io_never_acts_without_the_folders_descriptor(tmp_path, monkeypatch):
    folder_io = _posix.PosixFolderIO(str(tmp_path), None)

    def emfile(path):
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(_posix, "open_tree", emfile)
    assert "cannot be opened" in folder_io.open() and folder_io.dir_fd is None
    write = {"path": str(tmp_path / NAME), "data": b"x", "mode": 0o644, "uid": None, "gid": None, "expect": None}
    with pytest.raises(_posix.Refused, match="not open"):
        folder_io.write(write)
    assert list(tmp_path.iterdir()) == []


class BatchedMkdirIO(MemoryFolderIO):
    def mkdir(self, operation, later):
        if any(other["op"] == "mkdir" for other in later):
            return DONE_WITH_NEXT
        return super().mkdir(operation, later)


def test_work_done_with_the_next_operation_counts_when_that_one_is_done():
    mkdirs = [{"op": "mkdir", "path": path} for path in ("/srv", "/srv/tableau", FOLDER)]
    outcome = perform_operations(mkdirs, BatchedMkdirIO(MemoryFolders()), posixpath)
    assert outcome["done"] == [0, 1, 2]
    failing = BatchedMkdirIO(MemoryFolders(), fail={"mkdir"})
    assert perform_operations(mkdirs, failing, posixpath)["done"] == []


def test_the_engine_checks_its_options_before_any_host_call():
    transport = MemoryTransport(MemoryFolders())
    files, dirs = request(oauth_xml())
    for options, message in (
        ({"backup_keep": -1}, "backup_keep"),
        ({"run_id": "../x"}, "run_id"),
        ({"rollback_run_id": "r1", "rollback_skip_runs": ["r1"]}, "rollback_skip_runs"),
    ):
        try:
            SyncEngine(transport, files, dirs, **options)
        except _plan.SyncError as exc:
            assert message in str(exc)
        else:
            raise AssertionError("accepted %r" % options)
    assert transport.calls == []
    assert _engine.check_run_ids(None, None) is None


def test_production_code_never_loads_the_windows_test_double():
    """The double (tests/unit/fixtures/windows) is injected by tests as a connection plugin; nothing under plugins/
    imports from tests/ or names the double or its folder."""
    plugins = Path(_engine.__file__).resolve().parents[2]
    offenders = []
    for source in sorted(plugins.rglob("*.py")):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names = [node.value] if "fixtures/windows" in node.value else []
            offenders += [
                "%s:%d %s" % (source.relative_to(plugins), node.lineno, name)
                for name in names
                if name.split(".")[0] in ("tests", "fakewin")
                or "fixtures/windows" in name
                or "windows_double" in name
                or "fakewin" in name
            ]
    assert plugins.name == "plugins" and len(list(plugins.rglob("*.py"))) > 20
    assert offenders == []


def test_root_creates_no_folder_for_a_future_owner_after_the_run_deadline(tmp_path):
    """Root's own mkdir for a user's missing tree has no worker deadline: the run's deadline must stop it."""
    transport = _posix.PosixTransport(run_timeout=60)
    transport.deadline = time.monotonic() - 1
    folder = str(tmp_path / "alice" / "OAuthConfigs")
    mkdir = {"op": "mkdir", "path": folder, "mode": 0o755, "uid": 1000, "gid": None}
    outcome = transport._sync_for_future_owner((folder, [mkdir], None))
    assert outcome["done"] == [] and "nothing changed" in outcome["error"]
    assert not (tmp_path / "alice").exists()
