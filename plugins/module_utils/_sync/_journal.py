# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Run journals and rollback of a run, the same on every OS (PURE: no filesystem, no clock).

A rollout with a run id writes, in each folder it changes and before it changes anything there, the journal
``.tabops-backups/tabops-run-<run id>.json``: for every file it creates, replaces, re-moded or removes, the state
before (absent, or sha256, mode, owner and the backup holding the bytes), the state it leaves (absent, or sha256
and mode) and the file's manifest entry before. ``plan_rollback_folder`` turns the journal of one run back into
operations the transports already perform (backup, write, attributes, remove, manifest): a file still as the run
left it is put back, a file already as before is left, anything else was changed by hand since and is kept
(reported) unless forced.
"""

from __future__ import annotations

import json
import posixpath

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._run_id import (
    JOURNAL_PREFIX,
    is_run_id,
    is_stamp,
    run_id_problem,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._plan import (
    BACKUP_DIR_NAME,
    KIND_SUFFIX,
    MANAGED_BY,
    MANIFEST_MODE,
    MANIFEST_NAME,
    SyncError,
    add_backup_operation,
    add_manifest_operation,
    is_sha256,
    manifest_state,
    new_folder_plan,
    owned_entry,
    parse_manifest,
    render_manifest,
    sha256_bytes,
    terminal_safe,
)

JOURNAL_SUFFIX = ".json"
JOURNAL_MODE = 0o600
MAX_JOURNAL_BYTES = 1 << 20
# What one folder's run journals (and, for a rollback, the backups they name) may cost to read, on every OS.
MAX_JOURNALS_READ_BYTES = 4 << 20
MAX_JOURNAL_FILES = 1000
MAX_JOURNAL_TEXT = 256
# A run id is a file name part and shows in every summary: plain characters only.
BEFORE_STATES = ("absent", "file", "not_restorable")


def _digested(observations, **options):
    """``observations`` with what arrived raw (Windows, tests) digested like a POSIX worker does (see _digest)."""
    from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._digest import ensure_digested

    return ensure_digested(observations, **options)


def check_run_id(value, field="run_id"):
    if not is_run_id(value):
        raise SyncError(run_id_problem(field, value))
    return value


def journal_name(run_id):
    return JOURNAL_PREFIX + run_id + JOURNAL_SUFFIX


def journal_run_id(name):
    """The run id of a journal file name, else None."""
    if not (name.startswith(JOURNAL_PREFIX) and name.endswith(JOURNAL_SUFFIX)):
        return None
    run_id = name[len(JOURNAL_PREFIX) : -len(JOURNAL_SUFFIX)]
    return run_id if is_run_id(run_id) else None


def render_journal(run_id, stamp, folder, files):
    document = {"managed_by": MANAGED_BY, "run_id": run_id, "stamp": stamp, "folder": folder, "files": files}
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True) + "\n").encode("ascii")


def _valid_name(name):
    # Like a manifest name: no separator, no drive or stream (":", Windows), no hidden name.
    return (
        isinstance(name, str)
        and len(name) <= 255
        and terminal_safe(name) == name
        and name not in ("", ".", "..")
        and not name.startswith(".")
        and not any(char in name for char in "/\\:\x00")
    )


def _check_state(state, where, allowed, name):
    if not isinstance(state, dict) or state.get("state") not in allowed:
        raise SyncError("%s: state must be one of %s" % (where, ", ".join(allowed)))
    if state["state"] != "file":
        detail = state.get("detail")
        if detail is not None and not isinstance(detail, str):
            raise SyncError("%s.detail: must be a string" % where)
        return {"state": state["state"], "detail": (detail or "")[:MAX_JOURNAL_TEXT]}
    checked = {"state": "file"}
    if not is_sha256(state.get("sha256")):
        raise SyncError("%s.sha256: not a sha256" % where)
    checked["sha256"] = state["sha256"]
    mode = state.get("mode")
    if mode is not None and (isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o777):
        # A journal sits in a user's folder: never a setuid, setgid or sticky mode from it (None: not observed,
        # Windows).
        raise SyncError("%s.mode: must be a permission mode from 0 to 0777" % where)
    # Never world-writable from a journal either (a Tableau file never needs it).
    checked["mode"] = None if mode is None else mode & ~0o002
    for key in ("uid", "gid"):
        value = state.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise SyncError("%s.%s: must be a user or group id" % (where, key))
        checked[key] = value
    backup = state.get("backup")
    if backup is not None and (not _valid_name(backup) or not backup.startswith(name + ".")):
        raise SyncError("%s.backup: %r is not a backup of %s" % (where, backup, name))
    checked["backup"] = backup
    return checked


def parse_journal(data, path, run_id=None):
    """Journal bytes -> {"run_id", "stamp", "files"}; raises SyncError naming ``path`` for one it cannot trust."""
    if len(data) > MAX_JOURNAL_BYTES:
        raise SyncError("run journal %s is larger than %d KiB" % (path, MAX_JOURNAL_BYTES >> 10))
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        # RecursionError: a user's deeply nested JSON must fail its folder only, not the host's whole run.
        raise SyncError("run journal %s is not valid JSON (%s)" % (path, exc.__class__.__name__)) from None
    if not isinstance(document, dict) or document.get("managed_by") != MANAGED_BY:
        raise SyncError("run journal %s: not a journal of %s" % (path, MANAGED_BY))
    if not is_run_id(document.get("run_id")):
        raise SyncError("run journal %s: run_id is not a run id" % path)
    if run_id is not None and document["run_id"] != run_id:
        raise SyncError("run journal %s: holds run %s, not %s" % (path, document["run_id"], run_id))
    if not is_stamp(document.get("stamp")):
        raise SyncError("run journal %s: stamp is not a UTC stamp like 20261202T101500Z" % path)
    files = document.get("files")
    if not isinstance(files, dict):
        raise SyncError("run journal %s: expected a 'files' object" % path)
    if len(files) > MAX_JOURNAL_FILES:
        raise SyncError("run journal %s: lists more than %d files" % (path, MAX_JOURNAL_FILES))
    checked = {}
    for name, entry in files.items():
        where = "run journal %s: files.%s" % (path, name)
        if not _valid_name(name) or not isinstance(entry, dict):
            raise SyncError("run journal %s: %r is not a file entry" % (path, name[:255]))
        manifest_before = entry.get("manifest_before")
        if manifest_before is not None and (
            not isinstance(manifest_before, dict)
            or not is_sha256(manifest_before.get("sha256"))
            or any(
                not isinstance(manifest_before.get(key) or "", str)
                or len(manifest_before.get(key) or "") > MAX_JOURNAL_TEXT
                for key in ("kind", "artifact")
            )
        ):
            raise SyncError("%s.manifest_before: not a manifest entry" % where)
        checked[name] = {
            "before": _check_state(entry.get("before"), where + ".before", BEFORE_STATES, name),
            "after": _check_state(entry.get("after"), where + ".after", ("absent", "file"), name),
            "manifest_before": (
                {
                    "kind": str(manifest_before.get("kind") or ""),
                    "artifact": str(manifest_before.get("artifact") or name),
                    "sha256": manifest_before["sha256"],
                }
                if manifest_before
                else None
            ),
        }
    return {"run_id": document["run_id"], "stamp": document["stamp"], "files": checked}


def observed_journals(observation, paths=posixpath):
    """{run id: journal or {"problem": text}} of the journals a folder observation read."""
    found = {}
    folder = observation.get("path") or ""
    for name, entry in sorted((observation.get("journals") or {}).items()):
        run_id = journal_run_id(name)
        if run_id is None:
            continue
        where = paths.join(folder, BACKUP_DIR_NAME, name)
        # Parsed where it was read (the folder's worker, see _digest): the journal, or why not.
        if entry.get("journal") is not None:
            found[run_id] = entry["journal"]
        elif entry.get("error"):
            found[run_id] = {"problem": entry["error"]}
        elif entry.get("data") is not None and not entry.get("problem"):
            # Raw: only the Windows transport (on the controller) hands these in; a POSIX worker's answer never
            # carries raw bytes (_digest.check_observation refuses it).
            try:
                found[run_id] = parse_journal(entry["data"], where, run_id)
            except SyncError as exc:
                found[run_id] = {"problem": str(exc)}
        else:
            found[run_id] = {"problem": "%s %s" % (where, entry.get("problem") or "was not read")}
    return found


def _state_of(observed):
    """The journal state of an observed entry (``file`` only for a readable regular file with one link)."""
    kind = observed.get("type", "absent")
    if kind == "absent":
        return {"state": "absent"}
    if kind != "file" or observed.get("nlink", 1) > 1:
        return {"state": "not_restorable", "detail": "was a %s" % ("hard-linked file" if kind == "file" else kind)}
    digest = observed.get("sha256")
    if digest is None:
        return {"state": "not_restorable", "detail": "could not be read"}
    return {
        "state": "file",
        "sha256": digest,
        "mode": observed["mode"] & 0o777 if observed.get("mode") is not None else None,
        "uid": observed.get("uid"),
        "gid": observed.get("gid"),
        "backup": None,
    }


def _planned_manifest(folder_plan, manifest):
    for op in folder_plan["operations"]:
        if op["op"] == "manifest":
            return op["files"]
    return manifest


def journal_files(folder_plan, manifest, previous=None):
    """The journal ``files`` of a folder plan's changes, ownership changes included (a file adopted as it was is
    given back) (``previous``: this run's journal from an earlier try, whose before-states win: they are the state
    before the run)."""
    files = {}
    next_manifest = _planned_manifest(folder_plan, manifest)
    for entry in folder_plan["entries"]:
        name = entry["_name"]
        if entry["status"] == "error":
            continue
        if entry["action"] == "none" and manifest.get(name) == next_manifest.get(name):
            continue
        before = _state_of(entry["_observed"])
        if before["state"] == "file":
            before["backup"] = entry.get("_backup_name")
        if entry["action"] == "none":
            after = dict(before, backup=None) if before["state"] == "file" else before
        elif entry["action"] == "remove":
            after = {"state": "absent"}
        else:
            item = entry["_item"]
            digest = sha256_bytes(item["data"]) if entry["_rewrite"] else before.get("sha256")
            after = {"state": "file", "sha256": digest, "mode": item["mode"] & 0o777}
        files[name] = {"before": before, "after": after, "manifest_before": manifest.get(name)}
    for name, entry in ((previous or {}).get("files") or {}).items():
        if name in files:
            files[name] = dict(files[name], before=entry["before"], manifest_before=entry["manifest_before"])
        else:
            files[name] = entry
    return files


def _matches(observed, state, attributes=True):
    current = _state_of(observed)
    if state["state"] == "absent" or current["state"] != "file":
        return current["state"] == state["state"] == "absent"
    if current["sha256"] != state["sha256"]:
        return False
    if not attributes:
        return True
    if None not in (current["mode"], state["mode"]) and current["mode"] != state["mode"]:
        return False
    return all(state.get(key) is None or current.get(key) == state[key] for key in ("uid", "gid"))


def _state_text(state):
    # Never a hash: a file's sha256 is an offline oracle for the secret it may hold (the manifest is 0600).
    if state["state"] != "file":
        return state["state"]
    return "file" if state["mode"] is None else "file, mode %04o" % state["mode"]


def _rollback_journal(folder_plan, observation, run_id, paths):
    """The folder's journal of ``run_id`` (None: nothing to roll back here, or ``folder_plan["error"]`` says why
    not)."""
    path = folder_plan["path"]
    state = observation.get("state")
    if state == "absent":
        return None
    if state != "present":
        folder_plan["error"] = "managed folder %s refused: %s" % (path, observation.get("detail") or "not a folder")
        return None
    if observation.get("backups_problem"):
        # The journals are in there: a folder whose journal cannot be read is not "nothing to roll back".
        folder_plan["error"] = "%s %s; its run journals cannot be read" % (
            paths.join(path, BACKUP_DIR_NAME),
            observation["backups_problem"],
        )
        return None
    journal = observed_journals(dict(observation, path=path), paths).get(run_id)
    if journal is not None and "problem" in journal:
        folder_plan["error"] = journal["problem"]
        return None
    return journal


class _Rollback:
    """What the rollback of one folder works with (plan_rollback_folder)."""

    def __init__(self, folder_plan, observation, run_id, stamp, force, backup, paths):
        directory = folder_plan["directory"]
        self.folder_plan, self.observation, self.run_id, self.stamp = folder_plan, observation, run_id, stamp
        self.force, self.backup, self.paths = force, backup, paths
        self.backups_seen = observation.get("backup_data") or {}
        self.backup_texts = observation.get("backup_text") or {}
        self.existing_backups = set(observation.get("backups") or [])
        self.suffix = KIND_SUFFIX[directory["kind"]]
        # Whoever can write the journal (the folder's owner) may not hand files to anyone else: owners from it are
        # kept only when they are the folder's (declared or observed) or root's.
        self.allowed_uids = {0, directory.get("uid"), observation.get("uid")} - {None}
        self.allowed_gids = {0, directory.get("gid"), observation.get("gid")} - {None}

    def before(self, record):
        before = record["before"]
        if before["state"] != "file":
            return before
        # An owner the journal may not hand out is not restored, so it is not compared either (else the file, put
        # back as the folder's, would look hand-edited to the next rollback).
        uid = before["uid"] if before["uid"] in self.allowed_uids else None
        gid = before["gid"] if before["gid"] in self.allowed_gids else None
        return dict(before, uid=uid, gid=gid)


def plan_rollback_folder(directory, observation, run_id, stamp, force=False, backup=True, paths=posixpath):
    """Plan the rollback of run ``run_id`` in one folder: a folder plan like ``_plan.plan_folder``'s."""
    path = directory["path"]
    folder_plan = new_folder_plan(directory)
    journal = _rollback_journal(folder_plan, observation, run_id, paths)
    if journal is None:
        return folder_plan
    folder_plan["journal"] = paths.join(path, BACKUP_DIR_NAME, journal_name(run_id))
    manifest, manifest_before, problem = manifest_state(observation, path, paths)
    if problem:
        folder_plan["error"] = problem
        return folder_plan
    rollback = _Rollback(folder_plan, observation, run_id, stamp, force, backup, paths)
    new_manifest = dict(manifest)
    for name, record in sorted(journal["files"].items()):
        if _plan_rollback_file(rollback, name, record, manifest):
            _restore_manifest_entry(new_manifest, name, record)
    _plan_rollback_manifest(folder_plan, observation.get("manifest"), manifest, manifest_before, new_manifest, paths)
    return folder_plan


