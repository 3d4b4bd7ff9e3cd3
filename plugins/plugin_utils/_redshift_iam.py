# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
# Copyright: tabops contributors
# MIT License (see LICENSE)
"""IAM documents for Redshift IAM OAuth (Tableau) and a lint for their classic mistakes.

Controller side (the filters, the preflight and the redshift_iam role).

- ``redshift_permissions_policy(spec)``: the identity policy the role carries.
- ``redshift_trust_policy(spec)``: the AssumeRoleWithWebIdentity trust policy.
- ``redshift_iam_lint(spec)``: findings ``{severity, code, message, fix}``.

Documents are plain dicts in AWS's usual key order (Sid, Effect, Principal,
Action, Resource, Condition); a single action or resource is a string,
several a list, as in the Tableau help page's example.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._aws_arn import (
    PARTITION_REGION_PATTERNS,
    ArnError,
    arn_parse,
    oidc_provider_arn,
    oidc_provider_key,
    partition_of_region,
    pattern_matches,
    redshift_arn,
    redshift_resource,
    validate_account,
    validate_db_user,
    validate_partition,
    validate_region,
    validate_role_session_name,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._host_findings import finding

POLICY_VERSION = "2012-10-17"
# IAM quotas: characters of a managed policy / a role trust policy, whitespace not counted.
MANAGED_POLICY_MAX_CHARS = 6144
TRUST_POLICY_MAX_CHARS = 2048  # the default quota; AWS raises it to 4,096 on request
# The Redshift ODBC v2 driver's JwtIamAuthPlugin uses this role session name
# when the connection sets none.
DRIVER_DEFAULT_SESSION_NAME = "jwt_redshift_session"
DB_USER_VARIABLE = "${redshift:DbUser}"

FINDING_CODES = {
    "role-arn-invalid": "the DSN's role_arn is not a valid IAM role ARN",
    "role-session-name-invalid": "role_session_name breaks STS's rules (2-64 of [A-Za-z0-9_+=,.@-])",
    "region-not-in-partition": "the region does not belong to the partition of the role / policy",
    "policy-missing": "no policy or policy_spec was given",
    "policy-spec-invalid": "the policy spec could not be turned into a policy",
    "policy-malformed": "the policy document is not a well-formed IAM policy",
    "policy-too-large": "the policy is over IAM's managed-policy size limit",
    "get-cluster-credentials-missing": "group federation is off but the policy lacks redshift:GetClusterCredentials",
    "group-federation-action-missing": "group federation is on but the policy lacks GetClusterCredentialsWithIAM",
    "serverless-get-credentials-missing": "serverless but the policy lacks redshift-serverless:GetCredentials",
    "create-cluster-user-missing": "AutoCreate is on but the policy lacks redshift:CreateClusterUser",
    "join-group-missing": "a DbGroups entry is not covered by redshift:JoinGroup",
    "partition-mismatch": "the policy's resources are in another partition than the role",
    "region-mismatch": "the policy's resources are in another region than the DSN",
    "account-mismatch": "the policy's resources are in another account than the role",
    "cluster-mismatch": "the policy's resources name another cluster than the DSN",
    "db-user-not-covered": "the DSN's DbUser is not covered by the policy's dbuser resources",
    "db-name-not-covered": "the DSN's Database is not covered by the policy's dbname resources",
    "userid-not-role-unique-id": "an aws:userid condition does not start with a role unique id (AROA...)",
    "userid-session-name-mismatch": "an aws:userid condition the driver's role session name can never satisfy",
    "userid-session-name-static": "an aws:userid condition only one DbUser can ever satisfy",
}


class IamPolicyError(ArnError):
    """A policy spec or document is not valid; the message names the field."""


# --- small helpers -----------------------------------------------------------


def _one_or_list(items):
    return items[0] if len(items) == 1 else list(items)


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _statement(actions, resources=None, condition=None, sid=None, principal=None):
    statement = {}
    if sid:
        statement["Sid"] = sid
    statement["Effect"] = "Allow"
    if principal is not None:
        statement["Principal"] = principal
    statement["Action"] = _one_or_list(actions)
    if resources is not None:
        statement["Resource"] = _one_or_list(resources)
    if condition:
        statement["Condition"] = condition
    return statement


def _check_keys(spec, allowed, what):
    if not isinstance(spec, dict):
        raise IamPolicyError("%s must be a dict, got %s" % (what, type(spec).__name__), what)
    unknown = sorted(set(spec) - set(allowed))
    if unknown:
        raise IamPolicyError(
            "%s has unknown key(s) %s; known: %s" % (what, ", ".join(unknown), ", ".join(sorted(allowed))), unknown[0]
        )


def _names(spec, key, what):
    value = spec.get(key)
    items = _as_list(value)
    for index, item in enumerate(items):
        if not isinstance(item, str) or not item:
            raise IamPolicyError("%s.%s[%d] must be a non-empty string, got %r" % (what, key, index, item), key)
    return list(dict.fromkeys(items))


def _bool(spec, key, default, what):
    value = spec.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise IamPolicyError("%s.%s must be true or false, got %r" % (what, key, value), key)
    return value


def _wrap(what, func, *args, **kwargs):
    """Run an _aws_arn builder, prefixing its error with where the value came from."""
    try:
        return func(*args, **kwargs)
    except IamPolicyError:
        raise
    except ArnError as exc:
        raise IamPolicyError("%s: %s" % (what, exc), exc.field) from None


def policy_size(document):
    """Characters IAM counts for a policy: its JSON without any whitespace."""
    compact = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return len(re.sub(r"\s", "", compact))


# --- permissions policy ----------------------------------------------------

PERMISSIONS_SPEC_KEYS = (
    "partition",
    "region",
    "account",
    "cluster",
    "clusters",
    "db_users",
    "db_names",
    "db_groups",
    "auto_create",
    "group_federation",
    "serverless",
    "workgroup_ids",
    "userid_condition",
    "include_cluster_resource",
    "describe_clusters",
    "statement_ids",
)
_UNIQUE_ID_RE = re.compile(r"AROA[A-Z0-9]{12,124}")


@dataclass(frozen=True)
class _PermissionsInputs:
    """A permissions policy spec, checked field by field (in the order the errors name them)."""

    what: str
    location: dict  # partition, region, account: where every resource ARN points
    serverless: bool
    group_federation: bool
    auto_create: bool
    use_sid: bool
    describe: bool
    clusters: list
    db_users: list
    db_names: list
    db_groups: list
    workgroup_ids: list
    userid_condition: object

    def sid(self, name: str) -> str | None:
        return name if self.use_sid else None

    def arns(self, kind: str, names: list, clusters: list | None = None, label: str | None = None) -> list:
        """The ARN of every name in every cluster; an error names the spec, the kind (or ``label``) and the name."""
        return [
            _wrap(
                "%s (%s %r)" % (self.what, label or kind, name),
                redshift_arn,
                kind,
                cluster=cluster,
                name=name,
                allow_wildcards=True,
                **self.location,
            )
            for cluster in (clusters or [None])
            for name in names
        ]


def _permissions_inputs(spec, what):
    _check_keys(spec, PERMISSIONS_SPEC_KEYS, what)
    partition = spec.get("partition") or "aws"
    _wrap(what, validate_partition, partition, "partition")
    if spec.get("region") is None:
        raise IamPolicyError("%s: region is required" % what, "region")
    if spec.get("account") is None:
        raise IamPolicyError("%s: account is required (a quoted 12-digit string)" % what, "account")
    region = _wrap(what, validate_region, spec["region"], partition, "region", True)
    account = _wrap(what, validate_account, spec["account"], "account", True)
    serverless = _bool(spec, "serverless", False, what)
    # attribute: (spec key, default)
    switches = {
        "serverless": ("serverless", False),
        "group_federation": ("group_federation", False),
        "auto_create": ("auto_create", False),
        "use_sid": ("statement_ids", False),
        "describe": ("describe_clusters", not serverless),
    }
    flags = {name: _bool(spec, key, default, what) for name, (key, default) in switches.items()}
    clusters = _names(spec, "clusters", what)
    if spec.get("cluster") is not None:
        if clusters:
            raise IamPolicyError("%s: give either cluster or clusters, not both" % what, "cluster")
        clusters = _names(spec, "cluster", what)
    names = {"db_users": _names(spec, "db_users", what) if "db_users" in spec else [DB_USER_VARIABLE]}
    names.update((key, _names(spec, key, what)) for key in ("db_names", "db_groups", "workgroup_ids"))
    location = {"partition": partition, "region": region, "account": account}
    userid_condition = spec.get("userid_condition") or None
    return _PermissionsInputs(what, location, clusters=clusters, userid_condition=userid_condition, **flags, **names)


def _refuse_present(inputs, keys, why):
    """IamPolicyError for the first of ``keys`` the spec sets (``keys``: the input's attribute names)."""
    for key in keys:
        if getattr(inputs, key):
            raise IamPolicyError("%s: %s does not apply with %s" % (inputs.what, key, why), key)


def _serverless_statements(inputs):
    _refuse_present(
        inputs, ("clusters", "db_groups", "userid_condition", "auto_create", "group_federation"), "serverless: true"
    )
    if not inputs.workgroup_ids:
        raise IamPolicyError(
            "%s: serverless: true needs workgroup_ids (the workgroups' ids, or '*')" % inputs.what, "workgroup_ids"
        )
    resources = inputs.arns("serverless_workgroup", inputs.workgroup_ids, label="workgroup")
    return [_statement(["redshift-serverless:GetCredentials"], resources, sid=inputs.sid("GetCredentials"))]


def _group_federation_statements(inputs):
    _refuse_present(
        inputs,
        ("db_groups", "auto_create", "userid_condition"),
        "group_federation: true (GetClusterCredentialsWithIAM takes neither DbUser, DbGroups nor AutoCreate)",
    )
    if not inputs.db_names:
        raise IamPolicyError(
            "%s: group_federation: true needs db_names (GetClusterCredentialsWithIAM is granted on dbname"
            " resources; use '*' for any database)" % inputs.what,
            "db_names",
        )
    resources = inputs.arns("dbname", inputs.db_names, inputs.clusters)
    return [
        _statement(["redshift:GetClusterCredentialsWithIAM"], resources, sid=inputs.sid("GetClusterCredentialsWithIAM"))
    ]


def _db_user_statements(spec, inputs):
    what, clusters = inputs.what, inputs.clusters
    if not inputs.db_users:
        raise IamPolicyError("%s: db_users must not be empty" % what, "db_users")
    user_arns = inputs.arns("dbuser", inputs.db_users, clusters)
    resources = inputs.arns("dbname", inputs.db_names, clusters) + user_arns
    if _bool(spec, "include_cluster_resource", True, what):
        resources += [
            _wrap(what, redshift_arn, "cluster", cluster=cluster, allow_wildcards=True, **inputs.location)
            for cluster in clusters
        ]
    condition = _userid_condition(inputs.userid_condition, what) if inputs.userid_condition else None
    statements = [
        _statement(["redshift:GetClusterCredentials"], resources, condition, sid=inputs.sid("GetClusterCredentials"))
    ]
    if inputs.auto_create:
        statements.append(_statement(["redshift:CreateClusterUser"], user_arns, sid=inputs.sid("CreateClusterUser")))
    if inputs.db_groups:
        group_arns = inputs.arns("dbgroup", inputs.db_groups, clusters)
        statements.append(_statement(["redshift:JoinGroup"], group_arns, sid=inputs.sid("JoinGroup")))
    return statements


def _cluster_statements(spec, inputs):
    if inputs.workgroup_ids:
        raise IamPolicyError("%s: workgroup_ids apply only with serverless: true" % inputs.what, "workgroup_ids")
    if not inputs.clusters:
        raise IamPolicyError("%s: cluster (or clusters) is required; use '*' for any cluster" % inputs.what, "clusters")
    if inputs.group_federation:
        return _group_federation_statements(inputs)
    return _db_user_statements(spec, inputs)


# kind of policy: (character limit, how the error says the size is over it)
_SIZE_LIMITS = {
    "identity": (
        MANAGED_POLICY_MAX_CHARS,
        "%s: the policy has %d characters without whitespace, over IAM's managed-policy limit of %d;"
        " use wildcards or fewer clusters, users, databases and groups",
    ),
    "trust": (
        TRUST_POLICY_MAX_CHARS,
        "%s: the trust policy has %d characters without whitespace, over IAM's default limit of %d",
    ),
}


def _checked_policy(statements, what, kind="identity"):
    """The ``kind`` policy document of ``statements``, refused when malformed or over IAM's size limit."""
    document = {"Version": POLICY_VERSION, "Statement": statements}
    problems = validate_policy_document(document, kind)
    if problems:
        raise IamPolicyError("%s produced a malformed policy: %s" % (what, "; ".join(problems)), "Statement")
    size = policy_size(document)
    limit, message = _SIZE_LIMITS[kind]
    if size > limit:
        raise IamPolicyError(message % (what, size, limit), "Statement")
    return document


def redshift_permissions_policy(spec):
    """Build the Redshift permissions policy of the role Tableau's tokens assume.

    See docs/iam.md for the spec; raises IamPolicyError naming the field.
    """
    inputs = _permissions_inputs(spec, "permissions policy spec")
    statements = _serverless_statements(inputs) if inputs.serverless else _cluster_statements(spec, inputs)
    if inputs.describe:
        statements.append(
            _statement(["redshift:DescribeClusters", "iam:ListRoles"], ["*"], sid=inputs.sid("DescribeClusters"))
        )
    return _checked_policy(statements, inputs.what)


def _userid_condition(condition, what):
    field = "userid_condition"
    _check_keys(condition, ("role_unique_id", "suffix", "operator"), "%s.%s" % (what, field))
    unique_id = condition.get("role_unique_id")
    if not isinstance(unique_id, str) or not _UNIQUE_ID_RE.fullmatch(unique_id):
        raise IamPolicyError(
            "%s.%s.role_unique_id must be the role's unique id (AROA followed by upper-case letters and digits,"
            " from 'aws iam get-role'), got %r" % (what, field, unique_id),
            "role_unique_id",
        )
    suffix = condition.get("suffix", "")
    if suffix is None:
        suffix = ""
    if not isinstance(suffix, str) or re.search(r"[^A-Za-z0-9_+=,.@*?-]", suffix):
        raise IamPolicyError(
            "%s.%s.suffix %r may hold only characters allowed in role session names ([A-Za-z0-9_+=,.@-])"
            % (what, field, suffix),
            "suffix",
        )
    operator = condition.get("operator", "StringEquals")
    if operator not in ("StringEquals", "StringLike"):
        raise IamPolicyError(
            "%s.%s.operator must be StringEquals or StringLike, got %r" % (what, field, operator), "operator"
        )
    return {operator: {"aws:userid": "%s:%s%s" % (unique_id, DB_USER_VARIABLE, suffix)}}


# --- trust policy ----------------------------------------------------------

TRUST_SPEC_KEYS = ("issuer_url", "account", "partition", "client_ids", "subjects", "session_tags", "statement_ids")


def redshift_trust_policy(spec):
    """AssumeRoleWithWebIdentity trust policy for the IdP's IAM OIDC provider."""
    what = "trust policy spec"
    _check_keys(spec, TRUST_SPEC_KEYS, what)
    partition = spec.get("partition") or "aws"
    for key in ("issuer_url", "account"):
        if spec.get(key) is None:
            raise IamPolicyError("%s: %s is required" % (what, key), key)
    provider = _wrap(what, oidc_provider_arn, spec["issuer_url"], spec["account"], partition)
    key_prefix = oidc_provider_key(spec["issuer_url"])
    client_ids = _names(spec, "client_ids", what)
    if not client_ids:
        raise IamPolicyError(
            "%s: client_ids is required: the aud of the tokens Tableau federates (the client id for ID tokens, the"
            " access token's audience when a TDC sets CAP_OAUTH_FEDERATE_ACCESS_TOKEN)" % what,
            "client_ids",
        )
    for client_id in client_ids:
        if re.search(r"[\s*?]", client_id):
            raise IamPolicyError("%s: client_ids entry %r must be an exact client id" % (what, client_id), "client_ids")
    subjects = _names(spec, "subjects", what)
    conditions = {"StringEquals": {key_prefix + ":aud": _one_or_list(client_ids)}}
    if subjects:
        operator = "StringLike" if any("*" in s or "?" in s for s in subjects) else "StringEquals"
        conditions.setdefault(operator, {})[key_prefix + ":sub"] = _one_or_list(subjects)
    actions = ["sts:AssumeRoleWithWebIdentity"]
    if _bool(spec, "session_tags", False, what):
        actions.append("sts:TagSession")
    statement = _statement(
        actions,
        condition=conditions,
        sid="TableauRedshiftWebIdentity" if _bool(spec, "statement_ids", False, what) else None,
        principal={"Federated": provider},
    )
    return _checked_policy([statement], what, "trust")


# --- checking documents ----------------------------------------------------

_ACTION_RE = re.compile(r"[a-z0-9-]+:[A-Za-z0-9*?]+")
_SID_RE = re.compile(r"[A-Za-z0-9]*")
_STATEMENT_KEYS = {
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
}


def validate_policy_document(document, kind="identity"):
    """Problems that make ``document`` an invalid IAM policy (``kind``: identity or trust); [] when fine."""
    if not isinstance(document, dict):
        return ["the policy must be a JSON object, got %s" % type(document).__name__]
    problems = []
    unknown = sorted(set(document) - {"Version", "Id", "Statement"})
    if unknown:
        problems.append("unknown top-level key(s) %s" % ", ".join(unknown))
    if document.get("Version") != POLICY_VERSION:
        problems.append("Version must be %r, got %r" % (POLICY_VERSION, document.get("Version")))
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        problems.append("Statement must be a non-empty list")
        return problems
    for index, statement in enumerate(statements):
        where = "Statement[%d]" % index
        if not isinstance(statement, dict):
            problems.append("%s must be an object" % where)
            continue
        unknown = sorted(set(statement) - _STATEMENT_KEYS)
        if unknown:
            problems.append("%s has unknown key(s) %s" % (where, ", ".join(unknown)))
        if "Sid" in statement and (not isinstance(statement["Sid"], str) or not _SID_RE.fullmatch(statement["Sid"])):
            problems.append("%s.Sid must be letters and digits" % where)
        if statement.get("Effect") not in ("Allow", "Deny"):
            problems.append("%s.Effect must be Allow or Deny, got %r" % (where, statement.get("Effect")))
        action_key = "Action" if "Action" in statement else "NotAction" if "NotAction" in statement else None
        if action_key is None:
            problems.append("%s has no Action" % where)
        else:
            for action in _strings(statement[action_key], "%s.%s" % (where, action_key), problems):
                if action != "*" and not _ACTION_RE.fullmatch(action):
                    problems.append("%s.%s %r is not service:Action" % (where, action_key, action))
        resource_key = "Resource" if "Resource" in statement else "NotResource" if "NotResource" in statement else None
        principal_key = (
            "Principal" if "Principal" in statement else "NotPrincipal" if "NotPrincipal" in statement else None
        )
        if kind == "trust":
            if principal_key is None:
                problems.append("%s has no Principal (a trust policy names who may assume the role)" % where)
            if resource_key is not None:
                problems.append("%s must not have %s in a trust policy" % (where, resource_key))
        else:
            if principal_key is not None:
                problems.append("%s must not have %s in an identity policy" % (where, principal_key))
            if resource_key is None:
                problems.append("%s has no Resource" % where)
            else:
                for resource in _strings(statement[resource_key], "%s.%s" % (where, resource_key), problems):
                    if resource != "*":
                        try:
                            arn_parse(resource, allow_wildcards=True)
                        except ArnError as exc:
                            problems.append("%s.%s: %s" % (where, resource_key, exc))
        condition = statement.get("Condition")
        if condition is not None and (
            not isinstance(condition, dict) or not all(isinstance(v, dict) and v for v in condition.values())
        ):
            problems.append("%s.Condition must map operators to {key: value} objects" % where)
    return problems


def _strings(value, where, problems):
    items = _as_list(value)
    if not items:
        problems.append("%s is empty" % where)
    good = []
    for item in items:
        if isinstance(item, str) and item:
            good.append(item)
        else:
            problems.append("%s entries must be non-empty strings, got %r" % (where, item))
    return good


def _allow_statements(document):
    statements = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements or []:
        if isinstance(statement, dict) and statement.get("Effect") == "Allow" and "Action" in statement:
            yield statement


def _action_matches(pattern, action):
    # IAM action names are case-insensitive.
    return pattern_matches(pattern.lower(), action.lower())


def action_allowed(document, action):
    """The Allow statements of ``document`` whose Action covers ``action`` (Deny is not evaluated)."""
    return [
        statement
        for statement in _allow_statements(document)
        if any(_action_matches(p, action) for p in _as_list(statement["Action"]) if isinstance(p, str))
    ]


# --- lint ------------------------------------------------------------------

LINT_SPEC_KEYS = (
    "role_arn",
    "role_session_name",
    "driver_default_session_name",
    "cluster_id",
    "region",
    "account",
    "partition",
    "group_federation",
    "serverless",
    "db_user",
    "db_groups",
    "auto_create",
    "database",
    "policy",
    "policy_spec",
)


def _role_findings(spec):
    """The parsed ``role_arn`` (None when unset or not a role's ARN), and the finding when it is not."""
    if spec.get("role_arn") is None:
        return None, []
    try:
        role = arn_parse(spec["role_arn"])
        if role["service"] != "iam" or role["resource_type"] != "role":
            raise ArnError("it names a %s %s, not an IAM role" % (role["service"], role["resource_type"] or "resource"))
    except ArnError as exc:
        fix = "set role_arn to the role's ARN, arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME"
        return None, [finding("error", "role-arn-invalid", "role_arn: %s" % exc, fix)]
    return role, []


def _session_findings(spec):
    """The role session name the DSN sets (or None), the one the driver uses, and the finding when it is invalid."""
    session_default = spec.get("driver_default_session_name") or DRIVER_DEFAULT_SESSION_NAME
    session_name = spec.get("role_session_name") or None
    found = []
    if session_name is not None:
        try:
            validate_role_session_name(session_name)
        except ArnError as exc:
            found.append(
                finding("error", "role-session-name-invalid", str(exc), "use 2-64 characters of [A-Za-z0-9_+=,.@-]")
            )
    return session_name, session_name or session_default, found


def _location_findings(spec, role):
    """The partition and account the policy's resources must name (None when unknown), and the mismatches found."""
    found = []
    partition = spec.get("partition") or (role["partition"] if role else None)
    if partition is not None and partition not in PARTITION_REGION_PATTERNS:
        message = "partition %r is not a known AWS partition" % partition
        found.append(
            finding("error", "partition-mismatch", message, "use one of %s" % ", ".join(PARTITION_REGION_PATTERNS))
        )
        partition = None
    account = spec.get("account") or (role["account"] if role else None)
    if spec.get("account") and role and spec["account"] != role["account"]:
        message = "account %r differs from the account %r of role_arn %s" % (
            spec["account"],
            role["account"],
            _role_arn_text(spec),
        )
        found.append(
            finding("error", "account-mismatch", message, "the role, the cluster and the policy must be in one account")
        )
    if spec.get("partition") and role and spec["partition"] != role["partition"]:
        message = "partition %r differs from the partition %r of role_arn" % (spec["partition"], role["partition"])
        found.append(finding("error", "partition-mismatch", message, "use the role's partition"))
    region = spec.get("region")
    if region is not None and partition is not None:
        try:
            validate_region(region, partition)
        except ArnError as exc:
            belongs = partition_of_region(region)
            fix = "use a region of partition %s%s" % (
                partition,
                " or a role in partition %s" % belongs if belongs else "",
            )
            found.append(finding("error", "region-not-in-partition", "region: %s" % exc, fix))
    return partition, account, found


def _lint_document(spec):
    """The policy to lint (None when there is none to check further), and the findings about the document itself."""
    document = spec.get("policy")
    if document is None and spec.get("policy_spec") is not None:
        try:
            document = redshift_permissions_policy(spec["policy_spec"])
        except ArnError as exc:
            return None, [finding("error", "policy-spec-invalid", str(exc), "fix the policy spec")]
    if document is None:
        return None, [
            finding("error", "policy-missing", "give policy (a document) or policy_spec", "add the role's policy")
        ]
    problems = validate_policy_document(document, "identity")
    if problems:
        return None, [
            finding("error", "policy-malformed", problem, "correct the policy document") for problem in problems
        ]
    size = policy_size(document)
    if size <= MANAGED_POLICY_MAX_CHARS:
        return document, []
    message = "the policy has %d characters without whitespace; IAM allows %d in a managed policy" % (
        size,
        MANAGED_POLICY_MAX_CHARS,
    )
    return document, [finding("error", "policy-too-large", message, "use wildcards, or split it into several policies")]


def _credential_action(serverless, group_federation):
    """The action the driver calls for its credentials, and the finding code when the policy does not allow it."""
    if serverless:
        return "redshift-serverless:GetCredentials", "serverless-get-credentials-missing"
    if group_federation:
        return "redshift:GetClusterCredentialsWithIAM", "group-federation-action-missing"
    return "redshift:GetClusterCredentials", "get-cluster-credentials-missing"


def _credential_missing(document, serverless, group_federation):
    """The finding for a policy that does not allow the driver's credential action."""
    credential_action, code = _credential_action(serverless, group_federation)
    other = "redshift:GetClusterCredentials" if group_federation else "redshift:GetClusterCredentialsWithIAM"
    hint = ""
    if not serverless and action_allowed(document, other):
        hint = " (it grants %s, which the driver uses with group federation %s)" % (
            other,
            "off" if group_federation else "on",
        )
    message = "group federation is %s%s, so the driver calls %s, which the policy does not allow%s" % (
        "on" if group_federation else "off",
        " (serverless)" if serverless else "",
        credential_action,
        hint,
    )
    fix = "allow %s on the %s resources, or %s group federation in the connection" % (
        credential_action,
        "workgroup" if serverless else "dbname" if group_federation else "dbuser/dbname/cluster",
        "turn on" if not group_federation else "turn off",
    )
    return finding("error", code, message, fix)


def _db_user_grant_findings(document, spec):
    """Without group federation: AutoCreate needs CreateClusterUser, every DbGroups entry a JoinGroup grant."""
    found = []
    if spec.get("auto_create") and not action_allowed(document, "redshift:CreateClusterUser"):
        found.append(
            finding(
                "error",
                "create-cluster-user-missing",
                "AutoCreate is on but the policy does not allow redshift:CreateClusterUser",
                "allow redshift:CreateClusterUser on the dbuser resources (auto_create: true)",
            )
        )
    join = action_allowed(document, "redshift:JoinGroup")
    cluster = spec.get("cluster_id")
    for group in _as_list(spec.get("db_groups")):
        if not _covered(join, lambda parsed, g=group: _redshift_name_covers(parsed, "dbgroup", cluster, g)):
            message = "DbGroups names %r but no redshift:JoinGroup statement covers dbgroup %s/%s" % (
                group,
                cluster or "CLUSTER",
                group,
            )
            found.append(
                finding("error", "join-group-missing", message, "add the group to db_groups in the policy spec")
            )
    return found


def _granted_resource_findings(document, credential_action, credential_statements, spec, partition, account):
    """The resources of the credential grant (or, without one, of the service's other grants) against the DSN.

    Without the credential action, the other Redshift grants still show a wrong account/region/cluster.
    """
    service_prefix = credential_action.split(":", maxsplit=1)[0] + ":"
    checked_statements = credential_statements or [
        statement
        for statement in _allow_statements(document)
        if any(isinstance(a, str) and a.lower().startswith(service_prefix) for a in _as_list(statement["Action"]))
    ]
    if not checked_statements:
        return []
    return _resource_findings(
        checked_statements,
        credential_action if credential_statements else "the policy's %s actions" % service_prefix[:-1],
        spec,
        partition,
        account,
        spec.get("region"),
        bool(spec.get("serverless")),
    )


def redshift_iam_lint(spec):
    """Findings for a DSN/driver setup and the role's permissions policy; see docs/iam.md."""
    _check_keys(spec, LINT_SPEC_KEYS, "lint spec")
    role, findings = _role_findings(spec)
    session_name, effective_session, found = _session_findings(spec)
    findings += found
    partition, account, found = _location_findings(spec, role)
    findings += found
    document, found = _lint_document(spec)
    findings += found
    if document is None:
        return findings
    group_federation = bool(spec.get("group_federation"))
    serverless = bool(spec.get("serverless"))
    credential_action, _code = _credential_action(serverless, group_federation)
    credential_statements = action_allowed(document, credential_action)
    if not credential_statements:
        findings.append(_credential_missing(document, serverless, group_federation))
    if not serverless and not group_federation:
        findings += _db_user_grant_findings(document, spec)
    findings += _granted_resource_findings(document, credential_action, credential_statements, spec, partition, account)
    if credential_statements and not serverless and not group_federation:
        findings += _userid_findings(credential_statements, spec, session_name, effective_session)
    return findings


def _role_arn_text(spec):
    return spec.get("role_arn") or "(none)"


def _resources_of(statements):
    out = []
    for statement in statements:
        for resource in _as_list(statement.get("Resource")):
            if resource == "*":
                out.append(None)  # covers everything
                continue
            try:
                out.append(arn_parse(resource, allow_wildcards=True))
            except ArnError:
                continue
    return out


def _covered(statements, predicate):
    return any(parsed is None or predicate(parsed) for parsed in _resources_of(statements))


def _redshift_name_covers(parsed, kind, cluster, name):
    if parsed["service"] != "redshift" or not pattern_matches(parsed["resource_type"], kind):
        return False
    cluster_part, _slash, name_part = parsed["resource_id"].partition("/")
    if cluster and not pattern_matches(cluster_part, cluster):
        return False
    return pattern_matches(name_part, name)


def _resource_findings(statements, action, spec, partition, account, region, serverless):
    resources = _resources_of(statements)
    if any(parsed is None for parsed in resources):
        return []
    service = "redshift-serverless" if serverless else "redshift"
    ours = [parsed for parsed in resources if parsed["service"] == service]
    findings = []
    checks = (
        ("partition", partition, "partition-mismatch", "the role's partition"),
        ("region", region, "region-mismatch", "the DSN's Region"),
        ("account", account, "account-mismatch", "the role's account"),
    )
    for part, expected, code, source in checks:
        if expected is None or not ours:
            continue
        if not any(pattern_matches(parsed[part], expected) for parsed in ours):
            seen = sorted({parsed[part] for parsed in ours})
            findings.append(
                finding(
                    "error",
                    code,
                    "%s is granted only in %s %s, but %s is %r" % (action, part, ", ".join(seen), source, expected),
                    "build the policy with %s: %s" % (part, expected),
                )
            )
    cluster_id = spec.get("cluster_id")
    if cluster_id and not serverless and ours:
        clusters = set()
        for parsed in ours:
            try:
                clusters.add(redshift_resource(parsed, allow_wildcards=True)["cluster"])
            except ArnError:
                continue
        if clusters and not any(pattern_matches(c, cluster_id) for c in clusters):
            findings.append(
                finding(
                    "error",
                    "cluster-mismatch",
                    "%s is granted only on cluster(s) %s, but the DSN's ClusterId is %r"
                    % (action, ", ".join(sorted(clusters)), cluster_id),
                    "add cluster %r to the policy spec's clusters" % cluster_id,
                )
            )
    if not serverless and ours:
        kinds = {parsed["resource_type"] for parsed in ours}
        db_user = spec.get("db_user")
        if db_user and "dbuser" in kinds:
            try:
                validate_db_user(db_user)
                covered = any(
                    _redshift_name_covers(p, "dbuser", cluster_id, db_user) or DB_USER_VARIABLE in p["resource_id"]
                    for p in ours
                )
            except ArnError:
                covered = True  # the driver rejects it first; not this check's business
            if not covered:
                findings.append(
                    finding(
                        "error",
                        "db-user-not-covered",
                        "DbUser %r is not covered by the dbuser resources of %s" % (db_user, action),
                        "add %r (or ${redshift:DbUser}) to the policy spec's db_users" % db_user,
                    )
                )
        database = spec.get("database")
        if (
            database
            and "dbname" in kinds
            and not any(_redshift_name_covers(p, "dbname", cluster_id, database) for p in ours)
        ):
            findings.append(
                finding(
                    "error",
                    "db-name-not-covered",
                    "Database %r is not covered by the dbname resources of %s" % (database, action),
                    "add %r to the policy spec's db_names" % database,
                )
            )
    return findings


def _userid_findings(statements, spec, session_name, effective_session):
    findings = []
    db_user = spec.get("db_user") or None
    for statement in statements:
        condition = statement.get("Condition") or {}
        for operator, entries in condition.items():
            base = operator.replace("IfExists", "")
            if base not in ("StringEquals", "StringLike"):
                continue
            for key, values in entries.items():
                if key.lower() != "aws:userid":
                    continue
                values = [v for v in _as_list(values) if isinstance(v, str)]
                findings.extend(
                    _check_userid_values(values, base == "StringLike", db_user, session_name, effective_session)
                )
    return findings


_ANY_DB_USER = r"[A-Za-z][A-Za-z0-9_+.@-]{0,63}"


def _session_regex(pattern, like, db_user):
    out = []
    pos = 0
    for match in re.finditer(r"\$\{[^}]*\}", pattern):
        out.append(_literal_or_glob(pattern[pos : match.start()], like))
        if match.group() == DB_USER_VARIABLE:
            out.append(re.escape(db_user) if db_user else "(" + _ANY_DB_USER + ")")
        else:
            out.append(".+")
        pos = match.end()
    out.append(_literal_or_glob(pattern[pos:], like))
    return "".join(out)


def _literal_or_glob(text, like):
    if not like:
        return re.escape(text)
    return "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in text)


def _check_userid_values(values, like, db_user, session_name, effective_session):
    findings = []
    matched = None
    for value in values:
        unique_id, sep, session_pattern = value.partition(":")
        if not sep or not unique_id.startswith("AROA"):
            findings.append(
                finding(
                    "error",
                    "userid-not-role-unique-id",
                    "aws:userid condition %r: for an assumed role aws:userid is ROLE_UNIQUE_ID:SESSION_NAME with a"
                    " unique id starting AROA" % value,
                    "put the role's unique id (aws iam get-role --query Role.RoleId) before the ':'",
                )
            )
            continue
        match = re.fullmatch(_session_regex(session_pattern, like, db_user), effective_session)
        if match and matched is None:
            matched = (value, match)
    if findings or not values:
        return findings
    source = (
        "the connection's role_session_name %r" % session_name
        if session_name
        else "the driver's default role session name %r (JwtIamAuthPlugin, no role_session_name set)"
        % effective_session
    )
    if matched is None:
        findings.append(
            finding(
                "error",
                "userid-session-name-mismatch",
                "aws:userid condition %s requires the role session name to match %s, but %s never does: "
                "GetClusterCredentials will be denied"
                % (
                    " or ".join(repr(v) for v in values),
                    " or ".join(repr(v.partition(":")[2]) for v in values),
                    source,
                ),
                "drop the aws:userid condition (userid_condition) or set role_session_name in the connection so"
                " that it equals the DbUser plus the condition's suffix",
            )
        )
    elif DB_USER_VARIABLE in matched[0] and not db_user and matched[1].groups():
        findings.append(
            finding(
                "warning",
                "userid-session-name-static",
                "aws:userid condition %r is met by %s only when DbUser is %r: every other user is denied"
                % (matched[0], source, matched[1].group(1)),
                "set a fixed DbUser, or drop the aws:userid condition and rely on the role's trust policy",
            )
        )
    return findings
