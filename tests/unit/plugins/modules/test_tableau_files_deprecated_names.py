# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The names renamed in issue 20 still work, and warn: the module/action ``tableau_artifacts`` (a meta/runtime.yml
redirect to ``tableau_files``) and its option ``managed_dirs`` (a deprecated alias of ``folders``); the filter
``tableau_host_files`` still returns the folders under ``managed_dirs`` too.

Real runs: ansible-playbook on localhost with the host's /usr/bin/python3, and the module's own main().
"""

from __future__ import annotations

import os

import pytest
from localplay import ANSIBLE_PLAYBOOK, HOST_PYTHON, run_local_task, run_module_logged

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import render_oauth_config

OLD_NAME = "tabops.redshift_oauth.tableau_artifacts"
SECRET = "deprecated-names-secret-5c1e"

pytestmark = [
    pytest.mark.skipif(
        not (ANSIBLE_PLAYBOOK.exists() and os.path.exists(HOST_PYTHON)),
        reason="needs .venv ansible and /usr/bin/python3",
    ),
    pytest.mark.skipif(os.geteuid() != 0, reason="the module syncs as root (privilege drop)"),
]


def old_style_args(folder, **extra):
    content = render_oauth_config(
        {
            "id": "custom_redshift_okta",
            "idp": "okta",
            "idp_base_url": "https://example.okta.com",
            "auth_server": "default",
            "client_id_desktop": "tableau-desktop",
            "client_secret_desktop": SECRET,
        }
    )
    return dict(
        {
            "managed_dirs": [{"path": str(folder), "kind": "oauth_config", "application": "desktop"}],
            "files": [{"path": str(folder / "custom_redshift_okta.xml"), "content": content, "kind": "oauth_config"}],
        },
        **extra,
    )


def deprecations(result):
    """{message: (version, collection)} of the deprecation warnings the task's result carries (every callback shows
    them; ansible's default one as [DEPRECATION WARNING] lines)."""
    return {item["msg"]: (item.get("version"), item.get("collection_name")) for item in result.get("deprecations", [])}


def test_a_task_with_the_old_module_name_and_managed_dirs_still_syncs_and_warns(tmp_path):
    folder = tmp_path / "OAuthConfigs"
    task = {OLD_NAME: old_style_args(folder)}

    rc, result, raw = run_local_task(tmp_path, task)

    assert rc == 0, raw[-3000:]
    assert result["changed"] is True
    assert [entry["path"] for entry in result["files"]] == [str(folder / "custom_redshift_okta.xml")]
    assert SECRET in (folder / "custom_redshift_okta.xml").read_text()
    warned = deprecations(result)
    redirect = [msg for msg in warned if msg.startswith(OLD_NAME) and "tabops.redshift_oauth.tableau_files" in msg]
    assert redirect, warned
    assert "tableau_files: the option managed_dirs is renamed folders" in warned, warned
    assert set(warned.values()) == {("2.0.0", "tabops.redshift_oauth")}, warned
    assert SECRET not in raw

    rc, again, raw = run_local_task(tmp_path, task)
    assert rc == 0, raw[-3000:]
    assert again["changed"] is False, "the old names converge like the new ones"


def test_folders_and_its_old_name_together_fail_naming_both(tmp_path):
    folder = tmp_path / "OAuthConfigs"
    args = old_style_args(folder, folders=[{"path": str(folder), "kind": "oauth_config", "application": "desktop"}])

    rc, result, raw = run_local_task(tmp_path, {"tabops.redshift_oauth.tableau_files": args})

    assert rc != 0, raw[-3000:]
    assert result["failed"] is True
    assert "folders" in result["msg"] and "managed_dirs" in result["msg"], result["msg"]
    assert not folder.exists(), "nothing touched"


def test_the_module_alone_takes_managed_dirs_as_a_deprecated_alias_of_folders(tmp_path):
    folder = tmp_path / "OAuthConfigs"

    result, _logged = run_module_logged(tmp_path, "tableau_files", dict(old_style_args(folder), lock_timeout=30))

    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True, "check mode: it would write the file"
    assert [entry["path"] for entry in result["files"]] == [str(folder / "custom_redshift_okta.xml")]
    notes = [str(item.get("msg", item)) for item in result.get("deprecations", [])]
    assert any("managed_dirs" in note for note in notes), result.get("deprecations")


def test_the_host_files_filter_still_returns_managed_dirs_as_the_folders():
    from ansible_collections.tabops.redshift_oauth.plugins.filter.tableau_host_files import FilterModule

    tdc = {"name": "redshift-oauth", "class": "redshift", "customizations": {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": "yes"}}
    planned = FilterModule().filters()["tableau_host_files"](
        "desk1", applications=["desktop"], tdc_files=[dict(tdc, install_on=["desktop"])], desktop_users=["analyst"]
    )

    assert planned["folders"], planned
    assert planned["managed_dirs"] == planned["folders"]
    assert {entry["kind"] for entry in planned["files"]} == {"tdc"}
