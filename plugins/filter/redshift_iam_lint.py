# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
# Copyright: tabops contributors
# MIT License (see LICENSE)

DOCUMENTATION = r"""
name: redshift_iam_lint
short_description: Find the classic misconfigurations of Redshift IAM OAuth
version_added: 0.1.0
description:
  - Checks a connection's driver settings (role ARN, role session name, cluster, region, group federation...)
    against the role's permissions policy and returns findings; an empty list means nothing was found.
  - Finding codes are stable identifiers, among them C(userid-session-name-mismatch) (an C(aws:userid)
    condition the driver's role session name cannot satisfy; the v2 driver's JwtIamAuthPlugin default session
    name C(jwt_redshift_session) never matches C(${redshift:DbUser}@domain)), C(get-cluster-credentials-missing),
    C(group-federation-action-missing), C(serverless-get-credentials-missing), C(create-cluster-user-missing),
    C(join-group-missing), C(partition-mismatch), C(region-mismatch), C(account-mismatch), C(cluster-mismatch),
    C(region-not-in-partition), C(db-user-not-covered), C(db-name-not-covered), C(userid-not-role-unique-id),
    C(userid-session-name-static), C(role-arn-invalid), C(role-session-name-invalid), C(policy-missing),
    C(policy-spec-invalid), C(policy-malformed), C(policy-too-large). docs/iam.md lists them all.
  - Deny statements are not evaluated.
positional: _input
options:
  _input:
    description: The settings to check.
    type: dict
    required: true
    suboptions:
      role_arn:
        description: The connection's C(role_arn).
        type: str
      role_session_name:
        description: The connection's C(role_session_name); unset means the driver's default.
        type: str
      driver_default_session_name:
        description: The session name the driver uses when none is set.
        type: str
        default: jwt_redshift_session
      cluster_id:
        description: The connection's C(ClusterId).
        type: str
      region:
        description: The connection's C(Region).
        type: str
      account:
        description: The cluster's account; defaults to the role's.
        type: str
      partition:
        description: The partition; defaults to the role's.
        type: str
      group_federation:
        description: The connection's C(group_federation).
        type: bool
        default: false
      serverless:
        description: The connection targets Redshift Serverless.
        type: bool
        default: false
      db_user:
        description: A fixed C(DbUser) in the connection (unset when it comes from the token).
        type: str
      db_groups:
        description: The connection's C(DbGroups).
        type: list
        elements: str
      auto_create:
        description: The connection's C(AutoCreate).
        type: bool
        default: false
      database:
        description: The connection's C(Database).
        type: str
      policy:
        description: The role's permissions policy document.
        type: dict
      policy_spec:
        description: A P(tabops.redshift_oauth.redshift_permissions_policy#filter) spec, used when O(_input.policy) is not given.
        type: dict
"""

EXAMPLES = r"""
- name: Fail on errors before rolling out the connection
  vars:
    findings: >-
      {{ {'role_arn': 'arn:aws:iam::123456789012:role/tableau-redshift', 'cluster_id': 'examplecluster',
          'region': 'us-west-1', 'policy_spec': redshift_policy_spec} | tabops.redshift_oauth.redshift_iam_lint }}
  ansible.builtin.assert:
    that: findings | selectattr('severity', 'eq', 'error') | list | length == 0
    fail_msg: "{{ findings | map(attribute='message') | list }}"
"""

RETURN = r"""
_value:
  description: The findings, in a fixed order.
  type: list
  elements: dict
  contains:
    severity:
      description: C(error) (the connection will fail) or C(warning).
      type: str
    code:
      description: A stable identifier of the finding.
      type: str
    message:
      description: What is wrong, naming the values involved.
      type: str
    fix:
      description: How to fix it.
      type: str
"""

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._filter_errors import filter_errors
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._redshift_iam import (
    redshift_iam_lint as _redshift_iam_lint,
)


def redshift_iam_lint(spec):
    with filter_errors("redshift_iam_lint"):
        return _redshift_iam_lint(spec)


class FilterModule:
    def filters(self):
        return {"redshift_iam_lint": redshift_iam_lint}
