# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The controller's own cost at 1,000-5,000 hosts, next to a bare one-task playbook over the same inventory.

Run from the repository root (no root, no lab fleet, no network):

    .venv/bin/python benchmarks/bench_scale.py [--sizes 1000,2500,5000] [--repeat 3] [--repeat-large 1]
    .venv/bin/python benchmarks/bench_scale.py --quick          # 20 hosts, once: the unit test's run

Per size: a synthetic inventory (servers:bridges:desktops 3:2:2 as the lab fleet, benchmarks/bench_rollout.py's
fleet_shape; the lab's group_vars, inventories/lab/group_vars) whose hosts are reached through the BENCHMARK-ONLY
connection plugin benchmarks/scale/connection_plugins/tabops_scale_stub.py: ansible-core builds every module
payload as for SSH and the plugin answers in the worker process, from a model of a converged host (no SSH, no
process per call). Then, per repeat, in this order: the floor (benchmarks/scale/floor.yml: one ansible.builtin.ping
per host), playbooks/preflight.yml (one redshift_odbc_facts call per host, then the fleet plan), site.yml --check,
site.yml (no change: the model is converged) and compliance.yml. Every run is a fresh ansible-playbook process with
the repository's ansible.cfg (forks 20, or --forks); its output goes to a log file.

Measured per run: wall time; controller CPU (user+sys of ansible-playbook and its forked workers, os.wait4); peak
RSS (the largest single process of the tree, ru_maxrss); and, from the BENCHMARK-ONLY callback
benchmarks/scale/callback_plugins/tabops_scale_phases.py, the time per phase: start-up (python, inventory and
playbook loading, before the first task), validation (validate_argument_spec and the staged rollout settings
check), plan (the fleet plan and its summary), per-host tasks (every task that is not run_once: dispatch to the
workers, the action plugins, result handling), summary/report (the rollout summary, the compliance report) and
other; and, across all tasks, the strategy's time in per-host variables (VariableManager.get_vars), dispatch
(_queue_task: forking the worker) and result handling (_process_pending_results, callbacks included).

NOT measured: SSH, the hosts' Python start-up and module run (see benchmarks/bench_rollout.py on the lab fleet),
first runs that change files (the model is converged), Windows hosts (the lab's group_vars are Linux only).

Exit status: 1 when a run fails, times out or changes anything (the model is converged: a no-change run must say
so); 3 with --enforce-targets when a target line is missed; else 0. Results: benchmarks/results/scale-<UTC>.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HERE = REPO / "benchmarks" / "scale"
VENV_BIN = REPO / ".venv" / "bin"
LAB_GROUP_VARS = REPO / "inventories" / "lab" / "group_vars"
RESULTS_DIR = REPO / "benchmarks" / "results"
STUB = "tabops_scale_stub"
CALLBACK = "tabops_scale_phases"
PHASES_ENV = "TABOPS_SCALE_PHASES_FILE"
# (run name, playbook, extra arguments); the floor first: every ratio is against it.
RUNS = (
    ("floor", HERE / "floor.yml", ()),
    ("preflight", REPO / "playbooks" / "preflight.yml", ()),
    ("site --check", REPO / "playbooks" / "site.yml", ("--check",)),
    ("site no-change", REPO / "playbooks" / "site.yml", ()),
    ("compliance", REPO / "playbooks" / "compliance.yml", ()),
)
FLOOR = "floor"
PHASES = ("start-up", "validation", "plan", "per-host tasks", "summary/report", "other")
TIMERS = ("vars", "dispatch", "results")
# Targets (issue 22): every playbook at most 2x the floor at every size, and 1,000 -> 5,000 hosts at most 5.5x.
FLOOR_RATIO = 2.0
GROWTH = (1000, 5000, 5.5)
QUICK = {"sizes": [20], "repeat": 1, "repeat_large": 1}


def _bench_rollout():
    spec = importlib.util.spec_from_file_location("bench_rollout", REPO / "benchmarks" / "bench_rollout.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ROLLOUT = _bench_rollout()

# -- pure logic (unit-tested) ---------------------------------------------------------------------------------


def inventory(size):
    """The synthetic inventory of ``size`` hosts (the lab's names, groups and proportions), reached by the stub."""
    servers, bridges, desktops = ROLLOUT.fleet_shape(size)
    names = {
        prefix: [f"{prefix}{index}" for index in range(1, count + 1)]
        for (_kind, prefix), count in zip(ROLLOUT.HOST_TYPES, (servers, bridges, desktops))
    }
    servers = names["tsnode"]
    return {
        "all": {
            "vars": {"ansible_connection": STUB, "ansible_python_interpreter": "/usr/bin/python3"},
            "children": {
                "tableau_server": {"hosts": dict.fromkeys(servers)},
                "tableau_server_initial": {"hosts": dict.fromkeys(servers[:1])},
                "tableau_bridge": {"hosts": dict.fromkeys(names["bridge"])},
                "tableau_desktop": {"hosts": dict.fromkeys(names["desktop"])},
            },
        }
    }


def phase_of(task):
    """The phase of one task of the phases callback's document."""
    action = task["action"].rsplit(".", 1)[-1]
    name = task["name"].rsplit(" : ", 1)[-1]  # without the role's prefix
    markers = task.get("markers") or []
    if action == "validate_argument_spec" or name == "Check the staged rollout settings":
        return "validation"
    if "tableau_fleet_plan" in markers or name == "Preflight summary":
        return "plan"
    if "tableau_rollout_summary" in markers or action == "compliance_report" or name == "Say the result":
        return "summary/report"
    if not task["run_once"]:
        return "per-host tasks"
    return "other"


def phase_seconds(document, wall):
    """{phase: seconds}: the callback's tasks by phase, start-up the wall time before the callback's span."""
    seconds = dict.fromkeys(PHASES, 0.0)
    seconds["start-up"] = max(wall - document.get("seconds", 0.0), 0.0)
    for task in document.get("tasks", []):
        seconds[phase_of(task)] += task.get("seconds", 0.0)
    # Time between tasks (play starts, the stats): counted as other.
    seconds["other"] += max(document.get("seconds", 0.0) - sum(t.get("seconds", 0.0) for t in document["tasks"]), 0)
    return {phase: round(value, 3) for phase, value in seconds.items()}


def median_run(runs):
    """The per-field median of several measurements of one run (numbers and the phase dicts)."""
    merged = dict(runs[0], repeats=len(runs))
    for key in ("wall_s", "cpu_s", "peak_rss_mib"):
        merged[key] = statistics.median(run[key] for run in runs)
    for key in ("phases", "timers"):
        merged[key] = {name: statistics.median(run[key][name] for run in runs) for name in runs[0][key]}
    merged["wall_range"] = [min(run["wall_s"] for run in runs), max(run["wall_s"] for run in runs)]
    return merged


def verdicts(results):
    """[(line, met)]: each playbook against the floor of its size, and the growth from 1,000 to 5,000 hosts."""
    found = []
    for size in sorted(results):
        floor = results[size].get(FLOOR)
        for name, run in results[size].items():
            if name == FLOOR or floor is None:
                continue
            ratio = run["wall_s"] / floor["wall_s"]
            found.append(
                (f"{size} hosts, {name}: {ratio:.2f}x the floor (wall; target <= {FLOOR_RATIO}x)", ratio <= FLOOR_RATIO)
            )
    small, large, limit = GROWTH
    if small in results and large in results:
        for name, run in results[large].items():
            if name in results[small]:
                growth = run["wall_s"] / results[small][name]["wall_s"]
                found.append(
                    (f"{name}: {large} / {small} hosts = {growth:.2f}x (wall; target <= {limit}x)", growth <= limit)
                )
    return found


def table(results):
    head = (
        f"{'size':>5}  {'run':<15}{'wall s':>8}{'CPU s':>8}{'RSS MiB':>9}{'x floor':>8}  "
        + "".join(f"{p[:11]:>12}" for p in PHASES)
        + "".join(f"{t:>10}" for t in TIMERS)
    )
    lines = [head, "-" * len(head)]
    for size in sorted(results):
        floor = results[size].get(FLOOR)
        for name, run in results[size].items():
            ratio = run["wall_s"] / floor["wall_s"] if floor else float("nan")
            lines.append(
                f"{size:>5}  {name:<15}{run['wall_s']:>8.2f}{run['cpu_s']:>8.2f}{run['peak_rss_mib']:>9.0f}"
                f"{ratio:>8.2f}  "
                + "".join(f"{run['phases'][p]:>12.2f}" for p in PHASES)
                + "".join(f"{run['timers'][t]:>10.2f}" for t in TIMERS)
            )
    return "\n".join(lines)


def run_problems(size, name, run):
    problems = []
    if run.get("timeout"):
        problems.append(f"{size} hosts, {name}: timed out after {run['wall_s']:.0f} s")
    elif run["rc"] != 0:
        problems.append(f"{size} hosts, {name}: exit status {run['rc']} (log: {run['log']})")
    else:
        recap = run["recap"]
        if recap.get("changed") or recap.get("failures") or recap.get("unreachable"):
            problems.append(f"{size} hosts, {name}: recap {recap} (the converged model must change nothing)")
        if recap.get("ok", 0) < size:
            problems.append(f"{size} hosts, {name}: only {recap.get('ok', 0)} ok results for {size} hosts")
    return problems


# -- running --------------------------------------------------------------------------------------------------


def write_inventory(folder, size):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hosts.yml").write_text(json.dumps(inventory(size), indent=1), encoding="utf-8")  # JSON is YAML
    link = folder / "group_vars"
    if not link.exists():
        link.symlink_to(LAB_GROUP_VARS)
    return folder / "hosts.yml"


def measure(name, playbook, extra, hosts_file, work, forks, timeout):
    """One ansible-playbook run: wall, CPU and peak RSS of its process tree, and the phases callback's document."""
    phases_file = work / f"{name.replace(' ', '_').replace('-', '')}.phases.json"
    log = work / f"{name.replace(' ', '_').replace('-', '')}.log"
    phases_file.unlink(missing_ok=True)
    env = dict(
        os.environ,
        ANSIBLE_CONNECTION_PLUGINS=str(HERE / "connection_plugins"),
        ANSIBLE_CALLBACK_PLUGINS=str(HERE / "callback_plugins"),
        ANSIBLE_CALLBACKS_ENABLED=CALLBACK,
        ANSIBLE_NOCOLOR="1",
        **{PHASES_ENV: str(phases_file)},
    )
    if forks:
        env["ANSIBLE_FORKS"] = str(forks)
    command = [str(VENV_BIN / "ansible-playbook"), "-i", str(hosts_file), str(playbook), *extra]
    if name == "compliance":
        command += ["-e", f"tabops_compliance_report_dir={work / 'reports'}"]
    with open(log, "w", encoding="utf-8") as output:
        start = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline, timed_out = start + timeout, False
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline and not timed_out:
                os.killpg(process.pid, signal.SIGKILL)
                timed_out = True
            time.sleep(0.05)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    document = json.loads(phases_file.read_text(encoding="utf-8")) if phases_file.exists() else {"tasks": []}
    return {
        "run": name,
        "rc": process.returncode,
        "timeout": timed_out,
        "log": str(log),
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "phases": phase_seconds(document, wall),
        "timers": {t: document.get("timers", {}).get(t, 0.0) for t in TIMERS},
        "recap": document.get("recap", {}),
        "slowest_tasks": sorted(document.get("tasks", []), key=lambda t: -t.get("seconds", 0))[:4],
    }


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--sizes", default="1000,2500,5000", help="hosts per inventory, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="repeats per size up to 2,500 hosts (median shown)")
    parser.add_argument("--repeat-large", type=int, default=1, help="repeats per size over 2,500 hosts")
    parser.add_argument("--runs", default=",".join(name for name, _p, _e in RUNS), help="which runs, comma-separated")
    parser.add_argument("--forks", type=int, default=0, help="forks (default: ansible.cfg's)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per ansible-playbook run")
    parser.add_argument("--budget", type=float, default=0, help="start no run after this many seconds (0: none)")
    parser.add_argument("--quick", action="store_true", help="20 hosts, one repeat (the unit test)")
    parser.add_argument("--enforce-targets", action="store_true", help="exit 3 when a target line is missed")
    parser.add_argument("--output", help="JSON result file (default benchmarks/results/scale-<UTC>.json)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.repeat, args.repeat_large = QUICK["sizes"], QUICK["repeat"], QUICK["repeat_large"]
    else:
        args.sizes = [int(size) for size in str(args.sizes).split(",") if size.strip()]
    wanted = [name.strip() for name in args.runs.split(",") if name.strip()]
    unknown = sorted(set(wanted) - {name for name, _p, _e in RUNS})
    if unknown:
        parser.error("unknown runs: %s" % ", ".join(unknown))
    if FLOOR not in wanted:
        wanted.insert(0, FLOOR)  # every figure is against the floor
    args.runs = [run for run in RUNS if run[0] in wanted]
    if any(size < 1 for size in args.sizes) or args.repeat < 1 or args.repeat_large < 1:
        parser.error("sizes and repeats must be 1 or more")
    return args


def main(argv=None):
    args = parse_args(argv)
    started, begin = datetime.now(timezone.utc), time.perf_counter()
    results, raw, problems, skipped = {}, {}, [], []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as scratch:
        for size in args.sizes:
            hosts_file = write_inventory(Path(scratch) / f"hosts-{size}", size)
            repeats = args.repeat if size <= 2500 else args.repeat_large
            for repeat in range(1, repeats + 1):
                for name, playbook, extra in args.runs:
                    if args.budget and time.perf_counter() - begin > args.budget:
                        skipped.append(f"{size} hosts, repeat {repeat}, {name}")
                        continue
                    work = Path(scratch) / f"run-{size}-{repeat}"
                    work.mkdir(exist_ok=True)
                    run = measure(name, playbook, extra, hosts_file, work, args.forks, args.timeout)
                    run_problems_found = run_problems(size, name, run)
                    if run_problems_found:
                        log_tail = Path(run["log"]).read_text(encoding="utf-8", errors="replace")[-3000:]
                        print(log_tail, file=sys.stderr)
                    problems += run_problems_found
                    raw.setdefault(size, {}).setdefault(name, []).append(run)
                    print(
                        f"{size} hosts, repeat {repeat}, {name}: {run['wall_s']:.2f} s wall, {run['cpu_s']:.2f} s CPU, "
                        f"{run['peak_rss_mib']:.0f} MiB",
                        flush=True,
                    )
        for size, runs in raw.items():
            results[size] = {name: median_run(measured) for name, measured in runs.items()}
    print()
    print(table(results))
    found = verdicts(results)
    print()
    for line, met in found:
        print(f"{line} {'✓' if met else '✗'}")
    for size in sorted(results):
        for name, run in results[size].items():
            slow = ", ".join(f"{t['name'][:40]} {t['seconds']:.2f} s" for t in run["slowest_tasks"][:3])
            print(f"{size} hosts, {name}: slowest tasks: {slow}")
    for line in skipped:
        print(f"not run (--budget {args.budget:.0f} s reached): {line}")
    for line in problems:
        print(f"PROBLEM: {line}")
    load = os.getloadavg()
    document = {
        "started": started.isoformat(),
        "seconds": round(time.perf_counter() - begin, 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average": load},
        "args": {"sizes": args.sizes, "repeat": args.repeat, "repeat_large": args.repeat_large, "forks": args.forks},
        "results": results,
        "raw": raw,
        "targets": [{"line": line, "met": met} for line, met in found],
        "skipped": skipped,
        "problems": problems,
    }
    output = Path(args.output) if args.output else RESULTS_DIR / f"scale-{started:%Y%m%dT%H%M%SZ}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=1, default=str), encoding="utf-8")
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; results: {output}")
    if problems:
        return 1
    if args.enforce_targets and not all(met for _line, met in found):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
