# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Host-side sync of Tableau files (OAuth configs, TDCs): manifest of owned files, atomic write, backup, conflicts.

``_plan`` decides (pure, shared by every OS); ``_engine`` is the one sync engine (observe, plan, journal, sync,
report, rollback) over a transport that does only I/O: ``_posix`` on POSIX hosts behind a privilege boundary (see
docs/security.md), ``plugin_utils/_windows_sync`` through ansible.windows modules. Standard library only.
"""

from __future__ import annotations

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._run_id import utc_stamp  # noqa: F401 (re-exported)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._secrets import (  # noqa: F401
    REDACTED,
    content_secrets,
    mask_xml_secrets,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._plan import (  # noqa: F401
    APPLICATIONS,
    BACKUP_DIR_MODE,
    BACKUP_DIR_NAME,
    DEFAULT_BACKUP_KEEP,
    DEFAULT_DIR_MODE,
    DEFAULT_FILE_MODE,
    KIND_SUFFIX,
    KINDS,
    MANAGED_BY,
    MANIFEST_NAME,
    TEMP_PREFIX,
    SyncError,
    decode_document,
    finish_host,
    normalize_request,
    parse_manifest,
    parse_mode,
    plan_host,
    planned_changed,
    render_manifest,
    report_diff,
    report_files,
    restart_needed,
    sha256_bytes,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._posix import (  # noqa: F401
    DEFAULT_LOCK_TIMEOUT,
    DEFAULT_RUN_TIMEOUT,
    HostLock,
    PosixSync,
    RunDeadline,
    drop_privileges,
    open_tree,
    resolve_gid,
    resolve_uid,
    run_as,
    worker_for,
)

# Names callers used before the split.
