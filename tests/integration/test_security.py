# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The file sync attacked by a real desktop user on a real lab host (issue 10, file-sync rows).

Every attack runs as the desktop user (``runuser -u analyst1``) inside the lab host, against the real module run
as root over SSH by ansible-playbook. Each test asserts that the canaries outside the user's tree (``/etc/shadow``,
a root-only folder and file, a root-owned folder the user can see) keep their checksum, mode and listing, that
nothing of the user's was lost, and that the next run without the attack converges (and the one after changes
nothing). The two race rows run a bounded attack loop (30 s) while the module runs over and over.
See docs/security.md.
"""

from __future__ import annotations

import json
import textwrap
import time

import pytest
from labfleet import requires_lab, shared_fleet  # noqa: F401  # pylint: disable=unused-import  # the fixture

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import render_oauth_config

pytestmark = [pytest.mark.lab, requires_lab]
FLEET_SIZE = {"servers": 0, "bridges": 0, "desktops": 1}

HOST = "desktop1"
USER = "analyst1"
OTHER = "analyst2"
REPO_DIR = f"/home/{USER}/Documents/My Tableau Repository"
FOLDER = f"{REPO_DIR}/OAuthConfigs"
NAME = "custom_redshift_okta.xml"
TARGET = f"{FOLDER}/{NAME}"
ROOT_SECRET = "ROOT-ONLY-CANARY-4f1e77"
# Root-owned and root-only things a user must never get root to change or read.
CANARY_SETUP = f"""
set -e
mkdir -p /root/canary /srv/rootowned/OAuthConfigs
printf '%s\\n' '{ROOT_SECRET}' > /root/canary/secret.xml
chmod 0700 /root/canary; chmod 0600 /root/canary/secret.xml
printf 'root file\\n' > /srv/rootowned/OAuthConfigs/victim.xml
chmod 0755 /srv/rootowned /srv/rootowned/OAuthConfigs; chmod 0644 /srv/rootowned/OAuthConfigs/victim.xml
printf '{ROOT_SECRET}\\n' > /home/rootfile; chmod 0600 /home/rootfile
"""
CANARIES = "/etc/shadow /root/canary /root/canary/secret.xml /srv/rootowned /srv/rootowned/OAuthConfigs /home/rootfile"


TEST_SECRET = "CANARY-security-secret-61c0"


def oauth_xml(client_id="tableau-desktop", secret=TEST_SECRET):
    return render_oauth_config(
        {
            "id": "custom_redshift_okta",
            "idp": "okta",
            "idp_base_url": "https://example.okta.com",
            "auth_server": "default",
            "client_id_desktop": client_id,
            "client_secret_desktop": secret,
        }
    )


def user_files(user, content, mode="0600"):
    folder = f"/home/{user}/Documents/My Tableau Repository/OAuthConfigs"
    return [
        {
            "path": f"{folder}/{NAME}",
            "content": content,
            "kind": "oauth_config",
            "owner": user,
            "group": user,
            "mode": mode,
            "application": "desktop",
            "artifact": "custom_redshift_okta",
        }
    ]


def user_dirs(user, folders=("My Tableau Repository",)):
    return [
        {
            "path": f"/home/{user}/Documents/{repository}/OAuthConfigs",
            "kind": "oauth_config",
            "application": "desktop",
            "owner": user,
            "group": user,
            "mode": "0700",
        }
        for repository in folders
    ]


PLAYBOOK = """
- hosts: {host}
  gather_facts: false
  tasks:
    - name: sync under attack (once)
      tabops.redshift_oauth.tableau_files:
        files: "{{{{ sync_variants[0] }}}}"
        folders: "{{{{ sync_dirs }}}}"
        backup_keep: "{{{{ sync_backup_keep }}}}"
        lock_timeout: 60
      when: sync_runs == 1
      ignore_errors: true

    - name: sync under attack (repeated)
      tabops.redshift_oauth.tableau_files:
        files: "{{{{ sync_variants[item % (sync_variants | length)] }}}}"
        folders: "{{{{ sync_dirs }}}}"
        backup_keep: "{{{{ sync_backup_keep }}}}"
        lock_timeout: 60
      loop: "{{{{ range(sync_runs) | list }}}}"
      when: sync_runs > 1
      ignore_errors: true
