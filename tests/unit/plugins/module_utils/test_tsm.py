# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""tsm settings logic (_tsm) against the real tsm stand-in process (tests/lab/tsm/tsm) and real temp folders."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ansible_collections.tabops.redshift_oauth.plugins.module_utils import _tsm as tsm_utils

REPO_ROOT = Path(__file__).resolve().parents[4]
STANDIN = REPO_ROOT / "tests" / "lab" / "tsm" / "tsm"
CANARY = "CANARY-tsm-secret-c0ffee"
SEEDED_SNOWFLAKE = {
    "oauth.config.id": "snowflake:custom_snowflake_okta",
    "oauth.config.client_id": "pre-existing-client",
    "oauth.config.client_secret": "pre-existing-secret",
    "oauth.config.redirect_uri": "https://tableau.lab.example/auth/add_oauth_token",
}


@pytest.fixture
def standin(tmp_path):
    """A freshly seeded stand-in state; returns (client, read_state)."""
    state = tmp_path / "state.json"
    env = dict(os.environ, TSM_STANDIN_STATE=str(state))
    subprocess.run([sys.executable, str(STANDIN), "--standin-init"], env=env, check=True, capture_output=True)
    # Run the stand-in through the interpreter of this test run: same code path as tsm_path on hosts.
    wrapper = tmp_path / "tsm"
    wrapper.write_text('#!/bin/sh\nexec "%s" "%s" "$@"\n' % (sys.executable, STANDIN))
    wrapper.chmod(0o755)
    client = tsm_utils.TsmClient(str(wrapper), timeout=60, env=env)

    def read_state():
        return json.loads(state.read_text())

    return client, read_state


# ---------------------------------------------------------------------------------------------
# finding tsm
# ---------------------------------------------------------------------------------------------


def make_tsm(packages, build, executable=True):
    folder = packages / ("customer-bin." + build)
    folder.mkdir(parents=True)
    path = folder / "tsm"
    path.write_text("#!/bin/sh\necho %s\n" % build)
    path.chmod(0o755 if executable else 0o644)
    return path


def test_find_tsm_picks_the_newest_build_by_number_not_by_text(tmp_path):
    make_tsm(tmp_path, "20241.24.900.1")
    newest = make_tsm(tmp_path, "20241.24.1000.1")
    make_tsm(tmp_path, "20234.23.1200.1")
    make_tsm(tmp_path, "20251.25.0101.0000", executable=False)
    (tmp_path / "bin.20251.25.0101.0000").mkdir()
    assert tsm_utils.find_tsm(None, str(tmp_path)) == str(newest)


def test_find_tsm_prefers_an_explicit_path(tmp_path):
    explicit = make_tsm(tmp_path, "1.0")
    make_tsm(tmp_path, "2.0")
    assert tsm_utils.find_tsm(str(explicit), str(tmp_path)) == str(explicit)


@pytest.mark.parametrize(
    ("tsm_path", "match"),
    [
        (None, r"no executable customer-bin\.\*/tsm under tsm_packages_dir .*; set tsm_path or tsm_packages_dir"),
        ("/nonexistent/tsm", r"tsm_path: /nonexistent/tsm is not an executable file"),
    ],
)
def test_find_tsm_errors_name_the_option(tmp_path, tsm_path, match):
    with pytest.raises(tsm_utils.TsmError, match=match):
        tsm_utils.find_tsm(tsm_path, str(tmp_path))


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("20242.24.0807.0327", "20242.24.1011.0327"),
        ("20241.24.900.1", "20241.24.1000.1"),
        ("2024.2.3", "2024.10.0"),
        ("2024.2.beta", "2024.2.0"),
    ],
)
def test_version_key_orders_builds(older, newer):
    assert tsm_utils.version_key(older) < tsm_utils.version_key(newer)