def _rollback_entry(rollback, name, record, manifest, observed):
    manifest_entry = record["manifest_before"] or manifest.get(name) or {}
    entry = owned_entry(rollback.folder_plan["directory"], name, manifest_entry, observed, rollback.paths)
    entry.update(_before_text=(observed["document"]["text"] or "") if observed.get("document") else "", _after_text="")
    rollback.folder_plan["entries"].append(entry)
    return entry


def _plan_rollback_file(rollback, name, record, manifest):
    """Plan putting one journaled file back; True when its manifest entry goes back to before the run too."""
    observed = (rollback.observation.get("entries") or {}).get(name, {"type": "absent"})
    entry = _rollback_entry(rollback, name, record, manifest, observed)
    before, after = rollback.before(record), record["after"]
    if not name.lower().endswith(rollback.suffix):
        entry.update(status="error", differences=[{"path": "file", "expected": rollback.suffix, "actual": name}])
        return False
    if before["state"] == "not_restorable":
        entry.update(
            status="error",
            differences=[{"path": "file", "expected": "restorable", "actual": before.get("detail")}],
        )
        return False
    if _matches(observed, before):
        # Already as before the run (rolled back, or the run's change failed): only ownership goes back.
        return True
    if not rollback.force and not _matches(observed, after):
        entry.update(
            status="hand_edited",
            differences=[
                {
                    "path": "file",
                    "expected": "as run %s left it (%s)" % (rollback.run_id, _state_text(after)),
                    "actual": "changed since (kept; rollback_force to restore anyway)",
                }
            ],
        )
        return False
    entry["differences"] = [
        {"path": "file", "expected": _state_text(before), "actual": _state_text(_state_of(observed))}
    ]
    kind = observed.get("type", "absent")
    if kind == "directory" or (kind == "file" and observed.get("nlink", 1) > 1):
        entry.update(status="error", differences=[{"path": "file.type", "expected": "regular file", "actual": kind}])
        return False
    change = _rollback_change(rollback, entry, before, observed)
    if change is None:
        return False
    if change["op"] != "attributes" and kind != "absent" and rollback.backup:
        # What the rollback replaces or removes is kept too (a forced hand edit above all).
        add_backup_operation(
            rollback.folder_plan,
            entry["path"],
            name,
            rollback.stamp,
            rollback.existing_backups,
            observed,
            rollback.paths,
        )
    rollback.folder_plan["operations"].append(change)
    return True


