# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Strict ARN parsing and building: a table of valid and invalid ARNs, and build -> parse round trips."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._aws_arn import (
    PARTITION_REGION_PATTERNS,
    ArnError,
    arn_parse,
    iam_role_arn,
    oidc_provider_arn,
    partition_of_region,
    pattern_matches,
    redshift_arn,
    validate_cluster_id,
    validate_db_user,
    validate_role_session_name,
)

ACCOUNT = "123456789012"


def validate_db_group(value):
    """A database group name, checked as redshift_arn checks the name of a dbgroup ARN."""
    redshift_arn("dbgroup", region="us-east-1", account=ACCOUNT, cluster="c1", name=value)
    return value


# (arn, expected parts: partition, service, region, account, resource_type, resource_id)
VALID_ARNS = [
    ("arn:aws:iam::123456789012:role/tableau-redshift", ("aws", "iam", "", ACCOUNT, "role", "tableau-redshift")),
    (
        "arn:aws:iam::123456789012:role/service-role/tableau/redshift-oauth",
        ("aws", "iam", "", ACCOUNT, "role", "service-role/tableau/redshift-oauth"),
    ),
    ("arn:aws:iam::000000000042:role/r", ("aws", "iam", "", "000000000042", "role", "r")),
    (
        "arn:aws:sts::123456789012:assumed-role/tableau-redshift/jwt_redshift_session",
        ("aws", "sts", "", ACCOUNT, "assumed-role", "tableau-redshift/jwt_redshift_session"),
    ),
    (
        "arn:aws:iam::123456789012:oidc-provider/dev-123.okta.com/oauth2/default",
        ("aws", "iam", "", ACCOUNT, "oidc-provider", "dev-123.okta.com/oauth2/default"),
    ),
    (
        "arn:aws:iam::123456789012:oidc-provider/login.microsoftonline.com/0a1b/v2.0",
        ("aws", "iam", "", ACCOUNT, "oidc-provider", "login.microsoftonline.com/0a1b/v2.0"),
    ),
    (
        "arn:aws:iam::123456789012:oidc-provider/accounts.google.com",
        ("aws", "iam", "", ACCOUNT, "oidc-provider", "accounts.google.com"),
    ),
    (
        "arn:aws:redshift:us-west-1:123456789012:cluster:cluster-identifier",
        ("aws", "redshift", "us-west-1", ACCOUNT, "cluster", "cluster-identifier"),
    ),
    (
        "arn:aws:redshift:eu-central-1:123456789012:dbuser:analytics/alice@example.com",
        ("aws", "redshift", "eu-central-1", ACCOUNT, "dbuser", "analytics/alice@example.com"),
    ),
    (
        "arn:aws:redshift:ap-southeast-2:123456789012:dbgroup:analytics/my_dbgroup",
        ("aws", "redshift", "ap-southeast-2", ACCOUNT, "dbgroup", "analytics/my_dbgroup"),
    ),
    (
        "arn:aws:redshift:il-central-1:123456789012:dbname:analytics/dev",
        ("aws", "redshift", "il-central-1", ACCOUNT, "dbname", "analytics/dev"),
    ),
    (
        "arn:aws-us-gov:redshift:us-gov-west-1:123456789012:cluster:gov-cluster",
        ("aws-us-gov", "redshift", "us-gov-west-1", ACCOUNT, "cluster", "gov-cluster"),
    ),
    (
        "arn:aws-us-gov:iam::123456789012:role/gov-role",
        ("aws-us-gov", "iam", "", ACCOUNT, "role", "gov-role"),
    ),
    (
        "arn:aws-cn:redshift:cn-north-1:123456789012:dbuser:cn-cluster/bob",
        ("aws-cn", "redshift", "cn-north-1", ACCOUNT, "dbuser", "cn-cluster/bob"),
    ),
    (
        "arn:aws-cn:redshift:cn-northwest-1:123456789012:cluster:c1",
        ("aws-cn", "redshift", "cn-northwest-1", ACCOUNT, "cluster", "c1"),
    ),
    (
        "arn:aws-iso:redshift:us-iso-east-1:123456789012:cluster:c",
        ("aws-iso", "redshift", "us-iso-east-1", ACCOUNT, "cluster", "c"),
    ),
    (
        "arn:aws-iso-b:redshift:us-isob-east-1:123456789012:cluster:c",
        ("aws-iso-b", "redshift", "us-isob-east-1", ACCOUNT, "cluster", "c"),
    ),
    (
        "arn:aws-iso-e:redshift:eu-isoe-west-1:123456789012:cluster:c",
        ("aws-iso-e", "redshift", "eu-isoe-west-1", ACCOUNT, "cluster", "c"),
    ),
    (
        "arn:aws-iso-f:redshift:us-isof-south-1:123456789012:cluster:c",
        ("aws-iso-f", "redshift", "us-isof-south-1", ACCOUNT, "cluster", "c"),
    ),
    (
        "arn:aws-eusc:redshift:eusc-de-east-1:123456789012:cluster:c",
        ("aws-eusc", "redshift", "eusc-de-east-1", ACCOUNT, "cluster", "c"),
    ),
    (
        "arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
        ("aws", "redshift-serverless", "us-east-1", ACCOUNT, "workgroup", "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"),
    ),
    # resource ids holding both ':' and '/'
    (
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/redshift/cluster:c/connectionlog:*x",
        None,
    ),
    (
        "arn:aws:secretsmanager:mx-central-1:123456789012:secret:tableau/redshift:v1-AbCdEf",
        ("aws", "secretsmanager", "mx-central-1", ACCOUNT, "secret", "tableau/redshift:v1-AbCdEf"),
    ),
    ("arn:aws:sns:us-east-2:123456789012:alerts", ("aws", "sns", "us-east-2", ACCOUNT, "", "alerts")),
]


