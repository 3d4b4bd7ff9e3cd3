# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""A document read from disk, of either kind: its structure problems and every rule it breaks."""

from __future__ import annotations

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._oauth_config import (
    _read_oauth_tree,
    validate_oauth_config,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._safe_parse import (
    _kind_of,
    safe_fromstring,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._tdc import (
    _read_tdc_tree,
    validate_tdc,
)


def schema_problems(xml_text):
    """Structure problems the SDK's XSD (OAuth config) or the TDC layout would reject: order, counts, unknown parts."""
    root = safe_fromstring(xml_text)
    if _kind_of(root) == "oauth_config":
        _config, lossy, schema = _read_oauth_tree(root)
    else:
        _spec, lossy, schema = _read_tdc_tree(root)
    return lossy + schema


def validate_document(xml_text):
    """(errors, warnings) for a document read from disk: schema structure plus every rule of its kind."""
    root = safe_fromstring(xml_text)
    if _kind_of(root) == "oauth_config":
        config, lossy, schema = _read_oauth_tree(root)
        return lossy + schema + validate_oauth_config(config), []
    spec, lossy, schema = _read_tdc_tree(root)
    errors, warnings = validate_tdc(spec)
    return lossy + schema + errors, warnings
