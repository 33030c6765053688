"""Security headers on every response, and where a browser's form came from.

The resident's pages run no script and load nothing from elsewhere, so their policy allows nothing but their own
inline style and forms posted back to the service: injected markup could neither run nor send a form away, and no
other site may frame the rating buttons (a click on a hidden 不满意 would send an item back to work). Nothing the
service answers is kept by a browser or a proxy's cache: the pages carry a resident's reply or their form's token,
the API personal data. The API's documentation page loads its viewer from elsewhere and keeps its own policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from litestar.types import Message, Scope

PAGE_POLICY = (
    b"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    b"frame-ancestors 'none'; base-uri 'none'"
)
EVERY_RESPONSE = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # The service's own pages still send their Origin with a form (no-referrer would make it "null"), which is how a
    # form from another site is told apart (`from_elsewhere`); nothing goes to other sites.
    (b"referrer-policy", b"same-origin"),
]
DOCS_PREFIX = "/api/docs"


def security_headers(message: Message, scope: Scope) -> None:
    """The app's `before_send` hook: it sees every response, the router's own 404 and 405 included."""
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers", []))
    present = {name.lower() for name, _ in headers}
    headers += [(name, value) for name, value in EVERY_RESPONSE if name not in present]
    if b"cache-control" not in present:
        headers.append((b"cache-control", b"no-store"))
    if not scope["path"].startswith(DOCS_PREFIX) and b"content-security-policy" not in present:
        headers.append((b"content-security-policy", PAGE_POLICY))
    message["headers"] = headers


_DEFAULT_PORTS = {"https": "443", "http": "80"}


def _authority(host: str, scheme: str = "") -> str:
    """host[:port] lowercased, without the scheme's default port: 12345.example.cn:443 and 12345.example.cn are one."""
    host = host.strip().lower()
    port = _DEFAULT_PORTS.get(scheme)
    for default in [port] if port else _DEFAULT_PORTS.values():
        host = host.removesuffix(f":{default}")
    return host


def from_elsewhere(headers: Mapping[str, str], public_origin: str = "") -> bool:
    """Whether a browser posted this from another site's page. There is no session to steal, but any page could make
    its visitors' browsers file messages (each from its visitor's own address, past the per-address limit) or rate
    replies. Browsers say where a form came from: Sec-Fetch-Site over HTTPS, else Origin, which the service's own
    pages send with every form (`Referrer-Policy: same-origin`). An Origin of "null" is a page that hid where it
    was. Origin is compared with `public_origin` when the district sets it (SUGGESTIONS_PUBLIC_ORIGIN: one origin, or
    several separated by commas), else with the Host or X-Forwarded-Host the request arrived with. A client that says
    nothing (a script, a partner's server) is let through, as the API lets any client through."""
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site == "cross-site"
    origin = headers.get("origin")
    if origin is None:
        return False
    if origin == "null":
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:  # "http://[::1": no origin a browser sends, so no page of the service's
        return True
    came_from = _authority(parts.netloc, parts.scheme)
    if public_origin.strip():
        # Only the names the district lists: over plain HTTP a page may rebind its own name to the service's address,
        # and its Host would then be that name.
        listed = (urlsplit(origin.strip()) for origin in public_origin.split(",") if origin.strip())
        return came_from not in {_authority(public.netloc, public.scheme) for public in listed}
    hosts = [headers.get("host", ""), headers.get("x-forwarded-host", "").split(",")[0]]
    return came_from not in {_authority(host) for host in hosts if host.strip()}
