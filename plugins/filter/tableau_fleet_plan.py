# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT

DOCUMENTATION = r"""
name: tableau_fleet_plan
short_description: Check the declared state of every host and plan each host's Tableau files, once per run
version_added: 0.2.0
description:
  - Used by the preflight's single C(run_once) task. For every host of the input list it works out what the host
    runs (the one C(host_profile) of the collection), checks every variable of the data model (docs/data-model.md)
    naming the field and the hosts, runs the fleet-wide consistency rules (the C(preflight_findings) rules), renders
    each distinct OAuth config and TDC once, and lays out every host's files.
  - It also checks the preflight role's argument spec (roles/preflight/meta/argument_specs.yml, ansible-core's
    validator) instead of a C(validate_argument_spec) task per host. Hosts with the same variables (the usual
    group_vars fleet) are checked, profiled and laid out once per distinct set of values.
  - The C(tabops.redshift_oauth.tableau_files) action of each host looks its entry up in the result (published
    with C(set_fact) as C(tabops_fleet_plan)) instead of rendering them again.
  - Variables a host does not set take the data model's defaults (the roles' defaults hold the same values).
  - The result holds rendered documents, which may hold client secrets; publish it with C(no_log).
positional: _input
options:
  _input:
    description: The hosts to plan (for example C(ansible_play_hosts_all)).
    type: list
    elements: str
    required: true
  hostvars:
    description: C(hostvars).
    type: raw
    required: true
  groups:
    description: C(groups) (the inventory's groups; C(tableau_server_initial) gives the tsm node).
    type: dict
    required: true
  host_facts:
    description:
      - Name of a variable registered on each host by C(redshift_odbc_facts) (playbooks/preflight.yml reads the hosts
        first); its findings are added. Empty reads none (the action returns them with the sync).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Plan the fleet and check the declared state (once)
  ansible.builtin.set_fact:
    tabops_fleet_plan: "{{ ansible_play_hosts_all | tabops.redshift_oauth.tableau_fleet_plan(hostvars, groups) }}"
  run_once: true
  no_log: true
"""

RETURN = r"""
_value:
  description: The fleet plan.
  type: dict
  contains:
    findings:
      description: Every finding (see the C(preflight_findings) filter), errors first, each with C(summary).
      type: list
      elements: dict
    lines:
      description: "The summary: C(preflight: N error(s), N warning(s), N info), then one line per finding."
      type: list
      elements: str
    errors:
      description: Number of error findings; any error stops the run before a host is touched.
      type: int
    documents:
      description: Each distinct rendered document, by the sha256 of its text.
      type: dict
    hosts:
      description:
        - Per host its entry, C(profile) (what it runs, its folders), C(inputs) (digest of what the plan was made
          from), C(files) (as the module's C(files), with C(sha256) instead of C(content)), C(module_args) (the
          module's other arguments, that is C(folders), the options read from the host's variables and the
          C(host_facts) request) and C(checks) (the options of the preflight rules over the facts the host returns).
        - A host whose variables have errors has its C(profile) only; one that runs no Tableau application or whose
          data cannot be laid out has no C(files) and no C(module_args).
      type: dict
    tsm:
      description:
        - The fleet's tsm intent, C(node) (as C(tsm_node)) and, when the data of the tsm node (else of the first
          Tableau Server host) is valid, C(oauth_clients) (every oauth.config.clients entry it declares, with their
          secrets), C(oauth_clients_mode) and C(allowlist_entries) (the ODBC extras allowlist entries).
      type: dict
    tsm_node:
      description: The node tsm runs on (empty when none).
      type: str
    renders:
      description: How many documents were rendered (each distinct one once).
      type: int
"""

from collections.abc import Mapping

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._filter_errors import filter_errors, require_type
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._fleet import fleet_plan
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._profile import CONTEXT_VARS, DEFAULTS
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._role_spec import spec_options

IAM_PREFIX = "redshift_iam_"


def _plain(value):
    """``value`` templated through and copied into plain dicts and lists.

    hostvars hands out lazy containers that template on access and carry the templating context: copying one
    (the argument spec validator deep-copies what it checks) copies that context, at a cost that grows with the
    fleet.
    """
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _host_vars(host_vars):
    """The variables the plan reads and the role argument spec checks, templated (hostvars templates on access)."""
    wanted = {}
    for name in dict.fromkeys((*DEFAULTS, *CONTEXT_VARS, *spec_options())):
        if name in host_vars:
            wanted[name] = _plain(host_vars[name])
    return wanted


def tableau_fleet_plan(hosts, hostvars, groups, host_facts=""):
    require_type("tableau_fleet_plan", hosts, (list, tuple), "input must be a list of host names")
    hosts_vars, facts = {}, {}
    iam_vars = {}
    for host in hosts:
        with filter_errors("tableau_fleet_plan: host %s" % host, KeyError):
            host_vars = hostvars[host]
            hosts_vars[host] = _host_vars(host_vars)
            if host_facts and host_facts in host_vars:
                facts[host] = host_vars[host_facts]
            if not iam_vars:
                iam_vars = {name: host_vars[name] for name in host_vars if str(name).startswith(IAM_PREFIX)}
    with filter_errors("tableau_fleet_plan", TypeError, ValueError, AttributeError):
        return fleet_plan(hosts_vars, dict(groups), iam_vars=iam_vars, host_facts=facts)


class FilterModule:
    def filters(self):
        return {"tableau_fleet_plan": tableau_fleet_plan}
