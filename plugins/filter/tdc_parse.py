# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT

from __future__ import annotations

DOCUMENTATION = r"""
name: tdc_parse
short_description: Read a Tableau connection customization (TDC) document into a dict
version_added: 1.0.0
author: tabops contributors
description:
  - Returns the dict shape P(tabops.redshift_oauth.tdc_xml#filter) takes. Attributes and elements that are absent
    come back as V(null), so a file on a host can be compared field by field.
  - Parsing is safe for files from untrusted hosts. DOCTYPE, entity declarations and external entities are refused,
    and so is input over 256 KiB.
  - Fails on documents the dict cannot hold, such as duplicated customization names, a customization without name or
    value, or unknown elements.
positional: _input
options:
  _input:
    description: The TDC text.
    type: string
    required: true
seealso:
  - plugin: tabops.redshift_oauth.tdc_xml
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Does the installed TDC federate the access token?
  ansible.builtin.assert:
    that:
      - (tdc_text | tabops.redshift_oauth.tdc_parse).customizations.CAP_OAUTH_FEDERATE_ACCESS_TOKEN | default('no') == 'yes'
"""

RETURN = r"""
_value:
  description: The TDC as a dict.
  type: dict
  contains:
    class:
      description: The C(class) attribute.
      type: str
    vendor:
      description: The C(name) of the C(vendor) element.
      type: str
    driver:
      description: The C(name) of the C(driver) element.
      type: str
    version:
      description: The C(version) attribute.
      type: str
    enabled:
      description: The C(enabled) attribute as a boolean (left as text when it is neither true nor false).
      type: raw
    customizations:
      description: Customization name to value.
      type: dict
"""


from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import (
    parse_tdc,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._filter_errors import (
    COLLECTION_PREFIX,
    filter_errors,
    require_type,
)

NAME = COLLECTION_PREFIX + "tdc_parse"


def tdc_parse(xml_text):
    require_type(NAME, xml_text, (str, bytes), "input must be XML text")
    with filter_errors(NAME):
        return parse_tdc(xml_text)


class FilterModule:
    """Read Tableau TDC documents."""

    def filters(self):
        return {"tdc_parse": tdc_parse}
