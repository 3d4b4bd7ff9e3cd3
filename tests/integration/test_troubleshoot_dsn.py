# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""playbooks/troubleshoot_dsn.yml on a real lab fleet: stand-in drivers and the isql stand-in (tests/lab/odbc/)."""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import json
import os
import pty
import select
import subprocess
import termios
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from labfleet import REPO, VENV_BIN, requires_lab

pytestmark = [pytest.mark.lab, requires_lab]

ODBC = REPO / "tests" / "lab" / "odbc"
CUSTOMER_BIN = "/opt/tableau/tableau_server/packages/customer-bin.20242.24.0807.0327"
STANDIN_LOG = "/var/log/tabops-isql-standin.jsonl"
CANARY = "canary-redshift-token-6a0f2c"


def install(fleet, host, driver=None, isql_dir="/usr/local/bin"):
    fleet.write(host, "/usr/local/sbin/tabops-install-driver", (ODBC / "install-driver").read_text())
    fleet.sh(host, "chmod 755 /usr/local/sbin/tabops-install-driver")
    if driver:
        fleet.sh(host, "/usr/local/sbin/tabops-install-driver " + " ".join(driver))
    fleet.write(host, f"{isql_dir}/isql", (ODBC / "isql").read_text())
    fleet.sh(host, f"chmod 755 {isql_dir}/isql")


def troubleshoot(fleet, host, connection="lab-analytics", token=None, extra_vars=None, verbosity=0):
    env = dict(os.environ)
    env.update(
        PATH=f"{VENV_BIN}:{env.get('PATH', '')}",
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_FORCE_COLOR="0",
    )
    env.pop("TABOPS_REDSHIFT_TOKEN", None)
    if token is not None:
        env["TABOPS_REDSHIFT_TOKEN"] = token
    if not verbosity:
        env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    variables = {"tabops_dsn_host": host, "tabops_dsn_connection": connection}
    variables.update(extra_vars or {})
    vars_file = fleet.workdir / "dsn-vars.json"
    vars_file.write_text(json.dumps(variables))
    command = [str(VENV_BIN / "ansible-playbook"), "-i", str(fleet.inventory), "playbooks/troubleshoot_dsn.yml"]
    command += ["-e", f"@{vars_file}"] + (["-" + "v" * verbosity] if verbosity else [])
    completed = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
    )
    result = None
    if not verbosity:
        try:
            plays = json.loads(completed.stdout)["plays"]
            result = plays[1]["tasks"][0]["hosts"][host]
        except (ValueError, KeyError, IndexError):
            result = None
    return completed, result


def failure_messages(completed):
    """The msg of every failed task in a json-callback run."""
    messages = []
    for play in json.loads(completed.stdout)["plays"]:
        for task in play["tasks"]:
            messages += [r["msg"] for r in task["hosts"].values() if r.get("failed")]
    return messages


def last_standin_record(fleet, host):
    lines = fleet.sh(host, f"cat {STANDIN_LOG} 2>/dev/null || true").splitlines()
    return json.loads(lines[-1]) if lines else None


def token_on_disk(fleet, host, token):
    """Every file of the host that holds the token: its writable layers seen from the machine, and its tmpfs."""
    state = Path(os.environ.get("TABOPS_LAB_STATE", REPO / "lab-state")) / fleet.fleet_id / "hosts" / host
    found = subprocess.run(
        ["grep", "-rlsF", token, str(state / "root"), str(state / "upper")], capture_output=True, text=True, check=False
    ).stdout.split()
    inside = fleet.sh(host, f"grep -rlsF '{token}' /tmp /run /dev/shm /var/tmp /root /home /opt || true").split()
    return found + inside


