# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Hand-made files survive a converge; the replaced old copy is backed up."""

import json

import pytest

REPO = "/home/analyst1/Documents/My Tableau Repository"


@pytest.fixture
def desktop(host):
    if "tableau_desktop" not in host.ansible.get_variables().get("group_names", []):
        pytest.skip("desktop host only")
    return host


def test_hand_made_files_are_untouched(desktop):
    assert desktop.file(f"{REPO}/OAuthConfigs/README.txt").content_string == "kept by hand\n"
    assert "class='snowflake'" in desktop.file(f"{REPO}/Datasources/snowflake.tdc").content_string


def test_the_old_copy_was_replaced_and_backed_up(desktop):
    current = desktop.file(f"{REPO}/OAuthConfigs/custom_redshift_okta.xml")
    assert "tabops-lab.okta.example" in current.content_string
    assert current.mode == 0o600
    backups = desktop.file(f"{REPO}/OAuthConfigs/.tabops-backups")
    assert backups.is_directory
    listing = backups.listdir()
    # Beside the backup, the journal of the run (what playbooks/rollback.yml puts back from).
    names = [name for name in listing if not name.startswith("tabops-run-")]
    assert len(listing) == 2 and len(names) == 1 and names[0].startswith("custom_redshift_okta.xml.")
    assert "old-idp.example" in desktop.file(f"{REPO}/OAuthConfigs/.tabops-backups/{names[0]}").content_string


def test_the_manifest_names_only_the_collections_files(desktop):
    manifest = json.loads(desktop.file(f"{REPO}/OAuthConfigs/.tabops-managed.json").content_string)
    assert sorted(manifest["files"]) == ["custom_redshift_entra.xml", "custom_redshift_okta.xml"]
