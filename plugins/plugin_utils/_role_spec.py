# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The preflight role's argument spec, checked by the fleet plan once per DISTINCT set of host variables.

A role's ``validate_argument_spec`` task runs once per host (a forked worker each): at thousands of hosts it is
the largest part of the preflight, and hosts that share their group_vars are checked alike over and over. The
fleet plan checks the same spec (roles/preflight/meta/argument_specs.yml, the superset of every role's data
variables: tests/unit/roles/test_role_specs.py) with ansible-core's own validator, once per distinct set of values.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

SPEC_FILE = Path(__file__).resolve().parents[2] / "roles" / "preflight" / "meta" / "argument_specs.yml"
_ARGUMENT_RE = re.compile(
    r"argument '([^']+)'|option '([^']+)'|value of ([A-Za-z0-9_]+) must be|parameters: ([A-Za-z0-9_]+)"
)


@functools.lru_cache(maxsize=1)
def spec_options() -> dict:
    """The options of the preflight role's ``main`` entry point."""
    # The C loader when built (a 250-line spec: 10x faster); both are safe loaders.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(SPEC_FILE, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=loader)["argument_specs"]["main"]["options"]  # noqa: S506 (a safe loader)


def spec_problems(host_vars: dict) -> list[tuple[str, str]]:
    """[(field, problem)] of the variables a host sets (unset ones take the role defaults, which are valid)."""
    options = spec_options()
    provided = {name: host_vars[name] for name in options if host_vars.get(name) is not None}
    result = ArgumentSpecValidator(options).validate(provided, validate_role_argument_spec=True)
    problems = []
    for message in result.error_messages:
        match = _ARGUMENT_RE.search(message)
        field = next((group for group in match.groups() if group), "") if match else ""
        problems.append((field or "argument spec", message))
    return problems
