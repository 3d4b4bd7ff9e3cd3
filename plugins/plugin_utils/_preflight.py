# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Preflight consistency rules: pure functions from the declared state (and host facts) to findings.

A finding is ``{severity, code, message, fix}`` plus, where known, ``host`` (one
host), ``hosts`` (every host it concerns), ``config`` (an OAuth config id or a
connection name) and ``field``. Codes are stable; docs/troubleshooting.md lists
them. Messages never hold secret values: configs are compared field by field and
only field names are reported.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tsm import (
    allowlist_entry_problems,
    client_secret_problems,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._aws_arn import ArnError, iam_role_arn
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._host_findings import (
    SEVERITIES,
    finding,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._model import minimums, names_of_type, spec_defaults
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._files import (
    DEFAULT_LAYOUTS,
    OAUTH_CONFIG_APPLICATIONS,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._profile import (
    applications_of,
    as_bool,
    variable,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._redshift_iam import (
    PERMISSIONS_SPEC_KEYS,
    redshift_iam_lint,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._server_clients import REDIRECT_PATH
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._token_audience import (
    FEDERATE_CAPABILITY,
    connection_configs,
    derived_audiences,
    describe,
    fleet_tokens,
    installed_on,
)

ROLLOUT_KEYS = ("install_on",)
CONNECTION_KEYS = (
    "name",
    "host",
    "port",
    "database",
    "cluster_id",
    "region",
    "role_arn",
    "role_session_name",
    "group_federation",
    "db_user",
    "db_groups",
    "auto_create",
    "serverless",
    "oauth_config",
)
_OKTA_HOST_RE = re.compile(r"\.(okta|oktapreview|okta-emea|okta-gov|okta-mil)\.com$", re.IGNORECASE)
_OKTA_CUSTOM_PATH_RE = re.compile(r"^/oauth2/(?!v1/)[^/]+/v1/")
# The redshift_iam role's defaults (the data model), used when a redshift_iam_* var is not set.
IAM_DEFAULTS = spec_defaults("redshift_iam", prefix="redshift_iam_")


def _is_server(data):
    # The one rule of _plan._profile.applications_of (groups union tabops_applications).
    return "server" in applications_of(data.get("groups"), data.get("applications"))


def _servers(hosts):
    """(host, data) of every Tableau Server host of ``hosts``, by name."""
    return [(host, hosts[host]) for host in sorted(hosts) if _is_server(hosts[host])]


def _client_apps(data):
    return set(applications_of(data.get("groups"), data.get("applications"))) & set(OAUTH_CONFIG_APPLICATIONS)


def _content(config):
    return {k: v for k, v in config.items() if k not in ROLLOUT_KEYS}


def _differing_fields(left, right, prefix=""):
    fields = []
    for key in sorted(set(left) | set(right), key=str):
        a, b = left.get(key), right.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            fields += _differing_fields(a, b, "%s%s." % (prefix, key))
        elif a != b:
            fields.append("%s%s" % (prefix, key))
    return fields


# --- the declared state, across hosts -------------------------------------------


def duplicate_ids(hosts):
    """``config-id-duplicate`` and ``connection-duplicate``: one name twice in one host's list."""
    found = []
    for host in sorted(hosts):
        data = hosts[host]
        for var, key, code, what in (
            ("oauth_configs", "id", "config-id-duplicate", "OAuth config id"),
            ("redshift_connections", "name", "connection-duplicate", "connection name"),
        ):
            seen = {}
            for index, entry in enumerate(data.get(var) or []):
                if not isinstance(entry, dict):
                    continue
                name = entry.get(key)
                if name in seen:
                    found.append(
                        finding(
                            "error",
                            code,
                            "host %s: tabops_%s[%d].%s: %s %r is declared twice (first at index %d)"
                            % (host, var, index, key, what, name, seen[name]),
                            "declare each %s once; Tableau loads one of them and ignores the other" % what
                            if var == "oauth_configs"
                            else "give each connection its own name",
                            host=host,
                            config=name,
                            field="tabops_%s[%d].%s" % (var, index, key),
                        )
                    )
                else:
                    seen[name] = index
    return found


def _variants(hosts, var, key, strip):
    """{name: [(content, [hosts])]} of every distinct content of each named entry across hosts."""
    variants = {}
    for host in sorted(hosts):
        for entry in hosts[host].get(var) or []:
            if not isinstance(entry, dict) or entry.get(key) is None:
                continue
            content = strip(entry)
            bucket = variants.setdefault(entry[key], [])
            for known, members in bucket:
                if known == content:
                    if members[-1] != host:  # hosts come one at a time: a repeat is the last one (O(1), not O(hosts))
                        members.append(host)
                    break
            else:
                bucket.append((content, [host]))
    return variants


def conflicting_content(hosts):
    """``config-id-conflict`` / ``connection-conflict``: one id, different content on different hosts or groups."""
    found = []
    for var, key, code, fix in (
        (
            "oauth_configs",
            "id",
            "config-id-conflict",
            "a config id must mean the same config everywhere (only install_on may differ): rename one of them "
            "or make them equal",
        ),
        ("redshift_connections", "name", "connection-conflict", "declare the connection once, in group_vars/all"),
    ):
        for name, variants in sorted(_variants(hosts, var, key, _content if var == "oauth_configs" else dict).items()):
            if len(variants) < 2:
                continue
            (first, first_hosts), rest = variants[0], variants[1:]
            for content, members in rest:
                fields = _differing_fields(first, content)
                found.append(
                    finding(
                        "error",
                        code,
                        "tabops_%s: %r differs between hosts %s and %s (%s: %s)"
                        % (
                            var,
                            name,
                            ", ".join(first_hosts),
                            ", ".join(members),
                            "fields" if len(fields) > 1 else "field",
                            ", ".join(fields),
                        ),
                        fix,
                        hosts=sorted(set(first_hosts) | set(members)),
                        config=name,
                        field=fields[0] if len(fields) == 1 else None,
                    )
                )
    return found


def _distinct(hosts, var, key):
    """[(entry, [hosts])] for each distinct content of the ``var`` entries, by their ``key``."""
    return [variant for _name, variants in sorted(_variants(hosts, var, key, dict).items()) for variant in variants]


def okta_authorization_server(hosts):
    """``okta-org-authorization-server``: an Okta config on the org authorization server."""
    found = []
    seen = set()
    for config, members in _distinct(hosts, "oauth_configs", "id"):
        auth_uri = config.get("auth_uri")
        idp = config.get("idp")
        if not auth_uri or (config.get("id"), auth_uri) in seen:
            continue  # the okta preset builds /oauth2/<auth_server>/v1/ (auth_server default "default")
        parts = urlsplit(str(auth_uri))
        is_okta = idp == "okta" or bool(_OKTA_HOST_RE.search(parts.hostname or ""))
        if is_okta and not _OKTA_CUSTOM_PATH_RE.match(parts.path or ""):
            seen.add((config.get("id"), auth_uri))
            found.append(
                finding(
                    "error",
                    "okta-org-authorization-server",
                    "tabops_oauth_configs[%s].auth_uri: %s is Okta's org authorization server; AWS cannot verify "
                    "its tokens for Redshift" % (config.get("id"), auth_uri),
                    "use a custom authorization server: https://<okta domain>/oauth2/<auth server>/v1/authorize "
                    "(idp: okta with auth_server: default)",
                    hosts=members,
                    config=config.get("id"),
                    field="auth_uri",
                )
            )
    return found


# What example inventories and templates hold where a vaulted secret belongs.
_PLACEHOLDER_SECRET_RE = re.compile(r"change[-_ ]?me|replace[-_ ]?me|placeholder|^<.*>$|^todo\b|^x{4,}$", re.IGNORECASE)


def placeholder_secrets(hosts):
    """``secret-placeholder``: a client secret that still holds an example placeholder (it never authenticates)."""
    found = []
    for config, members in _distinct(hosts, "oauth_configs", "id"):
        for field, value in (
            ("client_secret_desktop", config.get("client_secret_desktop")),
            ("server_client.client_secret", (config.get("server_client") or {}).get("client_secret")),
        ):
            if isinstance(value, str) and _PLACEHOLDER_SECRET_RE.search(value.strip()):
                found.append(
                    finding(
                        "warning",
                        "secret-placeholder",
                        "tabops_oauth_configs[%s].%s still holds a placeholder, not the IdP's client secret"
                        % (config.get("id"), field),
                        "put the real secret in the vault (ansible-vault encrypt_string) and reference it",
                        hosts=members,
                        config=config.get("id"),
                        field=field,
                    )
                )
    return found


def _client_config_hosts(hosts):
    """{config id: hosts} of every OAuth config a Desktop, Prep or Bridge host of ``hosts`` gets."""
    client_ids = {}
    for host in sorted(hosts):
        data = hosts[host]
        for config in data.get("oauth_configs") or []:
            if not isinstance(config, dict):
                continue
            if _client_apps(data) & set(installed_on(config, OAUTH_CONFIG_APPLICATIONS)):
                client_ids.setdefault(config.get("id"), set()).add(host)
    return client_ids


def _redirect_findings(host, label, config_id, redirect, server_url):
    """``redirect-uri-mismatch`` / ``server-url-missing`` of one server client block."""
    server = urlsplit(server_url)
    if not redirect:
        if server.netloc:
            return []
        return [
            finding(
                "error",
                "server-url-missing",
                "host %s: %s has no redirect_uri and tabops_server_url is not set" % (host, label),
                "set tabops_server_url to Tableau Server's public https URL",
                host=host,
                config=config_id,
                field="tabops_server_url",
            )
        ]
    parts = urlsplit(redirect)
    expected = "https://%s%s" % (server.netloc, REDIRECT_PATH) if server.netloc else None
    if parts.scheme == "https" and parts.path == REDIRECT_PATH and not (expected and parts.netloc != server.netloc):
        return []
    return [
        finding(
            "error",
            "redirect-uri-mismatch",
            "host %s: %s.redirect_uri is %s, but Tableau Server (tabops_server_url %s) redirects to %s"
            % (host, label, redirect, server_url or "(unset)", expected or "https://<server>" + REDIRECT_PATH),
            "drop redirect_uri (it defaults to <tabops_server_url>%s) or correct it, here and on the "
            "IdP's server client" % REDIRECT_PATH,
            host=host,
            config=config_id,
            field="server_client.redirect_uri",
        )
    ]


def _server_client_findings(host, index, config, server_url, client_ids):
    """The findings of one OAuth config's ``server_client`` block on one Tableau Server host."""
    block = config["server_client"]
    config_id = config.get("id")
    label = "tabops_oauth_configs[%d] (%s).server_client" % (index, config_id)
    found = _redirect_findings(host, label, config_id, block.get("redirect_uri"), server_url)
    if block.get("client_id") and block.get("client_id") == config.get("client_id_desktop"):
        found.append(
            finding(
                "warning",
                "server-client-same-as-desktop",
                "host %s: %s.client_id equals client_id_desktop" % (host, label),
                "create separate IdP clients for Desktop (PKCE, localhost redirects) and Server (Tableau help "
                "page, step 1)",
                host=host,
                config=config_id,
                field="server_client.client_id",
            )
        )
    if not client_ids.get(config_id):
        tsm_id = "%s:%s" % (config.get("dbclass") or "redshift", config_id)
        found.append(
            finding(
                "warning",
                "server-client-config-not-on-clients",
                "host %s: the server client %s uses OAuth config %s, which no Desktop, Prep or Bridge host "
                "gets: content published from them names another config id" % (host, tsm_id, config_id),
                "install the same config id on the desktops and Bridge hosts (install_on)",
                host=host,
                config=config_id,
                field="install_on",
            )
        )
    return found


def server_clients(hosts):
    """Server-level OAuth clients (tsm oauth.config.clients) against the server URL and the declared configs."""
    found = []
    client_ids = _client_config_hosts(hosts)
    for host, data in _servers(hosts):
        for index, config in enumerate(data.get("oauth_configs") or []):
            if isinstance(config, dict) and isinstance(config.get("server_client"), dict):
                found += _server_client_findings(host, index, config, data.get("server_url") or "", client_ids)
    return found


def tdc_classes(hosts):
    """``tdc-class-mismatch``: a TDC for a class no declared OAuth config uses."""
    found = []
    for host in sorted(hosts):
        data = hosts[host]
        configs = [c for c in data.get("oauth_configs") or [] if isinstance(c, dict)]
        if not configs:
            continue
        classes = {c.get("dbclass") or "redshift" for c in configs}
        for index, tdc in enumerate(data.get("tdc_files") or []):
            if not isinstance(tdc, dict):
                continue
            if tdc.get("class") not in classes:
                found.append(
                    finding(
                        "error",
                        "tdc-class-mismatch",
                        "host %s: tabops_tdc_files[%d] (%s).class is %r, but the OAuth configs are for %s"
                        % (host, index, tdc.get("name"), tdc.get("class"), ", ".join(sorted(classes))),
                        "set the TDC's class to the configs' dbclass (redshift for Amazon Redshift)",
                        host=host,
                        config=tdc.get("name"),
                        field="class",
                    )
                )
    return found


def _connection_problems(connection, ids):
    """[(code, field, what is wrong, fix)] of one declared connection (``ids``: the host's OAuth config ids)."""
    problems = []
    unknown = sorted(set(connection) - set(CONNECTION_KEYS))
    if unknown:
        fix = "use only %s" % ", ".join(CONNECTION_KEYS)
        problems.append(("connection-field-unknown", unknown[0], " has unknown fields %s" % ", ".join(unknown), fix))
    for field in ("name", "host", "database", "region", "role_arn"):
        if not connection.get(field):
            fix = "set %s as in Tableau's connection dialog" % field
            problems.append(("connection-field-missing", field, ".%s is required" % field, fix))
    if not connection.get("serverless") and not connection.get("cluster_id"):
        what, fix = ".cluster_id is required for a provisioned cluster", "set cluster_id (or serverless: true)"
        problems.append(("connection-field-missing", "cluster_id", what, fix))
    ref = connection.get("oauth_config")
    if ref and ref not in ids:
        what = ".oauth_config is %r, which is not a declared OAuth config (declared: %s)" % (
            ref,
            ", ".join(sorted(i for i in ids if i)) or "none",
        )
        problems.append(
            ("connection-oauth-config-unknown", "oauth_config", what, "name one of tabops_oauth_configs' ids")
        )
    return problems


def connection_references(hosts):
    """``connection-field-unknown`` / ``connection-field-missing`` / ``connection-oauth-config-unknown``."""
    found = []
    for host in sorted(hosts):
        data = hosts[host]
        ids = {c.get("id") for c in data.get("oauth_configs") or [] if isinstance(c, dict)}
        for index, connection in enumerate(data.get("redshift_connections") or []):
            name = connection.get("name")
            label = "tabops_redshift_connections[%d] (%s)" % (index, name)
            found += [
                finding("error", code, "host %s: %s%s" % (host, label, what), fix, host=host, config=name, field=field)
                for code, field, what, fix in _connection_problems(connection, ids)
            ]
    return found


def _effective_group_federation(connection, data):
    value = connection.get("group_federation")
    return bool(data.get("group_federation")) if value is None else bool(value)


def group_federation(hosts):
    """``group-federation-not-allowlisted``: a connection with group federation, a server without the allowlist entry."""
    found = []
    wanting = sorted(
        {
            c.get("name")
            for h in hosts.values()
            for c in h.get("redshift_connections") or []
            if isinstance(c, dict) and _effective_group_federation(c, h)
        }
    )
    if not wanting:
        return found
    for host, data in _servers(hosts):
        if data.get("group_federation") or "group_federation" in (data.get("odbc_extras_allowlist") or []):
            continue
        found.append(
            finding(
                "error",
                "group-federation-not-allowlisted",
                "host %s: connections %s use group federation, but tabops_group_federation is false and "
                "tabops_odbc_extras_allowlist lacks group_federation, so Tableau Server drops it"
                % (host, ", ".join(str(w) for w in wanting)),
                "set tabops_group_federation: true (adds group_federation to the ODBC extras allowlist)",
                host=host,
                field="tabops_group_federation",
            )
        )
    return found


def _iam_values(iam_vars):
    """The ``redshift_iam_*`` variables by their short names (``account`` for ``redshift_iam_account``)."""
    return {k[len("redshift_iam_") :]: v for k, v in (iam_vars or {}).items() if k.startswith("redshift_iam_")}


def iam_policy_spec(iam_vars):
    """The redshift_permissions_policy spec the redshift_iam role builds from ``redshift_iam_*`` vars, or None."""
    values = _iam_values(iam_vars)
    if not values.get("account") or not values.get("region"):
        return None
    spec = {}
    # The role takes a list of clusters; the single-cluster key is the filter's shorthand.
    for key in (key for key in PERMISSIONS_SPEC_KEYS if key != "cluster"):
        value = values.get(key, IAM_DEFAULTS.get(key))
        spec[key] = IAM_DEFAULTS.get(key) if value is None and key != "describe_clusters" else value
    if spec["describe_clusters"] is None:
        spec.pop("describe_clusters")
    if not spec["userid_condition"]:
        spec.pop("userid_condition")
    return spec


def _expected_role_arn(iam_vars):
    values = _iam_values(iam_vars)
    if not values.get("role_name") or not values.get("account"):
        return None
    try:
        return iam_role_arn(
            values["account"],
            values["role_name"],
            path=values.get("role_path") or "/",
            partition=values.get("partition") or "aws",
        )
    except ArnError:
        return None


def _group_federation_iam_findings(hosts, iam_federation):
    """``group-federation-iam-mismatch``: a server's group federation differs from the IAM policy's."""
    found = []
    for host, data in _servers(hosts):
        if bool(data.get("group_federation")) != iam_federation:
            found.append(
                finding(
                    "error",
                    "group-federation-iam-mismatch",
                    "host %s: tabops_group_federation is %s but redshift_iam_group_federation is %s: the driver calls "
                    "%s and the policy grants %s"
                    % (
                        host,
                        "on" if data.get("group_federation") else "off",
                        "on" if iam_federation else "off",
                        "GetClusterCredentialsWithIAM" if data.get("group_federation") else "GetClusterCredentials",
                        "GetClusterCredentialsWithIAM" if iam_federation else "GetClusterCredentials",
                    ),
                    "set redshift_iam_group_federation to the same value as tabops_group_federation",
                    host=host,
                    field="redshift_iam_group_federation",
                )
            )
    return found


def _connection_lint_findings(connection, members, data, spec):
    """redshift_iam_lint of one connection against the policy ``spec``, as findings naming its hosts."""
    name = connection.get("name")
    lint_spec = {
        "role_arn": connection.get("role_arn"),
        "role_session_name": connection.get("role_session_name"),
        "cluster_id": connection.get("cluster_id"),
        "region": connection.get("region"),
        "database": connection.get("database"),
        "group_federation": _effective_group_federation(connection, data),
        "serverless": bool(connection.get("serverless")),
        "db_user": connection.get("db_user"),
        "db_groups": connection.get("db_groups") or [],
        "auto_create": bool(connection.get("auto_create")),
        "policy_spec": spec,
    }
    try:
        lint = redshift_iam_lint({k: v for k, v in lint_spec.items() if v is not None})
    except (ArnError, ValueError) as exc:
        lint = [{"severity": "error", "code": "policy-spec-invalid", "message": str(exc), "fix": "fix it"}]
    label = "tabops_redshift_connections[%s]" % name
    return [
        finding(
            item["severity"], item["code"], "%s: %s" % (label, item["message"]), item["fix"], hosts=members, config=name
        )
        for item in lint
    ]


def iam_consistency(hosts, iam_vars):
    """redshift_iam_lint for every connection, the role ARN, and group federation against the policy's API."""
    spec = iam_policy_spec(iam_vars)
    connections = _distinct(hosts, "redshift_connections", "name")
    if spec is None:
        if not connections:
            return []
        return [
            finding(
                "info",
                "iam-not-checked",
                "redshift_iam_account/redshift_iam_region are not set: the connections were not checked "
                "against the IAM policy",
                "define the redshift_iam_* variables (docs/iam.md) to lint the policy before rollout",
            )
        ]
    found = _group_federation_iam_findings(hosts, bool(spec.get("group_federation")))
    expected_role = _expected_role_arn(iam_vars)
    for connection, members in connections:
        name = connection.get("name")
        if expected_role and connection.get("role_arn") and connection["role_arn"] != expected_role:
            found.append(
                finding(
                    "error",
                    "connection-role-arn-mismatch",
                    "tabops_redshift_connections[%s].role_arn is %s, but the role the IAM policy is for is %s"
                    % (name, connection["role_arn"], expected_role),
                    "set role_arn to %s (or correct redshift_iam_role_name/account/path)" % expected_role,
                    hosts=members,
                    config=name,
                    field="role_arn",
                )
            )
        found += _connection_lint_findings(connection, members, hosts[members[0]], spec)
    return found


# The IAM OIDC provider's client ids (the token audiences STS accepts); the second name is the deprecated one.
AUDIENCE_VARS = ("redshift_iam_audiences", "redshift_iam_client_ids")


def declared_audiences(iam_vars):
    """``(audiences, variable)`` the IAM side is told to trust, or ``(None, None)`` when they are to be derived."""
    for name in AUDIENCE_VARS:
        value = (iam_vars or {}).get(name)
        if value:
            return [str(item) for item in (value if isinstance(value, (list, tuple)) else [value])], name
    return None, None


def federated_tokens(hosts):
    """:func:`_token_audience.fleet_tokens` of the OAuth configs the declared connections name."""
    per_host = {
        host: {
            "applications": applications_of(data.get("groups"), data.get("applications")),
            "oauth_configs": data.get("oauth_configs"),
            "tdc_files": data.get("tdc_files"),
        }
        for host, data in hosts.items()
    }
    return fleet_tokens(per_host, connection_configs(hosts))


def audience_findings(tokens, trusted, variable_name):
    """Findings for the federated ``tokens`` against the ``trusted`` audiences (None: derived, not checked)."""
    found = []
    for item in tokens:
        if item["aud"] is None:
            found.append(
                finding(
                    "error",
                    "access-token-audience-undeclared",
                    "%s, whose aud the collection cannot know: %s" % (describe(item), item["source"]),
                    "set access_token_audience in tabops_oauth_configs[%s] to the aud of its access tokens (decode "
                    "one), or drop %s from the TDC to federate the ID token" % (item["config"], FEDERATE_CAPABILITY),
                    hosts=item["hosts"],
                    config=item["config"],
                    field="access_token_audience",
                )
            )
        elif trusted is not None and item["aud"] not in trusted:
            found.append(
                finding(
                    "error",
                    "iam-audience-mismatch",
                    "%s, but the IAM OIDC provider and the trust policy's :aud condition trust only %s (%s): STS "
                    "refuses the token with 'Incorrect token audience'"
                    % (describe(item), ", ".join(repr(a) for a in trusted), variable_name),
                    "add %r to %s, or remove %s so that the redshift_iam role derives the audiences from the OAuth "
                    "configs and TDCs" % (item["aud"], variable_name, variable_name),
                    hosts=item["hosts"],
                    config=item["config"],
                    field=variable_name,
                )
            )
    return found


def iam_audiences(hosts, iam_vars):
    """``access-token-audience-undeclared`` / ``iam-audience-mismatch``: the token Tableau federates is one IAM accepts.

    Checks the configs the connections name against the declared audiences (redshift_iam_audiences), or, when none
    are declared (the redshift_iam role then derives them), only that every token's aud is known. Nothing is checked
    when no redshift_iam_* variable is set (the IAM side is not managed here).
    """
    if not any(str(name).startswith("redshift_iam_") for name in iam_vars or {}):
        return []
    trusted, variable_name = declared_audiences(iam_vars)
    return audience_findings(federated_tokens(hosts), trusted, variable_name)


def expected_audiences(hosts, iam_vars):
    """``{audiences, declared_by, tokens, findings}``: the audiences the redshift_iam role puts in the OIDC provider
    and the trust policy (the declared ones, else those derived from the tokens), and :func:`audience_findings`."""
    tokens = federated_tokens(hosts)
    trusted, variable_name = declared_audiences(iam_vars)
    return {
        "audiences": trusted if trusted is not None else derived_audiences(tokens),
        "declared_by": variable_name or "",
        "tokens": tokens,
        "findings": audience_findings(tokens, trusted, variable_name),
    }


RULES = (
    duplicate_ids,
    conflicting_content,
    okta_authorization_server,
    placeholder_secrets,
    server_clients,
    tdc_classes,
    connection_references,
    group_federation,
)


def fleet_findings(hosts, iam_vars=None):
    """Every declared-state finding for ``{host: data}`` (see the module docstring for ``data``)."""
    if not isinstance(hosts, dict):
        raise TypeError("hosts must be a dict of host name to data")
    found = []
    for rule in RULES:
        found.extend(rule(hosts))
    found.extend(iam_consistency(hosts, iam_vars))
    found.extend(iam_audiences(hosts, iam_vars or {}))
    return found


# --- every variable of the data model, before any host is touched -------------------------------------------------
# ansible-core's ArgumentSpecValidator checks the types and choices the data model declares (_role_spec.spec_problems,
# run by the fleet plan on each distinct set of host variables); the rules below are what a spec cannot say: the
# content of a value (a user name, an absolute path, a tsm key, an https URL), least values, keys of a dict, and
# rules across fields (the allowlist's entries and its separator, the tsm node and the inventory).

_TSM_KEY_RE = re.compile(r"^[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)+$")
_SERVICE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_UNIT_RE = re.compile(r"^[A-Za-z0-9:_.@\\\- ]+$")
_VERSION_RE = re.compile(r"^\d+(?:\.\d+)*$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
PATH_KEYS = tuple(DEFAULT_LAYOUTS["Linux"])
DRIVER_GENERATIONS = ("v1", "v2")


def _name_problem(value):
    """Why ``value`` cannot be a user or group name on any OS (None: it can)."""
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty string, got %r" % (value,)
    if _CONTROL_RE.search(value) or "/" in value or "\\" in value or value in (".", "..") or value.startswith("-"):
        return "%r is not a user or group name" % value
    return None


def _whole_number(value):
    """``value`` as an int the way the argument spec converts it, or None (the spec reports what it cannot)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value) if not isinstance(value, int) else value
    except ValueError:
        return None
    return int(number) if float(number).is_integer() else None


def _item_problems(name, items, check):
    """[(``name[i]``, problem)] of the items of a list (nothing when it is not one: the spec reports that)."""
    if not isinstance(items, (list, tuple)):
        return []
    return [
        ("%s[%d]" % (name, index), problem) for index, item in enumerate(items) for problem in [check(item)] if problem
    ]


def _reader_problems(value):
    """Bools as the collection reads them (as_bool takes fewer spellings than the spec) and least values."""
    problems = []
    for name in names_of_type("bool", "preflight"):
        try:
            as_bool(value(name))
        except ValueError as exc:
            problems.append((name, str(exc)))
    for name, minimum in minimums("preflight").items():
        number = _whole_number(value(name))
        if number is not None and number < minimum:
            problems.append((name, "must be at least %d, got %d" % (minimum, number)))
    return problems


def _host_user_problems(value):
    """Users, groups and service names of the host's files."""
    problems = _item_problems("tabops_desktop_users", value("tabops_desktop_users"), _name_problem)
    for name in ("tabops_bridge_user", "tabops_server_file_owner", "tabops_server_file_group"):
        problem = _name_problem(value(name))
        if problem:
            problems.append((name, problem))
    problems += _item_problems(
        "tabops_server_services",
        value("tabops_server_services"),
        lambda item: (
            None if isinstance(item, str) and _SERVICE_RE.match(item) else "%r is not a service name" % (item,)
        ),
    )
    unit = value("tabops_bridge_service")
    if not isinstance(unit, str) or (unit and not _UNIT_RE.match(unit)):
        problems.append(
            ("tabops_bridge_service", "must be a systemd unit name or Windows service name, or empty, got %r" % (unit,))
        )
    return problems


def _allowlist_problems(value):
    """The ODBC extras allowlist: its key, its separator, and its entries with that separator."""
    problems = []
    separator = value("tabops_odbc_extras_allowlist_separator")
    if not isinstance(separator, str) or len(separator) != 1 or separator.isalnum() or separator.isspace():
        problems.append(
            ("tabops_odbc_extras_allowlist_separator", "must be one punctuation character, got %r" % (separator,))
        )
        separator = ","
    allowlist = value("tabops_odbc_extras_allowlist")
    for index, entry in enumerate(allowlist if isinstance(allowlist, (list, tuple)) else ()):
        problems += [
            ("tabops_odbc_extras_allowlist[%d]" % index, p) for p in allowlist_entry_problems(entry, separator)
        ]
    key = value("tabops_odbc_extras_allowlist_key")
    if not isinstance(key, str) or not _TSM_KEY_RE.match(key):
        problems.append(
            (
                "tabops_odbc_extras_allowlist_key",
                "must be a tsm key such as native_api.odbc_extras_allowlist, got %r" % (key,),
            )
        )
    return problems


def _server_problems(value, inventory_hosts):
    """Tableau Server's URL, the tsm paths and the tsm node (a host of the inventory)."""
    problems = []
    url = value("tabops_server_url")
    if url and (not isinstance(url, str) or not _is_https_url(url)):
        problems.append(("tabops_server_url", "must be Tableau Server's https:// URL, got %r" % (url,)))
    for name, may_be_empty in (
        ("tabops_tsm_path", True),
        ("tabops_tsm_packages_dir", False),
        ("tabops_tsm_lock_file", True),
    ):
        path = value(name)
        if not isinstance(path, str) or (path and not path.startswith("/")) or (not path and not may_be_empty):
            problems.append((name, "must be an absolute path%s, got %r" % (" or empty" if may_be_empty else "", path)))
    node = value("tabops_tsm_node")
    if not isinstance(node, str):
        problems.append(("tabops_tsm_node", "must be an inventory host name, got %r" % (node,)))
    elif node and inventory_hosts is not None and node not in inventory_hosts:
        problems.append(("tabops_tsm_node", "%r is not a host of the inventory" % node))
    return problems


def _is_https_url(url):
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(parts.hostname) and not _CONTROL_RE.search(url)


def _dict_problems(value):
    """The keys and values of the dict variables (the spec checks only that they are dicts)."""
    problems = []
    paths = value("tabops_paths")
    for path_key, template in sorted(paths.items() if isinstance(paths, dict) else (), key=lambda kv: str(kv[0])):
        if path_key not in PATH_KEYS:
            problems.append(("tabops_paths.%s" % path_key, "unknown key; allowed: %s" % ", ".join(PATH_KEYS)))
        elif template is not None and (not isinstance(template, str) or _CONTROL_RE.search(template)):
            problems.append(("tabops_paths.%s" % path_key, "must be a path template string"))
    versions = value("tabops_preflight_min_driver_versions")
    for generation, version in sorted(
        versions.items() if isinstance(versions, dict) else (), key=lambda kv: str(kv[0])
    ):
        field = "tabops_preflight_min_driver_versions.%s" % generation
        if generation not in DRIVER_GENERATIONS:
            problems.append((field, "unknown key; allowed: %s" % ", ".join(DRIVER_GENERATIONS)))
        elif not _VERSION_RE.match(str(version)):
            problems.append((field, "%r is not a version" % (version,)))
    supported = value("tabops_preflight_supported_os")
    if isinstance(supported, dict) and not all(isinstance(v, (list, tuple)) for v in supported.values()):
        problems.append(("tabops_preflight_supported_os", "must be a dict of OS id to a list of versions"))
    search = value("tabops_odbc_driver_search")
    if isinstance(search, dict) and not all(k in DRIVER_GENERATIONS and isinstance(v, dict) for k, v in search.items()):
        problems.append(("tabops_odbc_driver_search", "must be a dict with keys v1 and/or v2, each a dict"))
    return problems


def _secret_problems(value):
    """Server client secrets tsm could not store (control or non-XML characters), without showing them."""
    problems = []
    configs = value("tabops_oauth_configs")
    for index, config in enumerate(configs if isinstance(configs, (list, tuple)) else ()):
        block = config.get("server_client") if isinstance(config, dict) else None
        if isinstance(block, dict) and "client_secret" in block:
            label = "tabops_oauth_configs[%d] (%s).server_client.client_secret" % (index, config.get("id", "no id"))
            problems += [(label, p) for p in client_secret_problems(block["client_secret"])]
    return problems


def variable_problems(host_vars, inventory_hosts=None):
    """[(field, problem)] of one host's variables that the argument spec cannot find (unset ones are defaults)."""

    def value(name):
        return variable(host_vars, name)

    minimum = value("tabops_preflight_min_server_version")
    version = (
        []
        if _VERSION_RE.match(str(minimum))
        else [("tabops_preflight_min_server_version", "%r is not a version such as 2023.3.2" % (minimum,))]
    )
    return (
        _reader_problems(value)
        + _host_user_problems(value)
        + _allowlist_problems(value)
        + _server_problems(value, inventory_hosts)
        + _dict_problems(value)
        + version
        + _secret_problems(value)
    )


def _grouped(entries):
    """{(field, problem): [hosts]} preserving first-seen order: group_vars repeat one mistake on every host."""
    grouped = {}
    for host, field, problem in entries:
        members = grouped.setdefault((field, problem), [])
        if not members or members[-1] != host:  # one host's entries come together: O(1), not O(hosts)
            members.append(host)
    return grouped


def summary_lines(findings):
    counts = {severity: sum(1 for f in findings if f["severity"] == severity) for severity in SEVERITIES}
    head = "preflight: %d error(s), %d warning(s), %d info" % (counts["error"], counts["warning"], counts["info"])
    return counts, [head] + [item["summary"] for item in findings]


# --- rules over the plan and over the facts a host returns -------------------------------------------------------


def _problem_findings(code, entries, fix_of):
    """One ``code`` finding per (field, problem) of ``entries`` ([(host, field, problem)]), naming its hosts."""
    found = []
    for (field, problem), members in _grouped(entries).items():
        hosts = "host%s %s" % ("s" if len(members) > 1 else "", ", ".join(members))
        message = "%s: %s (%s)" % (field, problem, hosts) if field else "%s (%s)" % (problem, hosts)
        found.append(finding("error", code, message, fix_of(field), hosts=members, field=field or None))
    return found


def plan_findings(bad_vars, layout):
    """``variable-invalid`` for each bad variable and ``declared-data-invalid`` for what cannot be laid out (both
    [(host, field, problem)]), each naming every host it concerns."""
    return _problem_findings(
        "variable-invalid",
        bad_vars,
        lambda field: "correct %s (docs/data-model.md)" % field.split("[")[0].split(".")[0],
    ) + _problem_findings(
        "declared-data-invalid", layout, lambda _field: "correct the declared data (docs/data-model.md)"
    )


def tsm_node_findings(tsm_node, named, profiles):
    """``tsm-node-ambiguous`` (the servers name several tsm nodes) and ``tsm-node-not-a-server``."""
    found = []
    if len(named) > 1:
        found.append(
            finding(
                "error",
                "tsm-node-ambiguous",
                "the Tableau Server hosts name different tsm nodes: %s" % ", ".join(named),
                "set tabops_tsm_node once (group_vars/tableau_server) or list one host in tableau_server_initial",
                field="tabops_tsm_node",
            )
        )
    if tsm_node in profiles and not profiles[tsm_node]["is_server"]:
        found.append(
            finding(
                "error",
                "tsm-node-not-a-server",
                "the tsm node %s is not a Tableau Server host (not in tableau_server, no server in "
                "tabops_applications)" % tsm_node,
                "point tabops_tsm_node (or tableau_server_initial) at the cluster's initial node",
                host=tsm_node,
                field="tabops_tsm_node",
            )
        )
    return found
