# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT

from __future__ import annotations

DOCUMENTATION = r"""
name: oauth_config_parse
short_description: Read a Tableau OAuth config (pluginOAuthConfig) XML document into a dict
version_added: 1.0.0
author: tabops contributors
description:
  - Returns the same dict shape that P(tabops.redshift_oauth.oauth_config_xml#filter) takes, normalized, so that parsing a
    rendered document gives back the normalized input.
  - Reading is not validating. Tableau's own samples (with placeholders such as C($clientID) and non-custom ids)
    are read without complaint; schema order and missing elements are tolerated.
  - Parsing is safe for files from untrusted hosts. DOCTYPE, entity declarations and external entities are refused,
    and so is input over 256 KiB. Uses C(defusedxml) when available, else the standard library's expat with the same
    refusals.
  - Fails when the dict cannot hold the document faithfully. That covers a duplicated single element such as two
    C(oauthConfigId), duplicated capability or response-map entries, unknown elements and malformed entries.
positional: _input
options:
  _input:
    description: The XML text.
    type: string
    required: true
  redact:
    description: Replace the client secret with V([redacted]) in the result, for reports.
    type: bool
    default: false
seealso:
  - plugin: tabops.redshift_oauth.oauth_config_xml
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Read the config installed on a desktop host
  ansible.builtin.slurp:
    src: "{{ oauth_configs_dir }}/custom_redshift_okta.xml"
  register: installed

- name: Show its scopes and capabilities
  ansible.builtin.debug:
    msg: "{{ (installed.content | b64decode | tabops.redshift_oauth.oauth_config_parse(redact=true)).capabilities }}"
"""

RETURN = r"""
_value:
  description:
    - Every field is present. Absent single elements are V(null), absent lists V([]), absent maps V({}).
    - Capability values V(true)/V(false) (also V(yes)/V(no)) become booleans; other values stay strings.
  type: dict
  contains:
    dbclass:
      description: "dbclass"
      type: str
    id:
      description: "oauthConfigId"
      type: str
    label:
      description: "configLabel"
      type: str
    client_id_desktop:
      description: "clientIdDesktop"
      type: str
    client_secret_desktop:
      description: "clientSecretDesktop; V([redacted]) with O(redact=true)."
      type: str
    redirect_uris_desktop:
      description: "redirectUrisDesktop entries in document order"
      type: list
      elements: str
    auth_uri:
      description: "authUri"
      type: str
    token_uri:
      description: "tokenUri"
      type: str
    userinfo_uri:
      description: "userInfoUri"
      type: str
    instance_url_suffix:
      description: "instanceUrlSuffix"
      type: str
    instance_url_validation_regex:
      description: "instanceUrlValidationRegex"
      type: str
    default_instance_url:
      description: "defaultInstanceUrl"
      type: str
    scopes:
      description: "scopes in document order"
      type: list
      elements: str
    required_auth_attrs:
      description: "requiredAuthAttrs"
      type: list
      elements: str
    required_refresh_attrs:
      description: "requiredRefreshAttrs"
      type: list
      elements: str
    capabilities:
      description: "OAUTH_CAP_* name to boolean"
      type: dict
    access_token_response_maps:
      description: "accessTokenResponseMaps"
      type: dict
    refresh_token_response_maps:
      description: "refreshTokenResponseMaps"
      type: dict
"""

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import (
    parse_oauth_config,
    redact_oauth_config,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._filter_errors import (
    COLLECTION_PREFIX,
    filter_errors,
    require_type,
)

NAME = COLLECTION_PREFIX + "oauth_config_parse"


def oauth_config_parse(xml_text, redact=False):
    require_type(NAME, xml_text, (str, bytes), "input must be XML text")
    with filter_errors(NAME):
        config = parse_oauth_config(to_text(xml_text) if isinstance(xml_text, str) else xml_text)
    return redact_oauth_config(config) if redact else config


class FilterModule:
    """Read Tableau OAuth config documents."""

    def filters(self):
        return {"oauth_config_parse": oauth_config_parse}
