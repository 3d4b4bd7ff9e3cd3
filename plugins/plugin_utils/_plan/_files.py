# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Where Tableau's applications read OAuth configs and TDC files, per host.

Turns the declared data (``tabops_oauth_configs``, ``tabops_tdc_files``) plus
what a host runs (its applications, its desktop users, its OS) into the list
of files the ``tableau_files`` module syncs in one call. Pure functions:
used on the controller by the planner (``_plan._entry``) and the
``tableau_host_files`` filter, unit-tested without hosts.
"""

from __future__ import annotations

import ntpath
import posixpath

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._errors import TabopsError
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import (
    TableauXmlError,
    render_oauth_config,
    render_tdc,
)

OAUTH_CONFIG_APPLICATIONS = ("desktop", "prep", "bridge")
TDC_APPLICATIONS = ("server", "desktop", "prep", "bridge")
# Keys of a declared entry that steer the rollout and are not part of the document.
ROLLOUT_KEYS = frozenset({"install_on", "server_client", "name", "state"})

# Path templates per OS family. {home} is the user's home, {user} the user,
# {data_dir} Tableau Server's data dir, {service} a Tableau Server service.
DEFAULT_LAYOUTS = {
    "Linux": {
        "user_home": "/home/{user}",
        "root_home": "/root",
        "desktop_repository": "{home}/Documents/My Tableau Repository",
        "prep_repository": "{home}/Documents/My Tableau Prep Repository",
        # Linux Bridge (container) uses underscores; unverified (docs/sources.md, "Folders").
        "bridge_repository": "{home}/Documents/My_Tableau_Bridge_Repository",
        "server_data_dir": "/var/opt/tableau/tableau_server",
        "user_group": "{user}",
    },
    "Darwin": {
        "user_home": "/Users/{user}",
        "root_home": "/var/root",
        "desktop_repository": "{home}/Documents/My Tableau Repository",
        "prep_repository": "{home}/Documents/My Tableau Prep Repository",
        "bridge_repository": "{home}/Documents/My Tableau Bridge Repository",
        "server_data_dir": "",
        "user_group": "staff",
    },
    "Windows": {
        "user_home": "C:\\Users\\{user}",
        "root_home": "C:\\Users\\Administrator",
        "desktop_repository": "{home}\\Documents\\My Tableau Repository",
        "prep_repository": "{home}\\Documents\\My Tableau Prep Repository",
        "bridge_repository": "{home}\\Documents\\My Tableau Bridge Repository",
        "server_data_dir": "C:\\ProgramData\\Tableau\\Tableau Server",
        "user_group": "",
    },
}

REPOSITORY_KEYS = {"desktop": "desktop_repository", "prep": "prep_repository", "bridge": "bridge_repository"}
FOLDER_BY_KIND = {"oauth_config": "OAuthConfigs", "tdc": "Datasources"}


class HostLayoutError(TabopsError, ValueError):
    """The declared data cannot be laid out on this host; ``problems`` lists why."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def os_layout_family(os_family):
    """Map Ansible's ``os_family`` fact to a layout key (Linux when unknown)."""
    if os_family in ("Windows", "Darwin"):
        return os_family
    return "Linux"


def _path_module(family):
    return ntpath if family == "Windows" else posixpath


def _home(layout, user):
    if user in ("root", "Administrator") and layout.get("root_home"):
        return layout["root_home"]
    return layout["user_home"].format(user=user)


def _strip_rollout_keys(entry):
    return {key: value for key, value in entry.items() if key not in ROLLOUT_KEYS}


