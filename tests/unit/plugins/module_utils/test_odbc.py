# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Driver versions, discovery, test DSNs and isql diagnosis (_odbc), with the isql stand-in run for real."""

from __future__ import annotations

import configparser
import json
import os
import subprocess
from pathlib import Path

import pytest

from ansible_collections.tabops.redshift_oauth.plugins.module_utils import _odbc
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._odbc import (
    DRIVER_KEYS,
    OdbcError,
    compare_versions,
    connection_string,
    diagnose_isql,
    discover_driver,
    package_version,
    parse_version,
    render_dsn,
    render_odbcinst,
    tableau_server_version,
    tableau_version_from_build,
    tableau_version_from_text,
    token_file_dsn,
    version_at_least,
)

REPO = Path(__file__).resolve().parents[4]
ISQL = REPO / "tests" / "lab" / "odbc" / "isql"
HOST_PYTHON = "/usr/bin/python3"
CONNECTION = {
    "name": "analytics",
    "host": "cluster-identifier.abc.us-west-1.redshift.amazonaws.com",
    "database": "dev",
    "cluster_id": "cluster-identifier",
    "region": "us-west-1",
    "role_arn": "arn:aws:iam::123456789012:role/tableau-redshift-oauth",
    "role_session_name": "tableau",
    "group_federation": False,
    "db_user": "analyst1",
    "db_groups": ["analysts", "readers"],
    "auto_create": True,
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2.0.1.0", (2, 0, 1, 0)),
        ("1.5.9.1011-1", (1, 5, 9, 1011)),
        ("AmazonRedshiftODBC-64-bit 1.4.65.1000", (1, 4, 65, 1000)),
        ("v2.1.5.0\n", (2, 1, 5, 0)),
        ("1.59", (1, 59)),
    ],
)
def test_parse_version(text, expected):
    assert parse_version(text) == expected


@pytest.mark.parametrize("text", ["", "none", "version two", None])
def test_parse_version_rejects_text_without_a_number(text):
    with pytest.raises(OdbcError, match="no version number"):
        parse_version(text)


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("2.0.1.0", "2.0.1", 0),
        ("2.0.0.11", "2.0.1.0", -1),
        ("2.1.0.0", "2.0.1.0", 1),
        ("1.5.9.1011", "1.5.9", 1),
        ("1.4.65.1000", "1.5.9", -1),
        ("1.5.10", "1.5.9", 1),
    ],
)
def test_compare_versions(left, right, expected):
    assert compare_versions(left, right) == expected
    assert version_at_least(left, right) is (expected >= 0)


@pytest.mark.parametrize(
    ("build", "version"),
    [("20242.24.0807.0327", "2024.2"), ("customer-bin.20233.23.1017.0948", "2023.3"), ("20251.25.0210.1234", "2025.1")],
)
def test_tableau_version_from_build(build, version):
    assert tableau_version_from_build(build) == version


def test_tableau_version_from_build_rejects_other_names():
    with pytest.raises(OdbcError, match="not a Tableau Server build number"):
        tableau_version_from_build("customer-bin.latest")


def test_tableau_version_from_tsm_output():
    text = "Tableau Server version:\n2024.2.3 (20242.24.0807.0327)\nTSM CLI version:\n2024.2.3 (20242.24.0807.0327)"
    assert tableau_version_from_text(text) == "2024.2.3"
    assert tableau_version_from_text("no version") is None


def test_tableau_server_version_from_the_packages_folder(tmp_path):
    for build in ("20233.23.1017.0948", "20242.24.0807.0327"):
        (tmp_path / f"customer-bin.{build}").mkdir()
    (tmp_path / "bin.20251.25.0210.1234").mkdir()
    found = tableau_server_version(str(tmp_path))
    assert found["version"] == "2024.2" and found["build"] == "20242.24.0807.0327"
    assert found["source"] == f"packages:{tmp_path}/customer-bin.20242.24.0807.0327"
    assert tableau_server_version(str(tmp_path / "none"))["version"] is None


