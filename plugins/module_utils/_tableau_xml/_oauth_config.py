# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""OAuth config (``pluginOAuthConfig``) documents: normalize, validate, render, parse."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._secrets import REDACTED
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._errors import (
    TableauXmlError,
    raise_problems,
    without_problems,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._idp_presets import (
    _ALL_LOCATION_INPUTS,
    _PRESET_INPUTS,
    IDP_PRESETS,
    audience_problems,
    preset_defaults,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._oauth_schema import (
    _ELEMENT_FIELD,
    _ELEMENT_POSITION,
    _FIELD_KIND,
    _LIST,
    _MAP,
    _SCALAR,
    CAP_CUSTOM_DOMAIN,
    CAP_FIXED_PORT,
    CAP_LOOPBACK_HTTP,
    CAP_PKCE,
    CAP_PKCE_METHOD,
    CAP_SINGLE_USE_REFRESH,
    KNOWN_CAPABILITIES,
    MAX_CONFIG_ID_LENGTH,
    OAUTH_SCHEMA,
    REQUIRED_ACCESS_TOKEN_MAPS,
    SECRET_FIELDS,
    _config_subject,
    _empty_oauth_config,
    secret_problems,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._safe_parse import (
    MAX_DOCUMENT_BYTES,
    OAUTH_ROOT,
    _element_text,
    _root_of_kind,
    _stray_text,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._text import (
    _SAFE_CLASS,
    _comment,
    _comment_checked,
    _escape_text,
    _norm_list,
    _norm_map,
    _norm_scalar,
    _quote,
    _to_bool,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._urls import (
    _WHITESPACE,
    _https_problem,
)

_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
_SAFE_LABEL = re.compile(r"^[A-Za-z0-9_ -]+$")
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")

# --------------------------------------------------------------------------------------------------------------------
# normalize and validate


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


def _norm_secret(field, value, problems):
    """A secret field: shape checks only (see secret_problems), and the value never appears in a message."""
    if value is None:
        return None
    found = secret_problems(field, value)
    problems.extend(found)
    return None if found else value.strip()


def _normalize_oauth(config):
    """Return (normalized config, problems found while normalizing)."""
    problems = []
    if not isinstance(config, dict):
        return _empty_oauth_config(), [f"config: must be a mapping (got {type(config).__name__})"]
    unknown = sorted(str(key) for key in config if key not in _FIELD_KIND and key not in _PRESET_INPUTS)
    problems.extend(f"{key}: unknown field" for key in unknown)

    if config.get("access_token_audience") is not None:
        problems.extend(audience_problems("access_token_audience", config["access_token_audience"]))
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
            preset = preset_defaults(idp.strip().lower(), config, problems)
            preset["capabilities"][CAP_FIXED_PORT] = bool(user.get("redirect_uris_desktop"))
    else:
        for name in _ALL_LOCATION_INPUTS:
            value = config.get(name)
            if value is not None and not (isinstance(value, str) and not value.strip()):
                problems.append(f"{name}: only read by an idp preset; set idp ({', '.join(sorted(IDP_PRESETS))})")

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
        elif field in SECRET_FIELDS:
            result[field] = _norm_secret(field, user.get(field), problems)
        elif field in user or field in preset:
            result[field] = _norm_scalar(field, value, problems)
    if result["dbclass"] is None:
        result["dbclass"] = "redshift"
    return result, problems


def normalize_oauth_config(config):
    """Apply the IdP preset, fill defaults and expand ``redirect_ports``; raise TableauXmlError on malformed input."""
    return without_problems(*_normalize_oauth(config), _config_subject(config))


def redact_oauth_config(config):
    """Copy of a config with every secret value replaced by REDACTED (for reports and logs)."""
    redacted = dict(config)
    for field in SECRET_FIELDS:
        if redacted.get(field) is not None:
            redacted[field] = REDACTED
    return redacted


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
# render


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
    raise_problems(problems, subject)
    text = _render_oauth_normalized(normalized, _comment_checked(managed_comment, subject))
    size = len(text.encode("utf-8"))
    if size > MAX_DOCUMENT_BYTES:
        raise TableauXmlError(f"document: {size} bytes rendered, Tableau loads at most {MAX_DOCUMENT_BYTES}", subject)
    return text


# --------------------------------------------------------------------------------------------------------------------
# parse


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


def parse_oauth_config(xml_text):
    """Read a ``pluginOAuthConfig`` document into the normalized dict shape (reading is not validating).

    Schema order and missing elements are tolerated (``validate_document`` reports them); duplicated single
    elements, duplicated entries and unknown elements raise TableauXmlError, since the dict cannot hold them.
    """
    config, lossy, _schema = _read_oauth_tree(_root_of_kind(xml_text, "oauth_config"))
    raise_problems(lossy, _config_subject(config))
    return config
