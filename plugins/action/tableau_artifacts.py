# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Action for ``tabops.redshift_oauth.tableau_artifacts``: a host's whole Tableau state in one task.

Like ``template`` handing off to ``copy``: the controller-side work happens here and the host sees one module
call. Per host: :func:`host_profile` (what the host runs) -> its files (looked up in the fleet plan the preflight
published as ``tabops_fleet_plan``, or rendered here, each distinct document once per process) -> one call of the
host module (POSIX) or of ``plugin_utils/_windows_sync.sync`` (Windows) that syncs the files and returns the host
facts -> this host's preflight findings (driver, Tableau Server version, OS) -> one result.

With ``files`` and ``managed_dirs`` given, the arguments go to the module unchanged (the low-level use).
"""

from __future__ import annotations

import functools
import unicodedata

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._secrets import REDACTED, content_secrets, maskable
from ansible_collections.tabops.redshift_oauth.plugins.modules import tableau_artifacts as modules_tableau_artifacts
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils import _outcome as outcome
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils import _windows_sync as windows_sync
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._host_plan import (
    CONTEXT_VARS,
    DEFAULTS,
    KINDS,
    HostLayoutError,
    as_bool,
    expand_files,
    host_profile,
    plan_host,
    plan_inputs,
    variable,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._preflight import (
    facts_for_findings,
    finalize,
    host_check_options,
    host_findings,
)

display = Display()

MODULE = "tabops.redshift_oauth.tableau_artifacts"
FLEET_PLAN_VAR = "tabops_fleet_plan"
PASS_THROUGH_ARGS = ("files", "managed_dirs")
# Arguments of this action that are not the module's (the module gets them as its own options or not at all).
ACTION_ARGS = frozenset({"kinds", "plan_only", "host_checks"})
# Options of a rollout's run (journal) and of a rollback, passed as given.
RUN_OPTIONS = ("run_id", "rollback_run_id", "rollback_force", "rollback_skip_runs", "list_runs", "run_log_dir")
MODULE_OPTIONS_FROM_VARS = {
    "tdc_conflicts": "tabops_tdc_conflicts",
    "backup": "tabops_backup",
    "backup_keep": "tabops_backup_keep",
    "run_timeout": "tabops_artifacts_run_timeout",
    "allow_system_users": "tabops_allow_system_desktop_users",
}


@functools.lru_cache(maxsize=None)
def module_options():
    """The host module's option names, read from its own argument spec (one place for them)."""
    return frozenset(modules_tableau_artifacts.argument_spec())


def apfs_name_collisions(files):
    """Two desired paths that are one file on macOS's default APFS (case- and normalization-insensitive names)."""
    seen, problems = {}, []
    for index, item in enumerate(files):
        path = str(item.get("path", ""))
        first = seen.setdefault(unicodedata.normalize("NFD", path).casefold(), (index, path))
        if first[0] != index:
            problems.append(
                "files[%d].path %s and files[%d].path %s differ only by case or Unicode normalization; macOS "
                "(APFS) names are case-insensitive, so they are one file: give them names that differ by more"
                % (first[0], first[1], index, path)
            )
    return "; ".join(problems)


