# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Windows transport, as on POSIX: rollback_skip_runs leaves a folder holding a journal of a skipped run alone;
backup_keep given as text is a number; a rollback that cannot remove a file keeps its manifest entry."""

# ruff: noqa: F811 - the shared fixture is imported from test_windows_sync and then requested by name

from __future__ import annotations

import datetime
import json

from test_windows_sync import (  # noqa: F401  # pylint: disable=unused-import  # fixture, received by name
    AZURE,
    OAUTH_DIR,
    OKTA,
    START,
    WRITES,
    FakeAction,
    RacingAction,
    host,
    managed_state,
    module_args,
    run,
)

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils import _windows_sync


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


def test_windows_backup_keep_given_as_text_is_taken_as_on_posix(host):
    """-e tabops_backup_keep=1 arrives as text; the POSIX module's int option takes it, so does Windows."""
    for minute, client in enumerate(("client-1", "client-2", "client-3")):
        args = dict(module_args(configs=[dict(OKTA, client_id_desktop=client)]), backup_keep="1")
        result = _windows_sync.sync(FakeAction(host), {}, args, now=START + datetime.timedelta(minutes=minute))
        assert not result.get("failed"), result.get("msg")
    backups = [path for path in host.files_under(OAUTH_DIR) if "\\.tabops-backups\\custom_redshift_okta" in path]
    assert len(backups) == 1, backups
    for bad in ("-1", "two", "³"):
        result, action = run(host, dict(module_args(), backup_keep=bad))
        assert result["failed"] and "backup_keep" in result["msg"] and action.calls == [], bad


def test_a_windows_rollback_whose_removal_fails_keeps_the_manifest_entry_of_that_file(host):
    run(host, module_args(configs=[OKTA], run_id="run-a"))
    okta = OAUTH_DIR + "\\custom_redshift_okta.xml"
    manifest = OAUTH_DIR + "\\.tabops-managed.json"

    def edit():  # right after the rollback read the folder: the removal finds other bytes and refuses
        host.write(okta, host.read(okta) + b"<!-- edited -->")

    action = RacingAction(host, at=2, change=edit)
    result = _windows_sync.sync(action, {}, module_args(rollback_run_id="run-a"))
    assert [f["path"] for f in result["files"] if f["status"] == "error"] == [okta], result["files"]
    assert host.exists(okta) and sorted(json.loads(host.read(manifest))["files"]) == ["custom_redshift_okta.xml"]
