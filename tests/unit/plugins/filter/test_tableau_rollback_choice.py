# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""tableau_rollback_choice filter: only root-written logs choose the run; a newer run only users' journals name
leaves its folders alone (named, with the by-id command) instead of blocking the fleet; a host not listed does."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tabops.redshift_oauth.plugins.filter import tableau_rollback_choice as plugin

choose = plugin.FilterModule().filters()["tableau_rollback_choice"]
HOSTS = ["bridge1", "desktop1", "win1"]
ALICE = "/home/alice/Documents/My Tableau Repository/OAuthConfigs"


def run(run_id, stamp, folders=(), trusted=False):
    return {"run_id": run_id, "stamp": stamp, "folders": list(folders), "trusted": trusted}


def hostvars(**runs):
    return {host: {"tabops_rollback_host_runs": {"runs": runs.get(host, [])}} for host in HOSTS}


def test_the_newest_trusted_run_is_chosen_and_a_forged_newer_one_leaves_only_its_folders():
    found = hostvars(
        bridge1=[run("r2", "20261202T101500Z", ["/root/b"], trusted=True)],
        desktop1=[
            run("forged", "99991231T235959Z", [ALICE]),
            run("r2", "20261202T101500Z", [ALICE, "/home/bob/x"], trusted=True),
            run("r1", "20261201T101500Z", [ALICE], trusted=True),
        ],
        win1=[run("r1-old", "20261101T000000Z", ["C:\\Users\\c\\x"])],  # older: not named
    )
    choice = choose(HOSTS, found, inventories=["/srv/inv/hosts.yml"])
    assert choice["error"] == "" and choice["run_id"] == "r2" and choice["given"] is False
    assert choice["skip_runs"] == ["forged"]
    assert choice["message"] == (
        "rolling back run r2 (the newest run of the root-written run logs); left alone, as their journals name a newer "
        "run no root-written log names (a forgery, or a run that changed only Windows hosts): run forged in "
        "desktop1:%s (if it is real: ansible-playbook -i /srv/inv/hosts.yml playbooks/rollback.yml "
        "-e tabops_rollback_run_id=forged --limit desktop1)" % ALICE
    )


def test_the_tsm_journal_is_trusted_and_a_run_trusted_anywhere_is_not_newer_elsewhere():
    # r3 changed a Windows host (journal only) and a POSIX host (run log): trusted, chosen, nothing left alone.
    found = hostvars(
        bridge1=[run("r3", "20261203T000000Z", ["/root/b"], trusted=True)],
        win1=[run("r3", "20261203T000005Z", ["C:\\x"])],
    )
    choice = choose(HOSTS, found, tsm_runs=[{"run_id": "r4", "stamp": "20261203T000001Z"}])
    assert choice["run_id"] == "r4" and choice["skip_runs"] == [] and "left alone" not in choice["message"]
    choice = choose(HOSTS, found, tsm_runs=[{"run_id": "r0", "stamp": "20261101T000000Z"}])
    assert choice["run_id"] == "r3" and choice["skip_runs"] == []


def test_a_windows_only_run_leaves_its_folders_on_every_host_named_oldest_first():
    found = hostvars(
        bridge1=[run("r1", "20261201T000000Z", ["/root/b"], trusted=True)],
        win1=[run("w2", "20261203T000000Z", ["C:\\b", "C:\\a"]), run("w1", "20261202T000000Z", ["C:\\a"])],
        desktop1=[run("w2", "20261203T000000Z", [ALICE])],
    )
    choice = choose(HOSTS, found, force=True)
    assert choice["skip_runs"] == ["w1", "w2"]
    assert choice["message"].startswith("rolling back run r1 (the newest run of the root-written run logs, forced")
    assert (
        "run w2 in desktop1:%s, win1:C:\\a, win1:C:\\b (if it is real: ansible-playbook -i <inventory> "
        "playbooks/rollback.yml -e tabops_rollback_run_id=w2 --limit desktop1,win1)" % ALICE
    ) in choice["message"]


def test_a_host_not_listed_stops_the_choice_and_is_named_with_the_by_id_command():
    found = hostvars(bridge1=[run("r2", "20261202T101500Z", ["/root/b"], trusted=True)])
    choice = choose(["bridge1", "win1"], found, missed=["desktop1"])
    assert choice["error"] == (
        "the runs of desktop1 are unknown (failed or unreachable while the runs were listed): the newest run cannot "
        "be chosen without them; give the run with -e tabops_rollback_run_id=<run id of its Rollout summary> (the "
        "newest run of the logs that were read: r2)"
    )


def test_without_a_trusted_run_nothing_is_chosen_and_journals_are_named_as_possibly_forged():
    assert choose(HOSTS, hostvars())["error"] == (
        "no root-written run log names a run (a site.yml run that changed something writes one); nothing to roll back"
    )
    choice = choose(HOSTS, hostvars(desktop1=[run("forged", "99991231T235959Z", [ALICE])]))
    assert choice["run_id"] == "" and choice["skip_runs"] == []
    assert "journals in user folders name runs, which may be forged: run forged in desktop1:" in choice["error"]
    assert choice["error"].endswith("--limit desktop1); nothing to roll back")


def test_a_run_given_by_id_is_taken_as_given():
    found = hostvars(desktop1=[run("forged", "99991231T235959Z", [ALICE])])
    choice = choose(HOSTS, found, run_id="forged", missed=["win1"])
    assert choice == {
        "run_id": "forged",
        "given": True,
        "skip_runs": [],
        "error": "",
        "message": "rolling back run forged (as given)",
    }


def test_what_a_host_returned_that_is_not_a_run_is_ignored():
    found = hostvars(
        bridge1=[
            run("r2", "20261202T101500Z", ["/root/b"], trusted=True),
            run("../x", "99991231T235959Z", trusted=True),
            run("r9", "tomorrow", trusted=True),
            "r8",
            {"run_id": ["r7"], "stamp": "99991231T235959Z", "trusted": True},
        ],
        desktop1=[dict(run("r6", "99991231T235959Z"), folders="not a list")],
    )
    found["win1"] = {"tabops_rollback_host_runs": {"skipped": True}}
    choice = choose(HOSTS, found)
    assert choice["run_id"] == "r2" and choice["skip_runs"] == ["r6"]
    assert "run r6 in desktop1 (if it is real:" in choice["message"]
    with pytest.raises(AnsibleFilterError, match="must be a list"):
        choose("bridge1", found)
