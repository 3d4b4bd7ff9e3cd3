# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Why a host failed, as a short cause id, and hosts grouped by cause (controller side only).

One place for the words a person reads at 3 a.m.: the ``tableau_artifacts`` action names the causes of a failed
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
# The preflight's finding lines: "ERROR driver-missing [tsnode1]: ..." (plugin_utils/_preflight.finalize).
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


def first_line(text: object, limit: int = _MESSAGE_CHARS) -> str:
    """The first non-empty line of a message, at most ``limit`` characters (control characters shown as ?)."""
    line = next((part.strip() for part in str(text or "").splitlines() if part.strip()), "")
    line = "".join(ch if ch.isprintable() else "?" for ch in line)
    return line if len(line) <= limit else line[: limit - 3] + "..."


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
