# Copyright (c) tabops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tableau OAuth config (``pluginOAuthConfig``) and TDC (``connection-customization``) documents.

Normalize, validate, render, safe-parse and compare by meaning. Shared by the filters (controller) and the
``tableau_artifacts`` module (managed hosts), so this file uses only the Python standard library, plus
``defusedxml`` when it happens to be importable.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element
from xml.parsers import expat

try:  # Hosts may not have defusedxml: the expat fallback below applies the same refusals.
    import defusedxml
    import defusedxml.ElementTree as _defused_et

    HAS_DEFUSEDXML = True
except ImportError:  # pragma: no cover - exercised by monkeypatching in the tests
    defusedxml = None
    _defused_et = None
    HAS_DEFUSEDXML = False

__all__ = [
    "BUILTIN_CONNECTOR_CLASSES",
    "HAS_DEFUSEDXML",
    "IDP_PRESETS",
    "KNOWN_CAPABILITIES",
    "MAX_DOCUMENT_BYTES",
    "OAUTH_FIELDS",
    "REDACTED",
    "SECRET_FIELDS",
    "TableauXmlError",
    "UnsafeXmlError",
    "diff_documents",
    "document_kind",
    "normalize_oauth_config",
    "normalize_tdc",
    "parse_oauth_config",
    "parse_tdc",
    "redact_oauth_config",
    "render_oauth_config",
    "render_tdc",
    "safe_fromstring",
    "schema_problems",
    "validate_document",
    "validate_oauth_config",
    "validate_tdc",
]

MAX_DOCUMENT_BYTES = 256 * 1024  # Tableau refuses larger OAuth configs
REDACTED = "[redacted]"
SECRET_FIELDS = frozenset({"client_secret_desktop"})

OAUTH_ROOT = "pluginOAuthConfig"
TDC_ROOT = "connection-customization"

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
# Inputs that only steer normalization; they never appear in the normalized shape.
_PRESET_INPUTS = ("idp", "idp_base_url", "tenant", "realm", "auth_server", "redirect_ports")

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
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
_SAFE_LABEL = re.compile(r"^[A-Za-z0-9_ -]+$")
_SAFE_CLASS = re.compile(r"^[A-Za-z0-9_.-]+$")
_SAFE_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
_HOSTNAME = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*\.?$")
_WHITESPACE = re.compile(r"\s")
_NOT_URL_CHARS = re.compile(r'[{}<>"`|^\\]')
_SAFE_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9_.~-]+$")
# Characters XML 1.0 cannot carry at all, plus the C0 controls that field values never need.
_BAD_TEXT_CHARS = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_BAD_COMMENT_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_TRUE_WORDS = frozenset({"true", "yes"})
_FALSE_WORDS = frozenset({"false", "no"})
_UNSPECIFIED_TENANTS = frozenset({"common", "organizations", "consumers"})

# Built-in connector classes whose vendor and driver names equal the class (FACTS.md section 4).
BUILTIN_CONNECTOR_CLASSES = frozenset(
    {
        "redshift",
        "postgres",
        "snowflake",
        "sqlserver",
        "oracle",
        "mysql",
        "athena",
        "bigquery",
        "databricks",
        "saphana",
        "teradata",
        "vertica",
        "greenplum",
        "exasol",
        "presto",
    }
)
TDC_FIELDS = ("class", "vendor", "driver", "version", "enabled", "customizations")


class TableauXmlError(ValueError):
    """Invalid configuration or document; ``problems`` lists every problem found, ``str()`` lists them all."""

    def __init__(self, problems, subject=None):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        self.subject = subject
        text = "; ".join(self.problems)
        super().__init__(f"{subject}: {text}" if subject else text)


class UnsafeXmlError(TableauXmlError):
    """The document carries a DTD, an entity declaration or reference, or is larger than MAX_DOCUMENT_BYTES."""


# --------------------------------------------------------------------------------------------------------------------
# small helpers


def _quote(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _config_subject(config):
    config_id = config.get("id") if isinstance(config, dict) else None
    if isinstance(config_id, str) and config_id.strip():
        return f"oauth config {_quote(config_id.strip())}"
    return "oauth config (no id)"


def _to_bool(value):
    """Return True/False for booleans and their usual spellings, None when the value is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    return None


def _text_problem(field, value):
    """Problem with a string that must fit in an XML element, or None."""
    if _BAD_TEXT_CHARS.search(value):
        return f"{field}: contains control or non-XML characters"
    return None


def _norm_scalar(field, value, problems):
    """Strip strings, map '' to None, turn integers into text (numeric client ids)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        shown = "" if field in SECRET_FIELDS else f" (got {type(value).__name__})"
        problems.append(f"{field}: must be a string{shown}")
        return None
    text = str(value).strip()
    if not text:
        return None
    problem = _text_problem(field, text)
    if problem:
        problems.append(problem)
    return text


def _norm_list(field, value, problems):
    if value is None:
        return []
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, (list, tuple)):
        problems.append(f"{field}: must be a list of strings (got {type(value).__name__})")
        return []
    items = []
    for index, item in enumerate(value):
        text = _norm_scalar(f"{field}[{index}]", item, problems)
        if text is None:
            if item is not None and not (isinstance(item, str) and not item.strip()):
                continue  # type problem already recorded
            problems.append(f"{field}[{index}]: must not be empty")
            continue
        items.append(text)
    return items


