# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT

DOCUMENTATION = r"""
name: tableau_host_profile
short_description: What a host runs, by the collection's one rule
version_added: 0.2.0
description:
  - The applications (the union of the host's groups C(tableau_server) -> server, C(tableau_bridge) -> bridge,
    C(tableau_desktop) -> desktop and prep, and C(tabops_applications)), the OS family (C(tabops_os_family), else the
    C(os_family) fact, else Windows for winrm/psrp/powershell connections, else Linux), the users, the folders the
    collection manages, whether the host is a Tableau Server node and whether it is the tsm node
    (C(tabops_tsm_node), else the first host of C(tableau_server_initial)).
  - The same function the C(tableau_files) action, the preflight's fleet plan and compliance use.
positional: _input
options:
  _input:
    description: The host's inventory name.
    type: str
    required: true
  host_vars:
    description: The host's variables (C(hostvars[inventory_hostname])); unset ones take the data model's defaults.
    type: raw
    required: true
  groups:
    description: C(groups).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Show what this host runs
  ansible.builtin.debug:
    msg: "{{ inventory_hostname | tabops.redshift_oauth.tableau_host_profile(hostvars[inventory_hostname], groups) }}"
"""

RETURN = r"""
_value:
  description: The profile.
  type: dict
  contains:
    applications:
      description: Any of C(server), C(desktop), C(prep), C(bridge), in this order.
      type: list
      elements: str
    os_family:
      description: The OS family used for the path layout.
      type: str
    layout_family:
      description: C(Linux), C(Darwin) or C(Windows).
      type: str
    desktop_users:
      description: Users whose Desktop and Prep repositories are managed (empty unless the host runs them).
      type: list
      elements: str
    bridge_user:
      description: The user Bridge runs as (empty unless the host runs Bridge).
      type: str
    is_server:
      description: Whether the host is a Tableau Server node.
      type: bool
    is_tableau_host:
      description: Whether the host runs any Tableau application.
      type: bool
    tsm_node:
      description: The node tsm runs on (empty when none).
      type: str
    is_tsm_node:
      description: Whether this host is it.
      type: bool
    folders:
      description: The folders the collection manages on the host (the module's C(folders)).
      type: list
      elements: dict
    problems:
      description: What keeps the folders from being laid out.
      type: list
      elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._filter_errors import filter_errors
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._profile import (
    CONTEXT_VARS,
    DEFAULTS,
    host_profile,
)


def tableau_host_profile(host, host_vars, groups):
    if not isinstance(host, str) or not host:
        raise AnsibleFilterError("tableau_host_profile: input must be a host name")
    with filter_errors("tableau_host_profile: host %s" % host, TypeError, ValueError, AttributeError):
        values = {name: host_vars[name] for name in (*DEFAULTS, *CONTEXT_VARS) if name in host_vars}
        return host_profile(host, values, dict(groups))


class FilterModule:
    def filters(self):
        return {"tableau_host_profile": tableau_host_profile}
