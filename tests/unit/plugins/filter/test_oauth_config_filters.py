# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""oauth_config_xml and oauth_config_parse filters: AnsibleFilterError with the config id and every field."""

from __future__ import annotations

from pathlib import Path

import pytest
import xmlschema
from ansible.errors import AnsibleFilterError

from ansible_collections.tabops.redshift_oauth.plugins.filter import oauth_config_parse as parse_plugin
from ansible_collections.tabops.redshift_oauth.plugins.filter import oauth_config_xml as render_plugin
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import REDACTED

SDK = Path(__file__).resolve().parents[2] / "fixtures" / "connector-plugin-sdk"
SECRET = "filter-secret-value"
CONFIG = {
    "id": "custom_redshift_entra",
    "idp": "entra",
    "tenant": "contoso.onmicrosoft.com",
    "client_id_desktop": "abc",
    "client_secret_desktop": SECRET,
    "redirect_ports": [55556],
}

render = render_plugin.FilterModule().filters()["oauth_config_xml"]
parse = parse_plugin.FilterModule().filters()["oauth_config_parse"]


def test_render_then_parse():
    text = render(CONFIG, managed_comment="Ansible managed")
    xmlschema.XMLSchema(str(SDK / "oauth_config.xsd")).validate(text)
    assert "<!-- Ansible managed -->" in text
    parsed = parse(text)
    assert parsed["auth_uri"] == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
    assert parsed["client_secret_desktop"] == SECRET
    assert parsed["redirect_uris_desktop"] == ["http://localhost:55556/Callback"]
    assert parse(text, redact=True)["client_secret_desktop"] == REDACTED
    assert parse(text.encode())["id"] == "custom_redshift_entra"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            dict(CONFIG, id="entra", label="bad!", tenant="common"),
            r"^tabops\.redshift_oauth\.oauth_config_xml: oauth config 'entra': tenant: 'common' is multi-tenant.*; "
            r"id: must start with 'custom_'.*; label: only letters",
        ),
        (
            dict(CONFIG, client_secret_desktop={"x": 1}),
            r"oauth config 'custom_redshift_entra': client_secret_desktop: must",
        ),
        ("custom_x", r"^tabops\.redshift_oauth\.oauth_config_xml: input must be a dict, got str$"),
        (
            dict(CONFIG, tenant=None, idp_base_url="https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token"),
            r"^tabops\.redshift_oauth\.oauth_config_xml: oauth config 'custom_redshift_entra': idp_base_url: "
            r"'https://login\.microsoftonline\.com/contoso\.com/oauth2/v2\.0/token' is the 'token' endpoint, not the "
            r"authority; put 'https://login\.microsoftonline\.com/contoso\.com/v2\.0' there",
        ),
        (
            dict(CONFIG, client_secret_desktop=SECRET + "\n" + SECRET),
            r"oauth config 'custom_redshift_entra': client_secret_desktop: contains control or non-XML characters",
        ),
    ],
)
def test_render_errors(config, message):
    with pytest.raises(AnsibleFilterError, match=message) as raised:
        render(config)
    assert SECRET not in str(raised.value)


def test_render_reads_an_okta_issuer_url_as_admins_paste_it():
    config = {"id": "custom_redshift_okta", "idp": "okta", "idp_base_url": "https://acme.okta.com/oauth2/default"}
    parsed = parse(render(config))
    assert parsed["auth_uri"] == "https://acme.okta.com/oauth2/default/v1/authorize"
    assert parsed["token_uri"] == "https://acme.okta.com/oauth2/default/v1/token"


def test_render_refuses_bad_managed_comment():
    with pytest.raises(
        AnsibleFilterError, match=r"oauth config 'custom_redshift_entra': managed_comment: must be a string"
    ):
        render(CONFIG, managed_comment=["x"])


@pytest.mark.parametrize("path", sorted((SDK / "samples").glob("*.xml")), ids=lambda path: path.name)
def test_parse_reads_every_sdk_sample(path):
    assert parse(path.read_text(encoding="utf-8"))["scopes"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '<!DOCTYPE x [<!ENTITY a "b">]><pluginOAuthConfig/>',
            r"^tabops\.redshift_oauth\.oauth_config_parse: document: DOCTYPE declaration refused",
        ),
        ("<pluginOAuthConfig>", r"oauth_config_parse: document: not well-formed XML"),
        (
            (SDK / "packager-fixtures" / "oauth_config_id.invalid.xml").read_text(encoding="utf-8"),
            r"oauth config 'oauthConfigid1': id: <oauthConfigId> appears 2 times",
        ),
        (42, r"oauth_config_parse: input must be XML text, got int$"),
    ],
    ids=["dtd", "malformed", "duplicate-id", "not-text"],
)
def test_parse_errors(text, message):
    with pytest.raises(AnsibleFilterError, match=message):
        parse(text)