@pytest.mark.parametrize(
    ("arn", "expected"), [v for v in VALID_ARNS if v[1]], ids=lambda v: v if isinstance(v, str) else ""
)
def test_valid_arns_parse_into_their_parts(arn, expected):
    parsed = arn_parse(arn)
    partition, service, region, account, resource_type, resource_id = expected
    assert parsed == {
        "partition": partition,
        "service": service,
        "region": region,
        "account": account,
        "resource": arn.split(":", 5)[5],
        "resource_type": resource_type,
        "resource_id": resource_id,
    }
    assert isinstance(parsed["account"], str)


def test_wildcard_in_a_plain_resource_needs_allow_wildcards():
    arn = VALID_ARNS[-3][0]
    with pytest.raises(ArnError, match="allowed only in policy resources"):
        arn_parse(arn)
    assert arn_parse(arn, allow_wildcards=True)["resource_id"] == "/aws/redshift/cluster:c/connectionlog:*x"


# (arn, field the error blames, words the message must contain)
INVALID_ARNS = [
    ("", "arn", "empty"),
    ("arn:aws:iam::12345678901:role/r", "account", "exactly 12 digits, got 11"),
    ("arn:aws:iam::1234567890123:role/r", "account", "exactly 12 digits, got 13"),
    ("arn:aws:redshift:us-west-1:12345:dbuser:cluster-identifier/alice", "account", "got 5"),
    ("arn:aws:iam::12345678901a:role/r", "account", "not a digit"),
    ("arn:aws:iam::١٢٣٤٥٦٧٨٩٠١٢:role/r", "account", "not a digit"),
    ("arn:aws:iam:::role/r", "account", "empty"),
    ("arn:aws:iam::123456789012:role/r extra", "arn", "whitespace"),
    ("arn:aws:iam::123456789012:role/r\n", "arn", "whitespace"),
    ("arn:aws:iam::123456789012:role/r:extra", "role name", "letters, digits"),
    ("arn:aws:redshift:us-west-1:123456789012:cluster:c:extra", "cluster", "is not valid"),
    ("arn:aws:redshift:us-west-1:123456789012:cluster:c;drop", "cluster", "is not valid"),
    ("arn:aws:redshift:us-west-1:123456789012:dbuser:c/alice/extra", "dbuser name", "no ':' or '/'"),
    (" arn:aws:iam::123456789012:role/r", "arn", "whitespace"),
    ("arn:aws:iam::123456789012:role/tab leau", "arn", "whitespace"),
    ("arn:aws:iam::123456789012:role/r\x00", "arn", "control"),
    ("ARN:aws:iam::123456789012:role/r", "prefix", "lowercase"),
    ("arn:AWS:iam::123456789012:role/r", "partition", "partitions are lowercase"),
    ("arn:aws:IAM::123456789012:role/r", "service", "lowercase"),
    ("arn:aws:redshift:US-WEST-1:123456789012:cluster:c", "region", "lowercase"),
    ("arn:aws:redshift:us-west-1:123456789012:cluster:Cluster", "cluster", "lowercase letter"),
    ("arn:aws-gov:iam::123456789012:role/r", "partition", "not a known AWS partition"),
    ("arn::iam::123456789012:role/r", "partition", "not a known AWS partition"),
    ("arn:aws:iam::123456789012", "arn", "5 ':'-separated parts"),
    ("arn:aws:iam::123456789012:", "resource", "empty"),
    ("arn:aws::us-east-1:123456789012:x", "service", "empty"),
    ("arn:aws:redshift::123456789012:cluster:c", "region", "needs a region"),
    ("arn:aws:iam:us-east-1:123456789012:role/r", "region", "must be empty"),
    ("arn:aws:sts:us-east-1:123456789012:assumed-role/r/s", "region", "must be empty"),
    ("arn:aws-cn:redshift:us-east-1:123456789012:cluster:c", "region", "belongs to partition aws"),
    ("arn:aws:redshift:cn-north-1:123456789012:cluster:c", "region", "belongs to partition aws-cn"),
    ("arn:aws:redshift:us-gov-west-1:123456789012:cluster:c", "region", "belongs to partition aws-us-gov"),
    ("arn:aws-us-gov:redshift:us-west-1:123456789012:cluster:c", "region", "not a region of partition aws-us-gov"),
    ("arn:aws:redshift:xx-west-1:123456789012:cluster:c", "region", "does not match"),
    ("arn:aws:redshift:us-west:123456789012:cluster:c", "region", "does not match"),
    ("arn:aws:redshift:*:123456789012:cluster:c", "region", "does not match"),
    ("arn:aws:redshift:us-west-1:*:cluster:c", "account", "not a digit"),
    ("arn:aws:redshift:us-west-1:123456789012:dbuser:c/${redshift:DbUser}", "resource", "allow_wildcards"),
    ("arn:aws:redshift:us-west-1:123456789012:dbuser:cluster-only", "resource_id", "dbuser:CLUSTER/NAME"),
    ("arn:aws:redshift:us-west-1:123456789012:dbuser:c/public", "dbuser name", "reserved"),
    ("arn:aws:redshift:us-west-1:123456789012:dbuser:c/1alice", "dbuser name", "starts with a letter"),
    ("arn:aws:redshift:us-west-1:123456789012:dbgroup:c/Admins", "dbgroup name", "lowercase"),
    ("arn:aws:redshift:us-west-1:123456789012:cluster:my--cluster", "cluster", "single hyphens"),
    ("arn:aws:redshift:us-west-1:123456789012:cluster:my-cluster-", "cluster", "hyphen"),
    ("arn:aws:redshift:us-west-1:123456789012:cluster:", "resource_id", "no id"),
    ("arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/my-workgroup", "workgroup id", "not its name"),
    ("arn:aws:iam::123456789012:role/", "resource_id", "no id"),
    ("arn:aws:iam::123456789012:role/a//b", "role path", "IAM path"),
    ("arn:aws:iam::123456789012:role/" + "r" * 65, "role name", "at most 64"),
    ("arn:aws:iam::123456789012:oidc-provider/Dev.Okta.com/oauth2", "oidc-provider host", "lowercase"),
    ("arn:aws:sts::123456789012:assumed-role/r", "resource", "assumed-role/ROLE/SESSION"),
    ("arn:aws:sts::123456789012:assumed-role/r/x", "role session name", "2 to 64"),
]


