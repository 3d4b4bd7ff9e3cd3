# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The collection's docs and changelog as the Ansible docs tooling builds them, offline.

- antsibull-docs renders every plugin, role and guide into an HTML site (Sphinx);
- scripts/generate-docs writes role specs, defaults and READMEs from the data model and notices a stale one;
- antsibull-changelog turns the fragments into a release's CHANGELOG.md.
The committed generated files being up to date is scripts/lint's ``generated-docs`` step.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"
COLLECTION = "tabops.redshift_oauth"


def tool_env():
    return dict(
        os.environ,
        PATH=f"{BIN}:{os.environ.get('PATH', '')}",
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
        ANSIBLE_NOCOLOR="1",
    )


def run(command, **kwargs):
    completed = subprocess.run(command, capture_output=True, text=True, check=False, env=tool_env(), **kwargs)
    assert completed.returncode == 0, f"{command}:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
    return completed


def copy_of_the_tree(destination):
    listed = run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"]).stdout
    for name in filter(None, listed.split("\0")):
        if (REPO / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, destination / name)
    return destination


@pytest.fixture(scope="module")
def docsite(tmp_path_factory):
    """The collection's docs site as antsibull-docs' own sphinx-init layout builds it."""
    site = tmp_path_factory.mktemp("docsite")
    run([str(BIN / "antsibull-docs"), "sphinx-init", "--use-current", "--dest-dir", str(site), COLLECTION])
    # Offline: no intersphinx inventories of docs.python.org / docs.ansible.com.
    with open(site / "conf.py", "a") as conf:
        conf.write("\nintersphinx_mapping = {}\nhtml_theme = 'alabaster'\n")
    run(
        [
            str(BIN / "antsibull-docs"),
            "--config-file",
            "antsibull-docs.cfg",
            "collection",
            "--use-current",
            "--fail-on-error",
            "--dest-dir",
            "rst",
            COLLECTION,
        ],
        cwd=site,
    )
    run([str(BIN / "sphinx-build"), "-q", "-b", "html", "-c", ".", "rst", "html"], cwd=site)
    return site / "html" / "collections" / "tabops" / "redshift_oauth"


def test_every_plugin_role_and_guide_gets_a_page(docsite):
    for plugin_type in ("module", "filter", "callback"):
        listed = json.loads(run([str(BIN / "ansible-doc"), "-t", plugin_type, "-l", COLLECTION, "--json"]).stdout)
        assert listed, plugin_type
        for fqcn in listed:
            page = docsite / f"{fqcn.rsplit('.', 1)[1]}_{plugin_type}.html"
            assert page.is_file(), page
            assert "did not return correct DOCUMENTATION" not in page.read_text()
    for role in sorted(path for path in (REPO / "roles").iterdir() if path.is_dir()):
        page = (docsite / f"{role.name}_role.html").read_text()
        for option in yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"].get(
            "options", {}
        ):
            assert option in page, (role.name, option)
    extra = yaml.safe_load((REPO / "docs" / "docsite" / "extra-docs.yml").read_text())
    guides = [name for section in extra["sections"] for name in section["toctree"]]
    index = (docsite / "index.html").read_text()
    for guide in guides:
        source = (REPO / "docs" / f"{guide.replace('_', '-')}.md").read_text()
        title = next(line for line in source.splitlines() if line.startswith("# ")).lstrip("# ").strip()
        page = (docsite / "docsite" / f"{guide}.html").read_text()
        assert re.sub(r"[`*]", "", title) in re.sub(r"<[^>]+>", "", page).replace("&#8217;", "'"), guide
        assert f"docsite/{guide}.html" in index, guide


def test_role_readmes_follow_argument_specs(tmp_path):
    tree = copy_of_the_tree(tmp_path / "tree")
    generate = [str(BIN / "python"), str(tree / "scripts" / "generate-docs")]
    check = [*generate, "--check"]
    run(generate)
    run(check)
    readme = (tree / "roles" / "tdc_files" / "README.md").read_text()
    specs = yaml.safe_load((tree / "roles" / "tdc_files" / "meta" / "argument_specs.yml").read_text())
    for option in specs["argument_specs"]["main"]["options"]:
        assert f"| `{option}` |" in readme, option
    # A new variable in the data model makes the committed spec, defaults and README stale until regenerated.
    with open(tree / "plugins" / "plugin_utils" / "_model" / "variables.py", "a") as declaration:
        knob = {"type": "int", "default": 3, "description": "New.", "roles": ["tdc_files"]}
        declaration.write(f"VARIABLES['tabops_new_knob'] = {knob!r}\n")
    stale = subprocess.run(check, capture_output=True, text=True, env=tool_env(), check=False)
    assert stale.returncode == 1
    for name in ("README.md", "meta/argument_specs.yml", "defaults/main.yml"):
        assert f"roles/tdc_files/{name} is out of date" in stale.stderr, name
    run(generate)
    assert "| `tabops_new_knob` | int |  | `3` | New. |" in (tree / "roles" / "tdc_files" / "README.md").read_text()
    assert "tabops_new_knob: 3\n" in (tree / "roles" / "tdc_files" / "defaults" / "main.yml").read_text()
    run(check)


def test_changelog_release_renders_every_fragment(tmp_path):
    tree = copy_of_the_tree(tmp_path / "tree")
    fragments = [yaml.safe_load(path.read_text()) for path in sorted((tree / "changelogs" / "fragments").glob("*.yml"))]
    assert fragments
    version = yaml.safe_load((tree / "galaxy.yml").read_text())["version"]
    run([str(BIN / "antsibull-changelog"), "lint"], cwd=tree)
    run([str(BIN / "antsibull-changelog"), "release", "--version", version, "--date", "2026-01-01"], cwd=tree)
    changelog = (tree / "CHANGELOG.md").read_text().replace("\\", "")  # Markdown escapes
    assert f"v{version}" in changelog
    for fragment in fragments:
        for section, entries in fragment.items():
            for entry in entries if isinstance(entries, list) else [entries]:
                words = " ".join(entry.split()[:6]).replace("``", "`")
                assert words.split("`", maxsplit=1)[0].strip() in changelog, (section, words)
    released = yaml.safe_load((tree / "changelogs" / "changelog.yaml").read_text())
    assert version in released["releases"]
    assert not list((tree / "changelogs" / "fragments").glob("*.yml"))  # consumed by the release