# ---------------------------------------------------------------------------------------------
# allowlist merge
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "entries", "separator", "after", "added"),
    [
        ("KeepAlive,SSLMode", ["group_federation"], ",", "KeepAlive,SSLMode,group_federation", ["group_federation"]),
        ("KeepAlive, SSLMode", ["SSLMode"], ",", "KeepAlive, SSLMode", []),
        ("KeepAlive,Group_Federation", ["group_federation"], ",", "KeepAlive,Group_Federation", []),
        ("", ["group_federation", "b"], ",", "group_federation,b", ["group_federation", "b"]),
        ("a;b", ["c", "a"], ";", "a;b;c", ["c"]),
        ("a,,b,", ["c"], ",", "a,b,c", ["c"]),
        ("a", ["b", "b"], ",", "a,b", ["b"]),
    ],
)
def test_merge_allowlist_keeps_existing_entries_and_appends(current, entries, separator, after, added):
    assert tsm_utils.merge_allowlist(current, entries, separator) == (after, added)


@pytest.mark.parametrize(
    ("entries", "separator", "match"),
    [
        (["a,b"], ",", r"allowlist_entries: entry 'a,b' contains the allowlist separator ','"),
        ([" "], ",", r"allowlist_entries: entry is empty"),
        (["a b"], ",", r"allowlist_entries: entry 'a b' contains whitespace"),
        (["a"], "", r"allowlist_separator: must not be empty"),
    ],
)
def test_merge_allowlist_refuses_bad_entries(entries, separator, match):
    with pytest.raises(ValueError, match=match):
        tsm_utils.merge_allowlist("x", entries, separator)


# ---------------------------------------------------------------------------------------------
# oauth.config.clients merge
# ---------------------------------------------------------------------------------------------


def desired(**overrides):
    client = {
        "id": "redshift:custom_redshift_okta",
        "client_id": "server-client",
        "client_secret": CANARY,
        "redirect_uri": "https://tableau.lab.example/auth/add_oauth_token",
    }
    client.update(overrides)
    return tsm_utils.normalize_desired_clients([client])


def test_new_client_is_appended_and_others_are_kept_in_place():
    other = dict(SEEDED_SNOWFLAKE, extra="kept")
    later = {"oauth.config.id": "athena:custom_athena", "oauth.config.client_id": "a"}
    merged, reports = tsm_utils.merge_oauth_clients([other, later], desired())
    assert merged[:2] == [other, later]
    assert merged[2] == {
        "oauth.config.id": "redshift:custom_redshift_okta",
        "oauth.config.client_id": "server-client",
        "oauth.config.client_secret": CANARY,
        "oauth.config.redirect_uri": "https://tableau.lab.example/auth/add_oauth_token",
    }
    assert reports[0]["status"] == "missing"
    assert {"path": "oauth.config.client_secret", "expected": "[redacted]", "actual": None} in reports[0]["differences"]
    assert CANARY not in json.dumps(reports)


def test_existing_client_is_updated_in_place_keeping_unknown_keys():
    current = [
        {
            "oauth.config.id": "redshift:custom_redshift_okta",
            "oauth.config.client_id": "old",
            "oauth.config.client_secret": "old-secret-value",
            "oauth.config.redirect_uri": "https://tableau.lab.example/auth/add_oauth_token",
            "vendor.note": "keep me",
        },
        SEEDED_SNOWFLAKE,
    ]
    merged, reports = tsm_utils.merge_oauth_clients(current, desired())
    assert merged[1] == SEEDED_SNOWFLAKE
    assert merged[0]["vendor.note"] == "keep me"
    assert merged[0]["oauth.config.client_id"] == "server-client"
    assert merged[0]["oauth.config.client_secret"] == CANARY
    assert reports == [
        {
            "id": "redshift:custom_redshift_okta",
            "status": "drift",
            "differences": [
                {"path": "oauth.config.client_id", "expected": "server-client", "actual": "old"},
                {"path": "oauth.config.client_secret", "expected": "[redacted]", "actual": "[redacted]"},
            ],
        }
    ]
    assert current[0]["oauth.config.client_id"] == "old", "the input list is not modified"