def _rollback_change(rollback, entry, before, observed):
    """The operation that puts one file back (None: it cannot, and the entry says why)."""
    kind = observed.get("type", "absent")
    expect = observed.get("identity")
    if before["state"] == "absent":
        entry.update(status="drift", action="remove")
        # sha256: the transport that cannot hold the file open (Windows) removes it only with these bytes.
        return {"op": "remove", "path": entry["path"], "expect": expect, "sha256": _state_of(observed)["sha256"]}
    owners = {"uid": before["uid"], "gid": before["gid"]}
    if kind == "file" and _matches(observed, before, attributes=False):
        entry.update(status="drift", action="restore")
        return dict(owners, op="attributes", path=entry["path"], mode=before["mode"], expect=expect)
    data = rollback.backups_seen.get(before["backup"]) if before["backup"] else None
    if data is None or sha256_bytes(data) != before["sha256"]:
        if not before["backup"] or before["backup"] not in rollback.existing_backups:
            problem = "is gone"
        else:
            problem = "could not be read" if data is None else "does not hold the bytes the journal names"
        expected = "the content before run %s" % rollback.run_id
        actual = "backup %s %s" % (before["backup"] or "(none kept)", problem)
        entry.update(status="error", differences=[{"path": "backup", "expected": expected, "actual": actual}])
        return None
    entry.update(status="drift", action="restore", _after_text=rollback.backup_texts.get(before["backup"]) or "")
    mode = 0o644 if before["mode"] is None else before["mode"]
    return dict(
        owners, op="write", path=entry["path"], data=data, mode=mode, expect=expect if kind != "absent" else None
    )


