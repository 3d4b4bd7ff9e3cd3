# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Windows transport: rollback_skip_runs leaves a folder holding a journal of a skipped run alone, as on POSIX."""

# ruff: noqa: F811 - the shared fixture is imported from test_windows_sync and then requested by name

from __future__ import annotations

import json

from test_windows_sync import (  # noqa: F401  # pylint: disable=unused-import  # fixture, received by name
    AZURE,
    OAUTH_DIR,
    OKTA,
    WRITES,
    host,
    managed_state,
    module_args,
    run,
)


def test_a_windows_folder_with_a_journal_of_a_skipped_run_is_left_alone(host):
    run(host, module_args(configs=[OKTA], run_id="run-a"))
    run(host, module_args(configs=[OKTA, AZURE], run_id="run-b"))
    after_b = managed_state(host)
    backups = OAUTH_DIR + "\\.tabops-backups\\"
    journal = json.loads(host.read(backups + "tabops-run-run-b.json"))
    host.write(backups + "tabops-run-w9.json", json.dumps(dict(journal, run_id="w9")).encode())

    result, action = run(host, module_args(rollback_run_id="run-b", rollback_skip_runs=["w9"]))
    assert not result.get("failed"), result.get("msg")
    assert result["rollback"]["skipped"] == [{"path": OAUTH_DIR, "runs": ["w9"]}]
    assert not [f for f in result["files"] if f["path"].startswith(OAUTH_DIR + "\\")]
    assert not [call for call in action.calls if call[0] in WRITES and OAUTH_DIR in json.dumps(call, default=str)]
    assert {p: d for p, d in managed_state(host).items() if p.startswith(OAUTH_DIR)} == {
        p: d for p, d in after_b.items() if p.startswith(OAUTH_DIR)
    }
    bad, action = run(host, module_args(rollback_run_id="run-b", rollback_skip_runs=["run-b"]))
    assert bad["failed"] and "rollback_skip_runs: names run-b" in bad["msg"] and action.calls == []
    # Without it, the same rollback removes what run-b created there.
    rolled, _action = run(host, module_args(rollback_run_id="run-b"))
    assert rolled["rollback"]["removed"] == [OAUTH_DIR + "\\custom_redshift_azure.xml"], rolled["rollback"]
