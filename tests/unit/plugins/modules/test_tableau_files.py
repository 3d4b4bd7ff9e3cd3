# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""tableau_files run for real: ansible-playbook against localhost with the host's /usr/bin/python3.

The host Python has no defusedxml and no ansible: the module and its module_utils must run on the standard
library alone, as on managed hosts.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from localplay import ANSIBLE_PLAYBOOK, HOST_PYTHON, run_local_task, run_module_logged

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import render_oauth_config, render_tdc

CANARY = "CANARY-artifacts-secret-4be1d9"
OLD_SECRET = "OLD-artifacts-secret-77aa01"

pytestmark = pytest.mark.skipif(
    not (ANSIBLE_PLAYBOOK.exists() and os.path.exists(HOST_PYTHON)), reason="needs .venv ansible and /usr/bin/python3"
)


def run_playbook(tmp_path, task, **options):
    return run_local_task(tmp_path, task, **options)


def oauth_xml(client_id="tableau-desktop", secret=CANARY):
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


def tdc_xml(tdc_class="redshift", value="yes"):
    return render_tdc({"class": tdc_class, "customizations": {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": value}})


def snapshot(root):
    state = {}
    for folder, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            digest = None
            if stat.S_ISREG(st.st_mode):
                digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
            state[os.path.relpath(path, root)] = (digest, st.st_mode, st.st_uid, st.st_mtime_ns)
    return state


@pytest.fixture
def host(tmp_path):
    return make_host(tmp_path)


def make_host(tmp_path):
    root = tmp_path / "host"
    root.mkdir()
    oauth_dir = root / "My Tableau Repository" / "OAuthConfigs"
    tdc_dirs = [root / "tabsvc" / service / "Datasources" for service in ("vizqlserver", "backgrounder")]
    for folder in tdc_dirs:
        folder.parent.mkdir(parents=True)
    oauth_dir.parent.mkdir(parents=True)

    def args(oauth_text=None, tdc_text=None, tdc_conflicts="fail"):
        files = []
        if oauth_text is not None:
            files.append(
                {
                    "path": str(oauth_dir / "custom_redshift_okta.xml"),
                    "content": oauth_text,
                    "kind": "oauth_config",
                    "application": "desktop",
                    "artifact": "custom_redshift_okta",
                    "mode": "0600",
                }
            )
        if tdc_text is not None:
            for folder in tdc_dirs:
                files.append(
                    {
                        "path": str(folder / "redshift.tdc"),
                        "content": tdc_text,
                        "kind": "tdc",
                        "application": "server",
                        "artifact": "redshift",
                        "mode": "0644",
                    }
                )
        dirs = [{"path": str(oauth_dir), "kind": "oauth_config", "application": "desktop", "mode": "0700"}]
        dirs += [{"path": str(folder), "kind": "tdc", "application": "server"} for folder in tdc_dirs]
        return {
            "tabops.redshift_oauth.tableau_files": {
                "files": files,
                "folders": dirs,
                "tdc_conflicts": tdc_conflicts,
            }
        }

    return {"root": root, "oauth_dir": oauth_dir, "tdc_dirs": tdc_dirs, "args": args, "tmp": tmp_path}


def actions(result):
    return sorted((entry["path"], entry["status"], entry["action"]) for entry in result["files"])


def test_module_utils_work_without_defusedxml_on_the_host_python():
    # Managed hosts often lack defusedxml: with it made unimportable, the hardened expat fallback must be the
    # parser in use and still refuse a DTD.
    probe = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'defusedxml':\n"
        "            raise ImportError('blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "sys.path.insert(0, %r)\n"
        "from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import (\n"
        "    _safe_parse, parse_tdc)\n"
        "assert _safe_parse.defusedxml is None, 'defusedxml was used'\n"
        "try:\n"
        '    parse_tdc(\'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><connection-customization/>\')\n'
        "except ValueError as exc:\n"
        "    print('refused:', exc)\n"
    ) % str(ANSIBLE_PLAYBOOK.parents[2] / ".collections")
    completed = subprocess.run([HOST_PYTHON, "-I", "-S", "-c", probe], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("refused:"), completed.stdout


def test_check_mode_predicts_the_real_run_and_writes_nothing(host):
    task = host["args"](oauth_xml(), tdc_xml())
    before = snapshot(host["root"])
    rc, predicted, raw = run_playbook(host["tmp"], task, check=True)
    assert rc == 0, raw
    assert snapshot(host["root"]) == before, "check mode wrote something"
    assert predicted["changed"] is True
    assert {a[2] for a in actions(predicted)} == {"create"}
    assert predicted["restart_needed"] == ["desktop", "server"]
    assert predicted["backups"] == []

    rc, done, raw = run_playbook(host["tmp"], task)
    assert rc == 0, raw
    assert actions(done) == actions(predicted)
    assert done["changed"] == predicted["changed"]
    assert done["manifests"] == predicted["manifests"]
    assert (
        done["created_dirs"]
        == predicted["created_dirs"]
        == [str(host["oauth_dir"])] + [str(folder) for folder in host["tdc_dirs"]]
    )
    target = host["oauth_dir"] / "custom_redshift_okta.xml"
    assert target.read_text() == oauth_xml()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(host["oauth_dir"].stat().st_mode) == 0o700
    for folder in host["tdc_dirs"]:
        assert (folder / "redshift.tdc").read_text() == tdc_xml()
        assert (
            json.loads((folder / ".tabops-managed.json").read_text())["files"]["redshift.tdc"]["artifact"] == "redshift"
        )

    after_first = snapshot(host["root"])
    rc, again, raw = run_playbook(host["tmp"], task)
    assert rc == 0, raw
    assert again["changed"] is False
    assert {(a[1], a[2]) for a in actions(again)} == {("compliant", "none")}
    assert again["restart_needed"] == []
    assert snapshot(host["root"]) == after_first, "second run rewrote something"

    rc, check_again, raw = run_playbook(host["tmp"], task, check=True)
    assert rc == 0, raw
    assert check_again["changed"] is False


def test_drift_stale_and_hand_edits_predicted_then_done(host):
    run_playbook(host["tmp"], host["args"](oauth_xml(client_id="old", secret=OLD_SECRET), tdc_xml()))
    # Hand edits: a reformatting (no change by meaning), a chmod, and an unmanaged stray config.
    tdc_one = host["tdc_dirs"][0] / "redshift.tdc"
    tdc_one.write_text(tdc_xml().replace("\n  ", "\n\t\t").replace("'", '"'))
    (host["tdc_dirs"][1] / "redshift.tdc").chmod(0o666)
    stray = host["oauth_dir"] / "custom_legacy.xml"
    stray.write_text(oauth_xml().replace("custom_redshift_okta", "custom_legacy"))
    # New desired state: the OAuth config changes, the TDCs stay, nothing removed yet.
    task = host["args"](oauth_xml(client_id="new"), tdc_xml())
    before = snapshot(host["root"])
    rc, predicted, raw = run_playbook(host["tmp"], task, check=True, diff=True)
    assert rc == 0, raw
    assert snapshot(host["root"]) == before
    by_path = {entry["path"]: entry for entry in predicted["files"]}
    assert by_path[str(tdc_one)]["status"] == "compliant"
    assert by_path[str(host["tdc_dirs"][1] / "redshift.tdc")]["differences"] == [
        {"path": "file.mode", "expected": "0644", "actual": "0666"}
    ]
    oauth_entry = by_path[str(host["oauth_dir"] / "custom_redshift_okta.xml")]
    assert (oauth_entry["status"], oauth_entry["action"]) == ("drift", "update")
    assert {"path": "client_id_desktop", "expected": "new", "actual": "old"} in oauth_entry["differences"]
    assert [(u["path"], u["reason"]) for u in predicted["unmanaged"]] == [(str(stray), "stray_custom_config")]
    assert CANARY not in raw and OLD_SECRET not in raw

    rc, done, raw = run_playbook(host["tmp"], task)
    assert rc == 0, raw
    assert actions(done) == actions(predicted)
    assert len(done["backups"]) == 1
    assert stray.exists()

    # Drop the TDCs: owned files are removed (with backups), predicted first.
    task = host["args"](oauth_xml(client_id="new"))
    rc, predicted, raw = run_playbook(host["tmp"], task, check=True)
    assert rc == 0, raw
    rc, done, raw = run_playbook(host["tmp"], task)
    assert rc == 0, raw
    assert actions(done) == actions(predicted)
    assert sorted(a[2] for a in actions(done)) == ["none", "remove", "remove"]
    assert done["restart_needed"] == ["server"]
    assert not (host["tdc_dirs"][0] / "redshift.tdc").exists()
    assert all("/.tabops-backups/redshift.tdc." in path for path in done["backups"])


def test_secrets_stay_out_of_verbose_output_and_diffs(host):
    run_playbook(host["tmp"], host["args"](oauth_xml(secret=OLD_SECRET)))
    task = host["args"](oauth_xml(secret=CANARY))
    for check in (True, False):
        rc, _result, raw = run_playbook(host["tmp"], task, check=check, diff=True, verbosity=3, json_output=False)
        assert rc == 0, raw
        assert "[redacted]" in raw
        assert CANARY not in raw
        assert OLD_SECRET not in raw
    assert CANARY in (host["oauth_dir"] / "custom_redshift_okta.xml").read_text()


def test_secrets_are_masked_in_the_injected_invocation(host):
    # With ANSIBLE_INJECT_INVOCATION the module echoes its arguments (the rendered content) in its result. The
    # action drops the echo on the controller; the module itself must already have masked it.
    module_args = host["args"](oauth_xml(secret=CANARY))["tabops.redshift_oauth.tableau_files"]
    result, _logged = run_module_logged(
        host["tmp"], "tableau_files", dict(module_args, _ansible_inject_invocation=True), check=True
    )
    echoed = result["invocation"]["module_args"]["files"][0]["content"]
    assert "<clientIdDesktop>tableau-desktop</clientIdDesktop>" in echoed
    assert CANARY not in json.dumps(result)


def test_tdc_conflict_fails_its_folder_the_others_are_written_then_the_task_fails(host):
    rogue_dir = host["tdc_dirs"][1]
    rogue_dir.mkdir()
    rogue = rogue_dir / "odbc-redshift.tdc"
    rogue.write_text(tdc_xml(value="no"))
    before = snapshot(rogue_dir)
    rc, result, raw = run_playbook(host["tmp"], host["args"](oauth_xml(), tdc_xml()))
    assert rc != 0
    assert result["failed"] is True
    assert "TDC conflict, nothing written in %s" % rogue_dir in result["msg"]
    assert str(rogue) in result["msg"]
    assert snapshot(rogue_dir) == before
    assert (host["oauth_dir"] / "custom_redshift_okta.xml").read_text() == oauth_xml()
    assert (host["tdc_dirs"][0] / "redshift.tdc").read_text() == tdc_xml()
    assert not any("TDC conflict" in warning for warning in result.get("warnings", []))

    rc, result, raw = run_playbook(host["tmp"], host["args"](oauth_xml(), tdc_xml(), tdc_conflicts="warn"))
    assert rc == 0, raw
    assert [(u["path"], u["reason"]) for u in result["unmanaged"]] == [(str(rogue), "tdc_conflict")]
    assert any("TDC conflict" in warning for warning in result.get("warnings", []))
    assert rogue.read_text() == tdc_xml(value="no")


def test_bad_input_fails_with_a_message_naming_the_field(host):
    task = host["args"](oauth_xml())
    task["tabops.redshift_oauth.tableau_files"]["files"][0]["mode"] = "rwx"
    rc, result, _raw = run_playbook(host["tmp"], task)
    assert rc != 0
    assert result["msg"].startswith("files[0].mode (file %s" % (host["oauth_dir"] / "custom_redshift_okta.xml"))


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("chown") is None, reason="needs root")
def test_owner_group_set_on_real_files(traversable_tmp):
    host = make_host(traversable_tmp)
    task = host["args"](oauth_xml())
    module_args = task["tabops.redshift_oauth.tableau_files"]
    module_args["files"][0].update(owner="nobody", group="65534")
    module_args["folders"][0].update(owner="nobody", group="65534")
    # Root creates only the first folder of nobody's tree; nobody's own worker does the rest and must reach it.
    rc, _result, raw = run_playbook(host["tmp"], task)
    assert rc == 0, raw
    target = host["oauth_dir"] / "custom_redshift_okta.xml"
    assert (target.stat().st_uid, target.stat().st_gid) == (65534, 65534)
    assert host["oauth_dir"].stat().st_uid == 65534
    rc, again, raw = run_playbook(host["tmp"], task)
    assert rc == 0 and again["changed"] is False, raw


SECRET_ALPHABET = st.one_of(
    st.sampled_from(["\\", '"', "'", "\n", "\t", "\r", "&", "<", ">", "]]>", "%", "{", "}", "$", "é", "\u2028", "😀"]),
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
)


def xml_escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=st.lists(SECRET_ALPHABET, min_size=6, max_size=24).map("".join).filter(lambda s: len(s.strip()) >= 6))
def test_the_host_log_of_the_invocation_never_holds_a_secret(tmp_path, secret):
    # The module runs for real (its own main(), real AnsibleModule); only the host log is captured at syslog/journal.
    # The document is written by hand, as any caller may pass it: the secret goes in XML-escaped, newlines and all.
    placeholder = "PLACEHOLDER-SECRET-0000"
    content = oauth_xml(secret=placeholder).replace(placeholder, xml_escape(secret))
    folder = tmp_path / "OAuthConfigs"
    args = {
        "files": [{"path": str(folder / "custom_redshift_okta.xml"), "content": content, "kind": "oauth_config"}],
        "folders": [{"path": str(folder), "kind": "oauth_config", "application": "desktop"}],
        "lock_timeout": 30,
    }
    result, logged = run_module_logged(tmp_path, "tableau_files", args)
    assert any("Invoked with" in line for line in logged), logged
    assert any("<clientSecretDesktop>" in line for line in logged), "the documents are logged (masked)"
    spellings = {secret, xml_escape(secret), json.dumps(secret)[1:-1]}
    spellings |= {repr(secret)[1:-1], repr(secret + "'\"")[1:-4]}
    core = secret.strip()
    everything = "\n".join(logged)
    for spelling in spellings | {core}:
        assert spelling not in everything, "secret spelling %r logged" % spelling
    assert secret not in json.dumps(result)


def test_a_second_concurrent_run_waits_then_fails_naming_the_holder(host):
    # Hold the module's own per-host lock the way a running module does, then start a run with a short timeout.
    from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._posix import HostLock

    task = host["args"](oauth_xml())
    task["tabops.redshift_oauth.tableau_files"]["lock_timeout"] = 2
    before = snapshot(host["root"])
    with HostLock(timeout=0) as held:
        rc, result, raw = run_playbook(host["tmp"], task)
    assert rc != 0, raw
    assert "(pid %d) holds the host lock %s" % (os.getpid(), held.path) in result["msg"]
    assert snapshot(host["root"]) == before
    rc, result, raw = run_playbook(host["tmp"], task)
    assert rc == 0, raw
    assert result["changed"] is True


def test_host_facts_in_the_same_call_equal_redshift_odbc_facts(host):
    options = {"tableau_server": False, "version_sources": ["version_file", "library"]}
    rc, facts, raw = run_playbook(host["tmp"], {"tabops.redshift_oauth.redshift_odbc_facts": options})
    assert rc == 0, raw
    task = host["args"](oauth_xml())
    task["tabops.redshift_oauth.tableau_files"]["host_facts"] = options
    rc, result, raw = run_playbook(host["tmp"], task, check=True)
    assert rc == 0, raw
    assert result["host_facts"] == {key: facts[key] for key in ("drivers", "driver", "tableau_server", "os")}
    assert result["host_facts"]["os"], "the OS was read"


def test_one_broken_folder_fails_the_task_after_the_others_were_written(host):
    # The desktop repository is a symlink to a folder elsewhere: refused, never followed; the server folders sync.
    elsewhere = host["tmp"] / "elsewhere"
    elsewhere.mkdir()
    repository = host["oauth_dir"].parent
    repository.rmdir()
    repository.symlink_to(elsewhere)
    if os.geteuid() == 0:
        # Planted by a user, not by root (a root-owned link in a root-owned path is system layout, followed).
        os.lchown(repository, 65534, 65534)
    rc, result, raw = run_playbook(host["tmp"], host["args"](oauth_xml(), tdc_xml()))
    assert rc != 0, raw
    assert result["failed"] is True and result["changed"] is True
    by_path = {folder["path"]: folder for folder in result["folders"]}
    broken = by_path[str(host["oauth_dir"])]
    assert broken["status"] == "error" and broken["written"] == []
    assert "%s is a symbolic link (not followed)" % repository in broken["error"]
    assert str(repository) in result["msg"]
    for folder in host["tdc_dirs"]:
        assert by_path[str(folder)]["status"] == "changed"
        assert str(folder / "redshift.tdc") in by_path[str(folder)]["written"]
        assert (folder / "redshift.tdc").read_text() == tdc_xml()
    assert list(elsewhere.iterdir()) == [], "nothing was created through the link"
    assert [entry["status"] for entry in result["files"] if entry["kind"] == "oauth_config"] == ["error"]


def test_leftover_temp_files_and_old_backups_are_removed_as_predicted(host):
    task = host["args"](oauth_xml(client_id="v0"))
    module_args = task["tabops.redshift_oauth.tableau_files"]
    module_args["backup_keep"] = 2
    for version in range(1, 5):
        module_args["files"][0]["content"] = oauth_xml(client_id="v%d" % version)
        rc, _result, raw = run_playbook(host["tmp"], task)
        assert rc == 0, raw
    backups = sorted((host["oauth_dir"] / ".tabops-backups").iterdir())
    assert len(backups) == 2, backups
    leftover = host["oauth_dir"] / ".tabops-tmp-interrupted"
    leftover.write_text("half a file")
    rc, predicted, raw = run_playbook(host["tmp"], task, check=True)
    assert rc == 0, raw
    assert predicted["removed_temp_files"] == [str(leftover)] and leftover.exists()
    assert predicted["changed"] is True
    rc, done, raw = run_playbook(host["tmp"], task)
    assert rc == 0, raw
    assert done["removed_temp_files"] == predicted["removed_temp_files"]
    assert not leftover.exists()
    rc, again, raw = run_playbook(host["tmp"], task)
    assert again["changed"] is False and again["removed_temp_files"] == []
