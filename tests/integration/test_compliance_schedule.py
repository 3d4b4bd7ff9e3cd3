# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The compliance_schedule role on a lab host acting as the controller host."""

import json
import shlex
import subprocess

import pytest
import yaml
from labfleet import REPO, requires_lab
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.lab, requires_lab]

SCHEDULER = "bridge1"


def schedule_playbook(tmp_path, **role_vars):
    playbook = tmp_path / "schedule.yml"
    play = {
        "name": "Schedule compliance checks",
        "hosts": SCHEDULER,
        "gather_facts": False,
        "roles": [{"role": "tabops.redshift_oauth.compliance_schedule", **role_vars}],
    }
    playbook.write_text(yaml.safe_dump([play]))
    return playbook


def unit_value(unit_text, key):
    return [line.split("=", 1)[1] for line in unit_text.splitlines() if line.startswith(key + "=")]


@pytest.mark.fleet_size(servers=1, bridges=1, desktops=1)
def test_systemd_timer_runs_the_entry_point_and_keeps_the_newest_report_sets(fleet, tmp_path):
    assert fleet.playbook("playbooks/site.yml").returncode == 0
    report_dir = tmp_path / "reports"
    role_vars = {
        "compliance_schedule_project_dir": str(REPO),
        "compliance_schedule_inventories": [str(fleet.inventory)],
        "compliance_schedule_report_dir": str(report_dir),
        "compliance_schedule_keep": 2,
        "compliance_schedule_success_exit_statuses": [0, 2],
        "compliance_schedule_prometheus_file": str(tmp_path / "textfile" / "tabops_compliance.prom"),
    }
    playbook = schedule_playbook(tmp_path, **role_vars)

    check = fleet.playbook(str(playbook), "--check")
    assert check.returncode == 0, check.stdout[-2000:]
    assert not fleet.exists(SCHEDULER, "/etc/systemd/system/tabops-compliance.timer")
    first = fleet.playbook(str(playbook))
    assert first.returncode == 0, first.stdout[-2000:]
    assert first.changed_tasks() == check.changed_tasks()
    assert fleet.playbook(str(playbook)).changed_tasks() == {}

    service = fleet.read(SCHEDULER, "/etc/systemd/system/tabops-compliance.service")
    timer = fleet.read(SCHEDULER, "/etc/systemd/system/tabops-compliance.timer")
    assert service.startswith("#") and "Ansible managed" in service
    assert unit_value(timer, "OnCalendar") == ["*-*-* 02:30:00"]
    assert unit_value(timer, "Persistent") == ["true"]
    assert unit_value(service, "SuccessExitStatus") == ["0 2"]
    # The units are valid for systemd itself (checked on this machine, where the paths exist).
    units = tmp_path / "units"
    units.mkdir()
    (units / "tabops-compliance.service").write_text(service)
    (units / "tabops-compliance.timer").write_text(timer)
    verify = subprocess.run(
        ["systemd-analyze", "verify", str(units / "tabops-compliance.timer"), str(units / "tabops-compliance.service")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "tabops-compliance" not in verify.stderr, verify.stderr

    # What the timer starts: run that exact command three times; the newest two report sets stay.
    command = shlex.split(unit_value(service, "ExecStart")[0])
    assert command[0] == str(REPO / "scripts" / "compliance")
    for _run in range(3):
        completed = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
        assert completed.returncode == 0, completed.stdout + completed.stderr
    runs = sorted(p.name for p in report_dir.iterdir() if p.is_dir() and not p.is_symlink())
    assert len(runs) == 2
    latest = json.loads((report_dir / "latest" / "compliance.json").read_text())
    assert latest["result"] == "compliant"
    # node_exporter's textfile collector reads the last run's gauges.
    samples = {
        (sample.name, sample.labels.get("status")): sample.value
        for family in text_string_to_metric_families((tmp_path / "textfile" / "tabops_compliance.prom").read_text())
        for sample in family.samples
    }
    assert samples[("tabops_compliance_exit_code", None)] == 0
    assert samples[("tabops_compliance_hosts", "compliant")] == latest["run"]["hosts"]["total"]

    removed = fleet.playbook(str(schedule_playbook(tmp_path, **role_vars, compliance_schedule_state="absent")))
    assert removed.returncode == 0
    assert not fleet.exists(SCHEDULER, "/etc/systemd/system/tabops-compliance.service")


@pytest.mark.fleet_size(servers=1, bridges=1, desktops=0)
def test_cron_alternative_writes_one_cron_file(fleet, tmp_path):
    playbook = schedule_playbook(
        tmp_path,
        compliance_schedule_method="cron",
        compliance_schedule_project_dir=str(REPO),
        compliance_schedule_inventories=["/etc/tabops/inventory"],
        compliance_schedule_cron={"minute": "15", "hour": "3"},
    )
    run = fleet.playbook(str(playbook))
    assert run.returncode == 0, run.stdout[-2000:]
    cron = fleet.read(SCHEDULER, "/etc/cron.d/tabops-compliance")
    line = next(line for line in cron.splitlines() if line and not line.startswith("#"))
    assert line.startswith("15 3 * * * root cd ")
    assert f"{REPO}/scripts/compliance --inventory=/etc/tabops/inventory" in line
    assert "--keep=30" in line
    assert fleet.playbook(str(playbook)).changed_tasks() == {}


@pytest.mark.fleet_size(servers=1, bridges=1, desktops=0)
def test_missing_project_dir_is_refused_before_anything_is_written(fleet, tmp_path):
    run = fleet.playbook(str(schedule_playbook(tmp_path, compliance_schedule_inventories=["/x"])))
    assert run.returncode != 0
    assert "compliance_schedule_project_dir must be the absolute path" in run.stdout
    assert not fleet.exists(SCHEDULER, "/var/lib/tabops/compliance")
