# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Rules, rendering, safe parsing and semantic diff of _tableau_xml, checked against the SDK's own XSD and files."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import xmlschema

from ansible_collections.tabops.redshift_oauth.plugins.module_utils import _tableau_xml as tx

SDK = Path(__file__).resolve().parents[2] / "fixtures" / "connector-plugin-sdk"
XSD = xmlschema.XMLSchema(str(SDK / "oauth_config.xsd"))
SAMPLES = sorted((SDK / "samples").glob("*.xml"))
VALID_FIXTURES = sorted((SDK / "packager-fixtures").glob("*.valid.xml"))
INVALID_FIXTURES = sorted((SDK / "packager-fixtures").glob("*.invalid.xml"))
SECRET = "S3cr3t-VALUE-never-shown"

OKTA = {
    "id": "custom_redshift_okta",
    "label": "Okta Redshift",
    "idp": "okta",
    "idp_base_url": "example.okta.com",
    "client_id_desktop": "0oa1b2c3",
    "redirect_ports": [55556, 55557],
}
EXPLICIT = {
    "id": "custom_redshift_explicit",
    "client_id_desktop": "client",
    "client_secret_desktop": SECRET,
    "auth_uri": "https://idp.example.com/authorize",
    "token_uri": "https://idp.example.com/token",
    "scopes": ["openid", "offline_access"],
    "access_token_response_maps": {"ACCESSTOKEN": "access_token", "REFRESHTOKEN": "refresh_token", "username": "sub"},
}
HELP_PAGE_TDC = (
    "<connection-customization class='redshift' enabled='true' version='10.0'> <vendor name='redshift' /> "
    "<driver name='redshift' /> <customizations> <customization name='CAP_OAUTH_FEDERATE_ACCESS_TOKEN' value='yes'/> "
    "</customizations> </connection-customization>"
)


def with_changes(base, **changes):
    config = dict(base)
    for key, value in changes.items():
        if value is _DROP:
            config.pop(key, None)
        else:
            config[key] = value
    return config


_DROP = object()


@pytest.fixture(params=["defusedxml", "expat"])
def xml_backend(request, monkeypatch):
    """Run a test once with defusedxml and once with the stdlib expat fallback used on bare hosts."""
    monkeypatch.setattr(tx._safe_parse, "HAS_DEFUSEDXML", request.param == "defusedxml")
    return request.param


# ---------------------------------------------------------------------------------------------------------------------
# valid configs: render, XSD, round trip


VALID_CONFIGS = {
    "okta fixed ports": OKTA,
    "okta own auth server": with_changes(OKTA, auth_server="aus9abc", redirect_ports=_DROP),
    "entra guid tenant, dynamic ports": {
        "id": "custom_redshift_entra",
        "idp": "entra",
        "tenant": "00000000-1111-2222-3333-444444444444",
        "client_id_desktop": "11111111-2222-3333-4444-555555555555",
    },
    "entra domain tenant, secret in query": {
        "id": "custom_redshift_entra2",
        "idp": "entra",
        "tenant": "contoso.onmicrosoft.com",
        "client_id_desktop": "abc",
        "client_secret_desktop": SECRET,
        "capabilities": {"OAUTH_CAP_CLIENT_SECRET_IN_URL_QUERY_PARAM": "yes"},
        "access_token_response_maps": {"username": "email"},
    },
    "ping with port": {"id": "custom_ping", "idp": "ping", "idp_base_url": "https://sso.example.com:9031"},
    "keycloak legacy prefix": {
        "id": "custom_kc",
        "idp": "KeyCloak",
        "idp_base_url": "https://kc.example.com/auth/",
        "realm": "analytics",
        "redirect_ports": ["55556", 55557],
    },
    "generic": {
        "id": "custom_generic",
        "idp": "generic",
        "auth_uri": "https://idp.example.com/oauth/authorize",
        "token_uri": "https://idp.example.com/oauth/token",
        "access_token_response_maps": {"access-token-issue-time": None},
    },
    "explicit, no preset, secret without PKCE": EXPLICIT,
    "empty redirect_ports means dynamic ports": with_changes(EXPLICIT, redirect_ports=[]),
    "127.0.0.1 and [::1] loopback with capability": with_changes(
        EXPLICIT,
        redirect_uris_desktop=["http://127.0.0.1:55556/Callback", "http://[::1]:55556/Callback"],
        capabilities={
            "OAUTH_CAP_SUPPORTS_HTTP_SCHEME_LOOPBACK_REDIRECT_URLS": "TRUE",
            "OAUTH_CAP_FIXED_PORT_IN_CALLBACK_URL": "yes",
        },
    ),
    "id of exactly 36 characters, numeric client id": with_changes(
        EXPLICIT, id="custom_" + "a" * 29, client_id_desktop=12345, label="My label_2 - x"
    ),
    "every optional element, escaped text": with_changes(
        EXPLICIT,
        userinfo_uri="https://idp.example.com/userinfo?a=1&b=2",
        instance_url_suffix="/oidc",
        instance_url_validation_regex=r"^https://[a-z]+\.example\.com(/.*)?$ & <x> 'q' \"dq\"",
        default_instance_url="https://login.instanceurl.com",
        required_auth_attrs=["instanceurl"],
        required_refresh_attrs=["instanceurl", "username"],
        refresh_token_response_maps={"ACCESSTOKEN": "access_token"},
        client_secret_desktop="<&>'\"]]>",
        dbclass="redshift",
    ),
    "single-use refresh token explicitly off": with_changes(
        OKTA, capabilities={"OAUTH_CAP_SINGLE_USE_REFRESH_TOKEN": "no"}
    ),
}


@pytest.mark.parametrize("config", VALID_CONFIGS.values(), ids=VALID_CONFIGS.keys())
def test_valid_config_renders_schema_valid_and_round_trips(config):
    assert tx.validate_oauth_config(config) == []
    text = tx.render_oauth_config(config, managed_comment="Ansible managed")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<!-- Ansible managed -->\n<pluginOAuthConfig>')
    XSD.validate(text)
    assert tx.parse_oauth_config(text) == tx.normalize_oauth_config(config)
    assert tx.render_oauth_config(config, managed_comment="Ansible managed") == text
    assert tx.validate_document(text) == ([], [])
    assert tx.schema_problems(text) == []


def test_normalized_shape_has_every_field_and_no_preset_inputs():
    normalized = tx.normalize_oauth_config(OKTA)
    assert list(normalized) == list(tx.OAUTH_FIELDS)
    assert normalized["redirect_uris_desktop"] == ["http://localhost:55556/Callback", "http://localhost:55557/Callback"]
    assert normalized["capabilities"]["OAUTH_CAP_FIXED_PORT_IN_CALLBACK_URL"] is True
    assert normalized["dbclass"] == "redshift"
    assert tx.normalize_oauth_config(normalized) == normalized


