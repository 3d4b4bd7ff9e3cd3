#!/usr/bin/python
# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
# Copyright: tabops contributors
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: oauth_password_grant
short_description: Get a test token from an IdP with the OAuth resource-owner password grant
version_added: "0.1.0"
description:
  - The Tableau help page's C(curl) example as a module, for the troubleshooting DSN test -
    C(POST <token endpoint>) with HTTP Basic C(client_id:client_secret) and
    C(grant_type=password&username=...&password=...&scope=openid).
  - The IdP must allow the password grant for that client (Okta - "Resource Owner Password" grant type).
  - Run it on the controller with C(no_log) on the task; the result holds the token. Nothing is written to disk.
  - The token endpoint must be https; plain http is allowed only to a loopback address (test stand-ins).
author:
  - tabops maintainers (@tabops)
options:
  token_uri:
    description: The IdP's token endpoint. Default - the C(token_uri) of O(oauth_config) (its IdP preset applied).
    type: str
  oauth_config:
    description: A C(tabops_oauth_configs) entry whose token endpoint is used when O(token_uri) is not given.
    type: dict
  client_id:
    description: The OAuth client id.
    type: str
    required: true
  client_secret:
    description: The client secret (empty for a public client).
    type: str
    default: ""
  username:
    description: The IdP user.
    type: str
    required: true
  password:
    description: The user's password.
    type: str
    required: true
  scope:
    description: Scopes to ask for.
    type: str
    default: openid
  token_kind:
    description: Which token to return - the ID token (what Tableau passes by default) or the access token (with a
      TDC setting C(CAP_OAUTH_FEDERATE_ACCESS_TOKEN)).
    type: str
    choices: [id_token, access_token]
    default: id_token
  timeout:
    description: Seconds to wait for the IdP.
    type: int
    default: 30
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Asks the IdP in check mode too (it changes nothing anywhere).
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: Get a token for the DSN test
  tabops.redshift_oauth.oauth_password_grant:
    oauth_config: "{{ tabops_oauth_configs | selectattr('id', 'eq', 'custom_redshift_okta') | first }}"
    client_id: "{{ vault_test_client_id }}"
    client_secret: "{{ vault_test_client_secret }}"
    username: "{{ vault_test_user }}"
    password: "{{ vault_test_password }}"
  delegate_to: localhost
  no_log: true
  register: grant
"""

RETURN = r"""
token:
  description: The token asked for by O(token_kind).
  returned: success
  type: str
token_type:
  description: The IdP's C(token_type).
  returned: success
  type: str
expires_in:
  description: Seconds the token is valid.
  returned: when the IdP says
  type: int
token_uri:
  description: The endpoint used.
  returned: always
  type: str
"""

import base64
import ipaddress
import json
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import (
    TableauXmlError,
    normalize_oauth_config,
)


def _loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_token_uri(uri):
    parts = urlsplit(uri or "")
    if not parts.hostname:
        raise ValueError("token_uri: not a URL: %r" % (uri,))
    if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(parts.hostname)):
        raise ValueError("token_uri: must be https (http only to a loopback address), got %s" % uri)
    return uri


def main():
    module = AnsibleModule(
        argument_spec={
            "token_uri": {"type": "str", "no_log": False},
            "oauth_config": {"type": "dict"},
            "client_id": {"type": "str", "required": True},
            "client_secret": {"type": "str", "default": "", "no_log": True},
            "username": {"type": "str", "required": True},
            "password": {"type": "str", "required": True, "no_log": True},
            "scope": {"type": "str", "default": "openid"},
            "token_kind": {"type": "str", "choices": ["id_token", "access_token"], "default": "id_token"},
            "timeout": {"type": "int", "default": 30},
        },
        required_one_of=[["token_uri", "oauth_config"]],
        supports_check_mode=True,
    )
    params = module.params
    uri = params["token_uri"]
    if not uri:
        config = {k: v for k, v in params["oauth_config"].items() if k not in ("install_on", "server_client")}
        try:
            uri = normalize_oauth_config(config).get("token_uri")
        except TableauXmlError as exc:
            module.fail_json(msg="oauth_config (%s): %s" % (config.get("id"), exc))
        if not uri:
            module.fail_json(msg="oauth_config (%s) has no token_uri; give token_uri" % config.get("id"))
    try:
        check_token_uri(uri)
    except ValueError as exc:
        module.fail_json(msg=str(exc), token_uri=uri)
    basic = base64.b64encode(("%s:%s" % (params["client_id"], params["client_secret"])).encode()).decode()
    body = urlencode(
        {
            "grant_type": "password",
            "username": params["username"],
            "password": params["password"],
            "scope": params["scope"],
        }
    ).encode()
    try:
        with open_url(
            uri,
            data=body,
            headers={
                "Accept": "application/json",
                "Authorization": "Basic %s" % basic,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            method="POST",
            timeout=params["timeout"],
            validate_certs=True,
        ) as response:
            answer = json.loads(response.read().decode("utf-8"))
    except HTTPError as exc:
        try:
            detail = json.loads(exc.read().decode("utf-8"))
            error = "%s: %s" % (detail.get("error"), detail.get("error_description", ""))
        except (ValueError, OSError):
            error = exc.reason
        module.fail_json(msg="the IdP refused the password grant (HTTP %d) %s" % (exc.code, error), token_uri=uri)
    except (URLError, OSError, ValueError) as exc:
        module.fail_json(msg="could not get a token from %s: %s" % (uri, getattr(exc, "reason", exc)), token_uri=uri)
    token = answer.get(params["token_kind"]) if isinstance(answer, dict) else None
    if not token:
        module.fail_json(
            msg="the IdP answered without %s (did you ask for scope openid?)" % params["token_kind"], token_uri=uri
        )
    module.exit_json(
        changed=False,
        token=token,
        token_type=answer.get("token_type"),
        expires_in=answer.get("expires_in"),
        token_uri=uri,
    )


if __name__ == "__main__":
    main()
