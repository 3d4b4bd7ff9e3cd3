"""The collection builds into a tarball that installs into an empty path and resolves by FQCN."""

import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("build")
    (work / "ansible.cfg").write_text("[defaults]\n")  # not the checkout's, which points at the checkout
    env = dict(os.environ, ANSIBLE_CONFIG=str(work / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(work / "empty"))
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", str(REPO), "--output-path", str(work)],
        check=True,
        capture_output=True,
        env=env,
    )
    version = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
    tarball = work / f"tabops-redshift_oauth-{version}.tar.gz"
    install_path = work / "collections"
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "install", str(tarball), "-p", str(install_path)],
        check=True,
        capture_output=True,
        env=env,
    )
    return tarball, install_path, dict(env, ANSIBLE_COLLECTIONS_PATH=str(install_path))


def test_tarball_leaves_out_test_equipment_and_local_state(installed):
    tarball, _install_path, _env = installed
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "galaxy.yml" not in names and "MANIFEST.json" in names
    assert "plugins/modules/tableau_artifacts.py" in names and "scripts/compliance" in names
    assert "roles/tableau_files/meta/argument_specs.yml" in names
    for unwanted in (
        ".venv",
        ".collections",
        "tests/lab",
        "lab-state",
        "reports",
        "inventories/lab/hosts.yml",
        "scripts/lab-fleet",
    ):
        assert not any(name == unwanted or name.startswith(unwanted + "/") for name in names), unwanted
    assert not any("__pycache__" in name for name in names)


def test_installed_plugins_resolve_by_fqcn(installed):
    _tarball, install_path, env = installed
    listed = subprocess.run(
        [str(BIN / "ansible-doc"), "-l", "tabops.redshift_oauth", "--json"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    modules = json.loads(listed.stdout)
    assert {"tabops.redshift_oauth.tableau_artifacts", "tabops.redshift_oauth.tsm_settings"} <= set(modules)
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