def test_matching_client_is_compliant_and_nothing_changes():
    current = [SEEDED_SNOWFLAKE, dict(desired()[0])]
    merged, reports = tsm_utils.merge_oauth_clients(current, desired())
    assert merged == current
    assert reports == [{"id": "redshift:custom_redshift_okta", "status": "compliant", "differences": []}]


def test_omitted_secret_is_not_managed():
    current = [dict(desired()[0], **{"oauth.config.client_secret": "set-by-hand"})]
    merged, reports = tsm_utils.merge_oauth_clients(current, desired(client_secret=None))
    assert merged == current
    assert reports[0]["status"] == "compliant"


def test_duplicates_of_a_managed_id_are_collapsed():
    wanted = desired()[0]
    current = [wanted, SEEDED_SNOWFLAKE, dict(wanted, **{"oauth.config.client_id": "dup"})]
    merged, reports = tsm_utils.merge_oauth_clients(current, desired())
    assert merged == [wanted, SEEDED_SNOWFLAKE]
    assert reports[0]["status"] == "drift"
    assert reports[0]["differences"] == [{"path": "oauth.config.id", "expected": "1 entry", "actual": "2 entries"}]


@pytest.mark.parametrize(
    ("clients", "match"),
    [
        (
            [{"id": "custom_redshift_okta"}],
            r"oauth_clients\[0\]\.id: 'custom_redshift_okta' must be '<dbclass>:<oauthConfigId>'",
        ),
        ([{"id": "redshift:"}], r"oauth_clients\[0\]\.id"),
        ([{"id": "a:b"}, {"id": "a:b"}], r"oauth_clients\[1\]\.id: a:b is also given by oauth_clients\[0\]"),
        ([{"id": "a:b", "client_id": " "}], r"oauth_clients\[0\]\.client_id: must not be empty \(client a:b\)"),
        ([{"id": "a:b", "client_secret": 5}], r"oauth_clients\[0\]\.client_secret: must be a string \(client a:b\)"),
    ],
)
def test_bad_client_input_names_the_field(clients, match):
    with pytest.raises(ValueError, match=match):
        tsm_utils.normalize_desired_clients(clients)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[{"oauth.config.client_secret": "%s"' % CANARY, r"oauth\.config\.clients: current value is not valid JSON"),
        ('{"oauth.config.client_secret": "%s"}' % CANARY, r"not a JSON list of objects"),
    ],
)
def test_unreadable_current_clients_fail_without_quoting_the_value(text, match):
    with pytest.raises(tsm_utils.TsmError, match=match) as caught:
        tsm_utils.parse_clients(text)
    assert CANARY not in str(caught.value)


def test_empty_clients_value_is_an_empty_list():
    assert tsm_utils.parse_clients("") == []
    assert tsm_utils.parse_clients(" \n") == []


def test_mask_clients_masks_every_secret_field():
    masked = tsm_utils.mask_clients([SEEDED_SNOWFLAKE, {"oauth.config.id": "x", "custom.secret.thing": "s"}])
    assert masked[0]["oauth.config.client_secret"] == "[redacted]"
    assert masked[1]["custom.secret.thing"] == "[redacted]"
    assert SEEDED_SNOWFLAKE["oauth.config.client_secret"] == "pre-existing-secret"


# ---------------------------------------------------------------------------------------------
# pending-changes output
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("There are no pending changes.\n", []),
        (
            "Pending Configuration Changes:\n    native_api.odbc_extras_allowlist: a,b\n"
            "    oauth.config.clients: [masked]\nApplying these pending changes will require a server restart.\n",
            ["native_api.odbc_extras_allowlist", "oauth.config.clients"],
        ),
        ('{"configKeys": {"gateway.timeout": "600"}}', ["gateway.timeout"]),
        (
            "Pending changes:\n - wgserver.domain.fqdn = tableau.lab.example\n  tableau.lab.example\n",
            ["wgserver.domain.fqdn"],
        ),
    ],
)
def test_parse_pending_keys(text, keys):
    assert tsm_utils.parse_pending_keys(text) == keys


