# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Host-side sync of Tableau files (OAuth configs, TDCs): manifest of owned files, atomic write, backup, conflicts.

``_plan`` decides (pure, shared by every OS); ``_engine`` is the one sync engine (observe, plan, journal, sync,
report, rollback) over a transport that does only I/O: ``_posix`` on POSIX hosts behind a privilege boundary (see
docs/security.md), ``plugin_utils/_windows_sync`` through ansible.windows modules. Standard library only.
"""
