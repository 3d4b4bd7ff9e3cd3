# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The planner (plugin_utils/_plan): host entries, the entry an action task gets, the fleet's tsm intent."""

from __future__ import annotations

import pytest

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._host_findings import facts_findings
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._entry import (
    FLEET_PLAN_SOURCE,
    JOURNALS_SOURCE,
    RENDERED_SOURCE,
    host_entry,
    task_entry,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._files import HostLayoutError
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._fleet import fleet_plan
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._profile import host_profile

SECRET = "canary-plan-secret-9f1e"
OKTA = {
    "id": "custom_redshift_okta",
    "idp": "okta",
    "idp_base_url": "https://corp.okta.example",
    "client_id_desktop": "desktop-client",
    "install_on": ["desktop", "prep", "bridge"],
    "server_client": {"client_id": "server-client", "client_secret": SECRET},
}
TDC = {
    "name": "redshift-oauth",
    "class": "redshift",
    "customizations": {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": "yes"},
    "install_on": ["server", "desktop", "prep", "bridge"],
}
GROUPS = {
    "all": ["ts1", "ts2", "desk1"],
    "tableau_server": ["ts1", "ts2"],
    "tableau_server_initial": ["ts2"],
    "tableau_desktop": ["desk1"],
}
BASE = {
    "tabops_oauth_configs": [OKTA],
    "tabops_tdc_files": [TDC],
    "tabops_desktop_users": ["ann"],
    "tabops_server_url": "https://tableau.example",
}


def fleet_vars(**extra):
    return {
        host: dict(BASE, group_names=sorted(g for g, m in GROUPS.items() if host in m and g != "all"), **extra)
        for host in GROUPS["all"]
    }


def test_a_host_entry_holds_the_module_arguments_from_the_host_variables():
    data = fleet_vars(tabops_backup_keep=2, tabops_tdc_conflicts="warn")["desk1"]
    entry = host_entry(host_profile("desk1", data, GROUPS), data)
    args = entry["module_args"]
    assert args["folders"] == entry["profile"]["folders"]
    assert (args["backup_keep"], args["tdc_conflicts"], args["backup"]) == (2, "warn", True)
    assert args["host_facts"]["tableau_server"] is False and "files" not in args
    assert sorted({f["kind"] for f in entry["files"]}) == ["oauth_config", "tdc"]
    assert entry["checks"]["driver_required"] is True
    off = host_entry(host_profile("desk1", data, GROUPS), dict(data, tabops_preflight_host_checks="no"))
    assert "host_facts" not in off["module_args"]
    windows = dict(data, tabops_os_family="Windows")
    assert "host_facts" not in host_entry(host_profile("desk1", windows, GROUPS), windows)["module_args"]


def test_a_bool_variable_that_is_not_one_is_named():
    data = dict(fleet_vars()["desk1"], tabops_preflight_use_tsm="perhaps")
    with pytest.raises(ValueError, match="tabops_preflight_use_tsm: must be true or false"):
        host_entry(host_profile("desk1", data, GROUPS), data)


def test_the_task_gets_the_published_entry_while_it_applies_and_a_fresh_one_after():
    hosts_vars = fleet_vars()
    fleet = fleet_plan(hosts_vars, GROUPS)
    assert fleet["errors"] == 0, fleet["lines"]
    entry, source = task_entry("desk1", hosts_vars["desk1"], GROUPS, fleet)
    assert source == FLEET_PLAN_SOURCE
    assert all("desktop-client" in f["content"] for f in entry["files"] if f["kind"] == "oauth_config")
    fresh, fresh_source = task_entry("desk1", hosts_vars["desk1"], GROUPS, None)
    assert fresh_source == RENDERED_SOURCE
    assert fresh["files"] == entry["files"] and fresh["module_args"] == entry["module_args"]
    # A variable changed after the plan (play vars, set_fact): the published entry no longer applies.
    changed = dict(hosts_vars["desk1"], tabops_backup_keep=1)
    entry, source = task_entry("desk1", changed, GROUPS, fleet)
    assert (source, entry["module_args"]["backup_keep"]) == (RENDERED_SOURCE, 1)
    # The task asks for host checks other than the plan made: planned again, without the facts request.
    entry, source = task_entry("desk1", hosts_vars["desk1"], GROUPS, fleet, host_checks=False)
    assert source == RENDERED_SOURCE and "host_facts" not in entry["module_args"]
    # A plan whose documents are gone is incomplete: planned again.
    entry, source = task_entry("desk1", hosts_vars["desk1"], GROUPS, dict(fleet, documents={}))
    assert source == RENDERED_SOURCE and entry["files"]


def test_a_rollback_gets_the_folders_only_even_when_the_declared_files_are_broken():
    broken = dict(fleet_vars()["desk1"], tabops_tdc_files=[{"name": "../x", "class": "redshift"}])
    with pytest.raises(HostLayoutError, match="plain file name"):
        task_entry("desk1", broken, GROUPS)
    entry, source = task_entry("desk1", broken, GROUPS, kinds=["tdc"], journal_only=True)
    assert source == JOURNALS_SOURCE and entry["files"] == []
    assert entry["module_args"]["folders"] and {d["kind"] for d in entry["module_args"]["folders"]} == {"tdc"}
    assert "host_facts" not in entry["module_args"]
    with pytest.raises(HostLayoutError, match="tabops_desktop_users"):
        task_entry("desk1", dict(broken, tabops_desktop_users=[]), GROUPS, journal_only=True)


def test_the_fleet_plan_holds_the_tsm_intent_of_the_tsm_node():
    hosts_vars = fleet_vars(tabops_group_federation=True, tabops_odbc_extras_allowlist=["KeepAlive"])
    hosts_vars["ts2"]["tabops_server_oauth_other_clients"] = [
        {
            "id": "snowflake:other",
            "client_id": "o",
            "client_secret": "other-secret-5d",
            "redirect_uri": "https://tableau.example/auth/add_oauth_token",
        }
    ]
    plan = fleet_plan(hosts_vars, GROUPS)
    assert plan["errors"] == 0, plan["lines"]
    tsm = plan["tsm"]
    assert tsm["node"] == plan["tsm_node"] == "ts2"
    assert [client["id"] for client in tsm["oauth_clients"]] == ["redshift:custom_redshift_okta", "snowflake:other"]
    assert tsm["oauth_clients"][0]["redirect_uri"] == "https://tableau.example/auth/add_oauth_token"
    assert tsm["oauth_clients_mode"] == "merge"
    assert tsm["allowlist_entries"] == ["group_federation", "KeepAlive"]
    # Bad data: the intent names the node only (the findings say why).
    bad = fleet_plan(fleet_vars(tabops_backup_keep=-1), GROUPS)
    assert bad["errors"] and bad["tsm"] == {"node": "ts2"}
    desktops = fleet_plan({"desk1": fleet_vars()["desk1"]}, {"all": ["desk1"], "tableau_desktop": ["desk1"]})
    assert desktops["tsm"] == {"node": ""}


def test_the_preflight_and_the_action_run_one_rule_code_over_returned_facts():
    hosts_vars = fleet_vars(tabops_preflight_supported_os={"debian": ["12"]})
    facts = {
        "drivers": {"v2": {"present": True, "version": "2.0.0.1", "library": "/opt/x.so", "version_source": "package"}},
        "os": {"id": "ubuntu", "version_id": "22.04"},
        "tableau_server": {"version": "2023.3.0", "source": "tsm"},
    }
    plan = fleet_plan(hosts_vars, GROUPS, host_facts={"ts1": facts})
    preflight = {(f["code"], f["severity"]) for f in plan["findings"] if f.get("host") == "ts1"}
    entry, _source = task_entry("ts1", hosts_vars["ts1"], GROUPS, plan)
    action = {(f["code"], f["severity"]) for f in facts_findings("ts1", facts, True, entry["checks"])}
    assert (
        preflight
        == action
        == {
            ("driver-too-old", "error"),
            ("tableau-server-too-old", "error"),
            ("os-unsupported", "warning"),
        }
    )


def test_the_kinds_the_data_model_offers_are_the_kinds_the_planner_knows():
    from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import KINDS
    from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._model import variables

    assert tuple(variables()["tableau_files_kinds"]["choices"]) == KINDS
