#!/usr/bin/python
# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT

from __future__ import annotations

DOCUMENTATION = r"""
---
module: redshift_dsn_test
short_description: Test a Redshift IAM OAuth connection with isql and the ODBC driver, without Tableau
version_added: "0.1.0"
description:
  - The Tableau help page's troubleshooting test ("remove Tableau from the picture") as one call. Writes an
    C(odbc.ini) DSN and an C(odbcinst.ini) for the installed Redshift ODBC driver (v2 or v1) into a private
    temporary folder (mode 0700, files 0600), with the parameters Tableau uses (C(IAM=1),
    C(plugin_name=JwtIamAuthPlugin), C(role_arn), C(role_session_name), C(group_federation), C(DbUser),
    C(DbGroups), C(AutoCreate), C(ClusterId), C(Region), C(Database), C(Host), C(Port)).
  - Runs C(isql -v -k "DSN=<name>;FILEDSN=<folder>/token.dsn") with C(ODBCINI)/C(ODBCSYSINI) pointing at that
    folder, and turns the driver's messages into a diagnosis (SQLState 28000/08001 after a good OAuth flow means
    the IdP or AWS side is misconfigured; a driver that does not load; a role AWS will not let the token assume...).
  - The token never appears on a command line (C(/proc/<pid>/cmdline) is readable by every local user) nor in the
    C(odbc.ini) DSN. It is written to the file DSN C(token.dsn) (C([ODBC]) section, key C(web_identity_token),
    mode 0600, in the private folder) whose attributes the driver manager adds to the connection string it passes
    to the driver (unixODBC's C(SQLDriverConnect) reads C(FILEDSN=)); only the user running the module (and root)
    can read it. The folder is created on a memory file system when one is available (C($XDG_RUNTIME_DIR),
    C(/dev/shm)) and removed as soon as isql has finished, also on failure or timeout. The token is masked in
    everything returned. Run with pipelining (the playbook sets it) so the module's arguments are not written to
    the host's disk either.
author:
  - tabops maintainers (@tabops)
options:
  connection:
    description: A C(tabops_redshift_connections) entry (docs/data-model.md, "Redshift connections").
    type: dict
    required: true
  token:
    description: The IdP token (ID or access token, as the TDC makes Tableau pass it).
    type: str
    required: true
  driver:
    description: Which driver generation to use; V(auto) takes v2 when present and new enough, then v1.
    type: str
    choices: [auto, v1, v2]
    default: auto
  drivers:
    description: Overrides of the driver locations, as in M(tabops.redshift_oauth.redshift_odbc_facts).
    type: dict
    default: {}
  isql_path:
    description: isql to run; default the newest C(customer-bin.*/isql) of Tableau Server, else C(isql) on C(PATH).
    type: path
  tsm_packages_dir:
    description: Tableau Server's packages folder, searched for C(customer-bin.*/isql).
    type: path
    default: /opt/tableau/tableau_server/packages
  dsn_name:
    description: Name of the test DSN.
    type: str
    default: tabops_redshift_test
  timeout:
    description: Seconds isql may take.
    type: int
    default: 120
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Finds the driver and isql and renders the DSN, but writes nothing and runs nothing (C(result=skipped)).
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: Test the connection outside Tableau
  tabops.redshift_oauth.redshift_dsn_test:
    connection: "{{ tabops_redshift_connections | selectattr('name', 'eq', 'analytics') | first }}"
    token: "{{ lookup('ansible.builtin.env', 'TABOPS_REDSHIFT_TOKEN') }}"
  vars:
    ansible_pipelining: true
  register: dsn_test
"""

RETURN = r"""
result:
  description: >-
    V(ok), V(skipped) (check mode), V(driver-missing), V(isql-missing), V(dsn-not-found), V(role-arn-invalid),
    V(role-assume-denied), V(token-rejected), V(credentials-denied), V(cluster-not-found), V(auth-failed) (28000),
    V(connection-failed) (08001), V(timeout) or V(unknown).
  returned: always
  type: str
ok:
  description: isql connected.
  returned: always
  type: bool
sqlstate:
  description: The SQLState of the driver's error.
  returned: always
  type: str
diagnosis:
  description: What the result means.
  returned: always
  type: str
fix:
  description: What to do.
  returned: always
  type: str
messages:
  description: The driver and driver manager messages (token masked).
  returned: always
  type: list
  elements: str
dsn:
  description: The odbc.ini text used (it never holds the token).
  returned: when a driver was found
  type: str
driver:
  description: The driver generation, name and library used.
  returned: always
  type: dict
isql:
  description: The isql run.
  returned: always
  type: str
isql_rc:
  description: isql's exit status.
  returned: when isql ran
  type: int
"""

