# Copyright: tabops contributors
# MIT License (see LICENSE)
"""Compliance findings and the report set (JSON, JUnit XML, HTML) of one run.

Controller-side only: the ``compliance_report`` callback feeds it the results
of the rollout modules run in check mode, and it writes one report set per
run. The JSON shape is documented in docs/compliance.md and
docs/compliance-report.schema.json.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import tempfile
from datetime import datetime, timezone
from xml.sax.saxutils import quoteattr

SCHEMA_VERSION = 1
REPORT_JSON = "compliance.json"
REPORT_JUNIT = "junit.xml"
REPORT_HTML = "report.html"

COMPLIANT = "compliant"
DRIFT = "drift"
MISSING = "missing"
UNMANAGED_CONFLICT = "unmanaged_conflict"
UNREACHABLE = "unreachable"
ERROR = "error"
# Worst first: a cell holding several files shows the worst of them.
STATUS_SEVERITY = {ERROR: 5, UNREACHABLE: 4, UNMANAGED_CONFLICT: 3, MISSING: 2, DRIFT: 1, COMPLIANT: 0}
STATUSES = tuple(sorted(STATUS_SEVERITY, key=STATUS_SEVERITY.get))

# Exit status for schedulers (docs/compliance.md).
EXIT_COMPLIANT = 0
EXIT_ERROR = 1
EXIT_DRIFT = 2
EXIT_UNREACHABLE = 4

HOST_ARTIFACT = "host"
UNMANAGED_ARTIFACT = "unmanaged files"
TSM_ALLOWLIST = "tsm: ODBC extras allowlist"
TSM_PENDING = "tsm: pending changes"
TSM_CLIENT_PREFIX = "tsm: OAuth client "

# The module's file statuses, as findings.
_FILE_STATUS = {"compliant": COMPLIANT, "drift": DRIFT, "missing": MISSING, "stale": DRIFT, "error": ERROR}


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


def _finding(host, artifact, kind, items, message=""):
    status = worst(item["status"] for item in items)
    return {
        "host": host,
        "artifact": artifact,
        "kind": kind,
        "status": status,
        "message": message,
        "items": items,
    }


def findings_from_artifacts(host, result):
    """Findings of one ``tableau_artifacts`` result: one per artifact, plus stray files."""
    by_artifact = {}
    for entry in result.get("files", []):
        status = _FILE_STATUS.get(entry.get("status"), ERROR)
        differences = entry.get("differences") or []
        if entry.get("status") == "stale":
            messages = ["owned by the collection but no longer declared (stale)"]
        elif status == MISSING:
            messages = ["file is missing"]
        else:
            messages = [difference_text(d) for d in differences]
        by_artifact.setdefault((entry.get("artifact") or entry.get("path"), entry.get("kind", "")), []).append(
            {
                "path": entry.get("path"),
                "application": entry.get("application"),
                "status": status,
                "action": entry.get("action"),
                "differences": differences,
                "messages": messages,
            }
        )
    findings = [
        _finding(host, artifact, kind, items, "; ".join(m for item in items for m in item["messages"][:3]))
        for (artifact, kind), items in sorted(by_artifact.items())
    ]
    unmanaged = [
        {
            "path": entry.get("path"),
            "application": entry.get("application"),
            "status": UNMANAGED_CONFLICT,
            "action": "none",
            "differences": [],
            "messages": [f"{entry.get('reason')}: {entry.get('detail', '')}".rstrip(": ")],
        }
        for entry in result.get("unmanaged", [])
    ]
    if unmanaged:
        findings.append(
            _finding(host, UNMANAGED_ARTIFACT, "unmanaged", unmanaged, "; ".join(u["messages"][0] for u in unmanaged))
        )
    return findings


def findings_from_tsm_settings(host, result):
    """Findings of one ``tsm_settings`` result (allowlist, each OAuth client, pending changes)."""
    findings = []
    allowlist = result.get("allowlist") or {}
    added = allowlist.get("added") or []
    findings.append(
        _finding(
            host,
            TSM_ALLOWLIST,
            "tsm",
            [
                {
                    "path": allowlist.get("key"),
                    "application": "server",
                    "status": DRIFT if added else COMPLIANT,
                    "action": "update" if added else "none",
                    "differences": [
                        {"path": f"missing entry {entry}", "expected": entry, "actual": None} for entry in added
                    ],
                    "messages": [f"missing allowlist entry {entry}" for entry in added],
                }
            ],
            "; ".join(f"missing allowlist entry {entry}" for entry in added),
        )
    )
    for client in result.get("oauth_clients") or []:
        status = {"compliant": COMPLIANT, "missing": MISSING}.get(client.get("status"), DRIFT)
        differences = client.get("differences") or []
        messages = ["OAuth client entry is missing"] if status == MISSING else [difference_text(d) for d in differences]
        findings.append(
            _finding(
                host,
                TSM_CLIENT_PREFIX + str(client.get("id")),
                "tsm",
                [
                    {
                        "path": "oauth.config.clients",
                        "application": "server",
                        "status": status,
                        "action": "none" if status == COMPLIANT else "update",
                        "differences": differences,
                        "messages": messages,
                    }
                ],
                "; ".join(messages),
            )
        )
    pending = result.get("pending_keys") or []
    findings.append(
        _finding(
            host,
            TSM_PENDING,
            "tsm",
            [
                {
                    "path": "tsm pending-changes",
                    "application": "server",
                    "status": DRIFT if pending else COMPLIANT,
                    "action": "none",
                    "differences": [],
                    "messages": [f"changes pending but not applied: {', '.join(pending)}"] if pending else [],
                }
            ],
            f"changes pending but not applied: {', '.join(pending)}" if pending else "",
        )
    )
    return findings


def finding_for_reached_host(host):
    """The ``host`` finding of a host whose check ran: compliant, so every checked host has a row."""
    return _finding(
        host,
        HOST_ARTIFACT,
        "host",
        [{"path": None, "application": None, "status": COMPLIANT, "action": "none", "differences": [], "messages": []}],
    )


def finding_for_failure(host, task_name, message, unreachable):
    status = UNREACHABLE if unreachable else ERROR
    return _finding(
        host,
        HOST_ARTIFACT,
        "host",
        [
            {
                "path": task_name,
                "application": None,
                "status": status,
                "action": "none",
                "differences": [],
                "messages": [message],
            }
        ],
        message,
    )


def exit_code(findings):
    statuses = {finding["status"] for finding in findings}
    if ERROR in statuses:
        return EXIT_ERROR
    if UNREACHABLE in statuses:
        return EXIT_UNREACHABLE
    if statuses & {DRIFT, MISSING, UNMANAGED_CONFLICT}:
        return EXIT_DRIFT
    return EXIT_COMPLIANT


def overall(code):
    return {EXIT_COMPLIANT: "compliant", EXIT_DRIFT: "drift", EXIT_UNREACHABLE: "unreachable"}.get(code, "error")


def build_report(meta, findings, hosts):
    """The JSON document of one run. ``hosts``: every host the run was about."""
    findings = sorted(findings, key=lambda f: (f["host"], f["artifact"]))
    reported = {f["host"] for f in findings}
    for host in sorted(set(hosts) - reported):
        findings.append(finding_for_failure(host, "run", "not checked: the run ended before this host", False))
    host_status = {}
    for finding in findings:
        host_status[finding["host"]] = worst([host_status.get(finding["host"], COMPLIANT), finding["status"]])
    counts = {status: 0 for status in STATUSES}
    for status in host_status.values():
        counts[status] += 1
    code = exit_code(findings)
    return {
        "schema_version": SCHEMA_VERSION,
        "run": dict(meta, hosts={"total": len(host_status), **counts}),
        "result": overall(code),
        "exit_code": code,
        "hosts": {host: host_status[host] for host in sorted(host_status)},
        "findings": findings,
    }


def render_junit(report):
    """JUnit XML: one testcase per host x artifact; drift is a failure, error/unreachable an error."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>']
    findings = report["findings"]
    failures = sum(1 for f in findings if f["status"] in (DRIFT, MISSING, UNMANAGED_CONFLICT))
    errors = sum(1 for f in findings if f["status"] in (ERROR, UNREACHABLE))
    lines.append(
        f'<testsuites name="tabops.redshift_oauth compliance" tests="{len(findings)}" '
        f'failures="{failures}" errors="{errors}">'
    )
    by_host = {}
    for finding in findings:
        by_host.setdefault(finding["host"], []).append(finding)
    for host, host_findings in by_host.items():
        host_failures = sum(1 for f in host_findings if f["status"] in (DRIFT, MISSING, UNMANAGED_CONFLICT))
        host_errors = sum(1 for f in host_findings if f["status"] in (ERROR, UNREACHABLE))
        lines.append(
            f'  <testsuite name={quoteattr(host)} tests="{len(host_findings)}" failures="{host_failures}" '
            f'errors="{host_errors}" timestamp={quoteattr(report["run"].get("start", ""))}>'
        )
        for finding in host_findings:
            lines.append(f"    <testcase classname={quoteattr(host)} name={quoteattr(finding['artifact'])}>")
            detail = "\n".join(
                f"{item.get('path')}: {message}" for item in finding["items"] for message in item["messages"]
            )
            message = finding["message"] or finding["status"]
            if finding["status"] in (DRIFT, MISSING, UNMANAGED_CONFLICT):
                lines.append(
                    f"      <failure type={quoteattr(finding['status'])} message={quoteattr(message)}>"
                    f"{html.escape(detail, quote=False)}</failure>"
                )
            elif finding["status"] in (ERROR, UNREACHABLE):
                lines.append(
                    f"      <error type={quoteattr(finding['status'])} message={quoteattr(message)}>"
                    f"{html.escape(detail, quote=False)}</error>"
                )
            lines.append("    </testcase>")
        lines.append("  </testsuite>")
    lines.append("</testsuites>")
    return "\n".join(lines) + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem;color:#1d2330}
