# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The decisions of the Tableau file sync, the same on every OS: request -> observations -> plan -> operations.

PURE: no filesystem, no user database, no clock. The POSIX transport (``_posix``, on the host) and the Windows
transport (``plugin_utils/_windows_sync``, on the controller) build observations (see docs/design.md, "One action
per host"), call ``plan_host`` and perform the operations it lists; ``finish_host`` turns what they did into the
module result. Paths are handled with the ``paths`` module given (``posixpath`` or ``ntpath``).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._errors import TabopsError
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._run_id import is_stamp
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._secrets import (
    REDACTED,
    mask_xml_secrets,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import (
    KINDS,
    MAX_DOCUMENT_BYTES,
    TableauXmlError,
    document_kind,
    parse_oauth_config,
    parse_tdc,
)

MANAGED_BY = "tabops.redshift_oauth"
MANIFEST_NAME = ".tabops-managed.json"
BACKUP_DIR_NAME = ".tabops-backups"
TEMP_PREFIX = ".tabops-tmp-"
APPLICATIONS = ("desktop", "prep", "bridge", "server")
KIND_SUFFIX = {"oauth_config": ".xml", "tdc": ".tdc"}
DEFAULT_FILE_MODE = "0644"
DEFAULT_DIR_MODE = "0755"
# The manifest holds the sha256 of each owned file (of secret-bearing configs too): an offline oracle for a weak
# secret, so only the folder's owner may read it.
MANIFEST_MODE = 0o600
# Backups hold client secrets: only the owner of the managed folder may read them.
BACKUP_DIR_MODE = 0o700
DEFAULT_BACKUP_KEEP = 5

_MODE_RE = re.compile(r"^0?[0-7]{3,4}$")
# Checks of names and fields a user can write (backup and journal names, journal fields): plain character sets,
# no regular expression (and no "$" that lets a trailing newline through).
_DIGITS = frozenset("0123456789")
_HEX = frozenset("0123456789abcdef")


def is_sha256(value):
    return isinstance(value, str) and len(value) == 64 and set(value) <= _HEX


class SyncError(TabopsError, ValueError):
    """Bad input or a host state this module refuses to act on; the message names field, host path and file."""


# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def parse_mode(value, field):
    """Octal string ('0640') -> int; names the field when malformed."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = "%o" % value
    text = str(value).strip()
    if not _MODE_RE.match(text):
        raise SyncError("%s: mode %r is not an octal string such as '0640'" % (field, value))
    mode = int(text, 8)
    if mode & ~0o7777:
        raise SyncError("%s: mode %r is out of range" % (field, value))
    return mode


def absent_entry():
    """The EntryObservation of a name with nothing at it (every transport's)."""
    return {"type": "absent", "data": None, "sha256": None, "problem": None, "nlink": 0, "identity": None}


def decode_document(data):
    """bytes -> (text, problem)."""
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return None, "not UTF-8 text (byte %d)" % exc.start


def problem_text(exc):
    # The parser's message may quote document text; mask secrets it might carry.
    return mask_xml_secrets(" ".join(str(exc).split())) or exc.__class__.__name__


# C0 controls but newline and tab, DEL and C1 controls: a terminal or CI log acts on them (title, clear, colour).
# Lone surrogates (a file name that is not UTF-8, carried with surrogateescape): the controller refuses them.
# A translation table, not a regex: linear, whatever the text.
_CONTROL_ESCAPES = {code: "\\x%02x" % code for code in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]}
_CONTROL_ESCAPES.update({code: "\\x%02x" % (code - 0xDC00) for code in range(0xDC80, 0xDD00)})
_CONTROL_ESCAPES.update({code: "\\u%04x" % code for code in [*range(0xD800, 0xDC80), *range(0xDD00, 0xE000)]})


def terminal_safe(value):
    """``value`` with every control character a user may have planted (but newline and tab) escaped as ``\\xNN``,
    and every byte that was not UTF-8 (``surrogateescape``) as ``\\xNN``; dicts and lists recursively (the
    module's own result: fixed depth). For every text of a folder or file that reaches the operator's screen."""
    if isinstance(value, str):
        return value.translate(_CONTROL_ESCAPES)
    if isinstance(value, dict):
        return {key: terminal_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [terminal_safe(item) for item in value]
    return value


def _no_resolver(value, field):
    """Without a user database (the controller planning for Windows): numeric ids only, names kept as given."""
    if value is None or value == "":
        return None
    text = str(value)
    return int(text) if text.isdigit() else None


# ---------------------------------------------------------------------------------------------
# input validation
# ---------------------------------------------------------------------------------------------


def _norm_abs_path(value, field, paths):
    if not isinstance(value, str) or not value:
        raise SyncError("%s: path is required" % field)
    if "\x00" in value:
        raise SyncError("%s: path contains a NUL byte" % field)
    if not paths.isabs(value):
        raise SyncError("%s: path %r must be absolute" % (field, value))
    normalized = paths.normpath(value)
    if normalized != value.rstrip(paths.sep) and normalized != value:
        raise SyncError("%s: path %r is not normalized (use %r)" % (field, value, normalized))
    return normalized


def normalize_request(files, folders, paths=posixpath, resolve_user=None, resolve_group=None):
    """Validate the module input; returns (files, dirs) as lists of dicts with resolved ids and modes.

    ``resolve_user(owner, field)`` / ``resolve_group`` map names to ids (raising SyncError for unknown ones);
    without them only numeric ids resolve.
    """
    resolvers = (resolve_user or _no_resolver, resolve_group or _no_resolver)
    if not isinstance(folders, list) or not folders:
        raise SyncError("folders: at least one managed folder is required")
    dir_by_path = {}
    for index, item in enumerate(folders):
        directory = _normalize_dir("folders[%d]" % index, item, paths, resolvers)
        if directory["path"] in dir_by_path:
            raise SyncError("folders[%d].path: folder %s is listed twice" % (index, directory["path"]))
        dir_by_path[directory["path"]] = directory
    seen_paths = {}
    desired = [
        _normalize_file(index, item, dir_by_path, seen_paths, paths, resolvers)
        for index, item in enumerate(files or [])
    ]
    _check_tdc_classes(desired)
    return desired, list(dir_by_path.values())


def _ownership(item, field, where, resolvers, default_mode):
    """The owner, group and mode of a folder or file as given, with the ids they resolve to."""
    resolve_user, resolve_group = resolvers
    return {
        "owner": item.get("owner") or None,
        "group": item.get("group") or None,
        "uid": resolve_user(item.get("owner"), field + ".owner" + where),
        "gid": resolve_group(item.get("group"), field + ".group" + where),
        "mode": parse_mode(item.get("mode") or default_mode, field + ".mode" + where),
    }


def _choice(value, choices, field, where):
    if value not in choices:
        raise SyncError("%s: %r is not one of %s%s" % (field, value, ", ".join(choices), where))
    return value


def _normalize_dir(field, item, paths, resolvers):
    if not isinstance(item, dict):
        raise SyncError("%s: must be a dict" % field)
    path = _norm_abs_path(item.get("path"), field + ".path", paths)
    where = " (folder %s)" % path
    return dict(
        path=path,
        kind=_choice(item.get("kind"), KINDS, field + ".kind", where),
        application=_choice(item.get("application"), APPLICATIONS, field + ".application", where),
        **_ownership(item, field, where, resolvers, DEFAULT_DIR_MODE),
    )


def _normalize_file(index, item, dir_by_path, seen_paths, paths, resolvers):
    field = "files[%d]" % index
    if not isinstance(item, dict):
        raise SyncError("%s: must be a dict" % field)
    path = _norm_abs_path(item.get("path"), field + ".path", paths)
    where = " (file %s)" % path
    if path in seen_paths:
        raise SyncError("%s.path: %s is also declared by files[%d]" % (field, path, seen_paths[path]))
    seen_paths[path] = index
    name = paths.basename(path)
    if name.startswith(".") or name == MANIFEST_NAME:
        raise SyncError("%s.path: hidden file names are reserved for the collection%s" % (field, where))
    kind = _choice(item.get("kind"), KINDS, field + ".kind", where)
    if not name.endswith(KIND_SUFFIX[kind]):
        raise SyncError(
            "%s.path: a %s file must end with %s or Tableau will not load it%s"
            % (field, kind, KIND_SUFFIX[kind], where)
        )
    parent = paths.dirname(path)
    managed = dir_by_path.get(parent)
    if managed is None:
        raise SyncError(
            "%s.path: parent folder %s is not one of folders (%s)%s"
            % (field, parent, ", ".join(sorted(dir_by_path)), where)
        )
    if managed["kind"] != kind:
        raise SyncError(
            "%s.kind: %s does not match the kind %s of managed folder %s%s"
            % (field, kind, managed["kind"], parent, where)
        )
    application = _choice(
        item.get("application") or managed["application"], APPLICATIONS, field + ".application", where
    )
    content = item.get("content")
    if not isinstance(content, str) or not content.strip():
        raise SyncError("%s.content: rendered document text is required%s" % (field, where))
    artifact = str(item.get("artifact") or name)
    encoded, parsed = _checked_document(content, kind, field + ".content", "Tableau file %s" % artifact, where)
    return dict(
        index=index,
        path=path,
        name=name,
        dir=parent,
        kind=kind,
        application=application,
        artifact=artifact,
        content=content,
        data=encoded,
        parsed=parsed,
        **_ownership(item, field, where, resolvers, DEFAULT_FILE_MODE),
    )


def _checked_document(content, kind, field, what, where):
    """(UTF-8 bytes, parsed document) of a rendered document of ``kind``, within Tableau's size limit."""
    encoded = content.encode("utf-8")
    if len(encoded) > MAX_DOCUMENT_BYTES:
        raise SyncError(
            "%s: %d bytes is over Tableau's %d KiB limit (%s)%s"
            % (field, len(encoded), MAX_DOCUMENT_BYTES // 1024, what, where)
        )
    try:
        actual_kind = document_kind(content)
        parsed = parse_tdc(content) if kind == "tdc" else parse_oauth_config(content)
    except TableauXmlError as exc:
        raise SyncError(
            "%s: %s is not a valid %s document: %s%s" % (field, what, kind, problem_text(exc), where)
        ) from None
    if actual_kind != kind:
        raise SyncError("%s: %s is a %s document but kind is %s%s" % (field, what, actual_kind, kind, where))
    return encoded, parsed


def _check_tdc_classes(desired):
    """Two desired TDCs of one class in one folder: Tableau would apply only one of them."""
    classes = {}
    for item in desired:
        if item["kind"] != "tdc":
            continue
        key = (item["dir"], item["parsed"].get("class"))
        if key in classes:
            raise SyncError(
                "files[%d]: TDC %s has class %r like %s in the same folder; Tableau applies only one TDC per class"
                % (item["index"], item["path"], key[1], classes[key])
            )
        classes[key] = item["path"]


def check_options(tdc_conflicts="fail", backup_keep=DEFAULT_BACKUP_KEEP):
    if tdc_conflicts not in ("fail", "warn"):
        raise SyncError("tdc_conflicts: %r is not one of fail, warn" % (tdc_conflicts,))
    if isinstance(backup_keep, bool) or not isinstance(backup_keep, int) or backup_keep < 0:
        raise SyncError("backup_keep: %r must be a whole number, 0 or more" % (backup_keep,))


# ---------------------------------------------------------------------------------------------
# manifest
# ---------------------------------------------------------------------------------------------


def render_manifest(files):
    """Deterministic manifest text: sorted keys, fixed indentation, trailing newline, no timestamps."""
    document = {"managed_by": MANAGED_BY, "files": files}
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


# A manifest lists what the collection wrote into one folder: never more entries than a folder may hold.
MAX_MANIFEST_ENTRIES = 1000
MAX_MANIFEST_TEXT = 256


def _manifest_entry_problem(name, entry):
    """Why a manifest entry does not fit the schema (None: fine); the message names the field, never its value."""
    if not isinstance(entry, dict):
        return "must be an object"
    for key in ("kind", "artifact"):
        value = entry.get(key)
        if value is not None and not isinstance(value, str):
            return "%s must be a string" % key
        if value is not None and len(value) > MAX_MANIFEST_TEXT:
            return "%s is longer than %d characters" % (key, MAX_MANIFEST_TEXT)
    if entry.get("kind") not in (None, *KINDS):
        return "kind must be one of %s" % ", ".join(KINDS)
    digest = entry.get("sha256")
    if digest is not None and not is_sha256(digest):
        return "sha256 must be a sha256 in hex"
    return None


def _manifest_name_ok(name):
    return (
        0 < len(name) <= 255
        and name not in (".", "..")
        and not name.startswith(".")
        and not any(char in name for char in "/\\:")
        and terminal_safe(name) == name
        and not any(0xD800 <= ord(char) <= 0xDFFF or char in "\n\t" for char in name)
    )


def parse_manifest(data, path):
    """Manifest bytes -> {name: entry}; raises SyncError for a manifest it cannot trust (names the path and
    the entry). Every entry must fit the schema (kind, artifact: strings; sha256: hex), at most
    MAX_MANIFEST_ENTRIES of them: what a user wrote there is never passed on as anything else."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        # RecursionError: a user's deeply nested JSON must fail its folder only, not the host's whole run.
        raise SyncError(
            "manifest %s is not valid JSON (%s); fix or remove it" % (path, exc.__class__.__name__)
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("files"), dict):
        raise SyncError("manifest %s: expected an object with a 'files' object; fix or remove it" % path)
    if document.get("managed_by") != MANAGED_BY:
        owner = document.get("managed_by")
        shown = repr(owner[:64]) if isinstance(owner, str) else "not a string"
        raise SyncError("manifest %s: managed_by is %s, not %r; refusing to take over" % (path, shown, MANAGED_BY))
    if len(document["files"]) > MAX_MANIFEST_ENTRIES:
        raise SyncError("manifest %s lists more than %d files; fix or remove it" % (path, MAX_MANIFEST_ENTRIES))
    files = {}
    for name, entry in document["files"].items():
        if not _manifest_name_ok(name):
            raise SyncError("manifest %s: entry %r is malformed; fix or remove it" % (path, name[:255]))
        problem = _manifest_entry_problem(name, entry)
        if problem:
            raise SyncError("manifest %s: manifest entry %s: %s; fix or remove it" % (path, name, problem))
        files[name] = {
            "kind": entry.get("kind"),
            "artifact": entry.get("artifact"),
            "sha256": entry.get("sha256"),
        }
    return files


def observed_names(desired_names, manifest_files, listing, kind):
    """Names a transport must observe in a folder: desired, manifest-listed and every file of the folder's kind."""
    suffix = KIND_SUFFIX[kind]
    names = set(desired_names) | set(manifest_files or ())
    names |= {name for name in listing if not name.startswith(".") and name.lower().endswith(suffix)}
    return sorted(names)


# ---------------------------------------------------------------------------------------------
# planning
# ---------------------------------------------------------------------------------------------


def _owner_text(entry, key_id, key_name):
    if entry.get(key_name):
        return str(entry[key_name])
    if entry.get(key_id) is not None:
        return str(entry[key_id])
    return None


def _attribute_differences(item, observed):
    differences = []
    for key_id, key_name in (("uid", "owner"), ("gid", "group")):
        wanted_id, wanted_name = item[key_id], item[key_name]
        if wanted_id is not None and observed.get(key_id) is not None and observed[key_id] != wanted_id:
            actual = _owner_text(observed, key_id, key_name)
        elif wanted_id is None and wanted_name and observed.get(key_name) and observed[key_name] != wanted_name:
            actual = observed[key_name]
        else:
            continue
        differences.append({"path": "file." + key_name, "expected": wanted_name, "actual": actual})
    if observed.get("mode") is not None and observed["mode"] != item["mode"]:
        differences.append(
            {"path": "file.mode", "expected": "%04o" % item["mode"], "actual": "%04o" % observed["mode"]}
        )
    return differences


def _error(entry, what, detail):
    entry.update(
        status="error", action="none", differences=[{"path": what, "expected": "regular file", "actual": detail}]
    )
    return entry


def _plan_desired(item, observed, owned_before):
    """Compare one desired file with its observation. Returns a plan entry."""
    entry = {
        "path": item["path"],
        "artifact": item["artifact"],
        "application": item["application"],
        "kind": item["kind"],
        "status": "compliant",
        "action": "none",
        "differences": [],
        "_name": item["name"],
        "_item": item,
        "_rewrite": False,
        "_exists": False,
        "_owned_before": owned_before,
        "_before_text": "",
        "_observed": observed,
    }
    kind = observed.get("type", "absent")
    if kind == "absent":
        entry.update(status="missing", action="create", _rewrite=True)
        return entry
    entry["_exists"] = True
    if kind == "directory":
        return _error(entry, "file.type", "directory")
    if observed.get("nlink", 1) > 1 and kind == "file":
        # A hard link may be another user's file: never compared, changed, chowned or shown.
        return _error(entry, "file.links", "%d hard links (refused: not compared, not changed)" % observed["nlink"])
    if kind in ("symlink", "other"):
        entry.update(
            status="drift",
            action="update",
            _rewrite=True,
            differences=[
                {
                    "path": "file.type",
                    "expected": "regular file",
                    "actual": "symbolic link" if kind == "symlink" else "special file",
                }
            ],
        )
        return entry
    differences = []
    document = observed.get("document")
    problem = None
    if document is None:
        if observed.get("sha256") is not None and not observed.get("problem"):
            # Not read (Windows): the hash says whether the bytes are the desired ones.
            if observed["sha256"] != sha256_bytes(item["data"]):
                problem = "content not read and its sha256 differs"
        else:
            problem = observed.get("problem") or "not read"
    else:
        # Compared where it was read (the folder's worker): differences, masked text, or why it cannot be parsed.
        problem = document["problem"]
        differences = document["differences"] or []
        entry["_before_text"] = document["text"] or ""
    if problem is not None:
        differences = [
            {"path": "document", "expected": "parseable %s" % item["kind"], "actual": "unparseable: " + problem}
        ]
    entry["_current_sha256"] = observed.get("sha256")
    entry["differences"] = list(differences) + _attribute_differences(item, observed)
    if differences:
        entry.update(status="drift", action="update", _rewrite=True)
    elif entry["differences"]:
        entry.update(status="drift", action="update")
    return entry


def owned_entry(directory, name, manifest_entry, observed, paths):
    """The plan entry of a file the manifest names (one no longer desired, or one a rollback puts back)."""
    return {
        "path": paths.join(directory["path"], name),
        "artifact": manifest_entry.get("artifact") or name,
        "application": directory["application"],
        "kind": manifest_entry.get("kind") or directory["kind"],
        "status": "compliant",
        "action": "none",
        "differences": [],
        "_name": name,
        "_before_text": "",
        "_observed": observed,
    }


def _plan_stale(directory, name, manifest_entry, observed, paths, remove_only_recorded=False):
    entry = owned_entry(directory, name, manifest_entry, observed, paths)
    entry.update(
        status="stale", action="remove", differences=[{"path": "file", "expected": "absent", "actual": "present"}]
    )
    kind = observed.get("type", "absent")
    if kind == "absent":
        # Owned but already gone: only the manifest entry goes.
        entry.update(action="none", differences=[])
    elif kind == "directory":
        _error(entry, "file.type", "directory (owned name, not removed)")
    elif kind == "file" and observed.get("nlink", 1) > 1:
        _error(entry, "file.links", "%d hard links (refused: not removed)" % observed["nlink"])
    elif observed.get("document"):
        entry["_before_text"] = observed["document"]["text"] or ""
    entry["_recorded_sha256"] = manifest_entry.get("sha256")
    if remove_only_recorded and entry["action"] == "remove" and entry["status"] == "stale":
        _refuse_unrecorded_removal(entry, observed)
    return entry


def _refuse_unrecorded_removal(entry, observed):
    """For a transport that cannot hold a file open while it checks it (Windows): an owned file no longer desired is
    removed only while its sha256 is the one the manifest recorded. Otherwise (someone wrote other bytes there) it is
    an error: no backup, no delete, and it stays in the manifest, so the next run decides again."""
    want = entry["_recorded_sha256"]
    if observed.get("type") == "file" and want and observed.get("sha256") == want:
        return
    if observed.get("type") == "symlink":
        return  # the transport removes the link itself, never its target
    if observed.get("sha256") is None and observed.get("problem"):
        actual = "%s; not removed" % observed["problem"]
    else:
        actual = "content is not what this collection wrote (sha256 differs from the manifest); not removed"
    difference = {"path": "file.sha256", "expected": "sha256 recorded in the manifest", "actual": actual}
    entry.update(status="error", action="none", differences=[difference])


def _scan_unmanaged(directory, observation, owned_names, desired_names, desired_tdc_classes, paths):
    """Files in a managed folder that the collection neither owns nor declares."""
    found = []
    suffix = KIND_SUFFIX[directory["kind"]]
    # Files whose names are not plain text are known by an escaped name (odd_entries), never as managed files.
    candidates = dict(observation.get("odd_entries") or {})
    candidates.update(observation.get("entries") or {})
    for name in sorted(candidates):
        if name.startswith(".") or not name.lower().endswith(suffix):
            continue
        if name in owned_names or name in desired_names:
            continue
        observed = candidates[name]
        base = {"path": paths.join(directory["path"], name), "application": directory["application"]}
        base["kind"] = directory["kind"]
        kind = observed.get("type")
        problem = observed.get("problem")
        if kind == "symlink":
            problem = "is a symbolic link (not followed)"
        elif kind == "directory":
            continue
        elif kind == "other":
            problem = "is not a regular file"
        elif observed.get("nlink", 1) > 1:
            problem = "has %d hard links (not read)" % observed["nlink"]
        parsed = observed.get("document")
        if problem is None:
            if parsed is None:
                continue
            problem = parsed["problem"]
        if problem is None and parsed["kind"] != directory["kind"]:
            problem = "is a %s document in a %s folder" % (parsed["kind"], directory["kind"])
        if problem is not None:
            found.append(dict(base, status="unmanaged_conflict", reason="unparseable", detail=problem))
            continue
        if directory["kind"] == "tdc":
            tdc_class = parsed.get("class")
            if tdc_class in desired_tdc_classes:
                found.append(
                    dict(
                        base,
                        status="unmanaged_conflict",
                        reason="tdc_conflict",
                        detail="unmanaged TDC has class %r like the managed %s; Tableau applies only one TDC per class"
                        % (tdc_class, desired_tdc_classes[tdc_class]),
                    )
                )
        else:
            config_id = parsed.get("config_id") or ""
            if str(config_id).startswith("custom_"):
                found.append(
                    dict(
                        base,
                        status="unmanaged_conflict",
                        reason="stray_custom_config",
                        detail="unmanaged custom OAuth config %s (dbclass %s)" % (config_id, parsed.get("dbclass")),
                    )
                )
    return found


def _backup_key(backup_name, file_name):
    """(stamp, counter) when ``backup_name`` is a backup of ``file_name``, else None."""
    prefix = file_name + "."
    if not backup_name.startswith(prefix):
        return None
    rest = backup_name[len(prefix) :].split(".")
    if not is_stamp(rest[0]) or len(rest) > 2 or (len(rest) == 2 and not (rest[1] and set(rest[1]) <= _DIGITS)):
        return None
    return rest[0], int(rest[1]) if len(rest) == 2 else 0


def _next_manifest(entries, previous):
    """The manifest files mapping after the planned actions; entries of untouched files keep their sha256."""
    files = {}
    for entry in entries:
        if entry["status"] == "stale":
            continue
        name = entry["_name"]
        if entry["status"] == "error":
            # Not touched: ownership stays as it was.
            if name in previous:
                files[name] = dict(previous[name])
            continue
        item = entry["_item"]
        old = previous.get(name)
        if entry["_rewrite"]:
            digest = sha256_bytes(item["data"])
        elif old and old.get("sha256"):
            digest = old["sha256"]
        else:
            digest = entry.get("_current_sha256") or sha256_bytes(item["data"])
        files[name] = {"kind": item["kind"], "artifact": item["artifact"], "sha256": digest}
    return files


def backup_target(name, stamp, existing):
    """A backup name of ``name`` for ``stamp`` not in ``existing`` (which it joins)."""
    base = "%s.%s" % (name, stamp)
    target, counter = base, 1
    while target in existing:
        target = "%s.%d" % (base, counter)
        counter += 1
    existing.add(target)
    return target


def _folder_error(folder_plan, message):
    folder_plan["error"] = message
    for entry in folder_plan["entries"]:
        _error(entry, "folder", message)
        entry["differences"][0]["expected"] = "usable folder"
    folder_plan["operations"] = []
    return folder_plan


def new_folder_plan(directory):
    """An empty folder plan (what every planner of a folder returns, filled in)."""
    return {
        "directory": directory,
        "path": directory["path"],
        "error": None,
        "entries": [],
        "unmanaged": [],
        "operations": [],
        "created_dirs": [],
        "manifest": None,
        "backups": [],
        "removed_backups": [],
        "removed_temp_files": [],
        "manifest_changed": False,
        "journal": None,
    }


def manifest_state(observation, path, paths=posixpath):
    """(files, sha256 or None, problem or None) of a folder's observed manifest: parsed where it was read, its
    entries or why it cannot be trusted (the entries still name what the collection owned); the bytes are known by
    their hash."""
    manifest_observed = observation.get("manifest")
    if not isinstance(manifest_observed, dict):
        return {}, None, None
    if manifest_observed.get("problem"):
        return (
            {},
            None,
            "manifest %s %s; fix or remove it" % (paths.join(path, MANIFEST_NAME), manifest_observed["problem"]),
        )
    return manifest_observed.get("files") or {}, manifest_observed.get("sha256"), manifest_observed.get("error")


def add_backup_operation(folder_plan, entry_path, name, stamp, existing_backups, observed, paths=posixpath):
    """Plan the backup of ``entry_path`` (file ``name``) before it changes; returns the backup's name."""
    backup_dir = paths.join(folder_plan["path"], BACKUP_DIR_NAME)
    target = backup_target(name, stamp, existing_backups)
    folder_plan["operations"].append(
        {
            "op": "backup",
            "path": entry_path,
            "to": paths.join(backup_dir, target),
            "expect": observed.get("identity"),
            "type": observed.get("type"),
        }
    )
    folder_plan["backups"].append(paths.join(backup_dir, target))
    return target


def add_manifest_operation(folder_plan, files, previous, manifest_observed, paths=posixpath):
    """Plan writing the folder's manifest with ``files`` (``previous``: what failed operations keep)."""
    path = paths.join(folder_plan["path"], MANIFEST_NAME)
    folder_plan["operations"].append(
        {
            "op": "manifest",
            "path": path,
            "data": render_manifest(files).encode("ascii"),
            "files": files,
            "previous": previous,
            "mode": MANIFEST_MODE,
            "expect": (manifest_observed if isinstance(manifest_observed, dict) else {}).get("identity"),
        }
    )
    folder_plan["manifest"] = path
    folder_plan["manifest_changed"] = True


class _FolderBackups:
    """What a folder's backups allow: where they go, which names exist, which this run adds."""

    def __init__(self, observation, stamp, enabled):
        self.problem = observation.get("backups_problem")
        self.existing = set(observation.get("backups") or [])
        self.stamp = stamp
        self.enabled = enabled
        self.new = {}


def plan_folder(
    directory,
    desired,
    observation,
    stamp,
    backup=True,
    backup_keep=DEFAULT_BACKUP_KEEP,
    paths=posixpath,
    remove_only_recorded=False,
):
    """Plan one managed folder from its observation. Never raises for host state: problems become errors."""
    path = directory["path"]
    mine = [item for item in desired if item["dir"] == path]
    folder_plan = new_folder_plan(directory)
    state = observation.get("state")
    if state == "refused":
        manifest, manifest_before = {}, None
        problem = "managed folder %s refused: %s" % (path, observation.get("detail") or "not a real folder")
    else:
        manifest, manifest_before, problem = manifest_state(observation, path, paths)
    entries_seen = observation.get("entries") or {}
    desired_names = {item["name"] for item in mine}
    for item in mine:
        observed = entries_seen.get(item["name"], {"type": "absent"})
        folder_plan["entries"].append(_plan_desired(item, observed, item["name"] in manifest))
    for name in sorted(set(manifest) - desired_names):
        observed = entries_seen.get(name, {"type": "absent"})
        entry = _plan_stale(directory, name, manifest[name], observed, paths, remove_only_recorded)
        folder_plan["entries"].append(entry)
    if problem:
        return _folder_error(folder_plan, problem)

    tdc_classes = {item["parsed"].get("class"): item["path"] for item in mine if item["kind"] == "tdc"}
    folder_plan["unmanaged"] = _scan_unmanaged(directory, observation, set(manifest), desired_names, tdc_classes, paths)
    _plan_folder_setup(folder_plan, observation, paths)
    backups = _FolderBackups(observation, stamp, backup and backup_keep > 0)
    for entry in folder_plan["entries"]:
        _plan_change(folder_plan, entry, backups, paths)
    if not backups.problem:
        _plan_retention(folder_plan, backups, backup_keep, paths)
    _plan_manifest(folder_plan, manifest, manifest_before, observation.get("manifest"), paths)
    return folder_plan


def _plan_folder_setup(folder_plan, observation, paths):
    """The missing folders to create (outermost first) and the temp files an interrupted run left."""
    directory, path = folder_plan["directory"], folder_plan["path"]
    if observation.get("state") == "absent":
        for folder in observation.get("missing") or [path]:
            folder_plan["operations"].append(
                {
                    "op": "mkdir",
                    "path": folder,
                    "mode": directory["mode"],
                    "uid": directory["uid"],
                    "gid": directory["gid"],
                }
            )
            folder_plan["created_dirs"].append(folder)
    for temp_name in observation.get("temp_files") or []:
        folder_plan["operations"].append({"op": "remove_temp", "path": paths.join(path, temp_name)})
        folder_plan["removed_temp_files"].append(paths.join(path, temp_name))


def _plan_backup(folder_plan, entry, backups, paths):
    """Plan the backup of an entry about to be replaced or removed; False when it cannot be kept (then the entry
    is an error and is not changed: nothing may be lost)."""
    observed = entry["_observed"]
    if not backups.enabled or observed.get("type") not in ("file", "symlink"):
        return True
    if backups.problem:
        backup_dir = paths.join(folder_plan["path"], BACKUP_DIR_NAME)
        _error(entry, "backup", "%s refused: %s; not replaced (nothing may be lost)" % (backup_dir, backups.problem))
        entry["differences"][0]["expected"] = "usable backup folder"
        return False
    target = add_backup_operation(
        folder_plan, entry["path"], entry["_name"], backups.stamp, backups.existing, observed, paths
    )
    entry["_backup_name"] = target
    backups.new.setdefault(entry["_name"], []).append(target)
    return True


def _plan_change(folder_plan, entry, backups, paths):
    """The operations of one entry's action (remove, write or attributes), after its backup."""
    if entry["action"] == "none":
        return
    operations = folder_plan["operations"]
    observed = entry["_observed"]
    if entry["action"] == "remove":
        if _plan_backup(folder_plan, entry, backups, paths):
            # sha256: the transport that cannot hold the file open (Windows) removes it only with these bytes.
            remove = {"op": "remove", "path": entry["path"], "expect": observed.get("identity")}
            operations.append(dict(remove, sha256=entry["_recorded_sha256"]))
        return
    item = entry["_item"]
    change = {"path": item["path"], "mode": item["mode"], "uid": item["uid"], "gid": item["gid"]}
    if not entry["_rewrite"]:
        operations.append(dict(change, op="attributes", expect=observed.get("identity")))
        return
    if entry["_exists"] and not _plan_backup(folder_plan, entry, backups, paths):
        return
    expect = observed.get("identity") if entry["_exists"] else None
    operations.append(dict(change, op="write", data=item["data"], expect=expect))


def _plan_retention(folder_plan, backups, backup_keep, paths):
    """Per file name, the newest backup_keep backups (this run's included) stay, oldest go first."""
    backup_dir = paths.join(folder_plan["path"], BACKUP_DIR_NAME)
    for name in sorted({entry["_name"] for entry in folder_plan["entries"]}):
        keyed = sorted(
            (key, backup_name)
            for backup_name in backups.existing
            for key in [_backup_key(backup_name, name)]
            if key is not None
        )
        for _key, backup_name in keyed[: max(len(keyed) - backup_keep, 0)]:
            if backup_name in backups.new.get(name, []):
                continue
            folder_plan["operations"].append({"op": "remove_backup", "path": paths.join(backup_dir, backup_name)})
            folder_plan["removed_backups"].append(paths.join(backup_dir, backup_name))


def _plan_manifest(folder_plan, manifest, manifest_before, manifest_observed, paths):
    new_manifest = _next_manifest(folder_plan["entries"], manifest)
    rendered = render_manifest(new_manifest)
    # A manifest left readable to others by an older version is rewritten private (where the mode is observed).
    manifest_mode = manifest_observed.get("mode") if isinstance(manifest_observed, dict) else None
    manifest_mode_drift = manifest_before is not None and manifest_mode not in (None, MANIFEST_MODE)
    if not (manifest_before is None and not new_manifest) and (
        manifest_before != sha256_bytes(rendered.encode("ascii")) or manifest_mode_drift
    ):
        add_manifest_operation(folder_plan, new_manifest, manifest, manifest_observed, paths)


def manifest_after_failures(operation, failed_names):
    """Manifest bytes when some of a folder's operations failed: those names keep their previous entries."""
    files = dict(operation["files"])
    for name in failed_names:
        if name in operation["previous"]:
            files[name] = dict(operation["previous"][name])
        else:
            files.pop(name, None)
    return render_manifest(files).encode("ascii")


def plan_host(
    desired,
    dirs,
    observations,
    stamp,
    tdc_conflicts="fail",
    backup=True,
    backup_keep=DEFAULT_BACKUP_KEEP,
    paths=posixpath,
    remove_only_recorded=False,
):
    """Plan every managed folder; ``observations`` is {folder path: FolderObservation}. The options were checked
    by the engine (``check_options``); ``remove_only_recorded``: see ``_refuse_unrecorded_removal``."""
    from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._digest import ensure_digested

    observations = ensure_digested(observations, desired, paths=paths)
    plan = {"folders": [], "files": [], "unmanaged": []}
    planned_dirs = set()
    for directory in dirs:
        observation = observations.get(directory["path"]) or {"state": "refused", "detail": "not observed"}
        folder_plan = plan_folder(
            directory, desired, observation, stamp, backup, backup_keep, paths, remove_only_recorded
        )
        # A missing parent shared by two managed folders is created once, by the first.
        folder_plan["operations"] = [
            op for op in folder_plan["operations"] if op["op"] != "mkdir" or op["path"] not in planned_dirs
        ]
        folder_plan["created_dirs"] = [path for path in folder_plan["created_dirs"] if path not in planned_dirs]
        planned_dirs.update(folder_plan["created_dirs"])
        plan["folders"].append(folder_plan)
        plan["files"].extend(folder_plan["entries"])
        plan["unmanaged"].extend(folder_plan["unmanaged"])
    conflicts = [item for item in plan["unmanaged"] if item["reason"] == "tdc_conflict"]
    plan["conflicts"] = conflicts
    if conflicts and tdc_conflicts == "fail":
        # Only the folders holding a conflicting TDC fail (a user's own folder must not block anyone else's);
        # the host fails after every other folder was processed, like any folder error.
        for folder_plan in plan["folders"]:
            mine = [item for item in folder_plan["unmanaged"] if item["reason"] == "tdc_conflict"]
            if mine:
                _folder_error(
                    folder_plan,
                    "TDC conflict, nothing written in %s: %s"
                    % (folder_plan["path"], "; ".join("%s: %s" % (item["path"], item["detail"]) for item in mine)),
                )
                folder_plan["created_dirs"] = []
                folder_plan["backups"] = []
                folder_plan["removed_backups"] = []
                folder_plan["removed_temp_files"] = []
                folder_plan["manifest"] = None
                folder_plan["manifest_changed"] = False
    return plan


# ---------------------------------------------------------------------------------------------
# after the transport: outcomes -> result
# ---------------------------------------------------------------------------------------------


def operation_name(operation, paths=posixpath):
    """The managed file name an operation is about (None for folder-level operations)."""
    if operation["op"] in ("write", "attributes", "remove", "backup"):
        return paths.basename(operation["path"])
    return None


# Result keys listing the paths a run wrote (or, in check mode, would), by the operation that writes them.
_WRITTEN_KEYS = {
    "mkdir": "created_dirs",
    "backup": "backups",
    "manifest": "manifests",
    "remove_backup": "removed_backups",
    "remove_temp": "removed_temp_files",
    "journal": "journals",
}
# What a user controls can reach these keys: control characters escaped (terminal_safe).
_SAFE_KEYS = (
    "files",
    "unmanaged",
    "folders",
    "backups",
    "created_dirs",
    "removed_backups",
    "removed_temp_files",
    "journals",
)


def empty_result():
    """A sync's result with nothing in it (bad input, or the host was not read): the keys every result has."""
    keys = ("files", "unmanaged", "restart_needed", "backups", "manifests", *_WRITTEN_KEYS.values(), "folders", "runs")
    return dict({key: [] for key in keys}, changed=False)


def finish_host(plan, outcomes, check_mode=False, paths=posixpath):
    """Apply the transport's outcomes to the plan. ``outcomes`` is {folder path: {"done": [op index], "errors":
    [{"index", "path", "msg"}], "error": folder message or None}}; in check mode every operation counts as done.

    Returns the module result (without ``changed`` of host facts) and sets entries that failed to status error.
    """
    result = dict(empty_result(), unmanaged=[dict(item) for item in plan["unmanaged"]])
    restart = set()
    for folder_plan in plan["folders"]:
        operations = folder_plan["operations"]
        if check_mode:
            outcome = {"done": list(range(len(operations))), "errors": [], "error": None}
        else:
            outcome = outcomes.get(folder_plan["path"]) or {"done": [], "errors": [], "error": None}
        written = _record_written(result, operations, set(outcome.get("done") or []))
        errors = list(outcome.get("errors") or [])
        _mark_failed_entries(folder_plan, outcome, _failed_by_name(operations, errors, paths), restart)
        result["folders"].append(_folder_result(folder_plan, outcome, errors, written))
        result["changed"] = result["changed"] or bool(written)
    result["files"] = report_files(plan)
    result["restart_needed"] = sorted(restart)
    for key in _SAFE_KEYS:
        result[key] = terminal_safe(result[key])
    failed = [folder for folder in result["folders"] if folder["status"] == "error"]
    if failed:
        result["msg"] = "%d of %d managed folders failed: %s" % (
            len(failed),
            len(result["folders"]),
            "; ".join(folder["error"] for folder in failed),
        )
    return result


def _record_written(result, operations, done):
    """The paths the done operations wrote, in order; each also goes to its result key."""
    written = []
    for index, operation in enumerate(operations):
        if index not in done:
            continue
        target = operation.get("to") if operation["op"] == "backup" else operation["path"]
        written.append(target)
        if operation["op"] in _WRITTEN_KEYS:
            result[_WRITTEN_KEYS[operation["op"]]].append(target)
    return written


def _failed_by_name(operations, errors, paths):
    failed = {}
    for error in errors:
        if error.get("index") is not None and error["index"] < len(operations):
            name = operation_name(operations[error["index"]], paths)
            if name:
                failed.setdefault(name, error["msg"])
    return failed


def _mark_failed_entries(folder_plan, outcome, failed_by_name, restart):
    """Entries whose operation failed (or whose folder failed) become errors; the others that change a file add
    their application to ``restart``."""
    for entry in folder_plan["entries"]:
        message = failed_by_name.get(entry["_name"])
        if outcome.get("error") and entry["action"] != "none" and entry["status"] != "error":
            message = message or outcome["error"]
        if message and entry["status"] != "error":
            entry["status"] = "error"
            entry["differences"] = [
                *list(entry["differences"]),
                {"path": "file", "expected": "%s done" % entry["action"], "actual": message},
            ]
        elif entry["action"] != "none" and entry["status"] != "error":
            restart.add(entry["application"])


def _folder_result(folder_plan, outcome, errors, written):
    folder_error = folder_plan["error"] or outcome.get("error")
    messages = [error["msg"] for error in errors]
    if folder_error:
        messages.insert(0, folder_error)
    else:
        messages += [
            "%s: %s" % (entry["path"], entry["differences"][-1]["actual"])
            for entry in folder_plan["entries"]
            if entry["status"] == "error" and entry["path"] not in " ".join(messages)
        ]
    status = "error" if messages else ("changed" if written else "ok")
    return {"path": folder_plan["path"], "status": status, "error": "; ".join(messages) or None, "written": written}


def _mask_value(path, value):
    # Defence in depth: the worker's comparison already masked secret fields and the text of every value.
    if "secret" in str(path).lower() and value is not None:
        return REDACTED
    return value


def report_files(plan):
    """Public per-file results (no private keys, secrets masked)."""
    keys = ("path", "artifact", "application", "kind", "status", "action", "differences")
    result = []
    for entry in plan["files"]:
        public = {key: entry[key] for key in keys}
        public["differences"] = [
            {
                "path": d["path"],
                "expected": _mask_value(d["path"], d.get("expected")),
                "actual": _mask_value(d["path"], d.get("actual")),
            }
            for d in entry["differences"]
        ]
        if "_item" in entry:
            # A file found at a desired path that the manifest did not list yet: it is taken over.
            public["adopted"] = entry["_exists"] and not entry["_owned_before"] and entry["status"] != "error"
        result.append(public)
    return result


def restart_needed(plan):
    return sorted(
        {entry["application"] for entry in plan["files"] if entry["action"] != "none" and entry["status"] != "error"}
    )


def report_diff(plan):
    """--diff entries, secrets masked (the text read from a folder was masked where it was read)."""
    diffs = []
    for entry in plan["files"]:
        action = entry["action"]
        if action == "none" or entry["status"] == "error":
            continue
        path = entry["path"]
        if action == "restore":
            # A rollback: the bytes (or attributes) before the run come back.
            diffs.append(
                {
                    "before_header": path,
                    "after_header": path + " (as before the run)",
                    "before": entry["_before_text"],
                    "after": entry["_after_text"] or entry["_before_text"],
                }
            )
            continue
        if action == "remove":
            diffs.append(
                {
                    "before_header": path,
                    "after_header": path + " (removed)",
                    "before": entry["_before_text"],
                    "after": "",
                }
            )
            continue
        item = entry["_item"]
        if entry["_rewrite"]:
            diffs.append(
                {
                    "before_header": path if entry["_exists"] else path + " (absent)",
                    "after_header": path,
                    "before": entry["_before_text"],
                    "after": mask_xml_secrets(item["content"]),
                }
            )
        else:
            before = "\n".join("%s: %s" % (d["path"], d["actual"]) for d in entry["differences"]) + "\n"
            after = "\n".join("%s: %s" % (d["path"], d["expected"]) for d in entry["differences"]) + "\n"
            diffs.append(
                {
                    "before_header": path + " (attributes)",
                    "after_header": path + " (attributes)",
                    "before": before,
                    "after": after,
                }
            )
    return terminal_safe(diffs)
