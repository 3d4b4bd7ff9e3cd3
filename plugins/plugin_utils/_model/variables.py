# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""THE data model: every inventory variable of the collection, declared once (a Python table: the cheapest to load,
and every forked worker that imports the planner loads it).

scripts/generate-docs writes from it every role's ``meta/argument_specs.yml`` and ``defaults/main.yml`` and the
variable table of docs/data-model.md; tests/unit/scripts/test_generate_docs.py fails when one of them no longer
matches. The controller's validator (``_role_spec``), the planner's ``DEFAULTS`` and the preflight's
``IAM_DEFAULTS`` read it through the functions of this package.

ENTRY_POINTS: ``{role: {entry point: {short_description, description}}}``; ``{"like": "main"}`` takes the texts of
another entry point.

VARIABLES: ``{name: declaration}``, each with

- ``type``, ``elements``, ``choices``, ``default``, ``required``, ``options``, ``description``: as in an argument
  spec (a ``None`` default is left out of the specs but written to the role defaults; no ``default`` key: no role
  default);
- ``minimum``: the least value of an int (the validator checks it; an argument spec cannot say it);
- ``role_default``: the value of defaults/main.yml where the spec has none (a Jinja expression);
  a role's defaults/main.yml holds every variable it takes that has a default (but see ``OWN_DEFAULTS_ONLY``);
