# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Make the checkout importable as ansible_collections.tabops.redshift_oauth; mark the tests that use ansible-core."""

import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from ansible_core_use import core_use, core_watch

REPO_ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS_ROOT = REPO_ROOT / ".collections"

if not (COLLECTIONS_ROOT / "ansible_collections" / "tabops" / "redshift_oauth").exists():
    raise RuntimeError("run scripts/bootstrap first: it links the checkout into .collections/")
if str(COLLECTIONS_ROOT) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_ROOT))


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items):
    """Every test of a module that uses ansible-core (tests/ansible_core_use.py says why) gets the marker ``core``."""
    reasons = {}
    for item in items:
        if item.path not in reasons:
            reasons[item.path] = core_use(item.path)
        if reasons[item.path] and item.get_closest_marker("core") is None:
            item.add_marker(pytest.mark.core)


@pytest.fixture(autouse=True)
def _not_core_means_no_ansible_core(request):
    """A test not marked ``core`` fails when it runs ansible-core after all (scripts/core-matrix would skip it)."""
    if request.node.get_closest_marker("core") is not None:
        yield
        return
    with core_watch().watching() as found:
        yield
    if found:
        pytest.fail(
            f"{request.node.nodeid} is not marked 'core' but uses ansible-core: {'; '.join(found[:3])}. "
            "Mark its module (pytestmark = pytest.mark.core) or teach tests/ansible_core_use.py to see it.",
            pytrace=False,
        )


@pytest.fixture
def traversable_tmp():
    """A temp folder other users can traverse, for a dropped-privilege worker that must reach it. Not under pytest's
    /tmp/pytest-of-<user>: 0700, and set back to 0700 whenever a pytest session starts (a parallel worker...)."""
    path = Path(tempfile.mkdtemp(prefix="tabops-test-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
