# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Scheduled compliance runs (scripts/compliance, playbooks/compliance.yml) on a real lab fleet."""

import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import jsonschema
import pytest
import yaml
from junitparser import Error, Failure, JUnitXml
from labfleet import REPO, requires_lab

pytestmark = [pytest.mark.lab, requires_lab]

COMPLIANCE = REPO / "scripts" / "compliance"
SCHEMA = json.loads((REPO / "docs" / "compliance-report.schema.json").read_text())
DESKTOP_REPO = "/home/analyst1/Documents/My Tableau Repository"
PREP_REPO = "/home/analyst1/Documents/My Tableau Prep Repository"
BRIDGE_REPO = "/root/Documents/My_Tableau_Bridge_Repository"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def tsm(fleet, *args):
    quoted = " ".join("'" + arg.replace("'", "'\\''") + "'" for arg in args)
    newest_tsm = '"$(ls -d /opt/tableau/tableau_server/packages/customer-bin.*/tsm | tail -n1)"'
    return fleet.sh("tsnode1", f"{newest_tsm} {quoted}")


def compliance(fleet, report_dir, *extra):
    completed = subprocess.run(
        [str(COMPLIANCE), "-i", str(fleet.inventory), "--report-dir", str(report_dir), "--quiet", *extra],
        capture_output=True,
        text=True,
        check=False,
    )
    report_path = (report_dir / "latest").resolve()
    report = json.loads((report_path / "compliance.json").read_text()) if (report_dir / "latest").exists() else None
    return completed, report, report_path


def finding(report, host, artifact):
    matches = [f for f in report["findings"] if f["host"] == host and f["artifact"] == artifact]
    assert matches, f"no finding for {host} / {artifact}: {[(f['host'], f['artifact']) for f in report['findings']]}"
    return matches[0]


def converge(fleet):
    run = fleet.playbook("playbooks/site.yml")
    assert run.returncode == 0, run.stdout[-3000:]


def set_capability(fleet, host, path, capability, value):
    fleet.sh(
        host,
        "python3 - <<'EOF'\n"
        "import re\n"
        f"p = {path!r}\n"
        "s = open(p).read()\n"
        f"s = re.sub(r'(<key>{capability}</key>\\s*<value>)[^<]*', r'\\g<1>{value}', s)\n"
        "open(p, 'w').write(s)\n"
        "EOF",
    )


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + "]>\n<pluginOAuthConfig><dbclass>&lol9;</dbclass></pluginOAuthConfig>"
)


def external_entity(path):
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY leak SYSTEM "file://{path}">]>\n'
        "<pluginOAuthConfig><dbclass>redshift</dbclass><oauthConfigId>custom_xxe</oauthConfigId>"
        "<authUri>https://x.example/a</authUri><tokenUri>https://x.example/t</tokenUri>"
        "<scopes>&leak;</scopes></pluginOAuthConfig>"
    )


def test_a_converged_fleet_is_compliant_and_reformatting_is_not_drift(fleet, tmp_path):
    converge(fleet)
    config = f"{DESKTOP_REPO}/OAuthConfigs/custom_redshift_okta.xml"
    # Whitespace and comment edits by hand do not change the meaning.
    fleet.sh("desktop1", f"sed -i 's#<scopes>#\\n    <!-- edited by hand -->\\n  <scopes>#; s#  #    #g' '{config}'")
    before = fleet.snapshot("desktop1")
    completed, report, _report_path = compliance(fleet, tmp_path / "reports")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert report["result"] == "compliant" and report["exit_code"] == 0
    assert set(report["hosts"].values()) == {"compliant"}
    assert fleet.snapshot("desktop1") == before
    jsonschema.validate(report, SCHEMA, format_checker=jsonschema.FormatChecker())


