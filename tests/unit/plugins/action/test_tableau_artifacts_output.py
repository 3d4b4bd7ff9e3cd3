# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""What a person reads from the tableau_artifacts task: Ansible's default callback, for real (ansible-playbook on
localhost, local connection). This host has no Amazon Redshift ODBC driver, so the preflight's host checks fail it
(driver-missing) exactly as they fail a new user's first --check.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
from test_tableau_artifacts_action import ANSIBLE_PLAYBOOK, PREFLIGHT, REPO_ROOT, ROLE_PLAY, inventory

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="writes files owned by root into its tmp dir")

# Keys of the host's full result that must stay out of a failed host's default output (docs/operations.md).
BULKY = ("folders", "journals", "manifests", "host_facts", "created_dirs", "profile", "plan_source", "unmanaged")


def shown(tmp_path, *args, result_format="json", driver_required=True):
    """ansible-playbook's stdout with the default callback, as a person sees it."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps([PREFLIGHT, ROLE_PLAY]))
    path = inventory(tmp_path, tabops_preflight_driver_required=driver_required)
    env = dict(
        os.environ,
        ANSIBLE_HOME=str(tmp_path / ".ansible-home"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="default",
        ANSIBLE_CALLBACK_RESULT_FORMAT=result_format,
    )
    env.pop("ANSIBLE_CALLBACKS_ENABLED", None)
    argv = [str(ANSIBLE_PLAYBOOK), "-i", str(path), str(playbook), *args]
    completed = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    return completed.returncode, completed.stdout


def fatal_block(stdout):
    """The lines the default callback prints for the failed sync: from 'fatal:' to the next blank line or banner."""
    lines = stdout.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("fatal: [localhost]"))
    end = next(
        (index for index in range(start + 1, len(lines)) if not lines[index].strip() or lines[index][:1] in "*["),
        len(lines),
    )
    return lines[start:end]


@pytest.mark.parametrize("result_format", ["json", "yaml"])
def test_a_failed_host_says_why_in_a_few_lines(tmp_path, result_format):
    rc, stdout = shown(tmp_path, "--check", result_format=result_format)
    assert rc == 2, stdout[-3000:]
    block = fatal_block(stdout)
    text = "\n".join(block)
    assert len(block) <= 12, text
    assert len(text) < 1500, text
    flat = " ".join(text.split())  # YAML folds long lines
    assert "driver-missing" in flat and "no Amazon Redshift ODBC driver found" in flat
    assert "-- fix: install the Redshift ODBC driver" in flat
    for key in BULKY:
        assert not re.search(r'(^|[{,\s])"?%s"?:' % key, text, re.MULTILINE), (key, text)
    assert "details" not in text


def test_with_v_the_details_are_under_one_key(tmp_path):
    rc, stdout = shown(tmp_path, "--check", "-v")
    assert rc == 2, stdout[-3000:]
    (line,) = [line for line in stdout.splitlines() if line.startswith("fatal: [localhost]")]
    result = json.loads(line.split("=> ", 1)[1])
    assert result["causes"] == ["driver-missing"]
    assert result["msg"].startswith("ERROR driver-missing [localhost]: host localhost: no Amazon Redshift ODBC driver")
    assert result["artifacts"] == {"oauth_config/custom_redshift_okta": "missing", "tdc/redshift-oauth": "missing"}
    details = result["details"]
    assert {"files", "folders", "host_facts", "preflight", "profile"} <= set(details)
    assert not set(BULKY) & (set(result) - {"details"})


def test_check_mode_output_never_says_written_for_what_it_did_not_write(tmp_path):
    rc, stdout = shown(tmp_path, "--check", "--diff", "-v", driver_required=False)
    assert rc == 0, stdout[-3000:]
    assert not (tmp_path / "home").exists(), "check mode wrote nothing"
    (line,) = [line for line in stdout.splitlines() if line.startswith("changed: [localhost] =>")]
    result = json.loads(line.split("=> ", 1)[1])
    assert result["check_mode"] is True
    assert all(folder["status"] == "would_change" and folder["would_write"] for folder in result["folders"])
    assert result["planned"]["manifests"] and "manifests" not in result and "backups" not in result
    assert "restart" in result["msg"] and "a real run would change files" in result["msg"]
    assert not re.search(r"\bwritten\b", stdout), [line for line in stdout.splitlines() if "written" in line]
    assert not re.search(r'"status": "changed"', stdout)

    # For real: the same folders are written, and say so.
    rc, stdout = shown(tmp_path, "-v", driver_required=False)
    assert rc == 0, stdout[-3000:]
    (line,) = [line for line in stdout.splitlines() if line.startswith("changed: [localhost] =>")]
    result = json.loads(line.split("=> ", 1)[1])
    assert "check_mode" not in result and "planned" not in result
    assert all(folder["status"] == "changed" and folder["written"] for folder in result["folders"])
