# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Reading and merging Tableau Server (``tsm``) settings: ODBC extras allowlist, ``oauth.config.clients``.

Standard library only (Python >= 3.9): runs on the Tableau Server initial node with its system Python.
tsm takes values on its command line (``tsm configuration set -k KEY -v VALUE``); it has no option to read a
value from stdin or a file, so a client secret is in tsm's argv for the short time the call runs, exactly as
Tableau documents it. Nothing here logs argv, and every error text is masked with the known secrets.
"""

from __future__ import annotations

import copy
import errno
import fcntl
import glob
import hashlib
import json
import os
import re
import stat
import subprocess
import time

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._errors import TabopsError
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._secrets import (
    REDACTED,
    mask_text,
    secret_shape_problems,
)

DEFAULT_PACKAGES_DIR = "/opt/tableau/tableau_server/packages"
DEFAULT_ALLOWLIST_KEY = "native_api.odbc_extras_allowlist"
DEFAULT_OAUTH_CLIENTS_KEY = "oauth.config.clients"
DEFAULT_COMMAND_TIMEOUT = 600
# tsm's own default --request-timeout is 1800 s; the process gets a margin on top of it.
PROCESS_TIMEOUT_MARGIN = 120

CLIENT_FIELDS = (
    ("id", "oauth.config.id"),
    ("client_id", "oauth.config.client_id"),
    ("client_secret", "oauth.config.client_secret"),
    ("redirect_uri", "oauth.config.redirect_uri"),
)
SECRET_CLIENT_KEYS = frozenset({"oauth.config.client_secret"})
# Modes of oauth.config.clients: merge keeps clients the inventory does not declare (their secrets must read clear);
# authoritative makes the declared clients the whole list (undeclared ones are removed).
OAUTH_CLIENTS_MODES = ("merge", "authoritative")
# ENC(...) in any case, closed or not (a value cut short is still not clear text).
_ENCRYPTED_RE = re.compile(r"^\s*enc\s*\(", re.IGNORECASE)
_MASK_CHARS = frozenset("*\u2022\u25cf#xX")
_MASK_WORDS = frozenset({"[masked]", "<masked>", "[redacted]", "<redacted>", "[hidden]", "<hidden>", "redacted"})
MAX_CLEAR_SECRET_LENGTH = 4096

_KEY_RE = re.compile(r"^[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)+$")
_PENDING_LINE_RE = re.compile(r"^\s*(?:[-*]\s*)?([A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)+)\s*[:=]")
_RESTART_RE = re.compile(r"\brestart", re.IGNORECASE)
# "does not require a restart", "no restart", "without a restart": a line that mentions a restart to deny it.
_NO_RESTART_RE = re.compile(
    r"\b(?:not|no|without|neither|nor)\b[^.\n]*\brestart|\brestart\w*\s+(?:is\s+)?not\b", re.IGNORECASE
)
_STATUS_RE = re.compile(r"^\s*Status:\s*([A-Za-z_]+)\s*$")
RUNNING_STATUS = "RUNNING"
# Overall RUNNING while a process line reports unavailable, unlicensed, ...: not healthy.
UNHEALTHY_PROCESSES_STATUS = "RUNNING_WITH_UNHEALTHY_PROCESSES"
# `tsm status -v` process lines: "'Tableau Prep Conductor 0' status is unavailable." (Tableau KB, docs/sources.md),
# "'Gateway 0' is running.", "'Repository 0' is running (Passive Repository)."
_PROCESS_RE = re.compile(r"^\s*'(?P<name>[^']+)'\s+(?:status\s+)?is\s+(?P<state>[^.]+?)\.?\s*$")
HEALTHY_PROCESS_STATES = ("running", "active", "passive")
# What `tsm configuration get` prints for a key that exists but holds no value (cli_configuration_tsm.htm).
NULL_VALUE = "Null"
# `pending-changes list` lines "key: value" (or "key = value"); the layout is not documented (docs/sources.md).
_PENDING_VALUE_RE = re.compile(
    r"^\s*(?:[-*]\s*)?(?P<key>[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)+)\s*[:=]\s?(?P<value>.*?)\s*$"
)
# tsm's wording for a key it does not know (stand-in and real tsm: "Unknown key '...'").
_UNKNOWN_KEY_RE = re.compile(
    r"\b(?:unknown|invalid) (?:configuration )?key\b|\bkey\b[^\n]*\b(?:does not exist|not found)\b", re.IGNORECASE
)


class TsmError(TabopsError):
    """A tsm call failed or returned something unusable; the message is safe to show (secrets masked)."""


class TsmUnknownKeyError(TsmError):
    """tsm does not know the key (it has never been set and --force-keys was not given)."""

    def __init__(self, key, message):
        super().__init__(message)
        self.key = key


def tsm_location_spec():
    """The argument spec of the options every tsm module shares (their docs: doc fragment tabops.redshift_oauth.tsm)."""
    return {"tsm_path": {"type": "path"}, "tsm_packages_dir": {"type": "path", "default": DEFAULT_PACKAGES_DIR}}


def tsm_keys_spec():
    """The argument spec of the tsm key names the modules read (docs: doc fragment tabops.redshift_oauth.tsm_keys)."""
    return {
        "allowlist_key": {"type": "str", "default": DEFAULT_ALLOWLIST_KEY, "no_log": False},
        "oauth_clients_key": {"type": "str", "default": DEFAULT_OAUTH_CLIENTS_KEY, "no_log": False},
    }


# ---------------------------------------------------------------------------------------------
# locating tsm
# ---------------------------------------------------------------------------------------------


def version_key(text):
    """Version-aware sort key for build strings such as '20242.24.0807.0327' (numbers compare as numbers)."""
    parts = []
    for part in re.split(r"[.\-_]", text):
        if part.isdigit():
            parts.append((1, int(part), ""))
        else:
            parts.append((0, 0, part))
    return tuple(parts)


def find_tsm(tsm_path=None, packages_dir=DEFAULT_PACKAGES_DIR):
    """The tsm to run: ``tsm_path`` if given, else the newest ``customer-bin.<build>/tsm`` under packages_dir."""
    if tsm_path:
        if not (os.path.isfile(tsm_path) and os.access(tsm_path, os.X_OK)):
            raise TsmError("tsm_path: %s is not an executable file" % tsm_path)
        return tsm_path
    candidates = []
    prefix = "customer-bin."
    for path in glob.glob(os.path.join(glob.escape(packages_dir), prefix + "*", "tsm")):
        build = os.path.basename(os.path.dirname(path))[len(prefix) :]
        if os.path.isfile(path) and os.access(path, os.X_OK):
            candidates.append((version_key(build), path))
    if not candidates:
        raise TsmError(
            "no executable %s*/tsm under tsm_packages_dir %s; set tsm_path or tsm_packages_dir" % (prefix, packages_dir)
        )
    return max(candidates)[1]


# ---------------------------------------------------------------------------------------------
# running tsm
# ---------------------------------------------------------------------------------------------


class TsmClient:
    """Thin wrapper around the tsm CLI. ``secrets`` are masked in every message this class produces."""

    def __init__(self, tsm_path, timeout=DEFAULT_COMMAND_TIMEOUT, secrets=(), env=None, quote_output=True):
        """``quote_output=False``: failure messages name the command and exit code only (the read-only probe reads
        values whose secrets it cannot know beforehand, so it never quotes what tsm printed)."""
        self.tsm_path = tsm_path
        self.timeout = timeout
        self.secrets = set(secrets)
        self.env = env
        self.quote_output = quote_output
        self.calls = []  # argv with values masked, for reports and tests

    def _safe_argv(self, args):
        masked = []
        hide_next = False
        for arg in args:
            if hide_next:
                masked.append(REDACTED)
                hide_next = False
                continue
            masked.append(mask_text(arg, self.secrets))
            hide_next = arg in ("-v", "--value")
        return masked

    def run(self, args, timeout=None, stdin_text=""):
        """Run tsm; returns (rc, stdout, stderr). stdin is closed (tsm must never wait for a prompt)."""
        argv = [self.tsm_path, *args]
        shown = " ".join(self._safe_argv(args))
        self.calls.append(shown)
        try:
            completed = subprocess.run(  # pylint: disable=ansible-bad-function  # needs a timeout and closed stdin
                argv,
                input=stdin_text,
                capture_output=True,
                text=True,
                timeout=timeout or self.timeout,
                env=self.env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise TsmError("tsm %s did not finish within %s s" % (shown, timeout or self.timeout)) from None
        except OSError as exc:
            raise TsmError("cannot run %s: %s" % (self.tsm_path, exc.strerror or exc)) from None
        return completed.returncode, completed.stdout, completed.stderr

    def _failure(self, args, rc, out, err):
        if not self.quote_output:
            detail = "output withheld (run the command by hand to see it)"
        else:
            detail = " ".join(mask_text((err or "") + " " + (out or ""), self.secrets).split())[:2000]
        return TsmError("tsm %s failed (exit %d): %s" % (" ".join(self._safe_argv(args)), rc, detail))

    def failure_text(self, args, rc, out, err):
        """The one-line message of a failed call, as raised for it (output quoted only when allowed)."""
        return str(self._failure(args, rc, out, err))

    def get_shown(self, key):
        """Exactly what ``get`` prints for key (without the final newline): ``Null`` stays ``Null``."""
        args = ["configuration", "get", "-k", key]
        rc, out, err = self.run(args)
        if rc != 0:
            if _UNKNOWN_KEY_RE.search(err or "") or _UNKNOWN_KEY_RE.search(out or ""):
                raise TsmUnknownKeyError(key, "tsm does not know the key %s" % key)
            raise self._failure(args, rc, out, err)
        # tsm prints the value followed by a newline; the value itself may contain spaces.
        return out[:-1] if out.endswith("\n") else out

    def get(self, key):
        """What ``get`` shows for key ("" for ``Null``): the applied value, or the pending one on servers that show
        it (not documented; read it together with ``pending_changes``). Raises TsmUnknownKeyError for an unknown
        key."""
        value = self.get_shown(key)
        # A key that exists without a value answers "Null" (documented): never an entry or a client list.
        return "" if value.strip() == NULL_VALUE else value

    def set(self, key, value, force_keys=False):
        args = ["configuration", "set", "-k", key, "-v", value]
        if force_keys:
            args.append("--force-keys")
        rc, out, err = self.run(args)
        if rc != 0:
            if not force_keys and (_UNKNOWN_KEY_RE.search(err or "") or _UNKNOWN_KEY_RE.search(out or "")):
                raise TsmUnknownKeyError(key, "tsm does not know the key %s" % key)
            raise self._failure(args, rc, out, err)

    def pending_changes(self):
        """({pending key: value as listed, or None when not shown}, whether tsm says applying them restarts)."""
        args = ["pending-changes", "list"]
        rc, out, err = self.run(args)
        if rc != 0:
            raise self._failure(args, rc, out, err)
        changes = parse_pending_changes(out)
        return changes, bool(changes) and restart_announced(out)

    def pending(self):
        """(pending key names, whether tsm says applying them restarts the server)."""
        changes, restart = self.pending_changes()
        return sorted(changes), restart

    def pending_keys(self):
        return self.pending()[0]

    def apply(self, ignore_warnings=False, request_timeout=None):
        args = ["pending-changes", "apply", "--ignore-prompt"]
        if ignore_warnings:
            args.append("--ignore-warnings")
        if request_timeout:
            args += ["--request-timeout", str(int(request_timeout))]
        timeout = (int(request_timeout) if request_timeout else 1800) + PROCESS_TIMEOUT_MARGIN
        rc, out, err = self.run(args, timeout=timeout)
        if rc != 0:
            raise self._failure(args, rc, out, err)
        return mask_text(out, self.secrets)

    def discard(self):
        args = ["pending-changes", "discard"]
        rc, out, err = self.run(args)
        if rc != 0:
            raise self._failure(args, rc, out, err)
        return mask_text(out, self.secrets)

    def status(self):
        """(status word or None, detail): ``tsm status -v`` never raises; a failed call is a status not seen.

        The word is RUNNING only when the overall status is RUNNING and no process line reports another state
        (unavailable, unlicensed, or one this collection does not know); the detail then names those lines.
        """
        args = ["status", "-v"]
        try:
            rc, out, err = self.run(args)
        except TsmError as exc:
            return None, str(exc)
        if rc != 0:
            return None, str(self._failure(args, rc, out, err))
        word = parse_status(out)
        if not word:
            return None, "no 'Status:' line in the output of tsm status -v"
        unhealthy = unhealthy_processes(out)
        if word == RUNNING_STATUS and unhealthy:
            shown = "; ".join(unhealthy[:5]) + ("; ..." if len(unhealthy) > 5 else "")
            return UNHEALTHY_PROCESSES_STATUS, "Status: RUNNING, but %s" % shown
        return word, "Status: %s" % word


def restart_announced(text):
    """Whether tsm's text says a restart will happen: a line about a restart that does not deny it."""
    return any(_RESTART_RE.search(line) and not _NO_RESTART_RE.search(line) for line in (text or "").splitlines())


