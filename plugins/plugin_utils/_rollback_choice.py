# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Which run playbooks/rollback.yml rolls back by default, from the runs every host listed (pure, controller side).

Only root-written logs choose the run (each POSIX host's run log, the tsm node's journal): a desktop user can write
the journals in their own folders, run id and stamp included. A newer run that only such journals name (a forgery,
or a run that changed only Windows hosts, which keep no root-written log) never blocks the fleet: the newest trusted
run is rolled back everywhere except in the folders holding a journal of such a run, which are named with the
command that rolls them back by id.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._run_id import is_run_id, is_stamp

ASK_FOR_ID = "give the run with -e tabops_rollback_run_id=<run id of its Rollout summary>"


def _runs(value):
    """The well-formed runs of one host's listing (anything else a host returned is not a run)."""
    runs = value.get("runs") if isinstance(value, Mapping) else None
    found = []
    for run in runs if isinstance(runs, list) else []:
        if not isinstance(run, Mapping):
            continue
        run_id, stamp, folders = run.get("run_id"), run.get("stamp"), run.get("folders")
        # As the modules check them (module_utils/_run_id).
        if not (is_run_id(run_id) and is_stamp(stamp)):
            continue
        folders = [folder for folder in folders if isinstance(folder, str)] if isinstance(folders, list) else []
        found.append({"run_id": run_id, "stamp": stamp, "folders": folders, "trusted": run.get("trusted") is True})
    return found


def by_id_command(run_id: str, hosts: list[str], inventories: list[str] | None = None) -> str:
    """The command that rolls back ``run_id`` on ``hosts`` only."""
    sources = " ".join("-i %s" % shlex.quote(source) for source in inventories or []) or "-i <inventory>"
    return "ansible-playbook %s playbooks/rollback.yml -e tabops_rollback_run_id=%s --limit %s" % (
        sources,
        run_id,
        shlex.quote(",".join(hosts)),
    )


def _newer_untrusted(listed, newest):
    """[(run id, {host: [folder]})] of the runs newer than ``newest`` (a trusted run, or {}) that only journals in
    users' folders name, oldest first."""
    trusted_ids = {run["run_id"] for _host, runs in listed for run in runs if run["trusted"]}
    newer = {}
    for host, runs in listed:
        for run in runs:
            if run["trusted"] or run["run_id"] in trusted_ids or run["stamp"] <= newest.get("stamp", ""):
                continue
            found = newer.setdefault(run["run_id"], {"run_id": run["run_id"], "stamp": run["stamp"], "where": {}})
            found["stamp"] = max(found["stamp"], run["stamp"])
            found["where"].setdefault(host, []).extend(run["folders"])
    return [
        (run["run_id"], run["where"]) for run in sorted(newer.values(), key=lambda run: (run["stamp"], run["run_id"]))
    ]


def left_alone_text(runs, inventories=None):
    """The text "run R in host:folder, ... (if it is real: <command>)" for each (run id, {host: [folder]}) of ``runs``."""
    return "; ".join(
        "run %s in %s (if it is real: %s)"
        % (
            run_id,
            ", ".join(
                "%s:%s" % (host, folder) if folder else host
                for host in sorted(where)
                for folder in (sorted(set(where[host])) or [""])
            ),
            by_id_command(run_id, sorted(where), inventories),
        )
        for run_id, where in runs
    )


def choose_run(listings, tsm_runs=None, missed=None, run_id=None, force=False, inventories=None):
    """The rollback's choice: {"run_id", "given", "skip_runs", "error", "message"}.

    ``listings``: {host: its tableau_files list_runs result}; ``tsm_runs``: the tsm node's runs (all trusted);
    ``missed``: the hosts that failed or were unreachable while the runs were listed; ``run_id``: the run given.
    ``error`` is the one-line reason the rollback cannot choose (empty when it can)."""
    forced = ", forced: hand edits too" if force else ""
    if run_id:
        return {
            "run_id": run_id,
            "given": True,
            "skip_runs": [],
            "error": "",
            "message": "rolling back run %s (as given%s)" % (run_id, forced),
        }
    listed = [(host, _runs(listing)) for host, listing in sorted((listings or {}).items())]
    listed.append(("tsm node", [dict(run, trusted=True) for run in _runs({"runs": tsm_runs or []})]))
    trusted = [run for _host, runs in listed for run in runs if run["trusted"]]
    newest = max(trusted, key=lambda run: (run["stamp"], run["run_id"]), default={})
    newer = _newer_untrusted(listed, newest)
    choice = {"run_id": newest.get("run_id", ""), "given": False, "skip_runs": [], "error": "", "message": ""}
    if missed:
        # A host not listed may hold the newest trusted run: no guess.
        choice["error"] = (
            "the runs of %s are unknown (failed or unreachable while the runs were listed): the newest run cannot be "
            "chosen without them; %s%s"
            % (
                ", ".join(missed),
                ASK_FOR_ID,
                " (the newest run of the logs that were read: %s)" % newest["run_id"] if newest else "",
            )
        )
    elif not newest:
        choice["error"] = "no root-written run log names a run (a site.yml run that changed something writes one)%s" % (
            "; journals in user folders name runs, which may be forged: %s" % left_alone_text(newer, inventories)
            if newer
            else ""
        )
        choice["error"] += "; nothing to roll back"
    else:
        choice["skip_runs"] = [run_id for run_id, _where in newer]
        choice["message"] = "rolling back run %s (the newest run of the root-written run logs%s)%s" % (
            newest["run_id"],
            forced,
            "; left alone, as their journals name a newer run no root-written log names (a forgery, or a run that "
            "changed only Windows hosts): %s" % left_alone_text(newer, inventories)
            if newer
            else "",
        )
    return choice
