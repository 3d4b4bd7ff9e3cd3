# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""What a folder's bytes mean, worked out where they were read: typed, bounded facts instead of user text.

On a POSIX host the worker of a user's folder (dropped to that user, under its deadline) calls
``digest_observation`` on what it observed: manifest and run journals are parsed and checked against a strict
schema, documents are parsed and compared with the desired ones, the text a diff shows is masked. Only the facts go
back to root, and root takes them only after ``check_observation`` (types, lengths, counts; no recursion, no
regex, no parser over user text). Anything a user wrote that does not fit becomes a problem of that folder.

The planner calls ``ensure_digested`` too, for observations that arrive raw (the Windows transport, tests): one
code path decides for every OS. PURE: no filesystem, no user database, no clock.
"""

from __future__ import annotations

import posixpath

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._errors import TabopsError
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._secrets import REDACTED, mask_xml_secrets
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._journal import (
    journal_run_id,
    parse_journal,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._plan import (
    BACKUP_DIR_NAME,
    MANIFEST_NAME,
    SyncError,
    decode_document,
    parse_manifest,
    problem_text,
    sha256_bytes,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import (
    MAX_DOCUMENT_BYTES,
    TableauXmlError,
    diff_documents,
    document_kind,
    parse_oauth_config,
    parse_tdc,
)

# Bounds of what a worker may hand root (beyond them the folder fails, naming the field).
MAX_ENTRIES = 1000
MAX_NAME_CHARS = 255
MAX_SHORT_CHARS = 1024
MAX_VALUE_CHARS = 8192
MAX_DIFFERENCES = 200
MAX_LIST_ITEMS = 200
MAX_TEXT_CHARS = MAX_DOCUMENT_BYTES
DIGESTED = "digested"

ENTRY_TYPES = ("absent", "file", "symlink", "directory", "other")
_DOCUMENT_FIELDS = ("problem", "kind", "class", "config_id", "dbclass")


def escape_name(name):
    """A file name as visible, valid text: bytes that are not UTF-8 (``surrogateescape``) as ``\\xNN``, control
    characters as ``\\xNN``. What goes into messages and results; never used to reach the file again (such a
    file is only ever reported, as unmanaged: ``odd_entries`` of a FolderObservation)."""
    if isinstance(name, bytes):
        name = name.decode("utf-8", "surrogateescape")
    out = []
    for char in name:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            out.append("\\x%02x" % (code - 0xDC00))
        elif code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF:
            out.append("\\x%02x" % code if code < 0x100 else "\\u%04x" % code)
        else:
            out.append(char)
    return "".join(out)


def plain_name(name):
    """True for a name that is valid UTF-8 without control characters (what the sync may use as a name)."""
    return isinstance(name, str) and 0 < len(name) <= MAX_NAME_CHARS and escape_name(name) == name


# ---------------------------------------------------------------------------------------------
# worker side: bytes -> facts
# ---------------------------------------------------------------------------------------------


def _bounded_value(value):
    """A difference's value as a scalar or a flat list of scalars, every text capped (secrets masked)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return mask_xml_secrets(value[:MAX_VALUE_CHARS])
    if isinstance(value, (list, tuple)):
        return [
            _bounded_value(item) if isinstance(item, (str, int, float, bool)) else str(type(item).__name__)
            for item in value[:MAX_LIST_ITEMS]
        ]
    return type(value).__name__


def _differences(desired_content, text):
    found = diff_documents(desired_content, text)
    return [
        {
            "path": str(item.get("path"))[:MAX_SHORT_CHARS],
            "expected": REDACTED if "secret" in str(item.get("path")).lower() else _bounded_value(item.get("expected")),
            "actual": REDACTED if "secret" in str(item.get("path")).lower() else _bounded_value(item.get("actual")),
        }
        for item in found[:MAX_DIFFERENCES]
    ]


def _short(value):
    return None if value is None else str(value)[:MAX_SHORT_CHARS]