def parse_processes(text):
    """[(process, state, raw line)] of the process lines of ``tsm status -v``; other lines are ignored."""
    found = []
    for line in (text or "").splitlines():
        match = _PROCESS_RE.match(line)
        if match:
            found.append((match.group("name"), match.group("state").strip().lower(), line.strip()))
    return found


def unhealthy_processes(text):
    """Raw lines of processes in a state other than running/active/passive (unknown states count as unhealthy)."""
    return [line for _name, state, line in parse_processes(text) if not state.startswith(HEALTHY_PROCESS_STATES)]


def parse_status(text):
    """The overall status word of ``tsm status`` output (``Status: RUNNING`` -> ``RUNNING``), or None.

    Tableau documents the overall line as ``Status: RUNNING`` (or STOPPED, DEGRADED, ...); with ``-v`` per-service
    lines also start with ``Status:``, so the last line that is only ``Status: WORD`` counts.
    """
    found = None
    for line in (text or "").splitlines():
        match = _STATUS_RE.match(line)
        if match:
            found = match.group(1).upper()
    return found


def wait_until_running(tsm, timeout, interval, clock=time.monotonic, sleep=time.sleep):
    """Poll ``tsm status`` until it says RUNNING; returns (running, last status seen, seconds waited, checks)."""
    started = clock()
    checks = 0
    while True:
        word, detail = tsm.status()
        checks += 1
        waited = clock() - started
        if word == RUNNING_STATUS:
            return True, detail, waited, checks
        if waited + interval > timeout:
            return False, detail, waited, checks
        sleep(interval)


