# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Semantic diff: what two documents of the same kind say differently, secrets masked."""

from __future__ import annotations

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._secrets import REDACTED
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._errors import TableauXmlError
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._oauth_config import _read_oauth_tree
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._oauth_schema import (
    _LIST,
    _MAP,
    OAUTH_SCHEMA,
    SECRET_FIELDS,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._safe_parse import (
    _kind_of,
    safe_fromstring,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._tdc import _read_tdc_tree


def _diff_value(path, expected, actual, differences):
    if expected != actual:
        differences.append({"path": path, "expected": expected, "actual": actual})


def _diff_maps(field, expected, actual, differences):
    for key in sorted(set(expected) | set(actual)):
        _diff_value(f"{field}.{key}", expected.get(key), actual.get(key), differences)


def diff_documents(expected_text, actual_text):
    """Differences in meaning between two documents of the same kind: [{"path", "expected", "actual"}].

    Whitespace, comments, the XML declaration, attribute order and quoting, and the order of capabilities,
    response-map entries, scopes, redirect URIs, required attributes and TDC customizations do not count.
    Secret fields that differ are reported with REDACTED on both sides. Schema problems (element order,
    duplicates, unknown elements) that only one side has are reported under the path "schema".
    """
    expected_root = safe_fromstring(expected_text)
    actual_root = safe_fromstring(actual_text)
    kind = _kind_of(expected_root)
    if _kind_of(actual_root) != kind:
        raise TableauXmlError(f"document: cannot compare <{expected_root.tag}> with <{actual_root.tag}>")
    differences = []
    if kind == "oauth_config":
        expected, expected_lossy, expected_schema = _read_oauth_tree(expected_root)
        actual, actual_lossy, actual_schema = _read_oauth_tree(actual_root)
        for field, _element, field_kind, _low, _high in OAUTH_SCHEMA:
            if field_kind == _MAP:
                _diff_maps(field, expected[field], actual[field], differences)
            elif field_kind == _LIST:
                _diff_value(field, sorted(expected[field]), sorted(actual[field]), differences)
            elif field in SECRET_FIELDS:
                if expected[field] != actual[field]:
                    differences.append({"path": field, "expected": REDACTED, "actual": REDACTED})
            else:
                _diff_value(field, expected[field], actual[field], differences)
    else:
        expected, expected_lossy, expected_schema = _read_tdc_tree(expected_root)
        actual, actual_lossy, actual_schema = _read_tdc_tree(actual_root)
        for field in ("class", "vendor", "driver", "version", "enabled"):
            _diff_value(field, expected[field], actual[field], differences)
        _diff_maps("customizations", expected["customizations"], actual["customizations"], differences)
    expected_structure = sorted(expected_lossy + expected_schema)
    actual_structure = sorted(actual_lossy + actual_schema)
    _diff_value("schema", expected_structure, actual_structure, differences)
    return differences