@pytest.mark.fleet_size(servers=1, bridges=1, desktops=1)
def test_each_error_class_is_diagnosed_and_the_token_goes_nowhere(fleet):
    install(fleet, "tsnode1", ("v2", "2.0.1.0", "package"), isql_dir=CUSTOMER_BIN)
    cases = [
        (CANARY, "ok", None, 0),
        ("expired-" + CANARY, "token-rejected", "28000", 2),
        ("badaud-" + CANARY, "token-rejected", "28000", 2),
        ("deny28000-" + CANARY, "auth-failed", "28000", 2),
        ("unreachable-" + CANARY, "connection-failed", "08001", 2),
        ("nocreds-" + CANARY, "credentials-denied", "08001", 2),
    ]
    for token, expected, sqlstate, exit_status in cases:
        completed, result = troubleshoot(fleet, "tsnode1", token=token)
        assert completed.returncode == exit_status, completed.stdout[-3000:]
        assert (result["result"], result["sqlstate"]) == (expected, sqlstate)
        assert result["isql"] == f"{CUSTOMER_BIN}/isql"
        assert result["driver"]["generation"] == "v2" and result["driver"]["version"] == "2.0.1.0"
        assert CANARY not in completed.stdout + completed.stderr
        record = last_standin_record(fleet, "tsnode1")
        assert record["outcome"] != "assertion", record
        assert record["token_present"] and record["connect_string_keys"] == ["dsn", "filedsn"]
        assert record["filedsn_keys"] == ["web_identity_token"]
        assert (record["odbcini_dir_mode"], record["odbcini_mode"]) == ("0o700", "0o600")
        assert (record["filedsn_dir_mode"], record["filedsn_mode"]) == ("0o700", "0o600")
        assert not fleet.exists("tsnode1", record["odbcini"]) and not fleet.exists("tsnode1", record["filedsn"])

    dsn = record["dsn"]
    assert dsn == {
        "Driver": "Amazon Redshift ODBC Driver (x64)",
        "Description": "tabops.redshift_oauth troubleshooting DSN",
        "Host": "cluster-identifier.abc123xyz789.us-west-1.redshift.amazonaws.com",
        "Port": "5439",
        "Database": "dev",
        "ClusterId": "cluster-identifier",
        "Region": "us-west-1",
        "IAM": "1",
        "plugin_name": "JwtIamAuthPlugin",
        "role_arn": "arn:aws:iam::123456789012:role/tableau-redshift-oauth",
        "group_federation": "1",
    }
    assert record["odbcinst"] == {"Driver": "/opt/amazon/redshiftodbcx64/librsodbc64.so"}

    completed, _result = troubleshoot(fleet, "tsnode1", token="expired-" + CANARY, verbosity=3)
    assert completed.returncode == 2 and "token-rejected" in completed.stdout
    assert CANARY not in completed.stdout + completed.stderr
    assert token_on_disk(fleet, "tsnode1", CANARY) == []
    assert token_on_disk(fleet, "bridge1", CANARY) == []


@pytest.mark.fleet_size(servers=1, bridges=1, desktops=1)
def test_driver_generations_missing_driver_and_wrong_role(fleet):
    install(fleet, "bridge1", ("v1", "1.5.9.1011", "library"))
    install(fleet, "desktop1")  # isql, no driver

    completed, result = troubleshoot(fleet, "bridge1", token=CANARY)
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert result["result"] == "ok" and result["isql"] == "/usr/local/bin/isql"
    record = last_standin_record(fleet, "bridge1")
    assert record["dsn"]["Driver"] == "Amazon Redshift (x64)"
    assert record["library"] == "/opt/amazon/redshiftodbc/lib/64/libamazonredshiftodbc64.so"

    completed, result = troubleshoot(fleet, "desktop1", token=CANARY)
    assert completed.returncode == 2
    assert result["result"] == "driver-missing"
    assert "/opt/amazon/redshiftodbcx64/librsodbc64.so" in result["diagnosis"]
    assert last_standin_record(fleet, "desktop1") is None  # isql was not run

    connection = {
        "name": "wrong-role",
        "host": "cluster-identifier.abc123xyz789.us-west-1.redshift.amazonaws.com",
        "database": "dev",
        "cluster_id": "cluster-identifier",
        "region": "us-west-1",
        "role_arn": "arn:aws:iam::123456789012:role/wrong-role",
        "db_user": "analyst1",
        "db_groups": ["analysts"],
        "auto_create": True,
        "group_federation": False,
    }
    completed, result = troubleshoot(
        fleet, "bridge1", "wrong-role", token=CANARY, extra_vars={"tabops_redshift_connections": [connection]}
    )
    assert completed.returncode == 2
    assert result["result"] == "role-assume-denied"
    record = last_standin_record(fleet, "bridge1")
    assert {k: record["dsn"][k] for k in ("DbUser", "DbGroups", "AutoCreate", "group_federation")} == {
        "DbUser": "analyst1",
        "DbGroups": "analysts",
        "AutoCreate": "1",
        "group_federation": "0",
    }


