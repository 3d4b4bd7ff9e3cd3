# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Run journals only root can write: one JSON file per run, ``<folder>/tabops-run-<run id>.json``, 0600 in a 0700
folder owned by the user running the module (root).

Two kinds (standard library only):

- ``TsmJournal`` on the tsm node: the value of each key a run set, before and after. It holds
  ``oauth.config.clients`` with client secrets, in clear on that host only.
- ``RunLog`` on every POSIX host: which runs wrote journals into which managed folders. Users can write the
  folders' own journals (they are in their trees), so the runs a rollback may choose by itself come from here.

The folder is opened component by component without following links; a folder another user could write to is
refused.
"""

from __future__ import annotations

import binascii
import contextlib
import json
import os
import stat

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._errors import TabopsError
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._run_id import (
    JOURNAL_PREFIX,
    is_run_id,
    is_stamp,
    run_id_problem,
)

DEFAULT_JOURNAL_DIR = "/var/lib/tabops-redshift-oauth/tsm-runs"
DEFAULT_RUN_LOG_DIR = "/var/lib/tabops-redshift-oauth/runs"
# macOS: /var is a link to /private/var (never followed here).
DARWIN_RUN_LOG_DIR = "/private/var/db/tabops-redshift-oauth/runs"
DEFAULT_JOURNAL_KEEP = 5
JOURNAL_SUFFIX = ".json"
MANAGED_BY = "tabops.redshift_oauth"
MAX_JOURNAL_BYTES = 4 << 20
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class RootJournalError(TabopsError):
    """The journal folder or a journal cannot be trusted or written; the message names the path."""


TsmJournalError = RootJournalError


def check_run_id(value, field):
    if not is_run_id(value):
        raise RootJournalError(run_id_problem(field, value))
    return value


class RootJournal:
    """A folder of run journals only root can write; ``entries`` of each journal are checked by ``check_entries``."""

    KIND = ""

    def __init__(self, path, keep=DEFAULT_JOURNAL_KEEP):
        if not isinstance(path, str) or not os.path.isabs(path) or os.path.normpath(path) != path:
            raise RootJournalError("journal_dir: %r must be an absolute, normalized path" % (path,))
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise RootJournalError("journal_keep: %r must be 1 or more (a run that can be rolled back)" % (keep,))
        self.path, self.keep = path, keep

    def _open(self, create, repair=True):
        """fd of the journal folder (None when it does not exist and ``create`` is false); ``repair``: a folder of this
        user open to others is made 0700 (else it is only let through, as write would repair it)."""
        fd = os.open("/", _DIR_FLAGS)
        try:
            parts = [part for part in self.path.split("/") if part]
            for index, part in enumerate(parts):
                try:
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        return None
                    with contextlib.suppress(FileExistsError):  # a concurrent run made it a moment ago
                        os.mkdir(part, 0o700, dir_fd=fd)
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    where = "/" + "/".join(parts[: index + 1])
                    raise RootJournalError(
                        "journal_dir %s: %s is not a folder that can be opened without following a link (%s)"
                        % (self.path, where, exc.strerror or exc)
                    ) from None
                os.close(fd)
                fd = child
                info = os.fstat(fd)
                # Every folder on the way: no other user may swap what comes next.
                if info.st_uid not in (0, os.geteuid()) or (
                    info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not info.st_mode & stat.S_ISVTX
                ):
                    raise RootJournalError(
                        "journal_dir %s: /%s can be written by other users; refused"
                        % (self.path, "/".join(parts[: index + 1]))
                    )
            info = os.fstat(fd)
            if info.st_uid != os.geteuid() or stat.S_IMODE(info.st_mode) & 0o077:
                if info.st_uid == os.geteuid():
                    if repair:
                        os.fchmod(fd, 0o700)
                else:
                    raise RootJournalError(
                        "journal_dir %s is owned by uid %d, not by uid %d; refused"
                        % (self.path, info.st_uid, os.geteuid())
                    )
            result, fd = fd, None
            return result
        finally:
            if fd is not None:
                os.close(fd)

    def check(self):
        """Raise RootJournalError when ``write`` would refuse the folder (check mode: nothing changes)."""
        fd = self._open(create=False, repair=False)
        if fd is not None:
            os.close(fd)

    @staticmethod
    def name(run_id):
        return JOURNAL_PREFIX + run_id + JOURNAL_SUFFIX

    def _read(self, fd, name):
        try:
            file_fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), dir_fd=fd)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise RootJournalError("journal %s/%s cannot be read: %s" % (self.path, name, exc.strerror)) from None
        try:
            info = os.fstat(file_fd)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_size > MAX_JOURNAL_BYTES:
                raise RootJournalError("journal %s/%s is not a regular file of this user; refused" % (self.path, name))
            data = os.read(file_fd, MAX_JOURNAL_BYTES + 1)
        finally:
            os.close(file_fd)
        return self.parse(data, "%s/%s" % (self.path, name))

    def read(self, run_id):
        """The journal of ``run_id`` or None."""
        fd = self._open(create=False)
        if fd is None:
            return None
        try:
            return self._read(fd, self.name(run_id))
        finally:
            os.close(fd)

    def runs(self):
        """[{"run_id", "stamp"}] newest first; journals that do not parse are skipped."""
        fd = self._open(create=False)
        if fd is None:
            return []
        try:
            found = []
            for name in os.listdir(fd):
                if not (name.startswith(JOURNAL_PREFIX) and name.endswith(JOURNAL_SUFFIX)):
                    continue
                try:
                    journal = self._read(fd, name)
                except RootJournalError:
                    continue
                if journal and self.name(journal["run_id"]) == name:
                    found.append(self.summary(journal))
            return sorted(found, key=lambda run: (run["stamp"], run["run_id"]), reverse=True)
        finally:
            os.close(fd)

    def summary(self, journal):
        """What ``runs`` says of one journal (never its values: a tsm journal holds secrets)."""
        return {"run_id": journal["run_id"], "stamp": journal["stamp"]}

    def merge(self, previous, entries):
        """The entries of a journal written again by the same run (a retry): by default the new ones."""
        return entries

    def write(self, run_id, stamp, entries):
        """Write (atomically) the journal of ``run_id`` (a journal of the same run from an earlier try keeps its stamp
        and is merged, see ``merge``). Then only the newest ``keep`` journals stay."""
        fd = self._open(create=True)
        try:
            name = self.name(run_id)
            previous = self._read(fd, name)
            if previous:
                stamp = previous["stamp"]
                entries = self.merge(previous["entries"], entries)
            document = {"managed_by": MANAGED_BY, "kind": self.KIND, "run_id": run_id, "stamp": stamp}
            document["entries"] = entries
            data = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")
            temp = ".tabops-tmp-" + binascii.hexlify(os.urandom(8)).decode("ascii")
            file_fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=fd)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(file_fd, view) :]
                os.fsync(file_fd)
            finally:
                os.close(file_fd)
            try:
                os.rename(temp, name, src_dir_fd=fd, dst_dir_fd=fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp, dir_fd=fd)
                raise
            os.fsync(fd)
        finally:
            os.close(fd)
        for run in self.runs()[self.keep :]:
            self.remove(run["run_id"])
        return "%s/%s" % (self.path, self.name(run_id))

    def remove(self, run_id):
        fd = self._open(create=False)
        if fd is None:
            return
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.name(run_id), dir_fd=fd)
        finally:
            os.close(fd)

    def check_entries(self, entries, where):
        if not isinstance(entries, dict):
            raise RootJournalError("journal %s has no entries" % where)
        return entries

    def parse(self, data, where):
        """Journal bytes -> {"run_id", "stamp", "entries"}."""
        if len(data) > MAX_JOURNAL_BYTES:
            raise RootJournalError("journal %s is too large" % where)
        try:
            document = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise RootJournalError("journal %s is not valid JSON" % where) from None
        if (
            not isinstance(document, dict)
            or document.get("managed_by") != MANAGED_BY
            or document.get("kind") != self.KIND
            or not is_run_id(document.get("run_id"))
            or not is_stamp(document.get("stamp"))
        ):
            raise RootJournalError("journal %s is not a %s run journal of %s" % (where, self.KIND, MANAGED_BY))
        entries = self.check_entries(document.get("entries"), where)
        return {"run_id": document["run_id"], "stamp": document["stamp"], "entries": entries}


class TsmJournal(RootJournal):
    """On the tsm node: per run, each key's value before the run and the value set (``kind``: what the value is,
    ``oauth_clients`` values hold secrets)."""

    KIND = "tsm"

    def __init__(self, path=DEFAULT_JOURNAL_DIR, keep=DEFAULT_JOURNAL_KEEP):
        super().__init__(path, keep)

    def merge(self, previous, entries):
        # A retry keeps the values from before its first try: they are the state before the run.
        merged = dict(entries)
        for key, entry in previous.items():
            merged[key] = dict(merged[key], before=entry["before"]) if key in merged else entry
        return merged

    def check_entries(self, entries, where):
        keys = {}
        for key, entry in super().check_entries(entries, where).items():
            if (
                not isinstance(entry, dict)
                or not isinstance(entry.get("before"), str)
                or not isinstance(entry.get("after"), str)
            ):
                raise RootJournalError("journal %s: key %s has no before and after values" % (where, key))
            keys[key] = {
                "before": entry["before"],
                "after": entry["after"],
                "force_keys": bool(entry.get("force_keys")),
                "kind": str(entry.get("kind") or ""),
            }
        return keys


class RunLog(RootJournal):
    """On a POSIX host: per run, the managed folders it wrote a journal in."""

    KIND = "files"

    def __init__(self, path=DEFAULT_RUN_LOG_DIR, keep=DEFAULT_JOURNAL_KEEP):
        super().__init__(path, keep)

    def merge(self, previous, entries):
        return {"folders": sorted(set(previous.get("folders", [])) | set(entries.get("folders", [])))}

    def summary(self, journal):
        return dict(super().summary(journal), folders=journal["entries"]["folders"])

    def check_entries(self, entries, where):
        entries = super().check_entries(entries, where)
        folders = entries.get("folders")
        if not isinstance(folders, list) or not all(isinstance(folder, str) for folder in folders):
            raise RootJournalError("journal %s: folders must be a list of paths" % where)
        return {"folders": folders}
