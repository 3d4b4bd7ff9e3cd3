# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Compliance findings and the report set of one run (controller side only).

One code path from results to reports: the ``compliance_report`` action (the
last play of ``playbooks/compliance.yml``) reads every checked host's
registered results, and the ``compliance_report`` callback (the fallback
``scripts/compliance`` enables for runs that end before that play) passes what
it saw; both call :func:`run_findings`, :func:`build_report` and
:func:`publish`. The JSON shape is documented in docs/compliance.md and
docs/compliance-report.schema.json.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timezone
from xml.etree import ElementTree

try:
    from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils import _outcome as outcome
except ImportError:  # scripts/compliance loads this file by path (standard library only): its sibling alike
    import importlib.util

    _spec = importlib.util.spec_from_file_location(
        "tabops_outcome", os.path.join(os.path.dirname(os.path.abspath(__file__)), "_outcome.py")
    )
    outcome = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(outcome)

SCHEMA_VERSION = 1
REPORT_JSON = "compliance.json"
REPORT_JUNIT = "junit.xml"
REPORT_HTML = "report.html"
REPORT_PROMETHEUS = "compliance.prom"
REPORT_NDJSON = "findings.ndjson"
REPORT_FILES = (REPORT_JSON, REPORT_JUNIT, REPORT_HTML, REPORT_PROMETHEUS, REPORT_NDJSON)
LATEST = "latest"

# The hosts a compliance run checks (the play of playbooks/compliance.yml) and what they register.
TABLEAU_HOSTS_PATTERN = "tableau_server:tableau_bridge:tableau_desktop"
FILES_RESULT_VAR = "tabops_artifacts_result"
TSM_SETTINGS_RESULT_VAR = "tabops_tsm_settings_result"
TSM_APPLY_RESULT_VAR = "tabops_tsm_apply_result"

COMPLIANT = "compliant"
DRIFT = "drift"
MISSING = "missing"
UNMANAGED_CONFLICT = "unmanaged_conflict"
UNREACHABLE = "unreachable"
ERROR = "error"
# Worst first: a cell holding several files shows the worst of them.
STATUS_SEVERITY = {ERROR: 5, UNREACHABLE: 4, UNMANAGED_CONFLICT: 3, MISSING: 2, DRIFT: 1, COMPLIANT: 0}
STATUSES = tuple(sorted(STATUS_SEVERITY, key=STATUS_SEVERITY.get))
DRIFT_STATUSES = frozenset({DRIFT, MISSING, UNMANAGED_CONFLICT})
FAILURE_STATUSES = frozenset({ERROR, UNREACHABLE})

# Exit status for schedulers (docs/compliance.md, "Exit status"): an incomplete check (error, unreachable)
# wins over drift, because "drift" would claim the rest of the fleet was seen; the summary lists both.
EXIT_COMPLIANT = 0
EXIT_ERROR = 1
EXIT_DRIFT = 2
EXIT_UNREACHABLE = 4
RESULT_OF_EXIT = {
    EXIT_COMPLIANT: "compliant",
    EXIT_DRIFT: "drift",
    EXIT_UNREACHABLE: "unreachable",
    EXIT_ERROR: "error",
}

MODE_CHECK = "check"
MODE_REMEDIATE = "remediate"
MODE_APPLY = "apply"

HOST_ARTIFACT = "host"
# The HTML column of the host-level finding: what it checks, so it is never read as the host's overall status.
HOST_CHECKS_COLUMN = "host checks"
UNMANAGED_ARTIFACT = "unmanaged files"
TSM_ALLOWLIST = "tsm: ODBC extras allowlist"
TSM_SETTINGS = "tsm: settings"
TSM_PENDING = "tsm: pending changes"
TSM_CLIENT_PREFIX = "tsm: OAuth client "
NOT_CHECKED = "not checked: the run ended before this host"

# The module's file statuses, as findings.
_FILE_STATUS = {"compliant": COMPLIANT, "drift": DRIFT, "missing": MISSING, "stale": DRIFT, "error": ERROR}
TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
HTML_TEMPLATE = "compliance_report.html.j2"


def worst(statuses):
    statuses = list(statuses)
    return max(statuses, key=STATUS_SEVERITY.__getitem__) if statuses else COMPLIANT