def parse_pending_changes(text):
    """{key: listed value or None} from ``tsm pending-changes list`` (layout not documented, other lines ignored).

    A value is None when the listing does not show one, or shows a masked one; callers then rely on ``get``.
    """
    keys = parse_pending_keys(text)
    values = {}
    for line in (text or "").splitlines():
        match = _PENDING_VALUE_RE.match(line)
        if match and match.group("key") in keys:
            value = match.group("value")
            values[match.group("key")] = None if not value or secret_form(value) == "masked" else value
    return {key: values.get(key) for key in keys}


def parse_pending_keys(text):
    """Key names from ``tsm pending-changes list`` output (values are never kept: they may hold secrets)."""
    stripped = (text or "").strip()
    if stripped.startswith(("{", "[")):
        try:
            document = json.loads(stripped)
        except ValueError:
            document = None
        if isinstance(document, dict):
            for name in ("configKeys", "pending", "keys", "changes"):
                if isinstance(document.get(name), (dict, list)):
                    document = document[name]
                    break
            return sorted(str(key) for key in document) if isinstance(document, (dict, list)) else []
        if isinstance(document, list):
            return sorted({str(item) for item in document if isinstance(item, str) and _KEY_RE.match(item)})
    keys = set()
    for line in (text or "").splitlines():
        match = _PENDING_LINE_RE.match(line)
        if match:
            keys.add(match.group(1))
    return sorted(keys)


