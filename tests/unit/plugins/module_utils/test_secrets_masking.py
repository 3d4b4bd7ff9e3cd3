# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Secret masking is linear on hostile text, and no secret survives it (issue 19, row 1)."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.tabops.redshift_oauth.plugins.module_utils._secrets import (
    REDACTED,
    mask_xml_secrets,
    xml_secret_values,
)

SECRET = "S3cr3t-Val-9qZx"
# CPU seconds allowed per KiB of input: a linear scan needs microseconds; the old regex needed minutes for 2.6 KB.
# CPU time, not wall time, and a wide margin: a loaded machine (CI runs stages side by side) preempts the test
# but does not add to its CPU time, and the bound still stops a backtracking scan by orders of magnitude.
SECONDS_PER_KIB = 0.01
FLOOR_SECONDS = 0.5

PIECES = [
    "<![CDATA[]]>",
    "<![CDATA[",
    "]]>",
    "<!-- x -->",
    "<!--",
    "-->",
    "&lt;clientSecretDesktop&gt;",
    "&lt;/clientSecretDesktop&gt;",
    "<clientSecretDesktop>",
    "</clientSecretDesktop>",
    "</clientSecretDesktop ",
    "</clientSecretDesktopX>",
    "<clientIdDesktop>",
    "</clientIdDesktop>",
    "<",
    ">",
    " ",
    "a",
]


def _timed_mask(text):
    started = time.process_time()
    masked = mask_xml_secrets(text)
    return masked, time.process_time() - started


def _bound(text):
    return FLOOR_SECONDS + SECONDS_PER_KIB * len(text) / 1024


def test_issue_row_regex_hang_is_linear():
    """The reported input: an escaped tag in clientIdDesktop, then empty CDATA sections and no end tag."""
    for repeats in (20, 26, 5000):
        text = (
            "<pluginOAuthConfig><clientIdDesktop>&lt;clientSecretDesktop&gt;</clientIdDesktop>"
            "<clientSecretDesktop>" + SECRET + "<![CDATA[]]>" * repeats
        )
        masked, seconds = _timed_mask(text)
        assert seconds < _bound(text), (repeats, seconds)
        assert SECRET not in masked


def test_one_mebibyte_of_hostile_text():
    text = "<clientSecretDesktop>" + SECRET + ("<![CDATA[]]></clientSecretDesktopX " * 30000)[: 1 << 20]
    masked, seconds = _timed_mask(text)
    assert seconds < _bound(text)
    assert SECRET not in masked


def test_unclosed_cdata_masks_to_the_end():
    masked = mask_xml_secrets("<clientSecretDesktop><![CDATA[" + SECRET + "</clientSecretDesktop>")
    assert SECRET not in masked
    assert masked.endswith(REDACTED)


def test_end_tag_inside_cdata_is_secret():
    text = "<a><clientSecretDesktop><![CDATA[x</clientSecretDesktop>" + SECRET + "]]></clientSecretDesktop ></a>"
    masked = mask_xml_secrets(text)
    assert SECRET not in masked
    assert masked == "<a><clientSecretDesktop>" + REDACTED + "</clientSecretDesktop ></a>"
    assert xml_secret_values(text) == {"x</clientSecretDesktop>" + SECRET}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=st.lists(st.sampled_from(PIECES), max_size=40),
    after=st.lists(st.sampled_from(PIECES), max_size=40),
    repeat=st.integers(min_value=1, max_value=2000),
    close=st.booleans(),
)
def test_hostile_documents_are_masked_in_linear_time(before, after, repeat, close):
    """Adversarial mixes (nested CDATA, comments, escaped tags, unclosed elements), up to about 1 MB."""
    filler = "".join(after) * repeat
    text = "".join(before) + "<clientSecretDesktop>" + SECRET + filler + ("</clientSecretDesktop>" if close else "")
    masked, seconds = _timed_mask(text)
    assert seconds < _bound(text), (len(text), seconds)
    assert SECRET not in masked
