#!/usr/bin/python
# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tsm_probe
short_description: Read-only check of what Tableau Server's tsm shows, against the collection's assumptions
version_added: "0.1.0"
description:
  - Runs only read commands of tsm (C(configuration get), C(pending-changes list), C(status -v), C(version)) on the
    initial node; sets, applies and discards nothing, and writes nothing on the host.
  - O(scope=runtime) (used by C(playbooks/site.yml) before any host is changed, one C(configuration get)) reads
    O(oauth_clients_key) and, with O(oauth_clients_mode=merge), fails naming every client the inventory does not
    declare whose C(client_secret) tsm does not show in clear (C(ENC(...)), masked, empty or unrecognised), because
    writing the list back would replace those secrets.
  - O(scope=full) (used by C(playbooks/probe_tsm.yml)) records the shapes the collection relies on in RV(probe) -
    the form of every client secret (never its value), the allowlist key's value, the layouts of
    C(pending-changes list), C(status -v) and C(version) (pending values replaced by C(<value>)), the
    C(customer-bin) folder - and says in RV(assumptions) which of them hold on this server. It never fails on what
    it finds.
  - Whether C(get) shows pending values is inferred without writing, from keys already pending whose value
    C(pending-changes list) shows; with none it is C(unknown) (the collection reads the listing and a digest record
    and is correct either way, docs/sources.md).
author:
  - tabops maintainers (@tabops)
extends_documentation_fragment:
  - tabops.redshift_oauth.tsm
  - tabops.redshift_oauth.tsm_keys