def _plan_rollback_manifest(folder_plan, manifest_observed, manifest, manifest_before, new_manifest, paths):
    path = folder_plan["path"]
    if manifest_before is not None and not new_manifest:
        # Nothing owned any more: no manifest, as before the collection's first run here. Should a file's restore
        # fail, the transports write the manifest instead (``manifest_after_failures``): that file stays owned.
        folder_plan["operations"].append(
            {
                "op": "remove",
                "path": paths.join(path, MANIFEST_NAME),
                "expect": manifest_observed.get("identity"),
                "sha256": manifest_observed.get("sha256"),
                "files": {},
                "previous": manifest,
                "mode": MANIFEST_MODE,
            }
        )
        folder_plan["manifest"] = paths.join(path, MANIFEST_NAME)
        folder_plan["manifest_changed"] = True
    elif (manifest_before is not None or new_manifest) and manifest_before != sha256_bytes(
        render_manifest(new_manifest).encode("ascii")
    ):
        add_manifest_operation(folder_plan, new_manifest, manifest, manifest_observed, paths)


def _restore_manifest_entry(manifest, name, record):
    if record["manifest_before"]:
        manifest[name] = dict(record["manifest_before"])
    else:
        manifest.pop(name, None)


def runs_of(observations, paths=posixpath, trusted_runs=()):
    """[{"run_id", "stamp", "folders", "trusted"}] of every run, newest first: ``trusted_runs`` (from a log only root
    writes) and the journals the observed folders hold (``trusted`` false: the folders' owners can write those, a
    stamp or run id there proves nothing)."""
    observations = _digested(observations, paths=paths)
    runs = {}
    for run in trusted_runs:
        runs[run["run_id"]] = {
            "run_id": run["run_id"],
            "stamp": run["stamp"],
            "folders": list(run.get("folders") or []),
            "trusted": True,
        }
    for folder, observation in observations.items():
        for run_id, journal in observed_journals(dict(observation, path=folder), paths).items():
            if "problem" in journal:
                continue
            run = runs.setdefault(
                run_id, {"run_id": run_id, "stamp": journal["stamp"], "folders": [], "trusted": False}
            )
            if folder not in run["folders"]:
                run["folders"].append(folder)
    return terminal_safe(sorted(runs.values(), key=lambda run: (run["stamp"], run["run_id"]), reverse=True))


