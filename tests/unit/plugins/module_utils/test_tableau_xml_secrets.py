# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""client_secret_desktop: shape checks that cannot refuse a real secret, and messages that never show one."""

import os
import re
import secrets
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.tabops.redshift_oauth.plugins.module_utils import _secrets
from ansible_collections.tabops.redshift_oauth.plugins.module_utils import _tableau_xml as tx

OKTA = {
    "id": "custom_secret_shapes",
    "idp": "okta",
    "idp_base_url": "https://acme.okta.com/oauth2/default",
    "client_id_desktop": "0oa1desktop",
}
# What IdPs issue: Entra (40 characters with ~ . _ -), Okta (64, base64url), Keycloak (32 alphanumerics),
# PingFederate (admin-chosen, any printable text), and secrets a vault holds with every kind of punctuation.
REAL_LOOKING = [
    "Xq38Q~Zb1.VnQ_pS3kLw9-aZy7Gh2Jc4Tt5Ue6Rr",
    secrets.token_urlsafe(48),
    "".join(secrets.choice(string.ascii_letters + string.digits) for _position in range(32)),
    "p@ss w0rd with spaces & <angle> 'single' \"double\" \\backslash $dollar {brace} ]]> -- %25",
    "Ünïcödé-秘密-🔑",
    "x" * tx.MAX_SECRET_LENGTH,
]


def rendered_secret(secret):
    return tx.parse_oauth_config(tx.render_oauth_config({**OKTA, "client_secret_desktop": secret}))[
        "client_secret_desktop"
    ]


@pytest.mark.parametrize("secret", REAL_LOOKING, ids=["entra", "okta", "keycloak", "punctuation", "unicode", "max"])
def test_real_secrets_are_accepted_unchanged(secret):
    assert rendered_secret(secret) == secret
    assert tx.secret_problems("client_secret_desktop", secret) == []


def test_surrounding_whitespace_is_stripped_like_a_secret_read_from_a_file():
    assert rendered_secret("  from-a-file-secret-value\n") == "from-a-file-secret-value"


BAD_SHAPES = [
    (12345678, r"client_secret_desktop: must be a string \(got int; quote the secret in YAML so it stays text\)"),
    (True, r"client_secret_desktop: must be a string \(got bool"),
    (["x"], r"client_secret_desktop: must be a string \(got list"),
    ("", r"client_secret_desktop: is empty \(an unset variable\?\); leave the field out for a public client"),
    ("   \n", r"client_secret_desktop: is empty"),
    ("Canary-secret\x00tail", r"client_secret_desktop: contains control or non-XML characters"),
    ("Canary-secret\nsecond-line", r"client_secret_desktop: contains control or non-XML characters"),
    ("Canary-secret\ttab", r"client_secret_desktop: contains control or non-XML characters"),
    ("Canary-" + "y" * tx.MAX_SECRET_LENGTH, r"client_secret_desktop: 4103 characters, more than the 4096"),
]


@pytest.mark.parametrize(("secret", "problem"), BAD_SHAPES, ids=[f"bad-{i}" for i in range(len(BAD_SHAPES))])
def test_impossible_secrets_are_refused_without_showing_them(secret, problem):
    with pytest.raises(tx.TableauXmlError) as raised:
        tx.render_oauth_config({**OKTA, "client_secret_desktop": secret})
    message = str(raised.value)
    assert message.startswith("oauth config 'custom_secret_shapes': client_secret_desktop: "), message
    assert any(re.match(problem, item) for item in raised.value.problems), raised.value.problems
    if isinstance(secret, str) and secret.strip():
        assert "Canary" not in message and secret.strip() not in message
    assert tx.validate_oauth_config({**OKTA, "client_secret_desktop": secret})  # validation says the same


def test_redacted_comes_from_the_one_masking_module():
    assert tx.REDACTED is _secrets.REDACTED


SETTINGS = settings(
    max_examples=int(os.environ.get("TABOPS_HYPOTHESIS_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@SETTINGS
@given(st.text(min_size=12, max_size=80))
def test_any_secret_renders_faithfully_or_is_refused_without_being_shown(secret):
    config = {**OKTA, "client_secret_desktop": secret}
    try:
        assert rendered_secret(secret) == secret.strip()
    except tx.TableauXmlError as error:
        message = str(error)
        core = secret.strip()
        if len(core) >= 8:  # shorter fragments can occur in any text by chance
            assert core not in message
        assert all(problem.startswith("client_secret_desktop: ") for problem in error.problems), error.problems
        assert tx.secret_problems("client_secret_desktop", secret)
    else:
        assert tx.secret_problems("client_secret_desktop", secret) == []
        assert tx.validate_oauth_config(config) == []
