# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""How every filter of the collection reports bad input: one ``AnsibleFilterError`` naming the filter.

A filter's body runs inside ``filter_errors(name)``: a collection error (``TabopsError``) becomes
``AnsibleFilterError("<name>: <message>")`` without the Python traceback chained to it (the message already says
which field is wrong and why). ``require_type`` is the input check done before the body runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ansible.errors import AnsibleFilterError

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._errors import TabopsError

# How the filters that render or read Tableau documents name themselves in errors.
COLLECTION_PREFIX = "tabops.redshift_oauth."


def _message(name: str, detail: object) -> str:
    return "%s: %s" % (name, detail) if name else str(detail)


@contextmanager
def filter_errors(name: str, *also: type[Exception]) -> Iterator[None]:
    """Turn a ``TabopsError`` (or one of ``also``) raised inside the block into ``AnsibleFilterError``.

    ``name`` starts the message (the filter, with its argument where that helps: ``redshift_arn(cluster)``); an
    empty ``name`` leaves the message as the error says it.
    """
    try:
        yield
    except (TabopsError, *also) as exc:
        raise AnsibleFilterError(_message(name, exc)) from None


def require_type(name: str, value: object, types: type | tuple[type, ...], what: str) -> None:
    """``<name>: <what>, got <type>`` unless ``value`` is one of ``types`` (``what``: ``input must be a dict``)."""
    if not isinstance(value, types):
        raise AnsibleFilterError(_message(name, "%s, got %s" % (what, type(value).__name__)))
