# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Which token Tableau federates for each OAuth config on each application, and that token's ``aud``.

Tableau passes the Redshift driver the ID token, or the ACCESS token when the TDC of the connection's class on that
host sets ``CAP_OAUTH_FEDERATE_ACCESS_TOKEN=yes`` (Tableau's Redshift IAM OAuth page). The driver hands it to STS
AssumeRoleWithWebIdentity, which refuses a token whose ``aud`` is not one of the IAM OIDC provider's client ids and
the trust policy's ``<provider>:aud`` values ("Incorrect token audience"). An ID token's ``aud`` is the client id it
was issued to: ``server_client.client_id`` on Tableau Server, ``client_id_desktop`` on Desktop, Prep and Bridge. An
access token's is the IdP preset's (``access_token_audience`` in _idp_presets). Sources: docs/sources.md, "Token
audiences".
"""

from __future__ import annotations

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._idp_presets import (
    access_token_audience,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._text import _to_bool
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._files import (
    OAUTH_CONFIG_APPLICATIONS,
    TDC_APPLICATIONS,
)

FEDERATE_CAPABILITY = "CAP_OAUTH_FEDERATE_ACCESS_TOKEN"
FEDERATED_ID = "ID token"
FEDERATED_ACCESS = "access token"


def installed_on(entry: dict, allowed: tuple) -> list:
    """The applications of ``allowed`` an entry's ``install_on`` names (all of them when it is unset)."""
    value = entry.get("install_on")
    if value is None:
        return list(allowed)
    return [app for app in allowed if isinstance(value, (list, tuple)) and app in value]


def _federates_access_token(tdc: dict) -> bool:
    value = (tdc.get("customizations") or {}).get(FEDERATE_CAPABILITY)
    return _to_bool(value) is True


def _tdcs_on(tdc_files: list, application: str, dbclass: str) -> list:
    """The TDCs Tableau reads for ``dbclass`` on ``application`` (a disabled TDC is ignored by Tableau)."""
    return [
        tdc
        for tdc in tdc_files or []
        if isinstance(tdc, dict)
        and (tdc.get("class") or "redshift") == dbclass
        and _to_bool(tdc.get("enabled", True)) is not False
        and application in installed_on(tdc, TDC_APPLICATIONS)
    ]


def _client_id(config: dict, application: str):
    if application == "server":
        block = config.get("server_client")
        return block.get("client_id") if isinstance(block, dict) else None
    return config.get("client_id_desktop")


def _uses_config(config: dict, application: str) -> bool:
    """Whether ``application`` signs in with ``config``: Server through its server_client, the others when installed."""
    if application == "server":
        return isinstance(config.get("server_client"), dict)
    return application in installed_on(config, OAUTH_CONFIG_APPLICATIONS)


def host_tokens(applications: list, oauth_configs: list, tdc_files: list, config_ids=None) -> list:
    """``[{config, application, token, aud, source, tdcs}]`` for one host: each token its applications federate.

    Only configs in ``config_ids`` when given. With several TDCs for one class (which one Tableau applies is
    undefined) that disagree, both tokens are listed: IAM must accept either. ``aud`` is None when it must be
    declared (``source`` says why).
    """
    found = []
    for application in applications or []:
        for config in oauth_configs or []:
            if not isinstance(config, dict) or (config_ids is not None and config.get("id") not in config_ids):
                continue
            if not _uses_config(config, application):
                continue
            tdcs = _tdcs_on(tdc_files, application, config.get("dbclass") or "redshift")
            federating = [tdc.get("name") for tdc in tdcs if _federates_access_token(tdc)]
            others = [tdc.get("name") for tdc in tdcs if not _federates_access_token(tdc)]
            base = {"config": config.get("id"), "application": application}
            if federating:
                aud, source = access_token_audience(config)
                found.append(dict(base, token=FEDERATED_ACCESS, aud=aud, source=source, tdcs=federating))
            client_id = _client_id(config, application)
            if (others or not tdcs) and client_id:
                field = "server_client.client_id" if application == "server" else "client_id_desktop"
                found.append(dict(base, token=FEDERATED_ID, aud=str(client_id), source=field, tdcs=others))
    return found


def fleet_tokens(hosts: dict, config_ids=None) -> list:
    """:func:`host_tokens` of every host, one entry per distinct token: ``{..., applications, hosts}``.

    ``hosts`` is ``{host: {applications, oauth_configs, tdc_files}}``.
    """
    merged = {}
    for host in sorted(hosts):
        data = hosts[host]
        for item in host_tokens(data.get("applications"), data.get("oauth_configs"), data.get("tdc_files"), config_ids):
            key = (item["config"], item["token"], item["aud"], item["source"], tuple(item["tdcs"]))
            entry = merged.setdefault(key, dict(item, applications=[], hosts=[]))
            entry.pop("application", None)
            if item["application"] not in entry["applications"]:
                entry["applications"].append(item["application"])
            if not entry["hosts"] or entry["hosts"][-1] != host:  # hosts come in order: O(1), not O(hosts)
                entry["hosts"].append(host)
    return [merged[key] for key in sorted(merged, key=lambda k: tuple(str(part) for part in k))]


def connection_configs(hosts: dict) -> set:
    """The OAuth config ids the declared Redshift connections name (``oauth_config``)."""
    return {
        connection.get("oauth_config")
        for data in hosts.values()
        for connection in data.get("redshift_connections") or []
        if isinstance(connection, dict) and connection.get("oauth_config")
    }


def derived_audiences(tokens: list) -> list:
    """The audiences IAM must trust for ``tokens`` (those whose aud is known), in a stable order."""
    return sorted({item["aud"] for item in tokens if item["aud"] is not None})


def describe(item: dict) -> str:
    """'OAuth config X on desktop, server federates the access token (TDC t sets ...), whose aud is ...'.

    The hosts are not named here: the finding's ``hosts`` (and its summary line) list them.
    """
    why = ""
    if item["token"] == FEDERATED_ACCESS:
        why = " (TDC %s sets %s=yes)" % (", ".join(str(name) for name in item["tdcs"]), FEDERATE_CAPABILITY)
    elif item["tdcs"]:
        why = " (TDC %s does not set %s)" % (", ".join(str(name) for name in item["tdcs"]), FEDERATE_CAPABILITY)
    text = "OAuth config %s on %s federates the %s%s" % (
        item["config"],
        ", ".join(item["applications"]),
        item["token"],
        why,
    )
    if item["aud"] is None:
        return text
    return "%s, whose aud is %r (%s)" % (text, item["aud"], item["source"])