@pytest.mark.parametrize(("arn", "field", "words"), INVALID_ARNS, ids=[repr(v[0])[:60] for v in INVALID_ARNS])
def test_invalid_arns_are_refused_naming_the_part(arn, field, words):
    with pytest.raises(ArnError, match=re.escape(words)) as caught:
        arn_parse(arn)
    assert caught.value.field == field


@pytest.mark.parametrize("value", [None, 123, ["arn:aws:iam::123456789012:role/r"]])
def test_non_strings_are_refused(value):
    with pytest.raises(ArnError, match="must be a string"):
        arn_parse(value)


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:redshift:us-west-1:123456789012:dbuser:cluster-identifier/${redshift:DbUser}",
        "arn:aws:redshift:*:*:dbuser:*/*",
        "arn:aws:redshift:us-*:123456789012:dbname:c/dev",
        "arn:aws:redshift:us-west-1:123456789012:dbgroup:analytics-*/*",
        "arn:aws:iam::*:role/*",
        "arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/*",
    ],
)
def test_policy_resources_with_wildcards(arn):
    assert arn_parse(arn, allow_wildcards=True)["resource"] == arn.split(":", 5)[5]


@pytest.mark.parametrize(
    ("arn", "words"),
    [
        ("arn:aws:redshift:us-west-1:123456789012:dbuser:c/${redshift:DbUser", "malformed policy variable"),
        ("arn:aws:redshift:US-*:123456789012:dbname:c/dev", "lowercase letters"),
        ("arn:aws:redshift:us-west-1:12345678901*x:cluster:c", "digits"),
        ("arn:aws:redshift:us-west-1:123456789012:dbgroup:c/Admin*", "lowercase letters"),
    ],
)
def test_bad_wildcard_patterns_are_refused(arn, words):
    with pytest.raises(ArnError, match=re.escape(words)):
        arn_parse(arn, allow_wildcards=True)


