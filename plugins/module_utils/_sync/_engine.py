# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The sync engine: one host's sync of Tableau files, written once for every transport.

observe -> plan (rollout or rollback) -> journal -> record the run -> sync (the transport re-checks each entry
right before it changes it) -> report. The decisions are the pure planner's (``_plan``, ``_journal``); a transport
does only I/O:

- the POSIX transport (``_posix.PosixTransport``): the host module's workers behind the privilege boundary
  (docs/security.md); root takes their answers only after ``check_observation`` / ``check_sync_outcome``;
- the Windows transport (``plugin_utils/_windows_sync.WindowsTransport``): ``ansible.windows`` modules run from the
  action on the controller.

Standard library only (the POSIX host module imports it).
"""

from __future__ import annotations

import datetime
from typing import Any, Callable, NamedTuple, Protocol

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._run_id import utc_stamp
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._journal import (
    check_run_id,
    check_skip_runs,
    hand_edit_warning,
    journal_folder,
    plan_rollback,
    rollback_summary,
    runs_of,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._plan import (
    DEFAULT_BACKUP_KEEP,
    check_options,
    finish_host,
    manifest_after_failures,
    normalize_request,
    operation_name,
    plan_host,
    report_diff,
)

Observations = dict  # {folder path: FolderObservation} (docs/design.md)
Outcomes = dict  # {folder path: {"done": [op index], "errors": [...], "error": str | None}}


class Transport(Protocol):
    """The I/O of one host's sync. Every method may only read or change the host; none decides anything."""

    paths: Any  # posixpath or ntpath: how the host spells paths
    resolve_user: Callable | None  # owner name -> uid (None: owners are not resolved on this OS)
    resolve_group: Callable | None
    # True: it cannot hold an owned file open while it checks it, so a stale one goes only with its recorded bytes.
    remove_only_recorded: bool

    def accept(self, desired: list, dirs: list) -> None:
        """Take the normalized request; raise SyncError for what this OS cannot hold (before any host call)."""

    def observe(self, dirs: list, desired: list, rollback_run_id: str | None) -> Observations:
        """One FolderObservation per folder (a refusal naming the problem at worst)."""

    def read_journals(self, path: str, observation: dict) -> None:
        """Make sure ``observation`` holds the folder's run journals (a rollout reads them only where it changes)."""

    def trusted_runs(self) -> list:
        """The runs of a log only root can write (none where there is no such log)."""

    def record_run(self, run_id: str, stamp: str, folders: list, check_mode: bool) -> None:
        """Before any folder changes: record which folders get this run's journal (check mode: only whether it
        could)."""

    def sync_folders(self, plan: dict, observations: Observations) -> Outcomes:
        """Perform every folder's operations; ``{path: outcome}`` for the folders it reached."""


def check_run_ids(run_id: str | None, rollback_run_id: str | None) -> None:
    for value, field in ((run_id, "run_id"), (rollback_run_id, "rollback_run_id")):
        if value is not None:
            check_run_id(value, field)


