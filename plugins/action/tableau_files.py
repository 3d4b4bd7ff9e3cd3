# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Action for ``tabops.redshift_oauth.tableau_files``: a host's whole Tableau state in one task.

Like ``template`` handing off to ``copy``: this host's entry is looked up in the fleet plan the preflight published
as ``tabops_fleet_plan`` (or asked of the planner, ``plugin_utils/_plan``, when there is none or it no longer
applies), handed to the transport (the host module on POSIX, ``plugin_utils/_windows_sync.sync`` on Windows), and
the result returned with this host's findings over the facts it returned (``_host_findings.facts_findings``), its
secrets masked and its words for a person (``_outcome``). Nothing here reads the inventory after planning.

With ``files`` and ``folders`` given, the arguments go to the module unchanged (the low-level use).
"""

from __future__ import annotations

import functools

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._secrets import content_secrets, mask_text, maskable
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils import _outcome as outcome
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._host_findings import facts_findings, finalize
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._name_collisions import apfs_fold, collisions
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._entry import (
    MODULE_OPTIONS_FROM_VARS,
    task_entry,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._plan._profile import (
    CONTEXT_VARS,
    DEFAULTS,
    KINDS,
    as_bool,
    host_profile,
)

display = Display()

COLLECTION = "tabops.redshift_oauth"
MODULE = "tabops.redshift_oauth.tableau_files"
FLEET_PLAN_VAR = "tabops_fleet_plan"
PASS_THROUGH_ARGS = ("files", "folders")
# Arguments of this action that are not the module's (the module gets them as its own options or not at all).
ACTION_ARGS = frozenset({"kinds", "plan_only", "host_checks"})
# Options of a rollout's run (journal) and of a rollback, passed as given.
RUN_OPTIONS = ("run_id", "rollback_run_id", "rollback_force", "rollback_skip_runs", "list_runs", "run_log_dir")


# The arguments a role task passes: known without importing the host module (an import per worker, so per host).
ROLE_TASK_ARGS = ACTION_ARGS | frozenset(RUN_OPTIONS)


@functools.lru_cache(maxsize=None)
def module_spec():
    """The host module's argument spec (one place for its options)."""
    # Imported here, not at the top: the module file imports the whole sync engine (see unknown_arguments).
    from ansible_collections.tabops.redshift_oauth.plugins.modules import tableau_files as module

    return module.argument_spec()


def deprecated_aliases():
    """{old name: (option, removal version)}: the deprecated aliases the host module's argument spec declares."""
    return {
        alias["name"]: (option, alias["version"])
        for option, spec in module_spec().items()
        for alias in spec.get("deprecated_aliases", ())
    }


def renamed_options(args):
    """(args with each deprecated alias replaced by its option's name, error or None).

    The module's spec resolves them too, but the Windows transport never runs the module: so here, for both. A role
    task's arguments hold none, and then the host module is not imported (one import per worker, so per host).
    """
    if set(args) <= ROLE_TASK_ARGS:
        return args, None
    for old, (new, version) in deprecated_aliases().items():
        if old not in args:
            continue
        if new in args:
            return args, "tableau_files: give %s or its deprecated alias %s, not both" % (new, old)
        display.deprecated(
            "tableau_files: the option %s is renamed %s" % (old, new), version=version, collection_name=COLLECTION
        )
        args[new] = args.pop(old)
    return args, None


def unknown_arguments(args):
    """The task's arguments that are neither this action's nor the host module's."""
    if set(args) <= ROLE_TASK_ARGS:
        return []
    return sorted(set(args) - set(module_spec()) - ACTION_ARGS)


def apfs_name_collisions(files):
    """Two desired paths that are one file on macOS's default APFS (case- and normalization-insensitive names)."""
    paths = [str(item.get("path", "")) for item in files]
    return "; ".join(
        "files[%d].path %s and files[%d].path %s differ only by case or Unicode normalization; macOS "
        "(APFS) names are case-insensitive, so they are one file: give them names that differ by more"
        % (first, paths[first], later, paths[later])
        for first, later in collisions(paths, apfs_fold)
    )


