"""The pages that take a sign-in rather than a bearer token: staff's (`staff_web`) and the call-entry console's
(`console_web`), each under its own path with the cookie that holds its sign-in (`signin`). The rate limits count a
request by that cookie, the error pages lead back to the area, and staff's pages get staff's statement time."""

from __future__ import annotations

STAFF = "/staff"
CONSOLE = "/console"
COOKIES = {STAFF: "staff_token", CONSOLE: "console_token"}


def signed_in_area(path: str) -> str | None:
    """The area (`STAFF`, `CONSOLE`) a request's path is under, if any."""
    return next((prefix for prefix in COOKIES if path == prefix or path.startswith(prefix + "/")), None)
