# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""tsm_pending_changes run for real: ansible-playbook on localhost (host /usr/bin/python3) against the tsm stand-in."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from localplay import ANSIBLE_PLAYBOOK, HOST_PYTHON, REPO_ROOT, run_local_task

STANDIN = REPO_ROOT / "tests" / "lab" / "tsm" / "tsm"

pytestmark = pytest.mark.skipif(
    not (ANSIBLE_PLAYBOOK.exists() and os.path.exists(HOST_PYTHON) and STANDIN.exists()),
    reason="needs .venv ansible, /usr/bin/python3 and the tsm stand-in",
)


@pytest.fixture
def server(tmp_path):
    state = tmp_path / "tsm-state.json"
    env = dict(os.environ, TSM_STANDIN_STATE=str(state))
    subprocess.run([HOST_PYTHON, str(STANDIN), "--standin-init"], env=env, check=True, capture_output=True)
    tsm = tmp_path / "tsm"
    tsm.write_text('#!/bin/sh\nexec %s %s "$@"\n' % (HOST_PYTHON, STANDIN))
    tsm.chmod(0o755)

    def standin(*args):
        return subprocess.run([str(tsm), *args], env=env, check=True, capture_output=True, text=True).stdout

    def read_state():
        return json.loads(state.read_text())

    return {"tmp": tmp_path, "state": state, "tsm": tsm, "standin": standin, "read_state": read_state}


def run_playbook(server, module_args, check=False):
    task = {
        "tabops.redshift_oauth.tsm_pending_changes": dict({"tsm_path": str(server["tsm"])}, **module_args),
        "environment": {"TSM_STANDIN_STATE": str(server["state"])},
    }
    return run_local_task(server["tmp"], task, check=check, unset_env=("TSM_STANDIN_STATE",))


def apply_calls(state):
    return [entry["argv"] for entry in state["audit"] if entry["argv"][:2] == ["pending-changes", "apply"]]


def test_listed_reports_pending_keys_and_never_changes(server):
    rc, result, raw = run_playbook(server, {"state": "listed"})
    assert rc == 0, raw
    assert (result["changed"], result["pending_keys"], result["restart_needed"]) == (False, [], False)
    server["standin"]("configuration", "set", "-k", "gateway.public.port", "-v", "8443")
    rc, result, raw = run_playbook(server, {"state": "listed"})
    assert rc == 0, raw
    assert (result["changed"], result["pending_keys"], result["restart_needed"]) == (
        False,
        ["gateway.public.port"],
        True,
    )
    assert server["read_state"]()["pending"] == {"gateway.public.port": "8443"}


def test_applied_runs_apply_once_and_restarts_exactly_once(server):
    server["standin"]("configuration", "set", "-k", "native_api.odbc_extras_allowlist", "-v", "KeepAlive,SSLMode,x")
    server["standin"]("configuration", "set", "-k", "oauth.config.clients", "-v", "[]")

    rc, predicted, raw = run_playbook(server, {"state": "applied"}, check=True)
    assert rc == 0, raw
    assert predicted["changed"] is True
    assert predicted["restart_requested"] is True
    assert predicted["pending_keys"] == ["native_api.odbc_extras_allowlist", "oauth.config.clients"]
    state = server["read_state"]()
    assert state["restarts"] == 0
    assert apply_calls(state) == []

    rc, result, raw = run_playbook(server, {"state": "applied", "ignore_warnings": True, "request_timeout": 900})
    assert rc == 0, raw
    assert result["changed"] is True
    assert result["restart_requested"] is True
    assert result["remaining_keys"] == []
    state = server["read_state"]()
    assert state["restarts"] == 1
    assert state["configuration"]["native_api.odbc_extras_allowlist"] == "KeepAlive,SSLMode,x"
    assert apply_calls(state) == [
        ["pending-changes", "apply", "--ignore-prompt", "--ignore-warnings", "--request-timeout", "900"]
    ]

    rc, again, raw = run_playbook(server, {"state": "applied"})
    assert rc == 0, raw
    assert (again["changed"], again["restart_requested"], again["pending_keys"]) == (False, False, [])
    state = server["read_state"]()
    assert state["restarts"] == 1
    assert len(apply_calls(state)) == 1


