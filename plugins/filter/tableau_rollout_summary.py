# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT

DOCUMENTATION = r"""
name: tableau_rollout_summary
short_description: Sort the hosts of a staged rollout by outcome and decide whether the rollout stops
version_added: 0.2.0
description:
  - Used by the "Rollout summary" task that ends every batch of playbooks/site.yml.
  - A host whose sync ran (its registered result is defined; registered results outlive their batch) is reached;
    it is failed or unreachable when its result says so, else changed or unchanged. A host of the play that is
    neither reached nor among the batch's live hosts (Ansible dropped it as unreachable) is unreachable.
    Every other host is not reached yet.
  - The rollout stops when hosts are left for later batches and more than O(max_fail_percentage) of the hosts
    reached so far (reached or unreachable) failed or were unreachable.
  - In Python rather than Jinja because it reads every host's result once per batch.
  - A failed host's cause is the C(causes) its sync result names (the preflight's finding codes such as
    C(driver-missing), C(folder-error)), else one derived from its message.
positional: _input, play_hosts, hostvars
options:
  _input:
    description: Every host of the play, in order (C(ansible_play_hosts_all)).
    type: list
    elements: str
    required: true
  play_hosts:
    description: The hosts of the play still live (C(ansible_play_hosts)).
    type: list
    elements: str
    required: true
  hostvars:
    description: C(hostvars).
    type: raw
    required: true
  max_fail_percentage:
    description: Percentage of the hosts reached that may fail before the rollout stops (0 to 100).
    type: float
    default: 100
  run_id:
    description: The run id (C(tabops_run_id)), shown in the message.
    type: str
    default: ""
  result_var:
    description: The variable each host registered its sync result in.
    type: str
    default: tabops_artifacts_result
  check_mode:
    description: Whether the batch ran in check mode (C(ansible_check_mode)); the message then says C(would change).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Rollout summary
  ansible.builtin.assert:
    that: not rollout.stop
    quiet: false
    success_msg: "{{ rollout.lines }}"
    fail_msg: "{{ rollout.lines }}"
  run_once: true
  vars:
    rollout: >-
      {{ ansible_play_hosts_all | tabops.redshift_oauth.tableau_rollout_summary(ansible_play_hosts, hostvars,
         max_fail_percentage=0, run_id=tabops_run_id) }}
"""

RETURN = r"""
_value:
  description: The hosts by outcome (each list in play order) and the decision.
  type: dict
  contains:
    changed:
      description: Reached hosts whose sync changed something (in check mode, would change) and did not fail.
      type: list
      elements: str
    failed_after_changes:
      description:
        - Failed hosts whose sync changed something before a part of it failed (one folder written, another
          failed); they are also in RV(_value.failed). What changed there is real and counted in the message.
      type: list
      elements: str
    unchanged:
      description: Reached hosts whose sync changed nothing.
      type: list
      elements: str
    failed:
      description: Reached hosts whose sync failed.
      type: list
      elements: str
    unreachable:
      description: Hosts that could not be reached.
      type: list
      elements: str
    not_reached:
      description: Hosts left for later batches (or never reached, when the rollout stops).
      type: list
      elements: str
    stop:
      description: Whether the rollout stops after this batch.
      type: bool
    causes:
      description:
        - The failed and unreachable hosts grouped by cause (C(driver-missing), C(folder-error),
          C(unreachable (connection refused)), ...), biggest group first; a host with two causes is in both.
      type: dict
    lines:
      description:
        - RV(_value.message) line by line, for a task's C(msg) (Ansible's default callback prints a list one item a
          line; a string's line breaks would show as C(\\n) in its JSON output).
      type: list
      elements: str
    message:
      description:
        - For a person, the same whether the rollout goes on or stops (then it says so first). First line, the
          count of hosts per outcome with the first few names (C(changed 950 (tsnode1, ..., +945 more))); then one
          line per cause of the failed and unreachable hosts (C(driver-missing) followed by the count and the first
          names); one screen at 1,000 hosts.
      type: str
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils import _outcome as outcome
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._filter_errors import require_type


def _clause(label, hosts):
    """``changed 12 (tsnode1, ..., +7 more)``: a count, then the first few names."""
    return "%s %d%s" % (label, len(hosts), " (%s)" % outcome.names(hosts) if hosts else "")


def _sort(hosts, play_hosts, hostvars, result_var):
    """The hosts by outcome, and the failed or unreachable ones' causes; each host's result read once."""
    live = set(play_hosts)
    found = {"changed": [], "unchanged": [], "failed": [], "unreachable": [], "not_reached": []}
    found["failed_after_changes"], failures = [], []
    for host in hosts:
        result = hostvars[host].get(result_var)
        if not isinstance(result, Mapping):
            found["not_reached" if host in live else "unreachable"].append(host)
            if host not in live:
                failures.append((host, [outcome.UNREACHABLE]))
            continue
        if result.get("failed") or result.get("unreachable"):
            found["failed" if result.get("failed") else "unreachable"].append(host)
            failures.append((host, outcome.causes_of(result)))
            if result.get("changed"):
                # Some of its folders were written before another failed: that change is real, and counted.
                found["failed_after_changes"].append(host)
        else:
            found["changed" if result.get("changed") else "unchanged"].append(host)
    return found, outcome.group_by_cause(failures)


def tableau_rollout_summary(
    hosts,
    play_hosts,
    hostvars,
    max_fail_percentage=100,
    run_id="",
    result_var="tabops_artifacts_result",
    check_mode=False,
):
    for names in (hosts, play_hosts):
        require_type(
            "tableau_rollout_summary", names, (list, tuple), "the play's hosts and live hosts must be lists of names"
        )
    try:
        max_fail = float(max_fail_percentage)
    except (TypeError, ValueError):
        raise AnsibleFilterError(
            "tableau_rollout_summary: max_fail_percentage must be a number, not %r" % (max_fail_percentage,)
        ) from None
    found, causes = _sort(hosts, play_hosts, hostvars, result_var)
    failures = len(found["failed"]) + len(found["unreachable"])
    tried = len(hosts) - len(found["not_reached"])
    stop = bool(found["not_reached"]) and failures > 0 and failures * 100.0 / max(tried, 1) > max_fail
    clauses = [
        _clause("would change" if check_mode else "changed", found["changed"]),
        _clause("unchanged", found["unchanged"]),
        _clause("failed", found["failed"]),
        _clause("unreachable", found["unreachable"]),
        _clause("not reached" if stop else "later batches", found["not_reached"]),
    ]
    if found["failed_after_changes"]:
        label = "would change, then fail" if check_mode else "changed, then failed"
        clauses.insert(1, _clause(label, found["failed_after_changes"]))
    line = "rollout %s%s: %d hosts: %s" % (
        run_id,
        " (check mode)" if check_mode else "",
        len(hosts),
        "; ".join(clauses),
    )
    if stop:
        line = "rollout stopped after this batch (%d of %d hosts reached failed, more than %g%%): %s" % (
            failures,
            tried,
            max_fail,
            line,
        )
    lines = [line, *outcome.cause_lines(causes)]
    return dict(found, causes=causes, stop=stop, message="\n".join(lines), lines=lines)


class FilterModule:
    def filters(self):
        return {"tableau_rollout_summary": tableau_rollout_summary}