def _value_text(value):
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def difference_text(difference):
    """``capabilities.X: expected true, found false``."""
    return (
        f"{difference.get('path')}: expected {_value_text(difference.get('expected'))}, "
        f"found {_value_text(difference.get('actual'))}"
    )


def _item(path, status, messages=(), application=None, action="none", differences=()):
    return {
        "path": path,
        "application": application,
        "status": status,
        "action": action,
        "differences": list(differences),
        "messages": list(messages),
    }


def _finding(host, artifact, kind, items, message=""):
    return {
        "host": host,
        "artifact": artifact,
        "kind": kind,
        "status": worst(item["status"] for item in items),
        "message": message,
        "items": items,
    }


# -- results to findings ----------------------------------------------------------------------------------------


# A file entry's fields the findings read, and what each must be (a host result is data, never trusted).
_ENTRY_TEXT_FIELDS = ("path", "artifact", "kind", "application", "status", "action")
_MESSAGE_CHARS = 300


def _type_name(value):
    return "null" if value is None else type(value).__name__


def _short(value):
    return outcome.printable(value, _MESSAGE_CHARS)


def _entry_problem(where, entry, text_fields):
    """Why ``entry`` (``files[3]``) cannot become a finding, or None."""
    if not isinstance(entry, Mapping):
        return f"{where} must be a mapping, not {_type_name(entry)}"
    for field in text_fields:
        value = entry.get(field)
        if value is not None and not isinstance(value, str):
            return f"{where}.{field} must be a string, not {_type_name(value)} ({_short(entry.get('path'))})"
    differences = entry.get("differences")
    if differences is not None and (
        not isinstance(differences, list) or not all(isinstance(d, Mapping) for d in differences)
    ):
        return f"{where}.differences must be a list of mappings ({_short(entry.get('path'))})"
    return None


def _listed(result, key, problems):
    value = result.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(f"{key} must be a list, not {_type_name(value)}")
        return []
    return value


def result_details(result):
    """Where a result keeps its files: the result itself, or ``details`` (a failed host's result with -v)."""
    details = result.get("details")
    return details if isinstance(details, Mapping) and ("files" in details or "unmanaged" in details) else result


def _file_items(host, result, problems):
    by_artifact = {}
    for index, entry in enumerate(_listed(result, "files", problems)):
        problem = _entry_problem(f"files[{index}]", entry, _ENTRY_TEXT_FIELDS)
        if problem:
            problems.append(problem)
            continue
        status = _FILE_STATUS.get(entry.get("status"), ERROR)
        differences = entry.get("differences") or []
        if entry.get("status") == "stale":
            messages = ["owned by the collection but no longer declared (stale)"]
        elif status == MISSING:
            messages = ["file is missing"]
        elif status == ERROR and not differences:
            messages = [_short(entry.get("msg") or entry.get("problem") or entry.get("detail") or "check failed")]
        else:
            messages = [difference_text(d) for d in differences]
        key = (entry.get("artifact") or entry.get("path") or "", entry.get("kind") or "")
        by_artifact.setdefault(key, []).append(
            _item(entry.get("path"), status, messages, entry.get("application"), entry.get("action"), differences)
        )
    return by_artifact


SHORT_UNMANAGED = "unmanaged/files"


def _short_failure_items(result, problems):
    """A failed host's short result (no files; ``artifacts``: {"kind/artifact": status}): one item per artifact."""
    by_artifact = {}
    artifacts = result.get("artifacts")
    if not isinstance(artifacts, Mapping):
        if artifacts is not None:
            problems.append(f"artifacts must be a mapping, not {_type_name(artifacts)}")
        return by_artifact
    for key, module_status in artifacts.items():
        kind, _slash, artifact = str(key).partition("/")
        if key == SHORT_UNMANAGED or not artifact:
            continue
        status = _FILE_STATUS.get(module_status, ERROR)
        messages = [] if status == COMPLIANT else [f"{_short(module_status)} (the files' details: run with -v)"]
        by_artifact[(artifact, kind)] = [_item(None, status, messages)]
    return by_artifact


