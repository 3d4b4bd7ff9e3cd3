# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""URL checks shared by the endpoint validation and the IdP presets."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._text import _quote

_HOSTNAME = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*\.?$")
_WHITESPACE = re.compile(r"\s")
_NOT_URL_CHARS = re.compile(r'[{}<>"`|^\\]')
_SAFE_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9_.~-]+$")


def _valid_hostname(host):
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return True
    return bool(_HOSTNAME.match(host)) and len(host) <= 253


def _https_problem(field, value):
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc or not parts.hostname or _WHITESPACE.search(value):
        return f"{field}: must be an absolute https URL (got {_quote(value)})"
    if _NOT_URL_CHARS.search(value):
        return f"{field}: characters not allowed in a URL, e.g. an unrendered placeholder (got {_quote(value)})"
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return f"{field}: port out of range (got {_quote(value)})"
    if not _valid_hostname(parts.hostname):
        # Catches unrendered placeholders such as ${oktaDomain} copied from Tableau's samples.
        return f"{field}: {_quote(parts.hostname)} is not a valid host name (got {_quote(value)})"
    return None


def repeated_segment_pairs(url):
    """Pairs of adjacent path segments that occur more than once in ``url``, as '/a/b' strings."""
    segments = [segment for segment in urlsplit(url).path.split("/") if segment]
    seen, repeated = set(), set()
    for pair in zip(segments, segments[1:]):
        (repeated if pair in seen else seen).add(pair)
    return {"/" + "/".join(pair) for pair in repeated}


def repeated_adjacent_segments(url):
    """Path segments of ``url`` that follow themselves ('/as/as'), as '/a/a' strings."""
    segments = [segment for segment in urlsplit(url).path.split("/") if segment]
    return {"/" + first + "/" + second for first, second in zip(segments, segments[1:]) if first == second}
