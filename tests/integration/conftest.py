# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Integration tests run real ansible-playbook against a real lab fleet."""

# Imported for its pytest fixture, which tests receive by name.
from labfleet import fleet  # noqa: F401  # pylint: disable=unused-import