def digest_document(data, desired_content=None, want_text=False):
    """Facts about one file's bytes: parse problem, kind and identifying fields, differences from
    ``desired_content`` (when given) and, with ``want_text`` or any difference, the masked text a diff shows."""
    document = {"problem": None, "kind": None, "class": None, "config_id": None, "dbclass": None}
    document.update(differences=None, text=None)
    if desired_content is not None and not want_text and data == desired_content.encode("utf-8"):
        # The very bytes the collection writes (every no-change run): same meaning, nothing to parse.
        document["differences"] = []
        return document
    text, problem = decode_document(data)
    if problem is None:
        try:
            if desired_content is not None:
                document["differences"] = _differences(desired_content, text)
            else:
                kind = document_kind(text)
                document["kind"] = kind
                if kind == "tdc":
                    document["class"] = _short(parse_tdc(text).get("class"))
                else:
                    parsed = parse_oauth_config(text)
                    document["config_id"] = _short(parsed.get("id") or parsed.get("oauth_config_id") or "")
                    document["dbclass"] = _short(parsed.get("dbclass"))
        except TableauXmlError as exc:
            problem = problem_text(exc)[:MAX_SHORT_CHARS]
        except (ValueError, RecursionError, MemoryError) as exc:
            problem = "cannot be parsed (%s)" % exc.__class__.__name__
    document["problem"] = problem
    if text is not None and (want_text or problem or document["differences"]):
        document["text"] = mask_xml_secrets(text)[:MAX_TEXT_CHARS]
    return document


def _digest_entry(entry, desired_content, want_text):
    digested = {key: value for key, value in entry.items() if key != "data"}
    data = entry.get("data")
    if data is None:
        digested.setdefault("document", None)
        return digested
    digested["sha256"] = sha256_bytes(data)
    digested["document"] = digest_document(data, desired_content, want_text)
    return digested


def _digest_manifest(manifest, path, paths):
    if not isinstance(manifest, dict) or manifest.get("data") is None:
        return manifest
    where = paths.join(path, MANIFEST_NAME)
    digested = {key: value for key, value in manifest.items() if key != "data"}
    digested["sha256"] = sha256_bytes(manifest["data"])
    try:
        digested["files"] = parse_manifest(manifest["data"], where)
    except SyncError as exc:
        digested["error"] = str(exc)[:MAX_VALUE_CHARS]
    return digested


def _digest_journals(journals, folder, paths):
    digested = {}
    for name, entry in (journals or {}).items():
        run_id = journal_run_id(name)
        if run_id is None:
            continue
        kept = {"identity": entry.get("identity")}
        if entry.get("problem") or entry.get("data") is None:
            kept["problem"] = str(entry.get("problem") or "was not read")[:MAX_SHORT_CHARS]
        else:
            try:
                kept["journal"] = parse_journal(entry["data"], paths.join(folder, BACKUP_DIR_NAME, name), run_id)
            except SyncError as exc:
                kept["error"] = str(exc)[:MAX_VALUE_CHARS]
        digested[name] = kept
    return digested


def digest_observation(observation, desired=(), rollback_run_id=None, path="", paths=posixpath):
    """The FolderObservation with every byte a user wrote replaced by facts (see the module docstring).

    ``desired``: the desired items of this folder (their ``name`` and ``content``). Never raises for content: a
    file that cannot be made sense of is a problem of that file (or folder).
    """
    if not isinstance(observation, dict) or observation.get(DIGESTED) or observation.get("state") != "present":
        return observation
    desired_content = {item["name"]: item["content"] for item in desired}
    digested = dict(observation, **{DIGESTED: True})
    digested["manifest"] = _digest_manifest(observation.get("manifest"), path, paths)
    owned = set((digested["manifest"] or {}).get("files") or ())
    digested["entries"] = {
        name: _digest_entry(
            entry,
            desired_content.get(name),
            bool(rollback_run_id) or (name in owned and name not in desired_content),
        )
        for name, entry in (observation.get("entries") or {}).items()
    }
    digested["odd_entries"] = {
        name: _digest_entry(entry, None, False) for name, entry in (observation.get("odd_entries") or {}).items()
    }
    digested["journals"] = _digest_journals(observation.get("journals"), path, paths)
    backups = observation.get("backup_data") or {}
    digested["backup_data"] = dict(backups)
    digested["backup_text"] = {
        name: mask_xml_secrets(decode_document(data)[0] or "")[:MAX_TEXT_CHARS] for name, data in backups.items()
    }
    return digested


def ensure_digested(observations, desired=(), rollback_run_id=None, paths=posixpath):
    """``{path: FolderObservation}`` with those that arrived raw digested (a new dict: the caller's stays as is)."""
    digested = {}
    for path, observation in observations.items():
        if isinstance(observation, dict) and not observation.get(DIGESTED):
            mine = [item for item in desired if item["dir"] == path]
            observation = digest_observation(observation, mine, rollback_run_id, path, paths)
        digested[path] = observation
    return digested


# ---------------------------------------------------------------------------------------------
# root side: take only what fits the schema
# ---------------------------------------------------------------------------------------------


