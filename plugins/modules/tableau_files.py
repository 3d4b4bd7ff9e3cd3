#!/usr/bin/python
# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tableau_files
short_description: Sync all Tableau OAuth config and TDC files of one host in one call
version_added: "0.1.0"
description:
  - Compares every desired Tableau file (custom OAuth config C(.xml), TDC C(.tdc)) with the file on the host
    B(by meaning) (whitespace, comments, XML declaration, attribute order do not count), and also compares owner,
    group and mode.
  - Writes only what differs, atomically (temporary file in the same folder, owner and mode set and data flushed
    before the rename).
  - Keeps a backup of every file it replaces or removes in C(<managed folder>/.tabops-backups/<name>.<UTC timestamp>);
    never beside the file, because Tableau loads every C(*.xml) / C(*.tdc) it finds in the folder.
  - Records the files it owns in C(<managed folder>/.tabops-managed.json). Files that are not in that manifest are
    never changed or removed, except a file at a desired path (the declared state), which is adopted when it already
    matches and otherwise replaced (with a backup). Owned files that are no longer desired are removed (with backup).
  - Scans every managed folder for unmanaged files. An unmanaged TDC whose connector class equals the class of a
    desired TDC in that folder is a conflict (Tableau applies only one TDC per class); an unmanaged custom OAuth
    config (C(oauthConfigId) starting with C(custom_)) is reported as stray; unparseable or hostile files (DTD,
    entity expansion, external entities, over 256 KiB, symbolic links) are reported and never followed or changed.
  - Client secrets (C(clientSecretDesktop)) never appear in results, differences, diffs or error messages. Secrets
    found in O(files[].content) are also added to Ansible's no_log values, so the echoed module arguments are masked.
  - Runs as root but never works in a user's tree as root. Folders inside a tree owned by a desktop user (the first
    existing path component not owned by root, for example C(/home/alice)) are read and written by a child process
    that has dropped to that user; a declared owner that differs from that user is refused. Root keeps Tableau
    Server folders and root-owned trees. Every path is opened component by component without following symbolic
    links, files with more than one hard link are refused, and each entry is re-checked (same inode, same state)
    just before it is changed. See docs/security.md.
  - One folder's failure (a symbolic link in its path, a corrupt manifest, a full disk) fails that folder only; the
    other folders are still synced and RV(folders) says what was written where. The task fails after all folders
    were processed.
  - Root parses nothing a user wrote. Manifest, run journals and documents of a user's folder are parsed, compared
    and masked by that user's worker, under its deadline; root takes back only typed, bounded facts that pass a
    strict schema check (anything else fails that folder, naming the field). File names that are not valid UTF-8
    or hold control characters are never managed; they show escaped (C(\xNN)) where they are reported.
  - A desktop user that does not exist on the host fails only the folders declared for that user. Desktop and Prep
    folders are refused for C(root) and system accounts (uid below C(UID_MIN) of C(/etc/login.defs), 1000 where it
    says nothing, 501 on macOS) unless O(allow_system_users).
  - Temporary files left by an interrupted run are removed (RV(removed_temp_files)); backups are kept per file up to
    O(backup_keep). A per-host lock serializes concurrent runs.
  - Can return the host facts of M(tabops.redshift_oauth.redshift_odbc_facts) in the same call (O(host_facts)).
  - Runs on the host's system Python with the standard library only (Python 3.9 or later); POSIX hosts.
  - A task that calls C(tabops.redshift_oauth.tableau_files) runs the action plugin of the same name first.
    Without O(files) and O(folders), the action plans the host's files from the declared data (the host's
    C(tabops_*) variables, or the fleet plan the preflight published) and also takes the arguments C(kinds) (the
    kinds of files to manage, default both), C(plan_only) (render and lay out only, contact no host) and
    C(host_checks) (read the host facts and add this host's preflight findings; default
    C(tabops_preflight_host_checks)). On Windows hosts the action does the same through C(ansible.windows) modules
    (docs/modules.md).
