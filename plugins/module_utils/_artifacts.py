# Copyright: tabops maintainers
# MIT License (see galaxy.yml)
"""Host-side sync of Tableau files (OAuth configs, TDCs): plan, atomic write, backup, manifest, conflict scan.

Standard library only (Python >= 3.9): this runs on managed hosts with their system Python.
XML parsing and semantic comparison come from ``_tableau_xml`` (defusedxml when importable,
hardened stdlib fallback otherwise).

Two phases keep a host consistent: ``plan_sync`` reads everything and decides (it never writes,
so check mode is the plan itself), ``apply_plan`` performs exactly the planned actions.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import grp
import hashlib
import json
import os
import pwd
import re
import stat
import tempfile

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import (
    MAX_DOCUMENT_BYTES,
    REDACTED,
    TableauXmlError,
    diff_documents,
    document_kind,
    parse_oauth_config,
    parse_tdc,
)

MANAGED_BY = "tabops.redshift_oauth"
MANIFEST_NAME = ".tabops-managed.json"
BACKUP_DIR_NAME = ".tabops-backups"
TEMP_PREFIX = ".tabops-tmp-"
KINDS = ("oauth_config", "tdc")
APPLICATIONS = ("desktop", "prep", "bridge", "server")
KIND_SUFFIX = {"oauth_config": ".xml", "tdc": ".tdc"}
DEFAULT_FILE_MODE = "0644"
DEFAULT_DIR_MODE = "0755"
# Backups hold client secrets: only the owner of the managed folder may read them.
BACKUP_DIR_MODE = 0o700
# Shorter strings would blank out ordinary words once Ansible masks them everywhere.
MIN_MASKABLE_SECRET_LENGTH = 4

_MODE_RE = re.compile(r"^0?[0-7]{3,4}$")
_SECRET_ELEMENT_RE = re.compile(
    r"(<clientSecretDesktop\b[^>]*>)(.*?)(</clientSecretDesktop\s*>)",
    re.DOTALL,
)


class ArtifactError(ValueError):
    """Bad input or a host state this module refuses to act on; the message names field, host path and file."""


# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------


def mask_secrets(text):
    """Replace the content of every ``<clientSecretDesktop>`` element with REDACTED."""
    if not text:
        return text
    return _SECRET_ELEMENT_RE.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)


def extract_secrets(text):
    """Secret values present in a document (raw and parsed form), for Ansible's no_log masking."""
    found = set()
    for match in _SECRET_ELEMENT_RE.finditer(text or ""):
        value = match.group(2).strip()
        if value.startswith("<![CDATA[") and value.endswith("]]>"):
            value = value[9:-3]
        found.add(value)
    try:
        if document_kind(text) == "oauth_config":
            parsed = parse_oauth_config(text).get("client_secret_desktop")
            if parsed:
                found.add(str(parsed))
    except (TableauXmlError, ValueError):
        pass
    return sorted(value for value in found if len(value) >= MIN_MASKABLE_SECRET_LENGTH)


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def utc_stamp(now=None):
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%SZ")


