# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Fleet rollout (playbooks/site.yml) on a real lab fleet over SSH."""

import copy

import pytest
import yaml
from labfleet import LAB_GROUP_VARS, TSM_STATE, requires_lab

pytestmark = [pytest.mark.lab, requires_lab]

DESKTOP_REPO = "/home/analyst1/Documents/My Tableau Repository"
BRIDGE_REPO = "/root/Documents/My_Tableau_Bridge_Repository"
SERVER_TDC = "/var/opt/tableau/tableau_server/data/tabsvc/vizqlserver/Datasources/redshift-oauth.tdc"
LAB_DATA = yaml.safe_load((LAB_GROUP_VARS / "all" / "tabops.yml").read_text())


def sync_results(run):
    """{host: tableau_files result} of the one sync task per host."""
    found = run.host_results("Sync this host's Tableau files in one call")
    assert all(len(results) == 1 for results in found.values()), found
    return {host: results[0] for host, results in found.items()}


def file_actions(run):
    return {
        host: sorted((item["path"], item["action"]) for item in result.get("files", []))
        for host, result in sync_results(run).items()
    }


def test_check_mode_predicts_the_real_run_and_writes_nothing(fleet):
    before = {host: fleet.snapshot(host) for host in fleet.hosts()}
    tsm_before = fleet.tsm_state()

    check = fleet.playbook("playbooks/site.yml", "--check", "--diff")
    assert check.returncode == 0, check.stdout[-3000:]
    assert {host: fleet.snapshot(host) for host in fleet.hosts()} == before
    tsm_after_check = fleet.tsm_state()
    assert tsm_after_check["configuration"] == tsm_before["configuration"]
    assert tsm_after_check["pending"] == {} and tsm_after_check["restarts"] == 0
    assert not [entry for entry in tsm_after_check["audit"] if entry["argv"][:2] == ["configuration", "set"]]

    real = fleet.playbook("playbooks/site.yml")
    assert real.returncode == 0, real.stdout[-3000:]
    assert real.changed_tasks() == check.changed_tasks()
    assert file_actions(real) == file_actions(check)
    assert all(action == "create" for actions in file_actions(real).values() for _status, action in actions)
    assert fleet.tsm_state()["restarts"] == 1

    again = fleet.playbook("playbooks/site.yml")
    assert again.returncode == 0
    assert again.changed_tasks() == {}
    assert fleet.tsm_state()["restarts"] == 1


def test_unmanaged_files_survive_and_a_replaced_file_is_backed_up(fleet):
    hand_made = {
        f"{DESKTOP_REPO}/OAuthConfigs/notes.txt": "kept by hand",
        f"{DESKTOP_REPO}/Datasources/snowflake.tdc": (
            "<connection-customization class='snowflake' enabled='true' version='10.0'>"
            "<vendor name='snowflake'/><driver name='snowflake'/><customizations/></connection-customization>"
        ),
        # Someone's earlier, hand-written version of a config the collection now manages.
        f"{DESKTOP_REPO}/OAuthConfigs/custom_redshift_okta.xml": "<pluginOAuthConfig><dbclass>redshift</dbclass>"
        "<oauthConfigId>custom_redshift_okta</oauthConfigId><authUri>https://old.example/a</authUri>"
        "<tokenUri>https://old.example/t</tokenUri><scopes>openid</scopes></pluginOAuthConfig>",
    }
    for path, content in hand_made.items():
        fleet.write("desktop1", path, content, owner="analyst1")

    run = fleet.playbook("playbooks/site.yml")
    assert run.returncode == 0, run.stdout[-3000:]

    assert fleet.read("desktop1", f"{DESKTOP_REPO}/OAuthConfigs/notes.txt").strip() == "kept by hand"
    assert "snowflake" in fleet.read("desktop1", f"{DESKTOP_REPO}/Datasources/snowflake.tdc")
    replaced = fleet.read("desktop1", f"{DESKTOP_REPO}/OAuthConfigs/custom_redshift_okta.xml")
    assert "tabops-lab.okta.example" in replaced
    listing = fleet.sh("desktop1", f"ls '{DESKTOP_REPO}/OAuthConfigs/.tabops-backups/'").split()
    # Beside the backup, the run's journal (what playbooks/rollback.yml puts back from).
    backups = [name for name in listing if not name.startswith("tabops-run-")]
    assert len(listing) == 2 and [name for name in listing if name.startswith("tabops-run-")], listing
    assert len(backups) == 1 and backups[0].startswith("custom_redshift_okta.xml")
    backup = fleet.read("desktop1", f"{DESKTOP_REPO}/OAuthConfigs/.tabops-backups/{backups[0]}")
    assert "old.example" in backup

    # The tsm entries that were there before the rollout are still there.
    configuration = fleet.tsm_state()["configuration"]
    assert configuration["native_api.odbc_extras_allowlist"].split(",")[:2] == ["KeepAlive", "SSLMode"]
    assert "snowflake:custom_snowflake_okta" in configuration["oauth.config.clients"]