def _check_install_on(entry, allowed, label, problems):
    install_on = entry.get("install_on")
    if install_on is None:
        return list(allowed)
    if not isinstance(install_on, (list, tuple)) or not all(isinstance(app, str) for app in install_on):
        problems.append(f"{label}: install_on must be a list of {', '.join(allowed)}")
        return []
    unknown = sorted(set(install_on) - set(allowed))
    if unknown:
        problems.append(f"{label}: install_on has {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    return [app for app in allowed if app in install_on]


def _application_owners(application, users, bridge_user):
    if application == "bridge":
        return [bridge_user]
    return list(users)


def _repository_dir(layout, family, application, user, kind):
    pathmod = _path_module(family)
    repository = layout[REPOSITORY_KEYS[application]].format(home=_home(layout, user), user=user)
    return pathmod.join(repository, FOLDER_BY_KIND[kind])


def _folder(path, owner, group):
    return {"path": path, "owner": owner, "group": group}


def _owner_group(layout, user):
    group = layout.get("user_group", "")
    return user, (group.format(user=user) if group else "")


def merged_layout(os_family, layout=None):
    """(layout family, path templates) for an OS family with the user's overrides applied."""
    family = os_layout_family(os_family)
    merged = dict(DEFAULT_LAYOUTS[family])
    merged.update({key: value for key, value in (layout or {}).items() if value not in (None, "")})
    return family, merged


def host_folders(
    applications=(),
    desktop_users=(),
    bridge_user="root",
    os_family="Linux",
    layout=None,
    server_services=("vizqlserver", "backgrounder", "dataserver"),
    server_file_owner="root",
    server_file_group="root",
    kinds=("oauth_config", "tdc"),
):
    """{(kind, application): [folder]} of every folder this host's applications read, and the problems found.

    Computed once per host and managed whether or not a file lands in it (so that a config removed from the
    data is removed from the host too).
    """
    family, layout = merged_layout(os_family, layout)
    pathmod = _path_module(family)
    problems = []
    unknown_apps = sorted(set(applications) - set(TDC_APPLICATIONS))
    if unknown_apps:
        problems.append(f"applications: unknown {', '.join(unknown_apps)}; allowed: {', '.join(TDC_APPLICATIONS)}")
    if any(app in applications for app in ("desktop", "prep")) and not desktop_users:
        problems.append("tabops_desktop_users: a host that runs Tableau Desktop or Prep needs at least one user")
    unknown_kinds = sorted(set(kinds) - set(FOLDER_BY_KIND))
    if unknown_kinds:
        problems.append(f"kinds: unknown {', '.join(unknown_kinds)}; allowed: {', '.join(FOLDER_BY_KIND)}")
    folders = {}
    for application in (app for app in TDC_APPLICATIONS if app in applications):
        for kind in (kind for kind in FOLDER_BY_KIND if kind in kinds):
            if application == "server":
                if kind == "tdc" and layout.get("server_data_dir"):
                    folders[(kind, application)] = [
                        _folder(
                            pathmod.join(layout["server_data_dir"], "data", "tabsvc", service, "Datasources"),
                            server_file_owner,
                            server_file_group,
                        )
                        for service in server_services
                    ]
                continue
            folders[(kind, application)] = [
                _folder(_repository_dir(layout, family, application, user, kind), *_owner_group(layout, user))
                for user in _application_owners(application, desktop_users, bridge_user)
            ]
    return folders, problems


def module_folders(folders):
    """The ``folders`` argument of the host module from :func:`host_folders`' folders, sorted by path."""
    declared_folders = {
        folder["path"]: {**folder, "kind": kind, "application": application, "mode": "0755"}
        for (kind, application), kind_folders in folders.items()
        for folder in kind_folders
    }
    return sorted(declared_folders.values(), key=lambda d: d["path"])


def default_render(kind, document, managed_comment):
    if kind == "oauth_config":
        return render_oauth_config(document, managed_comment=managed_comment)
    return render_tdc(document, managed_comment=managed_comment)


class _Placement:
    """The files placed so far in one host's folders, and every problem found on the way."""

    def __init__(self, folders: dict, family: str, problems: list[str]) -> None:
        self.folders, self.family, self.pathmod = folders, family, _path_module(family)
        self.files: list[dict] = []
        self.problems = problems

    def place(self, kind, application, label, file_name, content, mode, artifact):
        if (kind, application) not in self.folders:
            self.problems.append(f"{label}: Tableau Server has no data dir on {self.family}")
            return
        for folder in self.folders[(kind, application)]:
            self.files.append(
                {
                    "path": self.pathmod.join(folder["path"], file_name),
                    "content": content,
                    "kind": kind,
                    "owner": folder["owner"],
                    "group": folder["group"],
                    "mode": mode,
                    "application": application,
                    "artifact": artifact,
                }
            )


# kind: (variable it is declared in, the key naming an entry, the applications it may go to)
DECLARED = {
    "oauth_config": ("tabops_oauth_configs", "id", OAUTH_CONFIG_APPLICATIONS),
    "tdc": ("tabops_tdc_files", "name", TDC_APPLICATIONS),
}


def _label(kind, index, entry):
    """``tabops_tdc_files[0] (redshift-oauth)``: how a problem names a declared entry."""
    variable, _key, _applications = DECLARED[kind]
    if kind == "oauth_config":
        name = entry.get("id", "no id") if isinstance(entry, dict) else "not a dict"
    else:
        name = (entry.get("name") if isinstance(entry, dict) else None) or "no name"
    return f"{variable}[{index}] ({name})"


def _plain_file_name(name, pathmod):
    return bool(name) and isinstance(name, str) and pathmod.basename(name) == name and not name.startswith(".")


def _file_name(kind, entry):
    if kind == "oauth_config":
        return f"{entry['id']}.xml"
    name = entry["name"]
    return name if name.endswith(".tdc") else f"{name}.tdc"


def _place_declared(placement, kind, entries, applications, managed_comment, mode, render):
    """Render each entry of one kind once and place it in the folders of every application it goes to."""
    _variable, key, allowed = DECLARED[kind]
    problems = placement.problems
    for index, entry in enumerate(entries):
        label = _label(kind, index, entry)
        if not isinstance(entry, dict):
            problems.append(f"{label}: must be a dict")
            continue
        if kind == "tdc" and not _plain_file_name(entry.get("name"), placement.pathmod):
            problems.append(f"{label}: name must be a plain file name without folders (it becomes NAME.tdc)")
            continue
        targets = [app for app in _check_install_on(entry, allowed, label, problems) if app in applications]
        if not targets:
            continue
        try:
            content = render(kind, _strip_rollout_keys(entry), managed_comment)
        except TableauXmlError as exc:
            problems.append(f"{label}: {exc}")
            continue
        for application in targets:
            placement.place(kind, application, label, _file_name(kind, entry), content, mode, entry[key])


def _declared_twice(files):
    seen, problems = {}, []
    for item in files:
        if item["path"] in seen:
            problems.append(f"{item['path']}: declared twice ({seen[item['path']]} and {item['artifact']})")
        seen[item["path"]] = item["artifact"]
    return problems


def plan_host_files(
    oauth_configs=(),
    tdc_files=(),
    applications=(),
    desktop_users=(),
    bridge_user="root",
    os_family="Linux",
    layout=None,
    server_services=("vizqlserver", "backgrounder", "dataserver"),
    managed_comment=None,
    oauth_config_mode="0600",
    tdc_mode="0644",
    server_file_owner="root",
    server_file_group="root",
    kinds=("oauth_config", "tdc"),
    render=default_render,
):
    """Return ``{"files": [...], "folders": [...]}`` for one host.

    ``applications`` is what the host runs (``server``, ``desktop``, ``prep``,
    ``bridge``). Every folder the host's applications read from is managed for
    each kind in ``kinds``, holding files or not, so that a config removed from
    the data is removed from the host too. Every problem in the data is collected and raised together as
    :class:`HostLayoutError`, each naming the config or TDC it came from. ``render(kind, document,
    managed_comment)`` renders one document (the fleet plan passes a memoized one, so each distinct document
    is rendered once per run).
    """
    folders, problems = host_folders(
        applications,
        desktop_users,
        bridge_user,
        os_family,
        layout,
        server_services,
        server_file_owner,
        server_file_group,
        kinds,
    )
    placement = _Placement(folders, os_layout_family(os_family), problems)
    for kind, entries, mode in (("oauth_config", oauth_configs, oauth_config_mode), ("tdc", tdc_files, tdc_mode)):
        if kind in kinds:
            _place_declared(placement, kind, entries, applications, managed_comment, mode, render)
    problems += _declared_twice(placement.files)
    if problems:
        raise HostLayoutError(problems)
    return {"files": placement.files, "folders": module_folders(folders)}
