# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""How much Python the collection's plugins are, without their DOCUMENTATION / EXAMPLES / RETURN strings.

    .venv/bin/python benchmarks/plugin_size.py [--ref REV]   # the working tree, or a commit (git show)

Prints, per plugins/ folder and in total: lines (what is left once the three documentation strings are taken
out) and code lines (of those, not blank, not a comment, not a docstring). Issue 20 asks for the figure before
and after a refactor; run it on both commits.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC_NAMES = frozenset({"DOCUMENTATION", "EXAMPLES", "RETURN"})


def plugin_files(ref: str | None) -> dict[str, str]:
    """{path: text} of every .py file under plugins/, from the working tree or from commit ``ref``."""
    if ref is None:
        return {str(p.relative_to(REPO)): p.read_text(encoding="utf-8") for p in sorted(REPO.glob("plugins/**/*.py"))}
    names = subprocess.run(
        ["git", "-C", str(REPO), "ls-tree", "-r", "--name-only", ref, "plugins/"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return {
        name: subprocess.run(
            ["git", "-C", str(REPO), "show", f"{ref}:{name}"], check=True, capture_output=True, text=True
        ).stdout
        for name in names
        if name.endswith(".py")
    }


def excluded_lines(tree: ast.Module, docs_only: bool) -> set[int]:
    """Line numbers of the documentation strings (and, unless docs_only, of every docstring)."""
    lines: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) in DOC_NAMES for t in node.targets):
            lines.update(range(node.lineno, node.end_lineno + 1))
    if not docs_only:
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body:
                first = body[0]
                if (
                    isinstance(first, ast.Expr)
                    and isinstance(getattr(first, "value", None), ast.Constant)
                    and isinstance(first.value.value, str)
                ):
                    lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


def measure(text: str) -> tuple[int, int]:
    tree = ast.parse(text)
    source = text.splitlines()
    docs = excluded_lines(tree, docs_only=True)
    docstrings = excluded_lines(tree, docs_only=False)
    lines = sum(1 for number in range(1, len(source) + 1) if number not in docs)
    code = sum(
        1
        for number, line in enumerate(source, 1)
        if number not in docstrings and line.strip() and not line.strip().startswith("#")
    )
    return lines, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", help="a commit to measure instead of the working tree")
    args = parser.parse_args()
    lines, code = Counter(), Counter()
    for name, text in plugin_files(args.ref).items():
        folder = "/".join(name.split("/")[:2])
        lines[folder], code[folder] = (a + b for a, b in zip((lines[folder], code[folder]), measure(text)))
    print(f"{'folder':32} {'lines':>7} {'code':>7}")
    for folder in sorted(lines):
        print(f"{folder:32} {lines[folder]:7} {code[folder]:7}")
    print(f"{'total':32} {sum(lines.values()):7} {sum(code.values()):7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
