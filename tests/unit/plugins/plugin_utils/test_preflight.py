# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Preflight consistency rules: each misconfiguration produces exactly its finding; a correct setup none."""

from __future__ import annotations

import copy

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tabops.redshift_oauth.plugins.filter.preflight_findings import preflight_findings
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._host_findings import host_findings
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._preflight import (
    fleet_findings,
    iam_policy_spec,
)

SECRET = "canary-server-secret-3c9d"

OKTA = {
    "id": "custom_redshift_okta",
    "idp": "okta",
    "idp_base_url": "https://corp.okta.example",
    "auth_server": "default",
    "client_id_desktop": "0oa-desktop",
    "install_on": ["desktop", "prep", "bridge"],
    "server_client": {"client_id": "0oa-server", "client_secret": SECRET},
}
TDC = {"name": "redshift-oauth", "class": "redshift", "customizations": {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": "yes"}}
CONNECTION = {
    "name": "analytics",
    "host": "cluster-identifier.abc.us-west-1.redshift.amazonaws.com",
    "port": 5439,
    "database": "dev",
    "cluster_id": "cluster-identifier",
    "region": "us-west-1",
    "role_arn": "arn:aws:iam::123456789012:role/tableau-redshift-oauth",
    "group_federation": True,
    "oauth_config": "custom_redshift_okta",
}
IAM = {
    "redshift_iam_role_name": "tableau-redshift-oauth",
    "redshift_iam_account": "123456789012",
    "redshift_iam_region": "us-west-1",
    "redshift_iam_clusters": ["cluster-identifier"],
    "redshift_iam_db_names": ["dev"],
    "redshift_iam_group_federation": True,
}


def host(groups, **overrides):
    data = {
        "groups": groups,
        "applications": [],
        "oauth_configs": [copy.deepcopy(OKTA)],
        "tdc_files": [copy.deepcopy(TDC)],
        "group_federation": True,
        "odbc_extras_allowlist": [],
        "server_url": "https://tableau.corp.example",
        "redshift_connections": [copy.deepcopy(CONNECTION)],
    }
    data.update(overrides)
    return data


def fleet():
    return {
        "tsnode1": host(["tableau_server", "tableau_server_initial"]),
        "tsnode2": host(["tableau_server"]),
        "bridge1": host(["tableau_bridge"]),
        "desktop1": host(["tableau_desktop"]),
    }


def codes(findings, severity=None):
    return sorted(f["code"] for f in findings if severity is None or f["severity"] == severity)


def test_a_correct_setup_has_no_findings():
    assert fleet_findings(fleet(), IAM) == []


def _set(path, value, hosts=None):
    def mutate(data, iam):
        for name in hosts or list(data):
            target = data[name]
            *parents, last = path
            for key in parents:
                target = target[key]
            target[last] = value

    return mutate


def _rename_second_copy(data, iam):
    data["tsnode1"]["oauth_configs"].append(copy.deepcopy(OKTA))


def _okta_org_server(data, iam):
    for h in data.values():
        h["oauth_configs"][0]["auth_uri"] = "https://corp.okta.example/oauth2/v1/authorize"


def _different_content_in_a_group(data, iam):
    data["desktop1"]["oauth_configs"][0]["client_id_desktop"] = "0oa-other-desktop"


def _server_only_config(data, iam):
    for h in data.values():
        h["oauth_configs"][0]["install_on"] = []


def _duplicate_connection(data, iam):
    for h in data.values():
        h["redshift_connections"].append(copy.deepcopy(CONNECTION))


def _iam_off(data, iam):
    iam["redshift_iam_group_federation"] = False
    iam["redshift_iam_db_users"] = ["${redshift:DbUser}"]


def _iam_wrong_region(data, iam):
    iam["redshift_iam_region"] = "us-east-2"


def _iam_wrong_cluster(data, iam):
    iam["redshift_iam_clusters"] = ["other-cluster"]


def _iam_other_account(data, iam):
    iam["redshift_iam_account"] = "210987654321"


def _federation_off_everywhere_with_userid(data, iam):
    for h in data.values():
        h["group_federation"] = False
        h["redshift_connections"][0]["group_federation"] = False
    iam.update(
        redshift_iam_group_federation=False,
        redshift_iam_userid_condition={"role_unique_id": "AROAJ2UCCR6DPCEXAMPLE", "suffix": "@example.com"},
    )


def _allowlist_off_on_servers(data, iam):
    for name in ("tsnode1", "tsnode2"):
        data[name]["group_federation"] = False
    iam["redshift_iam_group_federation"] = True


MISCONFIGURATIONS = [
    pytest.param(_rename_second_copy, {"config-id-duplicate"}, id="config id twice on a host"),
    pytest.param(_different_content_in_a_group, {"config-id-conflict"}, id="same id, other content in a group"),
    pytest.param(_okta_org_server, {"okta-org-authorization-server"}, id="okta org authorization server"),
    pytest.param(
        _set(
            ["oauth_configs", 0, "server_client", "redirect_uri"],
            "https://old-tableau.corp.example/auth/add_oauth_token",
        ),
        {"redirect-uri-mismatch"},
        id="redirect uri of another server",
    ),
    pytest.param(
        _set(["oauth_configs", 0, "server_client", "redirect_uri"], "https://tableau.corp.example/oauth/callback"),
        {"redirect-uri-mismatch"},
        id="redirect uri with the wrong path",
    ),
    pytest.param(_set(["server_url"], ""), {"server-url-missing"}, id="no server url"),
    pytest.param(
        _set(["oauth_configs", 0, "server_client", "client_id"], "0oa-desktop"),
        {"server-client-same-as-desktop"},
        id="one IdP client for desktop and server",
    ),
    pytest.param(_server_only_config, {"server-client-config-not-on-clients"}, id="server config id not on clients"),
    pytest.param(_set(["tdc_files", 0, "class"], "postgres"), {"tdc-class-mismatch"}, id="tdc for another class"),
    pytest.param(_duplicate_connection, {"connection-duplicate"}, id="connection twice"),
    pytest.param(
        _set(["redshift_connections", 0, "oauth_config"], "custom_missing"),
        {"connection-oauth-config-unknown"},
        id="connection names an unknown config",
    ),
    pytest.param(_set(["redshift_connections", 0, "database"], ""), {"connection-field-missing"}, id="no database"),
    pytest.param(_set(["redshift_connections", 0, "ssl"], True), {"connection-field-unknown"}, id="unknown field"),
    pytest.param(
        _set(["redshift_connections", 0, "host"], "x.example", hosts=["desktop1"]),
        {"connection-conflict"},
        id="connection differs between groups",
    ),
    pytest.param(
        _allowlist_off_on_servers,
        {"group-federation-not-allowlisted", "group-federation-iam-mismatch"},
        id="group federation not allowlisted on the servers",
    ),
    pytest.param(
        _iam_off,
        {"group-federation-iam-mismatch", "group-federation-action-missing"},
        id="federation on, policy grants GetClusterCredentials",
    ),
    pytest.param(
        _set(["redshift_connections", 0, "role_arn"], "arn:aws:iam::123456789012:role/someone-else"),
        {"connection-role-arn-mismatch"},
        id="wrong role arn",
    ),
    pytest.param(_iam_wrong_region, {"region-mismatch"}, id="policy in another region"),
    pytest.param(_iam_wrong_cluster, {"cluster-mismatch", "db-name-not-covered"}, id="policy for another cluster"),
    pytest.param(
        _iam_other_account, {"account-mismatch", "connection-role-arn-mismatch"}, id="policy in another account"
    ),
    pytest.param(
        _federation_off_everywhere_with_userid,
        {"userid-session-name-mismatch"},
        id="aws:userid condition vs the driver's default session name",
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), MISCONFIGURATIONS)
def test_each_misconfiguration_produces_exactly_its_finding(mutate, expected):
    data, iam = fleet(), dict(IAM)
    mutate(data, iam)
    found = fleet_findings(data, iam)
    assert {f["code"] for f in found} == expected, found
    for item in found:
        assert item["severity"] in ("error", "warning")
        assert item["message"] and item["fix"]
        assert item.get("host") or item.get("hosts"), item
        assert SECRET not in repr(item)


def test_findings_name_host_config_and_field():
    data = fleet()
    for name in data:
        data[name]["oauth_configs"][0]["server_client"]["redirect_uri"] = "https://x.example/auth/add_oauth_token"
    found = fleet_findings(data, IAM)
    assert [(f["code"], f["host"]) for f in found] == [
        ("redirect-uri-mismatch", "tsnode1"),
        ("redirect-uri-mismatch", "tsnode2"),
    ]
    item = found[1]
    assert item["host"] == "tsnode2"
    assert item["config"] == "custom_redshift_okta"
    assert item["field"] == "server_client.redirect_uri"
    assert "tsnode2" in item["message"] and "https://tableau.corp.example" in item["message"]


def test_a_conflict_in_a_secret_names_the_field_but_never_the_value():
    data = fleet()
    data["tsnode2"]["oauth_configs"][0]["server_client"]["client_secret"] = "canary-other-secret-77aa"
    (item,) = fleet_findings(data, IAM)
    assert item["code"] == "config-id-conflict"
    assert item["field"] == "server_client.client_secret"
    assert "canary-other-secret-77aa" not in repr(item) and SECRET not in repr(item)
    assert item["hosts"] == ["bridge1", "desktop1", "tsnode1", "tsnode2"]


def test_install_on_may_differ_between_groups():
    data = fleet()
    data["desktop1"]["oauth_configs"][0]["install_on"] = ["desktop"]
    assert fleet_findings(data, IAM) == []


def test_without_iam_variables_the_policy_is_not_checked():
    assert codes(fleet_findings(fleet(), {})) == ["iam-not-checked"]
    assert iam_policy_spec({"redshift_iam_region": "us-west-1"}) is None


def test_the_iam_spec_uses_the_redshift_iam_role_defaults():
    spec = iam_policy_spec(IAM)
    assert spec["partition"] == "aws" and spec["db_users"] == ["${redshift:DbUser}"]
    assert "describe_clusters" not in spec and "userid_condition" not in spec


# --- host facts --------------------------------------------------------------


def facts(v1=None, v2=None, server=None, os_id="debian", os_version="12", is_server=False):
    def driver(version, source="package"):
        if version is None:
            return {"present": False, "library": None, "version": None, "searched": ["/opt/amazon/x.so"]}
        return {"present": True, "library": "/opt/amazon/x.so", "version": version or None, "version_source": source}

    return {
        "drivers": {"v1": driver(v1), "v2": driver(v2)},
        "tableau_server": {"version": server, "source": "packages:/opt/tableau/x"},
        "os": {"id": os_id, "version_id": os_version},
        "is_server": is_server,
    }


@pytest.mark.parametrize(
    ("host_facts", "required", "expected"),
    [
        pytest.param(facts(v2="2.0.1.0"), True, ["driver-ok"], id="v2 2.0.1.0"),
        pytest.param(facts(v2="2.1.5.0"), True, ["driver-ok"], id="v2 newer"),
        pytest.param(facts(v1="1.5.9.1011"), True, ["driver-ok"], id="v1 1.5.9.1011"),
        pytest.param(facts(v1="1.4.65.1000"), True, ["driver-too-old"], id="v1 1.4.65"),
        pytest.param(facts(v2="2.0.0.11"), True, ["driver-too-old"], id="v2 2.0.0.11"),
        pytest.param(facts(v1="1.4.65.1000", v2="2.0.1.0"), True, ["driver-ok", "driver-too-old"], id="both, v1 old"),
        pytest.param(facts(v2=""), True, ["driver-version-unknown"], id="version unreadable"),
        pytest.param(facts(), True, ["driver-missing"], id="missing, required"),
        pytest.param(facts(), False, ["driver-missing"], id="missing, not required"),
        pytest.param(
            facts(v2="2.0.1.0", os_id="debian", os_version="10"), True, ["driver-ok", "os-unsupported"], id="old debian"
        ),
        pytest.param(facts(v2="2.0.1.0", os_id="rhel", os_version="9.4"), True, ["driver-ok"], id="rhel 9.4"),
        pytest.param(facts(v2="2.0.1.0", server="2024.2", is_server=True), True, ["driver-ok"], id="server 2024.2"),
        pytest.param(
            facts(v2="2.0.1.0", server="2023.1", is_server=True),
            True,
            ["driver-ok", "tableau-server-too-old"],
            id="server 2023.1",
        ),
        pytest.param(
            facts(v2="2.0.1.0", server="2023.3.1", is_server=True),
            True,
            ["driver-ok", "tableau-server-too-old"],
            id="server 2023.3.1",
        ),
        pytest.param(
            facts(v2="2.0.1.0", server="2023.3", is_server=True),
            True,
            ["driver-ok", "tableau-server-version-ambiguous"],
            id="server 2023.3 (build only)",
        ),
        pytest.param(
            facts(v2="2.0.1.0", server=None, is_server=True),
            True,
            ["driver-ok", "tableau-server-version-unknown"],
            id="server version unknown",
        ),
        pytest.param({"unreachable": True}, True, ["host-unreachable"], id="unreachable"),
        pytest.param({"failed": True, "msg": "drivers: bad"}, True, ["host-check-failed"], id="module failed"),
    ],
)
def test_host_findings(host_facts, required, expected):
    found = host_findings("h1", host_facts, driver_required=required)
    assert codes(found) == sorted(expected)
    severities = {f["code"]: f["severity"] for f in found}
    if "driver-missing" in severities:
        assert severities["driver-missing"] == ("error" if required else "info")
    for code in ("driver-too-old", "tableau-server-too-old"):
        if code in severities:
            assert severities[code] == "error"
    assert all(f["host"] == "h1" and "h1" in f["message"] for f in found)


def test_minimum_versions_are_overridable():
    found = host_findings("h1", facts(v2="2.0.1.0"), min_versions={"v2": "2.1.0.0"})
    assert codes(found) == ["driver-too-old"] and "2.1.0.0" in found[0]["message"]


# --- the filter ------------------------------------------------------------------


def test_the_filter_adds_hosts_and_a_summary_errors_first():
    data = fleet()
    data["tsnode1"]["facts"] = facts(v1="1.4.65.1000", is_server=True, server="2024.2")
    data["desktop1"]["facts"] = facts(v2="2.0.1.0")
    found = preflight_findings(data, iam_vars=IAM)
    assert [f["severity"] for f in found] == ["error", "info"]
    assert found[0]["hosts"] == ["tsnode1"]
    assert found[0]["summary"].startswith("ERROR driver-too-old [tsnode1]: host tsnode1: Redshift ODBC driver v1")
    fleet_wide = preflight_findings(fleet(), iam_vars={})
    assert fleet_wide[0]["hosts"] == ["bridge1", "desktop1", "tsnode1", "tsnode2"]
    assert "[all hosts]" in fleet_wide[0]["summary"]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ([], r"must be a dict \{host: data\}"),
        ({"h1": []}, "data of host h1 must be a dict"),
        ({"h1": {"oauth_configs": "x"}}, "host h1: tabops_oauth_configs must be a list of dicts"),
        ({"h1": {"redshift_connections": ["x"]}}, "host h1: tabops_redshift_connections must be a list of dicts"),
    ],
)
def test_the_filter_rejects_malformed_input(data, match):
    with pytest.raises(AnsibleFilterError, match=match):
        preflight_findings(data)


