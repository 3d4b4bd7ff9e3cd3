# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
# Copyright: tabops contributors
# MIT License (see LICENSE)

DOCUMENTATION = r"""
name: oidc_provider_arn
short_description: The IAM OIDC identity provider ARN for an issuer URL
version_added: 0.1.0
description:
  - Builds C(arn:PARTITION:iam::ACCOUNT:oidc-provider/HOST[/PATH]) from the IdP's issuer URL, the value of
    the tokens' C(iss) claim.
  - The URL must use C(https) and have no port, query, fragment or user information; the host must be
    lowercase. The path is kept as given (a trailing C(/) too, since it is part of the issuer).
positional: _input
options:
  _input:
    description: The issuer URL, for example C(https://dev-123.okta.com/oauth2/default).
    type: str
    required: true
  account:
    description: The 12-digit account id, quoted so YAML keeps leading zeros.
    type: str
    required: true
  partition:
    description: The AWS partition.
    type: str
    default: aws
"""

EXAMPLES = r"""
- name: Okta custom authorization server
  ansible.builtin.debug:
    msg: "{{ 'https://dev-123.okta.com/oauth2/default' | tabops.redshift_oauth.oidc_provider_arn(account='123456789012') }}"
  # => arn:aws:iam::123456789012:oidc-provider/dev-123.okta.com/oauth2/default
"""

RETURN = r"""
_value:
  description: The OIDC provider ARN.
  type: str
"""

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._aws_arn import ArnError
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._aws_arn import (
    oidc_provider_arn as _oidc_provider_arn,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._filter_errors import filter_errors


def oidc_provider_arn(issuer_url, account=None, partition="aws"):
    with filter_errors("oidc_provider_arn"):
        if account is None:
            raise ArnError("account is required", "account")
        return _oidc_provider_arn(issuer_url, account, partition=partition)


class FilterModule:
    def filters(self):
        return {"oidc_provider_arn": oidc_provider_arn}
