"""Signing in to the pages that need a token: staff's (`/staff`) and the call-entry console's (`/console`).

Staff, operators and grid workers sign in once with the token the API takes. The browser keeps it in a cookie that
only the pages of its area read (`HttpOnly`, `SameSite=Strict`; over HTTPS `__Host-` and `Secure`, else for the path
`/staff` or `/console`) and that ends with the browser session. Every request looks the token up as the API does, so
a revoked token stops at once: one guard (`signed_in_pages`) checks it for every page of both areas, so that no page
can forget to. A form changes something only when it carries a value derived from the token (`form_key`), which a
page elsewhere cannot compute, and comes from the service's own page (`from_elsewhere`, stricter here than for
residents: another site of the same domain is refused too).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from suggestions.areas import cookie_name, over_https, signed_in_area
from suggestions.auth import Guard, Principal, principal_for_token
from suggestions.db import QUICK_STATEMENT_SECONDS, connection
from suggestions.errors import NOT_STORED
from suggestions.headers import from_elsewhere
from suggestions.settings import Settings

FOREIGN_FORM = "这个表单不是从本系统的页面提交的，没有执行。请刷新页面后重试。"
NOT_SIGNED_IN = "令牌不对，或已停用。请核对后重新输入。"


class Area(msgspec.Struct, frozen=True, kw_only=True):
    prefix: str  # the pages' path (`areas.STAFF`, `areas.CONSOLE`)
    roles: frozenset[str]
    name: str  # the pages' name, in the header and on the sign-in page
    who: str  # whose tokens sign in, said to a token of another role
    role_hint: str  # the role to create a token with

    def cookie(self, request: ASGIConnection[Any, Any, Any, Any]) -> str:
        """The name of the area's sign-in cookie, as the request arrived (`areas.cookie_name`)."""
        return cookie_name(self.prefix, https=over_https(request.scope))

    def own_page(self, path: str) -> str:
        """Where signing in leads: a page of the area, else its first page; never another site (`//elsewhere`)."""
        pattern = re.escape(self.prefix) + r"(?:/[^\s\\?#]*)?(?:\?[^\s\\#]*)?"
        return path if re.fullmatch(pattern, path) else self.prefix


def local_time(moment: datetime, *, zone: ZoneInfo) -> str:
    """A time as the pages show it: the district's date, hours and minutes."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def form_key(token: str) -> str:
    """The value every form of a signed-in page carries: derived from the token, so a page elsewhere, which cannot
    read the cookie, cannot forge a form; and the same for every page of one sign-in, so several tabs work."""
    return hmac.new(token.encode(), b"signed-in pages: forms", hashlib.sha256).hexdigest()[:32]


def page_key(request: Request[Any, Any, Any], area: Area) -> str:
    token = request.cookies.get(area.cookie(request), "")
    return form_key(token) if token else ""


async def signed_in(request: ASGIConnection[Any, Any, Any, Any], conn: Any, area: Area) -> Principal | None:
    """The principal of the area's cookie; None without one, or for a token revoked or of a role the area refuses."""
    token = request.cookies.get(area.cookie(request))
    if not token:
        return None
    principal = await principal_for_token(conn, token, zone=request.app.state.timezone)
    if principal is None or principal.role not in area.roles:
        return None
    return principal


# What a page's handler says in its `opt` to be let through the guard without a sign-in.
SIGN_IN = "sign_in"  # signing in and out
KEEPS_FORM = "keeps_form"  # a form that comes back filled in when the sign-in cannot be looked up (PostgreSQL away)
ASKS_SIGN_IN = "asks_sign_in"  # a form that asks for the token itself, sent signed out (the console's call)


class SignInNeeded(Exception):
    """A page of an area asked for without a valid sign-in: answered by `to_sign_in`."""

    def __init__(self, area: Area) -> None:
        super().__init__(f"not signed in to {area.prefix}")
        self.area = area


