# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Rollout and compliance cost on lab fleets, next to `ansible all -m ping` and a naive builtin playbook.

Run from the repository root, as root (the lab fleet needs namespaces):

    .venv/bin/python benchmarks/bench_rollout.py --sizes 5,20,50 [--repeat 3] [--fleet-id bench] [--forks N]

Per size and repeat, on a fresh lab fleet (servers:bridges:desktops 3:2:2, rounded, at least one server):
`site.yml` first run COLD (a new ControlPath directory: new SSH connections, as a scheduled job meets them),
`ansible all -m ping` warm (the baseline every ratio is against, measured in the same process), `site.yml`
no-change, `site.yml --check`, `scripts/compliance`, the same two in realistic My Tableau Repository folders
(`--repository-datasources`), `site.yml` with 8 OAuth configs instead of 2 (a converge run,
then its no-change run: growth in Tableau files), the naive builtin playbook benchmarks/naive_rollout.yml (converge,
then no-change); then on a second fresh fleet `ansible all -m ping` cold and `site.yml` first run WARM (SSH
sessions open). The fleet is stopped at the end, also on an error or Ctrl-C.

Measured per run: wall time; controller CPU (user+sys of ansible and everything it waited for); CPU of the lab
hosts' processes and of the SSH ControlPersist masters; peak RSS; and, from the callback
tabops.redshift_oauth.module_counter, the actions run per host (host-contacting modules vs controller-side
actions) and per-play / per-task wall times. The table shows the median of the repeats per run. A repeat whose
no-change, --check, compliance or naive no-change run changed anything, or whose per-host call counts break the
design (one host call per Tableau host, at most 2 controller-side actions per host, tsm once on the tsm node)
fails the benchmark (exit 1): counts are checked in every repeat, not in the median.
Results: benchmarks/results/rollout-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LAB_FLEET = REPO / "scripts" / "lab-fleet"
VENV_BIN = REPO / ".venv" / "bin"
LAB_GROUP_VARS = REPO / "inventories" / "lab" / "group_vars"
RESULTS_DIR = REPO / "benchmarks" / "results"
CALLBACK = "tabops.redshift_oauth.module_counter"

NAIVE_PLAYBOOK = REPO / "benchmarks" / "naive_rollout.yml"
COMPLIANCE = REPO / "scripts" / "compliance"
MAX_CONTROLLER_ACTIONS = 2
GROWTH_CONFIGS = 8
# Targets (issue 11) at 20 hosts and more: ratio to the warm ping.
TARGETS = {"site no-change": 2.0, "compliance": 2.0, "site first (cold)": 2.5, "site first (warm)": 2.5}
NAIVE_SPEEDUP = 5.0
GROWTH_LIMIT = 1.3
# With --repository-datasources N (default 48; 0 skips them): every Tableau repository on the desktops and bridges
# becomes a realistic My Tableau Repository (tests/unit/fixtures/tableau_repository.py: Logs, Workbooks, Datasources
# with N saved data sources, their .xml exports and TDCs of other connectors, ...), then site no-change and
# compliance run again: what the scan and conflict check of a real repository cost.
REALISTIC_RUNS = ("site no-change, realistic repository", "compliance, realistic repository")
IDEMPOTENT_RUNS = (
    "site no-change",
    "site --check",
    "compliance",
    "site no-change, 8 configs",
    "naive no-change",
    *REALISTIC_RUNS,
)
HOST_TYPES = (("server", "tsnode"), ("bridge", "bridge"), ("desktop", "desktop"))
PROPORTIONS = (3, 2, 2)  # servers : bridges : desktops, as the default lab fleet (3/2/2)
TABLEAU_FILES = "tabops.redshift_oauth.tableau_files"
# tsm_probe: the read-only check of what tsm shows, before any host is changed (one get, once per cluster).
TSM_MODULES = (
    "tabops.redshift_oauth.tsm_probe",
    "tabops.redshift_oauth.tsm_settings",
    "tabops.redshift_oauth.tsm_pending_changes",
)
# The counting callback's own list of controller-side actions: one definition for both.
sys.path.insert(0, str(REPO / ".collections"))
from ansible_collections.tabops.redshift_oauth.plugins.callback.module_counter import (  # noqa: E402
    CONTROLLER_ACTIONS,
)

