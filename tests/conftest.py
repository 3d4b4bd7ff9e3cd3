# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Make the checkout importable as ansible_collections.tabops.redshift_oauth; mark the tests that use ansible-core."""

import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from ansible_core_use import core_use, core_watch, newest_only

REPO_ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS_ROOT = REPO_ROOT / ".collections"

if not (COLLECTIONS_ROOT / "ansible_collections" / "tabops" / "redshift_oauth").exists():
    raise RuntimeError("run scripts/bootstrap first: it links the checkout into .collections/")
if str(COLLECTIONS_ROOT) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_ROOT))


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items):
    """Every test of a module that uses ansible-core (tests/ansible_core_use.py says why) gets the marker ``core``;
    those of a module that runs only .venv's ansible-core (NEWEST_ONLY there) also ``newest_core``."""
    reasons = {}
    for item in items:
        if item.path not in reasons:
            reasons[item.path] = core_use(item.path)
        if reasons[item.path] and item.get_closest_marker("core") is None:
            item.add_marker(pytest.mark.core)
        if newest_only(item.path) and item.get_closest_marker("newest_core") is None:
            item.add_marker(pytest.mark.newest_core)


@pytest.fixture(autouse=True)
def _not_core_means_no_ansible_core(request):
    """A test not marked ``core`` fails when it runs ansible-core after all, and a ``newest_core`` test when it runs
    any but .venv's programs (scripts/core-matrix skips both on the older releases)."""
    newest = request.node.get_closest_marker("newest_core") is not None
    if request.node.get_closest_marker("core") is not None and not newest:
        yield
        return
    with core_watch().watching(venv_programs_allowed=newest) as found:
        yield
    if found and newest:
        pytest.fail(
            f"{request.node.nodeid} is marked 'newest_core' (it runs ansible-core only as .venv's programs) but uses "
            f"another ansible-core: {'; '.join(found[:3])}. Take its module out of NEWEST_ONLY "
            "(tests/ansible_core_use.py): the older releases must run it.",
            pytrace=False,
        )
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
