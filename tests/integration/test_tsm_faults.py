# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""tsm faults on a real lab fleet over SSH: a failed apply, a server that stays down, two rollouts at once.

Every scenario runs with both behaviours of `tsm configuration get` that Tableau's docs leave open (the stand-in's
get_shows switch): only the applied value (documented) or the pending one. The failed-apply and server-down
scenarios also run with client secrets shown as ENC(...) and masked (the secrets_shown switch); the other client is
then declared, as the refusal message tells an admin to do.
"""

from __future__ import annotations

import concurrent.futures
import json
import time

import pytest
from labfleet import TSM_STATE, requires_lab

pytestmark = [pytest.mark.lab, requires_lab]

GET_BEHAVIOURS = ("applied", "pending")
# (get_shows, secrets_shown): the documented profile first, then each undocumented variant.
VARIANTS = (("applied", "clear"), ("pending", "clear"), ("applied", "encrypted"), ("applied", "masked"))
OTHER_CLIENT = {
    "id": "snowflake:custom_snowflake_okta",
    "client_id": "pre-existing-client",
    "client_secret": "pre-existing-secret",
    "redirect_uri": "https://tableau.lab.example/auth/add_oauth_token",
}


def variant_vars(secrets_shown):
    """With secrets tsm does not show in clear, the seeded other client is declared (else the run stops)."""
    return {} if secrets_shown == "clear" else {"tabops_server_oauth_other_clients": [OTHER_CLIENT]}


ALLOWLIST = "native_api.odbc_extras_allowlist"
SETTINGS_TASK = "Merge the ODBC extras allowlist and the server-level OAuth clients (once per cluster)"
APPLY_TASK = "Apply pending changes once per cluster (restarts Tableau Server) and wait until it runs"
# The tsm part of a rollout alone: the file sync of the other hosts is not what these tests are about.
SERVER_SETTINGS_PLAY = [
    {
        "name": "Tableau Server settings",
        "hosts": "tableau_server_initial",
        "gather_facts": False,
        "vars": {"tabops_tsm_status_poll_interval": 1, "tabops_tsm_status_timeout": 4},
        "tasks": [
            {
                "name": "server settings",
                "ansible.builtin.include_role": {"name": "tabops.redshift_oauth.server_settings"},
            }
        ],
    }
]


def tsm(fleet, *argv):
    return fleet.sh("tsnode1", f"TSM_STANDIN_STATE={TSM_STATE} bash -lc 'tsm {' '.join(argv)}'")


def reset_standin(fleet, get_shows, *switches, secrets_shown="clear"):
    """A freshly seeded tsm state on the initial node, with the given get behaviour and fault switches."""
    tsm(
        fleet,
        "--standin-init",
        "--force",
        "--nodes",
        "tsnode1",
        "--get-shows",
        get_shows,
        "--secrets-shown",
        secrets_shown,
    )
    if switches:
        tsm(fleet, "--standin-set", *switches)


def settings_playbook(fleet):
    path = fleet.workdir / "server-settings.yml"
    path.write_text(json.dumps(SERVER_SETTINGS_PLAY))
    return str(path)


def task_results(run, name):
    results = run.host_results(name)
    return next(iter(results.values()))[0] if results else None


def applied_allowlist(fleet):
    return fleet.tsm_state()["configuration"][ALLOWLIST].split(",")


@pytest.mark.fleet_size(servers=1, bridges=0, desktops=0)
def test_a_failed_apply_fails_clearly_and_the_next_run_applies_and_converges(fleet):
    playbook = settings_playbook(fleet)
    for get_shows, secrets_shown in VARIANTS:
        reset_standin(fleet, get_shows, "fail_next_apply=1", secrets_shown=secrets_shown)
        extra = variant_vars(secrets_shown)

        failed = fleet.playbook(playbook, extra_vars=extra)
        assert failed.returncode != 0, get_shows
        apply = task_results(failed, APPLY_TASK)
        assert apply["failed"] and "Job '1' failed" in apply["msg"], apply
        assert "the changes stay pending; the next run applies them" in apply["msg"]
        state = fleet.tsm_state()
        assert ALLOWLIST in state["pending"] and "oauth.config.clients" in state["pending"]
        assert state["restarts"] == 0
        assert "group_federation" not in applied_allowlist(fleet)

        predicted = fleet.playbook(playbook, "--check", extra_vars=extra)
        assert predicted.returncode == 0, predicted.stdout[-3000:]
        assert task_results(predicted, SETTINGS_TASK)["managed_pending_keys"] == [ALLOWLIST, "oauth.config.clients"]
        assert task_results(predicted, APPLY_TASK)["changed"] is True
        assert fleet.tsm_state()["restarts"] == 0

        converged = fleet.playbook(playbook, extra_vars=extra)
        assert converged.returncode == 0, converged.stdout[-3000:]
        # Nothing set again, whatever get shows: the pending values are recognised.
        assert task_results(converged, SETTINGS_TASK)["keys_set"] == [], (get_shows, secrets_shown)
        assert converged.changed_tasks().keys() <= {"tsnode1"}
        assert task_results(converged, APPLY_TASK)["changed"] is True
        state = fleet.tsm_state()
        assert (state["pending"], state["restarts"]) == ({}, 1), get_shows
        assert applied_allowlist(fleet)[:2] == ["KeepAlive", "SSLMode"] and "group_federation" in applied_allowlist(
            fleet
        )
        assert "redshift:custom_redshift_okta" in state["configuration"]["oauth.config.clients"]

        again = fleet.playbook(playbook, extra_vars=extra)
        assert again.returncode == 0
        assert again.changed_tasks() == {}, (get_shows, secrets_shown)
        assert task_results(again, APPLY_TASK).get("skipped") is True
        assert fleet.tsm_state()["restarts"] == 1


@pytest.mark.fleet_size(servers=1, bridges=0, desktops=0)
def test_remediate_applies_what_a_failed_rollout_left_pending(fleet):
    reset_standin(fleet, "applied", "fail_next_apply=1")
    failed = fleet.playbook(settings_playbook(fleet))
    assert failed.returncode != 0
    assert fleet.tsm_state()["restarts"] == 0

    report = fleet.playbook("playbooks/compliance.yml", "--tags", "tsm")
    assert fleet.tsm_state()["restarts"] == 0, "a compliance run without --remediate applied"
    assert task_results(report, SETTINGS_TASK)["apply_needed"] is True, report.stdout[-3000:]

    remediated = fleet.playbook("playbooks/compliance.yml", extra_vars={"tabops_remediate": True})
    assert remediated.returncode == 0, remediated.stdout[-3000:]
    state = fleet.tsm_state()
    assert (state["pending"], state["restarts"]) == ({}, 1)
    assert "group_federation" in applied_allowlist(fleet)


@pytest.mark.fleet_size(servers=1, bridges=0, desktops=0)
def test_a_server_that_does_not_come_back_after_the_apply_fails_the_run(fleet):
    playbook = settings_playbook(fleet)
    for get_shows, secrets_shown in VARIANTS:
        reset_standin(fleet, get_shows, "status_after_apply=DEGRADED,STOPPED", secrets_shown=secrets_shown)
        started = time.monotonic()
        run = fleet.playbook(playbook, extra_vars=variant_vars(secrets_shown))
        assert run.returncode != 0
        message = task_results(run, APPLY_TASK)["msg"]
        assert "Tableau Server is not running after tsm pending-changes apply" in message
        assert "last status seen 'Status: STOPPED'" in message and "status_timeout 4 s" in message
        assert time.monotonic() - started < 120
        # The settings were applied; only the health check failed, and it says so.
        assert "group_federation" in applied_allowlist(fleet)


def rollout(fleet, playbook, entry):
    return fleet.playbook(playbook, extra_vars={"tabops_odbc_extras_allowlist": [entry]})


@pytest.mark.fleet_size(servers=1, bridges=0, desktops=0)
def test_two_concurrent_rollouts_with_different_allowlist_entries_keep_both(fleet):
    playbook = settings_playbook(fleet)
    # Each behaviour twice: which run gets the lock first is up to the scheduler.
    for get_shows in GET_BEHAVIOURS * 2:
        # A slow `get` makes the two read-merge-set windows overlap unless the lock serializes them.
        reset_standin(fleet, get_shows, "get_delay=1.5")
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            runs = list(pool.map(lambda entry: rollout(fleet, playbook, entry), ["EntryFromRunA", "EntryFromRunB"]))
        assert time.monotonic() - started < 300
        for run in runs:
            assert run.returncode == 0, run.stdout[-3000:]
        applied = applied_allowlist(fleet)
        assert {"KeepAlive", "SSLMode", "group_federation", "EntryFromRunA", "EntryFromRunB"} <= set(applied), (
            get_shows,
            applied,
        )
        assert fleet.tsm_state()["pending"] == {}
        waits = sorted(task_results(run, SETTINGS_TASK)["lock_waited"] for run in runs)
        assert waits[1] > 0.5, "the second run did not wait for the first"
        assert fleet.sh("tsnode1", "stat -c '%a %U' /run/lock/tabops-tsm.lock").split() == ["600", "root"]