# -- pure logic (unit-tested) ---------------------------------------------------------------------------------


def fleet_shape(size):
    """(servers, bridges, desktops) for ``size`` hosts in the 3:2:2 proportions, largest remainder, >= 1 server."""
    if size < 1:
        raise ValueError("a fleet needs at least one host")
    total = sum(PROPORTIONS)
    exact = [size * part / total for part in PROPORTIONS]
    counts = [int(value) for value in exact]
    # Hand out the rest by largest remainder; on a tie bridges and desktops before servers (3:2:2 -> 7 = 3/2/2).
    order = sorted(range(3), key=lambda index: (-(exact[index] - counts[index]), -index))
    for index in order[: size - sum(counts)]:
        counts[index] += 1
    if counts[0] == 0:
        counts[0] = 1
        largest = max((1, 2), key=lambda index: counts[index])
        counts[largest] -= 1
    return tuple(counts)


def host_type(host):
    for name, prefix in HOST_TYPES:
        if host.startswith(prefix):
            return name
    return "other"


def short_action(action):
    return action.rsplit(".", 1)[-1]


def is_controller_action(action, controller_actions=CONTROLLER_ACTIONS):
    return short_action(action) in controller_actions


def invocations(document, hosts):
    """Per host: {"contact": {action: n}, "controller": {action: n}} from a module_counter document.

    Counts every execution that ran (ok, failed or unreachable), not skipped ones. Hosts without any count are
    included with empty dicts.
    """
    controller_actions = frozenset(document.get("controller_actions") or CONTROLLER_ACTIONS)
    result = {host: {"contact": {}, "controller": {}} for host in hosts}
    run_once = document.get("run_once") or {}
    for host, actions in document.get("counts", {}).items():
        entry = result.setdefault(host, {"contact": {}, "controller": {}})
        for action, statuses in actions.items():
            runs = statuses.get("ok", 0) + statuses.get("failed", 0) + statuses.get("unreachable", 0)
            if not runs:
                continue
            if is_controller_action(action, controller_actions):
                # A run_once controller task runs once for the fleet: listed apart, outside the per-host budget.
                once = min(runs, run_once.get(host, {}).get(action, 0))
                if once:
                    entry.setdefault("once", {})[action] = once
                if runs - once:
                    entry["controller"][action] = entry["controller"].get(action, 0) + runs - once
            else:
                entry["contact"][action] = entry["contact"].get(action, 0) + runs
    return result


def per_type_summary(per_host):
    """{type: {"hosts": n, "contact": (min, max, mean), "controller": (min, max, mean)}} over the hosts of a type."""
    summary = {}
    for kind, _prefix in (*HOST_TYPES, ("other", "")):
        members = [counts for host, counts in per_host.items() if host_type(host) == kind]
        if not members:
            continue
        entry = {"hosts": len(members)}
        for side in ("contact", "controller"):
            totals = [sum(counts[side].values()) for counts in members]
            entry[side] = (min(totals), max(totals), round(sum(totals) / len(totals), 2))
        summary[kind] = entry
    return summary


def changed_total(document):
    return sum(stat.get("changed", 0) for stat in document.get("stats", {}).values())


def failed_total(document):
    return sum(stat.get("failures", 0) + stat.get("unreachable", 0) for stat in document.get("stats", {}).values())