def _norm_map(field, value, problems, boolean_values):
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(f"{field}: must be a mapping (got {type(value).__name__})")
        return {}
    result = {}
    for raw_key, raw_value in value.items():
        if not isinstance(raw_key, str) or not raw_key.strip():
            problems.append(f"{field}: keys must be non-empty strings (got {_quote(raw_key)})")
            continue
        key = raw_key.strip()
        if key in result:
            problems.append(f"{field}.{key}: given more than once")
            continue
        if raw_value is None:
            continue  # None deletes a preset entry
        if boolean_values:
            flag = _to_bool(raw_value)
            if flag is None:
                problems.append(f"{field}.{key}: must be a boolean (true/false/yes/no), got {_quote(raw_value)}")
                continue
            result[key] = flag
        else:
            text = _norm_scalar(f"{field}.{key}", raw_value, problems)
            if text is None:
                if isinstance(raw_value, str):
                    problems.append(f"{field}.{key}: must not be empty")
                continue
            result[key] = text
    return result


def _empty_oauth_config():
    config = {}
    for field, _element, kind, _low, _high in OAUTH_SCHEMA:
        config[field] = [] if kind == _LIST else {} if kind == _MAP else None
    return config


# --------------------------------------------------------------------------------------------------------------------
# IdP presets


def _base_url(config, idp, problems):
    raw = config.get("idp_base_url")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        problems.append(f"idp_base_url: required by idp preset {_quote(idp)}")
        return None
    if not isinstance(raw, str):
        problems.append(f"idp_base_url: must be a string (got {type(raw).__name__})")
        return None
    text = raw.strip().rstrip("/")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment or parts.username:
        problems.append(f"idp_base_url: must be https://HOST[:PORT][/PREFIX] (got {_quote(raw)})")
        return None
    return text


def _path_input(config, name, idp, problems, default=None):
    raw = config.get(name, default)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        problems.append(f"{name}: required by idp preset {_quote(idp)}")
        return None
    if not isinstance(raw, str) or not _SAFE_PATH_SEGMENT.match(raw.strip()):
        problems.append(
            f"{name}: must be one URL path segment of letters, digits, '_', '.', '~', '-' (got {_quote(raw)})"
        )
        return None
    return raw.strip()


def _desktop_defaults(username_claim):
    return {
        "scopes": ["openid", "email", "profile", "offline_access"],
        "capabilities": {
            CAP_PKCE: True,
            CAP_PKCE_METHOD: True,
            "OAUTH_CAP_SUPPORTS_STATE": True,
            "OAUTH_CAP_CLIENT_SECRET_IN_URL_QUERY_PARAM": False,
            "OAUTH_CAP_SUPPORTS_GET_USERINFO_FROM_ID_TOKEN": True,
        },
        "access_token_response_maps": {
            "ACCESSTOKEN": "access_token",
            "REFRESHTOKEN": "refresh_token",
            "id-token": "id_token",
            "access-token-issue-time": "issued_at",
            "access-token-expires-in": "expires_in",
            "username": username_claim,
        },
    }


def _preset_okta(config, problems):
    defaults = _desktop_defaults("preferred_username")
    base = _base_url(config, "okta", problems)
    server = _path_input(config, "auth_server", "okta", problems, default="default")
    if base and server:
        prefix = f"{base}/oauth2/{server}/v1"
        defaults.update(auth_uri=f"{prefix}/authorize", token_uri=f"{prefix}/token", userinfo_uri=f"{prefix}/userinfo")
    return defaults


def _preset_entra(config, problems):
    defaults = _desktop_defaults("preferred_username")
    defaults["capabilities"]["OAUTH_CAP_REQUIRES_PROMPT_SELECT_ACCOUNT"] = True
    tenant = config.get("tenant")
    if tenant is None or (isinstance(tenant, str) and not tenant.strip()):
        problems.append("tenant: required by idp preset 'entra' (directory id or verified domain)")
        return defaults
    if not isinstance(tenant, str) or not _SAFE_TENANT.match(tenant.strip()):
        problems.append(f"tenant: must be a directory id (GUID) or domain name (got {_quote(tenant)})")
        return defaults
    tenant = tenant.strip()
    if tenant.lower() in _UNSPECIFIED_TENANTS:
        problems.append(f"tenant: {_quote(tenant)} is multi-tenant; give the tenant-specific directory id or domain")
        return defaults
    prefix = f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0"
    defaults.update(auth_uri=f"{prefix}/authorize", token_uri=f"{prefix}/token")
    return defaults


def _preset_ping(config, problems):
    # PingFederate's default ID token always carries sub; map another claim by overriding the response map.
    defaults = _desktop_defaults("sub")
    base = _base_url(config, "ping", problems)
    if base:
        defaults.update(
            auth_uri=f"{base}/as/authorization.oauth2",
            token_uri=f"{base}/as/token.oauth2",
            userinfo_uri=f"{base}/idp/userinfo.openid",
        )
    return defaults


def _preset_keycloak(config, problems):
    defaults = _desktop_defaults("preferred_username")
    base = _base_url(config, "keycloak", problems)
    realm = _path_input(config, "realm", "keycloak", problems)
    if base and realm:
        prefix = f"{base}/realms/{realm}/protocol/openid-connect"
        defaults.update(auth_uri=f"{prefix}/auth", token_uri=f"{prefix}/token", userinfo_uri=f"{prefix}/userinfo")
    return defaults


