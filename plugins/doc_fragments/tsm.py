# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Options every module that runs tsm shares: where the tsm executable is."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  tsm_path:
    description: Path of the tsm executable. Default - the newest C(customer-bin.<build>/tsm) under O(tsm_packages_dir).
    type: path
  tsm_packages_dir:
    description: Tableau Server packages folder searched when O(tsm_path) is not given.
    type: path
    default: /opt/tableau/tableau_server/packages
"""
