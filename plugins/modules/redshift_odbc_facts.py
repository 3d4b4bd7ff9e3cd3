#!/usr/bin/python
# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT

from __future__ import annotations

DOCUMENTATION = r"""
---
module: redshift_odbc_facts
short_description: Read which Amazon Redshift ODBC driver, Tableau Server version and OS a host has
version_added: "0.1.0"
description:
  - Looks for the Redshift ODBC driver v2 (C(/opt/amazon/redshiftodbcx64/librsodbc64.so)) and v1
    (C(/opt/amazon/redshiftodbc/lib/64/libamazonredshiftodbc64.so)) and reads each one's version, from the first
    source that has it - C(package) (the dpkg or rpm package owning the library), C(version_file) (a text file
    holding the version), C(library) (a version string in the library itself).
  - Reads the Tableau Server version (optionally from C(tsm version); otherwise from the newest
    C(customer-bin.<build>) folder, e.g. C(20242) -> C(2024.2)) and the OS from C(/etc/os-release).
  - Read-only; the same in check mode. Library paths and version files are options because the package layouts
    are only partly documented (docs/troubleshooting.md says what is verified and what inferred).
author:
  - tabops maintainers (@tabops)
options:
  drivers:
    description:
      - Overrides per generation (C(v1), C(v2)) of C(driver_name), C(libraries) (paths tried in order) and
        C(version_files).
    type: dict
    default: {}
  version_sources:
    description: Where to read a driver's version, in order.
    type: list
    elements: str
    choices: [package, version_file, library]
    default: [package, version_file, library]
  tableau_server:
    description: Also read the Tableau Server version (for server nodes).
    type: bool
    default: false
  tsm_packages_dir:
    description: Tableau Server's packages folder (holds C(customer-bin.<build>)).
    type: path
    default: /opt/tableau/tableau_server/packages
  use_tsm:
    description: Run C(tsm version) first (it contacts the TSM controller; off by default).
    type: bool
    default: false
  tsm_path:
    description: tsm to run with O(use_tsm); default the newest C(customer-bin.*/tsm).
    type: path
  os_release_path:
    description: The os-release file.
    type: path
    default: /etc/os-release
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reads only.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: Read the driver and versions
  tabops.redshift_oauth.redshift_odbc_facts:
    tableau_server: "{{ inventory_hostname in groups['tableau_server'] }}"
  register: odbc

- name: Use a driver installed elsewhere
  tabops.redshift_oauth.redshift_odbc_facts:
    drivers:
      v2:
        libraries: [/usr/local/amazon/redshiftodbcx64/librsodbc64.so]
"""

RETURN = r"""
drivers:
  description: Per generation (C(v1), C(v2)).
  returned: always
  type: dict
  contains:
    present:
      description: The library was found.
      type: bool
    library:
      description: Its path.
      type: str
    driver_name:
      description: The name the driver registers in odbcinst.ini.
      type: str
    version:
      description: The version read, or null.
      type: str
    version_source:
      description: Where it was read (C(package), C(version_file:<path>), C(library)).
      type: str
    new_enough:
      description: At least C(minimum_version) (null when the version is unknown).
      type: bool
    searched:
      description: The library paths tried.
      type: list
      elements: str
driver:
  description: The generation a test DSN should use (v2 when present and new enough, then v1, then any present), or null.
  returned: always
  type: str
tableau_server:
  description: C({version, build, source}) when O(tableau_server), else nulls.
  returned: always
  type: dict
os:
  description: C({id, version_id, name}) from os-release.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._host_facts import HostFactsError, host_facts
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._odbc import OdbcError


def main():
    module = AnsibleModule(
        argument_spec={
            "drivers": {"type": "dict", "default": {}},
            "version_sources": {
                "type": "list",
                "elements": "str",
                "choices": ["package", "version_file", "library"],
                "default": ["package", "version_file", "library"],
            },
            "tableau_server": {"type": "bool", "default": False},
            "tsm_packages_dir": {"type": "path", "default": "/opt/tableau/tableau_server/packages"},
            "use_tsm": {"type": "bool", "default": False},
            "tsm_path": {"type": "path"},
            "os_release_path": {"type": "path", "default": "/etc/os-release"},
        },
        supports_check_mode=True,
    )
    try:
        facts = host_facts(module.params, field="options")
    except HostFactsError as exc:
        # The options are this module's own: name them as the user wrote them.
        module.fail_json(msg=str(exc).replace("options.", "", 1))
    except OdbcError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **facts)


if __name__ == "__main__":
    main()
