# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The data model: every inventory variable, declared once in :mod:`.variables` (read it first).

Everything else derives from it: the roles' ``meta/argument_specs.yml`` and ``defaults/main.yml`` and the
variable tables of docs/data-model.md (written by scripts/generate-docs), the controller's validator
(:mod:`._role_spec`), the planner's defaults (``_plan._profile.DEFAULTS``) and the IAM defaults of the preflight.
"""

from __future__ import annotations

import copy
from typing import Any

# Relative: scripts/generate-docs loads this package from a checkout that is not on a collections path.
from .variables import ENTRY_POINTS, OWN_DEFAULTS_ONLY, VARIABLES, VERSION_ADDED

# The keys of a variable that an argument spec option holds, in the order the generated specs write them.
SPEC_KEYS = ("type", "elements", "choices", "default", "required", "options", "description")


def variables() -> dict[str, dict[str, Any]]:
    """``{name: declaration}`` of every variable, in declaration order (callers must not change it)."""
    return VARIABLES


def entry_points(role: str) -> dict[str, dict[str, Any]]:
    """``{entry point: {short_description, description}}`` of a role (``like`` resolved), main first."""
    declared = ENTRY_POINTS[role]
    return {name: declared[entry.get("like", name)] for name, entry in declared.items()}


def roles() -> list[str]:
    """Every role that has entry points in the model."""
    return list(ENTRY_POINTS)


def takes(name: str, role: str, entry_point: str) -> bool:
    """Whether ``entry_point`` of ``role`` takes the variable ``name``."""
    used = variables()[name]["roles"]
    return role in used or f"{role}:{entry_point}" in used


def option_spec(declared: dict[str, Any]) -> dict[str, Any]:
    """The argument spec option of a declared variable (a null default is no default in a spec)."""
    return {
        key: declared[key] for key in SPEC_KEYS if key in declared and not (key == "default" and declared[key] is None)
    }


def entry_point_options(role: str, entry_point: str = "main") -> dict[str, dict[str, Any]]:
    """The argument spec options of one entry point of a role."""
    return {name: option_spec(declared) for name, declared in variables().items() if takes(name, role, entry_point)}


def argument_specs(role: str) -> dict[str, dict[str, Any]]:
    """A role's ``argument_specs``: ``{entry point: {short_description, description, options}}``."""
    return {
        entry_point: dict(texts, options=entry_point_options(role, entry_point))
        for entry_point, texts in entry_points(role).items()
    }


def role_defaults(role: str) -> dict[str, Any]:
    """A role's ``defaults/main.yml``: every variable one of its entry points takes that has a default."""
    result = {}
    for name, declared in variables().items():
        users = {used.split(":")[0] for used in declared["roles"]}
        if role in users and (role not in OWN_DEFAULTS_ONLY or users == {role}):
            if "role_default" in declared:
                result[name] = declared["role_default"]
            elif "default" in declared:
                result[name] = declared["default"]
    return result


def spec_defaults(role: str, entry_point: str = "main", prefix: str = "") -> dict[str, Any]:
    """``{name without prefix: default}`` of the variables an entry point takes that have a default (a copy)."""
    return {
        name[len(prefix) :]: copy.deepcopy(declared["default"])
        for name, declared in variables().items()
        if "default" in declared and name.startswith(prefix) and takes(name, role, entry_point)
    }


def minimums(role: str, entry_point: str = "main") -> dict[str, int]:
    """``{name: least value}`` of the int variables an entry point takes that have one."""
    return {
        name: declared["minimum"]
        for name, declared in variables().items()
        if "minimum" in declared and takes(name, role, entry_point)
    }


def names_of_type(kind: str, role: str, entry_point: str = "main") -> list[str]:
    """The variables of one type (``bool``, ``list``, ...) an entry point takes."""
    return [
        name
        for name, declared in variables().items()
        if declared.get("type") == kind and takes(name, role, entry_point)
    ]


def version_added(name: str) -> str:
    """The collection version that added a variable."""
    return str(variables()[name].get("version_added", VERSION_ADDED))