class SchemaError(TabopsError, ValueError):
    """A worker's answer that does not fit the schema; the message names the field."""


def _object(value, field):
    if not isinstance(value, dict):
        raise SchemaError("%s must be an object" % field)


def _text(value, field, limit=MAX_SHORT_CHARS, optional=True):
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise SchemaError("%s must be text" % field)
    if len(value) > limit:
        raise SchemaError("%s is longer than %d characters" % (field, limit))


def _integer(value, field, optional=True):
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemaError("%s must be an integer" % field)


def _escaped_name(name):
    """An escaped file name (``escape_name``'s output): visible text, at most 4 characters per byte of a name."""
    return isinstance(name, str) and 0 < len(name) <= 4 * MAX_NAME_CHARS and escape_name(name) == name


def _mapping(value, field, limit=MAX_ENTRIES, optional=True, names=plain_name):
    if value is None and optional:
        return {}
    _object(value, field)
    if len(value) > limit:
        raise SchemaError("%s holds more than %d entries" % (field, limit))
    for key in value:
        if not names(key):
            raise SchemaError("%s: a name is not plain text" % field)
    return value


def _sequence(value, field, limit=MAX_ENTRIES):
    if value is None:
        return []
    if not isinstance(value, list):
        raise SchemaError("%s must be a list" % field)
    if len(value) > limit:
        raise SchemaError("%s holds more than %d items" % (field, limit))
    return value


def _identity(value, field):
    for item in _sequence(value, field, 9):
        _integer(item, field + "[]", optional=False)


def _scalar(value, field):
    if value is None or isinstance(value, (bool, int, float)):
        return
    _text(value, field, MAX_VALUE_CHARS)


def _check_document(document, field):
    if document is None:
        return
    _object(document, field)
    for key in _DOCUMENT_FIELDS:
        _text(document.get(key), "%s.%s" % (field, key))
    _text(document.get("text"), field + ".text", MAX_TEXT_CHARS)
    for index, difference in enumerate(_sequence(document.get("differences"), field + ".differences", MAX_DIFFERENCES)):
        where = "%s.differences[%d]" % (field, index)
        _object(difference, where)
        _text(difference.get("path"), where + ".path", optional=False)
        for key in ("expected", "actual"):
            value = difference.get(key)
            if isinstance(value, list):
                for item in _sequence(value, where + "." + key, MAX_LIST_ITEMS):
                    _scalar(item, where + "." + key + "[]")
            else:
                _scalar(value, where + "." + key)


def _check_entry(entry, field):
    _object(entry, field)
    if "data" in entry:
        raise SchemaError("%s carries raw bytes" % field)
    if entry.get("type") not in ENTRY_TYPES:
        raise SchemaError("%s.type must be one of %s" % (field, ", ".join(ENTRY_TYPES)))
    for key in ("uid", "gid", "mode", "nlink"):
        _integer(entry.get(key), "%s.%s" % (field, key))
    for key in ("owner", "group", "problem"):
        _text(entry.get(key), "%s.%s" % (field, key))
    _text(entry.get("sha256"), field + ".sha256", 64)
    _identity(entry.get("identity"), field + ".identity")
    _check_document(entry.get("document"), field + ".document")


def _check_state(state, field):
    _object(state, field)
    _text(state.get("state"), field + ".state", optional=False)
    for key in ("sha256", "backup", "detail"):
        _text(state.get(key), "%s.%s" % (field, key))
    for key in ("mode", "uid", "gid"):
        _integer(state.get(key), "%s.%s" % (field, key))


def _check_journal(entry, field):
    _object(entry, field)
    if "data" in entry:
        raise SchemaError("%s carries raw bytes" % field)
    _identity(entry.get("identity"), field + ".identity")
    _text(entry.get("problem"), field + ".problem")
    _text(entry.get("error"), field + ".error", MAX_VALUE_CHARS)
    journal = entry.get("journal")
    if journal is None:
        return
    _object(journal, field + ".journal")
    _text(journal.get("run_id"), field + ".journal.run_id", 64, optional=False)
    _text(journal.get("stamp"), field + ".journal.stamp", 16, optional=False)
    for name, record in _mapping(journal.get("files"), field + ".journal.files", optional=False).items():
        where = "%s.journal.files.%s" % (field, name)
        _object(record, where)
        _check_state(record.get("before"), where + ".before")
        _check_state(record.get("after"), where + ".after")
        _check_manifest_entry(record.get("manifest_before"), where + ".manifest_before")


