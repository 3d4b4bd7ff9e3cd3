# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
""".pre-commit-config.yaml runs the linters scripts/test runs: every one of scripts/lint's, offline."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"


def linters_of_scripts_lint():
    text = (REPO / "scripts" / "lint").read_text()
    return re.search(r"^all=\(([^)]*)\)", text, re.M).group(1).split()


def test_one_local_hook_per_linter_of_scripts_lint():
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"]  # nothing to download
    hooks = config["repos"][0]["hooks"]
    assert all(hook["language"] == "system" and hook["pass_filenames"] is False for hook in hooks)
    assert [hook["entry"] for hook in hooks] == [f"scripts/lint {name}" for name in linters_of_scripts_lint()]
    assert "scripts/lint\n" in (REPO / "scripts" / "test").read_text()
    subprocess.run([str(BIN / "pre-commit"), "validate-config", ".pre-commit-config.yaml"], check=True, cwd=REPO)


def test_a_hook_runs_offline_and_fails_on_a_lint_error(tmp_path):
    """In a throwaway repository holding the tree: pre-commit runs scripts/lint with .venv's tools."""
    tree = tmp_path / "tree"
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for name in filter(None, listed.split("\0")):
        if (REPO / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, tree / name)
    # The tree's scripts/bootstrap would build its own .venv: lend it the checkout's.
    (tree / ".venv").symlink_to(REPO / ".venv")
    git = ["git", "-C", str(tree), "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "tree"], check=True)
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), PATH=f"{BIN}:{os.environ['PATH']}")
    command = [str(BIN / "pre-commit"), "run", "yamllint", "--all-files"]
    passed = subprocess.run(command, capture_output=True, text=True, cwd=tree, env=env, check=False)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    (tree / "playbooks" / "broken.yml").write_text("---\n- hosts: all\n  tasks:   [ ]\n")
    failed = subprocess.run(command, capture_output=True, text=True, cwd=tree, env=env, check=False)
    assert failed.returncode != 0 and "playbooks/broken.yml" in failed.stdout, failed.stdout
