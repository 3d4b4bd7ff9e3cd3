# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Preflight (playbooks/preflight.yml, run first by site.yml) on a real lab fleet with stand-in ODBC drivers."""

from __future__ import annotations

import copy

import pytest
import yaml
from labfleet import LAB_GROUP_VARS, REPO, requires_lab

pytestmark = [pytest.mark.lab, requires_lab]

INSTALL_DRIVER = (REPO / "tests" / "lab" / "odbc" / "install-driver").read_text()
LAB_DATA = yaml.safe_load((LAB_GROUP_VARS / "all" / "tabops.yml").read_text())
REQUIRED = {"tabops_preflight_driver_required": True}


def install_driver(fleet, host, *args):
    fleet.write(host, "/usr/local/sbin/tabops-install-driver", INSTALL_DRIVER)
    return fleet.sh(
        host,
        "chmod 755 /usr/local/sbin/tabops-install-driver && /usr/local/sbin/tabops-install-driver " + " ".join(args),
    )


def summary(run):
    (result,) = next(iter(run.host_results("Preflight summary").values()))
    return result["msg"]


def failed_hosts(run, fleet):
    """The hosts the preflight's errors name (the run stops for all of them: one run_once check)."""
    named = set()
    for line in summary(run):
        if line.startswith("ERROR "):
            where = line.split("[", 1)[1].split("]", 1)[0]
            named.update(fleet.hosts() if where == "all hosts" else where.split(", "))
    return sorted(named)


SYNC = "Sync this host's Tableau files in one call"


def facts_of(run):
    return {host: results[0] for host, results in run.host_results("Read this host's Redshift ODBC driver").items()}


def test_old_new_and_missing_drivers_give_the_right_findings_and_exit(fleet):
    install_driver(fleet, "tsnode1", "v2", "2.0.1.0", "package")  # a real dpkg package
    install_driver(fleet, "tsnode2", "v2", "2.0.0.11", "version_file")  # too old for group federation
    install_driver(fleet, "bridge1", "v1", "1.5.9.1011", "library")  # v1 "1.59"
    # desktop1: none

    run = fleet.playbook("playbooks/preflight.yml", extra_vars=REQUIRED)
    assert run.returncode == 2, run.stdout[-3000:]
    facts = facts_of(run)
    assert facts["tsnode1"]["drivers"]["v2"]["version_source"] == "package"
    assert facts["tsnode1"]["drivers"]["v2"]["package"] == "amazonredshiftodbcx64 (dpkg)"
    assert facts["tsnode1"]["tableau_server"]["version"] == "2024.2"
    assert facts["bridge1"]["drivers"]["v1"]["version"] == "1.5.9.1011"
    assert facts["tsnode2"]["os"]["id"] == "debian"

    lines = summary(run)
    assert lines[0] == "preflight: 2 error(s), 0 warning(s), 2 info"
    assert lines[1].startswith("ERROR driver-missing [desktop1]: host desktop1: no Amazon Redshift ODBC driver found")
    assert lines[2].startswith("ERROR driver-too-old [tsnode2]: host tsnode2: Redshift ODBC driver v2 2.0.0.11")
    assert "older than 2.0.1.0" in lines[2] and "fix: upgrade the driver to v2 2.0.1.0" in lines[2]
    assert sorted(line.split()[1:3] for line in lines[3:]) == [["driver-ok", "[bridge1]:"], ["driver-ok", "[tsnode1]:"]]
    assert failed_hosts(run, fleet) == ["desktop1", "tsnode2"]

    # The lab default (driver not required) makes a missing driver information, an old one still an error.
    run = fleet.playbook("playbooks/preflight.yml")
    assert run.returncode == 2
    assert failed_hosts(run, fleet) == ["tsnode2"]
    assert any(line.startswith("INFO driver-missing [desktop1]") for line in summary(run))

    install_driver(fleet, "tsnode2", "remove", "v2")
    install_driver(fleet, "tsnode2", "v2", "2.1.0.0", "package")
    install_driver(fleet, "desktop1", "v2", "2.0.1.0", "library")
    run = fleet.playbook("playbooks/preflight.yml", extra_vars=REQUIRED)
    assert run.returncode == 0, run.stdout[-3000:]
    assert summary(run)[0] == "preflight: 0 error(s), 0 warning(s), 4 info"


