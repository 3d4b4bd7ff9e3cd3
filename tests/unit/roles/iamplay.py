# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The redshift_iam role run for real with ansible-playbook on localhost (connection=local): the playbook, its inventory
and its outcome, and the documents the role must write. The test modules say which ansible-playbook runs it."""

import json
import os
import re
import subprocess
from pathlib import Path

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._redshift_iam import (
    redshift_permissions_policy,
    redshift_trust_policy,
)

REPO = Path(__file__).resolve().parents[3]
RECAP_RE = re.compile(r"^localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)

ROLE_VARS = {
    "redshift_iam_role_name": "tableau-redshift",
    "redshift_iam_role_path": "/tableau/",
    "redshift_iam_account": "123456789012",
    "redshift_iam_region": "us-west-1",
    "redshift_iam_issuer_url": "https://dev-123.okta.com/oauth2/default",
    "redshift_iam_audiences": ["0oa1example"],
    "redshift_iam_clusters": ["cluster-identifier"],
    "redshift_iam_db_names": ["dev"],
    "redshift_iam_auto_create": True,
    "redshift_iam_db_groups": ["my_dbgroup"],
}


class Run:
    def __init__(self, completed):
        self.rc = completed.returncode
        self.output = completed.stdout + completed.stderr
        match = RECAP_RE.search(completed.stdout)
        self.ok, self.changed, self.unreachable, self.failed = (
            (int(g) for g in match.groups()) if match else (None,) * 4
        )

    def __repr__(self):
        return "rc=%s changed=%s\n%s" % (self.rc, self.changed, self.output[-4000:])


def run_role(program, python, tmp_path, role_vars, *options, env=None, fleet=None):
    """Write a playbook applying the role with ``role_vars`` and run it with ``program`` (an ansible-playbook), the
    role's tasks on ``python``; returns a Run.

    ``fleet`` is ``{group: {host: vars}}``: inventory hosts the role reads (never contacted: it runs on localhost).
    """
    playbook = tmp_path / "play.yml"
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "roles": [{"role": "tabops.redshift_oauth.redshift_iam", "vars": role_vars}],
        }
    ]
    playbook.write_text(json.dumps(play, indent=2), encoding="utf-8")
    inventory = tmp_path / "inventory.yml"
    local = {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": str(python)}}
    groups = {group: {"hosts": hosts} for group, hosts in (fleet or {}).items()}
    inventory.write_text(json.dumps({"all": {"hosts": local, "children": groups}}), encoding="utf-8")
    run_env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    run_env.update({"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1", "NO_PROXY": "127.0.0.1"})
    run_env.update(env or {})
    completed = subprocess.run(
        [str(program), "-i", str(inventory), str(playbook), *options],
        cwd=REPO,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return Run(completed)


def expected_documents(role_vars):
    permissions = redshift_permissions_policy(
        {
            "region": role_vars["redshift_iam_region"],
            "account": role_vars["redshift_iam_account"],
            "clusters": role_vars.get("redshift_iam_clusters", []),
            "db_names": role_vars.get("redshift_iam_db_names", []),
            "db_groups": role_vars.get("redshift_iam_db_groups", []),
            "auto_create": role_vars.get("redshift_iam_auto_create", False),
        }
    )
    trust = redshift_trust_policy(
        {
            "issuer_url": role_vars["redshift_iam_issuer_url"],
            "account": role_vars["redshift_iam_account"],
            "client_ids": role_vars.get("redshift_iam_audiences") or role_vars["redshift_iam_client_ids"],
        }
    )
    return permissions, trust


OKTA_CONFIG = {
    "id": "custom_redshift_okta",
    "idp": "okta",
    "idp_base_url": "https://dev-123.okta.com",
    "client_id_desktop": "0oa1desktop",
    "install_on": ["desktop"],
    "server_client": {"client_id": "0oa1server", "client_secret": "not-a-secret-role-test"},
}
ACCESS_TOKEN_TDC = {
    "name": "redshift-oauth",
    "class": "redshift",
    "customizations": {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": "yes"},
}
CONNECTION = {"name": "analytics", "oauth_config": "custom_redshift_okta", "cluster_id": "cluster-identifier"}


def fleet_with(tdc_files, config=None):
    declared = {
        "tabops_oauth_configs": [config or OKTA_CONFIG],
        "tabops_tdc_files": tdc_files,
        "tabops_redshift_connections": [CONNECTION],
    }
    return {"tableau_server": {"tsnode1": declared}, "tableau_desktop": {"desktop1": declared}}
