# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
# Copyright: tabops contributors
# MIT License (see LICENSE)

DOCUMENTATION = r"""
name: preflight_findings
short_description: Cross-check the declared Redshift IAM OAuth state of a whole fleet (and its hosts' facts)
version_added: 0.1.0
description:
  - Takes every host's declared data (and, optionally, its M(tabops.redshift_oauth.redshift_odbc_facts) result)
    and returns findings, each with a severity (C(error), C(warning), C(info)), a stable C(code), a C(message)
    naming the host, config and field, and a C(fix).
  - "Declared-state rules: C(config-id-duplicate), C(connection-duplicate), C(config-id-conflict) (one id with
    different content on different hosts/groups; only field names are shown, never values),
    C(connection-conflict), C(okta-org-authorization-server), C(redirect-uri-mismatch), C(server-url-missing),
    C(server-client-same-as-desktop), C(server-client-config-not-on-clients), C(tdc-class-mismatch),
    C(connection-field-unknown), C(connection-field-missing), C(connection-oauth-config-unknown),
    C(group-federation-not-allowlisted), C(group-federation-iam-mismatch), C(connection-role-arn-mismatch),
    C(iam-not-checked), C(iam-audience-mismatch) and C(access-token-audience-undeclared) (the token Tableau
    federates for a connection's OAuth config carries an C(aud) the IAM side does not trust, or one that must be
    declared; see P(tabops.redshift_oauth.federated_token_audiences#filter)) and every
    P(tabops.redshift_oauth.redshift_iam_lint#filter) code for each connection."
  - "Host rules (from the facts): C(driver-missing), C(driver-too-old), C(driver-version-unknown), C(driver-ok),
    C(tableau-server-too-old), C(tableau-server-version-ambiguous), C(tableau-server-version-unknown),
    C(os-unsupported), C(host-unreachable)."
  - The logic is in C(plugins/plugin_utils/_preflight.py); docs/troubleshooting.md lists every code.
positional: _input
options:
  _input:
    description:
      - "C({host: data}); data has C(groups), C(applications), C(oauth_configs), C(tdc_files),
        C(group_federation), C(odbc_extras_allowlist), C(server_url), C(redshift_connections) (the values of the
        C(tabops_*) variables of that name) and optionally C(facts) (a redshift_odbc_facts result, or
        C({unreachable: true})) and C(driver_required)."
    type: dict
    required: true
  iam_vars:
    description: The C(redshift_iam_*) variables (names included); the policy spec is built from them as the
      redshift_iam role does. Without C(redshift_iam_account) and C(redshift_iam_region) no IAM lint is done.
    type: dict
    default: {}
  supported_os:
    description: "Supported OSes, C({os id: [versions]}); default the list in docs/troubleshooting.md."
    type: dict
  min_driver_versions:
    description: Minimum driver versions C({v1, v2}).
    type: dict
    default: {v1: 1.5.9, v2: 2.0.1.0}
  min_server_version:
    description: Minimum Tableau Server version.
    type: str
    default: 2023.3.2
"""

EXAMPLES = r"""
- name: Cross-check the fleet
  ansible.builtin.set_fact:
    findings: >-
      {{ {'tsnode1': {'groups': ['tableau_server'], 'oauth_configs': tabops_oauth_configs,
          'server_url': tabops_server_url}} | tabops.redshift_oauth.preflight_findings }}
"""

RETURN = r"""
_value:
  description: The findings, errors first; an empty list (or only C(info)) means nothing is wrong.
  type: list
  elements: dict
  contains:
    severity:
      description: C(error) (stops the run), C(warning) or C(info).
      type: str
    code:
      description: A stable identifier.
      type: str
    message:
      description: What is wrong, naming host, config and field.
      type: str
    fix:
      description: How to fix it.
      type: str
    host:
      description: The host, for host-level findings.
      type: str
    hosts:
      description: Every host the finding concerns (all input hosts for a fleet-wide one).
      type: list
      elements: str
    config:
      description: The OAuth config id, TDC name or connection name.
      type: str
    field:
      description: The field at fault.
      type: str
    summary:
      description: "One line: C(SEVERITY code [hosts]: message -- fix: hint)."
      type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._filter_errors import filter_errors, require_type
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._host_findings import finalize, host_findings
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._preflight import fleet_findings


def preflight_findings(hosts, iam_vars=None, supported_os=None, min_driver_versions=None, min_server_version=None):
    require_type("preflight_findings", hosts, dict, "input must be a dict {host: data}")
    for host, data in hosts.items():
        require_type("preflight_findings", data, dict, "data of host %s must be a dict" % host)
        for key in ("oauth_configs", "tdc_files", "redshift_connections"):
            value = data.get(key)
            if value is not None and (not isinstance(value, list) or not all(isinstance(item, dict) for item in value)):
                raise AnsibleFilterError("preflight_findings: host %s: tabops_%s must be a list of dicts" % (host, key))
    with filter_errors("preflight_findings", TypeError, ValueError):
        found = fleet_findings(hosts, iam_vars=iam_vars or {})
        for host in sorted(hosts):
            data = hosts[host]
            found.extend(
                host_findings(
                    host,
                    data.get("facts"),
                    driver_required=bool(data.get("driver_required", True)),
                    supported_os=supported_os,
                    min_versions=min_driver_versions,
                    min_server=min_server_version,
                )
            )
    return finalize(found, hosts)


class FilterModule:
    def filters(self):
        return {"preflight_findings": preflight_findings}
