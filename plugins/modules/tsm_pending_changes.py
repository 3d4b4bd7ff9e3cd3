#!/usr/bin/python
# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tsm_pending_changes
short_description: List, apply or discard Tableau Server pending configuration changes
version_added: "0.1.0"
description:
  - Reads C(tsm pending-changes list) and, for O(state=applied), runs
    C(tsm pending-changes apply --ignore-prompt) only when something is pending; for O(state=discarded) runs
    C(tsm pending-changes discard) only when something is pending.
  - Applying may restart Tableau Server (C(--ignore-prompt) suppresses the prompt, not the restart). Run it once per
    cluster, on the initial node.
  - Only key names are returned; pending values (which may hold client secrets) are never read into the result.
  - After a successful apply it waits (O(wait_for_status), at most O(status_timeout) seconds) until C(tsm status -v)
    reports the overall line C(RUNNING) and no process line in another state (a line such as
    C('Tableau Prep Conductor 0' status is unavailable.) or C(... status is unlicensed.), or a state this module
    does not know, is not healthy), and fails naming the last status seen (C(STOPPED), C(DEGRADED), or the
    process lines) and how long it waited when the server does not come back.
  - RV(restart_needed) comes from what C(tsm pending-changes list) says - a line announcing a restart counts, a line
    saying that no restart is needed does not. A failed apply fails the task with tsm's message (secrets
    masked); the keys stay pending, and the next run of M(tabops.redshift_oauth.tsm_settings) reports
    C(apply_needed) so that the apply is retried.
author:
  - tabops maintainers (@tabops)
extends_documentation_fragment:
  - tabops.redshift_oauth.tsm
