# Copyright: tabops contributors
# MIT License (see LICENSE)
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

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._aws_arn import ArnError, iam_role_arn
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._odbc import (
    MIN_DRIVER_VERSIONS,
    MIN_TABLEAU_SERVER_VERSION,
    OdbcError,
    compare_versions,
    parse_version,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._redshift_iam import (
    PERMISSIONS_SPEC_KEYS,
    redshift_iam_lint,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._server_clients import REDIRECT_PATH

SEVERITIES = ("error", "warning", "info")
ROLLOUT_KEYS = ("install_on",)
CLIENT_APPLICATIONS = ("desktop", "prep", "bridge")
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
# OS ids and major versions Tableau Server / the Redshift ODBC driver are used on (override per fleet).
DEFAULT_SUPPORTED_OS = {
    "rhel": ["8", "9"],
    "centos": ["8", "9"],
    "rocky": ["8", "9"],
    "almalinux": ["8", "9"],
    "ol": ["8", "9"],
    "amzn": ["2", "2023"],
    "ubuntu": ["20.04", "22.04", "24.04"],
    "debian": ["11", "12"],
    "sles": ["15"],
}
_OKTA_HOST_RE = re.compile(r"\.(okta|oktapreview|okta-emea|okta-gov|okta-mil)\.com$", re.IGNORECASE)
_OKTA_CUSTOM_PATH_RE = re.compile(r"^/oauth2/(?!v1/)[^/]+/v1/")
# redshift_iam role defaults (roles/redshift_iam/defaults/main.yml), used when a redshift_iam_* var is not set.
IAM_DEFAULTS = {
    "partition": "aws",
    "clusters": [],
    "db_users": ["${redshift:DbUser}"],
    "db_names": [],
    "db_groups": [],
    "auto_create": False,
    "group_federation": False,
    "serverless": False,
    "workgroup_ids": [],
    "userid_condition": None,
    "include_cluster_resource": True,
    "describe_clusters": None,
    "statement_ids": False,
    "role_path": "/",
}


def finding(severity, code, message, fix, **where):
    if severity not in SEVERITIES:
        raise ValueError("severity must be one of %s" % ", ".join(SEVERITIES))
    result = {"severity": severity, "code": code, "message": message, "fix": fix}
    for key, value in where.items():
        if value is not None and value != []:
            result[key] = value
    return result


def _is_server(data):
    return "server" in (data.get("applications") or []) or "tableau_server" in (data.get("groups") or [])


def _client_apps(data):
    apps = data.get("applications") or []
    groups = data.get("groups") or []
    derived = set(apps)
    if not apps:
        if "tableau_bridge" in groups:
            derived.add("bridge")
        if "tableau_desktop" in groups:
            derived.update(("desktop", "prep"))
    return derived


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


def _install_on(config):
    value = config.get("install_on")
    return list(CLIENT_APPLICATIONS) if value is None else list(value)


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


def _variants(hosts, var, key, strip=_content):
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
                    if host not in members:
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


def _unique_configs(hosts):
    """[(config, [hosts])] for each distinct config content."""
    result = []
    for _name, variants in sorted(_variants(hosts, "oauth_configs", "id", lambda c: c).items()):
        result.extend(variants)
    return result


def okta_authorization_server(hosts):
    """``okta-org-authorization-server``: an Okta config on the org authorization server."""
    found = []
    seen = set()
    for config, members in _unique_configs(hosts):
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


def server_clients(hosts):
    """Server-level OAuth clients (tsm oauth.config.clients) against the server URL and the declared configs."""
    found = []
    client_ids = {}
    for host in sorted(hosts):
        data = hosts[host]
        for config in data.get("oauth_configs") or []:
            if not isinstance(config, dict):
                continue
            for app in _client_apps(data):
                if app in _install_on(config):
                    client_ids.setdefault(config.get("id"), set()).add(host)
    for host in sorted(hosts):
        data = hosts[host]
        if not _is_server(data):
            continue
        server_url = data.get("server_url") or ""
        server = urlsplit(server_url)
        for index, config in enumerate(data.get("oauth_configs") or []):
            block = config.get("server_client") if isinstance(config, dict) else None
            if not isinstance(block, dict):
                continue
            config_id = config.get("id")
            label = "tabops_oauth_configs[%d] (%s).server_client" % (index, config_id)
            tsm_id = "%s:%s" % (config.get("dbclass") or "redshift", config_id)
            redirect = block.get("redirect_uri")
            if redirect:
                parts = urlsplit(redirect)
                expected = "https://%s%s" % (server.netloc, REDIRECT_PATH) if server.netloc else None
                if (
                    parts.scheme != "https"
                    or parts.path != REDIRECT_PATH
                    or (expected and parts.netloc != server.netloc)
                ):
                    found.append(
                        finding(
                            "error",
                            "redirect-uri-mismatch",
                            "host %s: %s.redirect_uri is %s, but Tableau Server (tabops_server_url %s) redirects to %s"
                            % (
                                host,
                                label,
                                redirect,
                                server_url or "(unset)",
                                expected or "https://<server>" + REDIRECT_PATH,
                            ),
                            "drop redirect_uri (it defaults to <tabops_server_url>%s) or correct it, here and on the "
                            "IdP's server client" % REDIRECT_PATH,
                            host=host,
                            config=config_id,
                            field="server_client.redirect_uri",
                        )
                    )
            elif not server.netloc:
                found.append(
                    finding(
                        "error",
                        "server-url-missing",
                        "host %s: %s has no redirect_uri and tabops_server_url is not set" % (host, label),
                        "set tabops_server_url to Tableau Server's public https URL",
                        host=host,
                        config=config_id,
                        field="tabops_server_url",
                    )
                )
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


def _unique_connections(hosts):
    result = []
    for _name, variants in sorted(_variants(hosts, "redshift_connections", "name", dict).items()):
        result.extend(variants)
    return result


def connection_references(hosts):
    """``connection-field-unknown`` / ``connection-oauth-config-unknown``."""
    found = []
    for host in sorted(hosts):
        data = hosts[host]
        ids = {c.get("id") for c in data.get("oauth_configs") or [] if isinstance(c, dict)}
        for index, connection in enumerate(data.get("redshift_connections") or []):
            name = connection.get("name")
            label = "tabops_redshift_connections[%d] (%s)" % (index, name)
            unknown = sorted(set(connection) - set(CONNECTION_KEYS))
            if unknown:
                found.append(
                    finding(
                        "error",
                        "connection-field-unknown",
                        "host %s: %s has unknown fields %s" % (host, label, ", ".join(unknown)),
                        "use only %s" % ", ".join(CONNECTION_KEYS),
                        host=host,
                        config=name,
                        field=unknown[0],
                    )
                )
            for field in ("name", "host", "database", "region", "role_arn"):
                if not connection.get(field):
                    found.append(
                        finding(
                            "error",
                            "connection-field-missing",
                            "host %s: %s.%s is required" % (host, label, field),
                            "set %s as in Tableau's connection dialog" % field,
                            host=host,
                            config=name,
                            field=field,
                        )
                    )
            if not connection.get("serverless") and not connection.get("cluster_id"):
                found.append(
                    finding(
                        "error",
                        "connection-field-missing",
                        "host %s: %s.cluster_id is required for a provisioned cluster" % (host, label),
                        "set cluster_id (or serverless: true)",
                        host=host,
                        config=name,
                        field="cluster_id",
                    )
                )
            ref = connection.get("oauth_config")
            if ref and ref not in ids:
                found.append(
                    finding(
                        "error",
                        "connection-oauth-config-unknown",
                        "host %s: %s.oauth_config is %r, which is not a declared OAuth config (declared: %s)"
                        % (host, label, ref, ", ".join(sorted(i for i in ids if i)) or "none"),
                        "name one of tabops_oauth_configs' ids",
                        host=host,
                        config=name,
                        field="oauth_config",
                    )
                )
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
    for host in sorted(hosts):
        data = hosts[host]
        if not _is_server(data):
            continue
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


def iam_policy_spec(iam_vars):
    """The redshift_permissions_policy spec the redshift_iam role builds from ``redshift_iam_*`` vars, or None."""
    values = {k[len("redshift_iam_") :]: v for k, v in (iam_vars or {}).items() if k.startswith("redshift_iam_")}
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
    values = {k[len("redshift_iam_") :]: v for k, v in (iam_vars or {}).items() if k.startswith("redshift_iam_")}
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


def iam_consistency(hosts, iam_vars):
    """redshift_iam_lint for every connection, the role ARN, and group federation against the policy's API."""
    found = []
    spec = iam_policy_spec(iam_vars)
    connections = _unique_connections(hosts)
    if spec is None:
        if connections:
            found.append(
                finding(
                    "info",
                    "iam-not-checked",
                    "redshift_iam_account/redshift_iam_region are not set: the connections were not checked "
                    "against the IAM policy",
                    "define the redshift_iam_* variables (docs/iam.md) to lint the policy before rollout",
                )
            )
        return found
    iam_federation = bool(spec.get("group_federation"))
    for host in sorted(hosts):
        data = hosts[host]
        if _is_server(data) and bool(data.get("group_federation")) != iam_federation:
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
    expected_role = _expected_role_arn(iam_vars)
    for connection, members in connections:
        name = connection.get("name")
        label = "tabops_redshift_connections[%s]" % name
        data = hosts[members[0]]
        if expected_role and connection.get("role_arn") and connection["role_arn"] != expected_role:
            found.append(
                finding(
                    "error",
                    "connection-role-arn-mismatch",
                    "%s.role_arn is %s, but the role the IAM policy is for is %s"
                    % (label, connection["role_arn"], expected_role),
                    "set role_arn to %s (or correct redshift_iam_role_name/account/path)" % expected_role,
                    hosts=members,
                    config=name,
                    field="role_arn",
                )
            )
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
        for item in lint:
            found.append(
                finding(
                    item["severity"],
                    item["code"],
                    "%s: %s" % (label, item["message"]),
                    item["fix"],
                    hosts=members,
                    config=name,
                )
            )
    return found


RULES = (
    duplicate_ids,
    conflicting_content,
    okta_authorization_server,
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
    return found


# --- host facts -----------------------------------------------------------------


def host_findings(host, facts, driver_required=True, supported_os=None, min_versions=None, min_server=None):
    """Findings from one host's redshift_odbc_facts result."""
    found = []
    if facts is None:
        return found
    if facts.get("unreachable"):
        return [
            finding(
                "warning",
                "host-unreachable",
                "host %s: unreachable, its driver and versions were not checked" % host,
                "bring the host up and run the preflight again",
                host=host,
            )
        ]
    if facts.get("failed"):
        return [
            finding(
                "error",
                "host-check-failed",
                "host %s: redshift_odbc_facts failed: %s" % (host, facts.get("msg") or "no message"),
                "fix the host checks' variables (tabops_odbc_driver_search, tabops_odbc_version_sources) or set "
                "tabops_preflight_host_checks: false for this host",
                host=host,
            )
        ]
    minimums = dict(MIN_DRIVER_VERSIONS)
    minimums.update(min_versions or {})
    drivers = facts.get("drivers") or {}
    present = [d for d in drivers.values() if d.get("present")]
    if not present:
        searched = ", ".join(p for d in drivers.values() for p in d.get("searched") or []) or "the default paths"
        found.append(
            finding(
                "error" if driver_required else "info",
                "driver-missing",
                "host %s: no Amazon Redshift ODBC driver found (searched %s)" % (host, searched),
                "install the Redshift ODBC driver v2 >= %s (or v1 >= %s)" % (minimums["v2"], minimums["v1"]),
                host=host,
                field="tabops_odbc_driver_search",
            )
        )
    good = False
    for generation in sorted(drivers):
        driver = drivers[generation]
        if not driver.get("present"):
            continue
        if not driver.get("version"):
            found.append(
                finding(
                    "warning",
                    "driver-version-unknown",
                    "host %s: %s driver at %s, but its version could not be read"
                    % (host, generation, driver["library"]),
                    "set tabops_odbc_driver_search.%s.version_files, or check the version by hand" % generation,
                    host=host,
                    field="driver.%s.version" % generation,
                )
            )
            continue
        try:
            new_enough = compare_versions(driver["version"], minimums[generation]) >= 0
        except OdbcError:
            new_enough = False
        if new_enough:
            good = True
        else:
            found.append(
                finding(
                    "error",
                    "driver-too-old",
                    "host %s: Redshift ODBC driver %s %s (from %s) is older than %s, the first that supports "
                    "Redshift IAM OAuth%s"
                    % (
                        host,
                        generation,
                        driver["version"],
                        driver.get("version_source"),
                        minimums[generation],
                        " with group federation" if generation == "v2" else "",
                    ),
                    "upgrade the driver to %s %s or later" % (generation, minimums[generation]),
                    host=host,
                    field="driver.%s.version" % generation,
                )
            )
    if present and good:
        found.append(finding("info", "driver-ok", "host %s: Redshift ODBC driver new enough" % host, "", host=host))
    server = facts.get("tableau_server") or {}
    if facts.get("is_server"):
        minimum = min_server or MIN_TABLEAU_SERVER_VERSION
        version = server.get("version")
        if not version:
            found.append(
                finding(
                    "info",
                    "tableau-server-version-unknown",
                    "host %s: the Tableau Server version could not be read" % host,
                    "check it with tsm version; %s or later is needed" % minimum,
                    host=host,
                )
            )
        else:
            try:
                have, need = parse_version(version), parse_version(minimum)
            except OdbcError:
                have, need = (), ()
            ambiguous = len(have) < len(need) and have == need[: len(have)]
            if have and compare_versions(have, need) < 0 and not ambiguous:
                found.append(
                    finding(
                        "error",
                        "tableau-server-too-old",
                        "host %s: Tableau Server %s (from %s) is older than %s"
                        % (host, version, server.get("source"), minimum),
                        "upgrade Tableau Server to %s or later" % minimum,
                        host=host,
                    )
                )
            elif have and ambiguous:
                found.append(
                    finding(
                        "warning",
                        "tableau-server-version-ambiguous",
                        "host %s: Tableau Server %s (from %s): the maintenance release is unknown, %s is needed"
                        % (host, version, server.get("source"), minimum),
                        "check with tsm version",
                        host=host,
                    )
                )
    os_info = facts.get("os") or {}
    supported = DEFAULT_SUPPORTED_OS if supported_os is None else supported_os
    os_id, os_version = os_info.get("id") or "", os_info.get("version_id") or ""
    versions = [str(v) for v in supported.get(os_id, [])]
    if os_id and not any(os_version == v or os_version.startswith(v + ".") for v in versions):
        found.append(
            finding(
                "warning",
                "os-unsupported",
                "host %s: %s %s is not in tabops_preflight_supported_os" % (host, os_id, os_version or "?"),
                "use a supported OS, or add it to tabops_preflight_supported_os if you have checked it",
                host=host,
            )
        )
    return found


def summarize(findings):
    """Counts by severity and one line per finding (errors first)."""
    order = {s: i for i, s in enumerate(SEVERITIES)}
    lines = []
    for item in sorted(findings, key=lambda f: order.get(f["severity"], 9)):
        where = item.get("host") or ",".join(item.get("hosts") or []) or "fleet"
        lines.append(
            "%s %s [%s]: %s -- fix: %s" % (item["severity"].upper(), item["code"], where, item["message"], item["fix"])
        )
    counts = {s: sum(1 for f in findings if f["severity"] == s) for s in SEVERITIES}
    return {"counts": counts, "lines": lines}
