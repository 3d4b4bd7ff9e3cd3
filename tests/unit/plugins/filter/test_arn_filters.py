# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The ARN filters: Python entry points, errors as AnsibleFilterError, and a real ansible-playbook run by FQCN."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tabops.redshift_oauth.plugins.filter import (
    arn_parse,
    iam_role_arn,
    oidc_provider_arn,
    redshift_arn,
    redshift_iam_lint,
    redshift_permissions_policy,
    redshift_trust_policy,
)

REPO = Path(__file__).resolve().parents[4]
BIN = Path(sys.executable).parent
FILTER_MODULES = {
    "arn_parse": arn_parse,
    "redshift_arn": redshift_arn,
    "iam_role_arn": iam_role_arn,
    "oidc_provider_arn": oidc_provider_arn,
    "redshift_permissions_policy": redshift_permissions_policy,
    "redshift_trust_policy": redshift_trust_policy,
    "redshift_iam_lint": redshift_iam_lint,
}


def the_filter(name):
    return FILTER_MODULES[name].FilterModule().filters()[name]


def test_each_file_holds_exactly_its_filter():
    for name, module in FILTER_MODULES.items():
        assert list(module.FilterModule().filters()) == [name]


def test_arn_parse_filter():
    assert the_filter("arn_parse")("arn:aws:iam::012345678901:role/r")["account"] == "012345678901"
    assert the_filter("arn_parse")("arn:aws:redshift:*:*:dbuser:*/*", allow_wildcards=True)["region"] == "*"


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "match"),
    [
        ("arn_parse", ["arn:aws:iam::0123:role/r"], {}, r"^arn_parse: ARN 'arn:aws:iam::0123:role/r': account '0123'"),
        ("arn_parse", ["arn:aws:redshift:*:*:cluster:c"], {}, r"region '\*' is not a region of partition aws"),
        (
            "redshift_arn",
            ["dbuser"],
            {"region": "us-west-1", "account": "123456789012", "cluster": "c"},
            r"^redshift_arn\(dbuser\): name is required",
        ),
        (
            "redshift_arn",
            ["cluster"],
            {"region": "eu-west-1", "account": "123456789012", "cluster": "Bad"},
            "cluster 'Bad' is not valid",
        ),
        ("iam_role_arn", ["123456789012"], {}, r"^iam_role_arn: name \(the role name\) is required"),
        ("iam_role_arn", ["123456789012"], {"name": "r", "path": "x"}, "path 'x' is not an IAM path"),
        ("oidc_provider_arn", ["https://idp.example.com"], {}, "^oidc_provider_arn: account is required"),
        ("oidc_provider_arn", ["https://idp.example.com:444/"], {"account": "123456789012"}, "must not name a port"),
    ],
)
def test_arn_filters_raise_ansible_filter_errors(name, args, kwargs, match):
    with pytest.raises(AnsibleFilterError, match=match):
        the_filter(name)(*args, **kwargs)


def test_builders():
    assert (
        the_filter("redshift_arn")(
            "dbname", partition="aws-cn", region="cn-north-1", account="123456789012", cluster="c", name="dev"
        )
        == "arn:aws-cn:redshift:cn-north-1:123456789012:dbname:c/dev"
    )
    assert the_filter("iam_role_arn")("123456789012", name="r", path="/p/") == "arn:aws:iam::123456789012:role/p/r"
    assert (
        the_filter("oidc_provider_arn")("https://accounts.google.com", account="123456789012")
        == "arn:aws:iam::123456789012:oidc-provider/accounts.google.com"
    )


PLAYBOOK = r"""
- hosts: localhost
  gather_facts: false
  vars:
    spec:
      region: us-west-1
      account: "012345678901"
      cluster: examplecluster
      db_names: [dev]
  tasks:
    - name: Use every filter by its FQCN
      ansible.builtin.copy:
        dest: "{{ out }}"
        mode: "0644"
        content: >-
          {{ {
            'parsed': 'arn:aws-us-gov:iam::012345678901:role/tableau/r' | tabops.redshift_oauth.arn_parse,
            'dbuser': 'dbuser' | tabops.redshift_oauth.redshift_arn(region='us-west-1', account='012345678901',
                        cluster='examplecluster', name='${redshift:DbUser}', allow_wildcards=true),
            'role': '012345678901' | tabops.redshift_oauth.iam_role_arn(name='r', path='/tableau/'),
            'provider': 'https://dev-1.okta.com/oauth2/default'
                        | tabops.redshift_oauth.oidc_provider_arn(account='012345678901'),
            'policy': spec | tabops.redshift_oauth.redshift_permissions_policy,
            'trust': {'issuer_url': 'https://dev-1.okta.com/oauth2/default', 'account': '012345678901',
                      'client_ids': ['c1']} | tabops.redshift_oauth.redshift_trust_policy,
            'lint': {'role_arn': '012345678901' | tabops.redshift_oauth.iam_role_arn(name='r'), 'region': 'us-east-1',
                     'cluster_id': 'examplecluster', 'policy_spec': spec} | tabops.redshift_oauth.redshift_iam_lint,
          } | to_json }}
    - name: A bad ARN fails the task with the filter's message
      ansible.builtin.debug:
        msg: "{{ 'arn:aws:iam::01234567890:role/r' | tabops.redshift_oauth.arn_parse }}"
"""


def test_filters_in_a_real_playbook(tmp_path):
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK, encoding="utf-8")
    out = tmp_path / "out.json"
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    completed = subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            "ansible_python_interpreter=%s" % sys.executable,
            "-e",
            "out=%s" % out,
            str(playbook),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    result = json.loads(out.read_text())
    assert result["parsed"]["account"] == "012345678901"
    assert result["parsed"]["partition"] == "aws-us-gov"
    assert result["dbuser"] == "arn:aws:redshift:us-west-1:012345678901:dbuser:examplecluster/${redshift:DbUser}"
    assert result["role"] == "arn:aws:iam::012345678901:role/tableau/r"
    assert result["provider"] == "arn:aws:iam::012345678901:oidc-provider/dev-1.okta.com/oauth2/default"
    assert (
        result["policy"]["Statement"][0]["Resource"][0]
        == "arn:aws:redshift:us-west-1:012345678901:dbname:examplecluster/dev"
    )
    assert result["trust"]["Statement"][0]["Principal"]["Federated"] == result["provider"]
    assert [f["code"] for f in result["lint"]] == ["region-mismatch"]
    # the second task fails, with the message naming the part
    assert completed.returncode == 2, completed.stdout
    assert "account '01234567890' must be exactly 12 digits, got 11" in completed.stdout


@pytest.mark.parametrize("name", sorted(FILTER_MODULES))
def test_ansible_doc_shows_every_filter(name):
    completed = subprocess.run(
        [str(BIN / "ansible-doc"), "-t", "filter", "--json", "tabops.redshift_oauth." + name],
        cwd=REPO,
        env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg")),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    doc = json.loads(completed.stdout)["tabops.redshift_oauth." + name]
    assert doc["doc"]["name"] == name
    assert doc["doc"]["short_description"]
    assert doc["examples"].strip()
    assert doc["return"]["_value"]["description"]
    assert "[WARNING]" not in completed.stderr
