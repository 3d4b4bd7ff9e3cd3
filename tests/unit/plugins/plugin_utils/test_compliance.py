"""Compliance findings, exit status and the report set (JSON, JUnit XML, HTML)."""

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import defusedxml.ElementTree as ET
import jsonschema
import pytest
from junitparser import Error, Failure, JUnitXml

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils import _compliance as compliance

SCHEMA = json.loads((Path(__file__).resolve().parents[4] / "docs" / "compliance-report.schema.json").read_text())
META = {
    "start": "2026-11-29T02:30:00+00:00",
    "end": "2026-11-29T02:31:00+00:00",
    "playbook": "/srv/tabops/playbooks/compliance.yml",
    "inventory": ["/srv/tabops/inventories/prod"],
    "mode": "check",
    "collection": "tabops.redshift_oauth",
    "collection_version": "0.1.0",
    "ansible_version": "2.21.5",
}
OKTA = "/home/ann/Documents/My Tableau Repository/OAuthConfigs/custom_okta.xml"


def artifacts_result(status="compliant", differences=(), unmanaged=()):
    return {
        "files": [
            {
                "path": OKTA,
                "artifact": "custom_okta",
                "application": "desktop",
                "kind": "oauth_config",
                "status": status,
                "action": "none" if status == "compliant" else "update",
                "differences": list(differences),
            },
            {
                "path": "/home/ann/Documents/My Tableau Repository/Datasources/redshift.tdc",
                "artifact": "redshift",
                "application": "desktop",
                "kind": "tdc",
                "status": "compliant",
                "action": "none",
                "differences": [],
            },
        ],
        "unmanaged": list(unmanaged),
    }


def test_field_level_drift_reads_like_a_sentence():
    differences = [{"path": "capabilities.OAUTH_CAP_FIXED_PORT_IN_CALLBACK_URL", "expected": True, "actual": False}]
    findings = compliance.findings_from_artifacts("desk1", artifacts_result("drift", differences))
    okta = next(f for f in findings if f["artifact"] == "custom_okta")
    assert okta["status"] == "drift"
    assert okta["message"] == "capabilities.OAUTH_CAP_FIXED_PORT_IN_CALLBACK_URL: expected true, found false"
    assert next(f for f in findings if f["artifact"] == "redshift")["status"] == "compliant"


@pytest.mark.parametrize(
    ("module_status", "finding_status"),
    [("compliant", "compliant"), ("drift", "drift"), ("missing", "missing"), ("stale", "drift"), ("error", "error")],
)
def test_module_statuses_map_to_findings(module_status, finding_status):
    findings = compliance.findings_from_artifacts("desk1", artifacts_result(module_status))
    assert next(f for f in findings if f["artifact"] == "custom_okta")["status"] == finding_status


def test_unmanaged_files_are_conflicts():
    unmanaged = [
        {
            "path": "/x/custom_rogue.xml",
            "application": "bridge",
            "reason": "stray_custom_config",
            "detail": "unmanaged custom OAuth config custom_rogue",
        }
    ]
    findings = compliance.findings_from_artifacts("br1", artifacts_result(unmanaged=unmanaged))
    stray = next(f for f in findings if f["artifact"] == compliance.UNMANAGED_ARTIFACT)
    assert stray["status"] == "unmanaged_conflict"
    assert "stray_custom_config: unmanaged custom OAuth config custom_rogue" in stray["message"]


