# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""A second inventory that says only how each host of ``inventories/example`` is reached in the lab.

``ansible-playbook -i inventories/example -i <overlay>`` merges the two: the example keeps every group, group
variable and host variable it ships with; the overlay's host variables (which win over the example's group_vars,
as any inventory host variable does) set only connection facts:

- Linux hosts -> a lab fleet host: ``ansible_host`` / ``ansible_port`` / ``ansible_user`` /
  ``ansible_ssh_private_key_file`` / ``ansible_python_interpreter`` as ``scripts/lab-fleet inventory`` gives them
  (the first host of ``tableau_server_initial`` on ``tsnode1``, the lab's initial node; other server nodes on
  ``tsnode2``...; other Linux hosts on ``bridge1``...). The example's server nodes become root
  (``ansible_become: true``); the lab logs in as root, so Ansible skips become (same user, no sudo needed);
- Darwin hosts -> the Mac-shaped lab hosts ``mac1``... (no interpreter set: Ansible discovers it, as on a Mac);
- Windows hosts -> ``ansible_connection: tabops_windows_double``: a test-only connection plugin answers their
  ``ansible.windows`` calls from the fake NTFS host (tests/unit/fixtures/windows), nothing connects anywhere;
- with ``extras``: a group ``monitoring`` outside the Tableau groups with one real lab host (``desktop1``) and one
  host nobody answers for (an unused address of the fleet's own subnet, so nothing leaves the lab).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "inventories" / "example"
TABLEAU_GROUPS = ("tableau_server", "tableau_server_initial", "tableau_bridge", "tableau_desktop")
MONITORING = {"prometheus1.corp.example": "desktop1", "jumphost1.corp.example": None}


def example_hosts(*inventories):
    """{host: {"groups": set, "os_family", "tableau": bool, "initial": bool}} as Ansible reads the inventories
    (default: the example alone)."""
    sources = [item for inventory in inventories or (EXAMPLE,) for item in ("-i", str(inventory))]
    completed = subprocess.run(
        [str(REPO / ".venv" / "bin" / "ansible-inventory"), *sources, "--list"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg")),
    )
    listing = json.loads(completed.stdout)
    hostvars = listing["_meta"]["hostvars"]
    parents = {}
    for group, data in listing.items():
        for child in data.get("children", []) if isinstance(data, dict) else []:
            parents.setdefault(child, set()).add(group)

    def ancestors(group):
        found = {group}
        for parent in parents.get(group, ()):
            found |= ancestors(parent)
        return found

    hosts = {}
    for group, data in listing.items():
        for host in data.get("hosts", []) if isinstance(data, dict) and group != "_meta" else []:
            entry = hosts.setdefault(host, {"groups": set()})
            entry["groups"] |= ancestors(group)
    initial = listing.get("tableau_server_initial", {}).get("hosts", [])
    for host, entry in hosts.items():
        entry["os_family"] = hostvars.get(host, {}).get("tabops_os_family") or "Linux"
        entry["tableau"] = bool(entry["groups"] & set(TABLEAU_GROUPS))
        entry["initial"] = bool(initial) and host == initial[0]
    return hosts


def _ssh_vars(instance, interpreter=True):
    found = {
        "ansible_host": instance["address"],
        "ansible_port": instance["port"],
        "ansible_user": instance["user"],
        "ansible_ssh_private_key_file": instance["identity_file"],
    }
    if interpreter:
        found["ansible_python_interpreter"] = "/usr/bin/python3"
    return found


def overlay_inventory(hosts, instances, folder, extras=True):
    """Write ``folder/hosts.yml``; returns (its path, {example host or "monitoring": lab host})."""
    servers = sorted(
        (host for host, e in hosts.items() if e["os_family"] == "Linux" and "tableau_server" in e["groups"]),
        key=lambda host: (not hosts[host]["initial"], host),
    )
    others = sorted(host for host, e in hosts.items() if e["os_family"] == "Linux" and host not in servers)
    macs = sorted(host for host, e in hosts.items() if e["os_family"] == "Darwin")
    mapping = {}
    mapping.update({host: f"tsnode{index}" for index, host in enumerate(servers, 1)})
    mapping.update({host: f"bridge{index}" for index, host in enumerate(others, 1)})
    mapping.update({host: f"mac{index}" for index, host in enumerate(macs, 1)})
    overlay = {}
    for host, entry in sorted(hosts.items()):
        if entry["os_family"] == "Windows":
            # The test-only connection plugin (tests/unit/fixtures/windows/connection_plugins) answers its
            # ansible.windows calls from the fake NTFS host; its state file is named by ansible_host.
            overlay[host] = {"ansible_connection": "tabops_windows_double", "ansible_host": host}
        elif host in mapping:
            overlay[host] = _ssh_vars(instances[mapping[host]], interpreter=entry["os_family"] != "Darwin")
        else:
            raise ValueError(f"{host}: OS family {entry['os_family']} has no lab stand-in")
    document = {"all": {"hosts": overlay}}
    if extras:
        monitoring = {}
        for host, lab_host in MONITORING.items():
            if lab_host:
                monitoring[host] = _ssh_vars(instances[lab_host])
                mapping["monitoring"] = lab_host
            else:
                unused = instances["desktop1"]["address"].rsplit(".", 1)[0] + ".250"
                monitoring[host] = dict(_ssh_vars(instances["desktop1"]), ansible_host=unused)
        document["all"]["children"] = {"monitoring": {"hosts": monitoring}}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "hosts.yml"
    path.write_text(
        "# Generated by tests/integration/example_overlay.py: connection facts only.\n" + yaml.safe_dump(document)
    )
    return path, mapping