# ---------------------------------------------------------------------------------------------
# the client against the real stand-in process
# ---------------------------------------------------------------------------------------------


def test_get_reads_seeded_values(standin):
    client, _read_state = standin
    assert client.get("native_api.odbc_extras_allowlist") == "KeepAlive,SSLMode"
    assert json.loads(client.get("oauth.config.clients")) == [SEEDED_SNOWFLAKE]


def test_unknown_key_is_reported_as_such(standin):
    client, read_state = standin
    with pytest.raises(tsm_utils.TsmUnknownKeyError, match=r"tsm does not know the key native_api\.nope") as caught:
        client.get("native_api.nope")
    assert caught.value.key == "native_api.nope"
    with pytest.raises(tsm_utils.TsmUnknownKeyError):
        client.set("native_api.nope", "x")
    assert read_state()["pending"] == {}
    client.set("native_api.nope", "x", force_keys=True)
    assert read_state()["pending"] == {"native_api.nope": "x"}


def test_set_pending_apply_restarts_once(standin):
    client, read_state = standin
    assert client.pending() == ([], False)
    client.set("native_api.odbc_extras_allowlist", "KeepAlive,SSLMode,group_federation")
    # Documented: get shows the applied value until the apply; the listing shows the pending one.
    assert client.get("native_api.odbc_extras_allowlist") == "KeepAlive,SSLMode"
    listed = {"native_api.odbc_extras_allowlist": "KeepAlive,SSLMode,group_federation"}
    assert client.pending_changes() == (listed, True)
    assert client.pending() == (["native_api.odbc_extras_allowlist"], True)
    output = client.apply(ignore_warnings=True, request_timeout=60)
    assert "Successfully deployed" in output
    state = read_state()
    assert state["restarts"] == 1
    assert state["configuration"]["native_api.odbc_extras_allowlist"] == "KeepAlive,SSLMode,group_federation"
    assert state["audit"][-1]["argv"] == [
        "pending-changes",
        "apply",
        "--ignore-prompt",
        "--ignore-warnings",
        "--request-timeout",
        "60",
    ]
    assert client.pending() == ([], False)
    assert client.get("native_api.odbc_extras_allowlist") == "KeepAlive,SSLMode,group_federation"


def test_discard_drops_pending_values(standin):
    client, read_state = standin
    client.set("gateway.public.port", "8443")
    client.discard()
    state = read_state()
    assert state["pending"] == {}
    assert state["restarts"] == 0
    assert client.get("gateway.public.port") == "443"


def test_client_records_calls_with_values_masked(standin):
    client, _read_state = standin
    client.secrets.add(CANARY)
    client.set("oauth.config.clients", json.dumps([{"oauth.config.id": "a:b", "oauth.config.client_secret": CANARY}]))
    assert client.calls[-1] == "configuration set -k oauth.config.clients -v [redacted]"
    assert all(CANARY not in call for call in client.calls)


def test_failure_messages_mask_secrets_tsm_echoes(tmp_path):
    echo = tmp_path / "tsm"
    echo.write_text('#!/bin/sh\necho "bad value: $*" >&2\nexit 3\n')
    echo.chmod(stat.S_IRWXU)
    client = tsm_utils.TsmClient(str(echo), secrets={CANARY})
    with pytest.raises(
        tsm_utils.TsmError, match=r"failed \(exit 3\): bad value: .* -v prefix-\[redacted\]-suffix"
    ) as caught:
        client.set("k", "prefix-%s-suffix" % CANARY)
    assert CANARY not in str(caught.value)
    assert str(caught.value).startswith("tsm configuration set -k k -v [redacted] failed")


def test_a_hanging_tsm_is_stopped(tmp_path):
    slow = tmp_path / "tsm"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    slow.chmod(stat.S_IRWXU)
    client = tsm_utils.TsmClient(str(slow), timeout=1)
    with pytest.raises(tsm_utils.TsmError, match=r"did not finish within 1 s"):
        client.get("x.y")


