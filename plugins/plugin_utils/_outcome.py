# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""What a person reads of a sync: why a host failed, as a short cause id, and hosts grouped by cause (controller
side only, standard library only: scripts/compliance loads it by path).

The ``tableau_files`` action's result as a person reads it (:func:`presented_result`): check-mode words, a
failed host's short lines, its details with -v.

One place for the words a person reads at 3 a.m.: the ``tableau_files`` action names the causes of a failed
host (``causes``), and the rollout, rollback and compliance summaries group failed and unreachable hosts by them
(``driver-missing: 7 hosts (tsnode1, tsnode2, tsnode3, tsnode4, tsnode5, +2 more)``), one line per cause, so a
summary stays one screen at 1,000 hosts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# How many host names a cause line shows, and how many cause lines a summary shows before "+N more causes".
NAMES_SHOWN = 5
CAUSES_SHOWN = 12
FOLDER_ERROR = "folder-error"
UNREACHABLE = "unreachable"
NO_RESULT = "no-result"
# The preflight's finding lines: "ERROR driver-missing [tsnode1]: ..." (plugin_utils/_host_findings.finalize).
_PREFLIGHT_CODE = re.compile(r"\bERROR ([a-z0-9][a-z0-9-]{0,60}) \[")
# Known messages of a failed host run or task -> cause id (first match wins).
_MESSAGE_CAUSES = (
    ("malformed result", "malformed-result"),
    ("not checked: the run ended", "not-checked"),
    ("another run holds the host lock", "host-locked"),
    ("TDC conflict", "tdc-conflict"),
    ("differ only by case or Unicode normalization", "name-collision"),
    ("managed folders failed", FOLDER_ERROR),
    ("deadline", "deadline"),
    ("timed out", "timeout"),
    ("tsm", "tsm-failed"),
)
# What an unreachable host's message says (ssh, WinRM) -> the kind shown after "unreachable".
_UNREACHABLE_KINDS = (
    ("connection refused", "connection refused"),
    ("timed out", "timeout"),
    ("timeout", "timeout"),
    ("permission denied", "authentication"),
    ("authentication", "authentication"),
    ("no route to host", "no route"),
    ("could not resolve", "name not resolved"),
    ("name or service not known", "name not resolved"),
)
_MESSAGE_CHARS = 80


def printable(text: object, limit: int) -> str:
    """``text`` at most ``limit`` characters (control characters, line breaks too, shown as ?)."""
    line = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return line if len(line) <= limit else line[: limit - 3] + "..."


def first_line(text: object, limit: int = _MESSAGE_CHARS) -> str:
    """The first non-empty line of a message, at most ``limit`` characters (control characters shown as ?)."""
    return printable(next((part.strip() for part in str(text or "").splitlines() if part.strip()), ""), limit)


def cause_of_message(message: object, unreachable: bool = False) -> str:
    """One cause id for a message that names none (a task's ``msg``)."""
    text = str(message or "")
    lowered = text.lower()
    if unreachable:
        kind = next((name for needle, name in _UNREACHABLE_KINDS if needle in lowered), "")
        return "%s (%s)" % (UNREACHABLE, kind) if kind else UNREACHABLE
    codes = _PREFLIGHT_CODE.findall(text)
    if codes:
        return codes[0]
    for needle, cause in _MESSAGE_CAUSES:
        if needle.lower() in lowered:
            return cause
    return first_line(text) or "failed, no message"


def causes_of(result: object) -> list[str]:
    """The cause ids of a failed or unreachable registered result: its own ``causes``, else from its message."""
    if not isinstance(result, Mapping):
        return [NO_RESULT]
    given = result.get("causes")
    if isinstance(given, (list, tuple)) and given and all(isinstance(cause, str) and cause for cause in given):
        return [first_line(cause, 60) for cause in given]
    unreachable = bool(result.get("unreachable"))
    return [cause_of_message(result.get("msg"), unreachable=unreachable)]


def names(hosts: list[str], shown: int = NAMES_SHOWN) -> str:
    """``a, b, c, +7 more``: the first few names, then how many more."""
    head = ", ".join(hosts[:shown])
    return head + (", +%d more" % (len(hosts) - shown) if len(hosts) > shown else "")


def counted(hosts: list[str], noun: str = "host") -> str:
    """``7 hosts (tsnode1, ..., +2 more)``."""
    return "%d %s%s (%s)" % (len(hosts), noun, "" if len(hosts) == 1 else "s", names(hosts))


def group_by_cause(failures: Iterable[tuple[str, list[str]]]) -> dict[str, list[str]]:
    """(host, causes) pairs -> {cause: hosts}; a host with two causes is in both groups. Biggest group first."""
    groups: dict[str, list[str]] = {}
    for host, causes in failures:
        for cause in dict.fromkeys(causes):
            groups.setdefault(cause, []).append(host)
    return dict(sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])))