def test_render_is_independent_of_input_dict_order():
    caps = {
        "OAUTH_CAP_REQUIRE_PKCE": True,
        "OAUTH_CAP_SUPPORTS_STATE": False,
        "OAUTH_CAP_PKCE_REQUIRES_CODE_CHALLENGE_METHOD": True,
    }
    forward = with_changes(EXPLICIT, capabilities=caps)
    backward = dict(reversed(list(with_changes(EXPLICIT, capabilities=dict(reversed(list(caps.items())))).items())))
    assert tx.render_oauth_config(forward) == tx.render_oauth_config(backward)


@pytest.mark.parametrize(
    ("inputs", "auth_uri", "token_uri", "userinfo_uri", "username"),
    [
        (
            {"idp": "okta", "idp_base_url": "dev-1.okta.com"},
            "https://dev-1.okta.com/oauth2/default/v1/authorize",
            "https://dev-1.okta.com/oauth2/default/v1/token",
            "https://dev-1.okta.com/oauth2/default/v1/userinfo",
            "preferred_username",
        ),
        (
            {"idp": "okta", "idp_base_url": "https://dev-1.okta.com/", "auth_server": "aus1"},
            "https://dev-1.okta.com/oauth2/aus1/v1/authorize",
            "https://dev-1.okta.com/oauth2/aus1/v1/token",
            "https://dev-1.okta.com/oauth2/aus1/v1/userinfo",
            "preferred_username",
        ),
        (
            {"idp": "entra", "tenant": "contoso.com"},
            "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/authorize",
            "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token",
            None,
            "preferred_username",
        ),
        (
            {"idp": "ping", "idp_base_url": "sso.example.com"},
            "https://sso.example.com/as/authorization.oauth2",
            "https://sso.example.com/as/token.oauth2",
            "https://sso.example.com/idp/userinfo.openid",
            "sub",
        ),
        (
            {"idp": "keycloak", "idp_base_url": "kc.example.com", "realm": "bi"},
            "https://kc.example.com/realms/bi/protocol/openid-connect/auth",
            "https://kc.example.com/realms/bi/protocol/openid-connect/token",
            "https://kc.example.com/realms/bi/protocol/openid-connect/userinfo",
            "preferred_username",
        ),
    ],
    ids=["okta", "okta-auth-server", "entra", "ping", "keycloak"],
)
def test_preset_endpoints_and_defaults(inputs, auth_uri, token_uri, userinfo_uri, username):
    normalized = tx.normalize_oauth_config({"id": "custom_x", **inputs})
    assert (normalized["auth_uri"], normalized["token_uri"], normalized["userinfo_uri"]) == (
        auth_uri,
        token_uri,
        userinfo_uri,
    )
    assert normalized["access_token_response_maps"]["username"] == username
    assert normalized["scopes"] == ["openid", "email", "profile", "offline_access"]
    caps = normalized["capabilities"]
    assert caps["OAUTH_CAP_REQUIRE_PKCE"] is caps["OAUTH_CAP_PKCE_REQUIRES_CODE_CHALLENGE_METHOD"] is True
    assert caps["OAUTH_CAP_SUPPORTS_STATE"] is True
    assert caps["OAUTH_CAP_FIXED_PORT_IN_CALLBACK_URL"] is False
    assert tx.validate_oauth_config({"id": "custom_x", **inputs}) == []


def test_preset_fields_are_overridable_and_entries_removable():
    config = with_changes(
        OKTA,
        token_uri="https://other.example.com/token",
        scopes=["openid", "offline_access"],
        capabilities={"OAUTH_CAP_SUPPORTS_STATE": False, "OAUTH_CAP_SUPPORTS_GET_USERINFO_FROM_ID_TOKEN": None},
        access_token_response_maps={"username": "email", "id-token": None},
    )
    normalized = tx.normalize_oauth_config(config)
    assert normalized["token_uri"] == "https://other.example.com/token"
    assert normalized["auth_uri"] == "https://example.okta.com/oauth2/default/v1/authorize"
    assert normalized["scopes"] == ["openid", "offline_access"]
    assert normalized["capabilities"]["OAUTH_CAP_SUPPORTS_STATE"] is False
    assert "OAUTH_CAP_SUPPORTS_GET_USERINFO_FROM_ID_TOKEN" not in normalized["capabilities"]
    assert normalized["access_token_response_maps"]["username"] == "email"
    assert "id-token" not in normalized["access_token_response_maps"]


# ---------------------------------------------------------------------------------------------------------------------
# invalid configs: every rule


