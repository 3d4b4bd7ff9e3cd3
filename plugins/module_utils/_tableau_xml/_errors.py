# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The two errors every part of ``_tableau_xml`` raises."""

from __future__ import annotations

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._errors import TabopsError


class TableauXmlError(TabopsError, ValueError):
    """Invalid configuration or document; ``problems`` lists every problem found, ``str()`` lists them all."""

    def __init__(self, problems, subject=None):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        self.subject = subject
        text = "; ".join(self.problems)
        super().__init__(f"{subject}: {text}" if subject else text)


class UnsafeXmlError(TableauXmlError):
    """The document carries a DTD, an entity declaration or reference, or is larger than MAX_DOCUMENT_BYTES."""


def raise_problems(problems, subject=None):
    """Raise TableauXmlError naming ``subject`` and every one of ``problems``; nothing when there are none."""
    if problems:
        raise TableauXmlError(problems, subject)


def without_problems(result, problems, subject=None):
    """``result`` when ``problems`` is empty; else TableauXmlError naming ``subject`` and every problem."""
    raise_problems(problems, subject)
    return result
