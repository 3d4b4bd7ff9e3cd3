# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""A lab fleet for integration tests: start, inspect, run playbooks, stop.

Tests get a fresh fleet of their own (its own fleet id), reached over real SSH
by real ansible-playbook runs, so what they assert is what an ops team sees.
"""

from __future__ import annotations

import base64
import io
import json
import os
import secrets
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAB_FLEET = REPO / "scripts" / "lab-fleet"
VENV_BIN = REPO / ".venv" / "bin"
LAB_GROUP_VARS = REPO / "inventories" / "lab" / "group_vars"
TSM_STATE = "/var/opt/tableau/tableau_server/data/tabsvc/tsm-standin/state.json"
# Folders whose files the collection may write, per lab host group.
WATCHED_ROOTS = ("/home", "/root/Documents", "/var/opt/tableau/tableau_server/data/tabsvc")


def lab_available():
    if os.geteuid() != 0:
        return "needs root (network and mount namespaces)"
    if not Path("/usr/sbin/sshd").exists():
        return "needs openssh-server (scripts/system-deps)"
    return None


requires_lab = pytest.mark.skipif(lab_available() is not None, reason=lab_available() or "")


def unique_fleet_id(prefix: str) -> str:
    """A fleet id no other fleet on the machine has: ``prefix`` plus random hex, 8 characters in all.

    Random, not derived from the test's name: tests run in parallel (scripts/test) and several checkouts may run
    the same test at once, and ``Fleet.up`` first takes down a fleet of the same id.
    """
    return prefix + secrets.token_hex(4)[: 8 - len(prefix)]


@dataclass
class PlaybookRun:
    returncode: int
    stdout: str
    stderr: str
    result: dict = field(default_factory=dict)

    def stats(self):
        return self.result.get("stats", {})

    def host_results(self, task_name_part):
        """Every host's result of the tasks whose name contains ``task_name_part``."""
        found = {}
        for play in self.result.get("plays", []):
            for task in play.get("tasks", []):
                if task_name_part in task["task"]["name"]:
                    for host, result in task["hosts"].items():
                        found.setdefault(host, []).append(result)
        return found

    def changed_tasks(self):
        """{host: [task names that changed]} in run order."""
        changed = {}
        for play in self.result.get("plays", []):
            for task in play.get("tasks", []):
                for host, result in task["hosts"].items():
                    if result.get("changed"):
                        changed.setdefault(host, []).append(task["task"]["name"])
        return changed