options:
  state:
    description:
      - V(applied) applies pending changes, V(discarded) discards them, V(listed) only reports them (never changed).
      - The default is the harmless V(listed); applying may restart Tableau Server, so it must be asked for.
    type: str
    choices: [applied, discarded, listed]
    default: listed
  ignore_warnings:
    description: Pass C(--ignore-warnings) to C(tsm pending-changes apply).
    type: bool
    default: false
  expected_pending_keys:
    description:
      - Keys an earlier task of the same run set, or in check mode would have set (the C(keys_set) of
        M(tabops.redshift_oauth.tsm_settings)). They count as pending, so that check mode predicts the apply that a
        real run makes; in a real run they are pending already.
    type: list
    elements: str
    default: []
  request_timeout:
    description:
      - Seconds tsm waits for the apply job (C(--request-timeout)); tsm's own default is 1800. The tsm process is
        given this plus 120 seconds before it is stopped.
    type: int
  wait_for_status:
    description: After a successful apply, wait until C(tsm status -v) reports the server RUNNING and every process healthy.
    type: bool
    default: true
  status_timeout:
    description: Seconds to wait for the server to report RUNNING after the apply before failing.
    type: int
    default: 900
  status_poll_interval:
    description: Seconds between two C(tsm status -v) calls while waiting.
    type: int
    default: 10
  lock_lease:
    description:
      - The RV(tabops.redshift_oauth.tsm_settings#module:lock_lease) of the M(tabops.redshift_oauth.tsm_settings)
        run whose changes this task applies; the lease ends right after the apply (also when it failed).
    type: str
  lock_file:
    description: The lock file of M(tabops.redshift_oauth.tsm_settings) (same default).
    type: path
attributes:
  check_mode:
    description: Can run in check mode and return the changed status prediction without modifying the target.
    support: full
    details: Lists pending changes and reports changed when applying/discarding would happen; runs nothing else.
  diff_mode:
    description: Will return details on what has changed (or would change, in check mode) when run in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: Apply pending tsm changes (restarts Tableau Server when needed) and wait until it runs again
  tabops.redshift_oauth.tsm_pending_changes:
    state: applied
    request_timeout: 3600
    status_timeout: 1200
  run_once: true

- name: Report pending changes for compliance
  tabops.redshift_oauth.tsm_pending_changes:
    state: listed
  register: pending
  run_once: true
"""

RETURN = r"""
pending_keys:
  description: Keys that were pending before this run.
  returned: always
  type: list
  elements: str
  sample: [oauth.config.clients]
restart_needed:
  description: True when C(tsm pending-changes list) says applying the pending changes restarts the server.
  returned: always
  type: bool
restart_requested:
  description:
    - True when this run applied changes that restart Tableau Server (or would, in check mode). C(--ignore-prompt)
      suppresses tsm's confirmation prompt, not the restart.
  returned: always
  type: bool
remaining_keys:
  description: Keys still pending after this run (not in check mode).
  returned: when state is applied or discarded and not in check mode
  type: list
  elements: str
tsm_output:
  description: Output of the apply or discard command, secrets masked.
  returned: when tsm ran apply or discard
  type: str
tsm_path:
  description: The tsm executable used.
  returned: always
  type: str
status:
  description: "The last C(tsm status) seen after the apply (for example C(Status: RUNNING))."
  returned: when the apply ran and O(wait_for_status) is true
  type: str
status_waited:
  description: Seconds spent waiting for the server to report RUNNING.
  returned: when the apply ran and O(wait_for_status) is true
  type: float
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tsm import (
    TsmClient,
    TsmError,
    end_lease,
    find_tsm,
    tsm_location_spec,
    wait_until_running,
)


def argument_spec():
    return {
        "state": {"type": "str", "choices": ["applied", "discarded", "listed"], "default": "listed"},
        **tsm_location_spec(),
        "ignore_warnings": {"type": "bool", "default": False},
        "request_timeout": {"type": "int"},
        "expected_pending_keys": {"type": "list", "elements": "str", "default": [], "no_log": False},
        "wait_for_status": {"type": "bool", "default": True},
        "status_timeout": {"type": "int", "default": 900},
        "status_poll_interval": {"type": "int", "default": 10},
        "lock_lease": {"type": "str", "no_log": False},
        "lock_file": {"type": "path"},
    }


def input_problems(params):
    problems = []
    if params["request_timeout"] is not None and params["request_timeout"] <= 0:
        problems.append("request_timeout: must be a positive number of seconds")
    if params["status_timeout"] < 0:
        problems.append("status_timeout: must be 0 or more seconds")
    if params["status_poll_interval"] <= 0:
        problems.append("status_poll_interval: must be a positive number of seconds")
    return problems


def run_state(module, tsm, result):
    """List, then apply or discard; fails the module with tsm's (masked) message when tsm fails."""
    params = module.params
    pending, restart = tsm.pending()
    expected = [key for key in params["expected_pending_keys"] if key not in pending]
    if expected and module.check_mode:
        # Check mode set nothing: what the real run would have pending, and a set needs a restart here.
        pending, restart = sorted(pending + expected), True
    result["pending_keys"] = pending
    result["restart_needed"] = restart
    state = params["state"]
    if state == "listed" or not pending:
        return False
    result["changed"] = True
    result["restart_requested"] = state == "applied" and restart
    if module.check_mode:
        return False
    if state == "applied":
        result["tsm_output"] = tsm.apply(params["ignore_warnings"], params["request_timeout"])
    else:
        result["tsm_output"] = tsm.discard()
    result["remaining_keys"] = tsm.pending_keys()
    return state == "applied"


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    result = {"changed": False, "pending_keys": [], "restart_needed": False, "restart_requested": False}
    problems = input_problems(params)
    if problems:
        module.fail_json(msg="; ".join(problems), **result)
    failure = None
    applied = False
    try:
        tsm_path = find_tsm(params["tsm_path"], params["tsm_packages_dir"])
        result["tsm_path"] = tsm_path
        tsm = TsmClient(tsm_path)
        applied = run_state(module, tsm, result)
    except TsmError as exc:
        failure = str(exc)
        if result.get("changed") and params["state"] == "applied":
            failure += (
                " - the changes stay pending; the next run applies them (tsm_settings reports apply_needed), "
                "or run 'tsm pending-changes apply' on the initial node"
            )
    finally:
        if params["lock_lease"] and not module.check_mode:
            try:
                end_lease(params["lock_lease"], params["lock_file"])
            except TsmError as exc:
                module.warn("could not end the tsm lock lease: %s" % exc)
    if failure:
        module.fail_json(msg=failure, **result)
    if result.get("remaining_keys"):
        module.fail_json(
            msg="tsm pending-changes %s finished but keys are still pending: %s"
            % ("apply" if params["state"] == "applied" else "discard", ", ".join(result["remaining_keys"])),
            **result,
        )
    if applied and params["wait_for_status"]:
        running, last, waited, checks = wait_until_running(
            tsm, params["status_timeout"], params["status_poll_interval"]
        )
        result["status"] = last
        result["status_waited"] = round(waited, 1)
        if not running:
            module.fail_json(
                msg="Tableau Server is not running after tsm pending-changes apply: last status seen '%s' "
                "after waiting %d s (%d checks, status_timeout %d s). The settings are applied; check the server "
                "with 'tsm status -v' on the initial node before the next rollout"
                % (last, round(waited), checks, params["status_timeout"]),
                **result,
            )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