def test_every_partition_has_a_region_pattern_from_botocore():
    assert set(PARTITION_REGION_PATTERNS) == {
        "aws",
        "aws-cn",
        "aws-us-gov",
        "aws-iso",
        "aws-iso-b",
        "aws-iso-e",
        "aws-iso-f",
        "aws-eusc",
    }
    assert partition_of_region("us-gov-east-1") == "aws-us-gov"
    assert partition_of_region("us-east-1") == "aws"
    assert partition_of_region("eusc-de-east-1") == "aws-eusc"
    assert partition_of_region("eusc-fr-east-1") is None
    assert partition_of_region("us-east-1\n") is None


# --- builders -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"kind": "cluster", "region": "us-west-1", "account": ACCOUNT, "cluster": "examplecluster"},
            "arn:aws:redshift:us-west-1:123456789012:cluster:examplecluster",
        ),
        (
            {"kind": "dbuser", "region": "us-west-1", "account": ACCOUNT, "cluster": "c", "name": "alice@example.com"},
            "arn:aws:redshift:us-west-1:123456789012:dbuser:c/alice@example.com",
        ),
        (
            {"kind": "dbgroup", "region": "us-west-1", "account": ACCOUNT, "cluster": "c", "name": "my_dbgroup"},
            "arn:aws:redshift:us-west-1:123456789012:dbgroup:c/my_dbgroup",
        ),
        (
            {
                "kind": "dbname",
                "partition": "aws-cn",
                "region": "cn-north-1",
                "account": "000000000001",
                "cluster": "c",
                "name": "dev",
            },
            "arn:aws-cn:redshift:cn-north-1:000000000001:dbname:c/dev",
        ),
        (
            {
                "kind": "serverless_workgroup",
                "partition": "aws-us-gov",
                "region": "us-gov-east-1",
                "account": ACCOUNT,
                "name": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
            },
            "arn:aws-us-gov:redshift-serverless:us-gov-east-1:123456789012:workgroup/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
        ),
        (
            {
                "kind": "dbuser",
                "region": "us-west-1",
                "account": ACCOUNT,
                "cluster": "cluster-identifier",
                "name": "${redshift:DbUser}",
                "allow_wildcards": True,
            },
            "arn:aws:redshift:us-west-1:123456789012:dbuser:cluster-identifier/${redshift:DbUser}",
        ),
    ],
)
def test_redshift_arn_builds(kwargs, expected):
    kwargs = dict(kwargs)
    assert redshift_arn(kwargs.pop("kind"), **kwargs) == expected
    arn_parse(expected, allow_wildcards=True)


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"kind": "user", "region": "us-west-1", "account": ACCOUNT}, "kind", "not one of"),
        ({"kind": "cluster", "account": ACCOUNT, "cluster": "c"}, "region", "required"),
        ({"kind": "cluster", "region": "us-west-1", "cluster": "c"}, "account", "required"),
        (
            {"kind": "cluster", "region": "us-west-1", "account": 123456789012, "cluster": "c"},
            "account",
            "quoted string",
        ),
        ({"kind": "cluster", "region": "us-west-1", "account": ACCOUNT}, "cluster", "required"),
        (
            {"kind": "cluster", "region": "us-west-1", "account": ACCOUNT, "cluster": "c", "name": "x"},
            "name",
            "does not apply",
        ),
        ({"kind": "dbuser", "region": "us-west-1", "account": ACCOUNT, "cluster": "c"}, "name", "required"),
        (
            {"kind": "dbuser", "region": "us-west-1", "account": ACCOUNT, "cluster": "c", "name": "a:b"},
            "name",
            "no ':' or '/'",
        ),
        (
            {"kind": "dbuser", "region": "us-west-1", "account": ACCOUNT, "cluster": "c", "name": "PUBLIC"},
            "name",
            "reserved",
        ),
        (
            {"kind": "dbuser", "region": "us-west-1", "account": ACCOUNT, "cluster": "c", "name": "u" * 65},
            "name",
            "at most 64",
        ),
        (
            {"kind": "dbuser", "region": "us-west-1", "account": ACCOUNT, "cluster": "c", "name": "${redshift:DbUser}"},
            "name",
            "is not valid",
        ),
        (
            {"kind": "dbgroup", "region": "us-west-1", "account": ACCOUNT, "cluster": "c", "name": "Admins"},
            "name",
            "lowercase",
        ),
        (
            {"kind": "dbname", "region": "us-west-1", "account": ACCOUNT, "cluster": "c", "name": "_dev"},
            "name",
            "starts with a letter",
        ),
        ({"kind": "cluster", "region": "us-west-1", "account": ACCOUNT, "cluster": "c" * 64}, "cluster", "at most 63"),
        ({"kind": "cluster", "region": "us-gov-west-1", "account": ACCOUNT, "cluster": "c"}, "region", "aws-us-gov"),
        (
            {"kind": "serverless_workgroup", "region": "us-east-1", "account": ACCOUNT, "name": "my-wg"},
            "name",
            "not its name",
        ),
        (
            {"kind": "serverless_workgroup", "region": "us-east-1", "account": ACCOUNT, "cluster": "c", "name": "x"},
            "cluster",
            "does not apply",
        ),
    ],
)
def test_redshift_arn_refuses(kwargs, field, words):
    kwargs = dict(kwargs)
    with pytest.raises(ArnError, match=re.escape(words)) as caught:
        redshift_arn(kwargs.pop("kind"), **kwargs)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((ACCOUNT, "tableau-redshift"), "arn:aws:iam::123456789012:role/tableau-redshift"),
        ((ACCOUNT, "r", "/tableau/prod/"), "arn:aws:iam::123456789012:role/tableau/prod/r"),
        (("000000000007", "r+=,.@-_", "/", "aws-us-gov"), "arn:aws-us-gov:iam::000000000007:role/r+=,.@-_"),
    ],
)
def test_iam_role_arn(args, expected):
    assert iam_role_arn(*args) == expected
    assert arn_parse(expected)["resource_type"] == "role"


