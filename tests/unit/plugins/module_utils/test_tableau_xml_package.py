# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The _tableau_xml package: the API of the former single module, one file per concern, standard library only."""

import ast
import sys
from pathlib import Path

from ansible_collections.tabops.redshift_oauth.plugins.module_utils import _tableau_xml as tx

PACKAGE = Path(tx.__file__).resolve().parent
COLLECTION_PREFIX = "ansible_collections.tabops.redshift_oauth.plugins.module_utils."
# Every public name the module had before the split (plugins/module_utils/_tableau_xml.py, 1,165 lines).
FORMER_API = [
    "BUILTIN_CONNECTOR_CLASSES",
    "CAP_CUSTOM_DOMAIN",
    "CAP_FIXED_PORT",
    "CAP_LOOPBACK_HTTP",
    "CAP_PKCE",
    "CAP_PKCE_METHOD",
    "CAP_SINGLE_USE_REFRESH",
    "HAS_DEFUSEDXML",
    "IDP_PRESETS",
    "KNOWN_CAPABILITIES",
    "MAX_CONFIG_ID_LENGTH",
    "MAX_DOCUMENT_BYTES",
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
    "validate_document",
    "validate_oauth_config",
    "validate_tdc",
]


def test_every_former_name_is_importable_from_the_package():
    missing = [name for name in FORMER_API if not hasattr(tx, name)]
    assert missing == []
    assert set(FORMER_API) <= set(tx.__all__)
    assert all(hasattr(tx, name) for name in tx.__all__)


def test_one_file_per_concern():
    assert sorted(path.name for path in PACKAGE.glob("*.py")) == [
        "__init__.py",
        "_diff.py",
        "_documents.py",
        "_errors.py",
        "_idp_presets.py",
        "_oauth_config.py",
        "_oauth_schema.py",
        "_safe_parse.py",
        "_tdc.py",
        "_text.py",
        "_urls.py",
    ]


def test_only_the_standard_library_and_module_utils_are_imported():
    """Managed hosts run the system Python: stdlib, the collection's module_utils, and defusedxml if present."""
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path.name}: relative import (AnsiballZ packaging wants absolute ones)"
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top in stdlib or top == "defusedxml" or name.startswith(COLLECTION_PREFIX), (path.name, name)


def test_header_and_masking_come_from_one_place():
    for path in PACKAGE.glob("*.py"):
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[:2] == ["# Copyright: tabops maintainers", "# SPDX-License-Identifier: MIT"], path.name
        assert 'REDACTED = "' not in path.read_text(encoding="utf-8"), f"{path.name} defines its own REDACTED"
