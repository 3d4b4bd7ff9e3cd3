# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""TDC (``connection-customization``) documents: normalize, validate, render, parse.

Shape and the built-in connector rule (vendor and driver names equal the class): docs/sources.md, "TDC files".
"""

from __future__ import annotations

import re

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._errors import (
    TableauXmlError,
    raise_problems,
    without_problems,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._safe_parse import (
    MAX_DOCUMENT_BYTES,
    TDC_ROOT,
    _root_of_kind,
    _stray_text,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._text import (
    _SAFE_CLASS,
    _comment,
    _comment_checked,
    _escape_attribute,
    _norm_scalar,
    _quote,
    _text_problem,
    _to_bool,
)

# Built-in connector classes whose vendor and driver names equal the class (docs/sources.md, "TDC files").
BUILTIN_CONNECTOR_CLASSES = frozenset(
    {
        "redshift",
        "postgres",
        "snowflake",
        "sqlserver",
        "oracle",
        "mysql",
        "athena",
        "bigquery",
        "databricks",
        "saphana",
        "teradata",
        "vertica",
        "greenplum",
        "exasol",
        "presto",
    }
)
TDC_FIELDS = ("class", "vendor", "driver", "version", "enabled", "customizations")


def _tdc_subject(spec):
    tdc_class = spec.get("class") if isinstance(spec, dict) else None
    if isinstance(tdc_class, str) and tdc_class.strip():
        return f"tdc {_quote(tdc_class.strip())}"
    return "tdc (no class)"


def _normalize_tdc(spec):
    problems = []
    result = {"class": None, "vendor": None, "driver": None, "version": "10.0", "enabled": True, "customizations": {}}
    if not isinstance(spec, dict):
        return result, [f"spec: must be a mapping (got {type(spec).__name__})"]
    problems.extend(f"{key}: unknown field" for key in sorted(str(key) for key in spec if key not in TDC_FIELDS))
    tdc_class = spec.get("class", "redshift")
    result["class"] = _norm_scalar("class", "redshift" if tdc_class is None else tdc_class, problems)
    for field in ("vendor", "driver"):
        result[field] = _norm_scalar(field, spec.get(field), problems) or result["class"]
    version = spec.get("version")
    if isinstance(version, float):
        version = repr(version)
    if version is not None:
        result["version"] = _norm_scalar("version", version, problems) or "10.0"
    enabled = spec.get("enabled")
    if enabled is not None:
        flag = _to_bool(enabled)
        if flag is None:
            problems.append(f"enabled: must be a boolean (got {_quote(enabled)})")
        else:
            result["enabled"] = flag
    customizations = spec.get("customizations")
    if customizations is not None:
        if not isinstance(customizations, dict):
            problems.append(
                f"customizations: must be a mapping of name to string value (got {type(customizations).__name__})"
            )
        else:
            for raw_name, raw_value in customizations.items():
                if not isinstance(raw_name, str) or not raw_name.strip():
                    problems.append(f"customizations: names must be non-empty strings (got {_quote(raw_name)})")
                    continue
                name = raw_name.strip()
                field = f"customizations.{name}"
                if name in result["customizations"]:
                    problems.append(f"{field}: given more than once")
                    continue
                if not isinstance(raw_value, str):
                    hint = " (quote it: YAML reads yes/no as booleans)" if isinstance(raw_value, bool) else ""
                    problems.append(f"{field}: value must be a string, got {type(raw_value).__name__}{hint}")
                    continue
                problem = _text_problem(field, name) or _text_problem(field, raw_value)
                if problem:
                    problems.append(problem)
                    continue
                result["customizations"][name] = raw_value.strip()
    return result, problems


def normalize_tdc(spec):
    """The TDC spec checked and filled in; raise TableauXmlError naming its class and every problem."""
    return without_problems(*_normalize_tdc(spec), _tdc_subject(spec))


def _validate_normalized_tdc(spec):
    errors, warnings = [], []
    if spec["class"] is None:
        errors.append("class: required")
    elif not _SAFE_CLASS.match(spec["class"]):
        errors.append(f"class: only letters, digits, '_', '.', '-' allowed (got {_quote(spec['class'])})")
    if spec["version"] is not None and not re.match(r"^[0-9]+(\.[0-9]+)*$", spec["version"]):
        errors.append(f"version: must look like 10.0 (got {_quote(spec['version'])})")
    for name in sorted(spec["customizations"]):
        if not _SAFE_CLASS.match(name):
            errors.append(f"customizations.{name}: names are letters, digits, '_', '.', '-'")
    if spec["class"] in BUILTIN_CONNECTOR_CLASSES:
        for field in ("vendor", "driver"):
            if spec[field] != spec["class"]:
                warnings.append(
                    f"{field}: {_quote(spec[field])} differs from class {_quote(spec['class'])}; "
                    "built-in connectors use the class name, so Tableau may not apply this TDC"
                )
    return errors, warnings


def validate_tdc(spec):
    """(errors, warnings) for a TDC spec or parsed TDC document."""
    normalized, problems = _normalize_tdc(spec)
    errors, warnings = _validate_normalized_tdc(normalized)
    return problems + errors, warnings


def render_tdc(spec, managed_comment=None):
    normalized, problems = _normalize_tdc(spec)
    errors, _warnings = _validate_normalized_tdc(normalized)
    subject = _tdc_subject(normalized if normalized.get("class") else spec)
    raise_problems(problems + errors, subject)
    attributes = " ".join(
        f"{name}='{_escape_attribute(value)}'"
        for name, value in (
            ("class", normalized["class"]),
            ("enabled", "true" if normalized["enabled"] else "false"),
            ("version", normalized["version"]),
        )
    )
    lines = [f"<{TDC_ROOT} {attributes}>"]
    lines.append(f"  <vendor name='{_escape_attribute(normalized['vendor'])}' />")
    lines.append(f"  <driver name='{_escape_attribute(normalized['driver'])}' />")
    if normalized["customizations"]:
        lines.append("  <customizations>")
        for name in sorted(normalized["customizations"]):
            value = normalized["customizations"][name]
            lines.append(f"    <customization name='{_escape_attribute(name)}' value='{_escape_attribute(value)}' />")
        lines.append("  </customizations>")
    else:
        lines.append("  <customizations />")
    lines.append(f"</{TDC_ROOT}>")
    comment = _comment(_comment_checked(managed_comment, subject))
    text = "<?xml version='1.0' encoding='utf-8' ?>\n" + comment + "\n".join(lines) + "\n"
    if len(text.encode("utf-8")) > MAX_DOCUMENT_BYTES:
        raise TableauXmlError(f"document: larger than {MAX_DOCUMENT_BYTES} bytes", subject)
    return text


def _read_tdc_tree(root):
    spec = {"class": None, "vendor": None, "driver": None, "version": None, "enabled": None, "customizations": {}}
    lossy, schema = [], []
    for name in ("class", "version"):
        value = (root.get(name) or "").strip()
        spec[name] = value or None
    enabled = root.get("enabled")
    if enabled is not None:
        flag = _to_bool(enabled)
        spec["enabled"] = enabled.strip() if flag is None else flag
    extra = sorted(set(root.attrib) - {"class", "version", "enabled"})
    if extra:
        schema.append(f"{TDC_ROOT}: unexpected attributes {', '.join(extra)}")
    if _stray_text(root):
        schema.append(f"{TDC_ROOT}: text outside elements is not allowed")
    seen = set()
    for child in root:
        if child.tag in ("vendor", "driver"):
            if child.tag in seen:
                lossy.append(f"{child.tag}: <{child.tag}> appears more than once")
                continue
            seen.add(child.tag)
            spec[child.tag] = (child.get("name") or "").strip() or None
        elif child.tag == "customizations":
            if child.tag in seen:
                lossy.append("customizations: <customizations> appears more than once")
                continue
            seen.add(child.tag)
            for index, item in enumerate(child):
                name = (item.get("name") or "").strip()
                if item.tag != "customization" or not name or item.get("value") is None:
                    lossy.append(f"customizations: item {index + 1} must be <customization name=.. value=.. />")
                    continue
                if name in spec["customizations"]:
                    lossy.append(f"customizations.{name}: duplicated")
                    continue
                spec["customizations"][name] = item.get("value").strip()
        else:
            lossy.append(f"{child.tag}: unknown element")
    return spec, lossy, schema


def parse_tdc(xml_text):
    """Read a ``connection-customization`` document into the TDC dict shape (missing parts are None)."""
    spec, lossy, _schema = _read_tdc_tree(_root_of_kind(xml_text, "tdc"))
    raise_problems(lossy, _tdc_subject(spec))
    return spec
