# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The collection as ops teams get it: installed with ansible-galaxy, run by FQCN, no checkout.

Exactly the README's "Using it on your fleet": install from the built tarball and from the git
repository into empty paths, then run ``tabops.redshift_oauth.site`` and
``tabops.redshift_oauth.compliance`` from an empty folder with no ansible.cfg (SSH options from
environment variables) against a real lab fleet; ansible-navigator (``--ee false``) runs it too.
"""

import json
import os
import shutil
import subprocess

import pytest
from labfleet import REPO, VENV_BIN, PlaybookRun, requires_lab

pytestmark = [pytest.mark.lab, requires_lab]

# What the checkout's ansible.cfg would otherwise say; an ops team sets them the same way.
SSH_ENV = {
    "ANSIBLE_HOST_KEY_CHECKING": "False",
    "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
    "ANSIBLE_PIPELINING": "True",
}


def run(command, **kwargs):
    completed = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    assert completed.returncode == 0, f"{command}: {completed.stdout[-3000:]}{completed.stderr[-3000:]}"
    return completed


def user_env(collections_path):
    """The environment of a user's shell: no ANSIBLE_* of the checkout's test run, the venv's tools."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(SSH_ENV, PATH=f"{VENV_BIN}:{env.get('PATH', '')}", ANSIBLE_COLLECTIONS_PATH=str(collections_path))
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    return env


def clone_of_the_current_tree(tmp_path):
    """A git repository holding the current tree: HEAD on a clean clone (CI), else HEAD plus the uncommitted work."""
    clone = tmp_path / "repo"
    run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone)])
    listed = run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"]).stdout
    present = [name for name in listed.split("\0") if name and (REPO / name).is_file()]
    for name in run(["git", "-C", str(clone), "ls-files", "-z"]).stdout.split("\0"):
        if name and name not in present:
            (clone / name).unlink()
    for name in present:
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, clone / name)
    run(["git", "-C", str(clone), "add", "-A"])
    if run(["git", "-C", str(clone), "status", "--porcelain"]).stdout.strip():
        identity = ["-c", "user.name=tabops tests", "-c", "user.email=tests@localhost"]
        run(["git", "-C", str(clone), *identity, "commit", "--quiet", "-m", "uncommitted work under test"])
    return clone


def playbook(env, cwd, inventory, name, *args):
    completed = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), f"tabops.redshift_oauth.{name}", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
    )
    result = PlaybookRun(completed.returncode, completed.stdout, completed.stderr)
    try:
        result.result = json.loads(completed.stdout)
    except json.JSONDecodeError:
        result.result = {}
    return result


def snapshot(fleet, host):
    """The files the collection could touch; the tsm stand-in's own log of calls is no change of the host's."""
    return [line for line in fleet.snapshot(host).splitlines() if "/tsm-standin" not in line]


def report(report_dir, collections_path):
    """The compliance run's JSON report; it names the installed playbook that ran."""
    document = json.loads((report_dir / "latest" / "compliance.json").read_text())
    assert document["run"]["playbook"].startswith(str(collections_path)), document["run"]
    return document


def changed_hosts(result):
    return {host for host, stats in result.stats().items() if stats.get("changed")}


def assert_clean_run(result, hosts):
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert set(result.stats()) >= set(hosts), result.stats()
    for host, stats in result.stats().items():
        assert not stats.get("failures") and not stats.get("unreachable"), (host, stats)


def test_installed_from_tarball_and_git_runs_site_and_compliance_by_fqcn(fleet, tmp_path):
    hosts = fleet.hosts()
    empty = tmp_path / "empty"
    empty.mkdir()

    # From the tarball (ansible-galaxy collection build && ... install).
    build = tmp_path / "build"
    run(
        ["ansible-galaxy", "collection", "build", str(REPO), "--output-path", str(build)],
        env=user_env(tmp_path / "none"),
        cwd=empty,
    )
    (tarball,) = build.glob("tabops-redshift_oauth-*.tar.gz")
    from_tarball = tmp_path / "from-tarball"
    env = user_env(from_tarball)
    run(
        ["ansible-galaxy", "collection", "install", "--force", str(tarball), "-p", str(from_tarball)],
        env=env,
        cwd=empty,
    )
    assert "config file = None" in run(["ansible", "--version"], env=env, cwd=empty).stdout
    assert not (from_tarball / "ansible_collections" / "tabops" / "redshift_oauth" / "ansible.cfg").exists()

    # A fresh fleet has none of the declared files: check mode predicts them on every host, writes nothing.
    before = {host: snapshot(fleet, host) for host in hosts}
    checked = playbook(env, empty, fleet.inventory, "site", "--check", "--diff")
    assert_clean_run(checked, hosts)
    assert changed_hosts(checked) == set(hosts)
    drift = playbook(env, empty, fleet.inventory, "compliance", "-e", f"tabops_compliance_report_dir={tmp_path}/drift")
    assert_clean_run(drift, hosts)
    assert changed_hosts(drift) == set(hosts)
    assert report(tmp_path / "drift", from_tarball)["result"] == "drift"
    assert {host: snapshot(fleet, host) for host in hosts} == before
    assert list(empty.iterdir()) == []

    # From the git repository (git+file://): roll out for real, then compliance finds nothing to change.
    clone = clone_of_the_current_tree(tmp_path)
    from_git = tmp_path / "from-git"
    env = user_env(from_git)
    run(
        ["ansible-galaxy", "collection", "install", "--force", f"git+file://{clone}", "-p", str(from_git)],
        env=env,
        cwd=empty,
    )
    installed = from_git / "ansible_collections" / "tabops" / "redshift_oauth"
    assert (installed / "MANIFEST.json").is_file() and not (installed / "ansible.cfg").exists()
    rolled_out = playbook(env, empty, fleet.inventory, "site")
    assert_clean_run(rolled_out, hosts)
    assert changed_hosts(rolled_out) == set(hosts)
    clean = playbook(env, empty, fleet.inventory, "compliance", "-e", f"tabops_compliance_report_dir={tmp_path}/clean")
    assert_clean_run(clean, hosts)
    assert changed_hosts(clean) == set(), clean.stats()
    assert report(tmp_path / "clean", from_git)["result"] == "compliant"

    # ansible-navigator without an execution environment (its --ee false mode) runs the same playbook.
    navigator = subprocess.run(
        [
            str(VENV_BIN / "ansible-navigator"),
            "run",
            "tabops.redshift_oauth.compliance",
            "-i",
            str(fleet.inventory),
            "--ee",
            "false",
            "--mode",
            "stdout",
            "--playbook-artifact-enable",
            "false",
            "--log-file",
            str(tmp_path / "navigator.log"),
            "-e",
            f"tabops_compliance_report_dir={tmp_path}/navigator",
        ],
        capture_output=True,
        text=True,
        env=dict(env, ANSIBLE_STDOUT_CALLBACK="default"),
        cwd=empty,
        check=False,
    )
    assert navigator.returncode == 0, navigator.stdout[-3000:] + navigator.stderr[-2000:]
    assert report(tmp_path / "navigator", from_git)["result"] == "compliant"
    assert list(empty.iterdir()) == []
