# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The README's "First run on your own fleet", step by step, against the lab fleet: what a person sees.

From an empty folder, with Ansible's default output (no callback of the tests): the example inventory copied,
its hosts.yml edited to list the lab's Linux hosts in the example's groups, the vault secret put in and
encrypted, then ``ansible-playbook -i inventories/prod tabops.redshift_oauth.site --check --diff``. The lab hosts
have no Amazon Redshift ODBC driver: each fails in one short line that says why and how to fix it, and the
summary groups the hosts by that cause. With the lab's stand-in driver installed (``tests/lab/odbc/install-driver``)
the same command gives a clean check; neither check writes anything on any host.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml
from labfleet import REPO, VENV_BIN, requires_lab

pytestmark = [pytest.mark.lab, requires_lab]

EXAMPLE = REPO / "inventories" / "example"
INSTALL_DRIVER = (REPO / "tests" / "lab" / "odbc" / "install-driver").read_text()
SECRET = "first-run-server-secret-7d2e"
# What an ops team's ansible.cfg would say for these hosts (the lab's hosts get new host keys every time).
SSH_ENV = {
    "ANSIBLE_HOST_KEY_CHECKING": "False",
    "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
    "ANSIBLE_PIPELINING": "True",
}


def hosts_yml(instances):
    """Step 2: the example's groups, the lab's Linux hosts (the first server node runs tsm)."""

    def reach(name):
        item = instances[name]
        return {
            "ansible_host": item["address"],
            "ansible_port": item["port"],
            "ansible_user": item["user"],
            "ansible_ssh_private_key_file": item["identity_file"],
            "ansible_python_interpreter": "/usr/bin/python3",
        }

    servers = sorted(name for name in instances if name.startswith("tsnode"))
    return {
        "all": {
            "children": {
                "tableau_server": {
                    "children": {"tableau_server_initial": {"hosts": {servers[0]: reach(servers[0])}}},
                    "hosts": {name: reach(name) for name in servers[1:]},
                },
                "tableau_bridge": {"hosts": {name: reach(name) for name in instances if name.startswith("bridge")}},
                "tableau_desktop": {
                    "hosts": {
                        name: dict(reach(name), tabops_desktop_users=["analyst1", "analyst2"])
                        for name in instances
                        if name.startswith("desktop")
                    }
                },
            }
        }
    }


