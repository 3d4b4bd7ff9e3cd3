# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Which token Tableau federates, its aud per IdP preset, and the IAM audiences derived from it or checked."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.tabops.redshift_oauth.plugins.filter.federated_token_audiences import (
    federated_token_audiences,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import (
    TableauXmlError,
    normalize_oauth_config,
    render_oauth_config,
)
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml._idp_presets import (
    access_token_audience,
    audience_problems,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._preflight import (
    expected_audiences,
    fleet_findings,
)
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._token_audience import host_tokens

ENTRA_TENANT = "3f2a8c1e-5b7d-4e9a-8c6f-0d1e2f3a4b5c"
CONFIGS = {
    "okta": {"idp": "okta", "idp_base_url": "https://corp.okta.example"},
    "entra": {"idp": "entra", "tenant": ENTRA_TENANT},
    "ping": {"idp": "ping", "idp_base_url": "https://sso.corp.example"},
    "keycloak": {"idp": "keycloak", "idp_base_url": "https://kc.corp.example/realms/corp"},
    "generic": {
        "idp": "generic",
        "auth_uri": "https://idp.corp.example/authorize",
        "token_uri": "https://idp.corp.example/token",
    },
}
ACCESS = {"name": "redshift-oauth", "class": "redshift", "customizations": {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": "yes"}}


def config(idp="okta", **overrides):
    base = {
        "id": "custom_redshift_%s" % idp,
        "client_id_desktop": "0oa-desktop",
        "install_on": ["desktop", "prep", "bridge"],
        "server_client": {"client_id": "0oa-server", "client_secret": "canary-token-secret-77ab"},
        **copy.deepcopy(CONFIGS[idp]),
    }
    base.update(overrides)
    return base


# --- the access token's aud, per preset -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "okta",
    [
        {"idp": "okta", "idp_base_url": "https://corp.okta.example"},
        {"idp": "okta", "idp_base_url": "https://corp.okta.example", "auth_server": "default"},
        {"idp": "okta", "idp_base_url": "https://corp.okta.example/oauth2/default"},
        {"idp": "OKTA", "idp_base_url": "corp.okta.example/oauth2/default/"},
    ],
)
def test_okta_default_server_access_tokens_carry_api_default(okta):
    aud, source = access_token_audience(okta)
    assert aud == "api://default"
    assert "'default'" in source


@pytest.mark.parametrize(
    "okta",
    [
        {"idp": "okta", "idp_base_url": "https://corp.okta.example", "auth_server": "aus1redshift"},
        {"idp": "okta", "idp_base_url": "https://corp.okta.example/oauth2/aus1redshift"},
    ],
)
def test_another_okta_server_has_its_own_audience_which_must_be_declared(okta):
    aud, source = access_token_audience(okta)
    assert aud is None
    assert "'aus1redshift'" in source and "Audience" in source
    assert access_token_audience(dict(okta, access_token_audience="api://redshift")) == (
        "api://redshift",
        "declared access_token_audience",
    )


@pytest.mark.parametrize(
    ("idp", "words"),
    [
        ("entra", "the API the requested scope names"),
        ("ping", "access token manager or resource"),
        ("keycloak", "audience mappers"),
        ("generic", "knows nothing"),
    ],
)
def test_other_presets_do_not_guess_the_access_token_audience(idp, words):
    aud, source = access_token_audience(CONFIGS[idp])
    assert aud is None and words in source
    declared = dict(CONFIGS[idp], access_token_audience=" api://tableau-redshift ")
    assert access_token_audience(declared)[0] == "api://tableau-redshift"


def test_a_config_without_a_preset_must_declare_it_too():
    assert access_token_audience({"auth_uri": "https://x.example/a"})[0] is None


@pytest.mark.parametrize("bad", ["", "  ", "api://a b", "api://*", "aud?", "a" * 256, 42, ["api://default"], "x\x00y"])
def test_a_bad_declared_audience_is_refused_naming_the_field(bad):
    problems = audience_problems("access_token_audience", bad)
    assert problems and problems[0].startswith("access_token_audience: ")
    with pytest.raises(TableauXmlError, match="access_token_audience"):
        normalize_oauth_config(config("entra", access_token_audience=bad) | {"server_client": None})


def test_a_declared_audience_is_accepted_and_never_rendered():
    entry = {k: v for k, v in config("entra", access_token_audience="api://redshift").items() if k != "server_client"}
    entry.pop("install_on")
    text = render_oauth_config(entry)
    assert "api://redshift" not in text and "access_token_audience" not in text


# --- which token, per application ---------------------------------------------------------------------------------


def tokens(applications, configs, tdcs, config_ids=None):
    return sorted(
        (t["application"], t["token"], t["aud"], tuple(t["tdcs"]))
        for t in host_tokens(applications, configs, tdcs, config_ids)
    )


def test_without_a_tdc_every_application_federates_its_clients_id_token():
    assert tokens(["server", "desktop", "prep", "bridge"], [config()], []) == [
        ("bridge", "ID token", "0oa-desktop", ()),
        ("desktop", "ID token", "0oa-desktop", ()),
        ("prep", "ID token", "0oa-desktop", ()),
        ("server", "ID token", "0oa-server", ()),
    ]


def test_the_tdc_makes_its_applications_federate_the_access_token():
    server_only = dict(ACCESS, install_on=["server"])
    assert tokens(["server", "desktop"], [config()], [server_only]) == [
        ("desktop", "ID token", "0oa-desktop", ()),
        ("server", "access token", "api://default", ("redshift-oauth",)),
    ]


@pytest.mark.parametrize(
    "tdc",
    [
        dict(ACCESS, customizations={"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": "no"}),
        dict(ACCESS, customizations={"CAP_ODBC_METADATA_SUPPRESS_EXECUTED_QUERY": "yes"}),
        dict(ACCESS, enabled="false"),
        dict(ACCESS, **{"class": "postgres"}),
        dict(ACCESS, install_on=["desktop"]),
    ],
)
def test_a_tdc_that_does_not_apply_leaves_the_id_token(tdc):
    assert [t[1] for t in tokens(["server"], [config()], [tdc])] == ["ID token"]


def test_two_tdcs_that_disagree_need_both_audiences():
    other = {"name": "legacy", "class": "redshift", "customizations": {}}
    assert tokens(["desktop"], [config()], [ACCESS, other]) == [
        ("desktop", "ID token", "0oa-desktop", ("legacy",)),
        ("desktop", "access token", "api://default", ("redshift-oauth",)),
    ]


def test_only_the_applications_that_use_the_config_and_the_named_configs_count():
    desktop_only = config(install_on=["desktop"], server_client=None)
    assert tokens(["server", "bridge", "desktop"], [desktop_only], []) == [("desktop", "ID token", "0oa-desktop", ())]
    assert tokens(["desktop"], [config(), config("entra")], [], {"custom_redshift_entra"}) == [
        ("desktop", "ID token", "0oa-desktop", ())
    ]


# --- the IAM side: derived, or checked (preflight) ------------------------------------------------------------------


def host(groups, configs, tdcs, connections=("custom_redshift_okta",)):
    return {
        "groups": groups,
        "applications": [],
        "oauth_configs": configs,
        "tdc_files": tdcs,
        "group_federation": True,
        "odbc_extras_allowlist": [],
        "server_url": "https://tableau.corp.example",
        "redshift_connections": [
            {
                "name": "analytics-%s" % ref,
                "host": "c.abc.us-west-1.redshift.amazonaws.com",
                "database": "dev",
                "cluster_id": "cluster-identifier",
                "region": "us-west-1",
                "role_arn": "arn:aws:iam::123456789012:role/tableau-redshift-oauth",
                "oauth_config": ref,
            }
            for ref in connections
        ],
    }


def fleet(configs=None, tdcs=(ACCESS,), **kwargs):
    configs = configs or [config()]
    return {
        "tsnode1": host(["tableau_server"], copy.deepcopy(configs), list(tdcs), **kwargs),
        "desktop1": host(["tableau_desktop"], copy.deepcopy(configs), list(tdcs), **kwargs),
    }


IAM = {
    "redshift_iam_role_name": "tableau-redshift-oauth",
    "redshift_iam_account": "123456789012",
    "redshift_iam_region": "us-west-1",
    "redshift_iam_clusters": ["cluster-identifier"],
    "redshift_iam_db_names": ["dev"],
    "redshift_iam_group_federation": True,
}


def audience_findings(data, iam):
    return [f for f in fleet_findings(data, iam) if "audience" in f["code"]]


def test_client_id_audiences_for_an_access_token_tdc_are_a_mismatch_naming_both_sides():
    iam = dict(IAM, redshift_iam_client_ids=["0oa-server", "0oa-desktop"])
    (found,) = audience_findings(fleet(), iam)
    assert found["severity"] == "error" and found["code"] == "iam-audience-mismatch"
    assert found["message"] == (
        "OAuth config custom_redshift_okta on desktop, prep, server federates the access token (TDC redshift-oauth "
        "sets CAP_OAUTH_FEDERATE_ACCESS_TOKEN=yes), whose aud is 'api://default' (Audience of Okta's pre-made "
        "authorization server 'default'), but the IAM OIDC provider and the trust policy's :aud condition trust "
        "only '0oa-server', '0oa-desktop' (redshift_iam_client_ids): STS refuses the token with 'Incorrect token "
        "audience'"
    )
    assert found["fix"].startswith("add 'api://default' to redshift_iam_client_ids, or remove redshift_iam_client_ids")
    assert (found["hosts"], found["config"], found["field"]) == (
        ["desktop1", "tsnode1"],
        "custom_redshift_okta",
        "redshift_iam_client_ids",
    )
    assert "canary-token-secret-77ab" not in str(found)


def test_derived_or_matching_audiences_are_clean():
    assert audience_findings(fleet(), IAM) == []
    assert audience_findings(fleet(), dict(IAM, redshift_iam_audiences=["api://default"])) == []
    assert expected_audiences(fleet(), IAM)["audiences"] == ["api://default"]
    assert expected_audiences(fleet(tdcs=()), IAM)["audiences"] == ["0oa-desktop", "0oa-server"]


def test_declared_audiences_win_over_the_deprecated_name():
    iam = dict(IAM, redshift_iam_audiences=["api://default"], redshift_iam_client_ids=["0oa-server"])
    assert audience_findings(fleet(), iam) == []
    assert expected_audiences(fleet(), iam)["declared_by"] == "redshift_iam_audiences"
    (found,) = audience_findings(fleet(), dict(iam, redshift_iam_audiences=["0oa-server"]))
    assert found["field"] == "redshift_iam_audiences"


def test_an_id_token_whose_client_is_not_trusted_is_a_mismatch_for_that_application_only():
    (found,) = audience_findings(fleet(tdcs=()), dict(IAM, redshift_iam_audiences=["0oa-server"]))
    assert found["message"].startswith(
        "OAuth config custom_redshift_okta on desktop, prep federates the ID token, whose aud is '0oa-desktop' "
        "(client_id_desktop)"
    )
    assert found["hosts"] == ["desktop1"]


@pytest.mark.parametrize("idp", ["entra", "ping", "keycloak", "generic"])
def test_an_access_token_of_a_preset_that_cannot_know_its_aud_must_be_declared(idp):
    data = fleet([config(idp)], connections=("custom_redshift_%s" % idp,))
    (found,) = audience_findings(data, IAM)
    assert found["code"] == "access-token-audience-undeclared" and found["field"] == "access_token_audience"
    assert "federates the access token" in found["message"]
    assert found["fix"].startswith("set access_token_audience in tabops_oauth_configs[custom_redshift_%s]" % idp)
    declared = fleet([config(idp, access_token_audience="api://redshift")], connections=("custom_redshift_%s" % idp,))
    assert audience_findings(declared, IAM) == []
    assert expected_audiences(declared, IAM)["audiences"] == ["api://redshift"]


def test_configs_no_connection_names_and_fleets_without_iam_variables_are_not_checked():
    entra_too = fleet([config(), config("entra")])  # the connections name only the Okta config
    assert audience_findings(entra_too, IAM) == []
    assert audience_findings(fleet(), {}) == []
    assert audience_findings(fleet([config("entra")], connections=("custom_redshift_entra",)), {}) == []


def test_the_filter_reads_hostvars_and_groups():
    data = fleet()
    hostvars = {
        name: {
            "tabops_oauth_configs": d["oauth_configs"],
            "tabops_tdc_files": d["tdc_files"],
            "tabops_redshift_connections": d["redshift_connections"],
        }
        for name, d in data.items()
    }
    groups = {"all": ["tsnode1", "desktop1"], "tableau_server": ["tsnode1"], "tableau_desktop": ["desktop1"]}
    result = federated_token_audiences(["tsnode1", "desktop1"], hostvars, groups, {"redshift_iam_audiences": []})
    assert result["audiences"] == ["api://default"] and result["declared_by"] == "" and result["findings"] == []
    (token,) = result["tokens"]
    assert token["applications"] == ["desktop", "prep", "server"] and token["hosts"] == ["desktop1", "tsnode1"]
    result = federated_token_audiences(
        ["tsnode1", "desktop1"], hostvars, groups, {"redshift_iam_audiences": ["0oa-server"]}
    )
    assert [f["code"] for f in result["findings"]] == ["iam-audience-mismatch"]