INVALID_CONFIGS = [
    ("id-prefix", with_changes(OKTA, id="redshift_okta"), r"id: must start with 'custom_'"),
    ("id-length", with_changes(OKTA, id="custom_" + "a" * 30), r"id: at most 36 characters \(got 37\)"),
    ("id-chars", with_changes(OKTA, id="custom_a b"), r"id: only letters, digits"),
    ("id-non-ascii", with_changes(OKTA, id="custom_ä"), r"id: only letters, digits"),
    ("id-missing", with_changes(OKTA, id=_DROP), r"id: required"),
    ("id-empty", with_changes(OKTA, id="  "), r"id: required"),
    ("label-chars", with_changes(OKTA, label="Okta (prod)"), r"label: only letters, digits, '_', '-' and spaces"),
    ("label-control", with_changes(OKTA, label="Okta\x01"), r"label: contains control"),
    ("dbclass-chars", with_changes(OKTA, dbclass="red shift"), r"dbclass: only letters"),
    ("auth-http", with_changes(EXPLICIT, auth_uri="http://idp.example.com/a"), r"auth_uri: must be an absolute https"),
    ("token-relative", with_changes(EXPLICIT, token_uri="/oauth2/v2.0/token"), r"token_uri: must be an absolute https"),
    (
        "userinfo-ftp",
        with_changes(EXPLICIT, userinfo_uri="ftp://idp.example.com/u"),
        r"userinfo_uri: must be an absolute",
    ),
    (
        "auth-placeholder",
        with_changes(EXPLICIT, auth_uri="https://${oktaDomain}/a"),
        r"auth_uri: characters not allowed",
    ),
    (
        "auth-bad-host",
        with_changes(EXPLICIT, auth_uri="https://idp_example$.com/a"),
        r"auth_uri: 'idp_example\$.com' is not",
    ),
    (
        "auth-bad-port",
        with_changes(EXPLICIT, auth_uri="https://idp.example.com:99999/a"),
        r"auth_uri: port out of range",
    ),
    ("auth-missing", with_changes(EXPLICIT, auth_uri=_DROP), r"auth_uri: required"),
    ("token-missing", with_changes(EXPLICIT, token_uri=None), r"token_uri: required"),
    (
        "default-instance-http",
        with_changes(EXPLICIT, default_instance_url="http://x.example.com"),
        r"default_instance_url: must",
    ),
    ("scopes-empty", with_changes(OKTA, scopes=[]), r"scopes: at least one scope is required"),
    ("scopes-string", with_changes(OKTA, scopes="openid profile"), r"scopes: must be a list of strings \(got str\)"),
    ("scopes-space", with_changes(OKTA, scopes=["openid profile"]), r"scopes\[0\]: one scope per entry"),
    ("scopes-duplicate", with_changes(OKTA, scopes=["openid", "openid"]), r"scopes\[1\]: duplicate 'openid'"),
    ("scopes-empty-item", with_changes(OKTA, scopes=["openid", ""]), r"scopes\[1\]: must not be empty"),
    (
        "redirect-https",
        with_changes(OKTA, redirect_ports=_DROP, redirect_uris_desktop=["https://localhost:55556/Callback"]),
        r"redirect_uris_desktop\[0\]: must be an http loopback URL",
    ),
    (
        "redirect-not-loopback",
        with_changes(OKTA, redirect_ports=_DROP, redirect_uris_desktop=["http://example.com:5555/Callback"]),
        r"redirect_uris_desktop\[0\]: must be an http loopback URL",
    ),
    (
        "redirect-userinfo",
        with_changes(OKTA, redirect_ports=_DROP, redirect_uris_desktop=["http://evil@localhost:5555/Callback"]),
        r"redirect_uris_desktop\[0\]: must be an http loopback URL",
    ),
    (
        "redirect-no-port",
        with_changes(OKTA, redirect_ports=_DROP, redirect_uris_desktop=["http://localhost/Callback"]),
        r"redirect_uris_desktop\[0\]: needs an explicit port",
    ),
    (
        "redirect-port-zero",
        with_changes(OKTA, redirect_ports=_DROP, redirect_uris_desktop=["http://localhost:0/Callback"]),
        r"redirect_uris_desktop\[0\]: needs an explicit port 1-65535",
    ),
    (
        "redirect-port-too-big",
        with_changes(OKTA, redirect_ports=_DROP, redirect_uris_desktop=["http://localhost:555510/Callback"]),
        r"redirect_uris_desktop\[0\]: port must be 1-65535",
    ),
    (
        "redirect-duplicate",
        with_changes(
            OKTA,
            redirect_ports=_DROP,
            redirect_uris_desktop=["http://localhost:5555/Callback", "http://LOCALHOST:5555/Callback"],
        ),
        r"redirect_uris_desktop\[1\]: duplicates redirect_uris_desktop\[0\]",
    ),
    (
        "redirect-127-without-capability",
        with_changes(OKTA, redirect_ports=_DROP, redirect_uris_desktop=["http://127.0.0.1:5555/Callback"]),
        r"redirect_uris_desktop\[0\]: 127.0.0.1 loopback needs capabilities.OAUTH_CAP_SUPPORTS_HTTP_SCHEME_LOOPBACK",
    ),
    (
        "redirect-ipv6-without-capability",
        with_changes(OKTA, redirect_ports=_DROP, redirect_uris_desktop=["http://[::1]:5555/Callback"]),
        r"redirect_uris_desktop\[0\]: ::1 loopback needs",
    ),
    (
        "redirect-ports-zero",
        with_changes(OKTA, redirect_ports=[0]),
        r"redirect_ports\[0\]: must be a port number 1-65535",
    ),
    (
        "redirect-ports-big",
        with_changes(OKTA, redirect_ports=[5, 65536]),
        r"redirect_ports\[1\]: must be a port number",
    ),
    ("redirect-ports-text", with_changes(OKTA, redirect_ports=["abc"]), r"redirect_ports\[0\]: must be a port number"),
    ("redirect-ports-bool", with_changes(OKTA, redirect_ports=[True]), r"redirect_ports\[0\]: must be a port number"),
    ("redirect-ports-not-list", with_changes(OKTA, redirect_ports="55556"), r"redirect_ports: must be a list"),
    (
        "redirect-ports-and-uris",
        with_changes(OKTA, redirect_uris_desktop=["http://localhost:5555/Callback"]),
        r"redirect_ports: give redirect_ports or redirect_uris_desktop, not both",
    ),
    (
        "fixed-port-false-with-uris",
        with_changes(OKTA, capabilities={"OAUTH_CAP_FIXED_PORT_IN_CALLBACK_URL": False}),
        r"capabilities.OAUTH_CAP_FIXED_PORT_IN_CALLBACK_URL: must be true when redirect_uris_desktop are given",
    ),
    (
        "fixed-port-true-without-uris",
        with_changes(OKTA, redirect_ports=_DROP, capabilities={"OAUTH_CAP_FIXED_PORT_IN_CALLBACK_URL": True}),
        r"capabilities.OAUTH_CAP_FIXED_PORT_IN_CALLBACK_URL: true needs redirect_uris_desktop",
    ),
    ("cap-unknown", with_changes(OKTA, capabilities={"OAUTH_CAP_FOO": True}), r"capabilities.OAUTH_CAP_FOO: unknown"),
    (
        "cap-lower-case",
        with_changes(OKTA, capabilities={"oauth_cap_require_pkce": True}),
        r"capabilities.oauth_cap_require_pkce: unknown capability \(names are upper case\)",
    ),
    (
        "cap-duplicated",
        with_changes(OKTA, capabilities={"OAUTH_CAP_SUPPORTS_STATE": True, " OAUTH_CAP_SUPPORTS_STATE": True}),
        r"capabilities.OAUTH_CAP_SUPPORTS_STATE: given more than once",
    ),
    (
        "cap-custom-domain",
        with_changes(OKTA, capabilities={"OAUTH_CAP_SUPPORTS_CUSTOM_DOMAIN": False}),
        r"capabilities.OAUTH_CAP_SUPPORTS_CUSTOM_DOMAIN: not allowed in custom configs",
    ),
    (
        "cap-single-use-refresh",
        with_changes(OKTA, capabilities={"OAUTH_CAP_SINGLE_USE_REFRESH_TOKEN": True}),
        r"capabilities.OAUTH_CAP_SINGLE_USE_REFRESH_TOKEN: single-use \(rotating\) refresh tokens are not supported",
    ),
    (
        "cap-not-boolean",
        with_changes(OKTA, capabilities={"OAUTH_CAP_SUPPORTS_STATE": "maybe"}),
        r"capabilities.OAUTH_CAP_SUPPORTS_STATE: must be a boolean",
    ),
    (
        "caps-not-mapping",
        with_changes(OKTA, capabilities=["OAUTH_CAP_SUPPORTS_STATE"]),
        r"capabilities: must be a mapping",
    ),
    (
        "public-client-without-pkce",
        with_changes(OKTA, capabilities={"OAUTH_CAP_REQUIRE_PKCE": False}),
        r"capabilities: a desktop client without client_secret_desktop needs PKCE: set OAUTH_CAP_REQUIRE_PKCE true$",
    ),
    (
        "public-client-without-pkce-method",
        with_changes(EXPLICIT, client_secret_desktop=_DROP),
        r"needs PKCE: set OAUTH_CAP_REQUIRE_PKCE true and OAUTH_CAP_PKCE_REQUIRES_CODE_CHALLENGE_METHOD true",
    ),
    (
        "maps-username-missing",
        with_changes(OKTA, access_token_response_maps={"username": None}),
        r"access_token_response_maps.username: required",
    ),
    (
        "maps-accesstoken-missing",
        with_changes(EXPLICIT, access_token_response_maps={"REFRESHTOKEN": "r", "username": "u"}),
        r"access_token_response_maps.ACCESSTOKEN: required",
    ),
    (
        "maps-refreshtoken-missing",
        with_changes(EXPLICIT, access_token_response_maps={"ACCESSTOKEN": "a", "username": "u"}),
        r"access_token_response_maps.REFRESHTOKEN: required",
    ),
    (
        "maps-empty-value",
        with_changes(OKTA, access_token_response_maps={"username": " "}),
        r"access_token_response_maps.username: must not be empty",
    ),
    ("unknown-field", with_changes(OKTA, client_secret="x"), r"client_secret: unknown field"),
    ("idp-unknown", with_changes(OKTA, idp="azure"), r"idp: must be one of entra, generic, keycloak, okta, ping"),
    ("okta-no-base-url", with_changes(OKTA, idp_base_url=_DROP), r"idp_base_url: required by idp preset 'okta'"),
    ("okta-http-base-url", with_changes(OKTA, idp_base_url="http://example.okta.com"), r"idp_base_url: must be https"),
    ("okta-bad-auth-server", with_changes(OKTA, auth_server="a/b"), r"auth_server: must be one URL path segment"),
    ("entra-no-tenant", {"id": "custom_e", "idp": "entra"}, r"tenant: required by idp preset 'entra'"),
    ("entra-common", {"id": "custom_e", "idp": "entra", "tenant": "common"}, r"tenant: 'common' is multi-tenant"),
    (
        "entra-organizations",
        {"id": "custom_e", "idp": "entra", "tenant": "Organizations"},
        r"tenant: 'Organizations' is multi-tenant",
    ),
    ("entra-bad-tenant", {"id": "custom_e", "idp": "entra", "tenant": "a/b"}, r"tenant: must be a directory id"),
    ("keycloak-no-realm", {"id": "custom_k", "idp": "keycloak", "idp_base_url": "kc.example.com"}, r"realm: required"),
    (
        "secret-wrong-type",
        with_changes(OKTA, client_secret_desktop=[SECRET]),
        r"client_secret_desktop: must be a string \(got list; quote the secret in YAML so it stays text\)(;|$)",
    ),
    ("not-a-dict", ["custom_x"], r"config: must be a mapping \(got list\)"),
]