def test_check_mode_counts_expected_keys_as_pending_so_it_predicts_the_apply(server):
    # tsm_settings in check mode set nothing; what it would have set is passed on.
    args = {"state": "applied", "expected_pending_keys": ["native_api.odbc_extras_allowlist"]}
    rc, predicted, raw = run_playbook(server, args, check=True)
    assert rc == 0, raw
    assert (predicted["changed"], predicted["restart_requested"]) == (True, True)
    assert predicted["pending_keys"] == ["native_api.odbc_extras_allowlist"]
    assert server["read_state"]()["restarts"] == 0
    # Outside check mode the keys are pending already, or nothing is to be done.
    rc, result, raw = run_playbook(server, args)
    assert rc == 0, raw
    assert (result["changed"], result["pending_keys"]) == (False, [])
    assert server["read_state"]()["restarts"] == 0


def test_discarded_drops_pending_without_restart(server):
    server["standin"]("configuration", "set", "-k", "gateway.public.port", "-v", "8443")
    rc, predicted, raw = run_playbook(server, {"state": "discarded"}, check=True)
    assert rc == 0, raw
    assert (predicted["changed"], predicted["restart_requested"]) == (True, False)
    assert server["read_state"]()["pending"] == {"gateway.public.port": "8443"}
    rc, result, raw = run_playbook(server, {"state": "discarded"})
    assert rc == 0, raw
    assert result["changed"] is True
    state = server["read_state"]()
    assert state["pending"] == {}
    assert state["restarts"] == 0
    assert state["configuration"]["gateway.public.port"] == "443"


def test_tsm_failure_is_reported(server):
    server["standin"]("configuration", "set", "-k", "gateway.public.port", "-v", "8443")
    rc, result, _raw = run_playbook(server, {"state": "applied", "request_timeout": 0})
    assert rc != 0
    assert result["msg"] == "request_timeout: must be a positive number of seconds"
    assert server["read_state"]()["restarts"] == 0


def test_missing_state_fails_with_tsm_message(server):
    server["state"].unlink()
    rc, result, _raw = run_playbook(server, {"state": "listed"})
    assert rc != 0
    assert result["msg"].startswith("tsm pending-changes list failed (exit 1): tsm stand-in: no state at")


ALLOWLIST = "native_api.odbc_extras_allowlist"


def test_a_failing_apply_fails_clearly_keeps_the_changes_pending_and_the_next_apply_converges(server):
    server["standin"]("configuration", "set", "-k", ALLOWLIST, "-v", "KeepAlive,SSLMode,group_federation")
    server["standin"]("--standin-set", "fail_next_apply=1")
    rc, result, raw = run_playbook(server, {"state": "applied", "status_poll_interval": 1})
    assert rc != 0
    assert result["msg"].startswith("tsm pending-changes apply --ignore-prompt failed (exit 1): ")
    assert "Job '1' failed" in result["msg"] and "the changes stay pending" in result["msg"]
    assert result["pending_keys"] == [ALLOWLIST]
    state = server["read_state"]()
    assert (state["restarts"], list(state["pending"])) == (0, [ALLOWLIST])
    assert state["configuration"][ALLOWLIST] == "KeepAlive,SSLMode"

    rc, result, raw = run_playbook(server, {"state": "applied", "status_poll_interval": 1})
    assert rc == 0, raw
    assert (result["changed"], result["remaining_keys"], result["status"]) == (True, [], "Status: RUNNING")
    state = server["read_state"]()
    assert (state["restarts"], state["pending"]) == (1, {})
    assert state["configuration"][ALLOWLIST] == "KeepAlive,SSLMode,group_federation"