@pytest.mark.fleet_size(servers=1, bridges=0, desktops=0)
def test_bad_requests_fail_before_any_host_is_contacted(fleet):
    install(fleet, "tsnode1", ("v2", "2.0.1.0", "package"), isql_dir=CUSTOMER_BIN)
    completed, _result = troubleshoot(fleet, "tsnode1", connection="nope", token=CANARY)
    assert completed.returncode == 2
    assert failure_messages(completed) == [
        "tabops_dsn_connection: host tsnode1 has 0 connection(s) named nope in tabops_redshift_connections"
        " (it has: lab-analytics)"
    ]
    completed, _result = troubleshoot(fleet, "tsnode9", token=CANARY)
    assert completed.returncode == 2
    assert failure_messages(completed) == [
        "tabops_dsn_host: tsnode9 is not in the inventory; give -e tabops_dsn_host=<inventory host>"
    ]
    completed, _result = troubleshoot(fleet, "tsnode1")  # no token anywhere, no terminal to ask
    assert completed.returncode == 2
    (message,) = failure_messages(completed)
    assert message.startswith("no token: set TABOPS_REDSHIFT_TOKEN on the controller")
    assert last_standin_record(fleet, "tsnode1") is None


@pytest.fixture
def token_endpoint():
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            seen.append({"form": form, "auth": base64.b64decode(self.headers["Authorization"].split()[1]).decode()})
            body = json.dumps({"token_type": "Bearer", "id_token": "id-" + CANARY, "access_token": "at-" + CANARY})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"url": "http://127.0.0.1:%d/oauth2/default/v1/token" % server.server_port, "seen": seen}
    server.shutdown()


@pytest.mark.fleet_size(servers=1, bridges=0, desktops=0)
def test_vault_variable_and_password_grant_supply_the_token(fleet, token_endpoint):
    install(fleet, "tsnode1", ("v2", "2.0.1.0", "package"), isql_dir=CUSTOMER_BIN)

    completed, result = troubleshoot(fleet, "tsnode1", extra_vars={"tabops_dsn_token": "nocreds-" + CANARY})
    assert completed.returncode == 2 and result["result"] == "credentials-denied"
    assert CANARY not in completed.stdout + completed.stderr

    grant = {
        "token_uri": token_endpoint["url"],
        "client_id": "0oa-lab-test",
        "client_secret": "canary-grant-secret-1b2c",
        "username": "analyst1",
        "password": "canary-grant-password-3d4e",
    }
    completed, result = troubleshoot(fleet, "tsnode1", extra_vars={"tabops_dsn_password_grant": grant}, verbosity=0)
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert result["result"] == "ok"
    (request,) = token_endpoint["seen"]
    assert request["auth"] == "0oa-lab-test:canary-grant-secret-1b2c"
    assert request["form"]["grant_type"] == ["password"] and request["form"]["scope"] == ["openid"]
    output = completed.stdout + completed.stderr
    for secret in (CANARY, "canary-grant-secret-1b2c", "canary-grant-password-3d4e"):
        assert secret not in output
    assert token_on_disk(fleet, "tsnode1", CANARY) == []