# ---------------------------------------------------------------------------------------------
# a rollout: the journal of its changes, and journal retention
# ---------------------------------------------------------------------------------------------

# Operations that change a managed file or its ownership (what a rollback may undo): the journal is written before
# the first of them (temp file removal and backup pruning need none).
_CHANGE_OPERATIONS = ("backup", "write", "attributes", "remove", "manifest")


def _observed_manifest(observation, path, paths):
    manifest = observation.get("manifest")
    if not isinstance(manifest, dict):
        return {}
    if manifest.get("data") is not None:  # raw: the Windows transport, as in observed_journals
        try:
            return parse_manifest(manifest["data"], paths.join(path, MANIFEST_NAME))
        except SyncError:
            return {}
    return manifest.get("files") or {}


def journal_folder(folder_plan, observation, run_id, stamp, keep, paths=posixpath):
    """Add this run's journal to a planned folder (written before any file changes) and keep the journals of the
    newest ``keep`` runs, with every backup they name (a run that can still be rolled back keeps its bytes)."""
    path = folder_plan["path"]
    if folder_plan["error"]:
        return folder_plan
    journals = {
        key: value
        for key, value in observed_journals(dict(observation, path=path), paths).items()
        if "problem" not in value
    }
    operations = folder_plan["operations"]
    backup_dir = paths.join(path, BACKUP_DIR_NAME)
    changes = [op for op in operations if op["op"] in _CHANGE_OPERATIONS]
    previous = journals.get(run_id) if run_id else None
    files = journal_files(folder_plan, _observed_manifest(observation, path, paths), previous) if changes else {}
    if run_id and keep > 0 and files and observation.get("backups_problem"):
        # No journal, no change: the run could not be rolled back here. (A change the journal would not record, such
        # as the manifest rewritten with the same entries, needs none.)
        message = "run journal cannot be written: %s %s; nothing changed in %s" % (
            paths.join(path, BACKUP_DIR_NAME),
            observation["backups_problem"],
            path,
        )
        folder_plan["error"] = message
        for entry in folder_plan["entries"]:
            if entry["action"] != "none" and entry["status"] != "error":
                entry.update(
                    status="error",
                    action="none",
                    differences=[{"path": "folder", "expected": "usable backup folder", "actual": message}],
                )
        folder_plan["operations"] = []
        folder_plan.update(created_dirs=[], backups=[], removed_backups=[], removed_temp_files=[], manifest=None)
        return folder_plan
    if run_id and keep > 0 and files:
        name = journal_name(run_id)
        run_stamp = previous["stamp"] if previous else stamp
        journals[run_id] = {"run_id": run_id, "stamp": run_stamp, "files": files}
        position = next(
            (index for index, op in enumerate(operations) if op["op"] in _CHANGE_OPERATIONS),
            len(operations),
        )
        operations.insert(
            position,
            {
                "op": "journal",
                "path": paths.join(backup_dir, name),
                "data": render_journal(run_id, run_stamp, path, files),
                "mode": JOURNAL_MODE,
                "expect": ((observation.get("journals") or {}).get(name) or {}).get("identity"),
            },
        )
        folder_plan["journal"] = paths.join(backup_dir, name)
    if not journals:
        return folder_plan
    newest_first = sorted(journals.values(), key=lambda journal: (journal["stamp"], journal["run_id"]), reverse=True)
    kept = newest_first[:keep]
    protected = {
        record["before"].get("backup")
        for journal in kept
        for record in journal["files"].values()
        if record["before"].get("backup")
    }
    protected_paths = {paths.join(backup_dir, name) for name in protected}
    folder_plan["operations"] = operations = [
        op for op in operations if not (op["op"] == "remove_backup" and op["path"] in protected_paths)
    ]
    folder_plan["removed_backups"] = [item for item in folder_plan["removed_backups"] if item not in protected_paths]
    if changes:
        # Only a run that changes the folder prunes it: a run that changes nothing writes nothing.
        for journal in newest_first[keep:]:
            target = paths.join(backup_dir, journal_name(journal["run_id"]))
            operations.append({"op": "remove_backup", "path": target})
            folder_plan["removed_backups"].append(target)
    return folder_plan