def test_the_filter_documents_itself():
    import json
    import subprocess
    from pathlib import Path

    repo = Path(__file__).resolve().parents[4]
    completed = subprocess.run(
        [
            str(repo / ".venv" / "bin" / "ansible-doc"),
            "-t",
            "filter",
            "--json",
            "tabops.redshift_oauth.preflight_findings",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    doc = json.loads(completed.stdout)["tabops.redshift_oauth.preflight_findings"]
    assert doc["doc"]["short_description"] and doc["examples"] and doc["return"]["_value"]["contains"]["summary"]


# --- every variable, before any host is touched (issue 10 item 5) ---------------------------------------------------

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._fleet import fleet_plan  # noqa: E402
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._preflight import variable_problems  # noqa: E402
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._role_spec import spec_problems  # noqa: E402

PLAN_GROUPS = {"all": ["ts1", "desk1"], "tableau_server": ["ts1"], "tableau_desktop": ["desk1"]}


def _plan_vars(**extra):
    base = {"tabops_desktop_users": ["ann"]}
    base.update(extra)
    return {
        "ts1": dict(base, group_names=["tableau_server"]),
        "desk1": dict(base, group_names=["tableau_desktop"]),
    }


@pytest.mark.parametrize(
    ("name", "value", "field", "words"),
    [
        ("tabops_odbc_extras_allowlist", ["Foo,Bar"], "tabops_odbc_extras_allowlist[0]", "separator"),
        ("tabops_odbc_extras_allowlist", [5], "tabops_odbc_extras_allowlist[0]", "must be a string"),
        ("tabops_odbc_extras_allowlist", ["Key\nOther"], "tabops_odbc_extras_allowlist[0]", "control character"),
        ("tabops_odbc_extras_allowlist", ["A" * 1024 * 1024], "tabops_odbc_extras_allowlist[0]", "characters long"),
        ("tabops_odbc_extras_allowlist", "KeepAlive", "tabops_odbc_extras_allowlist", "list"),
        ("tabops_odbc_extras_allowlist_separator", ", ", "tabops_odbc_extras_allowlist_separator", "one punctuation"),
        ("tabops_odbc_extras_allowlist_key", "no key", "tabops_odbc_extras_allowlist_key", "tsm key"),
        ("tabops_backup_keep", -1, "tabops_backup_keep", "at least 0"),
        ("tabops_backup_keep", "many", "tabops_backup_keep", "convert to int"),  # the argument spec's words
        ("tabops_tsm_request_timeout", 0, "tabops_tsm_request_timeout", "at least 1"),
        ("tabops_backup", "maybe", "tabops_backup", "true or false"),
        ("tabops_group_federation", [], "tabops_group_federation", "true or false"),
        ("tabops_tdc_conflicts", "ignore", "tabops_tdc_conflicts", "must be one of"),
        ("tabops_tsm_apply", "later", "tabops_tsm_apply", "must be one of"),
        ("tabops_os_family", "Plan9", "tabops_os_family", "must be one of"),
        ("tabops_applications", ["cloud"], "tabops_applications", "must be one or more of"),  # the spec's words
        ("tabops_desktop_users", ["../etc"], "tabops_desktop_users[0]", "not a user"),
        ("tabops_desktop_users", "ann", "tabops_desktop_users", "list of strings"),
        ("tabops_bridge_user", "", "tabops_bridge_user", "non-empty"),
        ("tabops_server_services", ["vizql server"], "tabops_server_services[0]", "service name"),
        ("tabops_server_url", "http://tableau.example", "tabops_server_url", "https"),
        ("tabops_tsm_packages_dir", "opt/tableau", "tabops_tsm_packages_dir", "absolute path"),
        ("tabops_tsm_node", "nosuchhost", "tabops_tsm_node", "not a host of the inventory"),
        ("tabops_paths", {"desktop_repo": "/x"}, "tabops_paths.desktop_repo", "unknown key"),
        ("tabops_paths", "/home", "tabops_paths", "dict"),
        ("tabops_bridge_service", "bridge; reboot", "tabops_bridge_service", "unit name"),
        ("tabops_preflight_min_driver_versions", {"v3": "1"}, "tabops_preflight_min_driver_versions.v3", "unknown"),
        ("tabops_preflight_min_server_version", "latest", "tabops_preflight_min_server_version", "not a version"),
        ("tabops_odbc_driver_search", {"v1": "x"}, "tabops_odbc_driver_search", "dict"),
        ("tabops_odbc_version_sources", ["rpm"], "tabops_odbc_version_sources", "must be one or more of"),
        ("tabops_oauth_configs", {"id": "x"}, "tabops_oauth_configs", "list of dicts"),
        ("tabops_tdc_files", ["redshift"], "tabops_tdc_files[0]", "must be a dict"),
        ("tabops_redshift_connections", "lab", "tabops_redshift_connections", "list of dicts"),
    ],
)
def test_every_bad_variable_is_an_error_naming_field_and_hosts(name, value, field, words):
    # The argument spec of the data model (types, choices, shapes) and variable_problems (what a spec cannot say),
    # as the plan runs them: one error per bad variable, whichever of the two finds it.
    plan = fleet_plan(_plan_vars(**{name: value}), PLAN_GROUPS)
    errors = [f for f in plan["findings"] if f["severity"] == "error"]
    assert [(e["code"], e["field"], e["hosts"]) for e in errors] == [("variable-invalid", field, ["desk1", "ts1"])]
    assert words in errors[0]["message"]
    assert errors[0]["message"].startswith(field + ": ") and "hosts desk1, ts1" in errors[0]["message"]
    assert plan["hosts"]["ts1"].get("files") is None  # nothing planned for a host with bad data


def test_good_defaults_and_strings_from_extra_vars_pass():
    assert variable_problems({}) == [] and spec_problems({}) == []
    from_extra_vars = {"tabops_backup": "false", "tabops_backup_keep": "3", "tabops_group_federation": "yes"}
    assert variable_problems(from_extra_vars) == [] and spec_problems(from_extra_vars) == []


@pytest.mark.parametrize(
    ("name", "value", "field", "words"),
    [
        # The spec would make ["a", "b"] of "a,b", {"k": "v"} of "k=v" and a string of a list; the planner reads the
        # inventory's values as they are, so these are errors, not conversions.
        ("tabops_desktop_users", "ann,bob", "tabops_desktop_users", "must be a list of strings, got str"),
        ("tabops_odbc_extras_allowlist", "KeepAlive,Foo", "tabops_odbc_extras_allowlist", "must be a list of strings"),
        ("tabops_paths", "user_home=/u", "tabops_paths", "must be a dict, got str"),
        ("tabops_tdc_files", ["name=x"], "tabops_tdc_files[0]", "must be a dict, got str"),
        ("tabops_bridge_user", ["tableau"], "tabops_bridge_user", "must be a string, got list"),
        # Ansible's booleans the collection's readers do not take.
        ("tabops_backup", "y", "tabops_backup", "true or false"),
        # Least values: a spec has no minimum, the data model does (from -e, a string).
        ("tabops_tsm_status_poll_interval", "0", "tabops_tsm_status_poll_interval", "at least 1"),
    ],
)
def test_what_the_spec_would_convert_or_cannot_say_is_an_error(name, value, field, words):
    problems = spec_problems({name: value}) + variable_problems({name: value})
    assert {f for f, _p in problems} == {field} and any(words in p for _f, p in problems), problems
    plan = fleet_plan(_plan_vars(**{name: value}), PLAN_GROUPS)
    errors = [f for f in plan["findings"] if f["severity"] == "error"]
    assert [(f["field"], f["hosts"]) for f in errors] == [(field, ["desk1", "ts1"])]


def test_every_variable_the_preflight_checks_is_declared_once_in_the_model():
    from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils import _model
    from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._profile import DEFAULTS
    from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._role_spec import spec_options

    assert set(DEFAULTS) <= set(spec_options()) <= set(_model.variables())
    assert all(spec_options()[name] == _model.option_spec(_model.variables()[name]) for name in spec_options())


def test_a_server_client_secret_that_no_real_secret_has_is_refused_without_showing_it():
    configs = [
        {
            "id": "custom_redshift_okta",
            "idp": "okta",
            "idp_base_url": "https://corp.okta.example",
            "client_id_desktop": "d",
            "server_client": {"client_id": "s", "client_secret": "canary-secret-77\n"},
        }
    ]
    plan = fleet_plan(_plan_vars(tabops_oauth_configs=configs, tabops_server_url="https://t.example"), PLAN_GROUPS)
    errors = [f for f in plan["findings"] if f["severity"] == "error"]
    assert [e["field"] for e in errors] == [
        "tabops_oauth_configs[0] (custom_redshift_okta).server_client.client_secret"
    ]
    assert "control or non-XML characters" in errors[0]["message"]
    assert "canary-secret-77" not in repr(plan["findings"]) + repr(plan["lines"])


def test_a_document_that_does_not_render_is_an_error_naming_the_config_and_hosts():
    configs = [
        {"id": "redshift_okta", "idp": "okta", "idp_base_url": "https://corp.okta.example", "client_id_desktop": "d"}
    ]
    plan = fleet_plan(_plan_vars(tabops_oauth_configs=configs), PLAN_GROUPS)
    errors = [f for f in plan["findings"] if f["severity"] == "error"]
    assert [e["code"] for e in errors] == ["declared-data-invalid"]
    assert "tabops_oauth_configs[0] (redshift_okta)" in errors[0]["message"] and "custom_" in errors[0]["message"]
    assert errors[0]["hosts"] == ["desk1"]
    assert plan["lines"][0] == "preflight: 1 error(s), 0 warning(s), 0 info"


def test_a_tsm_node_outside_a_slice_without_servers_is_not_an_error():
    desktops = {
        "desk1": {"group_names": ["tableau_desktop"], "tabops_desktop_users": ["ann"], "tabops_tsm_node": "ts9"}
    }
    assert fleet_plan(desktops, {"all": ["desk1"], "tableau_desktop": ["desk1"]})["errors"] == 0
    servers = dict(desktops, ts1={"group_names": ["tableau_server"], "tabops_tsm_node": "ts9"})
    plan = fleet_plan(servers, {"all": ["desk1", "ts1"], "tableau_server": ["ts1"], "tableau_desktop": ["desk1"]})
    assert [f["field"] for f in plan["findings"] if f["severity"] == "error"] == ["tabops_tsm_node"]


@pytest.mark.parametrize("placeholder", ["CHANGE-ME-with-ansible-vault", "changeme", "<client secret>", "xxxxxxxx"])
def test_a_placeholder_client_secret_is_a_warning_naming_config_and_field(placeholder):
    hosts = fleet()
    for data in hosts.values():
        data["oauth_configs"][0]["server_client"]["client_secret"] = placeholder
    found = [f for f in fleet_findings(hosts) if f["code"] == "secret-placeholder"]
    assert [f["severity"] for f in found] == ["warning"]
    assert "custom_redshift_okta].server_client.client_secret" in found[0]["message"]
    assert placeholder not in found[0]["message"]
    assert sorted(found[0]["hosts"]) == sorted(hosts)


def test_a_real_looking_secret_is_not_a_placeholder():
    assert not [f for f in fleet_findings(fleet()) if f["code"] == "secret-placeholder"]


def test_the_role_argument_spec_is_checked_by_the_plan_naming_field_and_hosts():
    """What only the spec catches (a float where an int is declared) is an error of the plan, before any host."""
    plan = fleet_plan(_plan_vars(tabops_backup_keep=3.5), PLAN_GROUPS)
    errors = [f for f in plan["findings"] if f["severity"] == "error"]
    assert [(e["code"], e["field"], e["hosts"]) for e in errors] == [
        ("variable-invalid", "tabops_backup_keep", ["desk1", "ts1"])
    ]
    assert "float" in errors[0]["message"]


def test_each_distinct_set_of_host_variables_is_checked_and_planned_once(monkeypatch):
    from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan import _fleet

    calls = {"variable_problems": 0, "spec_problems": 0, "host_entry": 0}
    for name in calls:
        original = getattr(_fleet, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(_fleet, name, counted)
    servers = [f"ts{i}" for i in range(1, 41)]
    desktops = [f"desk{i}" for i in range(1, 61)]
    groups = {
        "all": servers + desktops,
        "tableau_server": servers,
        "tableau_server_initial": ["ts1"],
        "tableau_desktop": desktops,
    }
    tdc = {
        "name": "redshift-oauth",
        "class": "redshift",
        "customizations": {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": "yes"},
        "install_on": ["server", "desktop"],
    }
    hosts_vars = {host: {"tabops_tdc_files": [tdc], "group_names": ["tableau_server"]} for host in servers}
    hosts_vars["ts1"]["group_names"] = ["tableau_server", "tableau_server_initial"]
    desktop_vars = {"tabops_tdc_files": [tdc], "tabops_desktop_users": ["ann"], "group_names": ["tableau_desktop"]}
    hosts_vars.update({host: dict(desktop_vars) for host in desktops})
    hosts_vars["desk7"] = dict(hosts_vars["desk7"], tabops_desktop_users=["ann", "bob"])
    plan = fleet_plan(hosts_vars, groups)
    assert plan["errors"] == 0
    # ts1 (also the initial node), the other servers, the desktops, desk7 with its own users: 4 distinct sets.
    assert calls == {"variable_problems": 4, "spec_problems": 4, "host_entry": 4}
    hosts = plan["hosts"]
    assert hosts["ts2"]["files"] is hosts["ts40"]["files"]  # one copy per distinct set, not per host
    assert len(hosts["desk7"]["files"]) > len(hosts["desk1"]["files"])
    assert [hosts[h]["profile"]["host"] for h in ("ts1", "ts2", "desk7")] == ["ts1", "ts2", "desk7"]
    assert [hosts[h]["profile"]["is_tsm_node"] for h in ("ts1", "ts2")] == [True, False]
    assert plan["tsm_node"] == "ts1"


def test_without_group_names_a_host_is_its_own_set():
    groups = {"all": ["ts1", "desk1"], "tableau_server": ["ts1"], "tableau_desktop": ["desk1"]}
    same = {"tabops_desktop_users": ["ann"]}
    plan = fleet_plan({"ts1": dict(same), "desk1": dict(same)}, groups)
    assert plan["hosts"]["ts1"]["profile"]["applications"] == ["server"]
    assert plan["hosts"]["desk1"]["profile"]["applications"] == ["desktop", "prep"]
    assert plan["hosts"]["ts1"]["inputs"] != plan["hosts"]["desk1"]["inputs"]


def test_grouping_hosts_is_linear_in_the_hosts():
    """Grouping hosts per finding, per config variant and per token is O(1) per host (no scan of a host list).

    20,000 hosts with the same mistake, config and token: linear grouping takes milliseconds of CPU, a membership
    scan of the growing host list (the quadratic version) 10 s or more. Bounded in size; CPU time, not wall.
    """
    import time

    from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils import _preflight, _token_audience

    hosts = [f"desk{i:05d}" for i in range(20000)]
    config = {
        "id": "custom_redshift_okta",
        "idp": "okta",
        "idp_base_url": "https://corp.okta.example",
        "client_id_desktop": "d",
        "install_on": ["desktop"],
    }
    data = {host: {"applications": ["desktop"], "oauth_configs": [config], "tdc_files": []} for host in hosts}
    start = time.process_time()
    grouped = _preflight._grouped([(host, "tabops_backup_keep", "must be at least 0") for host in hosts])
    variants = _preflight._variants(data, "oauth_configs", "id", _preflight._content)
    tokens = _token_audience.fleet_tokens(data)
    seconds = time.process_time() - start
    assert list(grouped.values()) == [hosts]
    assert variants["custom_redshift_okta"][0][1] == hosts
    assert tokens and all(item["hosts"] == hosts for item in tokens)
    assert seconds < 3, seconds
