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
"""

EXAMPLES = r"""
- name: Rollout summary
  ansible.builtin.assert:
    that: not rollout.stop
    quiet: false
    success_msg: "{{ rollout.message }}"
    fail_msg: "{{ rollout.message }}"
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
      description: Reached hosts whose sync changed something.
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
    message:
      description: One line for a person, the same whether the rollout goes on or stops (then it says so first).
      type: str
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError


def _names(hosts):
    return ", ".join(hosts) or "-"


def tableau_rollout_summary(
    hosts, play_hosts, hostvars, max_fail_percentage=100, run_id="", result_var="tabops_artifacts_result"
):
    if not isinstance(hosts, (list, tuple)) or not isinstance(play_hosts, (list, tuple)):
        raise AnsibleFilterError("tableau_rollout_summary: the play's hosts and live hosts must be lists of names")
    try:
        max_fail = float(max_fail_percentage)
    except (TypeError, ValueError):
        raise AnsibleFilterError(
            "tableau_rollout_summary: max_fail_percentage must be a number, not %r" % (max_fail_percentage,)
        ) from None
    live = set(play_hosts)
    outcome = {"changed": [], "unchanged": [], "failed": [], "unreachable": [], "not_reached": []}
    for host in hosts:
        result = hostvars[host].get(result_var)
        if not isinstance(result, Mapping):
            outcome["not_reached" if host in live else "unreachable"].append(host)
        elif result.get("failed"):
            outcome["failed"].append(host)
        elif result.get("unreachable"):
            outcome["unreachable"].append(host)
        else:
            outcome["changed" if result.get("changed") else "unchanged"].append(host)
    failures = len(outcome["failed"]) + len(outcome["unreachable"])
    tried = len(hosts) - len(outcome["not_reached"])
    stop = bool(outcome["not_reached"]) and failures > 0 and failures * 100.0 / max(tried, 1) > max_fail
    line = "rollout %s: changed %s; unchanged %s; failed %s; unreachable %s; %s %s" % (
        run_id,
        _names(outcome["changed"]),
        _names(outcome["unchanged"]),
        _names(outcome["failed"]),
        _names(outcome["unreachable"]),
        "not reached" if stop else "later batches",
        _names(outcome["not_reached"]),
    )
    if stop:
        line = "rollout stopped after this batch (%d of %d hosts reached failed, more than %g%%): %s" % (
            failures,
            tried,
            max_fail,
            line,
        )
    return dict(outcome, stop=stop, message=line)


class FilterModule:
    def filters(self):
        return {"tableau_rollout_summary": tableau_rollout_summary}
