# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The tsm probe's redaction and verdicts: pure functions, so that a probe file can be replayed in tests.

Standard library only (Python >= 3.9): runs on the Tableau Server initial node with its system Python.
"""

from __future__ import annotations

import re

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tsm import (
    replace_secrets,
    secret_form,
)

# A placeholder of the same form as the secret it replaces: a replayed probe file classifies like the server.
FORM_PLACEHOLDERS = {
    "clear": "clear-secret-redacted",
    "encrypted": "ENC(redacted)",
    "masked": "********",
    "empty": "",
    "unrecognised": "unrecognised secret redacted",
}
VALUE_PLACEHOLDER = "<value>"
_KEY_LINE_RE = re.compile(r"^(\s*(?:[-*]\s*)?[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)+\s*[:=]\s?)(.*)$")
# Words, as in a heading or a notice: two or more letter words (a secret is one token), a closing ':' or '.' at most.
_WORDS_LINE_RE = re.compile(r"^\s*[A-Za-z][A-Za-z'()-]*(?:[ ,]+[A-Za-z][A-Za-z'()-]*)+[.:!]?\s*$")


def redact_clients(clients):
    """The clients with each secret, at any depth, replaced by a placeholder of the same form (never the value)."""
    return replace_secrets(list(clients or []), lambda secret: FORM_PLACEHOLDERS[secret_form(secret)])


def redact_pending_listing(text, changes):
    """The lines of ``pending-changes list`` with every value replaced. Fails closed: a line is kept as it is only
    when it is blank or words (a heading, a restart notice); any other unrecognised line, a lone token above all
    (a value printed on its own line), is replaced by its length."""
    lines = []
    for line in (text or "").splitlines()[:200]:
        match = _KEY_LINE_RE.match(line)
        if match and match.group(2).strip():
            lines.append(match.group(1) + VALUE_PLACEHOLDER)
        elif match or not line.strip() or _WORDS_LINE_RE.match(line):
            lines.append(line)
        else:
            lines.append("<line of %d characters, not recognised, not kept>" % len(line))
    return lines


def _verdict(name, holds, detail):
    return {"name": name, "holds": holds, "detail": detail}


def _clients_verdicts(probe, mode):
    section = probe["oauth_clients"]
    forms = sorted({form for client in section["clients"] for form in client["secret_forms"].values()})
    clear = forms == ["clear"]
    undeclared = [c for c in section["clients"] if c["id"] not in section["declared_ids"]]
    refused = [c["id"] for c in undeclared if set(c["secret_forms"].values()) != {"clear"}]
    return [
        _verdict(
            "get shows client secrets in clear",
            "unknown" if not forms else "yes" if clear else "no",
            "no client on the server" if not forms else "forms seen: %s" % ", ".join(forms),
        ),
        _verdict(
            "a merge can keep every undeclared client",
            "yes" if not refused or mode == "authoritative" else "no",
            (
                "undeclared clients whose secret does not read clear: %s; declare them or use authoritative mode"
                % ", ".join(refused)
                if refused
                else "every undeclared client's secret reads clear"
            )
            + (" (authoritative mode: undeclared clients are removed)" if mode == "authoritative" else ""),
        ),
    ]


def _get_shows_verdict(probe):
    compared = probe.get("get_compared") or {}
    seen = set(compared.values())
    if not seen:
        detail = (
            "nothing pending with a value the listing shows: cannot tell without a write; the collection reads "
            "pending values from the listing (else a digest it records at each set), so both behaviours are handled"
        )
        return _verdict("get shows applied values only (documented)", "unknown", detail)
    holds = "no" if "pending" in seen else "yes"
    detail = ", ".join("%s: get shows the %s value" % (key, shown) for key, shown in sorted(compared.items()))
    if holds == "no":
        detail += " (or that key's pending value equals its applied one)"
    return _verdict("get shows applied values only (documented)", holds, detail)


def assumptions(probe, mode="merge"):
    """Which of the collection's assumptions hold on the probed server: [{name, holds: yes/no/unknown, detail}]."""
    verdicts = [
        _verdict("tsm found", "yes", "%s (%s)" % (probe["tsm"]["path"], probe["tsm"]["found_by"])),
    ]
    verdicts += _clients_verdicts(probe, mode)
    allowlist = probe["allowlist"]
    verdicts.append(
        _verdict(
            "the allowlist key is known to tsm",
            {"value": "yes", "null": "yes", "unknown_key": "no"}.get(allowlist["state"], "unknown"),
            "%s: %s" % (allowlist["key"], allowlist["state"] if allowlist["state"] != "value" else allowlist["value"])
            + (" (Null is read as empty)" if allowlist["state"] == "null" else ""),
        )
    )
    verdicts.append(_get_shows_verdict(probe))
    pending = probe["pending_changes"]
    listing_understood = pending["error"] is None and (
        bool(pending["keys"]) or any("no pending" in line.lower() for line in pending["layout"])
    )
    verdicts.append(
        _verdict(
            "pending-changes list layout is understood",
            "yes" if listing_understood else "unknown",
            pending["error"]
            or "keys: %s; values shown for: %s"
            % (", ".join(pending["keys"]) or "none", ", ".join(pending["values_shown"]) or "none"),
        )
    )
    status = probe["status_v"]
    verdicts.append(
        _verdict(
            "status -v layout is understood",
            "yes" if status["overall"] and status["processes"] else "no" if status["error"] else "unknown",
            status["error"]
            or "overall %s, %d process lines, not healthy: %s"
            % (status["overall"], len(status["processes"]), "; ".join(status["unhealthy"]) or "none"),
        )
    )
    version = probe["version"]
    verdicts.append(
        _verdict(
            "version layout is understood",
            "yes" if version["parsed"][0] else "unknown",
            version["error"] or "version %s, build %s" % tuple(version["parsed"]),
        )
    )
    return verdicts