def test_site_reports_a_hosts_driver_error_from_its_one_call_and_rolls_out_the_others(fleet):
    """site.yml reads the host facts in the same call that syncs the files (no second round trip): a host whose
    driver is too old fails with the finding; the other hosts and the cluster's settings are done. Run
    playbooks/preflight.yml first to check the hosts without touching any."""
    for host in ("tsnode1", "tsnode2", "bridge1"):
        install_driver(fleet, host, "v2", "2.0.1.0", "package")
    install_driver(fleet, "desktop1", "v1", "1.4.65.1000", "package")

    run = fleet.playbook("playbooks/site.yml", extra_vars=REQUIRED)
    assert run.returncode == 2
    results = {host: rs[0] for host, rs in run.host_results(SYNC).items()}
    assert sorted(host for host, result in results.items() if result.get("failed")) == ["desktop1"]
    assert "ERROR driver-too-old [desktop1]" in results["desktop1"]["msg"]
    # A failed host's result is short (docs/operations.md "Reading the output"): the finding's code is its cause.
    assert results["desktop1"]["causes"] == ["driver-too-old"] and "preflight" not in results["desktop1"]
    assert [f["code"] for f in results["tsnode1"]["preflight"]] == ["driver-ok"]
    assert results["tsnode1"]["host_facts"]["drivers"]["v2"]["version"] == "2.0.1.0"
    assert fleet.tsm_state()["restarts"] == 1
    assert run.host_results("Read this host's Redshift ODBC driver") == {}  # no second round trip

    # Skipping the host checks lets the host pass.
    run = fleet.playbook("playbooks/site.yml", extra_vars=dict(REQUIRED, tabops_preflight_host_checks=False))
    assert run.returncode == 0, run.stdout[-3000:]
    assert all("preflight" not in rs[0] for rs in run.host_results(SYNC).values())


def test_site_refuses_to_touch_any_host_when_the_declared_data_is_bad(fleet):
    before = {host: fleet.snapshot(host) for host in fleet.hosts()}
    data = copy.deepcopy(LAB_DATA)
    data["tabops_odbc_extras_allowlist"] = ["Foo,Bar", "Key\nOther"]
    data["tabops_backup_keep"] = -1
    run = fleet.playbook("playbooks/site.yml", extra_vars=data)
    assert run.returncode == 2
    errors = [line for line in summary(run) if line.startswith("ERROR ")]
    assert len(errors) == 3, errors
    assert any("tabops_odbc_extras_allowlist[0]" in line and "separator" in line for line in errors)
    assert any("tabops_odbc_extras_allowlist[1]" in line and "control character" in line for line in errors)
    assert any(line.startswith("ERROR variable-invalid [all hosts]: tabops_backup_keep") for line in errors)
    assert run.host_results(SYNC) == {}
    assert {host: fleet.snapshot(host) for host in fleet.hosts()} == before
    assert fleet.tsm_state()["restarts"] == 0 and fleet.tsm_state()["pending"] == {}


@pytest.mark.fleet_size(servers=1, bridges=0, desktops=1)
@pytest.mark.parametrize(
    ("mutate", "code", "where"),
    [
        (
            lambda d: d["tabops_redshift_connections"][0].update(role_arn="arn:aws:iam::123456789012:role/other"),
            "connection-role-arn-mismatch",
            "all hosts",
        ),
        (lambda d: d.update(redshift_iam_group_federation=False), "group-federation-iam-mismatch", "tsnode1"),
        (lambda d: d.update(redshift_iam_region="eu-west-1"), "region-mismatch", "all hosts"),
        (
            lambda d: d["tabops_oauth_configs"][0]["server_client"].update(
                redirect_uri="https://old.lab.example/auth/add_oauth_token"
            ),
            "redirect-uri-mismatch",
            "tsnode1",
        ),
        (lambda d: d["tabops_tdc_files"][0].update({"class": "postgres"}), "tdc-class-mismatch", "desktop1"),
    ],
)
def test_a_misconfiguration_stops_the_run_with_its_finding(fleet, mutate, code, where):
    data = copy.deepcopy(LAB_DATA)
    mutate(data)
    before = {host: fleet.snapshot(host) for host in fleet.hosts()}
    run = fleet.playbook("playbooks/site.yml", extra_vars=data)
    assert run.returncode == 2, run.stdout[-3000:]
    errors = [line for line in summary(run) if line.startswith("ERROR ")]
    assert any(line.startswith("ERROR %s [%s]" % (code, where)) for line in errors), errors
    assert {host: fleet.snapshot(host) for host in fleet.hosts()} == before


