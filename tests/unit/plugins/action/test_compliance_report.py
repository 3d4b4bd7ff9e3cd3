# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The report play of playbooks/compliance.yml, run for real by ansible-playbook on this machine.

The checked "hosts" are local connections whose Tableau folders live under tmp_path; their checks are the real
tableau_files module (the lab tests run the whole playbook against the lab fleet). The report play is the last
play of playbooks/compliance.yml itself, read from the file.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from junitparser import Error, Failure, JUnitXml
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import render_oauth_config

REPO = Path(__file__).resolve().parents[4]
ANSIBLE_PLAYBOOK = REPO / ".venv" / "bin" / "ansible-playbook"
HOST_PYTHON = "/usr/bin/python3"
SCHEMA = json.loads((REPO / "docs" / "compliance-report.schema.json").read_text())
REPORT_PLAY = yaml.safe_load((REPO / "playbooks" / "compliance.yml").read_text())[-1]
CHECKED = "tableau_server:tableau_bridge:tableau_desktop"
SECRET = "CANARY-report-secret-19c2"

pytestmark = pytest.mark.skipif(
    not (ANSIBLE_PLAYBOOK.exists() and os.path.exists(HOST_PYTHON)), reason="needs .venv ansible and /usr/bin/python3"
)


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def oauth_xml(client_id="tableau-desktop"):
    return render_oauth_config(
        {
            "id": "custom_redshift_okta",
            "idp": "okta",
            "idp_base_url": "https://example.okta.com",
            "auth_server": "default",
            "client_id_desktop": client_id,
            "client_secret_desktop": SECRET,
        }
    )


def host_files(root):
    folder = root / "OAuthConfigs"
    return {
        "test_files": [
            {
                "path": str(folder / "custom_redshift_okta.xml"),
                "content": oauth_xml(),
                "kind": "oauth_config",
                "application": "desktop",
                "artifact": "custom_redshift_okta",
                "mode": "0600",
            }
        ],
        "test_dirs": [{"path": str(folder), "kind": "oauth_config", "application": "desktop", "mode": "0700"}],
    }


@pytest.fixture
def lab(tmp_path):
    """Two desktops and a server node on local connections, a desktop that is down, and a host outside the groups."""
    local = {"ansible_connection": "local", "ansible_python_interpreter": HOST_PYTHON}
    hosts = {name: dict(local, **host_files(tmp_path / name)) for name in ("ts1", "desk1", "desk2", "db1")}
    down = {"ansible_host": "127.0.0.1", "ansible_port": closed_port(), "ansible_connection": "ssh"}
    down.update(host_files(tmp_path / "desk-down"))
    inventory = {
        "all": {
            "children": {
                "tableau_server": {"children": {"tableau_server_initial": {"hosts": {"ts1": hosts["ts1"]}}}},
                "tableau_desktop": {
                    "hosts": {"desk1": hosts["desk1"], "desk2": hosts["desk2"], "desk-down": down},
                },
                "databases": {"hosts": {"db1": hosts["db1"]}},
            }
        }
    }
    (tmp_path / "inventory.yml").write_text(json.dumps(inventory))
    checks = {
        "name": "Checks (the real module, as the compliance play runs it)",
        "hosts": CHECKED,
        "gather_facts": False,
        "check_mode": "{{ not (tabops_remediate | default(false) | bool) }}",
        "tasks": [
            {
                "name": "Check this host's files",
                "tabops.redshift_oauth.tableau_files": {
                    "files": "{{ test_files }}",
                    "folders": "{{ test_dirs }}",
                },
                "register": "tabops_artifacts_result",
            }
        ],
    }
    (tmp_path / "compliance.yml").write_text(json.dumps([checks, REPORT_PLAY]))
    return tmp_path