- ``roles``: the entry points that take it: ``role`` (every entry point of the role) or ``role:entry_point``;
- ``version_added``: the collection version that added it (default ``VERSION_ADDED``).
"""

from __future__ import annotations

# The collection's first release: every variable without a version_added of its own came with it.
VERSION_ADDED = "0.1.0"
# Roles whose defaults/main.yml hold only the variables no other role takes: the fleet plan applies the model's
# defaults itself, and each variable in hostvars costs the plan a templating per host.
OWN_DEFAULTS_ONLY = ("preflight",)

ENTRY_POINTS = {
    "preflight": {
        "main": {
            "short_description": "Check the declared state on the controller before any host is touched",
            "description": [
                (
                    "Validates every data variable of the collection (this spec), renders every OAuth config and "
                    "TDC file each host would get and the server-level OAuth clients, and fails naming the field "
                    "and the host or config at fault."
                ),
                "Run by playbooks/preflight.yml, which site.yml runs first with any_errors_fatal.",
            ],
        },
    },
    "tableau_files": {
        "main": {
            "short_description": "Install OAuth config and TDC files on a host, in one module call",
            "description": [
                (
                    "Renders every declared OAuth config and TDC file that applies to the host (by the "
                    "applications it runs and its users), and syncs them with "
                    "the M(tabops.redshift_oauth.tableau_files) module in one call, with semantic comparison, atomic "
                    "writes, backups, ownership manifests and a conflict scan."
                ),
                "See docs/data-model.md for the shape of every variable.",
            ],
        },
        "rollback": {
            "short_description": "Put back a host's Tableau files as they were before a run",
            "description": [
                (
                    "Reads the run journal of tabops_rollback_run_id in every managed folder of the host and, in "
                    "one module call, removes the files that run created and puts back the files it replaced, "
                    "re-moded or removed, with their mode and owner; files changed by hand since then are kept "
                    "and reported unless tabops_rollback_force."
                ),
                "Registers tabops_artifacts_result.",
            ],
        },
    },
    "oauth_configs": {
        "main": {
            "short_description": "Install OAuth config files for Tableau Desktop, Prep and Bridge",
            "description": [
                (
                    "Renders each declared OAuth config and installs it as <oauthConfigId>.xml in the "
                    "OAuthConfigs folder of every application and user listed in its install_on, with per-OS "
                    "paths."
                ),
                (
                    "Reports which applications need a restart (Desktop, Prep and Bridge read configs at start). "
                    "See docs/data-model.md."
                ),
            ],
        },
    },
    "tdc_files": {
        "main": {
            "short_description": "Install TDC files on Tableau Server nodes and Desktop, Prep and Bridge hosts",
            "description": [
                (
                    "Installs each declared TDC as <name>.tdc into <data_dir>/data/tabsvc/<service>/Datasources "
                    "on Tableau Server nodes and into the Datasources folder of Desktop, Prep and Bridge."
                ),
                (
                    "Another .tdc for the same connector class that this collection did not write is a conflict "
                    "(Tableau applies only one per class). See docs/data-model.md."
                ),
            ],
        },
    },
    "server_settings": {
        "main": {
            "short_description": "Tableau Server settings for Redshift IAM OAuth, once per cluster",
            "description": [
                (
                    "On the initial node (run_once + delegate_to), ensures C(group_federation) and the extra "
                    "entries are in the ODBC extras allowlist, keeping every entry already there, and merges the "
                    "server-level OAuth clients of the declared configs into C(oauth.config.clients) by id, never"
                    " dropping other entries. Then applies pending changes once, when this run set something or a"
                    " key it manages is still pending from an earlier run (a failed apply converges on the next "
                    "run), and waits until tsm status reports RUNNING."
                ),
                "Registers tabops_tsm_settings_result and tabops_tsm_apply_result.",
                "Client secrets never appear in logs or diffs.",
            ],
        },
        "settings": {
            "like": "main",
        },
        "apply": {
            "like": "main",
        },
        "runs": {
            "short_description": "List the runs journaled on the tsm node",
            "description": ["Registers tabops_tsm_runs_result (its runs, newest first)."],
        },
        "rollback": {
            "short_description": "Set the Tableau Server settings back to their values before a run, and apply them",
            "description": [
                (
                    "From the run journal on the tsm node, sets every key tabops_rollback_run_id set back to its "
                    "value before that run (keys changed since are kept and reported unless "
                    "tabops_rollback_force), then applies once and waits until tsm status reports RUNNING."
                ),
                "Registers tabops_tsm_settings_result and tabops_tsm_apply_result.",
            ],
        },
    },
    "redshift_iam": {
        "main": {
            "short_description": "Render (and optionally apply) the IAM side of Tableau's Redshift IAM OAuth",
            "description": [
                (
                    "Renders, on the controller, the permissions policy and the AssumeRoleWithWebIdentity trust "
                    "policy of the IAM role that Tableau's OAuth tokens assume, plus a README of what to create "
                    "where."
                ),
                "Checks the given connections against the policy (redshift_iam_lint) and fails on errors.",
                (
                    "With O(redshift_iam_apply=true), creates or updates the IAM OIDC provider, the managed "
                    "policy and the role with amazon.aws modules (boto3 needed on the controller). Off by "
                    "default."
                ),
                "Runs once, on the controller, whatever the play's hosts.",
            ],
        },
    },
    "compliance_schedule": {
        "main": {
            "short_description": "Schedule the compliance check on a controller host (systemd timer or cron)",
            "description": [
                (
                    "Installs a systemd service and timer (or a file in /etc/cron.d) that runs "
                    "C(scripts/compliance) from the collection checkout against the given inventories, writing a "
                    "report set per run and keeping the newest N."
                ),
                (
                    "The unit succeeds on exit status 0 (compliant) unless more statuses are listed in "
                    "C(compliance_schedule_success_exit_statuses); drift is 2, unreachable hosts 4, errors 1 "
                    "(docs/compliance.md)."
                ),
            ],
        },
    },
}

VARIABLES = {
    "tabops_oauth_configs": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "description": (
            "OAuth configs in the shape of the oauth_config_xml filter, each with C(install_on) (desktop, prep, "
            "bridge)."
        ),
        "roles": ["preflight", "tableau_files", "oauth_configs", "server_settings"],
    },
    "tabops_tdc_files": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "description": (
            "TDC specs in the shape of the tdc_xml filter, each with C(name) and C(install_on) (server, bridge, "
            "desktop, prep)."
        ),
        "roles": ["preflight", "tableau_files", "tdc_files"],
    },
    "tabops_desktop_users": {
        "type": "list",
        "elements": "str",
        "default": [],
        "description": "Users whose Tableau Desktop and Prep repositories are managed on this host.",
        "roles": ["preflight", "tableau_files", "oauth_configs", "tdc_files"],
    },
    "tabops_applications": {
        "type": "list",
        "elements": "str",
        "choices": ["server", "desktop", "prep", "bridge"],
        "default": [],
        "description": "What this host runs besides what its groups say (the union of both, docs/data-model.md).",
        "roles": ["preflight", "tableau_files", "oauth_configs", "tdc_files"],
    },
    "tabops_os_family": {
        "type": "str",
        "choices": [
            "",
            "Linux",
            "Debian",
            "RedHat",
            "Suse",
            "Archlinux",
            "Darwin",
            "Windows",
        ],
        "default": "",
        "description": "OS family for the path layout; empty detects it.",
        "roles": ["preflight", "tableau_files", "oauth_configs", "tdc_files"],
    },
    "tabops_paths": {
        "type": "dict",
        "default": {},
        "description": [
            (
                "Overrides of the per-OS path templates (user_home, root_home, desktop_repository, "
                "prep_repository, bridge_repository, server_data_dir, user_group)."
            ),
        ],
        "roles": ["preflight", "tableau_files", "oauth_configs", "tdc_files"],
    },
    "tabops_bridge_user": {
        "type": "str",
        "default": "root",
        "description": "The user Tableau Bridge runs as.",
        "roles": ["preflight", "tableau_files", "oauth_configs", "tdc_files"],
    },
    "tabops_server_services": {
        "type": "list",
        "elements": "str",
        "default": ["vizqlserver", "backgrounder", "dataserver"],
        "description": "Tableau Server services whose Datasources folder gets the server TDC files.",
        "roles": ["preflight", "tableau_files", "tdc_files"],
    },
    "tabops_server_file_owner": {
        "type": "str",
        "default": "root",
        "description": "Owner of TDC files on Tableau Server nodes.",
        "roles": ["preflight", "tableau_files", "tdc_files"],
    },
    "tabops_server_file_group": {
        "type": "str",
        "default": "root",
        "description": "Group of TDC files on Tableau Server nodes.",
        "roles": ["preflight", "tableau_files", "tdc_files"],
    },
    "tabops_tdc_conflicts": {
        "type": "str",
        "choices": ["fail", "warn"],
        "default": "fail",
        "description": (
            "What to do about another .tdc for a managed connector class that this collection did not write "
            "(Tableau applies only one per class): fail before writing on that host, or warn."
        ),
        "roles": ["preflight", "tableau_files", "tdc_files"],
    },
    "tabops_backup": {
        "type": "bool",
        "default": True,
        "description": "Keep a copy of every file replaced or removed, in the folder's .tabops-backups/.",
        "roles": ["preflight", "tableau_files", "oauth_configs", "tdc_files"],
    },
    "tabops_run_id": {
        "type": "str",
        "description": [
            (
                "The rollout's run id (site.yml sets it once per run; -e tabops_run_id=... chooses it). Every "
                "folder and the tsm node keep a journal of what the run changed under it, for "
                "playbooks/rollback.yml."
            ),
        ],
        "roles": ["preflight", "tableau_files", "server_settings"],
    },
    "tabops_tsm_journal_dir": {
        "type": "str",
        "default": "/var/lib/tabops-redshift-oauth/tsm-runs",
        "description": "Folder on the tsm node of the run journals (tsm values before each run; root only, 0700).",
        "roles": ["preflight", "server_settings"],
    },
    "tabops_backup_keep": {
        "type": "int",
        "default": 5,
        "minimum": 0,
        "description": "Backups kept per file in .tabops-backups/, oldest removed first; 0 keeps none.",
        "roles": ["preflight", "tableau_files"],
    },
    "tabops_artifacts_run_timeout": {
        "type": "int",
        "default": 600,
        "minimum": 1,
        "description": [
            (
                "Seconds one host's file sync may take (lock wait included). Then no further folder is started, "
                "the workers still running are killed, the host lock is released and only the unfinished folders "
                "fail."
            ),
            "Linux and macOS hosts. On Windows hosts each ansible.windows call has Ansible's own timeouts.",
        ],
        "roles": ["preflight", "tableau_files"],
    },
    "tabops_allow_system_desktop_users": {
        "type": "bool",
        "default": False,
        "description": [
            (
                "Allow root and system accounts (uid below the host's UID_MIN in /etc/login.defs; 1000 when it says "
                "nothing, 501 on macOS) "
                "as tabops_desktop_users. Off, their Desktop and Prep folders fail (other users' folders are "
                "still synced)."
            ),
            "Linux and macOS hosts (Windows folders are reached through the user's profile path, not a uid).",
        ],
        "roles": ["preflight", "tableau_files"],
    },
    "tabops_bridge_service": {
        "type": "str",
        "default": "",
        "description": (
            "The Bridge service to restart when Bridge's files changed (a systemd unit on Linux, a service name "
            "on Windows); empty reports only."
        ),
        "roles": ["preflight", "tableau_files", "oauth_configs"],
    },
    "tabops_bridge_restart_timeout": {
        "type": "int",
        "default": 120,
        "minimum": 1,
        "description": "Seconds to wait after restarting tabops_bridge_service until it runs again; then the host fails.",
        "roles": ["preflight", "tableau_files", "oauth_configs"],
    },
    "tabops_group_federation": {
        "type": "bool",
        "default": False,
        "description": "Whether connections use Group Federation (adds C(group_federation) to the allowlist).",
        "roles": ["preflight", "server_settings"],
    },
    "tabops_odbc_extras_allowlist": {
        "type": "list",
        "elements": "str",
        "default": [],
        "description": "Extra entries the ODBC extras allowlist must hold.",
        "roles": ["preflight", "server_settings"],
    },
    "tabops_odbc_extras_allowlist_key": {
        "type": "str",
        "default": "native_api.odbc_extras_allowlist",
        "description": (
            "The tsm key of the ODBC extras allowlist (not named in public docs; check yours with tsm "
            "configuration get)."
        ),
        "roles": ["preflight", "server_settings"],
    },
    "tabops_odbc_extras_allowlist_separator": {
        "type": "str",
        "default": ",",
        "description": "Separator of the allowlist's entries (not named in public docs either).",
        "roles": ["preflight", "server_settings"],
    },
    "tabops_tsm_allow_force_keys": {
        "type": "bool",
        "default": False,
        "description": "Set the allowlist key with --force-keys when tsm does not know it (otherwise fail).",
        "roles": ["preflight", "server_settings"],
    },
    "tabops_server_oauth_clients_mode": {
        "type": "str",
        "choices": ["merge", "authoritative"],
        "default": "merge",
        "description": [
            (
                "merge keeps every oauth.config.clients entry the inventory does not declare, byte for byte; the "
                "run stops before any host is changed when tsm does not show such a client's secret in clear "
                "(ENC(...), masked, empty), naming the clients."
            ),
            (
                "authoritative makes the declared clients the whole list; undeclared clients are removed (shown "
                "by --check --diff, secrets masked)."
            ),
        ],
        "roles": ["preflight", "server_settings"],
    },
    "tabops_server_oauth_other_clients": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "description": [
            (
                "Other server-level OAuth clients to keep in oauth.config.clients with their secrets from the "
                "vault, each a dict with id (C(<dbclass>:<oauthConfigId>)), client_id, client_secret and "
                "redirect_uri (the way forward when tsm does not show their secrets in clear)."
            ),
        ],
        "roles": ["preflight", "server_settings"],
    },
    "tabops_tsm_probe_file": {
        "type": "str",
        "description": [
            (
                "Where playbooks/probe_tsm.yml writes its redacted probe file on the controller (0600). Default "
                "C(tsm-probe-<inventory host>.json) in the folder ansible-playbook runs from."
            ),
        ],
        "role_default": "{{ lookup('ansible.builtin.env', 'PWD') }}/tsm-probe-{{ inventory_hostname }}.json",
        "roles": ["preflight", "server_settings"],
    },
    "tabops_server_url": {
        "type": "str",
        "default": "",
        "description": "Tableau Server's public https URL; the default redirect URI is <url>/auth/add_oauth_token.",
        "roles": ["preflight", "server_settings"],
    },
    "tabops_tsm_path": {
        "type": "str",
        "default": "",
        "description": "Path of tsm; empty finds the newest customer-bin.*/tsm under tabops_tsm_packages_dir.",
        "roles": ["preflight", "server_settings"],
    },
    "tabops_tsm_packages_dir": {
        "type": "path",
        "default": "/opt/tableau/tableau_server/packages",
        "description": "Where Tableau Server's packages (customer-bin.<build>) are.",
        "roles": ["preflight", "server_settings"],
    },
    "tabops_tsm_apply": {
        "type": "str",
        "choices": ["immediate", "defer"],
        "default": "immediate",
        "description": "Apply pending changes at once (restarts Tableau Server) or leave them pending.",
        "roles": ["preflight", "server_settings"],
    },
    "tabops_tsm_ignore_warnings": {
        "type": "bool",
        "default": False,
        "description": "Pass --ignore-warnings to tsm pending-changes apply.",
        "roles": ["preflight", "server_settings"],
    },
    "tabops_tsm_request_timeout": {
        "type": "int",
        "default": 1800,
        "minimum": 1,
        "description": "Seconds tsm waits for pending-changes apply.",
        "roles": ["preflight", "server_settings"],
    },
    "tabops_tsm_wait_for_status": {
        "type": "bool",
        "default": True,
        "description": "After the apply, wait until tsm status reports RUNNING and fail the run if it does not.",
        "roles": ["preflight", "server_settings"],
    },
    "tabops_tsm_status_timeout": {
        "type": "int",
        "default": 900,
        "minimum": 1,
        "description": "Seconds to wait for tsm status RUNNING after the apply.",
        "roles": ["preflight", "server_settings"],
    },
    "tabops_tsm_status_poll_interval": {
        "type": "int",
        "default": 10,
        "minimum": 1,
        "description": "Seconds between two tsm status calls while waiting.",
        "roles": ["preflight", "server_settings"],
    },
    "tabops_tsm_lock_timeout": {
        "type": "int",
        "default": 120,
        "minimum": 0,
        "description": "Seconds a rollout waits for a concurrent one on the initial node before failing with its pid.",
        "roles": ["preflight", "server_settings"],
    },
    "tabops_tsm_lock_file": {
        "type": "str",
        "default": "",
        "description": "Lock file on the initial node; empty is /run/lock/tabops-tsm.lock.",
        "roles": ["preflight", "server_settings"],
    },
    "tabops_tsm_node": {
        "type": "str",
        "default": "",
        "description": "Inventory name of the node tsm runs on; empty takes the first host of tableau_server_initial.",
        "roles": ["preflight", "server_settings"],
    },
    "tabops_redshift_connections": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "description": [
            (
                "Redshift connections as Tableau's connection dialog and a DSN use them (docs/data-model.md, "
                '"Redshift connections") - name, host, port, database, cluster_id, region, role_arn, '
                "role_session_name, group_federation, db_user, db_groups, auto_create, serverless, oauth_config. "
                "Checked against the IAM policy of the redshift_iam_* variables when they are set, and the tokens"
                " Tableau federates for the OAuth configs they name against redshift_iam_audiences (docs/iam.md, "
                '"Token audiences"); playbooks/troubleshoot_dsn.yml tests one.'
            ),
        ],
        "roles": ["preflight"],
    },
    "tabops_preflight_host_checks": {
        "type": "bool",
        "default": True,
        "description": "Read each Tableau host's Redshift ODBC driver, Tableau Server version and OS (one module call per host).",
        "roles": ["preflight"],
    },
    "tabops_preflight_driver_required": {
        "type": "bool",
        "default": True,
        "description": "A Tableau host without a Redshift ODBC driver is an error (info when false).",
        "roles": ["preflight"],
    },
    "tabops_preflight_use_tsm": {
        "type": "bool",
        "default": False,
        "description": "Read the Tableau Server version with tsm version instead of the customer-bin.<build> folder.",
        "roles": ["preflight"],
    },
    "tabops_preflight_min_driver_versions": {
        "type": "dict",
        "default": {
            "v1": "1.5.9",
            "v2": "2.0.1.0",
        },
        "description": "Minimum Redshift ODBC driver versions for Redshift IAM OAuth.",
        "roles": ["preflight"],
    },
    "tabops_preflight_min_server_version": {
        "type": "str",
        "default": "2023.3.2",
        "description": "Minimum Tableau Server version.",
        "roles": ["preflight"],
    },
    "tabops_preflight_supported_os": {
        "type": "dict",
        "default": {
            "rhel": ["8", "9"],
            "centos": ["8", "9"],
            "rocky": ["8", "9"],
            "almalinux": ["8", "9"],
            "ol": ["8", "9"],
            "amzn": ["2", "2023"],
            "ubuntu": ["20.04", "22.04", "24.04"],
            "debian": ["11", "12"],
            "sles": ["15"],
        },
        "description": "OS ids (os-release ID) and versions that do not raise an os-unsupported warning.",
        "roles": ["preflight"],
    },
    "tabops_odbc_driver_search": {
        "type": "dict",
        "default": {},
        "description": (
            "Overrides per driver generation (v1, v2) of driver_name, libraries and version_files (see the "
            "redshift_odbc_facts module)."
        ),
        "roles": ["preflight"],
    },
    "tabops_odbc_version_sources": {
        "type": "list",
        "elements": "str",
        "choices": ["package", "version_file", "library"],
        "default": ["package", "version_file", "library"],
        "description": "Where a driver's version is read, in order.",
        "roles": ["preflight"],
    },
    "tableau_files_kinds": {
        "type": "list",
        "elements": "str",
        "choices": ["oauth_config", "tdc"],
        "default": ["oauth_config", "tdc"],
        "description": "Which kinds of files to manage.",
        "roles": ["tableau_files"],
    },
    "tableau_files_plan_only": {
        "type": "bool",
        "default": False,
        "description": "Only render and check this host's files, without contacting the host.",
        "roles": ["tableau_files"],
    },
    "tabops_rollback_run_id": {
        "type": "str",
        "required": True,
        "description": "The run to roll back (playbooks/rollback.yml chooses the newest one unless told).",
        "roles": ["tableau_files:rollback", "server_settings:rollback"],
    },
    "tabops_rollback_force": {
        "type": "bool",
        "default": False,
        "description": "Also put back what was changed by hand since the run (otherwise kept and reported).",
        "roles": ["tableau_files:rollback", "server_settings:rollback"],
    },
    "tabops_rollback_skip_runs": {
        "type": "list",
        "elements": "str",
        "default": [],
        "description": [
            (
                "Leave alone every managed folder holding a journal of one of these runs (reported in "
                "tabops_artifacts_result.rollback.skipped). playbooks/rollback.yml passes the runs newer than the"
                " one it rolls back that only journals in users' folders name."
            ),
        ],
        "roles": ["tableau_files:rollback"],
    },
    "redshift_iam_output_dir": {
        "type": "path",
        "required": True,
        "description": (
            "Controller folder that receives C(<role>.permissions.json), C(<role>.trust.json) and C(<role>.README.md)."
        ),
        "roles": ["redshift_iam"],
    },
    "redshift_iam_role_name": {
        "type": "str",
        "required": True,
        "description": "The IAM role name (1-64 of letters, digits and C(_+=,.@-)).",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_role_path": {
        "type": "str",
        "default": "/",
        "description": "The IAM role path, C(/) or C(/a/b/).",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_role_description": {
        "type": "str",
        "default": "Tableau Redshift IAM OAuth (AssumeRoleWithWebIdentity)",
        "description": "Description of the role (apply only).",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_max_session_duration": {
        "type": "int",
        "default": 3600,
        "description": "Maximum session duration of the role in seconds (apply only).",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_policy_name": {
        "type": "str",
        "default": "",
        "description": "Name of the managed policy; empty means C(<role name>-redshift).",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_partition": {
        "type": "str",
        "choices": [
            "aws",
            "aws-cn",
            "aws-us-gov",
            "aws-iso",
            "aws-iso-b",
            "aws-iso-e",
            "aws-iso-f",
            "aws-eusc",
        ],
        "default": "aws",
        "description": "The AWS partition.",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_account": {
        "type": "str",
        "required": True,
        "description": "The 12-digit account id of the role and the cluster; quote it.",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_region": {
        "type": "str",
        "required": True,
        "description": "The cluster's region; must belong to the partition.",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_issuer_url": {
        "type": "str",
        "required": True,
        "description": "The IdP's issuer URL (C(iss) claim), https without port or query.",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_audiences": {
        "type": "list",
        "elements": "str",
        "default": [],
        "description": [
            (
                "The audiences (client IDs) of the IAM OIDC provider and the values of the trust policy's C(:aud)"
                " condition: the C(aud) of every token Tableau federates."
            ),
            (
                "Empty means derived from the OAuth configs the inventory's C(tabops_redshift_connections) name "
                "and the TDCs, on every host of the inventory. The ID token's C(aud) is its client id "
                "(C(server_client.client_id) on Tableau Server, C(client_id_desktop) elsewhere); where a TDC sets"
                " C(CAP_OAUTH_FEDERATE_ACCESS_TOKEN), the access token's is the config's "
                "C(access_token_audience), else its preset's (Okta C(default) authorization server, "
                "V(api://default))."
            ),
            (
                "When set, each federated token's C(aud) is checked against it and the role fails naming both "
                "sides (O(redshift_iam_lint_fail))."
            ),
        ],
        "roles": ["redshift_iam"],
    },
    "redshift_iam_client_ids": {
        "type": "list",
        "elements": "str",
        "default": [],
        "description": [
            "Deprecated name of O(redshift_iam_audiences), read only when that is empty.",
        ],
        "roles": ["redshift_iam"],
    },
    "redshift_iam_subjects": {
        "type": "list",
        "elements": "str",
        "default": [],
        "description": "Allowed C(sub) values or patterns; empty for any.",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_session_tags": {
        "type": "bool",
        "default": False,
        "description": "Allow C(sts:TagSession) in the trust policy.",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_clusters": {
        "type": "list",
        "elements": "str",
        "default": [],
        "description": "Cluster identifiers (wildcards allowed); required unless serverless.",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_db_users": {
        "type": "list",
        "elements": "str",
        "default": ["${redshift:DbUser}"],
        "description": "Database users; C(${redshift:DbUser}) when the name comes from the token.",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_db_names": {
        "type": "list",
        "elements": "str",
        "default": [],
        "description": "Databases (needed with group federation; C(*) for any).",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_db_groups": {
        "type": "list",
        "elements": "str",
        "default": [],
        "description": "Groups users may join (JoinGroup).",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_auto_create": {
        "type": "bool",
        "default": False,
        "description": "Allow CreateClusterUser (AutoCreate).",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_group_federation": {
        "type": "bool",
        "default": False,
        "description": "Connections use group federation (GetClusterCredentialsWithIAM).",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_include_cluster_resource": {
        "type": "bool",
        "default": True,
        "description": "List the cluster ARN among the GetClusterCredentials resources.",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_serverless": {
        "type": "bool",
        "default": False,
        "description": "Redshift Serverless (GetCredentials on workgroups) instead of clusters.",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_workgroup_ids": {
        "type": "list",
        "elements": "str",
        "default": [],
        "description": "Serverless workgroup ids (not names).",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_userid_condition": {
        "type": "dict",
        "options": {
            "role_unique_id": {
                "description": "The role's unique id (C(AROA...)).",
                "type": "str",
                "required": True,
            },
            "suffix": {
                "description": "Text after the user name, for example C(@example.com).",
                "type": "str",
            },
            "operator": {
                "description": "Condition operator.",
                "type": "str",
                "choices": ["StringEquals", "StringLike"],
            },
        },
        "description": "Optional C(aws:userid) condition; see docs/iam.md before using it.",
        "default": None,
        "roles": ["redshift_iam"],
    },
    "redshift_iam_describe_clusters": {
        "type": "bool",
        "description": "Add DescribeClusters/ListRoles on C(*); unset means yes except for serverless.",
        "default": None,
        "roles": ["redshift_iam"],
    },
    "redshift_iam_statement_ids": {
        "type": "bool",
        "default": False,
        "description": "Give statements a C(Sid).",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_lint_connections": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "name": {
                "description": "Names the connection in messages.",
                "type": "str",
                "required": True,
            },
            "role_arn": {
                "description": "The connection's C(role_arn).",
                "type": "str",
            },
            "role_session_name": {
                "description": "The connection's C(role_session_name).",
                "type": "str",
            },
            "driver_default_session_name": {
                "description": "The session name the driver uses when none is set.",
                "type": "str",
            },
            "cluster_id": {
                "description": "The connection's C(ClusterId).",
                "type": "str",
            },
            "region": {
                "description": "The connection's C(Region).",
                "type": "str",
            },
            "account": {
                "description": "The cluster's account, when not the role's.",
                "type": "str",
            },
            "partition": {
                "description": "The partition, when not the role's.",
                "type": "str",
            },
            "group_federation": {
                "description": "The connection's C(group_federation).",
                "type": "bool",
            },
            "serverless": {
                "description": "The connection targets Redshift Serverless.",
                "type": "bool",
            },
            "db_user": {
                "description": "A fixed C(DbUser).",
                "type": "str",
            },
            "db_groups": {
                "description": "The connection's C(DbGroups).",
                "type": "list",
                "elements": "str",
            },
            "auto_create": {
                "description": "The connection's C(AutoCreate).",
                "type": "bool",
            },
            "database": {
                "description": "The connection's C(Database).",
                "type": "str",
            },
        },
        "description": "Connections to check against the policy; each is a redshift_iam_lint spec plus a name.",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_lint_fail": {
        "type": "bool",
        "default": True,
        "description": "Fail when a connection has an error finding, or a federated token's C(aud) is not trusted.",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_apply": {
        "type": "bool",
        "default": False,
        "description": "Create/update the OIDC provider, policy and role in AWS.",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_oidc_thumbprints": {
        "type": "list",
        "elements": "str",
        "default": [],
        "description": (
            "Server certificate thumbprints for the OIDC provider (apply only; AWS no longer needs them for most IdPs)."
        ),
        "roles": ["redshift_iam"],
    },
    "redshift_iam_aws_profile": {
        "type": "str",
        "default": "",
        "description": "AWS profile for apply; empty uses the environment.",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_aws_endpoint_url": {
        "type": "str",
        "default": "",
        "description": "IAM endpoint URL for apply (a local stand-in in tests); empty uses AWS.",
        "roles": ["redshift_iam"],
    },
    "redshift_iam_aws_region": {
        "type": "str",
        "default": "",
        "description": "Region the AWS client uses for apply; empty uses the environment.",
        "roles": ["redshift_iam"],
    },
    "compliance_schedule_project_dir": {
        "type": "path",
        "default": "",
        "description": "Absolute path of the collection checkout on the controller host (required unless state is absent).",
        "roles": ["compliance_schedule"],
    },
    "compliance_schedule_inventories": {
        "type": "list",
        "elements": "path",
        "default": [],
        "description": "Inventories to check.",
        "roles": ["compliance_schedule"],
    },
    "compliance_schedule_report_dir": {
        "type": "path",
        "default": "/var/lib/tabops/compliance",
        "description": "Where report sets are written.",
        "roles": ["compliance_schedule"],
    },
    "compliance_schedule_keep": {
        "type": "int",
        "default": 30,
        "description": "How many report sets to keep; 0 keeps all.",
        "roles": ["compliance_schedule"],
    },
    "compliance_schedule_prometheus_file": {
        "type": "str",
        "default": "",
        "description": [
            (
                "Also write each run's Prometheus metrics to this file, replaced atomically (node_exporter's "
                "textfile collector)."
            ),
            "Empty writes them only into the report set.",
        ],
        "roles": ["compliance_schedule"],
    },
    "compliance_schedule_method": {
        "type": "str",
        "choices": ["systemd", "cron"],
        "default": "systemd",
        "description": "A systemd timer, or a file in /etc/cron.d.",
        "roles": ["compliance_schedule"],
    },
    "compliance_schedule_on_calendar": {
        "type": "str",
        "default": "*-*-* 02:30:00",
        "description": "systemd OnCalendar expression of the timer.",
        "roles": ["compliance_schedule"],
    },
    "compliance_schedule_randomized_delay": {
        "type": "str",
        "default": "15min",
        "description": "systemd RandomizedDelaySec of the timer.",
        "roles": ["compliance_schedule"],
    },
    "compliance_schedule_cron": {
        "type": "dict",
        "default": {
            "minute": "30",
            "hour": "2",
            "day": "*",
            "month": "*",
            "weekday": "*",
        },
        "description": "cron fields (minute, hour, day, month, weekday) for the cron method.",
        "roles": ["compliance_schedule"],
    },
    "compliance_schedule_user": {
        "type": "str",
        "default": "root",
        "description": "The user the check runs as (needs the SSH keys or vault password of the inventories).",
        "roles": ["compliance_schedule"],
    },
    "compliance_schedule_success_exit_statuses": {
        "type": "list",
        "elements": "int",
        "default": [0],
        "description": "Exit statuses the systemd unit treats as success.",
        "roles": ["compliance_schedule"],
    },
    "compliance_schedule_extra_args": {
        "type": "list",
        "elements": "str",
        "default": [],
        "description": "Extra ansible-playbook options (for example --vault-password-file=...).",
        "roles": ["compliance_schedule"],
    },
    "compliance_schedule_environment": {
        "type": "dict",
        "default": {},
        "description": "Environment variables for the systemd service.",
        "roles": ["compliance_schedule"],
    },
    "compliance_schedule_name": {
        "type": "str",
        "default": "tabops-compliance",
        "description": "Name of the units and of the cron file.",
        "roles": ["compliance_schedule"],
    },
    "compliance_schedule_state": {
        "type": "str",
        "choices": ["present", "absent"],
        "default": "present",
        "description": "Install or remove the schedule.",
        "roles": ["compliance_schedule"],
    },
}
