# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT

DOCUMENTATION = r"""
name: tableau_rollback_choice
short_description: Choose the run playbooks/rollback.yml rolls back, from the runs every host listed
version_added: 0.2.0
description:
  - Used by the "Choose the run to roll back" task of playbooks/rollback.yml.
  - A run given by id is rolled back as given. Otherwise the newest run of the root-written logs (each POSIX host's
    run log, the tsm node's journal) is chosen; journals in users' folders never choose the run (their owner can
    write them, run id and stamp included).
  - A run newer than that one which only journals in users' folders name (a forgery, or a run that changed only
    Windows hosts) does not block the rollback; its run id goes to RV(_value.skip_runs), so the folders holding its
    journal are left alone, and the message names them with the command that rolls them back by id.
  - When a host's runs could not be listed, nothing is chosen (that host may hold the newest run); the error names
    the host and asks for the run id.
positional: _input, hostvars
options:
  _input:
    description: The hosts whose runs were listed and are still live (C(ansible_play_hosts)).
    type: list
    elements: str
    required: true
  hostvars:
    description: C(hostvars).
    type: raw
    required: true
  runs_var:
    description: The variable each host registered its C(tableau_files) C(list_runs) result in.
    type: str
    default: tabops_rollback_host_runs
  tsm_runs:
    description: The runs the tsm node journals (C(tsm_settings) C(list_runs) result C(runs)), all trusted.
    type: list
    elements: dict
    default: []
  missed:
    description: The hosts that failed or were unreachable while the runs were listed.
    type: list
    elements: str
    default: []
  run_id:
    description: The run given by the operator (C(tabops_rollback_run_id)); empty to choose.
    type: str
    default: ""
  force:
    description: Whether hand edits are rolled back too (named in the message).
    type: bool
    default: false
  inventories:
    description: The inventory sources (C(ansible_inventory_sources)), for the by-id commands in the message.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Choose the run to roll back
  ansible.builtin.set_fact:
    tabops_rollback_choice: >-
      {{ ansible_play_hosts | tabops.redshift_oauth.tableau_rollback_choice(hostvars,
         tsm_runs=tabops_tsm_runs_result.runs | default([]), missed=ansible_play_hosts_all | difference(ansible_play_hosts),
         run_id=tabops_rollback_run_id | default(''), inventories=ansible_inventory_sources) }}
  run_once: true
"""

RETURN = r"""
_value:
  description: The choice.
  type: dict
  contains:
    run_id:
      description: The run to roll back (empty when none can be chosen).
      type: str
    given:
      description: Whether the run was given by id.
      type: bool
    skip_runs:
      description: The newer runs only journals in users' folders name (the C(rollback_skip_runs) option of M(tabops.redshift_oauth.tableau_files)).
      type: list
      elements: str
    error:
      description: Why no run can be chosen, in one line (empty when one is).
      type: str
    message:
      description: >-
        Which run is rolled back and why, for example C(rolling back run r2 (the newest run of the root-written run
        logs); left alone, as their journals name a newer run no root-written log names (a forgery, or a run that
        changed only Windows hosts): run r9 in desktop1:/home/a/OAuthConfigs (if it is real: ansible-playbook -i
        inv playbooks/rollback.yml -e tabops_rollback_run_id=r9 --limit desktop1)).
      type: str
"""


from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._filter_errors import require_type
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._rollback_choice import choose_run


def tableau_rollback_choice(
    hosts,
    hostvars,
    runs_var="tabops_rollback_host_runs",
    tsm_runs=None,
    missed=None,
    run_id="",
    force=False,
    inventories=None,
):
    require_type("tableau_rollback_choice", hosts, (list, tuple), "the play's hosts must be a list of names")
    return choose_run(
        {host: hostvars[host].get(runs_var) for host in hosts},
        tsm_runs=list(tsm_runs or []),
        missed=[str(host) for host in missed or []],
        run_id=str(run_id or ""),
        force=force in (True, "true", "True", "yes"),
        inventories=[str(source) for source in inventories or []],
    )


class FilterModule:
    def filters(self):
        return {"tableau_rollback_choice": tableau_rollback_choice}
