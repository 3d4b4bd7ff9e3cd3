# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The preflight role's argument spec, checked by the fleet plan once per DISTINCT set of host variables.

A role's ``validate_argument_spec`` task runs once per host (a forked worker each): at thousands of hosts it is
the largest part of the preflight, and hosts that share their group_vars are checked alike over and over. The
fleet plan checks the same spec (the preflight role's ``main`` entry point of the data model, plugin_utils/_model:
the superset of every role's data variables) with ansible-core's own validator, once per distinct set of values.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils import _model

_ARGUMENT_RE = re.compile(
    r"argument '([^']+)'|option '([^']+)'|value of ([A-Za-z0-9_]+) must be|parameters: ([A-Za-z0-9_]+)"
)
# What a value must already be for the planner, which reads the variables as the inventory gives them: the spec
# would turn a string into a list ("a,b") or a dict ("k=v") and a list or dict into a string.
_CONTAINERS = {"list": (list, tuple), "dict": (dict,)}
_SCALAR_TYPES = ("str", "path")
_PLURALS = {"str": "strings", "dict": "dicts", "int": "whole numbers", "path": "paths", "list": "lists"}


@functools.lru_cache(maxsize=1)
def spec_options() -> dict[str, Any]:
    """The options of the preflight role's ``main`` entry point (cached: callers must not change them)."""
    return _model.entry_point_options("preflight")


def _shape_problem(option: dict[str, Any], value: Any) -> str | None:
    """Why ``value`` is not of the option's own type where the spec would convert it (None: it is)."""
    kind = option.get("type", "str")
    if kind in _CONTAINERS and not isinstance(value, _CONTAINERS[kind]):
        what = "a list of %s" % _PLURALS.get(option["elements"], option["elements"]) if option.get("elements") else kind
        return "must be %s, got %s" % (what if kind == "list" else "a dict", type(value).__name__)
    if kind in _SCALAR_TYPES and isinstance(value, (list, tuple, dict)):
        return "must be a string, got %s" % type(value).__name__
    return None


def _shape_problems(options: dict[str, Any], provided: dict[str, Any]) -> list[tuple[str, str]]:
    """[(field, problem)] of the values the spec would convert but the planner reads as they are."""
    problems = []
    for name, value in provided.items():
        problem = _shape_problem(options[name], value)
        if problem:
            problems.append((name, problem))
            continue
        elements = options[name].get("elements")
        if options[name].get("type") == "list" and elements in _CONTAINERS:
            problems += [
                ("%s[%d]" % (name, index), "must be a %s, got %s" % (elements, type(item).__name__))
                for index, item in enumerate(value)
                if not isinstance(item, _CONTAINERS[elements])
            ]
    return problems


def spec_problems(host_vars: dict) -> list[tuple[str, str]]:
    """[(field, problem)] of the variables a host sets (unset ones take the role defaults, which are valid)."""
    options = spec_options()
    provided = {name: host_vars[name] for name in options if host_vars.get(name) is not None}
    problems = _shape_problems(options, provided)
    flagged = {field.split("[")[0] for field, _problem in problems}
    result = ArgumentSpecValidator(options).validate(provided, validate_role_argument_spec=True)
    for message in result.error_messages:
        match = _ARGUMENT_RE.search(message)
        field = next((group for group in match.groups() if group), "") if match else ""
        if field not in flagged:
            problems.append((field or "argument spec", message))
    return problems