def test_every_kind_of_drift_is_reported_field_by_field_and_nothing_is_written(fleet, tmp_path):
    converge(fleet)
    canary_path = f"/tmp/tabops-controller-canary-{uuid.uuid4().hex}"
    canary_text = f"controller-canary-{uuid.uuid4().hex}"
    Path(canary_path).write_text(canary_text)
    try:
        # Host side: same path, so an expanding parser would leak it into the report.
        fleet.sh("desktop1", f"echo {canary_text} > {canary_path}")
        set_capability(
            fleet,
            "desktop1",
            f"{DESKTOP_REPO}/OAuthConfigs/custom_redshift_okta.xml",
            "OAUTH_CAP_FIXED_PORT_IN_CALLBACK_URL",
            "false",
        )
        fleet.sh("desktop1", f"rm '{PREP_REPO}/OAuthConfigs/custom_redshift_okta.xml'")
        fleet.write("desktop1", f"{DESKTOP_REPO}/OAuthConfigs/custom_redshift_entra.xml", BILLION_LAUGHS, "analyst1")
        fleet.write("desktop1", f"{DESKTOP_REPO}/OAuthConfigs/custom_xxe.xml", external_entity(canary_path), "analyst1")
        fleet.write(
            "bridge1",
            f"{BRIDGE_REPO}/OAuthConfigs/custom_by_hand.xml",
            "<pluginOAuthConfig><dbclass>redshift</dbclass><oauthConfigId>custom_by_hand</oauthConfigId>"
            "<authUri>https://h.example/a</authUri><tokenUri>https://h.example/t</tokenUri><scopes>openid</scopes>"
            "</pluginOAuthConfig>",
        )
        fleet.write(
            "bridge1",
            f"{BRIDGE_REPO}/Datasources/hand.tdc",
            "<connection-customization class='redshift' enabled='true' version='10.0'><vendor name='redshift'/>"
            "<driver name='redshift'/><customizations/></connection-customization>",
        )
        # tsm: an edited OAuth client and a removed allowlist entry, applied; then a change left pending.
        clients = json.loads(tsm(fleet, "configuration", "get", "-k", "oauth.config.clients"))
        for client in clients:
            if client["oauth.config.id"] == "redshift:custom_redshift_okta":
                client["oauth.config.client_id"] = "edited-by-hand"
        tsm(fleet, "configuration", "set", "-k", "oauth.config.clients", "-v", json.dumps(clients))
        tsm(fleet, "configuration", "set", "-k", "native_api.odbc_extras_allowlist", "-v", "KeepAlive,SSLMode")
        tsm(fleet, "pending-changes", "apply", "--ignore-prompt")
        tsm(fleet, "configuration", "set", "-k", "gateway.public.port", "-v", "8443")

        before = {host: fleet.snapshot(host) for host in fleet.hosts()}
        tsm_before = fleet.tsm_state()
        completed, report, report_path = compliance(fleet, tmp_path / "reports")
        assert completed.returncode == 2, completed.stdout + completed.stderr
        assert report["result"] == "drift"

        # Nothing was written anywhere.
        assert {host: fleet.snapshot(host) for host in fleet.hosts()} == before
        tsm_after = fleet.tsm_state()
        assert (tsm_after["configuration"], tsm_after["pending"], tsm_after["restarts"]) == (
            tsm_before["configuration"],
            tsm_before["pending"],
            tsm_before["restarts"],
        )
        new_calls = tsm_after["audit"][len(tsm_before["audit"]) :]
        assert new_calls and all(call["argv"][1] in ("get", "list") for call in new_calls)

        okta = finding(report, "desktop1", "custom_redshift_okta")
        assert okta["status"] == "missing"  # the Prep copy is gone; the Desktop copy drifted
        statuses = {item["path"]: item for item in okta["items"]}
        drifted = statuses[f"{DESKTOP_REPO}/OAuthConfigs/custom_redshift_okta.xml"]
        assert drifted["status"] == "drift"
        assert drifted["messages"] == ["capabilities.OAUTH_CAP_FIXED_PORT_IN_CALLBACK_URL: expected true, found false"]
        assert statuses[f"{PREP_REPO}/OAuthConfigs/custom_redshift_okta.xml"]["status"] == "missing"

        bomb = finding(report, "desktop1", "custom_redshift_entra")
        assert bomb["status"] == "drift"
        assert any("unparseable" in message for item in bomb["items"] for message in item["messages"])

        desktop_unmanaged = finding(report, "desktop1", "unmanaged files")
        assert [item["path"] for item in desktop_unmanaged["items"]] == [f"{DESKTOP_REPO}/OAuthConfigs/custom_xxe.xml"]
        bridge_unmanaged = finding(report, "bridge1", "unmanaged files")
        assert bridge_unmanaged["status"] == "unmanaged_conflict"
        assert sorted(item["path"] for item in bridge_unmanaged["items"]) == [
            f"{BRIDGE_REPO}/Datasources/hand.tdc",
            f"{BRIDGE_REPO}/OAuthConfigs/custom_by_hand.xml",
        ]

        allowlist = finding(report, "tsnode1", "tsm: ODBC extras allowlist")
        assert allowlist["status"] == "drift" and "group_federation" in allowlist["message"]
        client = finding(report, "tsnode1", "tsm: OAuth client redshift:custom_redshift_okta")
        assert client["status"] == "drift"
        assert "expected 0oa-lab-server-client, found edited-by-hand" in client["message"]
        pending = finding(report, "tsnode1", "tsm: pending changes")
        assert pending["status"] == "drift" and "gateway.public.port" in pending["message"]

        assert finding(report, "tsnode2", "redshift-oauth")["status"] == "compliant"
        jsonschema.validate(report, SCHEMA, format_checker=jsonschema.FormatChecker())

        everything = completed.stdout + completed.stderr + "".join(p.read_text() for p in report_path.iterdir())
        assert canary_text not in everything
        assert "lab-only-not-a-secret-okta-server" not in everything

        # A host that is down is reported as unreachable, and wins over drift in the exit status.
        fleet.host_down("desktop1")
        completed, report, _report_path = compliance(fleet, tmp_path / "reports")
        assert completed.returncode == 4, completed.stdout
        assert report["hosts"]["desktop1"] == "unreachable"
        assert finding(report, "desktop1", "host")["status"] == "unreachable"
        assert finding(report, "bridge1", "unmanaged files")["status"] == "unmanaged_conflict"
        # Unreachable wins the exit status (docs/compliance.md), and the summary still shows the drift.
        hosts = report["run"]["hosts"]
        assert (hosts["unreachable"], hosts["unmanaged_conflict"], hosts["drift"]) == (1, 1, 1), hosts
        assert "compliance: unreachable (exit status 4); hosts: unreachable 1, unmanaged_conflict 1, drift 1" in (
            completed.stdout
        )
        assert report["run"]["findings"]["drift"] >= 3
    finally:
        os.unlink(canary_path)


