# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
# Copyright: tabops contributors
# MIT License (see LICENSE)

DOCUMENTATION = r"""
name: tableau_host_files
short_description: Plan the OAuth config and TDC files one host needs
version_added: 0.1.0
description:
  - Renders every declared OAuth config and TDC file that applies to a host and
    says where each goes, for the applications the host runs (Tableau Server,
    Desktop, Prep, Bridge), for each managed user, with per-OS path defaults.
  - The result is the input of the C(tabops.redshift_oauth.tableau_files)
    module, which syncs a host's whole set of files in one call.
  - All problems in the data are reported together, each naming the config or
    TDC entry it came from.
positional: _input
options:
  _input:
    description: Ignored placeholder; pass C(none) or the host name.
    type: raw
    required: true
  oauth_configs:
    description: The declared OAuth configs (C(tabops_oauth_configs)), each with C(install_on).
    type: list
    elements: dict
    default: []
  tdc_files:
    description: The declared TDC files (C(tabops_tdc_files)), each with C(name) and C(install_on).
    type: list
    elements: dict
    default: []
  applications:
    description: What the host runs; any of C(server), C(desktop), C(prep), C(bridge).
    type: list
    elements: str
    required: true
  desktop_users:
    description: Users whose Desktop and Prep repositories are managed.
    type: list
    elements: str
    default: []
  bridge_user:
    description: The user Tableau Bridge runs as (its repository is in this user's home).
    type: str
    default: root
  os_family:
    description: Ansible's C(os_family) fact; C(Windows) and C(Darwin) select their layouts, anything else Linux.
    type: str
    default: Linux
  layout:
    description:
      - Overrides of the per-OS path templates, keys C(user_home), C(root_home),
        C(desktop_repository), C(prep_repository), C(bridge_repository),
        C(server_data_dir), C(user_group). Templates may use C({user}) and C({home}).
    type: dict
    default: {}
  server_services:
    description: Tableau Server services whose C(Datasources) folder gets the server TDC files.
    type: list
    elements: str
    default: [vizqlserver, backgrounder, dataserver]
  managed_comment:
    description: A comment put at the top of every rendered file (for example C(ansible_managed)).
    type: str
"""

EXAMPLES = r"""
- name: Plan this host's Tableau files
  ansible.builtin.set_fact:
    host_files: >-
      {{ inventory_hostname | tabops.redshift_oauth.tableau_host_files(
           oauth_configs=tabops_oauth_configs, tdc_files=tabops_tdc_files,
           applications=['desktop', 'prep'], desktop_users=['analyst1'],
           os_family=ansible_facts['os_family'] | default('Linux')) }}
"""

RETURN = r"""
_value:
  description: The files and the folders that hold them.
  type: dict
  contains:
    files:
      description: One entry per file, C(path), C(content), C(kind), C(owner), C(group), C(mode), C(application), C(artifact).
      type: list
      elements: dict
    folders:
      description: The folders the collection manages on the host, each C(path), C(kind), C(application), C(owner), C(group), C(mode).
      type: list
      elements: dict
    managed_dirs:  # deprecated
      description: The deprecated name of C(folders) (the same list), removed in release 2.0.0.
      type: list
      elements: dict
"""

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._filter_errors import filter_errors
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._files import plan_host_files


def _planned_host_files(_input, applications, oauth_configs=None, tdc_files=None, **kwargs):
    host = f"host {_input}: " if isinstance(_input, str) and _input else ""
    with filter_errors(host + "tableau_host_files", TypeError):
        return plan_host_files(
            oauth_configs=oauth_configs or [],
            tdc_files=tdc_files or [],
            applications=applications,
            **kwargs,
        )


# The old name of the folders key, kept until 2.0.0: deprecated (a filter cannot warn per read).
DEPRECATED_FOLDERS_KEY = "managed_dirs"


def tableau_host_files(_input, *args, **kwargs):
    """The planned files and folders, and the folders again under their deprecated key."""
    planned = _planned_host_files(_input, *args, **kwargs)
    return dict(planned, **{DEPRECATED_FOLDERS_KEY: planned["folders"]})


class FilterModule:
    def filters(self):
        return {"tableau_host_files": tableau_host_files}
