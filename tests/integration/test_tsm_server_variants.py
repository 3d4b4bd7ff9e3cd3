# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""What a real Tableau Server may show that its documentation does not promise, on a real lab fleet over SSH.

The tsm stand-in runs in its documented profile (get shows applied values, Null for a key without a value,
per-process states in status -v) and in each undocumented variant (pending values shown; client secrets shown as
ENC(...), masked or empty). One fleet for the module; every test seeds the stand-in again.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from labfleet import TSM_STATE, requires_lab, shared_fleet  # noqa: F401  # pylint: disable=unused-import  # the fixture

pytestmark = [pytest.mark.lab, requires_lab]


@pytest.fixture
def fleet(shared_fleet):  # noqa: F811
    """The module's fleet (tests seed the tsm stand-in again themselves)."""
    return shared_fleet


FLEET_SIZE = {"servers": 2, "bridges": 0, "desktops": 1}
SNOWFLAKE = "snowflake:custom_snowflake_okta"
REDSHIFT = "redshift:custom_redshift_okta"
SEEDED_SECRET = "pre-existing-secret"
ALLOWLIST = "native_api.odbc_extras_allowlist"
SETTINGS_TASK = "Merge the ODBC extras allowlist and the server-level OAuth clients (once per cluster)"
CHECK_TASK = "Check what tsm shows before anything is changed (read only)"
APPLY_TASK = "Apply pending changes once per cluster (restarts Tableau Server) and wait until it runs"
SERVER_SETTINGS_PLAY = [
    {
        "name": "Tableau Server settings",
        "hosts": "tableau_server_initial",
        "gather_facts": False,
        "vars": {"tabops_tsm_status_poll_interval": 1, "tabops_tsm_status_timeout": 3},
        "tasks": [
            {
                "name": "server settings",
                "ansible.builtin.include_role": {"name": "tabops.redshift_oauth.server_settings"},
            }
        ],
    }
]
# Where the probe files of the unit tests' replay come from (tests/unit/fixtures/tsm/probes/).
PROBE_FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "fixtures" / "tsm" / "probes"
PROFILES = {
    "documented": ("applied", "clear"),
    "get-shows-pending": ("pending", "clear"),
    "secrets-encrypted": ("applied", "encrypted"),
    "secrets-masked": ("applied", "masked"),
    "secrets-empty": ("applied", "empty"),
}


def tsm(fleet, *argv):
    return fleet.sh("tsnode1", f"TSM_STANDIN_STATE={TSM_STATE} bash -lc 'tsm {' '.join(argv)}'")