# ---------------------------------------------------------------------------------------------
# allowlist
# ---------------------------------------------------------------------------------------------


# Keys of the Amazon Redshift ODBC driver (and of the other drivers Tableau connects through) are letters, digits
# and underscores: KeepAlive, SSLMode, group_federation, IdP_Response_Timeout, web_identity_token.
MAX_ALLOWLIST_ENTRY_LENGTH = 128
_ODBC_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Long enough for any IdP's client secret, short enough to stop a pasted file.


def _shown_input(value, limit=40):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def allowlist_entry_problems(entry, separator=","):
    """Why ``entry`` cannot be an ODBC extras allowlist entry (empty list: it can). Pure; no tsm call.

    Used by tsm_settings before it calls tsm, and by the controller-side preflight before any host is touched.
    """
    if not isinstance(entry, str):
        return ["must be a string (an ODBC key name), got %s %s" % (type(entry).__name__, _shown_input(entry))]
    if not entry.strip():
        return ["is empty"]
    if len(entry) > MAX_ALLOWLIST_ENTRY_LENGTH:
        return ["is %d characters long; an ODBC key name has at most %d" % (len(entry), MAX_ALLOWLIST_ENTRY_LENGTH)]
    problems = []
    if any(ord(char) < 32 or ord(char) == 127 for char in entry):
        problems.append("%s contains a control character (newline, tab, ...)" % _shown_input(entry))
    elif any(char.isspace() for char in entry):
        problems.append("%s contains whitespace" % _shown_input(entry))
    if separator and separator in entry:
        problems.append(
            "%s contains the allowlist separator %r: give one entry per list item" % (_shown_input(entry), separator)
        )
    if not problems and not _ODBC_KEY_RE.match(entry):
        problems.append(
            "%s is not an ODBC key name: letters, digits and '_', starting with a letter or '_'" % _shown_input(entry)
        )
    return problems


def client_secret_problems(value):
    """Shape checks of a server OAuth client secret that no real secret fails (empty list: fine).

    tsm gets the value as it is, so surrounding whitespace counts (see ``_secrets.secret_shape_problems``).
    """
    return secret_shape_problems(value)


def split_allowlist(value, separator=","):
    """Entries of an allowlist value; ``Null`` (a key without a value) is no entry."""
    if (value or "").strip() == NULL_VALUE:
        return []
    return [part.strip() for part in (value or "").split(separator) if part.strip()]


