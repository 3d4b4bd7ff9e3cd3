"""tsm_pending_changes run for real: ansible-playbook on localhost (host /usr/bin/python3) against the tsm stand-in."""

from __future__ import annotations

import json
import os
import subprocess

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
