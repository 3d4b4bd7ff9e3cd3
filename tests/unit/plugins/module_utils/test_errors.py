# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""One error hierarchy: every exception class the collection defines derives from TabopsError."""

from __future__ import annotations

import importlib
import inspect
import pathlib

import pytest

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._errors import TabopsError

# Imports every plugin, so ansible-core too.
pytestmark = pytest.mark.core

PACKAGE = "ansible_collections.tabops.redshift_oauth"
PLUGINS = pathlib.Path(importlib.import_module(PACKAGE + ".plugins").__path__[0])


def _plugin_modules():
    for path in sorted(PLUGINS.rglob("*.py")):
        if path.name == "__init__.py" and path.parent == PLUGINS:
            continue
        parts = path.relative_to(PLUGINS).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join((PACKAGE, "plugins", *parts))


def _own_exceptions():
    found = {}
    for name in _plugin_modules():
        module = importlib.import_module(name)
        for _attr, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == name:
                found["%s.%s" % (name, value.__qualname__)] = value
    return found


def test_every_exception_of_the_collection_is_a_tabops_error():
    found = _own_exceptions()
    # The collection defines exceptions in many modules; an empty walk would prove nothing.
    assert len(found) >= 20, sorted(found)
    assert [name for name, cls in found.items() if not issubclass(cls, TabopsError)] == []


@pytest.mark.parametrize(
    "module, name",
    [
        ("plugins.plugin_utils._aws_arn", "ArnError"),
        ("plugins.plugin_utils._redshift_iam", "IamPolicyError"),
        ("plugins.module_utils._tableau_xml", "TableauXmlError"),
        ("plugins.module_utils._odbc", "OdbcError"),
        ("plugins.module_utils._host_facts", "HostFactsError"),
        ("plugins.plugin_utils._plan._files", "HostLayoutError"),
        ("plugins.plugin_utils._server_clients", "ServerClientError"),
        ("plugins.module_utils._sync._plan", "SyncError"),
        ("plugins.module_utils._sync._digest", "SchemaError"),
    ],
)
def test_input_errors_stay_value_errors(module, name):
    """Callers that caught ValueError before the hierarchy existed still catch these."""
    cls = getattr(importlib.import_module(PACKAGE + "." + module), name)
    assert issubclass(cls, TabopsError) and issubclass(cls, ValueError)
