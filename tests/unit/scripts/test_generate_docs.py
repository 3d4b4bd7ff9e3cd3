# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The files generated from the one data model (plugins/plugin_utils/_model) match it, and a stale one is found.

scripts/generate-docs writes every role's meta/argument_specs.yml and defaults/main.yml, the role READMEs and the
variable table of docs/data-model.md from the declaration; scripts/lint's generated-docs step runs its --check.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import shutil
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]


def load_generator():
    loader = importlib.machinery.SourceFileLoader("tabops_generate_docs", str(REPO / "scripts" / "generate-docs"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.fixture
def generator():
    return load_generator()


def relative(paths, root):
    return sorted(str(path.relative_to(root)) for path in paths)


def test_every_file_generated_from_the_model_is_up_to_date(generator):
    files = generator.model_files()
    roles = sorted(path.name for path in (REPO / "roles").iterdir() if (path / "tasks").is_dir())
    for role in roles:
        for name in ("meta/argument_specs.yml", "defaults/main.yml", "README.md"):
            assert REPO / "roles" / role / name in files, (role, name)
    assert REPO / "docs" / "data-model.md" in files
    assert relative(generator.out_of_date(files), REPO) == [], "run scripts/generate-docs"


def test_the_generated_specs_and_defaults_say_what_the_model_declares(generator):
    model = generator.load_model()
    for role in model.roles():
        specs = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
        defaults = yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text()) or {}
        for entry_point, spec in specs.items():
            for name, option in spec["options"].items():
                declared = model.variables()[name]
                assert model.takes(name, role, entry_point)
                assert {key: option.get(key) for key in ("type", "elements", "choices", "required")} == {
                    key: declared.get(key) for key in ("type", "elements", "choices", "required")
                }, (role, entry_point, name)
                if name in defaults and "default" in option:
                    assert defaults[name] == option["default"] == declared["default"], (role, name)
    # The planner and the preflight read the same defaults.
    from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._profile import DEFAULTS
    from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._preflight import IAM_DEFAULTS

    preflight = yaml.safe_load((REPO / "roles" / "preflight" / "meta" / "argument_specs.yml").read_text())
    options = preflight["argument_specs"]["main"]["options"]
    assert {name: option["default"] for name, option in options.items() if "default" in option} == DEFAULTS
    iam = yaml.safe_load((REPO / "roles" / "redshift_iam" / "defaults" / "main.yml").read_text())
    assert {name.removeprefix("redshift_iam_"): value for name, value in iam.items()} == IAM_DEFAULTS


def copy_model_sources(destination: Path) -> Path:
    """What model_files() reads, in a scratch checkout."""
    shutil.copytree(REPO / "roles", destination / "roles")
    shutil.copytree(
        REPO / "plugins" / "plugin_utils" / "_model",
        destination / "plugins" / "plugin_utils" / "_model",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (destination / "docs").mkdir()
    shutil.copy2(REPO / "docs" / "data-model.md", destination / "docs" / "data-model.md")
    return destination


def test_a_changed_declaration_makes_every_file_it_feeds_stale(generator, tmp_path, monkeypatch):
    tree = copy_model_sources(tmp_path)
    monkeypatch.setattr(generator, "REPO", tree)
    monkeypatch.setattr(generator, "MODEL_DIR", tree / "plugins" / "plugin_utils" / "_model")
    assert generator.out_of_date(generator.model_files()) == []
    declaration = tree / "plugins" / "plugin_utils" / "_model" / "variables.py"
    text = declaration.read_text()
    assert text.count('"tabops_backup_keep": {\n        "type": "int",\n        "default": 5,') == 1
    declaration.write_text(
        text.replace(
            '"tabops_backup_keep": {\n        "type": "int",\n        "default": 5,',
            ('"tabops_backup_keep": {\n        "type": "int",\n        "default": 7,'),
        )
    )
    files = generator.model_files()
    assert relative(generator.out_of_date(files), tree) == [
        "docs/data-model.md",
        "roles/preflight/README.md",
        "roles/preflight/meta/argument_specs.yml",
        "roles/tableau_files/README.md",
        "roles/tableau_files/defaults/main.yml",
        "roles/tableau_files/meta/argument_specs.yml",
    ]
    assert "tabops_backup_keep: 7\n" in files[tree / "roles" / "tableau_files" / "defaults" / "main.yml"]
    assert "| `tabops_backup_keep` | int | `7` |" in files[tree / "docs" / "data-model.md"]


def test_a_hand_edit_of_a_generated_file_is_stale(generator, tmp_path, monkeypatch):
    tree = copy_model_sources(tmp_path)
    monkeypatch.setattr(generator, "REPO", tree)
    monkeypatch.setattr(generator, "MODEL_DIR", tree / "plugins" / "plugin_utils" / "_model")
    defaults = tree / "roles" / "server_settings" / "defaults" / "main.yml"
    defaults.write_text(defaults.read_text().replace("tabops_tsm_apply: immediate", "tabops_tsm_apply: defer"))
    assert relative(generator.out_of_date(generator.model_files()), tree) == ["roles/server_settings/defaults/main.yml"]