def merge_allowlist(current, entries, separator=","):
    """Ensure entries are present, keep every existing entry in place, append new ones in the given order.

    ODBC connection-string keys are case-insensitive, so an entry already present in another case is kept as is.
    Returns (after_value, added). When nothing is added the current value is returned unchanged (byte for byte).
    """
    if not separator:
        raise ValueError("allowlist_separator: must not be empty")
    existing = split_allowlist(current, separator)
    seen = {entry.lower() for entry in existing}
    added = []
    for entry in entries or []:
        problems = allowlist_entry_problems(entry, separator)
        if problems:
            raise ValueError("allowlist_entries: entry %s" % "; ".join(problems))
        text = entry
        if text.lower() not in seen:
            seen.add(text.lower())
            added.append(text)
    if not added:
        return ("" if (current or "").strip() == NULL_VALUE else current or ""), []
    return separator.join(existing + added), added


# ---------------------------------------------------------------------------------------------
# oauth.config.clients
# ---------------------------------------------------------------------------------------------


def parse_clients(text, key=DEFAULT_OAUTH_CLIENTS_KEY):
    """tsm value -> list of dicts. Empty value -> []. The message never quotes the value (it holds secrets)."""
    if text is None or not text.strip():
        return []
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise TsmError(
            "%s: current value is not valid JSON (line %d column %d)" % (key, exc.lineno, exc.colno)
        ) from None
    if not isinstance(document, list) or not all(isinstance(item, dict) for item in document):
        raise TsmError("%s: current value is not a JSON list of objects" % key)
    for position, item in enumerate(document):
        if not isinstance(item.get("oauth.config.id"), (str, type(None))):
            raise TsmError("%s: entry %d has an oauth.config.id that is not text" % (key, position))
    return document


