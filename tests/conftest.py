# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Make the checkout importable as ansible_collections.tabops.redshift_oauth."""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS_ROOT = REPO_ROOT / ".collections"

if not (COLLECTIONS_ROOT / "ansible_collections" / "tabops" / "redshift_oauth").exists():
    raise RuntimeError("run scripts/bootstrap first: it links the checkout into .collections/")
if str(COLLECTIONS_ROOT) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_ROOT))