def test_remediation_fixes_the_drift_and_the_next_run_is_clean(fleet, tmp_path):
    converge(fleet)
    set_capability(
        fleet, "bridge1", f"{BRIDGE_REPO}/OAuthConfigs/custom_redshift_okta.xml", "OAUTH_CAP_REQUIRE_PKCE", "false"
    )
    fleet.sh("desktop1", f"rm '{DESKTOP_REPO}/Datasources/redshift-oauth.tdc'")
    tsm(fleet, "configuration", "set", "-k", "native_api.odbc_extras_allowlist", "-v", "KeepAlive")
    restarts = fleet.tsm_state()["restarts"]

    completed, report, _report_path = compliance(fleet, tmp_path / "reports", "--remediate")
    assert completed.returncode == 2, completed.stdout  # drift was found (and fixed)
    assert report["run"]["mode"] == "remediate"
    assert fleet.tsm_state()["restarts"] == restarts + 1

    completed, report, _report_path = compliance(fleet, tmp_path / "reports")
    assert completed.returncode == 0, completed.stdout
    assert report["result"] == "compliant"
    # The entry removed by hand comes back; the ones that were there are kept.
    allowlist = fleet.tsm_state()["configuration"]["native_api.odbc_extras_allowlist"].split(",")
    assert allowlist == ["KeepAlive", "group_federation"]


def test_check_wins_over_remediate_when_the_playbook_is_run_directly(fleet, tmp_path):
    """An AWX "Check" job template with tabops_remediate set in its survey must still change nothing."""
    converge(fleet)
    set_capability(
        fleet, "bridge1", f"{BRIDGE_REPO}/OAuthConfigs/custom_redshift_okta.xml", "OAUTH_CAP_REQUIRE_PKCE", "false"
    )
    tsm(fleet, "configuration", "set", "-k", "native_api.odbc_extras_allowlist", "-v", "KeepAlive")
    before = {host: fleet.snapshot(host) for host in fleet.hosts()}
    tsm_before = fleet.tsm_state()

    run = fleet.playbook(
        "playbooks/compliance.yml",
        "--check",
        extra_vars={"tabops_remediate": True, "tabops_compliance_report_dir": str(tmp_path / "reports")},
    )
    assert run.returncode in (0, 2), run.stdout[-3000:]
    assert {host: fleet.snapshot(host) for host in fleet.hosts()} == before
    after = fleet.tsm_state()
    assert after["configuration"] == tsm_before["configuration"]
    assert after["restarts"] == tsm_before["restarts"]
    report = json.loads((tmp_path / "reports" / "latest" / "compliance.json").read_text())
    assert report["run"]["mode"] == "check"
    assert finding(report, "bridge1", "custom_redshift_okta")["status"] == "drift"


