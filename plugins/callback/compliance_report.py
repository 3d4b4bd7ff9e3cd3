# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT

DOCUMENTATION = r"""
name: compliance_report
type: aggregate
short_description: Fallback writer of the compliance report set when a run ends before its report play
version_added: 0.1.0
description:
  - C(playbooks/compliance.yml) writes its report set itself, in its last play (the
    M(tabops.redshift_oauth.compliance_report) action), so C(ansible-playbook tabops.redshift_oauth.compliance),
    AWX/AAP and ansible-navigator need no callback.
  - Ansible runs no later play when a play ends for every host (a preflight error stops the run before any host is
    checked; every checked host down). C(scripts/compliance) enables this callback for those runs. When the report
    action did not run, it writes the report set from what it saw (the checked hosts' results, failures and
    unreachable hosts) through the same code, C(plugin_utils/_compliance.py). When the report action ran, it does
    nothing.
  - Findings only for the hosts a compliance run checks (the groups C(tableau_server), C(tableau_bridge) and C(tableau_desktop),
    narrowed by C(--limit)).
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
  copy_dir:
    description: A second folder that gets a copy of the report set.
    type: path
    env:
      - name: TABOPS_COMPLIANCE_COPY_DIR
  prometheus_file:
    description: Also write the Prometheus metrics to this file (replaced atomically).
    type: path
    env:
      - name: TABOPS_COMPLIANCE_PROMETHEUS_FILE
  result_file:
    description: A file to write the path of this run's report set to (used by C(scripts/compliance)).
    type: path
    env:
      - name: TABOPS_COMPLIANCE_RESULT_FILE
"""

import os
from datetime import datetime, timezone

from ansible import context
from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.release import __version__ as ansible_version

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils import _compliance as compliance
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._callback import AggregateCallback


def _actions(name):
    return frozenset({f"tabops.redshift_oauth.{name}", name})


FILES_ACTIONS = _actions("tableau_files") | _actions("tableau_artifacts")  # deprecated name (2.0.0)
TSM_SETTINGS_ACTIONS = _actions("tsm_settings")
TSM_APPLY_ACTIONS = _actions("tsm_pending_changes")
REPORT_ACTIONS = _actions("compliance_report")


def _truthy(value):
    return str(value).lower() in ("true", "yes", "1", "on")


class CallbackModule(AggregateCallback):
    CALLBACK_NAME = "tabops.redshift_oauth.compliance_report"

    def __init__(self):
        super().__init__()
        self._start = datetime.now(timezone.utc)
        self._checked = None
        self._files_results = {}
        self._tsm = {}
        self._tsm_node = None
        self._failures = {}
        self._report_ran = False
        self._playbook = None
        self._remediate = False

    # -- collecting: the same results the report action reads from hostvars ------------------------------------

    def v2_playbook_on_start(self, playbook):
        self._playbook = os.path.abspath(to_text(playbook._file_name))

    def v2_playbook_on_play_start(self, play):
        manager = play.get_variable_manager()
        inventory = getattr(manager, "_inventory", None)
        if self._checked is None and inventory is not None:
            try:
                hosts = inventory.get_hosts(compliance.TABLEAU_HOSTS_PATTERN, ignore_restrictions=True)
            except AnsibleError:
                hosts = []
            self._checked = [host.name for host in hosts]
        self._remediate = self._remediate or _truthy(manager.extra_vars.get("tabops_remediate", False))

    def _collect(self, result, outcome):
        """True when the result is one the findings are made of."""
        action = result._task.action
        values = dict(result._result, **outcome)
        if action in REPORT_ACTIONS:
            self._report_ran = True
        elif action in FILES_ACTIONS:
            self._files_results[result._host.get_name()] = values
        elif action in TSM_SETTINGS_ACTIONS | TSM_APPLY_ACTIONS:
            self._tsm_node = self.host_of(result)
            self._tsm[compliance.TSM_SETTINGS_RESULT_VAR if action in TSM_SETTINGS_ACTIONS else "apply"] = values
        else:
            return False
        return True

    def v2_runner_on_ok(self, result):
        self._collect(result, {})

    def v2_runner_on_skipped(self, result):
        self._collect(result, {"skipped": True})

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not self._collect(result, {"failed": True}) and not ignore_errors:
            self._failure(result, False)

    def v2_runner_on_unreachable(self, result):
        if not self._collect(result, {"unreachable": True}):
            self._failure(result, True)

    def _failure(self, result, unreachable):
        self._failures.setdefault(result._host.get_name(), []).append(
            {
                "task": to_text(result._task.get_name()),
                "message": to_text(result._result.get("msg") or ("unreachable" if unreachable else "failed")),
                "unreachable": unreachable,
            }
        )

    # -- reporting, only when the report play did not run -----------------------------------------------------

    def v2_playbook_on_stats(self, stats):
        if self._report_ran:
            return
        checked = self._checked or []
        findings = compliance.run_findings(
            checked,
            self._files_results,
            tsm_node=self._tsm_node,
            tsm_settings_result=self._tsm.get(compliance.TSM_SETTINGS_RESULT_VAR),
            tsm_apply_result=self._tsm.get("apply"),
            failures=self._failures,
        )
        report, published = compliance.publish_run(
            findings,
            checked,
            self._start,
            playbook=self._playbook,
            inventory=[to_text(source) for source in context.CLIARGS.get("inventory") or []],
            # This is the compliance playbook's fallback: its checks run in check mode unless remediating.
            mode=compliance.run_mode(context.CLIARGS.get("check") or not self._remediate, self._remediate),
            ansible_version=ansible_version,
            **{name: self.get_option(name) for name in compliance.PUBLISH_OPTIONS},
        )
        lines = [f"COMPLIANCE: {compliance.summary(report)}; report: {published['report_path']}"]
        self._display.display("\n".join(lines + compliance.summary_by_cause(report)))
