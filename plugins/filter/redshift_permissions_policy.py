# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
# Copyright: tabops contributors
# MIT License (see LICENSE)

DOCUMENTATION = r"""
name: redshift_permissions_policy
short_description: The Redshift permissions policy of the role Tableau's OAuth tokens assume
version_added: 0.1.0
description:
  - Builds the IAM identity policy for Redshift IAM OAuth (Tableau's AssumeRoleWithWebIdentity flow).
  - With O(_input.group_federation=false) it allows C(redshift:GetClusterCredentials) on the dbname, dbuser and
    cluster resources (dbuser C(${redshift:DbUser}) when the user name comes from the token), with an optional
    C(aws:userid) condition, C(redshift:CreateClusterUser) when O(_input.auto_create), and C(redshift:JoinGroup)
    on each group.
  - With O(_input.group_federation=true) it allows C(redshift:GetClusterCredentialsWithIAM) on the dbname resources.
  - With O(_input.serverless=true) it allows C(redshift-serverless:GetCredentials) on the workgroups.
  - C(redshift:DescribeClusters) and C(iam:ListRoles) on C(*) are added unless O(_input.describe_clusters=false).
  - The result is checked to be a well-formed policy and to fit IAM's managed-policy limit (6,144 characters
    without whitespace). A single action or resource is a string, several a list; statements, actions and
    resources keep a fixed order, so the output is deterministic.
  - A spec mirroring the Tableau help page reproduces the help page's example policy (see docs/iam.md).
positional: _input
options:
  _input:
    description: The policy spec.
    type: dict
    required: true
    suboptions:
      partition:
        description: The AWS partition.
        type: str
        default: aws
      region:
        description: The cluster's region (C(*) allowed).
        type: str
        required: true
      account:
        description: The cluster's 12-digit account id, quoted.
        type: str
        required: true
      cluster:
        description: One cluster identifier (or C(*)); exclusive with O(_input.clusters).
        type: str
      clusters:
        description: Cluster identifiers (wildcards allowed).
        type: list
        elements: str
      db_users:
        description: Database user names, wildcards and policy variables allowed.
        type: list
        elements: str
        default: ["${redshift:DbUser}"]
      db_names:
        description: Database names (needed with group federation; C(*) for any).
        type: list
        elements: str
        default: []
      db_groups:
        description: Database groups the user may join (JoinGroup).
        type: list
        elements: str
        default: []
      auto_create:
        description: Allow CreateClusterUser (the driver's AutoCreate).
        type: bool
        default: false
      group_federation:
        description: The connection uses group federation (GetClusterCredentialsWithIAM).
        type: bool
        default: false
      serverless:
        description: Redshift Serverless (GetCredentials on workgroups).
        type: bool
        default: false
      workgroup_ids:
        description: Serverless workgroup ids (not names), or C(*).
        type: list
        elements: str
        default: []
      userid_condition:
        description:
          - Adds C(aws:userid) = C(ROLE_UNIQUE_ID:${redshift:DbUser}SUFFIX) to the GetClusterCredentials statement.
          - Only holds if the driver's role session name equals the DbUser plus the suffix; see
            P(tabops.redshift_oauth.redshift_iam_lint#filter).
        type: dict
        suboptions:
          role_unique_id:
            description: The role's unique id (C(AROA...)).
            type: str
            required: true
          suffix:
            description: Text after the user name, for example C(@example.com).
            type: str
            default: ""
          operator:
            description: The condition operator.
            type: str
            choices: [StringEquals, StringLike]
            default: StringEquals
      include_cluster_resource:
        description: List the cluster ARN among the GetClusterCredentials resources.
        type: bool
        default: true
      describe_clusters:
        description: Add the DescribeClusters / ListRoles statement; defaults to true except for serverless.
        type: bool
      statement_ids:
        description: Give each statement a C(Sid); off so that the help page's example matches exactly.
        type: bool
        default: false
"""

EXAMPLES = r"""
- name: The policy of the Tableau help page's example
  ansible.builtin.copy:
    dest: /tmp/redshift-permissions.json
    content: >-
      {{ {'region': 'us-west-1', 'account': '123456789012', 'cluster': 'cluster-identifier',
          'db_names': ['dev'], 'auto_create': true, 'db_groups': ['my_dbgroup'],
          'userid_condition': {'role_unique_id': 'AROAJ2UCCR6DPCEXAMPLE', 'suffix': '@example.com'}}
         | tabops.redshift_oauth.redshift_permissions_policy | to_nice_json }}
  delegate_to: localhost

- name: Group federation
  ansible.builtin.set_fact:
    redshift_policy: >-
      {{ {'region': 'eu-west-1', 'account': '123456789012', 'cluster': 'analytics', 'db_names': ['*'],
          'group_federation': true} | tabops.redshift_oauth.redshift_permissions_policy }}
"""

RETURN = r"""
_value:
  description: The IAM policy document (C(Version) 2012-10-17 and C(Statement)).
  type: dict
"""

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._filter_errors import filter_errors
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._redshift_iam import (
    redshift_permissions_policy as _redshift_permissions_policy,
)


def redshift_permissions_policy(spec):
    with filter_errors("redshift_permissions_policy"):
        return _redshift_permissions_policy(spec)


class FilterModule:
    def filters(self):
        return {"redshift_permissions_policy": redshift_permissions_policy}