def parse_mode(value, field):
    """Octal string ('0640') -> int; names the field when malformed."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = "%o" % value
    text = str(value).strip()
    if not _MODE_RE.match(text):
        raise ArtifactError("%s: mode %r is not an octal string such as '0640'" % (field, value))
    mode = int(text, 8)
    if mode & ~0o7777:
        raise ArtifactError("%s: mode %r is out of range" % (field, value))
    return mode


def resolve_uid(owner, field):
    if owner is None or owner == "":
        return None
    text = str(owner)
    if text.isdigit():
        return int(text)
    try:
        return pwd.getpwnam(text).pw_uid
    except KeyError:
        raise ArtifactError("%s: user %r does not exist on this host" % (field, text)) from None


def resolve_gid(group, field):
    if group is None or group == "":
        return None
    text = str(group)
    if text.isdigit():
        return int(text)
    try:
        return grp.getgrnam(text).gr_gid
    except KeyError:
        raise ArtifactError("%s: group %r does not exist on this host" % (field, text)) from None


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


def read_bounded(path):
    """Read a regular file without following symlinks and without reading more than the size limit.

    Returns ``(data_bytes, problem)``; exactly one of them is None. ``problem`` is a short reason.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, "is a symbolic link (not followed)"
        return None, "cannot be read: %s" % (exc.strerror or exc)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, "is not a regular file"
        if st.st_size > MAX_DOCUMENT_BYTES:
            return None, "is larger than %d KiB" % (MAX_DOCUMENT_BYTES // 1024)
        chunks = []
        remaining = MAX_DOCUMENT_BYTES + 1
        while remaining > 0:
            chunk = os.read(fd, min(65536, remaining))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
        if len(data) > MAX_DOCUMENT_BYTES:
            return None, "is larger than %d KiB" % (MAX_DOCUMENT_BYTES // 1024)
        return data, None
    finally:
        os.close(fd)


def decode_document(data):
    """bytes -> (text, problem)."""
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return None, "not UTF-8 text (byte %d)" % exc.start


def _problem_text(exc):
    # The parser's message may quote document text; mask secrets it might carry.
    return mask_secrets(" ".join(str(exc).split())) or exc.__class__.__name__


# ---------------------------------------------------------------------------------------------
# input validation
# ---------------------------------------------------------------------------------------------


def _norm_abs_path(value, field):
    if not isinstance(value, str) or not value:
        raise ArtifactError("%s: path is required" % field)
    if not os.path.isabs(value):
        raise ArtifactError("%s: path %r must be absolute" % (field, value))
    if "\x00" in value:
        raise ArtifactError("%s: path contains a NUL byte" % field)
    normalized = os.path.normpath(value)
    if normalized != value.rstrip("/") and normalized != value:
        raise ArtifactError("%s: path %r is not normalized (use %r)" % (field, value, normalized))
    return normalized


def normalize_request(files, managed_dirs):
    """Validate the module input; returns (files, dirs) as lists of dicts with resolved ids and modes."""
    if not isinstance(managed_dirs, list) or not managed_dirs:
        raise ArtifactError("managed_dirs: at least one managed folder is required")
    dirs = []
    dir_by_path = {}
    for index, item in enumerate(managed_dirs):
        field = "managed_dirs[%d]" % index
        if not isinstance(item, dict):
            raise ArtifactError("%s: must be a dict" % field)
        path = _norm_abs_path(item.get("path"), field + ".path")
        kind = item.get("kind")
        if kind not in KINDS:
            raise ArtifactError("%s.kind: %r is not one of %s (folder %s)" % (field, kind, ", ".join(KINDS), path))
        application = item.get("application")
        if application not in APPLICATIONS:
            raise ArtifactError(
                "%s.application: %r is not one of %s (folder %s)" % (field, application, ", ".join(APPLICATIONS), path)
            )
        if path in dir_by_path:
            raise ArtifactError("%s.path: folder %s is listed twice" % (field, path))
        entry = {
            "path": path,
            "kind": kind,
            "application": application,
            "owner": item.get("owner"),
            "group": item.get("group"),
            "uid": resolve_uid(item.get("owner"), field + ".owner (folder %s)" % path),
            "gid": resolve_gid(item.get("group"), field + ".group (folder %s)" % path),
            "mode": parse_mode(item.get("mode") or DEFAULT_DIR_MODE, field + ".mode (folder %s)" % path),
        }
        dirs.append(entry)
        dir_by_path[path] = entry

    desired = []
    seen_paths = {}
    for index, item in enumerate(files or []):
        field = "files[%d]" % index
        if not isinstance(item, dict):
            raise ArtifactError("%s: must be a dict" % field)
        path = _norm_abs_path(item.get("path"), field + ".path")
        where = " (file %s)" % path
        if path in seen_paths:
            raise ArtifactError("%s.path: %s is also declared by files[%d]" % (field, path, seen_paths[path]))
        seen_paths[path] = index
        name = os.path.basename(path)
        if name.startswith(".") or name == MANIFEST_NAME:
            raise ArtifactError("%s.path: hidden file names are reserved for the collection%s" % (field, where))
        kind = item.get("kind")
        if kind not in KINDS:
            raise ArtifactError("%s.kind: %r is not one of %s%s" % (field, kind, ", ".join(KINDS), where))
        if not name.endswith(KIND_SUFFIX[kind]):
            raise ArtifactError(
                "%s.path: a %s file must end with %s or Tableau will not load it%s"
                % (field, kind, KIND_SUFFIX[kind], where)
            )
        parent = os.path.dirname(path)
        managed = dir_by_path.get(parent)
        if managed is None:
            raise ArtifactError(
                "%s.path: parent folder %s is not one of managed_dirs (%s)%s"
                % (field, parent, ", ".join(sorted(dir_by_path)), where)
            )
        if managed["kind"] != kind:
            raise ArtifactError(
                "%s.kind: %s does not match the kind %s of managed folder %s%s"
                % (field, kind, managed["kind"], parent, where)
            )
        application = item.get("application") or managed["application"]
        if application not in APPLICATIONS:
            raise ArtifactError(
                "%s.application: %r is not one of %s%s" % (field, application, ", ".join(APPLICATIONS), where)
            )
        content = item.get("content")
        if not isinstance(content, str) or not content.strip():
            raise ArtifactError("%s.content: rendered document text is required%s" % (field, where))
        artifact = item.get("artifact") or name
        encoded = content.encode("utf-8")
        if len(encoded) > MAX_DOCUMENT_BYTES:
            raise ArtifactError(
                "%s.content: %d bytes is over Tableau's %d KiB limit (artifact %s)%s"
                % (field, len(encoded), MAX_DOCUMENT_BYTES // 1024, artifact, where)
            )
        try:
            actual_kind = document_kind(content)
            parsed = parse_tdc(content) if kind == "tdc" else parse_oauth_config(content)
        except TableauXmlError as exc:
            raise ArtifactError(
                "%s.content: artifact %s is not a valid %s document: %s%s"
                % (field, artifact, kind, _problem_text(exc), where)
            ) from None
        if actual_kind != kind:
            raise ArtifactError(
                "%s.content: artifact %s is a %s document but kind is %s%s"
                % (field, artifact, actual_kind, kind, where)
            )
        desired.append(
            {
                "index": index,
                "path": path,
                "name": name,
                "dir": parent,
                "kind": kind,
                "application": application,
                "artifact": str(artifact),
                "content": content,
                "data": encoded,
                "parsed": parsed,
                "owner": item.get("owner"),
                "group": item.get("group"),
                "uid": resolve_uid(item.get("owner"), field + ".owner" + where),
                "gid": resolve_gid(item.get("group"), field + ".group" + where),
                "mode": parse_mode(item.get("mode") or DEFAULT_FILE_MODE, field + ".mode" + where),
            }
        )

    # Two desired TDCs of one class in one folder: Tableau would apply only one of them.
    classes = {}
    for item in desired:
        if item["kind"] != "tdc":
            continue
        key = (item["dir"], item["parsed"].get("class"))
        if key in classes:
            raise ArtifactError(
                "files[%d]: TDC %s has class %r like %s in the same folder; Tableau applies only one TDC per class"
                % (item["index"], item["path"], key[1], classes[key])
            )
        classes[key] = item["path"]
    return desired, dirs


# ---------------------------------------------------------------------------------------------
# manifest
# ---------------------------------------------------------------------------------------------


def manifest_path(directory):
    return os.path.join(directory, MANIFEST_NAME)


def render_manifest(files):
    """Deterministic manifest text: sorted keys, fixed indentation, trailing newline, no timestamps."""
    document = {"managed_by": MANAGED_BY, "files": files}
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def read_manifest(directory):
    """Return ({name: entry}, raw_text or None); raises ArtifactError for a manifest it cannot trust."""
    path = manifest_path(directory)
    if not os.path.lexists(path):
        return {}, None
    data, problem = read_bounded(path)
    if problem:
        raise ArtifactError("manifest %s %s; fix or remove it" % (path, problem))
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ArtifactError("manifest %s is not valid JSON (%s); fix or remove it" % (path, exc)) from None
    if not isinstance(document, dict) or not isinstance(document.get("files"), dict):
        raise ArtifactError("manifest %s: expected an object with a 'files' object; fix or remove it" % path)
    if document.get("managed_by") != MANAGED_BY:
        raise ArtifactError(
            "manifest %s: managed_by is %r, not %r; refusing to take over"
            % (path, document.get("managed_by"), MANAGED_BY)
        )
    files = {}
    for name, entry in document["files"].items():
        if not isinstance(entry, dict) or "/" in name or name in ("", ".", "..") or name.startswith("."):
            raise ArtifactError("manifest %s: entry %r is malformed; fix or remove it" % (path, name))
        files[name] = {
            "kind": entry.get("kind"),
            "artifact": entry.get("artifact"),
            "sha256": entry.get("sha256"),
        }
    return files, data.decode("utf-8")


# ---------------------------------------------------------------------------------------------
# planning (read-only)
# ---------------------------------------------------------------------------------------------


def _attribute_differences(item, st):
    differences = []
    if item["uid"] is not None and st.st_uid != item["uid"]:
        differences.append({"path": "file.owner", "expected": user_name(item["uid"]), "actual": user_name(st.st_uid)})
    if item["gid"] is not None and st.st_gid != item["gid"]:
        differences.append({"path": "file.group", "expected": group_name(item["gid"]), "actual": group_name(st.st_gid)})
    actual_mode = stat.S_IMODE(st.st_mode)
    if actual_mode != item["mode"]:
        differences.append({"path": "file.mode", "expected": "%04o" % item["mode"], "actual": "%04o" % actual_mode})
    return differences


def _inspect_desired(item):
    """Compare one desired file with the host. Returns a plan entry."""
    path = item["path"]
    entry = {
        "path": path,
        "artifact": item["artifact"],
        "application": item["application"],
        "kind": item["kind"],
        "status": "compliant",
        "action": "none",
        "differences": [],
        "_item": item,
        "_rewrite": False,
        "_exists": False,
        "_before_text": "",
    }
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        entry.update(status="missing", action="create", _rewrite=True)
        return entry
    except OSError as exc:
        entry.update(status="error", differences=[{"path": "file", "expected": "readable", "actual": exc.strerror}])
        return entry
    entry["_exists"] = True
    if stat.S_ISDIR(st.st_mode):
        entry.update(
            status="error", differences=[{"path": "file.type", "expected": "regular file", "actual": "directory"}]
        )
        return entry
    if not stat.S_ISREG(st.st_mode):
        kind = "symbolic link" if stat.S_ISLNK(st.st_mode) else "special file"
        entry.update(
            status="drift",
            action="update",
            _rewrite=True,
            differences=[{"path": "file.type", "expected": "regular file", "actual": kind}],
        )
        return entry
    data, problem = read_bounded(path)
    text = None
    if problem is None:
        text, problem = decode_document(data)
    differences = []
    if problem is None:
        entry["_before_text"] = text
        try:
            differences = diff_documents(item["content"], text)
        except TableauXmlError as exc:
            problem = _problem_text(exc)
    if problem is not None:
        differences = [
            {"path": "document", "expected": "parseable %s" % item["kind"], "actual": "unparseable: " + problem}
        ]
    entry["_current_sha256"] = sha256_bytes(data) if data is not None else None
    entry["differences"] = list(differences) + _attribute_differences(item, st)
    if differences:
        entry.update(status="drift", action="update", _rewrite=True)
    elif entry["differences"]:
        entry.update(status="drift", action="update")
    return entry


def _scan_unmanaged(directory, owned_names, desired_names, desired_tdc_classes):
    """Files in a managed folder that the collection neither owns nor declares."""
    found = []
    suffix = KIND_SUFFIX[directory["kind"]]
    try:
        names = sorted(os.listdir(directory["path"]))
    except FileNotFoundError:
        return found
    for name in names:
        if name.startswith(".") or not name.lower().endswith(suffix):
            continue
        if name in owned_names or name in desired_names:
            continue
        path = os.path.join(directory["path"], name)
        base = {"path": path, "application": directory["application"], "kind": directory["kind"]}
        data, problem = read_bounded(path)
        text = None
        if problem is None:
            text, problem = decode_document(data)
        parsed = None
        if problem is None:
            try:
                actual_kind = document_kind(text)
                if actual_kind != directory["kind"]:
                    problem = "is a %s document in a %s folder" % (actual_kind, directory["kind"])
                elif actual_kind == "tdc":
                    parsed = parse_tdc(text)
                else:
                    parsed = parse_oauth_config(text)
            except TableauXmlError as exc:
                problem = _problem_text(exc)
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
            config_id = parsed.get("id") or parsed.get("oauth_config_id") or ""
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


def plan_sync(files, managed_dirs, tdc_conflicts="fail"):
    """Read the host and decide what to do. Never writes. Raises ArtifactError on bad input or a TDC conflict."""
    if tdc_conflicts not in ("fail", "warn"):
        raise ArtifactError("tdc_conflicts: %r is not one of fail, warn" % (tdc_conflicts,))
    desired, dirs = normalize_request(files, managed_dirs)
    plan = {"dirs": [], "files": [], "unmanaged": []}
    for directory in dirs:
        path = directory["path"]
        dir_exists = os.path.isdir(path)
        if os.path.lexists(path) and (not dir_exists or os.path.islink(path)):
            raise ArtifactError("managed folder %s exists but is not a real folder (file or symlink)" % path)
        manifest, manifest_text = read_manifest(path) if dir_exists else ({}, None)
        mine = [item for item in desired if item["dir"] == path]
        desired_names = {item["name"] for item in mine}
        dir_plan = {
            "directory": directory,
            "create": _missing_folders(path) if not dir_exists else [],
            "manifest_before": manifest_text,
            "manifest_files": dict(manifest),
            "entries": [],
        }
        for item in mine:
            entry = _inspect_desired(item)
            entry["_owned_before"] = item["name"] in manifest
            dir_plan["entries"].append(entry)
        for name in sorted(set(manifest) - desired_names):
            stale_path = os.path.join(path, name)
            entry = {
                "path": stale_path,
                "artifact": manifest[name].get("artifact") or name,
                "application": directory["application"],
                "kind": manifest[name].get("kind") or directory["kind"],
                "status": "stale",
                "action": "remove",
                "differences": [{"path": "file", "expected": "absent", "actual": "present"}],
                "_name": name,
                "_before_text": "",
            }
            if not os.path.lexists(stale_path):
                # Owned but already gone: only the manifest entry goes.
                entry.update(action="none", differences=[])
            else:
                data, problem = read_bounded(stale_path)
                if problem is None:
                    text, problem = decode_document(data)
                    entry["_before_text"] = text or ""
            dir_plan["entries"].append(entry)
        tdc_classes = {item["parsed"].get("class"): item["path"] for item in mine if item["kind"] == "tdc"}
        unmanaged = _scan_unmanaged(directory, set(manifest), desired_names, tdc_classes) if dir_exists else []
        plan["unmanaged"].extend(unmanaged)
        dir_plan["new_manifest"] = _next_manifest(dir_plan)
        plan["dirs"].append(dir_plan)
        plan["files"].extend(dir_plan["entries"])

    conflicts = [item for item in plan["unmanaged"] if item["reason"] == "tdc_conflict"]
    errors = [entry for entry in plan["files"] if entry["status"] == "error"]
    plan["errors"] = errors
    plan["conflicts"] = conflicts
    if conflicts and tdc_conflicts == "fail":
        plan["fail_msg"] = "TDC conflict, nothing written: " + "; ".join(
            "%s: %s" % (item["path"], item["detail"]) for item in conflicts
        )
    elif errors:
        plan["fail_msg"] = "cannot sync, nothing written: " + "; ".join(
            "%s: %s is %s" % (e["path"], d["path"], d["actual"]) for e in errors for d in e["differences"]
        )
    return plan


def _next_manifest(dir_plan):
    """The manifest files mapping after the planned actions; entries of untouched files keep their sha256."""
    files = {}
    previous = dir_plan["manifest_files"]
    for entry in dir_plan["entries"]:
        if entry["status"] == "stale" or entry["status"] == "error":
            continue
        item = entry["_item"]
        old = previous.get(item["name"])
        if entry["_rewrite"]:
            digest = sha256_bytes(item["data"])
        elif old and old.get("sha256"):
            digest = old["sha256"]
        else:
            digest = entry.get("_current_sha256") or sha256_bytes(item["data"])
        files[item["name"]] = {"kind": item["kind"], "artifact": item["artifact"], "sha256": digest}
    return files


def manifest_changes(dir_plan):
    before = dir_plan["manifest_before"]
    after = render_manifest(dir_plan["new_manifest"])
    if before is None and not dir_plan["new_manifest"]:
        return False
    return before != after


# ---------------------------------------------------------------------------------------------
# applying
# ---------------------------------------------------------------------------------------------


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path, data, mode, uid=None, gid=None):
    """Write bytes to path atomically: temp file in the same folder, chown/chmod and fsync before rename."""
    directory = os.path.dirname(path)
    fd, temp_path = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=directory)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if uid is not None or gid is not None:
                os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_path)
        raise
    _fsync_dir(directory)