@pytest.mark.fleet_size(servers=1, bridges=0, desktops=1)
def test_a_config_that_differs_in_one_group_is_found_and_its_secret_never_shown(fleet):
    host_vars = fleet.inventory / "host_vars"
    host_vars.mkdir()
    configs = copy.deepcopy(LAB_DATA["tabops_oauth_configs"])
    configs[0]["server_client"]["client_secret"] = "canary-group-secret-8c1f"
    (host_vars / "desktop1.yml").write_text(yaml.safe_dump({"tabops_oauth_configs": configs}))
    run = fleet.playbook("playbooks/preflight.yml")
    assert run.returncode == 2
    assert [line for line in summary(run) if line.startswith("ERROR")] == [
        "ERROR config-id-conflict [all hosts]: tabops_oauth_configs: 'custom_redshift_okta' differs between hosts"
        " desktop1 and tsnode1 (field: server_client.client_secret) -- fix: a config id must mean the same config"
        " everywhere (only install_on may differ): rename one of them or make them equal"
    ]
    assert failed_hosts(run, fleet) == ["desktop1", "tsnode1"]
    for verbose in (run, fleet.playbook("playbooks/preflight.yml", verbosity=3)):
        output = verbose.stdout + verbose.stderr
        assert "canary-group-secret-8c1f" not in output
        assert "lab-only-not-a-secret-okta-server" not in output


@pytest.mark.fleet_size(servers=1, bridges=1, desktops=1)
def test_a_host_that_is_down_is_a_warning_and_the_others_are_checked(fleet):
    install_driver(fleet, "tsnode1", "v2", "2.0.1.0", "package")
    install_driver(fleet, "desktop1", "v2", "2.0.0.11", "package")
    fleet.host_down("bridge1")
    run = fleet.playbook("playbooks/preflight.yml")
    lines = summary(run)
    assert any(line.startswith("WARNING host-unreachable [bridge1]") for line in lines), lines
    assert any(line.startswith("ERROR driver-too-old [desktop1]") for line in lines), lines
    assert failed_hosts(run, fleet) == ["desktop1"]


LAB_CLIENT_IDS = ["0oa-lab-server-client", "0oa-lab-desktop-client"]


@pytest.mark.fleet_size(servers=1, bridges=0, desktops=1)
def test_client_id_audiences_for_the_access_token_tdc_are_a_mismatch_and_the_derived_ones_are_clean(fleet):
    """The lab's TDC makes Tableau federate the Okta default server's ACCESS token (aud api://default): IAM
    audiences holding only the client ids fail the preflight naming both sides; the lab inventory, which lets the
    redshift_iam role derive them, is clean."""
    run = fleet.playbook("playbooks/preflight.yml", extra_vars={"redshift_iam_audiences": LAB_CLIENT_IDS})
    assert run.returncode == 2, run.stdout[-3000:]
    errors = [line for line in summary(run) if line.startswith("ERROR ")]
    assert errors == [
        "ERROR iam-audience-mismatch [all hosts]: OAuth config custom_redshift_okta on desktop, prep, server federates"
        " the access token (TDC redshift-oauth sets CAP_OAUTH_FEDERATE_ACCESS_TOKEN=yes), whose aud is"
        " 'api://default' (Audience of Okta's pre-made authorization server 'default'), but the IAM OIDC provider and"
        " the trust policy's :aud condition trust only '0oa-lab-server-client', '0oa-lab-desktop-client'"
        " (redshift_iam_audiences): STS refuses the token with 'Incorrect token audience' -- fix: add 'api://default'"
        " to redshift_iam_audiences, or remove redshift_iam_audiences so that the redshift_iam role derives the"
        " audiences from the OAuth configs and TDCs"
    ]
    assert failed_hosts(run, fleet) == ["desktop1", "tsnode1"]
    assert "lab-only-not-a-secret-okta-server" not in run.stdout + run.stderr

    run = fleet.playbook("playbooks/preflight.yml")  # the lab inventory: derived audiences
    assert run.returncode == 0, run.stdout[-3000:]
    assert not [line for line in summary(run) if "audience" in line], summary(run)
    run = fleet.playbook("playbooks/preflight.yml", extra_vars={"redshift_iam_audiences": ["api://default"]})
    assert run.returncode == 0, run.stdout[-3000:]


@pytest.mark.fleet_size(servers=1, bridges=0, desktops=1)
def test_site_stops_before_any_host_on_the_deprecated_client_ids_that_miss_the_access_token(fleet):
    before = {host: fleet.snapshot(host) for host in fleet.hosts()}
    run = fleet.playbook("playbooks/site.yml", extra_vars={"redshift_iam_client_ids": LAB_CLIENT_IDS})
    assert run.returncode == 2, run.stdout[-3000:]
    errors = [line for line in summary(run) if line.startswith("ERROR ")]
    assert len(errors) == 1 and errors[0].startswith("ERROR iam-audience-mismatch [all hosts]: "), errors
    assert "(redshift_iam_client_ids): STS refuses the token" in errors[0]
    assert run.host_results(SYNC) == {}
    assert {host: fleet.snapshot(host) for host in fleet.hosts()} == before
    assert fleet.tsm_state()["restarts"] == 0 and fleet.tsm_state()["pending"] == {}
