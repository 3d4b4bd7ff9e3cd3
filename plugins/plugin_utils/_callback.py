# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""What the collection's callback plugins share: Ansible's v2 callback API, aggregate, loaded only when enabled."""

from __future__ import annotations

from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.callback import CallbackBase


class AggregateCallback(CallbackBase):
    """Base of the collection's callbacks: they add to the output of the stdout callback, and run only when enabled
    (``callbacks_enabled``). Each subclass sets ``CALLBACK_NAME`` (its fully qualified name)."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NEEDS_ENABLED = True

    @staticmethod
    def host_of(result) -> str:
        """The host a task result is about: the delegated host of a ``delegate_to`` task, else the task's host."""
        delegated = result._result.get("_ansible_delegated_vars") or {}
        name = delegated.get("ansible_delegated_host")
        if not name:  # ansible-core 2.19 and 2.20 do not report it: the task's delegate_to, when already plain
            target = (getattr(result, "_task_fields", None) or {}).get("delegate_to")
            name = target if isinstance(target, str) and "{{" not in target else None
        return to_text(name or result._host.get_name())
