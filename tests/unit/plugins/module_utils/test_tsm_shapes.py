# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""What tsm may show that its documentation does not promise: output layouts, secret forms, Null, restarts.

The outputs come from tests/unit/fixtures/tsm/outputs.json, each with its source (a documented example, or
"shape assumed, not documented").
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ansible_collections.tabops.redshift_oauth.plugins.module_utils import _tsm as tsm_utils
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._odbc import tableau_version_and_build

FIXTURES = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "tsm" / "outputs.json").read_text())
OUTPUTS = {entry["name"]: entry for entry in FIXTURES["outputs"]}
SNOWFLAKE = "snowflake:custom_snowflake_okta"
REDSHIFT = "redshift:custom_redshift_okta"
SEEDED_SECRET = "pre-existing-secret"
NEW_SECRET = "new-secret"


def test_every_fixture_names_its_source():
    for entry in FIXTURES["outputs"]:
        source = entry["source"]
        assert "https://" in source or "shape assumed, not documented" in source, entry["name"]


@pytest.mark.parametrize("name", [name for name, entry in OUTPUTS.items() if entry["command"] == "tsm status -v"])
def test_status_v_process_states(name):
    entry = OUTPUTS[name]
    assert tsm_utils.parse_status(entry["text"]) == entry["expect"]["status"]
    assert tsm_utils.unhealthy_processes(entry["text"]) == entry["expect"]["unhealthy"]


@pytest.mark.parametrize(
    "name", [name for name, entry in OUTPUTS.items() if entry["command"] == "tsm pending-changes list"]
)
def test_pending_changes_list_layouts(name):
    entry = OUTPUTS[name]
    assert tsm_utils.parse_pending_changes(entry["text"]) == entry["expect"]["values"]
    assert tsm_utils.restart_announced(entry["text"]) is entry["expect"]["restart"]


@pytest.mark.parametrize("name", [name for name, entry in OUTPUTS.items() if entry["command"] == "tsm version"])
def test_version_layouts(name):
    entry = OUTPUTS[name]
    assert tableau_version_and_build(entry["text"]) == (entry["expect"]["version"], entry["expect"]["build"])


@pytest.mark.parametrize(
    ("text", "restart"),
    [
        ("Applying these pending changes will require a server restart.", True),
        ("This operation will perform a server restart. Are you sure you wish to continue?", True),
        ("These pending changes do not require a server restart.", False),
        ("The changes were applied without a restart.", False),
        ("No restart needed.", False),
        ("A restart is not required.", False),
        ("Successfully deployed nodes with updated configuration and topology version.", False),
    ],
)
def test_restart_detection_reads_what_the_line_says(text, restart):
    assert tsm_utils.restart_announced(text) is restart


def test_a_status_v_with_an_unhealthy_process_is_not_running(tmp_path):
    script = tmp_path / "tsm"
    text = OUTPUTS["status_v_prep_conductor_unavailable"]["text"]
    script.write_text("#!/bin/sh\ncat <<'EOF'\n%sEOF\n" % text)
    script.chmod(0o755)
    client = tsm_utils.TsmClient(str(script))
    word, detail = client.status()
    assert word == tsm_utils.UNHEALTHY_PROCESSES_STATUS
    assert detail == "Status: RUNNING, but 'Tableau Prep Conductor 0' status is unavailable."
    running, last, _waited, checks = tsm_utils.wait_until_running(
        client, timeout=0.3, interval=0.1, sleep=lambda _seconds: None
    )
    assert running is False and "status is unavailable" in last and checks >= 1
    assert client.calls[-1] == "status -v"


@pytest.mark.parametrize(
    ("value", "form"),
    [
        ("pre-existing-secret", "clear"),
        ("Zx9_~abc.DEF-123", "clear"),
        ("ENC(QUJDREVGR0g=)", "encrypted"),
        ("  ENC(multi\nline)", "encrypted"),
        ("********", "masked"),
        ("\u2022\u2022\u2022\u2022", "masked"),
        ("[masked]", "masked"),
        ("xxxxxxxx", "masked"),
        ("", "empty"),
        ("   ", "empty"),
        (None, "empty"),
        ("has space", "unrecognised"),
        ("tab\there", "unrecognised"),
        ("a" * 5000, "unrecognised"),
        (12345, "unrecognised"),
    ],
)
def test_secret_forms(value, form):
    assert tsm_utils.secret_form(value) == form


