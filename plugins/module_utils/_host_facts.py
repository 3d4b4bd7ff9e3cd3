# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""What a host has that preflight needs: Redshift ODBC drivers, Tableau Server build, OS.

One function, ``host_facts``, used by ``redshift_odbc_facts`` (alone) and by ``tableau_files`` (in the same
round trip as the file sync), so both return exactly the same facts. Standard library only.
"""

from __future__ import annotations

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._errors import TabopsError
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._odbc import (
    DEFAULT_DRIVERS,
    discover_driver,
    os_release,
    tableau_server_version,
)

VERSION_SOURCES = ("package", "version_file", "library")
DEFAULT_TSM_PACKAGES_DIR = "/opt/tableau/tableau_server/packages"
DEFAULT_OS_RELEASE_PATH = "/etc/os-release"
# Options of redshift_odbc_facts, with their defaults; tableau_files' host_facts takes the same keys.
DEFAULTS = {
    "drivers": {},
    "version_sources": list(VERSION_SOURCES),
    "tableau_server": False,
    "tsm_packages_dir": DEFAULT_TSM_PACKAGES_DIR,
    "use_tsm": False,
    "tsm_path": None,
    "os_release_path": DEFAULT_OS_RELEASE_PATH,
}


class HostFactsError(TabopsError, ValueError):
    """A host_facts option is malformed; the message names it."""


def preferred(drivers):
    """The driver generation to use: a new-enough one first (v2 before v1), else any installed one."""
    for generation in ("v2", "v1"):
        if drivers[generation]["present"] and drivers[generation]["new_enough"]:
            return generation
    for generation in ("v2", "v1"):
        if drivers[generation]["present"]:
            return generation
    return None


def host_facts(options=None, field="host_facts"):
    """{drivers, driver, tableau_server, os} of this host. ``options`` as redshift_odbc_facts' (missing = default).

    Raises HostFactsError naming ``field`` and the key; OdbcError from driver discovery passes through.
    """
    options = dict(options or {})
    unknown_keys = sorted(set(options) - set(DEFAULTS))
    if unknown_keys:
        raise HostFactsError("%s: unknown key(s) %s" % (field, ", ".join(unknown_keys)))
    params = {key: (options[key] if options.get(key) is not None else default) for key, default in DEFAULTS.items()}
    if not isinstance(params["drivers"], dict):
        raise HostFactsError("%s.drivers: must be a dict" % field)
    unknown = sorted(set(params["drivers"]) - set(DEFAULT_DRIVERS))
    if unknown:
        raise HostFactsError("%s.drivers: unknown generation(s) %s; use v1 or v2" % (field, ", ".join(unknown)))
    sources = params["version_sources"]
    if isinstance(sources, str):
        sources = [sources]
    bad_sources = [source for source in sources if source not in VERSION_SOURCES]
    if bad_sources:
        raise HostFactsError(
            "%s.version_sources: %s not one of %s"
            % (field, ", ".join(map(str, bad_sources)), ", ".join(VERSION_SOURCES))
        )
    drivers = {}
    for generation in DEFAULT_DRIVERS:
        spec = params["drivers"].get(generation) or {}
        if not isinstance(spec, dict):
            raise HostFactsError("%s.drivers.%s: must be a dict" % (field, generation))
        spec = dict(spec)
        for key in ("libraries", "version_files"):
            if key in spec and isinstance(spec[key], str):
                spec[key] = [spec[key]]
        drivers[generation] = discover_driver(generation, spec, sources=sources)
        drivers[generation]["searched"] = list(spec.get("libraries") or DEFAULT_DRIVERS[generation]["libraries"])
    server = {"version": None, "build": None, "source": None}
    if params["tableau_server"]:
        server = tableau_server_version(params["tsm_packages_dir"], params["tsm_path"], params["use_tsm"])
    return {
        "drivers": drivers,
        "driver": preferred(drivers),
        "tableau_server": server,
        "os": os_release(params["os_release_path"]),
    }
