# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
# Copyright: tabops contributors
# MIT License (see LICENSE)

DOCUMENTATION = r"""
name: arn_parse
short_description: Split an AWS ARN into its parts, strictly
version_added: 0.1.0
description:
  - Parses C(arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE) and checks every part.
  - The whole string must be the ARN (anchored); no whitespace or control characters anywhere.
  - The partition must be one of C(aws), C(aws-cn), C(aws-us-gov), C(aws-iso), C(aws-iso-b),
    C(aws-iso-e), C(aws-iso-f), C(aws-eusc), and the region must match that partition's region pattern
    (botocore's C(partitions.json)). IAM and STS ARNs have an empty region.
  - The account is exactly 12 digits and stays a string, so leading zeros are kept.
  - Redshift C(cluster), C(dbuser), C(dbgroup), C(dbname), redshift-serverless C(workgroup), IAM C(role) and
    C(oidc-provider) and STS C(assumed-role) resources are checked further (names, paths, ids).
  - C(*), C(?) and policy variables such as C(${redshift:DbUser}) are accepted only with O(allow_wildcards=true),
    as IAM policy resources use them.
  - Unlike C(amazon.aws)'s loose C(parse_aws_arn), an error says which part is wrong and why.
positional: _input
options:
  _input:
    description: The ARN.
    type: str
    required: true
  allow_wildcards:
    description: Accept wildcards and policy variables in the region, account and resource (policy resources).
    type: bool
    default: false
seealso:
  - plugin: tabops.redshift_oauth.redshift_arn
    plugin_type: filter
  - plugin: tabops.redshift_oauth.iam_role_arn
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Take the account out of a role ARN (leading zeros kept)
  ansible.builtin.debug:
    msg: "{{ ('arn:aws:iam::012345678901:role/tableau/redshift-oauth' | tabops.redshift_oauth.arn_parse).account }}"
  # => "012345678901"

- name: Check a policy resource
  ansible.builtin.assert:
    that:
      - >-
        ('arn:aws:redshift:us-west-1:123456789012:dbuser:examplecluster/${redshift:DbUser}'
        | tabops.redshift_oauth.arn_parse(allow_wildcards=true)).resource_type == 'dbuser'
"""

RETURN = r"""
_value:
  description: The ARN's parts.
  type: dict
  contains:
    partition:
      description: The partition, for example C(aws) or C(aws-us-gov).
      type: str
    service:
      description: The service namespace, for example C(redshift) or C(iam).
      type: str
    region:
      description: The region; empty for IAM and STS.
      type: str
    account:
      description: The 12-digit account id, as a string.
      type: str
    resource:
      description: Everything after the account.
      type: str
    resource_type:
      description: The resource text before its first C(:) or C(/) (C(role), C(cluster), C(dbuser)...); empty when it has neither.
      type: str
    resource_id:
      description: The resource text after the type; may itself hold C(:) and C(/).
      type: str
"""

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._aws_arn import arn_parse as _arn_parse
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._filter_errors import filter_errors


def arn_parse(arn, allow_wildcards=False):
    with filter_errors("arn_parse"):
        return _arn_parse(arn, allow_wildcards=bool(allow_wildcards))


class FilterModule:
    def filters(self):
        return {"arn_parse": arn_parse}