def secret_form(value):
    """The form of a secret as tsm shows it: clear, encrypted (``ENC(...)``), masked, empty or unrecognised.

    Only a clear value can be written back. Clear means what no encrypted or masked value looks like: a string
    of printable characters without whitespace or control characters, not ``ENC(...)``, not only mask characters
    (``*``, ``•``, ``#``, ``x``) and not a mask word such as ``[masked]``. A real secret made only of ``x`` would be
    called masked: the safe side.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return "empty"
    if not isinstance(value, str):
        return "unrecognised"
    if _ENCRYPTED_RE.match(value):
        return "encrypted"
    stripped = value.strip()
    if stripped.lower() in _MASK_WORDS or set(stripped) <= _MASK_CHARS:
        return "masked"
    if (
        len(value) > MAX_CLEAR_SECRET_LENGTH
        or any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in value)
        or not value.isprintable()
    ):
        return "unrecognised"
    return "clear"


def is_secret_field(field):
    return "secret" in str(field).lower() or "password" in str(field).lower()


# A client entry nested deeper than this is not one tsm would hold: its values count as unrecognised secrets.
MAX_CLIENT_DEPTH = 16


def secret_leaves(value, field="", depth=0):
    """(field path, value) of every place a client entry may hold a secret: each value under a key naming a secret
    or password, at any depth, and each string tsm shows encrypted (``ENC(...)``) whatever its key."""
    if depth > MAX_CLIENT_DEPTH:
        yield field, value
    elif isinstance(value, dict):
        for key, item in value.items():
            path = "%s.%s" % (field, key) if field else str(key)
            if is_secret_field(key) and not isinstance(item, (dict, list)):
                yield path, item
            else:
                yield from secret_leaves(item, path, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from secret_leaves(item, "%s[%d]" % (field, index), depth + 1)
    elif isinstance(value, str) and _ENCRYPTED_RE.match(value):
        yield field, value


def client_secret_forms(client):
    """{secret field path: form} of one client entry; a client without client_secret counts it as empty (not shown)."""
    forms = {field: secret_form(value) for field, value in secret_leaves(client)}
    forms.setdefault("oauth.config.client_secret", "empty")
    return forms


def unreadable_secret_clients(clients, declared_ids=(), managed_fields=None):
    """[(client id, forms that are not clear)] of the clients whose secrets do not read clear and would be written back.

    A client NOT in ``declared_ids`` is written back as tsm showed it: every secret of it must read clear. A declared
    client is checked only where this run does not set the value itself: the secret fields outside
    ``managed_fields[id]`` (the fields the inventory gives; without ``managed_fields`` a declared client is taken as
    setting all of its secrets). Writing back a secret tsm showed as ENC(...), a mask or nothing replaces it.
    """
    declared = set(declared_ids)
    found = []
    for position, client in enumerate(clients):
        client_id = client.get("oauth.config.id")
        forms = client_secret_forms(client)
        if isinstance(client_id, str) and client_id in declared:
            if managed_fields is None:
                continue
            managed = managed_fields.get(client_id) or ()
            forms = {field: form for field, form in forms.items() if field not in managed}
        bad = sorted({form for form in forms.values() if form != "clear"})
        if bad:
            found.append((str(client_id) if client_id else "entry %d (no oauth.config.id)" % position, bad))
    return found


def unreadable_secrets_message(key, unreadable):
    """One line: which clients, why, and the two ways forward."""
    named = ", ".join("%s (%s)" % (client_id, "/".join(forms)) for client_id, forms in unreadable)
    return (
        "%s: tsm configuration get does not show the client_secret of %s in clear text; writing the list back would "
        "replace those secrets. Nothing was changed. Either declare these clients (tabops_server_oauth_other_clients, "
        "secrets from the vault) or set tabops_server_oauth_clients_mode: authoritative to make the inventory the "
        "whole list (undeclared clients are removed)" % (key, named)
    )


def client_secrets(clients):
    """Secret values held in a clients list, at any depth (for masking)."""
    return {value for _field, value in secret_leaves(list(clients or [])) if isinstance(value, str) and value}


def replace_secrets(value, replace, depth=0):
    """``value`` (a client entry or list) with each secret of ``secret_leaves`` replaced by ``replace(secret)``."""
    if depth > MAX_CLIENT_DEPTH:
        return replace(value)
    if isinstance(value, dict):
        return {
            key: (
                replace(item)
                if is_secret_field(key) and not isinstance(item, (dict, list))
                else replace_secrets(item, replace, depth + 1)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [replace_secrets(item, replace, depth + 1) for item in value]
    if isinstance(value, str) and _ENCRYPTED_RE.match(value):
        return replace(value)
    return value


def mask_clients(clients):
    """The clients list with every secret (see ``secret_leaves``) replaced by REDACTED."""
    return replace_secrets(list(clients or []), lambda _secret: REDACTED)


def normalize_desired_clients(clients):
    """Validate module input; returns list of dicts keyed by tsm field names (None = not managed)."""
    desired = []
    seen = {}
    for index, client in enumerate(clients or []):
        field = "oauth_clients[%d]" % index
        if not isinstance(client, dict):
            raise ValueError("%s: must be a dict" % field)
        client_id = client.get("id")
        if (
            not isinstance(client_id, str)
            or ":" not in client_id
            or client_id.startswith(":")
            or client_id.endswith(":")
        ):
            raise ValueError(
                "%s.id: %r must be '<dbclass>:<oauthConfigId>' (for example redshift:custom_redshift_okta)"
                % (field, client_id)
            )
        if client_id in seen:
            raise ValueError("%s.id: %s is also given by oauth_clients[%d]" % (field, client_id, seen[client_id]))
        seen[client_id] = index
        entry = {}
        for option, tsm_field in CLIENT_FIELDS:
            value = client.get(option)
            if value is not None and not isinstance(value, str):
                raise ValueError("%s.%s: must be a string (client %s)" % (field, option, client_id))
            if value is not None and option == "client_secret":
                problems = client_secret_problems(value)
                if problems:
                    raise ValueError("%s.%s: %s (client %s)" % (field, option, "; ".join(problems), client_id))
            elif value is not None and option != "id" and not value.strip():
                raise ValueError("%s.%s: must not be empty (client %s)" % (field, option, client_id))
            entry[tsm_field] = value
        desired.append(entry)
    return desired


def _shown(field, value):
    if value is None:
        return None
    return REDACTED if field in SECRET_CLIENT_KEYS else value


def merge_oauth_clients(current, desired, mode="merge"):
    """Merge desired clients into the current list by ``oauth.config.id``.

    merge: entries with other ids are kept untouched and in place (callers first check their secrets read clear:
    ``unreadable_secret_clients``). authoritative: entries with other ids are removed (reported as "removed").
    An entry with a desired id is updated in place (its other keys kept) when a managed field differs; a current
    secret that does not read clear cannot be compared and counts as a difference only when given; new ones are
    appended in the given order; later duplicates of a managed id are dropped (tsm would apply an undefined one).
    Returns (merged_list, reports).
    """
    if mode not in OAUTH_CLIENTS_MODES:
        raise ValueError("oauth_clients_mode: must be one of %s, not %r" % (", ".join(OAUTH_CLIENTS_MODES), mode))
    merged = copy.deepcopy(current)
    reports = []
    if mode == "authoritative":
        wanted_ids = {wanted["oauth.config.id"] for wanted in desired}
        for client in merged:
            if client.get("oauth.config.id") not in wanted_ids:
                reports.append({"id": str(client.get("oauth.config.id")), "status": "removed", "differences": []})
        merged = [client for client in merged if client.get("oauth.config.id") in wanted_ids]
    for wanted in desired:
        client_id = wanted["oauth.config.id"]
        positions = [i for i, item in enumerate(merged) if item.get("oauth.config.id") == client_id]
        if not positions:
            merged.append({k: v for k, v in wanted.items() if v is not None})
            differences = [
                {"path": field, "expected": _shown(field, value), "actual": None}
                for field, value in wanted.items()
                if value is not None and field != "oauth.config.id"
            ]
            reports.append({"id": client_id, "status": "missing", "differences": differences})
            continue
        entry = merged[positions[0]]
        differences = []
        unverified = []
        for field, value in wanted.items():
            if value is None or field == "oauth.config.id":
                continue
            if field in SECRET_CLIENT_KEYS and secret_form(entry.get(field)) != "clear":
                # tsm does not show it (ENC(...), masked, empty): no comparison possible, so no change on its own
                # account (every run would restart the server); written whenever the list is set.
                unverified.append(field)
                entry[field] = value
                continue
            if entry.get(field) != value:
                differences.append(
                    {"path": field, "expected": _shown(field, value), "actual": _shown(field, entry.get(field))}
                )
                entry[field] = value
        if len(positions) > 1:
            differences.append(
                {"path": "oauth.config.id", "expected": "1 entry", "actual": "%d entries" % len(positions)}
            )
            for index in reversed(positions[1:]):
                del merged[index]
        report = {"id": client_id, "status": "drift" if differences else "compliant", "differences": differences}
        if unverified:
            report["unverified"] = unverified
        reports.append(report)
    return merged, reports


def clients_changed(reports):
    """Whether a merge changes the list: a client missing, drifting or removed (unverified secrets alone do not)."""
    return any(report["status"] != "compliant" for report in reports)


def raw_client_entries(text):
    """[(entry, its exact text)] of a clients value, so that entries this run does not change are written back
    byte for byte. [] for an empty value; TsmError (via parse_clients) for anything that is not a list of objects."""
    parse_clients(text)
    if text is None or not text.strip():
        return []
    decoder = json.JSONDecoder()
    position = text.index("[") + 1
    found = []
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text) or text[position] == "]":
            return found
        entry, end = decoder.raw_decode(text, position)
        found.append((entry, text[position:end]))
        position = end


def render_clients(clients, current_text=None):
    """JSON for tsm. An entry equal to one read from ``current_text`` is written as its exact text (byte for byte);
    changed and new entries are compact JSON with their key order kept."""
    originals = raw_client_entries(current_text) if current_text else []
    parts = []
    for client in clients:
        for index, (entry, raw) in enumerate(originals):
            if entry == client:
                parts.append(raw)
                del originals[index]
                break
        else:
            parts.append(json.dumps(client, separators=(",", ":"), ensure_ascii=False))
    return "[" + ",".join(parts) + "]"


# ---------------------------------------------------------------------------------------------
# one rollout at a time on the initial node
# ---------------------------------------------------------------------------------------------

# The keys this collection sets: one of them still pending from an earlier run means that run's apply failed or
# was skipped, and the next run applies it.
LOCK_NAME = "tabops-tsm.lock"
LOCK_DIRS = ("/run/lock", "/var/lock")
DEFAULT_LOCK_TIMEOUT = 120
LOCK_POLL_INTERVAL = 0.5


class TsmLockError(TsmError):
    """The lock file is unsafe to use, or another run held the lock (or its lease) for longer than the timeout."""


def default_lock_path():
    for folder in LOCK_DIRS:
        if os.path.isdir(folder):
            return os.path.join(folder, LOCK_NAME)
    raise TsmLockError("none of %s exists: give lock_file" % ", ".join(LOCK_DIRS))


def _open_lock_file(path):
    """Open (create) the lock file without following a link; refuse a file another user could have planted."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise TsmLockError("lock file %s is a symbolic link: refused (remove it)" % path) from None
        raise TsmLockError("cannot open the lock file %s: %s" % (path, exc.strerror)) from None
    info = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = "is not a regular file"
    elif info.st_uid != os.geteuid():
        problem = "is owned by uid %d, not by uid %d that runs this module" % (info.st_uid, os.geteuid())
    elif info.st_nlink != 1:
        problem = "has %d hard links" % info.st_nlink
    if problem:
        os.close(fd)
        raise TsmLockError("lock file %s %s: refused (remove it)" % (path, problem))
    if stat.S_IMODE(info.st_mode) != 0o600:
        os.fchmod(fd, 0o600)
    return fd