@pytest.mark.parametrize(
    ("config", "problem"), [case[1:] for case in INVALID_CONFIGS], ids=[c[0] for c in INVALID_CONFIGS]
)
def test_invalid_config_is_refused_naming_id_and_field(config, problem):
    problems = tx.validate_oauth_config(config)
    assert any(re.search(problem, item) for item in problems), problems
    with pytest.raises(tx.TableauXmlError, match=problem) as raised:
        tx.render_oauth_config(config)
    config_id = config.get("id") if isinstance(config, dict) else None
    if isinstance(config_id, str) and config_id.strip():
        assert str(raised.value).startswith(f"oauth config {config_id!r}: ")
    else:
        assert str(raised.value).startswith("oauth config (no id): ")
    assert SECRET not in str(raised.value)
    assert raised.value.problems == problems


def test_every_problem_is_reported_at_once():
    config = with_changes(
        OKTA,
        id="custom_bad id",
        label="bad!",
        scopes=[],
        capabilities={"OAUTH_CAP_FOO": True},
        client_secret_desktop=SECRET,
    )
    with pytest.raises(tx.TableauXmlError) as raised:
        tx.render_oauth_config(config)
    fields = [problem.split(":")[0] for problem in raised.value.problems]
    assert fields == ["id", "label", "scopes", "capabilities.OAUTH_CAP_FOO"]
    assert all(problem in str(raised.value) for problem in raised.value.problems)
    assert SECRET not in str(raised.value)


def test_secret_with_control_characters_is_refused_without_showing_it():
    with pytest.raises(tx.TableauXmlError, match=r"client_secret_desktop: contains control") as raised:
        tx.render_oauth_config(with_changes(OKTA, client_secret_desktop=SECRET + "\x07"))
    assert SECRET not in str(raised.value)


def test_rendered_size_is_bounded():
    config = with_changes(OKTA, scopes=[f"scope_{index:06d}" for index in range(12000)])
    with pytest.raises(tx.TableauXmlError, match=r"document: \d+ bytes rendered, Tableau loads at most 262144"):
        tx.render_oauth_config(config)


@pytest.mark.parametrize(
    ("comment", "expected_line"),
    [
        ("Ansible managed", "<!-- Ansible managed -->"),
        ("managed -- do not edit", "<!-- managed - - do not edit -->"),
        ("a---b-", "<!-- a- - -b- -->"),
        ("  ", None),
        (None, None),
    ],
)
def test_managed_comment_is_safe_and_ignored_by_parse_and_diff(comment, expected_line):
    text = tx.render_oauth_config(OKTA, managed_comment=comment)
    lines = text.splitlines()
    if expected_line is None:
        assert lines[1] == "<pluginOAuthConfig>"
    else:
        assert lines[1] == expected_line
    XSD.validate(text)
    assert tx.parse_oauth_config(text) == tx.parse_oauth_config(tx.render_oauth_config(OKTA))
    assert tx.diff_documents(tx.render_oauth_config(OKTA), text) == []


@pytest.mark.parametrize("comment", ["bad \x00 comment", 42])
def test_managed_comment_that_cannot_be_a_comment_is_refused(comment):
    with pytest.raises(tx.TableauXmlError, match=r"oauth config 'custom_redshift_okta': managed_comment: "):
        tx.render_oauth_config(OKTA, managed_comment=comment)
    with pytest.raises(tx.TableauXmlError, match=r"tdc 'redshift': managed_comment: "):
        tx.render_tdc({}, managed_comment=comment)


# ---------------------------------------------------------------------------------------------------------------------
# Tableau's own files


@pytest.mark.parametrize("path", SAMPLES + VALID_FIXTURES, ids=lambda path: path.name)
def test_sdk_samples_and_valid_fixtures_parse_on_both_backends(path, xml_backend):
    text = path.read_text(encoding="utf-8")
    XSD.validate(text)  # the oracle agrees these files are well-formed configs
    config = tx.parse_oauth_config(text)
    assert list(config) == list(tx.OAUTH_FIELDS)
    assert config["dbclass"]
    assert config["scopes"]
    assert tx.schema_problems(text) == []
    assert tx.diff_documents(text, text) == []
    assert tx.document_kind(text) == "oauth_config"


