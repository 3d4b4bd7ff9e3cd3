# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The lab's `tsm` stand-in (tests/lab/tsm/tsm), run as a real subprocess against a tmp state file."""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

TSM = Path(__file__).resolve().parents[2] / "lab" / "tsm" / "tsm"
SEEDED_SECRET = "pre-existing-secret"
NEW_SECRET = "s3cr3t-value-never-logged"


def interpreters() -> list[str]:
    """The collection's Python, and the hosts' system Python when this machine has it."""
    found = [sys.executable]
    if Path("/usr/bin/python3").exists() and os.path.realpath("/usr/bin/python3") != os.path.realpath(sys.executable):
        found.append("/usr/bin/python3")
    return found


class Tsm:
    def __init__(self, state: Path, interpreter: str = sys.executable):
        self.state = state
        self.interpreter = interpreter

    def __call__(self, *argv: str, stdin: str | None = "", extra_env: dict | None = None):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TSM_STANDIN_STATE": str(self.state)}
        env.update(extra_env or {})
        return subprocess.run(
            [self.interpreter, str(TSM), *argv],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
            check=False,
        )

    def data(self) -> dict:
        return json.loads(self.state.read_text())


@pytest.fixture
def tsm(tmp_path: Path) -> Tsm:
    runner = Tsm(tmp_path / "tsm" / "state.json")
    result = runner("--standin-init", "--nodes", "tsnode1,tsnode2,tsnode3")
    assert result.returncode == 0, result.stderr
    return runner


def test_init_writes_realistic_state(tsm: Tsm):
    data = tsm.data()
    assert [node["host"] for node in data["nodes"]] == ["tsnode1", "tsnode2", "tsnode3"]
    assert data["version"] == "2024.2.3"
    assert data["pending"] == {}
    assert data["restarts"] == 0
    clients = json.loads(data["configuration"]["oauth.config.clients"])
    assert [client["oauth.config.id"] for client in clients] == ["snowflake:custom_snowflake_okta"]
    assert data["configuration"]["native_api.odbc_extras_allowlist"] == "KeepAlive,SSLMode"
    assert oct(tsm.state.stat().st_mode & 0o777) == "0o600"


def test_init_refuses_to_overwrite_without_force(tsm: Tsm):
    tsm("configuration", "set", "-k", "gateway.public.port", "-v", "8443")
    refused = tsm("--standin-init")
    assert refused.returncode == 1
    assert "--force" in refused.stderr
    assert tsm.data()["pending"] == {"gateway.public.port": "8443"}
    forced = tsm("--standin-init", "--force", "--nodes", "only1")
    assert forced.returncode == 0
    assert tsm.data()["pending"] == {}
    assert [node["host"] for node in tsm.data()["nodes"]] == ["only1"]


@pytest.mark.parametrize("interpreter", interpreters())
@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("gateway.public.host", "tableau.lab.example"),
        ("gateway.public.port", "443"),
        ("native_api.odbc_extras_allowlist", "KeepAlive,SSLMode"),
    ],
)
def test_get_prints_the_value(tmp_path: Path, interpreter: str, key: str, expected: str):
    tsm = Tsm(tmp_path / "state.json", interpreter)
    assert tsm("--standin-init").returncode == 0
    result = tsm("configuration", "get", "-k", key)
    assert (result.returncode, result.stdout, result.stderr) == (0, expected + "\n", "")


def test_get_oauth_clients_prints_json_list(tsm: Tsm):
    result = tsm("configuration", "get", "-k", "oauth.config.clients")
    assert result.returncode == 0
    assert json.loads(result.stdout)[0]["oauth.config.client_id"] == "pre-existing-client"


def test_get_unknown_key_fails_naming_it(tsm: Tsm):
    result = tsm("configuration", "get", "-k", "no.such.key")
    assert result.returncode == 1
    assert "Unknown key 'no.such.key'" in result.stderr
    assert result.stdout == ""


def test_set_unknown_key_without_force_keys_fails(tsm: Tsm):
    result = tsm("configuration", "set", "-k", "brand.new.key", "-v", "1")
    assert result.returncode == 1
    assert "Unknown key 'brand.new.key'" in result.stderr
    assert "--force-keys" in result.stderr
    assert tsm.data()["pending"] == {}
    assert tsm("configuration", "get", "-k", "brand.new.key").returncode == 1