def _preset_generic(config, problems):
    return _desktop_defaults("preferred_username")


IDP_PRESETS = {
    "okta": _preset_okta,
    "entra": _preset_entra,
    "ping": _preset_ping,
    "keycloak": _preset_keycloak,
    "generic": _preset_generic,
}


# --------------------------------------------------------------------------------------------------------------------
# OAuth config: normalize and validate


def _expand_redirect_ports(ports, problems):
    if isinstance(ports, (str, bytes, dict)) or not isinstance(ports, (list, tuple)):
        problems.append(f"redirect_ports: must be a list of port numbers (got {type(ports).__name__})")
        return []
    uris = []
    for index, port in enumerate(ports):
        number = None
        if isinstance(port, int) and not isinstance(port, bool):
            number = port
        elif isinstance(port, str) and port.strip().isdigit():
            number = int(port.strip())
        if number is None or not 1 <= number <= 65535:
            problems.append(f"redirect_ports[{index}]: must be a port number 1-65535 (got {_quote(port)})")
            continue
        uris.append(f"http://localhost:{number}/Callback")
    return uris


def _normalize_oauth(config):
    """Return (normalized config, problems found while normalizing)."""
    problems = []
    if not isinstance(config, dict):
        return _empty_oauth_config(), [f"config: must be a mapping (got {type(config).__name__})"]
    unknown = sorted(str(key) for key in config if key not in _FIELD_KIND and key not in _PRESET_INPUTS)
    problems.extend(f"{key}: unknown field" for key in unknown)

    user = {key: value for key, value in config.items() if key in _FIELD_KIND and value is not None}
    if config.get("redirect_ports") is not None:
        if user.get("redirect_uris_desktop"):
            problems.append("redirect_ports: give redirect_ports or redirect_uris_desktop, not both")
        else:
            user["redirect_uris_desktop"] = _expand_redirect_ports(config["redirect_ports"], problems)
            # An empty list means dynamic ports: no fixed-port capability then.
            if user["redirect_uris_desktop"] and isinstance(user.get("capabilities", {}), dict):
                user["capabilities"] = {CAP_FIXED_PORT: True, **user.get("capabilities", {})}

    idp = config.get("idp")
    preset = {}
    if idp is not None:
        if not isinstance(idp, str) or idp.strip().lower() not in IDP_PRESETS:
            problems.append(f"idp: must be one of {', '.join(sorted(IDP_PRESETS))} (got {_quote(idp)})")
        else:
            preset = IDP_PRESETS[idp.strip().lower()](config, problems)
            preset["capabilities"][CAP_FIXED_PORT] = bool(user.get("redirect_uris_desktop"))

    result = _empty_oauth_config()
    result["dbclass"] = "redshift"
    for field, kind in _FIELD_KIND.items():
        preset_value = preset.get(field)
        value = user.get(field, preset_value)
        if kind == _MAP:
            user_map = user.get(field)
            if preset_value and isinstance(user_map, dict):
                value = {**preset_value, **user_map}  # every preset entry stays overridable, None removes it
            result[field] = _norm_map(field, value, problems, boolean_values=field == "capabilities")
        elif kind == _LIST:
            result[field] = _norm_list(field, value, problems)
        elif field in user or field in preset:
            result[field] = _norm_scalar(field, value, problems)
    if result["dbclass"] is None:
        result["dbclass"] = "redshift"
    return result, problems


def normalize_oauth_config(config):
    """Apply the IdP preset, fill defaults and expand ``redirect_ports``; raise TableauXmlError on malformed input."""
    normalized, problems = _normalize_oauth(config)
    if problems:
        raise TableauXmlError(problems, _config_subject(config))
    return normalized


def redact_oauth_config(config):
    """Copy of a config with every secret value replaced by REDACTED (for reports and logs)."""
    redacted = dict(config)
    for field in SECRET_FIELDS:
        if redacted.get(field) is not None:
            redacted[field] = REDACTED
    return redacted


def _https_problem(field, value):
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc or not parts.hostname or _WHITESPACE.search(value):
        return f"{field}: must be an absolute https URL (got {_quote(value)})"
    if _NOT_URL_CHARS.search(value):
        return f"{field}: characters not allowed in a URL, e.g. an unrendered placeholder (got {_quote(value)})"
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return f"{field}: port out of range (got {_quote(value)})"
    if not _valid_hostname(parts.hostname):
        # Catches unrendered placeholders such as ${oktaDomain} copied from Tableau's samples.
        return f"{field}: {_quote(parts.hostname)} is not a valid host name (got {_quote(value)})"
    return None


def _valid_hostname(host):
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return True
    return bool(_HOSTNAME.match(host)) and len(host) <= 253


