# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""tsm_settings run for real: ansible-playbook on localhost (host /usr/bin/python3) against the tsm stand-in."""

from __future__ import annotations

import concurrent.futures
import json
import os
import stat
import subprocess
import time
from pathlib import Path

import pytest
from localplay import ANSIBLE_PLAYBOOK, HOST_PYTHON, REPO_ROOT, run_local_task

STANDIN = REPO_ROOT / "tests" / "lab" / "tsm" / "tsm"
CANARY = "CANARY-server-client-secret-e1d5"
PRE_EXISTING_SECRET = "pre-existing-secret"
BUILD = "20242.24.0807.0327"
SNOWFLAKE_ID = "snowflake:custom_snowflake_okta"
REDSHIFT_ID = "redshift:custom_redshift_okta"

pytestmark = pytest.mark.skipif(
    not (ANSIBLE_PLAYBOOK.exists() and os.path.exists(HOST_PYTHON) and STANDIN.exists()),
    reason="needs .venv ansible, /usr/bin/python3 and the tsm stand-in",
)


@pytest.fixture
def server(tmp_path):
    """A seeded stand-in, installed like Tableau Server: <packages>/customer-bin.<build>/tsm."""
    state = tmp_path / "tsm-state.json"
    env = dict(os.environ, TSM_STANDIN_STATE=str(state))
    subprocess.run([HOST_PYTHON, str(STANDIN), "--standin-init"], env=env, check=True, capture_output=True)
    packages = tmp_path / "packages"
    for build in ("20241.24.0312.0830", BUILD):
        folder = packages / ("customer-bin." + build)
        folder.mkdir(parents=True)
        tsm = folder / "tsm"
        # The older build must never be picked: it fails loudly.
        body = 'exec %s %s "$@"' % (HOST_PYTHON, STANDIN) if build == BUILD else "echo wrong tsm >&2; exit 99"
        tsm.write_text("#!/bin/sh\n%s\n" % body)
        tsm.chmod(0o755)

    def read_state():
        return json.loads(state.read_text())

    def switch(*assignments):
        subprocess.run(
            [HOST_PYTHON, str(STANDIN), "--standin-set", *assignments], env=env, check=True, capture_output=True
        )

    lock_file = tmp_path / "tabops-tsm.lock"
    return {
        "tmp": tmp_path,
        "state": state,
        "packages": packages,
        "read_state": read_state,
        "switch": switch,
        "lock_file": lock_file,
    }


def run_playbook(server, module_args, check=False, diff=False, verbosity=0, json_output=True):
    """Run tsm_settings once on localhost; returns (rc, task result or None, raw output)."""
    defaults = {"tsm_packages_dir": str(server["packages"]), "lock_file": str(server["lock_file"])}
    task = {
        "tabops.redshift_oauth.tsm_settings": dict(defaults, **module_args),
        "environment": {"TSM_STANDIN_STATE": str(server["state"])},
    }
    return run_local_task(
        server["tmp"],
        task,
        check=check,
        diff=diff,
        verbosity=verbosity,
        json_output=json_output,
        unset_env=("TSM_STANDIN_STATE",),
    )


def desired_args(secret=CANARY, client_id="tableau-server"):
    return {
        "allowlist_entries": ["group_federation"],
        "oauth_clients": [
            {
                "id": REDSHIFT_ID,
                "client_id": client_id,
                "client_secret": secret,
                "redirect_uri": "https://tableau.lab.example/auth/add_oauth_token",
            }
        ],
    }


def set_calls(state):
    return [entry["argv"] for entry in state["audit"] if entry["argv"][:2] == ["configuration", "set"]]


def test_check_mode_predicts_and_sets_nothing(server):
    before = server["read_state"]()
    rc, result, raw = run_playbook(server, desired_args(), check=True, diff=True)
    assert rc == 0, raw
    assert result["changed"] is True
    assert result["keys_set"] == ["native_api.odbc_extras_allowlist", "oauth.config.clients"]
    assert result["allowlist"] == {
        "key": "native_api.odbc_extras_allowlist",
        "before": "KeepAlive,SSLMode",
        "after": "KeepAlive,SSLMode,group_federation",
        "added": ["group_federation"],
        "known_key": True,
    }
    assert result["oauth_clients"][0]["id"] == REDSHIFT_ID
    assert result["oauth_clients"][0]["status"] == "missing"
    assert result["tsm_path"].endswith("customer-bin.%s/tsm" % BUILD)
    assert result["pending_keys"] == []
    after = server["read_state"]()
    assert set_calls(after) == []
    assert after["configuration"] == before["configuration"]
    assert after["pending"] == {}
    assert "group_federation" in result["diff"]["after"]
    assert "[redacted]" in result["diff"]["after"]
    assert CANARY not in raw and PRE_EXISTING_SECRET not in raw