def test_sample_values_are_read_faithfully(xml_backend):
    config = tx.parse_oauth_config((SDK / "samples" / "redshift.azure.xml").read_bytes())
    assert config["id"] == "custom_redshift_azure"
    assert config["label"] == "Azure"
    assert config["client_id_desktop"] == "$clientID"
    assert config["client_secret_desktop"] == "$clientSecret"
    assert config["redirect_uris_desktop"][0] == "http://localhost:55556/Callback"
    assert config["auth_uri"] == "https://login.microsoftonline.com/${tenant}/oauth2/v2.0/authorize"
    assert config["scopes"] == ["openid", "email", "profile", "offline_access"]
    assert config["capabilities"]["OAUTH_CAP_FIXED_PORT_IN_CALLBACK_URL"] is False
    assert config["capabilities"]["OAUTH_CAP_REQUIRE_PKCE"] is True
    assert config["access_token_response_maps"]["username"] == "preferred_username"
    assert config["refresh_token_response_maps"] == {}
    assert config["userinfo_uri"] is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("redshift.azure.xml", r"capabilities.OAUTH_CAP_FIXED_PORT_IN_CALLBACK_URL: must be true when redirect"),
        ("athena.okta.xml", r"auth_uri: characters not allowed in a URL, e\.g\. an unrendered placeholder"),
        ("redshift.azure.iam-idc.xml", r"token_uri: characters not allowed in a URL"),
    ],
)
def test_samples_with_placeholders_parse_but_do_not_validate(name, problem):
    errors, _warnings = tx.validate_document((SDK / "samples" / name).read_text(encoding="utf-8"))
    assert any(re.search(problem, error) for error in errors), errors


INVALID_FIXTURE_PROBLEMS = {
    "oauth_config_id.invalid.xml": r"^id: <oauthConfigId> appears 2 times, at most 1 allowed$",
    "oauth_config_label.invalid.xml": r"^id: <oauthConfigId> must come before <configLabel> \(schema order\)$",
    "oauth_default_instance_url.invalid.xml": r"^auth_uri: <authUri> must come before <defaultInstanceUrl>",
    "oauth_instance_url_suffix.invalid.xml": r"^auth_uri: <authUri> must come before <instanceUrlSuffix>",
}


def test_every_invalid_fixture_has_a_known_problem():
    assert sorted(INVALID_FIXTURE_PROBLEMS) == [path.name for path in INVALID_FIXTURES]


@pytest.mark.parametrize("path", INVALID_FIXTURES, ids=lambda path: path.name)
def test_invalid_packager_fixtures_are_flagged(path, xml_backend):
    text = path.read_text(encoding="utf-8")
    assert not XSD.is_valid(text)  # the oracle agrees
    problem = INVALID_FIXTURE_PROBLEMS[path.name]
    errors, _warnings = tx.validate_document(text)
    assert any(re.search(problem, error) for error in errors), errors
    assert any(re.search(problem, error) for error in tx.schema_problems(text))
    # the structural problem also shows as drift against a clean rendering of the same meaning
    assert any(item["path"] == "schema" for item in tx.diff_documents(tx.render_oauth_config(OKTA), text))


def test_duplicate_single_element_cannot_be_parsed_into_a_dict():
    text = (SDK / "packager-fixtures" / "oauth_config_id.invalid.xml").read_text(encoding="utf-8")
    with pytest.raises(tx.TableauXmlError, match=r"id: <oauthConfigId> appears 2 times"):
        tx.parse_oauth_config(text)


@pytest.mark.parametrize(
    ("mutation", "problem"),
    [
        (("<scopes>openid</scopes>", "<scopes>openid</scopes><bogus>x</bogus>"), r"bogus: unknown element"),
        (
            (
                "</capabilities>",
                "<entry><key>OAUTH_CAP_SUPPORTS_STATE</key><value>false</value></entry></capabilities>",
            ),
            r"capabilities.OAUTH_CAP_SUPPORTS_STATE: duplicated entry",
        ),
        (("<entry>\n      <key>ACCESSTOKEN", "<entry><value>x</value><key>ACCESSTOKEN"), r"item 1 must be <entry>"),
        (("<authUri>", "<authUri><b>x</b>"), r"auth_uri: <authUri> must hold text, not elements"),
        (("<clientSecretDesktop>", "<clientSecretDesktop>a</clientSecretDesktop><clientSecretDesktop>"), r"appears 2"),
    ],
    ids=["unknown-element", "duplicate-capability", "malformed-entry", "nested-element", "duplicate-secret"],
)
def test_lossy_documents_raise_on_parse_and_are_schema_invalid(mutation, problem):
    text = tx.render_oauth_config(with_changes(OKTA, client_secret_desktop=SECRET)).replace(*mutation, 1)
    # The XSD allows duplicated entry keys; Tableau reads them into a map, so which one wins is undefined: refused.
    assert XSD.is_valid(text) is ("duplicated entry" in problem)
    with pytest.raises(tx.TableauXmlError, match=problem) as raised:
        tx.parse_oauth_config(text)
    assert SECRET not in str(raised.value)
    assert any(re.search(problem, item) for item in tx.schema_problems(text))


@pytest.mark.parametrize(
    ("mutation", "problem"),
    [
        (("<pluginOAuthConfig>", "<pluginOAuthConfig version='1'>"), r"attributes are not allowed"),
        (("<scopes>openid", "stray<scopes>openid"), r"text outside elements"),
        (("  <dbclass>redshift</dbclass>\n", ""), r"dbclass: <dbclass> is required"),
        (("<scopes>openid</scopes>", "<scopes> </scopes><scopes>openid</scopes>"), r"scopes: empty <scopes>"),
    ],
    ids=["root-attribute", "stray-text", "missing-dbclass", "empty-scope"],
)
def test_tolerated_schema_problems_parse_but_are_reported(mutation, problem):
    text = tx.render_oauth_config(OKTA).replace(*mutation, 1)
    tx.parse_oauth_config(text)
    assert any(re.search(problem, item) for item in tx.schema_problems(text))
    if "empty" not in problem:  # the XSD allows an empty xs:string; Tableau's loader does not use it
        assert not XSD.is_valid(text)