def cause_lines(groups: Mapping[str, list[str]], prefix: str = "") -> list[str]:
    """One line per cause (``prefix`` first), at most CAUSES_SHOWN, then one line for the rest."""
    lines = ["%s%s: %s" % (prefix, cause, counted(hosts)) for cause, hosts in list(groups.items())[:CAUSES_SHOWN]]
    rest = list(groups.items())[CAUSES_SHOWN:]
    if rest:
        hosts = list(dict.fromkeys(host for _cause, group in rest for host in group))
        lines.append("%s+%d more causes: %s" % (prefix, len(rest), counted(hosts)))
    return lines


# What a person reads (docs/operations.md "Reading the output"): a failed host says why in a few lines; the bulky
# details stay out of it unless -v is given (then under DETAILS); in check mode nothing is called written.
DETAILS = "details"
DETAIL_KEYS = (
    "files",
    "unmanaged",
    "folders",
    "backups",
    "planned",
    "manifests",
    "created_dirs",
    "removed_temp_files",
    "removed_backups",
    "journals",
    "runs",
    "rollback",
    "host_facts",
    "preflight",
    "profile",
    "plan_source",
    "restart_needed",
)
# Check mode: what the run WOULD write, under one key, instead of lists named as if they were written.
PLANNED_KEYS = ("journals", "manifests", "created_dirs", "removed_temp_files", "removed_backups")
# The module's file statuses, most telling first (a cell holding several files shows the first that applies).
FILE_STATUS_ORDER = ("error", "missing", "stale", "drift", "compliant")
UNMANAGED_KIND = "unmanaged"


def restart_message(applications, check_mode):
    if check_mode:
        return "a real run would change files of %s (restart them after it)" % ", ".join(applications)
    return "restart %s to pick up the changed files" % ", ".join(applications)


def check_mode_words(result):
    """Check mode: folders say ``would_write``/``would_change``, the run's other writes are ``planned``."""
    result["check_mode"] = True
    planned = {key: result.pop(key) for key in PLANNED_KEYS if key in result}
    if planned:
        result["planned"] = planned
    if not result.get("backups"):
        result.pop("backups", None)  # a check writes no backup
    for folder in result.get("folders") or []:
        if isinstance(folder, dict):
            if "written" in folder:
                folder["would_write"] = folder.pop("written")
            if folder.get("status") == "changed":
                folder["status"] = "would_change"
    for diff in result.get("diff") or []:
        if isinstance(diff, dict) and str(diff.get("after_header", "")).endswith(" (removed)"):
            diff["after_header"] = diff["after_header"][: -len(" (removed)")] + " (would be removed)"
    return result


def _preflight_errors(result):
    return [
        item for item in result.get("preflight") or [] if isinstance(item, dict) and item.get("severity") == "error"
    ]


def _failed_folders(result):
    return [f for f in result.get("folders") or [] if isinstance(f, dict) and f.get("status") == "error"]


def failure_reasons(result):
    """The lines that say why a host failed: preflight errors, failed folders, else the run's own message."""
    reasons = [str(item.get("summary")) for item in _preflight_errors(result)]
    folders = _failed_folders(result)
    reasons.extend(str(folder.get("error") or "folder %s failed" % folder.get("path")) for folder in folders)
    message = str(result.get("msg") or "")
    if not reasons or not (folders or message.startswith("preflight: ")):
        reasons.insert(0, message or "failed")
    return reasons


def failure_causes(result, reasons):
    causes = [str(item.get("code")) for item in _preflight_errors(result)]
    if _failed_folders(result):
        causes.append(FOLDER_ERROR)
    if not causes or result.get("unreachable"):
        causes.insert(0, cause_of_message(reasons[0], unreachable=bool(result.get("unreachable"))))
    return list(dict.fromkeys(causes))


def file_statuses(result):
    """{"kind/artifact": status}: each Tableau file's most telling status, for the report of a failed host."""
    statuses = {}
    for entry in result.get("files") or []:
        if not isinstance(entry, dict):
            continue
        key = "%s/%s" % (entry.get("kind") or "file", entry.get("artifact") or entry.get("path"))
        status = entry.get("status") if entry.get("status") in FILE_STATUS_ORDER else "error"
        if key not in statuses or FILE_STATUS_ORDER.index(status) < FILE_STATUS_ORDER.index(statuses[key]):
            statuses[key] = status
    if result.get("unmanaged"):
        statuses[UNMANAGED_KIND + "/files"] = "unmanaged_conflict"
    return statuses


def short_failure(result, verbose):
    """A failed host's result: ``msg`` (one reason a line), ``causes``, the Tableau files' statuses; details with -v."""
    reasons = failure_reasons(result)
    short = {key: value for key, value in result.items() if key not in DETAIL_KEYS}
    short["msg"] = "\n".join(reasons)
    short["causes"] = failure_causes(result, reasons)
    if result.get("files") or result.get("unmanaged"):
        short["artifacts"] = file_statuses(result)
    if verbose:
        short[DETAILS] = {key: result[key] for key in DETAIL_KEYS if key in result}
    return short


def presented_result(result: dict, check_mode: bool, verbose: bool) -> dict:
    """A sync's result as a person reads it: check-mode words, a short failure (details with ``verbose``)."""
    if check_mode:
        result = check_mode_words(result)
    if result.get("failed") or result.get("unreachable"):
        result = short_failure(result, verbose=verbose)
    return result