def _mask(value, secrets):
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {key: _mask(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask(item, secrets) for item in value]
    return value


# What a person reads (docs/operations.md "Reading the output"): a failed host says why in a few lines; the bulky
# details stay out of it unless -v is given (then under DETAILS); in check mode nothing is called written.
DETAILS = "details"
DETAIL_KEYS = (
    "files",
    "unmanaged",
    "folders",
    "backups",
    "planned",
    "manifests",
    "created_dirs",
    "removed_temp_files",
    "removed_backups",
    "journals",
    "runs",
    "rollback",
    "host_facts",
    "preflight",
    "profile",
    "plan_source",
    "restart_needed",
)
# Check mode: what the run WOULD write, under one key, instead of lists named as if they were written.
PLANNED_KEYS = ("journals", "manifests", "created_dirs", "removed_temp_files", "removed_backups")
# The module's file statuses, most telling first (a cell holding several files shows the first that applies).
FILE_STATUS_ORDER = ("error", "missing", "stale", "drift", "compliant")
UNMANAGED_KIND = "unmanaged"


def restart_message(applications, check_mode):
    if check_mode:
        return "a real run would change files of %s (restart them after it)" % ", ".join(applications)
    return "restart %s to pick up the changed files" % ", ".join(applications)


def check_mode_words(result):
    """Check mode: folders say ``would_write``/``would_change``, the run's other writes are ``planned``."""
    result["check_mode"] = True
    planned = {key: result.pop(key) for key in PLANNED_KEYS if key in result}
    if planned:
        result["planned"] = planned
    if not result.get("backups"):
        result.pop("backups", None)  # a check writes no backup
    for folder in result.get("folders") or []:
        if isinstance(folder, dict):
            if "written" in folder:
                folder["would_write"] = folder.pop("written")
            if folder.get("status") == "changed":
                folder["status"] = "would_change"
    for diff in result.get("diff") or []:
        if isinstance(diff, dict) and str(diff.get("after_header", "")).endswith(" (removed)"):
            diff["after_header"] = diff["after_header"][: -len(" (removed)")] + " (would be removed)"
    return result


def failure_reasons(result):
    """The lines that say why a host failed: preflight errors, failed folders, else the run's own message."""
    reasons = [
        str(item.get("summary"))
        for item in result.get("preflight") or []
        if isinstance(item, dict) and item.get("severity") == "error"
    ]
    folders = [f for f in result.get("folders") or [] if isinstance(f, dict) and f.get("status") == "error"]
    reasons.extend(str(folder.get("error") or "folder %s failed" % folder.get("path")) for folder in folders)
    message = str(result.get("msg") or "")
    if not reasons or not (folders or message.startswith("preflight: ")):
        reasons.insert(0, message or "failed")
    return reasons


def failure_causes(result, reasons):
    causes = [
        str(item.get("code"))
        for item in result.get("preflight") or []
        if isinstance(item, dict) and item.get("severity") == "error"
    ]
    if any(isinstance(f, dict) and f.get("status") == "error" for f in result.get("folders") or []):
        causes.append(outcome.FOLDER_ERROR)
    if not causes or result.get("unreachable"):
        causes.insert(0, outcome.cause_of_message(reasons[0], unreachable=bool(result.get("unreachable"))))
    return list(dict.fromkeys(causes))


def artifact_statuses(result):
    """{"kind/artifact": status}: each artifact's most telling file status, for the report of a failed host."""
    statuses = {}
    for entry in result.get("files") or []:
        if not isinstance(entry, dict):
            continue
        key = "%s/%s" % (entry.get("kind") or "file", entry.get("artifact") or entry.get("path"))
        status = entry.get("status") if entry.get("status") in FILE_STATUS_ORDER else "error"
        if key not in statuses or FILE_STATUS_ORDER.index(status) < FILE_STATUS_ORDER.index(statuses[key]):
            statuses[key] = status
    if result.get("unmanaged"):
        statuses[UNMANAGED_KIND + "/files"] = "unmanaged_conflict"
    return statuses


def short_failure(result, verbose):
    """A failed host's result: ``msg`` (one reason a line), ``causes``, the artifacts' statuses; details with -v."""
    reasons = failure_reasons(result)
    short = {key: value for key, value in result.items() if key not in DETAIL_KEYS}
    short["msg"] = "\n".join(reasons)
    short["causes"] = failure_causes(result, reasons)
    if result.get("files") or result.get("unmanaged"):
        short["artifacts"] = artifact_statuses(result)
    if verbose:
        short[DETAILS] = {key: result[key] for key in DETAIL_KEYS if key in result}
    return short


def presented(result, check_mode):
    """The high-level result as a person reads it: check-mode words, a short failure (details with -v)."""
    if check_mode:
        result = check_mode_words(result)
    if result.get("failed") or result.get("unreachable"):
        result = short_failure(result, verbose=display.verbosity > 0)
    return result


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def _host_vars(self, task_vars):
        host_vars = {}
        for name in (*DEFAULTS, *CONTEXT_VARS):
            if name in task_vars:
                try:
                    host_vars[name] = self._templar.template(task_vars[name])
                except AnsibleError as exc:
                    raise AnsibleError("%s: %s" % (name, to_text(exc))) from None
        return host_vars

    def _planned_files(self, host, host_vars, task_vars, profile, kinds):
        """(files, managed_dirs, source): from the fleet plan when it was made from this host's data, else here."""
        fleet = task_vars.get(FLEET_PLAN_VAR)
        entry = fleet.get("hosts", {}).get(host) if isinstance(fleet, dict) else None
        inputs = plan_inputs(host, host_vars, task_vars.get("groups"), KINDS) if entry else None
        if entry and entry.get("files") is not None and entry.get("inputs") == inputs:
            try:
                files = expand_files([f for f in entry["files"] if f["kind"] in kinds], fleet["documents"])
                dirs = [d for d in entry["profile"]["folders"] if d["kind"] in kinds]
                return files, dirs, "fleet plan"
            except (KeyError, TypeError):
                pass  # an incomplete plan: render here
        plan = plan_host(profile, host_vars, kinds=kinds)
        return plan["files"], plan["managed_dirs"], "rendered"

    def _call_host(self, profile, module_args, task_vars):
        if profile and profile["layout_family"] == "Windows":
            return windows_sync.sync(self, task_vars, module_args)
        if profile and profile["layout_family"] == "Darwin":
            collisions = apfs_name_collisions(module_args.get("files") or [])
            if collisions:
                return {"failed": True, "msg": "host %s: %s" % (profile["host"], collisions)}
        return self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        unknown = sorted(set(args) - module_options() - ACTION_ARGS)
        if unknown:
            return dict(result, failed=True, msg="tableau_artifacts: unknown arguments %s" % ", ".join(unknown))
        host = task_vars.get("inventory_hostname", "")

        if any(name in args for name in PASS_THROUGH_ARGS):
            # Low-level use: the caller planned the files; the module validates its own arguments.
            module_args = {k: v for k, v in args.items() if k not in ACTION_ARGS}
            secrets = self._secrets(module_args.get("files"))
            try:  # only its OS family matters here (which transport)
                profile = host_profile(host, self._host_vars(task_vars), task_vars.get("groups"))
            except AnsibleError as exc:
                return dict(result, failed=True, msg="host %s: %s" % (host, exc))
            result.update(self._call_host(profile, module_args, task_vars))
            return _mask(self._clean(result), secrets)

        return presented(self._sync_host(args, host, task_vars, result), bool(self._play_context.check_mode))

    def _sync_host(self, args, host, task_vars, result):
        """The high-level use: plan this host's files (or its folders, for a rollback), sync, add its findings."""
        try:
            host_vars = self._host_vars(task_vars)
        except AnsibleError as exc:
            return dict(result, failed=True, msg="host %s: %s" % (host, exc))
        kinds = args.get("kinds", list(KINDS))
        if isinstance(kinds, str):
            kinds = [kinds]
        profile = host_profile(host, host_vars, task_vars.get("groups"))
        result["profile"] = {k: v for k, v in profile.items() if k not in ("problems", "folders")}
        # A rollback or a listing works from the hosts' journals: the folders only (the declared files may be
        # what broke).
        journal_only = bool(args.get("rollback_run_id")) or as_bool(args.get("list_runs", False))
        try:
            if journal_only:
                if profile["problems"]:
                    raise HostLayoutError(profile["problems"])
                files, managed_dirs, source = [], [d for d in profile["folders"] if d["kind"] in kinds], "journals"
            else:
                files, managed_dirs, source = self._planned_files(host, host_vars, task_vars, profile, kinds)
        except HostLayoutError as exc:
            return dict(result, failed=True, msg="host %s: %s" % (host, "; ".join(exc.problems)))
        result["plan_source"] = source
        if not profile["is_tableau_host"]:
            return dict(
                result, skipped=True, msg="host %s runs no Tableau application (groups, tabops_applications)" % host
            )
        if as_bool(args.get("plan_only", False)):
            # Preflight use: rendered and laid out, no host contacted.
            result["files"] = [{k: v for k, v in f.items() if k != "content"} for f in files]
            result["managed_dirs"] = managed_dirs
            return dict(result, changed=False)

        module_args = {"files": files, "managed_dirs": managed_dirs}
        for option, var in MODULE_OPTIONS_FROM_VARS.items():
            module_args[option] = args.get(option, variable(host_vars, var))
        for option in ("lock_timeout", *RUN_OPTIONS):
            if args.get(option) not in (None, ""):
                module_args[option] = args[option]
        host_checks = not journal_only and as_bool(
            args.get("host_checks", variable(host_vars, "tabops_preflight_host_checks"))
        )
        # Host facts: the driver and Tableau Server discovery knows Linux layouts only (docs/modules.md).
        if host_checks and profile["layout_family"] == "Linux":
            module_args["host_facts"] = {
                "drivers": variable(host_vars, "tabops_odbc_driver_search"),
                "version_sources": variable(host_vars, "tabops_odbc_version_sources"),
                "tableau_server": profile["is_server"],
                "use_tsm": as_bool(variable(host_vars, "tabops_preflight_use_tsm")),
                "tsm_packages_dir": variable(host_vars, "tabops_tsm_packages_dir"),
            }
        # The module registers these as no_log values host-side; here they leave every controller-side output.
        secrets = self._secrets(files)
        module_result = self._call_host(profile, module_args, task_vars)
        result.update(module_result)
        if module_args.get("host_facts") and "host_facts" in module_result:
            facts = facts_for_findings(module_result["host_facts"], profile["is_server"])
            findings = finalize(host_findings(host, facts, **host_check_options(host_vars)), [host])
            result["preflight"] = findings
            errors = [f["summary"] for f in findings if f["severity"] == "error"]
            for item in findings:
                if item["severity"] == "warning":
                    display.warning(item["summary"])
            if errors and not result.get("failed"):
                result["failed"] = True
                result["msg"] = "preflight: %s" % "; ".join(errors)
        if result.get("restart_needed") and not result.get("failed"):
            result.setdefault("msg", restart_message(result["restart_needed"], bool(self._play_context.check_mode)))
        return _mask(self._clean(result), secrets)

    @staticmethod
    def _secrets(files):
        found = set()
        for item in files or ():
            content = item.get("content") if isinstance(item, dict) else None
            if isinstance(content, str):
                found.update(content_secrets(content))
        return sorted(maskable(found), key=len, reverse=True)

    @staticmethod
    def _clean(result):
        # The module's echoed arguments hold every file's text: never returned (the result says what changed).
        result.pop("invocation", None)
        return result
