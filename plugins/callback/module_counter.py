# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT

DOCUMENTATION = r"""
name: module_counter
type: aggregate
short_description: Count task executions per host and action, and time every task and play (for benchmarks)
version_added: 0.1.0
description:
  - Counts, for every host, how many times each action ran (one per host and task, one per loop item),
    split into actions that contact the host (a module shipped and run there, for example
    C(tabops.redshift_oauth.tableau_files) or C(ansible.builtin.ping)) and actions that run only on the
    controller (C(set_fact), C(assert), C(debug), C(validate_argument_spec), ...).
  - A delegated task is counted for the host it ran on (C(delegate_to)), not for the host it ran for.
    Skipped tasks are not counted (nothing ran); failed and unreachable ones are, with their status.
  - Executions of C(run_once) tasks are also counted under C(run_once) (host, then action, then count), because
    they run once per run for the whole fleet, not once per host; per-host budgets leave them out.
  - Also records the wall time of every play and task, and the play recap (ok/changed/failed/... per host).
  - Writes everything as one JSON document when the run ends, to O(output_file). Prints nothing.
  - Used by C(benchmarks/bench_rollout.py); not meant for production runs.
requirements:
  - Enable it, for example C(ANSIBLE_CALLBACKS_ENABLED=tabops.redshift_oauth.module_counter).
options:
  output_file:
    description: Where the JSON document is written; without it nothing is written.
    type: path
    env:
      - name: TABOPS_MODULE_COUNTER_FILE
    ini:
      - section: tabops_module_counter
        key: output_file
"""

import json
import time

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._callback import AggregateCallback

# Actions whose action plugin never executes a module on the host (they template, check or print on the
# controller). Anything else is counted as contacting the host.
CONTROLLER_ACTIONS = frozenset(
    name
    for short in (
        "add_host",
        "assert",
        "debug",
        "fail",
        "group_by",
        "include_role",
        "include_tasks",
        "include_vars",
        "import_role",
        "import_tasks",
        "meta",
        "set_fact",
        "set_stats",
        "validate_argument_spec",
    )
    for name in (short, "ansible.builtin." + short, "ansible.legacy." + short)
) | frozenset(
    # The collection's controller-only action (the compliance report set).
    name
    for short in ("compliance_report",)
    for name in (short, "tabops.redshift_oauth." + short)
)


class CallbackModule(AggregateCallback):
    CALLBACK_NAME = "tabops.redshift_oauth.module_counter"

    def __init__(self):
        super().__init__()
        self._counts = {}  # host -> action -> {"ok": n, "changed": n, "failed": n, "unreachable": n}
        self._run_once = {}  # host -> action -> n, the executions of run_once tasks
        self._plays = []
        self._task = None
        self._play = None
        self._start = time.perf_counter()

    # -- timing -----------------------------------------------------------------------------------------------

    def _close_task(self):
        if self._task is not None:
            self._task["seconds"] = round(time.perf_counter() - self._task.pop("_start"), 4)
            self._task = None

    def _close_play(self):
        self._close_task()
        if self._play is not None:
            self._play["seconds"] = round(time.perf_counter() - self._play.pop("_start"), 4)
            self._play = None

    def v2_playbook_on_play_start(self, play):
        self._close_play()
        self._play = {"name": to_text(play.get_name()), "tasks": [], "_start": time.perf_counter()}
        self._plays.append(self._play)

    def _task_start(self, task, handler=False):
        self._close_task()
        if self._play is None:
            return
        self._task = {
            "name": to_text(task.get_name()),
            "action": to_text(task.action),
            "handler": handler,
            "_start": time.perf_counter(),
        }
        self._play["tasks"].append(self._task)

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._task_start(task, handler=True)

    # -- counting ---------------------------------------------------------------------------------------------

    def _count(self, result, status, changed=False):
        per_host = self._counts.setdefault(self.host_of(result), {})
        entry = per_host.setdefault(
            to_text(result._task.action), {"ok": 0, "changed": 0, "failed": 0, "unreachable": 0}
        )
        entry[status] += 1
        if changed:
            entry["changed"] += 1
        if result._task.run_once:
            once = self._run_once.setdefault(self.host_of(result), {})
            once[to_text(result._task.action)] = once.get(to_text(result._task.action), 0) + 1

    @staticmethod
    def _has_items(result):
        return isinstance(result._result.get("results"), list) and result._task.loop is not None

    def v2_runner_on_ok(self, result):
        if not self._has_items(result):  # loop items were counted one by one
            self._count(result, "ok", bool(result._result.get("changed")))

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not self._has_items(result):
            self._count(result, "failed")

    def v2_runner_on_unreachable(self, result):
        self._count(result, "unreachable")

    def v2_runner_item_on_ok(self, result):
        self._count(result, "ok", bool(result._result.get("changed")))

    def v2_runner_item_on_failed(self, result):
        self._count(result, "failed")

    # -- output -----------------------------------------------------------------------------------------------

    def v2_playbook_on_stats(self, stats):
        self._close_play()
        output_file = self.get_option("output_file")
        if not output_file:
            return
        recap = {host: stats.summarize(host) for host in sorted(stats.processed)}
        document = {
            "seconds": round(time.perf_counter() - self._start, 4),
            "counts": self._counts,
            "run_once": self._run_once,
            "controller_actions": sorted(a for a in CONTROLLER_ACTIONS if "." not in a),
            "plays": self._plays,
            "stats": recap,
        }
        with open(output_file, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1, sort_keys=True)
