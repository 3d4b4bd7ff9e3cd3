# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Safe rollout (issue 14) on a real lab fleet: canary batches stop on a failure."""

import copy
import re
import time

import pytest
import yaml
from labfleet import LAB_GROUP_VARS, REPO, requires_lab

pytestmark = [pytest.mark.lab, requires_lab]

BRIDGE_REPO = "/root/Documents/My_Tableau_Bridge_Repository"
LAB_DATA = yaml.safe_load((LAB_GROUP_VARS / "all" / "tabops.yml").read_text())
SYSTEMCTL_STANDIN = REPO / "tests" / "lab" / "systemd" / "systemctl"
SYSTEMCTL_STATE = "/var/lib/tabops-systemctl"


def summaries(run):
    """The rollout summary line of every batch, in order."""
    lines = []
    for play in run.result.get("plays", []):
        for task in play.get("tasks", []):
            if task["task"]["name"] == "Rollout summary":
                # The message, one item a line (the first line counts the hosts, then one line per cause).
                lines.extend("\n".join(result["msg"]) for result in task["hosts"].values())
    return lines


def listed(summary, label):
    """Hosts after ``label`` in a summary's first line: ``label N (a, b)`` or ``label 0`` (small fleets: all named)."""
    first = summary.split("\n", 1)[0]
    match = re.search(r"[:;] " + re.escape(label) + r" (\d+)(?: \(([^)]*)\))?(;|$)", first)
    assert match, (label, summary)
    names = sorted(name for name in (match.group(2) or "").replace(" ", "").split(",") if name)
    assert len(names) == int(match.group(1)), (label, summary)
    return names


def test_a_failing_canary_stops_the_rollout_before_the_next_batch(fleet):
    others = [host for host in fleet.hosts() if host != "bridge1"]
    before = {host: fleet.snapshot(host) for host in others}
    tsm_before = fleet.tsm_state()
    # A mistyped canary group stops the run before any host is touched (it must not become one big batch).
    typo = fleet.playbook("playbooks/site.yml", "-e", "tabops_rollout_canary_group=tableau_brigde")
    assert typo.returncode == 2
    [check] = typo.host_results("Check the staged rollout settings").values()
    assert check[0]["msg"] == "tabops_rollout_canary_group: 'tableau_brigde' is not a group of the inventory"
    assert not typo.host_results("Sync this host")
    # The canary's OAuthConfigs folder is a file: its sync fails (folder refused).
    fleet.sh("bridge1", f"rm -rf '{BRIDGE_REPO}/OAuthConfigs' && echo not-a-folder > '{BRIDGE_REPO}/OAuthConfigs'")

    run = fleet.playbook("playbooks/site.yml", "-e", "tabops_rollout_canary_group=tableau_bridge")

    assert run.returncode == 2, run.stdout[-3000:]
    stats = run.stats()
    assert stats["bridge1"]["failures"] >= 1
    # No later batch ran: every other host and the cluster are exactly as before, and no tsm task ran but the
    # read-only check of the clients before the first batch (one `configuration get`).
    assert {host: fleet.snapshot(host) for host in others} == before
    tsm_after = fleet.tsm_state()
    reads = [entry["argv"][:2] for entry in tsm_after.pop("audit")]
    assert reads == [["configuration", "get"]], reads
    assert tsm_after == {key: value for key, value in tsm_before.items() if key != "audit"}
    assert not run.host_results("Tableau Server settings")
    (summary,) = summaries(run)
    assert summary.startswith("rollout stopped after this batch")
    assert listed(summary, "failed") == ["bridge1"]
    assert listed(summary, "changed") == []
    assert listed(summary, "not reached") == sorted(others)
    # Why, by cause: its folder failed.
    assert summary.split("\n")[1:] == ["folder-error: 1 host (bridge1)"], summary

    # Fixed, the same staged rollout goes through: canary, then the rest, then the tsm play.
    fleet.sh("bridge1", f"rm '{BRIDGE_REPO}/OAuthConfigs' && mkdir '{BRIDGE_REPO}/OAuthConfigs'")
    run = fleet.playbook(
        "playbooks/site.yml",
        extra_vars={"tabops_rollout_canary_group": "tableau_bridge", "tabops_rollout_batches": [1, 1, "100%"]},
    )
    assert run.returncode == 0, run.stdout[-3000:]
    first, second, last = summaries(run)
    assert listed(first, "changed") == ["bridge1"]
    assert listed(first, "later batches") == sorted(others)
    assert len(listed(second, "changed")) == 2
    assert listed(last, "changed") == sorted(fleet.hosts())
    assert listed(last, "later batches") == []
    assert fleet.tsm_state()["restarts"] == 1
    # One run id for the whole run, in every batch's summary.
    run_ids = {re.search(r"rollout (\S+):", line).group(1) for line in (first, second, last)}
    assert len(run_ids) == 1 and re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{4}", run_ids.pop()), first