def test_the_apply_waits_until_the_server_runs_again(server):
    server["standin"]("configuration", "set", "-k", "gateway.public.port", "-v", "8443")
    server["standin"]("--standin-set", "status_after_apply=STOPPED,DEGRADED,RUNNING")
    rc, result, raw = run_playbook(server, {"state": "applied", "status_poll_interval": 1, "status_timeout": 60})
    assert rc == 0, raw
    assert result["status"] == "Status: RUNNING" and result["status_waited"] >= 1.5
    statuses = [entry for entry in server["read_state"]()["audit"] if entry["argv"] == ["status", "-v"]]
    assert len(statuses) == 3


@pytest.mark.parametrize("state", ["unavailable", "unlicensed"])
def test_a_process_left_unavailable_or_unlicensed_fails_the_wait_naming_it(server, state):
    server["standin"]("configuration", "set", "-k", "gateway.public.port", "-v", "8443")
    server["standin"]("--standin-set", f"prep_conductor_after_apply={state}")
    rc, result, raw = run_playbook(server, {"state": "applied", "status_poll_interval": 1, "status_timeout": 2})
    assert rc != 0, raw
    assert f"last status seen 'Status: RUNNING, but 'Tableau Prep Conductor 0' status is {state}.'" in result["msg"], (
        result["msg"]
    )


def test_a_server_that_stays_down_fails_with_the_last_status_and_the_time_waited(server):
    server["standin"]("configuration", "set", "-k", "gateway.public.port", "-v", "8443")
    server["standin"]("--standin-set", "status_after_apply=STOPPED")
    started = time.monotonic()
    rc, result, raw = run_playbook(server, {"state": "applied", "status_poll_interval": 1, "status_timeout": 3})
    assert rc != 0
    assert (
        "Tableau Server is not running after tsm pending-changes apply: last status seen 'Status: STOPPED'"
        in (result["msg"])
    )
    assert "status_timeout 3 s" in result["msg"] and "after waiting" in result["msg"]
    assert result["changed"] is True and server["read_state"]()["restarts"] == 1
    assert time.monotonic() - started < 60

    # Without the wait the same apply is reported as done.
    server["standin"]("configuration", "set", "-k", "gateway.public.port", "-v", "8444")
    rc, result, raw = run_playbook(server, {"state": "applied", "wait_for_status": False})
    assert rc == 0, raw
    assert "status" not in result


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"status_poll_interval": 0}, "status_poll_interval: must be a positive number of seconds"),
        ({"status_timeout": -1}, "status_timeout: must be 0 or more seconds"),
    ],
)
def test_bad_wait_options_fail_before_tsm_is_called(server, args, message):
    rc, result, _raw = run_playbook(server, dict({"state": "applied"}, **args))
    assert rc != 0 and message in result["msg"]
    assert server["read_state"]()["audit"] == []


def test_the_lease_of_the_settings_run_ends_after_the_apply_also_when_it_failed(server):
    lock_file = server["tmp"] / "tabops-tsm.lock"
    lock_file.write_text(
        json.dumps(
            {
                "pid": 1,
                "lease": {
                    "token": "t-1",
                    "pid": 1,
                    "keys": [ALLOWLIST],
                    "since": time.time(),
                    "until": time.time() + 600,
                },
            }
        )
    )
    lock_file.chmod(0o600)
    server["standin"]("configuration", "set", "-k", ALLOWLIST, "-v", "KeepAlive,SSLMode,x")
    server["standin"]("--standin-set", "fail_next_apply=1")
    rc, result, _raw = run_playbook(server, {"state": "applied", "lock_lease": "t-1", "lock_file": str(lock_file)})
    assert rc != 0 and "failed" in result["msg"]
    assert "lease" not in json.loads(lock_file.read_text() or "{}")
