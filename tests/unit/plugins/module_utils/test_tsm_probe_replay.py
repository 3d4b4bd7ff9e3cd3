# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Probe files written by playbooks/probe_tsm.yml against the lab's tsm stand-in, one per profile
(tests/integration/test_tsm_server_variants.py writes them; TABOPS_WRITE_PROBE_FIXTURES=1 regenerates), replayed
through the parsers, the secret check, the merge and the verdicts: what the probe recorded is what the collection
reads from the same output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.tabops.redshift_oauth.plugins.module_utils import _tsm as tsm_utils
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._odbc import tableau_version_and_build
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tsm_probe import assumptions

PROBES = Path(__file__).resolve().parents[2] / "fixtures" / "tsm" / "probes"
PROFILES = sorted(path.stem for path in PROBES.glob("*.json"))
DECLARED = tsm_utils.normalize_desired_clients(
    [
        {
            "id": "redshift:custom_redshift_okta",
            "client_id": "0oa-lab-server-client",
            "client_secret": "replayed-secret",
            "redirect_uri": "https://tableau.lab.example/auth/add_oauth_token",
        }
    ]
)


def load(profile):
    return json.loads((PROBES / f"{profile}.json").read_text())


def test_every_profile_has_a_probe_file():
    assert PROFILES == [
        "documented",
        "get-shows-pending",
        "secrets-empty",
        "secrets-encrypted",
        "secrets-masked",
    ]


@pytest.mark.parametrize("profile", PROFILES)
def test_the_layouts_parse_as_the_probe_recorded(profile):
    probe = load(profile)["probe"]
    listing = "\n".join(probe["pending_changes"]["layout"])
    assert sorted(tsm_utils.parse_pending_changes(listing)) == probe["pending_changes"]["keys"]
    assert tsm_utils.restart_announced(listing) is probe["pending_changes"]["restart_announced"]
    status = "\n".join(probe["status_v"]["layout"])
    assert tsm_utils.parse_status(status) == probe["status_v"]["overall"] == "RUNNING"
    assert tsm_utils.unhealthy_processes(status) == probe["status_v"]["unhealthy"] == []
    assert len(tsm_utils.parse_processes(status)) == len(probe["status_v"]["processes"]) > 0
    assert list(tableau_version_and_build("\n".join(probe["version"]["layout"]))) == probe["version"]["parsed"]


@pytest.mark.parametrize("profile", PROFILES)
def test_the_clients_replay_through_the_secret_check_and_the_merge(profile):
    document = load(profile)
    section = document["probe"]["oauth_clients"]
    clients = section["redacted_value"]
    for client, recorded in zip(clients, section["clients"]):
        assert tsm_utils.client_secret_forms(client) == recorded["secret_forms"]
    refused = tsm_utils.unreadable_secret_clients(clients, section["declared_ids"])
    assert [{"id": client_id, "forms": forms} for client_id, forms in refused] == document["refused_clients"]
    if refused:
        message = tsm_utils.unreadable_secrets_message("oauth.config.clients", refused)
        assert all(client_id in message for client_id, _forms in refused)
    else:
        merged, _reports = tsm_utils.merge_oauth_clients(clients, DECLARED)
        assert merged[: len(clients)] == clients, "undeclared clients are kept as read"
    merged, reports = tsm_utils.merge_oauth_clients(clients, DECLARED, "authoritative")
    assert [c["oauth.config.id"] for c in merged] == ["redshift:custom_redshift_okta"]
    assert {r["id"] for r in reports if r["status"] == "removed"} == {
        c["oauth.config.id"] for c in clients if c["oauth.config.id"] != "redshift:custom_redshift_okta"
    }


@pytest.mark.parametrize("profile", PROFILES)
def test_the_verdicts_are_what_the_collection_computes_from_the_probe(profile):
    document = load(profile)
    assert assumptions(document["probe"], document["oauth_clients_mode"]) == document["assumptions"]
    assert "pre-existing-secret" not in json.dumps(document)


def test_the_probe_file_holds_no_nested_secret_and_no_lone_value_line():
    from ansible_collections.tabops.redshift_oauth.plugins.module_utils import _tsm_probe

    clients = [{"oauth.config.id": "x:y", "extra": {"api_secret": "nested-clear-secret"}, "token": "ENC(zz)"}]
    redacted = json.dumps(_tsm_probe.redact_clients(clients))
    assert "nested-clear-secret" not in redacted and "ENC(zz)" not in redacted
    assert "clear-secret-redacted" in redacted and "ENC(redacted)" in redacted
    listing = (
        "Pending Configuration Changes:\n  oauth.config.clients:\n    s3cr3t-value-on-its-own-line\n"
        "This change requires a server restart.\n"
    )
    kept = _tsm_probe.redact_pending_listing(listing, {})
    assert not any("s3cr3t" in line for line in kept), kept
    assert "This change requires a server restart." in kept and "Pending Configuration Changes:" in kept


def test_a_tsm_client_that_may_not_quote_output_names_the_command_and_exit_code_only(tmp_path):
    tsm = tmp_path / "tsm"
    tsm.write_text('#!/bin/sh\necho "{\\"oauth.config.client_secret\\": \\"leaked-secret\\"}"\necho oops >&2\nexit 2\n')
    tsm.chmod(0o700)
    client = tsm_utils.TsmClient(str(tsm), quote_output=False)
    with pytest.raises(tsm_utils.TsmError) as caught:
        client.get("oauth.config.clients")
    message = str(caught.value)
    assert "leaked-secret" not in message and "oops" not in message
    assert message.startswith("tsm configuration get -k oauth.config.clients failed (exit 2)")
