# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Run one module task for real: ansible-playbook on localhost with the host's /usr/bin/python3."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[4]
ANSIBLE_PLAYBOOK = REPO_ROOT / ".venv" / "bin" / "ansible-playbook"
# The system Python, without defusedxml: proves the module_utils need only the standard library.
HOST_PYTHON = "/usr/bin/python3"


def task_result(completed, raw):
    """The one task's result from the json callback; ansible's own error output when there is none."""
    try:
        return json.loads(completed.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError(
            "ansible-playbook exit %d without a task result:\n%s" % (completed.returncode, raw)
        ) from None


def run_local_task(
    tmp_path, task, check=False, diff=False, verbosity=0, json_output=True, extra_env=None, unset_env=()
):
    """Run ``task`` once on localhost; returns (rc, task result or None, raw stdout+stderr)."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [dict(task, name="under test")]}])
    )
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n" % HOST_PYTHON)
    argv = [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), str(playbook)]
    argv += ["--check"] if check else []
    argv += ["--diff"] if diff else []
    argv += ["-" + "v" * verbosity] if verbosity else []
    env = dict(os.environ, ANSIBLE_HOME=str(tmp_path / ".ansible-home"), ANSIBLE_NOCOLOR="1")
    for name in unset_env:
        env.pop(name, None)
    if json_output:
        env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    env.update(extra_env or {})
    completed = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    raw = completed.stdout + completed.stderr
    return completed.returncode, (task_result(completed, raw) if json_output else None), raw


# Runs one module's main() in the .venv Python (which has ansible) with the host-log boundary replaced: every
# syslog.syslog() call and every journal.send() field AnsibleModule.log() produces is recorded, as the host's
# syslog or journal would receive it.
_CAPTURE_LOG = r"""
import json, runpy, sys, syslog
captured = []
syslog.syslog = lambda *args: captured.append(str(args[-1]))
syslog.openlog = lambda *args, **kwargs: None
import ansible.module_utils.basic as basic


class Journal:
    @staticmethod
    def send(**fields):
        captured.extend(str(value) for value in fields.values())


basic.journal = Journal
basic.has_journal = True
basic.HAS_SYSLOG = True
out = sys.argv.pop(1)
try:
    runpy.run_module(sys.argv.pop(1), run_name="__main__")
except SystemExit:
    pass
finally:
    with open(out, "w") as handle:
        json.dump(captured, handle)
"""


def run_module_logged(tmp_path, module, module_args, check=True):
    """Run a collection module for real with ``module_args``; returns (result, [every string sent to the host log])."""
    log_file = tmp_path / "host-log.json"
    args = dict(module_args, _ansible_check_mode=check, _ansible_no_log=False, _ansible_debug=False)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT / ".collections"))
    completed = subprocess.run(
        [
            str(ANSIBLE_PLAYBOOK.parent / "python"),
            "-c",
            _CAPTURE_LOG,
            str(log_file),
            "ansible_collections.tabops.redshift_oauth.plugins.modules." + module,
        ],
        input=json.dumps({"ANSIBLE_MODULE_ARGS": args}),
        capture_output=True,
        text=True,
        env=env,
        cwd=str(tmp_path),
        timeout=120,
        check=False,
    )
    try:
        result = json.loads(completed.stdout)
    except ValueError:
        raise AssertionError("module printed no result:\n%s%s" % (completed.stdout, completed.stderr)) from None
    return result, json.loads(log_file.read_text())
