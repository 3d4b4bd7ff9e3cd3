# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT

from __future__ import annotations

DOCUMENTATION = r"""
name: tableau_xml_diff
short_description: Differences in meaning between two Tableau OAuth config or TDC documents
version_added: 1.0.0
author: tabops contributors
description:
  - Compares two documents of the same kind (both C(pluginOAuthConfig) or both C(connection-customization)) and lists
    what differs in meaning.
  - "Not counted: whitespace, comments, the XML declaration, attribute order and quote style, and the order of
    entries whose order carries no meaning: capabilities, response-map entries, scopes, redirect URIs (Tableau tries
    the listed ports; every one must be allow-listed on the IdP, so the set is what matters), required attributes
    and TDC customizations."
  - "Paths: single fields by snake_case name (V(auth_uri), V(label), V(vendor), V(enabled), ...); list fields
    (V(scopes), V(redirect_uris_desktop), V(required_auth_attrs), V(required_refresh_attrs)) as one difference holding
    both sorted lists; map entries as V(capabilities.KEY), V(access_token_response_maps.KEY),
    V(refresh_token_response_maps.KEY), V(customizations.NAME), with V(null) for a missing entry. Schema problems
    (element order, duplicates, unknown elements) that the two documents do not share are reported under V(schema)."
  - A differing client secret is reported with V([redacted]) for both values.
  - Both documents are parsed safely. DTDs, entities and documents over 256 KiB are refused, as are malformed XML
    and documents of different kinds.
positional: _input, actual
options:
  _input:
    description: The expected document (for example the rendered one).
    type: string
    required: true
  actual:
    description: The actual document (for example the file found on a host).
    type: string
    required: true
seealso:
  - plugin: tabops.redshift_oauth.oauth_config_xml
    plugin_type: filter
  - plugin: tabops.redshift_oauth.tdc_xml
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Report drift of an installed OAuth config
  ansible.builtin.debug:
    msg: "{{ rendered_xml | tabops.redshift_oauth.tableau_xml_diff(installed.content | b64decode) }}"
  # [{"path": "capabilities.OAUTH_CAP_REQUIRE_PKCE", "expected": true, "actual": false}]
"""

RETURN = r"""
_value:
  description: The differences, sorted by the document's field order; empty when the documents mean the same.
  type: list
  elements: dict
  contains:
    path:
      description: What differs.
      type: str
    expected:
      description: The value in the first document (V(null) when missing, V([redacted]) for secrets).
      type: raw
    actual:
      description: The value in the second document (V(null) when missing, V([redacted]) for secrets).
      type: raw
"""


from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import (
    diff_documents,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._filter_errors import (
    COLLECTION_PREFIX,
    filter_errors,
    require_type,
)

NAME = COLLECTION_PREFIX + "tableau_xml_diff"


def tableau_xml_diff(expected, actual):
    for name, value in (("expected", expected), ("actual", actual)):
        require_type(NAME, value, (str, bytes), f"{name} must be XML text")
    with filter_errors(NAME):
        return diff_documents(expected, actual)


class FilterModule:
    """Compare Tableau XML documents by meaning."""

    def filters(self):
        return {"tableau_xml_diff": tableau_xml_diff}
