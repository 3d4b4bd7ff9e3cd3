# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""BENCHMARK ONLY callback: where the controller's time goes, for benchmarks/bench_scale.py."""

from __future__ import annotations

import cProfile
import functools
import json
import os
import time

from ansible.executor.process.worker import WorkerProcess
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.callback import CallbackBase
from ansible.plugins.strategy import StrategyBase
from ansible.vars.manager import VariableManager

DOCUMENTATION = r"""
name: tabops_scale_phases
type: aggregate
short_description: BENCHMARK ONLY - time every task, and the strategy's variables, dispatch and result handling
description:
  - Lives under C(benchmarks/) (not in the collection tarball) and is enabled only by C(benchmarks/bench_scale.py)
    through C(ANSIBLE_CALLBACK_PLUGINS) and C(ANSIBLE_CALLBACKS_ENABLED).
  - Records the wall time of every task (name, action, run_once, the filters its arguments and task vars call)
    and, in the C(ansible-playbook) process, the time spent in three places of the strategy, whatever the task
    (C(vars) VariableManager.get_vars, outermost calls only; C(dispatch) StrategyBase._queue_task, which forks the
    worker; C(results) StrategyBase._process_pending_results, the result handling and the callbacks).
  - Writes one JSON document to C($TABOPS_SCALE_PHASES_FILE) when the run ends.
  - With C($TABOPS_SCALE_PROFILE_DIR) set, also profiles every forked worker with cProfile (one C(<pid>.prof)
    file each, covering the action plugins, templating and the module payload); C(bench_scale.py --profile-workers).
author: tabops maintainers
options: {}
"""

OUTPUT_ENV = "TABOPS_SCALE_PHASES_FILE"
PROFILE_ENV = "TABOPS_SCALE_PROFILE_DIR"
# Filters whose use names a task's phase (benchmarks/bench_scale.py: phase_of).
MARKERS = ("tableau_fleet_plan", "tableau_rollout_summary")
TIMERS = {"vars": 0.0, "dispatch": 0.0, "results": 0.0}
CALLS = {"vars": 0, "dispatch": 0, "results": 0}
_DEPTH = {"vars": 0, "dispatch": 0, "results": 0}


def _timed(name, method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        if _DEPTH[name]:  # nested (hostvars inside a filter): counted by the outer call
            return method(*args, **kwargs)
        _DEPTH[name] += 1
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            TIMERS[name] += time.perf_counter() - start
            CALLS[name] += 1
            _DEPTH[name] -= 1

    wrapper.__tabops_scale_timed__ = True
    return wrapper


def _profiled(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        profile = cProfile.Profile()
        try:
            return profile.runcall(method, self, *args, **kwargs)
        finally:
            profile.dump_stats(os.path.join(os.environ[PROFILE_ENV], "%d.prof" % os.getpid()))

    wrapper.__tabops_scale_timed__ = True
    return wrapper


def _install():
    if os.environ.get(PROFILE_ENV) and not getattr(WorkerProcess._run, "__tabops_scale_timed__", False):
        WorkerProcess._run = _profiled(WorkerProcess._run)
    for owner, attribute, name in (
        (VariableManager, "get_vars", "vars"),
        (StrategyBase, "_queue_task", "dispatch"),
        (StrategyBase, "_process_pending_results", "results"),
    ):
        method = getattr(owner, attribute)
        if not getattr(method, "__tabops_scale_timed__", False):
            setattr(owner, attribute, _timed(name, method))


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "tabops_scale_phases"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        _install()
        self._start = time.perf_counter()
        self._tasks = []
        self._task = None

    def _close_task(self):
        if self._task is not None:
            self._task["seconds"] = round(time.perf_counter() - self._task.pop("_start"), 4)
            self._task = None

    def _task_start(self, task):
        self._close_task()
        args = to_text(task.args) + to_text(task.vars)
        self._task = {
            "name": to_text(task.get_name()),
            "action": to_text(task.action),
            "run_once": bool(task.run_once),
            "markers": [marker for marker in MARKERS if marker in args],
            "_start": time.perf_counter(),
        }
        self._tasks.append(self._task)

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._task_start(task)

    def v2_playbook_on_play_start(self, play):
        self._close_task()

    def v2_playbook_on_stats(self, stats):
        self._close_task()
        output = os.environ.get(OUTPUT_ENV)
        if not output:
            return
        totals = {key: 0 for key in ("ok", "changed", "failures", "unreachable", "skipped")}
        for host in stats.processed:
            summary = stats.summarize(host)
            for key in totals:
                totals[key] += summary.get(key, 0)
        document = {
            "seconds": round(time.perf_counter() - self._start, 4),
            "tasks": self._tasks,
            "timers": {key: round(value, 4) for key, value in TIMERS.items()},
            "calls": dict(CALLS),
            "hosts": len(stats.processed),
            "recap": totals,
        }
        with open(output, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1)
