# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The redshift_iam role's own checks over the inventory, run for real with ansible-playbook on localhost: the lint of
the connections against the policy and the audiences against the tokens Tableau federates.

What they exercise is the collection's Python (the filters), not ansible-core: they run .venv's ansible-playbook, the
newest release, and the older releases leave them out (tests/ansible_core_use.py NEWEST_ONLY). Rendering, argument
specs and apply, which ansible-core does differ in, are in test_redshift_iam_role.py.
"""

import functools
import json
import re
from pathlib import Path

from iamplay import ACCESS_TOKEN_TDC, ROLE_VARS, expected_documents, fleet_with
from iamplay import run_role as run_role_with

VENV_BIN = Path(__file__).resolve().parents[3] / ".venv" / "bin"
run_role = functools.partial(run_role_with, VENV_BIN / "ansible-playbook", VENV_BIN / "python")


def test_lint_stops_the_classic_userid_mistake(tmp_path):
    role_vars = {
        **ROLE_VARS,
        "redshift_iam_output_dir": str(tmp_path / "iam"),
        "redshift_iam_userid_condition": {"role_unique_id": "AROAJ2UCCR6DPCEXAMPLE", "suffix": "@example.com"},
        "redshift_iam_lint_connections": [
            {
                "name": "prod-dsn",
                "role_arn": "arn:aws:iam::123456789012:role/tableau/tableau-redshift",
                "cluster_id": "cluster-identifier",
                "region": "us-west-1",
            }
        ],
    }
    run = run_role(tmp_path, role_vars)
    assert run.rc != 0, run
    assert "prod-dsn: userid-session-name-mismatch" in run.output, run
    assert not (tmp_path / "iam").exists()

    run = run_role(tmp_path, {**role_vars, "redshift_iam_lint_fail": False})
    assert run.rc == 0, run
    assert "userid-session-name-mismatch" in run.output


def test_declared_audiences_that_miss_the_access_token_fail_naming_both_sides(tmp_path):
    out = tmp_path / "iam"
    role_vars = {
        **ROLE_VARS,
        "redshift_iam_output_dir": str(out),
        "redshift_iam_audiences": ["0oa1server", "0oa1desktop"],
    }
    run = run_role(tmp_path, role_vars, fleet=fleet_with([ACCESS_TOKEN_TDC]))
    assert run.rc != 0, run
    output = re.sub(r"\s+", " ", run.output)
    assert (
        "iam-audience-mismatch: OAuth config custom_redshift_okta on desktop, server federates the access token "
        "(TDC redshift-oauth sets CAP_OAUTH_FEDERATE_ACCESS_TOKEN=yes), whose aud is 'api://default'" in output
    ), run
    assert "trust only '0oa1server', '0oa1desktop' (redshift_iam_audiences)" in output, run
    assert "fix: add 'api://default' to redshift_iam_audiences" in output, run
    assert "not-a-secret-role-test" not in run.output
    assert not out.exists()


def test_the_deprecated_client_ids_still_work_and_say_so(tmp_path):
    out = tmp_path / "iam"
    role_vars = {k: v for k, v in ROLE_VARS.items() if k != "redshift_iam_audiences"}
    role_vars.update(redshift_iam_output_dir=str(out), redshift_iam_client_ids=["api://default"])
    run = run_role(tmp_path, role_vars, fleet=fleet_with([ACCESS_TOKEN_TDC]))
    assert run.rc == 0, run
    assert "redshift_iam_client_ids is deprecated" in run.output
    trust = json.loads((out / "tableau-redshift.trust.json").read_text())
    assert trust == expected_documents(role_vars)[1]

    # With mismatching client ids the role fails like with redshift_iam_audiences, naming the old variable.
    run = run_role(
        tmp_path, {**role_vars, "redshift_iam_client_ids": ["0oa1server"]}, fleet=fleet_with([ACCESS_TOKEN_TDC])
    )
    assert run.rc != 0, run
    assert "(redshift_iam_client_ids): STS refuses the token" in re.sub(r"\s+", " ", run.output), run


def test_an_access_token_of_an_unknown_audience_must_be_declared(tmp_path):
    out = tmp_path / "iam"
    role_vars = {k: v for k, v in ROLE_VARS.items() if k != "redshift_iam_audiences"}
    role_vars["redshift_iam_output_dir"] = str(out)
    entra = {
        "id": "custom_redshift_okta",
        "idp": "entra",
        "tenant": "3f2a8c1e-5b7d-4e9a-8c6f-0d1e2f3a4b5c",
        "client_id_desktop": "5d0c3e2a-desktop",
        "install_on": ["desktop"],
    }
    run = run_role(tmp_path, role_vars, fleet=fleet_with([ACCESS_TOKEN_TDC], entra))
    assert run.rc != 0, run
    assert "access-token-audience-undeclared" in run.output and "set access_token_audience" in run.output, run
    assert not out.exists()

    declared = dict(entra, access_token_audience="api://redshift-tableau")
    run = run_role(tmp_path, role_vars, fleet=fleet_with([ACCESS_TOKEN_TDC], declared))
    assert run.rc == 0, run
    trust = json.loads((out / "tableau-redshift.trust.json").read_text())
    assert trust == expected_documents({**role_vars, "redshift_iam_audiences": ["api://redshift-tableau"]})[1]


def test_no_audiences_and_nothing_to_derive_them_from_fails_saying_what_to_set(tmp_path):
    role_vars = {k: v for k, v in ROLE_VARS.items() if k != "redshift_iam_audiences"}
    run = run_role(tmp_path, {**role_vars, "redshift_iam_output_dir": str(tmp_path / "iam")})
    assert run.rc != 0, run
    assert "redshift_iam_audiences is not set and cannot be derived" in run.output, run
    assert not (tmp_path / "iam").exists()