def test_removing_a_config_from_the_data_removes_only_its_own_files(fleet):
    assert fleet.playbook("playbooks/site.yml").returncode == 0
    fleet.write("desktop1", f"{DESKTOP_REPO}/OAuthConfigs/custom_by_hand.xml", "<pluginOAuthConfig/>", "analyst1")

    data = copy.deepcopy(LAB_DATA)
    data["tabops_oauth_configs"] = [c for c in data["tabops_oauth_configs"] if c["id"] != "custom_redshift_entra"]
    data.pop("lab_okta_server_client_secret")
    run = fleet.playbook("playbooks/site.yml", extra_vars=data)
    assert run.returncode == 0, run.stdout[-3000:]

    for host, repo in (("desktop1", DESKTOP_REPO), ("bridge1", BRIDGE_REPO)):
        assert not fleet.exists(host, f"{repo}/OAuthConfigs/custom_redshift_entra.xml")
        assert fleet.exists(host, f"{repo}/OAuthConfigs/custom_redshift_okta.xml")
        assert fleet.sh(host, f"ls '{repo}/OAuthConfigs/.tabops-backups/'").startswith("custom_redshift_entra.xml")
    assert fleet.exists("desktop1", f"{DESKTOP_REPO}/OAuthConfigs/custom_by_hand.xml")
    desktop_actions = dict(file_actions(run)["desktop1"])
    assert desktop_actions[f"{DESKTOP_REPO}/OAuthConfigs/custom_redshift_entra.xml"] == "remove"


def test_a_hand_made_conflicting_tdc_fails_its_host_only_or_warns(fleet):
    conflicting = f"{BRIDGE_REPO}/Datasources/my-redshift.tdc"
    fleet.write(
        "bridge1",
        conflicting,
        "<connection-customization class='redshift' enabled='true' version='10.0'><vendor name='redshift'/>"
        "<driver name='redshift'/><customizations/></connection-customization>",
    )
    run = fleet.playbook("playbooks/site.yml")
    assert run.returncode != 0
    bridge_result = sync_results(run)["bridge1"]
    assert bridge_result.get("failed")
    assert "my-redshift.tdc" in bridge_result["msg"]
    assert not fleet.exists("bridge1", f"{BRIDGE_REPO}/Datasources/redshift-oauth.tdc")
    assert fleet.exists("desktop1", f"{DESKTOP_REPO}/Datasources/redshift-oauth.tdc")
    assert fleet.exists("tsnode1", SERVER_TDC)

    warned = fleet.playbook("playbooks/site.yml", "-e", "tabops_tdc_conflicts=warn")
    assert warned.returncode == 0, warned.stdout[-3000:]
    unmanaged = sync_results(warned)["bridge1"]["unmanaged"]
    assert [(u["path"], u["reason"]) for u in unmanaged] == [(conflicting, "tdc_conflict")]
    assert fleet.exists("bridge1", conflicting)


def test_a_host_that_is_down_does_not_stop_the_others(fleet):
    fleet.host_down("desktop1")
    run = fleet.playbook("playbooks/site.yml")
    assert run.returncode == 4  # ansible-playbook: some hosts unreachable
    stats = run.stats()
    assert stats["desktop1"]["unreachable"] == 1
    for host in ("tsnode1", "tsnode2", "bridge1"):
        assert stats[host]["unreachable"] == 0 and stats[host]["failures"] == 0
    assert fleet.exists("bridge1", f"{BRIDGE_REPO}/OAuthConfigs/custom_redshift_okta.xml")
    assert fleet.tsm_state()["restarts"] == 1

    fleet.host_up("desktop1")
    assert fleet.playbook("playbooks/site.yml").returncode == 0
    assert fleet.exists("desktop1", f"{DESKTOP_REPO}/OAuthConfigs/custom_redshift_okta.xml")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["tabops_oauth_configs"][0].update(id="redshift_okta"), "must start with 'custom_'"),
        (lambda d: d["tabops_tdc_files"][0].update(install_on=["cloud"]), "install_on has cloud"),
        (lambda d: d["tabops_oauth_configs"][1].update(redirect_ports=[70000]), "redirect_ports[0]"),
    ],
)
def test_bad_input_stops_the_run_before_any_host_is_touched(fleet, mutate, expected):
    before = {host: fleet.snapshot(host) for host in fleet.hosts()}
    data = copy.deepcopy(LAB_DATA)
    mutate(data)
    run = fleet.playbook("playbooks/site.yml", extra_vars=data)
    assert run.returncode != 0
    assert expected in run.stdout
    assert {host: fleet.snapshot(host) for host in fleet.hosts()} == before
    assert fleet.tsm_state()["restarts"] == 0


