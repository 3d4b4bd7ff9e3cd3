# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
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


def files_result(status="compliant", differences=(), unmanaged=()):
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
    findings, _problems = compliance.file_findings("desk1", files_result("drift", differences))
    okta = next(f for f in findings if f["artifact"] == "custom_okta")
    assert okta["status"] == "drift"
    assert okta["message"] == "capabilities.OAUTH_CAP_FIXED_PORT_IN_CALLBACK_URL: expected true, found false"
    assert next(f for f in findings if f["artifact"] == "redshift")["status"] == "compliant"


@pytest.mark.parametrize(
    ("module_status", "finding_status"),
    [("compliant", "compliant"), ("drift", "drift"), ("missing", "missing"), ("stale", "drift"), ("error", "error")],
)
def test_module_statuses_map_to_findings(module_status, finding_status):
    findings, _problems = compliance.file_findings("desk1", files_result(module_status))
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
    findings, _problems = compliance.file_findings("br1", files_result(unmanaged=unmanaged))
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
    findings, _problems = compliance.file_findings(
        "desk1", files_result("drift", [{"path": "scopes", "expected": ["openid"], "actual": []}])
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
    assert sorted(os.listdir(paths[-1])) == sorted(compliance.REPORT_FILES)
    assert os.readlink(tmp_path / "latest") == "20261103T023000Z"
    ET.parse(Path(paths[-1]) / "junit.xml")
    assert json.loads((Path(paths[-1]) / "compliance.json").read_text()) == report
    assert compliance.prune_report_sets(str(tmp_path), keep=2) == ["20261101T023000Z"]
    assert not any(name.startswith(".staging") for name in os.listdir(tmp_path))
    # The same second twice does not overwrite the first set.
    again = compliance.write_report_set(report, tmp_path, start=datetime(2026, 11, 3, 2, 30, tzinfo=timezone.utc))
    assert Path(again).name == "20261103T023000Z-2"


# -- one code path from results to findings (the report action and the fallback callback) ---------------------


def test_only_the_checked_hosts_get_findings_whatever_else_has_results():
    results = {"desk1": files_result(), "db1": files_result("drift")}
    findings = compliance.run_findings(["desk1"], results)
    assert {f["host"] for f in findings} == {"desk1"}
    report = compliance.build_report(META, findings, ["desk1"])
    assert (report["hosts"], report["exit_code"]) == ({"desk1": "compliant"}, 0)


@pytest.mark.parametrize("os_family", ["Linux", "Windows", "Darwin"])
def test_every_os_gets_the_same_statuses_from_the_same_result_shape(os_family):
    result = dict(files_result("drift", [{"path": "scopes", "expected": "a", "actual": "b"}]), os_family=os_family)
    findings = compliance.run_findings([f"{os_family}-host"], {f"{os_family}-host": result})
    assert {f["artifact"]: f["status"] for f in findings} == {
        "custom_okta": "drift",
        "redshift": "compliant",
        "host": "compliant",
    }


def test_failed_unreachable_skipped_and_missing_results():
    results = {
        "down": {"unreachable": True, "msg": "ssh: connect to host down port 22: Connection refused"},
        "broken": {"failed": True, "msg": "disk full writing /x", "files": files_result()["files"]},
        "skipped": {"skipped": True},
    }
    failures = {"other": [{"task": "Preflight summary", "message": "bad id", "unreachable": False}]}
    findings = compliance.run_findings(["down", "broken", "skipped", "never"], results, failures=failures)
    report = compliance.build_report(META, findings, ["down", "broken", "skipped", "never"])
    assert report["hosts"] == {"broken": "error", "down": "unreachable", "never": "error", "skipped": "error"}
    by_host = {f["host"]: f for f in report["findings"] if f["artifact"] == "host"}
    assert by_host["down"]["message"].startswith("ssh: connect")
    assert by_host["broken"]["message"] == "disk full writing /x"
    # The files a failed call still reported are findings too.
    assert any(f["host"] == "broken" and f["artifact"] == "custom_okta" for f in report["findings"])
    assert by_host["never"]["message"] == compliance.NOT_CHECKED + " (other: Preflight summary: bad id)"
    assert "other" not in report["hosts"]
    jsonschema.validate(report, SCHEMA)


def test_tsm_results_are_read_on_the_tsm_node_only_and_their_failures_are_errors():
    tsm = {"allowlist": {"key": "k", "added": []}, "oauth_clients": [], "pending_keys": []}
    findings = compliance.run_findings(["ts1", "ts2"], {"ts1": {}, "ts2": {}}, tsm_node="ts1", tsm_settings_result=tsm)
    assert {(f["host"], f["artifact"]) for f in findings if f["kind"] == "tsm"} == {
        ("ts1", compliance.TSM_ALLOWLIST),
        ("ts1", compliance.TSM_PENDING),
    }
    failed = compliance.run_findings(
        ["ts1"], {"ts1": {}}, tsm_node="ts1", tsm_settings_result=tsm, tsm_apply_result={"failed": True, "msg": "boom"}
    )
    apply = next(f for f in failed if f["artifact"] == compliance.TSM_PENDING and f["status"] == "error")
    assert apply["message"] == "boom"
    # The tsm node outside the checked hosts (--limit): not reported.
    assert not [f for f in compliance.run_findings(["d1"], {"d1": {}}, "ts1", tsm) if f["host"] == "ts1"]


@pytest.mark.parametrize(
    ("check_mode", "remediate", "mode"),
    [(True, False, "check"), (True, True, "check"), (False, True, "remediate"), (False, False, "apply")],
)
def test_mode_says_check_whenever_the_checks_ran_in_check_mode(check_mode, remediate, mode):
    assert compliance.run_mode(check_mode, remediate) == mode


def test_summary_and_counts_show_drift_beside_unreachable():
    findings = compliance.run_findings(
        ["a", "b", "c"],
        {
            "a": files_result("drift", [{"path": "x", "expected": 1, "actual": 2}]),
            "b": {"unreachable": True},
            "c": {},
        },
    )
    report = compliance.build_report(META, findings, ["a", "b", "c"])
    assert report["exit_code"] == 4
    assert compliance.summary(report) == "unreachable (exit status 4); hosts: unreachable 1, drift 1, compliant 1 of 3"
    assert report["run"]["findings"]["drift"] == 1 and report["run"]["findings"]["unreachable"] == 1
    stats = compliance.stats_data(report, "/r/1")
    assert stats["tabops_compliance_hosts"]["drift"] == 1 and stats["tabops_compliance_exit_code"] == 4


# -- the renderings ops tools read -------------------------------------------------------------------------------


def test_prometheus_textfile_parses_and_counts_every_status():
    from prometheus_client.parser import text_string_to_metric_families

    report = report_with_everything()
    families = {family.name: family for family in text_string_to_metric_families(compliance.render_prometheus(report))}
    hosts = {sample.labels["status"]: sample.value for sample in families["tabops_compliance_hosts"].samples}
    assert hosts == {status: report["run"]["hosts"][status] for status in compliance.STATUSES}
    findings = {sample.labels["status"]: sample.value for sample in families["tabops_compliance_findings"].samples}
    assert sum(findings.values()) == len(report["findings"])
    assert families["tabops_compliance_exit_code"].samples[0].value == report["exit_code"]
    stamp = families["tabops_compliance_last_run_timestamp_seconds"].samples[0].value
    assert stamp == datetime.fromisoformat(META["end"]).timestamp()
    assert all(family.type == "gauge" for family in families.values())


def test_ndjson_is_one_self_describing_line_per_finding():
    report = report_with_everything()
    lines = compliance.render_ndjson(report).splitlines()
    assert len(lines) == len(report["findings"])
    first = json.loads(lines[0])
    assert {k: first[k] for k in ("timestamp", "mode", "run_result")} == {
        "timestamp": META["end"],
        "mode": "check",
        "run_result": report["result"],
    }
    assert [json.loads(line)["artifact"] for line in lines] == [f["artifact"] for f in report["findings"]]


def test_junit_survives_characters_xml_cannot_hold(tmp_path):
    findings = [compliance.finding_for_failure("h\x01st", "task", 'bell \x07 and <tag> & "quotes"', False)]
    report = compliance.build_report(META, findings, ["h\x01st"])
    path = tmp_path / "junit.xml"
    path.write_text(compliance.render_junit(report))
    case = next(case for suite in JUnitXml.fromfile(str(path)) for case in suite)
    assert case.classname == "h\ufffdst"
    assert case.result[0].message == 'bell \ufffd and <tag> & "quotes"'


def test_html_comes_from_the_shipped_template_with_autoescaping():
    template = Path(compliance.TEMPLATES) / compliance.HTML_TEMPLATE
    assert template.is_file()
    report = report_with_everything()
    page = compliance.render_html(report)
    assert "<script>" not in page and "ssh: connect refused &amp; &lt;script&gt;" in page
    assert 'id="summary"' in page and "unreachable 1" in page
    assert "<link" not in page and "src=" not in page


def test_publish_copies_prunes_and_writes_the_textfile_atomically(tmp_path):
    report = report_with_everything()
    for day in (1, 2, 3):
        published = compliance.publish(
            report,
            str(tmp_path / "reports"),
            keep=2,
            start=datetime(2026, 11, day, 2, 30, tzinfo=timezone.utc),
            copy_dir=str(tmp_path / "share"),
            prometheus_file=str(tmp_path / "textfile" / "tabops.prom"),
            result_file=str(tmp_path / "result.path"),
        )
    assert sorted(os.listdir(tmp_path / "share")) == ["20261102T023000Z", "20261103T023000Z", "latest"]
    assert published["copied_to"] == str(tmp_path / "share" / "20261103T023000Z")
    assert (tmp_path / "result.path").read_text() == published["report_path"] + "\n"
    assert os.listdir(tmp_path / "textfile") == ["tabops.prom"]
    assert (tmp_path / "textfile" / "tabops.prom").read_text() == compliance.render_prometheus(report)


def malformed(field, value):
    result = files_result("drift", [{"path": "scopes", "expected": ["openid"], "actual": []}])
    result["files"].append(dict(result["files"][0], path=OKTA + ".stale", **{field: value}))
    return result


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (malformed("artifact", ["zz", ["nested"]]), "files[2].artifact must be a string, not list"),
        (malformed("artifact", 7), "files[2].artifact must be a string, not int"),
        (malformed("kind", {"a": 1}), "files[2].kind must be a string, not dict"),
        (malformed("differences", "scopes"), "files[2].differences must be a list of mappings"),
        (dict(files_result(), files=[["not", "a", "mapping"]]), "files[0] must be a mapping, not list"),
        (dict(files_result(), files={"a": 1}), "files must be a list, not dict"),
        (dict(files_result(), unmanaged=[{"path": 5, "reason": "x"}]), "unmanaged[0].path must be a string"),
        ({"changed": False, "artifacts": 3}, "artifacts must be a mapping, not int"),
    ],
)
def test_a_malformed_host_result_is_an_error_for_that_host_and_the_report_is_written_for_every_host(
    tmp_path, result, reason
):
    """issue 19: a manifest entry whose artifact is a list or a number once crashed the report for ANY host."""
    results = {"desk1": result, "desk2": files_result("drift"), "desk3": files_result()}
    findings = compliance.run_findings(["desk1", "desk2", "desk3"], results)
    report = compliance.build_report(META, findings, ["desk1", "desk2", "desk3"])
    jsonschema.validate(report, SCHEMA)
    assert report["hosts"] == {"desk1": "error", "desk2": "drift", "desk3": "compliant"}
    [host_finding] = [f for f in report["findings"] if f["host"] == "desk1" and f["artifact"] == "host"]
    assert host_finding["status"] == "error" and f"malformed result: {reason}" in host_finding["message"]
    # The well-formed parts of the same host are still reported.
    if isinstance(result.get("files"), list) and len(result["files"]) > 1:
        assert any(f["host"] == "desk1" and f["artifact"] == "custom_okta" for f in report["findings"])
    path = compliance.publish(report, str(tmp_path / "reports"))["report_path"]
    assert sorted(os.listdir(path)) == sorted(compliance.REPORT_FILES)
    assert compliance.summary_by_cause(report) == ["malformed-result: 1 host (desk1)"]


