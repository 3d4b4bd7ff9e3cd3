# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The ``core`` marker: scripts/core-matrix runs only these tests on the older ansible-core releases, so a test that
uses ansible-core and is not marked would never meet them. The rule is tests/ansible_core_use.py."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_core_use import NEWEST_ONLY, VENV_BIN, _package_files, _scan, core_use, core_watch

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "plugins"
# Independent of the rule: a test module's own source that imports ansible-core or runs one of its programs.
DIRECT_USE = re.compile(r"^\s*(from|import)\s+ansible(\.|\s)|[\"'/]ansible-(playbook|doc|galaxy|inventory)[\"' ]", re.M)


def plugin_files(with_ansible: bool) -> list[Path]:
    """Collection files whose own imports do (or do not) name ansible-core, today's tree whatever it holds."""
    found = []
    for path in sorted(PLUGINS.rglob("*.py")):
        names = [
            alias.name if isinstance(node, ast.Import) else node.module or ""
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in (node.names if isinstance(node, ast.Import) else [node])
        ]
        if any(name == "ansible" or name.startswith("ansible.") for name in names) == with_ansible:
            found.append(path)
    return found


def module_name(path: Path) -> str:
    return "ansible_collections.tabops.redshift_oauth." + ".".join(path.relative_to(REPO).with_suffix("").parts)


def test_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "test_example.py"
    path.write_text(body)
    return path


test_file.__test__ = False  # a helper, not a test


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("import ansible.module_utils.basic\n", "imports ansible.module_utils.basic"),
        ("from ansible.errors import AnsibleError\n", "imports ansible.errors"),
        ("from ansible_collections.amazon.aws.plugins.module_utils import arn\n", "imports ansible_collections.amazon"),
        ("import ansible_runner\n", "imports ansible_runner"),
        ("import subprocess\nsubprocess.run([BIN / 'ansible-playbook', 'site.yml'])\n", "runs ansible-playbook"),
        ("RUN = ['ansible-galaxy collection build']\n", "runs ansible-galaxy"),
        ("run([sys.executable, '-c', 'import sys; import ansible.release'])\n", "imports ansible.release"),
        ("importlib.import_module('ansible.plugins.loader')\n", "names ansible.plugins.loader"),
        ("TASK = {'ansible.builtin.copy': {'src': 'a'}}\n", "names ansible.builtin.copy"),
        ("run([REPO / 'scripts' / 'compliance', '-i', 'inv'])\n", "scripts/compliance: runs ansible-playbook"),
    ],
)
def test_a_test_module_that_uses_ansible_core_is_core(tmp_path, body, reason):
    found = core_use(test_file(tmp_path, body))
    assert found is not None and reason in found, found


def test_what_a_collection_module_imports_counts_too(tmp_path):
    using = plugin_files(with_ansible=True)
    assert using, "no collection module imports ansible-core: the rule cannot be checked"
    found = core_use(test_file(tmp_path, f"from {module_name(using[0])} import *\n"))
    assert found is not None and found.startswith(str(using[0].relative_to(REPO))), found
    # A computed name reaches every module of the package: test_module_docs imports the modules that way.
    package = module_name(using[0]).rsplit(".", 1)[0]
    found = core_use(test_file(tmp_path, f"importlib.import_module(f'{package}.{{name}}')\n"))
    assert found is not None, package


@pytest.mark.parametrize(
    "body",
    [
        '"""Runs like ansible-playbook would, and says so in prose only."""\nimport json\n',
        "MESSAGE = 'put the secret in the vault (ansible-vault encrypt_string)'\n",
        "CONFIG = 'ansible.cfg'\n",
        "import subprocess\nsubprocess.run(['true'])\n",
    ],
)
def test_prose_and_plain_python_are_not_core(tmp_path, body):
    assert core_use(test_file(tmp_path, body)) is None


def test_a_pure_collection_module_is_not_core(tmp_path):
    pure = [path for path in plugin_files(with_ansible=False) if core_use(path) is None]
    assert pure, "every collection module reaches ansible-core: the older releases run the whole unit suite"
    assert core_use(test_file(tmp_path, f"from {module_name(pure[0])} import *\n")) is None


@pytest.mark.parametrize(
    ("program", "reason"),
    [
        ("#!/usr/bin/env bash\n# the ansible package bundles thousands of modules\npip install -r x\n", None),
        ("#!/usr/bin/env bash\nset -e\n  ansible-playbook site.yml  # the rollout\n", "runs ansible-playbook"),
        ("#!/usr/bin/env bash\npip install x  # then ansible\n", "runs ansible"),
    ],
    ids=["only-in-a-comment", "a-command", "in-a-comment-after-a-command"],
)
def test_a_shell_program_uses_ansible_core_by_its_commands_not_its_comment_lines(tmp_path, program, reason):
    script = tmp_path / "program"
    script.write_text(program)
    assert _scan(script) == (reason, ())