def test_set_unknown_key_with_force_keys_is_pending_until_apply(tsm: Tsm):
    result = tsm("configuration", "set", "-k", "brand.new.key", "-v", "group_federation", "--force-keys")
    assert result.returncode == 0, result.stderr
    data = tsm.data()
    assert data["pending"] == {"brand.new.key": "group_federation"}
    assert "brand.new.key" not in data["configuration"]
    # Documented: a pending value is not shown by get until applied (the key is still unknown).
    assert tsm("configuration", "get", "-k", "brand.new.key").returncode == 1
    assert tsm(
        "configuration", "get", "-k", "brand.new.key", extra_env={"TSM_STANDIN_GET_SHOWS": "pending"}
    ).stdout == ("group_federation\n")


def test_get_returns_pending_value_before_applied_one_with_the_pending_switch(tsm: Tsm):
    assert tsm("configuration", "set", "-k", "gateway.public.port", "-v", "8443").returncode == 0
    assert tsm("configuration", "get", "-k", "gateway.public.port").stdout == "443\n"
    tsm("--standin-set", "get_shows=pending")
    assert tsm("configuration", "get", "-k", "gateway.public.port").stdout == "8443\n"
    data = tsm.data()
    assert data["configuration"]["gateway.public.port"] == "443"
    assert data["pending"]["gateway.public.port"] == "8443"


def test_set_known_key_needs_no_force_keys_and_setting_twice_keeps_last(tsm: Tsm):
    tsm("configuration", "set", "-k", "native_api.odbc_extras_allowlist", "-v", "KeepAlive")
    tsm("configuration", "set", "-k", "native_api.odbc_extras_allowlist", "-v", "KeepAlive,SSLMode,group_federation")
    assert tsm.data()["pending"] == {"native_api.odbc_extras_allowlist": "KeepAlive,SSLMode,group_federation"}


def test_pending_changes_list(tsm: Tsm):
    empty = tsm("pending-changes", "list")
    assert (empty.returncode, empty.stdout) == (0, "There are no pending changes.\n")
    tsm("configuration", "set", "-k", "gateway.public.port", "-v", "8443")
    listed = tsm("pending-changes", "list")
    assert listed.returncode == 0
    assert "gateway.public.port: 8443" in listed.stdout
    assert "restart" in listed.stdout


def test_apply_moves_pending_to_applied_and_counts_one_restart(tsm: Tsm):
    tsm("configuration", "set", "-k", "gateway.public.port", "-v", "8443")
    tsm("configuration", "set", "-k", "x.y", "-v", "z", "--force-keys")
    result = tsm("pending-changes", "apply", "--ignore-prompt", "--ignore-warnings", "--request-timeout", "600")
    assert result.returncode == 0, result.stderr
    assert "timeout is 10 minutes" in result.stdout
    assert "Successfully deployed nodes" in result.stdout
    data = tsm.data()
    assert data["pending"] == {}
    assert data["configuration"]["gateway.public.port"] == "8443"
    assert data["configuration"]["x.y"] == "z"
    assert data["restarts"] == 1
    assert data["apply_log"] == [{"job": 1, "keys": ["gateway.public.port", "x.y"], "restart": True}]


def test_apply_with_nothing_pending_does_not_restart(tsm: Tsm):
    result = tsm("pending-changes", "apply", "--ignore-prompt")
    assert result.returncode == 0
    assert "no pending changes" in result.stdout
    assert tsm.data()["restarts"] == 0
    assert tsm.data()["apply_log"] == []


@pytest.mark.parametrize(("answer", "applied"), [("y\n", True), ("yes\n", True), ("n\n", False), ("", False)])
def test_apply_without_ignore_prompt_asks_first(tsm: Tsm, answer: str, applied: bool):
    tsm("configuration", "set", "-k", "gateway.public.port", "-v", "8443")
    result = tsm("pending-changes", "apply", stdin=answer)
    assert "Are you sure you wish to continue?" in result.stdout
    data = tsm.data()
    if applied:
        assert result.returncode == 0
        assert (data["restarts"], data["pending"]) == (1, {})
    else:
        assert result.returncode == 1
        assert "not applied" in result.stderr
        assert (data["restarts"], data["pending"]) == (0, {"gateway.public.port": "8443"})