def test_tableau_server_version_from_tsm(tmp_path):
    folder = tmp_path / "customer-bin.20242.24.0807.0327"
    folder.mkdir()
    tsm = folder / "tsm"
    tsm.write_text("#!/bin/sh\necho 'Tableau Server version:'; echo '2024.2.3 (20242.24.0807.0327)'\n")
    tsm.chmod(0o755)
    found = tableau_server_version(str(tmp_path), use_tsm=True)
    assert found == {"version": "2024.2.3", "build": "20242.24.0807.0327", "source": "tsm version"}


# --- discovery -------------------------------------------------------------------


def lay_out(tmp_path, version_text=None, library_text=b"\x7fELF-standin\x00"):
    library = tmp_path / "redshiftodbcx64" / "librsodbc64.so"
    library.parent.mkdir(parents=True)
    library.write_bytes(library_text)
    version_file = tmp_path / "redshiftodbcx64" / "version.txt"
    if version_text is not None:
        version_file.write_text(version_text)
    return {"libraries": [str(tmp_path / "missing.so"), str(library)], "version_files": [str(version_file)]}


def no_packages(argv, timeout=30):
    return subprocess.CompletedProcess(argv, 1, "", "not owned")


def test_discover_a_missing_driver(tmp_path):
    found = discover_driver("v2", {"libraries": [str(tmp_path / "librsodbc64.so")]}, run=no_packages)
    assert found["present"] is False and found["version"] is None and found["new_enough"] is None


def test_discover_reads_the_version_file(tmp_path):
    found = discover_driver("v2", lay_out(tmp_path, "2.0.0.11\n"), run=no_packages)
    assert found["present"] and found["library"].endswith("redshiftodbcx64/librsodbc64.so")
    assert (found["version"], found["new_enough"]) == ("2.0.0.11", False)
    assert found["version_source"] == "version_file:%s/redshiftodbcx64/version.txt" % tmp_path
    assert found["driver_name"] == "Amazon Redshift ODBC Driver (x64)"


def test_discover_reads_the_version_in_the_library(tmp_path):
    spec = lay_out(tmp_path, library_text=b"\x7fELF\x00junk\x00Amazon Redshift ODBC Driver 2.1.3.0\x00more")
    found = discover_driver("v2", spec, run=no_packages)
    assert (found["version"], found["version_source"], found["new_enough"]) == ("2.1.3.0", "library", True)


def test_discover_prefers_the_package_and_respects_the_source_order(tmp_path):
    spec = lay_out(tmp_path, "2.0.0.11")
    calls = []

    def dpkg(argv, timeout=30):
        calls.append(argv)
        if argv[:2] == ["dpkg-query", "-S"]:
            return subprocess.CompletedProcess(argv, 0, "amazonredshiftodbcx64: %s\n" % argv[2], "")
        return subprocess.CompletedProcess(argv, 0, "2.0.1.0", "")

    found = discover_driver("v2", spec, run=dpkg)
    assert (found["version"], found["version_source"], found["package"]) == (
        "2.0.1.0",
        "package",
        "amazonredshiftodbcx64 (dpkg)",
    )
    found = discover_driver("v2", spec, sources=["version_file", "package"], run=dpkg)
    assert found["version"] == "2.0.0.11"
    with pytest.raises(OdbcError, match="unknown source 'registry'"):
        discover_driver("v2", spec, sources=["registry"], run=no_packages)


def test_package_version_from_rpm():
    def rpm(argv, timeout=30):
        if argv[0] == "rpm":
            return subprocess.CompletedProcess(argv, 0, "AmazonRedshiftODBC-64-bit 1.5.9.1011\n", "")
        return None

    assert package_version("/opt/amazon/redshiftodbc/lib/64/x.so", run=rpm) == (
        "AmazonRedshiftODBC-64-bit",
        "1.5.9.1011",
        "rpm",
    )


# --- DSN ----------------------------------------------------------------------------


def parse_ini(text):
    """{section: {key: value}} of odbc.ini text, keys in their case (unixODBC reads them so)."""
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",), comment_prefixes=("#", ";"))
    parser.optionxform = str
    parser.read_string(text)
    return {name: dict(parser[name]) for name in parser.sections()}


