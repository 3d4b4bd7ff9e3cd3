# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Parsing untrusted XML: size limit first, then no DTD, no entities, no external references.

``defusedxml`` is used when it can be imported; managed hosts often lack it, so bare expat runs with handlers
that refuse the same things. ``HAS_DEFUSEDXML`` (a module attribute, read at every parse) picks the backend.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element
from xml.parsers import expat

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._errors import (
    TableauXmlError,
    UnsafeXmlError,
)

try:  # Hosts may not have defusedxml: the expat fallback below applies the same refusals.
    import defusedxml
    import defusedxml.ElementTree as _defused_et

    HAS_DEFUSEDXML = True
except ImportError:  # pragma: no cover - exercised by monkeypatching in the tests
    defusedxml = None
    _defused_et = None
    HAS_DEFUSEDXML = False

MAX_DOCUMENT_BYTES = 256 * 1024  # Tableau refuses larger OAuth configs
OAUTH_ROOT = "pluginOAuthConfig"
TDC_ROOT = "connection-customization"
# The kinds of Tableau file and the root element of each: the one list of kinds (module options, plans, folders).
ROOT_BY_KIND = {"oauth_config": OAUTH_ROOT, "tdc": TDC_ROOT}
KINDS = tuple(ROOT_BY_KIND)


def _as_bytes(xml_text):
    if isinstance(xml_text, bytes):
        data = xml_text
    elif isinstance(xml_text, str):
        try:
            data = xml_text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise TableauXmlError(f"document: not valid Unicode text (position {error.start})") from None
    else:
        raise TableauXmlError(f"document: must be XML text (got {type(xml_text).__name__})")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise UnsafeXmlError(f"document: {len(data)} bytes, more than the {MAX_DOCUMENT_BYTES} bytes accepted")
    if isinstance(xml_text, str) and data.startswith(b"<?xml"):
        # The text is already decoded: make the declaration agree with the UTF-8 bytes handed to expat.
        end = data.find(b"?>")
        if end > 0:
            data = re.sub(rb"""encoding\s*=\s*["'][^"']*["']""", b'encoding="UTF-8"', data[:end], count=1) + data[end:]
    return data


def _refuse(what):
    def handler(*_args):
        raise UnsafeXmlError(f"document: {what} refused (DTDs and entities are not allowed)")

    return handler


def _parse_with_expat(data):
    """Build an Element tree with bare expat, refusing DTDs, entity declarations and external entities."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse("DOCTYPE declaration")
    parser.EntityDeclHandler = _refuse("entity declaration")
    parser.UnparsedEntityDeclHandler = _refuse("unparsed entity declaration")
    parser.ExternalEntityRefHandler = _refuse("external entity reference")
    parser.SkippedEntityHandler = _refuse("undeclared entity reference")
    parser.buffer_text = True
    stack, roots = [], []

    def start(tag, attributes):
        element = Element(tag, attributes)
        if stack:
            stack[-1].append(element)
        else:
            roots.append(element)
        stack.append(element)

    def end(_tag):
        stack.pop()

    def characters(text):
        current = stack[-1]
        if len(current):
            last = current[-1]
            last.tail = (last.tail or "") + text
        else:
            current.text = (current.text or "") + text

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise TableauXmlError(
            f"document: not well-formed XML (line {error.lineno}, column {error.offset}): "
            f"{expat.ErrorString(error.code)}"
        ) from None
    return roots[0]


def _parse_with_defusedxml(data):
    try:
        return _defused_et.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden:
        raise UnsafeXmlError("document: DOCTYPE declaration refused (DTDs and entities are not allowed)") from None
    except defusedxml.EntitiesForbidden:
        raise UnsafeXmlError("document: entity declaration refused (DTDs and entities are not allowed)") from None
    except defusedxml.ExternalReferenceForbidden:
        raise UnsafeXmlError(
            "document: external entity reference refused (DTDs and entities are not allowed)"
        ) from None
    except defusedxml.DefusedXmlException as error:
        raise UnsafeXmlError(f"document: refused ({type(error).__name__})") from None
    except SyntaxError as error:  # xml.etree.ElementTree.ParseError
        line, column = getattr(error, "position", (None, None))
        message = str(error).split(":", maxsplit=1)[0]
        raise TableauXmlError(f"document: not well-formed XML (line {line}, column {column}): {message}") from None


def safe_fromstring(xml_text):
    """Parse untrusted XML text (str or bytes) into an Element; raise UnsafeXmlError or TableauXmlError."""
    data = _as_bytes(xml_text)
    if HAS_DEFUSEDXML:
        return _parse_with_defusedxml(data)
    return _parse_with_expat(data)


def _kind_of(root):
    for kind, tag in ROOT_BY_KIND.items():
        if root.tag == tag:
            return kind
    raise TableauXmlError(f"document: root element <{root.tag}> is neither <{OAUTH_ROOT}> nor <{TDC_ROOT}>")


def document_kind(xml_text):
    """'oauth_config' or 'tdc', from the root element."""
    return _kind_of(safe_fromstring(xml_text))


def _root_of_kind(xml_text, kind):
    root = safe_fromstring(xml_text)
    actual = _kind_of(root)
    if actual != kind:
        raise TableauXmlError(f"document: expected a {kind} document, found <{root.tag}>")
    return root


def _element_text(element):
    return (element.text or "").strip()


def _stray_text(element):
    """Non-whitespace text directly inside an element-only container (the XSD does not allow mixed content)."""
    return bool((element.text or "").strip()) or any((child.tail or "").strip() for child in element)