author:
  - tabops maintainers (@tabops)
options:
  files:
    description:
      - Every Tableau file this host should have. One invocation per host covers all of them.
      - An empty list removes every file the collection owns in the managed folders.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path of the file. Its folder must be one of O(folders).
        type: path
        required: true
      content:
        description:
          - Rendered document text (for example from the C(oauth_config_xml) or C(tdc_xml) filters).
          - Not marked no_log so that diffs stay useful; secrets inside it are masked in every output.
        type: str
        required: true
      kind:
        description: Document kind; must match the root element of O(files[].content) and the folder's kind.
        type: str
        required: true
        choices: [oauth_config, tdc]
      owner:
        description: User name or uid that must own the file. Not enforced when omitted.
        type: str
      group:
        description: Group name or gid of the file. Not enforced when omitted.
        type: str
      mode:
        description: Octal mode string such as C('0640').
        type: str
        default: "0644"
      application:
        description: Tableau application reading the file; defaults to the folder's application.
        type: str
        choices: [desktop, prep, bridge, server]
      artifact:
        description: Config id or TDC name used in reports; defaults to the file name.
        type: str
  folders:
    aliases: [managed_dirs]
    description:
      - Folders this module manages (for example C(.../My Tableau Repository/OAuthConfigs) or a Tableau Server
        service's C(Datasources) folder). Created when missing, with missing parents (see RV(created_dirs)).
      - The old name C(managed_dirs) is a deprecated alias, removed in release 2.0.0.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute folder path.
        type: path
        required: true
      kind:
        description: Kind of the files in this folder.
        type: str
        required: true
        choices: [oauth_config, tdc]
      application:
        description: Tableau application reading this folder.
        type: str
        required: true
        choices: [desktop, prep, bridge, server]
      owner:
        description: Owner of the folder (and of missing parents) when it is created; existing folders are not changed.
        type: str
      group:
        description: Group of the folder (and of missing parents) when it is created.
        type: str
      mode:
        description: Mode of the folder (and of missing parents) when it is created.
        type: str
        default: "0755"
  tdc_conflicts:
    description:
      - What to do when an unmanaged TDC has the same connector class as a desired TDC in the same folder.
      - V(fail) fails that folder (nothing is written in it; its RV(folders) entry names the conflict), the other
        folders are synced, and then the task fails; V(warn) reports it in RV(unmanaged) and goes on.
    type: str
    choices: [fail, warn]
    default: fail
  backup:
    description: Keep a copy of every replaced or removed file under C(.tabops-backups/) in its folder.
    type: bool
    default: true
  backup_keep:
    description:
      - How many backups to keep per file in C(.tabops-backups/); the oldest are removed first (RV(removed_backups)).
      - V(0) keeps none (and makes none).
    type: int
    default: 5
  run_id:
    description:
      - The rollout's run id (C(tabops_run_id) of C(playbooks/site.yml)). In every folder this run changes, before
        it changes anything there, the journal C(.tabops-backups/tabops-run-<run_id>.json) records each file's state
        before (absent, or sha256, mode, owner and the backup holding its bytes) and after. It is private to the
        folder's owner (0600), like the backups.
      - Journals of the newest O(backup_keep) runs per folder are kept, and so are all the backups they name (backup
        retention never removes the bytes of a run that can still be rolled back).
      - 1 to 64 letters, digits, C(.), C(_) or C(-).
    type: str
  run_log_dir:
    description:
      - The root-only run log of this host (0700 folder, one 0600 file per run naming the folders it journaled),
        written before any folder changes. Users can write the journals in their own folders, so only the runs
        of this log are RV(runs[].trusted) (what C(playbooks/rollback.yml) may choose by itself).
      - Default C(/var/lib/tabops-redshift-oauth/runs), on macOS C(/private/var/db/tabops-redshift-oauth/runs).
    type: path
  rollback_run_id:
    description:
      - Instead of syncing O(files), put back in every managed folder what run O(rollback_run_id) changed, from its
        journal. A file it created is removed, a file it replaced or removed comes back from its backup with the
        mode and owner it had, manifest entries go back, a folder without that run's journal is left alone.
      - A file already as before the run is left (a second rollback changes nothing). A file changed by hand since
        the run (neither as the run left it nor as before) is kept and reported (C(hand_edited)) unless
        O(rollback_force).
      - A file replaced during the rollback is backed up first, like any replacement.
    type: str
  rollback_force:
    description: With O(rollback_run_id), also put back files changed by hand since the run.
    type: bool
    default: false
  rollback_skip_runs:
    description:
      - With O(rollback_run_id), leave alone every managed folder holding a journal of one of these runs, and name it
        in RV(rollback.skipped). C(playbooks/rollback.yml) passes the runs newer than the one it rolls back that only
        journals in users' folders name (a forgery, or a run that changed only Windows hosts), as rolling back an older
        run under a newer one would leave a mix of both. Roll those folders back by naming their run.
      - Run ids; never O(rollback_run_id) itself.
    type: list
    elements: str
    default: []
  list_runs:
    description: Only list the runs journaled in the managed folders (RV(runs)); change nothing.
    type: bool
    default: false
  lock_timeout:
    description:
      - Seconds to wait for another run of this module on the same host (a per-host lock) before failing with a
        message naming the process that holds it.
    type: int
    default: 60
  run_timeout:
    description:
      - Seconds the whole run on this host may take, counted from the module's start (waiting for the host lock
        included). Then no further folder is started, every worker still running is killed, root's own work is
        interrupted a few seconds later, the host lock is released, and only the folders not finished fail (with
        a message naming O(run_timeout)); RV(folders) keeps what the finished ones wrote.
    type: int
    default: 600
  allow_system_users:
    description:
      - Allow C(desktop) and C(prep) folders owned by C(root) or a system account (uid below the host's
        C(UID_MIN)). Off, such a folder fails with a message saying so and every other folder is still synced.
    type: bool
    default: false
  host_facts:
    description:
      - When set, also return RV(host_facts), exactly what M(tabops.redshift_oauth.redshift_odbc_facts) returns for
        the same options, so preflight needs no second round trip.
    type: dict
    suboptions:
      drivers:
        description: Overrides per driver generation (C(v1), C(v2)); see M(tabops.redshift_oauth.redshift_odbc_facts).
        type: dict
        default: {}
      version_sources:
        description: Where to read a driver's version, in order.
        type: list
        elements: str
        choices: [package, version_file, library]
        default: [package, version_file, library]
      tableau_server:
        description: Also read the Tableau Server version.
        type: bool
        default: false
      use_tsm:
        description: Run C(tsm version) first.
        type: bool
        default: false
      tsm_packages_dir:
        description: Tableau Server's packages folder.
        type: path
        default: /opt/tableau/tableau_server/packages
      tsm_path:
        description: tsm to run with O(host_facts.use_tsm).
        type: path
      os_release_path:
        description: The os-release file.
        type: path
        default: /etc/os-release
