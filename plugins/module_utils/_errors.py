# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The base of every exception this collection raises: ``except TabopsError`` catches the collection's own errors
and nothing else (not a bug in ansible-core, not a KeyError from a typo).

Standard library only: modules ship it to the managed hosts.

When to raise what:

- Bad input (a variable, an option, a document, an ARN): the subject's own error, which also derives from
  ``ValueError`` so callers that caught ``ValueError`` before the hierarchy existed still do (``ArnError``,
  ``IamPolicyError``, ``TableauXmlError``, ``OdbcError``, ``HostFactsError``, ``HostLayoutError``,
  ``ServerClientError``, ``SyncError``, ``SchemaError``). The message names the field and the host or file.
- A host state or a tool the collection refuses to act on or could not use: ``TsmError`` (and
  ``TsmUnknownKeyError``, ``TsmLockError``), ``RootJournalError``, ``WindowsModuleFailed``,
  ``WindowsHostUnreachable``. The message is safe to show (secrets masked).
- Control flow inside the sync engine (``Refused``, ``Changed``, ``RunDeadline``) and the IdP presets
  (``_Refused``): caught by the code that raised it and turned into a result; they derive from ``TabopsError`` so
  that one that escapes is still recognisably the collection's.

Never raise ``TabopsError`` itself: a caller cannot tell one cause from another by it. Filters turn any
``TabopsError`` into ``AnsibleFilterError`` through ``plugin_utils/_filter_errors.py``; modules turn it into
``fail_json``.
"""

from __future__ import annotations


class TabopsError(Exception):
    """Base of every exception of tabops.redshift_oauth (see the module docstring for which one to raise)."""