class Fleet:
    def __init__(self, fleet_id, workdir, servers=2, bridges=1, desktops=1):
        self.fleet_id = fleet_id
        self.workdir = Path(workdir)
        self.sizes = {"servers": servers, "bridges": bridges, "desktops": desktops}
        self.inventory = self.workdir / "inventory"

    def lab(self, *args, check=True):
        return subprocess.run(
            [str(LAB_FLEET), *args, "--fleet-id", self.fleet_id],
            capture_output=True,
            text=True,
            check=check,
        )

    def up(self):
        self.lab("down", check=False)
        self.lab(
            "up",
            "--servers",
            str(self.sizes["servers"]),
            "--bridges",
            str(self.sizes["bridges"]),
            "--desktops",
            str(self.sizes["desktops"]),
        )
        self.inventory.mkdir(parents=True, exist_ok=True)
        (self.inventory / "hosts.yml").write_text(self.lab("inventory").stdout)
        (self.inventory / "group_vars").symlink_to(LAB_GROUP_VARS)
        return self

    def down(self):
        self.lab("down", check=False)

    def host_down(self, host):
        self.lab("host-down", host)

    def host_up(self, host):
        self.lab("host-up", host)

    def sh(self, host, script, check=True):
        """Run a shell script inside a host; return its stdout."""
        completed = subprocess.run(
            [str(LAB_FLEET), "exec", "--fleet-id", self.fleet_id, host, "--", "/bin/sh", "-c", script],
            capture_output=True,
            text=True,
            check=False,
        )
        if check and completed.returncode != 0:
            raise AssertionError(f"{host}: {script!r} exited {completed.returncode}: {completed.stderr}")
        return completed.stdout

    def write(self, host, path, content, owner="root"):
        quoted = path.replace("'", "'\\''")
        self.sh(host, f"mkdir -p \"$(dirname '{quoted}')\" && cat > '{quoted}' <<'TABOPS_EOF'\n{content}\nTABOPS_EOF")
        self.sh(host, f"chown {owner}: '{quoted}'")

    def put_tree(self, host, root, files, owner="root"):
        """Write ``{relative path: bytes}`` below ``root`` in one exec (a base64 tar), owned by ``owner``."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for rel, data in sorted(files.items()):
                info = tarfile.TarInfo(rel)
                info.size, info.mode = len(data), 0o644
                archive.addfile(info, io.BytesIO(data))
        quoted = root.replace("'", "'\\''")
        encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
        self.sh(
            host,
            f"mkdir -p '{quoted}' && echo '{encoded}' | base64 -d | tar -xzf - -C '{quoted}' --no-same-owner "
            f"&& chown -R {owner}: '{quoted}'",
        )

    def read(self, host, path):
        return self.sh(host, f"cat '{path}'")

    def exists(self, host, path):
        return self.sh(host, f"test -e '{path}' && echo yes || echo no").strip() == "yes"

    def tsm_state(self, host="tsnode1"):
        return json.loads(self.read(host, TSM_STATE))

    def snapshot(self, host):
        """Type, mode, owner, group, mtime and path of every folder, file and link the collection could touch on a
        host, plus the checksum of every file: a check-mode run must leave it identical.

        Fails when the host cannot be read (a failed exec must not give two equal empty snapshots) and when the
        snapshot is empty. The tsm stand-in's own state (it logs every call) is compared through tsm_state().
        """
        roots = " ".join(WATCHED_ROOTS)
        script = (
            f'set -e; roots=\'\'; for r in {roots}; do if [ -e "$r" ]; then roots="$roots $r"; fi; done; '
            '[ -n "$roots" ] || { echo "no watched folder exists" >&2; exit 3; }; '
            "find $roots -xdev -not -path '*/tsm-standin' -not -path '*/tsm-standin/*' "
            "-printf '%y %m %u %g %T@ %p\\n' | LC_ALL=C sort; "
            "find $roots -xdev -type f -not -path '*/tsm-standin/*' -exec sha256sum {} + | LC_ALL=C sort"
        )
        listing = self.sh(host, script)
        lines = listing.splitlines()
        assert any(line.startswith("d ") for line in lines), f"{host}: snapshot lists no folder:\n{listing}"
        return listing

    def hosts(self):
        names = []
        for kind, prefix in (("servers", "tsnode"), ("bridges", "bridge"), ("desktops", "desktop")):
            names.extend(f"{prefix}{index}" for index in range(1, self.sizes[kind] + 1))
        return names

    def playbook(self, playbook="playbooks/site.yml", *args, extra_vars=None, verbosity=0):
        env = dict(os.environ)
        env.update(
            PATH=f"{VENV_BIN}:{env.get('PATH', '')}",
            ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
            ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
            ANSIBLE_FORCE_COLOR="0",
        )
        command = [str(VENV_BIN / "ansible-playbook"), "-i", str(self.inventory), str(REPO / playbook), *args]
        if extra_vars is not None:
            # A unique name: concurrent playbook runs (the tsm lock tests) must not read each other's variables.
            handle, vars_file = tempfile.mkstemp(prefix="extra-vars-", suffix=".json", dir=self.workdir)
            with os.fdopen(handle, "w") as stream:
                json.dump(extra_vars, stream)
            command += ["-e", f"@{vars_file}"]
        if verbosity:
            command.append("-" + "v" * verbosity)
            env.pop("ANSIBLE_STDOUT_CALLBACK")
        completed = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, check=False)
        run = PlaybookRun(completed.returncode, completed.stdout, completed.stderr)
        if not verbosity:
            try:
                run.result = json.loads(completed.stdout)
            except json.JSONDecodeError:
                run.result = {}
        return run


@pytest.fixture
def fleet(tmp_path, request):
    """A fresh small lab fleet (2 server nodes, 1 bridge, 1 desktop) for one test."""
    if lab_available():
        pytest.skip(lab_available())
    marker = request.node.get_closest_marker("fleet_size")
    sizes = marker.kwargs if marker else {}
    lab = Fleet(unique_fleet_id("it"), tmp_path, **sizes).up()
    try:
        yield lab
    finally:
        lab.down()
        shutil.rmtree(tmp_path / "inventory", ignore_errors=True)


@pytest.fixture(scope="module")
def shared_fleet(tmp_path_factory, request):
    """One lab fleet for every test of a module (sizes from the module's FLEET_SIZE); tests reset what they use."""
    if lab_available():
        pytest.skip(lab_available())
    sizes = getattr(request.module, "FLEET_SIZE", {})
    workdir = tmp_path_factory.mktemp("shared-fleet")
    lab = Fleet(unique_fleet_id("im"), workdir, **sizes).up()
    try:
        yield lab
    finally:
        lab.down()
        shutil.rmtree(workdir / "inventory", ignore_errors=True)
