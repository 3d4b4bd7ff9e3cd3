"""Integration tests run real ansible-playbook against a real lab fleet."""

from labfleet import fleet  # noqa: F401  (the fixture)
