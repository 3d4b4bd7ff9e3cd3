# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The contract of the ansible.windows modules, read from the INSTALLED collection (fixtures/windows/contract.py).

Every call the Windows transport makes in the unit scenarios already goes through ``contract.check_args`` and every
answer of the double through ``contract.check_result`` (``fakewin.answer``). These tests show that the contract is
really parsed from the installed sources, that it agrees with the modules' DOCUMENTATION, and that it can fail: a
deliberately wrong option name, type, choice or a missing required option stops the scenario.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[3] / "unit" / "fixtures" / "windows"
sys.path.insert(0, str(FIXTURES))

import contract  # noqa: E402
from fakewin import FakeAction, FakeWindowsHost  # noqa: E402
from test_windows_sync import HOME, OAUTH_DIR, module_args  # noqa: E402

from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils import _windows_sync  # noqa: E402

MODULES = ["ansible.windows.win_find", "ansible.windows.slurp", "ansible.windows.win_copy", "ansible.windows.win_file"]


@pytest.fixture
def host():
    fake = FakeWindowsHost()
    fake.mkdir(HOME)
    return fake


def test_the_contract_is_parsed_from_the_installed_collection():
    assert (contract.MODULES_DIR / "win_find.ps1").exists() and contract.collection_version() != "unknown"
    find = contract.argument_spec("ansible.windows.win_find")
    assert find["paths"] == dict(find["paths"], type="list", elements="str", required=True)
    assert find["checksum_algorithm"]["choices"] == ["md5", "sha1", "sha256", "sha384", "sha512"]
    assert "regex" in find["patterns"]["aliases"]
    # What win_copy.ps1 accepts when called directly (the transport's way): _copy_mode, never action-only options.
    copy = contract.argument_spec("ansible.windows.win_copy")
    assert copy["_copy_mode"]["choices"] == ["explode", "query", "remote", "single"]
    assert "remote_src" not in copy and "content" not in copy
    assert contract.argument_spec("ansible.windows.slurp")["src"]["aliases"] == ["path"]
    returned = contract.documentation("ansible.windows.win_find")["RETURN"]["files"]["contains"]
    assert {"checksum", "lnk_source", "lnk_target", "path", "isreg"} <= set(returned)


@pytest.mark.parametrize("module", MODULES)
def test_the_ps1_spec_agrees_with_the_documented_options(module):
    """Where both name an option, the .ps1 (what the module accepts) and DOCUMENTATION (what it promises) agree."""
    documented = contract.documentation(module)["DOCUMENTATION"]["options"]
    spec = contract.argument_spec(module)
    shared = set(documented) & set(spec)
    assert shared, module
    for name in shared:
        assert spec[name]["type"] == documented[name].get("type", "str"), (module, name)
        if documented[name].get("choices"):
            assert sorted(spec[name]["choices"]) == sorted(documented[name]["choices"]), (module, name)


@pytest.mark.parametrize(
    ("bad_option", "message"),
    [
        ({"recursive": True}, "unknown option 'recursive'"),
        ({"depth": "3"}, "option 'depth' must be int"),
        ({"checksum_algorithm": "sha3"}, "'sha3' is not one of"),
        ({"patterns": [1]}, "elements must be str"),
    ],
)
def test_a_wrong_option_in_the_transport_fails_the_scenario(host, monkeypatch, bad_option, message):
    """The sync's own win_find call with one option deliberately wrong: the contract stops the scenario."""
    real_find = _windows_sync._find

    def wrong_find(windows_host, paths, **options):
        return real_find(windows_host, paths, **dict(options, **bad_option))

    monkeypatch.setattr(_windows_sync, "_find", wrong_find)
    with pytest.raises(contract.ContractError, match=message):
        _windows_sync.sync(FakeAction(host), {}, module_args())


def test_a_missing_required_option_and_an_unknown_module_option_fail(host):
    action = FakeAction(host)
    with pytest.raises(contract.ContractError, match="required option 'path' is missing"):
        action._execute_module(module_name="ansible.windows.win_file", module_args={"state": "absent"})
    with pytest.raises(contract.ContractError, match="unknown option 'remote_src'"):
        action._execute_module(
            module_name="ansible.windows.win_copy",
            module_args={"src": "C:\\a", "dest": "C:\\b", "remote_src": True},
        )
    # The internal _ansible_* arguments ansible-core adds to every call are accepted, aliases too.
    contract.check_args("ansible.windows.slurp", {"path": "C:\\a", "_ansible_check_mode": False})


def test_a_result_the_module_would_not_produce_fails():
    with pytest.raises(contract.ContractError, match=r"result\.source_path is not in the module's RETURN"):
        contract.check_result("ansible.windows.slurp", {"changed": False, "content": "", "source_path": "x"})
    with pytest.raises(contract.ContractError, match=r"result\.examined is documented as returned 'always'"):
        contract.check_result("ansible.windows.win_find", {"changed": False, "matched": 0, "files": []})
    item = {"path": "C:\\a", "checksum": 42}
    with pytest.raises(contract.ContractError, match=r"files\[0\]\.checksum must be str"):
        contract.check_result(
            "ansible.windows.win_find", {"changed": False, "examined": 1, "matched": 1, "files": [item]}
        )
    # A promise of the docs that the source never keeps is not required (slurp documents `source`, slurp.ps1 never
    # sets it): the double follows the source.
    assert not contract.set_by_source("ansible.windows.slurp", "source")
    contract.check_result("ansible.windows.slurp", {"changed": False, "content": "", "encoding": "base64"})


def test_every_call_of_a_scenario_is_checked(host, monkeypatch):
    checked = []
    real = contract.check_args
    monkeypatch.setattr(contract, "check_args", lambda module, args: checked.append(module) or real(module, args))
    action = FakeAction(host)
    _windows_sync.sync(action, {}, module_args())
    assert checked == [name for name in action.modules() if name != "transfer"]
    assert {"ansible.windows.win_find", "ansible.windows.win_copy", "ansible.windows.win_file"} <= set(checked)
    assert host.exists(OAUTH_DIR + "\\custom_redshift_okta.xml")
