# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The compliance_report action: the last play of playbooks/compliance.yml (documented in plugins/modules)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timezone

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.release import __version__ as ansible_version

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils import _compliance as compliance

ARGUMENT_SPEC = {
    "report_dir": {"type": "path", "default": "reports"},
    "keep": {"type": "int", "default": 0},
    "copy_dir": {"type": "path"},
    "prometheus_file": {"type": "path"},
    "result_file": {"type": "path"},
    "hosts": {"type": "list", "elements": "str"},
    "tsm_node": {"type": "str"},
    "remediate": {"type": "bool", "default": False},
    "run_start": {"type": "str"},
}


def plain(value):
    """Registered results come back as Ansible's lazy, tagged containers: plain data for JSON and the report."""
    if isinstance(value, Mapping):
        return {to_text(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value


def controller_start():
    """When this ansible-playbook run began (the worker's parent process, Linux /proc), else now."""
    try:
        with open(f"/proc/{os.getppid()}/stat", encoding="ascii") as handle:
            start_ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat", encoding="ascii") as handle:
            boot = next(int(line.split()[1]) for line in handle if line.startswith("btime "))
        return datetime.fromtimestamp(boot + start_ticks / os.sysconf("SC_CLK_TCK"), timezone.utc)
    except (OSError, ValueError, IndexError, StopIteration):
        return datetime.now(timezone.utc)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    # The report is the controller's record of the check, not a change to a managed host: written in check mode too.
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if args["keep"] < 0:
            raise AnsibleError("compliance_report: keep must be 0 (keep all) or more")
        hostvars = task_vars.get("hostvars") or {}

        def registered(host, name):
            if host not in hostvars:
                return None
            value = hostvars[host].get(name)
            return plain(value) if isinstance(value, Mapping) else None

        # The report play has the checks' hosts (narrowed by --limit alike), failed and unreachable ones included.
        checked = args["hosts"] if args["hosts"] is not None else list(task_vars.get("ansible_play_hosts_all") or [])
        tsm_node = args["tsm_node"] or next(
            iter((task_vars.get("groups") or {}).get("tableau_server_initial") or []), None
        )
        findings = compliance.run_findings(
            checked,
            {host: registered(host, compliance.FILES_RESULT_VAR) for host in checked},
            tsm_node=tsm_node,
            tsm_settings_result=registered(tsm_node, compliance.TSM_SETTINGS_RESULT_VAR) if tsm_node else None,
            tsm_apply_result=registered(tsm_node, compliance.TSM_APPLY_RESULT_VAR) if tsm_node else None,
        )
        start = datetime.fromisoformat(args["run_start"]) if args["run_start"] else controller_start()
        try:
            report, published = compliance.publish_run(
                findings,
                checked,
                start,
                playbook=self._task.get_path().rsplit(":", 1)[0] or None,
                inventory=task_vars.get("ansible_inventory_sources") or [],
                mode=compliance.run_mode(self._play_context.check_mode, args["remediate"]),
                ansible_version=ansible_version,
                **{name: args[name] for name in compliance.PUBLISH_OPTIONS},
            )
        except OSError as error:
            result.update(failed=True, msg=f"compliance_report: cannot write the report set: {error}")
            return result
        result.update(
            changed=False,
            result=report["result"],
            exit_code=report["exit_code"],
            mode=report["run"]["mode"],
            summary=compliance.summary(report),
            by_cause=compliance.summary_by_cause(report),
            hosts=report["hosts"],
            counts={"hosts": report["run"]["hosts"], "findings": report["run"]["findings"]},
            findings=[f for f in report["findings"] if f["status"] != compliance.COMPLIANT],
            ansible_stats={
                "data": compliance.stats_data(report, published["report_path"]),
                "per_host": False,
                "aggregate": True,
            },
            **published,
        )
        return result