def test_real_run_merges_and_keeps_everything_else(server):
    rc, predicted, raw = run_playbook(server, desired_args(), check=True)
    assert rc == 0, raw
    rc, result, raw = run_playbook(server, desired_args())
    assert rc == 0, raw
    assert result["changed"] is True
    assert result["keys_set"] == predicted["keys_set"]
    assert result["oauth_clients"] == predicted["oauth_clients"]
    state = server["read_state"]()
    pending = state["pending"]
    assert pending["native_api.odbc_extras_allowlist"] == "KeepAlive,SSLMode,group_federation"
    clients = json.loads(pending["oauth.config.clients"])
    assert [client["oauth.config.id"] for client in clients] == [SNOWFLAKE_ID, REDSHIFT_ID]
    assert clients[0] == {
        "oauth.config.id": SNOWFLAKE_ID,
        "oauth.config.client_id": "pre-existing-client",
        "oauth.config.client_secret": PRE_EXISTING_SECRET,
        "oauth.config.redirect_uri": "https://tableau.lab.example/auth/add_oauth_token",
    }
    assert clients[1]["oauth.config.client_secret"] == CANARY
    calls = set_calls(state)
    assert calls == [
        ["configuration", "set", "-k", "native_api.odbc_extras_allowlist", "-v", "KeepAlive,SSLMode,group_federation"],
        ["configuration", "set", "-k", "oauth.config.clients", "-v", "[masked]", "--force-keys"],
    ]
    assert state["restarts"] == 0, "tsm_settings never applies"

    # Second run: nothing to set, and the pending keys are reported for compliance.
    rc, again, raw = run_playbook(server, desired_args())
    assert rc == 0, raw
    assert again["changed"] is False
    assert again["keys_set"] == []
    assert again["oauth_clients"] == [{"id": REDSHIFT_ID, "status": "compliant", "differences": []}]
    assert again["pending_keys"] == ["native_api.odbc_extras_allowlist", "oauth.config.clients"]
    assert set_calls(server["read_state"]()) == calls


def test_changed_client_is_updated_in_place(server):
    run_playbook(server, desired_args(client_id="first"))
    apply_pending(server)
    rc, result, raw = run_playbook(server, desired_args(client_id="second", secret=CANARY + "-rotated"))
    assert rc == 0, raw
    assert result["keys_set"] == ["oauth.config.clients"]
    assert result["oauth_clients"][0]["status"] == "drift"
    assert result["oauth_clients"][0]["differences"] == [
        {"path": "oauth.config.client_id", "expected": "second", "actual": "first"},
        {"path": "oauth.config.client_secret", "expected": "[redacted]", "actual": "[redacted]"},
    ]
    clients = json.loads(server["read_state"]()["pending"]["oauth.config.clients"])
    assert [client["oauth.config.id"] for client in clients] == [SNOWFLAKE_ID, REDSHIFT_ID]
    assert clients[1]["oauth.config.client_id"] == "second"
    assert clients[0] == json.loads(server["read_state"]()["configuration"]["oauth.config.clients"])[0]
    assert CANARY not in raw


def test_secrets_never_reach_verbose_output(server):
    for check in (True, False):
        rc, _result, raw = run_playbook(server, desired_args(), check=check, diff=True, verbosity=3, json_output=False)
        assert rc == 0, raw
        assert "tsm_settings" in raw
        assert CANARY not in raw
        assert PRE_EXISTING_SECRET not in raw


