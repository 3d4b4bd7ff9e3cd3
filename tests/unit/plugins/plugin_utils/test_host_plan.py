# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The one host profile: preflight, the sync and the tsm node choice give the same answer."""

import pytest

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._entry import host_entry, plan_inputs
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._fleet import fleet_plan
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._profile import (
    DEFAULTS,
    applications_of,
    host_profile,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._render import (
    Renderer,
    compact_files,
    expand_files,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._preflight import (
    _client_apps,
    _is_server,
)

OKTA = {
    "id": "custom_redshift_okta",
    "idp": "okta",
    "idp_base_url": "https://corp.okta.example",
    "client_id_desktop": "desktop-client",
    "install_on": ["desktop", "prep", "bridge"],
}
TDC = {
    "name": "redshift-oauth",
    "class": "redshift",
    "customizations": {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": "yes"},
    "install_on": ["server", "bridge", "desktop", "prep"],
}
GROUPS = {
    "all": ["ts1", "ts2", "mixed", "deskbridge", "declared", "plain"],
    "tableau_server": ["ts1", "ts2", "mixed"],
    "tableau_server_initial": ["ts1"],
    "tableau_bridge": ["mixed", "deskbridge"],
    "tableau_desktop": ["deskbridge"],
}


def host_vars(host, **extra):
    values = {
        "group_names": sorted(g for g, members in GROUPS.items() if host in members and g != "all"),
        "tabops_oauth_configs": [OKTA],
        "tabops_tdc_files": [TDC],
        "tabops_desktop_users": ["ann"],
    }
    values.update(extra)
    return values


FLEET = {
    "ts1": host_vars("ts1"),
    "ts2": host_vars("ts2"),
    # In two groups, and tabops_applications adds what no group says.
    "mixed": host_vars("mixed", tabops_applications=["desktop"]),
    "deskbridge": host_vars("deskbridge"),
    # In no Tableau group: what it runs comes from tabops_applications alone.
    "declared": host_vars("declared", tabops_applications=["server", "bridge"]),
    "plain": host_vars("plain"),
}
EXPECTED = {
    "ts1": ["server"],
    "ts2": ["server"],
    "mixed": ["server", "desktop", "bridge"],
    "deskbridge": ["desktop", "prep", "bridge"],
    "declared": ["server", "bridge"],
    "plain": [],
}


def test_applications_are_the_union_of_groups_and_tabops_applications():
    for host, expected in EXPECTED.items():
        assert host_profile(host, FLEET[host], GROUPS)["applications"] == expected, host
    assert applications_of(["tableau_desktop"], ["bridge"]) == ["desktop", "prep", "bridge"]
    assert applications_of([], []) == []


def test_preflight_sync_and_tsm_node_choice_agree_for_every_host():
    plan = fleet_plan(FLEET, GROUPS)
    assert plan["errors"] == 0, plan["lines"]
    for host, data in FLEET.items():
        sync = host_profile(host, data, GROUPS)  # what the action computes from the host's task vars
        preflight = plan["hosts"][host]["profile"]
        assert preflight == sync, host
        # The fleet-wide rules decide "is it a server / which client apps" with the same rule.
        rule_data = {"groups": data["group_names"], "applications": data.get("tabops_applications")}
        assert _is_server(rule_data) == sync["is_server"], host
        assert _client_apps(rule_data) == set(sync["applications"]) - {"server"}, host
        assert sync["tsm_node"] == plan["tsm_node"] == "ts1"
        assert sync["is_tsm_node"] == (host == "ts1")
    assert [h for h in FLEET if plan["hosts"][h]["profile"]["is_server"]] == ["ts1", "ts2", "mixed", "declared"]


def test_the_tsm_node_is_tabops_tsm_node_else_the_first_initial_node():
    fleet = {host: dict(data, tabops_tsm_node="ts2") for host, data in FLEET.items()}
    plan = fleet_plan(fleet, GROUPS)
    assert plan["tsm_node"] == "ts2"
    assert [h for h in fleet if host_profile(h, fleet[h], GROUPS)["is_tsm_node"]] == ["ts2"]
    groups = dict(GROUPS, tableau_server_initial=[])
    assert host_profile("ts1", FLEET["ts1"], groups)["tsm_node"] == ""


def test_the_tsm_node_must_be_a_server_and_be_named_once():
    fleet = {host: dict(data, tabops_tsm_node="deskbridge") for host, data in FLEET.items()}
    codes = {f["code"] for f in fleet_plan(fleet, GROUPS)["findings"] if f["severity"] == "error"}
    assert codes == {"tsm-node-not-a-server"}
    fleet = dict(FLEET, ts2=dict(FLEET["ts2"], tabops_tsm_node="mixed"))
    codes = {f["code"] for f in fleet_plan(fleet, GROUPS)["findings"] if f["severity"] == "error"}
    assert codes == {"tsm-node-ambiguous"}


def test_os_family_comes_from_the_variable_then_facts_then_the_connection():
    assert host_profile("ts1", dict(FLEET["ts1"], tabops_os_family="Darwin"), GROUPS)["layout_family"] == "Darwin"
    assert (
        host_profile("ts1", dict(FLEET["ts1"], ansible_facts={"os_family": "RedHat"}), GROUPS)["os_family"] == "RedHat"
    )
    windows = host_profile("deskbridge", dict(FLEET["deskbridge"], ansible_connection="winrm"), GROUPS)
    assert windows["layout_family"] == "Windows"
    assert windows["folders"][0]["path"].startswith("C:\\Users\\")
    assert host_profile("ts1", FLEET["ts1"], GROUPS)["os_family"] == "Linux"


def test_profile_folders_are_the_folders_of_the_sync():
    profile = host_profile("deskbridge", FLEET["deskbridge"], GROUPS)
    assert profile["folders"] == host_entry(profile, FLEET["deskbridge"])["module_args"]["folders"]
    assert profile["desktop_users"] == ["ann"] and profile["bridge_user"] == "root"
    assert host_profile("ts1", FLEET["ts1"], GROUPS)["desktop_users"] == []


def test_each_distinct_document_is_rendered_once_for_the_whole_fleet():
    hosts = {f"desk{i}": dict(host_vars("deskbridge"), group_names=["tableau_desktop"]) for i in range(20)}
    plan = fleet_plan(hosts, {"all": list(hosts), "tableau_desktop": list(hosts)})
    assert plan["renders"] == 2  # one OAuth config, one TDC
    assert len(plan["documents"]) == 2
    files = plan["hosts"]["desk7"]["files"]
    assert {f["sha256"] for f in files} == set(plan["documents"])
    full = expand_files(files, plan["documents"])
    assert compact_files(full) == files
    assert all("<" in f["content"] for f in full)


def test_renderer_memoizes_by_canonical_json():
    renderer = Renderer()
    first = renderer("tdc", {"class": "redshift", "customizations": {"A": "yes", "B": "no"}}, "c")
    second = renderer("tdc", {"customizations": {"B": "no", "A": "yes"}, "class": "redshift"}, "c")
    assert first == second and renderer.renders == 1
    renderer("tdc", {"class": "redshift", "customizations": {"A": "yes"}}, "c")
    assert renderer.renders == 2


def test_plan_inputs_change_with_anything_the_files_depend_on():
    base = plan_inputs("deskbridge", FLEET["deskbridge"], GROUPS, ("oauth_config", "tdc"))
    assert base == plan_inputs("deskbridge", dict(FLEET["deskbridge"]), GROUPS, ("tdc", "oauth_config"))
    for change in (
        {"tabops_desktop_users": ["bob"]},
        {"tabops_oauth_configs": [dict(OKTA, label="x")]},
        {"tabops_paths": {"user_home": "/u/{user}"}},
        {"group_names": ["tableau_desktop"]},
    ):
        assert plan_inputs("deskbridge", dict(FLEET["deskbridge"], **change), GROUPS, ("oauth_config", "tdc")) != base


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_defaults_are_the_roles_defaults(name):
    from pathlib import Path

    import yaml

    roles = Path(__file__).resolve().parents[4] / "roles"
    for role in ("tableau_files", "preflight", "server_settings"):
        values = yaml.safe_load((roles / role / "defaults" / "main.yml").read_text()) or {}
        if name in values:
            assert values[name] == DEFAULTS[name], (role, name)
