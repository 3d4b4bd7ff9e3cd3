# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""What a host runs: its profile, the one place for every per-host decision.

:func:`host_profile` is THE function that says what a host runs (applications, OS family, users, folders, whether
it is a Tableau Server node and whether it is the tsm node). The fleet plan, the ``tableau_files`` action,
compliance and the tsm node choice all call it, so they cannot disagree. :func:`variable` reads a data-model
variable of a host (its default when unset).

Applications rule (docs/data-model.md, "What each host runs"): the union of the
host's groups (``tableau_server`` -> server, ``tableau_bridge`` -> bridge,
``tableau_desktop`` -> desktop + prep) and ``tabops_applications``.
"""

from __future__ import annotations

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import KINDS
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._model import spec_defaults
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._files import (
    TDC_APPLICATIONS,
    host_folders,
    module_folders,
    os_layout_family,
)

GROUP_APPLICATIONS = {
    "tableau_server": ("server",),
    "tableau_bridge": ("bridge",),
    "tableau_desktop": ("desktop", "prep"),
}
TSM_NODE_GROUP = "tableau_server_initial"
WINDOWS_CONNECTIONS = ("winrm", "psrp")
DEFAULT_MANAGED_COMMENT = "Managed by tabops.redshift_oauth"

# The data model's defaults (plugin_utils/_model), where a host's variables are read without a role in scope.
DEFAULTS = spec_defaults("preflight")
# The variables besides DEFAULTS a host's plan depends on.
CONTEXT_VARS = ("group_names", "ansible_facts", "ansible_connection", "ansible_shell_type", "ansible_managed")
TRUE_STRINGS = ("true", "yes", "on", "1")
FALSE_STRINGS = ("false", "no", "off", "0")


def as_bool(value):
    """Ansible's truthiness for a bool variable (``-e name=false`` arrives as a string)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_STRINGS + FALSE_STRINGS:
        return value.strip().lower() in TRUE_STRINGS
    if isinstance(value, int):
        return bool(value)
    raise ValueError("must be true or false, got %r" % (value,))


def variable(host_vars, name):
    """A data-model variable of a host, its default when unset (or None)."""
    value = host_vars.get(name)
    return DEFAULTS.get(name) if value is None else value


# --- the one host profile ---------------------------------------------------------------------------------------


def applications_of(group_names, declared_applications):
    """Union of the host's groups' applications and ``tabops_applications``, in a fixed order."""
    wanted = set(declared_applications or ())
    for group in group_names or ():
        wanted.update(GROUP_APPLICATIONS.get(group, ()))
    return [app for app in TDC_APPLICATIONS if app in wanted] + sorted(wanted - set(TDC_APPLICATIONS))


def tsm_node_of(host_vars, groups):
    """The node tsm runs on: ``tabops_tsm_node``, else the first host of ``tableau_server_initial``, else ""."""
    explicit = host_vars.get("tabops_tsm_node")
    if isinstance(explicit, str) and explicit:
        return explicit
    initial = (groups or {}).get(TSM_NODE_GROUP) or []
    return initial[0] if initial else ""


def os_family_of(host_vars):
    explicit = host_vars.get("tabops_os_family")
    if isinstance(explicit, str) and explicit:
        return explicit
    facts = host_vars.get("ansible_facts")
    if isinstance(facts, dict) and facts.get("os_family"):
        return facts["os_family"]
    if (
        host_vars.get("ansible_connection") in WINDOWS_CONNECTIONS
        or host_vars.get("ansible_shell_type") == "powershell"
    ):
        return "Windows"
    return "Linux"


def group_names_of(host, host_vars, groups):
    names = host_vars.get("group_names")
    if isinstance(names, (list, tuple)):
        return list(names)
    return sorted(group for group, members in (groups or {}).items() if host in members and group != "all")


def host_profile(host, host_vars, groups=None, kinds=KINDS):
    """What ``host`` runs, from its variables (``host_vars``: the host's variables, unset ones default) and the
    inventory's ``groups``.

    Returns ``{host, groups, applications, os_family, layout_family, desktop_users, bridge_user, is_server,
    is_tableau_host, tsm_node, is_tsm_node, folders, problems}``; ``folders`` is the ``folders`` option of
    the host module, ``problems`` what keeps the folders from being laid out (each naming the variable).
    """
    group_names = group_names_of(host, host_vars, groups)
    declared = variable(host_vars, "tabops_applications")
    applications = applications_of(group_names, declared if isinstance(declared, (list, tuple)) else [])
    os_family = os_family_of(host_vars)
    desktop_users = variable(host_vars, "tabops_desktop_users")
    bridge_user = variable(host_vars, "tabops_bridge_user")
    tsm_node = tsm_node_of(host_vars, groups)
    profile = {
        "host": host,
        "groups": [group for group in group_names if group in GROUP_APPLICATIONS or group == TSM_NODE_GROUP],
        "applications": applications,
        "os_family": os_family,
        "layout_family": os_layout_family(os_family),
        "desktop_users": list(desktop_users) if any(app in applications for app in ("desktop", "prep")) else [],
        "bridge_user": bridge_user if "bridge" in applications else "",
        "is_server": "server" in applications,
        "is_tableau_host": bool(applications),
        "tsm_node": tsm_node,
        "is_tsm_node": bool(tsm_node) and tsm_node == host,
        "folders": [],
        "problems": [],
    }
    try:
        folders, problems = host_folders(
            applications,
            desktop_users,
            bridge_user,
            os_family,
            variable(host_vars, "tabops_paths"),
            variable(host_vars, "tabops_server_services"),
            variable(host_vars, "tabops_server_file_owner"),
            variable(host_vars, "tabops_server_file_group"),
            kinds,
        )
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        folders, problems = {}, ["tabops_paths: cannot lay out the folders (%s)" % exc]
    profile["folders"] = module_folders(folders)
    profile["problems"] = problems
    return profile
