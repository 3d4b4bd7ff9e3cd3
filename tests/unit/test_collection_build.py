# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The collection builds into a clean tarball that installs into an empty path and resolves by FQCN.

What ships is checked against an allowlist (a new top-level file or script fails here until it is
either shipped on purpose or left out in galaxy.yml's build_ignore); the metadata ops tools read
(dependencies, requires_ansible, the execution environment's Python requirements) is checked
against what the checkout tests with; ansible-builder's own build context and introspection show
an execution environment gets the runtime requirements and nothing of the development toolchain.
"""

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
# ansible-galaxy and ansible-doc of the Python running the tests (scripts/core-matrix runs them on every
# ansible-core minor); ansible-builder is a development tool of .venv only.
BIN = Path(sys.executable).parent
DEV_BIN = REPO / ".venv" / "bin"
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
TARBALL_NAME = f"tabops-redshift_oauth-{GALAXY['version']}.tar.gz"

# Every file the tarball may hold ("*" spans folders, as in galaxy.yml's build_ignore).
SHIPPED = (
    "MANIFEST.json",
    "FILES.json",
    "README.md",
    "LICENSE",
    "CHANGELOG.md",
    "requirements.txt",
    "meta/runtime.yml",
    "meta/execution-environment.yml",
    "changelogs/changelog.yaml",
    "changelogs/config.yaml",
    "docs/*.md",
    "docs/*.json",
    "docs/docsite/*.yml",
    "docs/docsite/rst/*.rst",
    "plugins/*.py",
    "plugins/plugin_utils/templates/*.j2",
    "roles/*/tasks/*.yml",
    "roles/*/handlers/main.yml",
    "roles/*/defaults/main.yml",
    "roles/*/vars/main.yml",
    "roles/*/meta/main.yml",
    "roles/*/meta/argument_specs.yml",
    "roles/*/templates/*.j2",
    "roles/*/files/*",
    "roles/*/README.md",
    "playbooks/*.yml",
    "inventories/example/*.yml",
    "scripts/compliance",
    "tests/sanity/ignore-*.txt",
)
# Must be there: what users and ops tools open first.
REQUIRED = (
    "MANIFEST.json",
    "README.md",
    "LICENSE",
    "requirements.txt",
    "meta/runtime.yml",
    "meta/execution-environment.yml",
    "playbooks/site.yml",
    "playbooks/compliance.yml",
    "plugins/modules/tableau_files.py",
    "plugins/callback/compliance_report.py",
    "scripts/compliance",
    "inventories/example/hosts.yml",
)


def isolated_env(work):
    """No ansible.cfg of the checkout and no collections but the ones given later.

    HOME is a fresh folder too: a copy of this collection in ~/.ansible/collections (an earlier install) would make
    ``ansible-galaxy collection install`` skip it as already installed.
    """
    (work / "ansible.cfg").write_text("[defaults]\n")
    (work / "home").mkdir()
    return dict(os.environ, ANSIBLE_CONFIG=str(work / "ansible.cfg"), ANSIBLE_NOCOLOR="1", HOME=str(work / "home"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The plain ``ansible-galaxy collection build`` of the checkout: what Galaxy and git installs build."""
    work = tmp_path_factory.mktemp("build")
    env = isolated_env(work)
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", str(REPO), "--output-path", str(work)],
        check=True,
        capture_output=True,
        env=env,
    )
    return work / TARBALL_NAME, work, env


@pytest.fixture(scope="module")
def installed(built):
    tarball, work, env = built
    install_path = work / "collections"
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--force", str(tarball), "-p", str(install_path)],
        check=True,
        capture_output=True,
        env=env,
    )
    return install_path, dict(env, ANSIBLE_COLLECTIONS_PATH=str(install_path))


def tarball_files(tarball):
    with tarfile.open(tarball) as archive:
        return [member.name for member in archive.getmembers() if not member.isdir()]


def manifest(tarball):
    with tarfile.open(tarball) as archive:
        return json.load(archive.extractfile("MANIFEST.json"))["collection_info"]


def test_tarball_holds_the_collection_and_nothing_of_the_checkouts_tooling(built):
    tarball, _work, _env = built
    names = tarball_files(tarball)
    unexpected = [name for name in names if not any(fnmatch.fnmatch(name, pattern) for pattern in SHIPPED)]
    assert not unexpected, f"not in the allowlist of shipped files (ship it there or build_ignore it): {unexpected}"
    assert not [name for name in REQUIRED if name not in names]
    roles = sorted(path.name for path in (REPO / "roles").iterdir() if path.is_dir())
    assert roles and all(f"roles/{role}/meta/argument_specs.yml" in names for role in roles)
    # The checkout's tooling, named once more so the reason for the allowlist stays visible.
    for tooling in ("ansible.cfg", "requirements-dev.txt", "pyproject.toml", ".ansible-lint", "galaxy.yml"):
        assert tooling not in names
    for folder in ("molecule/", "tests/integration/", "tests/unit/", "tests/lab/", "benchmarks/", ".venv/"):
        assert not any(name.startswith(folder) for name in names), folder
    assert [name for name in names if name.startswith("scripts/")] == ["scripts/compliance"]
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)


