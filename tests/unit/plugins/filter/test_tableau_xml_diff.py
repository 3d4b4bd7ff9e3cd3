# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""tableau_xml_diff filter."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tabops.redshift_oauth.plugins.filter import tableau_xml_diff as diff_plugin
from ansible_collections.tabops.redshift_oauth.plugins.module_utils import _tableau_xml as tx

diff = diff_plugin.FilterModule().filters()["tableau_xml_diff"]
SECRET = "diff-filter-secret"
OKTA = {
    "id": "custom_redshift_okta",
    "idp": "okta",
    "idp_base_url": "example.okta.com",
    "client_id_desktop": "0oa1",
    "client_secret_desktop": SECRET,
}


def test_diff_of_rendered_documents():
    expected = tx.render_oauth_config(OKTA)
    actual = tx.render_oauth_config(
        dict(OKTA, client_secret_desktop=SECRET + "2", capabilities={"OAUTH_CAP_REQUIRE_PKCE": False})
    )
    assert diff(expected, expected) == []
    result = diff(expected, actual)
    assert result == [
        {"path": "client_secret_desktop", "expected": "[redacted]", "actual": "[redacted]"},
        {"path": "capabilities.OAUTH_CAP_REQUIRE_PKCE", "expected": True, "actual": False},
    ]
    assert SECRET not in repr(result)


@pytest.mark.parametrize(
    ("expected", "actual", "message"),
    [
        ("<connection-customization/>", "<pluginOAuthConfig/>", r"cannot compare <connection-customization> with"),
        ("<connection-customization/>", "<!DOCTYPE a><connection-customization/>", r"DOCTYPE declaration refused"),
        (
            "<connection-customization/>",
            {"class": "redshift"},
            r"^tabops\.redshift_oauth\.tableau_xml_diff: actual must",
        ),
    ],
)
def test_diff_errors(expected, actual, message):
    with pytest.raises(AnsibleFilterError, match=message):
        diff(expected, actual)
