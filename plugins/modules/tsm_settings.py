#!/usr/bin/python
# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT

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
    case-insensitively, like ODBC keys). Its tsm key name was not found in any public source (docs/sources.md);
    it is O(allowlist_key), probed with C(tsm configuration get); an unknown key fails unless O(allow_force_keys).
  - C(oauth.config.clients) is ONE JSON list for all clients; setting it replaces every entry. The module merges by
    C(oauth.config.id) - other entries stay untouched (their exact text) and in place, an entry with the same id is
    updated when a field differs, new ones are appended (O(oauth_clients_mode) says what happens to undeclared
    clients and their secrets). It is set with C(--force-keys), as Tableau documents.
  - C(get) answering C(Null) (a key without a value) is read as empty, never as an allowlist entry.
  - Also reports the keys already pending before this run (RV(pending_keys)) so a compliance run can say
    "changes pending but not applied".
  - Whether C(tsm configuration get) shows a value that was set but not applied yet is not documented by Tableau,
    so the module depends on neither behaviour. A managed key that is pending is read from the value
    C(tsm pending-changes list) shows for it when it shows one, else from C(get). RV(apply_needed) is true when this
    run set a key, or when a key this collection manages (O(allowlist_key), O(oauth_clients_key)) is still pending from an earlier run whose apply failed or
    was skipped. M(tabops.redshift_oauth.tsm_pending_changes) then applies it, so every fault converges on the
    next run.
  - Read-merge-set runs under a lock on the initial node (C(flock) on a 0600 file in C(/run/lock) that is opened
    without following links and must be owned by the user running the module). A concurrent run waits up to
    O(lock_timeout) seconds, then fails naming the holder's pid. With O(lease_seconds), a run that set keys
    keeps other runs out until its apply has finished (M(tabops.redshift_oauth.tsm_pending_changes) with
    O(tabops.redshift_oauth.tsm_pending_changes#module:lock_lease) ends the lease), so two concurrent rollouts
    lose no update even when C(get) shows only applied values. Check mode only reads and takes no lock.
  - Allowlist entries and client secrets are checked before any tsm call (C(allowlist_entry_problems),
    C(client_secret_problems) in C(module_utils/_tsm.py), which the controller-side preflight runs too).
  - Client secrets are no_log, masked in results, diffs and errors. tsm itself receives the value on its command
    line (tsm has no option to read it from stdin or a file).
author:
  - tabops maintainers (@tabops)
extends_documentation_fragment:
  - tabops.redshift_oauth.tsm
  - tabops.redshift_oauth.tsm_keys
options:
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
    description: Only V(present) is supported; see O(oauth_clients_mode) for removing undeclared clients.
    type: str
    choices: [present]
    default: present
  oauth_clients_mode:
    description:
      - V(merge) keeps every client O(oauth_clients) does not declare, byte for byte. Their secrets are written
        back as C(tsm configuration get) shows them, so the module first checks that each reads as clear text;
        an C(ENC(...)), masked (C(********)), empty or otherwise unrecognised secret of an undeclared client stops
        the module before it sets anything (also in check mode), naming those clients.
      - V(authoritative) makes O(oauth_clients) the whole list - undeclared clients are removed (reported with
        status C(removed) and shown in the diff, secrets masked).
      - A declared client's current secret that does not read clear cannot be compared; it is not a difference on
        its own (reported in C(unverified)) and is written whenever the list is set.
      - With an empty O(oauth_clients) the key is not managed in either mode.
    type: str
    choices: [merge, authoritative]
    default: merge
  command_timeout:
    description: Seconds each tsm call may take.
    type: int
    default: 600
  lock_file:
    description: The lock file. Default - C(/run/lock/tabops-tsm.lock) (or C(/var/lock/...)).
    type: path
  lock_timeout:
    description: Seconds to wait for a concurrent run's lock (or lease) before failing with its pid.
    type: int
    default: 120
  lease_seconds:
    description:
      - When this run sets keys (or finds managed keys pending), keep other runs from reading and setting the keys
        for up to this many seconds, until M(tabops.redshift_oauth.tsm_pending_changes) ends the lease after its
        apply. V(0) takes no lease (use it when the changes are left pending on purpose).
      - Not used in check mode.
    type: int
    default: 0
  run_id:
    description:
      - The rollout's run id. Before this run sets a key, the journal C(<journal_dir>/tabops-run-<run_id>.json)
        records the key's value before and the value set (0600 in a 0700 folder of the user running the module;
        C(oauth.config.clients) holds client secrets, in clear on this host only). A retry under the same run id
        keeps the values from before its first try.
    type: str
  rollback_run_id:
    description:
      - Instead of merging, set every key run O(rollback_run_id) set back to its value before that run. A key
        already at that value is left; a key changed since the run (neither the run's value nor the value before)
        is kept and reported in RV(rollback) unless O(rollback_force). No journal of that run - nothing to do.
    type: str
  rollback_force:
    description: With O(rollback_run_id), also set back keys changed since the run.
    type: bool
    default: false
  list_runs:
    description: Only list the runs journaled here (RV(runs)); read and set nothing with tsm.
    type: bool
    default: false
  journal_dir:
    description: The folder of the run journals (created 0700 when missing; refused when other users can write it).
    type: path
    default: /var/lib/tabops-redshift-oauth/tsm-runs
  journal_keep:
    description: How many runs' journals to keep (the newest; a run can be rolled back while its journal is kept).
    type: int
    default: 5
attributes:
  check_mode:
    description: Can run in check mode and return the changed status prediction without modifying the target.
    support: full
    details: Reads with tsm, never sets anything, writes no journal.
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

- name: Apply what this run set, or what an earlier run set and did not apply
  tabops.redshift_oauth.tsm_pending_changes:
    state: applied
    expected_pending_keys: "{{ tsm_result.keys_set }}"
    lock_lease: "{{ tsm_result.lock_lease | default(omit) }}"
  when: tsm_result.apply_needed
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
  description: One entry per desired client, and with O(oauth_clients_mode=authoritative) one per removed client.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: C(oauth.config.id).
      type: str
    status:
      description: compliant, missing, drift or removed.
      type: str
    unverified:
      description: Secret fields whose current value tsm does not show in clear (not compared).
      type: list
      elements: str
      returned: when there are such fields
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
apply_needed:
  description:
    - True when this run set a key (in check mode - would set one) or a key this collection manages is still
      pending from an earlier run; M(tabops.redshift_oauth.tsm_pending_changes) should apply.
  returned: always
  type: bool
already_pending:
  description:
    - Keys this run did not set because the value it would set is the one this collection set earlier and is still
      pending (C(get) shows only applied values on a documented server; a digest of each value set is kept beside
      the lock file, never the value).
  returned: always
  type: list
  elements: str
managed_pending_keys:
  description:
    - The keys this collection manages that were pending before this run (an earlier apply failed or was skipped).
    - With O(rollback_run_id), only the pending keys of the run rolled back (other pending keys trigger no apply).
  returned: always
  type: list
  elements: str
lock_lease:
  description: The lease token this run left in the lock file, to pass to M(tabops.redshift_oauth.tsm_pending_changes).
  returned: when O(lease_seconds) is positive, apply_needed is true and not in check mode
  type: str
lock_waited:
  description: Seconds this run waited for another run's lock.
  returned: when the lock was taken (not in check mode)
  type: float
tsm_path:
  description: The tsm executable used.
  returned: always
  type: str
journal:
  description: The run journal this run wrote before it set a key (O(run_id)).
  returned: when O(run_id) is set and this run set a key (not in check mode)
  type: str
runs:
  description: With O(list_runs) or O(rollback_run_id), the runs journaled on this node, newest first (C(run_id), C(stamp) UTC); otherwise empty.
  returned: always
  type: list
  elements: dict
rollback:
  description: With O(rollback_run_id), what the rollback found (in check mode, would set).
  returned: when O(rollback_run_id) is set
  type: dict
  contains:
    run_id:
      description: The run rolled back.
      type: str
    found:
      description: Whether this node has that run's journal.
      type: bool
    restored:
      description: Keys set back to their value before the run.
      type: list
      elements: str
    unchanged:
      description: Keys already at their value before the run.
      type: list
      elements: str
    hand_edited:
      description: Keys changed since the run, kept (not with O(rollback_force)).
      type: list
      elements: str
diff:
  description: Before/after of the managed keys, client secrets masked.
  returned: when diff mode is on
  type: dict
"""

import binascii
import datetime
import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._root_journal import (
    DEFAULT_JOURNAL_DIR,
    DEFAULT_JOURNAL_KEEP,
    RootJournalError,
    TsmJournal,
    check_run_id,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._run_id import utc_stamp
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tsm import (
    OAUTH_CLIENTS_MODES,
    TsmClient,
    TsmError,
    TsmLock,
    TsmUnknownKeyError,
    allowlist_entry_problems,
    client_secrets,
    clients_changed,
    default_lock_path,
    find_tsm,
    mask_clients,
    merge_allowlist,
    merge_oauth_clients,
    normalize_desired_clients,
    open_pending_record,
    parse_clients,
    read_pending_record,
    render_clients,
    split_allowlist,
    tsm_keys_spec,
    tsm_location_spec,
    unreadable_secret_clients,
    unreadable_secrets_message,
    value_digest,
    write_pending_record,
)


def argument_spec():
    return {
        **tsm_location_spec(),
        **tsm_keys_spec(),
        "allowlist_separator": {"type": "str", "default": ","},
        "allowlist_entries": {"type": "list", "elements": "str", "default": []},
        "allow_force_keys": {"type": "bool", "default": False, "no_log": False},
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
        "oauth_clients_mode": {"type": "str", "choices": list(OAUTH_CLIENTS_MODES), "default": "merge"},
        "command_timeout": {"type": "int", "default": 600},
        "lock_file": {"type": "path"},
        "lock_timeout": {"type": "int", "default": 120},
        "lease_seconds": {"type": "int", "default": 0},
        "run_id": {"type": "str"},
        "rollback_run_id": {"type": "str"},
        "rollback_force": {"type": "bool", "default": False},
        "list_runs": {"type": "bool", "default": False},
        "journal_dir": {"type": "path", "default": DEFAULT_JOURNAL_DIR},
        "journal_keep": {"type": "int", "default": DEFAULT_JOURNAL_KEEP},
    }


def _diff_text(key, value):
    return "%s = %s\n" % (key, value)


def input_problems(params):
    """Every problem of the module input, found before tsm is called."""
    problems = []
    if not params["allowlist_separator"]:
        problems.append("allowlist_separator: must not be empty")
    for index, entry in enumerate(params["allowlist_entries"]):
        for problem in allowlist_entry_problems(entry, params["allowlist_separator"] or ","):
            problems.append("allowlist_entries[%d]: %s" % (index, problem))
    for name in ("lock_timeout", "lease_seconds"):
        if params[name] < 0:
            problems.append("%s: must be 0 or more seconds" % name)
    for name in ("run_id", "rollback_run_id"):
        if params[name]:
            try:
                check_run_id(params[name], name)
            except RootJournalError as exc:
                problems.append(str(exc))
    if params["journal_keep"] < 1:
        problems.append("journal_keep: must be 1 or more")
    return problems


CLIENTS_KIND = "oauth_clients"
ALLOWLIST_KIND = "allowlist"


def _clients_or_none(value, key):
    try:
        return parse_clients(value, key)
    except (TsmError, ValueError):
        return None


def _same_value(key, kind, first, second, params):
    """Whether two values of ``key`` mean the same (clients as JSON, the allowlist as its list of entries)."""
    if kind == CLIENTS_KIND:
        parsed = _clients_or_none(first, key), _clients_or_none(second, key)
        return parsed[0] == parsed[1] if None not in parsed else first == second
    return split_allowlist(first, params["allowlist_separator"]) == split_allowlist(
        second, params["allowlist_separator"]
    )


def _shown_value(key, kind, value):
    if kind == CLIENTS_KIND:
        clients = _clients_or_none(value, key)
        return (
            "[not a list of clients]"
            if clients is None
            else json.dumps(mask_clients(clients), indent=2, sort_keys=True)
        )
    return value


def read_restore(module, tsm, journal, result, pending):
    """The keys to set back to their value before run ``rollback_run_id``: [(key, value, force_keys)]."""
    params = module.params
    run_id = params["rollback_run_id"]
    record = journal.read(run_id)
    report = {"run_id": run_id, "found": record is not None, "restored": [], "unchanged": [], "hand_edited": []}
    result["rollback"] = report
    entries = sorted((record or {"entries": {}})["entries"].items())
    # The journal says which values are clients (secrets), whatever the key is called today.
    kinds = {
        key: entry["kind"] or (CLIENTS_KIND if key == params["oauth_clients_key"] else "") for key, entry in entries
    }
    currents = {}
    for key, entry in entries:
        try:
            currents[key] = entry["before"] if pending.is_own(key, entry["before"]) else pending.current(tsm, key)
        except TsmUnknownKeyError:
            currents[key] = ""
        for value in (entry["before"], entry["after"], currents[key]):
            clients = _clients_or_none(value, key)
            if clients:
                tsm.secrets |= client_secrets(clients)
    for secret in tsm.secrets:
        module.no_log_values.add(secret)
    to_set, before_diff, after_diff = [], [], []
    for key, entry in entries:
        current, kind = currents[key], kinds[key]
        if _same_value(key, kind, current, entry["before"], params):
            report["unchanged"].append(key)
            continue
        if not params["rollback_force"] and not _same_value(key, kind, current, entry["after"], params):
            report["hand_edited"].append(key)
            continue
        unreadable = (
            unreadable_secret_clients(_clients_or_none(entry["before"], key) or []) if kind == CLIENTS_KIND else []
        )
        if unreadable:
            # The journal holds what get showed before the run: never write an ENC(...) or masked secret back.
            raise TsmError(
                "rollback of run %s: %s" % (run_id, unreadable_secrets_message(key, unreadable).split("; writing")[0])
                + "; set it back by hand (tsm configuration set)"
            )
        report["restored"].append(key)
        to_set.append((key, entry["before"], entry["force_keys"]))
        before_diff.append(_diff_text(key, _shown_value(key, kind, current)))
        after_diff.append(_diff_text(key, _shown_value(key, kind, entry["before"])))
    if module._diff:
        result["diff"] = {"before": "".join(before_diff), "after": "".join(after_diff)}
    if report["hand_edited"]:
        module.warn(
            "rollback of run %s kept %s: changed since that run (rollback_force sets them back anyway)"
            % (run_id, ", ".join(report["hand_edited"]))
        )
    return to_set


class PendingView:
    """What tsm has pending, for reading a key right whether ``get`` shows pending values or (documented) only
    applied ones: the value ``pending-changes list`` shows, else ``get``; and whether a hidden pending value is the
    one this collection set (its digest, recorded beside the lock file at the set)."""

    def __init__(self, values, lock_file=None):
        self.values = values
        self.hidden = {key for key, value in values.items() if value is None}
        self.recorded = read_pending_record(lock_file or default_lock_path()) if self.hidden else {}

    def current(self, tsm, key):
        listed = self.values.get(key)
        return listed if listed is not None else tsm.get(key)

    def is_own(self, key, value):
        """Whether ``value`` is already pending for ``key`` (set by this collection; the listing hides it)."""
        return key in self.hidden and self.recorded.get(key) == value_digest(key, value)

    def refuse_to_replace(self, key):
        """A change of ``key`` would replace a pending value nobody can read here (not this collection's)."""
        if key in self.hidden:
            raise TsmError(
                "%s has a pending change whose value tsm does not show (pending-changes list hides it, and get may "
                "show only the applied value): setting it would replace that change. Nothing was changed. Apply it "
                "(tsm pending-changes apply) or discard it (tsm pending-changes discard) on the initial node, then "
                "run again" % key
            )


def read_merge(module, tsm, desired_clients, result, pending):
    """Read the managed keys and merge the declared state; returns [(key, value, force_keys)] to set."""
    params = module.params
    to_set = []
    before_diff, after_diff = [], []
    if params["allowlist_entries"]:
        key = params["allowlist_key"]
        known = True
        try:
            before = pending.current(tsm, key)
        except TsmUnknownKeyError:
            known = False
            before = ""
            if not params["allow_force_keys"] and key not in result["pending_keys"]:
                raise TsmError(
                    "tsm does not know the allowlist key %s (the key name is unverified, see docs/sources.md). "
                    "Set the right name in tabops_odbc_extras_allowlist_key (module option allowlist_key), "
                    "or set tabops_tsm_allow_force_keys: true (module option allow_force_keys) to create it "
                    "with --force-keys." % key
                ) from None
        after, added = merge_allowlist(before, params["allowlist_entries"], params["allowlist_separator"])
        if added and pending.is_own(key, after):
            result["already_pending"].append(key)
            before, added = after, []
        elif added:
            pending.refuse_to_replace(key)
        result["allowlist"] = {"key": key, "before": before, "after": after, "added": added, "known_key": known}
        if added:
            to_set.append((key, after, not known))
            before_diff.append(_diff_text(key, before))
            after_diff.append(_diff_text(key, after))

    if desired_clients:
        key = params["oauth_clients_key"]
        try:
            current_text = pending.current(tsm, key)
        except TsmUnknownKeyError:
            current_text = ""
        result["_clients_before"] = current_text
        current = parse_clients(current_text, key)
        # Secrets of clients this module does not manage must not leak either.
        tsm.secrets |= client_secrets(current)
        for secret in tsm.secrets:
            module.no_log_values.add(secret)
        mode = params["oauth_clients_mode"]
        unreadable = unreadable_secret_clients(
            current,
            [client["oauth.config.id"] for client in desired_clients],
            # A declared client's secret this run does not set is written back as tsm shows it: it must read clear.
            {
                client["oauth.config.id"]: {field for field, value in client.items() if value is not None}
                for client in desired_clients
            },
        )
        if mode == "authoritative":
            # Undeclared clients are removed, never written back; a declared one still keeps what this run does not set.
            declared = {client["oauth.config.id"] for client in desired_clients}
            unreadable = [(client_id, forms) for client_id, forms in unreadable if client_id in declared]
        if unreadable:
            raise TsmError(unreadable_secrets_message(key, unreadable))
        merged, reports = merge_oauth_clients(current, desired_clients, mode)
        if clients_changed(reports) and pending.is_own(key, render_clients(merged, current_text)):
            # Reported against the pending value (what the apply makes current), not against get's applied one.
            result["already_pending"].append(key)
            current_text = render_clients(merged, current_text)
            current = parse_clients(current_text, key)
            merged, reports = merge_oauth_clients(current, desired_clients, mode)
        result["oauth_clients"] = reports
        if clients_changed(reports):
            pending.refuse_to_replace(key)
            # The documented way to set this key uses --force-keys (it does not exist until first set).
            to_set.append((key, render_clients(merged, current_text), True))
            before_diff.append(_diff_text(key, json.dumps(mask_clients(current), indent=2, sort_keys=True)))
            after_diff.append(_diff_text(key, json.dumps(mask_clients(merged), indent=2, sort_keys=True)))
    if module._diff:
        result["diff"] = {"before": "".join(before_diff), "after": "".join(after_diff)}
    return to_set


def converge(module, tsm, desired_clients, result, journal, lock=None):
    params = module.params
    pending_values, _restart = tsm.pending_changes()
    result["pending_keys"] = sorted(pending_values)
    pending = PendingView(pending_values, params["lock_file"])
    managed = {params["allowlist_key"], params["oauth_clients_key"]}
    result["managed_pending_keys"] = [key for key in result["pending_keys"] if key in managed]
    befores = {}
    if params["rollback_run_id"]:
        to_set = read_restore(module, tsm, journal, result, pending)
        # Only this run's keys: a rollback must not apply (and restart for) what someone else left pending.
        rolled_back = set(result["rollback"]["restored"] + result["rollback"]["unchanged"])
        result["managed_pending_keys"] = [key for key in result["pending_keys"] if key in rolled_back]
    else:
        to_set = read_merge(module, tsm, desired_clients, result, pending)
        befores = {
            params["allowlist_key"]: ((result.get("allowlist") or {}).get("before", ""), ALLOWLIST_KIND),
            params["oauth_clients_key"]: (result.get("_clients_before", ""), CLIENTS_KIND),
        }
    result.pop("_clients_before", None)
    result["keys_set"] = [key for key, _value, _force in to_set]
    result["changed"] = bool(to_set)
    result["apply_needed"] = bool(to_set or result["managed_pending_keys"])
    if module.check_mode:
        return
    if params["run_id"] and to_set and not params["rollback_run_id"]:
        # Before the first set: a run that changed Tableau Server can always be rolled back.
        stamp = utc_stamp(datetime.datetime.now(datetime.timezone.utc))
        entries = {
            key: {"before": befores[key][0], "after": value, "force_keys": force, "kind": befores[key][1]}
            for key, value, force in to_set
        }
        result["journal"] = journal.write(params["run_id"], stamp, entries)
    # Opened before the first set: a record another user planted stops the run while nothing changed.
    record = open_pending_record(lock.path) if lock is not None and to_set else None
    try:
        for key, value, force_keys in to_set:
            try:
                tsm.set(key, value, force_keys=force_keys)
            except TsmUnknownKeyError:
                raise TsmError(
                    "tsm refused the unknown key %s; set allow_force_keys: true to create it" % key
                ) from None
        if record is not None:
            write_pending_record(record, {key: value for key, value, _force in to_set})
    finally:
        if record is not None:
            os.close(record)
    if lock is not None and result["apply_needed"] and params["lease_seconds"] > 0:
        # Still under the flock: no other run reads between the set and the lease. A failed set leaves no lease.
        token = binascii.hexlify(os.urandom(16)).decode("ascii")
        lock.grant_lease(token, params["lease_seconds"], set(result["keys_set"] + result["managed_pending_keys"]))
        result["lock_lease"] = token


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    result = {
        "changed": False,
        "oauth_clients": [],
        "keys_set": [],
        "pending_keys": [],
        "managed_pending_keys": [],
        "apply_needed": False,
        "already_pending": [],
        "runs": [],
    }
    problems = input_problems(params)
    if problems:
        module.fail_json(msg="; ".join(problems), **result)
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
    try:
        journal = TsmJournal(params["journal_dir"], params["journal_keep"])
        if params["list_runs"] or params["rollback_run_id"]:
            # Only then: a rollout without a run id must not depend on the journal folder.
            result["runs"] = journal.runs()
        if params["list_runs"]:
            module.exit_json(**result)
        if module.check_mode:
            # Reads only: no lock, so that a compliance run never waits behind a rollout.
            converge(module, tsm, desired_clients, result, journal)
        else:
            with TsmLock(params["lock_file"], timeout=params["lock_timeout"]) as lock:
                result["lock_waited"] = round(lock.waited, 1)
                converge(module, tsm, desired_clients, result, journal, lock)
    except (TsmError, RootJournalError, ValueError) as exc:
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