"""


def failed(result):
    # Loop items lose the "failed" key in the json callback; a failing module result always carries "msg" and
    # an error folder.
    return bool(result.get("failed")) or any(folder["status"] == "error" for folder in result.get("folders", []))


class Sync:
    """The module run as root on the lab host by ansible-playbook, with explicit files and folders."""

    def __init__(self, fleet):
        self.fleet = fleet
        self.playbook = fleet.workdir / "sync.yml"
        self.playbook.write_text(PLAYBOOK.format(host=HOST))

    def run(self, variants, dirs, runs=1, check=False, diff=False, backup_keep=5):
        args = ["--check"] if check else []
        args += ["--diff"] if diff else []
        extra = {"sync_variants": variants, "sync_dirs": dirs, "sync_runs": runs, "sync_backup_keep": backup_keep}
        run = self.fleet.playbook(str(self.playbook), *args, extra_vars=extra)
        assert run.result, run.stdout[-2000:] + run.stderr[-2000:]
        if runs == 1:
            results = [run.host_results("sync under attack (once)")[HOST][0]]
        else:
            results = run.host_results("sync under attack (repeated)")[HOST][0]["results"]
        assert len(results) == runs
        return results, run


def canaries(fleet):
    listing = fleet.sh(
        HOST,
        f"stat -c '%n %a %u %g %s %Y' {CANARIES} && sha256sum /etc/shadow /root/canary/secret.xml "
        "/srv/rootowned/OAuthConfigs/victim.xml /home/rootfile && ls -la /root/canary "
        "/srv/rootowned/OAuthConfigs",
    )
    assert "/etc/shadow" in listing and ROOT_SECRET not in listing
    return listing


def as_user(fleet, script, user=USER, check=True):
    quoted = script.replace("'", "'\\''")
    return fleet.sh(HOST, f"runuser -u {user} -- /bin/sh -c '{quoted}'", check=check)


def start_attack(fleet, python_source, seconds, user=USER):
    """Run an attack script as ``user`` in the background on the host: until wait_attack, at most ``seconds``."""
    script = f"/tmp/attack-{user}.py"
    log = f"/tmp/attack-{user}.log"
    fleet.write(HOST, script, textwrap.dedent(python_source), owner=user)
    fleet.sh(
        HOST,
        f"rm -f {log} /tmp/attack-stop; "
        f"runuser -u {user} -- /usr/bin/python3 {script} {seconds} < /dev/null > {log} 2>&1 &",
    )
    return log


def wait_attack(fleet, log, seconds):
    """Stop the attack and return its counters."""
    output = fleet.sh(
        HOST,
        f"touch /tmp/attack-stop; for i in $(seq 1 {seconds * 10 + 100}); do "
        f"grep -q '^done' {log} && break; sleep 0.1; done; cat {log}",
    )
    assert output.startswith("done"), output
    return json.loads(output.split(" ", 1)[1])


def converges(sync, variants, dirs):
    """Without the attack: a run that fixes everything, then a run that changes nothing."""
    (first,), _run = sync.run(variants, dirs)
    assert not first.get("failed"), first.get("msg")
    (second,), _run = sync.run(variants, dirs)
    assert not second.get("failed") and second["changed"] is False, second
    return first


RESET = """
set -e
for mount in $(awk '$1 == "tabops-full" {print $2}' /proc/mounts); do umount "$(printf '%b' "$mount")"; done
touch /tmp/attack-stop; sleep 0.3  # an attack left running stops itself
rm -rf /root/canary /srv/rootowned /home/rootfile /tmp/attack-* /root/syslog*
for user in analyst1 analyst2; do
    rm -rf "/home/$user/Documents" "/home/$user/swap"
    for repository in "My Tableau Repository" "My Tableau Prep Repository"; do
        runuser -u "$user" -- mkdir -p "/home/$user/Documents/$repository/OAuthConfigs" \
            "/home/$user/Documents/$repository/Datasources"
    done