def test_tsm_never_waits_for_a_prompt(standin):
    client, read_state = standin
    client.set("gateway.public.port", "8443")
    # Without --ignore-prompt tsm asks on stdin; the client closes stdin, so tsm aborts instead of hanging.
    rc, _out, err = client.run(["pending-changes", "apply"], timeout=30)
    assert rc != 0
    assert "cancelled" in err
    assert read_state()["restarts"] == 0


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        ("a SECRET b", {"SECRET"}, "a [redacted] b"),
        ("abcdef", {"abc", "abcdef"}, "[redacted]"),
        ("nothing", set(), "nothing"),
        (None, {"x"}, ""),
    ],
)
def test_mask_text(text, secrets, expected):
    assert tsm_utils.mask_text(text, secrets) == expected


@pytest.mark.parametrize(
    ("message", "unknown"),
    [
        ("Unknown key 'a.b'. No configuration value is set for this key.", True),
        ("Configuration key 'a.b' does not exist.", True),
        ("Invalid key: a.b", True),
        ("Could not connect to the TSM controller: connection refused", False),
        ("File /var/opt/x does not exist", False),
    ],
)
def test_unknown_key_wordings(tmp_path, message, unknown):
    fake = tmp_path / "tsm"
    fake.write_text('#!/bin/sh\necho "%s" >&2\nexit 1\n' % message)
    fake.chmod(stat.S_IRWXU)
    client = tsm_utils.TsmClient(str(fake))
    with pytest.raises(tsm_utils.TsmError) as caught:
        client.get("a.b")
    assert isinstance(caught.value, tsm_utils.TsmUnknownKeyError) is unknown


@pytest.mark.skipif(not os.path.exists("/usr/bin/python3"), reason="needs the host's /usr/bin/python3")
def test_runs_on_the_standard_library_alone():
    # -I -S: no site-packages, no user site, no PYTHON* variables; only the collection itself on the path.
    probe = (
        "import sys; sys.path.insert(0, %r); "
        "from ansible_collections.tabops.redshift_oauth.plugins.module_utils import _tsm; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] not in sys.stdlib_module_names "
        "and not m.startswith('ansible_collections') and m != '__main__'))"
    ) % str(Path(__file__).resolve().parents[4] / ".collections")
    completed = subprocess.run(
        ["/usr/bin/python3", "-I", "-S", "-c", probe], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------------------
# input checks (also run by the controller-side preflight)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry", ["group_federation", "KeepAlive", "SSLMode", "IdP_Response_Timeout", "_x1", "a" * 128]
)
def test_real_odbc_key_names_are_accepted(entry):
    assert tsm_utils.allowlist_entry_problems(entry) == []


@pytest.mark.parametrize(
    ("entry", "separator", "problem"),
    [
        ("Foo,Bar", ",", "contains the allowlist separator ','"),
        ("Foo;Bar", ";", "contains the allowlist separator ';'"),
        (5, ",", "must be a string (an ODBC key name), got int 5"),
        (None, ",", "must be a string (an ODBC key name), got NoneType"),
        ("group\nfederation", ",", "contains a control character"),
        ("tab\there", ",", "contains a control character"),
        ("two words", ",", "contains whitespace"),
        ("x" * (1024 * 1024), ",", "is 1048576 characters long; an ODBC key name has at most 128"),
        ("a" * 129, ",", "at most 128"),
        ("", ",", "is empty"),
        ("  ", ",", "is empty"),
        ("1abc", ",", "is not an ODBC key name"),
        ("Key=Value", ",", "is not an ODBC key name"),
        ("{braced}", ",", "is not an ODBC key name"),
        ("native.key", ",", "is not an ODBC key name"),
    ],
)
def test_bad_allowlist_entries_are_named(entry, separator, problem):
    problems = tsm_utils.allowlist_entry_problems(entry, separator)
    assert problems and any(problem in text for text in problems), problems
    # A huge entry is never quoted whole in the message.
    assert all(len(text) < 200 for text in problems)