import os
import shutil
import stat
import subprocess
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._odbc import (
    DEFAULT_DRIVERS,
    TOKEN_FILE_NAME,
    OdbcError,
    connection_string,
    diagnose_isql,
    discover_driver,
    newest_customer_bin,
    render_dsn,
    render_odbcinst,
    token_file_dsn,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._secrets import mask_text


def argument_spec():
    return {
        "connection": {"type": "dict", "required": True},
        "token": {"type": "str", "required": True, "no_log": True},
        "driver": {"type": "str", "choices": ["auto", "v1", "v2"], "default": "auto"},
        "drivers": {"type": "dict", "default": {}},
        "isql_path": {"type": "path"},
        "tsm_packages_dir": {"type": "path", "default": "/opt/tableau/tableau_server/packages"},
        "dsn_name": {"type": "str", "default": "tabops_redshift_test"},
        "timeout": {"type": "int", "default": 120},
    }


def choose_driver(wanted, overrides):
    found = {g: discover_driver(g, overrides.get(g) or {}) for g in DEFAULT_DRIVERS}
    if wanted != "auto":
        return found[wanted] if found[wanted]["present"] else None, found
    for generation in ("v2", "v1"):
        if found[generation]["present"] and found[generation]["new_enough"]:
            return found[generation], found
    for generation in ("v2", "v1"):
        if found[generation]["present"]:
            return found[generation], found
    return None, found


def find_isql(isql_path, packages_dir):
    if isql_path:
        return isql_path if os.access(isql_path, os.X_OK) else None
    folder = newest_customer_bin(packages_dir)
    if folder and os.access(os.path.join(folder, "isql"), os.X_OK):
        return os.path.join(folder, "isql")
    return shutil.which("isql")


def private_parent():
    """A memory file system only this user can write to, else /dev/shm, else the usual temp folder."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        try:
            info = os.lstat(runtime)
        except OSError:
            info = None
        if info and stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o077:
            return runtime
    shared_memory = "/dev/shm"  # noqa: S108 - mkdtemp makes a fresh 0700 folder of a random name in it
    if os.path.isdir(shared_memory) and os.access(shared_memory, os.W_OK | os.X_OK):
        return shared_memory
    return None


def _write(folder_fd, name, text):
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=folder_fd)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def run_isql(module, isql, dsn, odbcinst, token):
    """Run isql once with the DSN and the token file in a private folder; the folder is gone afterwards."""
    params = module.params
    folder = tempfile.mkdtemp(prefix="tabops-dsn-", dir=private_parent())  # mode 0700, a fresh random name
    try:
        folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            _write(folder_fd, "odbc.ini", dsn)
            _write(folder_fd, "odbcinst.ini", odbcinst)
            _write(folder_fd, TOKEN_FILE_NAME, token_file_dsn(token))
        finally:
            os.close(folder_fd)
        env = dict(os.environ, ODBCINI=os.path.join(folder, "odbc.ini"), ODBCSYSINI=folder)
        argv = [isql, "-v", "-k", connection_string(params["dsn_name"], os.path.join(folder, TOKEN_FILE_NAME))]
        return subprocess.run(  # pylint: disable=ansible-bad-function  # needs a timeout
            argv, input="quit\n", capture_output=True, text=True, env=env, timeout=params["timeout"], check=False
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    token = params["token"]
    base = {"changed": False, "ok": False, "sqlstate": None, "messages": [], "isql": None, "driver": None}

    driver, found = choose_driver(params["driver"], params["drivers"])
    if driver is None:
        searched = [
            p
            for g in found
            for p in (params["drivers"].get(g) or {}).get("libraries") or DEFAULT_DRIVERS[g]["libraries"]
        ]
        module.exit_json(
            result="driver-missing",
            diagnosis="no Amazon Redshift ODBC driver%s on this host (searched %s)"
            % ("" if params["driver"] == "auto" else " " + params["driver"], ", ".join(searched)),
            fix="install the Redshift ODBC driver v2 >= 2.0.1.0 (or v1 >= 1.5.9)",
            **base,
        )
    base["driver"] = {k: driver[k] for k in ("generation", "driver_name", "library", "version", "version_source")}
    try:
        dsn = render_dsn(params["connection"], driver["driver_name"], params["dsn_name"])
        token_file_dsn(token)  # refuse a token the file DSN cannot carry before anything is written
    except OdbcError as exc:
        module.fail_json(msg="redshift_dsn_test: %s" % mask_text(str(exc), [token]), **base)
    base["dsn"] = dsn
    isql = find_isql(params["isql_path"], params["tsm_packages_dir"])
    if isql is None:
        module.exit_json(
            result="isql-missing",
            diagnosis="no isql: not in %s/customer-bin.*/ nor on PATH%s"
            % (
                params["tsm_packages_dir"],
                " (isql_path %s is not executable)" % params["isql_path"] if params["isql_path"] else "",
            ),
            fix="run the test on a Tableau Server node, or install unixODBC (isql)",
            **base,
        )
    base["isql"] = isql
    if module.check_mode:
        module.exit_json(result="skipped", diagnosis="check mode: isql was not run", fix="", **base)

    try:
        completed = run_isql(module, isql, dsn, render_odbcinst(driver["driver_name"], driver["library"]), token)
    except subprocess.TimeoutExpired:
        module.exit_json(
            result="timeout",
            diagnosis="isql did not finish in %d seconds: the host cannot reach Redshift or the IdP/STS"
            % params["timeout"],
            fix="check network access from this host to the cluster endpoint and to STS",
            **base,
        )
    except (OSError, OdbcError) as exc:
        module.fail_json(msg="redshift_dsn_test: could not run %s: %s" % (isql, mask_text(str(exc), [token])), **base)
    output = mask_text((completed.stdout or "") + "\n" + (completed.stderr or ""), [token])
    verdict = diagnose_isql(completed.returncode, output)
    base.update(
        ok=verdict["result"] == "ok",
        sqlstate=verdict["sqlstate"],
        messages=verdict["messages"],
        isql_rc=completed.returncode,
    )
    module.exit_json(result=verdict["result"], diagnosis=verdict["diagnosis"], fix=verdict["fix"], **base)


if __name__ == "__main__":
    main()