done
"""


@pytest.fixture
def lab(shared_fleet):  # noqa: F811
    fleet = shared_fleet
    fleet.sh(HOST, RESET)
    fleet.sh(HOST, CANARY_SETUP)
    sync = Sync(fleet)
    # A first rollout: the user's config exists, owned by the user, 0600, in the manifest.
    (first,), _run = sync.run([user_files(USER, oauth_xml())], user_dirs(USER))
    assert first["changed"] is True and not first.get("failed"), first.get("msg")
    return {"fleet": fleet, "sync": sync, "canaries": canaries(fleet)}


def user_tree(fleet, user=USER):
    return fleet.sh(
        HOST,
        f"cd /home/{user} && find . -printf '%y %m %u %p\\n' | LC_ALL=C sort && "
        "find . -type f -exec sha256sum {} + | LC_ALL=C sort",
    )


# ---------------------------------------------------------------------------------------------
# rows of the issue 10 table
# ---------------------------------------------------------------------------------------------


def test_backups_folder_swapped_for_a_symlink_to_a_root_only_folder(lab):
    fleet, sync = lab["fleet"], lab["sync"]
    as_user(fleet, f'rm -rf "{FOLDER}/.tabops-backups" && ln -s /root/canary "{FOLDER}/.tabops-backups"')
    (result,), _run = sync.run([user_files(USER, oauth_xml(client_id="next"))], user_dirs(USER))
    assert result["failed"] is True
    assert f"{FOLDER}/.tabops-backups refused: is a symbolic link (not followed)" in result["msg"]
    assert canaries(fleet) == lab["canaries"]
    assert "tableau-desktop" in fleet.read(HOST, TARGET), "not replaced: the old file could not be backed up"
    as_user(fleet, f'rm "{FOLDER}/.tabops-backups"')
    converges(sync, [user_files(USER, oauth_xml(client_id="next"))], user_dirs(USER))
    assert "next" in fleet.read(HOST, TARGET)
    assert canaries(fleet) == lab["canaries"]


# The attack counts, from inotify events on the managed folder, the swaps that landed between the sync's read and
# its write. Each run opens the folder itself twice before it reads the manifest (root's tree_owner walk, then the
# worker's observation; the attacker works by path and never opens the folder or reads the manifest), and once more
# after it to apply the plan (sync_folder's walk, right before the identity checks and writes). A window opens at
# the manifest read and closes at the next open of the folder when that open was the apply's: the next run's
# manifest read comes two opens after it (one open after it: that run applied nothing, the window is dropped).
# Closes are watched too: inotify merges two identical events in a row, and a close between two opens keeps them two.
WINDOW_COUNTER = """
    import ctypes, os, struct
    class Windows:
        IN_ACCESS, IN_CLOSE_NOWRITE, IN_OPEN, IN_ISDIR, IN_NONBLOCK = 0x1, 0x10, 0x20, 0x40000000, 0o4000
        def __init__(self, folder):
            self.libc = ctypes.CDLL(None, use_errno=True)
            self.fd = self.libc.inotify_init1(self.IN_NONBLOCK)
            assert self.fd >= 0 and self.libc.inotify_add_watch(
                self.fd, folder.encode(), self.IN_ACCESS | self.IN_OPEN | self.IN_CLOSE_NOWRITE) >= 0
            self.start = self.candidate = None
            self.opens_after = 0
            self.windows = self.in_windows = self.raced = 0
        def close(self):
            self.windows += 1
            self.in_windows += self.candidate - self.start
            self.raced += self.candidate > self.start
        def poll(self, swaps):
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return
            offset = 0
            while offset < len(data):
                _wd, mask, _cookie, length = struct.unpack_from("iIII", data, offset)
                name = data[offset + 16 : offset + 16 + length].rstrip(b"\\0")
                offset += 16 + length
                if mask & self.IN_ACCESS and name == b".tabops-managed.json":
                    if self.candidate is not None and self.opens_after >= 2:
                        self.close()
                    self.start, self.candidate, self.opens_after = swaps, None, 0
                elif mask & self.IN_OPEN and mask & self.IN_ISDIR and not name:
                    if self.candidate is not None:
                        self.opens_after += 1
                    elif self.start is not None:
                        self.candidate, self.opens_after = swaps, 0
        def stats(self):
            if self.candidate is not None and self.opens_after == 0:
                self.close()  # the last run's apply
            return {"windows": self.windows, "swaps_in_windows": self.in_windows, "raced_windows": self.raced}
