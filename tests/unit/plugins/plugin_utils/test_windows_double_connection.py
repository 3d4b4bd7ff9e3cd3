# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""A real ansible-playbook run of the tableau_files action against a fake Windows host, without a lab.

The test-only connection plugin ``tabops_windows_double`` (tests/unit/fixtures/windows/connection_plugins) gets the
real PowerShell payload ansible-core builds for each ansible.windows module of the INSTALLED collection and answers
from ``fakewin``; production code loads nothing from tests/ (it no longer knows the double exists).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
FIXTURES = REPO / "tests" / "unit" / "fixtures" / "windows"
sys.path.insert(0, str(FIXTURES))

import fakewin  # noqa: E402
from test_windows_sync import OAUTH_DIR, module_args  # noqa: E402

PLAYBOOK = """\
- name: Sync a fake Windows host
  hosts: winpc1
  gather_facts: false
  tasks:
    - name: sync
      tabops.redshift_oauth.tableau_files:
        files: "{{ run_args.files }}"
        folders: "{{ run_args.folders }}"
        tdc_conflicts: fail
      register: synced
    - name: keep the result
      ansible.builtin.copy:
        content: "{{ synced | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
      delegate_to: localhost
      check_mode: false
"""
INVENTORY = """\
all:
  hosts:
    winpc1:
      ansible_connection: tabops_windows_double
      tabops_os_family: Windows
"""


def _play(tmp_path, args, check=False):
    out = tmp_path / "result.json"
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps({"run_args": args, "out": str(out)}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), **fakewin.playbook_env(tmp_path / "hosts"))
    command = [str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(tmp_path / "inventory.yml")]
    command += [str(tmp_path / "play.yml"), "-e", f"@{extra}", *(["--check"] if check else [])]
    completed = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, check=False, timeout=300)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    return json.loads(out.read_text())


@pytest.fixture
def playbook(tmp_path):
    (tmp_path / "hosts").mkdir()
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "inventory.yml").write_text(INVENTORY)
    host = fakewin.FakeWindowsHost()
    host.mkdir("C:\\Users\\jöhn.müller")
    fakewin.save_host(host, tmp_path / "hosts" / "winpc1.json")
    return tmp_path


def test_a_playbook_run_reaches_the_fake_host_only_through_the_test_connection_plugin(playbook):
    args = module_args()
    predicted = _play(playbook, args, check=True)
    assert predicted["changed"] is True
    host = fakewin.load_host(playbook / "hosts" / "winpc1.json")
    assert not host.exists(OAUTH_DIR)
    first = _play(playbook, args)
    assert first["changed"] is True and not first.get("failed"), first.get("msg")
    host = fakewin.load_host(playbook / "hosts" / "winpc1.json")
    okta = OAUTH_DIR + "\\custom_redshift_okta.xml"
    assert host.read(okta).decode("utf-8") == next(f["content"] for f in args["files"] if f["path"] == okta)
    # The staged bytes went through the connection's temp folder, which the action removed again.
    assert host.children(fakewin.TEMP_DIR) == []
    second = _play(playbook, args)
    assert second["changed"] is False and {f["status"] for f in second["files"]} == {"compliant"}