def first_check(workdir):
    """Step 5, as a person runs it: default callback, no ansible.cfg, the collection by FQCN."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(
        SSH_ENV,
        PATH=f"{VENV_BIN}:{env.get('PATH', '')}",
        ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
        ANSIBLE_NOCOLOR="1",
    )
    command = [
        str(VENV_BIN / "ansible-playbook"),
        *("-i", "inventories/prod", "tabops.redshift_oauth.site", "--check", "--diff"),
        *("--vault-password-file", str(workdir / "vault-pass")),
    ]
    completed = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=600, check=False)
    return completed.returncode, completed.stdout, completed.stderr


def recap(stdout):
    """{host: {ok, changed, failed, unreachable, ...}} from the PLAY RECAP."""
    found = {}
    for host, counts in re.findall(r"^(\S+)\s+: (ok=.*)$", stdout.split("PLAY RECAP", 1)[1], re.MULTILINE):
        found[host] = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", counts)}
    return found


def summary_lines(stdout):
    """The Rollout summary's message as printed: the default callback's JSON, one line per item of ``msg``."""
    block = stdout.split("TASK [Rollout summary]", 1)[1]
    printed = block.split("=> ", 1)[1]
    result, _end = json.JSONDecoder().raw_decode(printed)
    lines = printed[:_end].splitlines()
    # Each message line is a line of the output, not an escaped \n inside one long line.
    assert all(f'"{item}"' in "\n".join(lines) for item in result["msg"]), printed[:_end]
    return result["msg"]


@pytest.fixture
def workdir(tmp_path):
    folder = tmp_path / "ops"
    folder.mkdir()
    return folder


def test_first_run_from_the_example_inventory_says_what_is_missing_then_checks_clean(fleet, workdir):
    instances = {item["instance"]: item for item in json.loads(fleet.lab("inventory", "--json").stdout)}
    hosts = sorted(instances)
    # 1. Copy the example.
    shutil.copytree(EXAMPLE, workdir / "inventories" / "prod")
    prod = workdir / "inventories" / "prod"
    # 2. Edit hosts.yml: our hosts in the example's groups.
    (prod / "hosts.yml").write_text(yaml.safe_dump(hosts_yml(instances)))
    # 3. group_vars/all/tabops.yml: the example's IdP and clients serve here as they are.
    # 4. The secret into the vault, encrypted.
    vault = prod / "group_vars" / "all" / "vault.yml"
    vault.write_text(f"vault_okta_server_client_secret: {SECRET}\n")
    (workdir / "vault-pass").write_text("first-run-vault-password\n")
    subprocess.run(
        [str(VENV_BIN / "ansible-vault"), "encrypt", "--vault-password-file", str(workdir / "vault-pass"), str(vault)],
        check=True,
        capture_output=True,
        cwd=workdir,
    )
    assert vault.read_text().startswith("$ANSIBLE_VAULT;")
    before = {host: fleet.snapshot(host) for host in hosts}

    # 5. The first check: no driver anywhere.
    rc, stdout, stderr = first_check(workdir)
    assert rc == 2, stdout[-4000:] + stderr[-2000:]
    fatal = [line for line in stdout.splitlines() if line.startswith("fatal: [")]
    assert sorted(re.match(r"fatal: \[([^\]]+)\]", line).group(1) for line in fatal) == hosts, fatal
    for line in fatal:
        host = re.match(r"fatal: \[([^\]]+)\]", line).group(1)
        result = json.loads(line.split("=> ", 1)[1])
        # One line, the reason and the fix first; none of the bulky details.
        assert len(line) < 1200, line
        assert result["causes"] == ["driver-missing"], line
        assert result["msg"].startswith(f"ERROR driver-missing [{host}]: host {host}: no Amazon Redshift ODBC driver")
        assert "-- fix: install the Redshift ODBC driver v2 >= " in result["msg"]
        assert not {"folders", "files", "host_facts", "journals", "manifests", "profile", "details"} & set(result)
    first, *causes = summary_lines(stdout)
    assert f"failed {len(hosts)} (" in first and "unreachable 0" in first, first
    (cause,) = causes
    named = re.fullmatch(rf"driver-missing: {len(hosts)} hosts \((.*)\)", cause)
    assert named and sorted(named.group(1).split(", ")) == hosts, cause  # in play order
    assert not re.search(r"\bwritten\b", stdout), "check mode never says written"
    assert SECRET not in stdout + stderr
    assert {host: fleet.snapshot(host) for host in hosts} == before, "a check writes nothing"

    # The lab's stand-in driver, then the same command: a clean check.
    for host in hosts:
        fleet.write(host, "/usr/local/sbin/tabops-install-driver", INSTALL_DRIVER)
        fleet.sh(host, "chmod 755 /usr/local/sbin/tabops-install-driver && tabops-install-driver v2 2.1.0.0 package")
    before = {host: fleet.snapshot(host) for host in hosts}
    rc, stdout, stderr = first_check(workdir)
    assert rc == 0, stdout[-4000:] + stderr[-2000:]
    assert "fatal: [" not in stdout
    counts = recap(stdout)
    assert sorted(counts) == hosts and all(c["failed"] == 0 and c["unreachable"] == 0 for c in counts.values())
    first, *causes = summary_lines(stdout)
    assert first.startswith("rollout ") and " (check mode): " in first, first
    assert f"would change {len(hosts)} (" in first and "failed 0; unreachable 0" in first, first
    assert causes == []
    assert not re.search(r"\bwritten\b", stdout), "check mode never says written"
    assert SECRET not in stdout + stderr
    assert {host: fleet.snapshot(host) for host in hosts} == before, "a check writes nothing"
