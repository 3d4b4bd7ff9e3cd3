# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Rollback of a run (playbooks/rollback.yml, issue 14) on a real lab fleet: roll out data A, roll out data B (one
more OAuth config, a changed allowlist, a changed TDC), roll back; check mode first, a hand edit kept, then forced."""

import base64
import json
import re
import subprocess

import pytest
from labfleet import REPO, WATCHED_ROOTS, requires_lab

pytestmark = [pytest.mark.lab, requires_lab]

BRIDGE_CONFIGS = "/root/Documents/My_Tableau_Bridge_Repository/OAuthConfigs"
DESKTOP_CONFIGS = "/home/analyst1/Documents/My Tableau Repository/OAuthConfigs"
DATA_B = {
    "tabops_oauth_configs": [
        {
            "id": "custom_redshift_okta",
            "label": "Okta Redshift IAM",
            "idp": "okta",
            "idp_base_url": "https://tabops-lab.okta.example",
            "auth_server": "default",
            "client_id_desktop": "0oa-lab-desktop-client",
            "redirect_ports": [55556, 55557, 55558],
            "install_on": ["desktop", "prep", "bridge"],
            "server_client": {"client_id": "0oa-lab-server-client-b", "client_secret": "lab-only-b-secret-4c1d"},
        },
        {
            "id": "custom_redshift_entra",
            "label": "Entra Redshift IAM",
            "idp": "entra",
            "tenant": "3f2a8c1e-5b7d-4e9a-8c6f-0d1e2f3a4b5c",
            "client_id_desktop": "5d0c3e2a-lab-desktop",
            "install_on": ["desktop", "prep", "bridge"],
        },
        {
            "id": "custom_redshift_keycloak",
            "label": "Keycloak Redshift IAM",
            "idp": "keycloak",
            "idp_base_url": "https://sso.lab.example",
            "realm": "analytics",
            "client_id_desktop": "tableau-desktop",
            "install_on": ["desktop", "prep", "bridge"],
        },
    ],
    "tabops_odbc_extras_allowlist": ["AutoCreate"],
    "tabops_tdc_files": [
        {
            "name": "redshift-oauth",
            "class": "redshift",
            "customizations": {
                "CAP_OAUTH_FEDERATE_ACCESS_TOKEN": "yes",
                "CAP_ODBC_METADATA_SUPPRESS_EXECUTED_QUERY": "yes",
            },
            "install_on": ["server", "bridge", "desktop", "prep"],
        }
    ],
}


def state(fleet, host):
    """Type, mode, owner, group and checksum of every managed file and folder (not the backups, not mtimes)."""
    roots = " ".join(WATCHED_ROOTS)
    script = (
        f'set -e; roots=\'\'; for r in {roots}; do if [ -e "$r" ]; then roots="$roots $r"; fi; done; '
        "find $roots -xdev -not -path '*/tsm-standin*' -not -path '*/.tabops-backups*' "
        "-printf '%y %m %u %g %p\\n' | LC_ALL=C sort; "
        "find $roots -xdev -type f -not -path '*/tsm-standin/*' -not -path '*/.tabops-backups/*' "
        "-exec sha256sum {} + | LC_ALL=C sort"
    )
    listing = fleet.sh(host, script)
    assert "OAuthConfigs" in listing or "Datasources" in listing, listing
    return listing


def summaries(run):
    return ["\n".join(r["msg"]) for results in run.host_results("Rollout summary").values() for r in results]


def fleet_state(fleet):
    return {host: state(fleet, host) for host in fleet.hosts()}


def rollback_results(run):
    found = run.host_results("Put back this host's Tableau files as they were before the run")
    return {host: results[0] for host, results in found.items()}


def actions(run):
    return {
        host: sorted((item["path"], item["status"], item["action"]) for item in result.get("files", []))
        for host, result in rollback_results(run).items()
    }


def applied(fleet):
    tsm = fleet.tsm_state()
    return tsm["configuration"], tsm["pending"]


def test_rollback_puts_back_every_file_and_tsm_value_of_the_run(fleet, tmp_path):
    first = fleet.playbook("playbooks/site.yml")
    assert first.returncode == 0, first.stdout[-3000:]
    after_a, tsm_a = fleet_state(fleet), applied(fleet)

    second = fleet.playbook("playbooks/site.yml", extra_vars=DATA_B)
    assert second.returncode == 0, second.stdout[-3000:]
    after_b, tsm_b = fleet_state(fleet), applied(fleet)
    assert all(after_b[host] != after_a[host] for host in fleet.hosts())
    assert tsm_b != tsm_a
    restarts_b = fleet.tsm_state()["restarts"]

    [run_b] = {re.search(r"rollout (\S+):", line).group(1) for line in summaries(second)}

    # A hand edit after B, to the config B created on the Bridge host: reported and kept.
    edited = f"{BRIDGE_CONFIGS}/custom_redshift_keycloak.xml"
    assert fleet.exists("bridge1", edited)
    fleet.sh("bridge1", f"sed -i 's/tableau-desktop/edited-by-hand/' '{edited}'")
    after_edit = fleet_state(fleet)
    full_before = {host: fleet.snapshot(host) for host in fleet.hosts()}

    check = fleet.playbook("playbooks/rollback.yml", "--check", "--diff")
    assert check.returncode == 0, check.stdout[-3000:]
    [chosen] = [r["msg"] for results in check.host_results("Say which run is rolled back").values() for r in results]
    assert chosen.startswith(f"rolling back run {run_b} (the newest run of the root-written run logs)"), chosen
    assert {host: fleet.snapshot(host) for host in fleet.hosts()} == full_before
    assert applied(fleet) == tsm_b and fleet.tsm_state()["restarts"] == restarts_b
    assert "lab-only-b-secret-4c1d" not in check.stdout and "lab-only-not-a-secret" not in check.stdout

    real = fleet.playbook("playbooks/rollback.yml")
    assert real.returncode == 0, real.stdout[-3000:]
    assert actions(real) == actions(check)
    assert real.changed_tasks() == check.changed_tasks()
    kept = rollback_results(real)["bridge1"]["rollback"]["hand_edited"]
    assert kept == [edited]
    [summary] = ["\n".join(r["msg"]) for results in real.host_results("Rollback summary").values() for r in results]
    assert summary.startswith("rollback of run ") and f"kept, changed by hand since the run: {edited};" in summary
    assert "failed -; not reached -;" in summary, summary
    assert "edited-by-hand" in fleet.read("bridge1", edited)
    # Everything else is exactly as after A; the tsm values too, applied once more.
    after_rollback = fleet_state(fleet)
    for host in fleet.hosts():
        if host != "bridge1":
            assert after_rollback[host] == after_a[host], host
    assert applied(fleet) == tsm_a
    assert fleet.tsm_state()["restarts"] == restarts_b + 1
    assert after_rollback["bridge1"] != after_edit["bridge1"]

    again = fleet.playbook("playbooks/rollback.yml")
    assert again.returncode == 0 and again.changed_tasks() == {}, again.stdout[-3000:]

    forced = fleet.playbook("playbooks/rollback.yml", "-e", "tabops_rollback_force=true")
    assert forced.returncode == 0, forced.stdout[-3000:]
    assert fleet_state(fleet) == after_a
    assert applied(fleet) == tsm_a

    # Data A is compliant again: files, server settings, nothing pending.
    completed = subprocess.run(
        [str(REPO / "scripts" / "compliance"), "-i", str(fleet.inventory), "--report-dir", str(tmp_path), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    # And site.yml with A changes nothing.
    converged = fleet.playbook("playbooks/site.yml")
    assert converged.returncode == 0 and converged.changed_tasks() == {}, converged.changed_tasks()


def test_rollback_of_a_named_older_run_and_when_there_is_none(fleet):
    empty = fleet.playbook("playbooks/rollback.yml")
    assert empty.returncode == 2
    assert "nothing to roll back" in empty.stdout
    bad = fleet.playbook("playbooks/rollback.yml", "-e", "tabops_rollback_run_id=../etc")
    assert bad.returncode == 2 and "tabops_rollback_run_id must be a run id" in bad.stdout

    first = fleet.playbook("playbooks/site.yml", "-e", "tabops_run_id=run-a")
    assert first.returncode == 0, first.stdout[-3000:]
    before_a = fleet_state(fleet)
    assert fleet.playbook("playbooks/site.yml", "-e", "tabops_run_id=run-b", extra_vars=DATA_B).returncode == 0
    # Rolling back run-a (the first rollout) takes every host back to before it: nothing of the collection left.
    older = fleet.playbook("playbooks/rollback.yml", "-e", "tabops_rollback_run_id=run-b")
    assert older.returncode == 0, older.stdout[-3000:]
    assert fleet_state(fleet) == before_a
    oldest = fleet.playbook("playbooks/rollback.yml", "-e", "tabops_rollback_run_id=run-a")
    assert oldest.returncode == 0, oldest.stdout[-3000:]
    for host in fleet.hosts():
        listing = state(fleet, host)
        assert "custom_redshift_" not in listing and "redshift-oauth.tdc" not in listing, (host, listing)


def lines_under(listing, folder, inside=True):
    """The lines of a state() listing about ``folder`` and what it holds (or, ``inside`` false, about the rest)."""
    return [line for line in listing.splitlines() if (f"{folder}/" in line or line.endswith(folder)) == inside]


def test_a_future_journal_in_a_users_folder_leaves_only_that_folder_alone(fleet):
    """Row "a journal in a user's .tabops-backups with a future stamp" (docs/security.md): the default rollback goes
    on with the newest run of the root-written logs on every host and folder, leaves alone only the folder whose
    journals name the newer run, and names it with the command that rolls it back by id."""
    assert fleet.playbook("playbooks/site.yml", "-e", "tabops_run_id=run-a").returncode == 0
    after_a, tsm_a = fleet_state(fleet), applied(fleet)
    second = fleet.playbook("playbooks/site.yml", "-e", "tabops_run_id=run-b", extra_vars=DATA_B)
    assert second.returncode == 0, second.stdout[-3000:]
    after_b = fleet_state(fleet)
    assert lines_under(after_b["desktop1"], DESKTOP_CONFIGS) != lines_under(after_a["desktop1"], DESKTOP_CONFIGS)

    # analyst1 itself (a real local user, not root) writes a journal of a made-up run stamped in the future: a copy
    # of run-b's journal there under another run id and stamp.
    backups = f"{DESKTOP_CONFIGS}/.tabops-backups"
    journal = json.loads(fleet.read("desktop1", f"{backups}/tabops-run-run-b.json"))
    forged = json.dumps(dict(journal, run_id="forged", stamp="99991231T235959Z")).encode()
    fleet.sh(
        "desktop1",
        f"cd '{backups}' && printf %s {base64.b64encode(forged).decode()} | base64 -d "
        "| runuser -u analyst1 -- /bin/sh -c 'umask 077; cat > tabops-run-forged.json'",
    )
    assert "analyst1" in fleet.sh("desktop1", f"ls -l '{backups}/tabops-run-forged.json'")
    full_before = {host: fleet.snapshot(host) for host in fleet.hosts()}
    by_id = "-e tabops_rollback_run_id=forged --limit desktop1"

    check = fleet.playbook("playbooks/rollback.yml", "--check")
    assert check.returncode == 0, check.stdout[-3000:]
    [chosen] = [r["msg"] for results in check.host_results("Say which run is rolled back").values() for r in results]
    assert chosen.startswith("rolling back run run-b (the newest run of the root-written run logs); left alone"), chosen
    assert f"run forged in desktop1:{DESKTOP_CONFIGS} (if it is real: ansible-playbook -i " in chosen, chosen
    assert chosen.endswith(f"playbooks/rollback.yml {by_id})"), chosen
    assert {host: fleet.snapshot(host) for host in fleet.hosts()} == full_before

    real = fleet.playbook("playbooks/rollback.yml")
    assert real.returncode == 0, real.stdout[-3000:]
    assert actions(real) == actions(check)
    assert rollback_results(real)["desktop1"]["rollback"]["skipped"] == [{"path": DESKTOP_CONFIGS, "runs": ["forged"]}]
    assert all(
        not result["rollback"]["skipped"] for host, result in rollback_results(real).items() if host != "desktop1"
    )
    [summary] = ["\n".join(r["msg"]) for results in real.host_results("Rollback summary").values() for r in results]
    assert "failed -; not reached -;" in summary and f"run forged in desktop1:{DESKTOP_CONFIGS}" in summary, summary
    assert summary.endswith(f"{by_id})"), summary
    # Every other host, every other folder of desktop1 (analyst2's, analyst1's other folders) and the tsm values:
    # as after run-a. analyst1's OAuthConfigs: as after run-b, untouched.
    after_rollback = fleet_state(fleet)
    for host in fleet.hosts():
        if host != "desktop1":
            assert after_rollback[host] == after_a[host], host
    desktop = after_rollback["desktop1"]
    assert lines_under(desktop, DESKTOP_CONFIGS, inside=False) == lines_under(
        after_a["desktop1"], DESKTOP_CONFIGS, False
    )
    assert lines_under(desktop, DESKTOP_CONFIGS) == lines_under(after_b["desktop1"], DESKTOP_CONFIGS)
    assert applied(fleet) == tsm_a

    # The command named rolls that folder back (the forgery is a copy of run-b's journal: it undoes run-b there).
    [command] = re.findall(r"if it is real: ansible-playbook -i \S+ playbooks/rollback.yml (.*?)\)$", summary)
    assert command == by_id
    named = fleet.playbook("playbooks/rollback.yml", *command.split())
    assert named.returncode == 0, named.stdout[-3000:]
    assert fleet_state(fleet) == after_a
    again = fleet.playbook("playbooks/rollback.yml")
    assert again.returncode == 0 and again.changed_tasks() == {}, again.stdout[-3000:]