def _check_manifest_entry(entry, field):
    if entry is None:
        return
    _object(entry, field)
    for key in ("kind", "artifact"):
        _text(entry.get(key), "%s.%s" % (field, key))
    _text(entry.get("sha256"), field + ".sha256", 64)


def _check_manifest(manifest, field):
    if manifest is None:
        return
    _object(manifest, field)
    if "data" in manifest:
        raise SchemaError("%s carries raw bytes" % field)
    _text(manifest.get("problem"), field + ".problem")
    _text(manifest.get("error"), field + ".error", MAX_VALUE_CHARS)
    _text(manifest.get("sha256"), field + ".sha256", 64)
    _integer(manifest.get("mode"), field + ".mode")
    _identity(manifest.get("identity"), field + ".identity")
    for name, entry in _mapping(manifest.get("files"), field + ".files").items():
        _check_manifest_entry(entry, "%s.files.%s" % (field, name))


def check_sync_outcome(outcome, operation_count):
    """A worker's answer for one folder's operations, checked like an observation: ``done`` operation indexes,
    ``errors`` ``{index, path, msg}`` and a folder ``error``, every index within the operations, every text bounded.
    Raises SchemaError naming the field."""
    if not isinstance(outcome, dict):
        raise SchemaError("the answer must be a mapping")
    done = _sequence(outcome.get("done"), "done")
    errors = _sequence(outcome.get("errors") or [], "errors")
    for index in done:
        _operation_index(index, "done[]", operation_count)
    checked_errors = []
    for position, error in enumerate(errors):
        field = "errors[%d]" % position
        if not isinstance(error, dict):
            raise SchemaError("%s must be a mapping" % field)
        _operation_index(error.get("index"), field + ".index", operation_count)
        _text(error.get("msg"), field + ".msg", MAX_VALUE_CHARS, optional=False)
        _text(error.get("path"), field + ".path", MAX_VALUE_CHARS)
        checked_errors.append({"index": error["index"], "path": error.get("path"), "msg": error["msg"]})
    _text(outcome.get("error"), "error", MAX_VALUE_CHARS)
    return {"done": list(done), "errors": checked_errors, "error": outcome.get("error")}


def _operation_index(value, field, operation_count):
    _integer(value, field, optional=False)
    if not 0 <= value < operation_count:
        raise SchemaError("%s %d is not one of the folder's %d operations" % (field, value, operation_count))


def check_observation(observation):
    """``observation`` (a worker's FolderObservation) if it fits the schema, else SchemaError naming the field.

    Every level is checked explicitly (fixed depth, bounded counts and lengths): nothing a user wrote can make
    this walk deep or long.
    """
    if not isinstance(observation, dict):
        raise SchemaError("the observation must be an object")
    state = observation.get("state")
    if state not in ("present", "absent", "refused"):
        raise SchemaError("state must be present, absent or refused")
    _text(observation.get("detail"), "detail", MAX_VALUE_CHARS)
    if state != "present":
        for index, item in enumerate(_sequence(observation.get("missing"), "missing", 64)):
            _text(item, "missing[%d]" % index, 4096, optional=False)
        return observation
    if not observation.get(DIGESTED):
        raise SchemaError("the observation was not digested by the worker")
    for key in ("uid", "gid"):
        _integer(observation.get(key), key)
    _identity(observation.get("identity"), "identity")
    _text(observation.get("backups_problem"), "backups_problem")
    for key in ("backups", "temp_files"):
        for item in _sequence(observation.get(key), key, 2 * MAX_ENTRIES):
            _text(item, key + "[]", 2 * MAX_NAME_CHARS, optional=False)
    _check_manifest(observation.get("manifest"), "manifest")
    for name, entry in _mapping(observation.get("entries"), "entries").items():
        _check_entry(entry, "entries." + name)
    odd = observation.get("odd_entries")
    for name, entry in _mapping(odd, "odd_entries", names=_escaped_name).items():
        _check_entry(entry, "odd_entries." + name)
    for name, entry in _mapping(observation.get("journals"), "journals").items():
        _check_journal(entry, "journals." + name)
    for name, data in _mapping(observation.get("backup_data"), "backup_data").items():
        if not isinstance(data, bytes) or len(data) > MAX_DOCUMENT_BYTES:
            raise SchemaError("backup_data.%s must be at most %d bytes" % (name, MAX_DOCUMENT_BYTES))
    for name, text in _mapping(observation.get("backup_text"), "backup_text").items():
        _text(text, "backup_text." + name, MAX_TEXT_CHARS)
    return observation
