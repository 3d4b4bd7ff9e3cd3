# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Verify a converged lab fleet: files, owners, modes, XML content, tsm state, and no leaks."""

import json

import defusedxml.ElementTree as ET
import pytest
import testinfra

TSM_STATE = "/var/opt/tableau/tableau_server/data/tabsvc/tsm-standin/state.json"
SERVER_SERVICES = ("vizqlserver", "backgrounder", "dataserver")
USERS = ("analyst1", "analyst2")
CONFIG_IDS = ("custom_redshift_okta", "custom_redshift_entra")


def groups_of(host):
    return host.ansible.get_variables().get("group_names", [])


def xml_root(host, path):
    return ET.fromstring(host.file(path).content_string)


def assert_oauth_config(host, path, owner, config_id):
    file = host.file(path)
    assert file.is_file, path
    assert (file.user, file.group, file.mode) == (owner, owner, 0o600)
    root = xml_root(host, path)
    assert root.tag == "pluginOAuthConfig"
    assert root.findtext("oauthConfigId") == config_id
    assert root.findtext("dbclass") == "redshift"
    caps = {entry.findtext("key"): entry.findtext("value") for entry in root.iter("entry")}
    assert caps["OAUTH_CAP_REQUIRE_PKCE"] == "true"


def assert_federate_tdc(host, path, owner):
    file = host.file(path)
    assert file.is_file, path
    assert (file.user, file.mode) == (owner, 0o644)
    root = xml_root(host, path)
    assert root.get("class") == "redshift"
    customizations = {c.get("name"): c.get("value") for c in root.iter("customization")}
    assert customizations == {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": "yes"}


def test_desktop_users_have_configs_and_tdc_in_desktop_and_prep(host):
    if "tableau_desktop" not in groups_of(host):
        pytest.skip("not a desktop host")
    for user in USERS:
        for repository in ("My Tableau Repository", "My Tableau Prep Repository"):
            base = f"/home/{user}/Documents/{repository}"
            for config_id in CONFIG_IDS:
                assert_oauth_config(host, f"{base}/OAuthConfigs/{config_id}.xml", user, config_id)
            assert_federate_tdc(host, f"{base}/Datasources/redshift-oauth.tdc", user)
            manifest = json.loads(host.file(f"{base}/OAuthConfigs/.tabops-managed.json").content_string)
            assert sorted(manifest["files"]) == sorted(f"{config_id}.xml" for config_id in CONFIG_IDS)


def test_bridge_has_configs_and_tdc_in_its_linux_repository(host):
    if "tableau_bridge" not in groups_of(host):
        pytest.skip("not a bridge host")
    base = "/root/Documents/My_Tableau_Bridge_Repository"
    for config_id in CONFIG_IDS:
        assert_oauth_config(host, f"{base}/OAuthConfigs/{config_id}.xml", "root", config_id)
    assert_federate_tdc(host, f"{base}/Datasources/redshift-oauth.tdc", "root")


def test_server_nodes_have_the_tdc_for_every_service_and_no_oauth_config(host):
    if "tableau_server" not in groups_of(host):
        pytest.skip("not a server node")
    for service in SERVER_SERVICES:
        assert_federate_tdc(
            host, f"/var/opt/tableau/tableau_server/data/tabsvc/{service}/Datasources/redshift-oauth.tdc", "root"
        )
    assert not host.file("/root/Documents/My_Tableau_Bridge_Repository/OAuthConfigs").exists


def test_initial_node_tsm_settings_merged_and_applied_once(host):
    if "tableau_server_initial" not in groups_of(host):
        pytest.skip("not the initial node")
    state = json.loads(host.file(TSM_STATE).content_string)
    configuration = state["configuration"]
    allowlist = configuration["native_api.odbc_extras_allowlist"].split(",")
    # The entries that were there before the rollout survive, in place.
    assert allowlist == ["KeepAlive", "SSLMode", "group_federation"]
    clients = {client["oauth.config.id"]: client for client in json.loads(configuration["oauth.config.clients"])}
    assert set(clients) == {"snowflake:custom_snowflake_okta", "redshift:custom_redshift_okta"}
    assert clients["snowflake:custom_snowflake_okta"]["oauth.config.client_id"] == "pre-existing-client"
    okta = clients["redshift:custom_redshift_okta"]
    assert okta["oauth.config.redirect_uri"] == "https://tableau.lab.example/auth/add_oauth_token"
    assert okta["oauth.config.client_id"] == "0oa-lab-server-client"
    assert state["pending"] == {}
    # converge applied once; the idempotence run applied nothing more.
    assert state["restarts"] == 1
    assert len(state["apply_log"]) == 1


def test_nothing_leaked_onto_the_machine_itself(host):
    machine = testinfra.get_host("local://")
    assert not machine.file("/opt/tableau").exists
    assert not machine.file("/var/opt/tableau").exists
    assert not machine.file("/root/Documents/My_Tableau_Bridge_Repository").exists
    for user in USERS:
        assert not machine.user(user).exists
        assert not machine.file(f"/home/{user}").exists
