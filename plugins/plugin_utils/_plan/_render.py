# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Each distinct document rendered once; a plan's files stored by the sha256 of their text (each text once)."""

from __future__ import annotations

import hashlib
import json

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import TableauXmlError
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._files import default_render


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def digest(value: object) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


class Renderer:
    """Renders each distinct (kind, document, comment) once; ``documents`` maps a content digest to the text."""

    def __init__(self) -> None:
        self._by_input: dict = {}
        self.documents: dict[str, str] = {}
        self.renders = 0

    def __call__(self, kind: str, document: dict, managed_comment: str) -> str:
        key = canonical_json([kind, document, managed_comment])
        cached = self._by_input.get(key)
        if isinstance(cached, TableauXmlError):
            raise cached
        if cached is None:
            self.renders += 1
            try:
                cached = default_render(kind, document, managed_comment)
            except TableauXmlError as exc:
                self._by_input[key] = exc
                raise
            self._by_input[key] = cached
            self.documents[hashlib.sha256(cached.encode("utf-8")).hexdigest()] = cached
        return cached


# One per controller process: an action that renders by itself (no fleet plan) reuses what this process rendered.
PROCESS_RENDERER = Renderer()


def compact_files(files: list[dict]) -> list[dict]:
    """The files of a plan with their content replaced by its sha256 (the fleet plan stores each text once)."""
    return [
        {
            **{k: v for k, v in item.items() if k != "content"},
            "sha256": hashlib.sha256(item["content"].encode()).hexdigest(),
        }
        for item in files
    ]


def expand_files(files: list[dict], documents: dict[str, str]) -> list[dict]:
    """Inverse of :func:`compact_files`; KeyError when a document is missing."""
    return [
        {**{k: v for k, v in item.items() if k != "sha256"}, "content": documents[item["sha256"]]} for item in files
    ]