def test_render_dsn_uses_the_driver_key_names_and_never_the_token():
    text = render_dsn(CONNECTION, "Amazon Redshift ODBC Driver (x64)")
    sections = parse_ini(text)
    assert sections["ODBC Data Sources"] == {"tabops_redshift_test": "Amazon Redshift ODBC Driver (x64)"}
    dsn = sections["tabops_redshift_test"]
    assert set(dsn) <= set(DRIVER_KEYS)
    assert dsn == {
        "Driver": "Amazon Redshift ODBC Driver (x64)",
        "Description": "tabops.redshift_oauth troubleshooting DSN",
        "Host": CONNECTION["host"],
        "Port": "5439",
        "Database": "dev",
        "ClusterId": "cluster-identifier",
        "Region": "us-west-1",
        "IAM": "1",
        "plugin_name": "JwtIamAuthPlugin",
        "role_arn": CONNECTION["role_arn"],
        "role_session_name": "tableau",
        "group_federation": "0",
        "DbUser": "analyst1",
        "DbGroups": "analysts,readers",
        "AutoCreate": "1",
    }
    assert "web_identity_token" not in text


def test_the_stand_in_knows_the_same_keys_as_the_renderer():
    source = ISQL.read_text()
    for key in DRIVER_KEYS:
        assert key in source


def test_render_dsn_leaves_out_what_is_not_configured():
    minimal = {k: CONNECTION[k] for k in ("host", "database", "cluster_id", "region", "role_arn")}
    dsn = parse_ini(render_dsn(dict(minimal, group_federation=True), "Amazon Redshift (x64)", "t1"))["t1"]
    assert "role_session_name" not in dsn and "DbUser" not in dsn and "AutoCreate" not in dsn
    assert dsn["group_federation"] == "1" and dsn["Driver"] == "Amazon Redshift (x64)"


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"database": ""}, r"tabops_redshift_connections\[analytics\]\.database: required"),
        ({"cluster_id": None}, r"\.cluster_id: required for a provisioned cluster"),
        ({"port": 70000}, r"\.port: must be 1-65535"),
        ({"db_user": "x\nIAM=0"}, "DbUser has a character a DSN cannot hold"),
        ({"role_arn": "arn;x"}, "role_arn has a character"),
    ],
)
def test_render_dsn_names_the_bad_field(change, match):
    with pytest.raises(OdbcError, match=match):
        render_dsn(dict(CONNECTION, **change), "Amazon Redshift ODBC Driver (x64)")


def test_render_dsn_rejects_a_bad_dsn_name():
    with pytest.raises(OdbcError, match="dsn_name"):
        render_dsn(CONNECTION, "Amazon Redshift ODBC Driver (x64)", "bad name]")


def test_the_token_goes_in_a_file_dsn_never_in_the_connection_string():
    assert token_file_dsn("eyJabc.def") == "[ODBC]\nweb_identity_token=eyJabc.def\n"
    conn = connection_string("t1", "/dev/shm/tabops-dsn-x/token.dsn")
    assert conn == "DSN=t1;FILEDSN=/dev/shm/tabops-dsn-x/token.dsn"
    for bad in ("a;IAM=0", "a\nIAM=0", "", "{x}"):
        with pytest.raises(OdbcError, match="token"):
            token_file_dsn(bad)
    with pytest.raises(OdbcError, match="token file path"):
        connection_string("t1", "relative/token.dsn")
    with pytest.raises(OdbcError, match="dsn_name"):
        connection_string("t1;IAM=0", "/x/token.dsn")


# --- isql -> diagnosis, with the stand-in --------------------------------------------

needs_host_python = pytest.mark.skipif(not os.path.exists(HOST_PYTHON), reason="needs /usr/bin/python3")