class SyncEngine:
    """One host's sync over ``transport``: ``run`` (or ``make_plan`` then ``execute``), or ``list_runs``."""

    def __init__(
        self,
        transport: Transport,
        files: list,
        folders: list,
        tdc_conflicts: str = "fail",
        backup: bool = True,
        backup_keep: int = DEFAULT_BACKUP_KEEP,
        now: datetime.datetime | None = None,
        run_id: str | None = None,
        rollback_run_id: str | None = None,
        rollback_force: bool = False,
        rollback_skip_runs: list | tuple = (),
        list_runs: bool = False,
    ) -> None:
        """Checks every option before the host is touched (SyncError names the field)."""
        check_options(tdc_conflicts, backup_keep)
        check_run_ids(run_id, rollback_run_id)
        self.transport = transport
        self.paths = transport.paths
        self.run_id, self.rollback_run_id, self.rollback_force = run_id, rollback_run_id, rollback_force
        self.rollback_skip_runs = check_skip_runs(rollback_skip_runs, rollback_run_id)
        self.options = {"tdc_conflicts": tdc_conflicts, "backup": backup, "backup_keep": backup_keep}
        self.desired, self.dirs = normalize_request(
            [] if rollback_run_id or list_runs else files,
            folders,
            self.paths,
            transport.resolve_user,
            transport.resolve_group,
        )
        transport.accept(self.desired, self.dirs)
        self.stamp = utc_stamp(now or datetime.datetime.now(datetime.timezone.utc))
        self.observations: Observations = {}
        self.plan: dict | None = None

    def observe(self) -> Observations:
        self.observations = self.transport.observe(self.dirs, self.desired, self.rollback_run_id)
        return self.observations

    def make_plan(self) -> dict:
        self.observe()
        if self.rollback_run_id:
            self.plan = plan_rollback(
                self.dirs,
                self.observations,
                self.rollback_run_id,
                self.stamp,
                force=self.rollback_force,
                backup=self.options["backup"],
                paths=self.paths,
                skip_runs=self.rollback_skip_runs,
            )
        else:
            self.plan = self._plan_rollout()
        return self.plan

    def _plan_rollout(self) -> dict:
        """The planner's operations for ``files``, plus the run journal of every folder they change."""
        plan = plan_host(
            self.desired,
            self.dirs,
            self.observations,
            self.stamp,
            paths=self.paths,
            remove_only_recorded=self.transport.remove_only_recorded,
            **self.options,
        )
        for folder_plan in plan["folders"]:
            observation = self.observations.get(folder_plan["path"]) or {}
            if folder_plan["operations"]:
                # The journals name the backups that must stay and the journals to prune.
                self.transport.read_journals(folder_plan["path"], observation)
            journal_folder(folder_plan, observation, self.run_id, self.stamp, self.options["backup_keep"], self.paths)
        return plan

    def runs(self) -> list:
        """The runs journaled here, newest first (after ``observe``)."""
        return runs_of(self.observations, self.paths, trusted_runs=self.transport.trusted_runs())

    def list_runs(self) -> list:
        self.observe()
        return self.runs()

    def record_run(self, check_mode: bool = False) -> None:
        folders = [folder_plan["path"] for folder_plan in self.plan["folders"] if folder_plan.get("journal")]
        if self.run_id and folders:
            self.transport.record_run(self.run_id, self.stamp, folders, check_mode)

    def apply(self) -> Outcomes:
        """Record the run, then perform the plan (after ``make_plan``)."""
        self.record_run()
        return self.transport.sync_folders(self.plan, self.observations)

    def execute(self, check_mode: bool = False, diff: bool = False) -> dict:
        """After ``make_plan``: perform it (unless in check mode) and return the module result."""
        if check_mode:
            self.record_run(check_mode=True)
        outcomes = {} if check_mode else self.apply()
        return self.report(outcomes, check_mode, diff)

    def run(self, check_mode: bool = False, diff: bool = False) -> dict:
        """The module result of a whole sync (plan, then sync unless in check mode)."""
        self.make_plan()
        return self.execute(check_mode, diff)

    def report(self, outcomes: Outcomes, check_mode: bool, diff: bool) -> dict:
        result = finish_host(self.plan, outcomes, check_mode=check_mode, paths=self.paths)
        result["runs"] = self.runs() if self.rollback_run_id else []
        if self.rollback_run_id:
            result["rollback"] = rollback_summary(self.plan, self.rollback_run_id)
        warnings = self._warnings(result)
        if warnings:
            result["warnings"] = warnings
        if diff:
            entries = report_diff(self.plan)
            if entries:
                result["diff"] = entries
        return result

    def _warnings(self, result: dict) -> list:
        warnings = [
            "TDC conflict (tdc_conflicts=warn): %s: %s" % (item["path"], item["detail"])
            for item in result["unmanaged"]
            if item["reason"] == "tdc_conflict" and self.options["tdc_conflicts"] == "warn"
        ]
        warning = hand_edit_warning(result.get("rollback"))
        if warning:
            warnings.append(warning)
        return warnings


