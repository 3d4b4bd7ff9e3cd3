# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""What a ``pluginOAuthConfig`` holds: the SDK's XSD as a table, the capability names, the secret fields.

Sources (docs/sources.md, "OAuth config files"): the connector SDK's ``validation/oauth_config.xsd`` and
``docs/oauth.md``, and Tableau's "Set Up Amazon Redshift IAM OAuth" help page.
"""

from __future__ import annotations

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._secrets import (
    secret_shape_problems,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._text import _quote

# (snake_case key, XML element, kind, minOccurs, maxOccurs) in the XSD's xs:sequence order, which Tableau enforces.
_SCALAR, _LIST, _MAP = "scalar", "list", "map"
_UNBOUNDED = None
OAUTH_SCHEMA = (
    ("dbclass", "dbclass", _SCALAR, 1, 1),
    ("id", "oauthConfigId", _SCALAR, 0, 1),
    ("label", "configLabel", _SCALAR, 0, 1),
    ("client_id_desktop", "clientIdDesktop", _SCALAR, 0, 1),
    ("client_secret_desktop", "clientSecretDesktop", _SCALAR, 0, 1),
    ("redirect_uris_desktop", "redirectUrisDesktop", _LIST, 0, _UNBOUNDED),
    ("auth_uri", "authUri", _SCALAR, 1, 1),
    ("token_uri", "tokenUri", _SCALAR, 1, 1),
    ("userinfo_uri", "userInfoUri", _SCALAR, 0, 1),
    ("instance_url_suffix", "instanceUrlSuffix", _SCALAR, 0, 1),
    ("instance_url_validation_regex", "instanceUrlValidationRegex", _SCALAR, 0, 1),
    ("default_instance_url", "defaultInstanceUrl", _SCALAR, 0, 1),
    ("scopes", "scopes", _LIST, 1, _UNBOUNDED),
    ("required_auth_attrs", "requiredAuthAttrs", _LIST, 0, _UNBOUNDED),
    ("required_refresh_attrs", "requiredRefreshAttrs", _LIST, 0, _UNBOUNDED),
    ("capabilities", "capabilities", _MAP, 0, 1),
    ("access_token_response_maps", "accessTokenResponseMaps", _MAP, 0, 1),
    ("refresh_token_response_maps", "refreshTokenResponseMaps", _MAP, 0, 1),
)
OAUTH_FIELDS = tuple(row[0] for row in OAUTH_SCHEMA)
_FIELD_KIND = {row[0]: row[2] for row in OAUTH_SCHEMA}
_ELEMENT_FIELD = {row[1]: row for row in OAUTH_SCHEMA}
_ELEMENT_POSITION = {row[1]: index for index, row in enumerate(OAUTH_SCHEMA)}

SECRET_FIELDS = frozenset({"client_secret_desktop"})

KNOWN_CAPABILITIES = frozenset(
    {
        "OAUTH_CAP_REQUIRE_PKCE",
        "OAUTH_CAP_PKCE_REQUIRES_CODE_CHALLENGE_METHOD",
        "OAUTH_CAP_SUPPORTS_STATE",
        "OAUTH_CAP_FIXED_PORT_IN_CALLBACK_URL",
        "OAUTH_CAP_CLIENT_SECRET_IN_URL_QUERY_PARAM",
        "OAUTH_CAP_SUPPORTS_GET_USERINFO_FROM_ID_TOKEN",
        "OAUTH_CAP_REQUIRES_PROMPT_CONSENT",
        "OAUTH_CAP_REQUIRES_PROMPT_SELECT_ACCOUNT",
        "OAUTH_CAP_GET_USERNAME_USES_POST_REQUEST",
        "OAUTH_CAP_SUPPORTS_HTTP_SCHEME_LOOPBACK_REDIRECT_URLS",
        "OAUTH_CAP_INFER_INSTANCE_URL_FROM_SERVER",
        "OAUTH_CAP_SUPPORTS_CUSTOM_DOMAIN",
        "OAUTH_CAP_SINGLE_USE_REFRESH_TOKEN",
    }
)
CAP_PKCE = "OAUTH_CAP_REQUIRE_PKCE"
CAP_PKCE_METHOD = "OAUTH_CAP_PKCE_REQUIRES_CODE_CHALLENGE_METHOD"
CAP_FIXED_PORT = "OAUTH_CAP_FIXED_PORT_IN_CALLBACK_URL"
CAP_LOOPBACK_HTTP = "OAUTH_CAP_SUPPORTS_HTTP_SCHEME_LOOPBACK_REDIRECT_URLS"
CAP_CUSTOM_DOMAIN = "OAUTH_CAP_SUPPORTS_CUSTOM_DOMAIN"
CAP_SINGLE_USE_REFRESH = "OAUTH_CAP_SINGLE_USE_REFRESH_TOKEN"
REQUIRED_ACCESS_TOKEN_MAPS = ("ACCESSTOKEN", "REFRESHTOKEN", "username")
MAX_CONFIG_ID_LENGTH = 36


def _empty_oauth_config():
    config = {}
    for field, _element, kind, _low, _high in OAUTH_SCHEMA:
        config[field] = [] if kind == _LIST else {} if kind == _MAP else None
    return config


def _config_subject(config):
    config_id = config.get("id") if isinstance(config, dict) else None
    if isinstance(config_id, str) and config_id.strip():
        return f"oauth config {_quote(config_id.strip())}"
    return "oauth config (no id)"


def secret_problems(field, value):
    """Shape problems no real secret has, each prefixed with the field (see ``_secrets.secret_shape_problems``).

    Leading and trailing whitespace is not a problem: it is stripped (a secret read from a file ends in a newline).
    """
    problems = secret_shape_problems(value, strip=True)
    if problems == ["is empty (an unset variable?)"]:
        problems = ["is empty (an unset variable?); leave the field out for a public client that uses PKCE"]
    return ["%s: %s" % (field, problem) for problem in problems]
