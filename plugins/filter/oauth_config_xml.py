# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT

from __future__ import annotations

DOCUMENTATION = r"""
name: oauth_config_xml
short_description: Render a validated Tableau OAuth config (pluginOAuthConfig) XML document
version_added: 1.0.0
author: tabops contributors
description:
  - Turns a config dict into the XML text of a Tableau custom OAuth config file, as read by Tableau Desktop, Prep
    Builder, Bridge (C(OAuthConfigs) folder) and by Tableau Server / Cloud site OAuth clients.
  - Elements come in the order the connector SDK's C(oauth_config.xsd) enforces; text is escaped; the output starts
    with an UTF-8 XML declaration and is deterministic (same input, byte-identical output, no timestamps).
    Capabilities and response maps are sorted by key.
  - The config is validated first and every problem is reported at once, naming the config id and each field.
    Client secrets never appear in error messages.
  - "Rules: C(id) starts with V(custom_), is at most 36 characters of letters, digits, V(_), V(-);
    C(label) only letters, digits, V(_), V(-), spaces; C(auth_uri), C(token_uri),
    C(userinfo_uri) absolute V(https) URLs with a valid host name; redirect URIs V(http) loopback
    (V(localhost), V(127.0.0.1), V([::1])) with an explicit port 1-65535, no duplicates, and non-V(localhost) loopback
    needs C(OAUTH_CAP_SUPPORTS_HTTP_SCHEME_LOOPBACK_REDIRECT_URLS); C(OAUTH_CAP_FIXED_PORT_IN_CALLBACK_URL) is true
    exactly when redirect URIs are given; unknown capabilities, C(OAUTH_CAP_SUPPORTS_CUSTOM_DOMAIN) and a true
    C(OAUTH_CAP_SINGLE_USE_REFRESH_TOKEN) are refused; a desktop client without a secret needs
    C(OAUTH_CAP_REQUIRE_PKCE) and C(OAUTH_CAP_PKCE_REQUIRES_CODE_CHALLENGE_METHOD); access token response maps hold
    C(ACCESSTOKEN), C(REFRESHTOKEN) and C(username); the document is at most 256 KiB."
positional: _input
options:
  _input:
    description:
      - The config. Keys are the snake_case names of the XML elements, plus the preset inputs.
      - C(id) (oauthConfigId, required), C(dbclass) (default V(redshift)), C(label), C(client_id_desktop),
        C(client_secret_desktop), C(redirect_uris_desktop) (list) or C(redirect_ports) (list of ports, each becomes
        V(http://localhost:PORT/Callback) and sets C(OAUTH_CAP_FIXED_PORT_IN_CALLBACK_URL) true), C(auth_uri),
        C(token_uri), C(userinfo_uri), C(instance_url_suffix), C(instance_url_validation_regex),
        C(default_instance_url), C(scopes) (list, at least one), C(required_auth_attrs) (list),
        C(required_refresh_attrs) (list), C(capabilities) (dict C(OAUTH_CAP_*) to boolean; V(true)/V(false)/V(yes)/V(no)
        strings are accepted), C(access_token_response_maps) and C(refresh_token_response_maps) (dict).
      - "C(idp) selects a preset that fills URIs, scopes, capabilities and response maps; every field given
        explicitly wins, and a capability or response-map entry set to V(null) removes the preset's entry.
        All presets set scopes V(openid), V(email), V(profile), V(offline_access) (offline_access gets the refresh
        token), C(OAUTH_CAP_REQUIRE_PKCE), C(OAUTH_CAP_PKCE_REQUIRES_CODE_CHALLENGE_METHOD), C(OAUTH_CAP_SUPPORTS_STATE),
        C(OAUTH_CAP_SUPPORTS_GET_USERINFO_FROM_ID_TOKEN) true, C(OAUTH_CAP_CLIENT_SECRET_IN_URL_QUERY_PARAM) false,
        C(OAUTH_CAP_FIXED_PORT_IN_CALLBACK_URL) true when redirect URIs are given, else false, and response maps
        ACCESSTOKEN=access_token, REFRESHTOKEN=refresh_token, id-token=id_token,
        access-token-issue-time=issued_at, access-token-expires-in=expires_in, username=CLAIM."
      - "V(okta) (custom authorization server; C(idp_base_url) is the Okta domain or the issuer URL
        V(https://{domain}/oauth2/{authorizationServerId}), C(auth_server) default V(default) or taken from the issuer
        URL): C(https://{domain}/oauth2/{auth_server}/v1/authorize), C(.../v1/token), C(.../v1/userinfo); username
        claim V(preferred_username)."
      - "V(entra) (Microsoft Entra ID v2.0 endpoints; C(tenant), a directory id or verified domain, or an authority
        URL in C(idp_base_url) such as V(https://login.microsoftonline.com/{tenant}/v2.0), also on the national clouds
        V(login.microsoftonline.us) and V(login.partner.microsoftonline.cn); V(common), V(organizations),
        V(consumers) are refused): C(https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize) and
        C(.../v2.0/token), no userinfo URI (user info comes from the ID token),
        C(OAUTH_CAP_REQUIRES_PROMPT_SELECT_ACCOUNT) true; username claim V(preferred_username) (v2 tokens)."
      - "V(ping) (PingFederate; C(idp_base_url) is its base URL): C(https://{idp_base_url}/as/authorization.oauth2),
        C(/as/token.oauth2), C(/idp/userinfo.openid); username claim V(sub)."
      - "V(keycloak) (C(idp_base_url) is the realm URL V(https://HOST/realms/{realm}), V(/auth/realms/{realm}) before
        Keycloak 17, or the server URL with C(realm)):
        C({base}/realms/{realm}/protocol/openid-connect/auth), C(.../token), C(.../userinfo);
        username claim V(preferred_username)."
      - "V(generic): no URIs (give C(auth_uri), C(token_uri)); username claim V(preferred_username)."
      - C(idp_base_url) may be a bare host (V(example.okta.com)) or an V(https) URL. An issuer, authority or realm URL
        pasted from the IdP's console is recognized; a value given both there and in C(auth_server), C(tenant) or
        C(realm) must agree. An endpoint or discovery-document URL (C(/.well-known/...)), a query string, V(http),
        credentials or an unrendered placeholder is refused with a message saying exactly what to put there, so an
        endpoint is never rendered with a doubled path. Location inputs the chosen preset does not read are refused.
      - C(access_token_audience) (a preset input, never rendered) is the C(aud) of the config's access tokens, read
        by the IAM side (P(tabops.redshift_oauth.federated_token_audiences#filter)); 1-255 characters without spaces or
        wildcards. Default V(api://default) for V(okta) with the V(default) authorization server; the other presets
        have none.
      - C(client_secret_desktop) is only checked for shapes no real secret has (not text, empty, control characters
        such as NUL or newline, more than 4096 characters); surrounding whitespace is stripped. It never appears in
        an error message.
    type: dict
    required: true
  managed_comment:
    description:
      - Text of an XML comment placed after the XML declaration, for example V(Managed by Ansible).
      - C(ansible_managed) is only defined inside templates (M(ansible.builtin.template)); elsewhere pass your own text.
      - It is ignored when documents are parsed or compared. C(--), which XML comments cannot hold, becomes C(- -).
    type: str
seealso:
  - plugin: tabops.redshift_oauth.oauth_config_parse
    plugin_type: filter
  - plugin: tabops.redshift_oauth.tableau_xml_diff
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Okta custom authorization server with fixed loopback ports
  ansible.builtin.copy:
    dest: "{{ oauth_configs_dir }}/custom_redshift_okta.xml"
    content: >-
      {{ {
        'id': 'custom_redshift_okta',
        'label': 'Okta Redshift',
        'idp': 'okta',
        'idp_base_url': 'https://example.okta.com/oauth2/default',
        'client_id_desktop': okta_desktop_client_id,
        'redirect_ports': [55556, 55557, 55558],
      } | tabops.redshift_oauth.oauth_config_xml(managed_comment='Managed by Ansible (tabops.redshift_oauth)') }}

- name: Entra ID, tenant-specific endpoints, dynamic localhost ports
  ansible.builtin.set_fact:
    entra_oauth_xml: >-
      {{ {
        'id': 'custom_redshift_entra',
        'idp': 'entra',
        'tenant': '00000000-1111-2222-3333-444444444444',
        'client_id_desktop': entra_client_id,
        'capabilities': {'OAUTH_CAP_CLIENT_SECRET_IN_URL_QUERY_PARAM': true},
        'access_token_response_maps': {'username': 'email'},
      } | tabops.redshift_oauth.oauth_config_xml }}
"""

RETURN = r"""
_value:
  description:
    - The XML document as text, ending with a newline.
  type: string
  sample: |
    <?xml version="1.0" encoding="UTF-8"?>
    <!-- Ansible managed -->
    <pluginOAuthConfig>
      <dbclass>redshift</dbclass>
      <oauthConfigId>custom_redshift_okta</oauthConfigId>
      ...
    </pluginOAuthConfig>
"""


from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import (
    render_oauth_config,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._filter_errors import (
    COLLECTION_PREFIX,
    filter_errors,
    require_type,
)

NAME = COLLECTION_PREFIX + "oauth_config_xml"


def oauth_config_xml(config, managed_comment=None):
    require_type(NAME, config, dict, "input must be a dict")
    with filter_errors(NAME):
        return render_oauth_config(config, managed_comment=managed_comment)


class FilterModule:
    """Render Tableau OAuth config documents."""

    def filters(self):
        return {"oauth_config_xml": oauth_config_xml}
