# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Property tests: render/parse round trips, diff ignores formatting, one changed value gives one difference."""

from __future__ import annotations

import contextlib
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
import xmlschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.tabops.redshift_oauth.plugins.module_utils import _tableau_xml as tx

XSD = xmlschema.XMLSchema(
    str(Path(__file__).resolve().parents[2] / "fixtures" / "connector-plugin-sdk" / "oauth_config.xsd")
)
# TABOPS_HYPOTHESIS_EXAMPLES=3000 for a longer search than the default run.
PROPERTY_SETTINGS = settings(
    max_examples=int(os.environ.get("TABOPS_HYPOTHESIS_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Text a field can carry: no control characters, surrogates or non-characters (the rules refuse those).
TEXT_CHARS = st.characters(blacklist_categories=("Cs", "Cc", "Cn"))
field_text = st.text(TEXT_CHARS, min_size=1, max_size=16).map(str.strip).filter(bool)
token = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Cn", "Zs", "Zl", "Zp")), min_size=1, max_size=12
).filter(lambda value: not any(char.isspace() for char in value))
hostname = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9](\.[a-z][a-z0-9]{0,8}){1,2}", fullmatch=True)
url_path = st.from_regex(r"(/[A-Za-z0-9._~-]{1,10}){0,3}", fullmatch=True)
https_url = st.builds(lambda host, path: f"https://{host}{path}", hostname, url_path)
# A path prefix in front of an IdP's endpoints: no segment the preset readers treat as part of an IdP URL.
_READER_SEGMENTS = {"realms", "admin", "protocol", "oauth2", ".well-known", ".", ".."}
prefix_path = url_path.filter(
    lambda path: (
        not any(
            segment in _READER_SEGMENTS or segment.endswith((".oauth2", ".openid", ".ping"))
            for segment in path.split("/")
        )
    )
)
https_prefix_url = st.builds(lambda host, path: f"https://{host}{path}", hostname, prefix_path)
auth_server_id = st.from_regex(r"[A-Za-z0-9]{1,12}", fullmatch=True).filter(lambda value: value != "v1")
okta_issuer = st.builds(lambda host, server: f"https://{host}/oauth2/{server}", hostname, auth_server_id)
boolean_spelling = st.sampled_from([True, False, "true", "false", "yes", "no", "TRUE", "No"])
OPTIONAL_CAPABILITIES = sorted(
    tx.KNOWN_CAPABILITIES
    - {
        tx.CAP_CUSTOM_DOMAIN,
        tx.CAP_SINGLE_USE_REFRESH,
        tx.CAP_FIXED_PORT,
        tx.CAP_PKCE,
        tx.CAP_PKCE_METHOD,
        tx.CAP_LOOPBACK_HTTP,
    }
)


@st.composite
def oauth_configs(draw):
    preset = draw(st.sampled_from(["okta", "entra", "ping", "keycloak", "generic", None]))
    config = {"id": "custom_" + draw(st.from_regex(r"[A-Za-z0-9_-]{1,29}", fullmatch=True))}
    if draw(st.booleans()):
        config["label"] = draw(st.from_regex(r"[A-Za-z0-9_-][A-Za-z0-9_ -]{0,30}", fullmatch=True))
    if preset:
        config["idp"] = preset
    if preset == "okta":
        config["idp_base_url"] = draw(st.one_of(hostname, hostname.map("https://{}".format), okta_issuer))
    if preset in ("ping", "keycloak"):
        config["idp_base_url"] = draw(st.one_of(hostname, https_prefix_url))
    if preset == "keycloak":
        config["realm"] = draw(st.from_regex(r"[A-Za-z0-9_.~-]{1,12}", fullmatch=True).filter(lambda v: v not in ".."))
    if preset == "okta" and draw(st.booleans()):
        in_url = config["idp_base_url"].partition("/oauth2/")[2]
        config["auth_server"] = in_url or draw(auth_server_id)  # given twice, the two must agree
    if preset == "entra":
        config["tenant"] = draw(st.one_of(st.uuids().map(str), hostname))
    if preset in (None, "generic"):
        config["auth_uri"] = draw(https_url)
        config["token_uri"] = draw(https_url)
    if preset is None:
        config["scopes"] = draw(st.lists(token, min_size=1, max_size=5, unique=True))
        config["access_token_response_maps"] = {"ACCESSTOKEN": draw(field_text), "REFRESHTOKEN": draw(field_text)}
        config["access_token_response_maps"]["username"] = draw(field_text)
    config["capabilities"] = {tx.CAP_PKCE: draw(boolean_spelling), tx.CAP_PKCE_METHOD: draw(boolean_spelling)}
    config["capabilities"].update(draw(st.dictionaries(st.sampled_from(OPTIONAL_CAPABILITIES), boolean_spelling)))
    if draw(st.booleans()):
        config["client_id_desktop"] = draw(field_text)
    if draw(st.booleans()):
        config["client_secret_desktop"] = draw(field_text)
    else:  # a public client needs PKCE
        config["capabilities"].update({tx.CAP_PKCE: True, tx.CAP_PKCE_METHOD: "yes"})
    ports = draw(st.lists(st.integers(1, 65535), max_size=4, unique=True))
    if ports:
        config["redirect_ports"] = ports
    extra_maps = st.dictionaries(
        token.filter(lambda key: key not in tx.REQUIRED_ACCESS_TOKEN_MAPS), field_text, max_size=3
    )
    config["access_token_response_maps"] = {**config.get("access_token_response_maps", {}), **draw(extra_maps)}
    config["refresh_token_response_maps"] = draw(st.dictionaries(token, field_text, max_size=3))
    for field, strategy in (
        ("userinfo_uri", https_url),
        ("default_instance_url", https_url),
        ("instance_url_suffix", field_text),
        ("instance_url_validation_regex", field_text),
        ("required_auth_attrs", st.lists(field_text, max_size=3, unique=True)),
        ("required_refresh_attrs", st.lists(field_text, max_size=3, unique=True)),
    ):
        if draw(st.booleans()):
            config[field] = draw(strategy)
    return config


@st.composite
def reformatted(draw, text):
    """Same meaning, different form: whitespace, comments, declaration, quoting, CDATA, order of unordered entries."""
    root = ET.fromstring(text)  # noqa: S314 - our own rendering
    indent = draw(st.sampled_from(["", " ", "\n", "\n\t", "\r\n    "]))
    comment = draw(st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn")), max_size=10)).replace("-", "")

    def text_form(value):
        if draw(st.booleans()) and "]]>" not in value:
            return f"<![CDATA[{value}]]>"
        padding = draw(st.sampled_from(["", " ", "\n  "]))
        return padding + escape(value) + padding

    def attributes(element):
        items = list(element.attrib.items())
        items = draw(st.permutations(items))
        quoted = []
        for name, value in items:
            form = quoteattr(value) if draw(st.booleans()) else "'" + escape(value, {"'": "&apos;"}) + "'"
            quoted.append(f"{name}{draw(st.sampled_from(['=', ' = ']))}{form}")
        return "".join(" " + item for item in quoted)

    def serialize(element, depth):
        children = list(element)
        unordered_groups = {"capabilities", "accessTokenResponseMaps", "refreshTokenResponseMaps", "customizations"}
        if element.tag in unordered_groups:
            children = draw(st.permutations(children))
        elif element.tag == "pluginOAuthConfig":
            # entries of one repeated list element may move among themselves, not across other elements
            grouped = {}
            for child in children:
                grouped.setdefault(child.tag, []).append(child)
            order = list(dict.fromkeys(child.tag for child in children))
            children = [item for tag in order for item in draw(st.permutations(grouped[tag]))]
        opening = f"<{element.tag}{attributes(element)}"
        if not children and not (element.text or "").strip():
            return opening + draw(st.sampled_from(["/>", " />", f"></{element.tag}>"]))
        parts = [opening + ">"]
        if children:
            for child in children:
                parts.append(indent * (depth + 1))
                if draw(st.booleans()):
                    parts.append(f"<!--{comment}-->")
                parts.append(serialize(child, depth + 1))
            parts.append(indent * depth)
        else:
            parts.append(text_form(element.text))
        return "".join(parts) + f"</{element.tag}>"

    declaration = draw(
        st.sampled_from(["", '<?xml version="1.0"?>\n', "<?xml version='1.0' encoding='utf-8' standalone='yes' ?>"])
    )
    return declaration + f"<!--{comment}-->" + serialize(root, 0) + indent


@PROPERTY_SETTINGS
@given(oauth_configs())
def test_render_then_parse_gives_the_normalized_config(config):
    assert tx.validate_oauth_config(config) == []
    text = tx.render_oauth_config(config, managed_comment="Ansible managed")
    assert tx.render_oauth_config(config, managed_comment="Ansible managed") == text
    XSD.validate(text)
    parsed = tx.parse_oauth_config(text)
    assert parsed == tx.normalize_oauth_config(config)
    assert tx.validate_oauth_config(parsed) == []
    assert tx.render_oauth_config(parsed, managed_comment="Ansible managed") == text


@PROPERTY_SETTINGS
@given(st.data(), oauth_configs(), st.sampled_from(["defusedxml", "expat"]))
def test_formatting_never_makes_a_difference(data, config, backend):
    text = tx.render_oauth_config(config)
    other = data.draw(reformatted(text))
    original = tx._safe_parse.HAS_DEFUSEDXML
    tx._safe_parse.HAS_DEFUSEDXML = backend == "defusedxml"
    try:
        assert tx.diff_documents(text, text) == []
        assert tx.diff_documents(text, other) == []
        assert tx.diff_documents(other, text) == []
        assert tx.schema_problems(other) == []
    finally:
        tx._safe_parse.HAS_DEFUSEDXML = original
    assert XSD.is_valid(other)


def _changes(normalized):
    """(path, mutate) pairs, each changing exactly one meaningful value."""
    options = []
    for field in (
        "label",
        "client_id_desktop",
        "client_secret_desktop",
        "auth_uri",
        "userinfo_uri",
        "instance_url_suffix",
    ):
        options.append((field, lambda config, field=field: config.__setitem__(field, (config[field] or "") + "x")))
        if config_value_present(normalized, field) and field not in ("auth_uri",):
            options.append((field, lambda config, field=field: config.__setitem__(field, None)))
    for key in normalized["capabilities"]:
        options.append(
            (
                f"capabilities.{key}",
                lambda config, key=key: config["capabilities"].__setitem__(key, not config["capabilities"][key]),
            )
        )
        options.append((f"capabilities.{key}", lambda config, key=key: config["capabilities"].pop(key)))
    for field in ("access_token_response_maps", "refresh_token_response_maps"):
        for key in normalized[field]:
            options.append(
                (
                    f"{field}.{key}",
                    lambda config, field=field, key=key: config[field].__setitem__(key, config[field][key] + "x"),
                )
            )
        options.append((f"{field}.NEW_KEY", lambda config, field=field: config[field].__setitem__("NEW_KEY", "v")))
    options.append(("scopes", lambda config: config["scopes"].append("zz_" + "".join(config["scopes"]))))
    options.append(
        ("redirect_uris_desktop", lambda config: config["redirect_uris_desktop"].append("http://localhost:1/x"))
    )
    return options


def config_value_present(config, field):
    return config.get(field) is not None


@PROPERTY_SETTINGS
@given(st.data(), oauth_configs())
def test_one_changed_value_gives_exactly_one_difference(data, config):
    normalized = tx.normalize_oauth_config(config)
    path, mutate = data.draw(st.sampled_from(_changes(normalized)))
    changed = tx.parse_oauth_config(tx.render_oauth_config(config))
    mutate(changed)
    # Rendered without validation on purpose: drift on a host need not be valid.
    actual = tx._render_oauth_normalized(changed, None)
    differences = tx.diff_documents(tx.render_oauth_config(config), actual)
    assert [item["path"] for item in differences] == [path]
    if path == "client_secret_desktop":
        assert differences[0]["expected"] == differences[0]["actual"] == tx.REDACTED


# ---------------------------------------------------------------------------------------------------------------------
# TDC


tdc_specs = st.fixed_dictionaries(
    {"class": st.from_regex(r"[A-Za-z0-9_.-]{1,20}", fullmatch=True)},
    optional={
        "vendor": field_text,
        "driver": field_text,
        "version": st.from_regex(r"[0-9]{1,2}(\.[0-9]{1,2}){0,2}", fullmatch=True),
        "enabled": boolean_spelling,
        "customizations": st.dictionaries(
            st.from_regex(r"[A-Za-z0-9_.-]{1,24}", fullmatch=True), st.text(TEXT_CHARS, max_size=12).map(str.strip)
        ),
    },
)


@PROPERTY_SETTINGS
@given(tdc_specs)
def test_tdc_render_then_parse_gives_the_normalized_spec(spec):
    text = tx.render_tdc(spec, managed_comment="Ansible managed")
    assert tx.render_tdc(spec, managed_comment="Ansible managed") == text
    assert tx.parse_tdc(text) == tx.normalize_tdc(spec)
    assert tx.validate_tdc(tx.parse_tdc(text))[0] == []


@PROPERTY_SETTINGS
@given(st.data(), tdc_specs)
def test_tdc_formatting_never_makes_a_difference(data, spec):
    text = tx.render_tdc(spec)
    other = data.draw(reformatted(text))
    assert tx.diff_documents(text, text) == []
    assert tx.diff_documents(text, other) == []
    assert tx.parse_tdc(other) == tx.parse_tdc(text)


@PROPERTY_SETTINGS
@given(st.data(), tdc_specs)
def test_tdc_one_changed_value_gives_exactly_one_difference(data, spec):
    normalized = tx.normalize_tdc(spec)
    field = data.draw(
        st.sampled_from(
            [
                "vendor",
                "driver",
                "version",
                "enabled",
                "customizations.NEW",
                *[f"customizations.{name}" for name in normalized["customizations"]],
            ]
        )
    )
    changed = dict(normalized, customizations=dict(normalized["customizations"]))
    if field == "enabled":
        changed["enabled"] = not changed["enabled"]
    elif field == "version":
        changed["version"] += ".1"
    elif field.startswith("customizations."):
        name = field.split(".", 1)[1]
        changed["customizations"][name] = changed["customizations"].get(name, "") + "x"
    else:
        changed[field] += "x"
    differences = tx.diff_documents(tx.render_tdc(normalized), tx.render_tdc(changed))
    assert [item["path"] for item in differences] == [field]


@pytest.mark.parametrize(
    "seed_config",
    [{"id": "custom_a", "idp": "generic", "auth_uri": "https://a.example", "token_uri": "https://a.example/t"}],
)
def test_generic_preset_example_round_trips(seed_config):
    """A fixed example alongside the properties, so a strategy regression cannot silently skip the generic preset."""
    text = tx.render_oauth_config(seed_config)
    assert tx.parse_oauth_config(text) == tx.normalize_oauth_config(seed_config)


@st.composite
def structurally_mutated(draw, text):
    """Move, duplicate, drop or add one top-level element of a rendered config."""
    root = ET.fromstring(text)  # noqa: S314 - our own rendering
    children = list(root)
    action = draw(st.sampled_from(["move", "duplicate", "drop", "unknown"]))
    index = draw(st.integers(0, len(children) - 1))
    if action == "move":
        child = children[index]
        root.remove(child)
        root.insert(draw(st.integers(0, len(children) - 1)), child)
    elif action == "duplicate":
        root.insert(index, ET.fromstring(ET.tostring(children[index])))  # noqa: S314
    elif action == "drop":
        root.remove(children[index])
    else:
        root.insert(index, ET.Element(draw(st.sampled_from(["bogus", "clientIdServer", "Scopes"]))))
    return ET.tostring(root, encoding="unicode")


@PROPERTY_SETTINGS
@given(st.data(), oauth_configs())
def test_structure_check_agrees_with_the_sdk_xsd(data, config):
    """The stdlib structure check used on hosts says 'invalid' exactly when Tableau's XSD does."""
    text = data.draw(structurally_mutated(tx.render_oauth_config(config)))
    assert bool(tx.schema_problems(text)) is (not XSD.is_valid(text)), tx.schema_problems(text)


xml_fragments = st.lists(
    st.sampled_from(
        [
            "<pluginOAuthConfig>",
            "</pluginOAuthConfig>",
            "<connection-customization class='redshift'>",
            "</connection-customization>",
            "<capabilities>",
            "</capabilities>",
            "<entry><key>K</key><value>V</value></entry>",
            "<entry>",
            "<scopes>openid</scopes>",
            "<customization name='A' value='b'/>",
            "<customizations>",
            "</customizations>",
            "<!DOCTYPE x>",
            "&amp;",
            "&undefined;",
            "<![CDATA[x]]>",
            "<!-- c -->",
            "<?pi x?>",
            "\x00",
            "\udcff",
            "<",
            ">",
            "'",
            " ",
        ]
    ),
    max_size=12,
).map("".join)


@PROPERTY_SETTINGS
@given(st.one_of(xml_fragments, st.text(max_size=50), st.binary(max_size=50)), st.sampled_from(["defusedxml", "expat"]))
def test_untrusted_input_only_ever_raises_tableau_xml_error(data, backend):
    original = tx._safe_parse.HAS_DEFUSEDXML
    tx._safe_parse.HAS_DEFUSEDXML = backend == "defusedxml"
    try:
        for function in (tx.parse_oauth_config, tx.parse_tdc, tx.validate_document, tx.schema_problems):
            with contextlib.suppress(tx.TableauXmlError):
                function(data)
        with contextlib.suppress(tx.TableauXmlError):
            tx.diff_documents(data, data)
    finally:
        tx._safe_parse.HAS_DEFUSEDXML = original


anything = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)


@PROPERTY_SETTINGS
@given(
    st.dictionaries(
        st.sampled_from([*tx.OAUTH_FIELDS, "idp", "idp_base_url", "tenant", "realm", "redirect_ports"]), anything
    ),
    st.dictionaries(st.sampled_from(list(tx.TDC_FIELDS)), anything),
)
def test_arbitrary_input_gives_problems_not_crashes(config, spec):
    problems = tx.validate_oauth_config(config)
    assert all(isinstance(problem, str) for problem in problems)
    try:
        tx.render_oauth_config(config)
    except tx.TableauXmlError as error:
        assert error.problems
    errors, warnings = tx.validate_tdc(spec)
    assert all(isinstance(item, str) for item in errors + warnings)
    try:
        tx.render_tdc(spec)
    except tx.TableauXmlError as error:
        assert error.problems
