# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
# Copyright: tabops contributors
# MIT License (see LICENSE)

DOCUMENTATION = r"""
name: redshift_arn
short_description: Build a Redshift cluster, dbuser, dbgroup, dbname or serverless workgroup ARN
version_added: 0.1.0
description:
  - Builds C(arn:PARTITION:redshift:REGION:ACCOUNT:cluster:CLUSTER), C(...:dbuser:CLUSTER/USER),
    C(...:dbgroup:CLUSTER/GROUP), C(...:dbname:CLUSTER/DB) or
    C(arn:PARTITION:redshift-serverless:REGION:ACCOUNT:workgroup/WORKGROUP_ID).
  - Validates every part. Cluster identifiers are 1-63 characters, start with a lowercase letter and hold
    lowercase letters, digits and single hyphens, not ending in one. Database user and database names are
    1-64 characters, start with a letter and hold letters, digits and C(_+.@-); users and groups may not be
    C(PUBLIC). Group names are lowercase. A serverless workgroup ARN takes the workgroup's id, not its name.
positional: _input
options:
  _input:
    description: The kind of ARN.
    type: str
    required: true
    choices: [cluster, dbuser, dbgroup, dbname, serverless_workgroup]
  partition:
    description: The AWS partition.
    type: str
    default: aws
  region:
    description: The region; must belong to O(partition).
    type: str
    required: true
  account:
    description: The 12-digit account id, quoted so YAML keeps leading zeros.
    type: str
    required: true
  cluster:
    description: The cluster identifier; required except for C(serverless_workgroup).
    type: str
  name:
    description: The user, group or database name, or the workgroup id for C(serverless_workgroup).
    type: str
  allow_wildcards:
    description: Accept C(*), C(?) and policy variables such as C(${redshift:DbUser}) in the names (for policies).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: The dbuser resource of a policy, user name from the token
  ansible.builtin.debug:
    msg: >-
      {{ 'dbuser' | tabops.redshift_oauth.redshift_arn(region='us-west-1', account='123456789012',
         cluster='examplecluster', name='${redshift:DbUser}', allow_wildcards=true) }}
  # => arn:aws:redshift:us-west-1:123456789012:dbuser:examplecluster/${redshift:DbUser}

- name: A GovCloud cluster
  ansible.builtin.debug:
    msg: >-
      {{ 'cluster' | tabops.redshift_oauth.redshift_arn(partition='aws-us-gov', region='us-gov-west-1',
         account='123456789012', cluster='analytics') }}
"""

RETURN = r"""
_value:
  description: The ARN.
  type: str
"""

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._aws_arn import redshift_arn as _redshift_arn
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._filter_errors import filter_errors


def redshift_arn(kind, partition="aws", region=None, account=None, cluster=None, name=None, allow_wildcards=False):
    with filter_errors("redshift_arn(%s)" % kind):
        return _redshift_arn(
            kind,
            partition=partition,
            region=region,
            account=account,
            cluster=cluster,
            name=name,
            allow_wildcards=bool(allow_wildcards),
        )


class FilterModule:
    def filters(self):
        return {"redshift_arn": redshift_arn}