@pytest.mark.parametrize(
    "secret",
    ["s3cr3t", "a b c", "quote'and\"both", "back\\slash", "ünïcödé-秘密", " leading-space", "x" * 4096, "$(rm -rf /)"],
)
def test_client_secret_shapes_a_real_secret_can_have_pass(secret):
    assert tsm_utils.client_secret_problems(secret) == []


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "is empty"),
        (None, "must be a string"),
        (12345, "must be a string"),
        ("abc\ndef", "control or non-XML characters"),
        ("abc\r", "control or non-XML characters"),
        ("a\x00b", "control or non-XML characters"),
        ("x" * 4097, "more than the 4096"),
    ],
)
def test_client_secret_shape_problems(value, problem):
    problems = tsm_utils.client_secret_problems(value)
    assert any(problem in text for text in problems), problems


def test_a_bad_client_secret_is_refused_by_name_without_quoting_it():
    with pytest.raises(ValueError) as caught:
        tsm_utils.normalize_desired_clients(
            [{"id": "redshift:custom_redshift_okta", "client_id": "c", "client_secret": CANARY + "\n"}]
        )
    assert "oauth_clients[0].client_secret: contains control or non-XML characters" in str(caught.value)
    assert CANARY not in str(caught.value)


# ---------------------------------------------------------------------------------------------
# status after the apply
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Status: RUNNING\n", "RUNNING"),
        ("node1: tsnode1\n    Status: Gateway 'node1:0' is running.\nStatus: DEGRADED\n", "DEGRADED"),
        ("Status: STOPPED", "STOPPED"),
        ("Cannot connect to server\n", None),
        ("", None),
    ],
)
def test_parse_status(text, word):
    assert tsm_utils.parse_status(text) == word


def standin_switch(read_state, client, *assignments):
    rc, _out, err = client.run(["--standin-set", *assignments])
    assert rc == 0, err


def test_wait_until_running_sees_the_server_come_back(standin):
    client, read_state = standin
    standin_switch(read_state, client, "status_after_apply=STOPPED,DEGRADED,RUNNING")
    client.set("gateway.public.port", "8443")
    client.apply()
    running, last, _waited, checks = tsm_utils.wait_until_running(client, timeout=30, interval=0.1)
    assert (running, last, checks) == (True, "Status: RUNNING", 3)


def test_wait_until_running_gives_up_with_the_last_status(standin):
    client, read_state = standin
    standin_switch(read_state, client, "status=STOPPED")
    started = time.monotonic()
    # A 4 s wait: room for a second `tsm status` call even when each one takes seconds on a busy machine.
    running, last, _waited, checks = tsm_utils.wait_until_running(client, timeout=4.0, interval=0.2)
    assert (running, last) == (False, "Status: STOPPED")
    # Bounded by the timeout plus one slow `tsm status` call.
    assert checks >= 2 and time.monotonic() - started < 20


def test_a_failing_tsm_status_is_a_status_not_seen(tmp_path):
    broken = tmp_path / "tsm"
    broken.write_text('#!/bin/sh\necho "Could not connect to the TSM controller" >&2\nexit 1\n')
    broken.chmod(stat.S_IRWXU)
    word, detail = tsm_utils.TsmClient(str(broken)).status()
    assert word is None and "Could not connect to the TSM controller" in detail


def test_a_failing_apply_keeps_the_changes_pending_and_says_why(standin):
    client, read_state = standin
    standin_switch(read_state, client, "fail_next_apply=1")
    client.set("native_api.odbc_extras_allowlist", "KeepAlive,SSLMode,group_federation")
    with pytest.raises(tsm_utils.TsmError, match=r"pending-changes apply --ignore-prompt failed \(exit 1\): .*failed"):
        client.apply()
    assert client.pending_keys() == ["native_api.odbc_extras_allowlist"]
    assert read_state()["restarts"] == 0
    client.apply()
    assert client.pending_keys() == [] and read_state()["restarts"] == 1


# ---------------------------------------------------------------------------------------------
# the lock on the initial node
# ---------------------------------------------------------------------------------------------

