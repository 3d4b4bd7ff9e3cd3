#!/usr/bin/python
# Copyright: tabops maintainers
# MIT License (see galaxy.yml)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tsm_settings
short_description: Merge the ODBC extras allowlist and server-level OAuth clients into Tableau Server settings
version_added: "0.1.0"
description:
  - Runs once per cluster, on the Tableau Server initial node (tsm changes the whole cluster).
  - Reads the current values with C(tsm configuration get -k), merges the desired entries into them and sets only
    the keys whose value differs with C(tsm configuration set -k KEY -v VALUE). Changes stay pending until
    M(tabops.redshift_oauth.tsm_pending_changes) applies them.
  - The ODBC extras allowlist keeps every existing entry in place and appends missing ones (entries compare
    case-insensitively, like ODBC keys). Its tsm key name was not found in any public source (FACTS.md section 5);
    it is O(allowlist_key), probed with C(tsm configuration get); an unknown key fails unless O(allow_force_keys).
  - C(oauth.config.clients) is ONE JSON list for all clients; setting it replaces every entry. The module merges by
    C(oauth.config.id) - other entries stay untouched and in place, an entry with the same id is updated when a field
    differs, new ones are appended. It is set with C(--force-keys), as Tableau documents.
  - Also reports the keys already pending before this run (RV(pending_keys)) so a compliance run can say
    "changes pending but not applied".
  - Client secrets are no_log, masked in results, diffs and errors. tsm itself receives the value on its command
    line (tsm has no option to read it from stdin or a file).
author:
  - tabops maintainers (@tabops)
