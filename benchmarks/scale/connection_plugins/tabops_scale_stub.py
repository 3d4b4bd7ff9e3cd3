# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""BENCHMARK ONLY connection plugin: a converged Linux host answered in-process, for benchmarks/bench_scale.py."""

from __future__ import annotations

import ast
import json

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.connection import ConnectionBase

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._sync._plan import empty_result

DOCUMENTATION = r"""
name: tabops_scale_stub
short_description: BENCHMARK ONLY - answer module calls in the worker process from a model of a converged host
description:
  - Lives under C(benchmarks/) (not in the collection tarball, see galaxy.yml build_ignore) and is found only through
    C(ANSIBLE_CONNECTION_PLUGINS) set by C(benchmarks/bench_scale.py).
  - ansible-core builds the real module payload (AnsiballZ, pipelined); this plugin reads the module name and
    arguments from it and answers as the module would on a host whose files and tsm settings already match the
    declared state (no change), with the same host facts on every host (Redshift ODBC driver v2 2.1.5.0, Tableau
    Server 2024.2.3 on servers, Debian 12). No SSH, no process per call; what is measured is the controller's cost.
  - A module it has no model for fails the task, naming the module (a new host call must get a model here).
author: tabops maintainers
options: {}
"""

DRIVER_V2 = "/opt/amazon/redshiftodbcx64/librsodbc64.so"
OS_RELEASE = {"id": "debian", "version_id": "12", "name": "Debian GNU/Linux"}


def module_call(payload):
    """(module name, module arguments) from a pipelined AnsiballZ payload (the ``_ansiballz_main(...)`` call)."""
    text = payload.decode("utf-8")
    call = text.rindex("_ansiballz_main(\n")
    values = {}
    for key in ("ansible_module", "params"):
        start = text.index("\n%s=" % key, call) + len(key) + 2
        values[key] = ast.literal_eval(text[start : text.index(",\n", start)])
    return values["ansible_module"], json.loads(values["params"])["ANSIBLE_MODULE_ARGS"]


def host_facts(options):
    searched = list(((options.get("drivers") or {}).get("v2") or {}).get("libraries") or [DRIVER_V2])
    server = options.get("tableau_server")
    return {
        "drivers": {
            "v1": {
                "present": False,
                "library": None,
                "driver_name": None,
                "version": None,
                "version_source": None,
                "new_enough": None,
                "searched": [],
            },
            "v2": {
                "present": True,
                "library": DRIVER_V2,
                "driver_name": "Amazon Redshift ODBC Driver (x64)",
                "version": "2.1.5.0",
                "version_source": "package",
                "new_enough": True,
                "searched": searched,
            },
        },
        "driver": "v2",
        "tableau_server": {"version": "2024.2.3", "build": "20242.24.0807.0327", "source": "package"}
        if server
        else {"version": None, "build": None, "source": None},
        "os": dict(OS_RELEASE),
    }


def tableau_files(args):
    files = [
        {key: item.get(key) for key in ("path", "artifact", "application", "kind")}
        | {"status": "compliant", "action": "none", "differences": [], "adopted": False}
        for item in args.get("files") or []
    ]
    folders = [{"path": d.get("path"), "status": "ok", "error": None, "written": []} for d in args.get("folders") or []]
    result = dict(empty_result(), files=files, folders=folders)
    if args.get("host_facts") is not None:
        result["host_facts"] = host_facts(args["host_facts"])
    return result


def tsm_settings(args):
    entries = list(args.get("allowlist_entries") or [])
    result = {"changed": False, "keys_set": [], "pending_keys": [], "managed_pending_keys": [], "apply_needed": False}
    if entries:
        current = (args.get("allowlist_separator") or ",").join(entries)
        result["allowlist"] = {
            "key": args.get("allowlist_key"),
            "before": current,
            "after": current,
            "added": [],
            "known_key": True,
        }
    clients = args.get("oauth_clients") or []
    result["oauth_clients"] = [
        {"id": client.get("oauth.config.id") or client.get("id"), "status": "compliant", "differences": []}
        for client in clients
    ]
    return result


def tsm_probe(args):
    """A server whose other clients' secrets read clear: the run-time check lets the merge go on."""
    return {"changed": False, "refused_clients": [], "merge_possible": True, "probe": {}, "assumptions": []}


MODELS = {
    "ping": lambda args: {"ping": args.get("data", "pong"), "changed": False},
    "redshift_odbc_facts": lambda args: dict(host_facts(args), changed=False),
    "tableau_files": tableau_files,
    "tsm_settings": tsm_settings,
    "tsm_probe": tsm_probe,
}


class Connection(ConnectionBase):
    transport = "tabops_scale_stub"
    has_pipelining = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.always_pipeline_modules = True

    def _connect(self):
        self._connected = True
        return self

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        if not in_data:
            raise AnsibleConnectionFailure("tabops_scale_stub: only pipelined module calls are modelled, got %r" % cmd)
        name, args = module_call(in_data)
        model = MODELS.get(name.rsplit(".", 1)[-1])
        if model is None:
            answer = {"failed": True, "msg": "tabops_scale_stub: no model for module %s" % name}
        else:
            answer = model(args)
        return 0, json.dumps(answer).encode("utf-8"), b""

    def put_file(self, in_path, out_path):
        raise AnsibleConnectionFailure("tabops_scale_stub: put_file is not modelled (pipelining is on)")

    def fetch_file(self, in_path, out_path):
        raise AnsibleConnectionFailure("tabops_scale_stub: fetch_file is not modelled")

    def close(self):
        self._connected = False
