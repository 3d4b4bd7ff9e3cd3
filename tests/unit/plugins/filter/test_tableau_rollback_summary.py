# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""tableau_rollback_summary filter: what the rollback of a run did, host by host, in one line."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tabops.redshift_oauth.plugins.filter import tableau_rollback_summary as plugin

summary = plugin.FilterModule().filters()["tableau_rollback_summary"]
HOSTS = ["bridge1", "desktop1", "tsnode1", "tsnode2"]


def report(restored=(), removed=(), hand_edited=()):
    return {
        "changed": bool(restored or removed),
        "rollback": {"restored": list(restored), "removed": list(removed), "hand_edited": list(hand_edited)},
    }


def test_each_host_is_named_by_what_the_rollback_did_there():
    hostvars = {
        "bridge1": {"tabops_artifacts_result": report(restored=["/a.xml"], removed=["/b.xml", "/c.xml"])},
        "desktop1": {"tabops_artifacts_result": report(restored=["/d.xml", "/e.tdc"], hand_edited=["/f.xml"])},
        "tsnode1": {"tabops_artifacts_result": report()},
        "tsnode2": {},
    }
    assert summary(HOSTS, hostvars, run_id="r1") == (
        "rollback of run r1: restored bridge1 (1 file), desktop1 (2 files); removed bridge1 (2 files); "
        "kept, changed by hand since the run: /f.xml; failed -; not reached tsnode2; nothing to roll back tsnode1"
    )


def test_a_failed_host_carries_its_message_on_one_line():
    hostvars = {host: {} for host in HOSTS}
    hostvars["desktop1"] = {"tabops_artifacts_result": {"failed": True, "msg": "backup x\\n is gone"}}
    hostvars["bridge1"] = {"tabops_artifacts_result": {"unreachable": True, "msg": "ssh:\n timeout"}}
    line, *causes = summary(HOSTS, hostvars, run_id="r2").split("\n")
    assert "failed bridge1, desktop1;" in line
    assert "not reached tsnode1, tsnode2" in line
    # Why, one line per cause: the message's first line when it names no known cause.
    assert causes == ["backup x\\n is gone: 1 host (desktop1)", "unreachable (timeout): 1 host (bridge1)"]


def test_check_mode_says_would_and_a_thousand_hosts_stay_one_screen():
    hosts = [f"desktop{index:04d}" for index in range(1000)]
    hostvars = {
        host: {"tabops_artifacts_result": dict(report(restored=["/a.xml", "/b.tdc"]), check_mode=True)}
        for host in hosts
    }
    (line,) = summary(hosts, hostvars, run_id="r3").split("\n")
    assert line.startswith(
        "rollback of run r3 (check mode): would restore desktop0000 (2 files), desktop0001 (2 files), "
    )
    assert "+995 more (2000 files on 1000 hosts); would remove -;" in line and len(line) < 400, line


def test_hosts_must_be_a_list():
    with pytest.raises(AnsibleFilterError, match="must be a list"):
        summary("bridge1", {})


def test_folders_left_alone_are_named_per_run_with_the_by_id_command():
    skipped = {"path": "/home/a/OAuthConfigs", "runs": ["forged"]}
    hostvars = {host: {"tabops_artifacts_result": report()} for host in HOSTS}
    hostvars["desktop1"]["tabops_artifacts_result"]["rollback"]["skipped"] = [skipped]
    hostvars["bridge1"] = {"tabops_artifacts_result": report(restored=["/a.xml"])}
    line = summary(HOSTS, hostvars, run_id="r2", inventories=["/inv/my hosts.yml"])
    assert line.endswith(
        "nothing to roll back tsnode1, tsnode2; left alone, as their journals name a newer run: run forged in "
        "desktop1:/home/a/OAuthConfigs (if it is real: ansible-playbook -i '/inv/my hosts.yml' playbooks/rollback.yml "
        "-e tabops_rollback_run_id=forged --limit desktop1)"
    ), line
