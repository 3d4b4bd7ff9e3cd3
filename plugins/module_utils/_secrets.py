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

# The content runs to the first end tag outside a CDATA section: a CDATA section may itself hold the text
# "</clientSecretDesktop>", and all of it is the secret.
_SECRET_ELEMENT_RE = re.compile(
    r"(<clientSecretDesktop\b[^>]*>)((?:<!\[CDATA\[.*?\]\]>|.)*?)(</clientSecretDesktop\s*>)",
    re.DOTALL,
)
_CDATA_RE = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)


def mask_text(text, secrets):
    """Replace every known secret in ``text`` (longest first, so overlapping secrets vanish completely)."""
    text = text or ""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def mask_xml_secrets(text):
    """Replace the content of every ``<clientSecretDesktop>`` element with REDACTED, and the parsed secret value
    (what an XML parser reads there) wherever else it appears."""
    if not text:
        return text
    masked = _SECRET_ELEMENT_RE.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)
    return mask_text(masked, _parsed_secrets(text))


def xml_secret_values(text):
    """Raw secret values of the ``<clientSecretDesktop>`` elements in a document (CDATA unwrapped)."""
    found = set()
    for match in _SECRET_ELEMENT_RE.finditer(text or ""):
        value = match.group(2).strip()
        if "<![CDATA[" in value:
            value = _CDATA_RE.sub(lambda m: m.group(1), value)
        found.add(value)
    return found


def _parsed_secrets(text):
    """The secret as Tableau's parser reads the document (long enough to mask), or nothing."""
    if not text or "clientSecretDesktop" not in text:
        return []
    try:
        # Imported here: _tableau_xml uses this module for its own masking.
        from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import (
            document_kind,
            parse_oauth_config,
        )

        if document_kind(text) == "oauth_config":
            parsed = parse_oauth_config(text).get("client_secret_desktop")
            if parsed:
                return maskable([str(parsed)])
    except (ImportError, ValueError, RecursionError):
        pass
    return []


def maskable(values):
    """Secret values long enough to mask everywhere without blanking ordinary words, sorted."""
    return sorted(value for value in values if value and len(value) >= MIN_MASKABLE_SECRET_LENGTH)


def content_secrets(text):
    """Secret values in a rendered document (raw and parsed form), for Ansible's no_log masking.

    The parsed form matters when the raw text escapes characters (``&amp;``, ``&quot;``, CDATA) that Ansible
    would otherwise echo decoded: both spellings are masked.
    """
    found = set(xml_secret_values(text)) | set(_parsed_secrets(text))
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


# Far above any client secret an IdP issues (Okta, Entra, Keycloak and PingFederate issue 32-100 characters);
# only a pasted file or an unrendered blob gets near it.
MAX_SECRET_LENGTH = 4096
# C0 controls (NUL, tab, line breaks...), DEL, lone surrogates and XML non-characters: no IdP issues such a secret.
_NOT_SECRET_TEXT = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def secret_shape_problems(value, strip=False):
    """Shape problems no real client secret has (empty list: fine); the messages never contain the value.

    Only checks a secret an IdP issued cannot fail: not text, empty, control or non-XML characters, absurd length.
    ``strip``: the consumer strips surrounding whitespace (a secret read from a file ends in a newline), so only
    the stripped text is checked.
    """
    if isinstance(value, bool) or not isinstance(value, str):
        return ["must be a string (got %s; quote the secret in YAML so it stays text)" % type(value).__name__]
    text = value.strip() if strip else value
    if not text.strip():
        return ["is empty (an unset variable?)"]
    problems = []
    if _NOT_SECRET_TEXT.search(text):
        problems.append("contains control or non-XML characters (a NUL, newline, tab or similar)")
    if len(text) > MAX_SECRET_LENGTH:
        problems.append("%d characters, more than the %d a client secret can have" % (len(text), MAX_SECRET_LENGTH))
    return problems
