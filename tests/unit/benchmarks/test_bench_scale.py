# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The scale benchmark: its logic, its benchmark-only stub connection, and one real run at 20 hosts.

The real run (``--quick``: 20 synthetic hosts, once, every playbook) keeps the benchmark from rotting: a playbook
that fails, changes something on the converged model or calls a module the stub has no model for fails it.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SPEC = importlib.util.spec_from_file_location("bench_scale", REPO / "benchmarks" / "bench_scale.py")
bench = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(bench)
STUB_PATH = REPO / "benchmarks" / "scale" / "connection_plugins" / "tabops_scale_stub.py"


def load_stub():
    sys.path.insert(0, str(REPO / ".collections"))
    spec = importlib.util.spec_from_file_location("tabops_scale_stub", STUB_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_inventory_has_the_lab_proportions_and_reaches_every_host_through_the_stub():
    document = bench.inventory(50)
    children = document["all"]["children"]
    sizes = {group: len(children[group]["hosts"]) for group in ("tableau_server", "tableau_bridge", "tableau_desktop")}
    assert sizes == {"tableau_server": 22, "tableau_bridge": 14, "tableau_desktop": 14}
    assert list(children["tableau_server_initial"]["hosts"]) == ["tsnode1"]
    assert document["all"]["vars"]["ansible_connection"] == bench.STUB


@pytest.mark.parametrize(
    ("task", "phase"),
    [
        (
            {"name": "r : Validating arguments", "action": "ansible.builtin.validate_argument_spec", "run_once": False},
            "validation",
        ),
        ({"name": "p : Plan", "action": "set_fact", "run_once": True, "markers": ["tableau_fleet_plan"]}, "plan"),
        ({"name": "p : Preflight summary", "action": "assert", "run_once": True}, "plan"),
        (
            {"name": "Rollout summary", "action": "assert", "run_once": True, "markers": ["tableau_rollout_summary"]},
            "summary/report",
        ),
        ({"name": "Write", "action": "tabops.redshift_oauth.compliance_report", "run_once": True}, "summary/report"),
        (
            {"name": "r : Sync", "action": "tabops.redshift_oauth.tableau_files", "run_once": False},
            "per-host tasks",
        ),
        ({"name": "Name this rollout", "action": "set_fact", "run_once": True}, "other"),
    ],
)
def test_phase_of_each_task(task, phase):
    assert bench.phase_of(task) == phase


def test_phase_seconds_adds_up_to_the_wall_time():
    document = {
        "seconds": 10.0,
        "tasks": [
            {"name": "Plan", "action": "set_fact", "run_once": True, "markers": ["tableau_fleet_plan"], "seconds": 2},
            {"name": "Sync", "action": "x.y.tableau_files", "run_once": False, "seconds": 7},
        ],
    }
    seconds = bench.phase_seconds(document, wall=12.5)
    assert seconds["start-up"] == 2.5 and seconds["plan"] == 2 and seconds["per-host tasks"] == 7
    assert seconds["other"] == 1
    assert sum(seconds.values()) == pytest.approx(12.5)


def run(wall, cpu=1.0):
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_mib": 60,
        "phases": dict.fromkeys(bench.PHASES, 0.0),
        "timers": dict.fromkeys(bench.TIMERS, 0.0),
        "slowest_tasks": [],
    }


def test_verdicts_compare_with_the_floor_of_the_same_size_and_the_growth():
    results = {
        1000: {"floor": bench.median_run([run(10), run(12), run(11)]), "site no-change": run(21)},
        5000: {"floor": run(50), "site no-change": run(120)},
    }
    assert results[1000]["floor"]["wall_s"] == 11
    lines = dict(bench.verdicts(results))
    assert lines["1000 hosts, site no-change: 1.91x the floor (wall; target <= 2.0x)"] is True
    assert lines["5000 hosts, site no-change: 2.40x the floor (wall; target <= 2.0x)"] is False
    assert lines["site no-change: 5000 / 1000 hosts = 5.71x (wall; target <= 5.5x)"] is False
    assert lines["floor: 5000 / 1000 hosts = 4.55x (wall; target <= 5.5x)"] is True
    assert "site no-change" in bench.table(results)


def test_a_failed_changed_or_short_run_is_a_problem():
    good = {"rc": 0, "timeout": False, "recap": {"ok": 20, "changed": 0, "failures": 0, "unreachable": 0}}
    assert bench.run_problems(20, "site no-change", good) == []
    assert bench.run_problems(20, "x", dict(good, recap=dict(good["recap"], changed=1)))
    assert bench.run_problems(20, "x", dict(good, recap=dict(good["recap"], ok=3)))
    assert bench.run_problems(20, "x", dict(good, rc=2, log="l"))
    assert bench.run_problems(20, "x", dict(good, timeout=True, wall_s=9))


def test_stub_reads_the_module_and_its_arguments_from_an_ansiballz_call():
    """The call at the end of the wrapper, written as ansible-core's module_common writes it (the quick run below
    parses real payloads)."""
    stub = load_stub()
    args = {
        "ansible_module": "ping",
        "module_fqn": "ansible.modules.ping",
        "params": json.dumps({"ANSIBLE_MODULE_ARGS": {"data": "it's,\n"}}),
        "zip_data": "UEsDBBQ=",
    }
    args_string = "\n".join(f"{key}={value!r}," for key, value in args.items())
    wrapper = 'def _ansiballz_main(**kw): pass\n\n\nif __name__ == "__main__":\n'
    payload = f"{wrapper}    _ansiballz_main(\n{args_string}\n)\n"
    name, module_args = stub.module_call(payload.encode())
    assert name == "ping"
    assert module_args == {"data": "it's,\n"}
    assert stub.MODELS["ping"](module_args) == {"ping": "it's,\n", "changed": False}


def test_stub_answers_a_converged_host_and_refuses_what_it_does_not_model():
    stub = load_stub()
    answer = stub.tableau_files(
        {
            "files": [
                {
                    "path": "/a/b.xml",
                    "artifact": "c",
                    "application": "desktop",
                    "kind": "oauth_config",
                    "content": "<x/>",
                }
            ],
            "folders": [{"path": "/a"}],
            "host_facts": {"tableau_server": True},
        }
    )
    assert answer["changed"] is False and answer["files"][0]["status"] == "compliant"
    assert "content" not in answer["files"][0]
    assert answer["host_facts"]["tableau_server"]["version"]
    assert "tsm_pending_changes" not in stub.MODELS  # a no-change run never applies


# The benchmark runs .venv's ansible-playbook whatever runs pytest: on an older ansible-core it would measure the
# newest release again.
@pytest.mark.newest_core
def test_bench_scale_quick_run_passes(tmp_path):
    """20 hosts, every playbook once, through the stub: no failure, no change, every phase accounted for."""
    output = tmp_path / "scale.json"
    completed = subprocess.run(
        [
            str(REPO / ".venv" / "bin" / "python"),
            str(REPO / "benchmarks" / "bench_scale.py"),
            "--quick",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    document = json.loads(output.read_text())
    runs = document["results"]["20"]
    assert set(runs) == {name for name, _p, _e in bench.RUNS}
    for name, measured in runs.items():
        assert measured["recap"]["changed"] == 0 and measured["recap"]["failures"] == 0, name
        assert measured["wall_s"] > 0 and measured["cpu_s"] > 0 and measured["peak_rss_mib"] > 0, name
        assert measured["phases"]["per-host tasks"] > 0, name
    assert runs["preflight"]["phases"]["plan"] > 0
    assert runs["compliance"]["phases"]["summary/report"] > 0
    assert "x floor" in completed.stdout
