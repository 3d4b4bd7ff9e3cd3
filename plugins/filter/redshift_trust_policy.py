# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
# Copyright: tabops contributors
# MIT License (see LICENSE)

DOCUMENTATION = r"""
name: redshift_trust_policy
short_description: The trust policy that lets an IdP's tokens assume the Redshift role
version_added: 0.1.0
description:
  - Builds the role's AssumeRoleWithWebIdentity trust policy. The principal is the IdP's IAM OIDC provider
    (C(arn:PARTITION:iam::ACCOUNT:oidc-provider/HOST[/PATH])).
  - C(HOST[/PATH]:aud) must equal one of the C(client_ids), the audiences of the tokens Tableau federates (IAM
    takes the token's C(azp) claim for C(aud) when the token has one); C(HOST[/PATH]:sub) patterns are added when given (C(StringLike) when a pattern
    holds C(*) or C(?), else C(StringEquals)).
  - C(sts:TagSession) is added when the tokens carry session tags.
  - Checked to be well formed and within IAM's default trust-policy size (2,048 characters without whitespace).
positional: _input
options:
  _input:
    description: The trust policy spec.
    type: dict
    required: true
    suboptions:
      issuer_url:
        description: The IdP's issuer URL (C(iss) claim), https without port or query.
        type: str
        required: true
      account:
        description: The 12-digit account id of the role and the OIDC provider, quoted.
        type: str
        required: true
      partition:
        description: The AWS partition.
        type: str
        default: aws
      client_ids:
        description:
          - The audiences (the OIDC provider's client IDs) the tokens carry in C(aud), exact values.
          - The OAuth client id(s) for ID tokens; for access tokens (a TDC with C(CAP_OAUTH_FEDERATE_ACCESS_TOKEN))
            the access token's audience, for example V(api://default) for Okta's C(default) authorization server.
            The P(tabops.redshift_oauth.federated_token_audiences#filter) filter derives them.
        type: list
        elements: str
        required: true
      subjects:
        description: Allowed C(sub) values or patterns.
        type: list
        elements: str
        default: []
      session_tags:
        description: Also allow C(sts:TagSession).
        type: bool
        default: false
      statement_ids:
        description: Give the statement a C(Sid).
        type: bool
        default: false
"""

EXAMPLES = r"""
- name: Trust Okta tokens issued to Tableau's client
  ansible.builtin.set_fact:
    redshift_trust: >-
      {{ {'issuer_url': 'https://dev-123.okta.com/oauth2/default', 'account': '123456789012',
          'client_ids': ['0oa1example'], 'subjects': ['00u*']} | tabops.redshift_oauth.redshift_trust_policy }}
"""

RETURN = r"""
_value:
  description: The trust policy document.
  type: dict
"""

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._filter_errors import filter_errors
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._redshift_iam import (
    redshift_trust_policy as _redshift_trust_policy,
)


def redshift_trust_policy(spec):
    with filter_errors("redshift_trust_policy"):
        return _redshift_trust_policy(spec)


class FilterModule:
    def filters(self):
        return {"redshift_trust_policy": redshift_trust_policy}