def check_lines(run_name, per_host, initial_node):
    """(lines, ok) for the design claim: exactly one host-contacting call (tableau_files: files + facts) per
    Tableau host, at most MAX_CONTROLLER_ACTIONS controller-side actions per host, tsm modules once per cluster on
    the initial node; any other host-contacting module is a violation."""
    lines, ok = [], True
    calls = {host: counts["contact"].get(TABLEAU_FILES, 0) for host, counts in per_host.items()}
    values = sorted(set(calls.values()))
    good = values == [1]
    ok &= good
    shown = values[0] if len(values) == 1 else f"{values[0]}..{values[-1]}"
    lines.append(f"{run_name}: tableau_files per host: {shown} {'✓' if good else '✗'} ({len(calls)} hosts)")
    controller = {host: sum(counts["controller"].values()) for host, counts in per_host.items()}
    worst = max(controller.values(), default=0)
    good = worst <= MAX_CONTROLLER_ACTIONS
    ok &= good
    lines.append(
        f"{run_name}: controller-side actions per host: at most {worst} "
        f"{'✓' if good else '✗'} (limit {MAX_CONTROLLER_ACTIONS})"
    )
    once = {}
    for counts in per_host.values():
        for action, count in counts.get("once", {}).items():
            once[short_action(action)] = once.get(short_action(action), 0) + count
    if once:
        listed = ", ".join(f"{action} x{count}" for action, count in sorted(once.items()))
        lines.append(f"{run_name}: run_once controller tasks (once per run, for the fleet): {listed}")
    others = {}
    for host, counts in per_host.items():
        for action, count in counts["contact"].items():
            if action != TABLEAU_FILES:
                others.setdefault(action, {})[host] = count
    for action in sorted(others):
        ran = others[action]
        if action in TSM_MODULES:
            where = ", ".join(f"{host} x{count}" for host, count in sorted(ran.items()))
            good = set(ran) == {initial_node} and ran[initial_node] == 1
            mark = "✓ once per cluster on the initial node" if good else "✗ expected once, on the initial node"
        else:
            per = sorted(set(ran.values()))
            where = f"{len(ran)} of {len(per_host)} hosts, " + (
                f"{per[0]} per host" if len(per) == 1 else f"{per[0]}..{per[-1]} per host"
            )
            good = False
            mark = "✗ a second host call"
        ok &= good
        lines.append(f"{run_name}: other host-contacting module {short_action(action)}: {where} {mark}")
    return lines, ok


def growth_configs(lab_data, count=GROWTH_CONFIGS):
    """``count`` OAuth configs: the lab's, then copies of its last one under new ids (no server client)."""
    configs = [dict(config) for config in lab_data["tabops_oauth_configs"]]
    template = {k: v for k, v in configs[-1].items() if k != "server_client"}
    while len(configs) < count:
        configs.append(dict(template, id=f"custom_redshift_growth{len(configs)}", label=f"Growth {len(configs)}"))
    return configs[:count]


def verdicts(size, runs):
    """Target lines for one size's median runs: [(line, met)]; targets apply from 20 hosts on."""
    by_name = {run["run"]: run for run in runs}
    found = []
    if size >= 20:
        for name, limit in TARGETS.items():
            if name in by_name and by_name[name].get("ratio_to_ping"):
                ratio = by_name[name]["ratio_to_ping"]
                found.append((f"{size} hosts, {name}: {ratio:.2f}x warm ping (target <= {limit}x)", ratio <= limit))
        if "naive no-change" in by_name and "site no-change" in by_name:
            speedup = by_name["naive no-change"]["wall_s"] / by_name["site no-change"]["wall_s"]
            found.append(
                (
                    f"{size} hosts, naive no-change / site no-change: {speedup:.1f}x (target >= {NAIVE_SPEEDUP}x)",
                    speedup >= NAIVE_SPEEDUP,
                )
            )
    if "site no-change, 8 configs" in by_name and "site no-change" in by_name:
        growth = by_name["site no-change, 8 configs"]["wall_s"] / by_name["site no-change"]["wall_s"]
        found.append(
            (
                f"{size} hosts, no-change with {GROWTH_CONFIGS} OAuth configs vs 2: {growth:.2f}x "
                f"(target <= {GROWTH_LIMIT}x)",
                growth <= GROWTH_LIMIT,
            )
        )
    return found


def repeat_problems(size, repeat, runs, initial_node):
    """(check lines, problems) of one repeat: idempotency and per-host call counts of every playbook run."""
    lines, problems = [], []
    for run in runs:
        name = run["run"]
        if name in IDEMPOTENT_RUNS and run["changed"] != 0:
            problems.append(f"{size} hosts, repeat {repeat}, {name}: changed {run['changed']} (must be 0)")
        if name.startswith("site") or name == "compliance":
            run_lines, ok = check_lines(f"{size} hosts, repeat {repeat}, {name}", run["per_host"], initial_node)
            lines += run_lines
            if not ok:
                problems.append(f"{size} hosts, repeat {repeat}, {name}: per-host call counts break the design")
    return lines, problems


