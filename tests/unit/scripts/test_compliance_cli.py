# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""scripts/compliance: its command line (the runs themselves are tested on the lab fleet)."""

import importlib.machinery
import importlib.util
import os
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "compliance"


def load():
    loader = importlib.machinery.SourceFileLoader("tabops_compliance_cli", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


cli = load()


@pytest.mark.parametrize(
    ("argv", "inventories", "report_dir", "ansible_args"),
    [
        (["-i", "inv", "--report-dir", "out"], ["inv"], "out", []),
        (["inv", "out"], ["inv"], "out", []),
        (["inv"], ["inv"], "reports", []),
        (
            ["-i", "a", "-i", "b", "--", "--limit", "tsnode1", "-e", "x=1"],
            ["a", "b"],
            "reports",
            ["--limit", "tsnode1", "-e", "x=1"],
        ),
        (
            ["inv", "out", "--limit", "desktops", "--vault-password-file", "p"],
            ["inv"],
            "out",
            ["--limit", "desktops", "--vault-password-file", "p"],
        ),
    ],
)
def test_arguments(argv, inventories, report_dir, ansible_args):
    args = cli.parse_args(argv)
    assert (args.inventory, args.report_dir, args.ansible_args) == (inventories, report_dir, ansible_args)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "an inventory is required"),
        (["a", "b", "c"], "at most two positional arguments"),
        (["inv", "out", "--report-dir", "other"], "give the report directory once"),
        (["inv", "--keep", "-1"], "--keep must be 0"),
    ],
)
def test_bad_arguments_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit) as excinfo:
        cli.parse_args(argv)
    assert excinfo.value.code == 2
    assert message in capsys.readouterr().err


def test_options_become_the_playbooks_own_variables():
    args = cli.parse_args(["inv", "out", "--keep", "3", "--remediate", "--prometheus-file", "m.prom"])
    variables = cli.playbook_variables(args, "/abs/out", "/tmp/x/report.path")
    assert variables == {
        "tabops_compliance_report_dir": "/abs/out",
        "tabops_compliance_keep": 3,
        "tabops_compliance_result_file": "/tmp/x/report.path",
        "tabops_compliance_prometheus_file": os.path.abspath("m.prom"),
        "tabops_remediate": True,
    }
    assert "tabops_remediate" not in cli.playbook_variables(cli.parse_args(["inv"]), "/r", "/f")
