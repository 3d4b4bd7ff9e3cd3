# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Amazon Redshift ODBC driver on a host: discovery, versions, test DSNs, isql diagnosis.

Standard library only (runs with the host's Python 3.9+). What is verified and
what is inferred about the driver packages is listed in docs/troubleshooting.md.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._errors import TabopsError

# --- versions ---------------------------------------------------------------

MIN_DRIVER_VERSIONS = {"v1": "1.5.9", "v2": "2.0.1.0"}
MIN_TABLEAU_SERVER_VERSION = "2023.3.2"

_VERSION_RE = re.compile(r"(?<![\d.])(\d+(?:\.\d+){1,3})(?![\d.])")


class OdbcError(TabopsError, ValueError):
    """Bad input to a DSN or version function; the message names the field."""


def parse_version(text):
    """``'2.0.1.0'`` -> ``(2, 0, 1, 0)``; also finds the number in ``'2.0.1.0-1'`` or ``'1.5.9.1011-1'``."""
    if isinstance(text, (tuple, list)):
        return tuple(int(part) for part in text)
    match = _VERSION_RE.search(str(text or "").strip())
    if not match:
        raise OdbcError("no version number in %r" % (text,))
    return tuple(int(part) for part in match.group(1).split("."))


def compare_versions(left, right):
    """-1, 0 or 1; missing trailing parts count as 0 (``2.0.1`` == ``2.0.1.0``)."""
    a, b = list(parse_version(left)), list(parse_version(right))
    width = max(len(a), len(b))
    a += [0] * (width - len(a))
    b += [0] * (width - len(b))
    return (a > b) - (a < b)


def version_at_least(version, minimum):
    return compare_versions(version, minimum) >= 0


def tableau_version_from_build(build):
    """``'20242.24.0807.0327'`` or ``'customer-bin.20242.24.0807.0327'`` -> ``'2024.2'``."""
    match = re.search(r"(?:^|\.)(\d{4})(\d{1,2})\.\d", str(build or ""))
    if not match:
        raise OdbcError("not a Tableau Server build number: %r" % (build,))
    return "%s.%d" % (match.group(1), int(match.group(2)))


def tableau_version_from_text(text):
    """The first ``YYYY.N[.N]`` in ``tsm version`` output, or None (its layout is not relied on)."""
    match = re.search(r"\b(20\d\d\.\d{1,2}(?:\.\d{1,3})?)\b", text or "")
    return match.group(1) if match else None


def tableau_version_and_build(text):
    """(version, build) from ``tsm version`` output: the first ``YYYY.N[.N]`` and the first ``(NNNNN.…)`` build;
    None for what is not found (the layout is not documented and not relied on)."""
    build = re.search(r"\((\d{5}\.[\d.]+)\)", text or "")
    return tableau_version_from_text(text), build.group(1) if build else None


# --- driver discovery --------------------------------------------------------

# Verified: driver names and library paths (Amazon's docs and the v2 driver's packaging, docs/sources.md).
# Inferred: the version files and the version text in the library; every entry is overridable.
DEFAULT_DRIVERS = {
    "v2": {
        "driver_name": "Amazon Redshift ODBC Driver (x64)",
        "libraries": ["/opt/amazon/redshiftodbcx64/librsodbc64.so"],
        "version_files": ["/opt/amazon/redshiftodbcx64/version.txt"],
    },
    "v1": {
        "driver_name": "Amazon Redshift (x64)",
        "libraries": ["/opt/amazon/redshiftodbc/lib/64/libamazonredshiftodbc64.so"],
        "version_files": ["/opt/amazon/redshiftodbc/version.txt"],
    },
}
VERSION_SOURCES = ("package", "version_file", "library")
_LIBRARY_VERSION_RE = re.compile(rb"(?:Amazon ?Redshift[ A-Za-z()x0-9-]{0,40}?)[ /v]+(\d+\.\d+\.\d+(?:\.\d+)?)")
_LIBRARY_SCAN_BYTES = 64 * 1024 * 1024


def _run(argv, timeout=30):
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)  # pylint: disable=ansible-bad-function
    except (OSError, subprocess.SubprocessError):
        return None
    return completed


