# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Redshift IAM policies (compared with whole expected documents, the Tableau help page's example included) and lint."""

import json
import re
import subprocess
from pathlib import Path

import pytest

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._aws_arn import ArnError
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._redshift_iam import (
    FINDING_CODES,
    MANAGED_POLICY_MAX_CHARS,
    IamPolicyError,
    action_allowed,
    policy_size,
    redshift_iam_lint,
    redshift_permissions_policy,
    redshift_trust_policy,
    validate_policy_document,
)


def policy_to_json(document):
    """Stable text of a policy: two-space indent, keys in the document's order, newline at the end."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# The help page's example policy, copied with its URL into the repository (no file outside it is read).
HELP_PAGE = Path(__file__).resolve().parents[2] / "fixtures" / "tableau-help-page" / "example-policy.txt"

# The spec that mirrors the help page: one cluster, database dev, user name from the token,
# AutoCreate, one group and the aws:userid condition.
HELP_PAGE_SPEC = {
    "region": "us-west-1",
    "account": "123456789012",
    "cluster": "cluster-identifier",
    "db_names": ["dev"],
    "auto_create": True,
    "db_groups": ["my_dbgroup"],
    "userid_condition": {"role_unique_id": "AROAJ2UCCR6DPCEXAMPLE", "suffix": "@example.com"},
}


def help_page_example_policy():
    """The example policy as printed on the help page, with its two typos repaired.

    The page (copied from the AWS docs) lacks a comma after the second "Effect": "Allow", and its
    second and third statements use the 5-digit account 12345 while the first uses 123456789012.
    A 5-digit account is not a valid ARN, so 123456789012 is used everywhere.
    """
    text = HELP_PAGE.read_text(encoding="utf-8")
    start = text.index("Here is an example of the policy from the AWS documentation:")
    body = text[text.index("{", start) : text.index("Connect to Redshift", start)].strip()
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)  # the page's text really is broken; this repair is needed
    assert body.count(":12345:") == 2
    repaired = re.sub(r'"Effect": "Allow"\n"Action"', '"Effect": "Allow",\n"Action"', body)
    repaired = repaired.replace(":12345:", ":123456789012:")
    return json.loads(repaired)


def test_help_page_example_is_reproduced_exactly():
    expected = help_page_example_policy()
    policy = redshift_permissions_policy(HELP_PAGE_SPEC)
    assert policy == expected
    # exact shape, not only equality of parsed values: key order, strings vs lists
    assert json.dumps(policy) == json.dumps(expected)
    assert [list(s) for s in policy["Statement"]] == [
        ["Effect", "Action", "Resource", "Condition"],
        ["Effect", "Action", "Resource"],
        ["Effect", "Action", "Resource"],
        ["Effect", "Action", "Resource"],
    ]


def test_help_page_example_as_text():
    assert policy_to_json(redshift_permissions_policy(HELP_PAGE_SPEC)) == (
        """{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "redshift:GetClusterCredentials",
      "Resource": [
        "arn:aws:redshift:us-west-1:123456789012:dbname:cluster-identifier/dev",
        "arn:aws:redshift:us-west-1:123456789012:dbuser:cluster-identifier/${redshift:DbUser}",
        "arn:aws:redshift:us-west-1:123456789012:cluster:cluster-identifier"
      ],
      "Condition": {
        "StringEquals": {
          "aws:userid": "AROAJ2UCCR6DPCEXAMPLE:${redshift:DbUser}@example.com"
        }
      }
    },
    {
      "Effect": "Allow",
      "Action": "redshift:CreateClusterUser",
      "Resource": "arn:aws:redshift:us-west-1:123456789012:dbuser:cluster-identifier/${redshift:DbUser}"
    },
    {
      "Effect": "Allow",
      "Action": "redshift:JoinGroup",
      "Resource": "arn:aws:redshift:us-west-1:123456789012:dbgroup:cluster-identifier/my_dbgroup"
    },
    {
      "Effect": "Allow",
      "Action": [
        "redshift:DescribeClusters",
        "iam:ListRoles"
      ],
      "Resource": "*"
    }
  ]
}
"""
    )


ARN = "arn:aws:redshift:eu-west-1:123456789012:"

POLICY_CASES = [
    (
        "minimal",
        {"region": "eu-west-1", "account": "123456789012", "cluster": "analytics"},
        [
            {
                "Effect": "Allow",
                "Action": "redshift:GetClusterCredentials",
                "Resource": [ARN + "dbuser:analytics/${redshift:DbUser}", ARN + "cluster:analytics"],
            },
            {"Effect": "Allow", "Action": ["redshift:DescribeClusters", "iam:ListRoles"], "Resource": "*"},
        ],
    ),
    (
        "two clusters, fixed users, no cluster resource, no describe, sids",
        {
            "region": "eu-west-1",
            "account": "123456789012",
            "clusters": ["a", "b"],
            "db_users": ["alice", "bob", "alice"],
            "db_groups": ["g1"],
            "include_cluster_resource": False,
            "describe_clusters": False,
            "statement_ids": True,
        },
        [
            {
                "Sid": "GetClusterCredentials",
                "Effect": "Allow",
                "Action": "redshift:GetClusterCredentials",
                "Resource": [
                    ARN + "dbuser:a/alice",
                    ARN + "dbuser:a/bob",
                    ARN + "dbuser:b/alice",
                    ARN + "dbuser:b/bob",
                ],
            },
            {
                "Sid": "JoinGroup",
                "Effect": "Allow",
                "Action": "redshift:JoinGroup",
                "Resource": [ARN + "dbgroup:a/g1", ARN + "dbgroup:b/g1"],
            },
        ],
    ),
    (
        "group federation",
        {
            "region": "eu-west-1",
            "account": "123456789012",
            "cluster": "analytics",
            "db_names": ["dev", "prod"],
            "group_federation": True,
        },
        [
            {
                "Effect": "Allow",
                "Action": "redshift:GetClusterCredentialsWithIAM",
                "Resource": [ARN + "dbname:analytics/dev", ARN + "dbname:analytics/prod"],
            },
            {"Effect": "Allow", "Action": ["redshift:DescribeClusters", "iam:ListRoles"], "Resource": "*"},
        ],
    ),
    (
        "wildcards everywhere",
        {"region": "*", "account": "123456789012", "cluster": "*", "db_names": ["*"], "group_federation": True},
        [
            {
                "Effect": "Allow",
                "Action": "redshift:GetClusterCredentialsWithIAM",
                "Resource": "arn:aws:redshift:*:123456789012:dbname:*/*",
            },
            {"Effect": "Allow", "Action": ["redshift:DescribeClusters", "iam:ListRoles"], "Resource": "*"},
        ],
    ),
    (
        "serverless in GovCloud",
        {
            "partition": "aws-us-gov",
            "region": "us-gov-west-1",
            "account": "000000000001",
            "serverless": True,
            "workgroup_ids": ["a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"],
        },
        [
            {
                "Effect": "Allow",
                "Action": "redshift-serverless:GetCredentials",
                "Resource": "arn:aws-us-gov:redshift-serverless:us-gov-west-1:000000000001:workgroup/"
                "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
            }
        ],
    ),
    (
        "StringLike userid in China",
        {
            "partition": "aws-cn",
            "region": "cn-north-1",
            "account": "123456789012",
            "cluster": "c",
            "userid_condition": {"role_unique_id": "AROAEXAMPLEEXAMPLE12", "suffix": "@*", "operator": "StringLike"},
            "describe_clusters": False,
        },
        [
            {
                "Effect": "Allow",
                "Action": "redshift:GetClusterCredentials",
                "Resource": [
                    "arn:aws-cn:redshift:cn-north-1:123456789012:dbuser:c/${redshift:DbUser}",
                    "arn:aws-cn:redshift:cn-north-1:123456789012:cluster:c",
                ],
                "Condition": {"StringLike": {"aws:userid": "AROAEXAMPLEEXAMPLE12:${redshift:DbUser}@*"}},
            }
        ],
    ),
]


@pytest.mark.parametrize(("spec", "statements"), [c[1:] for c in POLICY_CASES], ids=[c[0] for c in POLICY_CASES])
def test_permissions_policies(spec, statements):
    policy = redshift_permissions_policy(spec)
    assert policy == {"Version": "2012-10-17", "Statement": statements}
    assert json.dumps(policy) == json.dumps({"Version": "2012-10-17", "Statement": statements})
    assert validate_policy_document(policy) == []
    # deterministic: same input, same text
    assert policy_to_json(redshift_permissions_policy(spec)) == policy_to_json(policy)


BASE = {"region": "eu-west-1", "account": "123456789012", "cluster": "analytics"}


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"region": None}, "region", "region is required"),
        ({"account": None}, "account", "account is required"),
        ({"account": 123456789012}, "account", "quoted string"),
        ({"account": "12345"}, "account", "exactly 12 digits"),
        ({"region": "cn-north-1"}, "region", "belongs to partition aws-cn"),
        ({"partition": "aws-cn"}, "region", "not a region of partition aws-cn"),
        ({"partition": "AWS"}, "partition", "lowercase"),
        ({"cluster": None}, "clusters", "cluster (or clusters) is required"),
        ({"clusters": ["b"]}, "cluster", "either cluster or clusters"),
        ({"cluster": "Analytics"}, "cluster", "lowercase letter"),
        ({"db_users": []}, "db_users", "must not be empty"),
        ({"db_users": ["ok", ""]}, "db_users", "db_users[1] must be a non-empty string"),
        ({"db_users": ["a/b"]}, "name", "dbuser 'a/b'"),
        ({"db_groups": ["Admins"]}, "name", "lowercase"),
        ({"db_names": ["PUBLIC"], "group_federation": True}, None, None),
        ({"group_federation": True}, "db_names", "needs db_names"),
        ({"group_federation": True, "db_names": ["dev"], "db_groups": ["g"]}, "db_groups", "does not apply"),
        ({"group_federation": True, "db_names": ["dev"], "auto_create": True}, "auto_create", "does not apply"),
        ({"group_federation": "yes"}, "group_federation", "true or false"),
        ({"serverless": True}, "clusters", "does not apply with serverless"),
        ({"serverless": True, "cluster": None}, "workgroup_ids", "needs workgroup_ids"),
        ({"serverless": True, "cluster": None, "workgroup_ids": ["my-wg"]}, "name", "not its name"),
        ({"workgroup_ids": ["*"]}, "workgroup_ids", "only with serverless"),
        ({"userid_condition": {"role_unique_id": "AIDAEXAMPLE1234567890"}}, "role_unique_id", "AROA"),
        ({"userid_condition": {"role_unique_id": "AROAEXAMPLEEXAMPLE12", "suffix": "@ex ample"}}, "suffix", "suffix"),
        ({"userid_condition": {"role_unique_id": "AROAEXAMPLEEXAMPLE12", "op": "x"}}, "op", "unknown key"),
        (
            {"userid_condition": {"role_unique_id": "AROAEXAMPLEEXAMPLE12", "operator": "StringNotEquals"}},
            "operator",
            "operator",
        ),
        ({"dbusers": ["x"]}, "dbusers", "unknown key(s) dbusers"),
    ],
)
def test_permissions_policy_refuses_bad_specs(changes, field, words):
    spec = {k: v for k, v in {**BASE, **changes}.items() if v is not None}
    if field is None:  # a valid variation, to show the case above it is not refused for another reason
        assert redshift_permissions_policy(spec)["Statement"]
        return
    with pytest.raises(IamPolicyError, match=re.escape(words)) as caught:
        redshift_permissions_policy(spec)
    assert caught.value.field == field
    assert isinstance(caught.value, ArnError)


def test_policy_size_limit_is_enforced_with_the_count():
    users = ["user%03d" % i for i in range(200)]
    with pytest.raises(IamPolicyError, match=r"the policy has \d+ characters without whitespace, over .* 6144"):
        redshift_permissions_policy({**BASE, "db_users": users})
    # the largest user list that fits is accepted, and its size is what IAM counts
    fitting = users[:60]
    policy = redshift_permissions_policy({**BASE, "db_users": fitting})
    assert policy_size(policy) <= MANAGED_POLICY_MAX_CHARS
    assert policy_size(policy) == len(re.sub(r"\s", "", policy_to_json(policy)))


@pytest.mark.parametrize(
    ("document", "kind", "words"),
    [
        ([], "identity", "JSON object"),
        (
            {"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:x", "Resource": "*"}]},
            "identity",
            "Version",
        ),
        ({"Version": "2012-10-17", "Statement": []}, "identity", "non-empty list"),
        ({"Version": "2012-10-17", "Statement": [{"Action": "s3:x", "Resource": "*"}]}, "identity", "Effect"),
        ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}, "identity", "no Action"),
        ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:x"}]}, "identity", "no Resource"),
        (
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "GetObject", "Resource": "*"}]},
            "identity",
            "service:Action",
        ),
        (
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:x", "Resource": []}]},
            "identity",
            "is empty",
        ),
        (
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:x", "Resource": "arn:aws:s3:::b"}],
            },
            "identity",
            "region",
        ),
        (
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "redshift:x",
                        "Resource": "arn:aws:redshift:us-west-1:12345:cluster:c",
                    }
                ],
            },
            "identity",
            "exactly 12 digits",
        ),
        (
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:x", "Resource": "*", "Principal": "*"}],
            },
            "identity",
            "Principal",
        ),
        ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:x"}]}, "trust", "no Principal"),
        (
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:x", "Resource": "*", "Condition": {"StringEquals": "x"}}
                ],
            },
            "identity",
            "Condition",
        ),
        (
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:x", "Resource": "*", "Sid": "a-b"}],
            },
            "identity",
            "Sid",
        ),
    ],
)
def test_validate_policy_document_finds_problems(document, kind, words):
    problems = validate_policy_document(document, kind)
    assert any(words in p for p in problems), problems


TRUST_SPEC = {
    "issuer_url": "https://dev-123.okta.com/oauth2/default",
    "account": "123456789012",
    "client_ids": ["0oa1example"],
}
PROVIDER = "arn:aws:iam::123456789012:oidc-provider/dev-123.okta.com/oauth2/default"
KEY = "dev-123.okta.com/oauth2/default"


@pytest.mark.parametrize(
    ("changes", "expected_statement"),
    [
        (
            {},
            {
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {KEY + ":aud": "0oa1example"}},
            },
        ),
        (
            {
                "client_ids": ["desktop", "server"],
                "subjects": ["00u1", "00u2"],
                "session_tags": True,
                "statement_ids": True,
            },
            {
                "Sid": "TableauRedshiftWebIdentity",
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER},
                "Action": ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
                "Condition": {"StringEquals": {KEY + ":aud": ["desktop", "server"], KEY + ":sub": ["00u1", "00u2"]}},
            },
        ),
        (
            {"subjects": ["00u*"], "partition": "aws-us-gov", "issuer_url": "https://sts.windows.net/tid/"},
            {
                "Effect": "Allow",
                "Principal": {"Federated": "arn:aws-us-gov:iam::123456789012:oidc-provider/sts.windows.net/tid/"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {"sts.windows.net/tid/:aud": "0oa1example"},
                    "StringLike": {"sts.windows.net/tid/:sub": "00u*"},
                },
            },
        ),
    ],
)
def test_trust_policies(changes, expected_statement):
    policy = redshift_trust_policy({**TRUST_SPEC, **changes})
    assert json.dumps(policy) == json.dumps({"Version": "2012-10-17", "Statement": [expected_statement]})
    assert validate_policy_document(policy, "trust") == []


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"issuer_url": None}, "issuer_url", "issuer_url is required"),
        ({"issuer_url": "http://idp.example.com"}, "issuer_url", "https"),
        ({"issuer_url": "https://idp.example.com:8443/"}, "issuer_url", "port"),
        ({"client_ids": []}, "client_ids", "client_ids is required"),
        ({"client_ids": ["a*"]}, "client_ids", "exact client id"),
        ({"account": "0123"}, "account", "exactly 12"),
        ({"audience": "x"}, "audience", "unknown key"),
    ],
)
def test_trust_policy_refuses_bad_specs(changes, field, words):
    spec = {k: v for k, v in {**TRUST_SPEC, **changes}.items() if v is not None}
    with pytest.raises(IamPolicyError, match=re.escape(words)) as caught:
        redshift_trust_policy(spec)
    assert caught.value.field == field


def test_trust_policy_size_limit():
    with pytest.raises(IamPolicyError, match="over IAM's default limit of 2048"):
        redshift_trust_policy({**TRUST_SPEC, "subjects": ["subject-%04d" % i for i in range(200)]})


def test_action_allowed_understands_wildcards_and_case():
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "redshift:GetClusterCredentials*", "Resource": "*"},
            {"Effect": "Deny", "Action": "redshift:JoinGroup", "Resource": "*"},
        ],
    }
    assert action_allowed(policy, "redshift:GetClusterCredentialsWithIAM")
    assert action_allowed(policy, "Redshift:getclustercredentials")
    assert not action_allowed(policy, "redshift:JoinGroup")


# --- lint ------------------------------------------------------------------------

ROLE = "arn:aws:iam::123456789012:role/tableau-redshift"
LINT_BASE = {"role_arn": ROLE, "cluster_id": "cluster-identifier", "region": "us-west-1", "policy_spec": HELP_PAGE_SPEC}
NO_CONDITION = {k: v for k, v in HELP_PAGE_SPEC.items() if k != "userid_condition"}


def codes(findings):
    return [f["code"] for f in findings]


SERVERLESS_SPEC = {
    "region": "us-west-1",
    "account": "123456789012",
    "serverless": True,
    "workgroup_ids": ["a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"],
}
FEDERATION_SPEC = {
    "region": "us-west-1",
    "account": "123456789012",
    "cluster": "cluster-identifier",
    "db_names": ["dev"],
    "group_federation": True,
}

LINT_CASES = [
    ("clean", {"policy_spec": NO_CONDITION}, []),
    ("clean with group federation", {"group_federation": True, "database": "dev", "policy_spec": FEDERATION_SPEC}, []),
    ("clean serverless", {"serverless": True, "cluster_id": None, "policy_spec": SERVERLESS_SPEC}, []),
    (
        "serverless in another account",
        {"serverless": True, "cluster_id": None, "policy_spec": {**SERVERLESS_SPEC, "account": "210987654321"}},
        ["account-mismatch"],
    ),
    (
        "group federation, other database",
        {"group_federation": True, "database": "prod", "policy_spec": FEDERATION_SPEC},
        ["db-name-not-covered"],
    ),
    ("help page example with the driver's default session name", {}, ["userid-session-name-mismatch"]),
    ("session name set but without the domain", {"role_session_name": "alice"}, ["userid-session-name-mismatch"]),
    (
        "session name meets the condition for one user",
        {"role_session_name": "alice@example.com"},
        ["userid-session-name-static"],
    ),
    ("fixed DbUser equal to the session name", {"role_session_name": "alice@example.com", "db_user": "alice"}, []),
    (
        "fixed DbUser other than the session name",
        {"role_session_name": "alice@example.com", "db_user": "bob"},
        ["userid-session-name-mismatch"],
    ),
    ("invalid session name", {"role_session_name": "a", "policy_spec": NO_CONDITION}, ["role-session-name-invalid"]),
    (
        "group federation on, policy for off",
        {"group_federation": True, "policy_spec": NO_CONDITION},
        ["group-federation-action-missing"],
    ),
    (
        "group federation off, policy for on",
        {
            "policy_spec": {
                **BASE,
                "region": "us-west-1",
                "cluster": "cluster-identifier",
                "db_names": ["dev"],
                "group_federation": True,
            }
        },
        ["get-cluster-credentials-missing"],
    ),
    (
        "serverless without GetCredentials",
        {"serverless": True, "policy_spec": NO_CONDITION},
        ["serverless-get-credentials-missing"],
    ),
    ("cluster differs", {"cluster_id": "other-cluster", "policy_spec": NO_CONDITION}, ["cluster-mismatch"]),
    ("region differs", {"region": "us-east-2", "policy_spec": NO_CONDITION}, ["region-mismatch"]),
    (
        "account of the role differs",
        {"role_arn": "arn:aws:iam::999999999999:role/tableau-redshift", "policy_spec": NO_CONDITION},
        ["account-mismatch"],
    ),
    (
        "role in GovCloud, region in aws",
        {"role_arn": "arn:aws-us-gov:iam::123456789012:role/tableau-redshift", "policy_spec": NO_CONDITION},
        ["region-not-in-partition", "partition-mismatch"],
    ),
    ("bad role ARN", {"role_arn": "arn:aws:iam::12345:role/x", "policy_spec": NO_CONDITION}, ["role-arn-invalid"]),
    (
        "role ARN that is a user",
        {"role_arn": "arn:aws:iam::123456789012:user/x", "policy_spec": NO_CONDITION},
        ["role-arn-invalid"],
    ),
    (
        "AutoCreate without CreateClusterUser",
        {"auto_create": True, "policy_spec": {**NO_CONDITION, "auto_create": False}},
        ["create-cluster-user-missing"],
    ),
    (
        "DbGroups not in the policy",
        {"db_groups": ["my_dbgroup", "finance"], "policy_spec": NO_CONDITION},
        ["join-group-missing"],
    ),
    (
        "fixed DbUser not covered",
        {"db_user": "carol", "policy_spec": {**NO_CONDITION, "db_users": ["alice", "bob"]}},
        ["db-user-not-covered"],
    ),
    ("Database not covered", {"database": "prod", "policy_spec": NO_CONDITION}, ["db-name-not-covered"]),
    ("no policy", {"policy_spec": None}, ["policy-missing"]),
    ("bad policy spec", {"policy_spec": {**NO_CONDITION, "account": "1"}}, ["policy-spec-invalid"]),
    (
        "malformed policy",
        {"policy_spec": None, "policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "x"}]}},
        ["policy-malformed", "policy-malformed"],
    ),
    (
        "condition that is not a role unique id",
        {
            "policy_spec": None,
            "policy": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "redshift:GetClusterCredentials",
                        "Resource": "arn:aws:redshift:us-west-1:123456789012:dbuser:cluster-identifier/"
                        "${redshift:DbUser}",
                        "Condition": {"StringEquals": {"aws:userid": "AIDAEXAMPLE:${redshift:DbUser}"}},
                    }
                ],
            },
        },
        ["userid-not-role-unique-id"],
    ),
]


@pytest.mark.parametrize(("changes", "expected"), [c[1:] for c in LINT_CASES], ids=[c[0] for c in LINT_CASES])
def test_lint_findings(changes, expected):
    spec = {k: v for k, v in {**LINT_BASE, **changes}.items() if v is not None}
    findings = redshift_iam_lint(spec)
    assert codes(findings) == expected, findings
    for finding in findings:
        assert list(finding) == ["severity", "code", "message", "fix"]
        assert finding["severity"] in ("error", "warning")
        assert finding["code"] in FINDING_CODES
        assert finding["message"] and finding["fix"]


def test_lint_message_for_the_classic_mistake_names_both_sides():
    (finding,) = redshift_iam_lint(LINT_BASE)
    assert finding["severity"] == "error"
    assert "jwt_redshift_session" in finding["message"]
    assert "${redshift:DbUser}@example.com" in finding["message"]


def test_lint_on_rendered_policy_equals_lint_on_spec():
    rendered = redshift_permissions_policy(HELP_PAGE_SPEC)
    from_spec = redshift_iam_lint(LINT_BASE)
    from_document = redshift_iam_lint(
        {**{k: v for k, v in LINT_BASE.items() if k != "policy_spec"}, "policy": rendered}
    )
    assert from_spec == from_document


def test_lint_refuses_unknown_keys():
    with pytest.raises(IamPolicyError, match="unknown key"):
        redshift_iam_lint({**LINT_BASE, "groupfederation": True})


def _python39():
    candidates = [*sorted(Path("/root/.pyenv/versions").glob("3.9*/bin/python3")), Path("/usr/bin/python3.9")]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    return None


def test_iam_logic_runs_on_python39_with_the_standard_library_only():
    """The IAM logic needs nothing beyond the standard library, down to Python 3.9."""
    python39 = _python39()
    if python39 is None:
        pytest.skip("no Python 3.9 interpreter on this machine")
    collections_root = Path(__file__).resolve().parents[4] / ".collections"
    script = (
        "import json, sys; sys.path.insert(0, %r)\n"
        "from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils import _redshift_iam as m\n"
        "from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._aws_arn import arn_parse\n"
        "spec = json.loads(sys.argv[1])\n"
        "print(json.dumps({'policy': m.redshift_permissions_policy(spec['policy']),\n"
        "                  'lint': [f['code'] for f in m.redshift_iam_lint(spec['lint'])],\n"
        "                  'arn': arn_parse('arn:aws-cn:iam::000000000001:role/a/b')}))\n"
    ) % str(collections_root)
    completed = subprocess.run(
        [str(python39), "-I", "-c", script, json.dumps({"policy": HELP_PAGE_SPEC, "lint": LINT_BASE})],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert json.dumps(result["policy"]) == json.dumps(redshift_permissions_policy(HELP_PAGE_SPEC))
    assert result["lint"] == ["userid-session-name-mismatch"]
    assert result["arn"]["account"] == "000000000001"