def test_manifest_declares_what_the_collection_uses(built):
    tarball, _work, _env = built
    info = manifest(tarball)
    assert info["license"] == ["MIT"]
    assert set(info["dependencies"]) == {"amazon.aws", "ansible.windows"}
    used = {
        match.group(1)
        for path in [*REPO.glob("roles/*/tasks/*.yml"), *REPO.glob("playbooks/*.yml"), *REPO.glob("plugins/**/*.py")]
        for match in re.finditer(
            r"\b(amazon\.aws|ansible\.windows|ansible\.posix|community\.[a-z_]+)\.[a-z_]+", path.read_text()
        )
    }
    assert used <= set(info["dependencies"]), used
    for field in ("repository", "documentation", "issues", "homepage"):
        assert re.fullmatch(r"https://[a-z0-9.-]+/\S+", info[field]), field
        assert ".invalid" not in info[field] and "example" not in info[field], info[field]


def test_dependency_ranges_hold_the_versions_the_checkout_tests_with():
    """The lower bounds are what the oldest matrix entry's ansible package bundles; .venv's must fit too."""
    site = next((BIN.parent / "lib").glob("python3*/site-packages"))
    for name, spec in GALAXY["dependencies"].items():
        namespace, collection = name.split(".")
        installed = json.loads((site / "ansible_collections" / namespace / collection / "MANIFEST.json").read_text())
        version = installed["collection_info"]["version"]
        assert Version(version) in SpecifierSet(spec), (name, version, spec)


def test_requires_ansible_is_a_lower_bound_the_matrix_starts_at():
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    match = re.fullmatch(r">=(\d+\.\d+)\.0", runtime["requires_ansible"])
    assert match, runtime["requires_ansible"]
    listed = subprocess.run(
        [str(REPO / "scripts" / "core-matrix"), "--list"], check=True, capture_output=True, text=True
    )
    minors = [line.split()[0] for line in listed.stdout.splitlines()]
    assert minors[0] == match.group(1)
    newest = re.search(r"^ansible-core==(\d+\.\d+)\.", (REPO / "requirements-dev.txt").read_text(), re.M).group(1)
    assert minors[-1] == newest
    # An exception the newest minor needs applies to every minor; older ones may need more (their checks differ).
    newest_ignores = set((REPO / "tests" / "sanity" / f"ignore-{newest}.txt").read_text().splitlines())
    for minor in minors[:-1]:
        ignores = set((REPO / "tests" / "sanity" / f"ignore-{minor}.txt").read_text().splitlines())
        assert newest_ignores <= ignores, (minor, newest_ignores - ignores)
    for role_meta in REPO.glob("roles/*/meta/main.yml"):
        galaxy_info = yaml.safe_load(role_meta.read_text())["galaxy_info"]
        assert str(galaxy_info["min_ansible_version"]) == match.group(1), role_meta


def runtime_requirements():
    lines = (REPO / "requirements.txt").read_text().splitlines()
    return [Requirement(line.split("#")[0]) for line in lines if line.split("#")[0].strip()]


