# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Options of the modules that read the tsm settings this collection manages: their key names."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  allowlist_key:
    description: tsm key of the ODBC extras allowlist (unverified name; override when your version differs).
    type: str
    default: native_api.odbc_extras_allowlist
  oauth_clients_key:
    description: tsm key holding the server-level OAuth clients.
    type: str
    default: oauth.config.clients
"""
