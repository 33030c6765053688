"""Security headers on every response.

The resident's pages run no script and load nothing from elsewhere, so their policy allows nothing but their own
inline style and forms posted back to the service: injected markup could neither run nor send a form away, and no
other site may frame the rating buttons (a click on a hidden 不满意 would send an item back to work). Nothing the
service answers is kept by a browser or a proxy's cache: the pages carry a resident's reply or their form's token,
the API personal data. The API's documentation page loads its viewer from elsewhere and keeps its own policy.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    b"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    b"frame-ancestors 'none'; base-uri 'none'"
)
EVERY_RESPONSE = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
DOCS_PREFIX = "/api/docs"


class SecurityHeadersMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        docs = scope["path"].startswith(DOCS_PREFIX)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in EVERY_RESPONSE if name not in present]
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                if not docs and b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", PAGE_POLICY))
                message = {**message, "headers": headers}
            await send(message)

        await next_app(scope, receive, with_headers)
