# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""IdP values the way admins paste them into idp_base_url: recognized, or refused saying what to put there.

Endpoint shapes (docs/sources.md, "IdP endpoints"): Okta custom authorization server
https://{domain}/oauth2/{authorizationServerId}/v1/..., Entra v2.0 https://login.microsoftonline.com/{tenant}/oauth2/
v2.0/..., Keycloak {base}/realms/{realm}/protocol/openid-connect/... ({base} ends in /auth before Keycloak 17),
PingFederate {base}/as/authorization.oauth2, PingOne https://auth.pingone.{tld}/{envID}/as/authorize.
"""

import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.tabops.redshift_oauth.plugins.module_utils import _tableau_xml as tx

GUID = "0b7e3c1a-5d2f-4e8a-9c6b-1f2e3d4c5b6a"
OKTA_DEFAULT = "https://acme.okta.com/oauth2/default/v1"
ENTRA_GUID = f"https://login.microsoftonline.com/{GUID}/oauth2/v2.0"
KEYCLOAK_BI = "https://kc.example.com/realms/bi/protocol/openid-connect"


def endpoints(inputs):
    config = tx.normalize_oauth_config({"id": "custom_pasted", **inputs})
    return config["auth_uri"], config["token_uri"], config["userinfo_uri"]


def refusal(inputs):
    with pytest.raises(tx.TableauXmlError) as raised:
        tx.render_oauth_config({"id": "custom_pasted", **inputs})
    return raised.value


RECOGNIZED = [
    # Okta: the domain alone (auth_server default), or the issuer URL of a custom authorization server
    ({"idp": "okta", "idp_base_url": "acme.okta.com"}, OKTA_DEFAULT, "authorize", "token", "userinfo"),
    ({"idp": "okta", "idp_base_url": "https://acme.okta.com/"}, OKTA_DEFAULT, "authorize", "token", "userinfo"),
    (  # the row of issue 10: used to render .../oauth2/default/oauth2/default/v1/authorize
        {"idp": "okta", "idp_base_url": "https://acme.okta.com/oauth2/default"},
        OKTA_DEFAULT,
        "authorize",
        "token",
        "userinfo",
    ),
    (
        {"idp": "okta", "idp_base_url": "https://acme.okta.com/oauth2/default/"},
        OKTA_DEFAULT,
        "authorize",
        "token",
        "userinfo",
    ),
    (
        {"idp": "okta", "idp_base_url": "https://acme.okta.com/oauth2/default", "auth_server": "default"},
        OKTA_DEFAULT,
        "authorize",
        "token",
        "userinfo",
    ),
    (
        {"idp": "okta", "idp_base_url": "https://acme.okta-emea.com/oauth2/aus1b2c3d4E5f6G7h8"},
        "https://acme.okta-emea.com/oauth2/aus1b2c3d4E5f6G7h8/v1",
        "authorize",
        "token",
        "userinfo",
    ),
    (
        {"idp": "okta", "idp_base_url": "acme.oktapreview.com/oauth2/ausTest"},
        "https://acme.oktapreview.com/oauth2/ausTest/v1",
        "authorize",
        "token",
        "userinfo",
    ),
    (  # an Okta custom URL domain
        {"idp": "okta", "idp_base_url": "https://login.acme.example/oauth2/default"},
        "https://login.acme.example/oauth2/default/v1",
        "authorize",
        "token",
        "userinfo",
    ),
    # Entra: the tenant, or the authority URL in any of its pasted forms
    ({"idp": "entra", "tenant": GUID}, ENTRA_GUID, "authorize", "token", None),
    (
        {"idp": "entra", "idp_base_url": f"https://login.microsoftonline.com/{GUID}/v2.0"},
        ENTRA_GUID,
        "authorize",
        "token",
        None,
    ),
    (
        {"idp": "entra", "idp_base_url": f"https://login.microsoftonline.com/{GUID}/v2.0/"},
        ENTRA_GUID,
        "authorize",
        "token",
        None,
    ),
    (
        {"idp": "entra", "idp_base_url": f"https://login.microsoftonline.com/{GUID}"},
        ENTRA_GUID,
        "authorize",
        "token",
        None,
    ),
    (
        {"idp": "entra", "idp_base_url": f"https://login.microsoftonline.com/{GUID}/oauth2/v2.0"},
        ENTRA_GUID,
        "authorize",
        "token",
        None,
    ),
    (
        {"idp": "entra", "idp_base_url": "https://login.microsoftonline.com", "tenant": GUID},
        ENTRA_GUID,
        "authorize",
        "token",
        None,
    ),
    (  # the same tenant twice, spelled in different case
        {"idp": "entra", "idp_base_url": f"https://login.microsoftonline.com/{GUID.upper()}/v2.0", "tenant": GUID},
        ENTRA_GUID,
        "authorize",
        "token",
        None,
    ),
    (
        {"idp": "entra", "idp_base_url": "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0"},
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0",
        "authorize",
        "token",
        None,
    ),
    (  # a national cloud keeps its own authority host
        {"idp": "entra", "idp_base_url": f"https://login.microsoftonline.us/{GUID}/v2.0"},
        f"https://login.microsoftonline.us/{GUID}/oauth2/v2.0",
        "authorize",
        "token",
        None,
    ),
    # Keycloak: the realm URL (Keycloak 17+ and the legacy /auth form), or the server URL with realm
    ({"idp": "keycloak", "idp_base_url": "https://kc.example.com/realms/bi"}, KEYCLOAK_BI, "auth", "token", "userinfo"),
    (
        {"idp": "keycloak", "idp_base_url": "https://kc.example.com/realms/bi/"},
        KEYCLOAK_BI,
        "auth",
        "token",
        "userinfo",
    ),
    (
        {"idp": "keycloak", "idp_base_url": "https://kc.example.com/realms/bi", "realm": "bi"},
        KEYCLOAK_BI,
        "auth",
        "token",
        "userinfo",
    ),
    ({"idp": "keycloak", "idp_base_url": "kc.example.com", "realm": "bi"}, KEYCLOAK_BI, "auth", "token", "userinfo"),
    (
        {"idp": "keycloak", "idp_base_url": "https://kc.example.com/auth/realms/bi"},
        "https://kc.example.com/auth/realms/bi/protocol/openid-connect",
        "auth",
        "token",
        "userinfo",
    ),
    (
        {"idp": "keycloak", "idp_base_url": "https://kc.example.com/auth", "realm": "bi"},
        "https://kc.example.com/auth/realms/bi/protocol/openid-connect",
        "auth",
        "token",
        "userinfo",
    ),
]


@pytest.mark.parametrize(("inputs", "prefix", "auth", "token", "userinfo"), RECOGNIZED)
def test_pasted_idp_urls_are_recognized(inputs, prefix, auth, token, userinfo):
    assert endpoints(inputs) == (f"{prefix}/{auth}", f"{prefix}/{token}", userinfo and f"{prefix}/{userinfo}")
    tx.render_oauth_config({"id": "custom_pasted", **inputs})  # and the whole document validates


def test_pingfederate_base_url_with_port():
    assert endpoints({"idp": "ping", "idp_base_url": "https://sso.example.com:9031/"}) == (
        "https://sso.example.com:9031/as/authorization.oauth2",
        "https://sso.example.com:9031/as/token.oauth2",
        "https://sso.example.com:9031/idp/userinfo.openid",
    )


PINGONE_ENV = "0a7af83d-4ed9-4510-93cd-506fe835f69a"


@pytest.mark.parametrize(
    "pasted",
    [
        f"https://auth.pingone.com/{PINGONE_ENV}/as",  # the issuer PingOne shows: used to render .../as/as/...
        f"https://auth.pingone.com/{PINGONE_ENV}/as/",
        f"https://auth.pingone.com/{PINGONE_ENV}",
        f"auth.pingone.com/{PINGONE_ENV}/as",
        f"https://Auth.PingOne.com/{PINGONE_ENV}/as",
    ],
)
def test_pingone_issuer_gives_the_pingone_endpoints(pasted):
    issuer = f"https://auth.pingone.com/{PINGONE_ENV}/as"
    assert endpoints({"idp": "ping", "idp_base_url": pasted}) == (
        f"{issuer}/authorize",
        f"{issuer}/token",
        f"{issuer}/userinfo",
    )
    tx.render_oauth_config({"id": "custom_pasted", "idp": "ping", "idp_base_url": pasted, "client_id_desktop": "c"})


@pytest.mark.parametrize("tld", ["com", "ca", "eu", "com.au", "sg", "asia"])
def test_pingone_regions_keep_their_host(tld):
    auth, _token, _userinfo = endpoints({"idp": "ping", "idp_base_url": f"https://auth.pingone.{tld}/{PINGONE_ENV}/as"})
    assert auth == f"https://auth.pingone.{tld}/{PINGONE_ENV}/as/authorize"


def test_chinacloudapi_authority_host_is_accepted():
    assert endpoints({"idp": "entra", "idp_base_url": f"https://login.chinacloudapi.cn/{GUID}/v2.0"}) == (
        f"https://login.chinacloudapi.cn/{GUID}/oauth2/v2.0/authorize",
        f"https://login.chinacloudapi.cn/{GUID}/oauth2/v2.0/token",
        None,
    )


def test_percent_escaped_realm_that_decodes_to_a_plain_name_is_used_decoded():
    assert endpoints({"idp": "keycloak", "idp_base_url": "https://kc.example.com/realms/b%69"})[0] == (
        f"{KEYCLOAK_BI}/auth"
    )
    assert endpoints({"idp": "keycloak", "idp_base_url": "https://kc.example.com", "realm": "b%69"})[0] == (
        f"{KEYCLOAK_BI}/auth"
    )


# Host names are case-insensitive; each preset must read a mixed-case host like the lower-case one (the upper-case
# Okta admin host once recursed until RecursionError).
MIXED_CASE_HOSTS = [
    ({"idp": "okta", "idp_base_url": "https://Acme.OKTA.com/oauth2/default"}, "https://acme.okta.com/oauth2/default"),
    ({"idp": "okta", "idp_base_url": "ACME.okta.com"}, "acme.okta.com"),
    ({"idp": "entra", "idp_base_url": f"https://Login.MicrosoftOnline.com/{GUID}/v2.0"}, None),
    ({"idp": "entra", "idp_base_url": f"https://LOGIN.chinacloudapi.CN/{GUID}/v2.0"}, None),
    ({"idp": "keycloak", "idp_base_url": "https://KC.Example.com/realms/bi"}, None),
    ({"idp": "keycloak", "idp_base_url": "https://KC.Example.com:8443/auth", "realm": "bi"}, None),
    ({"idp": "ping", "idp_base_url": "https://SSO.Example.com:9031"}, None),
    ({"idp": "ping", "idp_base_url": f"https://AUTH.PINGONE.EU/{PINGONE_ENV}/as"}, None),
]


@pytest.mark.parametrize(("inputs", "lower"), MIXED_CASE_HOSTS)
def test_mixed_case_hosts_give_the_lower_case_endpoints(inputs, lower):
    base = inputs["idp_base_url"]
    host = base.split("://")[-1].split("/")[0]
    lower_inputs = dict(inputs, idp_base_url=lower or base.replace(host, host.lower()))
    assert endpoints(inputs) == endpoints(lower_inputs)
    assert all(url is None or url == url.split("://")[0] + "://" + url.split("://")[1] for url in endpoints(inputs))
    assert host.lower() in endpoints(inputs)[0]


@pytest.mark.parametrize(
    ("pasted", "fixed"),
    [
        ("https://Acme-Admin.okta.com", "https://acme.okta.com"),
        ("https://ACME-ADMIN.OKTA.COM/oauth2/default", "https://acme.okta.com/oauth2/default"),
        ("https://Acme-Admin.oktapreview.com:8443/admin/dashboard", "https://acme.oktapreview.com:8443"),
        ("https://acme-admin.okta-emea.com", "https://acme.okta-emea.com"),
    ],
)
def test_okta_admin_host_in_any_case_is_refused_with_the_sign_in_domain(pasted, fixed):
    error = refusal({"idp": "okta", "idp_base_url": pasted, "client_id_desktop": "c"})
    assert (
        f"idp_base_url: {pasted!r} is the Okta Admin Console's domain, which serves no sign-in endpoints; "
        f"put {fixed!r} there"
    ) in error.problems


# (inputs, the exact problem text after "oauth config 'custom_pasted': ")
REFUSED = [
    (
        {"idp": "ping", "idp_base_url": f"https://auth.pingone.com/{PINGONE_ENV}/as/authorize"},
        f"idp_base_url: 'https://auth.pingone.com/{PINGONE_ENV}/as/authorize' is not the issuer of PingOne environment "
        f"'{PINGONE_ENV}'; put 'https://auth.pingone.com/{PINGONE_ENV}/as' there",
    ),
    (
        {"idp": "ping", "idp_base_url": "https://auth.pingone.com"},
        "idp_base_url: 'https://auth.pingone.com' has no PingOne environment id; put "
        "'https://auth.pingone.com/<environment id>/as' there (the issuer of your environment)",
    ),
    (
        {"idp": "ping", "idp_base_url": "https://auth.pingone.com/as"},
        "idp_base_url: 'https://auth.pingone.com/as' has 'as' where PingOne's environment id (a GUID) goes; put "
        "'https://auth.pingone.com/<environment id>/as' there",
    ),
    (
        {"idp": "ping", "idp_base_url": f"https://login.acme.example/{PINGONE_ENV}/as"},
        f"idp_base_url: 'https://login.acme.example/{PINGONE_ENV}/as' looks like a PingOne issuer on a custom domain; "
        "the ping preset knows PingOne under auth.pingone.{com,ca,eu,com.au,sg,asia} only: use idp: generic with "
        f"auth_uri 'https://login.acme.example/{PINGONE_ENV}/as/authorize' and token_uri "
        f"'https://login.acme.example/{PINGONE_ENV}/as/token'",
    ),
    (  # accepted once, rendering .../idp/SSO.saml2/as/authorization.oauth2
        {"idp": "ping", "idp_base_url": "https://sso.acme.com/idp/SSO.saml2"},
        "idp_base_url: 'https://sso.acme.com/idp/SSO.saml2' is a PingFederate endpoint, not the server's base URL; "
        "put 'https://sso.acme.com' there",
    ),
    (  # the base URL's last segment is the first one the preset appends: would render /as/as/
        {"idp": "ping", "idp_base_url": "https://sso.acme.com:9031/as"},
        "idp_base_url: 'https://sso.acme.com:9031/as' ends in /as, which the ping preset appends itself "
        "(/as/authorization.oauth2, /idp/userinfo.openid); put 'https://sso.acme.com:9031' there",
    ),
    (
        {"idp": "ping", "idp_base_url": "https://sso.acme.com/pf/heartbeat.ping"},
        "idp_base_url: 'https://sso.acme.com/pf/heartbeat.ping' is a PingFederate endpoint, not the server's base "
        "URL; put 'https://sso.acme.com' there",
    ),
    (
        {"idp": "entra", "idp_base_url": f"https://sts.windows.net/{GUID}/"},
        f"idp_base_url: 'https://sts.windows.net/{GUID}/' is the v1.0 token issuer of tenant '{GUID}'; put "
        f"'https://login.microsoftonline.com/{GUID}/v2.0' there, or leave idp_base_url out and set tenant: {GUID}",
    ),
    (
        {"idp": "keycloak", "idp_base_url": "https://kc.example.com/admin/master/console/#/bi"},
        "idp_base_url: 'https://kc.example.com/admin/master/console/#/bi' is the Keycloak admin console (realm 'bi'), "
        "not a realm URL; put 'https://kc.example.com/realms/bi' there",
    ),
    (  # the console before Keycloak 19, under /auth
        {"idp": "keycloak", "idp_base_url": "https://kc.example.com/auth/admin/master/console/#/realms/bi/clients"},
        "idp_base_url: 'https://kc.example.com/auth/admin/master/console/#/realms/bi/clients' is the Keycloak admin "
        "console (realm 'bi'), not a realm URL; put 'https://kc.example.com/auth/realms/bi' there",
    ),
    (
        {"idp": "keycloak", "idp_base_url": "https://kc.example.com/admin/realms/bi/users"},
        "idp_base_url: 'https://kc.example.com/admin/realms/bi/users' is an admin API URL of realm 'bi'; put "
        "'https://kc.example.com/realms/bi' there",
    ),
    (
        {"idp": "keycloak", "idp_base_url": "https://kc.example.com/realms/my%20realm"},
        "idp_base_url: path segment 'my%20realm' decodes to 'my realm', which has characters other than letters, "
        "digits, '_', '.', '~', '-'; the presets build endpoint URLs only from such names: rename it (a Keycloak "
        "realm, for example), or use idp: generic with auth_uri and token_uri (got "
        "'https://kc.example.com/realms/my%20realm')",
    ),
    (
        {"idp": "keycloak", "idp_base_url": "https://kc.example.com", "realm": "sales%2Fbi"},
        "realm: 'sales%2Fbi' decodes to 'sales/bi', which has characters other than letters, digits, '_', '.', '~', "
        "'-'; the presets build endpoint URLs only from such names: rename it (a Keycloak realm, for example), or "
        "use idp: generic with auth_uri and token_uri",
    ),
    (
        {"idp": "okta", "idp_base_url": "https://acme.okta.com/oauth2/default/v1/authorize"},
        "idp_base_url: 'https://acme.okta.com/oauth2/default/v1/authorize' is an endpoint of authorization server "
        "'default', not its issuer; put 'https://acme.okta.com/oauth2/default' there",
    ),
    (
        {"idp": "okta", "idp_base_url": "acme.okta.com/oauth2/aus1/v1/token"},
        "idp_base_url: 'acme.okta.com/oauth2/aus1/v1/token' is an endpoint of authorization server 'aus1', not its "
        "issuer; put 'https://acme.okta.com/oauth2/aus1' there",
    ),
    (
        {"idp": "okta", "idp_base_url": "https://acme.okta.com/oauth2/v1/authorize"},
        "idp_base_url: 'https://acme.okta.com/oauth2/v1/authorize' is the org authorization server's endpoint; the "
        "okta preset uses a custom authorization server, as Tableau recommends: put "
        "'https://acme.okta.com/oauth2/default' (or your authorization server's id instead of default) there, or use "
        "idp: generic with auth_uri and token_uri for the org server",
    ),
    (
        {"idp": "okta", "idp_base_url": "https://acme.okta.com/oauth2"},
        "idp_base_url: 'https://acme.okta.com/oauth2' ends at /oauth2 without an authorization server; put "
        "'https://acme.okta.com/oauth2/default' (or your authorization server's id instead of default) there",
    ),
    (
        {"idp": "okta", "idp_base_url": "https://acme.okta.com/oauth2/default/.well-known/openid-configuration"},
        "idp_base_url: 'https://acme.okta.com/oauth2/default/.well-known/openid-configuration' is a discovery "
        "document URL, not the issuer; put 'https://acme.okta.com/oauth2/default' there",
    ),
    (
        {"idp": "okta", "idp_base_url": "https://acme.okta.com/.well-known/oauth-authorization-server/oauth2/aus1"},
        "idp_base_url: 'https://acme.okta.com/.well-known/oauth-authorization-server/oauth2/aus1' is a discovery "
        "document URL, not the issuer; put 'https://acme.okta.com/oauth2/aus1' there",
    ),
    (
        {"idp": "okta", "idp_base_url": "http://acme.okta.com/oauth2/default"},
        "idp_base_url: must be https, not http (got 'http://acme.okta.com/oauth2/default'); put "
        "'https://acme.okta.com/oauth2/default' there",
    ),
    (
        {"idp": "okta", "idp_base_url": "https://acme.okta.com/oauth2/default?client_id=0oa1"},
        "idp_base_url: must not have a query string or fragment (got "
        "'https://acme.okta.com/oauth2/default?client_id=0oa1'); put 'https://acme.okta.com/oauth2/default' there",
    ),
    (
        {"idp": "okta", "idp_base_url": "https://acme-admin.okta.com/admin/dashboard"},
        "idp_base_url: 'https://acme-admin.okta.com/admin/dashboard' is the Okta Admin Console's domain, which "
        "serves no sign-in endpoints; put 'https://acme.okta.com' there",
    ),
    (
        {"idp": "okta", "idp_base_url": "https://acme.okta.com/app/UserHome"},
        "idp_base_url: 'https://acme.okta.com/app/UserHome' has a path Okta serves no authorization server under; "
        "put the Okta domain 'https://acme.okta.com' or an issuer URL 'https://acme.okta.com/oauth2/default' (your "
        "authorization server's id instead of default) there",
    ),
    (
        {"idp": "okta", "idp_base_url": "https://${yourOktaDomain}/oauth2/default"},
        "idp_base_url: '${yourOktaDomain}' is not a valid host name (got 'https://${yourOktaDomain}/oauth2/default'); "
        "replace any placeholder such as ${yourOktaDomain} with your IdP's host",
    ),
    (
        {"idp": "okta", "idp_base_url": "https://acme.okta.com/oauth2/{authServerName}"},
        "idp_base_url: path segment '{authServerName}' may only hold letters, digits, '_', '.', '~', '-' (got "
        "'https://acme.okta.com/oauth2/{authServerName}')",
    ),
    (
        {"idp": "okta", "idp_base_url": "https://acme.okta.com//oauth2/default"},
        "idp_base_url: empty path segment ('//') in 'https://acme.okta.com//oauth2/default'",
    ),
    (
        {"idp": "okta", "idp_base_url": "https://acme.okta.com:99999"},
        "idp_base_url: port out of range (got 'https://acme.okta.com:99999')",
    ),
    (
        {"idp": "okta", "idp_base_url": "https://acme.okta.com/oauth2/default", "auth_server": "aus1"},
        "auth_server: 'aus1' conflicts with 'default' in idp_base_url 'https://acme.okta.com/oauth2/default'; give "
        "one of them, or make them agree",
    ),
    (
        {"idp": "entra", "idp_base_url": f"https://login.microsoftonline.com/{GUID}/oauth2/v2.0/authorize"},
        f"idp_base_url: 'https://login.microsoftonline.com/{GUID}/oauth2/v2.0/authorize' is the 'authorize' endpoint, "
        f"not the authority; put 'https://login.microsoftonline.com/{GUID}/v2.0' there (or leave idp_base_url out and "
        f"set tenant: {GUID})",
    ),
    (
        {
            "idp": "entra",
            "idp_base_url": f"https://login.microsoftonline.com/{GUID}/v2.0/.well-known/openid-configuration",
        },
        f"idp_base_url: 'https://login.microsoftonline.com/{GUID}/v2.0/.well-known/openid-configuration' is a "
        f"discovery document URL, not the issuer; put 'https://login.microsoftonline.com/{GUID}/v2.0' there",
    ),
    (
        {"idp": "entra", "idp_base_url": f"https://login.microsoftonline.com/{GUID}/oauth2/authorize"},
        f"idp_base_url: 'https://login.microsoftonline.com/{GUID}/oauth2/authorize' is a v1.0 endpoint; the entra "
        f"preset uses the v2.0 endpoints: put 'https://login.microsoftonline.com/{GUID}/v2.0' there",
    ),
    (  # without a GUID to name, the generic advice
        {"idp": "entra", "idp_base_url": "https://sts.windows.net/"},
        "idp_base_url: 'https://sts.windows.net/' is the v1.0 token issuer; put "
        "'https://login.microsoftonline.com/<tenant>/v2.0' there, or leave idp_base_url out and set tenant",
    ),
    (
        {"idp": "entra", "idp_base_url": "https://login.microsoftonline.com/common/v2.0"},
        "idp_base_url: 'https://login.microsoftonline.com/common/v2.0' names no single tenant (tenant: 'common' is "
        "multi-tenant; give the tenant-specific directory id or domain)",
    ),
    (  # found by the property below: '/v2.0' once passed for a tenant named "v2.0"
        {"idp": "entra", "idp_base_url": "https://login.microsoftonline.com/v2.0"},
        "idp_base_url: 'https://login.microsoftonline.com/v2.0' has no tenant before /v2.0; put "
        "'https://login.microsoftonline.com/<tenant>/v2.0' there (your directory id or domain), or leave idp_base_url "
        "out and set tenant",
    ),
    (
        {"idp": "entra", "tenant": "v2.0"},
        "tenant: must be a directory id (GUID) or domain name (got 'v2.0')",
    ),
    (
        {"idp": "entra", "idp_base_url": "https://acme.b2clogin.com/acme.onmicrosoft.com/v2.0"},
        "idp_base_url: 'https://acme.b2clogin.com/acme.onmicrosoft.com/v2.0' is not a Microsoft Entra authority; put "
        "'https://login.microsoftonline.com/<tenant>/v2.0' there (national clouds: login.microsoftonline.us, "
        "login.partner.microsoftonline.cn, login.chinacloudapi.cn), or leave idp_base_url out and set tenant",
    ),
    (
        {"idp": "entra", "idp_base_url": f"https://login.microsoftonline.com/{GUID}/v2.0", "tenant": "contoso.com"},
        f"tenant: 'contoso.com' conflicts with '{GUID}' in idp_base_url 'https://login.microsoftonline.com/{GUID}/v2.0'"
        "; give one of them, or make them agree",
    ),
    (
        {"idp": "entra"},
        "tenant: required by idp preset 'entra' (directory id or verified domain; or give the authority URL "
        "https://login.microsoftonline.com/<tenant>/v2.0 as idp_base_url)",
    ),
    (
        {"idp": "keycloak", "idp_base_url": "https://kc.example.com/realms/bi/protocol/openid-connect/auth"},
        "idp_base_url: 'https://kc.example.com/realms/bi/protocol/openid-connect/auth' is a URL inside realm 'bi', "
        "not the realm URL; put 'https://kc.example.com/realms/bi' there",
    ),
    (
        {"idp": "keycloak", "idp_base_url": "https://kc.example.com/auth/realms/bi/.well-known/openid-configuration"},
        "idp_base_url: 'https://kc.example.com/auth/realms/bi/.well-known/openid-configuration' is a discovery "
        "document URL, not the issuer; put 'https://kc.example.com/auth/realms/bi' there",
    ),
    (
        {"idp": "keycloak", "idp_base_url": "https://kc.example.com/realms"},
        "idp_base_url: 'https://kc.example.com/realms' ends at /realms without a realm; put "
        "'https://kc.example.com/realms/<realm>' there",
    ),
    (
        {"idp": "keycloak", "idp_base_url": "https://kc.example.com/admin/master/console"},
        "idp_base_url: 'https://kc.example.com/admin/master/console' is not a realm URL; put "
        "'https://kc.example.com/realms/<realm>' there (your realm's name)",
    ),
    (
        {"idp": "keycloak", "idp_base_url": "https://kc.example.com/realms/bi", "realm": "sales"},
        "realm: 'sales' conflicts with 'bi' in idp_base_url 'https://kc.example.com/realms/bi'; give one of them, or "
        "make them agree",
    ),
    (
        {"idp": "keycloak", "idp_base_url": "https://kc.example.com"},
        "realm: required by idp preset 'keycloak' (or give the realm URL https://HOST/realms/<realm> as idp_base_url)",
    ),
    (
        {"idp": "ping", "idp_base_url": "https://sso.example.com:9031/as/authorization.oauth2"},
        "idp_base_url: 'https://sso.example.com:9031/as/authorization.oauth2' is a PingFederate endpoint, not the "
        "server's base URL; put 'https://sso.example.com:9031' there",
    ),
    (
        {"idp": "ping", "idp_base_url": "https://sso.example.com/.well-known/openid-configuration"},
        "idp_base_url: 'https://sso.example.com/.well-known/openid-configuration' is a discovery document URL, not "
        "the issuer; put 'https://sso.example.com' there",
    ),
    (
        {"idp": "okta", "idp_base_url": "https://acme.okta.com", "tenant": GUID},
        "tenant: not used by idp preset 'okta' (it reads idp_base_url, auth_server)",
    ),
    (
        {"idp": "generic", "idp_base_url": "https://idp.example.com", "auth_uri": "https://idp.example.com/a"},
        "idp_base_url: not used by idp preset 'generic' (it reads none of idp_base_url, auth_server, tenant, realm)",
    ),
    (
        {"realm": "bi", "auth_uri": "https://idp.example.com/a", "token_uri": "https://idp.example.com/t"},
        "realm: only read by an idp preset; set idp (entra, generic, keycloak, okta, ping)",
    ),
]


@pytest.mark.parametrize(
    ("inputs", "problem"), REFUSED, ids=[f"{i}-{case[0].get('idp')}" for i, case in enumerate(REFUSED)]
)
def test_pasted_idp_urls_are_refused_saying_what_to_put_there(inputs, problem):
    error = refusal(inputs)
    assert str(error).startswith("oauth config 'custom_pasted': "), error
    assert problem in error.problems, error.problems


@pytest.mark.parametrize(
    "pasted",
    [
        "https://admin:Pa55-w0rd-x@acme.okta.com/oauth2/default",
        "http://admin:Pa55-w0rd-x@acme.okta.com/oauth2/default?x=1",
        "admin:Pa55-w0rd-x@acme.okta.com/oauth2/default/v1/authorize",
        "https://admin:Pa55 w0rd-x@acme.okta.com",
    ],
)
def test_credentials_in_idp_base_url_are_refused_without_echoing_them(pasted):
    error = refusal({"idp": "okta", "idp_base_url": pasted})
    assert "idp_base_url: must not contain a user name or password" in error.problems
    assert "Pa55" not in str(error)


# ---------------------------------------------------------------------------------------------------------------------
# property: whatever is pasted, a rendered endpoint never repeats a path (no /oauth2/x/.../oauth2/, no realms twice)

PROPERTY_SETTINGS = settings(
    max_examples=int(os.environ.get("TABOPS_HYPOTHESIS_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
HOSTS = [
    "acme.okta.com",
    "acme.okta-emea.com",
    "acme.oktapreview.com",
    "login.acme.example",
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "kc.example.com",
    "sso.example.com:9031",
    # mixed case (the Okta admin host once recursed without end), PingOne and the older China authority host
    "Acme-Admin.OKTA.com",
    "Login.MicrosoftOnline.com",
    "login.chinacloudapi.cn",
    "KC.Example.com",
    "auth.pingone.com",
    "Auth.PingOne.eu",
]
SEGMENTS = [
    "oauth2",
    "default",
    "aus1",
    "v1",
    "authorize",
    "token",
    "userinfo",
    ".well-known",
    "openid-configuration",
    "oauth-authorization-server",
    "realms",
    "bi",
    "auth",
    "protocol",
    "openid-connect",
    "v2.0",
    GUID,
    "contoso.com",
    "common",
    "as",
    "authorization.oauth2",
    "idp",
    "userinfo.openid",
    "SSO.saml2",
    "admin",
    "master",
    "console",
    "authorization.oauth2",
    "pf",
]
DOUBLED = r"/(oauth2|realms|v2\.0)/[^/]+/(.*/)?\1/"  # /oauth2/x/.../oauth2/, /realms/x/.../realms/
LOCATION_VALUES = {"okta": "auth_server", "entra": "tenant", "keycloak": "realm", "ping": None}


def segment_pairs(segments):
    return list(zip(segments, segments[1:]))


def path_segments(url):
    return [segment for segment in re.sub(r"^[a-z]+://[^/]*", "", url).split("/") if segment]


@PROPERTY_SETTINGS
@given(
    idp=st.sampled_from(sorted(LOCATION_VALUES)),
    scheme=st.sampled_from(["https://", "", "http://"]),
    host=st.sampled_from(HOSTS),
    segments=st.lists(st.sampled_from(SEGMENTS), max_size=7),
    trailing=st.sampled_from(["", "/"]),
    explicit=st.one_of(st.none(), st.sampled_from(["default", "aus1", "bi", GUID, "contoso.com"])),
)
def test_rendered_endpoints_never_repeat_a_path(idp, scheme, host, segments, trailing, explicit):
    pasted = scheme + host + "".join("/" + segment for segment in segments) + trailing
    config = {"id": "custom_pasted", "idp": idp, "idp_base_url": pasted}
    if explicit is not None and LOCATION_VALUES[idp]:
        config[LOCATION_VALUES[idp]] = explicit
    try:
        normalized = tx.normalize_oauth_config(config)
    except tx.TableauXmlError as error:
        assert str(error).startswith("oauth config 'custom_pasted': ")
        assert all(re.match(r"^[a-z_]+(\[\d+\])?: ", problem) for problem in error.problems), error.problems
        return
    pasted_pairs = segment_pairs(segments)
    for field in ("auth_uri", "token_uri", "userinfo_uri"):
        url = normalized[field]
        if url is None:
            continue
        assert url.startswith("https://" + host.lower() + "/"), url  # host names: one (lower-case) spelling
        rendered = path_segments(url)
        for first, second in zip(rendered, rendered[1:]):
            # never /as/as/ (a base URL ending in the preset's first appended segment) unless pasted that way
            assert first != second or (first, second) in pasted_pairs, (pasted, url)
        if not re.search(DOUBLED, "/" + "/".join(segments) + "/"):
            assert not re.search(DOUBLED, url), (pasted, url)
        for pair in segment_pairs(rendered):
            # a pair may occur twice only where the pasted URL itself already had it twice (its own path prefix)
            assert segment_pairs(rendered).count(pair) == 1 or pasted_pairs.count(pair) > 1, (pasted, url)