def test_unknown_allowlist_key_fails_naming_key_and_variables(server):
    args = dict(desired_args(), allowlist_key="native_api.extras_allowlist_guess")
    rc, result, raw = run_playbook(server, args)
    assert rc != 0
    assert "native_api.extras_allowlist_guess" in result["msg"]
    assert "tabops_odbc_extras_allowlist_key" in result["msg"]
    assert "tabops_tsm_allow_force_keys: true" in result["msg"]
    assert "allow_force_keys" in result["msg"]
    assert set_calls(server["read_state"]()) == []
    assert CANARY not in raw

    rc, result, raw = run_playbook(server, dict(args, allow_force_keys=True))
    assert rc == 0, raw
    assert result["allowlist"]["known_key"] is False
    assert result["allowlist"]["after"] == "group_federation"
    assert set_calls(server["read_state"]())[0] == [
        "configuration",
        "set",
        "-k",
        "native_api.extras_allowlist_guess",
        "-v",
        "group_federation",
        "--force-keys",
    ]


def test_bad_client_id_fails_before_calling_tsm(server):
    args = desired_args()
    args["oauth_clients"][0]["id"] = "custom_redshift_okta"
    rc, result, _raw = run_playbook(server, args)
    assert rc != 0
    assert result["msg"].startswith("oauth_clients[0].id: 'custom_redshift_okta' must be '<dbclass>:<oauthConfigId>'")
    assert server["read_state"]()["audit"] == []


def test_missing_tsm_fails_clearly(server, tmp_path):
    empty = tmp_path / "no-packages"
    empty.mkdir()
    rc, result, _raw = run_playbook(server, dict(desired_args(), tsm_packages_dir=str(empty)))
    assert rc != 0
    assert "no executable customer-bin.*/tsm under tsm_packages_dir %s" % empty in result["msg"]


# ---------------------------------------------------------------------------------------------
# input checks: refused before any tsm call
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("Foo,Bar", "allowlist_entries[1]: 'Foo,Bar' contains the allowlist separator ','"),
        (5, "allowlist_entries[1]: '5' is not an ODBC key name"),
        ("group\nfederation", "allowlist_entries[1]: 'group\\nfederation' contains a control character"),
        ("x" * (1024 * 1024), "allowlist_entries[1]: is 1048576 characters long; an ODBC key name has at most 128"),
    ],
)
def test_a_bad_allowlist_entry_is_refused_before_any_tsm_call(server, entry, problem):
    rc, result, _raw = run_playbook(server, {"allowlist_entries": ["group_federation", entry]})
    assert rc != 0
    assert problem in result["msg"]
    assert len(result["msg"]) < 500
    assert server["read_state"]()["audit"] == [], "tsm was called"


def test_a_client_secret_with_a_line_break_is_refused_before_any_tsm_call(server):
    args = desired_args(secret=CANARY + "\n")
    rc, result, raw = run_playbook(server, args)
    assert rc != 0
    assert "oauth_clients[0].client_secret: contains control or non-XML characters" in result["msg"]
    assert CANARY not in raw
    assert server["read_state"]()["audit"] == []


# ---------------------------------------------------------------------------------------------
# the role: set, apply when needed, converge after a failed apply - with both `get` behaviours
# ---------------------------------------------------------------------------------------------

GET_BEHAVIOURS = ["pending", "applied"]


def run_role(server, variables, check=False, extra_args=()):
    """roles/server_settings on localhost (as the initial node); returns (rc, {task name: result}, raw)."""
    play = {
        "hosts": "localhost",
        "gather_facts": False,
        "environment": {"TSM_STANDIN_STATE": str(server["state"])},
        "vars": dict(
            {
                "tabops_tsm_node": "localhost",
                "tabops_tsm_packages_dir": str(server["packages"]),
                "tabops_tsm_lock_file": str(server["lock_file"]),
                "tabops_tsm_status_poll_interval": 1,
                "tabops_tsm_status_timeout": 3,
            },
            **variables,
        ),
        "tasks": [
            {
                "name": "server settings",
                "ansible.builtin.include_role": {"name": "tabops.redshift_oauth.server_settings"},
            }
        ],
    }
    playbook = server["tmp"] / ("role-%d.yml" % time.monotonic_ns())
    playbook.write_text(json.dumps([play]))
    inventory = server["tmp"] / "inventory.ini"
    inventory.write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n" % HOST_PYTHON)
    env = dict(os.environ, ANSIBLE_HOME=str(server["tmp"] / ".ansible-home"), ANSIBLE_NOCOLOR="1")
    env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    env.pop("TSM_STANDIN_STATE", None)
    argv = [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), str(playbook), *(["--check"] if check else []), *extra_args]
    completed = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    raw = completed.stdout + completed.stderr
    results = {}
    for task in json.loads(completed.stdout)["plays"][0]["tasks"]:
        # Included role tasks are named "<role> : <task>".
        results[task["task"]["name"].split(" : ", 1)[-1]] = task["hosts"]["localhost"]
    return completed.returncode, results, raw