def test_bad_input_is_an_error_before_any_host_is_touched(fleet, tmp_path):
    (fleet.inventory / "group_vars").unlink()
    shutil.copytree(REPO / "inventories" / "lab" / "group_vars", fleet.inventory / "group_vars")
    data_file = fleet.inventory / "group_vars" / "all" / "tabops.yml"
    data_file.write_text(data_file.read_text().replace("id: custom_redshift_entra", "id: redshift_entra"))
    before = {host: fleet.snapshot(host) for host in fleet.hosts()}
    completed, report, _report_path = compliance(fleet, tmp_path / "reports")
    assert completed.returncode == 1
    assert report["result"] == "error"
    assert any("must start with 'custom_'" in f["message"] for f in report["findings"])
    assert {host: fleet.snapshot(host) for host in fleet.hosts()} == before


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (scripts/system-deps installs it)")
def test_reports_read_by_a_junit_parser_and_a_browser(fleet, tmp_path):
    converge(fleet)
    set_capability(
        fleet,
        "desktop1",
        f"{DESKTOP_REPO}/OAuthConfigs/custom_redshift_okta.xml",
        "OAUTH_CAP_SUPPORTS_STATE",
        "false",
    )
    fleet.host_down("bridge1")
    completed, report, report_path = compliance(fleet, tmp_path / "reports")
    assert completed.returncode == 4

    junit = JUnitXml.fromfile(str(report_path / "junit.xml"))
    cases = {(case.classname, case.name): case for suite in junit for case in suite}
    assert len(cases) == len(report["findings"])
    drifted = cases[("desktop1", "custom_redshift_okta")]
    assert [type(r) for r in drifted.result] == [Failure]
    assert "OAUTH_CAP_SUPPORTS_STATE: expected true, found false" in drifted.result[0].text
    assert [type(r) for r in cases[("bridge1", "host")].result] == [Error]
    assert cases[("tsnode1", "redshift-oauth")].is_passed

    profile = tmp_path / "chromium-profile"
    browser = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1400,900",
    ]
    page = (report_path / "report.html").as_uri()
    shot = tmp_path / "report.png"
    subprocess.run([*browser, f"--screenshot={shot}", page], capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dom = subprocess.run([*browser, "--dump-dom", page], capture_output=True, text=True, timeout=120, check=True).stdout
    assert 'data-host="desktop1" data-artifact="custom_redshift_okta"' in dom
    cell = dom.split('data-host="desktop1" data-artifact="custom_redshift_okta"')[0].rsplit("<td", 1)[1]
    assert 'class="drift"' in cell
    unreachable_cell = dom.split('data-host="bridge1" data-artifact="host"')[0].rsplit("<td", 1)[1]
    assert 'class="unreachable"' in unreachable_cell
    # The host-level column says what it is; each row starts with the host's overall status, never green on drift.
    header = dom.split('<table class="matrix"')[1].split("</thead>")[0]
    columns = re.findall(r"<th[^>]*>([^<]*)</th>", header)
    assert columns[:2] == ["host", "overall"] and columns[-1] == "host checks" and columns.count("host") == 1, columns
    desktop_row = dom.split('<th class="host">desktop1</th>')[1].split("</tr>")[0]
    first_cell = desktop_row.split("<td", 2)[1]
    assert 'class="overall drift"' in first_cell and ">drift<" in first_cell, first_cell
    assert 'data-host="desktop1" data-artifact="host"' in desktop_row  # its host checks passed: a separate cell
    style = dom.split("<style>")[1].split("</style>")[0]
    green = re.search(r"td\.compliant[^{]*\{background:(#[0-9a-f]+)", style).group(1)
    drift_color = re.search(r"td\.drift[^{]*\{background:(#[0-9a-f]+)", style).group(1)
    assert drift_color != green
    for host, status in report["hosts"].items():
        row = dom.split(f'<th class="host">{host}</th>')[1].split("</tr>")[0]
        assert f'class="overall {status}"' in row.split("<td", 2)[1], (host, status)
    assert "expected true, found false" in dom
    # Kept for a person to look at (tests/output is not committed).
    (REPO / "tests" / "output").mkdir(exist_ok=True)
    shutil.copy(shot, REPO / "tests" / "output" / "compliance-report.png")


def collection_playbook(fleet, cwd, *options, **variables):
    """``ansible-playbook tabops.redshift_oauth.compliance`` as AWX or a person runs it: no wrapper, no callback."""
    vars_file = cwd / f"vars-{len(list(cwd.glob('vars-*.json')))}.json"
    vars_file.write_text(json.dumps(variables))
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),  # the lab's SSH options; collections from the checkout's link
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_SHOW_CUSTOM_STATS="1",
        ANSIBLE_NOCOLOR="1",
    )
    env.pop("ANSIBLE_CALLBACKS_ENABLED", None)
    completed = subprocess.run(
        [
            str(REPO / ".venv" / "bin" / "ansible-playbook"),
            "tabops.redshift_oauth.compliance",
            "-i",
            str(fleet.inventory),
            "-e",
            f"@{vars_file}",
            *options,
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = json.loads(completed.stdout) if completed.stdout.startswith("{") else {}
    return completed, output


def test_the_collection_playbook_alone_reports_sets_stats_and_fails_on_drift_when_asked(fleet, tmp_path):
    converge(fleet)
    set_capability(
        fleet, "desktop1", f"{DESKTOP_REPO}/OAuthConfigs/custom_redshift_okta.xml", "OAUTH_CAP_REQUIRE_PKCE", "false"
    )
    before = {host: fleet.snapshot(host) for host in fleet.hosts()}
    reports = tmp_path / "reports"

    completed, output = collection_playbook(fleet, tmp_path, tabops_compliance_report_dir=str(reports))
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr  # drift alone: not a failed job
    report_path = (reports / "latest").resolve()
    report = json.loads((report_path / "compliance.json").read_text())
    assert report["run"]["mode"] == "check"  # run directly, without --check: the checks ran in check mode
    assert (report["result"], report["exit_code"]) == ("drift", 2)
    assert report["hosts"]["desktop1"] == "drift"
    assert sorted(os.listdir(report_path)) == sorted(
        ["compliance.json", "junit.xml", "report.html", "compliance.prom", "findings.ndjson"]
    )
    stats = output["global_custom_stats"]
    assert (stats["tabops_compliance_status"], stats["tabops_compliance_exit_code"]) == ("drift", 2)
    assert stats["tabops_compliance_hosts"]["drift"] == 1 and stats["tabops_compliance_report_path"] == str(report_path)
    assert {host: fleet.snapshot(host) for host in fleet.hosts()} == before

    # An AWX check job with the opt-in: red on drift, the report written all the same.
    completed, output = collection_playbook(
        fleet, tmp_path, "--check", tabops_compliance_report_dir=str(reports), tabops_compliance_fail_on_drift=True
    )
    assert completed.returncode == 2, completed.stdout[-3000:]
    second = json.loads(((reports / "latest").resolve() / "compliance.json").read_text())
    assert (second["run"]["mode"], second["result"]) == ("check", "drift")
    assert (reports / "latest").resolve() != report_path
    assert {host: fleet.snapshot(host) for host in fleet.hosts()} == before


def comparable(report):
    return report["hosts"], [(f["host"], f["artifact"], f["status"], f["message"]) for f in report["findings"]]


def test_hosts_outside_the_tableau_groups_change_nothing_in_the_report(fleet, tmp_path):
    converge(fleet)
    completed, report, _path = compliance(fleet, tmp_path / "before")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    reachable = yaml.safe_load((fleet.inventory / "hosts.yml").read_text())["all"]["children"]["tableau_server"]
    tsnode2 = reachable["hosts"]["tsnode2"]
    (fleet.inventory / "others.yml").write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {"ungrouped-db": {"ansible_connection": "local"}},
                    "children": {
                        "monitoring": {
                            "hosts": {
                                # A reachable host (the address of a lab node) and one that is down.
                                "monitor1": {k: v for k, v in tsnode2.items() if k.startswith("ansible_")},
                                "jumphost-down": {
                                    "ansible_host": "127.0.0.1",
                                    "ansible_port": 9,
                                    "ansible_user": "root",
                                },
                            }
                        }
                    },
                }
            }
        )
    )
    completed, with_others, _path = compliance(fleet, tmp_path / "after")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert comparable(with_others) == comparable(report)
    assert not {"ungrouped-db", "monitor1", "jumphost-down"} & set(with_others["hosts"])
