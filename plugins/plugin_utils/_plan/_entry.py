# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""One host's entry of the fleet plan: what the host runs and the host module's arguments, ready to hand over.

A host entry is ``{profile, files, module_args, checks}`` (the fleet plan adds ``inputs``): ``profile`` is
:func:`host_profile`, ``files`` the module's ``files`` (the fleet plan stores ``sha256`` instead of ``content``),
``module_args`` every other argument of the host module (``folders``, the options read from the host's
variables, the ``host_facts`` request), ``checks`` the options of the rules over the facts the host returns
(``_host_findings.facts_findings``). :func:`task_entry` is what the ``tableau_files`` action asks for: the published
entry while it still applies, else a fresh one.
"""

from __future__ import annotations

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._files import (
    HostLayoutError,
    plan_host_files,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._profile import (
    DEFAULT_MANAGED_COMMENT,
    KINDS,
    as_bool,
    group_names_of,
    host_profile,
    os_family_of,
    tsm_node_of,
    variable,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._render import (
    PROCESS_RENDERER,
    digest,
    expand_files,
)

# Host module options that come from a host's variables (a task argument of the same name wins).
MODULE_OPTIONS_FROM_VARS = {
    "tdc_conflicts": "tabops_tdc_conflicts",
    "backup": "tabops_backup",
    "backup_keep": "tabops_backup_keep",
    "run_timeout": "tabops_artifacts_run_timeout",
    "allow_system_users": "tabops_allow_system_desktop_users",
}
# Every variable a host entry depends on (besides its groups, OS family, tsm node and ansible_managed).
PLAN_VARS = (
    "tabops_oauth_configs",
    "tabops_tdc_files",
    "tabops_desktop_users",
    "tabops_applications",
    "tabops_os_family",
    "tabops_paths",
    "tabops_bridge_user",
    "tabops_server_services",
    "tabops_server_file_owner",
    "tabops_server_file_group",
    "tabops_tsm_node",
    *MODULE_OPTIONS_FROM_VARS.values(),
    "tabops_preflight_host_checks",
    "tabops_odbc_driver_search",
    "tabops_odbc_version_sources",
    "tabops_preflight_use_tsm",
    "tabops_tsm_packages_dir",
    "tabops_preflight_driver_required",
    "tabops_preflight_supported_os",
    "tabops_preflight_min_driver_versions",
    "tabops_preflight_min_server_version",
)
FLEET_PLAN_SOURCE = "fleet plan"
RENDERED_SOURCE = "rendered"
JOURNALS_SOURCE = "journals"


def managed_comment_of(host_vars: dict) -> str:
    comment = host_vars.get("ansible_managed")
    return comment if isinstance(comment, str) and comment else DEFAULT_MANAGED_COMMENT


def plan_inputs(host: str, host_vars: dict, groups: dict | None, kinds=KINDS) -> str:
    """Everything a host's entry depends on: the digest the action compares with the fleet plan's."""
    values = {name: variable(host_vars, name) for name in PLAN_VARS}
    values["managed_comment"] = managed_comment_of(host_vars)
    values["os_family"] = os_family_of(host_vars)
    values["groups"] = group_names_of(host, host_vars, groups)
    values["tsm_node"] = tsm_node_of(host_vars, groups)
    values["kinds"] = sorted(kinds)
    return digest(values)


def _bool_variable(host_vars: dict, name: str) -> bool:
    try:
        return as_bool(variable(host_vars, name))
    except ValueError as exc:
        raise ValueError("%s: %s" % (name, exc)) from None


def host_check_options(host_vars: dict) -> dict:
    """The options of the rules over a host's returned facts (``_host_findings.host_findings``), from its variables."""
    return {
        "driver_required": _bool_variable(host_vars, "tabops_preflight_driver_required"),
        "supported_os": variable(host_vars, "tabops_preflight_supported_os"),
        "min_versions": variable(host_vars, "tabops_preflight_min_driver_versions"),
        "min_server": variable(host_vars, "tabops_preflight_min_server_version"),
    }


def wants_host_facts(profile: dict, host_vars: dict, host_checks: bool | None = None) -> bool:
    """Whether the sync also reads the host's facts: ``host_checks`` (else the variable), on Linux only (the driver and
    Tableau Server discovery knows Linux layouts only, docs/modules.md)."""
    wanted = _bool_variable(host_vars, "tabops_preflight_host_checks") if host_checks is None else host_checks
    return bool(wanted) and profile["is_tableau_host"] and profile["layout_family"] == "Linux"