def _read_lock_record(fd):
    os.lseek(fd, 0, os.SEEK_SET)
    data = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    try:
        record = json.loads(data.decode("utf-8") or "{}")
    except ValueError:
        record = {}
    return record if isinstance(record, dict) else {}


def _write_lock_record(fd, record):
    data = json.dumps(record, sort_keys=True).encode("utf-8")
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    os.write(fd, data)


def _holder_text(record):
    lease = record.get("lease") or {}
    if lease:
        return "pid %s set %s at %s and has not applied them yet (lease until %s)" % (
            lease.get("pid"),
            ", ".join(lease.get("keys") or []) or "tsm keys",
            time.strftime("%H:%M:%S", time.localtime(lease.get("since", 0))),
            time.strftime("%H:%M:%S", time.localtime(lease.get("until", 0))),
        )
    return "pid %s" % record.get("pid", "unknown")


class TsmLock:
    """``fcntl.flock`` on a root-owned 0600 file in /run/lock around read-merge-set of the tsm keys.

    A run that set keys can leave a *lease* in the file, so that a concurrent run does not read the applied value
    (tsm may show only that) and overwrite the change before it is applied; tsm_pending_changes ends the lease
    after its apply (also when the apply failed); an abandoned lease ends at its ``until`` time.
    """

    def __init__(
        self, path=None, timeout=DEFAULT_LOCK_TIMEOUT, poll_interval=LOCK_POLL_INTERVAL, lease=None, honour_leases=True
    ):
        self.path = path or default_lock_path()
        self.honour_leases = honour_leases
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.own_lease = lease  # a lease token this run holds already (not waited for)
        self.fd = None
        self.waited = 0.0

    def __enter__(self):
        fd = _open_lock_file(self.path)
        started = time.monotonic()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise TsmLockError("cannot lock %s: %s" % (self.path, exc.strerror)) from None
                record = _read_lock_record(fd)
            else:
                record = _read_lock_record(fd)
                lease = record.get("lease") or {}
                expired = bool(lease) and lease.get("until", 0) <= time.time()
                kept = bool(lease) and not expired and (lease.get("token") == self.own_lease or not self.honour_leases)
                if not lease or expired or kept:
                    record = {"pid": os.getpid(), "since": time.time()}
                    if kept:
                        record["lease"] = lease
                    _write_lock_record(fd, record)
                    self.fd = fd
                    self.waited = time.monotonic() - started
                    return self
                fcntl.flock(fd, fcntl.LOCK_UN)
            waited = time.monotonic() - started
            if waited + self.poll_interval > self.timeout:
                os.close(fd)
                raise TsmLockError(
                    "another tsm run holds the lock %s: %s; waited %d s (lock_timeout %d s). Run again when it has "
                    "finished" % (self.path, _holder_text(record), round(waited), self.timeout)
                )
            time.sleep(self.poll_interval)

    def grant_lease(self, token, seconds, keys):
        record = {
            "pid": os.getpid(),
            "lease": {
                "token": token,
                "pid": os.getpid(),
                "keys": sorted(keys),
                "since": time.time(),
                "until": time.time() + seconds,
            },
        }
        _write_lock_record(self.fd, record)

    def __exit__(self, *exc_info):
        if self.fd is not None:
            record = _read_lock_record(self.fd)
            if not record.get("lease"):
                _write_lock_record(self.fd, {})
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
        return False