def _redirect_problems(uris, capabilities):
    problems = []
    seen = {}
    for index, uri in enumerate(uris):
        field = f"redirect_uris_desktop[{index}]"
        parts = urlsplit(uri)
        try:
            port = parts.port
        except ValueError:
            problems.append(f"{field}: port must be 1-65535 (got {_quote(uri)})")
            continue
        host = (parts.hostname or "").lower()
        if parts.scheme != "http" or host not in _LOOPBACK_HOSTS or parts.username or parts.password:
            problems.append(
                f"{field}: must be an http loopback URL on localhost, 127.0.0.1 or [::1] (got {_quote(uri)})"
            )
            continue
        if port is None or not 1 <= port <= 65535:
            problems.append(f"{field}: needs an explicit port 1-65535 (got {_quote(uri)})")
            continue
        if host != "localhost" and capabilities.get(CAP_LOOPBACK_HTTP) is not True:
            problems.append(f"{field}: {host} loopback needs capabilities.{CAP_LOOPBACK_HTTP} true")
        canonical = (host, port, parts.path or "/", parts.query)
        if canonical in seen:
            problems.append(f"{field}: duplicates redirect_uris_desktop[{seen[canonical]}] ({_quote(uri)})")
        else:
            seen[canonical] = index
    return problems


def _validate_normalized_oauth(config):
    problems = []
    config_id = config["id"]
    if config_id is None:
        problems.append("id: required (oauthConfigId)")
    else:
        if not config_id.startswith("custom_"):
            problems.append(f"id: must start with 'custom_' (got {_quote(config_id)})")
        if len(config_id) > MAX_CONFIG_ID_LENGTH:
            problems.append(f"id: at most {MAX_CONFIG_ID_LENGTH} characters (got {len(config_id)})")
        if not _SAFE_ID.match(config_id):
            problems.append(f"id: only letters, digits, '_' and '-' allowed (got {_quote(config_id)})")
    if config["dbclass"] is not None and not _SAFE_CLASS.match(config["dbclass"]):
        problems.append(f"dbclass: only letters, digits, '_', '.', '-' allowed (got {_quote(config['dbclass'])})")
    if config["label"] is not None and not _SAFE_LABEL.match(config["label"]):
        problems.append(f"label: only letters, digits, '_', '-' and spaces allowed (got {_quote(config['label'])})")
    for field in ("auth_uri", "token_uri"):
        if config[field] is None:
            problems.append(f"{field}: required")
    for field in ("auth_uri", "token_uri", "userinfo_uri", "default_instance_url"):
        if config[field] is not None:
            problem = _https_problem(field, config[field])
            if problem:
                problems.append(problem)
    if not config["scopes"]:
        problems.append("scopes: at least one scope is required")
    for field in ("scopes", "redirect_uris_desktop", "required_auth_attrs", "required_refresh_attrs"):
        seen = set()
        for index, item in enumerate(config[field]):
            if field == "scopes" and _WHITESPACE.search(item):
                problems.append(f"scopes[{index}]: one scope per entry, no spaces (got {_quote(item)})")
            if item in seen and field != "redirect_uris_desktop":
                problems.append(f"{field}[{index}]: duplicate {_quote(item)}")
            seen.add(item)

    capabilities = config["capabilities"]
    for key in sorted(capabilities):
        if key not in KNOWN_CAPABILITIES:
            hint = " (names are upper case)" if key.upper() in KNOWN_CAPABILITIES else ""
            problems.append(f"capabilities.{key}: unknown capability{hint}")
        elif not isinstance(capabilities[key], bool):
            problems.append(f"capabilities.{key}: must be true or false (got {_quote(capabilities[key])})")
    if CAP_CUSTOM_DOMAIN in capabilities:
        problems.append(f"capabilities.{CAP_CUSTOM_DOMAIN}: not allowed in custom configs")
    if capabilities.get(CAP_SINGLE_USE_REFRESH) is True:
        problems.append(
            f"capabilities.{CAP_SINGLE_USE_REFRESH}: single-use (rotating) refresh tokens are not supported "
            "for Redshift IAM OAuth"
        )
    problems.extend(_redirect_problems(config["redirect_uris_desktop"], capabilities))
    fixed_port = capabilities.get(CAP_FIXED_PORT) is True
    if config["redirect_uris_desktop"] and not fixed_port:
        problems.append(f"capabilities.{CAP_FIXED_PORT}: must be true when redirect_uris_desktop are given")
    if fixed_port and not config["redirect_uris_desktop"]:
        problems.append(f"capabilities.{CAP_FIXED_PORT}: true needs redirect_uris_desktop (or redirect_ports)")
    if config["client_id_desktop"] is not None and config["client_secret_desktop"] is None:
        missing = [cap for cap in (CAP_PKCE, CAP_PKCE_METHOD) if capabilities.get(cap) is not True]
        if missing:
            problems.append(
                "capabilities: a desktop client without client_secret_desktop needs PKCE: set "
                + " and ".join(f"{cap} true" for cap in missing)
            )
    access_maps = config["access_token_response_maps"]
    for key in REQUIRED_ACCESS_TOKEN_MAPS:
        if key not in access_maps:
            problems.append(f"access_token_response_maps.{key}: required")
    return problems


def validate_oauth_config(config):
    """Every problem with an OAuth config (raw input or parsed document), as 'field: message' strings."""
    normalized, problems = _normalize_oauth(config)
    return problems + _validate_normalized_oauth(normalized)


# --------------------------------------------------------------------------------------------------------------------
# rendering


