# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""tdc_xml and tdc_parse filters."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tabops.redshift_oauth.plugins.filter import tdc_parse as parse_plugin
from ansible_collections.tabops.redshift_oauth.plugins.filter import tdc_xml as render_plugin

render = render_plugin.FilterModule().filters()["tdc_xml"]
parse = parse_plugin.FilterModule().filters()["tdc_parse"]
SPEC = {"customizations": {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": "yes"}}


def test_render_then_parse():
    text = render(SPEC, managed_comment="Ansible managed")
    assert text.splitlines()[:3] == [
        "<?xml version='1.0' encoding='utf-8' ?>",
        "<!-- Ansible managed -->",
        "<connection-customization class='redshift' enabled='true' version='10.0'>",
    ]
    assert parse(text) == {
        "class": "redshift",
        "vendor": "redshift",
        "driver": "redshift",
        "version": "10.0",
        "enabled": True,
        "customizations": {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": "yes"},
    }


def test_render_warns_about_vendor_of_builtin_class(monkeypatch):
    warnings = []
    monkeypatch.setattr(render_plugin.display, "warning", warnings.append)
    render({"class": "redshift", "driver": "Amazon Redshift (x64)"})
    assert warnings == [
        "tabops.redshift_oauth.tdc_xml: tdc 'redshift': driver: 'Amazon Redshift (x64)' differs from class 'redshift'; "
        "built-in connectors use the class name, so Tableau may not apply this TDC"
    ]
    warnings.clear()
    render(SPEC)
    assert warnings == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"class": "red shift", "customizations": {"CAP_X": True}},
            r"^tabops\.redshift_oauth\.tdc_xml: tdc 'red shift': customizations\.CAP_X: value must be a string, "
            r"got bool \(quote it: YAML reads yes/no as booleans\); class: only letters",
        ),
        (["redshift"], r"^tabops\.redshift_oauth\.tdc_xml: input must be a dict, got list$"),
    ],
)
def test_render_errors(spec, message):
    with pytest.raises(AnsibleFilterError, match=message):
        render(spec)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "<!DOCTYPE c><connection-customization/>",
            r"^tabops\.redshift_oauth\.tdc_parse: document: DOCTYPE declaration",
        ),
        ("<pluginOAuthConfig/>", r"tdc_parse: document: expected a tdc document, found <pluginOAuthConfig>"),
        (None, r"tdc_parse: input must be XML text, got NoneType"),
    ],
)
def test_parse_errors(text, message):
    with pytest.raises(AnsibleFilterError, match=message):
        parse(text)