# Beside the lock file: a digest of each value this collection set, so that a run on a server whose `get` shows only
# applied values (as documented) and whose `pending-changes list` does not show the value (a secret) can tell its
# own pending value from a change still to make, without storing the value.
PENDING_RECORD_SUFFIX = ".pending.json"


def value_digest(key, value):
    return hashlib.sha256(("%s\0%s" % (key, value)).encode("utf-8")).hexdigest()


def pending_record_path(lock_path):
    return lock_path + PENDING_RECORD_SUFFIX


def read_pending_record(lock_path):
    """{key: digest} of the values this collection set last (read only; {} when there is none or it is unsafe)."""
    try:
        # O_NONBLOCK: a FIFO planted in the shared lock folder must not hang the run before the S_ISREG check.
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(pending_record_path(lock_path), flags)
    except OSError:
        return {}
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or stat.S_IMODE(info.st_mode) & 0o077:
            return {}
        record = _read_lock_record(fd)
    finally:
        os.close(fd)
    return {str(key): str(value) for key, value in record.items() if isinstance(value, str)}


def open_pending_record(lock_path):
    """The record of pending values, opened (created 0600) for ``write_pending_record``. Called before the first
    set: a file another user planted in the shared lock folder is refused (TsmLockError) while nothing changed."""
    return _open_lock_file(pending_record_path(lock_path))


def write_pending_record(fd, values):
    """Add the digests of the values just set to the record open on ``fd`` (under the lock, after the sets)."""
    record = {str(key): str(value) for key, value in _read_lock_record(fd).items() if isinstance(value, str)}
    record.update({key: value_digest(key, value) for key, value in values.items()})
    _write_lock_record(fd, record)


def end_lease(token, path=None, timeout=DEFAULT_LOCK_TIMEOUT):
    """End the lease ``token`` (tsm_pending_changes, after its apply). True when it was still there."""
    with TsmLock(path, timeout=timeout, lease=token, honour_leases=False) as lock:
        record = _read_lock_record(lock.fd)
        if (record.get("lease") or {}).get("token") == token:
            _write_lock_record(lock.fd, {"pid": os.getpid()})
            return True
    return False
