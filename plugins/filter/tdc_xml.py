# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT

from __future__ import annotations

DOCUMENTATION = r"""
name: tdc_xml
short_description: Render a Tableau connection customization (TDC) document
version_added: 1.0.0
author: tabops contributors
description:
  - Turns a TDC spec into the text of a C(.tdc) file (C(connection-customization)), for example the Redshift IAM
    OAuth customization C(CAP_OAUTH_FEDERATE_ACCESS_TOKEN=yes) that passes the access token instead of the ID token.
  - Deterministic. Customizations are sorted by name, and the output has no timestamps.
  - Errors name the TDC class and every offending field. A warning is shown when C(vendor) or C(driver) differ from
    the class of a built-in connector (such as V(redshift)), because Tableau expects them to be equal there.
positional: _input
options:
  _input:
    description:
      - "The spec: C(class) (default V(redshift); letters, digits, V(_), V(.), V(-)), C(vendor) and C(driver)
        (default the class), C(version) (default V(10.0)), C(enabled) (default V(true)), C(customizations)
        (dict name to string value; quote V('yes') in YAML, else YAML turns it into a boolean and the filter refuses it)."
    type: dict
    required: true
  managed_comment:
    description:
      - Text of an XML comment placed after the XML declaration, for example V(Managed by Ansible). Ignored by parsing
        and comparison. C(--) becomes C(- -).
      - C(ansible_managed) is only defined inside templates (M(ansible.builtin.template)); elsewhere pass your own text.
    type: str
seealso:
  - plugin: tabops.redshift_oauth.tdc_parse
    plugin_type: filter
  - plugin: tabops.redshift_oauth.tableau_xml_diff
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Pass the access token to the Redshift driver (on premises and Bridge)
  ansible.builtin.copy:
    dest: "{{ datasources_dir }}/redshift.tdc"
    content: >-
      {{ {'class': 'redshift', 'customizations': {'CAP_OAUTH_FEDERATE_ACCESS_TOKEN': 'yes'}}
         | tabops.redshift_oauth.tdc_xml(managed_comment='Managed by Ansible (tabops.redshift_oauth)') }}
"""

RETURN = r"""
_value:
  description: The TDC document as text, ending with a newline.
  type: string
  sample: |
    <?xml version='1.0' encoding='utf-8' ?>
    <connection-customization class='redshift' enabled='true' version='10.0'>
      <vendor name='redshift' />
      <driver name='redshift' />
      <customizations>
        <customization name='CAP_OAUTH_FEDERATE_ACCESS_TOKEN' value='yes' />
      </customizations>
    </connection-customization>
"""

from ansible.utils.display import Display

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import (
    normalize_tdc,
    render_tdc,
    validate_tdc,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._filter_errors import (
    COLLECTION_PREFIX,
    filter_errors,
    require_type,
)

display = Display()
NAME = COLLECTION_PREFIX + "tdc_xml"


def tdc_xml(spec, managed_comment=None):
    require_type(NAME, spec, dict, "input must be a dict")
    with filter_errors(NAME):
        text = render_tdc(spec, managed_comment=managed_comment)
        _errors, warnings = validate_tdc(spec)
        tdc_class = normalize_tdc(spec)["class"]
    for warning in warnings:
        display.warning(f"{NAME}: tdc {tdc_class!r}: {warning}")
    return text


class FilterModule:
    """Render Tableau TDC documents."""

    def filters(self):
        return {"tdc_xml": tdc_xml}