@pytest.mark.parametrize(
    ("args", "field", "words"),
    [
        ((ACCOUNT, "r", "tableau/"), "path", "starts and ends with '/'"),
        ((ACCOUNT, "r", "/tableau"), "path", "starts and ends with '/'"),
        ((ACCOUNT, "r", "/a b/"), "path", "IAM path"),
        ((ACCOUNT, "bad name"), "name", "letters, digits"),
        ((ACCOUNT, ""), "name", "empty"),
        (("12345", "r"), "account", "exactly 12"),
        ((ACCOUNT, "r", "/", "aws-xx"), "partition", "not a known"),
    ],
)
def test_iam_role_arn_refuses(args, field, words):
    with pytest.raises(ArnError, match=re.escape(words)) as caught:
        iam_role_arn(*args)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://dev-123.okta.com/oauth2/default",
            "arn:aws:iam::123456789012:oidc-provider/dev-123.okta.com/oauth2/default",
        ),
        ("https://accounts.google.com", "arn:aws:iam::123456789012:oidc-provider/accounts.google.com"),
        ("https://sts.windows.net/tid/", "arn:aws:iam::123456789012:oidc-provider/sts.windows.net/tid/"),
    ],
)
def test_oidc_provider_arn(url, expected):
    assert oidc_provider_arn(url, ACCOUNT) == expected
    assert arn_parse(expected)["resource_type"] == "oidc-provider"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://dev-123.okta.com/oauth2/default", "must use https"),
        ("https://dev-123.okta.com:8443/oauth2/default", "port"),
        ("https://dev-123.okta.com/oauth2/default?x=1", "query"),
        ("https://dev-123.okta.com/oauth2/default#frag", "fragment"),
        ("https://user@dev-123.okta.com/", "user information"),
        ("https://Dev-123.Okta.com/", "lowercase"),
        ("dev-123.okta.com/oauth2/default", "not a URL"),
        ("https:///oauth2", "empty"),
        ("https://dev-123.okta.com//oauth2", "empty path segment"),
        ("https://dev 123.okta.com/", "whitespace"),
        ("https://-bad.example.com/", "DNS host name"),
    ],
)
def test_oidc_provider_arn_refuses(url, words):
    with pytest.raises(ArnError, match=re.escape(words)):
        oidc_provider_arn(url, ACCOUNT)


