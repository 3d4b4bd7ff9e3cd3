# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The built-in lab fleet end to end: real namespaces, real sshd, real ssh client (`pytest -m lab`, root)."""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from labfleet import unique_fleet_id

REPO_ROOT = Path(__file__).resolve().parents[2]
LAB_FLEET = REPO_ROOT / "scripts" / "lab-fleet"
# Random ids: scripts/test runs lab tests in parallel, and other checkouts may run this module at the same time.
FLEET_ID = unique_fleet_id("it")
INTERRUPTED_FLEET_ID = unique_fleet_id("ii")
TSM = "/opt/tableau/tableau_server/packages/customer-bin.20242.24.0807.0327/tsm"
DATA_DIR = "/var/opt/tableau/tableau_server/data/tabsvc"

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab fleet needs root (network namespaces, mounts, sshd)"),
    pytest.mark.skipif(
        not os.access("/usr/sbin/sshd", os.X_OK),
        reason="openssh-server is not installed (apt-get install -y openssh-server)",
    ),
]


def lab_fleet(*argv: str, env: dict, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(LAB_FLEET), *argv], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


class LabFleet:
    def __init__(self, fleet_id: str, state_base: Path):
        self.fleet_id = fleet_id
        self.env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "TABOPS_LAB_STATE": str(state_base),
        }
        self.state_dir = state_base / fleet_id

    def __call__(self, *argv: str, timeout: float = 180) -> subprocess.CompletedProcess:
        # The fleet id goes right after the action: everything after `--` belongs to `exec`'s command.
        return lab_fleet(argv[0], "--fleet-id", self.fleet_id, *argv[1:], env=self.env, timeout=timeout)

    @property
    def description(self) -> dict:
        return json.loads((self.state_dir / "fleet.json").read_text())

    def host(self, name: str) -> dict:
        return next(host for host in self.description["hosts"] if host["name"] == name)

    def ssh(self, name: str, command: str, timeout: float = 30) -> subprocess.CompletedProcess:
        ssh_dir = self.state_dir / "ssh"
        return subprocess.run(
            [
                "ssh",
                "-i",
                str(ssh_dir / "id_ed25519"),
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                f"UserKnownHostsFile={ssh_dir / 'known_hosts'}",
                "-o",
                "ConnectTimeout=5",
                f"root@{self.host(name)['address']}",
                command,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ssh_ok(self, name: str, command: str) -> str:
        result = self.ssh(name, command)
        assert result.returncode == 0, f"{name}: {command}: {result.stderr}"
        return result.stdout


def netns_names(fleet_id: str) -> list[str]:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in listing.splitlines() if line.startswith(f"tabops-{fleet_id}-")]


def link_names(fleet_id: str) -> list[str]:
    listing = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    names = [line.split(":", 2)[1].strip().split("@")[0] for line in listing.splitlines()]
    return [name for name in names if name == f"tbr-{fleet_id}" or name.startswith(f"tv{fleet_id}-")]


def mounts_under(path: Path) -> list[str]:
    with open("/proc/self/mountinfo") as handle:
        return [line.split()[4] for line in handle if line.split()[4].startswith(str(path))]


def live_processes_mentioning(text: str) -> list[str]:
    """Non-zombie processes whose command line mentions text (zombies await the machine's init)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in command and state != "Z" and int(entry) != os.getpid():
            found.append(f"{entry}: {command}")
    return found


def assert_nothing_left(fleet: LabFleet, recorded_pids: list[int]) -> None:
    assert netns_names(fleet.fleet_id) == []
    assert link_names(fleet.fleet_id) == []
    assert mounts_under(fleet.state_dir) == []
    assert live_processes_mentioning(str(fleet.state_dir)) == []
    for pid in recorded_pids:
        stat = Path(f"/proc/{pid}/stat")
        assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z", f"pid {pid} still runs"
    assert not fleet.state_dir.exists()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory) -> LabFleet:
    lab = LabFleet(FLEET_ID, tmp_path_factory.mktemp("lab-state"))
    started = time.monotonic()
    result = lab("up", "--servers", "2", "--bridges", "1", "--desktops", "1")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 30
    yield lab
    lab("down")


HOSTS = ["tsnode1", "tsnode2", "bridge1", "desktop1"]


@pytest.mark.parametrize("name", HOSTS)
def test_host_answers_ssh_with_its_own_name_and_host_key(fleet: LabFleet, name: str):
    # StrictHostKeyChecking against the fleet's known_hosts: each host presents its own key.
    assert fleet.ssh_ok(name, "hostname") == f"{name}\n"


def test_host_keys_are_per_host_and_not_the_machines(fleet: LabFleet):
    keys = [line.split()[2] for line in (fleet.state_dir / "ssh" / "known_hosts").read_text().splitlines()]
    assert len(keys) == len(set(keys)) == len(HOSTS)
    machine_key = Path("/etc/ssh/ssh_host_ed25519_key.pub")
    if machine_key.exists():
        assert machine_key.read_text().split()[1] not in keys


def test_pid_1_is_sshd_and_machine_processes_are_invisible(fleet: LabFleet):
    assert fleet.ssh_ok("tsnode1", "cat /proc/1/comm") == "sshd\n"
    names = fleet.ssh_ok("tsnode1", "cat /proc/[0-9]*/comm").split()
    assert len(names) < 15
    machine_init = Path("/proc/1/comm").read_text().strip()
    assert machine_init not in names
    assert Path("/proc/self/comm").read_text().strip() not in names


@pytest.mark.parametrize(
    "path", ["/etc/itest-marker", "/usr/local/itest-marker", "/var/itest-marker", "/opt/itest-marker", "/srv/itest"]
)
def test_files_written_on_a_host_stay_on_that_host(fleet: LabFleet, path: str):
    fleet.ssh_ok("tsnode1", f"echo written-on-tsnode1 > {path}")
    assert fleet.ssh_ok("tsnode1", f"cat {path}") == "written-on-tsnode1\n"
    assert not Path(path).exists()
    assert fleet.ssh("tsnode2", f"test -e {path}").returncode == 1


def test_users_added_on_a_host_stay_on_that_host(fleet: LabFleet):
    fleet.ssh_ok("bridge1", "useradd --create-home itestuser")
    assert fleet.ssh_ok("bridge1", "id -un itestuser") == "itestuser\n"
    with pytest.raises(KeyError):
        pwd.getpwnam("itestuser")
    assert not Path("/home/itestuser").exists()
    assert fleet.ssh("desktop1", "id itestuser").returncode == 1


def test_host_sees_its_own_root_not_the_machines(fleet: LabFleet):
    assert fleet.ssh("tsnode1", f"test -e {REPO_ROOT}").returncode == 1
    listing = set(fleet.ssh_ok("tsnode1", "ls /").split())
    assert {"etc", "usr", "var", "opt", "home", "root", "srv", "tmp", "run", "dev", "proc", "sys"} <= listing
    assert fleet.ssh_ok("tsnode1", "stat -c %a /root /tmp").split() == ["700", "1777"]
    assert "authorized_keys" in fleet.ssh_ok("tsnode1", "ls /root/.ssh")
    assert "pyenv" not in fleet.ssh_ok("tsnode1", "cat /root/.bashrc")


def test_network_is_private_and_on_link_only(fleet: LabFleet):
    routes = fleet.ssh_ok("tsnode1", "ip -4 route")
    assert re.search(r"^default dev eth0 scope link", routes, re.MULTILINE)
    assert " via " not in routes
    interfaces = set(fleet.ssh_ok("tsnode1", "ls /sys/class/net").split())
    assert interfaces == {"lo", "eth0"}
    bridge = f"tbr-{FLEET_ID}"
    assert Path(f"/proc/sys/net/ipv4/conf/{bridge}/forwarding").read_text().strip() == "0"
    assert Path(f"/proc/sys/net/ipv4/conf/{bridge}/arp_ignore").read_text().strip() == "1"
    tsnode2 = fleet.host("tsnode2")["address"]
    probe = f"python3 -c \"import socket; print(socket.create_connection(('{tsnode2}', 22), 3).recv(4))\""
    assert fleet.ssh_ok("tsnode1", probe) == "b'SSH-'\n"


def machine_addresses(controller: str) -> list[str]:
    """The fleet's controller address and the machine's own (not other fleets') IPv4 addresses."""
    listing = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, check=True).stdout
    addresses = [line.split()[3].split("/")[0] for line in listing.splitlines() if line.split()[1] != "lo"]
    return [address for address in addresses if address == controller or not address.startswith("10.213.")]


def test_hosts_cannot_open_connections_to_the_machine(fleet: LabFleet):
    if not fleet.description["controller_guarded"]:
        pytest.skip("nft is not installed (apt-get install -y nftables): hosts can reach the controller address")
    with socket.socket() as listener:
        # A service listening on all of the machine's addresses, like sshd or an API would.
        listener.bind(("0.0.0.0", 0))  # noqa: S104 - the point of the test
        listener.listen()
        port = listener.getsockname()[1]
        addresses = machine_addresses(fleet.description["controller_address"])
        assert fleet.description["controller_address"] in addresses
        for address in addresses:
            probe = f"python3 -c \"import socket; socket.create_connection(('{address}', {port}), 2)\""
            result = fleet.ssh("tsnode1", probe)
            assert result.returncode == 1, f"{address}:{port} was reachable from tsnode1"
            assert "timed out" in result.stderr or "unreachable" in result.stderr or "refused" in result.stderr


@pytest.mark.parametrize("name", ["tsnode1", "tsnode2"])
def test_server_nodes_have_tableau_layout(fleet: LabFleet, name: str):
    fleet.ssh_ok(name, f"test -x {TSM} && test -d /opt/tableau/tableau_server/packages/bin.20242.24.0807.0327")
    for service in ("vizqlserver", "backgrounder", "dataserver", "flowprocessor"):
        fleet.ssh_ok(name, f"test -d {DATA_DIR}/{service}/Datasources")
    assert fleet.ssh_ok(name, f"stat -c %U {DATA_DIR}/vizqlserver/Datasources") == "tableau\n"


def test_tsm_answers_on_the_initial_node(fleet: LabFleet):
    assert fleet.ssh_ok("tsnode1", f"{TSM} configuration get -k gateway.public.host") == "tableau.lab.example\n"
    assert fleet.ssh_ok("tsnode1", f"{TSM} topology list-nodes -v") == "node1: tsnode1\nnode2: tsnode2\n"
    assert "2024.2.3" in fleet.ssh_ok("tsnode1", f"{TSM} version")
    audit = json.loads(fleet.ssh_ok("tsnode1", f"cat {DATA_DIR}/tsm-standin/state.json"))["audit"]
    assert audit[-1]["argv"] == ["version"]


def test_tsm_refuses_on_other_nodes(fleet: LabFleet):
    result = fleet.ssh("tsnode2", f"{TSM} status")
    assert result.returncode == 1
    assert "not the initial node" in result.stderr
    assert "tsnode1" in result.stderr


def test_bridge_host_has_the_bridge_repository(fleet: LabFleet):
    for folder in ("OAuthConfigs", "Datasources"):
        fleet.ssh_ok("bridge1", f"test -d /root/Documents/My_Tableau_Bridge_Repository/{folder}")


@pytest.mark.parametrize("user", ["analyst1", "analyst2"])
def test_desktop_host_has_users_with_their_repositories(fleet: LabFleet, user: str):
    for repository in ("My Tableau Repository", "My Tableau Prep Repository"):
        for folder in ("OAuthConfigs", "Datasources"):
            owner = fleet.ssh_ok("desktop1", f"stat -c '%U:%G' '/home/{user}/Documents/{repository}/{folder}'")
            assert owner == f"{user}:{user}\n"


def test_exec_runs_inside_the_host(fleet: LabFleet):
    result = fleet("exec", "desktop1", "--", "sh", "-c", "hostname; id -un analyst2; exit 7")
    assert (result.returncode, result.stdout) == (7, "desktop1\nanalyst2\n")


def test_status_and_inventories(fleet: LabFleet):
    status = fleet("status", "--json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert [host["state"] for host in report["hosts"]] == ["up"] * len(HOSTS)
    assert report["memory"]["processes"] >= len(HOSTS)
    inventory = yaml.safe_load(fleet("inventory").stdout)
    assert inventory == yaml.safe_load((fleet.state_dir / "hosts.yml").read_text())
    groups = inventory["all"]["children"]
    assert list(groups["tableau_server"]["hosts"]) == ["tsnode1", "tsnode2"]
    assert list(groups["tableau_server_initial"]["hosts"]) == ["tsnode1"]
    instances = json.loads(fleet("inventory", "--json").stdout)
    assert [instance["instance"] for instance in instances] == HOSTS
    assert all(Path(instance["identity_file"]).is_file() for instance in instances)


def test_ansible_reaches_every_host(fleet: LabFleet):
    ansible = REPO_ROOT / ".venv" / "bin" / "ansible"
    if not ansible.exists():
        pytest.skip("no .venv: run scripts/bootstrap")
    result = subprocess.run(
        [str(ansible), "-i", str(fleet.state_dir / "hosts.yml"), "all", "-m", "ping"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(HOSTS)


def test_up_refuses_to_start_over_a_live_fleet(fleet: LabFleet):
    before = fleet.description
    result = fleet("up")
    assert result.returncode == 2
    assert f"fleet '{FLEET_ID}' is already up" in result.stderr
    assert fleet.description == before
    assert fleet("status").returncode == 0


def test_host_down_keeps_files_and_host_up_brings_them_back(fleet: LabFleet):
    fleet.ssh_ok("desktop1", "echo kept > /etc/kept-across-restart; echo lost > /tmp/lost-across-restart")
    old_pid = fleet.host("desktop1")["pid"]
    down = fleet("host-down", "desktop1")
    assert down.returncode == 0, down.stderr
    assert not Path(f"/proc/{old_pid}/cmdline").exists() or not Path(f"/proc/{old_pid}/cmdline").read_bytes()
    assert fleet.ssh("desktop1", "true").returncode == 255
    status = fleet("status")
    assert status.returncode == 2
    assert re.search(r"^desktop1 .* down ", status.stdout, re.MULTILINE)
    assert "is down" in fleet("exec", "desktop1", "--", "true").stderr
    assert fleet.ssh_ok("tsnode1", "hostname") == "tsnode1\n"
    up = fleet("host-up", "desktop1")
    assert up.returncode == 0, up.stderr
    assert fleet.host("desktop1")["pid"] != old_pid
    assert fleet.ssh_ok("desktop1", "cat /etc/kept-across-restart") == "kept\n"
    assert fleet.ssh("desktop1", "test -e /tmp/lost-across-restart").returncode == 1
    assert fleet.ssh_ok("desktop1", "id -un analyst1") == "analyst1\n"
    assert fleet("status").returncode == 0


def test_down_leaves_nothing_behind(fleet: LabFleet):
    recorded = [host[key] for host in fleet.description["hosts"] for key in ("pid", "launcher_pid") if host[key]]
    assert netns_names(FLEET_ID)
    result = fleet("down")
    assert result.returncode == 0, result.stderr
    assert_nothing_left(fleet, recorded)
    again = fleet("down")
    assert again.returncode == 0, again.stderr
    assert fleet("status").returncode == 1


@pytest.mark.parametrize("cleaner", ["down", "up"])
def test_an_interrupted_up_is_cleaned_by_the_next_command(tmp_path: Path, cleaner: str):
    interrupted = LabFleet(INTERRUPTED_FLEET_ID, tmp_path / "lab-state")
    interrupted("down")
    process = subprocess.Popen(
        [
            sys.executable,
            str(LAB_FLEET),
            "up",
            "--fleet-id",
            INTERRUPTED_FLEET_ID,
            "--servers",
            "12",
            "--bridges",
            "12",
        ],
        env=interrupted.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Kill it once hosts run but before it finishes: the worst moment for leftovers.
    deadline = time.monotonic() + 60
    first_boot = str(interrupted.state_dir / "hosts" / "tsnode1" / "boot.sh")
    while not live_processes_mentioning(first_boot) and time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("`up` finished before it could be interrupted")
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert netns_names(INTERRUPTED_FLEET_ID)
    assert live_processes_mentioning(str(interrupted.state_dir))
    if cleaner == "down":
        result = interrupted("down")
        assert result.returncode == 0, result.stderr
    else:
        result = interrupted("up", "--servers", "1", "--bridges", "0", "--desktops", "1")
        assert result.returncode == 0, result.stderr
        assert "cleaned leftovers of an earlier run" in result.stderr
        assert len(netns_names(INTERRUPTED_FLEET_ID)) == 2
        assert [host["name"] for host in interrupted.description["hosts"]] == ["tsnode1", "desktop1"]
        assert interrupted.ssh_ok("desktop1", "hostname") == "desktop1\n"
        assert interrupted("down").returncode == 0
    assert_nothing_left(interrupted, [])


def test_netns_directory_is_not_left_mounted_when_empty():
    netns_dir = Path("/run/netns")
    if netns_dir.is_dir() and any(netns_dir.iterdir()):
        pytest.skip("other network namespaces exist on this machine")
    assert mounts_under(netns_dir) == []
    assert shutil.which("ip")
