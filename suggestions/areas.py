"""The pages that take a sign-in rather than a bearer token: staff's (`staff_web`) and the call-entry console's
(`console_web`), each under its own path with the cookie that holds its sign-in (`signin`). The rate limits count a
request by that cookie, the error pages lead back to the area, and staff's pages get staff's statement time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STAFF = "/staff"
CONSOLE = "/console"
COOKIES = {STAFF: "staff_token", CONSOLE: "console_token"}


def signed_in_area(path: str) -> str | None:
    """The area (`STAFF`, `CONSOLE`) a request's path is under, if any."""
    return next((prefix for prefix in COOKIES if path == prefix or path.startswith(prefix + "/")), None)


# A cookie so named is taken by the browser only from this very host, over HTTPS, for the whole site and without a
# Domain: a page of a sibling subdomain (another office's site under the same domain) can neither set a sign-in of its
# choosing in its place nor overwrite it.
HOST_ONLY = "__Host-"


def over_https(scope: Mapping[str, Any]) -> bool:
    """Whether the browser reached the service over HTTPS: the ASGI scheme, which uvicorn takes from a proxy it trusts
    (FORWARDED_ALLOW_IPS), or else what a proxy it does not trust says (X-Forwarded-Proto, its first value). Only the
    browser's own cookies follow it: one that claimed HTTPS over HTTP would refuse its own host-only cookie, and a
    deployment that forgot FORWARDED_ALLOW_IPS keeps Secure sign-ins."""
    if scope.get("scheme") == "https":
        return True
    headers = dict(scope.get("headers") or [])
    forwarded: bytes = headers.get(b"x-forwarded-proto", b"")
    return forwarded.split(b",")[0].strip().lower() == b"https"


def cookie_name(area: str, *, https: bool) -> str:
    """The name of the area's sign-in cookie: host-only over HTTPS, where the name alone keeps the areas apart (the
    cookie's path is the whole site); the plain name over HTTP (development on one's own machine), where browsers
    refuse a host-only one, for the area's path."""
    return HOST_ONLY + COOKIES[area] if https else COOKIES[area]