attributes:
  check_mode:
    description: Can run in check mode and return the changed status prediction without modifying the target.
    support: full
    details: Check mode reports exactly the actions a real run performs and writes nothing.
  diff_mode:
    description: Will return details on what has changed (or would change, in check mode) when run in diff mode.
    support: full
    details: Client secrets are shown as C([redacted]).
seealso:
  - name: Design notes
    description: docs/design.md and docs/modules.md in the collection.
    link: https://example.invalid/tabops/redshift_oauth
"""

EXAMPLES = r"""
- name: Sync the Tableau files of this host
  tabops.redshift_oauth.tableau_files:
    folders:
      - path: /home/analyst/Documents/My Tableau Repository/OAuthConfigs
        kind: oauth_config
        application: desktop
        owner: analyst
        group: analyst
      - path: /var/opt/tableau/tableau_server/data/tabsvc/vizqlserver/Datasources
        kind: tdc
        application: server
        owner: tableau
        group: tableau
    files:
      - path: /home/analyst/Documents/My Tableau Repository/OAuthConfigs/custom_redshift_okta.xml
        kind: oauth_config
        application: desktop
        artifact: custom_redshift_okta
        content: "{{ okta_config | tabops.redshift_oauth.oauth_config_xml }}"
        owner: analyst
        group: analyst
        mode: "0600"
      - path: /var/opt/tableau/tableau_server/data/tabsvc/vizqlserver/Datasources/redshift.tdc
        kind: tdc
        application: server
        artifact: redshift
        content: "{{ {'class': 'redshift', 'customizations': {'CAP_OAUTH_FEDERATE_ACCESS_TOKEN': 'yes'}}
          | tabops.redshift_oauth.tdc_xml }}"
        owner: tableau
        group: tableau
        mode: "0644"
    tdc_conflicts: fail
  register: tableau_files

