# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""IdP presets (okta, entra, ping, keycloak, generic): endpoints, scopes, capabilities and response maps.

``idp_base_url`` is read the way admins copy it from their IdP's console: an Okta issuer URL, an Entra authority
URL, a Keycloak realm URL, a PingFederate base URL or a PingOne issuer URL is recognized (the authorization server,
tenant, realm or environment is taken from it); an endpoint or discovery-document URL, an admin console URL, a query
string or plain http is refused with a message saying exactly what to put there. Host names are written in lower
case; percent-escaped path segments are decoded, or refused when they decode to characters a preset cannot carry.
The endpoint shapes are in docs/sources.md ("IdP endpoints").
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._errors import TabopsError
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._oauth_schema import (
    CAP_PKCE,
    CAP_PKCE_METHOD,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._text import _quote
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._urls import (
    _NOT_URL_CHARS,
    _SAFE_PATH_SEGMENT,
    _WHITESPACE,
    _valid_hostname,
    repeated_adjacent_segments,
    repeated_segment_pairs,
)

# Inputs that only steer normalization; they never appear in the normalized shape. access_token_audience is not
# rendered either: it tells the IAM side which aud the config's ACCESS tokens carry (access_token_audience()).
_PRESET_INPUTS = ("idp", "idp_base_url", "tenant", "realm", "auth_server", "redirect_ports", "access_token_audience")
# The inputs that say where the IdP is, per preset (any other one given is a mistake worth reporting).
LOCATION_INPUTS = {
    "okta": ("idp_base_url", "auth_server"),
    "entra": ("idp_base_url", "tenant"),
    "ping": ("idp_base_url",),
    "keycloak": ("idp_base_url", "realm"),
    "generic": (),
}
_ALL_LOCATION_INPUTS = ("idp_base_url", "auth_server", "tenant", "realm")

# A directory id (GUID) or a domain name whose last label starts with a letter (so '/v2.0' is never a tenant).
_TENANT_GUID = re.compile(r"^[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$")
_TENANT_DOMAIN = re.compile(
    r"^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z][A-Za-z0-9-]{0,62}$"
)
_UNSPECIFIED_TENANTS = frozenset({"common", "organizations", "consumers"})
# Microsoft Entra authority hosts: global, US Government, China (21Vianet; login.chinacloudapi.cn is the older China
# host that MSAL and Azure.Identity still use). docs/sources.md, "IdP endpoints".
ENTRA_AUTHORITY_HOSTS = (
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login.partner.microsoftonline.cn",
    "login.chinacloudapi.cn",
)
_OKTA_ADMIN_HOST = re.compile(r"^([a-z0-9-]+)-admin\.(okta|okta-emea|oktapreview)\.com$")
# PingFederate endpoint names end like this (/as/authorization.oauth2, /idp/userinfo.openid, /idp/SSO.saml2) and live
# under these first segments; a base URL ending in one of them would render .../as/as/authorization.oauth2.
_PING_ENDPOINT_SUFFIXES = (".oauth2", ".openid", ".ping", ".saml2", ".wsf")
_PINGFEDERATE_DIRS = ("as", "idp", "sp", "pf", "ext", "pf-ws")
# PingOne (the cloud service): https://auth.pingone.{com,ca,eu,com.au,sg,asia}/{environment id}/as/{authorize,token}.
_PINGONE_HOST = re.compile(r"^auth\.pingone\.(com|ca|eu|com\.au|sg|asia)$")


class _Refused(TabopsError):
    """``idp_base_url`` cannot be used as given; the text says why and what to put there instead."""


def _shown(value):
    """A value quoted whole (URLs in these messages are what the admin copies back)."""
    return _quote(value, limit=400)


def _absent(value):
    return value is None or (isinstance(value, str) and not value.strip())


def _join(origin, segments):
    return origin + "".join("/" + segment for segment in segments)


def _decoded_segment(segment):
    """A path segment with its percent-escapes decoded: (segment, None) when usable, (None, why) when not."""
    if "%" not in segment:
        return segment, None
    decoded = unquote(segment, errors="replace")
    if _SAFE_PATH_SEGMENT.match(decoded) and decoded not in (".", ".."):
        return decoded, None  # e.g. 'b%69' is 'bi': the same name, written as Tableau gets it
    return None, (
        f"decodes to {_shown(decoded)}, which has characters other than letters, digits, '_', '.', '~', '-'; "
        "the presets build endpoint URLs only from such names: rename it (a Keycloak realm, for example), or use "
        "idp: generic with auth_uri and token_uri"
    )


def _location(config, problems, fragment_hint=None):
    """``(origin, path segments)`` of ``idp_base_url``; None when it is absent, False after recording a problem.

    ``fragment_hint(origin, segments, fragment)`` may return the URL to suggest for a URL with a fragment (the
    Keycloak admin console's ``#/realm``).
    """
    raw = config.get("idp_base_url")
    if _absent(raw):
        return None
    if not isinstance(raw, str):
        problems.append(f"idp_base_url: must be a string (got {type(raw).__name__})")
        return False
    shown = _shown(raw)
    text = raw.strip()
    candidate = text if "://" in text else "https://" + text
    parts = urlsplit(candidate)
    if "@" in parts.netloc:  # checked first and never echoed: the part before @ may be a password
        problems.append("idp_base_url: must not contain a user name or password")
        return False
    if _WHITESPACE.search(text):
        problems.append(f"idp_base_url: must not contain spaces (got {shown})")
        return False
    if parts.scheme.lower() == "http":
        fixed = "https://" + candidate.split("://", 1)[1]
        problems.append(f"idp_base_url: must be https, not http (got {shown}); put {_shown(fixed)} there")
        return False
    if parts.scheme.lower() != "https":
        problems.append(f"idp_base_url: must be an https URL such as https://HOST (got {shown})")
        return False
    if parts.query or parts.fragment or "?" in candidate or "#" in candidate:
        fixed = re.split(r"[?#]", candidate, maxsplit=1)[0].rstrip("/")
        hint = None
        if fragment_hint is not None and parts.fragment and parts.hostname and _valid_hostname(parts.hostname):
            hint = fragment_hint(
                f"https://{parts.netloc.lower()}", [s for s in parts.path.split("/") if s], parts.fragment
            )
        if hint is not None:
            problems.append(f"idp_base_url: {shown} {hint}")
            return False
        problems.append(
            f"idp_base_url: must not have a query string or fragment (got {shown}); put {_shown(fixed)} there"
        )
        return False
    host = parts.hostname or ""
    if not host or _NOT_URL_CHARS.search(parts.netloc) or "$" in parts.netloc or not _valid_hostname(host):
        problems.append(
            f"idp_base_url: {_shown(parts.netloc)} is not a valid host name (got {shown}); "
            "replace any placeholder such as ${yourOktaDomain} with your IdP's host"
        )
        return False
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        problems.append(f"idp_base_url: port out of range (got {shown})")
        return False
    segments = parts.path.split("/")[1:] if parts.path else []
    while segments and not segments[-1]:
        segments.pop()  # trailing slashes carry no meaning here
    if "" in segments:
        problems.append(f"idp_base_url: empty path segment ('//') in {shown}")
        return False
    for index, segment in enumerate(segments):
        if segment in (".", ".."):
            problems.append(f"idp_base_url: '.' and '..' path segments are not allowed (got {shown})")
            return False
        if "%" in segment:
            decoded, why = _decoded_segment(segment)
            if why:
                problems.append(f"idp_base_url: path segment {_shown(segment)} {why} (got {shown})")
                return False
            segments[index] = segment = decoded
        if not _SAFE_PATH_SEGMENT.match(segment):
            problems.append(
                f"idp_base_url: path segment {_shown(segment)} may only hold letters, digits, '_', '.', '~', '-' "
                f"(got {shown})"
            )
            return False
    # Host names are case-insensitive: the endpoints get the lower-case spelling (one normalized form).
    return f"https://{parts.netloc.lower()}", segments


def _issuer_of_discovery_url(segments):
    """Issuer path segments of a pasted discovery-document URL, or None when the URL is not one."""
    if ".well-known" not in segments:
        return None
    index = segments.index(".well-known")
    if index == 0 and len(segments) > 2:  # RFC 8414 form: /.well-known/oauth-authorization-server/oauth2/default
        return segments[2:]
    return segments[:index]  # OpenID form: {issuer}/.well-known/openid-configuration


def _read_location(config, interpret, problems, fragment_hint=None, missing=None):
    """Run a preset's URL reader on ``idp_base_url``; (base, value from the URL), None if absent, False if refused.

    ``missing``: the problem when ``idp_base_url`` is absent and the preset needs it.
    """
    location = _location(config, problems, fragment_hint)
    if location is None and missing:
        problems.append(missing)
    if not location:
        return location
    origin, segments = location
    shown = _shown(config["idp_base_url"])
    issuer = _issuer_of_discovery_url(segments)
    try:
        if issuer is not None:
            try:
                interpret(origin, issuer)
            except _Refused as refused:
                raise _Refused(f"is a discovery document URL, and the URL before /.well-known/ {refused}") from None
            raise _Refused(f"is a discovery document URL, not the issuer; put {_shown(_join(origin, issuer))} there")
        return interpret(origin, segments)
    except _Refused as refused:
        problems.append(f"idp_base_url: {shown} {refused}")
        return False


# The problem when a preset that needs idp_base_url does not get it.
_BASE_URL_MISSING = {
    "okta": "idp_base_url: required by idp preset 'okta' (the Okta domain, https://acme.okta.com, or the "
    "issuer URL of the authorization server, https://acme.okta.com/oauth2/default)",
    "ping": "idp_base_url: required by idp preset 'ping' (PingFederate's base URL, https://HOST[:PORT], or the "
    "PingOne issuer https://auth.pingone.com/<environment id>/as)",
    "keycloak": "idp_base_url: required by idp preset 'keycloak' (the realm URL https://HOST/realms/<realm>, "
    "or https://HOST with realm)",
}


def _located_segment(config, name, idp, location, problems):
    """(base URL, ``name`` as given or None, ``name`` read from the URL or None) for a preset whose endpoints need one
    path segment (okta's auth_server, keycloak's realm); None when the segment or ``location`` cannot be used."""
    explicit = None
    if config.get(name) is not None:
        explicit = _segment_input(config, name, idp, problems)
        if explicit is None:
            return None
    if not location:
        return None
    base, from_url = location
    return base, explicit, from_url


def _segment_input(config, name, idp, problems, default=None):
    """A location input that is one URL path segment (auth_server, realm)."""
    raw = config.get(name, default)
    if _absent(raw):
        problems.append(f"{name}: required by idp preset {_shown(idp)}")
        return None
    if isinstance(raw, str) and "%" in raw:
        decoded, why = _decoded_segment(raw.strip())
        if why:
            problems.append(f"{name}: {_shown(raw)} {why}")
            return None
        raw = decoded
    if not isinstance(raw, str) or not _SAFE_PATH_SEGMENT.match(raw.strip()) or raw.strip() in (".", ".."):
        problems.append(
            f"{name}: must be one URL path segment of letters, digits, '_', '.', '~', '-' (got {_shown(raw)})"
        )
        return None
    return raw.strip()


def _agree(config, name, explicit, from_url, problems, same=lambda a, b: a == b):
    """The value of an input given both explicitly and inside idp_base_url; a conflict is a problem naming both."""
    if explicit is None or from_url is None or same(explicit, from_url):
        return explicit if explicit is not None else from_url
    problems.append(
        f"{name}: {_shown(explicit)} conflicts with {_shown(from_url)} in idp_base_url "
        f"{_shown(config['idp_base_url'])}; give one of them, or make them agree"
    )
    return None


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


# --------------------------------------------------------------------------------------------------------------------
# okta: custom authorization server, https://{domain}/oauth2/{authorizationServerId}/v1/{authorize,token,userinfo}


def _okta_location(origin, segments):
    parts = urlsplit(origin)
    host = parts.hostname
    admin = _OKTA_ADMIN_HOST.match(host)
    if admin:
        # Rebuilt from the parsed (lower-case) host, never by replacing text in origin: the sign-in origin can
        # never match the admin pattern again, so this recursion is one level deep.
        port = f":{parts.port}" if parts.port is not None else ""
        sign_in = f"https://{admin.group(1)}.{admin.group(2)}.com{port}"
        try:
            _okta_location(sign_in, segments)
            fixed = _join(sign_in, segments)
        except _Refused:  # the path is the console's own page, not an issuer
            fixed = sign_in
        raise _Refused(
            f"is the Okta Admin Console's domain, which serves no sign-in endpoints; put {_shown(fixed)} there"
        )
    if not segments:
        return origin, None
    if segments[0] != "oauth2":
        raise _Refused(
            f"has a path Okta serves no authorization server under; put the Okta domain {_shown(origin)} or an "
            f"issuer URL {_shown(origin + '/oauth2/default')} (your authorization server's id instead of default) there"
        )
    if len(segments) == 1:
        raise _Refused(
            f"ends at /oauth2 without an authorization server; put {_shown(origin + '/oauth2/default')} "
            "(or your authorization server's id instead of default) there"
        )
    server = segments[1]
    if server == "v1":
        raise _Refused(
            "is the org authorization server's endpoint; the okta preset uses a custom authorization server, as "
            f"Tableau recommends: put {_shown(origin + '/oauth2/default')} (or your authorization server's id "
            "instead of default) there, or use idp: generic with auth_uri and token_uri for the org server"
        )
    if len(segments) == 2:
        return origin, server
    raise _Refused(
        f"is an endpoint of authorization server {_shown(server)}, not its issuer; "
        f"put {_shown(_join(origin, segments[:2]))} there"
    )


def _preset_okta(config, problems):
    defaults = _desktop_defaults("preferred_username")
    location = _read_location(config, _okta_location, problems, missing=_BASE_URL_MISSING["okta"])
    found = _located_segment(config, "auth_server", "okta", location, problems)
    if found is None:
        return defaults
    base, explicit, from_url = found
    server = _agree(config, "auth_server", explicit, from_url, problems) if explicit or from_url else "default"
    if server:
        prefix = f"{base}/oauth2/{server}/v1"
        defaults.update(auth_uri=f"{prefix}/authorize", token_uri=f"{prefix}/token", userinfo_uri=f"{prefix}/userinfo")
    return defaults


# --------------------------------------------------------------------------------------------------------------------
# entra: v2.0 endpoints, https://login.microsoftonline.com/{tenant}/oauth2/v2.0/{authorize,token}


def _tenant_problem(field, tenant):
    if not isinstance(tenant, str) or not (_TENANT_GUID.match(tenant.strip()) or _TENANT_DOMAIN.match(tenant.strip())):
        return f"{field}: must be a directory id (GUID) or domain name (got {_shown(tenant)})"
    if tenant.strip().lower() in _UNSPECIFIED_TENANTS:
        return f"{field}: {_shown(tenant.strip())} is multi-tenant; give the tenant-specific directory id or domain"
    return None


def _entra_location(origin, segments):
    parts = urlsplit(origin)
    host = parts.hostname
    if host == "sts.windows.net":
        found = segments[0] if segments and _TENANT_GUID.match(segments[0]) else None
        if found:
            raise _Refused(
                f"is the v1.0 token issuer of tenant {_shown(found)}; put "
                f"{_shown(f'https://login.microsoftonline.com/{found}/v2.0')} there, or leave idp_base_url out and "
                f"set tenant: {found}"
            )
        raise _Refused(
            "is the v1.0 token issuer; put 'https://login.microsoftonline.com/<tenant>/v2.0' there, "
            "or leave idp_base_url out and set tenant"
        )
    if host not in ENTRA_AUTHORITY_HOSTS:
        raise _Refused(
            "is not a Microsoft Entra authority; put 'https://login.microsoftonline.com/<tenant>/v2.0' there "
            f"(national clouds: {', '.join(ENTRA_AUTHORITY_HOSTS[1:])}), or leave idp_base_url out and set tenant"
        )
    origin = f"https://{host}"
    if parts.port is not None:
        raise _Refused(f"has a port, which the Entra authority does not; put {_shown(_join(origin, segments))} there")
    if not segments:
        return origin, None
    tenant, rest = segments[0], segments[1:]
    if tenant in ("v2.0", "oauth2"):
        raise _Refused(
            f"has no tenant before /{tenant}; put {_shown(origin + '/<tenant>/v2.0')} there (your directory id or "
            "domain), or leave idp_base_url out and set tenant"
        )
    problem = _tenant_problem("tenant", tenant)
    if problem:
        raise _Refused(f"names no single tenant ({problem})")
    authority = f"{origin}/{tenant}/v2.0"
    if rest in ([], ["v2.0"], ["oauth2", "v2.0"]):
        return origin, tenant
    if rest[:2] == ["oauth2", "v2.0"]:
        raise _Refused(
            f"is the {_shown(rest[2])} endpoint, not the authority; put {_shown(authority)} there "
            f"(or leave idp_base_url out and set tenant: {tenant})"
        )
    if rest[:1] == ["oauth2"]:
        raise _Refused(f"is a v1.0 endpoint; the entra preset uses the v2.0 endpoints: put {_shown(authority)} there")
    raise _Refused(f"is not an OAuth 2.0 authority URL; put {_shown(authority)} there")


def _preset_entra(config, problems):
    defaults = _desktop_defaults("preferred_username")
    defaults["capabilities"]["OAUTH_CAP_REQUIRES_PROMPT_SELECT_ACCOUNT"] = True
    location = _read_location(config, _entra_location, problems)
    if location is False:
        return defaults
    origin, from_url = location or ("https://" + ENTRA_AUTHORITY_HOSTS[0], None)
    explicit = config.get("tenant")
    if _absent(explicit):
        if from_url is None:
            problems.append(
                "tenant: required by idp preset 'entra' (directory id or verified domain; or give the authority "
                "URL https://login.microsoftonline.com/<tenant>/v2.0 as idp_base_url)"
            )
            return defaults
        explicit = None
    else:
        problem = _tenant_problem("tenant", explicit)
        if problem:
            problems.append(problem)
            return defaults
        explicit = explicit.strip()
    tenant = _agree(config, "tenant", explicit, from_url, problems, same=lambda a, b: a.lower() == b.lower())
    if tenant:
        prefix = f"{origin}/{tenant}/oauth2/v2.0"
        defaults.update(auth_uri=f"{prefix}/authorize", token_uri=f"{prefix}/token")
    return defaults


# --------------------------------------------------------------------------------------------------------------------
# ping: PingFederate, {base}/as/authorization.oauth2, /as/token.oauth2, /idp/userinfo.openid; PingOne (the cloud
# service), https://auth.pingone.{tld}/{environment id}/as/authorize, /as/token, /as/userinfo


def _pingone_location(origin, segments):
    issuer_example = _shown(origin + "/<environment id>/as")
    if not segments:
        raise _Refused(f"has no PingOne environment id; put {issuer_example} there (the issuer of your environment)")
    environment, rest = segments[0], segments[1:]
    if not _TENANT_GUID.match(environment):
        raise _Refused(
            f"has {_shown(environment)} where PingOne's environment id (a GUID) goes; put {issuer_example} there"
        )
    issuer = f"{origin}/{environment}/as"
    if rest in ([], ["as"]):
        return issuer, "pingone"
    raise _Refused(f"is not the issuer of PingOne environment {_shown(environment)}; put {_shown(issuer)} there")


def _ping_location(origin, segments):
    if _PINGONE_HOST.match(urlsplit(origin).hostname):
        return _pingone_location(origin, segments)
    if len(segments) >= 2 and segments[-1] == "as" and _TENANT_GUID.match(segments[-2]):
        raise _Refused(
            "looks like a PingOne issuer on a custom domain; the ping preset knows PingOne under "
            "auth.pingone.{com,ca,eu,com.au,sg,asia} only: use idp: generic with auth_uri "
            f"{_shown(_join(origin, segments) + '/authorize')} and token_uri {_shown(_join(origin, segments) + '/token')}"
        )
    for index, segment in enumerate(segments):
        base = _shown(_join(origin, segments[:index]))
        if index == len(segments) - 1 and segment in _PINGFEDERATE_DIRS:
            raise _Refused(
                f"ends in /{segment}, which the ping preset appends itself (/as/authorization.oauth2, "
                f"/idp/userinfo.openid); put {base} there"
            )
        if segment in _PINGFEDERATE_DIRS or segment.endswith(_PING_ENDPOINT_SUFFIXES):
            raise _Refused(f"is a PingFederate endpoint, not the server's base URL; put {base} there")
    return _join(origin, segments), "pingfederate"


def _preset_ping(config, problems):
    # PingFederate's and PingOne's default ID token always carries sub; map another claim by overriding the map.
    defaults = _desktop_defaults("sub")
    location = _read_location(config, _ping_location, problems, missing=_BASE_URL_MISSING["ping"])
    if location and location[1] == "pingone":
        issuer = location[0]
        defaults.update(auth_uri=f"{issuer}/authorize", token_uri=f"{issuer}/token", userinfo_uri=f"{issuer}/userinfo")
    elif location:
        base = location[0]
        defaults.update(
            auth_uri=f"{base}/as/authorization.oauth2",
            token_uri=f"{base}/as/token.oauth2",
            userinfo_uri=f"{base}/idp/userinfo.openid",
        )
    return defaults


# --------------------------------------------------------------------------------------------------------------------
# keycloak: {base}/realms/{realm}/protocol/openid-connect/{auth,token,userinfo}; base has /auth before Keycloak 17


def _keycloak_location(origin, segments):
    # /admin/... is the admin console or API (/admin/realms/{realm} included), never a realm URL.
    if "admin" in segments and ("realms" not in segments or segments.index("admin") < segments.index("realms")):
        index = segments.index("admin")
        base = _join(origin, segments[:index])
        rest = segments[index + 1 :]
        if rest[:1] == ["realms"] and len(rest) > 1:  # the admin REST API: /admin/realms/{realm}/...
            raise _Refused(
                f"is an admin API URL of realm {_shown(rest[1])}; put {_shown(f'{base}/realms/{rest[1]}')} there"
            )
        raise _Refused(f"is not a realm URL; put {_shown(base + '/realms/<realm>')} there (your realm's name)")
    if "realms" in segments:
        index = segments.index("realms")
        base = _join(origin, segments[:index])
        if index == len(segments) - 1:
            raise _Refused(f"ends at /realms without a realm; put {_shown(base + '/realms/<realm>')} there")
        realm = segments[index + 1]
        if index + 2 == len(segments):
            return base, realm
        raise _Refused(
            f"is a URL inside realm {_shown(realm)}, not the realm URL; put {_shown(f'{base}/realms/{realm}')} there"
        )
    if "protocol" in segments:
        base = _join(origin, segments[: segments.index("protocol")])
        raise _Refused(f"is not a realm URL; put {_shown(base + '/realms/<realm>')} there (your realm's name)")
    return _join(origin, segments), None


def _keycloak_console_hint(origin, segments, fragment):
    """The realm URL for a pasted admin console URL, /admin/{admin realm}/console/#/{realm}[/...]."""
    if "admin" not in segments:
        return None
    base = _join(origin, segments[: segments.index("admin")])
    parts = [part for part in fragment.split("/") if part]
    if parts[:1] == ["realms"]:  # the console before Keycloak 19: #/realms/{realm}
        parts = parts[1:]
    realm = _decoded_segment(parts[0])[0] if parts else None
    if realm is None or not _SAFE_PATH_SEGMENT.match(realm):
        return f"is the Keycloak admin console, not a realm URL; put {_shown(base + '/realms/<realm>')} there"
    return f"is the Keycloak admin console (realm {_shown(realm)}), not a realm URL; put {_shown(f'{base}/realms/{realm}')} there"


def _preset_keycloak(config, problems):
    defaults = _desktop_defaults("preferred_username")
    location = _read_location(
        config, _keycloak_location, problems, _keycloak_console_hint, missing=_BASE_URL_MISSING["keycloak"]
    )
    found = _located_segment(config, "realm", "keycloak", location, problems)
    if found is None:
        return defaults
    base, explicit, from_url = found
    if explicit is None and from_url is None:
        problems.append(
            "realm: required by idp preset 'keycloak' (or give the realm URL https://HOST/realms/<realm> "
            "as idp_base_url)"
        )
        return defaults
    realm = _agree(config, "realm", explicit, from_url, problems)
    if realm:
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
# The aud of the ACCESS token each preset's IdP issues (Tableau federates it instead of the ID token when a TDC sets
# CAP_OAUTH_FEDERATE_ACCESS_TOKEN). Only Okta documents a value the collection can know: a custom authorization
# server's Audience setting, api://default for the pre-made "default" server. The others put there what the admin
# configured (Entra: the API the requested scope names; Ping: the access token manager or resource; Keycloak: what
# audience mappers add), so access_token_audience must be declared. docs/sources.md, "Token audiences".

OKTA_DEFAULT_SERVER = "default"
OKTA_DEFAULT_SERVER_AUDIENCE = "api://default"
# IAM's limit for an OIDC provider's client id (audience).
MAX_AUDIENCE_LENGTH = 255
_UNDECLARED_ACCESS_AUDIENCE = {
    "entra": (
        "Entra ID access tokens carry the audience of the API the requested scope names (a v2.0 token: that API's "
        "application id; with only openid/profile/email/offline_access scopes a Microsoft Graph token, which AWS "
        "cannot verify)"
    ),
    "ping": (
        "PingFederate and PingOne access tokens carry the audience their access token manager or resource is "
        "configured with"
    ),
    "keycloak": (
        "Keycloak puts in an access token's aud only what audience mappers add (the client itself is azp, not aud)"
    ),
    "generic": "the generic preset knows nothing of the IdP's access tokens",
    None: "a config without an idp preset says nothing of the IdP's access tokens",
}


def audience_problems(field, value):
    """Problems of a declared token audience (an IAM OIDC provider client id: exact text, 1-255 characters)."""
    if not isinstance(value, str) or not value.strip():
        return [f"{field}: must be a non-empty string, the aud claim of the access tokens (got {_shown(value)})"]
    text = value.strip()
    if len(text) > MAX_AUDIENCE_LENGTH or _WHITESPACE.search(text) or re.search(r"[*?\x00-\x1f\x7f]", text):
        return [
            f"{field}: must be the exact aud value, 1-{MAX_AUDIENCE_LENGTH} characters without spaces or wildcards "
            f"(got {_shown(value)})"
        ]
    return []


def _okta_server(config):
    """The Okta authorization server a config uses (auth_server, else the issuer URL's, else default)."""
    explicit = config.get("auth_server")
    if isinstance(explicit, str) and explicit.strip():
        return explicit.strip()
    location = _read_location(config, _okta_location, [])
    return (location[1] if location else None) or OKTA_DEFAULT_SERVER


def access_token_audience(config):
    """``(aud, source)`` of the access tokens of an OAuth config; aud is None when it must be declared.

    ``source`` says where the value comes from, or why the preset cannot know it.
    """
    declared = config.get("access_token_audience")
    if not _absent(declared):
        return (declared.strip() if isinstance(declared, str) else declared), "declared access_token_audience"
    idp = config.get("idp")
    idp = idp.strip().lower() if isinstance(idp, str) else None
    if idp == "okta":
        server = _okta_server(config)
        if server == OKTA_DEFAULT_SERVER:
            return OKTA_DEFAULT_SERVER_AUDIENCE, "Audience of Okta's pre-made authorization server 'default'"
        return None, f"Okta authorization server {_shown(server)} gives its access tokens its own Audience setting"
    return None, _UNDECLARED_ACCESS_AUDIENCE.get(idp, _UNDECLARED_ACCESS_AUDIENCE[None])


def preset_defaults(idp, config, problems):
    """The preset's defaults for ``config``; records problems with the location inputs (unused ones included)."""
    used = LOCATION_INPUTS[idp]
    for name in _ALL_LOCATION_INPUTS:
        if name not in used and not _absent(config.get(name)):
            reads = ", ".join(used) if used else "none of idp_base_url, auth_server, tenant, realm"
            problems.append(f"{name}: not used by idp preset {_shown(idp)} (it reads {reads})")
    defaults = IDP_PRESETS[idp](config, problems)
    pasted = config.get("idp_base_url")
    pasted = repeated_segment_pairs("https://" + pasted.strip().split("://")[-1]) if isinstance(pasted, str) else set()
    pasted_runs = (
        repeated_adjacent_segments("https://" + config["idp_base_url"].strip().split("://")[-1])
        if isinstance(config.get("idp_base_url"), str)
        else set()
    )
    for field in ("auth_uri", "token_uri", "userinfo_uri"):
        url = defaults.get(field)
        doubled = (
            sorted((repeated_segment_pairs(url) - pasted) | (repeated_adjacent_segments(url) - pasted_runs))
            if url
            else []
        )
        if doubled:  # the readers above refuse every known way to get here; this keeps "never a doubled path" true
            problems.append(
                f"idp_base_url: the {field} would repeat {_shown(doubled[0])} ({_shown(url)}); "
                "put the IdP's base URL there, not an endpoint"
            )
    return defaults
