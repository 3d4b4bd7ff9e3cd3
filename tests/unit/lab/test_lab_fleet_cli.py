# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""scripts/lab-fleet without a fleet: argument checks, refusals, inventory rendering (no root needed)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import ipaddress
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

LAB_FLEET = Path(__file__).resolve().parents[3] / "scripts" / "lab-fleet"
IS_ROOT = os.geteuid() == 0


def load_lab_fleet():
    loader = importlib.machinery.SourceFileLoader("lab_fleet_under_test", str(LAB_FLEET))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


lab_fleet = load_lab_fleet()


def run_lab_fleet(*argv: str, state: Path, extra_env: dict | None = None, as_nobody: bool = False):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TABOPS_LAB_STATE": str(state), **(extra_env or {})}
    prefix, interpreter = [], sys.executable
    if as_nobody and IS_ROOT:
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        # The tool Python may live under /root; the machine's Python is readable by everyone.
        interpreter = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    return subprocess.run(
        [*prefix, interpreter, str(LAB_FLEET), *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture
def state(tmp_path: Path) -> Path:
    directory = tmp_path / "lab-state"
    directory.mkdir()
    directory.chmod(0o755)
    tmp_path.chmod(0o755)
    return directory


@pytest.mark.skipif(IS_ROOT and not shutil.which("setpriv"), reason="needs setpriv to drop root")
@pytest.mark.parametrize("action", [["up"], ["down"], ["host-down", "tsnode1"], ["exec", "tsnode1", "--", "true"]])
def test_refuses_to_run_without_root(state: Path, action: list[str]):
    result = run_lab_fleet(*action, "--fleet-id", "cli", state=state, as_nobody=True)
    assert result.returncode == 2
    assert "must run as root" in result.stderr
    assert not (state / "cli").exists()


@pytest.mark.skipif(not IS_ROOT, reason="argument checks of `up` run after the root check")
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--fleet-id", "Bad_Id"], "--fleet-id 'Bad_Id' is invalid"),
        (["--fleet-id", "waytoolong"], "--fleet-id 'waytoolong' is invalid"),
        (["--servers", "30", "--bridges", "19"], "51 hosts requested: at most 50"),
        (["--servers", "0", "--bridges", "0", "--desktops", "0"], "at least one host"),
        (["--desktops", "-1"], "--desktops -1 is out of range"),
    ],
)
def test_up_rejects_bad_arguments_before_creating_anything(state: Path, arguments: list[str], message: str):
    result = run_lab_fleet("up", *arguments, state=state)
    assert result.returncode == 2
    assert message in result.stderr
    assert list(state.iterdir()) == []


@pytest.mark.skipif(not IS_ROOT, reason="the sshd check of `up` runs after the root check")
def test_up_without_openssh_server_says_how_to_install_it(state: Path):
    result = run_lab_fleet("up", "--fleet-id", "cli", state=state, extra_env={"TABOPS_LAB_SSHD": "/nonexistent/sshd"})
    assert result.returncode == 2
    assert "/nonexistent/sshd is missing" in result.stderr
    assert "apt-get install -y openssh-server" in result.stderr
    assert list(state.iterdir()) == []


def test_status_without_a_fleet_exits_non_zero(state: Path):
    result = run_lab_fleet("status", "--fleet-id", "nofleet", state=state)
    assert result.returncode == 1
    assert "no fleet 'nofleet'" in result.stderr


@pytest.mark.parametrize("action", ["inventory", "instance-config"])
def test_inventory_without_a_fleet_names_the_missing_file(state: Path, action: str):
    result = run_lab_fleet(action, "--fleet-id", "nofleet", state=state)
    assert result.returncode == 2
    assert str(state / "nofleet" / "fleet.json") in result.stderr


def test_a_command_after_double_dash_is_only_for_exec(state: Path):
    result = run_lab_fleet("status", "--fleet-id", "nofleet", "--", "ls", state=state)
    assert result.returncode == 2
    assert "only valid with `exec`" in result.stderr


def plan(fleet_id: str = "abcdefgh", servers: int = 3, bridges: int = 2, desktops: int = 2):
    fleet = lab_fleet.Fleet(fleet_id)
    return fleet, lab_fleet.plan_hosts(fleet, servers, bridges, desktops, ipaddress.IPv4Network("10.213.77.0/24"))


def test_plan_names_groups_and_addresses():
    _fleet, hosts = plan()
    assert [host["name"] for host in hosts] == [
        "tsnode1",
        "tsnode2",
        "tsnode3",
        "bridge1",
        "bridge2",
        "desktop1",
        "desktop2",
    ]
    assert hosts[0]["groups"] == ["tableau_server", "tableau_server_initial"]
    assert hosts[1]["groups"] == ["tableau_server"]
    assert [host["address"] for host in hosts] == [f"10.213.77.{octet}" for octet in range(11, 18)]