def _escape_text(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attribute(text):
    return _escape_text(text).replace("'", "&apos;").replace('"', "&quot;")


def _comment(managed_comment):
    """Render the managed-by comment; '--' cannot appear in an XML comment, so it is broken up."""
    if managed_comment is None:
        return ""
    if not isinstance(managed_comment, str):
        raise TableauXmlError(f"managed_comment: must be a string (got {type(managed_comment).__name__})")
    if _BAD_COMMENT_CHARS.search(managed_comment):
        raise TableauXmlError("managed_comment: contains characters an XML comment cannot carry")
    text = managed_comment.strip()
    while "--" in text:
        text = text.replace("--", "- -")
    if not text:
        return ""
    return f"<!-- {text} -->\n"


def _render_oauth_normalized(config, managed_comment):
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<" + OAUTH_ROOT + ">"]
    for field, element, kind, _low, _high in OAUTH_SCHEMA:
        value = config[field]
        if kind == _SCALAR:
            if value is not None:
                lines.append(f"  <{element}>{_escape_text(value)}</{element}>")
        elif kind == _LIST:
            lines.extend(f"  <{element}>{_escape_text(item)}</{element}>" for item in value)
        elif value:
            lines.append(f"  <{element}>")
            for key in sorted(value):
                item = value[key]
                text = ("true" if item else "false") if isinstance(item, bool) else item
                lines.append("    <entry>")
                lines.append(f"      <key>{_escape_text(key)}</key>")
                lines.append(f"      <value>{_escape_text(text)}</value>")
                lines.append("    </entry>")
            lines.append(f"  </{element}>")
    lines.append("</" + OAUTH_ROOT + ">")
    head, body = lines[0] + "\n", "\n".join(lines[1:]) + "\n"
    return head + _comment(managed_comment) + body


def render_oauth_config(config, managed_comment=None):
    """Validated, deterministic ``pluginOAuthConfig`` XML text; raise TableauXmlError naming the id and all fields."""
    normalized, problems = _normalize_oauth(config)
    problems += _validate_normalized_oauth(normalized)
    subject = _config_subject(normalized if normalized.get("id") else config)
    if problems:
        raise TableauXmlError(problems, subject)
    text = _render_oauth_normalized(normalized, _comment_checked(managed_comment, subject))
    size = len(text.encode("utf-8"))
    if size > MAX_DOCUMENT_BYTES:
        raise TableauXmlError(f"document: {size} bytes rendered, Tableau loads at most {MAX_DOCUMENT_BYTES}", subject)
    return text


def _comment_checked(managed_comment, subject):
    try:
        _comment(managed_comment)
    except TableauXmlError as error:
        raise TableauXmlError(error.problems, subject) from None
    return managed_comment


# --------------------------------------------------------------------------------------------------------------------
# TDC


def _tdc_subject(spec):
    tdc_class = spec.get("class") if isinstance(spec, dict) else None
    if isinstance(tdc_class, str) and tdc_class.strip():
        return f"tdc {_quote(tdc_class.strip())}"
    return "tdc (no class)"


def _normalize_tdc(spec):
    problems = []
    result = {"class": None, "vendor": None, "driver": None, "version": "10.0", "enabled": True, "customizations": {}}
    if not isinstance(spec, dict):
        return result, [f"spec: must be a mapping (got {type(spec).__name__})"]
    problems.extend(f"{key}: unknown field" for key in sorted(str(key) for key in spec if key not in TDC_FIELDS))
    tdc_class = spec.get("class", "redshift")
    result["class"] = _norm_scalar("class", "redshift" if tdc_class is None else tdc_class, problems)
    for field in ("vendor", "driver"):
        result[field] = _norm_scalar(field, spec.get(field), problems) or result["class"]
    version = spec.get("version")
    if isinstance(version, float):
        version = repr(version)
    if version is not None:
        result["version"] = _norm_scalar("version", version, problems) or "10.0"
    enabled = spec.get("enabled")
    if enabled is not None:
        flag = _to_bool(enabled)
        if flag is None:
            problems.append(f"enabled: must be a boolean (got {_quote(enabled)})")
        else:
            result["enabled"] = flag
    customizations = spec.get("customizations")
    if customizations is not None:
        if not isinstance(customizations, dict):
            problems.append(
                f"customizations: must be a mapping of name to string value (got {type(customizations).__name__})"
            )
        else:
            for raw_name, raw_value in customizations.items():
                if not isinstance(raw_name, str) or not raw_name.strip():
                    problems.append(f"customizations: names must be non-empty strings (got {_quote(raw_name)})")
                    continue
                name = raw_name.strip()
                field = f"customizations.{name}"
                if name in result["customizations"]:
                    problems.append(f"{field}: given more than once")
                    continue
                if not isinstance(raw_value, str):
                    hint = " (quote it: YAML reads yes/no as booleans)" if isinstance(raw_value, bool) else ""
                    problems.append(f"{field}: value must be a string, got {type(raw_value).__name__}{hint}")
                    continue
                problem = _text_problem(field, name) or _text_problem(field, raw_value)
                if problem:
                    problems.append(problem)
                    continue
                result["customizations"][name] = raw_value.strip()
    return result, problems


def normalize_tdc(spec):
    normalized, problems = _normalize_tdc(spec)
    if problems:
        raise TableauXmlError(problems, _tdc_subject(spec))
    return normalized


def _validate_normalized_tdc(spec):
    errors, warnings = [], []
    if spec["class"] is None:
        errors.append("class: required")
    elif not _SAFE_CLASS.match(spec["class"]):
        errors.append(f"class: only letters, digits, '_', '.', '-' allowed (got {_quote(spec['class'])})")
    if spec["version"] is not None and not re.match(r"^[0-9]+(\.[0-9]+)*$", spec["version"]):
        errors.append(f"version: must look like 10.0 (got {_quote(spec['version'])})")
    for name in sorted(spec["customizations"]):
        if not _SAFE_CLASS.match(name):
            errors.append(f"customizations.{name}: names are letters, digits, '_', '.', '-'")
    if spec["class"] in BUILTIN_CONNECTOR_CLASSES:
        for field in ("vendor", "driver"):
            if spec[field] != spec["class"]:
                warnings.append(
                    f"{field}: {_quote(spec[field])} differs from class {_quote(spec['class'])}; "
                    "built-in connectors use the class name, so Tableau may not apply this TDC"
                )
    return errors, warnings


def validate_tdc(spec):
    """(errors, warnings) for a TDC spec or parsed TDC document."""
    normalized, problems = _normalize_tdc(spec)
    errors, warnings = _validate_normalized_tdc(normalized)
    return problems + errors, warnings


def render_tdc(spec, managed_comment=None):
    normalized, problems = _normalize_tdc(spec)
    errors, _warnings = _validate_normalized_tdc(normalized)
    subject = _tdc_subject(normalized if normalized.get("class") else spec)
    if problems or errors:
        raise TableauXmlError(problems + errors, subject)
    attributes = " ".join(
        f"{name}='{_escape_attribute(value)}'"
        for name, value in (
            ("class", normalized["class"]),
            ("enabled", "true" if normalized["enabled"] else "false"),
            ("version", normalized["version"]),
        )
    )
    lines = [f"<{TDC_ROOT} {attributes}>"]
    lines.append(f"  <vendor name='{_escape_attribute(normalized['vendor'])}' />")
    lines.append(f"  <driver name='{_escape_attribute(normalized['driver'])}' />")
    if normalized["customizations"]:
        lines.append("  <customizations>")
        for name in sorted(normalized["customizations"]):
            value = normalized["customizations"][name]
            lines.append(f"    <customization name='{_escape_attribute(name)}' value='{_escape_attribute(value)}' />")
        lines.append("  </customizations>")
    else:
        lines.append("  <customizations />")
    lines.append(f"</{TDC_ROOT}>")
    comment = _comment(_comment_checked(managed_comment, subject))
    text = "<?xml version='1.0' encoding='utf-8' ?>\n" + comment + "\n".join(lines) + "\n"
    if len(text.encode("utf-8")) > MAX_DOCUMENT_BYTES:
        raise TableauXmlError(f"document: larger than {MAX_DOCUMENT_BYTES} bytes", subject)
    return text


# --------------------------------------------------------------------------------------------------------------------
# safe parsing


def _as_bytes(xml_text):
    if isinstance(xml_text, bytes):
        data = xml_text
    elif isinstance(xml_text, str):
        try:
            data = xml_text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise TableauXmlError(f"document: not valid Unicode text (position {error.start})") from None
    else:
        raise TableauXmlError(f"document: must be XML text (got {type(xml_text).__name__})")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise UnsafeXmlError(f"document: {len(data)} bytes, more than the {MAX_DOCUMENT_BYTES} bytes accepted")
    if isinstance(xml_text, str) and data.startswith(b"<?xml"):
        # The text is already decoded: make the declaration agree with the UTF-8 bytes handed to expat.
        end = data.find(b"?>")
        if end > 0:
            data = re.sub(rb"""encoding\s*=\s*["'][^"']*["']""", b'encoding="UTF-8"', data[:end], count=1) + data[end:]
    return data


def _refuse(what):
    def handler(*_args):
        raise UnsafeXmlError(f"document: {what} refused (DTDs and entities are not allowed)")

    return handler


def _parse_with_expat(data):
    """Build an Element tree with bare expat, refusing DTDs, entity declarations and external entities."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse("DOCTYPE declaration")
    parser.EntityDeclHandler = _refuse("entity declaration")
    parser.UnparsedEntityDeclHandler = _refuse("unparsed entity declaration")
    parser.ExternalEntityRefHandler = _refuse("external entity reference")
    parser.SkippedEntityHandler = _refuse("undeclared entity reference")
    parser.buffer_text = True
    stack, roots = [], []

    def start(tag, attributes):
        element = Element(tag, attributes)
        if stack:
            stack[-1].append(element)
        else:
            roots.append(element)
        stack.append(element)

    def end(_tag):
        stack.pop()

    def characters(text):
        current = stack[-1]
        if len(current):
            last = current[-1]
            last.tail = (last.tail or "") + text
        else:
            current.text = (current.text or "") + text

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise TableauXmlError(
            f"document: not well-formed XML (line {error.lineno}, column {error.offset}): "
            f"{expat.ErrorString(error.code)}"
        ) from None
    return roots[0]


def _parse_with_defusedxml(data):
    try:
        return _defused_et.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden:
        raise UnsafeXmlError("document: DOCTYPE declaration refused (DTDs and entities are not allowed)") from None
    except defusedxml.EntitiesForbidden:
        raise UnsafeXmlError("document: entity declaration refused (DTDs and entities are not allowed)") from None
    except defusedxml.ExternalReferenceForbidden:
        raise UnsafeXmlError(
            "document: external entity reference refused (DTDs and entities are not allowed)"
        ) from None
    except defusedxml.DefusedXmlException as error:
        raise UnsafeXmlError(f"document: refused ({type(error).__name__})") from None
    except SyntaxError as error:  # xml.etree.ElementTree.ParseError
        line, column = getattr(error, "position", (None, None))
        message = str(error).split(":", maxsplit=1)[0]
        raise TableauXmlError(f"document: not well-formed XML (line {line}, column {column}): {message}") from None


def safe_fromstring(xml_text):
    """Parse untrusted XML text (str or bytes) into an Element; raise UnsafeXmlError or TableauXmlError."""
    data = _as_bytes(xml_text)
    if HAS_DEFUSEDXML:
        return _parse_with_defusedxml(data)
    return _parse_with_expat(data)


def document_kind(xml_text):
    """'oauth_config' or 'tdc', from the root element."""
    return _kind_of(safe_fromstring(xml_text))


def _kind_of(root):
    if root.tag == OAUTH_ROOT:
        return "oauth_config"
    if root.tag == TDC_ROOT:
        return "tdc"
    raise TableauXmlError(f"document: root element <{root.tag}> is neither <{OAUTH_ROOT}> nor <{TDC_ROOT}>")


def _element_text(element):
    return (element.text or "").strip()


def _stray_text(element):
    """Non-whitespace text directly inside an element-only container (the XSD does not allow mixed content)."""
    return bool((element.text or "").strip()) or any((child.tail or "").strip() for child in element)


def _read_oauth_tree(root):
    """Return (config, lossy problems, schema problems). Lossy ones lose information the dict cannot hold."""
    config = _empty_oauth_config()
    lossy, schema = [], []
    counts = {}
    highest_position, highest_element = -1, None
    if root.attrib:
        schema.append(f"{OAUTH_ROOT}: attributes are not allowed ({', '.join(sorted(root.attrib))})")
    if _stray_text(root):
        schema.append(f"{OAUTH_ROOT}: text outside elements is not allowed")
    for child in root:
        row = _ELEMENT_FIELD.get(child.tag)
        if row is None:
            lossy.append(f"{child.tag}: unknown element")
            continue
        field, element, kind, _low, high = row
        counts[element] = counts.get(element, 0) + 1
        position = _ELEMENT_POSITION[element]
        if position < highest_position:
            schema.append(f"{field}: <{element}> must come before <{highest_element}> (schema order)")
        elif position > highest_position:
            highest_position, highest_element = position, element
        if child.attrib:
            schema.append(f"{field}: attributes are not allowed on <{element}>")
        if kind == _MAP:
            if high is not None and counts[element] > high:
                continue
            entries, entry_lossy, entry_schema = _read_entries(field, child)
            lossy.extend(entry_lossy)
            schema.extend(entry_schema)
            if field == "capabilities":
                entries = {
                    key: (_to_bool(value) if _to_bool(value) is not None else value) for key, value in entries.items()
                }
            config[field] = entries
            continue
        if len(child):
            lossy.append(f"{field}: <{element}> must hold text, not elements")
            continue
        text = _element_text(child)
        if kind == _LIST:
            if text:
                config[field].append(text)
            else:
                schema.append(f"{field}: empty <{element}>")
        elif high is None or counts[element] <= high:
            config[field] = text or None
    for field, element, _kind, low, high in OAUTH_SCHEMA:
        count = counts.get(element, 0)
        if count < low:
            schema.append(f"{field}: <{element}> is required")
        if high is not None and count > high:
            lossy.append(f"{field}: <{element}> appears {count} times, at most {high} allowed")
    return config, lossy, schema


def _read_entries(field, container):
    entries, lossy, schema = {}, [], []
    if _stray_text(container):
        schema.append(f"{field}: text outside <entry> elements is not allowed")
    for index, entry in enumerate(container):
        tags = [item.tag for item in entry]
        if entry.tag != "entry" or tags != ["key", "value"] or any(len(item) for item in entry):
            lossy.append(f"{field}: item {index + 1} must be <entry><key>..</key><value>..</value></entry>")
            continue
        key, value = _element_text(entry[0]), _element_text(entry[1])
        if not key:
            lossy.append(f"{field}: entry {index + 1} has an empty <key>")
            continue
        if key in entries:
            lossy.append(f"{field}.{key}: duplicated entry")
            continue
        entries[key] = value
    return entries, lossy, schema


def _root_of_kind(xml_text, kind):
    root = safe_fromstring(xml_text)
    actual = _kind_of(root)
    if actual != kind:
        raise TableauXmlError(f"document: expected a {kind} document, found <{root.tag}>")
    return root


def parse_oauth_config(xml_text):
    """Read a ``pluginOAuthConfig`` document into the normalized dict shape (reading is not validating).

    Schema order and missing elements are tolerated (``validate_document`` reports them); duplicated single
    elements, duplicated entries and unknown elements raise TableauXmlError, since the dict cannot hold them.
    """
    config, lossy, _schema = _read_oauth_tree(_root_of_kind(xml_text, "oauth_config"))
    if lossy:
        raise TableauXmlError(lossy, _config_subject(config))
    return config


def _read_tdc_tree(root):
    spec = {"class": None, "vendor": None, "driver": None, "version": None, "enabled": None, "customizations": {}}
    lossy, schema = [], []
    for name in ("class", "version"):
        value = (root.get(name) or "").strip()
        spec[name] = value or None
    enabled = root.get("enabled")
    if enabled is not None:
        flag = _to_bool(enabled)
        spec["enabled"] = enabled.strip() if flag is None else flag
    extra = sorted(set(root.attrib) - {"class", "version", "enabled"})
    if extra:
        schema.append(f"{TDC_ROOT}: unexpected attributes {', '.join(extra)}")
    if _stray_text(root):
        schema.append(f"{TDC_ROOT}: text outside elements is not allowed")
    seen = set()
    for child in root:
        if child.tag in ("vendor", "driver"):
            if child.tag in seen:
                lossy.append(f"{child.tag}: <{child.tag}> appears more than once")
                continue
            seen.add(child.tag)
            spec[child.tag] = (child.get("name") or "").strip() or None
        elif child.tag == "customizations":
            if child.tag in seen:
                lossy.append("customizations: <customizations> appears more than once")
                continue
            seen.add(child.tag)
            for index, item in enumerate(child):
                name = (item.get("name") or "").strip()
                if item.tag != "customization" or not name or item.get("value") is None:
                    lossy.append(f"customizations: item {index + 1} must be <customization name=.. value=.. />")
                    continue
                if name in spec["customizations"]:
                    lossy.append(f"customizations.{name}: duplicated")
                    continue
                spec["customizations"][name] = item.get("value").strip()
        else:
            lossy.append(f"{child.tag}: unknown element")
    return spec, lossy, schema


def parse_tdc(xml_text):
    """Read a ``connection-customization`` document into the TDC dict shape (missing parts are None)."""
    spec, lossy, _schema = _read_tdc_tree(_root_of_kind(xml_text, "tdc"))
    if lossy:
        raise TableauXmlError(lossy, _tdc_subject(spec))
    return spec


def schema_problems(xml_text):
    """Structure problems the SDK's XSD (OAuth config) or the TDC layout would reject: order, counts, unknown parts."""
    root = safe_fromstring(xml_text)
    if _kind_of(root) == "oauth_config":
        _config, lossy, schema = _read_oauth_tree(root)
    else:
        _spec, lossy, schema = _read_tdc_tree(root)
    return lossy + schema


def validate_document(xml_text):
    """(errors, warnings) for a document read from disk: schema structure plus every rule of its kind."""
    root = safe_fromstring(xml_text)
    if _kind_of(root) == "oauth_config":
        config, lossy, schema = _read_oauth_tree(root)
        return lossy + schema + validate_oauth_config(config), []
    spec, lossy, schema = _read_tdc_tree(root)
    errors, warnings = validate_tdc(spec)
    return lossy + schema + errors, warnings


# --------------------------------------------------------------------------------------------------------------------
# semantic diff


def _diff_value(path, expected, actual, differences):
    if expected != actual:
        differences.append({"path": path, "expected": expected, "actual": actual})


def _diff_maps(field, expected, actual, differences):
    for key in sorted(set(expected) | set(actual)):
        _diff_value(f"{field}.{key}", expected.get(key), actual.get(key), differences)


def diff_documents(expected_text, actual_text):
    """Differences in meaning between two documents of the same kind: [{"path", "expected", "actual"}].

    Whitespace, comments, the XML declaration, attribute order and quoting, and the order of capabilities,
    response-map entries, scopes, redirect URIs, required attributes and TDC customizations do not count.
    Secret fields that differ are reported with REDACTED on both sides. Schema problems (element order,
    duplicates, unknown elements) that only one side has are reported under the path "schema".
    """
    expected_root = safe_fromstring(expected_text)
    actual_root = safe_fromstring(actual_text)
    kind = _kind_of(expected_root)
    if _kind_of(actual_root) != kind:
        raise TableauXmlError(f"document: cannot compare <{expected_root.tag}> with <{actual_root.tag}>")
    differences = []
    if kind == "oauth_config":
        expected, expected_lossy, expected_schema = _read_oauth_tree(expected_root)
        actual, actual_lossy, actual_schema = _read_oauth_tree(actual_root)
        for field, _element, field_kind, _low, _high in OAUTH_SCHEMA:
            if field_kind == _MAP:
                _diff_maps(field, expected[field], actual[field], differences)
            elif field_kind == _LIST:
                _diff_value(field, sorted(expected[field]), sorted(actual[field]), differences)
            elif field in SECRET_FIELDS:
                if expected[field] != actual[field]:
                    differences.append({"path": field, "expected": REDACTED, "actual": REDACTED})
            else:
                _diff_value(field, expected[field], actual[field], differences)
    else:
        expected, expected_lossy, expected_schema = _read_tdc_tree(expected_root)
        actual, actual_lossy, actual_schema = _read_tdc_tree(actual_root)
        for field in ("class", "vendor", "driver", "version", "enabled"):
            _diff_value(field, expected[field], actual[field], differences)
        _diff_maps("customizations", expected["customizations"], actual["customizations"], differences)
    expected_structure = sorted(expected_lossy + expected_schema)
    actual_structure = sorted(actual_lossy + actual_schema)
    _diff_value("schema", expected_structure, actual_structure, differences)
    return differences
