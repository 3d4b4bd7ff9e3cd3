# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
# Copyright: tabops contributors
# MIT License (see LICENSE)
"""Strict AWS ARN parsing and building for the Redshift IAM OAuth setup.

Controller side (the filters, the preflight and the IAM policies of ``_redshift_iam``).

amazon.aws's ``parse_aws_arn`` is a loose, unanchored regex (any account
length, matches inside other text); everything here is anchored and says
which part of an ARN is wrong and why.
"""

import re

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._errors import TabopsError


class ArnError(TabopsError, ValueError):
    """An ARN, or a part meant for one, is not valid. ``field`` names the part."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


# Region patterns of botocore's data/partitions.json (regionRegex), copied, not
# imported: botocore is not a dependency and hosts may not have it.
PARTITION_REGION_PATTERNS = {
    "aws": r"^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$",
    "aws-cn": r"^cn\-\w+\-\d+$",
    "aws-us-gov": r"^us\-gov\-\w+\-\d+$",
    "aws-iso": r"^us\-iso\-\w+\-\d+$",
    "aws-iso-b": r"^us\-isob\-\w+\-\d+$",
    "aws-iso-e": r"^eu\-isoe\-\w+\-\d+$",
    "aws-iso-f": r"^us\-isof\-\w+\-\d+$",
    "aws-eusc": r"^eusc\-(de)\-\w+\-\d+$",
}
PARTITIONS = tuple(PARTITION_REGION_PATTERNS)
# re.ASCII: botocore's \w means ASCII word characters; a bare $ would also
# accept a trailing newline, so the patterns are used with fullmatch.
_REGION_RES = {name: re.compile(pattern.rstrip("$"), re.ASCII) for name, pattern in PARTITION_REGION_PATTERNS.items()}

# Services whose ARNs never carry a region.
REGIONLESS_SERVICES = frozenset({"iam", "sts"})

ACCOUNT_PATTERN = re.compile(r"[0-9]{12}")
_SERVICE_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# IAM policy variables: ${aws:username}, ${redshift:DbUser}, and the escapes ${*} ${?} ${$}.
_POLICY_VARIABLE_RE = re.compile(r"\$\{(?:[A-Za-z0-9_.:/-]+|\*|\?|\$)\}")
_WILDCARD_CHARS = frozenset("*?")
_FORBIDDEN_RESOURCE_RE = re.compile(r"[\s\x00-\x1f\x7f]")

_CLUSTER_ID_RE = re.compile(r"[a-z](?:[a-z0-9]|-(?!-))*")
_DB_USER_RE = re.compile(r"[A-Za-z][A-Za-z0-9_+.@-]*")
_DB_GROUP_RE = re.compile(r"[a-z][a-z0-9_+.@-]*")
_DB_NAME_RE = _DB_USER_RE
_WORKGROUP_ID_RE = re.compile(r"[A-Za-z0-9]{8}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{12}")
_ROLE_NAME_RE = re.compile(r"[A-Za-z0-9_+=,.@-]+")
_ROLE_PATH_RE = re.compile(r"/(?:[\x21-\x2e\x30-\x7e]+/)*")
_SESSION_NAME_RE = re.compile(r"[A-Za-z0-9_+=,.@-]+")
_HOST_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")

REDSHIFT_KINDS = ("cluster", "dbuser", "dbgroup", "dbname", "serverless_workgroup")


def _show(value):
    return repr(value) if isinstance(value, str) else "%r (%s)" % (value, type(value).__name__)


def _require_str(value, field):
    if not isinstance(value, str):
        raise ArnError("%s must be a string, got %s" % (field, _show(value)), field)
    return value


def is_pattern(value):
    """True when ``value`` holds a ``*``/``?`` wildcard or an IAM policy variable."""
    return bool(_WILDCARD_CHARS.intersection(value)) or "${" in value


def _strip_pattern(value):
    return re.sub(r"[*?]", "", _POLICY_VARIABLE_RE.sub("", value))


def _check_pattern(value, field, allowed_chars_re, what):
    """Validate a name that may contain wildcards or policy variables (policy resources)."""
    if "${" in _POLICY_VARIABLE_RE.sub("", value):
        raise ArnError("%s %r has a malformed policy variable (expected ${service:Key})" % (field, value), field)
    rest = _strip_pattern(value)
    if rest and not allowed_chars_re.fullmatch(rest):
        raise ArnError(
            "%s %r: apart from wildcards and policy variables it may hold only %s" % (field, value, what), field
        )


def pattern_matches(pattern, value):
    """IAM-style match: ``*`` any run, ``?`` one character, policy variables match anything non-empty."""
    regex = []
    pos = 0
    for match in _POLICY_VARIABLE_RE.finditer(pattern):
        regex.append(_glob_to_regex(pattern[pos : match.start()]))
        regex.append(".+")
        pos = match.end()
    regex.append(_glob_to_regex(pattern[pos:]))
    return re.fullmatch("".join(regex), value, re.DOTALL) is not None


def _glob_to_regex(text):
    return "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in text)


# --- parts -----------------------------------------------------------------


def validate_partition(partition, field="partition"):
    _require_str(partition, field)
    if partition not in PARTITION_REGION_PATTERNS:
        hint = " (partitions are lowercase)" if partition.lower() in PARTITION_REGION_PATTERNS else ""
        raise ArnError(
            "%s %r is not a known AWS partition%s; known: %s" % (field, partition, hint, ", ".join(PARTITIONS)),
            field,
        )
    return partition


def partition_of_region(region):
    """The partition whose region pattern ``region`` matches, or None."""
    for name, regex in _REGION_RES.items():
        if isinstance(region, str) and regex.fullmatch(region):
            return name
    return None


def validate_region(region, partition="aws", field="region", allow_wildcards=False):
    validate_partition(partition)
    _require_str(region, field)
    if allow_wildcards and is_pattern(region):
        _check_pattern(region, field, re.compile(r"[a-z0-9-]+"), "lowercase letters, digits and '-'")
        return region
    if not region:
        raise ArnError(
            "%s is empty; partition %s needs a region such as %s" % (field, partition, _EXAMPLE_REGIONS[partition]),
            field,
        )
    if region != region.lower():
        raise ArnError("%s %r must be lowercase" % (field, region), field)
    if not _REGION_RES[partition].fullmatch(region):
        other = partition_of_region(region)
        why = (
            "it belongs to partition %s" % other
            if other
            else "it does not match %s" % PARTITION_REGION_PATTERNS[partition]
        )
        raise ArnError("%s %r is not a region of partition %s: %s" % (field, region, partition, why), field)
    return region


_EXAMPLE_REGIONS = {
    "aws": "us-east-1",
    "aws-cn": "cn-north-1",
    "aws-us-gov": "us-gov-west-1",
    "aws-iso": "us-iso-east-1",
    "aws-iso-b": "us-isob-east-1",
    "aws-iso-e": "eu-isoe-west-1",
    "aws-iso-f": "us-isof-south-1",
    "aws-eusc": "eusc-de-east-1",
}


def validate_account(account, field="account", allow_wildcards=False):
    if isinstance(account, int) and not isinstance(account, bool):
        # YAML turns 012345678901 into an int and drops the zero: refuse to guess.
        raise ArnError(
            "%s must be a quoted string of 12 digits, got the number %d (leading zeros are lost in numbers)"
            % (field, account),
            field,
        )
    _require_str(account, field)
    if allow_wildcards and is_pattern(account):
        _check_pattern(account, field, re.compile(r"[0-9]+"), "digits")
        return account
    if not account:
        raise ArnError("%s is empty; it must be 12 digits" % field, field)
    if not account.isascii() or not account.isdigit():
        raise ArnError("%s %r must be 12 digits, found a character that is not a digit" % (field, account), field)
    if not ACCOUNT_PATTERN.fullmatch(account):
        raise ArnError("%s %r must be exactly 12 digits, got %d" % (field, account, len(account)), field)
    return account


def _validate_name(value, field, regex, rule, max_len, reserved=()):
    _require_str(value, field)
    if not value:
        raise ArnError("%s is empty" % field, field)
    if len(value) > max_len:
        raise ArnError(
            "%s %r is %d characters long; at most %d are allowed" % (field, value, len(value), max_len), field
        )
    if not regex.fullmatch(value):
        raise ArnError("%s %r is not valid: %s" % (field, value, rule), field)
    if value.lower() in reserved:
        raise ArnError("%s %r is a reserved word" % (field, value), field)
    return value


def validate_cluster_id(value, field="cluster", allow_wildcards=False):
    if allow_wildcards and isinstance(value, str) and is_pattern(value):
        _check_pattern(value, field, re.compile(r"[a-z0-9-]+"), "lowercase letters, digits and '-'")
        return value
    _validate_name(
        value,
        field,
        _CLUSTER_ID_RE,
        "a cluster identifier starts with a lowercase letter and holds only lowercase letters, digits and single"
        " hyphens, not ending with a hyphen",
        63,
    )
    if value.endswith("-"):
        raise ArnError("%s %r must not end with a hyphen" % (field, value), field)
    return value


# Redshift ARN resource kind: (the regex of its names; the characters a wildcard pattern may hold and how an error
# says them; the rule an error states; reserved words)
_DB_OBJECT_RULES = {
    "dbuser": (
        _DB_USER_RE,
        re.compile(r"[A-Za-z0-9_+.@-]+"),
        "letters, digits and _ + . @ -",
        "a database user name starts with a letter and holds only letters, digits and _ + . @ - (no ':' or '/')",
        ("public",),
    ),
    "dbgroup": (
        _DB_GROUP_RE,
        re.compile(r"[a-z0-9_+.@-]+"),
        "lowercase letters, digits and _ + . @ -",
        "a database group name starts with a lowercase letter and holds only lowercase letters, digits and _ + . @ -",
        ("public",),
    ),
    "dbname": (
        _DB_NAME_RE,
        re.compile(r"[A-Za-z0-9_+.@-]+"),
        "letters, digits and _ + . @ -",
        "a database name starts with a letter and holds only letters, digits and _ + . @ - (no ':' or '/')",
        (),
    ),
}


def _validate_db_object(kind, value, field, allow_wildcards):
    """A database user, group or database name (``kind`` as in its ARN), or a wildcard pattern when allowed."""
    regex, pattern_chars, pattern_text, rule, reserved = _DB_OBJECT_RULES[kind]
    if allow_wildcards and isinstance(value, str) and is_pattern(value):
        _check_pattern(value, field, pattern_chars, pattern_text)
        return value
    return _validate_name(value, field, regex, rule, 64, reserved=reserved)


def validate_db_user(value, field="db_user", allow_wildcards=False):
    return _validate_db_object("dbuser", value, field, allow_wildcards)


_WORKGROUP_ID_RULE = (
    "is not a workgroup id: redshift-serverless ARNs use the workgroup's id (8-4-4-4-12 characters,"
    " as in 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111'), not its name"
)
_ROLE_PATH_RULE = (
    "is not an IAM path: it starts and ends with '/' (for example '/' or '/tableau/') and holds"
    " printable ASCII without spaces"
)


def validate_workgroup_id(value, field="workgroup_id", allow_wildcards=False):
    _require_str(value, field)
    if allow_wildcards and is_pattern(value):
        _check_pattern(value, field, re.compile(r"[A-Za-z0-9-]+"), "letters, digits and '-'")
        return value
    if not _WORKGROUP_ID_RE.fullmatch(value):
        raise ArnError("%s %r %s" % (field, value, _WORKGROUP_ID_RULE), field)
    return value


def validate_role_name(value, field="role name"):
    return _validate_name(value, field, _ROLE_NAME_RE, "IAM role names hold only letters, digits and _+=,.@-", 64)


def validate_role_path(value, field="path"):
    _require_str(value, field)
    if len(value) > 512:
        raise ArnError("%s is %d characters long; at most 512 are allowed" % (field, len(value)), field)
    if not _ROLE_PATH_RE.fullmatch(value):
        raise ArnError("%s %r %s" % (field, value, _ROLE_PATH_RULE), field)
    return value


def validate_role_session_name(value, field="role_session_name"):
    _require_str(value, field)
    if not 2 <= len(value) <= 64:
        raise ArnError("%s %r must be 2 to 64 characters long, got %d" % (field, value, len(value)), field)
    if not _SESSION_NAME_RE.fullmatch(value):
        raise ArnError("%s %r may hold only letters, digits and _+=,.@-" % (field, value), field)
    return value


# --- parsing ---------------------------------------------------------------


def arn_parse(arn, allow_wildcards=False):
    """Split an ARN into its parts, checking each one.

    Returns ``{partition, service, region, account, resource, resource_type,
    resource_id}``. ``resource_type`` is the text before the first ``:`` or
    ``/`` of the resource (``role``, ``cluster``, ``dbuser``, ...), empty when
    the resource has neither. With ``allow_wildcards`` the region, account and
    resource may hold ``*``/``?`` and policy variables, as IAM policy
    resources do.
    """
    _require_str(arn, "ARN")
    if not arn:
        raise ArnError("ARN is empty", "arn")
    bad = _FORBIDDEN_RESOURCE_RE.search(arn)
    if bad:
        raise ArnError(
            "ARN %r contains whitespace or a control character (%r at position %d)" % (arn, bad.group(), bad.start()),
            "arn",
        )
    parts = arn.split(":", 5)
    if len(parts) < 6:
        raise ArnError(
            "ARN %r has %d ':'-separated parts; an ARN is arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE"
            % (arn, len(parts)),
            "arn",
        )
    prefix, partition, service, region, account, resource = parts
    if prefix != "arn":
        raise ArnError("ARN %r must start with 'arn:' (lowercase), not %r" % (arn, prefix + ":"), "prefix")
    try:
        validate_partition(partition)
        if not service:
            raise ArnError("service is empty", "service")
        if not _SERVICE_RE.fullmatch(service):
            raise ArnError(
                "service %r must be lowercase letters and digits separated by single '-'" % service, "service"
            )
        if service in REGIONLESS_SERVICES:
            if region:
                raise ArnError(
                    "region %r must be empty: %s ARNs are global (arn:%s:%s::ACCOUNT:...)"
                    % (region, service, partition, service),
                    "region",
                )
        else:
            validate_region(region, partition, allow_wildcards=allow_wildcards)
        validate_account(account, allow_wildcards=allow_wildcards)
        if not resource:
            raise ArnError("resource is empty", "resource")
        if not allow_wildcards and is_pattern(resource):
            raise ArnError(
                "resource %r holds a wildcard or policy variable; these are allowed only in policy resources"
                " (allow_wildcards)" % resource,
                "resource",
            )
        if allow_wildcards and "${" in _POLICY_VARIABLE_RE.sub("", resource):
            raise ArnError(
                "resource %r has a malformed policy variable (expected ${service:Key})" % resource, "resource"
            )
        resource_type, resource_id = _split_resource(resource)
        result = {
            "partition": partition,
            "service": service,
            "region": region,
            "account": account,
            "resource": resource,
            "resource_type": resource_type,
            "resource_id": resource_id,
        }
        _check_known_resource(result, allow_wildcards)
    except ArnError as exc:
        raise ArnError("ARN %r: %s" % (arn, exc), exc.field) from None
    return result


def _split_resource(resource):
    colon = resource.find(":")
    slash = resource.find("/")
    cuts = [pos for pos in (colon, slash) if pos > 0]
    if not cuts:
        return "", resource
    cut = min(cuts)
    return resource[:cut], resource[cut + 1 :]


def _check_known_resource(parsed, allow_wildcards):
    """Deeper checks for the resource kinds this collection builds."""
    service, rtype, rid = parsed["service"], parsed["resource_type"], parsed["resource_id"]
    if rtype and not rid:
        raise ArnError("resource %r names the type %r but no id" % (parsed["resource"], rtype), "resource_id")
    if service == "redshift" and rtype in ("cluster", "dbuser", "dbgroup", "dbname"):
        redshift_resource(parsed, allow_wildcards=allow_wildcards)
    elif service == "redshift-serverless" and rtype == "workgroup":
        validate_workgroup_id(rid, "workgroup id", allow_wildcards)
    elif service == "iam" and rtype == "role" and not allow_wildcards:
        path, _slash, name = ("/" + rid).rpartition("/")
        validate_role_path(path + "/", "role path")
        validate_role_name(name, "role name")
    elif service == "iam" and rtype == "oidc-provider" and not allow_wildcards:
        host = rid.split("/", 1)[0]
        _validate_host(host, "oidc-provider host")
    elif service == "sts" and rtype == "assumed-role" and not allow_wildcards:
        role, sep, session = rid.partition("/")
        if not sep:
            raise ArnError(
                "assumed-role resource %r must be assumed-role/ROLE/SESSION" % parsed["resource"], "resource"
            )
        validate_role_name(role, "role name")
        validate_role_session_name(session, "role session name")


def redshift_resource(parsed, allow_wildcards=False):
    """``{kind, cluster, name}`` of a parsed provisioned-Redshift ARN (cluster/dbuser/dbgroup/dbname)."""
    rtype, rid = parsed["resource_type"], parsed["resource_id"]
    if rtype == "cluster":
        validate_cluster_id(rid, "cluster", allow_wildcards)
        return {"kind": "cluster", "cluster": rid, "name": None}
    cluster, sep, name = rid.partition("/")
    if not sep:
        raise ArnError("%s resource %r must be %s:CLUSTER/NAME" % (rtype, parsed["resource"], rtype), "resource_id")
    validate_cluster_id(cluster, "cluster", allow_wildcards)
    _validate_db_object(rtype, name, rtype + " name", allow_wildcards)
    return {"kind": rtype, "cluster": cluster, "name": name}


def _validate_host(host, field):
    if not host:
        raise ArnError("%s is empty" % field, field)
    if host != host.lower():
        raise ArnError("%s %r must be lowercase" % (field, host), field)
    labels = host.split(".")
    if len(host) > 253 or not all(_HOST_LABEL_RE.fullmatch(label) for label in labels):
        raise ArnError("%s %r is not a valid DNS host name" % (field, host), field)
    return host


# --- building --------------------------------------------------------------


def redshift_arn(kind, partition="aws", region=None, account=None, cluster=None, name=None, allow_wildcards=False):
    """Build a Redshift ARN.

    ``kind`` is ``cluster`` (``cluster`` needed), ``dbuser``/``dbgroup``/``dbname``
    (``cluster`` and ``name``) or ``serverless_workgroup`` (``name`` = the
    workgroup id). With ``allow_wildcards`` the names may use ``*`` and policy
    variables such as ``${redshift:DbUser}``.
    """
    if kind not in REDSHIFT_KINDS:
        raise ArnError("kind %r is not one of %s" % (kind, ", ".join(REDSHIFT_KINDS)), "kind")
    validate_partition(partition)
    if region is None:
        raise ArnError("region is required for a Redshift ARN", "region")
    validate_region(region, partition, allow_wildcards=allow_wildcards)
    if account is None:
        raise ArnError("account is required for a Redshift ARN", "account")
    validate_account(account, allow_wildcards=allow_wildcards)
    prefix = "arn:%s:%s:%s:%s:" % (partition, "redshift", region, account)
    if kind == "serverless_workgroup":
        if cluster is not None:
            raise ArnError(
                "cluster does not apply to a serverless workgroup ARN (give the workgroup id as name)", "cluster"
            )
        if name is None:
            raise ArnError("name (the workgroup id) is required for a serverless_workgroup ARN", "name")
        validate_workgroup_id(name, "name", allow_wildcards)
        return "arn:%s:redshift-serverless:%s:%s:workgroup/%s" % (partition, region, account, name)
    if cluster is None:
        raise ArnError("cluster is required for a Redshift %s ARN" % kind, "cluster")
    validate_cluster_id(cluster, "cluster", allow_wildcards)
    if kind == "cluster":
        if name is not None:
            raise ArnError("name does not apply to a cluster ARN", "name")
        return prefix + "cluster:" + cluster
    if name is None:
        raise ArnError("name is required for a Redshift %s ARN" % kind, "name")
    _validate_db_object(kind, name, "name", allow_wildcards)
    return "%s%s:%s/%s" % (prefix, kind, cluster, name)


def iam_role_arn(account, name, path="/", partition="aws"):
    """``arn:PARTITION:iam::ACCOUNT:role/PATH/NAME``; path ``/`` or ``/a/b/``."""
    validate_partition(partition)
    validate_account(account)
    validate_role_path(path)
    validate_role_name(name, "name")
    if len(path) + len(name) > 512 + 64:
        raise ArnError("path plus name is too long", "path")
    return "arn:%s:iam::%s:role%s%s" % (partition, account, path, name)


def oidc_provider_key(issuer_url, field="issuer_url"):
    """The issuer as IAM names it: ``HOST[/PATH]`` (https only, no port, query, fragment or user info)."""
    _require_str(issuer_url, field)
    if _FORBIDDEN_RESOURCE_RE.search(issuer_url):
        raise ArnError("%s %r contains whitespace or a control character" % (field, issuer_url), field)
    scheme, sep, rest = issuer_url.partition("://")
    if not sep:
        raise ArnError("%s %r is not a URL; it must look like https://HOST[/PATH]" % (field, issuer_url), field)
    if scheme != "https":
        raise ArnError(
            "%s %r must use https (IAM OIDC providers accept only https), not %r" % (field, issuer_url, scheme), field
        )
    if "?" in rest or "#" in rest:
        raise ArnError("%s %r must not have a query or fragment" % (field, issuer_url), field)
    host, slash, path = rest.partition("/")
    if "@" in host:
        raise ArnError("%s %r must not carry user information" % (field, issuer_url), field)
    if ":" in host:
        raise ArnError("%s %r must not name a port (IAM OIDC provider URLs have none)" % (field, issuer_url), field)
    _validate_host(host, "%s host" % field)
    if "//" in slash + path:
        raise ArnError("%s %r has an empty path segment ('//')" % (field, issuer_url), field)
    return host + slash + path


def oidc_provider_arn(issuer_url, account, partition="aws"):
    """``arn:PARTITION:iam::ACCOUNT:oidc-provider/HOST[/PATH]`` for an issuer URL."""
    validate_partition(partition)
    validate_account(account)
    return "arn:%s:iam::%s:oidc-provider/%s" % (partition, account, oidc_provider_key(issuer_url))
