# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The redshift_iam role, run for real with ansible-playbook on localhost (connection=local).

Render: files written, equal to the filters' documents, idempotent, nothing written in check mode.
Apply: against moto's IAM stand-in on 127.0.0.1 (started here, stopped here).
The role's own checks over the inventory (lint, audiences) are in test_redshift_iam_checks.py.
"""

import functools
import json
import logging
import os
import re
import sys
from pathlib import Path

import pytest
from iamplay import ACCESS_TOKEN_TDC, ROLE_VARS, expected_documents, fleet_with
from iamplay import run_role as run_role_with

# This interpreter's ansible-core: the older releases run this module too (scripts/core-matrix).
run_role = functools.partial(run_role_with, Path(sys.executable).parent / "ansible-playbook", sys.executable)


def test_render_writes_the_documents_and_a_second_run_changes_nothing(tmp_path):
    out = tmp_path / "iam"
    role_vars = {**ROLE_VARS, "redshift_iam_output_dir": str(out)}
    first = run_role(tmp_path, role_vars)
    assert first.rc == 0, first
    assert first.changed == 4, first  # folder + three files

    permissions, trust = expected_documents(role_vars)
    permissions_file = out / "tableau-redshift.permissions.json"
    trust_file = out / "tableau-redshift.trust.json"
    readme = out / "tableau-redshift.README.md"
    assert json.loads(permissions_file.read_text()) == permissions
    assert json.loads(trust_file.read_text()) == trust
    # sorted keys, two-space indent, newline at the end: stable text
    assert permissions_file.read_text() == json.dumps(permissions, indent=2, sort_keys=True) + "\n"
    assert trust_file.read_text() == json.dumps(trust, indent=2, sort_keys=True) + "\n"
    readme_text = readme.read_text()
    assert "arn:aws:iam::123456789012:role/tableau/tableau-redshift" in readme_text
    assert "arn:aws:iam::123456789012:oidc-provider/dev-123.okta.com/oauth2/default" in readme_text
    assert "tableau-redshift-redshift" in readme_text
    assert not re.search(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}", readme_text), "no timestamps in rendered output"

    mtimes = {p: p.stat().st_mtime_ns for p in (permissions_file, trust_file, readme)}
    second = run_role(tmp_path, role_vars)
    assert second.rc == 0, second
    assert second.changed == 0, second
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes


def test_check_mode_writes_nothing_and_shows_the_diff(tmp_path):
    out = tmp_path / "iam"
    run = run_role(tmp_path, {**ROLE_VARS, "redshift_iam_output_dir": str(out)}, "--check", "--diff")
    assert run.rc == 0, run
    assert run.changed == 4, run
    assert not out.exists()
    assert "redshift:GetClusterCredentials" in run.output


def test_a_changed_input_changes_only_the_permissions_file(tmp_path):
    out = tmp_path / "iam"
    role_vars = {**ROLE_VARS, "redshift_iam_output_dir": str(out)}
    assert run_role(tmp_path, role_vars).rc == 0
    trust_before = (out / "tableau-redshift.trust.json").read_text()
    role_vars["redshift_iam_db_groups"] = ["my_dbgroup", "finance"]
    run = run_role(tmp_path, role_vars, "--diff")
    assert run.rc == 0, run
    assert run.changed == 1, run
    assert "dbgroup:cluster-identifier/finance" in run.output
    assert "dbgroup:cluster-identifier/finance" in (out / "tableau-redshift.permissions.json").read_text()
    assert (out / "tableau-redshift.trust.json").read_text() == trust_before


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"redshift_iam_account": "12345"}, "account '12345' must be exactly 12 digits, got 5"),
        ({"redshift_iam_region": "cn-north-1"}, "region 'cn-north-1' is not a region of partition aws"),
        ({"redshift_iam_issuer_url": "http://dev-123.okta.com"}, "must use https"),
        ({"redshift_iam_db_groups": ["Admins"]}, "dbgroup 'Admins'"),
        ({"redshift_iam_role_path": "tableau"}, "is not an IAM path"),
        ({"redshift_iam_role_name": None}, "redshift_iam_role_name"),
        ({"redshift_iam_partition": "aws-gov"}, "redshift_iam_partition"),
    ],
)
def test_bad_input_fails_naming_the_field(tmp_path, changes, message):
    out = tmp_path / "iam"
    role_vars = {
        k: v for k, v in {**ROLE_VARS, **changes, "redshift_iam_output_dir": str(out)}.items() if v is not None
    }
    run = run_role(tmp_path, role_vars)
    assert run.rc != 0, run
    assert message in re.sub(r"\s+", " ", run.output), run
    assert not (out / "tableau-redshift.permissions.json").exists()


# --- audiences: the aud of the tokens Tableau federates ------------------------


def test_audiences_are_derived_from_the_tokens_the_inventory_federates(tmp_path):
    out = tmp_path / "iam"
    role_vars = {k: v for k, v in ROLE_VARS.items() if k != "redshift_iam_audiences"}
    role_vars["redshift_iam_output_dir"] = str(out)

    # The TDC makes Tableau federate the access token everywhere: Okta's default server gives api://default.
    run = run_role(tmp_path, role_vars, fleet=fleet_with([ACCESS_TOKEN_TDC]))
    assert run.rc == 0, run
    trust = json.loads((out / "tableau-redshift.trust.json").read_text())
    assert trust == expected_documents({**role_vars, "redshift_iam_audiences": ["api://default"]})[1]
    readme = re.sub(r"\s+", " ", (out / "tableau-redshift.README.md").read_text())
    assert "`api://default` (derived from the OAuth configs and TDCs)" in readme
    assert "OAuth config `custom_redshift_okta` on desktop, server federates the access token" in readme

    # Without the TDC the ID tokens go: their aud is the client id of each application's client.
    run = run_role(tmp_path, role_vars, fleet=fleet_with([]))
    assert run.rc == 0, run
    trust = json.loads((out / "tableau-redshift.trust.json").read_text())
    assert trust["Statement"][0]["Condition"]["StringEquals"]["dev-123.okta.com/oauth2/default:aud"] == [
        "0oa1desktop",
        "0oa1server",
    ]

    # A TDC on the server only: the server federates its access token, the desktop its ID token.
    server_only = dict(ACCESS_TOKEN_TDC, install_on=["server"])
    run = run_role(tmp_path, role_vars, fleet=fleet_with([server_only]))
    assert run.rc == 0, run
    trust = json.loads((out / "tableau-redshift.trust.json").read_text())
    assert trust["Statement"][0]["Condition"]["StringEquals"]["dev-123.okta.com/oauth2/default:aud"] == [
        "0oa1desktop",
        "api://default",
    ]


# --- apply, against moto's IAM on loopback -------------------------------------


@pytest.fixture
def moto_iam():
    pytest.importorskip("boto3")
    server_module = pytest.importorskip("moto.server")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    assert host == "127.0.0.1"
    try:
        yield "http://127.0.0.1:%d" % port
    finally:
        server.stop()


AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


def test_apply_creates_provider_policy_and_role_idempotently(tmp_path, moto_iam, monkeypatch):
    import boto3

    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    role_vars = {
        **ROLE_VARS,
        "redshift_iam_output_dir": str(tmp_path / "iam"),
        "redshift_iam_apply": True,
        "redshift_iam_aws_endpoint_url": moto_iam,
        "redshift_iam_aws_region": "us-east-1",
    }
    first = run_role(tmp_path, role_vars, env=AWS_ENV)
    assert first.rc == 0, first
    assert first.changed == 7, first  # folder, 3 files, provider, policy, role

    iam = boto3.client("iam", endpoint_url=moto_iam, region_name="us-east-1")
    permissions, trust = expected_documents(role_vars)
    role = iam.get_role(RoleName="tableau-redshift")["Role"]
    assert role["Arn"] == "arn:aws:iam::123456789012:role/tableau/tableau-redshift"
    assert role["Path"] == "/tableau/"
    assert _document(role["AssumeRolePolicyDocument"]) == trust
    attached = iam.list_attached_role_policies(RoleName="tableau-redshift")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["tableau-redshift-redshift"]
    assert _default_policy_document(iam, attached[0]["PolicyArn"]) == permissions
    providers = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert [p["Arn"] for p in providers] == ["arn:aws:iam::123456789012:oidc-provider/dev-123.okta.com/oauth2/default"]
    provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=providers[0]["Arn"])
    assert provider["ClientIDList"] == ["0oa1example"]

    second = run_role(tmp_path, role_vars, env=AWS_ENV)
    assert second.rc == 0, second
    assert second.changed == 0, second

    # check mode reports a new audience, thumbprint and group but changes nothing in IAM
    thumbprint = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
    changed_vars = {
        **role_vars,
        "redshift_iam_audiences": ["0oa1example", "0oa2server"],
        "redshift_iam_db_groups": ["finance"],
        "redshift_iam_oidc_thumbprints": [thumbprint],
    }
    dry = run_role(tmp_path, changed_vars, "--check", env=AWS_ENV)
    assert dry.rc == 0, dry
    assert dry.changed == 6, dry  # the 3 files (the README lists audiences), provider, policy, role (trust)
    provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=providers[0]["Arn"])
    assert provider["ClientIDList"] == ["0oa1example"]
    assert provider.get("ThumbprintList", []) == []
    assert _default_policy_document(iam, attached[0]["PolicyArn"]) == permissions

    # moto implements no AddClientIDToOpenIDConnectProvider: the real change keeps the audience
    real_vars = {**changed_vars, "redshift_iam_audiences": ["0oa1example"]}
    real = run_role(tmp_path, real_vars, env=AWS_ENV)
    assert real.rc == 0, real
    assert real.changed == 3, real  # permissions file, provider (thumbprint), policy
    provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=providers[0]["Arn"])
    assert provider["ThumbprintList"] == [thumbprint]
    assert "dbgroup:cluster-identifier/finance" in json.dumps(_default_policy_document(iam, attached[0]["PolicyArn"]))
    assert "testing" not in real.output  # the credentials never show


def _default_policy_document(iam, policy_arn):
    policy = iam.get_policy(PolicyArn=policy_arn)["Policy"]
    version = iam.get_policy_version(PolicyArn=policy_arn, VersionId=policy["DefaultVersionId"])
    return _document(version["PolicyVersion"]["Document"])


def _document(value):
    # IAM returns policy documents URL-encoded JSON text; boto3 decodes them into dicts (moto: text)
    if isinstance(value, str):
        from urllib.parse import unquote

        return json.loads(unquote(value))
    return value
