# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Every role validates its inputs, and the shared data model is specified alike everywhere."""

from pathlib import Path

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[3] / "roles"
ROLE_NAMES = sorted(path.name for path in ROLES.iterdir() if (path / "tasks").is_dir())


def load_spec(role):
    return yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]


def defaults(role):
    path = ROLES / role / "defaults" / "main.yml"
    return (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_every_role_has_an_argument_spec_for_main(role):
    spec = load_spec(role)
    assert "main" in spec
    assert spec["main"]["short_description"]
    for name, option in spec["main"].get("options", {}).items():
        assert option.get("description"), f"{role}: {name} has no description"
        assert option.get("type"), f"{role}: {name} has no type"


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_role_defaults_match_their_spec(role):
    options = load_spec(role)["main"].get("options", {})
    for name, value in defaults(role).items():
        if name in options and "default" in options[name]:
            assert options[name]["default"] == value, f"{role}: default of {name} differs from its spec"


def test_preflight_specifies_every_shared_variable_exactly_as_the_roles_do():
    preflight = load_spec("preflight")["main"]["options"]
    for role in ROLE_NAMES:
        if role == "preflight":
            continue
        for name, option in load_spec(role)["main"].get("options", {}).items():
            if name.startswith("tabops_"):
                assert name in preflight, f"preflight does not check {name} ({role})"
                assert preflight[name] == option, f"{name}: preflight and {role} specify it differently"