SETTINGS_TASK = "Merge the ODBC extras allowlist and the server-level OAuth clients (once per cluster)"
APPLY_TASK = "Apply pending changes once per cluster (restarts Tableau Server) and wait until it runs"
ROLE_VARS = {"tabops_group_federation": True, "tabops_odbc_extras_allowlist": ["IdP_Response_Timeout"]}
EXPECTED_ALLOWLIST = "KeepAlive,SSLMode,group_federation,IdP_Response_Timeout"


def applied_allowlist(server):
    return server["read_state"]()["configuration"]["native_api.odbc_extras_allowlist"]


@pytest.mark.parametrize("get_shows", GET_BEHAVIOURS)
def test_a_failed_apply_converges_on_the_next_run_and_check_mode_predicts_it(server, get_shows):
    server["switch"]("get_shows=" + get_shows, "fail_next_apply=1")
    rc, results, raw = run_role(server, ROLE_VARS)
    assert rc != 0
    failure = results[APPLY_TASK]
    assert failure["failed"] and "Job '1' failed" in failure["msg"], failure
    assert "the changes stay pending; the next run applies them" in failure["msg"]
    state = server["read_state"]()
    assert state["pending"]["native_api.odbc_extras_allowlist"] == EXPECTED_ALLOWLIST
    assert state["restarts"] == 0

    # The next run, predicted by check mode: the pending key is applied.
    rc, predicted, raw = run_role(server, ROLE_VARS, check=True)
    assert rc == 0, raw
    assert predicted[SETTINGS_TASK]["apply_needed"] is True
    assert predicted[SETTINGS_TASK]["managed_pending_keys"] == ["native_api.odbc_extras_allowlist"]
    assert predicted[APPLY_TASK]["changed"] is True
    assert server["read_state"]()["restarts"] == 0

    rc, results, raw = run_role(server, ROLE_VARS)
    assert rc == 0, raw
    assert results[SETTINGS_TASK]["apply_needed"] is True
    # Under both get behaviours nothing is set again: the pending value is read from the listing.
    assert results[SETTINGS_TASK]["keys_set"] == []
    assert results[APPLY_TASK]["changed"] is True
    assert results[APPLY_TASK]["status"] == "Status: RUNNING"
    assert predicted[APPLY_TASK]["changed"] == results[APPLY_TASK]["changed"]
    state = server["read_state"]()
    assert applied_allowlist(server) == EXPECTED_ALLOWLIST
    assert (state["pending"], state["restarts"]) == ({}, 1)

    # Converged: a third run changes nothing and applies nothing.
    rc, results, raw = run_role(server, ROLE_VARS)
    assert rc == 0, raw
    assert results[SETTINGS_TASK]["changed"] is False and results[SETTINGS_TASK]["apply_needed"] is False
    assert results[APPLY_TASK].get("skipped") is True
    assert server["read_state"]()["restarts"] == 1


@pytest.mark.parametrize("get_shows", GET_BEHAVIOURS)
def test_a_server_that_stays_down_after_the_apply_fails_the_run(server, get_shows):
    server["switch"]("get_shows=" + get_shows, "status_after_apply=DEGRADED,STOPPED")
    started = time.monotonic()
    rc, results, _raw = run_role(server, ROLE_VARS)
    assert rc != 0
    message = results[APPLY_TASK]["msg"]
    assert "Tableau Server is not running after tsm pending-changes apply" in message
    assert "last status seen 'Status: STOPPED'" in message and "status_timeout 3 s" in message
    assert time.monotonic() - started < 120
    assert applied_allowlist(server) == EXPECTED_ALLOWLIST  # applied; only the health check failed


def rollout_with(server, entry):
    return run_role(server, {"tabops_odbc_extras_allowlist": [entry]})