def run_on_a_terminal(fleet, host, answer, timeout=180):
    """troubleshoot_dsn.yml on a pseudo-terminal: answer the hidden token prompt, return (exit status, output)."""
    vars_file = fleet.workdir / "dsn-tty-vars.json"
    vars_file.write_text(json.dumps({"tabops_dsn_host": host, "tabops_dsn_connection": "lab-analytics"}))
    argv = [str(VENV_BIN / "ansible-playbook"), "-i", str(fleet.inventory), "playbooks/troubleshoot_dsn.yml"]
    argv += ["-e", f"@{vars_file}"]
    env = {k: v for k, v in os.environ.items() if k != "TABOPS_REDSHIFT_TOKEN"}
    env.update(ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    pid, fd = pty.fork()
    if pid == 0:  # the child: ansible-playbook on the terminal
        os.chdir(REPO)
        os.execve(argv[0], argv, env)  # noqa: S606 - argv is fixed
    output, answered, deadline = b"", False, time.monotonic() + timeout
    answered_at, length_at_answer, tries = 0.0, 0, 0
    while time.monotonic() < deadline:
        ready, _writable, _errors = select.select([fd], [], [], 0.5)
        if answered and len(output) == length_at_answer and time.monotonic() - answered_at > 3 and tries < 5:
            # The prompt flushes pending input once it has set the terminal up: if the answer went that way,
            # nothing happened since; type it again.
            os.write(fd, answer.encode() + b"\r")
            answered_at, tries = time.monotonic(), tries + 1
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
        if not answered and b"(output is hidden):" in output:  # the prompt itself, not the task name
            # Type only once the prompt has turned the terminal's echo off, as a person would: input that
            # arrives earlier is echoed and then flushed by the prompt's own terminal set-up.
            while termios.tcgetattr(fd)[3] & termios.ECHO and time.monotonic() < deadline:
                time.sleep(0.05)
            os.write(fd, answer.encode() + b"\r")
            answered, answered_at, length_at_answer = True, time.monotonic(), len(output)
    done, status = os.waitpid(pid, os.WNOHANG)
    grace = time.monotonic() + 30  # the terminal closes a moment before the process has exited
    while not done and time.monotonic() < grace:
        time.sleep(0.2)
        done, status = os.waitpid(pid, os.WNOHANG)
    if not done:  # still waiting for input: do not hang the test run
        os.kill(pid, 9)
        _pid, status = os.waitpid(pid, 0)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, 9)  # the child led its own session: leave none of its workers behind
    os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


@pytest.mark.fleet_size(servers=1, bridges=0, desktops=0)
def test_the_token_can_be_typed_at_a_hidden_prompt(fleet):
    install(fleet, "tsnode1", ("v2", "2.0.1.0", "package"), isql_dir=CUSTOMER_BIN)
    status, output = run_on_a_terminal(fleet, "tsnode1", "expired-" + CANARY)
    assert "(ID or access token; input hidden) (output is hidden):" in output, output[-3000:]
    assert status == 2 and "result: token-rejected (SQLState 28000)" in output, output[-3000:]
    assert CANARY not in output
    status, output = run_on_a_terminal(fleet, "tsnode1", CANARY)
    assert status == 0 and "result: ok" in output and CANARY not in output, output[-3000:]
    assert token_on_disk(fleet, "tsnode1", CANARY) == []


PEEK_AS_ANOTHER_USER = r"""
pid=""
for i in $(seq 1 400); do
  pid=$(pgrep -x isql | head -n 1)
  [ -n "$pid" ] && break
  sleep 0.05
done
[ -n "$pid" ] || { echo "no isql"; exit 3; }
echo "== cmdline"; runuser -u nobody -- cat /proc/$pid/cmdline | tr '\0' ' '; echo
echo "== environ"; runuser -u nobody -- cat /proc/$pid/environ 2>&1 | tr '\0' ' '; echo
file=$(tr '\0' ' ' < /proc/$pid/cmdline | sed -n 's/.*FILEDSN=\([^ ;]*\).*/\1/p')
echo "== file $file"; stat -c '%a %U' "$file" "$(dirname "$file")"
echo "== read"; runuser -u nobody -- cat "$file" 2>&1; echo "rc=$?"
"""


@pytest.mark.fleet_size(servers=1, bridges=0, desktops=0)
def test_another_local_user_cannot_read_the_token_while_isql_runs(fleet):
    install(fleet, "tsnode1", ("v2", "2.0.1.0", "package"), isql_dir=CUSTOMER_BIN)
    token = "slow-" + CANARY  # the isql stand-in waits 4 s before it connects
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        rollout = pool.submit(troubleshoot, fleet, "tsnode1", token=token)
        peek = fleet.sh("tsnode1", PEEK_AS_ANOTHER_USER, check=False)
        completed, result = rollout.result(timeout=300)
    assert completed.returncode == 0 and result["result"] == "ok", completed.stdout[-3000:]
    sections = dict(part.split("\n", 1) for part in peek.split("== ")[1:])
    assert "FILEDSN=" in sections["cmdline"] and CANARY not in sections["cmdline"], peek
    assert CANARY not in sections["environ"], peek  # another user cannot read it at all
    file_section = next(text for name, text in sections.items() if name.startswith("file "))
    assert file_section.split("\n")[:2] == ["600 root", "700 root"], peek
    assert CANARY not in sections["read"] and "rc=0" not in sections["read"], peek
    assert token_on_disk(fleet, "tsnode1", CANARY) == []
