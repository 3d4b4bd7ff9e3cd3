# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The run id and stamp format, written once (module_utils/_run_id) and read the same everywhere."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.tabops.redshift_oauth.plugins.module_utils import _run_id
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._root_journal import (
    RootJournalError,
    check_run_id,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync import _journal, _plan
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._rollback_choice import _runs

RUN_IDS = [
    "20261202T101500Z-1a2b",
    "a",
    "A" * 64,
    "a" * 65,
    "",
    ".hidden",
    "-x",
    "_x",
    "x.y_z-1",
    "abc\n",  # a regular expression ending in "$" lets this through
    "ab/c",
    "ab c",
    "r\u00e9sum\u00e9",
    "\uff11abc",  # a full-width digit
    None,
    12,
]
STAMPS = ["20261202T101500Z", "20261202T101500Z\n", "2026120\uff12T101500Z", "20261202 101500Z", "2026-12-02", 5, None]


@pytest.mark.parametrize("value", RUN_IDS)
def test_the_engine_and_the_root_journals_read_run_ids_alike(value):
    assert _journal.is_run_id is _run_id.is_run_id  # the engine's journals use the one rule
    if _run_id.is_run_id(value):
        assert _journal.check_run_id(value) == value
        assert check_run_id(value, "run_id") == value
    else:
        with pytest.raises(RootJournalError, match=r"^run_id: .* is not a run id \(1 to 64 letters"):
            check_run_id(value, "run_id")
        with pytest.raises(ValueError, match=r"^run_id: .* is not a run id \(1 to 64 letters"):
            _journal.check_run_id(value)


@pytest.mark.parametrize("value", STAMPS)
def test_stamps_are_ascii_digits_only(value):
    assert _run_id.is_stamp(value) == _plan.is_stamp(value) == (value == "20261202T101500Z")


def test_the_rollback_choice_lists_only_runs_the_modules_accept():
    listing = {"runs": [{"run_id": run_id, "stamp": "20261202T101500Z", "folders": []} for run_id in RUN_IDS]}
    listing["runs"].append({"run_id": "ok", "stamp": "20261202T101500Z\n", "folders": []})
    assert [run["run_id"] for run in _runs(listing)] == [value for value in RUN_IDS if _run_id.is_run_id(value)]


def test_utc_stamp_is_the_stamp_format():
    now = datetime.datetime(2026, 12, 2, 11, 15, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert _run_id.utc_stamp(now) == "20261202T101500Z"
    assert _run_id.is_stamp(_run_id.utc_stamp(datetime.datetime.now(datetime.timezone.utc)))