def test_a_computed_name_of_the_collection_root_reaches_its_modules_and_no_hidden_folder():
    """``import_module(f"ansible_collections.tabops.redshift_oauth.{name}")`` reaches the collection's files, not
    .venv or .collections below the checkout root: walking those cost every pytest process seconds."""
    reached = [path.relative_to(REPO).parts for path in _package_files("ansible_collections.tabops.redshift_oauth")]
    assert ("plugins", "modules", "tableau_files.py") in reached
    assert [parts for parts in reached if any(p.startswith(".") or p == "__pycache__" for p in parts)] == []


def test_every_collected_test_that_imports_or_runs_ansible_core_is_marked(request):
    """The conftest hook applies the rule: no test that plainly uses ansible-core (checked without the rule) escapes."""
    unmarked = sorted(
        {
            str(item.path.relative_to(REPO))
            for item in request.session.items
            if item.get_closest_marker("core") is None and DIRECT_USE.search(item.path.read_text())
        }
    )
    assert unmarked == []
    marked = [item for item in request.session.items if item.get_closest_marker("core") is not None]
    assert request.node in marked  # this module runs ansible-core in its watch test below


def test_a_conftest_that_uses_ansible_core_makes_the_tests_below_it_core(tmp_path):
    (tmp_path / "conftest.py").write_text("import pytest\nfrom ansible.plugins.loader import init_plugin_loader\n")
    found = core_use(test_file(tmp_path, "def test_x(fixture_from_conftest):\n    pass\n"))
    assert found is not None and "conftest.py: imports ansible.plugins.loader" in found, found


def test_the_watch_catches_ansible_core_code_run_in_the_test_process():
    watch = core_watch()
    if not hasattr(sys, "monitoring"):
        pytest.skip("sys.monitoring needs Python >= 3.12: only started programs are watched here")
    converters = __import__("ansible.module_utils.common.text.converters", fromlist=["to_text"])
    with watch.watching() as found:
        assert converters.to_text(b"x") == "x"
    assert found and "ansible/module_utils/common/text/converters.py" in found[0], found
    with watch.watching() as found:
        assert sorted({"b", "a"}) == ["a", "b"]
    assert found == []


def test_the_watch_catches_an_ansible_core_program_started_by_the_test(tmp_path):
    watch = core_watch()
    program = tmp_path / "ansible-playbook"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    with watch.watching() as found:
        subprocess.run([str(program), "--version"], check=True)
    assert found and "runs ansible-playbook" in found[0], found
    with watch.watching() as found:
        compliance = str(REPO / "scripts" / "compliance")
        subprocess.run([sys.executable, compliance, "--help"], capture_output=True, check=False)
    assert found and "scripts/compliance" in found[0], found
    with watch.watching() as found:
        subprocess.run(["true"], check=True)
    assert found == []


def local_sources(path: Path) -> str:
    """The source of a test module and of the test modules and helpers next to it that it imports by name."""
    text = path.read_text()
    for name in re.findall(r"^from (\w+) import", text, re.M):
        text += "".join(helper.read_text() for helper in path.parent.glob(f"{name}.py"))
    return text


@pytest.mark.parametrize("name", sorted(NEWEST_ONLY))
def test_a_newest_only_module_runs_venv_programs_and_nothing_else(name):
    """NEWEST_ONLY lists modules whose every ansible-core use is a program of .venv: they are ``core``, name .venv's
    bin folder (here or in the helper they import), and never the interpreter's own programs (which would make the
    older releases run them for real). The watch checks the rest when they run (tests/conftest.py)."""
    path = REPO / name
    assert path.is_file(), name
    assert core_use(path) is not None, name
    source = local_sources(path)
    assert '".venv"' in source, name
    assert "sys.executable" not in source, name


def test_newest_only_tests_are_marked_and_the_matrix_leaves_them_out(request):
    marked = {
        str(item.path.relative_to(REPO)) for item in request.session.items if item.get_closest_marker("newest_core")
    }
    collected = {str(item.path.relative_to(REPO)) for item in request.session.items}
    assert NEWEST_ONLY & collected <= marked
    # Beyond the list, only a test that says so itself (one test of a module that otherwise runs on every release).
    for name in marked - NEWEST_ONLY:
        assert "@pytest.mark.newest_core" in (REPO / name).read_text(), name
    assert '-m "core and not newest_core"' in (REPO / "scripts" / "core-matrix").read_text()


def test_a_newest_core_test_may_start_venv_programs_and_nothing_else(tmp_path):
    watch = core_watch()
    playbook = VENV_BIN / "ansible-playbook"
    if not playbook.exists():
        pytest.skip("no .venv: run scripts/bootstrap")
    with watch.watching(venv_programs_allowed=True) as found:
        subprocess.run([str(playbook), "--version"], check=True, capture_output=True)
    assert found == []
    elsewhere = tmp_path / "ansible-playbook"
    elsewhere.write_text("#!/bin/sh\nexit 0\n")
    elsewhere.chmod(0o755)
    with watch.watching(venv_programs_allowed=True) as found:
        subprocess.run([str(elsewhere), "--version"], check=True)
    assert found and "runs ansible-playbook" in found[0], found
    with watch.watching() as found:
        subprocess.run([str(playbook), "--version"], check=True, capture_output=True)
    assert found and "runs ansible-playbook" in found[0], found
