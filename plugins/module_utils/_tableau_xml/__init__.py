# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Tableau OAuth config (``pluginOAuthConfig``) and TDC (``connection-customization``) documents.

Normalize, validate, render, safe-parse and compare by meaning. Shared by the filters (controller) and the
``tableau_files`` module (managed hosts), so the package uses only the Python standard library, plus
``defusedxml`` when it happens to be importable. One file per concern:

- ``_errors``: TableauXmlError, UnsafeXmlError
- ``_safe_parse``: size limit, DTD/entity refusal, defusedxml or hardened expat (``HAS_DEFUSEDXML`` picks)
- ``_oauth_schema``: the XSD as a table, capabilities, secret fields and their shape checks
- ``_idp_presets``: okta, entra, ping, keycloak, generic, and reading ``idp_base_url`` as admins paste it
- ``_oauth_config``: OAuth configs: normalize, validate, render, parse
- ``_tdc``: TDC files: normalize, validate, render, parse
- ``_documents``: structure problems and validation of a document read from disk
- ``_diff``: semantic diff
- ``_text``, ``_urls``: value normalization, escaping and URL checks they share

Secret masking lives in ``module_utils/_secrets.py``; ``REDACTED`` is re-exported here for compatibility.
"""

from __future__ import annotations

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._secrets import MAX_SECRET_LENGTH, REDACTED
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._diff import diff_documents
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._documents import (
    schema_problems,
    validate_document,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._errors import (
    TableauXmlError,
    UnsafeXmlError,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._idp_presets import (
    ENTRA_AUTHORITY_HOSTS,
    IDP_PRESETS,
    LOCATION_INPUTS,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._oauth_config import (
    _render_oauth_normalized,
    normalize_oauth_config,
    parse_oauth_config,
    redact_oauth_config,
    render_oauth_config,
    validate_oauth_config,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._oauth_schema import (
    CAP_CUSTOM_DOMAIN,
    CAP_FIXED_PORT,
    CAP_LOOPBACK_HTTP,
    CAP_PKCE,
    CAP_PKCE_METHOD,
    CAP_SINGLE_USE_REFRESH,
    KNOWN_CAPABILITIES,
    MAX_CONFIG_ID_LENGTH,
    OAUTH_FIELDS,
    OAUTH_SCHEMA,
    REQUIRED_ACCESS_TOKEN_MAPS,
    SECRET_FIELDS,
    secret_problems,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._safe_parse import (
    HAS_DEFUSEDXML,
    KINDS,
    MAX_DOCUMENT_BYTES,
    OAUTH_ROOT,
    TDC_ROOT,
    document_kind,
    safe_fromstring,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._tdc import (
    BUILTIN_CONNECTOR_CLASSES,
    TDC_FIELDS,
    normalize_tdc,
    parse_tdc,
    render_tdc,
    validate_tdc,
)

__all__ = [
    "BUILTIN_CONNECTOR_CLASSES",
    "CAP_CUSTOM_DOMAIN",
    "CAP_FIXED_PORT",
    "CAP_LOOPBACK_HTTP",
    "CAP_PKCE",
    "CAP_PKCE_METHOD",
    "CAP_SINGLE_USE_REFRESH",
    "ENTRA_AUTHORITY_HOSTS",
    "HAS_DEFUSEDXML",
    "IDP_PRESETS",
    "KINDS",
    "KNOWN_CAPABILITIES",
    "LOCATION_INPUTS",
    "MAX_CONFIG_ID_LENGTH",
    "MAX_DOCUMENT_BYTES",
    "MAX_SECRET_LENGTH",
    "OAUTH_FIELDS",
    "OAUTH_ROOT",
    "OAUTH_SCHEMA",
    "REDACTED",
    "REQUIRED_ACCESS_TOKEN_MAPS",
    "SECRET_FIELDS",
    "TDC_FIELDS",
    "TDC_ROOT",
    "TableauXmlError",
    "UnsafeXmlError",
    "_render_oauth_normalized",
    "diff_documents",
    "document_kind",
    "normalize_oauth_config",
    "normalize_tdc",
    "parse_oauth_config",
    "parse_tdc",
    "redact_oauth_config",
    "render_oauth_config",
    "render_tdc",
    "safe_fromstring",
    "schema_problems",
    "secret_problems",
    "validate_document",
    "validate_oauth_config",
    "validate_tdc",
]