options:
  tsm_path:
    description: Path of the tsm executable. Default - the newest C(customer-bin.<build>/tsm) under O(tsm_packages_dir).
    type: path
  tsm_packages_dir:
    description: Tableau Server packages folder searched when O(tsm_path) is not given.
    type: path
    default: /opt/tableau/tableau_server/packages
  allowlist_key:
    description: tsm key of the ODBC extras allowlist (unverified name; override when your version differs).
    type: str
    default: native_api.odbc_extras_allowlist
  allowlist_separator:
    description: Separator between allowlist entries.
    type: str
    default: ","
  allowlist_entries:
    description: Entries that must be in the allowlist (for example V(group_federation)). Empty - allowlist not managed.
    type: list
    elements: str
    default: []
  allow_force_keys:
    description:
      - When tsm does not know O(allowlist_key), set it anyway with C(--force-keys). Off by default, because a wrong
        key name would be created silently.
    type: bool
    default: false
  oauth_clients_key:
    description: tsm key holding the server-level OAuth clients.
    type: str
    default: oauth.config.clients
  oauth_clients:
    description: Server-level OAuth clients to merge into O(oauth_clients_key). Empty - not managed.
    type: list
    elements: dict
    default: []
    suboptions:
      id:
        description: C(oauth.config.id), C(<dbclass>:<oauthConfigId>), for example V(redshift:custom_redshift_okta).
        type: str
        required: true
      client_id:
        description: C(oauth.config.client_id). Not compared when omitted.
        type: str
      client_secret:
        description: C(oauth.config.client_secret). Not compared when omitted.
        type: str
      redirect_uri:
        description: C(oauth.config.redirect_uri), for example C(https://tableau.example.com/auth/add_oauth_token).
        type: str
  oauth_clients_state:
    description: Only V(present) (merge) is supported; removing clients is a manual decision.
    type: str
    choices: [present]
    default: present
  command_timeout:
    description: Seconds each tsm call may take.
    type: int
    default: 600
attributes:
  check_mode:
    description: Can run in check mode and return the changed status prediction without modifying the target.
    support: full
    details: Reads with tsm, never sets anything.
  diff_mode:
    description: Will return details on what has changed (or would change, in check mode) when run in diff mode.
    support: full
    details: Client secrets are shown as C([redacted]).
notes:
  - Run it with C(run_once) or on the initial node only.
"""

EXAMPLES = r"""
- name: Allow group federation and register the server-level OAuth client
  tabops.redshift_oauth.tsm_settings:
    allowlist_entries: [group_federation]
    oauth_clients:
      - id: redshift:custom_redshift_okta
        client_id: "{{ okta_server_client_id }}"
        client_secret: "{{ okta_server_client_secret }}"
        redirect_uri: "https://{{ tableau_public_host }}/auth/add_oauth_token"
  register: tsm_result
  run_once: true

- name: Apply when something changed
  tabops.redshift_oauth.tsm_pending_changes:
    state: applied
  when: tsm_result.changed
  run_once: true
"""

RETURN = r"""
allowlist:
  description: The allowlist key and its values before and after the merge (after = before in check mode plus additions).
  returned: when allowlist_entries is not empty
  type: dict
  contains:
    key:
      description: tsm key.
      type: str
    before:
      description: Value before (empty string when tsm did not know the key).
      type: str
    after:
      description: Value after the merge.
      type: str
    added:
      description: Entries added.
      type: list
      elements: str
    known_key:
      description: False when tsm did not know the key before this run.
      type: bool
oauth_clients:
  description: One entry per desired client.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: C(oauth.config.id).
      type: str
    status:
      description: compliant, missing or drift.
      type: str
    differences:
      description: C({path, expected, actual}) per differing field, secrets as C([redacted]).
      type: list
      elements: dict
keys_set:
  description: Names of the keys set by this run (or that would be set, in check mode).
  returned: always
  type: list
  elements: str
pending_keys:
  description: Keys pending in tsm before this run set anything.
  returned: always
  type: list
  elements: str
tsm_path:
  description: The tsm executable used.
  returned: always
  type: str
diff:
  description: Before/after of the managed keys, client secrets masked.
  returned: when diff mode is on
  type: dict
"""

import json

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tsm import (
    TsmClient,
    TsmError,
    TsmUnknownKeyError,
    client_secrets,
    find_tsm,
    mask_clients,
    merge_allowlist,
    merge_oauth_clients,
    normalize_desired_clients,
    parse_clients,
    render_clients,
)


def argument_spec():
    return {
        "tsm_path": {"type": "path"},
        "tsm_packages_dir": {"type": "path", "default": "/opt/tableau/tableau_server/packages"},
        "allowlist_key": {"type": "str", "default": "native_api.odbc_extras_allowlist", "no_log": False},
        "allowlist_separator": {"type": "str", "default": ","},
        "allowlist_entries": {"type": "list", "elements": "str", "default": []},
        "allow_force_keys": {"type": "bool", "default": False, "no_log": False},
        "oauth_clients_key": {"type": "str", "default": "oauth.config.clients", "no_log": False},
        "oauth_clients": {
            "type": "list",
            "elements": "dict",
            "default": [],
            "options": {
                "id": {"type": "str", "required": True},
                "client_id": {"type": "str"},
                "client_secret": {"type": "str", "no_log": True},
                "redirect_uri": {"type": "str"},
            },
        },
        "oauth_clients_state": {"type": "str", "choices": ["present"], "default": "present"},
        "command_timeout": {"type": "int", "default": 600},
    }


def _diff_text(key, value):
    return "%s = %s\n" % (key, value)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    result = {"changed": False, "oauth_clients": [], "keys_set": [], "pending_keys": []}
    try:
        desired_clients = normalize_desired_clients(params["oauth_clients"])
    except ValueError as exc:
        module.fail_json(msg=str(exc), **result)
    secrets = client_secrets(desired_clients)
    try:
        tsm_path = find_tsm(params["tsm_path"], params["tsm_packages_dir"])
    except TsmError as exc:
        module.fail_json(msg=str(exc), **result)
    result["tsm_path"] = tsm_path
    tsm = TsmClient(tsm_path, timeout=params["command_timeout"], secrets=secrets)
    to_set = []  # (key, value, force_keys)
    before_diff, after_diff = [], []

    try:
        result["pending_keys"] = tsm.pending_keys()

        if params["allowlist_entries"]:
            key = params["allowlist_key"]
            known = True
            try:
                before = tsm.get(key)
            except TsmUnknownKeyError:
                known = False
                before = ""
                if not params["allow_force_keys"]:
                    module.fail_json(
                        msg=(
                            "tsm does not know the allowlist key %s (the key name is unverified, FACTS.md section 5). "
                            "Set the right name in tabops_odbc_extras_allowlist_key (module option allowlist_key), "
                            "or set tabops_tsm_allow_force_keys: true (module option allow_force_keys) to create it "
                            "with --force-keys." % key
                        ),
                        **result,
                    )
            try:
                after, added = merge_allowlist(before, params["allowlist_entries"], params["allowlist_separator"])
            except ValueError as exc:
                module.fail_json(msg=str(exc), **result)
            result["allowlist"] = {"key": key, "before": before, "after": after, "added": added, "known_key": known}
            if added:
                to_set.append((key, after, not known))
                before_diff.append(_diff_text(key, before))
                after_diff.append(_diff_text(key, after))

        if desired_clients:
            key = params["oauth_clients_key"]
            try:
                current_text = tsm.get(key)
            except TsmUnknownKeyError:
                current_text = ""
            current = parse_clients(current_text, key)
            # Secrets of clients this module does not manage must not leak either.
            tsm.secrets |= client_secrets(current)
            for secret in tsm.secrets:
                module.no_log_values.add(secret)
            merged, reports = merge_oauth_clients(current, desired_clients)
            result["oauth_clients"] = reports
            if merged != current:
                # The documented way to set this key uses --force-keys (it does not exist until first set).
                to_set.append((key, render_clients(merged), True))
                before_diff.append(_diff_text(key, json.dumps(mask_clients(current), indent=2, sort_keys=True)))
                after_diff.append(_diff_text(key, json.dumps(mask_clients(merged), indent=2, sort_keys=True)))

        result["keys_set"] = [key for key, _value, _force in to_set]
        result["changed"] = bool(to_set)
        if module._diff:
            result["diff"] = {"before": "".join(before_diff), "after": "".join(after_diff)}
        if module.check_mode:
            module.exit_json(**result)
        for key, value, force_keys in to_set:
            try:
                tsm.set(key, value, force_keys=force_keys)
            except TsmUnknownKeyError:
                module.fail_json(
                    msg="tsm refused the unknown key %s; set allow_force_keys: true to create it" % key, **result
                )
    except TsmError as exc:
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
