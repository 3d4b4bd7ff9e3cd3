# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The rollout benchmark's counting and reporting logic, and the module_counter callback it enables.

Nothing here is timed and no lab fleet is started: the counting runs on a canned callback document, and the
callback runs on a local-connection playbook.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SPEC = importlib.util.spec_from_file_location("bench_rollout", REPO / "benchmarks" / "bench_rollout.py")
bench = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(bench)


def counts(ok=1, changed=0, failed=0, unreachable=0):
    return {"ok": ok, "changed": changed, "failed": failed, "unreachable": unreachable}


# What module_counter wrote for a first site.yml run on a fleet of 2 servers, 1 bridge (abridged).
CANNED = {
    "controller_actions": ["assert", "debug", "include_role", "set_fact", "validate_argument_spec"],
    "counts": {
        "tsnode1": {
            "ansible.builtin.set_fact": counts(1),
            "ansible.builtin.assert": counts(1),
            "tabops.redshift_oauth.tableau_files": counts(1, 1),
            "tabops.redshift_oauth.tsm_settings": counts(1, 1),
            "tabops.redshift_oauth.tsm_pending_changes": counts(1, 1),
        },
        "tsnode2": {"tabops.redshift_oauth.tableau_files": counts(1, 1)},
        "bridge1": {"tabops.redshift_oauth.tableau_files": counts(0, 0, 1)},
    },
    "plays": [{"name": "Preflight - check", "seconds": 1.0, "tasks": []}],
    "stats": {
        "tsnode1": {"ok": 5, "changed": 3, "failures": 0, "unreachable": 0},
        "tsnode2": {"ok": 1, "changed": 1, "failures": 0, "unreachable": 0},
        "bridge1": {"ok": 0, "changed": 0, "failures": 1, "unreachable": 0},
    },
}


@pytest.mark.parametrize(
    ("size", "shape"),
    [(1, (1, 0, 0)), (2, (1, 0, 1)), (5, (2, 1, 2)), (7, (3, 2, 2)), (20, (8, 6, 6)), (50, (22, 14, 14))],
)
def test_fleet_shape_follows_the_default_proportions(size, shape):
    assert bench.fleet_shape(size) == shape


def test_fleet_shape_always_adds_up_and_has_a_server():
    for size in range(1, 51):
        servers, bridges, desktops = bench.fleet_shape(size)
        assert servers + bridges + desktops == size
        assert servers >= 1
    with pytest.raises(ValueError):
        bench.fleet_shape(0)


def test_invocations_split_host_contacting_modules_from_controller_actions():
    per_host = bench.invocations(CANNED, ["tsnode1", "tsnode2", "bridge1", "desktop1"])
    assert per_host["tsnode1"]["contact"] == {
        "tabops.redshift_oauth.tableau_files": 1,
        "tabops.redshift_oauth.tsm_settings": 1,
        "tabops.redshift_oauth.tsm_pending_changes": 1,
    }
    assert per_host["tsnode2"]["contact"] == {"tabops.redshift_oauth.tableau_files": 1}
    assert per_host["tsnode2"]["controller"] == {}
    assert per_host["tsnode1"]["controller"] == {"ansible.builtin.set_fact": 1, "ansible.builtin.assert": 1}
    # A failed execution still ran; a host without any count is listed with nothing.
    assert per_host["bridge1"]["contact"] == {"tabops.redshift_oauth.tableau_files": 1}
    assert per_host["desktop1"] == {"contact": {}, "controller": {}}


def test_per_type_summary_reports_min_max_mean():
    summary = bench.per_type_summary(bench.invocations(CANNED, ["tsnode1", "tsnode2", "bridge1"]))
    assert summary["server"] == {"hosts": 2, "contact": (1, 3, 2.0), "controller": (0, 2, 1.0)}
    assert summary["bridge"]["contact"] == (1, 1, 1.0)
    assert "desktop" not in summary
    assert bench.format_counts(summary, "contact") == "1-3/1/-"


def test_recap_totals():
    assert bench.changed_total(CANNED) == 4
    assert bench.failed_total(CANNED) == 1
    assert bench.changed_total({}) == 0


def test_check_lines_confirm_one_tableau_files_call_per_host_and_tsm_once_on_the_initial_node():
    lines, ok = bench.check_lines("site first", bench.invocations(CANNED, ["tsnode1", "tsnode2", "bridge1"]), "tsnode1")
    assert ok
    assert lines[0] == "site first: tableau_files per host: 1 ✓ (3 hosts)"
    assert lines[1] == "site first: controller-side actions per host: at most 2 ✓ (limit 2)"
    assert "tsm_pending_changes: tsnode1 x1 ✓" in lines[2]
    assert "other host-contacting module tsm_settings: tsnode1 x1 ✓ once per cluster on the initial node" in lines[3]


