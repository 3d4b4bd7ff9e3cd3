"""tsm_settings run for real: ansible-playbook on localhost (host /usr/bin/python3) against the tsm stand-in."""

from __future__ import annotations

import json
import os
import subprocess

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

    return {"tmp": tmp_path, "state": state, "packages": packages, "read_state": read_state}


def run_playbook(server, module_args, check=False, diff=False, verbosity=0, json_output=True):
    """Run tsm_settings once on localhost; returns (rc, task result or None, raw output)."""
    task = {
        "tabops.redshift_oauth.tsm_settings": dict({"tsm_packages_dir": str(server["packages"])}, **module_args),
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
