# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The one place for secret masking: what a secret looks like in Tableau's documents, and how it is hidden.

Standard library only: used by host modules (invocation log, results, tsm output, isql output) and by the
controller (reports, diffs, callbacks).
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"
# Shorter strings would blank out ordinary words once Ansible masks them everywhere.
MIN_MASKABLE_SECRET_LENGTH = 4

_SECRET_ELEMENT_RE = re.compile(
    r"(<clientSecretDesktop\b[^>]*>)(.*?)(</clientSecretDesktop\s*>)",
    re.DOTALL,
)


def mask_text(text, secrets):
    """Replace every known secret in ``text`` (longest first, so overlapping secrets vanish completely)."""
    text = text or ""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def mask_xml_secrets(text):
    """Replace the content of every ``<clientSecretDesktop>`` element with REDACTED."""
    if not text:
        return text
    return _SECRET_ELEMENT_RE.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)


def xml_secret_values(text):
    """Raw secret values of the ``<clientSecretDesktop>`` elements in a document (CDATA unwrapped)."""
    found = set()
    for match in _SECRET_ELEMENT_RE.finditer(text or ""):
        value = match.group(2).strip()
        if value.startswith("<![CDATA[") and value.endswith("]]>"):
            value = value[9:-3]
        found.add(value)
    return found


def maskable(values):
    """Secret values long enough to mask everywhere without blanking ordinary words, sorted."""
    return sorted(value for value in values if value and len(value) >= MIN_MASKABLE_SECRET_LENGTH)


def content_secrets(text):
    """Secret values in a rendered document (raw and parsed form), for Ansible's no_log masking.

    The parsed form matters when the raw text escapes characters (``&amp;``, ``&quot;``, CDATA) that Ansible
    would otherwise echo decoded: both spellings are masked.
    """
    found = set(xml_secret_values(text))
    try:
        # Imported here: _tableau_xml uses this module for its own masking.
        from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import (
            document_kind,
            parse_oauth_config,
        )

        if document_kind(text) == "oauth_config":
            parsed = parse_oauth_config(text).get("client_secret_desktop")
            if parsed:
                found.add(str(parsed))
    except (ImportError, ValueError):
        pass
    return maskable(found)


def _repr_escaped(value, quote):
    out = []
    for char in value:
        if char == quote:
            out.append("\\" + char)
        elif char in "'\"":
            out.append(char)
        else:
            out.append(repr(char)[1:-1])
    return "".join(out)


def escaped_forms(secret):
    """``secret`` as it appears inside Python's repr of a containing string (either quote style), and itself.

    AnsibleModule logs list and dict parameters through ``str()``: a backslash, a quote, a newline or a
    non-printable character is then escaped, and only an escaped spelling of the secret would match the log.
    """
    forms = {secret}
    for quote in ("'", '"'):
        forms.add(_repr_escaped(secret, quote))
    return forms