"""

EXCHANGE_ATTACK = (
    WINDOW_COUNTER
    + """
    import ctypes, json, os, sys, time
    libc = ctypes.CDLL(None, use_errno=True)
    RENAME_EXCHANGE = 2
    AT_FDCWD = -100
    target, link = sys.argv[2], sys.argv[3]
    os.symlink("/etc/shadow", link)
    deadline = time.monotonic() + float(sys.argv[1])
    STOP = "/tmp/attack-stop"
    swaps = errors = 0
    windows = Windows(os.path.dirname(target))
    while time.monotonic() < deadline and not os.path.exists(STOP):
        windows.poll(swaps)
        for path in (target, link):
            try:
                if not os.path.islink(path):
                    os.chmod(path, 0o644)  # the drift that makes root fix the mode
            except OSError:
                pass
        if libc.renameat2(AT_FDCWD, target.encode(), AT_FDCWD, link.encode(), RENAME_EXCHANGE) == 0:
            swaps += 1
        else:
            errors += 1
    print("done " + json.dumps(dict(windows.stats(), swaps=swaps, errors=errors)))
"""
)


def test_managed_file_exchanged_with_a_symlink_right_after_the_read(lab):
    fleet, sync = lab["fleet"], lab["sync"]
    source = EXCHANGE_ATTACK.replace("sys.argv[2], sys.argv[3]", repr(TARGET) + ", " + repr(f"/home/{USER}/swap"))
    log = start_attack(fleet, source, 30)
    variants = [user_files(USER, oauth_xml())]
    results, _run = sync.run(variants, user_dirs(USER), runs=15)
    stats = wait_attack(fleet, log, 30)
    assert stats["swaps"] >= 200, stats
    # The race happened: swaps landed between the sync's read and its write, in several runs.
    assert stats["raced_windows"] >= 3 and stats["swaps_in_windows"] >= 20, stats
    assert canaries(fleet) == lab["canaries"], "root followed the link"
    acted = [r for r in results if r.get("changed") or failed(r)]
    assert acted, "the module never saw the drift: the race was not exercised"
    # The attack is over: whichever of the two names holds the file, the next run puts things right.
    converges(sync, variants, user_dirs(USER))
    assert fleet.sh(HOST, f"stat -c '%F %a %U' '{TARGET}'").strip() == f"regular file 600 {USER}"
    assert canaries(fleet) == lab["canaries"]


FLIP_ATTACK = (
    WINDOW_COUNTER
    + """
    import json, os, sys, time
    target, folder = sys.argv[2], sys.argv[3]
    deadline = time.monotonic() + float(sys.argv[1])
    STOP = "/tmp/attack-stop"
    flips = 0
    windows = Windows(folder)
    while time.monotonic() < deadline and not os.path.exists(STOP):
        windows.poll(flips)
        os.symlink("/root/canary/secret.xml", folder + "/.flip-link")
        os.rename(folder + "/.flip-link", target)
        with open(folder + "/.flip-file", "w") as handle:
            handle.write("<oauth-config-by-the-user/>")
        os.rename(folder + "/.flip-file", target)
        flips += 2
    print("done " + json.dumps(dict(windows.stats(), flips=flips)))
"""
)


def test_managed_file_flipped_between_file_and_symlink_during_a_rewrite(lab):
    fleet, sync = lab["fleet"], lab["sync"]
    source = FLIP_ATTACK.replace("sys.argv[2], sys.argv[3]", repr(TARGET) + ", " + repr(FOLDER))
    log = start_attack(fleet, source, 30)
    variants = [user_files(USER, oauth_xml(client_id="a")), user_files(USER, oauth_xml(client_id="b"))]
    results, _run = sync.run(variants, user_dirs(USER), runs=15)
    stats = wait_attack(fleet, log, 30)
    assert stats["flips"] >= 200, stats
    assert stats["raced_windows"] >= 3 and stats["swaps_in_windows"] >= 20, stats
    # Each run either rewrote (with a backup) or found the name changed under it and left it for the next run.
    raced = [r for r in results if r.get("backups") or "changed since it was read" in r.get("msg", "")]
    assert raced, "the race was not exercised: " + json.dumps([r.get("msg") for r in results])[:2000]
    assert canaries(fleet) == lab["canaries"]
    leaked = fleet.sh(HOST, f"grep -rl '{ROOT_SECRET}' /home/{USER} || true")
    assert leaked.strip() == "", "a root-only file was copied into the user's tree: " + leaked
    converges(sync, variants[:1], user_dirs(USER))
    assert "<clientIdDesktop>a</clientIdDesktop>" in fleet.read(HOST, TARGET)
    backups = fleet.sh(HOST, f"ls '{FOLDER}/.tabops-backups' | wc -l").strip()
    assert int(backups) <= 5, "retention bounds the backups even under attack"


def test_repository_replaced_by_a_symlink_to_a_root_owned_folder(lab):
    fleet, sync = lab["fleet"], lab["sync"]
    as_user(fleet, f'mv "{REPO_DIR}" "{REPO_DIR}.real" && ln -s /srv/rootowned "{REPO_DIR}"')
    (result,), _run = sync.run([user_files(USER, oauth_xml(client_id="next"))], user_dirs(USER))
    assert result["failed"] is True
    assert result["folders"][0]["status"] == "error" and result["folders"][0]["written"] == []
    assert f"{REPO_DIR} is a symbolic link (not followed)" in result["folders"][0]["error"]
    assert canaries(fleet) == lab["canaries"], "nothing was created in the root-owned folder"
    as_user(fleet, f'rm "{REPO_DIR}" && mv "{REPO_DIR}.real" "{REPO_DIR}"')
    converges(sync, [user_files(USER, oauth_xml(client_id="next"))], user_dirs(USER))


SWAP_REPO_ATTACK = """
    import json, os, sys, time
    repo = sys.argv[2]
    deadline = time.monotonic() + float(sys.argv[1])
    STOP = "/tmp/attack-stop"
    swaps = 0
    while time.monotonic() < deadline and not os.path.exists(STOP):
        os.rename(repo, repo + ".real")
        os.symlink("/srv/rootowned", repo)
        time.sleep(0.002)
        os.unlink(repo)
        os.rename(repo + ".real", repo)
        swaps += 1
        time.sleep(0.002)
    print("done " + json.dumps({"swaps": swaps}))
