# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Two desired paths that are one file on the host's file system: the one check, for every OS family.

macOS's default APFS and Windows's NTFS compare names without case (APFS also without Unicode normalization), so
``Custom.xml`` and ``custom.xml`` there are one file, and writing both would let the second overwrite the first.
A ``fold`` turns a path into what the file system compares; ``collisions`` finds the paths that fold alike.
"""

from __future__ import annotations

import ntpath
import unicodedata
from collections.abc import Callable, Iterable


def apfs_fold(path: str) -> str:
    """What APFS compares: case- and normalization-insensitive."""
    return unicodedata.normalize("NFD", path).casefold()


def ntfs_fold(path: str) -> str:
    """What NTFS compares: case-insensitive (``ntpath.normcase`` also turns ``/`` into ``\\``)."""
    return ntpath.normcase(path)


def collisions(paths: Iterable[str], fold: Callable[[str], str]) -> list[tuple[int, int]]:
    """``(first, later)`` positions of every path that folds like an earlier one (it is the first one's file)."""
    seen: dict[str, int] = {}
    pairs = []
    for position, path in enumerate(paths):
        first = seen.setdefault(fold(path), position)
        if first != position:
            pairs.append((first, position))
    return pairs