@pytest.mark.parametrize("timeout", ["0", "-5"])
def test_apply_rejects_a_non_positive_request_timeout(tsm: Tsm, timeout: str):
    tsm("configuration", "set", "-k", "gateway.public.port", "-v", "8443")
    result = tsm("pending-changes", "apply", "--ignore-prompt", "--request-timeout", timeout)
    assert result.returncode == 1
    assert "--request-timeout" in result.stderr
    assert tsm.data()["restarts"] == 0


def test_discard_drops_pending_without_restart(tsm: Tsm):
    tsm("configuration", "set", "-k", "gateway.public.port", "-v", "8443")
    result = tsm("pending-changes", "discard")
    assert result.returncode == 0
    data = tsm.data()
    assert (data["pending"], data["restarts"]) == ({}, 0)
    assert data["configuration"]["gateway.public.port"] == "443"
    assert "no pending changes to discard" in tsm("pending-changes", "discard").stdout


def test_topology_list_nodes(tsm: Tsm):
    assert tsm("topology", "list-nodes").stdout == "node1\nnode2\nnode3\n"
    assert tsm("topology", "list-nodes", "-v").stdout == "node1: tsnode1\nnode2: tsnode2\nnode3: tsnode3\n"


def test_status(tsm: Tsm):
    assert tsm("status").stdout == "Status: RUNNING\n"
    verbose = tsm("status", "-v").stdout
    assert verbose.count("is running.") == 3 * 9
    # The process line shape Tableau's KB quotes ("'Tableau Prep Conductor 0' status is unavailable.").
    assert "    'Tableau Prep Conductor 0' is running.\n" in verbose
    assert verbose.startswith("node1: tsnode1\n")
    assert verbose.endswith("Status: RUNNING\n")


def test_version_reports_release_and_build(tsm: Tsm):
    result = tsm("version")
    assert result.returncode == 0
    assert "Tableau Server version:\n2024.2.3 (20242.24.0807.0327)\n" in result.stdout


def test_every_call_is_audited_with_secrets_masked(tsm: Tsm):
    clients = json.loads(tsm("configuration", "get", "-k", "oauth.config.clients").stdout)
    clients.append(
        {
            "oauth.config.id": "redshift:custom_redshift_okta",
            "oauth.config.client_id": "tableau-redshift",
            "oauth.config.client_secret": NEW_SECRET,
            "oauth.config.redirect_uri": "https://tableau.lab.example/auth/add_oauth_token",
        }
    )
    tsm("configuration", "set", "-k", "oauth.config.clients", "-v", json.dumps(clients), "--force-keys")
    tsm("configuration", "set", "-k", "my.client_secret", "--value=" + NEW_SECRET, "--force-keys")
    tsm("-u", "admin", "-p", NEW_SECRET, "status")
    listed = tsm("pending-changes", "list")
    tsm("pending-changes", "apply", "--ignore-prompt")
    audit = tsm.data()["audit"]
    assert [entry["argv"][:2] for entry in audit] == [
        ["configuration", "get"],
        ["configuration", "set"],
        ["configuration", "set"],
        ["-u", "admin"],
        ["pending-changes", "list"],
        ["pending-changes", "apply"],
    ]
    assert audit[1]["argv"] == ["configuration", "set", "-k", "oauth.config.clients", "-v", "[masked]", "--force-keys"]
    assert audit[2]["argv"] == ["configuration", "set", "-k", "my.client_secret", "--value=[masked]", "--force-keys"]
    assert audit[3]["argv"] == ["-u", "admin", "-p", "[masked]", "status"]
    assert [entry["sequence"] for entry in audit] == [1, 2, 3, 4, 5, 6]
    assert all(entry["exit"] == 0 for entry in audit)
    audit_text = json.dumps(audit)
    assert NEW_SECRET not in audit_text
    assert SEEDED_SECRET not in audit_text
    assert NEW_SECRET not in listed.stdout
    # The value itself is stored as given: tsm keeps it and the collection must preserve it.
    applied = json.loads(tsm.data()["configuration"]["oauth.config.clients"])
    assert applied[1]["oauth.config.client_secret"] == NEW_SECRET


