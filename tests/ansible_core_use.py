# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The rule behind the ``core`` test marker: which test modules exercise ansible-core.

scripts/core-matrix runs only the ``core`` unit tests on the older ansible-core releases (plus ansible-test sanity):
only code that runs ansible-core, or a collection the ``ansible`` package bundles, can behave differently there.
tests/conftest.py marks every test of a module for which :func:`core_use` finds a reason. A test module uses
ansible-core when it, or a file of the checkout it reaches, statically

- imports ``ansible``, ``ansible_test``, a tool built on them (ansible-runner, ansible-compat, ansible-lint,
  Molecule, antsibull) or another collection (``ansible_collections.<not tabops.redshift_oauth>``), in an import
  statement or in a string (a ``python -c`` script, ``importlib.import_module("ansible...")``); or
- names a program of ansible-core or of such a tool (``ansible-playbook``, ``ansible-doc``, ``molecule``...) as a
  command, or Ansible content by its fully qualified name (``ansible.builtin.copy``).

A test module reaches the conftest.py files above it (their fixtures); a file reaches the modules of this collection
it imports (``ansible_collections.tabops.redshift_oauth...``, relative imports inside them), the helper modules kept
with the tests (``localplay``, ``labfleet``, ``fakewin``: any ``<name>.py`` under tests/) and the programs of scripts/
it names (``scripts/compliance`` runs ansible-playbook). A module may also say ``pytestmark = pytest.mark.core``.
When in doubt the rule says "core": a test wrongly in costs seconds, a test wrongly out hides a break.

Some ``core`` modules run ansible-core only as the programs of .venv (``.venv/bin/ansible-playbook``, its python):
the newest release, whatever interpreter runs pytest. On an older release they would re-run the newest one, so they
are listed in :data:`NEWEST_ONLY`, tests/conftest.py adds the marker ``newest_core``, scripts/core-matrix leaves them
out, and the watch fails such a test if it runs any other ansible-core (in its own process, or a program from
elsewhere).
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib.util
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
SCRIPTS = REPO / "scripts"
COLLECTION = ("ansible_collections", "tabops", "redshift_oauth")

# Python packages that are, or drive, ansible-core.
CORE_PACKAGES = re.compile(r"^(ansible|ansible_test|ansible_runner|ansible_compat|ansiblelint|molecule|antsibull\w*)$")
# Programs that are, or run, ansible-core: named in a shell program, or as the command of a Python string
# (``"ansible-playbook"``, ``str(BIN / "ansible-doc")``, ``"ansible-galaxy collection build"``; not prose about one).
PROGRAMS = r"ansible(-(playbook|doc|galaxy|inventory|test|config|console|vault|pull|lint|navigator|runner))?|molecule"
PROGRAM_IN_SHELL = re.compile(rf"(?<![\w./-])({PROGRAMS})(?![\w.-])")
PROGRAM_IN_STRING = re.compile(rf"^(?:\S*/)?({PROGRAMS})(?:\s|$)")
# A module named inside a string: ``python -c "import ansible.x"``, ``import_module("ansible_collections.y")``,
# or a fully qualified name of Ansible content (``ansible.builtin.copy``, ``ansible.posix.json``).
IMPORT_IN_STRING = re.compile(
    r"(?:^|[\s;(\"'])(?:from|import)\s+((?:ansible|ansible_collections|ansible_test)\b[\w.]*)"
)
MODULE_NAME = re.compile(r"^(ansible|ansible_collections|ansible_test)(\.\w+)+$")
NOT_MODULE_NAMES = {"ansible.cfg"}
# The start of a computed module name, ``import_module(f"ansible_collections.tabops.redshift_oauth.plugins.{name}")``:
# it reaches every module of that package.
PACKAGE_PREFIX = re.compile(r"^((?:ansible|ansible_collections|ansible_test)(?:\.\w+)*)\.$")
# The programs of .venv: the newest ansible-core release, whichever interpreter runs pytest.
VENV_BIN = REPO / ".venv" / "bin"
# Test modules whose every use of ansible-core is a program of VENV_BIN (checked: tests/unit/test_core_marker.py
# statically, the watch at run time). Pointing one at the interpreter's own programs (Path(sys.executable).parent)
# instead would make the older releases run it for real: then take it out of this list.
NEWEST_ONLY = frozenset(
    {
        "tests/unit/plugins/action/test_compliance_report.py",
        "tests/unit/plugins/modules/test_odbc_modules.py",
        "tests/unit/plugins/modules/test_tableau_files.py",
        "tests/unit/plugins/modules/test_tsm_pending_changes.py",
        "tests/unit/plugins/modules/test_tsm_settings.py",
        "tests/unit/plugins/plugin_utils/test_windows_double_connection.py",
        "tests/unit/roles/test_redshift_iam_checks.py",
        "tests/unit/test_collection_docs.py",
        "tests/unit/test_pre_commit.py",
    }
)