def client(client_id, secret=SEEDED_SECRET, **extra):
    entry = {"oauth.config.id": client_id, "oauth.config.client_id": "cid"}
    if secret is not None:
        entry["oauth.config.client_secret"] = secret
    entry.update(extra)
    return entry


def test_unreadable_secrets_of_undeclared_clients_are_named_with_their_form():
    current = [
        client(SNOWFLAKE, "ENC(abc)"),
        client("salesforce:sf", "********"),
        client("other:empty", ""),
        client("other:missing", None),
        client(REDSHIFT, "ENC(declared)"),
        client("clear:one"),
    ]
    found = tsm_utils.unreadable_secret_clients(current, [REDSHIFT])
    assert found == [
        (SNOWFLAKE, ["encrypted"]),
        ("salesforce:sf", ["masked"]),
        ("other:empty", ["empty"]),
        ("other:missing", ["empty"]),
    ]
    message = tsm_utils.unreadable_secrets_message("oauth.config.clients", found)
    assert "\n" not in message
    assert SNOWFLAKE + " (encrypted)" in message and "salesforce:sf (masked)" in message
    assert (
        "tabops_server_oauth_other_clients" in message and "tabops_server_oauth_clients_mode: authoritative" in message
    )
    assert "Nothing was changed" in message


def desired(secret=NEW_SECRET):
    return tsm_utils.normalize_desired_clients(
        [
            {
                "id": REDSHIFT,
                "client_id": "cid",
                "client_secret": secret,
                "redirect_uri": "https://t.example/auth/add_oauth_token",
            }
        ]
    )


def test_authoritative_mode_removes_undeclared_clients_and_reports_them():
    current = [
        client(SNOWFLAKE, "ENC(abc)"),
        client(REDSHIFT, "new-secret", **{"oauth.config.redirect_uri": "https://t.example/auth/add_oauth_token"}),
    ]
    merged, reports = tsm_utils.merge_oauth_clients(current, desired(), "authoritative")
    assert [entry["oauth.config.id"] for entry in merged] == [REDSHIFT]
    assert reports == [
        {"id": SNOWFLAKE, "status": "removed", "differences": []},
        {"id": REDSHIFT, "status": "compliant", "differences": []},
    ]
    assert tsm_utils.clients_changed(reports)
    with pytest.raises(ValueError, match="oauth_clients_mode"):
        tsm_utils.merge_oauth_clients(current, desired(), "replace")


def test_a_declared_secret_tsm_does_not_show_is_not_a_change_on_its_own_but_is_written_with_the_list():
    current = [client(REDSHIFT, "ENC(x)", **{"oauth.config.redirect_uri": "https://t.example/auth/add_oauth_token"})]
    merged, reports = tsm_utils.merge_oauth_clients(current, desired())
    assert reports == [
        {"id": REDSHIFT, "status": "compliant", "differences": [], "unverified": ["oauth.config.client_secret"]}
    ]
    assert not tsm_utils.clients_changed(reports)
    assert merged[0]["oauth.config.client_secret"] == "new-secret"


def test_undeclared_entries_are_written_back_byte_for_byte():
    current_text = (
        '[ {"oauth.config.id" : "snowflake:custom_snowflake_okta", "oauth.config.client_secret": "s\\u00e9cret",'
        ' "oauth.config.client_id":"a", "extra": [1, 2.50, {"z": null}]} ,\n  {"oauth.config.id": "x:y",'
        ' "oauth.config.client_secret": "k"} ]'
    )
    current = tsm_utils.parse_clients(current_text)
    merged, reports = tsm_utils.merge_oauth_clients(current, desired())
    rendered = tsm_utils.render_clients(merged, current_text)
    assert rendered.startswith(
        '[{"oauth.config.id" : "snowflake:custom_snowflake_okta", "oauth.config.client_secret": "s\\u00e9cret",'
        ' "oauth.config.client_id":"a", "extra": [1, 2.50, {"z": null}]},{"oauth.config.id": "x:y",'
        ' "oauth.config.client_secret": "k"},{"oauth.config.id":"redshift:custom_redshift_okta"'
    )
    assert json.loads(rendered) == merged
    assert reports[0]["status"] == "missing"