def test_runtime_requirements_are_lower_bounds_the_dev_lock_satisfies():
    pins = {}
    for line in (REPO / "requirements-dev.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    requirements = runtime_requirements()
    assert {req.name for req in requirements} == {"boto3", "botocore", "defusedxml"}
    for req in requirements:
        assert all(spec.operator == ">=" for spec in req.specifier), req
        assert Version(pins[req.name.lower()]) in req.specifier, (req, pins[req.name.lower()])
    execution_environment = yaml.safe_load((REPO / "meta" / "execution-environment.yml").read_text())
    assert execution_environment["dependencies"] == {"python": "requirements.txt"}


def test_installed_plugins_resolve_by_fqcn(installed):
    install_path, env = installed
    listed = subprocess.run(
        [str(BIN / "ansible-doc"), "-l", "tabops.redshift_oauth", "--json"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    modules = json.loads(listed.stdout)
    assert {"tabops.redshift_oauth.tableau_files", "tabops.redshift_oauth.tsm_settings"} <= set(modules)
    for plugin_type, name in (
        ("filter", "oauth_config_xml"),
        ("filter", "redshift_permissions_policy"),
        ("callback", "compliance_report"),
    ):
        doc = subprocess.run(
            [str(BIN / "ansible-doc"), "-t", plugin_type, f"tabops.redshift_oauth.{name}", "--json"],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        assert json.loads(doc.stdout)[f"tabops.redshift_oauth.{name}"]["doc"]["short_description"]
    assert (install_path / "ansible_collections" / "tabops" / "redshift_oauth" / "playbooks" / "site.yml").exists()


def test_example_inventory_ships_and_the_playbooks_parse_against_a_copy_of_it(installed, tmp_path):
    """The README's steps after the install: find the collection, copy its example inventory, run by FQCN."""
    _install_path, env = installed
    listed = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "list", "tabops.redshift_oauth", "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    (collections_dir,) = json.loads(listed.stdout)
    example = Path(collections_dir) / "tabops" / "redshift_oauth" / "inventories" / "example"
    shutil.copytree(example, tmp_path / "inventories" / "prod")
    for playbook in ("site", "compliance", "preflight", "troubleshoot_dsn"):
        subprocess.run(
            [
                str(BIN / "ansible-playbook"),
                "-i",
                "inventories/prod",
                f"tabops.redshift_oauth.{playbook}",
                "--syntax-check",
            ],
            check=True,
            capture_output=True,
            env=env,
            cwd=tmp_path,
        )


def test_release_build_takes_the_repository_url_as_a_variable(tmp_path):
    url = "https://git.ops.test/platform/redshift_oauth"
    subprocess.run(
        [str(REPO / "scripts" / "build-collection"), "--repository", url, "--output-path", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    info = manifest(tmp_path / TARBALL_NAME)
    assert info["repository"] == url and info["homepage"] == url
    assert info["documentation"] == url + "/tree/main/docs" and info["issues"] == url + "/issues"
    assert info["dependencies"] == GALAXY["dependencies"]
    refused = subprocess.run(
        [str(REPO / "scripts" / "build-collection"), "--repository", "not a url", "--output-path", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0 and "--repository must be an https URL" in refused.stderr


def test_ansible_builder_context_gets_only_the_runtime_requirements(built, tmp_path):
    """``ansible-builder create`` for an EE with this collection, then its own galaxy and introspect steps.

    No container is built: the galaxy stage's install and the builder stage's introspection are run here
    with the scripts ansible-builder put into the context, as its Containerfile runs them.
    """
    tarball, _work, env = built
    (tmp_path / TARBALL_NAME).write_bytes(tarball.read_bytes())
    (tmp_path / "requirements.yml").write_text(
        yaml.safe_dump({"collections": [{"name": f"collections/{TARBALL_NAME}", "type": "file"}]})
    )
    definition = {
        "version": 3,
        "images": {"base_image": {"name": "quay.io/ansible/awx-ee:latest"}},
        "dependencies": {"galaxy": "requirements.yml", "ansible_core": {"package_pip": "ansible-core>=2.19"}},
        "additional_build_files": [{"src": TARBALL_NAME, "dest": "collections"}],
    }
    (tmp_path / "execution-environment.yml").write_text(yaml.safe_dump(definition))
    subprocess.run(
        [str(DEV_BIN / "ansible-builder"), "create", "-f", "execution-environment.yml", "-c", "context"],
        check=True,
        capture_output=True,
        cwd=tmp_path,
        env=env,
    )
    build = tmp_path / "context" / "_build"
    containerfile = next(p for p in (tmp_path / "context").iterdir() if p.name in ("Containerfile", "Dockerfile"))
    assert "introspect.py introspect" in containerfile.read_text()
    collections = tmp_path / "ee-collections"
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "-r", "requirements.yml", "-p", str(collections)],
        check=True,
        capture_output=True,
        cwd=build,
        env=env,
    )
    subprocess.run(
        [
            str(DEV_BIN / "python"),
            str(build / "scripts" / "introspect.py"),
            "introspect",
            "--write-pip",
            str(tmp_path / "pip.txt"),
            "--write-bindep",
            str(tmp_path / "bindep.txt"),
            str(collections),
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    python = [line.split("#")[0].strip() for line in (tmp_path / "pip.txt").read_text().splitlines() if line.strip()]
    assert sorted(python) == sorted(str(req) for req in runtime_requirements())
    assert not (tmp_path / "bindep.txt").exists()  # no system packages


def source_files():
    """Every file of the tree (tracked or new) that is code or configuration: what carries a license header."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    named = {"requirements.txt", "requirements-dev.txt", ".gitignore", ".ansible-lint", ".yamllint"}
    for name in filter(None, listed.split("\0")):
        path = REPO / name
        # Fixtures are third-party data kept verbatim; changelog.yaml and fragments are antsibull-changelog data.
        if not path.is_file() or name.startswith(("tests/unit/fixtures/", "changelogs/")):
            continue
        code = path.suffix in (".py", ".yml", ".yaml", ".cfg", ".toml", ".sh") or name in named
        if code or path.read_bytes()[:2] == b"#!":
            yield name, path


def test_every_source_file_is_mit_licensed():
    files = dict(source_files())
    assert "plugins/modules/tableau_files.py" in files and "scripts/test" in files
    missing = [name for name, path in files.items() if "SPDX-License-Identifier: MIT" not in path.read_text()[:1000]]
    assert not missing, f"no '# SPDX-License-Identifier: MIT' header: {missing}"
    other = [name for name, path in files.items() if "General Public License" in path.read_text()[:1000]]
    assert not other, other
    assert "MIT License" in (REPO / "LICENSE").read_text().splitlines()[0]
