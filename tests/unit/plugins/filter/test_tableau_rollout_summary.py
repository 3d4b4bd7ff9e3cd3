# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""tableau_rollout_summary filter: who is where after a batch, and when the rollout stops."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tabops.redshift_oauth.plugins.filter import tableau_rollout_summary as plugin

summary = plugin.FilterModule().filters()["tableau_rollout_summary"]
HOSTS = ["bridge1", "desktop1", "desktop2", "tsnode1", "tsnode2"]


def hostvars(**results):
    return {host: ({"tabops_artifacts_result": results[host]} if host in results else {}) for host in HOSTS}


def test_a_clean_first_batch_names_every_host_by_outcome_in_play_order():
    result = summary(
        HOSTS,
        HOSTS,
        hostvars(bridge1={"changed": True}, desktop1={"changed": False}),
        max_fail_percentage=0,
        run_id="r1",
    )
    assert result == {
        "changed": ["bridge1"],
        "unchanged": ["desktop1"],
        "failed": [],
        "failed_after_changes": [],
        "unreachable": [],
        "not_reached": ["desktop2", "tsnode1", "tsnode2"],
        "causes": {},
        "stop": False,
        "lines": [
            "rollout r1: 5 hosts: changed 1 (bridge1); unchanged 1 (desktop1); failed 0; unreachable 0; "
            "later batches 3 (desktop2, tsnode1, tsnode2)"
        ],
        "message": "rollout r1: 5 hosts: changed 1 (bridge1); unchanged 1 (desktop1); failed 0; unreachable 0; "
        "later batches 3 (desktop2, tsnode1, tsnode2)",
    }


def test_a_failed_canary_stops_the_rollout_and_says_so_first():
    live = [host for host in HOSTS if host != "bridge1"]
    failed = {"failed": True, "changed": True, "causes": ["folder-error"], "msg": "1 of 2 managed folders failed"}
    result = summary(HOSTS, live, hostvars(bridge1=failed), max_fail_percentage=0)
    assert result["stop"] is True
    assert result["failed"] == ["bridge1"] and result["changed"] == []
    # Its other folder was written before one failed: that change is counted, not hidden behind "failed".
    assert result["failed_after_changes"] == ["bridge1"]
    assert result["message"] == (
        "rollout stopped after this batch (1 of 1 hosts reached failed, more than 0%): rollout : 5 hosts: changed 0; "
        "changed, then failed 1 (bridge1); unchanged 0; failed 1 (bridge1); unreachable 0; "
        "not reached 4 (desktop1, desktop2, tsnode1, tsnode2)\n"
        "folder-error: 1 host (bridge1)"
    )


def test_a_host_dropped_before_its_sync_is_unreachable_and_counts_as_a_failure():
    live = [host for host in HOSTS if host != "desktop1"]
    results = hostvars(bridge1={"changed": False}, desktop2={"unreachable": True}, tsnode1={"changed": True})
    result = summary(HOSTS, live, results, max_fail_percentage=50)
    assert result["unreachable"] == ["desktop1", "desktop2"]
    assert result["not_reached"] == ["tsnode2"]
    # 2 of 4 tried is 50%: not more than the limit.
    assert result["stop"] is False
    assert summary(HOSTS, live, results, max_fail_percentage=49.9)["stop"] is True


def test_the_last_batch_never_stops_and_one_batch_reports_failures_without_stopping():
    everyone = hostvars(**{host: {"changed": True} for host in HOSTS[1:]}, bridge1={"failed": True})
    result = summary(HOSTS, HOSTS[1:], everyone, max_fail_percentage=0)
    assert result["stop"] is False and result["not_reached"] == []
    assert result["message"].endswith(
        "failed 1 (bridge1); unreachable 0; later batches 0\nfailed, no message: 1 host (bridge1)"
    )


def test_a_skipped_sync_is_unchanged():
    result = summary(HOSTS, HOSTS, hostvars(**{host: {"skipped": True, "changed": False} for host in HOSTS}))
    assert result["unchanged"] == HOSTS and result["stop"] is False


@pytest.mark.parametrize(
    ("hosts", "play_hosts", "max_fail", "message"),
    [
        ("bridge1", HOSTS, 0, "the play's hosts and live hosts must be lists of names"),
        (HOSTS, None, 0, "the play's hosts and live hosts must be lists of names"),
        (HOSTS, HOSTS, "half", "max_fail_percentage must be a number, not 'half'"),
    ],
)
def test_bad_input_is_named(hosts, play_hosts, max_fail, message):
    with pytest.raises(AnsibleFilterError, match=message):
        summary(hosts, play_hosts, hostvars(), max_fail_percentage=max_fail)


def test_three_causes_over_twenty_hosts_are_grouped_with_a_count_and_the_first_names():
    hosts = [f"host{index:02d}" for index in range(1, 21)]
    results = {}
    for index, host in enumerate(hosts):
        if index < 7:  # the preflight names its finding codes
            results[host] = {"failed": True, "changed": False, "causes": ["driver-missing"], "msg": "ERROR ..."}
        elif index < 10:  # a failure from the host side, named from its message
            results[host] = {"failed": True, "msg": f"host {host}: another run holds the host lock /run/x.lock"}
        elif index < 12:
            results[host] = {"unreachable": True, "msg": "ssh: connect to host 10.0.0.1 port 22: Connection refused"}
        else:
            results[host] = {"changed": True}
    everyone = {host: {"tabops_artifacts_result": results[host]} for host in hosts}
    result = summary(hosts, hosts, everyone, run_id="r9", check_mode=True)
    first, *causes = result["message"].split("\n")
    assert first == (
        "rollout r9 (check mode): 20 hosts: would change 8 (host13, host14, host15, host16, host17, +3 more); "
        "unchanged 0; failed 10 (host01, host02, host03, host04, host05, +5 more); unreachable 2 (host11, host12); "
        "later batches 0"
    )
    assert causes == [
        "driver-missing: 7 hosts (host01, host02, host03, host04, host05, +2 more)",
        "host-locked: 3 hosts (host08, host09, host10)",
        "unreachable (connection refused): 2 hosts (host11, host12)",
    ]
    assert result["causes"]["driver-missing"] == hosts[:7]


def test_a_thousand_hosts_and_many_causes_stay_one_screen():
    hosts = [f"desktop{index:04d}" for index in range(1000)]
    everyone = {
        host: {"tabops_artifacts_result": {"failed": True, "msg": f"odd failure number {index % 40}"}}
        for index, host in enumerate(hosts)
    }
    message = summary(hosts, hosts, everyone)["message"]
    lines = message.split("\n")
    assert len(lines) <= 1 + 12 + 1 and max(len(line) for line in lines) < 200, message
    assert lines[-1].startswith("+28 more causes: 700 hosts (") and lines[-1].endswith(", +695 more)"), lines[-1]
