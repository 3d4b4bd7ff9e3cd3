#!/usr/bin/python
# Copyright: tabops maintainers
# MIT License (see galaxy.yml)

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
author:
  - tabops maintainers (@tabops)
options:
  state:
    description:
      - V(applied) applies pending changes, V(discarded) discards them, V(listed) only reports them (never changed).
      - The default is the harmless V(listed); applying may restart Tableau Server, so it must be asked for.
    type: str
    choices: [applied, discarded, listed]
    default: listed
  tsm_path:
    description: Path of the tsm executable. Default - the newest C(customer-bin.<build>/tsm) under O(tsm_packages_dir).
    type: path
  tsm_packages_dir:
    description: Tableau Server packages folder searched when O(tsm_path) is not given.
    type: path
    default: /opt/tableau/tableau_server/packages
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
- name: Apply pending tsm changes (restarts Tableau Server when needed)
  tabops.redshift_oauth.tsm_pending_changes:
    state: applied
    request_timeout: 3600
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
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tsm import TsmClient, TsmError, find_tsm


def argument_spec():
    return {
        "state": {"type": "str", "choices": ["applied", "discarded", "listed"], "default": "listed"},
        "tsm_path": {"type": "path"},
        "tsm_packages_dir": {"type": "path", "default": "/opt/tableau/tableau_server/packages"},
        "ignore_warnings": {"type": "bool", "default": False},
        "request_timeout": {"type": "int"},
        "expected_pending_keys": {"type": "list", "elements": "str", "default": [], "no_log": False},
    }


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    result = {"changed": False, "pending_keys": [], "restart_needed": False, "restart_requested": False}
    if params["request_timeout"] is not None and params["request_timeout"] <= 0:
        module.fail_json(msg="request_timeout: must be a positive number of seconds", **result)
    try:
        tsm_path = find_tsm(params["tsm_path"], params["tsm_packages_dir"])
        result["tsm_path"] = tsm_path
        tsm = TsmClient(tsm_path)
        pending, restart = tsm.pending()
        expected = [key for key in params["expected_pending_keys"] if key not in pending]
        if expected and module.check_mode:
            # Check mode set nothing: what the real run would have pending, and a set needs a restart here.
            pending, restart = sorted(pending + expected), True
        result["pending_keys"] = pending
        result["restart_needed"] = restart
        state = params["state"]
        if state == "listed" or not pending:
            module.exit_json(**result)
        result["changed"] = True
        result["restart_requested"] = state == "applied" and restart
        if module.check_mode:
            module.exit_json(**result)
        if state == "applied":
            result["tsm_output"] = tsm.apply(params["ignore_warnings"], params["request_timeout"])
        else:
            result["tsm_output"] = tsm.discard()
        result["remaining_keys"] = tsm.pending_keys()
    except TsmError as exc:
        module.fail_json(msg=str(exc), **result)
    if result.get("remaining_keys"):
        module.fail_json(
            msg="tsm pending-changes %s finished but keys are still pending: %s"
            % ("apply" if params["state"] == "applied" else "discard", ", ".join(result["remaining_keys"])),
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