def run_isql(tmp_path, token, connection=None, library=True, dsn_text=None):
    connection = CONNECTION if connection is None else connection
    lib = tmp_path / "librsodbc64.so"
    if library:
        lib.write_bytes(b"\x7fELF-standin")
    (tmp_path / "odbc.ini").write_text(dsn_text or render_dsn(connection, "Amazon Redshift ODBC Driver (x64)"))
    (tmp_path / "odbcinst.ini").write_text(render_odbcinst("Amazon Redshift ODBC Driver (x64)", str(lib)))
    token_file = tmp_path / "token.dsn"
    token_file.write_text(token_file_dsn(token))
    log = tmp_path / "standin.jsonl"
    env = dict(
        os.environ,
        ODBCINI=str(tmp_path / "odbc.ini"),
        ODBCSYSINI=str(tmp_path),
        TABOPS_ISQL_STANDIN_LOG=str(log),
    )
    completed = subprocess.run(
        [HOST_PYTHON, str(ISQL), "-v", "-k", connection_string("tabops_redshift_test", str(token_file))],
        input="quit\n",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    record = json.loads(log.read_text().splitlines()[-1]) if log.exists() else {}
    return completed, record


@needs_host_python
@pytest.mark.parametrize(
    ("token", "change", "library", "result", "sqlstate"),
    [
        ("canary-good-token", {}, True, "ok", None),
        ("expired-token", {}, True, "token-rejected", "28000"),
        ("badaud-token", {}, True, "token-rejected", "28000"),
        ("deny28000-token", {}, True, "auth-failed", "28000"),
        ("unreachable-token", {}, True, "connection-failed", "08001"),
        ("nocreds-token", {}, True, "credentials-denied", "08001"),
        ("good", {"role_arn": "arn:aws:iam::123456789012:role/wrong-role"}, True, "role-assume-denied", "08001"),
        ("good", {"role_arn": "tableau-redshift-oauth"}, True, "role-arn-invalid", "08001"),
        ("good", {"cluster_id": "missing-cluster"}, True, "cluster-not-found", "08001"),
        ("good", {}, False, "driver-missing", "01000"),
    ],
)
def test_each_isql_error_class_is_diagnosed(tmp_path, token, change, library, result, sqlstate):
    completed, record = run_isql(tmp_path, token, dict(CONNECTION, **change), library=library)
    assert completed.returncode != 97, completed.stderr  # the stand-in's assertions hold
    verdict = diagnose_isql(completed.returncode, completed.stdout + completed.stderr)
    assert (verdict["result"], verdict["sqlstate"]) == (result, sqlstate), completed.stdout
    assert verdict["diagnosis"] and verdict["fix"]
    assert record["token_present"] is True and token not in json.dumps(record)
    assert (record["connect_string_keys"], record["filedsn_keys"]) == (["dsn", "filedsn"], ["web_identity_token"])
    if result != "driver-missing":
        assert record["dsn"]["role_arn"] == dict(CONNECTION, **change)["role_arn"]


@needs_host_python
def test_the_stand_in_refuses_a_token_in_the_dsn_file_and_unknown_keys(tmp_path):
    text = render_dsn(CONNECTION, "Amazon Redshift ODBC Driver (x64)")
    completed, _output = run_isql(tmp_path, "tok", dsn_text=text + "web_identity_token=tok\n")
    assert completed.returncode == 97 and "the token is written" in completed.stderr
    sub = tmp_path / "unknown"
    sub.mkdir()
    completed, _output = run_isql(sub, "tok", dsn_text=text + "Sslmode2=x\n")
    assert completed.returncode == 97 and "does not know: Sslmode2" in completed.stderr


@pytest.mark.parametrize(
    ("output", "result"),
    [
        (
            "[IM002][unixODBC][Driver Manager]Data source name not found\n[ISQL]ERROR: Could not SQLDriverConnect",
            "dsn-not-found",
        ),
        ("[S1000][unixODBC]something new\n[ISQL]ERROR: Could not SQLDriverConnect", "unknown"),
    ],
)
def test_diagnose_other_outputs(output, result):
    assert diagnose_isql(1, output)["result"] == result


@needs_host_python
def test_the_stand_in_refuses_a_token_on_the_command_line(tmp_path):
    """As real isql would accept it: the old way put the token in /proc/<pid>/cmdline for every user to read."""
    (tmp_path / "odbc.ini").write_text(render_dsn(CONNECTION, "Amazon Redshift ODBC Driver (x64)"))
    completed = subprocess.run(
        [HOST_PYTHON, str(ISQL), "-v", "-k", "DSN=tabops_redshift_test;web_identity_token=tok"],
        input="quit\n",
        capture_output=True,
        text=True,
        env=dict(os.environ, ODBCINI=str(tmp_path / "odbc.ini"), TABOPS_ISQL_STANDIN_LOG=str(tmp_path / "l")),
        check=False,
    )
    assert completed.returncode == 97 and "the token is on the command line" in completed.stderr


def test_no_local_masking_helper_is_left():
    assert not hasattr(_odbc, "redact")