h1{font-size:1.4rem;margin:0 0 .3rem}.meta{color:#555;font-size:.9rem;margin-bottom:1rem}
.badge{display:inline-block;padding:.15rem .6rem;border-radius:1rem;font-weight:600;color:#fff}
table.matrix{border-collapse:collapse;margin:1rem 0}
.matrix th,.matrix td{border:1px solid #cfd4dc;padding:.35rem .6rem;font-size:.85rem;text-align:center}
.matrix th.host{text-align:left}.matrix thead th{background:#f1f3f6;vertical-align:bottom}
td.compliant,.badge.compliant{background:#2e8540;color:#fff}td.drift,.badge.drift{background:#e0a100;color:#1d2330}
td.missing,.badge.missing{background:#e07000;color:#fff}
td.unmanaged_conflict,.badge.unmanaged_conflict{background:#8e44ad;color:#fff}
td.unreachable,.badge.unreachable{background:#5d6d7e;color:#fff}td.error,.badge.error{background:#c0392b;color:#fff}
td.none{background:#fafafa;color:#aaa}td a{color:inherit;text-decoration:none;display:block}
.finding{border:1px solid #cfd4dc;border-radius:.4rem;padding:.5rem .8rem;margin:.6rem 0}
.finding h3{font-size:1rem;margin:.2rem 0}.finding ul{margin:.3rem 0 .3rem 1.2rem;padding:0}
code{font-size:.85rem}.legend span{margin-right:.4rem}
"""


def render_html(report):
    """A self-contained page: the fleet matrix (hosts x artifacts) and each finding's details."""
    esc = html.escape
    findings = report["findings"]
    hosts = list(report["hosts"])
    artifacts = sorted({f["artifact"] for f in findings}, key=lambda a: (a == HOST_ARTIFACT, a.startswith("tsm"), a))
    cell = {(f["host"], f["artifact"]): f for f in findings}
    run = report["run"]
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Compliance {esc(report['result'])} - tabops.redshift_oauth</title>",
        f"<style>{_CSS}</style></head><body>",
        f'<h1>Redshift IAM OAuth compliance: <span class="badge {esc(report["result"])}" id="result">'
        f"{esc(report['result'])}</span></h1>",
        '<div class="meta">',
        f"run {esc(run.get('start', ''))} to {esc(run.get('end', ''))} &middot; inventory "
        f"<code>{esc(', '.join(run.get('inventory', [])))}</code> &middot; tabops.redshift_oauth "
        f"{esc(str(run.get('collection_version', '')))} &middot; ansible-core {esc(str(run.get('ansible_version', '')))}"
        f" &middot; exit status {report['exit_code']}<br>",
        "hosts: "
        + ", ".join(f"{esc(status)} {count}" for status, count in run["hosts"].items() if status != "total" and count)
        + f" (of {run['hosts']['total']})",
        "</div>",
        '<div class="legend">' + "".join(f'<span class="badge {s}">{s}</span>' for s in STATUSES) + "</div>",
        '<table class="matrix" id="matrix"><thead><tr><th class="host">host</th>',
    ]
    out.extend(f"<th>{esc(artifact)}</th>" for artifact in artifacts)
    out.append("</tr></thead><tbody>")
    for host in hosts:
        out.append(f'<tr><th class="host">{esc(host)}</th>')
        for artifact in artifacts:
            finding = cell.get((host, artifact))
            if finding is None:
                out.append('<td class="none">&ndash;</td>')
                continue
            anchor = _anchor(host, artifact)
            out.append(
                f'<td class="{esc(finding["status"])}" data-host="{esc(host)}" data-artifact="{esc(artifact)}" '
                f'title="{esc(finding["message"] or finding["status"])}"><a href="#{anchor}">'
                f"{esc(finding['status'])}</a></td>"
            )
        out.append("</tr>")
    out.append("</tbody></table>")
    problems = [f for f in findings if f["status"] != COMPLIANT]
    out.append(f"<h2>Findings ({len(problems)} not compliant)</h2>")
    for finding in problems:
        out.append(
            f'<div class="finding" id="{_anchor(finding["host"], finding["artifact"])}">'
            f'<h3><span class="badge {esc(finding["status"])}">{esc(finding["status"])}</span> '
            f"{esc(finding['host'])} &middot; {esc(finding['artifact'])}</h3><ul>"
        )
        for item in finding["items"]:
            if item["status"] == COMPLIANT:
                continue
            messages = "".join(f"<li>{esc(message)}</li>" for message in item["messages"]) or "<li>(no detail)</li>"
            out.append(f"<li><code>{esc(str(item.get('path')))}</code> ({esc(item['status'])})<ul>{messages}</ul></li>")
        out.append("</ul></div>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _anchor(host, artifact):
    return "f-" + "".join(ch if ch.isalnum() else "-" for ch in f"{host}-{artifact}")


def run_directory_name(start):
    return start.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def write_report_set(report, report_dir, start=None):
    """Write the run's JSON, JUnit and HTML into ``<report_dir>/<run time>/`` atomically; return that path."""
    start = start or datetime.now(timezone.utc)
    os.makedirs(report_dir, exist_ok=True)
    name = run_directory_name(start)
    final = os.path.join(report_dir, name)
    suffix = 1
    while os.path.exists(final):
        suffix += 1
        final = os.path.join(report_dir, f"{name}-{suffix}")
    staging = tempfile.mkdtemp(prefix=".staging-", dir=report_dir)
    try:
        documents = {
            REPORT_JSON: json.dumps(report, indent=2, sort_keys=False) + "\n",
            REPORT_JUNIT: render_junit(report),
            REPORT_HTML: render_html(report),
        }
        for file_name, text in documents.items():
            with open(os.path.join(staging, file_name), "w", encoding="utf-8") as handle:
                handle.write(text)
        os.chmod(staging, 0o755)  # noqa: S103 - reports are for people and CI servers to read
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    latest = os.path.join(report_dir, "latest")
    temporary_link = latest + ".tmp"
    if os.path.lexists(temporary_link):
        os.unlink(temporary_link)
    os.symlink(os.path.basename(final), temporary_link)
    os.replace(temporary_link, latest)
    return final


def prune_report_sets(report_dir, keep):
    """Keep the newest ``keep`` report sets (run directories) in ``report_dir``; return the removed ones."""
    if keep is None or keep <= 0 or not os.path.isdir(report_dir):
        return []
    runs = sorted(
        entry
        for entry in os.listdir(report_dir)
        if not entry.startswith(".")
        and entry != "latest"
        and os.path.isfile(os.path.join(report_dir, entry, REPORT_JSON))
    )
    removed = runs[:-keep] if len(runs) > keep else []
    for entry in removed:
        shutil.rmtree(os.path.join(report_dir, entry), ignore_errors=True)
    return removed
