# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Findings over the facts ONE host returned: its Redshift ODBC drivers, Tableau Server version and OS.

The rules the preflight (over every host's registered redshift_odbc_facts result) and the ``tableau_files``
action (over the host facts a sync returns) share, and the finding shape of every preflight rule. Kept apart from
the fleet-wide rules of :mod:`._preflight`: the action imports this in every worker, once per host, so it imports
only what these rules need.
"""

from __future__ import annotations

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._odbc import (
    MIN_DRIVER_VERSIONS,
    MIN_TABLEAU_SERVER_VERSION,
    OdbcError,
    compare_versions,
    parse_version,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._model import variables

SEVERITIES = ("error", "warning", "info")


# OS ids and major versions Tableau Server / the Redshift ODBC driver are used on (override per fleet): the
# default of tabops_preflight_supported_os in the data model.
DEFAULT_SUPPORTED_OS = variables()["tabops_preflight_supported_os"]["default"]


def finding(severity, code, message, fix, **where):
    if severity not in SEVERITIES:
        raise ValueError("severity must be one of %s" % ", ".join(SEVERITIES))
    result = {"severity": severity, "code": code, "message": message, "fix": fix}
    for key, value in where.items():
        if value is not None and value != []:
            result[key] = value
    return result


def _unread_facts_findings(host, facts):
    """``host-unreachable`` / ``host-check-failed``: the host's facts could not be read."""
    if facts.get("unreachable"):
        return [
            finding(
                "warning",
                "host-unreachable",
                "host %s: unreachable, its driver and versions were not checked" % host,
                "bring the host up and run the preflight again",
                host=host,
            )
        ]
    return [
        finding(
            "error",
            "host-check-failed",
            "host %s: redshift_odbc_facts failed: %s" % (host, facts.get("msg") or "no message"),
            "fix the host checks' variables (tabops_odbc_driver_search, tabops_odbc_version_sources) or set "
            "tabops_preflight_host_checks: false for this host",
            host=host,
        )
    ]


def _driver_version_finding(host, generation, driver, minimum):
    """(new enough, the finding when it is not or its version is unknown) of one present driver."""
    if not driver.get("version"):
        return False, finding(
            "warning",
            "driver-version-unknown",
            "host %s: %s driver at %s, but its version could not be read" % (host, generation, driver["library"]),
            "set tabops_odbc_driver_search.%s.version_files, or check the version by hand" % generation,
            host=host,
            field="driver.%s.version" % generation,
        )
    try:
        if compare_versions(driver["version"], minimum) >= 0:
            return True, None
    except OdbcError:
        pass
    return False, finding(
        "error",
        "driver-too-old",
        "host %s: Redshift ODBC driver %s %s (from %s) is older than %s, the first that supports "
        "Redshift IAM OAuth%s"
        % (
            host,
            generation,
            driver["version"],
            driver.get("version_source"),
            minimum,
            " with group federation" if generation == "v2" else "",
        ),
        "upgrade the driver to %s %s or later" % (generation, minimum),
        host=host,
        field="driver.%s.version" % generation,
    )


def _driver_findings(host, drivers, driver_required, min_versions):
    """``driver-missing``, ``driver-version-unknown``, ``driver-too-old``, ``driver-ok``."""
    minimums = dict(MIN_DRIVER_VERSIONS)
    minimums.update(min_versions or {})
    found = []
    present = [d for d in drivers.values() if d.get("present")]
    if not present:
        searched = ", ".join(p for d in drivers.values() for p in d.get("searched") or []) or "the default paths"
        found.append(
            finding(
                "error" if driver_required else "info",
                "driver-missing",
                "host %s: no Amazon Redshift ODBC driver found (searched %s)" % (host, searched),
                "install the Redshift ODBC driver v2 >= %s (or v1 >= %s)" % (minimums["v2"], minimums["v1"]),
                host=host,
                field="tabops_odbc_driver_search",
            )
        )
    good = False
    for generation in sorted(drivers):
        if drivers[generation].get("present"):
            new_enough, problem = _driver_version_finding(host, generation, drivers[generation], minimums[generation])
            good = good or new_enough
            found += [problem] if problem else []
    if present and good:
        found.append(finding("info", "driver-ok", "host %s: Redshift ODBC driver new enough" % host, "", host=host))
    return found


def _server_version_findings(host, server, minimum):
    """``tableau-server-version-unknown`` / ``-too-old`` / ``-ambiguous`` of a Tableau Server host."""
    version = server.get("version")
    if not version:
        return [
            finding(
                "info",
                "tableau-server-version-unknown",
                "host %s: the Tableau Server version could not be read" % host,
                "check it with tsm version; %s or later is needed" % minimum,
                host=host,
            )
        ]
    try:
        have, need = parse_version(version), parse_version(minimum)
    except OdbcError:
        have, need = (), ()
    ambiguous = len(have) < len(need) and have == need[: len(have)]
    if have and compare_versions(have, need) < 0 and not ambiguous:
        return [
            finding(
                "error",
                "tableau-server-too-old",
                "host %s: Tableau Server %s (from %s) is older than %s"
                % (host, version, server.get("source"), minimum),
                "upgrade Tableau Server to %s or later" % minimum,
                host=host,
            )
        ]
    if have and ambiguous:
        return [
            finding(
                "warning",
                "tableau-server-version-ambiguous",
                "host %s: Tableau Server %s (from %s): the maintenance release is unknown, %s is needed"
                % (host, version, server.get("source"), minimum),
                "check with tsm version",
                host=host,
            )
        ]
    return []


def _os_findings(host, os_info, supported_os):
    """``os-unsupported``: the host's OS is not in tabops_preflight_supported_os."""
    supported = DEFAULT_SUPPORTED_OS if supported_os is None else supported_os
    os_id, os_version = os_info.get("id") or "", os_info.get("version_id") or ""
    versions = [str(v) for v in supported.get(os_id, [])]
    if not os_id or any(os_version == v or os_version.startswith(v + ".") for v in versions):
        return []
    return [
        finding(
            "warning",
            "os-unsupported",
            "host %s: %s %s is not in tabops_preflight_supported_os" % (host, os_id, os_version or "?"),
            "use a supported OS, or add it to tabops_preflight_supported_os if you have checked it",
            host=host,
        )
    ]


def host_findings(host, facts, driver_required=True, supported_os=None, min_versions=None, min_server=None):
    """Findings from one host's redshift_odbc_facts result."""
    if facts is None:
        return []
    if facts.get("unreachable") or facts.get("failed"):
        return _unread_facts_findings(host, facts)
    found = _driver_findings(host, facts.get("drivers") or {}, driver_required, min_versions)
    if facts.get("is_server"):
        found += _server_version_findings(
            host, facts.get("tableau_server") or {}, min_server or MIN_TABLEAU_SERVER_VERSION
        )
    return found + _os_findings(host, facts.get("os") or {}, supported_os)


def facts_for_findings(result, is_server):
    """The ``facts`` of :func:`host_findings` from a registered redshift_odbc_facts / host_facts result."""
    if not isinstance(result, dict) or result.get("skipped"):
        return None
    if result.get("unreachable"):
        return {"unreachable": True}
    if result.get("failed"):
        return {"failed": True, "msg": result.get("msg") or "failed"}
    return dict(result, is_server=bool(is_server))


def finalize(found, everyone):
    """Give every finding ``hosts`` and a one-line ``summary``; errors first."""
    everyone = sorted(everyone)
    order = {severity: rank for rank, severity in enumerate(SEVERITIES)}
    for item in found:
        if "hosts" not in item:
            item["hosts"] = [item["host"]] if item.get("host") else everyone
        item["summary"] = "%s %s [%s]: %s%s" % (
            item["severity"].upper(),
            item["code"],
            ", ".join(item["hosts"]) if len(item["hosts"]) < len(everyone) or len(everyone) == 1 else "all hosts",
            item["message"],
            " -- fix: %s" % item["fix"] if item.get("fix") else "",
        )
    return sorted(found, key=lambda item: order.get(item["severity"], len(SEVERITIES)))


def facts_findings(host, result, is_server, checks):
    """The findings over the facts a host returned (a registered redshift_odbc_facts result, or the host_facts of a
    sync), with the options of its host entry (``checks``): the one way the fleet plan and the action call the rules
    of :func:`host_findings`."""
    return host_findings(host, facts_for_findings(result, is_server), **checks)
