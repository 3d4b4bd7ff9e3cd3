# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Values in, XML text out: the normalization and escaping both document kinds share."""

from __future__ import annotations

import re

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._errors import TableauXmlError

_SAFE_CLASS = re.compile(r"^[A-Za-z0-9_.-]+$")
# Characters XML 1.0 cannot carry at all, plus the C0 controls that field values never need.
_BAD_TEXT_CHARS = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_BAD_COMMENT_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TRUE_WORDS = frozenset({"true", "yes"})
_FALSE_WORDS = frozenset({"false", "no"})


def _quote(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _to_bool(value):
    """Return True/False for booleans and their usual spellings, None when the value is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    return None


def _text_problem(field, value):
    """Problem with a string that must fit in an XML element, or None (never echoes the value: it may be secret)."""
    if _BAD_TEXT_CHARS.search(value):
        return f"{field}: contains control or non-XML characters"
    return None


def _norm_scalar(field, value, problems):
    """Strip strings, map '' to None, turn integers into text (numeric client ids)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        problems.append(f"{field}: must be a string (got {type(value).__name__})")
        return None
    text = str(value).strip()
    if not text:
        return None
    problem = _text_problem(field, text)
    if problem:
        problems.append(problem)
    return text


def _norm_list(field, value, problems):
    if value is None:
        return []
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, (list, tuple)):
        problems.append(f"{field}: must be a list of strings (got {type(value).__name__})")
        return []
    items = []
    for index, item in enumerate(value):
        text = _norm_scalar(f"{field}[{index}]", item, problems)
        if text is None:
            if item is not None and not (isinstance(item, str) and not item.strip()):
                continue  # type problem already recorded
            problems.append(f"{field}[{index}]: must not be empty")
            continue
        items.append(text)
    return items


def _norm_map(field, value, problems, boolean_values):
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(f"{field}: must be a mapping (got {type(value).__name__})")
        return {}
    result = {}
    for raw_key, raw_value in value.items():
        if not isinstance(raw_key, str) or not raw_key.strip():
            problems.append(f"{field}: keys must be non-empty strings (got {_quote(raw_key)})")
            continue
        key = raw_key.strip()
        if key in result:
            problems.append(f"{field}.{key}: given more than once")
            continue
        if raw_value is None:
            continue  # None deletes a preset entry
        if boolean_values:
            flag = _to_bool(raw_value)
            if flag is None:
                problems.append(f"{field}.{key}: must be a boolean (true/false/yes/no), got {_quote(raw_value)}")
                continue
            result[key] = flag
        else:
            text = _norm_scalar(f"{field}.{key}", raw_value, problems)
            if text is None:
                if isinstance(raw_value, str):
                    problems.append(f"{field}.{key}: must not be empty")
                continue
            result[key] = text
    return result


def _escape_text(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attribute(text):
    return _escape_text(text).replace("'", "&apos;").replace('"', "&quot;")


def _comment(managed_comment):
    """Render the managed-by comment; '--' cannot appear in an XML comment, so it is broken up."""
    if managed_comment is None:
        return ""
    if not isinstance(managed_comment, str):
        raise TableauXmlError(f"managed_comment: must be a string (got {type(managed_comment).__name__})")
    if _BAD_COMMENT_CHARS.search(managed_comment):
        raise TableauXmlError("managed_comment: contains characters an XML comment cannot carry")
    text = managed_comment.strip()
    while "--" in text:
        text = text.replace("--", "- -")
    if not text:
        return ""
    return f"<!-- {text} -->\n"


def _comment_checked(managed_comment, subject):
    try:
        _comment(managed_comment)
    except TableauXmlError as error:
        raise TableauXmlError(error.problems, subject) from None
    return managed_comment