def module_args_of(profile: dict, host_vars: dict, kinds=KINDS, host_checks: bool | None = None) -> dict:
    """The host module's arguments besides ``files``: the folders, the options from the variables, host_facts."""
    module_args = {"folders": [folder for folder in profile["folders"] if folder["kind"] in kinds]}
    for option, name in MODULE_OPTIONS_FROM_VARS.items():
        module_args[option] = variable(host_vars, name)
    if wants_host_facts(profile, host_vars, host_checks):
        module_args["host_facts"] = {
            "drivers": variable(host_vars, "tabops_odbc_driver_search"),
            "version_sources": variable(host_vars, "tabops_odbc_version_sources"),
            "tableau_server": profile["is_server"],
            "use_tsm": _bool_variable(host_vars, "tabops_preflight_use_tsm"),
            "tsm_packages_dir": variable(host_vars, "tabops_tsm_packages_dir"),
        }
    return module_args


def host_files(profile: dict, host_vars: dict, kinds=KINDS, render=None) -> list[dict]:
    """The Tableau files of one host, from its profile; raises HostLayoutError naming every problem."""
    return plan_host_files(
        oauth_configs=variable(host_vars, "tabops_oauth_configs"),
        tdc_files=variable(host_vars, "tabops_tdc_files"),
        applications=profile["applications"],
        desktop_users=variable(host_vars, "tabops_desktop_users"),
        bridge_user=variable(host_vars, "tabops_bridge_user"),
        os_family=profile["os_family"],
        layout=variable(host_vars, "tabops_paths"),
        server_services=variable(host_vars, "tabops_server_services"),
        managed_comment=managed_comment_of(host_vars),
        server_file_owner=variable(host_vars, "tabops_server_file_owner"),
        server_file_group=variable(host_vars, "tabops_server_file_group"),
        kinds=kinds,
        render=render or PROCESS_RENDERER,
    )["files"]


def host_entry(profile: dict, host_vars: dict, kinds=KINDS, render=None, host_checks: bool | None = None) -> dict:
    """``{profile, files, module_args, checks}`` of one host. Raises HostLayoutError naming every problem of its
    declared data, ValueError naming a bool variable that is not one."""
    return {
        "profile": profile,
        "files": host_files(profile, host_vars, kinds, render),
        "module_args": module_args_of(profile, host_vars, kinds, host_checks),
        "checks": host_check_options(host_vars),
    }


def published_entry(fleet: object, host: str, inputs: str) -> dict | None:
    """This host's entry of the published fleet plan, its files with their text; None when there is none, when it
    was made from other data (``inputs`` differ) or when it is incomplete (the host's data had errors)."""
    entry = fleet.get("hosts", {}).get(host) if isinstance(fleet, dict) else None
    if not isinstance(entry, dict) or entry.get("inputs") != inputs or "module_args" not in entry:
        return None
    try:
        return dict(entry, files=expand_files(entry["files"], fleet["documents"]))
    except (KeyError, TypeError):
        return None


def _published(fleet, host, host_vars, groups, host_checks):
    if not (isinstance(fleet, dict) and isinstance(fleet.get("hosts"), dict) and fleet["hosts"].get(host)):
        return None  # no plan: not even the digest is computed
    entry = published_entry(fleet, host, plan_inputs(host, host_vars, groups))
    if entry is None or host_checks is None:
        return entry
    # The task asks for host checks other than the host's variables (the plan's) say: the entry does not apply.
    agrees = ("host_facts" in entry["module_args"]) == wants_host_facts(entry["profile"], host_vars, host_checks)
    return entry if agrees else None


def task_entry(host, host_vars, groups, fleet=None, kinds=KINDS, host_checks=None, journal_only=False):
    """``(entry, source)`` of ``host`` for one ``tableau_files`` task: the fleet plan's entry while it applies
    (source ``fleet plan``), else one planned here (``rendered``, each distinct document once per process); for a
    rollback or a run listing (``journal_only``) the folders alone (``journals``: the declared files may be what
    broke). Raises HostLayoutError or ValueError as :func:`host_entry`.
    """
    if journal_only:
        profile = host_profile(host, host_vars, groups)
        if profile["problems"]:
            raise HostLayoutError(profile["problems"])
        module_args = module_args_of(profile, host_vars, kinds, host_checks=False)
        return {"profile": profile, "files": [], "module_args": module_args, "checks": {}}, JOURNALS_SOURCE
    entry = _published(fleet, host, host_vars, groups, host_checks)
    if entry is not None:
        return entry, FLEET_PLAN_SOURCE
    profile = host_profile(host, host_vars, groups)
    return host_entry(profile, host_vars, kinds, host_checks=host_checks), RENDERED_SOURCE