def test_plan_of_fifty_hosts_keeps_interface_names_within_the_kernel_limit():
    fleet, hosts = plan(servers=20, bridges=15, desktops=15)
    names = [host["veth"] for host in hosts] + [fleet.bridge]
    assert len(set(names)) == 51
    assert max(len(name) for name in names) <= 15
    assert len({host["address"] for host in hosts}) == 50
    assert all(ipaddress.IPv4Address(host["address"]) in ipaddress.IPv4Network("10.213.77.0/24") for host in hosts)


def test_two_fleet_ids_share_no_names():
    first, first_hosts = plan("lab")
    second, second_hosts = plan("mol")
    first_names = {first.bridge, first.state_dir} | {h["veth"] for h in first_hosts} | {h["netns"] for h in first_hosts}
    second_names = {second.bridge, second.state_dir}
    second_names |= {h["veth"] for h in second_hosts} | {h["netns"] for h in second_hosts}
    assert first_names.isdisjoint(second_names)


def test_inventory_yaml_has_the_groups_and_connection_vars():
    fleet, hosts = plan("lab", servers=2, bridges=1, desktops=1)
    description = {"hosts": hosts, "ssh_private_key": "/state/lab/ssh/id_ed25519"}
    inventory = yaml.safe_load(lab_fleet.inventory_yaml(fleet, description))
    groups = inventory["all"]["children"]
    assert set(groups) == {"tableau_server", "tableau_server_initial", "tableau_bridge", "tableau_desktop"}
    assert list(groups["tableau_server"]["hosts"]) == ["tsnode1", "tsnode2"]
    assert list(groups["tableau_server_initial"]["hosts"]) == ["tsnode1"]
    tsnode2 = groups["tableau_server"]["hosts"]["tsnode2"]
    assert tsnode2 == {
        "ansible_host": "10.213.77.12",
        "ansible_user": "root",
        "ansible_port": 22,
        "ansible_ssh_private_key_file": "/state/lab/ssh/id_ed25519",
        "ansible_python_interpreter": "/usr/bin/python3",
    }
    desktop = groups["tableau_desktop"]["hosts"]["desktop1"]
    assert desktop["tabops_desktop_users"] == ["analyst1", "analyst2"]
    assert "tabops_desktop_users" not in groups["tableau_bridge"]["hosts"]["bridge1"]


def test_inventory_yaml_of_a_fleet_without_bridges_keeps_the_group():
    fleet, hosts = plan("lab", servers=1, bridges=0, desktops=0)
    description = {"hosts": hosts, "ssh_private_key": "/k"}
    groups = yaml.safe_load(lab_fleet.inventory_yaml(fleet, description))["all"]["children"]
    assert groups["tableau_bridge"] == {"hosts": {}}


def test_instance_config_is_molecule_shaped():
    _fleet, hosts = plan(servers=1, bridges=1, desktops=0)
    config = lab_fleet.instance_config({"hosts": hosts, "ssh_private_key": "/k"})
    assert config == [
        {"instance": "tsnode1", "address": "10.213.77.11", "user": "root", "port": 22, "identity_file": "/k"},
        {"instance": "bridge1", "address": "10.213.77.12", "user": "root", "port": 22, "identity_file": "/k"},
    ]


