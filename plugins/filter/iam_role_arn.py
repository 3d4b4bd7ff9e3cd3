# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
# Copyright: tabops contributors
# MIT License (see LICENSE)

DOCUMENTATION = r"""
name: iam_role_arn
short_description: Build an IAM role ARN
version_added: 0.1.0
description:
  - Builds C(arn:PARTITION:iam::ACCOUNT:role/PATH/NAME) (IAM ARNs have no region).
  - The role name is 1-64 characters of letters, digits and C(_+=,.@-); the path starts and ends with C(/).
positional: _input
options:
  _input:
    description: The 12-digit account id, quoted so YAML keeps leading zeros.
    type: str
    required: true
  name:
    description: The role name.
    type: str
    required: true
  path:
    description: The role path, C(/) or C(/some/path/).
    type: str
    default: /
  partition:
    description: The AWS partition.
    type: str
    default: aws
"""

EXAMPLES = r"""
- name: The role Tableau's tokens assume
  ansible.builtin.debug:
    msg: "{{ '123456789012' | tabops.redshift_oauth.iam_role_arn(name='tableau-redshift', path='/tableau/') }}"
  # => arn:aws:iam::123456789012:role/tableau/tableau-redshift
"""

RETURN = r"""
_value:
  description: The role ARN.
  type: str
"""

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._aws_arn import ArnError
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._aws_arn import iam_role_arn as _iam_role_arn
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._filter_errors import filter_errors


def iam_role_arn(account, name=None, path="/", partition="aws"):
    with filter_errors("iam_role_arn"):
        if name is None:
            raise ArnError("name (the role name) is required", "name")
        return _iam_role_arn(account, name, path=path, partition=partition)


class FilterModule:
    def filters(self):
        return {"iam_role_arn": iam_role_arn}
