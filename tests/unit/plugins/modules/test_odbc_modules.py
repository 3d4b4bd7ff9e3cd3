# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""redshift_odbc_facts, redshift_dsn_test and oauth_password_grant run for real by ansible-playbook on localhost.

The driver is a stand-in library in a temp folder, isql is tests/lab/odbc/isql, the token endpoint a stand-in
served on 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[4]
ANSIBLE_PLAYBOOK = REPO_ROOT / ".venv" / "bin" / "ansible-playbook"
HOST_PYTHON = "/usr/bin/python3"
ISQL = REPO_ROOT / "tests" / "lab" / "odbc" / "isql"
TOKEN = "canary-token-5e1b9d"

pytestmark = pytest.mark.skipif(
    not (ANSIBLE_PLAYBOOK.exists() and os.path.exists(HOST_PYTHON)),
    reason="needs .venv ansible and /usr/bin/python3",
)

CONNECTION = {
    "name": "analytics",
    "host": "cluster-identifier.abc.us-west-1.redshift.amazonaws.com",
    "database": "dev",
    "cluster_id": "cluster-identifier",
    "region": "us-west-1",
    "role_arn": "arn:aws:iam::123456789012:role/tableau-redshift-oauth",
    "group_federation": True,
}


def run_task(tmp_path, module, args, check=False, verbosity=0, environment=None):
    task = {"name": "under test", module: args, "register": "out"}
    if environment:
        task["environment"] = environment
    tasks = [task]
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n" % HOST_PYTHON)
    argv = [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), str(playbook)] + (["--check"] if check else [])
    env = dict(os.environ, ANSIBLE_HOME=str(tmp_path / ".ansible-home"), ANSIBLE_NOCOLOR="1")
    if verbosity:
        argv.append("-" + "v" * verbosity)
    else:
        env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    completed = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    raw = completed.stdout + completed.stderr
    if verbosity:
        return completed.returncode, None, raw
    try:
        result = json.loads(completed.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError(
            "ansible-playbook exit %d without a task result:\n%s" % (completed.returncode, raw)
        ) from None
    return completed.returncode, result, raw


def driver_tree(tmp_path, version_file=None, library_version=None):
    lib = tmp_path / "opt" / "redshiftodbcx64" / "librsodbc64.so"
    lib.parent.mkdir(parents=True)
    text = b"\x7fELF-standin\x00"
    if library_version:
        text += b"Amazon Redshift ODBC Driver " + library_version.encode() + b"\x00"
    lib.write_bytes(text)
    if version_file:
        (lib.parent / "version.txt").write_text(version_file + "\n")
    return {
        "v2": {"libraries": [str(lib)], "version_files": [str(lib.parent / "version.txt")]},
        "v1": {"libraries": [str(tmp_path / "opt" / "none" / "libamazonredshiftodbc64.so")]},
    }


# --- redshift_odbc_facts ---------------------------------------------------------------


def test_facts_read_driver_server_and_os(tmp_path):
    drivers = driver_tree(tmp_path, version_file="2.0.0.11")
    packages = tmp_path / "packages"
    (packages / "customer-bin.20233.23.1017.0948").mkdir(parents=True)
    (packages / "customer-bin.20242.24.0807.0327").mkdir(parents=True)
    os_release = tmp_path / "os-release"
    os_release.write_text('PRETTY_NAME="Rocky Linux 9.4"\nID="rocky"\nVERSION_ID="9.4"\n')
    args = {
        "drivers": drivers,
        "version_sources": ["version_file", "library"],
        "tableau_server": True,
        "tsm_packages_dir": str(packages),
        "os_release_path": str(os_release),
    }
    for check in (False, True):
        rc, result, raw = run_task(tmp_path, "tabops.redshift_oauth.redshift_odbc_facts", args, check=check)
        assert rc == 0, raw
        assert result["changed"] is False
        v2 = result["drivers"]["v2"]
        assert (v2["present"], v2["version"], v2["new_enough"]) == (True, "2.0.0.11", False)
        assert v2["version_source"].startswith("version_file:")
        assert result["drivers"]["v1"]["present"] is False
        assert result["driver"] == "v2"
        assert result["tableau_server"]["version"] == "2024.2"
        assert result["os"] == {"id": "rocky", "version_id": "9.4", "name": "Rocky Linux 9.4"}


def test_facts_reject_an_unknown_generation(tmp_path):
    rc, result, _raw = run_task(tmp_path, "tabops.redshift_oauth.redshift_odbc_facts", {"drivers": {"v3": {}}})
    assert rc != 0 and "drivers: unknown generation(s) v3; use v1 or v2" in result["msg"]


# --- redshift_dsn_test ---------------------------------------------------------------------


def dsn_args(tmp_path, token=TOKEN, connection=None, **extra):
    connection = CONNECTION if connection is None else connection
    args = {
        "connection": connection,
        "token": token,
        "drivers": driver_tree(tmp_path, library_version="2.0.1.0"),
        "isql_path": str(ISQL),
    }
    args.update(extra)
    return args


def standin_log(tmp_path):
    path = tmp_path / "standin.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize(
    ("token", "result", "sqlstate"),
    [
        (TOKEN, "ok", None),
        ("expired-" + TOKEN, "token-rejected", "28000"),
        ("unreachable-" + TOKEN, "connection-failed", "08001"),
    ],
)
def test_dsn_test_runs_isql_with_the_dsn_and_cleans_up(tmp_path, token, result, sqlstate):
    log = tmp_path / "standin.jsonl"
    rc, out, raw = run_task(
        tmp_path,
        "tabops.redshift_oauth.redshift_dsn_test",
        dsn_args(tmp_path, token=token),
        environment={"TABOPS_ISQL_STANDIN_LOG": str(log)},
    )
    assert rc == 0, raw
    assert (out["result"], out["sqlstate"], out["ok"]) == (result, sqlstate, result == "ok")
    assert out["driver"]["generation"] == "v2" and out["driver"]["version"] == "2.0.1.0"
    (record,) = standin_log(tmp_path)
    assert record["outcome"] != "assertion", record
    assert record["connect_string_keys"] == ["dsn", "filedsn"] and record["token_present"]
    assert record["filedsn_keys"] == ["web_identity_token"]
    assert (record["filedsn_mode"], record["filedsn_dir_mode"]) == ("0o600", "0o700")
    assert not os.path.exists(record["filedsn"])
    assert record["dsn"]["role_arn"] == CONNECTION["role_arn"] and record["dsn"]["group_federation"] == "1"
    assert record["odbcini_mode"] == "0o600" and record["odbcini_dir_mode"] == "0o700"
    assert not os.path.exists(record["odbcini"]) and not os.path.exists(os.path.dirname(record["odbcini"]))
    assert token not in raw and token not in log.read_text()
    assert "web_identity_token" not in out["dsn"]


