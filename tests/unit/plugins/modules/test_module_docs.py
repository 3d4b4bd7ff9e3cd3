# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Every module documents its options exactly as its argument_spec declares them."""

import importlib
from pathlib import Path

import pytest
import yaml

MODULES_DIR = Path(__file__).resolve().parents[4] / "plugins" / "modules"
FRAGMENT_PREFIX = "tabops.redshift_oauth."
MODULE_NAMES = sorted(path.stem for path in MODULES_DIR.glob("*.py") if not path.name.startswith("_"))


def compare_spec(documented, spec, where="options"):
    """The same checks ansible-test validate-modules makes, without needing ansible-test."""
    assert sorted(documented) == sorted(spec), where
    for name, declared in spec.items():
        doc = documented[name]
        field = f"{where}.{name}"
        assert doc.get("type", "str") == declared.get("type", "str"), field
        assert bool(doc.get("required", False)) == bool(declared.get("required", False)), field
        assert doc.get("default") == declared.get("default"), field
        assert doc.get("choices") == declared.get("choices"), field
        assert doc.get("elements") == declared.get("elements"), field
        assert doc.get("description"), field
        if "options" in declared or "suboptions" in doc:
            compare_spec(doc["suboptions"], declared["options"], field)


def with_fragments(documentation):
    """The module's options with those of its doc fragments (this collection's), as ansible-doc shows them."""
    options = dict(documentation.get("options") or {})
    for fragment in documentation.get("extends_documentation_fragment") or []:
        assert fragment.startswith(FRAGMENT_PREFIX), fragment
        module = importlib.import_module(
            "ansible_collections.tabops.redshift_oauth.plugins.doc_fragments." + fragment[len(FRAGMENT_PREFIX) :]
        )
        shared = yaml.safe_load(module.ModuleDocFragment.DOCUMENTATION)["options"]
        assert not set(shared) & set(options), "an option both in the module and in %s" % fragment
        options.update(shared)
    return options


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_documentation_matches_argument_spec_and_parses(name):
    module = importlib.import_module(f"ansible_collections.tabops.redshift_oauth.plugins.modules.{name}")
    documentation = yaml.safe_load(module.DOCUMENTATION)
    assert documentation["module"] == name
    assert documentation["short_description"]
    assert yaml.safe_load(module.EXAMPLES)
    returned = yaml.safe_load(module.RETURN)
    assert all(value.get("description") for value in returned.values())
    if not hasattr(module, "argument_spec"):
        pytest.skip(f"{name} builds its argument spec inline; ansible-test validate-modules checks it")
    compare_spec(with_fragments(documentation), module.argument_spec())
