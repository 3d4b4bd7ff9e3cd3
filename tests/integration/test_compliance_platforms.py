# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The compliance playbook under the platform tools ops teams run it with: ansible-runner (what AWX/AAP run jobs
with) and ansible-navigator (--ee false), against a real lab fleet. What AWX shows as a job's artifacts and hands
to the next workflow node is the ``artifact_data`` of the run's ``playbook_on_stats`` event."""

import json
import os
import shutil
import subprocess
import tempfile

import pytest
import yaml
from labfleet import REPO, VENV_BIN, requires_lab

pytestmark = [pytest.mark.lab, requires_lab]

PREP_CONFIG = "/home/analyst1/Documents/My Tableau Prep Repository/OAuthConfigs/custom_redshift_okta.xml"


def converge(fleet):
    run = fleet.playbook("playbooks/site.yml")
    assert run.returncode == 0, run.stdout[-3000:]


def project_update(tmp_path):
    """What an AWX project update does with collections/requirements.yml: install from the project folder."""
    collections = tmp_path / "requirements_collections"
    config = tmp_path / "empty.cfg"
    config.write_text("[defaults]\n")
    completed = subprocess.run(
        [
            str(VENV_BIN / "ansible-galaxy"),
            "collection",
            "install",
            "-r",
            "collections/requirements.yml",
            "-p",
            str(collections),
            # No Galaxy from here: the dependencies come from the ansible package's bundled collections.
            "--offline",
        ],
        cwd=REPO,
        env=dict(os.environ, ANSIBLE_CONFIG=str(config), ANSIBLE_COLLECTIONS_PATH=str(collections)),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    installed = collections / "ansible_collections" / "tabops" / "redshift_oauth"
    assert (installed / "MANIFEST.json").is_file() and not installed.is_symlink()
    return collections


def runner_job(fleet, data_dir, ident, collections, **extra_vars):
    """``ansible-runner run`` (no process isolation) of playbooks/compliance.yml; returns its artifact folder."""
    (data_dir / "env").mkdir(parents=True, exist_ok=True)
    (data_dir / "env" / "extravars").write_text(yaml.safe_dump(extra_vars))
    # The lab's SSH options (AWX: its settings and credentials); the collection as the project update installed it.
    (data_dir / "env" / "envvars").write_text(
        yaml.safe_dump(
            {
                "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
                "ANSIBLE_COLLECTIONS_PATH": str(collections),
            }
        )
    )
    env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}")
    env.pop("ANSIBLE_CALLBACKS_ENABLED", None)
    completed = subprocess.run(
        [
            str(VENV_BIN / "ansible-runner"),
            "run",
            str(data_dir),
            "--playbook",
            "playbooks/compliance.yml",
            "--project-dir",
            str(REPO),
            "--inventory",
            str(fleet.inventory),
            "--ident",
            ident,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    artifacts = data_dir / "artifacts" / ident
    assert artifacts.is_dir(), completed.stdout[-3000:] + completed.stderr
    return completed, artifacts


def artifact_data(artifacts):
    for path in sorted((artifacts / "job_events").glob("*.json")):
        event = json.loads(path.read_text())
        if event.get("event") == "playbook_on_stats":
            return event["event_data"].get("artifact_data") or {}
    raise AssertionError(f"no playbook_on_stats event in {artifacts}")


def test_ansible_runner_artifacts_hold_the_set_stats_and_the_job_status(fleet, tmp_path):
    converge(fleet)
    collections = project_update(tmp_path)
    reports = tmp_path / "reports"
    completed, artifacts = runner_job(
        fleet,
        tmp_path / "runner",
        "clean",
        collections,
        tabops_compliance_report_dir=str(reports),
        tabops_compliance_fail_on_drift=True,
    )
    assert (artifacts / "status").read_text() == "successful", completed.stdout[-3000:]
    assert (artifacts / "rc").read_text() == "0"
    data = artifact_data(artifacts)
    assert (data["tabops_compliance_status"], data["tabops_compliance_exit_code"]) == ("compliant", 0)
    assert data["tabops_compliance_mode"] == "check"
    assert data["tabops_compliance_hosts"]["compliant"] == len(fleet.hosts())
    assert data["tabops_compliance_report_path"] == str((reports / "latest").resolve())

    fleet.sh("desktop1", f"rm '{PREP_CONFIG}'")
    completed, artifacts = runner_job(
        fleet,
        tmp_path / "runner",
        "drift",
        collections,
        tabops_compliance_report_dir=str(reports),
        tabops_compliance_fail_on_drift=True,
    )
    assert (artifacts / "status").read_text() == "failed", completed.stdout[-3000:]
    assert (artifacts / "rc").read_text() == "2"
    data = artifact_data(artifacts)
    assert (data["tabops_compliance_status"], data["tabops_compliance_exit_code"]) == ("drift", 2)
    assert data["tabops_compliance_hosts"]["missing"] == 1
    report = json.loads((reports / "latest" / "compliance.json").read_text())
    assert report["hosts"]["desktop1"] == "missing"
    assert data["tabops_compliance_report_path"] == str((reports / "latest").resolve())


@pytest.mark.skipif(shutil.which("ansible-navigator", path=str(VENV_BIN)) is None, reason="needs ansible-navigator")
def test_ansible_navigator_without_an_execution_environment(fleet, tmp_path):
    converge(fleet)
    fleet.sh("desktop1", f"rm '{PREP_CONFIG}'")
    reports = tmp_path / "reports"
    artifact = tmp_path / "navigator-artifact.json"
    env = dict(
        os.environ,
        PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}",
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        # navigator keeps its settings and logs there; a short path, as ssh's ControlPath socket lives below it
        # (108 bytes at most: a pytest-xdist tmp_path is too deep)
        HOME=tempfile.mkdtemp(prefix="nav-", dir="/tmp"),
    )
    env.pop("ANSIBLE_CALLBACKS_ENABLED", None)
    completed = subprocess.run(
        [
            str(VENV_BIN / "ansible-navigator"),
            "run",
            str(REPO / "playbooks" / "compliance.yml"),
            "--ee",
            "false",
            "--mode",
            "stdout",
            "--inventory",
            str(fleet.inventory),
            "--playbook-artifact-enable",
            "true",
            "--playbook-artifact-save-as",
            str(artifact),
            "--log-file",
            str(tmp_path / "navigator.log"),
            "--extra-vars",
            f"tabops_compliance_report_dir={reports}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    shutil.rmtree(env["HOME"], ignore_errors=True)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr
    assert "COMPLIANCE: drift (exit status 2)" in completed.stdout
    report = json.loads((reports / "latest" / "compliance.json").read_text())
    assert (report["run"]["mode"], report["hosts"]["desktop1"]) == ("check", "missing")
    # Navigator's own record of the run (what `ansible-navigator replay` shows).
    saved = json.loads(artifact.read_text())
    assert saved["status"] == "successful"
    assert any(play["name"].startswith("Compliance report") for play in saved["plays"])