def reset_standin(fleet, get_shows="applied", secrets_shown="clear", *switches):
    tsm(
        fleet,
        "--standin-init",
        "--force",
        "--nodes",
        "tsnode1,tsnode2",
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


def task_result(run, name):
    results = run.host_results(name)
    return next(iter(results.values()))[0] if results else None


def tsm_writes(state):
    """Audited tsm calls that change something (set, apply, discard)."""
    return [
        e["argv"]
        for e in state["audit"]
        if e["argv"][:2] in (["configuration", "set"], ["pending-changes", "apply"], ["pending-changes", "discard"])
    ]


def applied_clients(fleet):
    return json.loads(fleet.tsm_state()["configuration"]["oauth.config.clients"])


@pytest.mark.parametrize("form", ["encrypted", "masked", "empty"])
def test_an_undeclared_client_whose_secret_tsm_hides_stops_the_rollout_before_any_host_changes(fleet, form):
    reset_standin(fleet, "applied", form)
    before = {host: fleet.snapshot(host) for host in fleet.hosts()}

    predicted = fleet.playbook("playbooks/site.yml", "--check", "--diff")
    refusal = task_result(predicted, CHECK_TASK)
    assert predicted.returncode != 0 and refusal and refusal["failed"], predicted.stdout[-3000:]
    real = fleet.playbook("playbooks/site.yml")
    assert real.returncode != 0
    message = task_result(real, CHECK_TASK)["msg"]
    assert message == refusal["msg"], "check mode predicts the refusal word for word"
    assert "\n" not in message
    assert f"{SNOWFLAKE} ({form})" in message and REDSHIFT not in message
    assert (
        "tabops_server_oauth_other_clients" in message and "tabops_server_oauth_clients_mode: authoritative" in message
    )
    assert SEEDED_SECRET not in real.stdout + predicted.stdout
    # Stopped before the files play: no host changed, tsm saw reads only.
    assert task_result(real, "Sync this host") is None
    assert {host: fleet.snapshot(host) for host in fleet.hosts()} == before
    assert tsm_writes(fleet.tsm_state()) == []


def test_remediation_stops_before_any_host_changes_when_tsm_hides_an_undeclared_secret(fleet):
    """compliance.yml -e tabops_remediate=true changes hosts: the same read-only check runs before its files play."""
    reset_standin(fleet, "applied", "encrypted")
    before = {host: fleet.snapshot(host) for host in fleet.hosts()}
    run = fleet.playbook("playbooks/compliance.yml", extra_vars={"tabops_remediate": True})
    assert run.returncode != 0
    message = task_result(run, CHECK_TASK)["msg"]
    assert f"{SNOWFLAKE} (encrypted)" in message, message
    assert task_result(run, "Sync this host") is None
    assert {host: fleet.snapshot(host) for host in fleet.hosts()} == before
    assert tsm_writes(fleet.tsm_state()) == []
    # A check-only compliance run is not stopped by it (its tsm step reports the refusal as a finding of that host).
    checked = fleet.playbook("playbooks/compliance.yml")
    assert task_result(checked, CHECK_TASK) is None


def test_declaring_the_other_client_is_the_way_forward(fleet):
    reset_standin(fleet, "applied", "encrypted")
    other = [
        {
            "id": SNOWFLAKE,
            "client_id": "pre-existing-client",
            "client_secret": "snowflake-secret-from-vault",
            "redirect_uri": "https://tableau.lab.example/auth/add_oauth_token",
        }
    ]
    run = fleet.playbook(settings_playbook(fleet), extra_vars={"tabops_server_oauth_other_clients": other})
    assert run.returncode == 0, run.stdout[-3000:]
    clients = {c["oauth.config.id"]: c for c in applied_clients(fleet)}
    assert clients[SNOWFLAKE]["oauth.config.client_secret"] == "snowflake-secret-from-vault"
    assert set(clients) == {SNOWFLAKE, REDSHIFT}
    assert "snowflake-secret-from-vault" not in run.stdout


def test_authoritative_mode_removes_undeclared_clients_and_check_mode_shows_it(fleet):
    reset_standin(fleet, "applied", "masked")
    playbook = settings_playbook(fleet)
    authoritative = {"tabops_server_oauth_clients_mode": "authoritative"}
    predicted = fleet.playbook(playbook, "--check", "--diff", extra_vars=authoritative)
    assert predicted.returncode == 0, predicted.stdout[-3000:]
    settings = task_result(predicted, SETTINGS_TASK)
    assert {"id": SNOWFLAKE, "status": "removed", "differences": []} in settings["oauth_clients"]
    assert SNOWFLAKE in settings["diff"]["before"] and SNOWFLAKE not in settings["diff"]["after"]
    assert SEEDED_SECRET not in predicted.stdout and "lab-only-not-a-secret" not in predicted.stdout
    assert tsm_writes(fleet.tsm_state()) == []

    real = fleet.playbook(playbook, extra_vars=authoritative)
    assert real.returncode == 0, real.stdout[-3000:]
    assert task_result(real, SETTINGS_TASK)["oauth_clients"] == settings["oauth_clients"]
    assert [c["oauth.config.id"] for c in applied_clients(fleet)] == [REDSHIFT]
    again = fleet.playbook(playbook, extra_vars=authoritative)
    assert again.returncode == 0 and again.changed_tasks() == {}, again.stdout[-3000:]


@pytest.mark.parametrize("get_shows", ["applied", "pending"])
def test_null_allowlist_never_becomes_an_entry(fleet, get_shows):
    reset_standin(fleet, get_shows, "clear", f"unset={ALLOWLIST}")
    playbook = settings_playbook(fleet)
    run = fleet.playbook(playbook)
    assert run.returncode == 0, run.stdout[-3000:]
    assert fleet.tsm_state()["configuration"][ALLOWLIST] == "group_federation"
    again = fleet.playbook(playbook)
    assert again.returncode == 0 and again.changed_tasks() == {}


@pytest.mark.parametrize("state", ["unavailable", "unlicensed"])
def test_a_process_left_unavailable_or_unlicensed_fails_the_health_wait_naming_it(fleet, state):
    reset_standin(fleet, "applied", "clear", f"prep_conductor_after_apply={state}")
    run = fleet.playbook(settings_playbook(fleet))
    assert run.returncode != 0
    message = task_result(run, APPLY_TASK)["msg"]
    assert f"'Tableau Prep Conductor 0' status is {state}." in message, message
    assert "Tableau Server is not running after tsm pending-changes apply" in message


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_the_probe_reads_only_and_says_which_assumptions_hold(fleet, profile):
    get_shows, secrets_shown = PROFILES[profile]
    reset_standin(fleet, get_shows, secrets_shown)
    # Something pending whose value the listing shows: lets the probe tell what get shows, without a write of its own.
    tsm(fleet, "configuration", "set", "-k", "gateway.public.port", "-v", "8443")
    audited = len(fleet.tsm_state()["audit"])
    probe_file = fleet.workdir / f"probe-{profile}.json"
    run = fleet.playbook("playbooks/probe_tsm.yml", extra_vars={"tabops_tsm_probe_file": str(probe_file)})
    assert run.returncode == 0, run.stdout[-3000:]
    state = fleet.tsm_state()
    assert tsm_writes({"audit": state["audit"][audited:]}) == []
    assert state["pending"] == {"gateway.public.port": "8443"}
    assert stat.S_IMODE(probe_file.stat().st_mode) == 0o600
    text = probe_file.read_text()
    assert SEEDED_SECRET not in text and "lab-only-not-a-secret" not in text
    document = json.loads(text)
    holds = {verdict["name"]: verdict["holds"] for verdict in document["assumptions"]}
    assert holds["get shows applied values only (documented)"] == ("yes" if get_shows == "applied" else "no")
    assert holds["get shows client secrets in clear"] == ("yes" if secrets_shown == "clear" else "no")
    assert holds["a merge can keep every undeclared client"] == ("yes" if secrets_shown == "clear" else "no")
    assert holds["status -v layout is understood"] == "yes"
    assert holds["version layout is understood"] == "yes"
    assert holds["pending-changes list layout is understood"] == "yes"
    forms = {
        c["id"]: c["secret_forms"]["oauth.config.client_secret"] for c in document["probe"]["oauth_clients"]["clients"]
    }
    assert forms == {SNOWFLAKE: secrets_shown}
    assert document["probe"]["tsm"]["customer_bin"].split("/")[-1].startswith("customer-bin.")
    shown = "\n".join(run.stdout.splitlines())
    assert "get shows applied values only (documented)" in shown
    # The committed fixtures the unit tests replay are these files (regenerate: TABOPS_WRITE_PROBE_FIXTURES=1).
    fixture = PROBE_FIXTURES / f"{profile}.json"
    if os.environ.get("TABOPS_WRITE_PROBE_FIXTURES"):
        PROBE_FIXTURES.mkdir(parents=True, exist_ok=True)
        fixture.write_text(text)
    recorded = json.loads(fixture.read_text())
    verdicts = [(verdict["name"], verdict["holds"]) for verdict in document["assumptions"]]
    assert verdicts == [(verdict["name"], verdict["holds"]) for verdict in recorded["assumptions"]]
