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
        "unreachable": [],
        "not_reached": ["desktop2", "tsnode1", "tsnode2"],
        "stop": False,
        "message": "rollout r1: changed bridge1; unchanged desktop1; failed -; unreachable -; "
        "later batches desktop2, tsnode1, tsnode2",
    }


def test_a_failed_canary_stops_the_rollout_and_says_so_first():
    live = [host for host in HOSTS if host != "bridge1"]
    result = summary(HOSTS, live, hostvars(bridge1={"failed": True, "changed": True}), max_fail_percentage=0)
    assert result["stop"] is True
    assert result["failed"] == ["bridge1"] and result["changed"] == []
    assert result["message"] == (
        "rollout stopped after this batch (1 of 1 hosts reached failed, more than 0%): rollout : changed -; "
        "unchanged -; failed bridge1; unreachable -; not reached desktop1, desktop2, tsnode1, tsnode2"
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
    assert result["message"].endswith("failed bridge1; unreachable -; later batches -")


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