SECRET_CLIENTS = json.dumps([{"oauth.config.id": "redshift:custom_x", "oauth.config.client_secret": NEW_SECRET}])


@pytest.mark.parametrize(
    "argv",
    [
        ["configuration", "set", "-k", "oauth.config.clients", "-v", SECRET_CLIENTS],
        ["configuration", "set", "-koauth.config.clients", "-v" + SECRET_CLIENTS],
        ["configuration", "set", "--key=oauth.config.clients", "--value=" + SECRET_CLIENTS],
        ["configuration", "set", "-v", SECRET_CLIENTS, "--key", "oauth.config.clients"],
        ["configuration", "set", "-k", "x.client_secret", "-v", NEW_SECRET, "--force-keys"],
        ["-p" + NEW_SECRET, "status"],
        ["--password=" + NEW_SECRET, "status"],
    ],
)
def test_secret_values_are_masked_in_every_option_spelling(tsm: Tsm, argv: list[str]):
    result = tsm(*argv)
    assert result.returncode == 0, result.stderr
    entry = tsm.data()["audit"][-1]
    assert NEW_SECRET not in json.dumps(entry)
    assert any("[masked]" in token for token in entry["argv"])


@pytest.mark.parametrize(
    "argv",
    [
        ["configuration", "set", "-k", "oauth.config.clients", "--val", SECRET_CLIENTS],
        ["--pass", NEW_SECRET, "status"],
        ["configuration", "set", "-k", "oauth.config.clients", "-v", SECRET_CLIENTS, "--bogus"],
    ],
)
def test_a_command_line_that_does_not_parse_is_audited_without_its_values(tsm: Tsm, argv: list[str]):
    result = tsm(*argv)
    assert result.returncode == 2
    entry = tsm.data()["audit"][-1]
    assert entry["exit"] == 2
    assert NEW_SECRET not in json.dumps(entry)
    assert entry["argv"][0] in ("configuration", "--pass")


def test_non_secret_values_are_audited_verbatim(tsm: Tsm):
    tsm("configuration", "set", "-k", "native_api.odbc_extras_allowlist", "-v", "KeepAlive,group_federation")
    assert tsm.data()["audit"][-1]["argv"][-1] == "KeepAlive,group_federation"


def test_failed_and_usage_errors_are_audited(tsm: Tsm):
    unknown = tsm("configuration", "set", "-k", "nope", "-v", "1")
    usage = tsm("configuration", "set", "-k", "gateway.public.port")
    assert (unknown.returncode, usage.returncode) == (1, 2)
    assert "the following arguments are required: -v/--value" in usage.stderr
    assert [entry["exit"] for entry in tsm.data()["audit"]] == [1, 2]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"oauth.config.id": "x"}', "expected a JSON list of objects"),
        ('[{"oauth.config.client_id": "x"}]', "entry 0 has no 'oauth.config.id'"),
    ],
)
def test_oauth_clients_value_must_be_a_list_of_clients(tsm: Tsm, value: str, message: str):
    result = tsm("configuration", "set", "-k", "oauth.config.clients", "-v", value)
    assert result.returncode == 1
    assert message in result.stderr
    assert tsm.data()["pending"] == {}


def test_concurrent_calls_lose_no_update(tsm: Tsm):
    keys = [f"lab.concurrent.key{number}" for number in range(16)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda key: tsm("configuration", "set", "-k", key, "-v", key, "--force-keys"), keys))
    assert all(result.returncode == 0 for result in results)
    data = tsm.data()
    assert data["pending"] == {key: key for key in keys}
    assert sorted(entry["sequence"] for entry in data["audit"]) == list(range(1, 17))