def signed_in_pages(*areas: Area) -> Guard:
    """The app's guard of the areas' pages: one that is asked for without a sign-in of the area's roles leads to the
    sign-in page, whichever handler serves it; the principal found stays on the request (`page_principal`). It runs
    before the body is read, so a form sent signed out changes nothing."""
    by_prefix = {area.prefix: area for area in areas}

    async def guard(request: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        prefix = signed_in_area(request.scope["path"])
        if prefix is None or handler.opt.get(SIGN_IN):
            return
        area = by_prefix[prefix]
        try:
            async with connection(request.app.state.db_pool, statement_seconds=QUICK_STATEMENT_SECONDS) as conn:
                principal = await signed_in(request, conn, area)
        except NOT_STORED as exc:
            if not handler.opt.get(KEEPS_FORM):
                raise
            request.state.sign_in_unknown = exc  # raised by `page_principal`, where the form is at hand
            return
        if principal is None and not handler.opt.get(ASKS_SIGN_IN):
            raise SignInNeeded(area)
        request.state.principal = principal

    return guard


def page_principal(request: Request[Any, Any, Any]) -> Principal | None:
    """Who is signed in to the page (`signed_in_pages`); None only for a form that asks for the token itself. While
    PostgreSQL is away, the outage that kept the guard from looking the token up, for the form to come back filled
    in."""
    unknown: BaseException | None = getattr(request.state, "sign_in_unknown", None)
    if unknown is not None:
        raise unknown
    principal: Principal | None = request.state.principal
    return principal


def signed_in_principal(request: Request[Any, Any, Any], area: Area) -> Principal:
    """`page_principal` of a page that only a sign-in opens."""
    principal = page_principal(request)
    if principal is None:
        raise SignInNeeded(area)
    return principal


def to_sign_in(request: Request[Any, Any, Any], area: Area) -> Redirect | Template:
    """To the sign-in page, which leads back to the page asked for; for a form, to the page it was sent from (a
    form's address takes a POST only), else to the area's first page."""
    wanted = request.url.path
    if request.url.query:
        wanted += "?" + request.url.query
    if request.method == "GET" and request.headers.get("sec-fetch-site") == "cross-site":
        # A link followed from another site (an email, a chat message): the browser keeps the SameSite=Strict cookie
        # back. The page reopens itself from the service's own site, which sends it; signed out indeed, that asks to
        # sign in.
        return Template(template_name="reopen.html", context={"url": wanted})
    if request.method != "GET":
        try:
            sent_from = urlsplit(request.headers.get("referer", ""))
        except ValueError:  # "http://[::1": no address a page of the service has
            sent_from = urlsplit(area.prefix)
        wanted = area.own_page(sent_from.path + (f"?{sent_from.query}" if sent_from.query else ""))
    response = Redirect(f"{area.prefix}/login?{urlencode({'next': wanted})}", status_code=303)
    # A token revoked or of another role: the browser forgets it.
    if request.cookies.get(area.cookie(request)):
        response.set_cookie(sign_in_cookie(request, area, ""))
    return response


def on_sign_in_needed(request: Request[Any, Any, Any], exc: SignInNeeded) -> Redirect | Template:
    """The app's exception handler of `SignInNeeded`."""
    return to_sign_in(request, exc.area)


def from_another_site(request: Request[Any, Any, Any], settings: Settings) -> bool:
    """A form from another site, one of the same domain (another district office's pages) included."""
    if request.headers.get("sec-fetch-site") == "same-site":
        return True
    return from_elsewhere(request.headers, settings.public_origin)


def foreign(request: Request[Any, Any, Any], settings: Settings, key: str, area: Area) -> bool:
    """A form from another site, or without the sign-in's key."""
    return from_another_site(request, settings) or not hmac.compare_digest(key, page_key(request, area))


def sign_in_cookie(request: Request[Any, Any, Any], area: Area, token: str) -> Cookie:
    """The cookie that keeps a sign-in: no script, no other site's page, until the browser closes; over HTTPS
    host-only (`areas.cookie_name`), else the area's pages only. Without a token, the cookie forgotten."""
    https = over_https(request.scope)
    path = "/" if https else area.prefix
    return Cookie(
        key=area.cookie(request),
        value=token,
        path=path,
        httponly=True,
        samesite="strict",
        secure=https,
        max_age=None if token else 0,
        expires=None if token else 0,
    )


def forgotten_sign_ins(request: Request[Any, Any, Any], area: Area) -> list[Cookie]:
    """The cookies that forget the area's sign-in: its own, and over HTTPS the plain name's too, which a browser signed
    in before the sign-ins were host-only still holds for the area's path (until it closes: a shared computer at the
    centre stays open for days) with the token in it."""
    forgotten = [sign_in_cookie(request, area, "")]
    if over_https(request.scope):
        plain = cookie_name(area.prefix, https=False)
        forgotten.append(
            Cookie(
                key=plain,
                value="",
                path=area.prefix,
                httponly=True,
                samesite="strict",
                secure=True,
                max_age=0,
                expires=0,
            )
        )
    return forgotten


class SignInForm(msgspec.Struct, kw_only=True):
    token: str = ""
    next: str = ""


class SignOutForm(msgspec.Struct, kw_only=True):
    key: str = ""


def sign_in_routes(area: Area) -> list[HTTPRouteHandler]:
    """GET and POST `{prefix}/login`, POST `{prefix}/logout`."""

    def page(next_page: str, error: str | None = None, status_code: int = 200) -> Template:
        context = {"area": area, "next": area.own_page(next_page), "error": error}
        return Template(template_name="login.html", context=context, status_code=status_code)

    @get(f"{area.prefix}/login", include_in_schema=False, name=f"{area.prefix}:login", opt={SIGN_IN: True})
    async def sign_in_page(next: FromQuery[str] = area.prefix) -> Template:
        return page(next)

    @post(f"{area.prefix}/login", include_in_schema=False, name=f"{area.prefix}:sign-in", opt={SIGN_IN: True})
    async def sign_in(
        request: Request[Any, Any, Any],
        data: URLEncodedBody[SignInForm],
        db_connection: NamedDependency[Any],
        settings: NamedDependency[Settings],
    ) -> Template | Redirect:
        # Nor may another site sign someone in, with a token of its choosing, to read what they write under it.
        if from_another_site(request, settings):
            return page(area.prefix, FOREIGN_FORM, 403)
        token = data.token.strip()
        principal = await principal_for_token(db_connection, token, zone=settings.timezone) if token else None
        if principal is None:
            return page(data.next, NOT_SIGNED_IN, 401)
        if principal.role not in area.roles:
            return page(data.next, f"这个令牌不能进入{area.name}（{area.who}的令牌可以）。", 403)
        response = Redirect(area.own_page(data.next), status_code=303)
        response.set_cookie(sign_in_cookie(request, area, token))
        return response

    @post(f"{area.prefix}/logout", include_in_schema=False, name=f"{area.prefix}:sign-out", opt={SIGN_IN: True})
    async def sign_out(
        request: Request[Any, Any, Any], data: URLEncodedBody[SignOutForm], settings: NamedDependency[Settings]
    ) -> Redirect:
        response = Redirect(f"{area.prefix}/login", status_code=303)
        # Signing out is harmless to forge, but only the area's own page may do it.
        if not foreign(request, settings, data.key, area):
            for cookie in forgotten_sign_ins(request, area):
                response.set_cookie(cookie)
        return response

    return [sign_in_page, sign_in, sign_out]
