# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
# Copyright: tabops contributors
# MIT License (see LICENSE)
"""Server-level OAuth clients (tsm ``oauth.config.clients``) from the declared configs."""

from __future__ import annotations

from urllib.parse import urlsplit

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._errors import TabopsError
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._secrets import secret_shape_problems

REDIRECT_PATH = "/auth/add_oauth_token"


class ServerClientError(TabopsError, ValueError):
    """The declared server clients are inconsistent; ``problems`` lists why."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def server_base_url(server_url):
    """``https://host[:port]`` of a Tableau Server URL, or raise ValueError."""
    parts = urlsplit(server_url or "")
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"must be an https URL of Tableau Server, got {server_url!r}")
    return f"https://{parts.netloc}"


def expected_redirect_uri(server_url):
    return server_base_url(server_url) + REDIRECT_PATH


def server_oauth_clients(oauth_configs, server_url=""):
    """The ``oauth.config.clients`` entries this collection owns.

    One per declared config with a ``server_client`` block; the id is
    ``dbclass:oauthConfigId`` and the redirect URI defaults to
    ``<server_url>/auth/add_oauth_token``.
    """
    problems = []
    clients = []
    seen = set()
    for index, config in enumerate(oauth_configs or ()):
        block = config.get("server_client") if isinstance(config, dict) else None
        if not block:
            continue
        label = f"tabops_oauth_configs[{index}] ({config.get('id', 'no id')}).server_client"
        if not isinstance(block, dict):
            problems.append(f"{label}: must be a dict with client_id, client_secret and redirect_uri")
            continue
        client_id = f"{config.get('dbclass') or 'redshift'}:{config.get('id', '')}"
        for field in ("client_id", "client_secret"):
            if not isinstance(block.get(field), str) or not block.get(field):
                problems.append(f"{label}.{field}: required")
        redirect_uri = block.get("redirect_uri")
        if not redirect_uri:
            if server_url:
                try:
                    redirect_uri = expected_redirect_uri(server_url)
                except ValueError as exc:
                    problems.append(f"tabops_server_url: {exc}")
            else:
                problems.append(f"{label}.redirect_uri: required when tabops_server_url is not set")
        elif urlsplit(redirect_uri).scheme != "https" or urlsplit(redirect_uri).path != REDIRECT_PATH:
            problems.append(f"{label}.redirect_uri: must be https://<server>{REDIRECT_PATH}, got {redirect_uri!r}")
        if client_id in seen:
            problems.append(f"{label}: {client_id} is declared twice")
        seen.add(client_id)
        clients.append(
            {
                "id": client_id,
                "client_id": block.get("client_id"),
                "client_secret": block.get("client_secret"),
                "redirect_uri": redirect_uri,
            }
        )
    if problems:
        raise ServerClientError(problems)
    return clients


def other_client_problems(other_clients, declared_ids=()):
    """Why ``tabops_server_oauth_other_clients`` cannot be written to tsm (empty list: it can).

    Each entry is a client of another connector kept in oauth.config.clients with its secret from the vault:
    ``{id: "<dbclass>:<oauthConfigId>", client_id, client_secret, redirect_uri}``. Secret values never appear in a
    message.
    """
    name = "tabops_server_oauth_other_clients"
    if not isinstance(other_clients, (list, tuple)):
        return [f"{name}: must be a list of dicts, got {type(other_clients).__name__}"]
    problems = []
    seen = set(declared_ids)
    for index, client in enumerate(other_clients):
        label = f"{name}[{index}]"
        if not isinstance(client, dict):
            problems.append(f"{label}: must be a dict with id, client_id, client_secret and redirect_uri")
            continue
        client_id = client.get("id")
        if (
            not isinstance(client_id, str)
            or client_id.count(":") < 1
            or client_id.startswith(":")
            or client_id.endswith(":")
        ):
            problems.append(f"{label}.id: {client_id!r} must be '<dbclass>:<oauthConfigId>'")
        elif client_id in seen:
            problems.append(f"{label}.id: {client_id} is declared twice")
        seen.add(client_id)
        for field in ("client_id", "client_secret", "redirect_uri"):
            if not isinstance(client.get(field), str) or not client.get(field):
                problems.append(f"{label}.{field}: required")
        if isinstance(client.get("client_secret"), str) and client["client_secret"]:
            problems += [
                f"{label}.client_secret: {problem}" for problem in secret_shape_problems(client["client_secret"])
            ]
        unknown = sorted(set(client) - {"id", "client_id", "client_secret", "redirect_uri"})
        if unknown:
            problems.append(f"{label}: unknown field(s) {', '.join(unknown)}")
    return problems