# ---------------------------------------------------------------------------------------------
# one folder's operations, in order (the POSIX worker runs this as the folder's owner; Windows on the controller)
# ---------------------------------------------------------------------------------------------

# What a folder I/O method returns when it did the work together with the next operation (win_file creates the
# missing parents with the innermost folder): the operation counts as done when that one is.
DONE_WITH_NEXT = "done with the next operation"


class OperationFailure(NamedTuple):
    """How a failed operation is reported: ``stops_folder``, the rest of the folder cannot follow (a folder-level
    step such as mkdir or the journal); ``recorded``, it also goes to the outcome's per-operation ``errors``."""

    message: str
    stops_folder: bool = False
    recorded: bool = True


class FolderIO(Protocol):
    """The I/O of one folder's operations. Each method returns True (done), False (nothing to do) or
    DONE_WITH_NEXT, or raises one of ``errors``, which ``failure`` turns into an OperationFailure."""

    errors: tuple

    def open(self) -> str | None:
        """Before the first change in an existing folder: check it is still the folder observed (None) or say why
        not (the folder fails, nothing changed there)."""

    def close(self) -> None: ...

    def failure(self, operation: dict, exc: Exception) -> OperationFailure: ...

    def mkdir(self, operation: dict, later: list) -> bool | str: ...

    def manifest(self, operation: dict, data: bytes) -> bool | str: ...


def perform_operations(operations: list, io: FolderIO, paths: Any, outcome: dict | None = None) -> dict:
    """Perform one folder's operations in order; a failed one is recorded and its file is left alone (its backup
    failed: not replaced; nothing may be lost), and the manifest keeps the failed names' previous entries.
    Returns (and fills, as it goes) ``{"done": [index], "errors": [{"index", "path", "msg"}], "error": str|None}``."""
    outcome = {"done": [], "errors": [], "error": None} if outcome is None else outcome
    failed_names, waiting = set(), []
    opened = False
    try:
        for index, operation in enumerate(operations):
            name = operation_name(operation, paths)
            if not opened and operation["op"] != "mkdir":
                opened = True
                outcome["error"] = _open_folder(io)
                if outcome["error"]:
                    return outcome
            try:
                if name is not None and name in failed_names:
                    continue
                done = _perform_one(io, operation, operations[index + 1 :], failed_names)
            except io.errors as exc:
                failure = io.failure(operation, exc)
                if failure.recorded:
                    where = operation.get("to") or operation["path"]
                    outcome["errors"].append({"index": index, "path": where, "msg": failure.message})
                if failure.stops_folder:
                    outcome["error"] = failure.message
                    return outcome
                if name is not None:
                    failed_names.add(name)
                continue
            if done == DONE_WITH_NEXT:
                waiting.append(index)
            elif done:
                outcome["done"].extend([*waiting, index])
                waiting = []
    finally:
        io.close()
    return outcome


def _open_folder(io: FolderIO) -> str | None:
    """Open the folder for its changes; any failure fails the folder as a whole (no change in it), never one
    operation: the operations after it would run without the folder's re-checked handle."""
    try:
        return io.open()
    except io.errors as exc:
        return "the folder cannot be opened (%s); nothing changed there" % exc


def _perform_one(io: FolderIO, operation: dict, later: list, failed_names: set) -> bool | str:
    kind = operation["op"]
    if kind == "mkdir":
        return io.mkdir(operation, later)
    if failed_names and (kind == "manifest" or (kind == "remove" and "previous" in operation)):
        # The files whose change failed keep their previous entries (a rollback's manifest removal too).
        return io.manifest(operation, manifest_after_failures(operation, failed_names))
    if kind == "manifest":
        return io.manifest(operation, operation["data"])
    return getattr(io, kind)(operation)
