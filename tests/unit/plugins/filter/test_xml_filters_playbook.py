# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The five XML filters inside a real ansible-playbook run (templating, data tagging, error reporting)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[4]
PLAYBOOK = r"""
- hosts: localhost
  gather_facts: false
  vars:
    managed: Managed by Ansible -- local changes are overwritten
    okta:
      id: custom_redshift_okta
      label: Okta Redshift
      idp: okta
      idp_base_url: example.okta.com
      client_id_desktop: 0oa1b2c3
      redirect_ports: [55556, 55557]
      capabilities:
        OAUTH_CAP_SUPPORTS_STATE: yes
    tdc:
      customizations:
        CAP_OAUTH_FEDERATE_ACCESS_TOKEN: 'yes'
  tasks:
    - name: Render, parse and compare
      ansible.builtin.copy:
        dest: "{{ out_dir }}/result.json"
        mode: "0600"
        content: >-
          {{ {
            'xml': okta | tabops.redshift_oauth.oauth_config_xml(managed_comment=managed),
            'parsed': okta | tabops.redshift_oauth.oauth_config_xml | tabops.redshift_oauth.oauth_config_parse,
            'tdc': tdc | tabops.redshift_oauth.tdc_xml | tabops.redshift_oauth.tdc_parse,
            'diff': (okta | tabops.redshift_oauth.oauth_config_xml)
                    | tabops.redshift_oauth.tableau_xml_diff(okta | combine({'label': 'Other'})
                    | tabops.redshift_oauth.oauth_config_xml),
          } | to_json }}

    - name: A bad config fails naming the id and the field
      ansible.builtin.debug:
        msg: "{{ okta | combine({'id': 'okta'}) | tabops.redshift_oauth.oauth_config_xml }}"
      register: bad
      ignore_errors: true

    - name: Record the failure message
      ansible.builtin.copy:
        dest: "{{ out_dir }}/failure.txt"
        mode: "0600"
        content: "{{ bad.msg }}"
"""


def test_filters_in_a_playbook(tmp_path):
    (tmp_path / "play.yml").write_text(PLAYBOOK, encoding="utf-8")
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(REPO_ROOT / ".collections"),
        ANSIBLE_HOME=str(tmp_path / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
        ANSIBLE_NOCOLOR="1",
    )
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"out_dir={tmp_path}",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            str(tmp_path / "play.yml"),
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    assert data["xml"].startswith(
        '<?xml version="1.0" encoding="UTF-8"?>\n<!-- Managed by Ansible - - local changes are overwritten -->\n'
    )
    assert "<oauthConfigId>custom_redshift_okta</oauthConfigId>" in data["xml"]
    assert data["parsed"]["redirect_uris_desktop"] == [
        "http://localhost:55556/Callback",
        "http://localhost:55557/Callback",
    ]
    assert data["parsed"]["capabilities"]["OAUTH_CAP_SUPPORTS_STATE"] is True
    assert data["tdc"]["customizations"] == {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": "yes"}
    assert data["diff"] == [{"path": "label", "expected": "Okta Redshift", "actual": "Other"}]
    failure = (tmp_path / "failure.txt").read_text(encoding="utf-8")
    assert "tabops.redshift_oauth.oauth_config_xml: oauth config 'okta': id: must start with 'custom_'" in failure