def isql_processes():
    """pid -> command line of every running isql stand-in."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as handle:
                    argv = handle.read().split(b"\0")
            except OSError:
                continue
            if len(argv) > 1 and argv[1] == str(ISQL).encode():
                found[int(entry)] = argv
    return found


def as_nobody(*argv):
    return subprocess.run(["runuser", "-u", "nobody", "--", *argv], capture_output=True, timeout=30, check=False)


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/usr/sbin/runuser"), reason="needs root and runuser")
def test_another_local_user_cannot_see_the_token_while_isql_runs(tmp_path):
    token = "slow-" + TOKEN
    log = tmp_path / "standin.jsonl"
    done = {}

    def run():
        done["result"] = run_task(
            tmp_path,
            "tabops.redshift_oauth.redshift_dsn_test",
            dsn_args(tmp_path, token=token),
            environment={"TABOPS_ISQL_STANDIN_LOG": str(log)},
        )

    worker = threading.Thread(target=run)
    worker.start()
    seen = {}
    deadline = time.monotonic() + 120
    while worker.is_alive() and not seen and time.monotonic() < deadline:
        seen = isql_processes()
        time.sleep(0.05)
    assert seen, "the isql stand-in never ran"
    pid, argv = next(iter(seen.items()))
    connect = next(arg for arg in argv if b"FILEDSN=" in arg).decode()
    token_file = next(part for part in connect.split(";") if part.startswith("FILEDSN="))[len("FILEDSN=") :]
    cmdline = as_nobody("cat", "/proc/%d/cmdline" % pid)
    environ = as_nobody("cat", "/proc/%d/environ" % pid)
    file_read = as_nobody("cat", token_file)
    listing = as_nobody("ls", os.path.dirname(token_file))
    file_mode = oct(os.stat(token_file).st_mode & 0o777)
    worker.join(timeout=180)
    rc, out, raw = done["result"]
    assert rc == 0 and out["result"] == "ok", raw
    # What another user can read of the running isql: its command line, never the token in it.
    assert cmdline.returncode == 0 and b"FILEDSN=" in cmdline.stdout
    assert token.encode() not in cmdline.stdout
    assert token.encode() not in environ.stdout  # /proc/<pid>/environ is the owner's only
    assert file_read.returncode != 0 and token.encode() not in file_read.stdout
    assert listing.returncode != 0
    assert file_mode == "0o600"
    assert token_file.startswith(("/dev/shm/", os.environ.get("XDG_RUNTIME_DIR") or "/dev/shm/"))
    assert not os.path.exists(token_file) and not os.path.exists(os.path.dirname(token_file))
    assert token not in raw and token not in log.read_text()


def test_dsn_test_never_shows_the_token_even_at_vvv(tmp_path):
    rc, _result, raw = run_task(
        tmp_path,
        "tabops.redshift_oauth.redshift_dsn_test",
        dsn_args(tmp_path, token="expired-" + TOKEN),
        verbosity=3,
        environment={"TABOPS_ISQL_STANDIN_LOG": str(tmp_path / "standin.jsonl")},
    )
    assert rc == 0, raw
    assert "token-rejected" in raw and TOKEN not in raw


def test_dsn_test_in_check_mode_runs_nothing(tmp_path):
    rc, out, raw = run_task(
        tmp_path,
        "tabops.redshift_oauth.redshift_dsn_test",
        dsn_args(tmp_path),
        check=True,
        environment={"TABOPS_ISQL_STANDIN_LOG": str(tmp_path / "standin.jsonl")},
    )
    assert rc == 0, raw
    assert out["result"] == "skipped" and "IAM=1" in out["dsn"]
    assert standin_log(tmp_path) == []


def test_dsn_test_without_a_driver_or_isql(tmp_path):
    args = dsn_args(tmp_path)
    args["drivers"] = {"v2": {"libraries": [str(tmp_path / "no.so")]}, "v1": {"libraries": [str(tmp_path / "no1.so")]}}
    rc, out, raw = run_task(tmp_path, "tabops.redshift_oauth.redshift_dsn_test", args)
    assert rc == 0, raw
    assert out["result"] == "driver-missing" and str(tmp_path / "no.so") in out["diagnosis"]
    (tmp_path / "second").mkdir()
    args = dsn_args(tmp_path / "second", isql_path=str(tmp_path / "no-isql"))
    rc, out, raw = run_task(tmp_path, "tabops.redshift_oauth.redshift_dsn_test", args)
    assert rc == 0, raw
    assert out["result"] == "isql-missing"


def test_dsn_test_names_a_bad_connection_field(tmp_path):
    rc, out, raw = run_task(
        tmp_path,
        "tabops.redshift_oauth.redshift_dsn_test",
        dsn_args(tmp_path, connection=dict(CONNECTION, database="")),
    )
    assert rc != 0 and "tabops_redshift_connections[analytics].database: required" in out["msg"]
    assert TOKEN not in raw


# --- oauth_password_grant -----------------------------------------------------------------


@pytest.fixture
def token_endpoint():
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            form = parse_qs(self.rfile.read(length).decode())
            auth = base64.b64decode(self.headers["Authorization"].split()[1]).decode()
            seen.append({"path": self.path, "form": form, "auth": auth, "type": self.headers["Content-Type"]})
            if form.get("password") == ["right-password"]:
                status, body = (
                    200,
                    {
                        "token_type": "Bearer",
                        "expires_in": 3600,
                        "id_token": "id-" + TOKEN,
                        "access_token": "at-" + TOKEN,
                    },
                )
            else:
                status, body = (
                    400,
                    {"error": "invalid_grant", "error_description": "The credentials provided were invalid."},
                )
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": "http://127.0.0.1:%d" % server.server_port, "seen": seen}
    server.shutdown()


def grant_args(endpoint, **extra):
    args = {
        "token_uri": endpoint["url"] + "/oauth2/default/v1/token",
        "client_id": "0oa-test",
        "client_secret": "canary-client-secret-4d2e",
        "username": "analyst1",
        "password": "right-password",
    }
    args.update(extra)
    return args


@pytest.mark.parametrize(("kind", "expected"), [("id_token", "id-" + TOKEN), ("access_token", "at-" + TOKEN)])
def test_password_grant_posts_like_the_help_page_curl(tmp_path, token_endpoint, kind, expected):
    rc, out, raw = run_task(
        tmp_path, "tabops.redshift_oauth.oauth_password_grant", grant_args(token_endpoint, token_kind=kind)
    )
    assert rc == 0, raw
    assert out["token"] == expected and out["expires_in"] == 3600
    (request,) = token_endpoint["seen"]
    assert request["path"] == "/oauth2/default/v1/token"
    assert request["auth"] == "0oa-test:canary-client-secret-4d2e"
    assert request["type"] == "application/x-www-form-urlencoded"
    assert request["form"] == {
        "grant_type": ["password"],
        "username": ["analyst1"],
        "password": ["right-password"],
        "scope": ["openid"],
    }


def test_password_grant_takes_the_token_uri_from_the_config(tmp_path, token_endpoint):
    config = {"id": "custom_x", "auth_uri": token_endpoint["url"] + "/a", "token_uri": token_endpoint["url"] + "/t"}
    args = grant_args(token_endpoint, oauth_config=config)
    del args["token_uri"]
    rc, out, raw = run_task(tmp_path, "tabops.redshift_oauth.oauth_password_grant", args)
    assert rc == 0, raw
    assert out["token_uri"] == token_endpoint["url"] + "/t" and out["token"] == "id-" + TOKEN


def test_password_grant_errors_never_show_secrets(tmp_path, token_endpoint):
    rc, out, raw = run_task(
        tmp_path, "tabops.redshift_oauth.oauth_password_grant", grant_args(token_endpoint, password="canary-wrong-pw")
    )
    assert rc != 0
    assert "the IdP refused the password grant (HTTP 400) invalid_grant" in out["msg"]
    assert "canary-wrong-pw" not in raw and "canary-client-secret-4d2e" not in raw


@pytest.mark.parametrize("uri", ["http://idp.example/token", "ftp://127.0.0.1/x", "not a url"])
def test_password_grant_refuses_plain_http_off_loopback(tmp_path, uri):
    rc, out, raw = run_task(
        tmp_path, "tabops.redshift_oauth.oauth_password_grant", {**grant_args({"url": ""}), "token_uri": uri}
    )
    assert rc != 0 and "token_uri" in out["msg"], raw


def test_modules_document_themselves():
    for name in ("redshift_odbc_facts", "redshift_dsn_test", "oauth_password_grant"):
        completed = subprocess.run(
            [str(REPO_ROOT / ".venv" / "bin" / "ansible-doc"), "--json", "tabops.redshift_oauth." + name],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        doc = json.loads(completed.stdout)["tabops.redshift_oauth." + name]
        assert doc["doc"]["short_description"] and doc["examples"] and doc["return"]
        yaml.safe_load(doc["examples"])