# ---------------------------------------------------------------------------------------------------------------------
# safe parsing


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<pluginOAuthConfig><dbclass>&lol3;</dbclass></pluginOAuthConfig>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE p [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<pluginOAuthConfig><dbclass>&xxe;</dbclass></pluginOAuthConfig>"""
PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE p [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]>
<pluginOAuthConfig/>"""
EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE pluginOAuthConfig SYSTEM "http://127.0.0.1:9/x.dtd">
<pluginOAuthConfig/>"""
BARE_DOCTYPE = """<!DOCTYPE connection-customization><connection-customization class='redshift'/>"""


@pytest.mark.parametrize(
    "text",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY, EXTERNAL_DTD, BARE_DOCTYPE],
    ids=["billion-laughs", "external-entity", "parameter-entity", "external-dtd", "bare-doctype"],
)
@pytest.mark.parametrize(
    "function", [tx.parse_oauth_config, tx.document_kind, tx.schema_problems, tx.validate_document]
)
def test_dtds_and_entities_are_refused(text, function, xml_backend):
    with pytest.raises(tx.UnsafeXmlError, match=r"^document: (DOCTYPE declaration|entity declaration)"):
        function(text)
    with pytest.raises(tx.UnsafeXmlError):
        tx.diff_documents(tx.render_oauth_config(OKTA), text)


def test_oversize_input_is_refused_before_parsing(xml_backend):
    text = tx.render_oauth_config(OKTA).replace(
        "</pluginOAuthConfig>", " " * tx.MAX_DOCUMENT_BYTES + "</pluginOAuthConfig>"
    )
    with pytest.raises(tx.UnsafeXmlError, match=r"document: \d+ bytes, more than the 262144 bytes accepted"):
        tx.parse_oauth_config(text)
    with pytest.raises(tx.UnsafeXmlError, match=r"more than the 262144 bytes"):
        tx.parse_tdc(b"<connection-customization>" + b" " * tx.MAX_DOCUMENT_BYTES + b"</connection-customization>")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "<pluginOAuthConfig><dbclass>x</pluginOAuthConfig>",
            r"not well-formed XML \(line 1, column \d+\): mismatched",
        ),
        ("<pluginOAuthConfig><dbclass>&nope;</dbclass></pluginOAuthConfig>", r"not well-formed XML .*undefined entity"),
        ("", r"not well-formed XML"),
        ("<other/>", r"root element <other> is neither <pluginOAuthConfig> nor <connection-customization>"),
    ],
    ids=["mismatched", "undefined-entity", "empty", "wrong-root"],
)
def test_malformed_documents_are_clear_errors_not_unsafe(text, problem, xml_backend):
    with pytest.raises(tx.TableauXmlError, match=problem) as raised:
        tx.document_kind(text)
    assert not isinstance(raised.value, tx.UnsafeXmlError)


def test_kind_mismatch_is_an_error():
    with pytest.raises(tx.TableauXmlError, match=r"expected a oauth_config document, found <connection-customization>"):
        tx.parse_oauth_config(HELP_PAGE_TDC)
    with pytest.raises(tx.TableauXmlError, match=r"expected a tdc document, found <pluginOAuthConfig>"):
        tx.parse_tdc(tx.render_oauth_config(OKTA))
    with pytest.raises(tx.TableauXmlError, match=r"cannot compare <pluginOAuthConfig> with <connection-customization>"):
        tx.diff_documents(tx.render_oauth_config(OKTA), HELP_PAGE_TDC)
    with pytest.raises(tx.TableauXmlError, match=r"must be XML text \(got int\)"):
        tx.document_kind(5)


def test_both_backends_read_every_sample_identically(monkeypatch):
    for path in SAMPLES + VALID_FIXTURES:
        monkeypatch.setattr(tx._safe_parse, "HAS_DEFUSEDXML", True)
        with_defusedxml = tx.parse_oauth_config(path.read_bytes())
        monkeypatch.setattr(tx._safe_parse, "HAS_DEFUSEDXML", False)
        assert tx.parse_oauth_config(path.read_bytes()) == with_defusedxml, path.name


@pytest.mark.parametrize(
    "data",
    [
        "<?xml version='1.0' encoding='UTF-16'?><connection-customization class='rédshift'/>",
        "<?xml version='1.0' encoding='ISO-8859-1'?><connection-customization class='r\xe9dshift'/>".encode("latin-1"),
        "<connection-customization class='rédshift'/>".encode(),
    ],
    ids=["str-declaring-utf16", "latin1-bytes", "utf8-bytes"],
)
def test_text_and_bytes_with_any_declared_encoding(data, xml_backend):
    assert tx.parse_tdc(data)["class"] == "rédshift"


def test_stdlib_fallback_is_used_when_defusedxml_is_missing():
    """A bare host: defusedxml cannot be imported, the module still parses and still refuses DTDs."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["defusedxml"] = None  # makes "import defusedxml" raise ImportError
        sys.path.insert(0, {str(Path(tx.__file__).parents[6])!r})
        from ansible_collections.tabops.redshift_oauth.plugins.module_utils import _tableau_xml as tx
        assert tx.HAS_DEFUSEDXML is False
        print(tx.parse_oauth_config(open({str(SAMPLES[0])!r}, "rb").read())["id"])
        try:
            tx.parse_oauth_config({BILLION_LAUGHS!r})
        except tx.UnsafeXmlError as error:
            print("refused:", error)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.splitlines() == [
        "custom_athena_okta",
        "refused: document: DOCTYPE declaration refused (DTDs and entities are not allowed)",
    ]


def _oldest_python():
    """A Python 3.9 interpreter (the oldest managed hosts run), if this machine has one."""
    for candidate in [*sorted(glob.glob("/root/.pyenv/versions/3.9*/bin/python")), shutil.which("python3.9")]:
        if not candidate or not os.access(candidate, os.X_OK):
            continue
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 9)":
            return candidate
    return None


PYTHON39 = _oldest_python()


@pytest.mark.skipif(PYTHON39 is None, reason="no Python 3.9 interpreter on this machine")
def test_module_utils_runs_on_python39_with_only_the_standard_library():
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["defusedxml"] = None
        sys.path.insert(0, {str(Path(tx.__file__).parents[6])!r})
        from ansible_collections.tabops.redshift_oauth.plugins.module_utils import _tableau_xml as tx
        text = tx.render_oauth_config({OKTA!r})
        assert tx.parse_oauth_config(text) == tx.normalize_oauth_config({OKTA!r})
        assert tx.diff_documents(text, open({str(SAMPLES[0])!r}).read())
        print(sys.version_info[:2], tx.HAS_DEFUSEDXML)
        """
    )
    result = subprocess.run([PYTHON39, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(3, 9) False"


# ---------------------------------------------------------------------------------------------------------------------
# semantic diff: OAuth config


def test_diff_ignores_formatting_comments_declaration_and_entry_order():
    rendered = tx.render_oauth_config(OKTA, managed_comment="x")
    config = tx.normalize_oauth_config(OKTA)
    caps = "".join(
        f"<!-- c --><entry><key>{key}</key><value>  {str(value).upper()} </value></entry>"
        for key, value in reversed(list(config["capabilities"].items()))
    )
    maps = "".join(
        f"<entry>\n<key>{key}</key>\n<value>{value}</value>\n</entry>"
        for key, value in reversed(list(config["access_token_response_maps"].items()))
    )
    scopes = "".join(f"<scopes>{scope}</scopes>\t" for scope in reversed(config["scopes"]))
    redirects = "".join(
        f"<redirectUrisDesktop>{uri}</redirectUrisDesktop>" for uri in reversed(config["redirect_uris_desktop"])
    )
    other = f"""<?xml version='1.0' encoding='utf-8' standalone='yes'?>