def test_non_initial_node_refuses_and_names_the_initial_node(tmp_path: Path):
    standin_dir = tmp_path / "data" / "tabsvc" / "tsm-standin"
    standin_dir.mkdir(parents=True)
    (standin_dir / "node.json").write_text(json.dumps({"node": "tsnode2", "initial_node": "tsnode1"}))
    tsm = Tsm(tmp_path / "unused.json")
    result = tsm("status", extra_env={"TSM_STANDIN_STATE": "", "TABLEAU_SERVER_DATA_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert "this node (tsnode2) is not the initial node" in result.stderr
    assert "tsnode1" in result.stderr
    assert "forwards" in result.stderr


def test_missing_state_says_how_to_seed_it(tmp_path: Path):
    result = Tsm(tmp_path / "absent.json")("configuration", "get", "-k", "gateway.public.host")
    assert result.returncode == 1
    assert "--standin-init" in result.stderr
    assert str(tmp_path / "absent.json") in result.stderr


def test_no_command_is_a_usage_error(tsm: Tsm):
    result = tsm()
    assert result.returncode == 2
    assert "a command is required" in result.stderr


# --------------------------------------------------------------------------- fault switches


@pytest.mark.parametrize("how", ["state", "env"])
def test_get_can_show_only_the_applied_value(tsm: Tsm, how: str):
    tsm("configuration", "set", "-k", "gateway.public.port", "-v", "8443")
    tsm("configuration", "set", "-k", "brand.new.key", "-v", "x", "--force-keys")
    extra = {}
    tsm("--standin-set", "get_shows=pending")
    if how == "state":
        assert tsm("--standin-set", "get_shows=applied").returncode == 0
        assert tsm.data()["standin"]["get_shows"] == "applied"
    else:
        extra = {"TSM_STANDIN_GET_SHOWS": "applied"}
    assert tsm("configuration", "get", "-k", "gateway.public.port", extra_env=extra).stdout == "443\n"
    # A key that is only pending is unknown to a get that shows applied values.
    assert tsm("configuration", "get", "-k", "brand.new.key", extra_env=extra).returncode == 1
    tsm("pending-changes", "apply", "--ignore-prompt")
    assert tsm("configuration", "get", "-k", "gateway.public.port", extra_env=extra).stdout == "8443\n"


def test_get_shows_applied_values_by_default_and_the_env_overrides_the_state(tsm: Tsm):
    assert tsm.data()["standin"]["get_shows"] == "applied"
    tsm("configuration", "set", "-k", "gateway.public.port", "-v", "8443")
    tsm("--standin-set", "get_shows=applied")
    pending = tsm("configuration", "get", "-k", "gateway.public.port", extra_env={"TSM_STANDIN_GET_SHOWS": "pending"})
    assert pending.stdout == "8443\n"


def test_an_init_can_choose_the_get_behaviour(tmp_path: Path):
    tsm = Tsm(tmp_path / "state.json")
    assert tsm("--standin-init", "--get-shows", "pending", "--secrets-shown", "masked").returncode == 0
    assert tsm.data()["standin"]["get_shows"] == "pending"
    assert tsm.data()["standin"]["secrets_shown"] == "masked"


def test_the_next_apply_can_be_made_to_fail_once(tsm: Tsm):
    tsm("configuration", "set", "-k", "gateway.public.port", "-v", "8443")
    assert tsm("--standin-set", "fail_next_apply=1").returncode == 0
    failed = tsm("pending-changes", "apply", "--ignore-prompt")
    assert failed.returncode == 1
    assert "Job '1' failed" in failed.stderr and "were not applied" in failed.stderr
    data = tsm.data()
    assert (data["pending"], data["restarts"]) == ({"gateway.public.port": "8443"}, 0)
    assert data["apply_log"] == [{"job": 1, "keys": ["gateway.public.port"], "restart": False, "failed": True}]
    assert data["standin"]["fail_next_apply"] == 0
    applied = tsm("pending-changes", "apply", "--ignore-prompt")
    assert applied.returncode == 0
    assert (tsm.data()["pending"], tsm.data()["restarts"]) == ({}, 1)


def test_status_can_be_made_to_stay_down_after_an_apply(tsm: Tsm):
    tsm("--standin-set", "status_after_apply=STOPPED,DEGRADED")
    assert tsm("status").stdout == "Status: RUNNING\n"  # nothing applied yet
    tsm("configuration", "set", "-k", "gateway.public.port", "-v", "8443")
    tsm("pending-changes", "apply", "--ignore-prompt")
    assert [tsm("status").stdout for _attempt in range(3)] == [
        "Status: STOPPED\n",
        "Status: DEGRADED\n",
        "Status: DEGRADED\n",
    ]
    assert "is stopped." in tsm("status", "-v").stdout
    tsm("--standin-set", "status=running")
    assert tsm("status").stdout == "Status: RUNNING\n"


def test_a_slow_get_for_race_tests(tsm: Tsm):
    tsm("--standin-set", "get_delay=0.5")
    started = time.monotonic()
    assert tsm("configuration", "get", "-k", "gateway.public.port").stdout == "443\n"
    assert time.monotonic() - started >= 0.5


@pytest.mark.parametrize("assignment", ["nope=1", "get_shows=sometimes", "fail_next_apply", "secrets_shown=rot13"])
def test_bad_switches_are_refused(tsm: Tsm, assignment: str):
    result = tsm("--standin-set", assignment)
    assert result.returncode == 1 and "tsm stand-in" in result.stderr


def test_switches_work_on_a_state_seeded_before_they_existed(tsm: Tsm):
    data = tsm.data()
    del data["standin"], data["status_queue"]
    tsm.state.write_text(json.dumps(data))
    tsm("configuration", "set", "-k", "gateway.public.port", "-v", "8443")
    assert tsm("configuration", "get", "-k", "gateway.public.port").stdout == "443\n"
    assert tsm("pending-changes", "apply", "--ignore-prompt").returncode == 0
    assert tsm("configuration", "get", "-k", "gateway.public.port").stdout == "8443\n"
    assert tsm("status").stdout == "Status: RUNNING\n"


# --------------------------------------------------------------------------- documented profile and variants


@pytest.mark.parametrize(
    ("form", "expected"),
    [("clear", SEEDED_SECRET), ("masked", "********"), ("empty", ""), ("encrypted", "ENC(")],
)
def test_get_shows_client_secrets_as_the_secrets_switch_says(tsm: Tsm, form: str, expected: str):
    assert tsm("--standin-set", f"secrets_shown={form}").returncode == 0
    shown = json.loads(tsm("configuration", "get", "-k", "oauth.config.clients").stdout)[0]
    assert shown["oauth.config.client_secret"].startswith(expected)
    if form == "encrypted":
        assert shown["oauth.config.client_secret"].endswith(")") and SEEDED_SECRET not in json.dumps(shown)
    # The stored value is untouched: only what get shows changes.
    stored = json.loads(tsm.data()["configuration"]["oauth.config.clients"])[0]
    assert stored["oauth.config.client_secret"] == SEEDED_SECRET


def test_a_key_without_a_value_answers_null(tsm: Tsm):
    assert tsm("--standin-set", "unset=native_api.odbc_extras_allowlist").returncode == 0
    assert tsm("configuration", "get", "-k", "native_api.odbc_extras_allowlist").stdout == "Null\n"
    assert tsm("configuration", "get", "-k", "no.such.key").returncode == 1


def test_apply_restarts_only_when_a_pending_key_needs_it(tsm: Tsm):
    tsm("--standin-set", "no_restart_keys=gateway.public.port")
    tsm("configuration", "set", "-k", "gateway.public.port", "-v", "8443")
    listed = tsm("pending-changes", "list").stdout
    assert "gateway.public.port: 8443" in listed and "do not require a server restart" in listed
    applied = tsm("pending-changes", "apply")  # no prompt: nothing restarts
    assert applied.returncode == 0 and "do not require a server restart" in applied.stdout
    assert tsm.data()["restarts"] == 0 and tsm.data()["apply_log"][-1]["restart"] is False
    tsm("configuration", "set", "-k", "native_api.odbc_extras_allowlist", "-v", "KeepAlive")
    assert "will require a server restart" in tsm("pending-changes", "list").stdout
    assert tsm("pending-changes", "apply", "--ignore-prompt").returncode == 0
    assert tsm.data()["restarts"] == 1


@pytest.mark.parametrize("state", ["unavailable", "unlicensed"])
def test_status_v_reports_a_process_state_after_the_apply(tsm: Tsm, state: str):
    tsm("--standin-set", f"prep_conductor_after_apply={state}")
    assert "status is" not in tsm("status", "-v").stdout
    tsm("configuration", "set", "-k", "gateway.public.port", "-v", "8443")
    tsm("pending-changes", "apply", "--ignore-prompt")
    verbose = tsm("status", "-v").stdout
    assert verbose.count(f"'Tableau Prep Conductor 0' status is {state}.") == 3
    assert verbose.endswith("Status: RUNNING\n")