def check_skip_runs(skip_runs, run_id):
    """The checked ``rollback_skip_runs``: run ids, never the run rolled back itself."""
    if not isinstance(skip_runs, (list, tuple)):
        raise SyncError("rollback_skip_runs: expected a list of run ids, got %s" % type(skip_runs).__name__)
    for index, value in enumerate(skip_runs):
        check_run_id(value, "rollback_skip_runs[%d]" % index)
    if run_id in skip_runs:
        raise SyncError("rollback_skip_runs: names %s, the run rolled back" % run_id)
    return list(skip_runs)


def _skipping_runs(observation, skip_runs):
    """The runs of ``skip_runs`` whose journal a folder holds (by name: the folder's owner wrote them, so they only
    ever decide that this folder is left alone)."""
    names = set(observation.get("backups") or []) | set(observation.get("journals") or {})
    return sorted({journal_run_id(name) for name in names} & set(skip_runs))


def plan_rollback(dirs, observations, run_id, stamp, force=False, backup=True, paths=posixpath, skip_runs=()):
    """The plan (like ``plan_host``'s) that puts back every file of ``dirs`` as it was before run ``run_id``; a folder
    holding a journal of a run of ``skip_runs`` (newer runs only journals in users' folders name) is left alone:
    undoing an older run under a newer one would leave a mix of both (its plan names them in ``skipped``). The run
    ids were checked by the engine."""
    observations = _digested(observations, rollback_run_id=run_id, paths=paths)
    plan = {"folders": [], "files": [], "unmanaged": [], "conflicts": []}
    for directory in dirs:
        observation = observations.get(directory["path"]) or {"state": "refused", "detail": "not observed"}
        skipping = _skipping_runs(observation, skip_runs) if observation.get("state") == "present" else []
        if skipping:
            plan["folders"].append(dict(new_folder_plan(directory), skipped=skipping))
            continue
        folder_plan = plan_rollback_folder(directory, observation, run_id, stamp, force, backup, paths)
        if folder_plan["error"]:
            folder_plan["operations"] = []
            for entry in folder_plan["entries"]:
                entry.update(status="error", action="none")
        plan["folders"].append(folder_plan)
        plan["files"].extend(folder_plan["entries"])
    return plan