def package_version(path, run=_run):
    """(package, version, tool) of the dpkg/rpm package owning ``path``, or None."""
    completed = run(["dpkg-query", "-S", path])
    if completed is not None and completed.returncode == 0 and ":" in completed.stdout:
        package = completed.stdout.split(":", 1)[0].split(",")[0].strip()
        shown = run(["dpkg-query", "-W", "-f=${Version}", package])
        if shown is not None and shown.returncode == 0 and shown.stdout.strip():
            return package, shown.stdout.strip(), "dpkg"
    completed = run(["rpm", "-qf", "--qf", "%{NAME} %{VERSION}\\n", path])
    if completed is not None and completed.returncode == 0:
        words = completed.stdout.split()
        if len(words) == 2 and "not owned" not in completed.stdout:
            return words[0], words[1], "rpm"
    return None


def _version_file(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read(4096)
    except OSError:
        return None
    try:
        parse_version(text)
    except OdbcError:
        return None
    return ".".join(str(p) for p in parse_version(text))


def _library_version(path):
    try:
        with open(path, "rb") as handle:
            data = handle.read(_LIBRARY_SCAN_BYTES)
    except OSError:
        return None
    match = _LIBRARY_VERSION_RE.search(data)
    return match.group(1).decode("ascii") if match else None


def discover_driver(generation, spec=None, sources=VERSION_SOURCES, run=_run):
    """What is installed of one driver generation (``v1``/``v2``).

    ``spec`` overrides DEFAULT_DRIVERS[generation] (driver_name, libraries, version_files).
    """
    merged = dict(DEFAULT_DRIVERS[generation])
    merged.update({k: v for k, v in (spec or {}).items() if v not in (None, "")})
    result = {
        "generation": generation,
        "driver_name": merged["driver_name"],
        "present": False,
        "library": None,
        "version": None,
        "version_source": None,
        "package": None,
        "minimum_version": MIN_DRIVER_VERSIONS[generation],
        "new_enough": None,
    }
    library = next((path for path in merged["libraries"] if os.path.isfile(path)), None)
    if library is None:
        return result
    result.update(present=True, library=library)
    for source in sources:
        found = None
        if source == "package":
            owned = package_version(library, run=run)
            if owned:
                result["package"] = "%s (%s)" % (owned[0], owned[2])
                found = owned[1]
        elif source == "version_file":
            for path in merged["version_files"]:
                found = _version_file(path)
                if found:
                    source = "version_file:%s" % path
                    break
        elif source == "library":
            found = _library_version(library)
        else:
            raise OdbcError("version_sources: unknown source %r (use %s)" % (source, ", ".join(VERSION_SOURCES)))
        if found:
            try:
                parse_version(found)
            except OdbcError:
                continue
            result.update(version=found, version_source=source)
            break
    if result["version"]:
        result["new_enough"] = version_at_least(result["version"], result["minimum_version"])
    return result


def os_release(path="/etc/os-release"):
    """``{id, version_id, name}`` from os-release, empty strings when unknown."""
    found = {"id": "", "version_id": "", "name": ""}
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return found
    for line in lines:
        key, _separator, value = line.partition("=")
        key = key.strip().lower()
        value = value.strip().strip('"').strip("'")
        if key == "id":
            found["id"] = value
        elif key == "version_id":
            found["version_id"] = value
        elif key == "pretty_name":
            found["name"] = value
    return found


def newest_customer_bin(packages_dir):
    """Path of the newest ``customer-bin.<build>`` folder, or None."""
    try:
        names = [n for n in os.listdir(packages_dir) if n.startswith("customer-bin.")]
    except OSError:
        return None
    if not names:
        return None

    def key(name):
        return tuple(int(p) if p.isdigit() else 0 for p in name.split(".", 1)[1].split("."))

    return os.path.join(packages_dir, max(names, key=key))


def tableau_server_version(packages_dir, tsm_path=None, use_tsm=False, run=_run):
    """``{version, build, source}`` of Tableau Server where discoverable (None values otherwise)."""
    found = {"version": None, "build": None, "source": None}
    if use_tsm:
        tsm = tsm_path
        if not tsm:
            folder = newest_customer_bin(packages_dir)
            tsm = os.path.join(folder, "tsm") if folder else None
        if tsm and os.path.exists(tsm):
            completed = run([tsm, "version"], timeout=120)
            if completed is not None and completed.returncode == 0:
                version, build = tableau_version_and_build(completed.stdout)
                if version:
                    found.update(version=version, build=build, source="tsm version")
                    return found
    folder = newest_customer_bin(packages_dir)
    if folder:
        build = os.path.basename(folder).split(".", 1)[1]
        with contextlib.suppress(OdbcError):
            found.update(version=tableau_version_from_build(build), build=build, source="packages:%s" % folder)
    return found


# --- DSN ------------------------------------------------------------------

# The keys the driver reads for JwtIamAuthPlugin (docs/sources.md, from the driver's source and docs).
DRIVER_KEYS = (
    "Driver",
    "Description",
    "Host",
    "Server",
    "Port",
    "Database",
    "ClusterId",
    "Region",
    "IAM",
    "plugin_name",
    "web_identity_token",
    "role_arn",
    "role_session_name",
    "duration",
    "group_federation",
    "DbUser",
    "DbGroups",
    "AutoCreate",
)
SECRET_KEYS = frozenset({"web_identity_token"})
DEFAULT_DSN_NAME = "tabops_redshift_test"
_DSN_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_VALUE_FORBIDDEN = re.compile(r"[\r\n\x00;{}\[\]]")


def _bool01(value):
    return "1" if value in (True, 1, "1", "true", "True", "yes") else "0"


def dsn_parameters(connection, label=None):
    """Ordered (key, value) pairs the DSN gets from a ``tabops_redshift_connections`` entry (no token)."""
    if not isinstance(connection, dict):
        raise OdbcError("connection: must be a dict, got %s" % type(connection).__name__)
    label = label or "tabops_redshift_connections[%s]" % connection.get("name", "?")
    problems = []
    for field in ("host", "database", "role_arn", "region"):
        if not connection.get(field):
            problems.append("%s.%s: required" % (label, field))
    if not connection.get("serverless") and not connection.get("cluster_id"):
        problems.append("%s.cluster_id: required for a provisioned cluster" % label)
    port = connection.get("port", 5439)
    try:
        port = int(port)
        if not 0 < port < 65536:
            raise ValueError
    except (TypeError, ValueError):
        problems.append("%s.port: must be 1-65535, got %r" % (label, connection.get("port")))
    if problems:
        raise OdbcError("; ".join(problems))
    pairs = [
        ("Host", connection["host"]),
        ("Port", str(port)),
        ("Database", connection["database"]),
    ]
    if connection.get("cluster_id"):
        pairs.append(("ClusterId", connection["cluster_id"]))
    pairs += [
        ("Region", connection["region"]),
        ("IAM", "1"),
        ("plugin_name", "JwtIamAuthPlugin"),
        ("role_arn", connection["role_arn"]),
    ]
    if connection.get("role_session_name"):
        pairs.append(("role_session_name", connection["role_session_name"]))
    pairs.append(("group_federation", _bool01(connection.get("group_federation"))))
    if connection.get("db_user"):
        pairs.append(("DbUser", connection["db_user"]))
    groups = connection.get("db_groups") or []
    if isinstance(groups, str):
        groups = [g for g in groups.split(",") if g]
    if groups:
        pairs.append(("DbGroups", ",".join(groups)))
    if connection.get("auto_create") is not None:
        pairs.append(("AutoCreate", _bool01(connection.get("auto_create"))))
    for key, value in pairs:
        if _VALUE_FORBIDDEN.search(str(value)):
            problems.append("%s: %s has a character a DSN cannot hold (newline, ';', braces, brackets)" % (label, key))
    if problems:
        raise OdbcError("; ".join(problems))
    return pairs


def render_dsn(connection, driver_name, dsn_name=DEFAULT_DSN_NAME):
    """odbc.ini text: one DSN section for ``driver_name`` (registered in the matching odbcinst.ini)."""
    if not _DSN_NAME_RE.match(dsn_name or ""):
        raise OdbcError("dsn_name: 1-64 letters, digits, '_', '.', '-' (got %r)" % (dsn_name,))
    pairs = [("Driver", driver_name), ("Description", "tabops.redshift_oauth troubleshooting DSN")]
    pairs += dsn_parameters(connection)
    check_keys(key for key, _value in pairs)
    lines = ["[ODBC Data Sources]", "%s=%s" % (dsn_name, driver_name), "", "[%s]" % dsn_name]
    lines += ["%s=%s" % pair for pair in pairs]
    return "\n".join(lines) + "\n"


def render_odbcinst(driver_name, library):
    return "[ODBC Drivers]\n%s=Installed\n\n[%s]\nDriver=%s\n" % (driver_name, driver_name, library)


def check_keys(keys):
    known = {k.lower() for k in DRIVER_KEYS}
    unknown = [k for k in keys if k.lower() not in known]
    if unknown:
        raise OdbcError("DSN keys the driver does not know: %s" % ", ".join(unknown))
    secret = [k for k in keys if k in SECRET_KEYS]
    if secret:
        raise OdbcError("the DSN file must not hold %s" % ", ".join(secret))


TOKEN_FILE_NAME = "token.dsn"  # noqa: S105 - a file name, not a secret


def token_file_dsn(token):
    """Text of the file DSN that carries the token to the driver: ``[ODBC]`` + ``web_identity_token=<token>``.

    The driver manager reads a ``FILEDSN=<path>`` given in the connection string and adds the file's ``[ODBC]``
    attributes to what it passes to the driver (unixODBC's SQLDriverConnect), so the token reaches the driver as
    a connection attribute without being on isql's command line (``/proc/<pid>/cmdline`` is world-readable). The
    caller writes it 0600 into a 0700 folder of its own and removes it when isql has finished.
    """
    if not isinstance(token, str) or not token or _VALUE_FORBIDDEN.search(token):
        raise OdbcError("token: empty or holds a character a connection string cannot carry (newline, ';', braces)")
    return "[ODBC]\nweb_identity_token=%s\n" % token


def connection_string(dsn_name, token_file):
    """The isql -k connection string: the DSN (odbc.ini, no token) and the file DSN holding the token."""
    if not _DSN_NAME_RE.match(dsn_name or ""):
        raise OdbcError("dsn_name: 1-64 letters, digits, '_', '.', '-' (got %r)" % (dsn_name,))
    if _VALUE_FORBIDDEN.search(token_file or "") or not os.path.isabs(token_file or ""):
        raise OdbcError("token file path %r cannot be given in a connection string" % (token_file,))
    return "DSN=%s;FILEDSN=%s" % (dsn_name, token_file)


# --- isql output -> diagnosis --------------------------------------------------

_SQLSTATE_RE = re.compile(r"\[([0-9A-Z]{5})\]")

# (class, predicate over (sqlstate, text), diagnosis, fix); first match wins.
_DIAGNOSES = (
    (
        "driver-missing",
        lambda s, t: "can't open lib" in t or ("file not found" in t and "lib" in t) or s == "IM003",
        "the driver manager could not load the Redshift ODBC driver library",
        "install the Amazon Redshift ODBC driver (v1 >= 1.5.9 or v2 >= 2.0.1.0) or fix the library path",
    ),
    (
        "dsn-not-found",
        lambda s, t: s == "IM002" or "data source name not found" in t,
        "the driver manager did not find the test DSN",
        "check ODBCINI/ODBCSYSINI; this is a problem of the test itself, not of the setup",
    ),
    (
        "role-arn-invalid",
        lambda s, t: (
            ("role_arn" in t and ("invalid" in t or "malformed" in t)) or ("validationerror" in t and "arn" in t)
        ),
        "AWS rejected the role ARN as malformed",
        "set role_arn to arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME (the connection's role_arn)",
    ),
    (
        "role-assume-denied",
        lambda s, t: "assumerolewithwebidentity" in t and ("not authorized" in t or "accessdenied" in t),
        "AWS refused AssumeRoleWithWebIdentity: a wrong role ARN, or the role's trust policy does not trust this "
        "IdP/audience/subject",
        "check role_arn, the OIDC provider (issuer URL, client ids) and the trust policy's aud/sub conditions",
    ),
    (
        "token-rejected",
        lambda s, t: "invalididentitytoken" in t or "expiredtoken" in t or ("expired" in t and "token" in t),
        "the driver got a token that AWS does not accept (expired, wrong issuer/audience, or an access token from "
        "an IdP whose access tokens AWS cannot verify)",
        "get a fresh token; check the OIDC provider's issuer URL and audiences; with Okta use a custom "
        "authorization server",
    ),
    (
        "credentials-denied",
        lambda s, t: "getclustercredentials" in t and ("not authorized" in t or "accessdenied" in t),
        "the role was assumed but its policy does not allow the credential call (GetClusterCredentials or, with "
        "group federation, GetClusterCredentialsWithIAM), or an aws:userid condition does not hold",
        "run the preflight playbook: redshift_iam_lint names the missing action or resource",
    ),
    (
        "cluster-not-found",
        lambda s, t: "clusternotfound" in t or ("cluster" in t and "not found" in t),
        "the cluster id or region is wrong",
        "check ClusterId and Region of the connection",
    ),
    (
        "auth-failed",
        lambda s, t: s == "28000",
        "SQLState 28000 after the token was handed to the driver: the OAuth part worked; the IdP or AWS side is "
        "misconfigured (Tableau help page, Troubleshooting)",
        "compare the token's iss/aud/claims with the OIDC provider and the role's trust and permissions policies",
    ),
    (
        "connection-failed",
        lambda s, t: s == "08001",
        "SQLState 08001: the driver could not establish the connection after getting the token; the IdP or AWS "
        "side is misconfigured, or the host/port is not reachable",
        "check Host/Port reachability from this host, then the IdP and AWS configuration",
    ),
)


def diagnose_isql(returncode, output):
    """``{result, sqlstate, diagnosis, fix, messages}`` from isql's exit status and output."""
    lines = [line.strip() for line in (output or "").splitlines() if line.strip()]
    messages = [line for line in lines if line.startswith("[")]
    sqlstates = [m.group(1) for m in (_SQLSTATE_RE.search(line) for line in messages) if m]
    sqlstate = next((s for s in sqlstates if s != "01000" and s != "ISQL"), sqlstates[0] if sqlstates else None)
    text = " ".join(lines).lower()
    if returncode == 0 and "connected!" in text:
        return {
            "result": "ok",
            "sqlstate": None,
            "diagnosis": "connected: the driver, the token and the AWS setup work outside Tableau",
            "fix": "if Tableau still fails, compare its connection settings (and TDC) with this DSN",
            "messages": messages,
        }
    for name, predicate, diagnosis, fix in _DIAGNOSES:
        if predicate(sqlstate, text):
            return {"result": name, "sqlstate": sqlstate, "diagnosis": diagnosis, "fix": fix, "messages": messages}
    return {
        "result": "unknown",
        "sqlstate": sqlstate,
        "diagnosis": "isql failed in a way this collection does not recognise",
        "fix": "read the driver messages; raise the driver's LogLevel to see more",
        "messages": messages or lines[-5:],
    }
