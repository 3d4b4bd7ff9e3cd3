# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""What the collection's callback plugins share: Ansible's v2 callback API, aggregate, loaded only when enabled."""

from __future__ import annotations

from ansible.plugins.callback import CallbackBase


class AggregateCallback(CallbackBase):
    """Base of the collection's callbacks: they add to the output of the stdout callback, and run only when enabled
    (``callbacks_enabled``). Each subclass sets ``CALLBACK_NAME`` (its fully qualified name)."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NEEDS_ENABLED = True