def file_findings(host, result):
    """(findings, problems) of one ``tableau_files`` result: one finding per Tableau file, plus stray files.

    ``problems``: why parts of the result could not be read (a malformed entry); the caller makes them an error
    finding for the host, so one host's odd result never stops the report of the others.
    """
    problems = []
    source = result_details(result)
    if "files" in source or "unmanaged" in source:
        by_artifact = _file_items(host, source, problems)
    else:
        by_artifact = _short_failure_items(result, problems)
    findings = [
        _finding(host, artifact, kind, items, "; ".join(m for item in items for m in item["messages"][:3]))
        for (artifact, kind), items in sorted(by_artifact.items())
    ]
    unmanaged = []
    for index, entry in enumerate(_listed(source, "unmanaged", problems)):
        problem = _entry_problem(f"unmanaged[{index}]", entry, ("path", "application", "reason", "detail"))
        if problem:
            problems.append(problem)
            continue
        message = f"{entry.get('reason')}: {entry.get('detail', '')}".rstrip(": ")
        unmanaged.append(_item(entry.get("path"), UNMANAGED_CONFLICT, [message], entry.get("application")))
    short_artifacts = result.get("artifacts") if source is result else None
    if not unmanaged and isinstance(short_artifacts, Mapping) and short_artifacts.get(SHORT_UNMANAGED):
        unmanaged.append(_item(None, UNMANAGED_CONFLICT, ["unmanaged files (details: run with -v)"]))
    if unmanaged:
        findings.append(
            _finding(host, UNMANAGED_ARTIFACT, "unmanaged", unmanaged, "; ".join(u["messages"][0] for u in unmanaged))
        )
    return findings, [f"malformed result: {problem}" for problem in problems]


def findings_from_tsm_settings(host, result):
    """Findings of one ``tsm_settings`` result (allowlist, each OAuth client, pending changes)."""
    allowlist = result.get("allowlist") or {}
    added = allowlist.get("added") or []
    allowlist_messages = [f"missing allowlist entry {entry}" for entry in added]
    findings = [
        _finding(
            host,
            TSM_ALLOWLIST,
            "tsm",
            [
                _item(
                    allowlist.get("key"),
                    DRIFT if added else COMPLIANT,
                    allowlist_messages,
                    "server",
                    "update" if added else "none",
                    [{"path": f"missing entry {entry}", "expected": entry, "actual": None} for entry in added],
                )
            ],
            "; ".join(allowlist_messages),
        )
    ]
    for client in result.get("oauth_clients") or []:
        status = {"compliant": COMPLIANT, "missing": MISSING}.get(client.get("status"), DRIFT)
        differences = client.get("differences") or []
        messages = ["OAuth client entry is missing"] if status == MISSING else [difference_text(d) for d in differences]
        action = "none" if status == COMPLIANT else "update"
        findings.append(
            _finding(
                host,
                TSM_CLIENT_PREFIX + str(client.get("id")),
                "tsm",
                [_item("oauth.config.clients", status, messages, "server", action, differences)],
                "; ".join(messages),
            )
        )
    pending = result.get("pending_keys") or []
    pending_message = f"changes pending but not applied: {', '.join(pending)}" if pending else ""
    findings.append(
        _finding(
            host,
            TSM_PENDING,
            "tsm",
            [
                _item(
                    "tsm pending-changes",
                    DRIFT if pending else COMPLIANT,
                    [pending_message] if pending else [],
                    "server",
                )
            ],
            pending_message,
        )
    )
    return findings


def finding_for_reached_host(host):
    """The ``host`` finding of a host whose check ran: compliant, so every checked host has a row."""
    return _finding(host, HOST_ARTIFACT, "host", [_item(None, COMPLIANT)])


def finding_for_failure(host, task_name, message, unreachable):
    status = UNREACHABLE if unreachable else ERROR
    return _finding(host, HOST_ARTIFACT, "host", [_item(task_name, status, [message])], message)


def failure_of(result, task_name):
    """``{"task", "message", "unreachable"}`` when a registered result is a failure, else None."""
    if not isinstance(result, dict):
        return None
    if result.get("unreachable"):
        return {"task": task_name, "message": str(result.get("msg") or "unreachable"), "unreachable": True}
    if result.get("failed"):
        return {"task": task_name, "message": str(result.get("msg") or "failed"), "unreachable": False}
    return None


