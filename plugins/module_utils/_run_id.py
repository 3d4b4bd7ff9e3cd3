# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The run id and the UTC stamp of a run: their format, written once.

A run id names journal files (``tabops-run-<run id>.json``), so it is checked as a file name part: 1 to 64 ASCII
letters, digits, '.', '_' or '-', starting with a letter or digit. A stamp (``20261202T101500Z``) sorts as text.
Both are read back from files a user may have written: plain character sets, no regular expression (``\\d``
accepts other scripts' digits, and ``$`` lets a trailing newline through).

Standard library only: modules ship it to the managed hosts.
"""

from __future__ import annotations

import datetime
import string

RUN_ID_MAX_LENGTH = 64
RUN_ID_RULE = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
# A run's journal file is named JOURNAL_PREFIX + run id + ".json" (the sync engine's and root's alike).
JOURNAL_PREFIX = "tabops-run-"

_RUN_ID_CHARS = frozenset(string.ascii_letters + string.digits + "._-")
_DIGITS = frozenset(string.digits)


def is_run_id(value: object) -> bool:
    """Whether ``value`` is a run id (see ``RUN_ID_RULE``)."""
    return (
        isinstance(value, str)
        and 1 <= len(value) <= RUN_ID_MAX_LENGTH
        and set(value) <= _RUN_ID_CHARS
        and value[0] not in "._-"
    )


def run_id_problem(field: str, value: object) -> str:
    """The message for a ``field`` whose ``value`` is not a run id."""
    return "%s: %r is not a run id (%s)" % (field, value, RUN_ID_RULE)


def utc_stamp(now: datetime.datetime) -> str:
    """The stamp of an aware datetime (the caller reads the clock)."""
    return now.astimezone(datetime.timezone.utc).strftime(STAMP_FORMAT)


def is_stamp(value: object) -> bool:
    """Whether ``value`` is a UTC stamp like 20261202T101500Z (ASCII digits only)."""
    return (
        isinstance(value, str)
        and len(value) == 16
        and value[8] == "T"
        and value[15] == "Z"
        and set(value[:8] + value[9:15]) <= _DIGITS
    )