@pytest.mark.parametrize("shown", ["Null", "Null ", ""])
def test_null_is_never_an_allowlist_entry(shown):
    assert tsm_utils.split_allowlist(shown) == []
    after, added = tsm_utils.merge_allowlist(shown, ["group_federation"])
    assert (after, added) == ("group_federation", ["group_federation"])
    assert tsm_utils.merge_allowlist(shown, []) == ("", [])


def test_get_reads_null_as_empty(tmp_path):
    script = tmp_path / "tsm"
    script.write_text("#!/bin/sh\necho Null\n")
    script.chmod(0o755)
    assert tsm_utils.TsmClient(str(script)).get("native_api.odbc_extras_allowlist") == ""


@pytest.mark.parametrize("value", ["ENC(abc", "enc(abc)", " Enc (x)", "**", "xx", "*"])
def test_cut_short_lower_case_encrypted_and_short_masks_are_not_clear(value):
    assert tsm_utils.secret_form(value) != "clear"


@pytest.mark.parametrize(
    "extra",
    [
        {"extra": {"client_secret": "ENC(abc)"}},  # a secret one level down
        {"oauth.config.token": "ENC(y)"},  # an encrypted value under a key that does not say secret
        {"oauth.config.client_password": "********"},
        {"nested": [{"deeper": {"api_secret": ""}}]},
    ],
)
def test_secrets_anywhere_in_an_undeclared_client_must_read_clear(extra):
    unreadable = tsm_utils.unreadable_secret_clients([client(SNOWFLAKE, **extra)])
    assert [client_id for client_id, _forms in unreadable] == [SNOWFLAKE]
    merged_secrets = tsm_utils.client_secrets([client(SNOWFLAKE, "clear-one", deep={"x_secret": "deep-secret"})])
    assert merged_secrets == {"clear-one", "deep-secret"}


def test_a_declared_client_is_checked_where_the_run_does_not_set_the_secret():
    current = [client(REDSHIFT, "ENC(declared)", **{"oauth.config.client_secret_desktop": "ENC(x)"})]
    # Without managed fields a declared client counts as setting all of its secrets (the run-time probe's view).
    assert tsm_utils.unreadable_secret_clients(current, [REDSHIFT]) == []
    sets_secret = {REDSHIFT: {"oauth.config.id", "oauth.config.client_secret"}}
    assert tsm_utils.unreadable_secret_clients(current, [REDSHIFT], sets_secret) == [(REDSHIFT, ["encrypted"])]
    sets_nothing = {REDSHIFT: {"oauth.config.id", "oauth.config.client_id"}}
    [(client_id, forms)] = tsm_utils.unreadable_secret_clients(current, [REDSHIFT], sets_nothing)
    assert client_id == REDSHIFT and forms == ["encrypted"]
    sets_both = {REDSHIFT: {"oauth.config.client_secret", "oauth.config.client_secret_desktop"}}
    assert tsm_utils.unreadable_secret_clients(current, [REDSHIFT], sets_both) == []


def test_masking_reaches_nested_and_password_fields():
    current = [client(SNOWFLAKE, "top-secret", extra={"client_password": "pw-1", "list": ["ENC(zz)"]})]
    shown = json.dumps(tsm_utils.mask_clients(current))
    for secret in ("top-secret", "pw-1", "ENC(zz)"):
        assert secret not in shown
    assert current[0]["oauth.config.client_secret"] == "top-secret", "the input is not changed"


def test_a_client_id_that_is_not_text_is_refused_with_the_key_named():
    with pytest.raises(tsm_utils.TsmError, match=r"entry 0 has an oauth\.config\.id that is not text"):
        tsm_utils.parse_clients(json.dumps([{"oauth.config.id": ["a"]}]))


def test_a_fifo_planted_as_the_pending_record_does_not_hang_the_read(tmp_path):
    lock = tmp_path / "tabops-tsm.lock"
    os.mkfifo(tsm_utils.pending_record_path(str(lock)))
    assert tsm_utils.read_pending_record(str(lock)) == {}