def _ran(result):
    return isinstance(result, dict) and not result.get("skipped")


def run_findings(
    checked_hosts,
    files_results,
    tsm_node=None,
    tsm_settings_result=None,
    tsm_apply_result=None,
    failures=None,
):
    """The findings of one run: the one place results become findings (action and callback).

    ``checked_hosts``: the hosts the run checks (the Tableau groups, narrowed by ``--limit``); only
    these get findings, whatever else the inventory holds. ``files_results``: host -> its
    ``tableau_files`` result (as registered). ``tsm_*_result``: the tsm node's results.
    ``failures``: host -> [failure] seen outside those results (the callback's view of other tasks).
    A checked host with neither a result nor a failure was not reached: an error, never silence.
    """
    failures = failures or {}
    checked = list(dict.fromkeys(checked_hosts))
    findings = []
    # Why the run ended, for the hosts it never reached: the first failure anywhere (even outside the checked hosts).
    first_failure = next(
        (f" ({host}: {entries[0]['task']}: {entries[0]['message']})" for host, entries in failures.items() if entries),
        "",
    )
    for host in checked:
        result = files_results.get(host)
        host_failures = list(failures.get(host) or [])
        failure = failure_of(result, "tableau_files")
        if failure:
            host_failures.insert(0, failure)
        if _ran(result) and not result.get("unreachable"):
            found, problems = file_findings(host, result)
            findings.extend(found)
            host_failures.extend({"task": "tableau_files", "message": p, "unreachable": False} for p in problems)
        if host_failures:
            first = host_failures[0]
            finding = finding_for_failure(host, first["task"], first["message"], first["unreachable"])
            for later in host_failures[1:]:
                finding["items"].extend(
                    finding_for_failure(host, later["task"], later["message"], later["unreachable"])["items"]
                )
            finding["status"] = worst(item["status"] for item in finding["items"])
            findings.append(finding)
        elif _ran(result):
            findings.append(finding_for_reached_host(host))
        else:
            findings.append(finding_for_failure(host, "run", NOT_CHECKED + first_failure, False))
    if tsm_node and tsm_node in checked:
        for result, task_name in ((tsm_settings_result, "tsm_settings"), (tsm_apply_result, "tsm_pending_changes")):
            failure = failure_of(result, task_name)
            if failure:
                findings.append(
                    _finding(
                        tsm_node,
                        TSM_PENDING if task_name == "tsm_pending_changes" else TSM_SETTINGS,
                        "tsm",
                        [_item(task_name, UNREACHABLE if failure["unreachable"] else ERROR, [failure["message"]])],
                        failure["message"],
                    )
                )
            elif task_name == "tsm_settings" and _ran(result):
                findings.extend(findings_from_tsm_settings(tsm_node, result))
    return findings


# -- the report -------------------------------------------------------------------------------------------------


def exit_code(findings):
    statuses = {finding["status"] for finding in findings}
    if ERROR in statuses:
        return EXIT_ERROR
    if UNREACHABLE in statuses:
        return EXIT_UNREACHABLE
    if statuses & DRIFT_STATUSES:
        return EXIT_DRIFT
    return EXIT_COMPLIANT


def overall(code):
    return RESULT_OF_EXIT.get(code, "error")


def run_mode(check_mode, remediate):
    """``check`` whenever the checks ran in check mode, however the run was started."""
    if check_mode:
        return MODE_CHECK
    return MODE_REMEDIATE if remediate else MODE_APPLY


