# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The one place filters turn collection errors into AnsibleFilterError."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tabops.redshift_oauth.plugins.filter.federated_token_audiences import federated_token_audiences
from ansible_collections.tabops.redshift_oauth.plugins.filter.redshift_arn import redshift_arn
from ansible_collections.tabops.redshift_oauth.plugins.filter.tableau_fleet_plan import tableau_fleet_plan
from ansible_collections.tabops.redshift_oauth.plugins.filter.tableau_host_files import tableau_host_files
from ansible_collections.tabops.redshift_oauth.plugins.filter.tableau_rollback_choice import tableau_rollback_choice
from ansible_collections.tabops.redshift_oauth.plugins.filter.tableau_rollback_summary import tableau_rollback_summary
from ansible_collections.tabops.redshift_oauth.plugins.filter.tdc_parse import tdc_parse
from ansible_collections.tabops.redshift_oauth.plugins.module_utils._tableau_xml import TableauXmlError
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._aws_arn import ArnError
from ansible_collections.tabops.redshift_oauth.plugins.plugin_utils._filter_errors import filter_errors, require_type

pytestmark = pytest.mark.core


def test_a_collection_error_becomes_one_filter_error_naming_the_filter():
    with pytest.raises(AnsibleFilterError) as caught, filter_errors("arn_parse"):
        raise ArnError("partition: 'AWS' is not a partition", "partition")
    assert str(caught.value.message) == "arn_parse: partition: 'AWS' is not a partition"
    # No Python traceback chained to it: the message says it all.
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_an_empty_name_keeps_the_message_as_the_error_says_it():
    with pytest.raises(AnsibleFilterError) as caught, filter_errors(""):
        raise TableauXmlError(["oauth_configs[0].client_id: missing", "oauth_configs[1].idp: unknown"])
    assert str(caught.value.message) == str(
        TableauXmlError(["oauth_configs[0].client_id: missing", "oauth_configs[1].idp: unknown"])
    )


def test_other_errors_pass_through_unless_named():
    with pytest.raises(KeyError), filter_errors("f"):
        raise KeyError("bug")
    with pytest.raises(AnsibleFilterError, match=r"^f: host h1: 'x'$"), filter_errors("f: host h1", KeyError):
        raise KeyError("x")


def test_a_block_without_error_returns_its_value():
    def body():
        with filter_errors("f"):
            return 42

    assert body() == 42


def test_require_type_names_the_filter_and_the_type_given():
    require_type("f", "text", (str, bytes), "input must be XML text")
    with pytest.raises(AnsibleFilterError, match=r"^f: input must be a dict, got list$"):
        require_type("f", [], dict, "input must be a dict")


def test_filters_keep_their_messages():
    with pytest.raises(AnsibleFilterError, match=r"^redshift_arn\(cluster\): "):
        redshift_arn("cluster", region="us-east-1", account="12", cluster="c1")
    with pytest.raises(
        AnsibleFilterError, match=r"^tabops\.redshift_oauth\.tdc_parse: input must be XML text, got int$"
    ):
        tdc_parse(5)
    with pytest.raises(AnsibleFilterError, match=r"^tabops\.redshift_oauth\.tdc_parse: "):
        tdc_parse("<not-a-tdc/>")


def test_the_fleet_filters_check_their_input_through_the_one_helper():
    cases = [
        (tableau_fleet_plan, r"^tableau_fleet_plan: input must be a list of host names, got str$"),
        (federated_token_audiences, r"^federated_token_audiences: input must be a list of host names, got str$"),
        (tableau_rollback_summary, r"^tableau_rollback_summary: the play's hosts must be a list of names, got str$"),
        (tableau_rollback_choice, r"^tableau_rollback_choice: the play's hosts must be a list of names, got str$"),
    ]
    for plugin, message in cases:
        with pytest.raises(AnsibleFilterError, match=message):
            plugin("desk1", {}, {})
    with pytest.raises(AnsibleFilterError, match=r"^tableau_fleet_plan: host desk1: 'desk1'$"):
        tableau_fleet_plan(["desk1"], {}, {})


def test_a_host_layout_error_names_the_host_and_the_filter():
    with pytest.raises(AnsibleFilterError, match=r"^host desk1: tableau_host_files: .*plain file name") as caught:
        tableau_host_files("desk1", ["desktop"], tdc_files=[{"name": "../x", "class": "redshift"}], desktop_users=["a"])
    assert caught.value.__cause__ is None
    with pytest.raises(AnsibleFilterError, match=r"^tableau_host_files: .*unexpected keyword"):
        tableau_host_files(None, ["desktop"], no_such_option=1)