@pytest.mark.parametrize(
    ("validator", "value", "ok"),
    [
        (validate_cluster_id, "a", True),
        (validate_cluster_id, "a-1-b", True),
        (validate_cluster_id, "1abc", False),
        (validate_db_user, "Alice.Smith+x@example.com", True),
        (validate_db_user, "alice/bob", False),
        (validate_db_user, "Public", False),
        (validate_db_group, "analysts", True),
        (validate_db_group, "g" * 64, True),
        (validate_db_group, "g" * 65, False),
        (validate_role_session_name, "jwt_redshift_session", True),
        (validate_role_session_name, "alice@example.com", True),
        (validate_role_session_name, "a", False),
        (validate_role_session_name, "a" * 65, False),
        (validate_role_session_name, "a b", False),
    ],
)
def test_name_rules(validator, value, ok):
    if ok:
        assert validator(value) == value
    else:
        with pytest.raises(ArnError):
            validator(value)


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("*", "anything", True),
        ("us-*", "us-west-1", True),
        ("us-?est-1", "us-west-1", True),
        ("us-*", "eu-west-1", False),
        ("${redshift:DbUser}@example.com", "alice@example.com", True),
        ("${redshift:DbUser}@example.com", "@example.com", False),
        ("a.b", "axb", False),
    ],
)
def test_pattern_matches(pattern, value, matches):
    assert pattern_matches(pattern, value) is matches


# --- property tests: build -> parse round trips ---------------------------------