def collection_version():
    """The version of the collection this file belongs to (installed: MANIFEST.json; checkout: galaxy.yml)."""
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    manifest = os.path.join(root, "MANIFEST.json")
    if os.path.exists(manifest):
        with open(manifest, encoding="utf-8") as handle:
            return str(json.load(handle).get("collection_info", {}).get("version", "unknown"))
    galaxy = os.path.join(root, "galaxy.yml")
    if os.path.exists(galaxy):
        with open(galaxy, encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("version:"):
                    return line.split(":", 1)[1].strip().strip("'\"")
    return "unknown"


def run_meta(start, end, playbook, inventory, mode, collection_version, ansible_version):
    return {
        "start": start.astimezone(timezone.utc).isoformat(timespec="seconds"),
        "end": end.astimezone(timezone.utc).isoformat(timespec="seconds"),
        "playbook": playbook,
        "inventory": [str(source) for source in inventory or []],
        "mode": mode,
        "collection": "tabops.redshift_oauth",
        "collection_version": str(collection_version),
        "ansible_version": str(ansible_version),
    }


def build_report(meta, findings, hosts):
    """The JSON document of one run. ``hosts``: every host the run checks (each gets a row)."""
    findings = sorted(findings, key=lambda f: (f["host"], f["artifact"]))
    reported = {f["host"] for f in findings}
    for host in sorted(set(hosts) - reported):
        findings.append(finding_for_failure(host, "run", NOT_CHECKED, False))
    host_status = {}
    for finding in findings:
        host_status[finding["host"]] = worst([host_status.get(finding["host"], COMPLIANT), finding["status"]])
    host_counts = dict(dict.fromkeys(STATUSES, 0), **Counter(host_status.values()))
    finding_counts = dict(dict.fromkeys(STATUSES, 0), **Counter(finding["status"] for finding in findings))
    code = exit_code(findings)
    return {
        "schema_version": SCHEMA_VERSION,
        "run": dict(
            meta, hosts={"total": len(host_status), **host_counts}, findings={"total": len(findings), **finding_counts}
        ),
        "result": overall(code),
        "exit_code": code,
        "hosts": {host: host_status[host] for host in sorted(host_status)},
        "findings": findings,
    }


def failure_causes(report):
    """{cause: hosts} of the hosts whose check failed or did not reach them (``driver-missing``, ``unreachable``)."""
    pairs = []
    for host, status in report["hosts"].items():
        if status not in FAILURE_STATUSES:
            continue
        causes = [
            outcome.cause_of_message(finding["message"] or finding["status"], finding["status"] == UNREACHABLE)
            for finding in report["findings"]
            if finding["host"] == host and finding["status"] in FAILURE_STATUSES
        ]
        pairs.append((host, causes))
    return outcome.group_by_cause(pairs)


def summary(report):
    """One line a person reads first: every status present is named, not only the one that set the exit code."""
    hosts = report["run"]["hosts"]
    counts = ", ".join(f"{status} {hosts[status]}" for status in reversed(STATUSES) if hosts.get(status))
    return f"{report['result']} (exit status {report['exit_code']}); hosts: {counts} of {hosts['total']}"


def summary_by_cause(report):
    """The lines under the summary: the failed and unreachable hosts grouped by cause, one line per cause
    (``error driver-missing: 7 hosts (tsnode1, ..., +2 more)``), one screen at 1,000 hosts."""
    return outcome.cause_lines(failure_causes(report))


def stats_data(report, report_path):
    """What ``set_stats`` publishes (AWX job artifacts, workflow extra variables): aggregate, not per host."""
    return {
        "tabops_compliance_status": report["result"],
        "tabops_compliance_exit_code": report["exit_code"],
        "tabops_compliance_mode": report["run"]["mode"],
        "tabops_compliance_hosts": dict(report["run"]["hosts"]),
        "tabops_compliance_findings": dict(report["run"]["findings"]),
        "tabops_compliance_report_path": report_path,
    }


# -- renderings -------------------------------------------------------------------------------------------------

_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(value):
    """XML 1.0 cannot hold every character a host file may contain: drop the ones it cannot."""
    return _XML_INVALID.sub("\ufffd", str(value))


def render_junit(report):
    """JUnit XML: one testcase per host x Tableau file; drift is a failure, error/unreachable an error."""
    findings = report["findings"]

    def counts(group):
        return (
            str(len(group)),
            str(sum(1 for f in group if f["status"] in DRIFT_STATUSES)),
            str(sum(1 for f in group if f["status"] in FAILURE_STATUSES)),
        )

    tests, failures, errors = counts(findings)
    root = ElementTree.Element(
        "testsuites", name="tabops.redshift_oauth compliance", tests=tests, failures=failures, errors=errors
    )
    by_host = {}
    for finding in findings:
        by_host.setdefault(finding["host"], []).append(finding)
    for host, host_findings in by_host.items():
        tests, failures, errors = counts(host_findings)
        suite = ElementTree.SubElement(
            root,
            "testsuite",
            name=_xml_text(host),
            tests=tests,
            failures=failures,
            errors=errors,
            timestamp=report["run"].get("start", ""),
        )
        for finding in host_findings:
            case = ElementTree.SubElement(
                suite, "testcase", classname=_xml_text(host), name=_xml_text(finding["artifact"])
            )
            if finding["status"] == COMPLIANT:
                continue
            tag = "failure" if finding["status"] in DRIFT_STATUSES else "error"
            outcome = ElementTree.SubElement(
                case, tag, type=finding["status"], message=_xml_text(finding["message"] or finding["status"])
            )
            outcome.text = _xml_text(
                "\n".join(f"{item.get('path')}: {message}" for item in finding["items"] for message in item["messages"])
            )
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def anchor(host, artifact):
    return "f-" + "".join(ch if ch.isalnum() else "-" for ch in f"{host}-{artifact}")


def render_html(report):
    """A self-contained page (autoescaped template, no external resources): the fleet matrix and the details."""
    import jinja2  # controller only: Ansible itself needs Jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    findings = report["findings"]
    artifacts = sorted({f["artifact"] for f in findings}, key=lambda a: (a == HOST_ARTIFACT, a.startswith("tsm"), a))
    return environment.get_template(HTML_TEMPLATE).render(
        report=report,
        run=report["run"],
        statuses=STATUSES,
        hosts=list(report["hosts"]),
        artifacts=artifacts,
        cells={(f["host"], f["artifact"]): f for f in findings},
        problems=[f for f in findings if f["status"] != COMPLIANT],
        anchor=anchor,
        compliant=COMPLIANT,
        column_names={HOST_ARTIFACT: HOST_CHECKS_COLUMN},
    )


def _epoch(timestamp):
    return datetime.fromisoformat(timestamp).timestamp()


def render_prometheus(report):
    """Prometheus text format for node_exporter's textfile collector."""
    run = report["run"]
    lines = [
        "# HELP tabops_compliance_hosts Hosts of the last compliance run, by status.",
        "# TYPE tabops_compliance_hosts gauge",
        *(f'tabops_compliance_hosts{{status="{status}"}} {run["hosts"][status]}' for status in STATUSES),
        "# HELP tabops_compliance_findings Findings (host x Tableau file) of the last compliance run, by status.",
        "# TYPE tabops_compliance_findings gauge",
        *(f'tabops_compliance_findings{{status="{status}"}} {run["findings"][status]}' for status in STATUSES),
        "# HELP tabops_compliance_last_run_timestamp_seconds When the last compliance run ended (Unix time).",
        "# TYPE tabops_compliance_last_run_timestamp_seconds gauge",
        f"tabops_compliance_last_run_timestamp_seconds {_epoch(run['end']):.0f}",
        "# HELP tabops_compliance_run_duration_seconds How long the last compliance run took.",
        "# TYPE tabops_compliance_run_duration_seconds gauge",
        f"tabops_compliance_run_duration_seconds {max(0.0, _epoch(run['end']) - _epoch(run['start'])):.0f}",
        "# HELP tabops_compliance_exit_code Exit status of the last run: 0 compliant, 2 drift, 4 unreachable, 1 error.",
        "# TYPE tabops_compliance_exit_code gauge",
        f"tabops_compliance_exit_code {report['exit_code']}",
    ]
    return "\n".join(lines) + "\n"


def render_ndjson(report):
    """One JSON object per line and finding (Splunk, ELK): each line carries its run's context."""
    run = report["run"]
    context = {
        "timestamp": run["end"],
        "run_start": run["start"],
        "mode": run["mode"],
        "collection": run["collection"],
        "collection_version": run["collection_version"],
        "run_result": report["result"],
    }
    return "".join(json.dumps({**context, **finding}, sort_keys=True) + "\n" for finding in report["findings"])


def render_report_set(report):
    return {
        REPORT_JSON: json.dumps(report, indent=2) + "\n",
        REPORT_JUNIT: render_junit(report),
        REPORT_HTML: render_html(report),
        REPORT_PROMETHEUS: render_prometheus(report),
        REPORT_NDJSON: render_ndjson(report),
    }


# -- files ------------------------------------------------------------------------------------------------------


def run_directory_name(start):
    return start.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _point_latest(report_dir, name):
    temporary_link = os.path.join(report_dir, LATEST + ".tmp")
    if os.path.lexists(temporary_link):
        os.unlink(temporary_link)
    os.symlink(name, temporary_link)
    os.replace(temporary_link, os.path.join(report_dir, LATEST))


def _install_run_directory(documents, report_dir, name):
    """Write ``documents`` into ``<report_dir>/<name>[-N]/`` whole (staging folder, one rename)."""
    os.makedirs(report_dir, exist_ok=True)
    final = os.path.join(report_dir, name)
    suffix = 1
    while os.path.lexists(final):
        suffix += 1
        final = os.path.join(report_dir, f"{name}-{suffix}")
    staging = tempfile.mkdtemp(prefix=".staging-", dir=report_dir)
    try:
        for file_name, content in documents.items():
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(os.path.join(staging, file_name), mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as out:
                out.write(content)
        os.chmod(staging, 0o755)  # noqa: S103 - reports are for people and CI servers to read
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _point_latest(report_dir, os.path.basename(final))
    return final


def write_report_set(report, report_dir, start=None):
    """Write every rendering into ``<report_dir>/<run time>/`` atomically, point ``latest`` at it; return it."""
    start = start or datetime.now(timezone.utc)
    return _install_run_directory(render_report_set(report), report_dir, run_directory_name(start))


def copy_report_set(run_path, destination_dir):
    """Copy a written report set to a second place (a persistent or shared folder), whole, with its own latest."""
    documents = {}
    for name in REPORT_FILES:
        with open(os.path.join(run_path, name), "rb") as handle:
            documents[name] = handle.read()
    return _install_run_directory(documents, destination_dir, os.path.basename(run_path.rstrip(os.sep)))


def write_file_atomically(path, text):
    """Replace ``path`` in one rename (a reader such as node_exporter never sees half a file)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=directory)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def prune_report_sets(report_dir, keep):
    """Keep the newest ``keep`` report sets (run directories) in ``report_dir``; return the removed ones."""
    if keep is None or keep <= 0 or not os.path.isdir(report_dir):
        return []
    runs = sorted(
        entry
        for entry in os.listdir(report_dir)
        if not entry.startswith(".")
        and entry != LATEST
        and not os.path.islink(os.path.join(report_dir, entry))
        and os.path.isfile(os.path.join(report_dir, entry, REPORT_JSON))
    )
    removed = runs[:-keep] if len(runs) > keep else []
    for entry in removed:
        shutil.rmtree(os.path.join(report_dir, entry), ignore_errors=True)
    return removed


# The options of publish() the action and the callback take from their user, by the same names.
PUBLISH_OPTIONS = ("report_dir", "keep", "copy_dir", "prometheus_file", "result_file")


def publish_run(findings, checked, start, playbook, inventory, mode, ansible_version, **options):
    """``(report, what publish left)``: the report of a run's ``findings`` over its ``checked`` hosts, published with
    ``options`` (:data:`PUBLISH_OPTIONS`); the last step of the action and of the callback alike."""
    end = datetime.now(timezone.utc)
    meta = run_meta(start, end, playbook, inventory, mode, collection_version(), ansible_version)
    report = build_report(meta, findings, checked)
    return report, publish(report, start=start, **options)


def publish(report, report_dir, keep=0, start=None, copy_dir=None, prometheus_file=None, result_file=None):
    """Everything a run leaves behind: the report set, pruning, the copy, the textfile and the path marker."""
    path = write_report_set(report, report_dir, start=start)
    removed = prune_report_sets(report_dir, keep)
    copied = None
    if copy_dir:
        copied = copy_report_set(path, copy_dir)
        prune_report_sets(copy_dir, keep)
    if prometheus_file:
        write_file_atomically(prometheus_file, render_prometheus(report))
    if result_file:
        write_file_atomically(result_file, path + "\n")
    return {
        "report_path": path,
        "report_files": list(REPORT_FILES),
        "pruned": removed,
        "copied_to": copied,
        "prometheus_file": prometheus_file or None,
    }
