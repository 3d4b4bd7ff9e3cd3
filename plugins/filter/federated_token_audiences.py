# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT

DOCUMENTATION = r"""
name: federated_token_audiences
short_description: The audiences IAM must trust for the tokens Tableau federates, derived or checked
version_added: 0.2.0
description:
  - For every OAuth config a C(tabops_redshift_connections) entry names (C(oauth_config)), works out on each host and
    application which token Tableau passes to the Redshift driver, and that token's C(aud) (the claim STS checks
    against the IAM OIDC provider's client ids and the trust policy's C(:aud) condition).
  - The ID token by default, its C(aud) the client id it was issued to (C(server_client.client_id) on Tableau Server,
    C(client_id_desktop) on Desktop, Prep and Bridge). The access token where an enabled TDC of the config's class on
    that application sets C(CAP_OAUTH_FEDERATE_ACCESS_TOKEN=yes); its C(aud) is the config's C(access_token_audience),
    else the preset's (V(okta) with the V(default) authorization server gives V(api://default)); the other presets
    do not know it and it must be declared.
  - With declared audiences (C(redshift_iam_audiences), or the deprecated C(redshift_iam_client_ids)) each token's
    C(aud) is checked against them; without, they are derived. The C(redshift_iam) role uses it; the preflight runs
    the same rules (C(iam-audience-mismatch), C(access-token-audience-undeclared)).
  - The logic is in C(plugins/plugin_utils/_token_audience.py) and C(_preflight.py); docs/iam.md explains it.
positional: _input
options:
  _input:
    description: The inventory hosts whose declared data is read (for example C(groups['all'])).
    type: list
    elements: str
    required: true
  hostvars:
    description: C(hostvars).
    type: raw
    required: true
  groups:
    description: C(groups) (a host's groups give its applications).
    type: dict
    required: true
  iam_vars:
    description: C({redshift_iam_audiences, redshift_iam_client_ids}); empty or unset values mean "derive".
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: The audiences of the IAM OIDC provider and the trust policy
  ansible.builtin.set_fact:
    iam_audiences: >-
      {{ groups['all'] | tabops.redshift_oauth.federated_token_audiences(hostvars, groups,
         {'redshift_iam_audiences': redshift_iam_audiences}) }}
  run_once: true
"""

RETURN = r"""
_value:
  description: What IAM must trust.
  type: dict
  contains:
    audiences:
      description: The declared audiences, else the derived ones (every known C(aud) of the federated tokens).
      type: list
      elements: str
    declared_by:
      description: The variable that declared them, or empty when they are derived.
      type: str
    tokens:
      description: "Each distinct federated token: C(config), C(token) (V(ID token) or V(access token)), C(aud)
        (null when it must be declared), C(source) (where C(aud) comes from, or why it is unknown), C(tdcs),
        C(applications), C(hosts)."
      type: list
      elements: dict
    findings:
      description: Error findings as the preflight's (C(iam-audience-mismatch), C(access-token-audience-undeclared)).
      type: list
      elements: dict
"""

from ansible.errors import AnsibleError

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._filter_errors import filter_errors, require_type
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._profile import variable
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._preflight import expected_audiences

_READ = {
    "applications": "tabops_applications",
    "oauth_configs": "tabops_oauth_configs",
    "tdc_files": "tabops_tdc_files",
    "redshift_connections": "tabops_redshift_connections",
}


def federated_token_audiences(hosts, hostvars, groups, iam_vars=None):
    require_type("federated_token_audiences", hosts, (list, tuple), "input must be a list of host names")
    groups = dict(groups or {})
    data = {}
    for host in hosts:
        # An undefined host, or a variable that does not template.
        with filter_errors("federated_token_audiences: host %s" % host, KeyError, AnsibleError):
            host_vars = hostvars[host]
            data[host] = {key: variable(host_vars, name) for key, name in _READ.items()}
        data[host]["groups"] = sorted(g for g, members in groups.items() if g != "all" and host in (members or []))
    with filter_errors("federated_token_audiences", TypeError, ValueError, AttributeError):
        return expected_audiences(data, dict(iam_vars or {}))


class FilterModule:
    def filters(self):
        return {"federated_token_audiences": federated_token_audiences}
