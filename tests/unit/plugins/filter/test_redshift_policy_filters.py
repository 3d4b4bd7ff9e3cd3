# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The policy and lint filters: thin wrappers that turn spec errors into AnsibleFilterError."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tabops.redshift_oauth.plugins.filter.redshift_iam_lint import redshift_iam_lint
from ansible_collections.tabops.redshift_oauth.plugins.filter.redshift_permissions_policy import (
    redshift_permissions_policy,
)
from ansible_collections.tabops.redshift_oauth.plugins.filter.redshift_trust_policy import redshift_trust_policy

SPEC = {"region": "us-west-1", "account": "123456789012", "cluster": "examplecluster"}


@pytest.mark.parametrize(
    ("function", "spec", "match"),
    [
        (redshift_permissions_policy, {**SPEC, "account": "12345"}, r"^redshift_permissions_policy: .*'12345' must be"),
        (redshift_permissions_policy, {**SPEC, "dbgroups": ["g"]}, r"unknown key\(s\) dbgroups"),
        (redshift_permissions_policy, "not a dict", "permissions policy spec must be a dict"),
        (
            redshift_trust_policy,
            {"account": "123456789012", "client_ids": ["c"]},
            r"^redshift_trust_policy: .*issuer_url",
        ),
        (
            redshift_iam_lint,
            {"policy_spec": SPEC, "clusterid": "x"},
            r"^redshift_iam_lint: .*unknown key\(s\) clusterid",
        ),
    ],
)
def test_bad_specs_raise_ansible_filter_errors(function, spec, match):
    with pytest.raises(AnsibleFilterError, match=match):
        function(spec)


def test_lint_findings_are_data_not_errors():
    findings = redshift_iam_lint({"policy_spec": SPEC, "group_federation": True, "cluster_id": "examplecluster"})
    assert [f["code"] for f in findings] == ["group-federation-action-missing"]


def test_policy_filter_output_is_plain_json_data():
    policy = redshift_permissions_policy(SPEC)
    assert type(policy) is dict
    assert all(type(s) is dict for s in policy["Statement"])
