# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The case-collision check written once (plugin_utils/_name_collisions) finds what both OS families' checks find."""

from __future__ import annotations

import pytest

from ansible_collections.tabops.redshift_oauth.plugins.action.tableau_files import apfs_name_collisions
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils import _windows_sync
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._name_collisions import (
    apfs_fold,
    collisions,
    ntfs_fold,
)

pytestmark = pytest.mark.core

MAC = [
    "/Users/ana/Documents/My Tableau Repository/Datasources/redshift.tdc",
    "/Users/ana/Documents/My Tableau Repository/Datasources/Redshift.TDC",
    "/Users/ana/OAuthConfigs/caf\u00e9.xml",  # precomposed
    "/Users/ana/OAuthConfigs/cafe\u0301.xml",  # decomposed: the same name on APFS
    "/Users/ana/OAuthConfigs/other.xml",
    "/Users/ana/OAuthConfigs/REDSHIFT.tdc",
    "/Users/ana/Documents/My Tableau Repository/Datasources/REDSHIFT.tdc",
    "/Users/ana/OAuthConfigs/stra\u00dfe.xml",
    "/Users/ana/OAuthConfigs/STRASSE.xml",  # casefold: ß is ss
]
WINDOWS = [
    "C:\\ProgramData\\Tableau\\OAuthConfigs\\custom.xml",
    "C:\\ProgramData\\Tableau\\OAuthConfigs\\Custom.XML",
    "\\\\?\\C:\\ProgramData\\Tableau\\OAuthConfigs\\CUSTOM.xml",  # long-path form of the same file
    "C:\\ProgramData\\Tableau\\OAuthConfigs\\caf\u00e9.xml",
    "C:\\ProgramData\\Tableau\\OAuthConfigs\\cafe\u0301.xml",  # NTFS does not normalize: another file
    "C:/ProgramData/Tableau/OAuthConfigs/other.xml",
    "C:\\ProgramData\\Tableau\\OAuthConfigs\\OTHER.xml",
]


def test_pairs_name_the_first_path_and_each_later_one():
    assert collisions(["a", "B", "A", "b", "a"], str.lower) == [(0, 2), (1, 3), (0, 4)]
    assert collisions([], str.lower) == []


def test_apfs_fold_finds_what_the_macos_check_finds():
    pairs = collisions(MAC, apfs_fold)
    assert pairs == [(0, 1), (2, 3), (0, 6), (7, 8)]
    expected = "; ".join(
        "files[%d].path %s and files[%d].path %s differ only by case or Unicode normalization; macOS "
        "(APFS) names are case-insensitive, so they are one file: give them names that differ by more"
        % (first, MAC[first], later, MAC[later])
        for first, later in pairs
    )
    assert apfs_name_collisions([{"path": path} for path in MAC]) == expected


def test_ntfs_fold_finds_what_the_windows_check_finds():
    pairs = collisions(WINDOWS, lambda path: ntfs_fold(_windows_sync.plain_path(path)))
    assert pairs == [(0, 1), (0, 2), (5, 6)]
    assert pairs == collisions(WINDOWS, _windows_sync._key)
    desired = [{"index": index, "path": path} for index, path in enumerate(WINDOWS)]
    message = _windows_sync._case_collisions(desired, [])
    assert message.count("differ only by case") == len(pairs)
    for first, later in pairs:
        assert (
            "files[%d].path %s and files[%d].path %s differ" % (first, WINDOWS[first], later, WINDOWS[later]) in message
        )