_REGION_PREFIXES = {
    "aws": ["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"],
    "aws-cn": ["cn"],
    "aws-us-gov": ["us-gov"],
    "aws-iso": ["us-iso"],
    "aws-iso-b": ["us-isob"],
    "aws-iso-e": ["eu-isoe"],
    "aws-iso-f": ["us-isof"],
    "aws-eusc": ["eusc-de"],
}
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_DIGITS = "0123456789"


@st.composite
def partition_and_region(draw):
    partition = draw(st.sampled_from(sorted(_REGION_PREFIXES)))
    prefix = draw(st.sampled_from(_REGION_PREFIXES[partition]))
    # a middle word that cannot be mistaken for another partition's prefix
    middle = draw(st.sampled_from(["east", "west", "north", "south", "central", "northeast", "southeast"]))
    number = draw(st.integers(min_value=1, max_value=99))
    return partition, "%s-%s-%d" % (prefix, middle, number)


accounts = st.text(alphabet=_DIGITS, min_size=12, max_size=12)
cluster_ids = st.from_regex(r"\A[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,20}\Z")
db_users = st.from_regex(r"\A[A-Za-z][A-Za-z0-9_+.@-]{0,30}\Z").filter(lambda v: v.lower() != "public")
db_groups = st.from_regex(r"\A[a-z][a-z0-9_+.@-]{0,30}\Z").filter(lambda v: v != "public")
role_names = st.from_regex(r"\A[A-Za-z0-9_+=,.@-]{1,64}\Z")
role_paths = st.lists(st.from_regex(r"\A[A-Za-z0-9_+=,.@-]{1,12}\Z"), max_size=4).map(
    lambda parts: "/" + "".join(p + "/" for p in parts)
)
host_labels = st.from_regex(r"\A[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?\Z")


@settings(max_examples=300, deadline=None)
@given(partition_and_region(), accounts, cluster_ids, st.sampled_from(["dbuser", "dbgroup", "dbname"]), st.data())
def test_redshift_arn_round_trip(partition_region, account, cluster, kind, data):
    partition, region = partition_region
    name = data.draw(db_groups if kind == "dbgroup" else db_users)
    arn = redshift_arn(kind, partition=partition, region=region, account=account, cluster=cluster, name=name)
    parsed = arn_parse(arn)
    assert (parsed["partition"], parsed["service"], parsed["region"], parsed["account"]) == (
        partition,
        "redshift",
        region,
        account,
    )
    assert parsed["resource_type"] == kind
    assert parsed["resource_id"] == "%s/%s" % (cluster, name)
    cluster_arn = redshift_arn("cluster", partition=partition, region=region, account=account, cluster=cluster)
    assert arn_parse(cluster_arn)["resource_id"] == cluster


@settings(max_examples=200, deadline=None)
@given(partition_and_region(), accounts, role_paths, role_names)
def test_iam_role_arn_round_trip(partition_region, account, path, name):
    partition = partition_region[0]
    parsed = arn_parse(iam_role_arn(account, name, path, partition))
    assert parsed["region"] == ""
    assert parsed["account"] == account
    assert parsed["resource_id"] == path[1:] + name


@settings(max_examples=200, deadline=None)
@given(
    partition_and_region(),
    accounts,
    st.lists(host_labels, min_size=2, max_size=4),
    st.lists(st.from_regex(r"\A[A-Za-z0-9_.~-]{1,10}\Z"), max_size=3),
)
def test_oidc_provider_arn_round_trip(partition_region, account, labels, path):
    partition = partition_region[0]
    host = ".".join(labels)
    url = "https://" + host + "".join("/" + p for p in path)
    parsed = arn_parse(oidc_provider_arn(url, account, partition))
    assert parsed["partition"] == partition
    assert parsed["resource_id"] == url[len("https://") :]


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=80))
def test_arbitrary_text_is_parsed_or_refused_with_arn_error(text):
    try:
        parsed = arn_parse(text)
    except ArnError as exc:
        assert str(exc)
    else:
        assert (
            ":".join(
                [
                    "arn",
                    parsed["partition"],
                    parsed["service"],
                    parsed["region"],
                    parsed["account"],
                    parsed["resource"],
                ]
            )
            == text
        )