def test_tsm_findings_cover_allowlist_clients_and_pending_changes():
    result = {
        "allowlist": {"key": "native_api.odbc_extras_allowlist", "added": ["group_federation"]},
        "oauth_clients": [
            {
                "id": "redshift:custom_okta",
                "status": "drift",
                "differences": [{"path": "oauth.config.client_id", "expected": "a", "actual": "b"}],
            },
            {"id": "redshift:custom_entra", "status": "missing", "differences": []},
        ],
        "pending_keys": ["gateway.public.port"],
    }
    findings = {f["artifact"]: f for f in compliance.findings_from_tsm_settings("ts1", result)}
    assert findings[compliance.TSM_ALLOWLIST]["message"] == "missing allowlist entry group_federation"
    assert (
        findings["tsm: OAuth client redshift:custom_okta"]["message"] == "oauth.config.client_id: expected a, found b"
    )
    assert findings["tsm: OAuth client redshift:custom_entra"]["status"] == "missing"
    assert findings[compliance.TSM_PENDING]["message"] == "changes pending but not applied: gateway.public.port"


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        (["compliant"], 0),
        (["compliant", "drift"], 2),
        (["missing"], 2),
        (["unmanaged_conflict"], 2),
        (["drift", "unreachable"], 4),
        (["unreachable", "error", "drift"], 1),
    ],
)
def test_exit_status(statuses, code):
    findings = [{"status": status} for status in statuses]
    assert compliance.exit_code(findings) == code


def test_hosts_the_run_never_reached_are_errors():
    report = compliance.build_report(META, [compliance.finding_for_reached_host("a")], ["a", "b"])
    assert report["hosts"] == {"a": "compliant", "b": "error"}
    assert report["exit_code"] == 1
    jsonschema.validate(report, SCHEMA)


def report_with_everything():
    findings = compliance.findings_from_artifacts(
        "desk1", artifacts_result("drift", [{"path": "scopes", "expected": ["openid"], "actual": []}])
    )
    findings.append(compliance.finding_for_reached_host("desk1"))
    findings.append(compliance.finding_for_failure("br<1>", "Gathering", "ssh: connect refused & <script>", True))
    return compliance.build_report(META, findings, ["desk1", "br<1>"])


def test_junit_has_one_case_per_host_and_artifact(tmp_path):
    report = report_with_everything()
    path = tmp_path / "junit.xml"
    path.write_text(compliance.render_junit(report))
    cases = {(case.classname, case.name): case for suite in JUnitXml.fromfile(str(path)) for case in suite}
    assert len(cases) == len(report["findings"])
    assert [type(r) for r in cases[("desk1", "custom_okta")].result] == [Failure]
    assert [type(r) for r in cases[("br<1>", "host")].result] == [Error]
    assert cases[("desk1", "redshift")].is_passed


def test_html_is_self_contained_and_escapes_what_hosts_report():
    page = compliance.render_html(report_with_everything())
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "http://" not in page and "https://" not in page and "<link" not in page
    assert 'class="drift" data-host="desk1" data-artifact="custom_okta"' in page
    assert 'class="unreachable" data-host="br&lt;1&gt;" data-artifact="host"' in page


def test_report_set_is_written_whole_and_old_ones_pruned(tmp_path):
    report = report_with_everything()
    paths = [
        compliance.write_report_set(report, tmp_path, start=datetime(2026, 11, day, 2, 30, tzinfo=timezone.utc))
        for day in (1, 2, 3)
    ]
    assert [Path(p).name for p in paths] == ["20261101T023000Z", "20261102T023000Z", "20261103T023000Z"]
    assert sorted(os.listdir(paths[-1])) == ["compliance.json", "junit.xml", "report.html"]
    assert os.readlink(tmp_path / "latest") == "20261103T023000Z"
    ET.parse(Path(paths[-1]) / "junit.xml")
    assert json.loads((Path(paths[-1]) / "compliance.json").read_text()) == report
    assert compliance.prune_report_sets(str(tmp_path), keep=2) == ["20261101T023000Z"]
    assert not any(name.startswith(".staging") for name in os.listdir(tmp_path))
    # The same second twice does not overwrite the first set.
    again = compliance.write_report_set(report, tmp_path, start=datetime(2026, 11, 3, 2, 30, tzinfo=timezone.utc))
    assert Path(again).name == "20261103T023000Z-2"