HOLD_LOCK = """
import sys, time
sys.path.insert(0, %r)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tsm import TsmLock
with TsmLock(sys.argv[1], timeout=5):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold_lock(path, seconds):
    """Another process holding the lock; returns it once it holds the lock."""
    collections = str(Path(__file__).resolve().parents[4] / ".collections")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK % collections, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_lock_file_is_private_and_a_second_holder_waits(tmp_path):
    path = tmp_path / "tabops-tsm.lock"
    holder = hold_lock(path, 1.5)
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert json.loads(path.read_text())["pid"] == holder.pid
        started = time.monotonic()
        with tsm_utils.TsmLock(str(path), timeout=20, poll_interval=0.1) as lock:
            assert 0.5 < lock.waited < 15
            assert json.loads(path.read_text())["pid"] == os.getpid()
        assert time.monotonic() - started < 20
    finally:
        holder.wait(timeout=30)


def test_lock_timeout_names_the_holder_pid(tmp_path):
    path = tmp_path / "tabops-tsm.lock"
    holder = hold_lock(path, 5)
    try:
        with (
            pytest.raises(tsm_utils.TsmLockError) as caught,
            tsm_utils.TsmLock(str(path), timeout=1, poll_interval=0.2),
        ):
            pass
        assert "pid %d" % holder.pid in str(caught.value)
        assert "lock_timeout 1 s" in str(caught.value)
    finally:
        holder.kill()
        holder.wait()


def test_a_lease_keeps_other_runs_out_until_it_ends(tmp_path):
    path = str(tmp_path / "tabops-tsm.lock")
    with tsm_utils.TsmLock(path) as lock:
        lock.grant_lease("token-a", 60, {"native_api.odbc_extras_allowlist"})
    refused = pytest.raises(tsm_utils.TsmLockError, match=r"set native_api\.odbc_extras_allowlist at .* not applied")
    with refused, tsm_utils.TsmLock(path, timeout=0.5, poll_interval=0.1):
        pass
    # The holder of the lease gets in; ending it lets everybody in.
    with tsm_utils.TsmLock(path, timeout=1, lease="token-a"):
        pass
    ended = []
    threading.Timer(0.5, lambda: ended.append(tsm_utils.end_lease("token-a", path))).start()
    with tsm_utils.TsmLock(path, timeout=10, poll_interval=0.1) as lock:
        assert lock.waited >= 0.4
    assert ended == [True]
    assert tsm_utils.end_lease("token-a", path) is False


def test_an_abandoned_lease_expires(tmp_path):
    path = str(tmp_path / "tabops-tsm.lock")
    with tsm_utils.TsmLock(path) as lock:
        lock.grant_lease("token-dead", 0.5, {"oauth.config.clients"})
    with tsm_utils.TsmLock(path, timeout=10, poll_interval=0.1) as lock:
        assert lock.waited >= 0.3


def test_a_planted_lock_file_is_refused(tmp_path):
    target = tmp_path / "root-only"
    target.write_text("x")
    link = tmp_path / "link.lock"
    link.symlink_to(target)
    with pytest.raises(tsm_utils.TsmLockError, match="is a symbolic link: refused"):
        tsm_utils.TsmLock(str(link)).__enter__()
    assert target.read_text() == "x"
    hard = tmp_path / "hard.lock"
    os.link(target, hard)
    with pytest.raises(tsm_utils.TsmLockError, match="has 2 hard links"):
        tsm_utils.TsmLock(str(hard)).__enter__()
    fifo = tmp_path / "fifo.lock"
    os.mkfifo(fifo)
    with pytest.raises(tsm_utils.TsmLockError, match="is not a regular file"):
        tsm_utils.TsmLock(str(fifo)).__enter__()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to plant a file owned by another user")
def test_a_lock_file_owned_by_another_user_is_refused(tmp_path):
    planted = tmp_path / "planted.lock"
    planted.write_text("{}")
    os.chown(planted, 65534, 65534)
    with pytest.raises(tsm_utils.TsmLockError, match="is owned by uid 65534"):
        tsm_utils.TsmLock(str(planted)).__enter__()
