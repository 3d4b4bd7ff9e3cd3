# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""What a person reads from the tableau_files task: Ansible's default callback, for real (ansible-playbook on
localhost, local connection). This host has no Amazon Redshift ODBC driver, so the preflight's host checks fail it
(driver-missing) exactly as they fail a new user's first --check.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
from test_tableau_files_action import ANSIBLE_PLAYBOOK, PREFLIGHT, REPO_ROOT, ROLE_PLAY, inventory

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


# -- the shaping itself, on a Windows host's result (plugin_utils/_windows_sync returns the same keys) ----------

OAUTH = "C:\\Users\\jdoe\\Documents\\My Tableau Repository\\OAuthConfigs"
PREP = "C:\\Users\\jdoe\\Documents\\My Tableau Prep Repository\\OAuthConfigs"


def windows_result(**overrides):
    from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._plan import empty_result

    result = empty_result()
    result.update(
        changed=True,
        failed=True,
        msg=f"1 of 2 managed folders failed: {PREP}\\custom_redshift_okta.xml: Access is denied",
        files=[
            {
                "path": f"{OAUTH}\\custom_redshift_okta.xml",
                "artifact": "custom_redshift_okta",
                "kind": "oauth_config",
                "application": "desktop",
                "status": "drift",
                "action": "update",
                "differences": [],
            },
            {
                "path": f"{PREP}\\custom_redshift_okta.xml",
                "artifact": "custom_redshift_okta",
                "kind": "oauth_config",
                "application": "prep",
                "status": "error",
                "action": "none",
                "differences": [],
            },
        ],
        folders=[
            {"path": OAUTH, "status": "changed", "error": None, "written": [f"{OAUTH}\\custom_redshift_okta.xml"]},
            {
                "path": PREP,
                "status": "error",
                "error": f"{PREP}\\custom_redshift_okta.xml: Access is denied",
                "written": [],
            },
        ],
        journals=[f"{OAUTH}\\.tabops-backups\\run.json"],
        manifests=[f"{OAUTH}\\.tabops-managed.json"],
        profile={"host": "analyst-pc17", "layout_family": "Windows"},
    )
    result.update(overrides)
    return result


def test_a_failed_windows_host_is_short_and_keeps_what_changed(monkeypatch):
    from ansible_collections.tabops.redshift_oauth.plugins.action import tableau_files as action

    monkeypatch.setattr(action.display, "verbosity", 0)
    short = action.presented(windows_result(), check_mode=False)
    assert short["msg"] == f"{PREP}\\custom_redshift_okta.xml: Access is denied"
    assert short["causes"] == ["folder-error"]
    assert short["changed"] is True, "one folder was written before the other failed: the result says so"
    assert short["artifacts"] == {"oauth_config/custom_redshift_okta": "error"}
    assert set(short) == {"changed", "failed", "msg", "causes", "artifacts"}
    assert len(json.dumps(short)) < 400

    monkeypatch.setattr(action.display, "verbosity", 1)
    verbose = action.presented(windows_result(), check_mode=False)
    assert verbose["details"]["folders"][0]["written"] == [f"{OAUTH}\\custom_redshift_okta.xml"]
    assert verbose["details"]["journals"] and verbose["details"]["profile"]["layout_family"] == "Windows"


def test_check_mode_words_on_a_windows_host_and_an_unreachable_one(monkeypatch):
    from ansible_collections.tabops.redshift_oauth.plugins.action import tableau_files as action

    monkeypatch.setattr(action.display, "verbosity", 1)
    predicted = action.presented(windows_result(failed=False, msg="x"), check_mode=True)
    assert predicted["check_mode"] is True
    assert predicted["folders"][0] == {
        "path": OAUTH,
        "status": "would_change",
        "error": None,
        "would_write": [f"{OAUTH}\\custom_redshift_okta.xml"],
    }
    assert predicted["planned"]["journals"] and "journals" not in predicted and "backups" not in predicted
    assert "written" not in json.dumps(predicted)

    monkeypatch.setattr(action.display, "verbosity", 0)
    down = action.presented(
        windows_result(
            failed=False,
            unreachable=True,
            changed=False,
            msg="winrm: connection timed out (before anything was written)",
            files=[],
            folders=[],
        ),
        check_mode=False,
    )
    assert down["causes"] == ["unreachable (timeout)"] and "folders" not in down and "artifacts" not in down