"""


def test_manifest_lists_another_name_and_the_repository_is_swapped_after_the_read(lab):
    fleet, sync = lab["fleet"], lab["sync"]
    manifest = json.loads(fleet.read(HOST, f"{FOLDER}/.tabops-managed.json"))
    manifest["files"]["victim.xml"] = {"kind": "oauth_config", "artifact": "victim", "sha256": "0" * 64}
    as_user(fleet, f"cat > '{FOLDER}/.tabops-managed.json' <<'EOF'\n{json.dumps(manifest)}\nEOF")
    log = start_attack(fleet, SWAP_REPO_ATTACK.replace("sys.argv[2]", repr(REPO_DIR)), 20)
    results, _run = sync.run([user_files(USER, oauth_xml())], user_dirs(USER), runs=12)
    stats = wait_attack(fleet, log, 20)
    assert stats["swaps"] >= 200, stats
    assert canaries(fleet) == lab["canaries"], "root deleted or planted a file through the swapped folder"
    assert any(failed(r) or r.get("changed") for r in results)
    first = converges(sync, [user_files(USER, oauth_xml())], user_dirs(USER))
    assert "victim.xml" not in fleet.read(HOST, f"{FOLDER}/.tabops-managed.json")
    assert first["folders"][0]["status"] in ("ok", "changed")


def test_hard_link_to_a_root_file_under_a_managed_name(lab):
    fleet, sync = lab["fleet"], lab["sync"]
    # With fs.protected_hardlinks=0 the user could make this link; the sysctl is machine-wide, so the test lays
    # down the same state as root instead of switching it off for every fleet on the machine.
    fleet.sh(HOST, f"rm -f '{TARGET}' && ln /home/rootfile '{TARGET}'")
    (result,), run = sync.run([user_files(USER, oauth_xml())], user_dirs(USER), diff=True)
    assert result["failed"] is True
    assert result["files"][0]["status"] == "error"
    assert "2 hard links" in result["msg"]
    assert ROOT_SECRET not in run.stdout + run.stderr
    assert canaries(fleet) == lab["canaries"], "the root file was chowned or changed"
    fleet.sh(HOST, f"rm '{TARGET}'")
    converges(sync, [user_files(USER, oauth_xml())], user_dirs(USER))
    assert canaries(fleet) == lab["canaries"]


def test_twenty_rollouts_alternating_two_configs_keep_five_backups(lab):
    fleet, sync = lab["fleet"], lab["sync"]
    variants = [user_files(USER, oauth_xml(client_id="a")), user_files(USER, oauth_xml(client_id="b"))]
    results, _run = sync.run(variants, user_dirs(USER), runs=20)
    assert all(r["changed"] and not failed(r) for r in results)
    assert any(r["removed_backups"] for r in results)
    listing = fleet.sh(HOST, f"stat -c '%a %U %n' '{FOLDER}/.tabops-backups'/*").splitlines()
    assert len(listing) == 5, listing
    assert all(line.startswith(f"600 {USER} ") for line in listing), listing
    (predicted,), _run = sync.run(variants, user_dirs(USER), check=True, backup_keep=2)
    (done,), _run = sync.run(variants, user_dirs(USER), backup_keep=2)
    assert done["removed_backups"] == predicted["removed_backups"] and len(done["removed_backups"]) == 4
    assert len(fleet.sh(HOST, f"ls '{FOLDER}/.tabops-backups'").split()) == 2


def test_leftover_temp_files_of_a_killed_run_are_removed_and_reported(lab):
    fleet, sync = lab["fleet"], lab["sync"]
    # What a kill -9 between the temp file and the rename leaves: a 0600 temp file in the folder and in backups.
    as_user(
        fleet,
        f"umask 077; printf '<half' > '{FOLDER}/.tabops-tmp-killed01'; "
        f"mkdir -p '{FOLDER}/.tabops-backups'; printf 'x' > '{FOLDER}/.tabops-backups/.tabops-tmp-k2'",
    )
    leftovers = [f"{FOLDER}/.tabops-tmp-killed01", f"{FOLDER}/.tabops-backups/.tabops-tmp-k2"]
    before = user_tree(fleet)
    (predicted,), _run = sync.run([user_files(USER, oauth_xml())], user_dirs(USER), check=True)
    assert user_tree(fleet) == before, "check mode removed something"
    assert predicted["removed_temp_files"] == leftovers and predicted["changed"] is True
    (done,), _run = sync.run([user_files(USER, oauth_xml())], user_dirs(USER))
    assert done["removed_temp_files"] == leftovers
    assert fleet.sh(HOST, f"find '{FOLDER}' -name '.tabops-tmp-*'").strip() == ""
    converges(sync, [user_files(USER, oauth_xml())], user_dirs(USER))


def test_one_users_broken_folders_do_not_stop_the_other_users(lab):
    fleet, sync = lab["fleet"], lab["sync"]
    prep = "My Tableau Prep Repository"
    as_user(fleet, f"printf '{{not json' > '{FOLDER}/.tabops-managed.json'")
    as_user(fleet, f'rm -rf "/home/{USER}/Documents/{prep}" && ln -s /srv/rootowned "/home/{USER}/Documents/{prep}"')
    dirs = user_dirs(USER, ("My Tableau Repository", prep)) + user_dirs(OTHER)
    files = user_files(USER, oauth_xml(client_id="next")) + user_files(OTHER, oauth_xml(client_id="next"))
    (result,), _run = sync.run([files], dirs)
    assert result["failed"] is True and result["changed"] is True
    status = {folder["path"]: folder["status"] for folder in result["folders"]}
    assert status == {dirs[0]["path"]: "error", dirs[1]["path"]: "error", dirs[2]["path"]: "changed"}
    assert f"manifest {FOLDER}/.tabops-managed.json is not valid JSON" in result["msg"]
    assert f"/home/{USER}/Documents/{prep} is a symbolic link (not followed)" in result["msg"]
    assert "next" in fleet.read(HOST, files[1]["path"])
    assert "tableau-desktop" in fleet.read(HOST, TARGET), "the broken folder's file is left as it was"
    assert canaries(fleet) == lab["canaries"]


def test_a_full_disk_fails_that_folder_naming_the_path_and_reports_what_was_written(lab):
    fleet, sync = lab["fleet"], lab["sync"]
    other_folder = f"/home/{OTHER}/Documents/My Tableau Repository/OAuthConfigs"
    uid = fleet.sh(HOST, f"id -u {OTHER}").strip()
    fleet.sh(
        HOST,
        f"mkdir -p '{other_folder}' && mount -t tmpfs -o size=64k,mode=0700,uid={uid},gid={uid} "
        f"tabops-full '{other_folder}'",
    )
    try:
        as_user(fleet, f"dd if=/dev/zero of='{other_folder}/filler' bs=4k 2>/dev/null || true", user=OTHER)
        dirs = user_dirs(USER) + user_dirs(OTHER)
        files = user_files(USER, oauth_xml(client_id="next")) + user_files(OTHER, oauth_xml(client_id="next"))
        (result,), _run = sync.run([files], dirs)
        assert result["failed"] is True
        assert result["changed"] is True, "the first folder was written, and the result says so"
        first, second = result["folders"]
        assert first["status"] == "changed" and TARGET in first["written"]
        assert second["status"] == "error"
        assert f"{other_folder}/{NAME}" in second["error"] and "No space left on device" in second["error"]
        assert fleet.sh(HOST, f"ls -A '{other_folder}'").split() == ["filler"], "no temp file left behind"
        as_user(fleet, f"rm '{other_folder}/filler'", user=OTHER)
        converges(sync, [files], dirs)
    finally:
        fleet.sh(HOST, f"umount '{other_folder}'", check=False)


SYSLOG_LISTENER = """
    import os, socket, sys, time
    path, out, seconds = "/dev/log", sys.argv[2], float(sys.argv[1])
    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.2)
    deadline = time.monotonic() + seconds
    with open(out, "wb") as handle:
        while time.monotonic() < deadline:
            try:
                handle.write(sock.recv(1 << 20) + b"\\n")
                handle.flush()
            except socket.timeout:
                pass
    os.unlink(path)
    print("done {}")