@pytest.mark.parametrize("get_shows", GET_BEHAVIOURS)
def test_two_concurrent_rollouts_lose_no_update(server, get_shows):
    # A slow read makes the two runs' read-merge-set overlap unless the lock serializes them.
    server["switch"]("get_shows=" + get_shows, "get_delay=1.5")
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda entry: rollout_with(server, entry), ["EntryFromRunA", "EntryFromRunB"]))
    assert time.monotonic() - started < 240
    for rc, _results, raw in runs:
        assert rc == 0, raw
    applied = applied_allowlist(server).split(",")
    assert {"KeepAlive", "SSLMode", "EntryFromRunA", "EntryFromRunB"} <= set(applied), applied
    assert server["read_state"]()["pending"] == {}
    waits = sorted(results[SETTINGS_TASK]["lock_waited"] for _rc, results, _raw in runs)
    assert waits[1] > 0.5, "the second run did not wait for the first"


def test_a_second_run_waits_for_the_lock_then_fails_naming_the_holder(server):
    holder = subprocess.Popen(
        [
            HOST_PYTHON,
            "-c",
            "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600); "
            "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'{\"pid\": %d}' % os.getpid()); print('held', flush=True); "
            "time.sleep(30)",
            str(server["lock_file"]),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        rc, result, _raw = run_playbook(server, dict(desired_args(), lock_timeout=2))
        assert rc != 0
        assert "another tsm run holds the lock %s: pid %d" % (server["lock_file"], holder.pid) in result["msg"]
        assert "lock_timeout 2 s" in result["msg"]
        assert time.monotonic() - started < 60
        assert set_calls(server["read_state"]()) == []
    finally:
        holder.kill()
        holder.wait()


# ---------------------------------------------------------------------------------------------
# run journal and rollback (issue 14)
# ---------------------------------------------------------------------------------------------


def apply_pending(server):
    env = dict(os.environ, TSM_STANDIN_STATE=str(server["state"]))
    subprocess.run(
        [HOST_PYTHON, str(STANDIN), "pending-changes", "apply", "--ignore-prompt"],
        env=env,
        check=True,
        capture_output=True,
    )


def test_a_run_journals_the_values_before_it_and_its_rollback_sets_them_back(server):
    journal_dir = server["tmp"] / "journal" / "tsm-runs"
    journaled = {"journal_dir": str(journal_dir)}
    before = server["read_state"]()["configuration"]
    rc, result, raw = run_playbook(server, dict(desired_args(), run_id="run-1", **journaled))
    assert rc == 0, raw
    journal = journal_dir / "tabops-run-run-1.json"
    assert result["journal"] == str(journal)
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600 and stat.S_IMODE(journal_dir.stat().st_mode) == 0o700
    recorded = json.loads(journal.read_text())["entries"]
    assert recorded["oauth.config.clients"]["kind"] == "oauth_clients"
    assert recorded["native_api.odbc_extras_allowlist"]["before"] == before["native_api.odbc_extras_allowlist"]
    assert recorded["oauth.config.clients"]["before"] == before["oauth.config.clients"]
    apply_pending(server)

    rc, listed, raw = run_playbook(server, {"list_runs": True, **journaled})
    assert rc == 0 and [run["run_id"] for run in listed["runs"]] == ["run-1"], raw
    calls_before = len(set_calls(server["read_state"]()))
    rc, predicted, raw = run_playbook(server, {"rollback_run_id": "run-1", **journaled}, check=True, diff=True)
    assert rc == 0, raw
    assert len(set_calls(server["read_state"]())) == calls_before
    assert predicted["rollback"]["restored"] == ["native_api.odbc_extras_allowlist", "oauth.config.clients"]
    assert CANARY not in raw and PRE_EXISTING_SECRET not in raw
    rc, result, raw = run_playbook(server, {"rollback_run_id": "run-1", **journaled})
    assert rc == 0, raw
    assert result["keys_set"] == predicted["keys_set"] and result["apply_needed"]
    assert CANARY not in raw and PRE_EXISTING_SECRET not in raw
    apply_pending(server)
    assert server["read_state"]()["configuration"] == before
    rc, again, raw = run_playbook(server, {"rollback_run_id": "run-1", **journaled})
    assert rc == 0 and not again["changed"] and again["rollback"]["unchanged"] == predicted["rollback"]["restored"]


def test_a_key_changed_since_the_run_is_kept_unless_forced(server):
    journaled = {"journal_dir": str(server["tmp"] / "tsm-runs")}
    rc, _result, raw = run_playbook(server, dict(desired_args(), run_id="run-1", **journaled))
    assert rc == 0, raw
    apply_pending(server)
    rc, _result, raw = run_playbook(server, {"allowlist_entries": ["AutoCreate"], **journaled})
    assert rc == 0, raw
    apply_pending(server)
    rc, result, raw = run_playbook(server, {"rollback_run_id": "run-1", **journaled})
    assert rc == 0, raw
    assert result["rollback"]["hand_edited"] == ["native_api.odbc_extras_allowlist"]
    assert result["keys_set"] == ["oauth.config.clients"]
    assert "changed since that run" in raw
    rc, forced, raw = run_playbook(server, {"rollback_run_id": "run-1", "rollback_force": True, **journaled})
    assert rc == 0 and forced["keys_set"] == ["native_api.odbc_extras_allowlist"], raw


def test_a_journal_folder_others_can_write_is_refused(server):
    shared = server["tmp"] / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    os.chown(shared, 65534, 65534)
    rc, _result, raw = run_playbook(server, dict(desired_args(), run_id="run-1", journal_dir=str(shared / "runs")))
    assert rc == 2 and "can be written by other users" in raw
    assert set_calls(server["read_state"]()) == []
    rc, _result, raw = run_playbook(server, dict(desired_args(), run_id="../x"))
    assert rc == 2 and "run_id" in raw


def test_journaled_clients_stay_masked_whatever_the_key_is_called_at_rollback(server):
    journaled = {"journal_dir": str(server["tmp"] / "tsm-runs")}
    rc, _result, raw = run_playbook(server, dict(desired_args(), run_id="run-1", **journaled))
    assert rc == 0, raw
    apply_pending(server)
    rollback = {"rollback_run_id": "run-1", "oauth_clients_key": "some.other.key", **journaled}
    rc, _result, raw = run_playbook(server, rollback, check=True, diff=True, verbosity=3, json_output=False)
    assert rc == 0, raw
    assert CANARY not in raw and PRE_EXISTING_SECRET not in raw
    assert "[redacted]" in raw


def test_a_rollback_applies_only_the_keys_of_its_run(server):
    journaled = {"journal_dir": str(server["tmp"] / "tsm-runs")}
    rc, _result, raw = run_playbook(server, {"allowlist_entries": ["group_federation"], "run_id": "run-1", **journaled})
    assert rc == 0, raw
    apply_pending(server)
    # Someone leaves a clients change pending; the rollback of run-1 (allowlist only) must not apply it.
    rc, _result, raw = run_playbook(server, desired_args())
    assert rc == 0, raw
    rc, result, raw = run_playbook(server, {"rollback_run_id": "run-1", **journaled})
    assert rc == 0, raw
    assert result["keys_set"] == ["native_api.odbc_extras_allowlist"]
    assert "oauth.config.clients" not in result["managed_pending_keys"]
    rc, nothing, raw = run_playbook(server, {"rollback_run_id": "no-such-run", **journaled})
    assert rc == 0 and nothing["apply_needed"] is False and nothing["rollback"]["found"] is False, raw


# ---------------------------------------------------------------------------------------------
# secrets tsm does not show in clear (issue 18)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["encrypted", "masked", "empty"])
def test_a_merge_refuses_to_write_back_an_undeclared_secret_tsm_hides(server, form):
    server["switch"]("secrets_shown=" + form)
    for check in (True, False):
        rc, result, raw = run_playbook(server, desired_args(), check=check)
        assert rc != 0, raw
        assert "%s (%s)" % (SNOWFLAKE_ID, form) in result["msg"] and "\n" not in result["msg"]
        assert "tabops_server_oauth_clients_mode: authoritative" in result["msg"]
    assert set_calls(server["read_state"]()) == []
    assert CANARY not in raw and PRE_EXISTING_SECRET not in raw


def test_authoritative_mode_removes_undeclared_clients(server):
    server["switch"]("secrets_shown=masked")
    args = dict(desired_args(), oauth_clients_mode="authoritative")
    rc, predicted, raw = run_playbook(server, args, check=True, diff=True)
    assert rc == 0, raw
    assert {"id": SNOWFLAKE_ID, "status": "removed", "differences": []} in predicted["oauth_clients"]
    assert SNOWFLAKE_ID in predicted["diff"]["before"] and SNOWFLAKE_ID not in predicted["diff"]["after"]
    rc, result, raw = run_playbook(server, args)
    assert result["keys_set"] == ["native_api.odbc_extras_allowlist", "oauth.config.clients"]
    assert rc == 0, raw
    clients = json.loads(server["read_state"]()["pending"]["oauth.config.clients"])
    assert [client["oauth.config.id"] for client in clients] == [REDSHIFT_ID]
    assert clients[0]["oauth.config.client_secret"] == CANARY
    assert CANARY not in raw and PRE_EXISTING_SECRET not in raw


def test_authoritative_mode_never_writes_back_a_declared_secret_tsm_hides(server):
    """A declared client whose secret this run does not set keeps tsm's value: shown masked, it cannot be kept."""
    rc, _result, raw = run_playbook(server, desired_args())
    assert rc == 0, raw
    apply_pending(server)
    server["switch"]("secrets_shown=masked")
    args = dict(desired_args(client_id="changed-client"), oauth_clients_mode="authoritative")
    del args["oauth_clients"][0]["client_secret"]
    sets_before = set_calls(server["read_state"]())
    for check in (True, False):
        rc, result, raw = run_playbook(server, args, check=check)
        assert rc != 0, raw
        assert "%s (masked)" % REDSHIFT_ID in result["msg"] and "\n" not in result["msg"]
    assert set_calls(server["read_state"]()) == sets_before
    assert CANARY not in raw


def test_a_null_allowlist_is_empty(server):
    server["switch"]("unset=native_api.odbc_extras_allowlist")
    rc, result, raw = run_playbook(server, {"allowlist_entries": ["group_federation"]})
    assert rc == 0, raw
    assert result["allowlist"]["before"] == "" and result["allowlist"]["after"] == "group_federation"
    assert server["read_state"]()["pending"]["native_api.odbc_extras_allowlist"] == "group_federation"


def test_a_hidden_pending_change_that_is_not_this_collections_is_never_replaced(server):
    rc, _result, raw = run_playbook(server, desired_args(client_id="first"))
    assert rc == 0, raw
    # Someone else changes the clients list by hand and leaves it pending; get shows only the applied value.
    state = server["read_state"]()
    by_hand = [
        *json.loads(state["pending"]["oauth.config.clients"]),
        {"oauth.config.id": "x:by_hand", "oauth.config.client_secret": "by-hand-secret"},
    ]
    env = dict(os.environ, TSM_STANDIN_STATE=str(server["state"]))
    subprocess.run(
        [HOST_PYTHON, str(STANDIN), "configuration", "set", "-k", "oauth.config.clients", "-v", json.dumps(by_hand)],
        env=env,
        check=True,
        capture_output=True,
    )
    sets = set_calls(server["read_state"]())
    for check in (True, False):
        rc, result, raw = run_playbook(server, desired_args(client_id="second"), check=check)
        assert rc != 0, raw
        assert "oauth.config.clients has a pending change whose value tsm does not show" in result["msg"]
        assert "Nothing was changed" in result["msg"]
    assert set_calls(server["read_state"]()) == sets
    assert "x:by_hand" in server["read_state"]()["pending"]["oauth.config.clients"]
    # Its own pending value is recognised, not refused: the same inventory again sets nothing.
    apply_pending(server)
    rc, result, raw = run_playbook(server, desired_args(client_id="second"))
    assert rc == 0 and result["keys_set"] == ["oauth.config.clients"], raw
    rc, again, raw = run_playbook(server, desired_args(client_id="second"))
    assert rc == 0 and again["keys_set"] == [] and again["already_pending"] == ["oauth.config.clients"], raw


def test_a_pending_record_another_user_planted_stops_the_run_before_any_set(server):
    """The record of pending values lives in the shared lock folder: a file planted there is refused while nothing
    changed (it used to be refused only after the sets, leaving them pending without a lease)."""
    record = Path(str(server["lock_file"]) + ".pending.json")
    record.write_text("{}")
    os.chown(record, 65534, 65534)
    rc, result, raw = run_playbook(server, desired_args())
    assert rc != 0, raw
    assert "refused (remove it)" in result["msg"] and "owned by uid 65534" in result["msg"], result["msg"]
    assert set_calls(server["read_state"]()) == []
    record.unlink()
    rc, result, raw = run_playbook(server, desired_args())
    assert rc == 0 and result["changed"], raw
