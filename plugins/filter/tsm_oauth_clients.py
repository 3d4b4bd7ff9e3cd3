# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
# Copyright: tabops contributors
# MIT License (see LICENSE)

DOCUMENTATION = r"""
name: tsm_oauth_clients
short_description: Tableau Server's server-level OAuth client entries from the declared configs
version_added: 0.1.0
description:
  - Turns every declared OAuth config that has a C(server_client) block into an
    entry of Tableau Server's C(oauth.config.clients) setting, id
    C(dbclass:oauthConfigId), redirect URI C(https://<server>/auth/add_oauth_token).
  - All problems are reported together, each naming the config it came from.
    Client secrets never appear in an error.
positional: _input
options:
  _input:
    description: The declared OAuth configs (C(tabops_oauth_configs)).
    type: list
    elements: dict
    required: true
  server_url:
    description: Tableau Server's public URL; gives the default redirect URI.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Server-level clients for tsm
  ansible.builtin.debug:
    msg: "{{ tabops_oauth_configs | tabops.redshift_oauth.tsm_oauth_clients(server_url='https://tableau.example.com') | map(attribute='id') }}"
"""

RETURN = r"""
_value:
  description: One entry per config with a server client, C(id), C(client_id), C(client_secret), C(redirect_uri).
  type: list
  elements: dict
"""

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._filter_errors import filter_errors
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._server_clients import (
    server_oauth_clients,
)


def tsm_oauth_clients(oauth_configs, server_url=""):
    # The problems name the config and field; no filter name in front (as before).
    with filter_errors(""):
        return server_oauth_clients(oauth_configs, server_url=server_url)


class FilterModule:
    def filters(self):
        return {"tsm_oauth_clients": tsm_oauth_clients}