def test_secrets_never_reach_the_output(fleet):
    data = copy.deepcopy(LAB_DATA)
    data["tabops_oauth_configs"][0]["client_secret_desktop"] = "canary-desktop-secret-5b1f"
    data["lab_okta_server_client_secret"] = "canary-server-secret-9e3d"
    for args in (("--check", "--diff"), ("--diff",)):
        run = fleet.playbook("playbooks/site.yml", *args, extra_vars=data, verbosity=3)
        assert run.returncode == 0, run.stdout[-3000:]
        output = run.stdout + run.stderr
        assert "canary-desktop-secret-5b1f" not in output
        assert "canary-server-secret-9e3d" not in output
    # The desktop secret is in the file, where Tableau needs it, readable only by its user.
    path = f"{DESKTOP_REPO}/OAuthConfigs/custom_redshift_okta.xml"
    assert "canary-desktop-secret-5b1f" in fleet.read("desktop1", path)
    assert fleet.sh("desktop1", f"stat -c '%U %a' '{path}'").strip() == "analyst1 600"


ALLOWLIST = "native_api.odbc_extras_allowlist"


def drift_both(fleet):
    """A hand-edited config on desktop1 and the group_federation entry gone from the applied allowlist."""
    fleet.write("desktop1", f"{DESKTOP_REPO}/OAuthConfigs/custom_redshift_okta.xml", "<pluginOAuthConfig/>", "analyst1")
    script = (
        "import json; p = %r; d = json.load(open(p)); "
        "d['configuration'][%r] = 'KeepAlive,SSLMode'; json.dump(d, open(p, 'w'))" % (TSM_STATE, ALLOWLIST)
    )
    fleet.sh("tsnode1", f'python3 -c "{script}"')


@pytest.mark.fleet_size(servers=1, bridges=0, desktops=1)
def test_tags_files_and_tsm_each_fix_their_own_drift_only(fleet):
    assert fleet.playbook("playbooks/site.yml").returncode == 0
    restarts = fleet.tsm_state()["restarts"]
    drift_both(fleet)

    files_only = fleet.playbook("playbooks/site.yml", "--tags", "files")
    assert files_only.returncode == 0, files_only.stdout[-3000:]
    assert "tabops-lab.okta.example" in fleet.read("desktop1", f"{DESKTOP_REPO}/OAuthConfigs/custom_redshift_okta.xml")
    assert sync_results(files_only)["desktop1"]["changed"] is True
    assert fleet.tsm_state()["configuration"][ALLOWLIST] == "KeepAlive,SSLMode"  # tsm untouched
    assert not files_only.host_results("Merge the ODBC extras allowlist")

    drift_both(fleet)
    tsm_only = fleet.playbook("playbooks/site.yml", "--tags", "tsm")
    assert tsm_only.returncode == 0, tsm_only.stdout[-3000:]
    assert "group_federation" in fleet.tsm_state()["configuration"][ALLOWLIST].split(",")
    assert fleet.tsm_state()["restarts"] == restarts + 1
    assert (
        fleet.read("desktop1", f"{DESKTOP_REPO}/OAuthConfigs/custom_redshift_okta.xml").strip()
        == "<pluginOAuthConfig/>"
    )
    assert sync_results(tsm_only) == {}


@pytest.mark.fleet_size(servers=2, bridges=1, desktops=2)
def test_one_host_call_per_tableau_host_and_the_tsm_work_only_on_the_tsm_node(fleet):
    run = fleet.playbook("playbooks/site.yml")
    assert run.returncode == 0, run.stdout[-3000:]
    results = sync_results(run)
    assert sorted(results) == sorted(fleet.hosts())
    assert {r["plan_source"] for r in results.values()} == {"fleet plan"}
    assert all("host_facts" in r for r in results.values())
    settings = run.host_results("Merge the ODBC extras allowlist")
    assert sorted(settings) == ["tsnode1"]
    again = fleet.playbook("playbooks/site.yml")
    assert again.returncode == 0 and again.changed_tasks() == {}
