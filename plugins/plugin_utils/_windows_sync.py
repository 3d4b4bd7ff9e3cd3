# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Windows host side of the ``tableau_files`` action, through ``ansible.windows`` modules only.

The action plugin calls :func:`sync` for a Windows host instead of the POSIX module. The decisions
(what is compliant, what drifted, what is owned, stale or in conflict, which operations to run) are made
by the same pure planner as on Linux and macOS (``plugins/module_utils/_sync/_plan.py``); this file
only observes the host, hands the observations to the planner and performs the operations it returns.

Round trips (each one ``action._execute_module`` call):

1. one ``ansible.windows.win_find`` over the parents of all managed folders (depth 3: the folders, their
   files, their ``.tabops-backups``) with sha256 checksums; a second, cheap one only when a repository
   folder does not exist yet (to know which missing folders a real run creates);
2. ``ansible.windows.slurp`` only for what must be read: a manifest whose checksum is not the one the
   planner would write, a desired file whose checksum differs from the desired bytes, an owned file that
   is no longer desired, and unmanaged files of the folder's kind (``*.xml`` in OAuthConfigs, ``*.tdc`` in
   Datasources: conflict scan); never a link (slurp follows it) nor a file win_find could not checksum (locked);
3. only on a real run with changes: per folder that already existed, one ``win_find`` re-check just before its
   first write (the folder is still a real folder, the owned files to remove still have the sha256 the manifest
   recorded), then ``win_file`` (mkdir, remove) and ``win_copy`` (backup, write, manifest) per planned operation.
   Check mode issues none of them.
4. run journals (``_sync/_journal.py``): a rollout slurps a folder's ``tabops-run-*.json`` only when it changes
   that folder (a run that changes nothing stays one ``win_find``) and writes this run's journal with ``win_copy``
   before the folder's first file operation; a rollback slurps its run's journal and the backups it names.