def test_a_failed_hosts_short_result_and_its_details_with_v_become_the_same_cells():
    """The action keeps a failed host's result short (``artifacts``); with -v the files are under ``details``."""
    full = files_result("drift", [{"path": "scopes", "expected": ["openid"], "actual": []}])
    short = {
        "failed": True,
        "msg": "ERROR driver-missing [desk1]: no Amazon Redshift ODBC driver found -- fix: install it",
        "causes": ["driver-missing"],
        "artifacts": {"oauth_config/custom_okta": "drift", "tdc/redshift": "compliant"},
    }
    verbose = dict(short, details=full)
    cells = {}
    for name, result in (("short", short), ("verbose", verbose)):
        findings = compliance.run_findings(["desk1"], {"desk1": result})
        cells[name] = {(f["artifact"], f["kind"]): f["status"] for f in findings}
    assert (
        cells["short"]
        == cells["verbose"]
        == {
            ("custom_okta", "oauth_config"): "drift",
            ("redshift", "tdc"): "compliant",
            ("host", "host"): "error",
        }
    )


def test_summary_groups_failed_and_unreachable_hosts_by_cause():
    hosts = [f"host{index:02d}" for index in range(1, 21)]
    results = {}
    for index, host in enumerate(hosts):
        if index < 7:
            results[host] = {"failed": True, "msg": f"ERROR driver-missing [{host}]: no driver -- fix: install"}
        elif index < 10:
            results[host] = {"unreachable": True, "msg": "ssh: connect to host x port 22: Connection timed out"}
        elif index < 12:
            results[host] = {"failed": True, "msg": "another run holds the host lock /run/tabops.lock"}
        else:
            results[host] = files_result()
    report = compliance.build_report(META, compliance.run_findings(hosts, results), hosts)
    assert compliance.summary_by_cause(report) == [
        "driver-missing: 7 hosts (host01, host02, host03, host04, host05, +2 more)",
        "unreachable (timeout): 3 hosts (host08, host09, host10)",
        "host-locked: 2 hosts (host11, host12)",
    ]


def test_html_overall_status_comes_first_and_the_host_level_column_is_named():
    findings = compliance.run_findings(["desk1"], {"desk1": files_result("drift")})
    page = compliance.render_html(compliance.build_report(META, findings, ["desk1"]))
    header = page.split("<thead>")[1].split("</thead>")[0]
    assert '<th class="host">host</th><th class="overall">overall</th>' in header
    assert header.rstrip().endswith("<th>host checks</th></tr>") and header.count(">host<") == 1
    row = page.split('<th class="host">desk1</th>')[1]
    assert row.split("<td", 2)[1].startswith(' class="overall drift"')
