# Copyright: tabops contributors
# MIT License (see LICENSE)

DOCUMENTATION = r"""
name: compliance_report
type: aggregate
short_description: Write a compliance report set (JSON, JUnit XML, HTML) for a run
version_added: 0.1.0
description:
  - Collects the results of the rollout modules (C(tableau_artifacts), C(tsm_settings)),
    run in check mode by C(playbooks/compliance.yml), plus every failed and unreachable
    host, and writes one report set per run into C(<report_dir>/<UTC run time>/)
    (C(compliance.json), C(junit.xml), C(report.html)) and a C(latest) link.
  - Findings per host and artifact are C(compliant), C(drift), C(missing),
    C(unmanaged_conflict), C(unreachable) or C(error). The exit status a scheduler
    acts on is in the JSON (C(exit_code)); C(scripts/compliance) returns it.
  - Secrets are never written, the modules mask them before they return.
requirements:
  - Enable it, for example C(ANSIBLE_CALLBACKS_ENABLED=tabops.redshift_oauth.compliance_report).
options:
  report_dir:
    description: Where report sets are written.
    type: path
    default: ./reports
    env:
      - name: TABOPS_COMPLIANCE_REPORT_DIR
    ini:
      - section: tabops_compliance
        key: report_dir
  keep:
    description: How many report sets to keep in O(report_dir) (older ones are removed); 0 keeps all.
    type: int
    default: 0
    env:
      - name: TABOPS_COMPLIANCE_KEEP
    ini:
      - section: tabops_compliance
        key: keep
  result_file:
    description: A file to write the path of this run's report set to (used by C(scripts/compliance)).
    type: path
    env:
      - name: TABOPS_COMPLIANCE_RESULT_FILE
"""

import os
from datetime import datetime, timezone

from ansible import context
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.callback import CallbackBase
from ansible.release import __version__ as ansible_version

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._compliance import (
    build_report,
    finding_for_failure,
    finding_for_reached_host,
    findings_from_artifacts,
    findings_from_tsm_settings,
    prune_report_sets,
    write_report_set,
)

ARTIFACTS_ACTIONS = frozenset({"tabops.redshift_oauth.tableau_artifacts", "tableau_artifacts"})
TSM_SETTINGS_ACTIONS = frozenset({"tabops.redshift_oauth.tsm_settings", "tsm_settings"})


def _collection_version():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    for name in ("MANIFEST.json", "galaxy.yml"):
        path = os.path.join(root, name)
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        if name == "MANIFEST.json":
            import json

            return json.loads(text).get("collection_info", {}).get("version", "unknown")
        for line in text.splitlines():
            if line.startswith("version:"):
                return line.split(":", 1)[1].strip().strip("'\"")
    return "unknown"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "tabops.redshift_oauth.compliance_report"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._start = datetime.now(timezone.utc)
        self._findings = []
        # One "host" finding per host: compliant once its check ran, replaced by a failure.
        self._host_findings = {}
        self._hosts = set()
        self._playbook = None
        self._remediate = False

    # -- collecting -------------------------------------------------------------------------------------------

    def v2_playbook_on_start(self, playbook):
        self._playbook = os.path.abspath(to_text(playbook._file_name))

    def v2_playbook_on_play_start(self, play):
        manager = play.get_variable_manager()
        inventory = getattr(manager, "_inventory", None)
        if inventory is not None:
            self._hosts.update(host.name for host in inventory.get_hosts(play.hosts))
        remediate = manager.extra_vars.get("tabops_remediate", False) if manager else False
        self._remediate = self._remediate or str(remediate).lower() in ("true", "yes", "1")

    @staticmethod
    def _host_of(result):
        delegated = result._result.get("_ansible_delegated_vars") or {}
        return delegated.get("ansible_delegated_host") or result._host.get_name()

    def v2_runner_on_ok(self, result):
        action = result._task.action
        if action in ARTIFACTS_ACTIONS:
            host = self._host_of(result)
            self._findings.extend(findings_from_artifacts(host, result._result))
            self._host_findings.setdefault(host, finding_for_reached_host(host))
        elif action in TSM_SETTINGS_ACTIONS:
            self._findings.extend(findings_from_tsm_settings(self._host_of(result), result._result))

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if ignore_errors:
            return
        host = self._host_of(result)
        self._record_failure(
            host, to_text(result._task.get_name()), to_text(result._result.get("msg") or "failed"), False
        )

    def v2_runner_on_unreachable(self, result):
        message = to_text(result._result.get("msg") or "unreachable")
        self._record_failure(result._host.get_name(), to_text(result._task.get_name()), message, True)

    def _record_failure(self, host, task_name, message, unreachable):
        finding = finding_for_failure(host, task_name, message, unreachable)
        previous = self._host_findings.get(host)
        if previous is not None and previous["status"] != "compliant":
            # Keep the first failure as the headline, every later one as an item.
            previous["items"].extend(finding["items"])
            return
        self._host_findings[host] = finding

    # -- reporting --------------------------------------------------------------------------------------------

    def v2_playbook_on_stats(self, stats):
        end = datetime.now(timezone.utc)
        inventory = context.CLIARGS.get("inventory") or []
        meta = {
            "start": self._start.isoformat(timespec="seconds"),
            "end": end.isoformat(timespec="seconds"),
            "playbook": self._playbook,
            "inventory": [to_text(source) for source in inventory],
            "mode": "remediate" if self._remediate else ("check" if context.CLIARGS.get("check") else "apply"),
            "collection": "tabops.redshift_oauth",
            "collection_version": _collection_version(),
            "ansible_version": ansible_version,
        }
        report = build_report(meta, self._findings + list(self._host_findings.values()), self._hosts)
        report_dir = self.get_option("report_dir")
        path = write_report_set(report, report_dir, start=self._start)
        removed = prune_report_sets(report_dir, self.get_option("keep"))
        result_file = self.get_option("result_file")
        if result_file:
            with open(result_file, "w", encoding="utf-8") as handle:
                handle.write(path + "\n")
        counts = ", ".join(
            f"{status} {count}" for status, count in report["run"]["hosts"].items() if count and status != "total"
        )
        self._display.display(
            f"COMPLIANCE: {report['result']} (exit status {report['exit_code']}); hosts: {counts}; report: {path}"
            + (f"; pruned {len(removed)} old report set(s)" if removed else "")
        )