def test_state_dir_follows_tabops_lab_state(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("TABOPS_LAB_STATE", str(tmp_path))
    assert lab_fleet.Fleet("mol").state_dir == tmp_path / "mol"
    assert lab_fleet.Fleet("mol").inventory_file == tmp_path / "mol" / "hosts.yml"
    assert lab_fleet.Fleet("lab").inventory_file == LAB_FLEET.parent.parent / "inventories" / "lab" / "hosts.yml"


@pytest.mark.parametrize("interpreter", ["/usr/bin/python3", sys.executable])
def test_runs_on_the_machine_python_and_the_tool_python(state: Path, interpreter: str):
    if not Path(interpreter).exists():
        pytest.skip(f"{interpreter} is not installed")
    result = subprocess.run(
        [interpreter, str(LAB_FLEET), "status", "--fleet-id", "nofleet"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "TABOPS_LAB_STATE": str(state)},
        check=False,
    )
    assert (result.returncode, result.stderr) == (1, "lab-fleet: no fleet 'nofleet'\n")


def fake_ip_addresses(monkeypatch, listing: str) -> None:
    monkeypatch.setattr(lab_fleet, "run", lambda argv, **_: listing)


def test_subnet_derives_from_the_fleet_id(monkeypatch):
    fake_ip_addresses(monkeypatch, "1: lo    inet 127.0.0.1/8 scope host lo\n")
    first = lab_fleet.pick_subnet(lab_fleet.Fleet("lab"))
    assert first == lab_fleet.pick_subnet(lab_fleet.Fleet("lab"))
    assert first.prefixlen == 24
    assert first.subnet_of(ipaddress.IPv4Network("10.213.0.0/16"))
    assert first != lab_fleet.pick_subnet(lab_fleet.Fleet("mol"))


def test_subnet_in_use_elsewhere_is_skipped(monkeypatch):
    fake_ip_addresses(monkeypatch, "")
    preferred = lab_fleet.pick_subnet(lab_fleet.Fleet("lab"))
    fake_ip_addresses(monkeypatch, f"7: tbr-other    inet {preferred.network_address + 1}/24 scope global tbr-other\n")
    chosen = lab_fleet.pick_subnet(lab_fleet.Fleet("lab"))
    assert chosen != preferred
    assert chosen.subnet_of(ipaddress.IPv4Network("10.213.0.0/16"))


def test_own_bridge_address_does_not_count_as_in_use(monkeypatch):
    fake_ip_addresses(monkeypatch, "")
    preferred = lab_fleet.pick_subnet(lab_fleet.Fleet("lab"))
    fake_ip_addresses(monkeypatch, f"7: tbr-lab    inet {preferred.network_address + 1}/24 scope global tbr-lab\n")
    assert lab_fleet.pick_subnet(lab_fleet.Fleet("lab")) == preferred


def test_no_free_subnet_is_a_clear_error(monkeypatch):
    fake_ip_addresses(monkeypatch, "2: eth9    inet 10.213.0.1/16 scope global eth9\n")
    with pytest.raises(lab_fleet.FleetError, match=r"no free /24 left under 10\.213\.0\.0/16"):
        lab_fleet.pick_subnet(lab_fleet.Fleet("lab"))


@pytest.mark.skipif(not IS_ROOT, reason="the state dir checks of `up` run after the root check")
@pytest.mark.parametrize(
    ("state_base", "message"), [("/var/tmp/lab", "must not lie under /var"), ("/tmp/a,b", "must not contain")]
)
def test_up_rejects_a_state_dir_overlayfs_cannot_use(tmp_path: Path, state_base: str, message: str):
    result = run_lab_fleet("up", "--fleet-id", "cli", state=Path(state_base))
    assert result.returncode == 2
    assert message in result.stderr
    assert not Path(state_base).exists()


@pytest.mark.parametrize("action", ["inventory", "instance-config"])
def test_inventory_of_a_half_started_fleet_is_refused(state: Path, action: str):
    _fleet, hosts = plan("half")
    (state / "half").mkdir()
    description = {"fleet_id": "half", "status": "starting", "hosts": hosts, "ssh_private_key": "/k"}
    (state / "half" / "fleet.json").write_text(json.dumps(description))
    result = run_lab_fleet(action, "--fleet-id", "half", state=state)
    assert result.returncode == 2
    assert "fleet 'half' is not up (status 'starting'" in result.stderr
    assert result.stdout == ""


def test_mac_hosts_are_opt_in_and_mac_shaped():
    """`up --macs N`: hosts in tableau_desktop + tableau_desktop_mac, Darwin, /Users homes, staff, no fixed Python."""
    fleet = lab_fleet.Fleet("lab")
    subnet = ipaddress.IPv4Network("10.213.77.0/24")
    default = lab_fleet.plan_hosts(fleet, 3, 2, 2, subnet)
    assert "mac" not in {host["kind"] for host in default}
    assert "tableau_desktop_mac" not in lab_fleet.inventory_yaml(fleet, {"hosts": default, "ssh_private_key": "/k"})
    assert lab_fleet.parse_arguments(["up"]).macs == 0

    hosts = lab_fleet.plan_hosts(fleet, 0, 0, 1, subnet, macs=1)
    assert [(host["name"], host["groups"]) for host in hosts] == [
        ("desktop1", ["tableau_desktop"]),
        ("mac1", ["tableau_desktop", "tableau_desktop_mac"]),
    ]
    assert lab_fleet.HOST_NAME_PATTERN.match("mac1")
    groups = yaml.safe_load(lab_fleet.inventory_yaml(fleet, {"hosts": hosts, "ssh_private_key": "/k"}))["all"][
        "children"
    ]
    assert list(groups["tableau_desktop_mac"]["hosts"]) == ["mac1"]
    mac = groups["tableau_desktop"]["hosts"]["mac1"]
    assert mac["tabops_os_family"] == "Darwin"
    assert mac["tabops_desktop_users"] == list(lab_fleet.MAC_USERS)
    # Interpreter discovery finds the Mac's Python, as on a real Mac.
    assert "ansible_python_interpreter" not in mac
    assert groups["tableau_desktop"]["hosts"]["desktop1"]["ansible_python_interpreter"] == "/usr/bin/python3"

    seed = "\n".join(lab_fleet.seed_commands(hosts[1]))
    for user in lab_fleet.MAC_USERS:
        assert f"useradd --create-home --home-dir /Users/{user} --gid staff" in seed
        assert f"'/Users/{user}/Documents/My Tableau Prep Repository/OAuthConfigs'" in seed
        assert f"chown -R {user}:staff /Users/{user}/Documents" in seed
    assert "/home/" not in seed


def test_mac_count_is_checked_like_the_others(state: Path):
    completed = run_lab_fleet("up", "--macs", "-1", state=state)
    assert completed.returncode == 2
    assert "--macs -1 is out of range" in completed.stderr