def test_check_lines_flag_a_second_host_call_extra_controller_actions_and_tsm_on_another_node():
    document = json.loads(json.dumps(CANNED))
    document["counts"]["tsnode2"]["tabops.redshift_oauth.tableau_files"] = counts(2)
    document["counts"]["tsnode2"]["tabops.redshift_oauth.tsm_settings"] = counts(1)
    document["counts"]["bridge1"]["ansible.builtin.copy"] = counts(3)
    document["counts"]["bridge1"]["ansible.builtin.set_fact"] = counts(3)
    lines, ok = bench.check_lines(
        "site first", bench.invocations(document, ["tsnode1", "tsnode2", "bridge1"]), "tsnode1"
    )
    assert not ok
    assert lines[0] == "site first: tableau_files per host: 1..2 ✗ (3 hosts)"
    assert lines[1] == "site first: controller-side actions per host: at most 3 ✗ (limit 2)"
    assert any(line.endswith("copy: 1 of 3 hosts, 3 per host ✗ a second host call") for line in lines)
    assert any("tsm_settings: tsnode1 x1, tsnode2 x1 ✗ expected once, on the initial node" in line for line in lines)


def test_a_repeat_that_changes_something_in_a_no_change_run_fails_even_if_the_median_does_not():
    per_host = bench.invocations(CANNED, ["tsnode1", "tsnode2", "bridge1"])
    good = {"run": "site no-change", "changed": 0, "per_host": per_host}
    bad = dict(good, changed=7)
    assert bench.repeat_problems(20, 1, [good], "tsnode1")[1] == []
    assert bench.repeat_problems(20, 3, [bad], "tsnode1")[1] == [
        "20 hosts, repeat 3, site no-change: changed 7 (must be 0)"
    ]
    merged = bench.median_run(
        [
            run("site no-change", 1, 1, changed=0),
            run("site no-change", 1, 1, changed=0),
            run("site no-change", 1, 1, changed=7),
        ]
    )
    assert merged["changed"] == 7 and merged["changed_per_repeat"] == [0, 0, 7]


def test_verdicts_compare_with_the_targets_from_20_hosts_on():
    runs = [
        dict(run("site no-change", 6.0, 1), ratio_to_ping=1.5),
        dict(run("compliance", 9.0, 1), ratio_to_ping=2.25),
        dict(run("site first (cold)", 9.0, 1), ratio_to_ping=2.25),
        run("naive no-change", 31.0, 1),
        run("site no-change, 8 configs", 7.2, 1),
    ]
    lines = dict(bench.verdicts(20, runs))
    assert lines["20 hosts, site no-change: 1.50x warm ping (target <= 2.0x)"] is True
    assert lines["20 hosts, compliance: 2.25x warm ping (target <= 2.0x)"] is False
    assert lines["20 hosts, site first (cold): 2.25x warm ping (target <= 2.5x)"] is True
    assert lines["20 hosts, naive no-change / site no-change: 5.2x (target >= 5.0x)"] is True
    assert lines["20 hosts, no-change with 8 OAuth configs vs 2: 1.20x (target <= 1.3x)"] is True
    assert [line for line, _met in bench.verdicts(5, runs)] == [
        "5 hosts, no-change with 8 OAuth configs vs 2: 1.20x (target <= 1.3x)"
    ]


def test_growth_configs_are_distinct_valid_configs():
    import yaml

    lab = yaml.safe_load((REPO / "inventories" / "lab" / "group_vars" / "all" / "tabops.yml").read_text())
    configs = bench.growth_configs(lab)
    assert len(configs) == 8 and len({c["id"] for c in configs}) == 8
    assert configs[:2] == lab["tabops_oauth_configs"]
    assert all("server_client" not in c for c in configs[2:])


def test_cpu_counters_parse_proc_files():
    assert bench.cpu_jiffies("cpu  100 5 50 1000 20 1 2 3 0 0\ncpu0 1 1 1 1 1 1 1 1 0 0\n") == (161, 1181)
    # A command name with spaces and parentheses does not shift the fields.
    line = "4242 (python3 (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 11 5 20 0 1 0 99 1 1 0"
    assert bench.proc_cpu_ticks(line, with_children=False) == 10
    assert bench.proc_cpu_ticks(line, with_children=True) == 26


