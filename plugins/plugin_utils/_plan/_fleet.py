# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The fleet plan, once per run on the controller (the preflight's ``run_once`` task, filter ``tableau_fleet_plan``).

``{findings, counts, lines, errors, documents, hosts, tsm, tsm_node, renders}``: every finding of the preflight rules
(``_preflight``) over the variables and the plan, each distinct document rendered once (``documents``, by the sha256
of its text), every host's entry (``hosts``, see ``_entry``) and the fleet's tsm intent (``tsm``). Hosts that share
their variables (group_vars) share their checks and their entry: each distinct set of values is planned once.
"""

from __future__ import annotations

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._host_findings import facts_findings, finalize
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._entry import (
    host_check_options,
    host_entry,
    plan_inputs,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._files import HostLayoutError
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._profile import (
    as_bool,
    host_profile,
    variable,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._render import (
    Renderer,
    compact_files,
    digest,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._preflight import (
    fleet_findings,
    plan_findings,
    summary_lines,
    tsm_node_findings,
    variable_problems,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._role_spec import spec_problems
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._server_clients import (
    ServerClientError,
    other_client_problems,
    server_oauth_clients,
)


def _distinct_key(host, data):
    """What a host's checks, profile and entry depend on; the host's name only when its groups are not in ``data``."""
    return digest(data) if isinstance(data.get("group_names"), (list, tuple)) else digest([host, data])


def _profile_of(host, profile):
    """``profile`` (of a host with the same variables) for ``host``: only the name and the tsm node flag differ."""
    return dict(profile, host=host, is_tsm_node=bool(profile["tsm_node"]) and profile["tsm_node"] == host)


def fleet_profiles(hosts_vars: dict, groups: dict | None) -> tuple[dict, dict]:
    """``({host: distinct key}, {host: profile})``: each distinct set of variables profiled once."""
    keys = {host: _distinct_key(host, data) for host, data in hosts_vars.items()}
    base_profiles: dict = {}
    for host, data in hosts_vars.items():
        if keys[host] not in base_profiles:
            base_profiles[keys[host]] = host_profile(host, data, groups)
    return keys, {host: _profile_of(host, base_profiles[keys[host]]) for host in hosts_vars}


def declared_clients(data: dict) -> tuple[list | None, list[str]]:
    """(every oauth.config.clients entry a server's data declares, or None; the problems that keep it from being)."""
    try:
        declared = server_oauth_clients(variable(data, "tabops_oauth_configs"), variable(data, "tabops_server_url"))
        problems = []
    except ServerClientError as exc:
        declared, problems = [], list(exc.problems)
    others = variable(data, "tabops_server_oauth_other_clients")
    problems += other_client_problems(others, [client["id"] for client in declared])
    return (None if problems else declared + list(others)), problems


def _plan_distinct(host, data, profile, groups, inventory_hosts, renderer):
    """The plan of one distinct set of host variables: ``{problems, layout, entry, clients}``.

    ``problems`` are the variables' (field, problem), ``layout`` what keeps the declared data from being laid out,
    ``entry`` the host entry without its profile, ``clients`` a server's declared tsm clients. Nothing in it depends
    on the host's name: ``data`` holds its group_names, and the tsm node comes from the variables and the groups.
    """
    problems = variable_problems(data, inventory_hosts)
    flagged = {field.split("[")[0].split(".")[0] for field, _problem in problems}
    problems += [(field, problem) for field, problem in spec_problems(data) if field not in flagged]
    plan = {"problems": problems, "layout": [], "entry": {}, "clients": None}
    if problems:
        return plan
    plan["entry"] = {"checks": host_check_options(data)}
    if not profile["is_tableau_host"]:
        return plan
    try:
        entry = host_entry(profile, data, render=renderer)
    except HostLayoutError as exc:
        plan["layout"] = exc.problems
        return plan
    if profile["is_server"]:
        plan["clients"], plan["layout"] = declared_clients(data)
    plan["entry"] = {
        "inputs": plan_inputs(host, data, groups),
        "files": compact_files(entry["files"]),
        "module_args": entry["module_args"],
        "checks": entry["checks"],
    }
    return plan


def _inventory_hosts(groups, profiles):
    # A tsm node outside the inventory is an error only where Tableau Server hosts are: an AWX/AAP slice of
    # desktops and bridges (its inventory is the slice) does not hold it and needs no tsm node.
    if not any(profile["is_server"] for profile in profiles.values()):
        return None
    return set((groups or {}).get("all") or []) or None


def fleet_tsm_node(profiles: dict) -> tuple[str, list[str]]:
    """(the node tsm runs on, every node the Tableau Server hosts name): ``_preflight.tsm_node_findings`` checks them."""
    named = sorted({p["tsm_node"] for p in profiles.values() if p["is_server"] and p["tsm_node"]})
    node = named[0] if named else next((p["tsm_node"] for p in profiles.values() if p["tsm_node"]), "")
    return node, named


def tsm_intent(tsm_node, hosts_vars, profiles, plans):
    """What the tsm node is to hold, from its variables (else the first server's): ``{node}``, and when that data is
    valid ``oauth_clients`` (every declared oauth.config.clients entry), ``oauth_clients_mode`` and
    ``allowlist_entries`` (the ODBC extras allowlist entries)."""
    servers = sorted(host for host, profile in profiles.items() if profile["is_server"])
    source = tsm_node if tsm_node in servers else (servers[0] if servers else None)
    intent = {"node": tsm_node}
    plan = plans.get(source)
    if plan is None or plan["problems"] or plan["clients"] is None:
        return intent
    data = hosts_vars[source]
    federation = ["group_federation"] if as_bool(variable(data, "tabops_group_federation")) else []
    intent["oauth_clients"] = plan["clients"]
    intent["oauth_clients_mode"] = variable(data, "tabops_server_oauth_clients_mode")
    intent["allowlist_entries"] = federation + list(variable(data, "tabops_odbc_extras_allowlist"))
    return intent


def rule_data(host_vars: dict, profile: dict) -> dict:
    """The data the fleet-wide rules (``_preflight.fleet_findings``) read of one host."""
    return {
        "groups": profile["groups"],
        "applications": profile["applications"],
        "oauth_configs": variable(host_vars, "tabops_oauth_configs"),
        "tdc_files": variable(host_vars, "tabops_tdc_files"),
        "group_federation": as_bool(variable(host_vars, "tabops_group_federation")),
        "odbc_extras_allowlist": variable(host_vars, "tabops_odbc_extras_allowlist"),
        "server_url": variable(host_vars, "tabops_server_url"),
        "redshift_connections": variable(host_vars, "tabops_redshift_connections"),
    }


def _plan_hosts(hosts_vars, groups, keys, profiles, renderer):
    """``({host: plan of its distinct set}, {host: entry})``."""
    inventory_hosts = _inventory_hosts(groups, profiles)
    distinct, plans, entries = {}, {}, {}
    for host in sorted(hosts_vars):
        key = keys[host]
        if key not in distinct:
            distinct[key] = _plan_distinct(host, hosts_vars[host], profiles[host], groups, inventory_hosts, renderer)
        plans[host] = distinct[key]
        entries[host] = dict(distinct[key]["entry"], profile=profiles[host])
    return plans, entries


def _findings(hosts_vars, profiles, plans, entries, tsm, iam_vars, host_facts):
    bad_vars = [(host, field, problem) for host in sorted(plans) for field, problem in plans[host]["problems"]]
    layout = [(host, "", problem) for host in sorted(plans) for problem in plans[host]["layout"]]
    found = plan_findings(bad_vars, layout) + tsm_node_findings(tsm["node"], tsm["named"], profiles)
    if not bad_vars:
        data = {host: rule_data(host_vars, profiles[host]) for host, host_vars in hosts_vars.items()}
        found += fleet_findings(data, iam_vars=iam_vars or {})
    for host, result in sorted((host_facts or {}).items()):
        if host in hosts_vars and not plans[host]["problems"]:
            found += facts_findings(host, result, profiles[host]["is_server"], entries[host]["checks"])
    return finalize(found, hosts_vars)


def fleet_plan(hosts_vars, groups=None, iam_vars=None, host_facts=None, render=None):
    """The fleet plan, once per run: every finding, each distinct document rendered once, every host's entry.

    ``hosts_vars`` is ``{host: variables}`` (unset variables take the data model's defaults), ``groups`` the
    inventory's groups, ``host_facts`` ``{host: registered redshift_odbc_facts result}`` when the hosts were
    read first (playbooks/preflight.yml). Returns ``{findings, counts, lines, errors, documents, hosts, tsm,
    tsm_node, renders}``; ``hosts[host]`` is ``{profile, inputs, files, module_args, checks}`` (files without their
    content: ``sha256`` names the text in ``documents``), ``{profile, checks}`` when the host runs no Tableau
    application or its data cannot be laid out, ``{profile}`` only when its variables have errors.
    """
    renderer = render or Renderer()
    keys, profiles = fleet_profiles(hosts_vars, groups)
    plans, entries = _plan_hosts(hosts_vars, groups, keys, profiles, renderer)
    tsm_node, named = fleet_tsm_node(profiles)
    tsm = {"node": tsm_node, "named": named}
    found = _findings(hosts_vars, profiles, plans, entries, tsm, iam_vars, host_facts)
    counts, lines = summary_lines(found)
    return {
        "findings": found,
        "counts": counts,
        "lines": lines,
        "errors": counts["error"],
        "documents": dict(renderer.documents),
        "hosts": entries,
        "tsm": tsm_intent(tsm_node, hosts_vars, profiles, plans),
        "tsm_node": tsm_node,
        "renders": renderer.renders,
    }