def _mask(value, secrets):
    """``value`` with every secret replaced, at any depth."""
    if not secrets:
        return value
    if isinstance(value, str):
        return mask_text(value, secrets)
    if isinstance(value, dict):
        return {key: _mask(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask(item, secrets) for item in value]
    return value


def _secrets(files):
    """The secrets inside the files' text, longest first: they leave every controller-side output."""
    found = set()
    for item in files or ():
        content = item.get("content") if isinstance(item, dict) else None
        if isinstance(content, str):
            found.update(content_secrets(content))
    return sorted(maskable(found), key=len, reverse=True)


def _returned(result, secrets):
    # The module's echoed arguments hold every file's text: never returned (the result says what changed).
    result.pop("invocation", None)
    return _mask(result, secrets)


def presented(result, check_mode):
    """The high-level result as a person reads it: check-mode words, a short failure (details with -v)."""
    return outcome.presented_result(result, check_mode, verbose=display.verbosity > 0)


def task_module_args(entry, args, kinds):
    """The host module's arguments for this task: the entry's, narrowed to ``kinds``, with the task's options."""
    module_args = dict(entry["module_args"], files=[f for f in entry["files"] if f["kind"] in kinds])
    module_args["folders"] = [d for d in module_args["folders"] if d["kind"] in kinds]
    module_args.update({option: args[option] for option in MODULE_OPTIONS_FROM_VARS if option in args})
    for option in ("lock_timeout", *RUN_OPTIONS):
        if args.get(option) not in (None, ""):
            module_args[option] = args[option]
    return module_args


def add_host_findings(result, host, entry, module_args, module_result):
    """This host's findings over the facts it returned (the preflight's rules); an error fails the host."""
    facts = module_result.get("host_facts")
    if not module_args.get("host_facts") or facts is None:
        return
    findings = finalize(facts_findings(host, facts, entry["profile"]["is_server"], entry["checks"]), [host])
    result["preflight"] = findings
    for item in findings:
        if item["severity"] == "warning":
            display.warning(item["summary"])
    errors = [f["summary"] for f in findings if f["severity"] == "error"]
    if errors and not result.get("failed"):
        result["failed"] = True
        result["msg"] = "preflight: %s" % "; ".join(errors)


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

    def _call_host(self, profile, module_args, task_vars):
        """The transport: ``_windows_sync`` on Windows, else the host module (after the APFS name check on macOS)."""
        if profile and profile["layout_family"] == "Windows":
            # Imported on a Windows host only: the engine it drives is the host module's, which POSIX hosts run
            # remotely; each worker (one per host) would otherwise import it for nothing.
            from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils import _windows_sync as windows_sync

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
        args, alias_error = renamed_options(dict(self._task.args))
        if alias_error:
            return dict(result, failed=True, msg=alias_error)
        unknown = unknown_arguments(args)
        if unknown:
            return dict(result, failed=True, msg="tableau_files: unknown arguments %s" % ", ".join(unknown))
        host = task_vars.get("inventory_hostname", "")
        if any(name in args for name in PASS_THROUGH_ARGS):
            return self._pass_through(args, host, task_vars, result)
        return presented(self._sync_host(args, host, task_vars, result), bool(self._play_context.check_mode))

    def _pass_through(self, args, host, task_vars, result):
        """Low-level use: the caller planned the files; the module validates its own arguments."""
        module_args = {k: v for k, v in args.items() if k not in ACTION_ARGS}
        try:  # only its OS family matters here (which transport)
            profile = host_profile(host, self._host_vars(task_vars), task_vars.get("groups"))
        except AnsibleError as exc:
            return dict(result, failed=True, msg="host %s: %s" % (host, exc))
        result.update(self._call_host(profile, module_args, task_vars))
        return _returned(result, _secrets(module_args.get("files")))

    def _sync_host(self, args, host, task_vars, result):
        """The high-level use: this host's entry (or its folders, for a rollback) -> the transport -> its findings."""
        kinds = args.get("kinds", list(KINDS))
        kinds = [kinds] if isinstance(kinds, str) else kinds
        # A rollback or a listing works from the hosts' journals: the folders only.
        journal_only = bool(args.get("rollback_run_id")) or as_bool(args.get("list_runs", False))
        try:
            host_checks = None if journal_only or "host_checks" not in args else as_bool(args["host_checks"])
            host_vars = self._host_vars(task_vars)
            entry, source = task_entry(
                host,
                host_vars,
                task_vars.get("groups"),
                task_vars.get(FLEET_PLAN_VAR),
                kinds,
                host_checks,
                journal_only,
            )
        except (AnsibleError, ValueError) as exc:  # HostLayoutError too: its text lists its problems
            return dict(result, failed=True, msg="host %s: %s" % (host, exc))
        profile = entry["profile"]
        result["profile"] = {k: v for k, v in profile.items() if k not in ("problems", "folders")}
        result["plan_source"] = source
        if not profile["is_tableau_host"]:
            return dict(
                result, skipped=True, msg="host %s runs no Tableau application (groups, tabops_applications)" % host
            )
        module_args = task_module_args(entry, args, kinds)
        if as_bool(args.get("plan_only", False)):
            # Preflight use: rendered and laid out, no host contacted.
            result["files"] = [{k: v for k, v in f.items() if k != "content"} for f in module_args["files"]]
            result["folders"] = module_args["folders"]
            result["managed_dirs"] = module_args["folders"]  # the deprecated name of this key, until 2.0.0
            return dict(result, changed=False)
        module_result = self._call_host(profile, module_args, task_vars)
        result.update(module_result)
        add_host_findings(result, host, entry, module_args, module_result)
        if result.get("restart_needed") and not result.get("failed"):
            check_mode = bool(self._play_context.check_mode)
            result.setdefault("msg", outcome.restart_message(result["restart_needed"], check_mode))
        return _returned(result, _secrets(module_args["files"]))