def run(name, wall, cpu, **extra):
    return {"run": name, "wall_s": wall, "controller_cpu_s": cpu, "ssh_cpu_s": 0.0, "hosts_cpu_s": 1.0} | extra


def test_median_ratio_and_marginal_cost():
    merged = bench.median_run([run("site first", 5.0, 4.0), run("site first", 7.0, 5.0), run("site first", 6.0, 9.0)])
    assert (merged["wall_s"], merged["controller_cpu_s"], merged["repeats"]) == (6.0, 5.0, 3)
    assert merged["wall_range"] == (5.0, 7.0)
    runs = [run("ping (warm)", 2.0, 1.0), run("site first", 6.0, 4.0)]
    bench.attach_ratios(runs)
    assert [entry["ratio_to_ping"] for entry in runs] == [1.0, 3.0]
    slopes = bench.marginal_costs([(20, [run("site first", 16.0, 14.0)]), (5, [run("site first", 4.0, 2.0)])])
    assert slopes["site first"]["wall_ms_per_host"] == 800.0
    assert slopes["site first"]["cpu_ms_per_host"] == 800.0
    assert slopes["site first"]["hosts_cpu_ms_per_host"] == 0.0
    assert bench.marginal_costs([(5, [])]) == {}


def test_format_table_has_one_line_per_run():
    per_type = bench.per_type_summary(bench.invocations(CANNED, ["tsnode1", "tsnode2", "bridge1"]))
    row = run("site first", 5.234, 4.5, size=3, peak_rss_kib=62 * 1024, changed=4, per_type=per_type)
    row["ratio_to_ping"] = 3.04
    text = bench.format_table([row])
    header, rule, line = text.splitlines()
    assert header.split()[:3] == ["size", "run", "wall"]
    assert set(rule) == {"-"}
    assert line.split()[:5] == ["3", "site", "first", "5.23", "4.50"]
    assert "1-3/1/-" in line and "0-2/0/-" in line and line.endswith("3.0")


PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.set_fact:
        answer: 42
    - ansible.builtin.ping:
    - ansible.builtin.ping:
      loop: [1, 2]
    - ansible.builtin.command: "true"
      run_once: true
      delegate_to: h2
    - ansible.builtin.ping:
      when: false
"""


def test_module_counter_counts_per_host_loop_items_and_delegation(tmp_path):
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "hosts.ini").write_text(
        f"h1 ansible_connection=local ansible_python_interpreter={sys.executable}\n"
        f"h2 ansible_connection=local ansible_python_interpreter={sys.executable}\n"
    )
    output = tmp_path / "counts.json"
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_CALLBACKS_ENABLED="tabops.redshift_oauth.module_counter",
        TABOPS_MODULE_COUNTER_FILE=str(output),
    )
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "hosts.ini"), "play.yml"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    document = json.loads(output.read_text())
    assert document["counts"]["h1"] == {
        "ansible.builtin.set_fact": counts(1),
        "ansible.builtin.ping": counts(3),
    }
    # The run_once command ran once, on the host it was delegated to; the skipped ping ran nowhere.
    assert document["counts"]["h2"]["ansible.builtin.command"] == counts(1, 1)
    assert document["run_once"] == {"h2": {"ansible.builtin.command": 1}}
    assert document["counts"]["h2"]["ansible.builtin.ping"] == counts(3)
    assert document["stats"]["h1"]["changed"] == 1  # run_once: the result is recorded for the first host
    assert [task["action"] for task in document["plays"][0]["tasks"]][-1] == "ansible.builtin.ping"
    per_host = bench.invocations(document, ["h1", "h2"])
    assert per_host["h1"] == {"contact": {"ansible.builtin.ping": 3}, "controller": {"ansible.builtin.set_fact": 1}}


def test_run_once_controller_tasks_are_listed_apart_from_the_per_host_budget():
    document = json.loads(json.dumps(CANNED))
    document["run_once"] = {"tsnode1": {"ansible.builtin.set_fact": 1, "ansible.builtin.assert": 1}}
    document["counts"]["tsnode1"]["ansible.builtin.debug"] = counts(1)
    per_host = bench.invocations(document, ["tsnode1", "tsnode2", "bridge1"])
    assert per_host["tsnode1"]["controller"] == {"ansible.builtin.debug": 1}
    assert per_host["tsnode1"]["once"] == {"ansible.builtin.set_fact": 1, "ansible.builtin.assert": 1}
    lines, ok = bench.check_lines("compliance", per_host, "tsnode1")
    assert ok
    assert "compliance: run_once controller tasks (once per run, for the fleet): assert x1, set_fact x1" in lines
