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

_OPEN_TAG = "<clientSecretDesktop"
_CLOSE_TAG = "</clientSecretDesktop"
_CDATA_OPEN = "<![CDATA["
_CDATA_CLOSE = "]]>"


class _NextFind:
    """``text.find(needle, start)`` for ever-growing ``start``: each character is scanned at most once per
    needle (the position found is reused until ``start`` passes it), so a scan built on it stays linear."""

    def __init__(self, text, needle):
        self.text, self.needle, self.found = text, needle, -2

    def at_or_after(self, start):
        if self.found == -1 or (self.found >= start):
            return self.found
        self.found = self.text.find(self.needle, start)
        return self.found


def _secret_spans(text):
    """(content start, content end, element end) of every ``<clientSecretDesktop>`` element, in one linear scan.

    The content runs to the first end tag outside a CDATA section (a CDATA section may hold the text
    "</clientSecretDesktop>": all of it is the secret). An element with no end tag, or a CDATA section with no
    end, runs to the end of the text: masking fails closed. No regular expression: hostile text (empty CDATA
    sections, escaped tags, no end tag) cannot make it backtrack.
    """
    spans, length = [], len(text)
    opens, closes = _NextFind(text, _OPEN_TAG), _NextFind(text, _CLOSE_TAG)
    cdatas, cdata_ends = _NextFind(text, _CDATA_OPEN), _NextFind(text, _CDATA_CLOSE)
    position = 0
    while True:
        start = opens.at_or_after(position)
        if start < 0:
            return spans
        after = start + len(_OPEN_TAG)
        if after < length and (text[after].isalnum() or text[after] in "_-.:"):
            position = after  # another element (clientSecretDesktopX)
            continue
        tag_end = text.find(">", after)
        if tag_end < 0:
            return spans  # a start tag that never ends holds no content
        content = scan = tag_end + 1
        while True:
            close = closes.at_or_after(scan)
            cdata = cdatas.at_or_after(scan)
            if cdata >= 0 and (close < 0 or cdata < close):
                cdata_end = cdata_ends.at_or_after(cdata + len(_CDATA_OPEN))
                if cdata_end < 0:
                    spans.append((content, length, length))
                    return spans
                scan = cdata_end + len(_CDATA_CLOSE)
                continue
            if close < 0:
                spans.append((content, length, length))
                return spans
            end = close + len(_CLOSE_TAG)
            while end < length and text[end].isspace():
                end += 1
            if end < length and text[end] == ">":
                spans.append((content, close, end + 1))
                position = end + 1
                break
            scan = end  # "</clientSecretDesktopX": not the end tag


def _without_cdata(value):
    """``value`` with every CDATA section unwrapped (linear; an unterminated one runs to the end)."""
    out, position = [], 0
    while True:
        start = value.find(_CDATA_OPEN, position)
        if start < 0:
            out.append(value[position:])
            return "".join(out)
        out.append(value[position:start])
        end = value.find(_CDATA_CLOSE, start + len(_CDATA_OPEN))
        if end < 0:
            out.append(value[start + len(_CDATA_OPEN) :])
            return "".join(out)
        out.append(value[start + len(_CDATA_OPEN) : end])
        position = end + len(_CDATA_CLOSE)


def mask_text(text, secrets):
    """Replace every known secret in ``text`` (longest first, so overlapping secrets vanish completely)."""
    text = text or ""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def mask_xml_secrets(text):
    """Replace the content of every ``<clientSecretDesktop>`` element with REDACTED, and the parsed secret value
    (what an XML parser reads there) wherever else it appears. Linear in the length of ``text``."""
    if not text:
        return text
    out, position = [], 0
    for content, content_end, element_end in _secret_spans(text):
        out.append(text[position:content])
        out.append(REDACTED)
        out.append(text[content_end:element_end])
        position = element_end
    out.append(text[position:])
    return mask_text("".join(out), _parsed_secrets(text))


def xml_secret_values(text):
    """Raw secret values of the ``<clientSecretDesktop>`` elements in a document (CDATA unwrapped)."""
    text = text or ""
    found = set()
    for content, content_end, _element_end in _secret_spans(text):
        value = text[content:content_end].strip()
        if _CDATA_OPEN in value:
            value = _without_cdata(value)
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