options:
  declared_client_ids:
    description: The C(oauth.config.id) of every client the inventory declares (their secrets are written from it).
    type: list
    elements: str
    default: []
  oauth_clients_mode:
    description: As M(tabops.redshift_oauth.tsm_settings) O(tabops.redshift_oauth.tsm_settings#module:oauth_clients_mode).
    type: str
    choices: [merge, authoritative]
    default: merge
  scope:
    description: V(runtime) - the clients check only; V(full) - every probe, no failure on findings.
    type: str
    choices: [runtime, full]
    default: full
  command_timeout:
    description: Seconds each tsm call may take.
    type: int
    default: 120
attributes:
  check_mode:
    description: Can run in check mode and return the changed status prediction without modifying the target.
    support: full
    details: Reads only, in both modes; never changed.
  diff_mode:
    description: Will return details on what has changed (or would change, in check mode) when run in diff mode.
    support: none
notes:
  - Run it with C(run_once) on the initial node.
"""

EXAMPLES = r"""
- name: Probe tsm before the first rollout
  tabops.redshift_oauth.tsm_probe:
    declared_client_ids: [redshift:custom_redshift_okta]
  register: tsm_probe
  run_once: true
"""

RETURN = r"""
refused_clients:
  description: Undeclared clients whose secrets tsm does not show in clear, with the forms seen.
  returned: always
  type: list
  elements: dict
merge_possible:
  description: False when O(oauth_clients_mode=merge) would refuse to set O(oauth_clients_key).
  returned: always
  type: bool
probe:
  description: The redacted shapes (O(scope=full)); secrets reduced to their form, pending values to C(<value>).
  returned: always
  type: dict
assumptions:
  description: One C({name, holds, detail}) per assumption; holds is C(yes), C(no) or C(unknown) (O(scope=full)).
  returned: always
  type: list
  elements: dict
tsm_path:
  description: The tsm executable used.
  returned: when found
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._odbc import tableau_version_and_build
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tsm import (
    NULL_VALUE,
    OAUTH_CLIENTS_MODES,
    TsmClient,
    TsmError,
    TsmUnknownKeyError,
    client_secret_forms,
    client_secrets,
    find_tsm,
    parse_clients,
    parse_pending_changes,
    parse_processes,
    parse_status,
    restart_announced,
    secret_form,
    split_allowlist,
    tsm_keys_spec,
    tsm_location_spec,
    unhealthy_processes,
    unreadable_secret_clients,
    unreadable_secrets_message,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tsm_probe import (
    assumptions,
    redact_clients,
    redact_pending_listing,
)


def argument_spec():
    return {
        **tsm_location_spec(),
        **tsm_keys_spec(),
        "declared_client_ids": {"type": "list", "elements": "str", "default": []},
        "oauth_clients_mode": {"type": "str", "choices": list(OAUTH_CLIENTS_MODES), "default": "merge"},
        "scope": {"type": "str", "choices": ["runtime", "full"], "default": "full"},
        "command_timeout": {"type": "int", "default": 120},
    }


def read_text(tsm, args):
    """(stdout, error text or None) of a read command; a failure is a finding, not an exception."""
    try:
        rc, out, err = tsm.run(args)
    except TsmError as exc:
        return "", str(exc)
    return (out, None) if rc == 0 else (out, tsm.failure_text(args, rc, out, err))


def read_key(tsm, key):
    """(value or None, state): state is value, null, unknown_key or the error text."""
    try:
        shown = tsm.get_shown(key)
    except TsmUnknownKeyError:
        return None, "unknown_key"
    except TsmError as exc:
        return None, str(exc)
    if shown.strip() == NULL_VALUE:
        return "", "null"
    return shown, "value"


def probe_clients(module, tsm, params, result):
    key = params["oauth_clients_key"]
    value, state = read_key(tsm, key)
    clients = []
    if value:
        clients = parse_clients(value, key)
        for secret in client_secrets(clients):
            if secret_form(secret) == "clear" and len(secret) >= 4:
                module.no_log_values.add(secret)
    refused = unreadable_secret_clients(clients, params["declared_client_ids"])
    result["refused_clients"] = [{"id": client_id, "forms": forms} for client_id, forms in refused]
    result["merge_possible"] = not refused
    result["probe"]["oauth_clients"] = {
        "key": key,
        "state": state,
        "clients": [
            {"id": str(client.get("oauth.config.id")), "secret_forms": client_secret_forms(client)}
            for client in clients
        ],
        "redacted_value": redact_clients(clients),
        "declared_ids": sorted(params["declared_client_ids"]),
    }
    return refused


def probe_full(module, tsm, params, result):
    probe = result["probe"]
    allowlist, state = read_key(tsm, params["allowlist_key"])
    probe["allowlist"] = {
        "key": params["allowlist_key"],
        "state": state,
        "value": allowlist if state == "value" else None,
        "entries": split_allowlist(allowlist or ""),
    }
    listing, error = read_text(tsm, ["pending-changes", "list"])
    changes = parse_pending_changes(listing)
    probe["pending_changes"] = {
        "error": error,
        "layout": redact_pending_listing(listing, changes),
        "keys": sorted(changes),
        "values_shown": sorted(key for key, value in changes.items() if value is not None),
        "restart_announced": restart_announced(listing),
    }
    compared = {}
    for key, value in sorted(changes.items()):
        if value is not None and key != params["oauth_clients_key"]:
            shown, _state = read_key(tsm, key)
            compared[key] = "pending" if shown == value else "applied"
    probe["get_compared"] = compared
    status, error = read_text(tsm, ["status", "-v"])
    probe["status_v"] = {
        "error": error,
        "layout": status.splitlines()[:200],
        "overall": parse_status(status),
        "processes": [{"name": name, "state": state} for name, state, _line in parse_processes(status)],
        "unhealthy": unhealthy_processes(status),
    }
    version, error = read_text(tsm, ["version"])
    probe["version"] = {
        "error": error,
        "layout": version.splitlines()[:20],
        "parsed": list(tableau_version_and_build(version)),
    }


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    result = {"changed": False, "refused_clients": [], "merge_possible": True, "probe": {}, "assumptions": []}
    try:
        tsm_path = find_tsm(params["tsm_path"], params["tsm_packages_dir"])
    except TsmError as exc:
        module.fail_json(msg=str(exc), **result)
    result["tsm_path"] = tsm_path
    result["probe"]["tsm"] = {
        "path": tsm_path,
        "customer_bin": os.path.dirname(tsm_path),
        "found_by": "tsm_path" if params["tsm_path"] else "newest customer-bin.<build> under tsm_packages_dir",
    }
    tsm = TsmClient(tsm_path, timeout=params["command_timeout"], quote_output=False)
    try:
        refused = probe_clients(module, tsm, params, result)
        if params["scope"] == "full":
            probe_full(module, tsm, params, result)
            result["assumptions"] = assumptions(result["probe"], params["oauth_clients_mode"])
    except (TsmError, ValueError) as exc:
        module.fail_json(msg=str(exc), **result)
    if params["scope"] == "runtime" and refused and params["oauth_clients_mode"] == "merge":
        module.fail_json(msg=unreadable_secrets_message(params["oauth_clients_key"], refused), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
