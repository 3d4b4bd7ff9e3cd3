# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT

DOCUMENTATION = r"""
name: tableau_rollback_summary
short_description: One line saying what the rollback of a run did on every host
version_added: 0.2.0
description:
  - Used by the "Rollback summary" task of playbooks/rollback.yml, after every host's files were put back.
  - Names the hosts (and how many files) restored and removed, every file kept because it was changed by hand since
    the run, the failed hosts, the hosts not reached, and the hosts where the run left nothing to roll back (the
    first five of each, then C(+N more)); then one line per cause of the failed hosts
    (C(driver-missing) followed by the count and the first names).
  - The first line ends with the folders left alone because they hold a journal of a newer run only users' journals
    name (O(result_var).rollback.skipped), each run with the command that rolls it back by id.
  - In check mode (the hosts' results say C(check_mode)) it says C(would restore) and C(would remove).
positional: _input, hostvars
options:
  _input:
    description: Every host of the play, in order (C(ansible_play_hosts_all)).
    type: list
    elements: str
    required: true
  hostvars:
    description: C(hostvars).
    type: raw
    required: true
  run_id:
    description: The run rolled back.
    type: str
    default: ""
  result_var:
    description: The variable each host registered its rollback result in.
    type: str
    default: tabops_artifacts_result
  inventories:
    description: The inventory sources (C(ansible_inventory_sources)), for the by-id commands.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Rollback summary
  ansible.builtin.debug:
    msg: "{{ ansible_play_hosts_all | tabops.redshift_oauth.tableau_rollback_summary(hostvars, run_id=tabops_rollback_run_id) }}"
  run_once: true
"""

RETURN = r"""
_value:
  description: >-
    One line, for example
    C(rollback of run R: restored desktop1 (2 files), bridge1 (1 file); removed bridge1 (1 file); kept, changed by
    hand since the run: /root/.../custom_x.xml; failed desktop2; not reached -; nothing to roll back tsnode2), ending,
    when folders were left alone, with C(; left alone, as their journals name a newer run: run r9 in
    desktop1:/home/a/x (if it is real: ansible-playbook -i inv playbooks/rollback.yml -e tabops_rollback_run_id=r9
    --limit desktop1)); then one line per cause of the failed hosts (C(host-locked: 1 host (desktop2))). Past the first five names
    a list ends with C(+N more) (and, for files, the totals): one screen at 1,000 hosts.
  type: str
"""

from collections.abc import Mapping

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils import _outcome as outcome
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._filter_errors import require_type
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._rollback_choice import left_alone_text


def _counted(pairs):
    """``desktop1 (2 files), bridge1 (1 file)``; beyond the first few, ``+995 more (2000 files on 1000 hosts)``."""
    if not pairs:
        return "-"
    shown = outcome.names(["%s (%d file%s)" % (host, count, "" if count == 1 else "s") for host, count in pairs])
    if len(pairs) <= outcome.NAMES_SHOWN:
        return shown
    return "%s (%d files on %d hosts)" % (shown, sum(count for _host, count in pairs), len(pairs))


def _listed(items):
    """The first few names, then ``+N more``; ``-`` for none."""
    return outcome.names(items) or "-"


def tableau_rollback_summary(hosts, hostvars, run_id="", result_var="tabops_artifacts_result", inventories=None):
    require_type("tableau_rollback_summary", hosts, (list, tuple), "the play's hosts must be a list of names")
    restored, removed, kept, failed, not_reached, nothing = [], [], [], [], [], []
    skipped = {}
    check_mode = False
    for host in hosts:
        result = hostvars[host].get(result_var)
        if not isinstance(result, Mapping):
            not_reached.append(host)
            continue
        check_mode = check_mode or bool(result.get("check_mode"))
        if result.get("failed") or result.get("unreachable"):
            failed.append((host, outcome.causes_of(result)))
            continue
        report = result.get("rollback") or {}
        if report.get("restored"):
            restored.append((host, len(report["restored"])))
        if report.get("removed"):
            removed.append((host, len(report["removed"])))
        kept.extend(report.get("hand_edited") or [])
        for folder in report.get("skipped") or []:
            for run in folder["runs"]:
                skipped.setdefault(run, {}).setdefault(host, []).append(folder["path"])
        if not (report.get("restored") or report.get("removed") or report.get("hand_edited") or report.get("skipped")):
            nothing.append(host)
    # Check mode: nothing was put back yet; the words say what a real rollback would do.
    restore, remove = ("would restore", "would remove") if check_mode else ("restored", "removed")
    line = (
        "rollback of run %s%s: %s %s; %s %s; kept, changed by hand since the run: %s; failed %s; not reached %s; "
        "nothing to roll back %s"
        % (
            run_id,
            " (check mode)" if check_mode else "",
            restore,
            _counted(restored),
            remove,
            _counted(removed),
            _listed(kept),
            _listed([host for host, _causes in failed]),
            _listed(not_reached),
            _listed(nothing),
        )
    )
    if skipped:
        line += "; left alone, as their journals name a newer run: %s" % left_alone_text(
            sorted(skipped.items()), inventories
        )
    return "\n".join([line, *outcome.cause_lines(outcome.group_by_cause(failed))])


class FilterModule:
    def filters(self):
        return {"tableau_rollback_summary": tableau_rollback_summary}