Links and junctions (docs/modules.md, "Windows hosts"): nothing is written or removed in a folder that this run's
``win_find`` did not see as a real folder (or that this run did not create), and an owned file that is no longer
desired is removed only while its sha256 is the one the manifest recorded (our own bytes). What the ansible.windows
modules cannot close is the moment between the re-check and the call: a junction swapped in there redirects a
write of our content (or a backup copy of the file's current bytes), or the delete of a file with our managed name.

No hand-written PowerShell: every host call is a module of ``ansible.windows``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ntpath
import re

from ansible.errors import AnsibleConnectionFailure, AnsibleError

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._errors import TabopsError
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync import _journal, _plan
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._engine import (
    DONE_WITH_NEXT,
    OperationFailure,
    SyncEngine,
    perform_operations,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._name_collisions import collisions, ntfs_fold
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._profile import as_bool

WIN_FIND = "ansible.windows.win_find"
SLURP = "ansible.windows.slurp"
WIN_COPY = "ansible.windows.win_copy"
WIN_FILE = "ansible.windows.win_file"
WRITE_MODULES = frozenset({WIN_COPY, WIN_FILE})

MANIFEST_NAME = _plan.MANIFEST_NAME
BACKUP_DIR_NAME = _plan.BACKUP_DIR_NAME
TEMP_PREFIX = _plan.TEMP_PREFIX
MAX_DOCUMENT_BYTES = _plan.MAX_DOCUMENT_BYTES
MAX_JOURNALS_READ_BYTES = _journal.MAX_JOURNALS_READ_BYTES
# Windows' MAX_PATH is 260 characters including the terminating NUL; a folder must leave room for an
# 8.3 name (248). Longer paths get the \\?\ prefix, which .NET Framework 4.6.2+ and PowerShell 5.1 (what
# ansible.windows runs on) accept for every file API the modules use, without the LongPathsEnabled policy.
LONG_PATH_LIMIT = 248
LONG_PATH_PREFIX = "\\\\?\\"
# What win_find must return besides the managed folders themselves (matched by their names): their documents,
# manifest, temp files and backups.
FIND_PATTERNS = (
    r"^\.tabops-backups$",
    r"^\.tabops-managed\.json$",
    r"^\.tabops-tmp-",
    r"\.(xml|tdc)$",
    r"\.(xml|tdc)\.\d{8}T\d{6}Z(\.\d+)?$",
    "^" + _journal.JOURNAL_PREFIX + r"[A-Za-z0-9][A-Za-z0-9._-]*\.json$",  # a journal (its prefix: letters, '-')
)


class WindowsHostUnreachable(TabopsError):
    """The connection to the host broke; ``result`` is what the action returns (``unreachable: true``)."""


class WindowsModuleFailed(TabopsError):
    """An ansible.windows module failed on the host; the message names the module and the path."""


def long_path(path, scan_root=False):
    """The path as the modules must get it: with the \\\\?\\ prefix when it is too long for MAX_PATH.

    A scan root (``win_find`` ``paths``) always gets it: .NET Framework builds the full path of every entry it
    enumerates below the root, matched or not, and one name there may be 255 characters, so anything below a root
    can pass MAX_PATH (a PathTooLongException fails the whole scan). Its results then come back with the prefix
    (``FullName``); every comparison goes through :func:`plain_path`.
    """
    if path.startswith(LONG_PATH_PREFIX) or (len(path) < LONG_PATH_LIMIT and not scan_root):
        return path
    # The prefix turns off Win32 normalisation: the path must be absolute, with backslashes and no . or .. parts.
    path = ntpath.normpath(path)
    if path.startswith("\\\\"):
        return LONG_PATH_PREFIX + "UNC\\" + path[2:]
    return LONG_PATH_PREFIX + path


def plain_path(path):
    """A path as reported by the modules, without the long-path prefix (results use plain paths)."""
    if path[: len(LONG_PATH_PREFIX) + 4].upper() == LONG_PATH_PREFIX + "UNC\\":
        return "\\\\" + path[len(LONG_PATH_PREFIX) + 4 :]
    if path.startswith(LONG_PATH_PREFIX):
        return path[len(LONG_PATH_PREFIX) :]
    return path


def regex_literal(name):
    """A file name as a win_find regex (.NET): only the metacharacters escaped, the same in Python's re."""
    return re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", name)


def _key(path):
    # NTFS names are case-insensitive: OAuthConfigs\Custom.XML is the file desired as custom.xml.
    return ntfs_fold(plain_path(path))


class WindowsHost:
    """Every host call of one sync: counts them, stops at an unreachable host, refuses writes in check mode."""

    def __init__(self, action, task_vars):
        self.action = action
        self.task_vars = task_vars
        self.check_mode = bool(getattr(action._task, "check_mode", False))
        self.calls = []
        self._tmpdir = None
        self._made_tmpdir = False
        self._staged = 0

    def run(self, module_name, module_args):
        if self.check_mode and module_name in WRITE_MODULES:
            # Defence in depth: the planner's operations are never performed in check mode.
            raise AssertionError("check mode must not call %s" % module_name)
        self.calls.append(module_name)
        try:
            result = self.action._execute_module(
                module_name=module_name, module_args=module_args, task_vars=self.task_vars
            )
        except AnsibleConnectionFailure as exc:
            raise WindowsHostUnreachable(str(exc)) from None
        except AnsibleError as exc:
            # For example the module is not found: ansible.windows is a dependency of this collection.
            raise WindowsModuleFailed(
                "%s: %s (is the ansible.windows collection installed?)" % (module_name, exc)
            ) from None
        if result.get("unreachable"):
            raise WindowsHostUnreachable(result.get("msg") or "host unreachable")
        return result

    def checked(self, module_name, module_args, what):
        result = self.run(module_name, module_args)
        if result.get("failed"):
            raise WindowsModuleFailed("%s failed for %s: %s" % (module_name, what, result.get("msg") or "no message"))
        return result

    def stage(self, data):
        """Put bytes in the connection's remote temp folder (an ASCII name); returns the remote path."""
        if self._tmpdir is None:
            self._tmpdir = getattr(self.action._connection._shell, "tmpdir", None)
            if not self._tmpdir:
                try:
                    self._tmpdir = self.action._make_tmp_path()
                except AnsibleConnectionFailure as exc:
                    raise WindowsHostUnreachable(str(exc)) from None
                self._made_tmpdir = True
        self._staged += 1
        remote = self.action._connection._shell.join_path(self._tmpdir, "tabops-%d.bin" % self._staged)
        try:
            self.action._transfer_data(remote, data)
        except AnsibleConnectionFailure as exc:
            raise WindowsHostUnreachable(str(exc)) from None
        self.calls.append("transfer")
        return remote

    def cleanup(self):
        if self._made_tmpdir and self._tmpdir:
            # A host that went away keeps its temp folder; Windows cleans %TEMP% itself.
            with contextlib.suppress(AnsibleConnectionFailure):
                self.action._remove_tmp_path(self._tmpdir)


# ---------------------------------------------------------------------------------------------
# observing
# ---------------------------------------------------------------------------------------------


def _find(host, paths, **options):
    args = {
        "paths": [long_path(path, scan_root=True) for path in paths],
        "hidden": True,
        "file_type": "any",
        "get_checksum": False,
    }
    args.update(options)
    result = host.checked(WIN_FIND, args, ", ".join(paths))
    return result.get("files") or []


def _entry_type(found):
    if found.get("islnk") or found.get("isjunction"):
        return "symlink"
    if found.get("isdir"):
        return "directory"
    if found.get("isreg") or found.get("exists"):
        return "file"
    return "other"


# win_find checksums with -ErrorAction SilentlyContinue: a file it cannot open (another program holds it without
# sharing, access denied) comes back with checksum null. That is "unknown", never "different": the file is an error
# for this run (not read, not backed up, not replaced or removed) and the next run decides again.
UNREADABLE = "cannot be read: win_find returned no sha256 (locked by another program, or access denied); left as it is"


def _entry_observation(found):
    """One entry of a win_find that asked for checksums (observe's scan)."""
    kind = _entry_type(found)
    sha256 = found.get("checksum") if kind == "file" else None
    return {
        "type": kind,
        "data": None,
        "sha256": sha256,
        "problem": UNREADABLE if kind == "file" and sha256 is None else None,
        "uid": None,
        "gid": None,
        # Windows files carry ACLs inherited from the profile folder, not POSIX owners and modes. The file owner
        # is whoever wrote it (the connecting admin), which says nothing about who may read it: not compared.
        "owner": None,
        "group": None,
        "mode": None,
        "nlink": int(found.get("nlink") or 1),
        "identity": (_key(found["path"]), found.get("creationtime"), found.get("lastwritetime"), found.get("size")),
        "size": found.get("size"),
    }


def _missing_folders(folder, existing):
    """Folders to create, outermost first, given the set of existing folder keys."""
    missing = []
    current = folder
    while _key(current) not in existing:
        missing.append(current)
        parent = ntpath.dirname(current)
        if parent == current:
            break
        current = parent
    return list(reversed(missing))


def _probe_existing(host, folders):
    """Which ancestors of missing repositories exist: one non-recursive win_find over their parents."""
    wanted = {}
    for folder in folders:
        current = folder
        while True:
            parent = ntpath.dirname(current)
            if parent == current:
                break
            wanted.setdefault(parent, set()).add(ntpath.basename(current))
            current = parent
    names = sorted({name for children in wanted.values() for name in children})
    found = _find(
        host,
        sorted(wanted),
        file_type="directory",
        use_regex=True,
        patterns=["^%s$" % regex_literal(name) for name in names],
    )
    existing = {_key(ntpath.splitdrive(folder)[0] + "\\") for folder in folders}
    # A junction above the repository (a redirected Documents) exists: it is not created, and win_find and
    # win_file go through it like Tableau does.
    existing |= {_key(item["path"]) for item in found}
    return existing


def observe(host, declared_folders, desired_files, candidate_manifests):
    """One FolderObservation per managed folder (see docs/design.md), from win_find and slurp results.

    ``desired_files``: ``{folder key: {name: desired bytes}}``; ``candidate_manifests``: ``{folder key:
    bytes}``, the manifest the planner writes when everything already matches (a manifest with that
    checksum needs no read).
    """
    folders = [d["path"] for d in declared_folders]
    kinds = {_key(d["path"]): d.get("kind") for d in declared_folders}
    by_parent = _scan(host, folders)
    observations = _folder_states(host, folders, by_parent)
    reads = []
    for folder in folders:
        observation = observations[folder]
        observation.update(backups=[], temp_files=[], entries={}, backups_problem=None)
        if observation["state"] == "present":
            desired = desired_files.get(_key(folder), {})
            manifest_item = _sort_folder_items(observation, by_parent.get(_key(folder), []), desired)
            _note_backups(observation, by_parent.get(_key(ntpath.join(folder, BACKUP_DIR_NAME)), []))
            candidate = candidate_manifests.get(_key(folder))
            reads += _reads_needed(folder, observation, manifest_item, candidate, desired, kinds.get(_key(folder)))
    _read_all(host, observations, reads)
    for folder in folders:
        _take_manifest_names(observations[folder], desired_files.get(_key(folder), {}))
    return observations


def _scan(host, folders):
    """One win_find over the parents of every folder: {parent key: [entries found in it]}."""
    parents = sorted({ntpath.dirname(path) for path in folders}, key=_key)
    found = _find(
        host,
        parents,
        recurse=True,
        depth=3,
        get_checksum=True,
        checksum_algorithm="sha256",
        use_regex=True,
        patterns=sorted({"^%s$" % regex_literal(ntpath.basename(path)) for path in folders}) + list(FIND_PATTERNS),
    )
    by_parent = {}
    for item in found:
        by_parent.setdefault(_key(ntpath.dirname(item["path"])), []).append(item)
    return by_parent


def _kind_text(kind):
    return "link or junction" if kind == "symlink" else kind


def _folder_states(host, folders, by_parent):
    """{folder: observation with its state}; an absent folder also lists the folders a real run creates."""
    folder_items = {}
    for folder in folders:
        for item in by_parent.get(_key(ntpath.dirname(folder)), []):
            folder_items[_key(item["path"])] = item
    observations = {}
    for folder in folders:
        item = folder_items.get(_key(folder))
        kind = None if item is None else _entry_type(item)
        state, detail = "present", ""
        if item is None:
            state = "absent"
        elif kind != "directory":
            state, detail = "refused", "is a %s, not a real folder" % _kind_text(kind)
        observations[folder] = {"state": state, "detail": detail, "missing": [], "manifest": None}
    absent = [folder for folder in folders if observations[folder]["state"] == "absent"]
    if absent:
        parents = {_key(ntpath.dirname(folder)) for folder in folders}
        existing = {parent for parent in parents if by_parent.get(parent)} | set(folder_items)
        unknown = [folder for folder in absent if _key(ntpath.dirname(folder)) not in existing]
        if unknown:
            existing |= _probe_existing(host, [ntpath.dirname(folder) for folder in unknown])
        for folder in absent:
            observations[folder]["missing"] = _missing_folders(folder, existing)
    return observations


def _sort_folder_items(observation, items, desired):
    """Fill the observation's entries and temp files from what win_find found in the folder; returns the
    manifest's win_find entry (None: no manifest)."""
    desired_by_key = {ntfs_fold(name): name for name in desired}
    manifest_item = None
    for item in items:
        name = ntpath.basename(plain_path(item["path"]))
        if name.lower() == BACKUP_DIR_NAME:
            if _entry_type(item) == "directory":
                observation["_backups_dir_real"] = True
            else:
                # A link or junction here would send the backups (client secrets) somewhere else.
                observation["backups_problem"] = "is a %s, not a real folder (not followed)" % _kind_text(
                    _entry_type(item)
                )
        elif name.lower() == MANIFEST_NAME:
            manifest_item = item
        elif name.startswith(TEMP_PREFIX):
            observation["temp_files"].append(name)
        elif re.search(r"\.(xml|tdc)$", name, re.IGNORECASE) is not None:
            # Report desired files under their declared spelling (NTFS is case-insensitive).
            name = desired_by_key.get(ntfs_fold(name), name)
            observation["entries"][name] = _entry_observation(item)
    observation["temp_files"].sort()
    return manifest_item


def _note_backups(observation, items):
    """The names (and sizes) in the folder's .tabops-backups; links there are never read."""
    for item in items:
        name = ntpath.basename(plain_path(item["path"]))
        observation["backups"].append(name)
        if _entry_type(item) != "file":
            # slurp follows links: a link planted here is never read (nor a journal parsed from it).
            observation.setdefault("backup_links", []).append(name)
        # Sizes bound what a journal or backup read may cost (slurp returns it all, base64).
        observation.setdefault("backup_sizes", {})[name] = item.get("size")
    observation["backups"].sort()


def _reads_needed(folder, observation, manifest_item, candidate, desired, kind):
    """The slurps this folder needs: [(folder, file name or None, manifest win_find entry or None)]."""
    reads = []
    if manifest_item is not None:
        manifest = _entry_observation(manifest_item)
        if manifest["type"] != "file":
            observation["manifest"] = {"problem": "is not a regular file"}
        elif candidate is not None and manifest["sha256"] == hashlib.sha256(candidate).hexdigest():
            observation["manifest"] = {"data": candidate}
        else:
            reads.append((folder, None, manifest_item))
    for name, data in desired.items():
        entry = observation["entries"].get(name)
        if entry is None:
            observation["entries"][name] = _plan.absent_entry()
        elif entry["type"] == "file" and not entry["problem"] and entry["sha256"] != hashlib.sha256(data).hexdigest():
            reads.append((folder, name, None))
    suffix = _plan.KIND_SUFFIX.get(kind, "")
    for name, entry in observation["entries"].items():
        # Owned but no longer desired (backup and diff), or unmanaged of the folder's kind (conflict scan): read
        # it. Other files a real repository keeps here (a Datasources folder full of .xml of other kinds) cost
        # nothing: the planner looks only at the folder's own suffix.
        if name not in desired and entry["type"] == "file" and not entry["problem"] and name.lower().endswith(suffix):
            reads.append((folder, name, None))
    return reads


def _read_all(host, observations, reads):
    for folder, name, manifest_item in reads:
        observation = observations[folder]
        if manifest_item is not None:
            data, problem = _read(host, manifest_item["path"], manifest_item.get("size"))
            observation["manifest"] = {"problem": problem} if problem else {"data": data}
            continue
        entry = observation["entries"][name]
        entry["data"], entry["problem"] = _read(host, ntpath.join(folder, name), entry.get("size"))


def _take_manifest_names(observation, desired):
    """Names the manifest lists but the folder no longer has: the planner drops them from the manifest. A name whose
    case changed on disk (NTFS is case-insensitive) is the same file: it takes the manifest's spelling, so a stale
    owned file is still found and removed, and not reported as unmanaged."""
    desired_keys = {ntfs_fold(name) for name in desired}
    for name in _manifest_names(observation.get("manifest")):
        if name not in observation["entries"] and ntfs_fold(name) not in desired_keys:
            spelled = [other for other in observation["entries"] if ntfs_fold(other) == ntfs_fold(name)]
            if len(spelled) == 1:
                observation["entries"][name] = observation["entries"].pop(spelled[0])
        observation["entries"].setdefault(name, _plan.absent_entry())
    for entry in observation["entries"].values():
        entry.pop("size", None)


def _manifest_names(manifest):
    if not manifest or "data" not in manifest:
        return []
    try:
        return list(_plan.parse_manifest(manifest["data"], ""))
    except _plan.SyncError:
        return []  # the planner refuses the folder: a manifest it cannot trust owns no names


def _read(host, path, size, limit=MAX_DOCUMENT_BYTES):
    """(bytes, None) or (None, problem), like the POSIX module's bounded read."""
    if size is not None and int(size) > limit:
        return None, "is larger than %d KiB" % (limit // 1024)
    result = host.run(SLURP, {"src": long_path(path)})
    if result.get("failed"):
        return None, "cannot be read: %s" % (result.get("msg") or "slurp failed")
    try:
        data = base64.b64decode(result.get("content") or "", validate=True)
    except ValueError:
        return None, "cannot be read: slurp returned no base64 content"
    if len(data) > limit:
        return None, "is larger than %d KiB" % (limit // 1024)
    return data, None


BOOL_OPTIONS = {"backup": True, "list_runs": False, "rollback_force": False}


def _read_backups(host, folder, observation, names, limit):
    """{name: (bytes, None) or (None, problem)} of files in the folder's .tabops-backups, within one budget of
    MAX_JOURNALS_READ_BYTES for them all; never a link (slurp follows it)."""
    sizes = observation.get("backup_sizes") or {}
    budget = MAX_JOURNALS_READ_BYTES
    found = {}
    for name in names:
        size = sizes.get(name)
        if name in (observation.get("backup_links") or []):
            found[name] = None, "not read: it is a link or junction (not followed)"
        elif size is None or int(size) > budget:
            found[name] = (
                None,
                (
                    "not read: its size is unknown or over what is left of %d MiB for the folder's journals"
                    % (MAX_JOURNALS_READ_BYTES >> 20)
                ),
            )
        else:
            budget -= int(size)
            found[name] = _read(host, ntpath.join(folder, BACKUP_DIR_NAME, name), size, limit)
    return found


def read_journals(host, folder, observation, run_id=None):
    """Slurp the run journals of one observed folder into ``observation["journals"]`` (only ``run_id``'s when
    given). Costs one slurp per journal, so a rollout reads them only for a folder it changes."""
    journals = observation.setdefault("journals", {})
    names = [
        name
        for name in observation.get("backups") or []
        if _journal.journal_run_id(name) and (run_id is None or name == _journal.journal_name(run_id))
    ]
    for name, (data, problem) in _read_backups(host, folder, observation, names, _journal.MAX_JOURNAL_BYTES).items():
        journals[name] = {"problem": problem} if problem else {"data": data, "identity": None}
    return journals


def read_rollback_backups(host, folder, observation, run_id):
    """The backups the journal of ``run_id`` names, into ``observation["backup_data"]`` (each read once); one that
    cannot be read is reported by the planner as a backup that could not be read."""
    found = _journal.observed_journals(dict(observation, path=folder), ntpath).get(run_id) or {}
    wanted = {
        record["before"].get("backup")
        for record in (found.get("files") or {}).values()
        if record["before"].get("backup") in (observation.get("backups") or [])
    }
    data_by_name = observation.setdefault("backup_data", {})
    for name, (data, _problem) in _read_backups(host, folder, observation, sorted(wanted), MAX_DOCUMENT_BYTES).items():
        if data is not None:
            data_by_name[name] = data


# ---------------------------------------------------------------------------------------------
# performing the planner's operations
# ---------------------------------------------------------------------------------------------


class Performer:
    """Runs the planner's operations with win_file / win_copy and records, per folder, what was done."""

    def __init__(self, host, observations):
        self.host = host
        # Folders seen as real folders (not links or junctions) by this run's win_find, and those this run created:
        # the only parents a write or remove may go to.
        self.known_dirs = set()
        self.links = set()
        self.present = set()
        self.rechecked = {}
        self.folder, self.operations = None, []
        for folder, observation in observations.items():
            if observation.get("state") == "present":
                self.known_dirs.add(_key(folder))
                self.present.add(_key(folder))
                if observation.get("_backups_dir_real"):
                    self.known_dirs.add(_key(ntpath.join(folder, BACKUP_DIR_NAME)))
            for name, entry in (observation.get("entries") or {}).items():
                if entry.get("type") == "symlink":
                    self.links.add(_key(ntpath.join(folder, name)))

    def _require_real_parent(self, path):
        parent = ntpath.dirname(path)
        if _key(parent) not in self.known_dirs:
            raise WindowsModuleFailed(
                "refused: %s was not seen as a real folder in this run (a link or junction is not followed); "
                "nothing written or removed there" % parent
            )

    def recheck(self, folder, operations):
        """Just before the first write into a folder that existed: one win_find confirming it is still a real folder,
        with the sha256 of the owned files about to be removed. Raises WindowsModuleFailed when it is not."""
        removals = sorted({ntpath.basename(op["path"]) for op in operations if op["op"] == "remove"})
        names = [ntpath.basename(folder), BACKUP_DIR_NAME, *removals]
        found = _find(
            self.host,
            [ntpath.dirname(folder)],
            recurse=True,
            depth=2,
            get_checksum=bool(removals),
            checksum_algorithm="sha256",
            use_regex=True,
            patterns=["^%s$" % regex_literal(name) for name in names],
        )
        items = {_key(item["path"]): item for item in found}
        item = items.get(_key(folder))
        if item is None or _entry_type(item) != "directory":
            self.known_dirs.discard(_key(folder))
            kind = (
                "gone" if item is None else "a %s" % ("link or junction" if _entry_type(item) == "symlink" else "file")
            )
            raise WindowsModuleFailed(
                "refused: %s is now %s, not the real folder this run observed; nothing written there" % (folder, kind)
            )
        backups = ntpath.join(folder, BACKUP_DIR_NAME)
        backups_item = items.get(_key(backups))
        if backups_item is not None and _entry_type(backups_item) != "directory":
            self.known_dirs.discard(_key(backups))
            raise WindowsModuleFailed(
                "refused: %s is now a link or junction, not a real folder; nothing written in %s" % (backups, folder)
            )
        if backups_item is None:
            self.known_dirs.discard(_key(backups))  # gone since the observation: created again if needed
        for name in removals:
            self.rechecked[_key(ntpath.join(folder, name))] = items.get(_key(ntpath.join(folder, name)))

    def perform_folder(self, operations, outcome, folder=None):
        """Perform one folder's operations in order (the engine's perform_operations, with this as its FolderIO);
        a failed one is recorded and its file is left alone.

        Raises WindowsHostUnreachable (``outcome`` then holds what was done so far).
        """
        self.folder, self.operations = folder, operations
        perform_operations(operations, self, ntpath, outcome)

    # FolderIO (module_utils/_sync/_engine.py)
    errors = (WindowsModuleFailed,)

    def open(self):
        if self.folder is None or _key(self.folder) not in self.present:
            return None
        try:
            self.recheck(self.folder, self.operations)
        except WindowsModuleFailed as exc:
            return str(exc)
        return None

    def close(self):
        """Nothing held open: every call names its path."""

    def failure(self, operation, exc):
        # A folder-level step failed (mkdir, manifest, journal): the rest of this folder cannot follow.
        return OperationFailure(str(exc), stops_folder=_plan.operation_name(operation, ntpath) is None)

    def mkdir(self, op, later):
        if any(_key(other["path"]).startswith(_key(op["path"]) + "\\") for other in later if other["op"] == "mkdir"):
            # win_file creates missing parents with the innermost folder: one call, not one per level.
            return DONE_WITH_NEXT
        self._mkdir(op["path"])
        return True

    def manifest(self, op, data):
        self._write(op["path"], data)
        return True

    def _mkdir(self, path):
        if _key(path) in self.known_dirs:
            return
        if any(_key(path).startswith(_key(folder) + "\\") for folder in self.present):
            # Inside a managed folder (its .tabops-backups): only below a folder this run saw as a real folder.
            self._require_real_parent(path)
        self.host.checked(WIN_FILE, {"path": long_path(path), "state": "directory"}, path)
        current = path
        while _key(current) not in self.known_dirs and ntpath.dirname(current) != current:
            self.known_dirs.add(_key(current))
            current = ntpath.dirname(current)

    def _copy_remote(self, src, dest):
        # win_copy with remote_src (the module argument _copy_mode=remote is what win_copy's own action sends
        # for remote_src=true): it compares checksums, then replaces dest with Remove-Item + Copy-Item of a
        # file on the same host. No ansible.windows module renames a file over another, so the replace is not
        # one atomic rename; the old bytes are backed up first and the manifest is written last, so an
        # interrupted write leaves a missing or drifted file that the next run detects and converges.
        self.host.checked(
            WIN_COPY,
            {"src": long_path(src), "dest": long_path(dest), "_copy_mode": "remote", "force": True},
            dest,
        )

    def _write(self, path, data):
        self._require_real_parent(path)
        staged = self.host.stage(data)
        self._copy_remote(staged, path)

    def backup(self, op):
        if op.get("type") == "symlink" or _key(op["path"]) in self.links:
            # win_copy would copy what the link points to; a link holds no document of ours worth keeping.
            return False
        self._require_real_parent(op["path"])
        self._mkdir(ntpath.dirname(op["to"]))
        self._require_real_parent(op["to"])
        self._copy_remote(op["path"], op["to"])
        return True

    def write(self, op):
        if _key(op["path"]) in self.links:
            # win_copy would write through a link (into the folder a directory link points to): the link goes
            # first (win_file removes the link itself, never what it points to), then the file is written.
            self._remove(op["path"], link=True)
        self._write(op["path"], op["data"])
        return True

    def journal(self, op):
        # Before any file of the folder changes; a failure stops the folder (perform_folder: no file name).
        self._mkdir(ntpath.dirname(op["path"]))
        self._write(op["path"], op["data"])
        return True

    def attributes(self, op):
        # Windows files carry ACLs inherited from the profile; no mode or POSIX owner is observed, so the
        # planner never plans this for Windows. Nothing to do if it ever does.
        return False

    def _remove(self, path, link=False):
        self._require_real_parent(path)
        result = self.host.checked(WIN_FILE, {"path": long_path(path), "state": "absent"}, path)
        if link and not result.get("changed"):
            # win_file tests Test-Path, which follows links: a DANGLING link is "not there" for it and stays. A write
            # would then go through it (File.Copy creates the link's target), so nothing is written at this path.
            raise WindowsModuleFailed(
                "refused: %s is a dangling link or junction that win_file cannot remove (it follows links); nothing "
                "written there: remove the link by hand" % path
            )
        return True

    def remove(self, op):
        # An owned file that is no longer desired: removed only while it still holds the bytes we wrote.
        expected = op.get("sha256")
        if _key(op["path"]) in self.rechecked:
            now = self.rechecked[_key(op["path"])]
            if now is None:
                return True  # already gone: nothing to remove
            if _entry_type(now) == "file" and (expected is None or now.get("checksum") != expected):
                raise WindowsModuleFailed(
                    "not removed: %s changed since it was checked (sha256 is not the one the manifest recorded)"
                    % op["path"]
                )
        return self._remove(op["path"], link=_key(op["path"]) in self.links)

    def remove_backup(self, op):
        return self._remove(op["path"])

    def remove_temp(self, op):
        return self._remove(op["path"])


# ---------------------------------------------------------------------------------------------
# the entry point the action calls
# ---------------------------------------------------------------------------------------------


def _candidate_manifests(desired, dirs):
    """Per folder, the manifest the planner writes when every desired file already has the desired bytes."""
    candidates = {}
    for directory in dirs:
        files = {
            item["name"]: {
                "kind": item["kind"],
                "artifact": item["artifact"],
                "sha256": _plan.sha256_bytes(item["data"]),
            }
            for item in desired
            if item["dir"] == directory["path"]
        }
        candidates[_key(directory["path"])] = _plan.render_manifest(files).encode("ascii")
    return candidates


def _case_collisions(desired, dirs):
    """The problem when two desired files (or managed folders) differ only by case: on NTFS they are one file."""
    problems = []
    for what, items, label in (("files", desired, "files[%d].path"), ("folders", dirs, None)):
        names = [
            label % item["index"] if label and "index" in item else "%s[%d].path" % (what, position)
            for position, item in enumerate(items)
        ]
        paths = [item["path"] for item in items]
        problems.extend(
            "%s %s and %s %s differ only by case; Windows file names are case-insensitive, so they are the "
            "same %s: give them names that differ by more than case"
            % (names[first], paths[first], names[later], paths[later], "file" if what == "files" else "folder")
            for first, later in collisions(paths, _key)
        )
    return "; ".join(problems) or None


class WindowsTransport:
    """The Windows transport of the sync engine (module_utils/_sync/_engine.py): every host call is a module
    of ``ansible.windows`` run from the action. ``unreachable`` says why the host went away while writing."""

    paths = ntpath
    # Windows files carry ACLs inherited from the profile folder, not POSIX owners: owners are not resolved.
    resolve_user = None
    resolve_group = None
    # Between win_find's re-check and win_file's delete nothing holds the file: a stale one goes only with our bytes.
    remove_only_recorded = True

    def __init__(self, host, read_all_journals=False):
        self.host = host
        self.read_all_journals = read_all_journals
        self.unreachable = None

    def accept(self, desired, dirs):
        collision = _case_collisions(desired, dirs)
        if collision:
            raise _plan.SyncError(collision)

    def observe(self, dirs, desired, rollback_run_id):
        desired_bytes = {}
        for item in desired:
            desired_bytes.setdefault(_key(item["dir"]), {})[item["name"]] = item["data"]
        observations = observe(self.host, dirs, desired_bytes, _candidate_manifests(desired, dirs))
        if self.read_all_journals or rollback_run_id:
            for folder, observation in observations.items():
                if observation.get("state") == "present":
                    read_journals(self.host, folder, observation, rollback_run_id)
                    if rollback_run_id:
                        read_rollback_backups(self.host, folder, observation, rollback_run_id)
        return observations

    def read_journals(self, path, observation):
        # A folder with nothing to do costs no read.
        if observation.get("state") == "present":
            read_journals(self.host, path, observation)

    def trusted_runs(self):
        return []  # no log only an administrator can write: every run is known from a folder's journal

    def record_run(self, run_id, stamp, folders, check_mode):
        """No root-only run log on Windows: the folders' journals are the record."""

    def sync_folders(self, plan, observations):
        outcomes = {}
        performer = Performer(self.host, observations)
        try:
            for folder_plan in plan["folders"]:
                if folder_plan["operations"]:
                    outcome = outcomes[folder_plan["path"]] = {"done": [], "errors": [], "error": None}
                    performer.perform_folder(folder_plan["operations"], outcome, folder_plan["path"])
        except WindowsHostUnreachable as exc:
            # Folders not reached count as not done: their entries are reported as planned, nothing written there.
            self.unreachable = str(exc)
        finally:
            self.host.cleanup()
        return outcomes


def _options(module_args):
    """The module options as the POSIX module's AnsibleModule takes them: defaults, and "3" or "false" given as
    text (-e tabops_backup_keep=3) as the int or bool they mean."""
    args = {"files": [], "tdc_conflicts": "fail", "backup_keep": _plan.DEFAULT_BACKUP_KEEP, "rollback_skip_runs": []}
    args.update({key: value for key, value in (module_args or {}).items() if value is not None})
    keep = args["backup_keep"]
    if isinstance(keep, str) and keep.strip().isascii() and keep.strip().isdigit():
        args["backup_keep"] = int(keep)
    for name, default in BOOL_OPTIONS.items():
        try:
            args[name] = as_bool(args.get(name, default))
        except ValueError as exc:
            raise _plan.SyncError("%s: %s" % (name, exc)) from None
    return args


def sync(action, task_vars, module_args, now=None):
    """Sync one Windows host's Tableau files (the action's entry point); returns the result the POSIX module returns
    for a POSIX host.

    ``module_args`` are the ``tableau_files`` module options (``files``, ``folders`` with Windows
    paths, ``tdc_conflicts``, ``backup``, ``backup_keep``, run journal options); ``host_facts`` is not gathered on
    Windows. Check mode and diff mode come from ``action._task``. A broken connection returns ``unreachable: true``
    with what was written before it broke.
    """
    host = WindowsHost(action, task_vars)
    try:
        args = _options(module_args)
        transport = WindowsTransport(host, read_all_journals=args["list_runs"])
        engine = SyncEngine(
            transport,
            args["files"],
            args.get("folders"),
            tdc_conflicts=args["tdc_conflicts"],
            backup=args["backup"],
            backup_keep=args["backup_keep"],
            now=now,
            run_id=args.get("run_id") or None,
            rollback_run_id=args.get("rollback_run_id") or None,
            rollback_force=args["rollback_force"],
            rollback_skip_runs=args["rollback_skip_runs"],
            list_runs=args["list_runs"],
        )
    except _plan.SyncError as exc:
        # Bad input: nothing on the host was touched.
        return dict(_plan.empty_result(), failed=True, msg=str(exc))
    try:
        if args["list_runs"]:
            return dict(_plan.empty_result(), runs=engine.list_runs())
        engine.make_plan()
    except WindowsHostUnreachable as exc:
        return dict(_plan.empty_result(), unreachable=True, msg="%s (before anything was written)" % exc)
    except WindowsModuleFailed as exc:
        return dict(_plan.empty_result(), failed=True, msg="reading the Tableau folders failed: %s" % exc)
    result = engine.execute(check_mode=host.check_mode, diff=bool(getattr(action._task, "diff", False)))
    if transport.unreachable is not None:
        result.update(unreachable=True, msg="host became unreachable while writing: %s" % transport.unreachable)
    elif result.get("msg"):
        result["failed"] = True
    return result
