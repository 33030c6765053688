"""Where a browser's form came from (`headers.from_elsewhere`)."""

from __future__ import annotations

import pytest

from suggestions.headers import from_elsewhere

PUBLIC = "https://12345.example.gov.cn"


@pytest.mark.parametrize(
    ("headers", "public_origin", "elsewhere"),
    [
        ({"sec-fetch-site": "same-origin", "origin": "https://elsewhere.example"}, "", False),  # the browser knows
        ({"sec-fetch-site": "cross-site"}, "", True),
        ({"origin": "https://12345.example.gov.cn", "host": "suggestions:8000"}, PUBLIC, False),  # proxy rewrote Host
        ({"origin": "https://12345.example.gov.cn:443", "host": "suggestions:8000"}, PUBLIC, False),
        ({"origin": "https://elsewhere.example", "host": "12345.example.gov.cn"}, PUBLIC, True),
        # The service's pages under another of the district's names (an old iPhone sends no Sec-Fetch-Site): listed.
        (
            {"origin": "https://zzzx.example.gov.cn", "host": "suggestions:8000"},
            f"{PUBLIC}, https://zzzx.example.gov.cn",
            False,
        ),
        (
            {"origin": "https://elsewhere.example", "host": "suggestions:8000"},
            f"{PUBLIC},https://zzzx.example.gov.cn",
            True,
        ),
        # A name the district did not list is refused even when it is the Host: over plain HTTP a page may rebind its
        # own name to the service's address, and post its visitors' forms there.
        ({"origin": "http://rebound.example", "host": "rebound.example"}, PUBLIC, True),
        ({"origin": "http://[::1]:8000", "host": "[::1]:8000"}, "", False),
        ({"origin": "null", "host": "12345.example.gov.cn"}, "", True),
        ({"host": "12345.example.gov.cn"}, "", False),  # a client that says nothing
    ],
)
def test_a_form_from_another_site_is_told_apart(headers: dict[str, str], public_origin: str, elsewhere: bool) -> None:
    assert from_elsewhere(headers, public_origin) is elsewhere