def _missing_folders(path):
    """Folders to create, outermost first, for a managed folder that does not exist (like mkdir -p)."""
    missing = []
    current = path
    while not os.path.lexists(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    if not os.path.isdir(current):
        raise ArtifactError("managed folder %s: %s exists but is not a folder" % (path, current))
    return list(reversed(missing))


def ensure_dir(path, mode, uid=None, gid=None):
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        # A parent shared with another managed folder, created a moment ago in this run.
        if os.path.isdir(path) and not os.path.islink(path):
            return
        raise
    # mkdir applies the umask; the declared mode wins.
    os.chmod(path, mode)
    if uid is not None or gid is not None:
        os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)


def backup_file(directory, name, stamp):
    """Copy a file into <directory>/.tabops-backups/<name>.<stamp>[.N], keeping owner and mode. Returns the path."""
    backup_dir = os.path.join(directory, BACKUP_DIR_NAME)
    if not os.path.isdir(backup_dir):
        os.mkdir(backup_dir, BACKUP_DIR_MODE)
        os.chmod(backup_dir, BACKUP_DIR_MODE)
        dir_st = os.stat(directory)
        os.chown(backup_dir, dir_st.st_uid, dir_st.st_gid)
    source = os.path.join(directory, name)
    st = os.lstat(source)
    target = os.path.join(backup_dir, "%s.%s" % (name, stamp))
    counter = 1
    while os.path.lexists(target):
        target = os.path.join(backup_dir, "%s.%s.%d" % (name, stamp, counter))
        counter += 1
    if stat.S_ISLNK(st.st_mode):
        # Keep the link itself, never what it points to.
        os.symlink(os.readlink(source), target)
        return target
    if not stat.S_ISREG(st.st_mode):
        # A FIFO or device at a managed path has no content worth keeping (and reading it could block).
        return None
    with open(source, "rb") as handle:
        data = handle.read()
    atomic_write(target, data, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    return target


def apply_plan(plan, backup=True, now=None):
    """Perform the planned actions. Returns (changed, backups)."""
    if plan.get("fail_msg"):
        raise ArtifactError(plan["fail_msg"])
    stamp = utc_stamp(now)
    backups = []
    changed = False
    for dir_plan in plan["dirs"]:
        directory = dir_plan["directory"]
        path = directory["path"]
        # Missing parents (a repository Tableau has not created yet) get the managed folder's owner and mode.
        for folder in dir_plan["create"]:
            ensure_dir(folder, directory["mode"], directory["uid"], directory["gid"])
            changed = True
        for entry in dir_plan["entries"]:
            if entry["action"] == "none":
                continue
            changed = True
            if entry["action"] == "remove":
                if backup:
                    backups.append(backup_file(path, entry["_name"], stamp))
                os.unlink(entry["path"])
                _fsync_dir(path)
                continue
            item = entry["_item"]
            if entry["_rewrite"]:
                if entry["_exists"] and backup:
                    saved = backup_file(path, item["name"], stamp)
                    if saved:
                        backups.append(saved)
                atomic_write(item["path"], item["data"], item["mode"], item["uid"], item["gid"])
            else:
                uid = -1 if item["uid"] is None else item["uid"]
                gid = -1 if item["gid"] is None else item["gid"]
                os.chown(item["path"], uid, gid, follow_symlinks=False)
                os.chmod(item["path"], item["mode"])
        if manifest_changes(dir_plan):
            st = os.stat(path)
            atomic_write(
                manifest_path(path),
                render_manifest(dir_plan["new_manifest"]).encode("ascii"),
                0o644,
                st.st_uid,
                st.st_gid,
            )
            changed = True
    return changed, backups


# ---------------------------------------------------------------------------------------------
# reporting
# ---------------------------------------------------------------------------------------------


def planned_changed(plan):
    for dir_plan in plan["dirs"]:
        if dir_plan["create"]:
            return True
        if any(entry["action"] != "none" for entry in dir_plan["entries"]):
            return True
        if manifest_changes(dir_plan):
            return True
    return False


def report_files(plan):
    """Public per-file results (no private keys, secrets already masked by diff_documents)."""
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


def _mask_value(path, value):
    # Defence in depth: diff_documents already masks secret fields.
    if "secret" in str(path).lower() and value is not None:
        return REDACTED
    if isinstance(value, str):
        return mask_secrets(value)
    return value


def restart_needed(plan):
    return sorted({entry["application"] for entry in plan["files"] if entry["action"] != "none"})


def _attributes_text(entry):
    lines = []
    for d in entry["differences"]:
        if d["path"].startswith("file."):
            lines.append("%s: %s" % (d["path"], d["actual"]))
    return lines


def report_diff(plan):
    """--diff entries, secrets masked."""
    diffs = []
    for entry in plan["files"]:
        action = entry["action"]
        if action == "none":
            continue
        path = entry["path"]
        if action == "remove":
            diffs.append(
                {
                    "before_header": path,
                    "after_header": path + " (removed)",
                    "before": mask_secrets(entry["_before_text"]),
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
                    "before": mask_secrets(entry["_before_text"]),
                    "after": mask_secrets(item["content"]),
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
    return diffs


def public_unmanaged(plan):
    return [dict(item) for item in plan["unmanaged"]]