def cpu_jiffies(stat_text):
    """(busy, total) jiffies from the first line of /proc/stat."""
    fields = [int(value) for value in stat_text.splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    return total - idle, total


def median_run(runs):
    """The per-field median of several measurements of the same run (numbers only)."""
    merged = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            merged[key] = statistics.median(run[key] for run in runs)
    merged["repeats"] = len(runs)
    # Counts are not medians: every repeat's changed count is kept (a non-idempotent repeat fails the run).
    if all("changed" in run for run in runs):
        merged["changed"] = max(run["changed"] for run in runs)
        merged["changed_per_repeat"] = [run["changed"] for run in runs]
    if len(runs) > 1:
        merged["wall_range"] = (min(run["wall_s"] for run in runs), max(run["wall_s"] for run in runs))
    return merged


def marginal_costs(sized_runs):
    """{run: {"wall_ms_per_host", "cpu_ms_per_host"}}: slope between the smallest and the largest fleet.

    ``sized_runs`` is [(size, [run, ...]), ...]; the slope removes the fixed start-up cost of ansible.
    """
    if len(sized_runs) < 2:
        return {}
    (small, small_runs), (large, large_runs) = min(sized_runs), max(sized_runs)
    if large == small:
        return {}
    by_name = {run["run"]: run for run in small_runs}
    slopes = {}
    for run in large_runs:
        other = by_name.get(run["run"])
        if other is None:
            continue
        slopes[run["run"]] = {
            "wall_ms_per_host": round(1000 * (run["wall_s"] - other["wall_s"]) / (large - small), 1),
            "cpu_ms_per_host": round(1000 * (run["controller_cpu_s"] - other["controller_cpu_s"]) / (large - small), 1),
            "ssh_cpu_ms_per_host": round(1000 * (run["ssh_cpu_s"] - other["ssh_cpu_s"]) / (large - small), 1),
            "hosts_cpu_ms_per_host": round(1000 * (run["hosts_cpu_s"] - other["hosts_cpu_s"]) / (large - small), 1),
        }
    return slopes


def time_split(run):
    """One line: seconds per play and the slowest tasks of a playbook run."""
    plays = ", ".join(f"{play['name'].split(' - ')[0][:40]} {play['seconds']:.2f} s" for play in run.get("plays", []))
    tasks = ", ".join(
        f"{task['task'].split(' : ')[-1][:45]} {task['seconds']:.2f} s" for task in run.get("slowest_tasks", [])[:3]
    )
    return f"plays: {plays}; slowest tasks: {tasks}"


def format_counts(summary, side):
    parts = []
    for kind, _prefix in HOST_TYPES:
        if kind not in summary:
            parts.append("-")
            continue
        low, high, _mean = summary[kind][side]
        parts.append(str(low) if low == high else f"{low}-{high}")
    return "/".join(parts)


TABLE_COLUMNS = (
    ("size", 5),
    ("run", 16),
    ("wall s", 8),
    ("ctl CPU s", 9),
    ("ssh CPU s", 9),
    ("hosts CPU s", 11),
    ("peak RSS MiB", 12),
    ("host mods/host s/b/d", 20),
    ("ctl actions/host s/b/d", 22),
    ("changed", 7),
    ("x ping", 6),
)


def format_table(rows):
    """Rows: dicts with the keys of a measured run plus "size"; returns the table as text."""
    header = "  ".join(
        name.rjust(width) if index != 1 else name.ljust(width) for index, (name, width) in enumerate(TABLE_COLUMNS)
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        summary = row.get("per_type") or {}
        ratio = row.get("ratio_to_ping")
        wall = f"{row['wall_s']:.2f}"
        values = (
            str(row["size"]),
            row["run"],
            wall,
            f"{row['controller_cpu_s']:.2f}",
            f"{row['ssh_cpu_s']:.2f}",
            f"{row['hosts_cpu_s']:.2f}",
            f"{row['peak_rss_kib'] / 1024:.0f}",
            format_counts(summary, "contact") if summary else "-",
            format_counts(summary, "controller") if summary else "-",
            str(row.get("changed", "-")),
            f"{ratio:.1f}" if ratio else "-",
        )
        cells = [
            value.ljust(width) if index == 1 else value.rjust(width)
            for index, ((_name, width), value) in enumerate(zip(TABLE_COLUMNS, values))
        ]
        lines.append("  ".join(cells))
    return "\n".join(lines)


# -- measuring --------------------------------------------------------------------------------------------------


def read_proc_stat():
    try:
        return cpu_jiffies(Path("/proc/stat").read_text())
    except OSError:
        return 0, 0


def proc_cpu_ticks(stat_text, with_children):
    """utime+stime (and cutime+cstime: the reaped descendants) from a /proc/<pid>/stat line."""
    fields = stat_text[stat_text.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])
    if with_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks


class FleetCpu:
    """CPU ticks of the lab hosts' processes and of the controller's SSH ControlPersist masters.

    Hosts: every process in a host's network namespace (sshd PID 1, its sessions, module Python), with the CPU of
    the descendants it reaped, so a module process that ended is still counted (its parent reaped it). The SSH
    masters are daemons (not children of ansible, so not in RUSAGE_CHILDREN): found by the ControlPath directory
    this benchmark gives them, in their command line.
    """

    def __init__(self, netns_paths, control_dir):
        self.inodes = set()
        for path in netns_paths:
            with contextlib.suppress(OSError):
                self.inodes.add(f"net:[{os.stat(path).st_ino}]")
        self.control_dir = str(control_dir).encode()

    def sample(self):
        hosts = ssh = 0
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                in_fleet = os.readlink(f"/proc/{entry.name}/ns/net") in self.inodes
                if not in_fleet and self.control_dir not in Path(f"/proc/{entry.name}/cmdline").read_bytes():
                    continue
                ticks = proc_cpu_ticks(Path(f"/proc/{entry.name}/stat").read_text(), with_children=in_fleet)
            except (OSError, ValueError, IndexError):
                continue  # gone meanwhile
            if in_fleet:
                hosts += ticks
            else:
                ssh += ticks
        return hosts, ssh


def measure(command, env, log_path, fleet_cpu=None):
    """Run ``command``; return wall, controller / SSH / hosts / machine CPU, peak RSS and exit status."""
    ticks = os.sysconf("SC_CLK_TCK")
    fleet_before = fleet_cpu.sample() if fleet_cpu else (0, 0)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_before = read_proc_stat()[0]
    start = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        try:
            _pid, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            raise
        process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    busy_after = read_proc_stat()[0]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    fleet_after = fleet_cpu.sample() if fleet_cpu else (0, 0)
    controller = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    fleet = (fleet_after[0] - fleet_before[0] + fleet_after[1] - fleet_before[1]) / ticks
    machine = (busy_after - busy_before) / ticks
    return {
        "wall_s": round(wall, 3),
        "controller_cpu_s": round(controller, 3),
        "controller_user_s": round(after.ru_utime - before.ru_utime, 3),
        "controller_sys_s": round(after.ru_stime - before.ru_stime, 3),
        "ssh_cpu_s": round((fleet_after[1] - fleet_before[1]) / ticks, 3),
        "hosts_cpu_s": round((fleet_after[0] - fleet_before[0]) / ticks, 3),
        "machine_cpu_s": round(machine, 3),
        # What else ran on the machine meanwhile (other users' work): machine CPU not accounted for above.
        "others_cpu_s": round(max(0.0, machine - controller - fleet), 3),
        "peak_rss_kib": usage.ru_maxrss,
        "returncode": process.returncode,
    }


def repository_archive(datasources):
    """The realistic repository as a base64 tar.gz (one exec per host writes it into every repository there)."""
    sys.path.insert(0, str(REPO / "tests" / "unit" / "fixtures"))
    from tableau_repository import repository_files  # a test fixture, shared with the integration tests

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for rel, data in sorted(repository_files(datasources=datasources).items()):
            info = tarfile.TarInfo(rel)
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class Bench:
    def __init__(self, fleet_id, workdir, forks=None, check=False, repository_datasources=0):
        self.fleet_id = fleet_id
        self.workdir = Path(workdir)
        self.forks = forks
        self.check = check
        self.repository = repository_archive(repository_datasources) if repository_datasources else None
        self.inventory = self.workdir / "inventory"
        self.fleet_up = False

    def lab(self, *args, check=True):
        return subprocess.run(
            [sys.executable, str(LAB_FLEET), *args, "--fleet-id", self.fleet_id],
            capture_output=True,
            text=True,
            check=check,
        )

    def up(self, shape):
        servers, bridges, desktops = shape
        started = time.perf_counter()
        completed = self.lab(
            "up", "--servers", str(servers), "--bridges", str(bridges), "--desktops", str(desktops), check=False
        )
        if completed.returncode != 0:
            raise RuntimeError(f"lab-fleet up failed: {completed.stderr.strip()}")
        self.fleet_up = True
        seconds = time.perf_counter() - started
        shutil.rmtree(self.inventory, ignore_errors=True)
        self.inventory.mkdir(parents=True)
        (self.inventory / "hosts.yml").write_text(self.lab("inventory").stdout)
        (self.inventory / "group_vars").symlink_to(LAB_GROUP_VARS)
        return round(seconds, 3)

    def down(self):
        if self.fleet_up:
            self.lab("down", check=False)
            self.fleet_up = False

    def populate_repositories(self, hosts):
        """Fill every Desktop and Bridge repository on the desktops and bridges with the realistic files."""
        script = (
            f"echo '{self.repository}' | base64 -d > /tmp/tabops-repository.tgz && "
            "find /home /root /var /opt -maxdepth 6 -type d "
            "\\( -name 'My Tableau Repository' -o -name 'My*Tableau*Bridge*Repository' \\) -exec sh -c "
            '\'tar -xzf /tmp/tabops-repository.tgz -C "$0" --no-same-owner && '
            'chown -R "$(stat -c %U "$0")": "$0" && echo "$0"\' {} \\; ; rm -f /tmp/tabops-repository.tgz'
        )
        for host in hosts:
            if not host.startswith("tsnode"):
                filled = subprocess.run(
                    [
                        sys.executable,
                        str(LAB_FLEET),
                        "exec",
                        "--fleet-id",
                        self.fleet_id,
                        host,
                        "--",
                        "/bin/sh",
                        "-c",
                        script,
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                if not filled.strip():
                    raise RuntimeError(f"{host}: no Tableau repository found to fill with the realistic files")

    def env(self, counter_file, control_dir):
        env = dict(os.environ)
        env.update(
            PATH=f"{VENV_BIN}:{env.get('PATH', '')}",
            ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
            ANSIBLE_CALLBACKS_ENABLED=CALLBACK,
            ANSIBLE_LOAD_CALLBACK_PLUGINS="1",  # ad-hoc `ansible` loads enabled callbacks only with this
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_SSH_CONTROL_PATH_DIR=str(control_dir),  # this fleet's own ControlPersist sessions
            TABOPS_MODULE_COUNTER_FILE=str(counter_file),
        )
        return env

    def run(self, name, command, control_dir, hosts, fleet_cpu=None):
        counter_file = self.workdir / f"{name}.counts.json"
        counter_file.unlink(missing_ok=True)
        if self.forks:
            command = [*command, "--forks", str(self.forks)]
        measured = measure(command, self.env(counter_file, control_dir), self.workdir / f"{name}.log", fleet_cpu)
        document = json.loads(counter_file.read_text()) if counter_file.exists() else {}
        per_host = invocations(document, hosts)
        measured.update(
            run=name,
            changed=changed_total(document),
            failed_or_unreachable=failed_total(document),
            per_type=per_type_summary(per_host),
            per_host=per_host,
            plays=[{"name": play["name"], "seconds": play.get("seconds")} for play in document.get("plays", [])],
            slowest_tasks=sorted(
                (
                    {"play": play["name"], "task": task["name"], "action": task["action"], "seconds": task["seconds"]}
                    for play in document.get("plays", [])
                    for task in play.get("tasks", [])
                    if "seconds" in task
                ),
                key=lambda task: -task["seconds"],
            )[:8],
        )
        if measured["returncode"] != 0:
            log_tail = (self.workdir / f"{name}.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{name} exited {measured['returncode']}:\n{log_tail}")
        return measured

    def one_fleet(self, size):
        """Every run of one repeat: fleet A (cold first run, then the warm runs), fleet B (warm first run)."""
        shape = fleet_shape(size)
        hosts = [
            f"{prefix}{index}" for (_kind, prefix), count in zip(HOST_TYPES, shape) for index in range(1, count + 1)
        ]
        inventory = str(self.inventory)
        playbook = [str(VENV_BIN / "ansible-playbook"), "-i", inventory]
        site = [*playbook, str(REPO / "playbooks" / "site.yml")]
        ping = [str(VENV_BIN / "ansible"), "-i", inventory, "all", "-m", "ansible.builtin.ping"]
        growth = self.workdir / "growth-vars.json"
        lab_data = yaml_load(LAB_GROUP_VARS / "all" / "tabops.yml")
        growth.write_text(json.dumps({"tabops_oauth_configs": growth_configs(lab_data)}))
        report_dir = self.workdir / "reports"
        compliance = [
            sys.executable,
            str(COMPLIANCE),
            "-i",
            inventory,
            "--report-dir",
            str(report_dir),
            "--quiet",
            "--",
        ]
        plans = {
            "A": [
                ("site first (cold)", site),
                ("ping (warm)", ping),
                ("site no-change", site),
                ("site --check", [*site, "--check"]),
                ("compliance", compliance),
                *([(REALISTIC_RUNS[0], site), (REALISTIC_RUNS[1], compliance)] if self.repository else []),
                ("site first, 8 configs", [*site, "-e", f"@{growth}"]),
                ("site no-change, 8 configs", [*site, "-e", f"@{growth}"]),
                ("naive first", [*playbook, str(NAIVE_PLAYBOOK)]),
                ("naive no-change", [*playbook, str(NAIVE_PLAYBOOK)]),
            ],
            "B": [
                ("ping (cold)", ping),
                ("site first (warm)", site),
                # The preflight's controller-side work alone (its per-host facts module switched off).
                (
                    "preflight (ctl)",
                    [*playbook, str(REPO / "playbooks" / "preflight.yml"), "-e", "tabops_preflight_host_checks=false"],
                ),
            ],
        }
        runs, up_seconds = [], []
        for fleet_name in ("A", "B"):
            # A fresh ControlPath directory per fleet: the first run of each opens new SSH connections.
            control_dir = Path(tempfile.mkdtemp(prefix="cp-", dir=self.workdir))
            up_seconds.append(self.up(shape))
            try:
                fleet_cpu = FleetCpu([f"/run/netns/tabops-{self.fleet_id}-{host}" for host in hosts], control_dir)
                for name, command in plans[fleet_name]:
                    if name == REALISTIC_RUNS[0]:
                        self.populate_repositories(hosts)
                    slug = "".join(c if c.isalnum() else "-" for c in name).strip("-")
                    runs.append(self.run(slug, command, control_dir, hosts, fleet_cpu) | {"run": name})
            finally:
                self.down()
                shutil.rmtree(control_dir, ignore_errors=True)
        return {"size": size, "shape": shape, "hosts": hosts, "up_s": up_seconds, "runs": runs}


def yaml_load(path):
    import yaml  # the venv has it (ansible needs it)

    return yaml.safe_load(Path(path).read_text())


def machine_description():
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    ansible_version = subprocess.run(
        [str(VENV_BIN / "ansible"), "--version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()[:1]
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(memory / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "ansible": ansible_version[0] if ansible_version else "",
        "load_average": os.getloadavg(),
    }


def attach_ratios(runs):
    pings = [run for run in runs if run["run"] == "ping (warm)"]
    if not pings:
        return
    baseline = pings[0]["wall_s"]
    for run in runs:
        run["ratio_to_ping"] = round(run["wall_s"] / baseline, 2) if baseline else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5,20", help="comma-separated fleet sizes (hosts, 1..50)")
    parser.add_argument("--fleet-id", default="bench", help="lab fleet id (default %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="fresh fleets per size; the median is reported")
    parser.add_argument(
        "--repeat-large", type=int, default=1, help="repeats for sizes over 20 (the machine is shared; default 1)"
    )
    parser.add_argument("--forks", type=int, help="ansible --forks (default: ansible.cfg's)")
    parser.add_argument(
        "--repository-datasources",
        type=int,
        default=48,
        help="saved data sources in the realistic My Tableau Repository rows (default %(default)s; 0: no such rows)",
    )
    parser.add_argument("--output", type=Path, help="JSON result file (default benchmarks/results/rollout-<time>.json)")
    arguments = parser.parse_args(argv)
    sizes = [int(value) for value in arguments.sizes.split(",") if value.strip()]
    if os.geteuid() != 0:
        parser.error("needs root (the lab fleet uses network and mount namespaces)")

    # SIGTERM behaves like Ctrl-C: the finally blocks stop the fleet.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    started = datetime.now(timezone.utc)
    output = arguments.output or RESULTS_DIR / f"rollout-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    machine = machine_description()
    print(
        f"machine: {machine['cpus']} CPUs ({machine['cpu_model']}), {machine['memory_gib']} GiB, "
        f"kernel {machine['kernel']}, {machine['ansible']}, load average {machine['load_average']}",
        flush=True,
    )
    results = {"started": started.isoformat(timespec="seconds"), "command": sys.argv, "machine": machine, "sizes": []}
    rows, checks, problems, targets = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="tabops-bench-") as workdir:
        bench = Bench(
            arguments.fleet_id, workdir, forks=arguments.forks, repository_datasources=arguments.repository_datasources
        )
        try:
            for size in sizes:
                repeats = []
                count = arguments.repeat if size <= 20 else arguments.repeat_large
                for repeat in range(count):
                    print(f"size {size} {fleet_shape(size)}: repeat {repeat + 1}/{count} ...", flush=True)
                    fleet = bench.one_fleet(size)
                    fleet["load_average_after"] = os.getloadavg()
                    attach_ratios(fleet["runs"])
                    lines, found = repeat_problems(size, repeat + 1, fleet["runs"], fleet["hosts"][0])
                    checks += lines
                    problems += found
                    repeats.append(fleet)
                names = [run["run"] for run in repeats[0]["runs"]]
                medians = [median_run([fleet["runs"][index] for fleet in repeats]) for index in range(len(names))]
                attach_ratios(medians)
                results["sizes"].append(
                    {"size": size, "shape": repeats[0]["shape"], "median": medians, "repeats": repeats}
                )
                for run in medians:
                    rows.append({"size": size, **run})
                targets += verdicts(size, medians)
        except KeyboardInterrupt:
            print("interrupted: the fleet was stopped", file=sys.stderr)
            return 130
        finally:
            bench.down()
    results["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    results["problems"] = problems
    results["targets"] = [{"line": line, "met": met} for line, met in targets]
    print()
    print(format_table(rows))
    print()
    print("\n".join(checks))
    print()
    for line, met in targets:
        print(f"{line} {'✓' if met else '✗'}")
    print()
    for entry in results["sizes"]:
        for run in entry["median"]:
            if run.get("plays"):
                print(f"{entry['size']} hosts, {run['run']}: {time_split(run)}")
    for entry in results["sizes"]:
        others = max(run.get("others_cpu_s", 0.0) for run in entry["median"])
        print(f"{entry['size']} hosts: other work on the machine during a run: at most {others:.1f} CPU-s (median)")
    slopes = marginal_costs([(entry["size"], entry["median"]) for entry in results["sizes"]])
    if slopes:
        results["marginal_per_host"] = slopes
        print()
        for name, slope in slopes.items():
            print(
                f"per extra host, {name}: wall {slope['wall_ms_per_host']} ms, controller CPU "
                f"{slope['cpu_ms_per_host']} ms, ssh CPU {slope['ssh_cpu_ms_per_host']} ms, hosts CPU "
                f"{slope['hosts_cpu_ms_per_host']} ms"
            )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=1, default=list) + "\n")
    print(f"\nresults: {output}")
    if problems:
        print("\nFAILED:\n" + "\n".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