- name: Restart what needs it
  ansible.builtin.debug:
    msg: "restart {{ tableau_files.restart_needed | join(', ') }}"
  when: tableau_files.restart_needed | length > 0

- name: Compliance check (writes nothing)
  tabops.redshift_oauth.tableau_files:
    folders: "{{ my_folders }}"
    files: "{{ tabops_host_files }}"
    tdc_conflicts: warn
  check_mode: true
  register: compliance
"""

RETURN = r"""
files:
  description: One entry per desired file and per owned file that is no longer desired.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: Absolute file path.
      type: str
    artifact:
      description: Config id or TDC name.
      type: str
    application:
      description: desktop, prep, bridge or server.
      type: str
    kind:
      description: oauth_config or tdc.
      type: str
    status:
      description:
        - C(compliant) matches by meaning and attributes; C(drift) differs; C(missing) absent;
          C(stale) owned by the collection but no longer desired; C(error) cannot be handled (for example a folder
          at the file's path).
      type: str
      sample: drift
    action:
      description: What was done (or, in check mode, would be done) - none, create, update or remove.
      type: str
      sample: update
    differences:
      description:
        - Semantic differences from the C(diff_documents) comparison (secrets as C([redacted])) plus
          C(file.owner), C(file.group), C(file.mode), C(file.type); C(document) when the current file is
          unparseable (C(actual) starts with C(unparseable:)).
      type: list
      elements: dict
      sample: [{"path": "scopes", "expected": ["openid", "offline_access"], "actual": ["openid"]}]
    adopted:
      description: True when the file existed at the desired path but was not yet in the manifest (it is taken over).
      type: bool
      returned: for desired files
unmanaged:
  description: Files in managed folders that the collection does not own and does not declare, worth a look.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description:
        - Absolute path. A file name that is not valid UTF-8 or holds control characters is shown escaped
          (C(\xNN) per byte); such a file is only ever reported, never changed.
      type: str
    application:
      description: Application of the folder.
      type: str
    kind:
      description: Kind of the folder.
      type: str
    status:
      description: Always C(unmanaged_conflict).
      type: str
    reason:
      description: C(tdc_conflict), C(stray_custom_config) or C(unparseable).
      type: str
    detail:
      description: Human-readable explanation.
      type: str
restart_needed:
  description: Sorted applications whose files changed (or would change in check mode).
  returned: always
  type: list
  elements: str
  sample: [desktop, server]
backups:
  description: Backup files written by this run (empty in check mode).
  returned: always
  type: list
  elements: str
manifests:
  description: Manifest files written (or, in check mode, that would be written) by this run.
  returned: always
  type: list
  elements: str
created_dirs:
  description:
    - Folders created by this run (or, in check mode, that would be), outermost first. Missing parents of a managed
      folder (for example a C(My Tableau Repository) Tableau has not created yet) get the managed folder's owner,
      group and mode.
  returned: always
  type: list
  elements: str
folders:
  description: One entry per managed folder, in the order of O(folders).
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The managed folder.
      type: str
    status:
      description: C(ok) nothing to do; C(changed) written (or, in check mode, would be); C(error) failed.
      type: str
      sample: changed
    error:
      description: Why the folder failed, naming the path (null unless C(status) is C(error)).
      type: str
    written:
      description: Paths written, created or removed in this folder (also before an error), in order.
      type: list
      elements: str
removed_temp_files:
  description: Temporary files of an interrupted earlier run that this run removed (or, in check mode, would).
  returned: always
  type: list
  elements: str
removed_backups:
  description: Backups beyond O(backup_keep) that this run removed (or, in check mode, would), oldest first.
  returned: always
  type: list
  elements: str
journals:
  description: Run journals this run wrote (or, in check mode, would), one per folder it changed (O(run_id)).
  returned: always
  type: list
  elements: str
runs:
  description:
    - With O(list_runs) or O(rollback_run_id), the runs journaled in this host's managed folders, newest first
      (their journals' UTC stamps); otherwise empty.
  returned: always
  type: list
  elements: dict
  contains:
    run_id:
      description: The run id.
      type: str
    stamp:
      description: When the run wrote its journal (host clock, UTC, like C(20261202T101500Z)).
      type: str
    folders:
      description: The managed folders holding its journal.
      type: list
      elements: str
    trusted:
      description:
        - True for a run of the root-only run log (O(run_log_dir)). False for a run known only from a journal in a
          managed folder, which that folder's owner can write (a user could forge its run id and stamp).
      type: bool
rollback:
  description:
    - With O(rollback_run_id), what the rollback found (in check mode, would do), by path. C(files) has each file's
      C(status) (C(drift) to be put back, C(compliant) already as before the run, C(hand_edited) kept, C(error))
      and C(action) (C(restore), C(remove) or C(none)).
  returned: when O(rollback_run_id) is set
  type: dict
  contains:
    run_id:
      description: The run rolled back.
      type: str
    journals:
      description: The journals of that run found in the managed folders (none found - nothing to roll back here).
      type: list
      elements: str
    restored:
      description: Files put back as they were before the run.
      type: list
      elements: str
    removed:
      description: Files the run had created, removed.
      type: list
      elements: str
    hand_edited:
      description: Files changed by hand since the run, kept (not with O(rollback_force)).
      type: list
      elements: str
    unchanged:
      description: Files already as before the run.
      type: list
      elements: str
    skipped:
      description: The folders left alone because they hold a journal of a run of O(rollback_skip_runs).
      type: list
      elements: dict
      contains:
        path:
          description: The managed folder.
          type: str
        runs:
          description: The runs of O(rollback_skip_runs) it holds a journal of.
          type: list
          elements: str
host_facts:
  description:
    - The host facts (C(drivers), C(driver), C(tableau_server), C(os)), exactly what
      M(tabops.redshift_oauth.redshift_odbc_facts) returns.
  returned: when O(host_facts) is set
  type: dict
diff:
  description: Before/after texts for C(--diff), secrets masked.
  returned: when diff mode is on and something differs
  type: list
  elements: dict
check_mode:
  description:
    - Set by the action (the role's use, without O(files)) in check mode, where nothing was written. There the
      words say so - C(folders[].status) is C(would_change) (not C(changed)) and C(folders[].written) is
      C(folders[].would_write); C(journals), C(manifests), C(created_dirs), C(removed_temp_files) and
      C(removed_backups) are under RV(planned); C(backups) (always empty) is left out; a removed file's diff header
      ends with C((would be removed)).
  returned: in check mode (the role's use)
  type: bool
planned:
  description: In check mode (the role's use), what a real run would write or remove, by the keys named above.
  returned: in check mode (the role's use)
  type: dict
causes:
  description:
    - A failed or unreachable host (the role's use) - why, as short cause ids the summaries group hosts by - the
      preflight's finding codes (C(driver-missing), C(driver-too-old), ...), C(folder-error), C(host-locked),
      C(unreachable (connection refused)), ... - while C(msg) holds the reasons, one a line.
    - A failed host's result is short - C(msg), C(causes), C(changed), RV(artifacts) - and leaves out the bulky
      details (C(files), C(folders), C(unmanaged), journals, manifests, C(host_facts), C(preflight), C(profile),
      ...) unless C(-v) is given; then they are under RV(details).
  returned: when the host failed or was unreachable (the role's use)
  type: list
  elements: str
  sample: [driver-missing]
artifacts:
  description:
    - A failed host (the role's use) - each Tableau file's status as C(kind/artifact) to status (the worst of its
      files), so the compliance report still fills that host's cells without the details.
  returned: when the host failed and its files were compared (the role's use)
  type: dict
  sample: {"oauth_config/custom_redshift_okta": missing, "tdc/redshift-oauth": missing}
details:
  description: A failed host's bulky details (the keys above), with C(-v) only.
  returned: when the host failed and C(-v) (or more) was given (the role's use)
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._host_facts import HostFactsError, host_facts
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._odbc import OdbcError
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._secrets import (
    content_secrets,
    escaped_forms,
    mask_xml_secrets,
    maskable,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._plan import (
    APPLICATIONS,
    DEFAULT_BACKUP_KEEP,
    KINDS,
    SyncError,
    empty_result,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._posix import (
    DEFAULT_LOCK_TIMEOUT,
    DEFAULT_RUN_TIMEOUT,
    HostLock,
    PosixSync,
    RunDeadline,
)

# The old name of O(folders), accepted until 2.0.0 (meta/runtime.yml deprecates the module's old name alike).
DEPRECATED_FOLDERS_ALIAS = "managed_dirs"


def argument_spec():
    return {
        "files": {
            "type": "list",
            "elements": "dict",
            "required": True,
            "options": {
                "path": {"type": "path", "required": True},
                "content": {"type": "str", "required": True, "no_log": False},
                "kind": {"type": "str", "required": True, "choices": list(KINDS)},
                "owner": {"type": "str"},
                "group": {"type": "str"},
                "mode": {"type": "str", "default": "0644"},
                "application": {"type": "str", "choices": list(APPLICATIONS)},
                "artifact": {"type": "str"},
            },
        },
        "folders": {
            "aliases": [DEPRECATED_FOLDERS_ALIAS],
            "deprecated_aliases": [
                {"name": DEPRECATED_FOLDERS_ALIAS, "version": "2.0.0", "collection_name": "tabops.redshift_oauth"}
            ],
            "type": "list",
            "elements": "dict",
            "required": True,
            "options": {
                "path": {"type": "path", "required": True},
                "kind": {"type": "str", "required": True, "choices": list(KINDS)},
                "application": {"type": "str", "required": True, "choices": list(APPLICATIONS)},
                "owner": {"type": "str"},
                "group": {"type": "str"},
                "mode": {"type": "str", "default": "0755"},
            },
        },
        "tdc_conflicts": {"type": "str", "choices": ["fail", "warn"], "default": "fail"},
        "backup": {"type": "bool", "default": True},
        "backup_keep": {"type": "int", "default": DEFAULT_BACKUP_KEEP},
        "lock_timeout": {"type": "int", "default": DEFAULT_LOCK_TIMEOUT},
        "run_timeout": {"type": "int", "default": DEFAULT_RUN_TIMEOUT},
        "allow_system_users": {"type": "bool", "default": False},
        "run_id": {"type": "str"},
        "rollback_run_id": {"type": "str"},
        "rollback_force": {"type": "bool", "default": False},
        "rollback_skip_runs": {"type": "list", "elements": "str", "default": []},
        "list_runs": {"type": "bool", "default": False},
        "run_log_dir": {"type": "path"},
        "host_facts": {
            "type": "dict",
            "options": {
                "drivers": {"type": "dict", "default": {}},
                "version_sources": {
                    "type": "list",
                    "elements": "str",
                    "choices": ["package", "version_file", "library"],
                    "default": ["package", "version_file", "library"],
                },
                "tableau_server": {"type": "bool", "default": False},
                "use_tsm": {"type": "bool", "default": False},
                "tsm_packages_dir": {"type": "path", "default": "/opt/tableau/tableau_server/packages"},
                "tsm_path": {"type": "path"},
                "os_release_path": {"type": "path", "default": "/etc/os-release"},
            },
        },
    }


class TableauFilesModule(AnsibleModule):
    """AnsibleModule that treats client secrets inside O(files[].content) as no_log values.

    ``content`` is not no_log (diffs must stay readable), so the secrets it carries are registered before
    AnsibleModule logs its invocation to the host's syslog/journal, and before any result (including an injected
    ``invocation``) is returned.
    """

    def _log_invocation(self):
        self.register_content_secrets()
        # The host log gets every document with its secret elements blanked out, whatever the secrets contain
        # (no_log values alone miss the escaped spellings str() gives a list of dicts).
        files = self.params.get("files")
        if isinstance(files, list):
            self.params["files"] = [
                dict(item, content=mask_xml_secrets(item.get("content"))) if isinstance(item, dict) else item
                for item in files
            ]
        try:
            super()._log_invocation()
        finally:
            self.params["files"] = files

    def register_content_secrets(self):
        for item in self.params.get("files") or []:
            if not isinstance(item, dict) or not isinstance(item.get("content"), str):
                continue
            for secret in content_secrets(item["content"]):
                self.no_log_values.update(maskable(escaped_forms(secret)))


def main():
    module = TableauFilesModule(argument_spec=argument_spec(), supports_check_mode=True)
    module.register_content_secrets()
    params = module.params
    result = empty_result()
    try:
        sync = PosixSync(
            params["files"],
            params["folders"],
            tdc_conflicts=params["tdc_conflicts"],
            backup=params["backup"],
            backup_keep=params["backup_keep"],
            run_id=params["run_id"] or None,
            rollback_run_id=params["rollback_run_id"] or None,
            rollback_force=params["rollback_force"],
            rollback_skip_runs=params["rollback_skip_runs"],
            run_log_dir=params["run_log_dir"],
            run_timeout=params["run_timeout"],
            allow_system_users=params["allow_system_users"],
            list_runs=params["list_runs"],
        )
    except SyncError as exc:
        # Bad input: nothing on the host was touched.
        module.fail_json(msg=str(exc), **result)
    if params["lock_timeout"] < 0:
        module.fail_json(msg="lock_timeout: %d must be 0 or more seconds" % params["lock_timeout"], **result)

    facts = None
    if params["host_facts"] is not None:
        try:
            facts = host_facts(params["host_facts"])
        except (HostFactsError, OdbcError) as exc:
            module.fail_json(msg=str(exc), **result)

    try:
        # The lock is released whatever happens inside (the deadline too); workers never inherit it.
        with HostLock(params["lock_timeout"]), sync.deadline_alarm():
            if params["list_runs"]:
                result["runs"] = sync.list_runs()
            else:
                result = sync.run(check_mode=module.check_mode, diff=module._diff)
    except (SyncError, RunDeadline) as exc:
        module.fail_json(msg=str(exc), **result)
    if params["list_runs"]:
        module.exit_json(**result)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    if facts is not None:
        result["host_facts"] = facts
    message = result.pop("msg", None)
    if message:
        # Every folder was processed; what was written is in the result and `changed` says so.
        module.fail_json(msg=message, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