def play(lab, *options, **variables):
    """ansible-playbook with the report play; returns (rc, json callback output, raw output)."""
    variables.setdefault("tabops_compliance_report_dir", str(lab / "reports"))
    (lab / "vars.json").write_text(json.dumps(variables))
    env = dict(
        os.environ,
        ANSIBLE_HOME=str(lab / ".ansible-home"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_SHOW_CUSTOM_STATS="1",
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        NO_PROXY="127.0.0.1",
    )
    command = [str(ANSIBLE_PLAYBOOK), "-i", str(lab / "inventory.yml"), str(lab / "compliance.yml")]
    command += ["-e", f"@{lab / 'vars.json'}", *options]
    completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    try:
        output = json.loads(completed.stdout)
    except ValueError:
        output = {}
    return completed.returncode, output, completed.stdout + completed.stderr


def latest(lab, folder="reports"):
    path = (lab / folder / "latest").resolve()
    return path, json.loads((path / "compliance.json").read_text())


def test_drift_and_an_unreachable_host_both_in_the_summary_nothing_else_reported(lab):
    rc, _output, raw = play(lab, tabops_remediate=True)  # converge: the files are written for real
    assert rc == 4, raw  # desk-down is unreachable, also for ansible-playbook
    _path, converged = latest(lab)
    assert converged["run"]["mode"] == "remediate"
    drifted = lab / "desk1" / "OAuthConfigs" / "custom_redshift_okta.xml"
    drifted.write_text(drifted.read_text().replace("tableau-desktop", "edited-by-hand"))
    before = drifted.read_text()

    rc, output, raw = play(lab)
    assert rc == 4, raw
    path, report = latest(lab)
    jsonschema.validate(report, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert report["run"]["mode"] == "check"
    assert drifted.read_text() == before  # check mode wrote nothing on the host
    # Exactly the hosts checked: db1 is outside the Tableau groups.
    assert report["hosts"] == {"desk-down": "unreachable", "desk1": "drift", "desk2": "compliant", "ts1": "compliant"}
    assert (report["result"], report["exit_code"]) == ("unreachable", 4)
    assert report["run"]["hosts"] == {
        "total": 4,
        "compliant": 2,
        "drift": 1,
        "missing": 0,
        "unmanaged_conflict": 0,
        "unreachable": 1,
        "error": 0,
    }
    drift = next(f for f in report["findings"] if f["host"] == "desk1" and f["artifact"] == "custom_redshift_okta")
    assert drift["message"] == "client_id_desktop: expected tableau-desktop, found edited-by-hand"
    stats = output["global_custom_stats"]
    assert stats["tabops_compliance_status"] == "unreachable" and stats["tabops_compliance_exit_code"] == 4
    assert stats["tabops_compliance_hosts"]["drift"] == 1 and stats["tabops_compliance_hosts"]["unreachable"] == 1
    assert stats["tabops_compliance_report_path"] == str(path)
    assert "COMPLIANCE: unreachable (exit status 4); hosts: unreachable 1, drift 1, compliant 2 of 4" in raw

    # The other renderings say the same.
    metrics = {
        (sample.name, sample.labels.get("status")): sample.value
        for family in text_string_to_metric_families((path / "compliance.prom").read_text())
        for sample in family.samples
    }
    assert metrics[("tabops_compliance_hosts", "drift")] == 1
    assert metrics[("tabops_compliance_hosts", "unreachable")] == 1
    assert metrics[("tabops_compliance_findings", "drift")] == report["run"]["findings"]["drift"]
    assert metrics[("tabops_compliance_exit_code", None)] == 4
    assert abs(metrics[("tabops_compliance_last_run_timestamp_seconds", None)] - path.stat().st_mtime) < 120
    lines = [json.loads(line) for line in (path / "findings.ndjson").read_text().splitlines()]
    assert [(line["host"], line["artifact"], line["status"]) for line in lines] == [
        (f["host"], f["artifact"], f["status"]) for f in report["findings"]
    ]
    assert all(line["mode"] == "check" and line["timestamp"] == report["run"]["end"] for line in lines)
    cases = {
        (case.classname, case.name): case for suite in JUnitXml.fromfile(str(path / "junit.xml")) for case in suite
    }
    assert [type(r) for r in cases[("desk1", "custom_redshift_okta")].result] == [Failure]
    assert [type(r) for r in cases[("desk-down", "host")].result] == [Error]
    everything = raw + "".join(p.read_text() for p in path.iterdir())
    assert SECRET not in everything


def test_fail_on_drift_makes_the_job_fail_and_limit_narrows_the_report(lab):
    rc, _output, raw = play(lab, "--limit", "desk1,desk2,ts1", tabops_remediate=True)
    assert rc == 0, raw
    rc, output, raw = play(lab, "--limit", "desk1,desk2,ts1", tabops_compliance_fail_on_drift=True)
    assert rc == 0, raw  # compliant: the option does not fail a clean run
    assert latest(lab)[1]["result"] == "compliant"
    (lab / "desk2" / "OAuthConfigs" / "custom_redshift_okta.xml").unlink()

    rc, output, raw = play(lab, "--limit", "desk1,desk2")
    assert rc == 0, raw  # drift alone does not fail the job unless asked to
    _path, report = latest(lab)
    assert report["hosts"] == {"desk1": "compliant", "desk2": "missing"}
    assert output["global_custom_stats"]["tabops_compliance_status"] == "drift"

    rc, output, raw = play(lab, "--limit", "desk1,desk2", tabops_compliance_fail_on_drift=True)
    assert rc == 2, raw
    assert "compliance: drift (exit status 2); hosts: missing 1, compliant 1 of 2" in raw
    assert latest(lab)[1]["exit_code"] == 2
    assert output["global_custom_stats"]["tabops_compliance_exit_code"] == 2


def test_keep_prunes_old_sets_copies_them_and_writes_the_textfile(lab):
    textfile = lab / "node_exporter" / "tabops_compliance.prom"
    variables = {
        "tabops_compliance_keep": 2,
        "tabops_compliance_copy_dir": str(lab / "share"),
        "tabops_compliance_prometheus_file": str(textfile),
    }
    for _attempt in range(3):
        rc, _output, raw = play(lab, "--limit", "desk1", "--check", **variables)
        assert rc == 0, raw
    for folder in ("reports", "share"):
        runs = sorted(name for name in os.listdir(lab / folder) if name != "latest")
        assert len(runs) == 2, runs
        assert os.readlink(lab / folder / "latest") == runs[-1]
    path, report = latest(lab)
    assert report["run"]["mode"] == "check"
    assert sorted(os.listdir(lab / "share" / path.name)) == sorted(os.listdir(path))
    assert textfile.read_text() == (path / "compliance.prom").read_text()
    assert [name for name in os.listdir(textfile.parent) if name != textfile.name] == []  # no temporary left


@pytest.fixture
def moto_s3():
    pytest.importorskip("boto3")
    server_module = pytest.importorskip("moto.server")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def test_the_report_set_is_copied_to_s3(lab, moto_s3, monkeypatch):
    import boto3

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3", endpoint_url=moto_s3, region_name="us-east-1")
    s3.create_bucket(Bucket="tabops-reports")
    rc, _output, raw = play(
        lab,
        "--limit",
        "desk1",
        tabops_compliance_s3_bucket="tabops-reports",
        tabops_compliance_s3_prefix="nightly",
        tabops_compliance_s3_endpoint_url=moto_s3,
        tabops_compliance_s3_region="us-east-1",
    )
    assert rc == 0, raw
    path, report = latest(lab)
    listed = s3.list_objects_v2(Bucket="tabops-reports", Prefix="nightly/")["Contents"]
    assert sorted(item["Key"] for item in listed) == sorted(f"nightly/{path.name}/{name}" for name in os.listdir(path))
    uploaded = s3.get_object(Bucket="tabops-reports", Key=f"nightly/{path.name}/compliance.json")["Body"].read()
    assert json.loads(uploaded) == report