def newest_only(path: Path) -> bool:
    """Whether the test module at ``path`` runs ansible-core only as .venv's programs (:data:`NEWEST_ONLY`)."""
    return _shown(Path(path).resolve()) in NEWEST_ONLY


def core_use(path: Path) -> str | None:
    """Why the file at ``path`` uses ansible-core (one line naming the file and the reason), or None."""
    seen: set[Path] = set()
    todo = [Path(path).resolve()]
    # The fixtures of the conftest files above a test module are part of it.
    todo += [folder / "conftest.py" for folder in todo[0].parents if (folder / "conftest.py").is_file()]
    while todo:
        current = todo.pop()
        if current in seen or current == Path(__file__).resolve():
            continue
        seen.add(current)
        reason, reached = _scan(current)
        if reason:
            return f"{_shown(current)}: {reason}"
        todo.extend(reached)
    return None


@functools.lru_cache(maxsize=None)
def _scan(path: Path) -> tuple[str | None, tuple[Path, ...]]:
    """(why this file itself uses ansible-core or None, the checkout files it reaches)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        tree = ast.parse(text, filename=str(path))
    except (SyntaxError, ValueError):
        # Not Python (a shell program of scripts/): only the programs it names count, not its comment lines (prose,
        # like docstrings; a comment after a command still counts: when in doubt, "core").
        code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        found = PROGRAM_IN_SHELL.search(code)
        return (f"runs {found.group(1)}" if found else None), ()
    imports, strings = _imports_and_strings(tree, path)
    reached: list[Path] = []
    for module, names in imports:
        if _is_core_module(module):
            return f"imports {module}", ()
        for candidate in [f"{module}.{name}" for name in names] + [module]:
            reached.extend(_module_files(candidate))
    for text_value in strings:
        found = PROGRAM_IN_STRING.match(text_value)
        if found:
            return f"runs {found.group(1)}", ()
        if MODULE_NAME.match(text_value) and text_value not in NOT_MODULE_NAMES and _is_core_module(text_value):
            return f"names {text_value}", ()
        prefix = PACKAGE_PREFIX.match(text_value)
        if prefix:
            if _is_core_module(prefix.group(1)):
                return f"imports {text_value}... (a computed name)", ()
            reached.extend(_package_files(prefix.group(1)))
        for module in IMPORT_IN_STRING.findall(text_value) + ([text_value] if MODULE_NAME.match(text_value) else []):
            if module in NOT_MODULE_NAMES:
                continue
            if _is_core_module(module):
                return f"imports {module} (in a string)", ()
            reached.extend(_module_files(module))
    reached.extend(_named_programs(strings))
    return None, tuple(reached)


def _imports_and_strings(tree: ast.Module, path: Path) -> tuple[list[tuple[str, tuple[str, ...]]], list[str]]:
    """(absolute module name, imported names) of every import statement, relative ones resolved against ``path``;
    and every string constant but docstrings (prose about a program is not a use of it). One walk: files are big."""
    imports: list[tuple[str, tuple[str, ...]]] = []
    strings: list[str] = []
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, str) and id(node) not in docstrings:
                strings.append(node.value)
        elif isinstance(node, ast.Import):
            imports.extend((alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _relative_module(path, node.level, node.module) if node.level else node.module or ""
            imports.append((module, tuple(alias.name for alias in node.names)))
    return imports, strings


def _relative_module(path: Path, level: int, module: str | None) -> str:
    """The absolute name of ``from <level dots><module> import`` written in ``path`` (a file of the collection)."""
    try:
        parts = list(COLLECTION) + list(path.relative_to(REPO).with_suffix("").parts)
    except ValueError:
        return module or ""
    package = parts[:-1]  # a/b/c.py and a/b/c/__init__.py both sit in a package: drop the last part
    package = package[: len(package) - (level - 1)]
    return ".".join(package + ([module] if module else []))


def _is_core_module(module: str) -> bool:
    parts = module.split(".")
    if CORE_PACKAGES.match(parts[0]):
        return True
    return parts[0] == "ansible_collections" and len(parts) >= 3 and tuple(parts[:3]) != COLLECTION


def _module_files(module: str) -> list[Path]:
    """The checkout's files for a module name: this collection's modules and the helper modules kept in tests/."""
    parts = module.split(".")
    if tuple(parts[:3]) == COLLECTION:
        base = REPO.joinpath(*parts[3:])
        return [candidate for candidate in (base.with_suffix(".py"), base / "__init__.py") if candidate.is_file()]
    if len(parts) == 1 and parts[0].isidentifier():
        return _test_helpers().get(parts[0], [])
    return []


@functools.lru_cache(maxsize=None)
def _package_files(package: str) -> tuple[Path, ...]:
    """Every module of one of this collection's packages (``ansible_collections.tabops.redshift_oauth.plugins``).

    Hidden folders are not the collection's (galaxy.yml leaves out ``.*``): the collection's own root holds .venv and
    .collections, whose tens of thousands of files made one computed name cost seconds in every pytest process."""
    parts = package.split(".")
    if tuple(parts[:3]) != COLLECTION:
        return ()
    folder = REPO.joinpath(*parts[3:])
    found = []
    for root, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(".") and name != "__pycache__"]
        found.extend(Path(root, name).resolve() for name in files if name.endswith(".py"))
    return tuple(sorted(found))


@functools.lru_cache(maxsize=None)
def _test_helpers() -> dict[str, list[Path]]:
    helpers: dict[str, list[Path]] = {}
    for path in TESTS.rglob("*.py"):
        if "__pycache__" not in path.parts and not path.name.startswith("test_") and path.name != "conftest.py":
            helpers.setdefault(path.stem, []).append(path.resolve())
    return helpers


def _named_programs(strings: list[str]) -> list[Path]:
    """The programs of scripts/ named as ``"scripts/compliance"``, or as ``"compliance"`` beside ``"scripts"``."""
    names = {match for text_value in strings for match in re.findall(r"\bscripts/([\w.-]+)", text_value)}
    if "scripts" in strings:
        names.update(strings)
    found = []
    for name in names:
        if name and "/" not in name and not name.startswith(".") and (SCRIPTS / name).is_file():
            found.append((SCRIPTS / name).resolve())
    return found


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


class CoreWatch:
    """Catches at run time what the static rule cannot see: a test not marked ``core`` that runs ansible-core anyway
    (a module name computed at run time, a program started through a variable).

    While watching, it records the Python code of ansible-core or of a bundled collection that runs in this process
    (``sys.monitoring``, Python >= 3.12; other code is switched off after its first call, so watching costs almost
    nothing) and the ansible-core programs, or checkout programs that use ansible-core, that this process starts
    (the ``subprocess.Popen`` audit event).
    """

    TOOL_ID = 4  # a sys.monitoring tool slot that debuggers (0), coverage (1) and profilers (2) do not take

    def __init__(self) -> None:
        self.found: list[str] = []
        self._watching = False
        self._venv_programs_allowed = False
        self._roots = _ansible_roots()
        # What ansible-core leaves behind in a process that imported it once (an earlier test): its patches of
        # sys.intern/socket/dataclasses and its collection finder on sys.meta_path run for every later caller.
        self._side_effects = tuple(
            os.path.join(root, *parts) + os.sep
            for root in self._roots[:1]
            for parts in (("module_utils", "_internal", "_patches"), ("utils", "collection_loader"))
        )
        self._monitoring = getattr(sys, "monitoring", None)
        if self._monitoring is not None:
            try:
                self._monitoring.use_tool_id(self.TOOL_ID, "tabops core marker")
            except ValueError:
                self._monitoring = None  # the slot is taken: only the audit half watches
            else:
                self._monitoring.register_callback(self.TOOL_ID, self._monitoring.events.PY_START, self._on_start)
        sys.addaudithook(self._on_audit)

    @contextlib.contextmanager
    def watching(self, venv_programs_allowed: bool = False):
        """Watch the ``with`` body; yields the list that collects what it found (one line each). With
        ``venv_programs_allowed``, programs started from VENV_BIN are not reported (a ``newest_core`` test)."""
        self.found = []
        self._venv_programs_allowed = venv_programs_allowed
        self._watching = True
        if self._monitoring is not None:
            self._monitoring.set_events(self.TOOL_ID, self._monitoring.events.PY_START)
        try:
            yield self.found
        finally:
            self._watching = False
            if self._monitoring is not None:
                self._monitoring.set_events(self.TOOL_ID, 0)

    def _on_start(self, code, _offset):
        if code.co_filename.startswith(self._roots) and not code.co_filename.startswith(self._side_effects):
            if f"runs {code.co_filename}" not in self.found:
                self.found.append(f"runs {code.co_filename}")
            return None
        return self._monitoring.DISABLE

    def _on_audit(self, event: str, args: tuple) -> None:
        if not self._watching or event != "subprocess.Popen":
            return
        try:
            self._check_started(args[1])
        except Exception as error:  # an audit hook that raises would fail the test's Popen instead
            self.found.append(f"cannot check a started program ({error!r})")

    def _check_started(self, argv) -> None:
        argv = [argv] if isinstance(argv, (str, bytes, os.PathLike)) else list(argv or ())
        if self._venv_programs_allowed and argv and _in_venv_bin(argv[0]):
            return
        for argument in (os.fsdecode(value) for value in argv if isinstance(value, (str, bytes, os.PathLike))):
            program = PROGRAM_IN_STRING.match(argument)
            reason = f"runs {program.group(1)}" if program else _checkout_program_use(argument)
            if reason:
                self.found.append(f"starts {argv[:3]}: {reason}")
                return


@functools.lru_cache(maxsize=None)
def core_watch() -> CoreWatch:
    """The process's one CoreWatch (sys.monitoring gives a tool one slot per process)."""
    return CoreWatch()


def _in_venv_bin(program) -> bool:
    """Whether ``program`` (a started program's path) is one of .venv's, named by its path in the checkout."""
    if not isinstance(program, (str, bytes, os.PathLike)):
        return False
    path = Path(os.path.normpath(os.fsdecode(program)))
    return path.is_absolute() and path.parent == VENV_BIN


def _checkout_program_use(argument: str) -> str | None:
    """Why a file of the checkout that a test runs (``python scripts/compliance``) uses ansible-core, or None."""
    if "\n" in argument or len(argument) > 4096:
        return None
    path = Path(argument)
    try:
        inside = path.is_absolute() and path.resolve().is_relative_to(REPO) and path.is_file()
    except OSError:
        return None
    return core_use(path) if inside else None


def _ansible_roots() -> tuple[str, ...]:
    """The folders of ansible-core, ansible-test and the collections the ``ansible`` package bundles."""
    spec = importlib.util.find_spec("ansible")
    if spec is None or not spec.submodule_search_locations:
        return ()
    site = Path(next(iter(spec.submodule_search_locations))).parent
    return tuple(str(site / name) + os.sep for name in ("ansible", "ansible_test", "ansible_collections"))
