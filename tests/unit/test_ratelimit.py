"""What the rate limits count by: addresses and the residents' browser cookie."""

from __future__ import annotations

import pytest

from suggestions.ratelimit import client_network, new_browser_cookie, signed_browser


@pytest.mark.parametrize(
    ("address", "counted_as"),
    [
        ("10.1.2.3", "10.1.2.3"),
        ("::ffff:10.1.2.3", "10.1.2.3"),
        ("2408:8207:1:2:aaaa::1", "2408:8207:1:2::/64"),
        ("2408:8207:1:2:bbbb:cccc:dddd:eeee", "2408:8207:1:2::/64"),
        # A link-local address with its zone, as a socket gives it: no 500 for the request.
        ("fe80::1%eth0", "fe80::/64"),
        ("testclient", "testclient"),
    ],
)
def test_an_address_is_counted_by_its_network(address: str, counted_as: str) -> None:
    assert client_network(address) == counted_as


def test_only_a_cookie_the_service_signed_names_a_browser() -> None:
    secret, other = b"s" * 32, b"o" * 32
    cookie = new_browser_cookie(secret)
    browser = signed_browser(cookie, secret)
    assert browser is not None
    assert cookie.startswith(browser + ".")
    assert signed_browser(cookie, other) is None
    assert signed_browser(cookie[:-1] + ("A" if cookie[-1] != "A" else "B"), secret) is None
    assert signed_browser(f"{'x' * 16}.{cookie.split('.')[1]}", secret) is None
    assert signed_browser("", secret) is None
    assert signed_browser(None, secret) is None