<pluginOAuthConfig><dbclass>redshift</dbclass><oauthConfigId> custom_redshift_okta </oauthConfigId>
<!-- hand edited --><configLabel>Okta Redshift</configLabel><clientIdDesktop>0oa1b2c3</clientIdDesktop>{redirects}
<authUri>{config["auth_uri"]}</authUri><tokenUri>{config["token_uri"]}</tokenUri><userInfoUri>{config["userinfo_uri"]}</userInfoUri>
{scopes}<capabilities>{caps}</capabilities><accessTokenResponseMaps>{maps}</accessTokenResponseMaps></pluginOAuthConfig>"""
    XSD.validate(other)
    assert tx.diff_documents(rendered, other) == []
    assert tx.diff_documents(other, rendered) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"capabilities": {"OAUTH_CAP_REQUIRE_PKCE": False}},
            [{"path": "capabilities.OAUTH_CAP_REQUIRE_PKCE", "expected": True, "actual": False}],
        ),
        (
            {"capabilities": {"OAUTH_CAP_SUPPORTS_STATE": None}},
            [{"path": "capabilities.OAUTH_CAP_SUPPORTS_STATE", "expected": True, "actual": None}],
        ),
        (
            {"capabilities": {"OAUTH_CAP_REQUIRES_PROMPT_CONSENT": True}},
            [{"path": "capabilities.OAUTH_CAP_REQUIRES_PROMPT_CONSENT", "expected": None, "actual": True}],
        ),
        ({"label": "Okta"}, [{"path": "label", "expected": "Okta Redshift", "actual": "Okta"}]),
        ({"label": None}, [{"path": "label", "expected": "Okta Redshift", "actual": None}]),
        (
            {"auth_server": "aus1"},
            [
                {
                    "path": key,
                    "expected": f"https://example.okta.com/oauth2/default/v1/{leaf}",
                    "actual": f"https://example.okta.com/oauth2/aus1/v1/{leaf}",
                }
                for key, leaf in (("auth_uri", "authorize"), ("token_uri", "token"), ("userinfo_uri", "userinfo"))
            ],
        ),
        (
            {"scopes": ["openid", "offline_access"]},
            [
                {
                    "path": "scopes",
                    "expected": ["email", "offline_access", "openid", "profile"],
                    "actual": ["offline_access", "openid"],
                }
            ],
        ),
        (
            {"redirect_ports": [55556, 55558]},
            [
                {
                    "path": "redirect_uris_desktop",
                    "expected": ["http://localhost:55556/Callback", "http://localhost:55557/Callback"],
                    "actual": ["http://localhost:55556/Callback", "http://localhost:55558/Callback"],
                }
            ],
        ),
        (
            {"access_token_response_maps": {"username": "email"}},
            [{"path": "access_token_response_maps.username", "expected": "preferred_username", "actual": "email"}],
        ),
        (
            {"refresh_token_response_maps": {"ACCESSTOKEN": "access_token"}},
            [{"path": "refresh_token_response_maps.ACCESSTOKEN", "expected": None, "actual": "access_token"}],
        ),
    ],
    ids=[
        "cap-flipped",
        "cap-removed",
        "cap-added",
        "label",
        "label-removed",
        "uris",
        "scopes",
        "redirects",
        "map",
        "rmap",
    ],
)
def test_diff_reports_each_change_by_path(changes, expected):
    # A confidential client (with a secret) may turn PKCE off, so every change below is valid.
    base = with_changes(OKTA, client_secret_desktop=SECRET)
    assert (
        tx.diff_documents(tx.render_oauth_config(base), tx.render_oauth_config(with_changes(base, **changes)))
        == expected
    )


@pytest.mark.parametrize(
    ("expected_secret", "actual_secret"),
    [(SECRET, SECRET + "x"), (SECRET, None), (None, SECRET)],
    ids=["changed", "removed", "added"],
)
def test_diff_redacts_secrets(expected_secret, actual_secret):
    expected = tx.render_oauth_config(with_changes(OKTA, client_secret_desktop=expected_secret))
    actual = tx.render_oauth_config(with_changes(OKTA, client_secret_desktop=actual_secret))
    assert tx.diff_documents(expected, actual) == [
        {"path": "client_secret_desktop", "expected": tx.REDACTED, "actual": tx.REDACTED}
    ]
    assert SECRET not in repr(tx.diff_documents(expected, actual))
    assert tx.diff_documents(expected, expected) == []


def test_diff_reports_schema_order_drift():
    rendered = tx.render_oauth_config(OKTA)
    reordered = rendered.replace("  <configLabel>Okta Redshift</configLabel>\n", "").replace(
        "<dbclass>redshift</dbclass>", "<configLabel>Okta Redshift</configLabel><dbclass>redshift</dbclass>"
    )
    assert not XSD.is_valid(reordered)
    assert tx.diff_documents(rendered, reordered) == [
        {
            "path": "schema",
            "expected": [],
            "actual": [
                "dbclass: <dbclass> must come before <configLabel> (schema order)",
                "id: <oauthConfigId> must come before <configLabel> (schema order)",
            ],
        }
    ]


def test_redact_oauth_config():
    config = tx.normalize_oauth_config(with_changes(OKTA, client_secret_desktop=SECRET))
    assert tx.redact_oauth_config(config)["client_secret_desktop"] == tx.REDACTED
    assert config["client_secret_desktop"] == SECRET
    assert tx.redact_oauth_config(tx.normalize_oauth_config(OKTA))["client_secret_desktop"] is None


# ---------------------------------------------------------------------------------------------------------------------
# TDC


def test_tdc_defaults_render_like_the_help_page():
    text = tx.render_tdc(
        {"customizations": {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": "yes"}}, managed_comment="Ansible managed"
    )
    assert text == (
        "<?xml version='1.0' encoding='utf-8' ?>\n"
        "<!-- Ansible managed -->\n"
        "<connection-customization class='redshift' enabled='true' version='10.0'>\n"
        "  <vendor name='redshift' />\n"
        "  <driver name='redshift' />\n"
        "  <customizations>\n"
        "    <customization name='CAP_OAUTH_FEDERATE_ACCESS_TOKEN' value='yes' />\n"
        "  </customizations>\n"
        "</connection-customization>\n"
    )
    assert tx.diff_documents(text, HELP_PAGE_TDC) == []
    assert tx.parse_tdc(HELP_PAGE_TDC) == tx.normalize_tdc(
        {"customizations": {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": "yes"}}
    )
    assert tx.document_kind(text) == "tdc"


VALID_TDCS = {
    "empty spec": {},
    "class none means default": {"class": None},
    "other class, no warnings": {"class": "genericodbc", "vendor": "Amazon", "driver": "Amazon Redshift (x64)"},
    "disabled, numeric version, escaping": {
        "class": "postgres",
        "enabled": "no",
        "version": 8.0,
        "customizations": {"CAP_QUERY_X": "a'b\"c<&>", "CAP_A": ""},
    },
    "sorted customizations": {"customizations": {"CAP_Z": "no", "CAP_A": "yes", "CAP_M": "1"}},
}


@pytest.mark.parametrize("spec", VALID_TDCS.values(), ids=VALID_TDCS.keys())
def test_valid_tdc_round_trips(spec):
    assert tx.validate_tdc(spec) == ([], [])
    text = tx.render_tdc(spec)
    assert tx.parse_tdc(text) == tx.normalize_tdc(spec)
    assert tx.render_tdc(spec) == text
    assert tx.diff_documents(text, text) == []
    assert tx.schema_problems(text) == []
    names = [line.split("'")[1] for line in text.splitlines() if "<customization " in line]
    assert names == sorted(names)


INVALID_TDCS = [
    ("class-empty", {"class": ""}, r"class: required"),
    ("class-chars", {"class": "red shift"}, r"class: only letters, digits"),
    (
        "customization-bool",
        {"customizations": {"CAP_X": True}},
        r"customizations.CAP_X: value must be a string, got bool \(quote it",
    ),
    ("customization-int", {"customizations": {"CAP_X": 1}}, r"customizations.CAP_X: value must be a string, got int$"),
    ("customization-name-empty", {"customizations": {" ": "yes"}}, r"customizations: names must be non-empty strings"),
    ("customization-name-chars", {"customizations": {"CAP X": "yes"}}, r"customizations.CAP X: names are letters"),
    (
        "customization-duplicate",
        {"customizations": {"CAP_X": "a", "CAP_X ": "b"}},
        r"customizations.CAP_X: given more than once",
    ),
    ("customization-control", {"customizations": {"CAP_X": "a\x00"}}, r"customizations.CAP_X: contains control"),
    ("customizations-list", {"customizations": ["CAP_X"]}, r"customizations: must be a mapping"),
    ("enabled-word", {"enabled": "maybe"}, r"enabled: must be a boolean"),
    ("version-word", {"version": "ten"}, r"version: must look like 10.0"),
    ("unknown-field", {"vendors": "x"}, r"vendors: unknown field"),
    ("not-a-dict", "redshift", r"spec: must be a mapping"),
]


@pytest.mark.parametrize(("spec", "problem"), [case[1:] for case in INVALID_TDCS], ids=[c[0] for c in INVALID_TDCS])
def test_invalid_tdc_is_refused(spec, problem):
    errors, _warnings = tx.validate_tdc(spec)
    assert any(re.search(problem, error) for error in errors), errors
    with pytest.raises(tx.TableauXmlError, match=problem):
        tx.render_tdc(spec)


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        ({"vendor": "postgres"}, ["vendor"]),
        ({"class": "snowflake", "vendor": "x", "driver": "y"}, ["vendor", "driver"]),
        ({"class": "my_odbc_connector", "vendor": "x", "driver": "y"}, []),
    ],
)
def test_tdc_warns_when_vendor_or_driver_differ_for_builtin_class(spec, fields):
    errors, warnings = tx.validate_tdc(spec)
    assert errors == []
    assert [warning.split(":")[0] for warning in warnings] == fields
    assert all("built-in connectors use the class name" in warning for warning in warnings)
    tx.render_tdc(spec)  # a warning does not stop rendering


@pytest.mark.parametrize(
    ("other", "expected"),
    [
        (
            HELP_PAGE_TDC.replace("value='yes'", "value='no'"),
            [{"path": "customizations.CAP_OAUTH_FEDERATE_ACCESS_TOKEN", "expected": "yes", "actual": "no"}],
        ),
        (
            HELP_PAGE_TDC.replace("<customization name='CAP_OAUTH_FEDERATE_ACCESS_TOKEN' value='yes'/>", ""),
            [{"path": "customizations.CAP_OAUTH_FEDERATE_ACCESS_TOKEN", "expected": "yes", "actual": None}],
        ),
        (
            HELP_PAGE_TDC.replace("enabled='true'", "enabled='false'"),
            [{"path": "enabled", "expected": True, "actual": False}],
        ),
        (HELP_PAGE_TDC.replace("version='10.0'", ""), [{"path": "version", "expected": "10.0", "actual": None}]),
        (
            HELP_PAGE_TDC.replace("<vendor name='redshift' />", "<vendor name='postgres' />"),
            [{"path": "vendor", "expected": "redshift", "actual": "postgres"}],
        ),
        (
            HELP_PAGE_TDC.replace(
                "class='redshift' enabled='true' version='10.0'", 'version="10.0"  class="redshift"\nenabled="TRUE"'
            ),
            [],
        ),
        (
            HELP_PAGE_TDC.replace(
                "</customizations>",
                "<customization name='CAP_OAUTH_FEDERATE_ACCESS_TOKEN' value='no'/></customizations>",
            ),
            [
                {
                    "path": "schema",
                    "expected": [],
                    "actual": ["customizations.CAP_OAUTH_FEDERATE_ACCESS_TOKEN: duplicated"],
                }
            ],
        ),
    ],
    ids=["value", "removed", "disabled", "no-version", "vendor", "attribute-order-quotes", "duplicate"],
)
def test_tdc_diff(other, expected):
    assert tx.diff_documents(HELP_PAGE_TDC, other) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            HELP_PAGE_TDC.replace("<driver name='redshift' />", "<driver name='redshift' /><driver name='x' />"),
            r"driver: <driver> appears more than once",
        ),
        (
            HELP_PAGE_TDC.replace("value='yes'", ""),
            r"customizations: item 1 must be <customization name=.. value=.. />",
        ),
        (HELP_PAGE_TDC.replace("<vendor", "<bogus /><vendor"), r"bogus: unknown element"),
    ],
)
def test_tdc_lossy_documents_raise_on_parse(text, problem):
    with pytest.raises(tx.TableauXmlError, match=problem):
        tx.parse_tdc(text)
    errors, _warnings = tx.validate_document(text)
    assert any(re.search(problem, error) for error in errors)


def test_validate_document_covers_both_kinds():
    assert tx.validate_document(tx.render_tdc({"class": "redshift"})) == ([], [])
    errors, warnings = tx.validate_document(HELP_PAGE_TDC.replace("<vendor name='redshift' />", "<vendor name='x' />"))
    assert errors == []
    assert warnings == [
        "vendor: 'x' differs from class 'redshift'; built-in connectors use the class name, "
        "so Tableau may not apply this TDC"
    ]
    errors, _warnings = tx.validate_document(HELP_PAGE_TDC.replace("class='redshift'", "class='a b' extra='1'"))
    assert errors == [
        "connection-customization: unexpected attributes extra",
        "class: only letters, digits, '_', '.', '-' allowed (got 'a b')",
    ]
    errors, _warnings = tx.validate_document(
        tx.render_oauth_config(OKTA).replace("custom_redshift_okta", "redshift_okta")
    )
    assert errors == ["id: must start with 'custom_' (got 'redshift_okta')"]


def test_error_problems_attribute_and_message():
    error = tx.TableauXmlError(["a: one", "b: two"], "oauth config 'custom_x'")
    assert error.problems == ["a: one", "b: two"]
    assert str(error) == "oauth config 'custom_x': a: one; b: two"
    assert str(tx.UnsafeXmlError("document: x")) == "document: x"
    assert isinstance(tx.UnsafeXmlError("x"), tx.TableauXmlError)
    assert isinstance(tx.TableauXmlError("x"), ValueError)
