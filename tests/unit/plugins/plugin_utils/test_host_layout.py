# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Where each host's OAuth configs and TDC files go (controller-side planning)."""

import pytest

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import (
    parse_oauth_config,
    parse_tdc,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._files import (
    HostLayoutError,
    plan_host_files,
)

OKTA = {
    "id": "custom_redshift_okta",
    "idp": "okta",
    "idp_base_url": "https://corp.okta.example",
    "client_id_desktop": "desktop-client",
    "redirect_ports": [55556, 55557],
    "install_on": ["desktop", "prep", "bridge"],
    "server_client": {"client_id": "server-client", "client_secret": "s3cret"},
}
TDC = {
    "name": "redshift-oauth",
    "class": "redshift",
    "customizations": {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": "yes"},
    "install_on": ["server", "bridge", "desktop", "prep"],
}


def paths(plan):
    return sorted(item["path"] for item in plan["files"])


def test_desktop_host_gets_configs_and_tdc_per_user_and_application():
    plan = plan_host_files([OKTA], [TDC], applications=["desktop", "prep"], desktop_users=["ann", "bob"])
    assert paths(plan) == sorted(
        f"/home/{user}/Documents/{repo}/{folder}"
        for user in ("ann", "bob")
        for repo in ("My Tableau Repository", "My Tableau Prep Repository")
        for folder in ("OAuthConfigs/custom_redshift_okta.xml", "Datasources/redshift-oauth.tdc")
    )
    ann_config = next(
        item for item in plan["files"] if item["path"].startswith("/home/ann") and item["kind"] == "oauth_config"
    )
    assert (ann_config["owner"], ann_config["group"], ann_config["mode"]) == ("ann", "ann", "0600")
    assert ann_config["application"] == "desktop" or ann_config["application"] == "prep"
    # install_on and server_client steer the rollout: they are not part of the document.
    parsed = parse_oauth_config(ann_config["content"])
    assert parsed["id"] == "custom_redshift_okta"
    assert "s3cret" not in ann_config["content"]


def test_linux_bridge_uses_the_container_repository_of_its_user():
    plan = plan_host_files([OKTA], [TDC], applications=["bridge"])
    assert paths(plan) == [
        "/root/Documents/My_Tableau_Bridge_Repository/Datasources/redshift-oauth.tdc",
        "/root/Documents/My_Tableau_Bridge_Repository/OAuthConfigs/custom_redshift_okta.xml",
    ]


def test_server_node_gets_the_tdc_in_every_service_datasources_folder_and_no_oauth_config():
    plan = plan_host_files([OKTA], [TDC], applications=["server"], server_services=["vizqlserver", "backgrounder"])
    assert paths(plan) == [
        "/var/opt/tableau/tableau_server/data/tabsvc/backgrounder/Datasources/redshift-oauth.tdc",
        "/var/opt/tableau/tableau_server/data/tabsvc/vizqlserver/Datasources/redshift-oauth.tdc",
    ]
    assert parse_tdc(plan["files"][0]["content"])["customizations"] == {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": "yes"}


@pytest.mark.parametrize(
    ("os_family", "expected"),
    [
        ("Darwin", "/Users/ann/Documents/My Tableau Repository/OAuthConfigs/custom_redshift_okta.xml"),
        ("Windows", "C:\\Users\\ann\\Documents\\My Tableau Repository\\OAuthConfigs\\custom_redshift_okta.xml"),
        ("Debian", "/home/ann/Documents/My Tableau Repository/OAuthConfigs/custom_redshift_okta.xml"),
    ],
)
def test_per_os_paths(os_family, expected):
    plan = plan_host_files([OKTA], [], applications=["desktop"], desktop_users=["ann"], os_family=os_family)
    assert paths(plan) == [expected]


def test_macos_files_belong_to_the_staff_group():
    plan = plan_host_files([OKTA], [], applications=["desktop"], desktop_users=["ann"], os_family="Darwin")
    assert plan["files"][0]["group"] == "staff"


def test_path_templates_are_overridable():
    plan = plan_host_files(
        [OKTA], [], applications=["desktop"], desktop_users=["ann"], layout={"user_home": "/srv/homes/{user}"}
    )
    assert paths(plan) == ["/srv/homes/ann/Documents/My Tableau Repository/OAuthConfigs/custom_redshift_okta.xml"]


def test_every_application_folder_is_managed_even_when_empty():
    # A config removed from the data must still be removed from the host: its folder stays managed.
    plan = plan_host_files([], [], applications=["desktop", "bridge"], desktop_users=["ann"])
    assert plan["files"] == []
    assert [d["path"] for d in plan["folders"]] == [
        "/home/ann/Documents/My Tableau Repository/Datasources",
        "/home/ann/Documents/My Tableau Repository/OAuthConfigs",
        "/root/Documents/My_Tableau_Bridge_Repository/Datasources",
        "/root/Documents/My_Tableau_Bridge_Repository/OAuthConfigs",
    ]


def test_kinds_narrow_the_plan():
    plan = plan_host_files([OKTA], [TDC], applications=["desktop"], desktop_users=["ann"], kinds=["tdc"])
    assert {item["kind"] for item in plan["files"]} == {"tdc"}
    assert {d["kind"] for d in plan["folders"]} == {"tdc"}


def test_install_on_limits_where_a_config_goes():
    config = dict(OKTA, install_on=["bridge"])
    plan = plan_host_files([config], [], applications=["desktop", "prep"], desktop_users=["ann"])
    assert plan["files"] == []


def test_all_problems_are_reported_together_naming_each_entry():
    bad_config = dict(OKTA, id="redshift_okta", install_on=["desktop", "server"])
    bad_tdc = dict(TDC, name="../evil")
    with pytest.raises(HostLayoutError) as excinfo:
        plan_host_files([bad_config], [bad_tdc], applications=["desktop"], desktop_users=["ann"])
    message = str(excinfo.value)
    assert "tabops_oauth_configs[0] (redshift_okta): install_on has server" in message
    assert "custom_" in message
    assert "tabops_tdc_files[0] (../evil): name must be a plain file name" in message


def test_desktop_without_users_is_an_error():
    with pytest.raises(HostLayoutError, match="tabops_desktop_users"):
        plan_host_files([OKTA], [], applications=["desktop"])


def test_unknown_application_is_an_error():
    with pytest.raises(HostLayoutError, match="applications: unknown cloud"):
        plan_host_files([], [], applications=["cloud"])


def test_errors_never_show_secrets():
    bad = dict(OKTA, client_secret_desktop="canary-desktop-secret-123", scopes="not-a-list", install_on=["desktop"])
    with pytest.raises(HostLayoutError) as excinfo:
        plan_host_files([bad], [], applications=["desktop"], desktop_users=["ann"])
    assert "canary-desktop-secret-123" not in str(excinfo.value)


def test_plan_is_deterministic():
    first = plan_host_files([OKTA], [TDC], applications=["desktop", "prep"], desktop_users=["ann"], managed_comment="x")
    second = plan_host_files(
        [OKTA], [TDC], applications=["desktop", "prep"], desktop_users=["ann"], managed_comment="x"
    )
    assert first == second


def test_a_server_tdc_on_an_os_without_tableau_server_is_an_error():
    with pytest.raises(
        HostLayoutError, match=r"tabops_tdc_files\[0\] \(redshift-oauth\): Tableau Server has no data dir"
    ):
        plan_host_files([], [TDC], applications=["server"], os_family="Darwin")
