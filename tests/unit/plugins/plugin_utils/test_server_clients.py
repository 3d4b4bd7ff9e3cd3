# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Server-level OAuth clients (tsm oauth.config.clients) derived from the declared configs."""

import pytest

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._server_clients import (
    ServerClientError,
    expected_redirect_uri,
    server_oauth_clients,
)


def config(**server_client):
    block = {"client_id": "srv", "client_secret": "canary-server-secret", **server_client}
    return {"id": "custom_redshift_okta", "server_client": block}


def test_id_is_dbclass_and_config_id_and_redirect_defaults_to_the_server_url():
    clients = server_oauth_clients([config(), {"id": "custom_desktop_only"}], server_url="https://tab.example.com/")
    assert clients == [
        {
            "id": "redshift:custom_redshift_okta",
            "client_id": "srv",
            "client_secret": "canary-server-secret",
            "redirect_uri": "https://tab.example.com/auth/add_oauth_token",
        }
    ]


def test_dbclass_of_the_config_is_used():
    clients = server_oauth_clients([dict(config(), dbclass="athena")], server_url="https://tab.example.com")
    assert clients[0]["id"] == "athena:custom_redshift_okta"


@pytest.mark.parametrize(
    ("server_url", "expected"),
    [
        ("https://tab.example.com", "https://tab.example.com/auth/add_oauth_token"),
        ("https://tab.example.com:8443/#/home", "https://tab.example.com:8443/auth/add_oauth_token"),
    ],
)
def test_expected_redirect_uri(server_url, expected):
    assert expected_redirect_uri(server_url) == expected


@pytest.mark.parametrize(
    ("entry", "server_url", "message"),
    [
        (config(redirect_uri="http://tab.example.com/auth/add_oauth_token"), "", r"redirect_uri: must be https://"),
        (config(redirect_uri="https://tab.example.com/callback"), "", r"redirect_uri: must be https://"),
        (config(), "", r"redirect_uri: required when tabops_server_url is not set"),
        (config(), "http://tab.example.com", r"tabops_server_url: must be an https URL"),
        (config(client_secret=""), "https://tab.example.com", r"server_client\.client_secret: required"),
        ({"id": "custom_x", "server_client": "oops"}, "https://t.example", r"must be a dict"),
    ],
)
def test_bad_server_clients_are_refused(entry, server_url, message):
    with pytest.raises(ServerClientError, match=message):
        server_oauth_clients([entry], server_url=server_url)


def test_duplicates_are_refused_and_secrets_never_shown():
    with pytest.raises(ServerClientError) as excinfo:
        server_oauth_clients([config(), config()], server_url="https://tab.example.com")
    assert "redshift:custom_redshift_okta is declared twice" in str(excinfo.value)
    assert "canary-server-secret" not in str(excinfo.value)


OTHER = {
    "id": "snowflake:custom_snowflake_okta",
    "client_id": "pre-existing-client",
    "client_secret": "from-the-vault-1234",
    "redirect_uri": "https://tableau.example.com/auth/add_oauth_token",
}


def test_other_clients_are_checked_without_showing_a_secret():
    from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._server_clients import other_client_problems

    assert other_client_problems([OTHER], ["redshift:custom_redshift_okta"]) == []
    bad = [
        dict(OTHER, id="snowflake"),
        dict(OTHER, client_secret="from-the-vault-1234\n"),
        {k: v for k, v in OTHER.items() if k != "redirect_uri"},
        dict(OTHER, id="redshift:custom_redshift_okta"),
        dict(OTHER, id="x:y", secret="typo"),
        "snowflake",
    ]
    problems = other_client_problems(bad, ["redshift:custom_redshift_okta"])
    text = "; ".join(problems)
    assert "tabops_server_oauth_other_clients[0].id: 'snowflake' must be '<dbclass>:<oauthConfigId>'" in text
    assert "tabops_server_oauth_other_clients[1].client_secret:" in text
    assert "tabops_server_oauth_other_clients[2].redirect_uri: required" in text
    assert "tabops_server_oauth_other_clients[3].id: redshift:custom_redshift_okta is declared twice" in text
    assert "tabops_server_oauth_other_clients[4]: unknown field(s) secret" in text
    assert "tabops_server_oauth_other_clients[5]: must be a dict" in text
    assert "from-the-vault-1234" not in text
    assert other_client_problems("x") == ["tabops_server_oauth_other_clients: must be a list of dicts, got str"]