def test_a_failure_in_a_later_batch_stops_the_rest(fleet):
    # Batches: tsnode1, then tsnode2 + bridge1 (bridge1 fails), then desktop1 (never reached).
    fleet.sh("bridge1", f"rm -rf '{BRIDGE_REPO}/OAuthConfigs' && echo not-a-folder > '{BRIDGE_REPO}/OAuthConfigs'")
    before = fleet.snapshot("desktop1")
    run = fleet.playbook("playbooks/site.yml", extra_vars={"tabops_rollout_batches": [1, 2, "100%"]})
    assert run.returncode == 2, run.stdout[-3000:]
    assert fleet.snapshot("desktop1") == before
    assert fleet.tsm_state()["restarts"] == 0
    last = summaries(run)[-1]
    assert listed(last, "failed") == ["bridge1"]
    assert listed(last, "changed") == ["tsnode1", "tsnode2"]
    assert listed(last, "not reached") == ["desktop1"]


def test_bridge_restarts_when_its_files_changed_and_a_unit_that_stays_down_fails_the_host(fleet):
    """systemd path on the lab's Linux Bridge host, through a systemctl stand-in (lab hosts run no systemd)."""
    for host in ("bridge1", "desktop1"):
        fleet.write(host, "/usr/local/sbin/systemctl", SYSTEMCTL_STANDIN.read_text(), owner="root")
        fleet.sh(host, "chmod 755 /usr/local/sbin/systemctl")
    service = {"tabops_bridge_service": "tableau-bridge.service", "tabops_bridge_restart_timeout": 6}

    def calls(host):
        return fleet.sh(host, f"cat {SYSTEMCTL_STATE}/calls.log 2>/dev/null || true").splitlines()

    first = fleet.playbook("playbooks/site.yml", extra_vars=dict(LAB_DATA, **service))
    assert first.returncode == 0, first.stdout[-3000:]
    assert "restart tableau-bridge.service" in calls("bridge1")
    assert calls("bridge1")[-1] == "is-active tableau-bridge.service"
    assert calls("desktop1") == []  # no Bridge there: nothing restarted
    windows = first.host_results("(Windows service)")["bridge1"]
    assert len(windows) == 2 and all(result.get("skipped") for result in windows)

    seen = calls("bridge1")
    again = fleet.playbook("playbooks/site.yml", extra_vars=dict(LAB_DATA, **service))
    assert again.returncode == 0 and again.changed_tasks() == {}, again.changed_tasks()
    assert calls("bridge1") == seen  # nothing changed: no restart

    fleet.sh("bridge1", f"touch {SYSTEMCTL_STATE}/tableau-bridge.service.stays-down")
    data = copy.deepcopy(LAB_DATA)
    data["tabops_tdc_files"][0]["customizations"]["CAP_ODBC_TRIM_VARCHAR_PADDING"] = "yes"
    started = time.monotonic()
    down = fleet.playbook("playbooks/site.yml", extra_vars=dict(data, **service))
    assert time.monotonic() - started < 120
    assert down.returncode == 2, down.stdout[-3000:]
    verdict = down.host_results("Tableau Bridge runs again")["bridge1"][-1]  # after the two waits
    assert verdict.get("failed")
    assert "tableau-bridge.service is failed 6s after its restart" in verdict["msg"], verdict["msg"]
    assert "journalctl -u tableau-bridge.service" in verdict["msg"]
    assert down.stats()["tsnode1"]["failures"] == 0