def rollback_summary(plan, run_id):
    """What a rollback found, for the result: per status the files, and the folders holding the run's journal."""
    summary = {
        "run_id": run_id,
        "journals": [],
        "restored": [],
        "removed": [],
        "hand_edited": [],
        "unchanged": [],
        "skipped": [],
    }
    for folder_plan in plan["folders"]:
        if folder_plan.get("skipped"):
            summary["skipped"].append({"path": folder_plan["path"], "runs": folder_plan["skipped"]})
        if folder_plan.get("journal"):
            summary["journals"].append(folder_plan["journal"])
        for entry in folder_plan["entries"]:
            if entry["status"] == "hand_edited":
                summary["hand_edited"].append(entry["path"])
            elif entry["action"] == "remove" and entry["status"] != "error":
                summary["removed"].append(entry["path"])
            elif entry["action"] == "restore" and entry["status"] != "error":
                summary["restored"].append(entry["path"])
            elif entry["status"] == "compliant":
                summary["unchanged"].append(entry["path"])
    return terminal_safe(summary)


def hand_edit_warning(summary):
    """The warning for files a rollback kept because they were changed by hand since the run (None: none)."""
    if not summary or not summary["hand_edited"]:
        return None
    return "rollback of run %s kept %d file(s) changed by hand since that run (rollback_force restores them): %s" % (
        summary["run_id"],
        len(summary["hand_edited"]),
        ", ".join(summary["hand_edited"]),
    )
