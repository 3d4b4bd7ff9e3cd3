# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Fuzz harness of the host side (issue 19, point 7): hypothesis fills a real user's managed folder with generated
content (names as bytes, manifests and journals as any JSON, deep and wide, XML valid, truncated and hostile) and
runs the REAL worker (forked, dropped to that user) and root parent on it, with another folder beside it.

Asserted for every example: the run finishes within its deadline, no exception escapes (the folder's problems are
findings), the result is what the controller accepts (strict UTF-8, no raw control characters), the other
folder's result and files are unchanged, and nothing outside the fuzzed folder changed.

Bounded in examples AND seconds: ``TABOPS_FUZZ_EXAMPLES`` (default 12) and ``TABOPS_FUZZ_SECONDS`` (default 25);
docs/security.md gives the longer command.
"""

# ruff: noqa: F811 - the shared fixtures are imported from test_sync_posix and then requested by name

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sync_hostile import server_folder
from test_sync_isolation import HANG, controller_accepts, statuses
from test_sync_posix import (  # noqa: F401  # pylint: disable=unused-import  # fixtures, received by name
    NAME,
    base,
    canary,
    desktop_request,
    desktop_user,
    fingerprint,
    needs_root,
    oauth_xml,
)

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync import _posix

EXAMPLES = int(os.environ.get("TABOPS_FUZZ_EXAMPLES", "12"))
SECONDS = float(os.environ.get("TABOPS_FUZZ_SECONDS", "25"))
RUN_TIMEOUT = 30
SECRET = "CANARY-posix-secret-18fe"

# --- what a user can put into their folder ----------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=40,
)


@st.composite
def deep_json(draw):
    depth = draw(st.integers(min_value=1, max_value=3000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    return opener * depth + "1" + closer * depth


@st.composite
def manifests(draw):
    entry = st.fixed_dictionaries(
        {},
        optional={
            "kind": st.sampled_from(["oauth_config", "tdc"]) | json_values,
            "artifact": st.text(max_size=30) | json_values,
            "sha256": st.just("0" * 64) | json_values,
        },
    )
    names = st.sampled_from([NAME, "zz_stale.xml", "other.xml", "../up.xml", ".hidden.xml"]) | st.text(max_size=20)
    files = draw(st.dictionaries(names, entry | json_values, max_size=6))
    document = {"managed_by": draw(st.just("tabops.redshift_oauth") | json_values), "files": files}
    text = draw(
        st.sampled_from(["json", "deep", "any", "bytes"]).flatmap(
            lambda how: {
                "json": st.just(json.dumps(document)),
                "deep": deep_json().map(lambda deep: '{"managed_by": "tabops.redshift_oauth", "files": %s}' % deep),
                "any": json_values.map(json.dumps),
                "bytes": st.binary(max_size=200).map(lambda data: data.decode("latin-1")),
            }[how]
        )
    )
    return text.encode("utf-8", "surrogateescape")


@st.composite
def journals(draw):
    state = st.fixed_dictionaries(
        {"state": st.sampled_from(["absent", "file", "not_restorable"]) | json_values},
        optional={"sha256": st.just("a" * 64) | json_values, "mode": json_values, "backup": json_values},
    )
    record = st.fixed_dictionaries({"before": state, "after": state}, optional={"manifest_before": json_values})
    document = {
        "managed_by": "tabops.redshift_oauth",
        "run_id": draw(st.sampled_from(["run-1", "zz"]) | json_values),
        "stamp": draw(st.sampled_from(["20261202T101500Z", "99991231T235959Z"]) | json_values),
        "folder": "x",
        "files": draw(st.dictionaries(st.sampled_from([NAME, "a.xml"]) | st.text(max_size=8), record, max_size=4)),
    }
    text = draw(st.just(json.dumps(document)) | deep_json() | json_values.map(json.dumps))
    return text.encode()


def hostile_xml():
    valid = oauth_xml()
    return st.one_of(
        st.just(valid),
        st.integers(min_value=0, max_value=len(valid)).map(lambda cut: valid[:cut]),
        st.just(HANG),
        st.just("<a>" * 5000 + "</a>" * 5000),
        st.just('<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><pluginOAuthConfig>&b;</pluginOAuthConfig>'),
        st.lists(
            st.sampled_from(["<![CDATA[", "]]>", "<!--", "-->", "<clientSecretDesktop>", "&lt;", SECRET, "<x>"]),
            max_size=60,
        ).map("".join),
        st.binary(max_size=300).map(lambda data: data.decode("latin-1")),
    ).map(lambda text: text.encode("utf-8", "surrogateescape"))


file_names = st.one_of(
    st.sampled_from([NAME.encode(), b"zz_stale.xml", b"other.xml", b"x.tdc"]),
    st.binary(min_size=1, max_size=40).map(lambda name: name.replace(b"/", b"_").replace(b"\0", b"_") + b".xml"),
    st.binary(min_size=1, max_size=40).map(lambda name: name.replace(b"/", b"_").replace(b"\0", b"_")),
).filter(lambda name: name not in (b".", b"..", b".tabops-backups", b".tabops-managed.json"))


folder_contents = st.fixed_dictionaries(
    {
        "files": st.dictionaries(file_names, hostile_xml(), max_size=5),
        "manifest": st.none() | manifests(),
        "journals": st.dictionaries(
            st.sampled_from([b"tabops-run-run-1.json", b"tabops-run-zz.json"]), journals(), max_size=2
        ),
    }
)


# --- the harness -------------------------------------------------------------------------------------------------


def _fill(folder, contents):
    """Runs as the folder's user (through the module's own run_as): empty the folder, then write ``contents``."""
    folder = os.fsencode(folder)
    backups = os.path.join(folder, b".tabops-backups")
    for where in (backups, folder):
        if os.path.isdir(where):
            for name in os.listdir(where):
                path = os.path.join(where, name)
                if os.path.isdir(path) and not os.path.islink(path):
                    continue
                os.unlink(path)
    os.makedirs(backups, mode=0o700, exist_ok=True)

    def write(path, data):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    for name, data in contents["files"]:
        write(os.path.join(folder, name), data)
    if contents["manifest"] is not None:
        write(os.path.join(folder, b".tabops-managed.json"), contents["manifest"])
    for name, data in contents["journals"]:
        write(os.path.join(backups, name), data)


def tree_fingerprint(root, skip):
    """Every entry under ``root`` but ``skip``: (path, mode, owner, bytes or listing)."""
    found = {}
    for path, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if os.path.join(path, d) != str(skip)]
        for name in names + dirs:
            full = os.path.join(path, name)
            st_ = os.lstat(full)
            data = Path(full).read_bytes() if stat.S_ISREG(st_.st_mode) else None
            found[full] = (st_.st_mode, st_.st_uid, st_.st_gid, data)
    return found


@pytest.fixture
def run_log(tmp_path):
    """The root-only run log, outside the watched tree."""
    return str(tmp_path / "runs")


@needs_root
def test_generated_folder_contents_fail_their_folder_only(desktop_user, base, canary, run_log):
    folder, files, dirs = desktop_request(desktop_user)
    server, server_files, server_dirs = server_folder(base)
    every_file, every_dir = files + server_files, dirs + server_dirs
    _posix.PosixSync(every_file, every_dir, run_log_dir=run_log).run()
    server_before = fingerprint(server / "redshift.tdc")
    outside_before = tree_fingerprint(base, folder)
    started = time.monotonic()
    ran = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(contents=folder_contents, rollback=st.booleans())
    def one_example(contents, rollback):
        if time.monotonic() - started > SECONDS:
            return  # the time bound of the bounded run: later examples are drawn but not run
        spec = {
            "files": sorted(contents["files"].items()),
            "manifest": contents["manifest"],
            "journals": sorted(contents["journals"].items()),
        }
        _posix.run_as(desktop_user["uid"], _fill, str(folder), spec, timeout=30)
        began = time.monotonic()
        options = {"rollback_run_id": "run-1"} if rollback else {"run_id": "run-fuzz"}
        sync = _posix.PosixSync(every_file, every_dir, run_log_dir=run_log, run_timeout=RUN_TIMEOUT, **options)
        with sync.deadline_alarm():
            result = sync.run(diff=True)
        assert time.monotonic() - began < RUN_TIMEOUT + _posix.DEADLINE_GRACE_SECONDS
        controller_accepts(result)
        found = statuses(result)
        assert found[str(server)] == ("ok", None)
        assert found[str(folder)][0] in ("ok", "changed", "error")
        assert fingerprint(server / "redshift.tdc") == server_before
        assert tree_fingerprint(base, folder) == outside_before
        assert fingerprint(canary["file"])[3] == b"root-only-content\n"
        ran.append(found[str(folder)][0])

    one_example()
    assert ran, "no example ran within the time bound"