"""


def test_secrets_with_backslashes_and_both_quotes_stay_out_of_the_hosts_syslog(lab):
    fleet, sync = lab["fleet"], lab["sync"]
    secret = "se\\cr'et\"-v4lue-\\n-\u00e9"
    source = SYSLOG_LISTENER.replace("sys.argv[2]", repr("/root/syslog.txt"))
    script = "/root/syslog-listener.py"
    fleet.write(HOST, script, textwrap.dedent(source))
    fleet.sh(HOST, f"rm -f /root/syslog.log; /usr/bin/python3 {script} 20 < /dev/null > /root/syslog.log 2>&1 &")
    fleet.sh(HOST, "for i in $(seq 1 50); do [ -S /dev/log ] && break; sleep 0.1; done; test -S /dev/log")
    (result,), run = sync.run([user_files(USER, oauth_xml(secret=secret))], user_dirs(USER), diff=True)
    assert not result.get("failed"), result.get("msg")
    logged = fleet.sh(HOST, "cat /root/syslog.txt")
    assert "Invoked with" in logged and "clientSecretDesktop" in logged, "the module's invocation reached syslog"
    spellings = {secret, json.dumps(secret)[1:-1], repr(secret)[1:-1], secret.replace("\\", "\\\\")}
    spellings |= {secret.replace("'", "\\'"), "v4lue"}
    for spelling in spellings:
        assert spelling not in logged, f"syslog holds {spelling!r}"
        assert spelling not in run.stdout + run.stderr
    assert secret in fleet.read(HOST, TARGET)


# ---------------------------------------------------------------------------------------------
# rows of the issue 19 table (host side): root parses nothing a user wrote
# ---------------------------------------------------------------------------------------------

# An escaped <clientSecretDesktop> in clientIdDesktop, then 26 empty CDATA sections and no end tag (about 2.6 KB):
# the backtracking masking regex took minutes on it, holding the host lock.
HANG_XML = (
    "<?xml version='1.0' encoding='utf-8'?>\n<pluginOAuthConfig><dbclass>redshift</dbclass>"
    "<oauthConfigId>custom_redshift_okta</oauthConfigId>"
    "<clientIdDesktop>&lt;clientSecretDesktop&gt;</clientIdDesktop>"
    "<clientSecretDesktop>" + TEST_SECRET + "<![CDATA[]]>" * 26 + " " * 2000
)
LOCK_FREE = "test ! -e /run/tabops-artifacts.lock || flock -n /run/tabops-artifacts.lock true"


def two_users(client_id="next"):
    dirs = user_dirs(USER) + user_dirs(OTHER)
    files = user_files(USER, oauth_xml(client_id=client_id)) + user_files(OTHER, oauth_xml(client_id=client_id))
    return files, dirs


def folder_status(result):
    return {folder["path"]: (folder["status"], folder["error"] or "") for folder in result["folders"]}


def test_a_masking_hang_config_is_bounded_and_the_host_lock_released(lab):
    fleet, sync = lab["fleet"], lab["sync"]
    as_user(fleet, f"cat > '{TARGET}' <<'EOF'\n{HANG_XML}\nEOF")
    files, dirs = two_users()
    started = time.monotonic()
    (result,), run = sync.run([files], dirs, diff=True)
    assert time.monotonic() - started < 60, "the run is bounded (it hung for minutes before)"
    assert not failed(result), result.get("msg")
    assert [status for status, _error in folder_status(result).values()] == ["changed", "changed"]
    assert TEST_SECRET not in run.stdout + run.stderr
    fleet.sh(HOST, LOCK_FREE)  # the host lock is free at once
    (second,), _run = sync.run([files], dirs)
    assert second["changed"] is False and not failed(second), second.get("msg")
    assert canaries(fleet) == lab["canaries"]


def test_a_950_deep_manifest_entry_fails_only_its_folder(lab):
    fleet, sync = lab["fleet"], lab["sync"]
    manifest = json.loads(fleet.read(HOST, f"{FOLDER}/.tabops-managed.json"))
    deep = "[" * 950 + '"x"' + "]" * 950
    text = '{"managed_by": "tabops.redshift_oauth", "files": {"%s": %s, "zz_stale.xml": {"artifact": %s}}}' % (
        NAME,
        json.dumps(manifest["files"][NAME]),
        deep,
    )
    as_user(fleet, f"cat > '{FOLDER}/.tabops-managed.json' <<'EOF'\n{text}\nEOF")
    files, dirs = two_users()
    (result,), _run = sync.run([files], dirs)
    assert result["failed"] is True and result["changed"] is True, "the other user's folder was written"
    status = folder_status(result)
    assert status[dirs[0]["path"]][0] == "error"
    assert "manifest entry zz_stale.xml: artifact must be a string" in status[dirs[0]["path"]][1]
    assert status[dirs[1]["path"]] == ("changed", "")
    assert "next" in fleet.read(HOST, files[1]["path"])
    assert "tableau-desktop" in fleet.read(HOST, TARGET), "the failed folder is left as it was"
    assert canaries(fleet) == lab["canaries"]
    as_user(fleet, f"rm '{FOLDER}/.tabops-managed.json'")
    converges(sync, [files], dirs)


def test_file_names_that_are_not_utf8_or_hold_controls(lab):
    fleet, sync = lab["fleet"], lab["sync"]
    odd = ["bad\\377\\376.xml", "new\\nline.xml", "esc\\033]0;pwned\\007.xml"]
    as_user(fleet, " && ".join(f"printf '<x/>' > \"{FOLDER}/$(printf '{name}')\"" for name in odd))
    before = fleet.sh(HOST, f"cd '{FOLDER}' && ls -b | LC_ALL=C sort")
    files, dirs = two_users()
    files[0] = user_files(USER, oauth_xml())[0]
    (result,), run = sync.run([files], dirs, diff=True)
    assert not failed(result), result.get("msg")  # the controller took the module's answer
    assert folder_status(result) == {dirs[0]["path"]: ("ok", ""), dirs[1]["path"]: ("changed", "")}
    unmanaged = {item["path"] for item in result["unmanaged"]}
    assert f"{FOLDER}/bad\\xff\\xfe.xml" in unmanaged and f"{FOLDER}/esc\\x1b]0;pwned\\x07.xml" in unmanaged
    assert "\x1b" not in run.stdout + run.stderr and "\x07" not in run.stdout + run.stderr
    assert fleet.sh(HOST, f"cd '{FOLDER}' && ls -b | LC_ALL=C sort") == before, "the odd files are left alone"
    assert canaries(fleet) == lab["canaries"]


def test_a_missing_desktop_user_and_root_fail_only_their_folders(lab):
    fleet, sync = lab["fleet"], lab["sync"]
    ghost = "tabops-ghost"
    root_folder = "/root/Documents/My Tableau Repository/OAuthConfigs"
    files, dirs = two_users()
    dirs += [*user_dirs(ghost), dict(user_dirs(USER)[0], path=root_folder, owner="root", group="root")]
    files += [*user_files(ghost, oauth_xml()), dict(user_files(USER, oauth_xml())[0], path=f"{root_folder}/{NAME}")]
    (result,), _run = sync.run([files], dirs)
    assert result["failed"] is True and result["changed"] is True
    status = folder_status(result)
    assert status[dirs[0]["path"]] == ("changed", "") and status[dirs[1]["path"]] == ("changed", "")
    assert f"user '{ghost}' does not exist on this host" in status[dirs[2]["path"]][1]
    assert "owner root (uid 0) is root or a system account (below UID_MIN" in status[root_folder][1]
    assert fleet.sh(HOST, f"test -e '{root_folder}' && echo present || echo absent").strip() == "absent"
    assert canaries(fleet) == lab["canaries"]
