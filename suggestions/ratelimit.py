"""Rate limits per client, counted in Redis so that every API process sees the same counts.

Six limits, each a `limits` string such as "10/minute;60/hour" (empty turns it off):

- public: anonymous submissions (the resident form and `POST /api/v1/items` without a token), per browser: the
  residents' pages give each browser a signed cookie (`new_browser_cookie`). A client that sends none, or one the
  service did not sign, is counted by its address;
- public_address: anonymous submissions per client address, whatever cookie they carry. Carriers put a whole
  neighbourhood's phones behind one address (CGNAT), and residents writing about the same burst problem are the
  very reports the centre needs: they are not held to one resident's limit, only to this much higher ceiling, which
  also bounds a script that takes a new cookie for every post;
- token: every request that carries a bearer token, per token (on staff's pages and the console, the sign-in's cookie;
  a console call sent with the token typed in its form, by its handler: `token_in_form`);
- address: every request to the API and the resident pages, per client address, whatever token it carries, so that
  inventing tokens does not escape the limits. Tracking codes are looked up and rated under this limit only, by
  address and never by cookie: each guess at a code costs one of the address's requests, whatever the guesser keeps;
- caller: phones looked up per token (a caller's earlier items, the open cases of their reports), each phone counted
  once in `PHONE_SEEN_SECONDS`: a console asking again about the caller on the line, as the operator types, is one
  look-up; a token going through phones is counted for each. Checked by those handlers (`phone_look_up`), which
  alone read the phone from the body.

An address is an IPv4 address, or an IPv6 address's /64 network: a home or a phone is given a whole /64 and may take
any address in it. The client address is the ASGI client: behind a reverse proxy, run uvicorn with `--proxy-headers`
and `--forwarded-allow-ips` so that it is the resident's, not the proxy's. Addresses, cookies and tokens become Redis
keys only as HMACs keyed with the installation's secret, which PostgreSQL keeps (`rate_limit_secret`, made by the
migrations): a plain hash of an IPv4 address is undone by hashing all 2^32 of them. The keys expire with their window.
The cookie holds a random number and its signature, nothing else, and is not stored; an item sent with it keeps
an HMAC of the number (`sender_key`), by which its case counts reporters.

When Redis (or, before the secret is read, PostgreSQL) cannot be reached, requests pass: intake must keep accepting
items while the queue is away (the row is in PostgreSQL and the sweeper finds it). After a failure the limiter rests
for a few seconds rather than make every request wait for a dead server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import math
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec
from limits import RateLimitItem, parse_many
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, HTTPResponseStartEvent, Receive, Scope, Send
from redis.asyncio import ConnectionPool, Redis

from suggestions.areas import cookie_name, over_https, signed_in_area
from suggestions.privacy import phone_line
from suggestions.settings import Settings

log = logging.getLogger(__name__)

REST_AFTER_FAILURE_SECONDS = 5.0
LIMITED_PREFIXES = ("/api/v1/", "/submit", "/track")
ANONYMOUS_INTAKE = {("POST", "/api/v1/items"), ("POST", "/submit")}
PHONE_SEEN_SECONDS = 600
# A resident form refused by the submission limit, which residents sharing an address may reach, is answered by its
# own handler with the form filled in as it was sent (suggestions.web): the request goes on marked with this scope
# state, holding the seconds to wait, and the handler stores nothing. Past the per-address limit a client is
# flooding, and gets the short page without its body being read.
RESIDENT_FORM = ("POST", "/submit")
REFUSED = "rate_limited_retry_after"
# The id of the signed cookie a request carried, in the scope's state, for the resident form (`web.repeat_key`).
BROWSER = "browser"
# The limits residents sharing an address may reach, whose form comes back filled in.
SUBMISSION_LIMITS = ("public", "public_address")
# The residents' pages, which give a browser without one its cookie. Not the API: its clients are programs, counted
# by address unless they keep and send a page's cookie.
RESIDENT_PAGES = frozenset({"/", "/submit", "/track", "/track/rate"})
BROWSER_COOKIE = "browser"
# Long enough that a resident who opens the form one day and sends it the next keeps the count of their own browser
# (a browser without it is counted by its address, with its neighbours); a lost cookie is only a new one at the next
# page. The cookie identifies no one: it is not stored, Redis sees only an HMAC of it, for its longest window, and an
# item sent with it another (`sender_key`).
BROWSER_COOKIE_SECONDS = 30 * 24 * 3600
_BROWSER = re.compile(r"[A-Za-z0-9_-]{16}")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0
    limit: str = ""  # which limit refused: "address", "token", "public", "public_address" or "caller"


def _limits(spec: str, name: str) -> list[RateLimitItem]:
    if not spec.strip():
        return []
    try:
        return parse_many(spec)
    except ValueError as exc:
        raise ValueError(f"SUGGESTIONS_RATE_LIMIT_{name.upper()}: {exc}") from exc


def _storage_uri(redis_url: str) -> str:
    # limits wants its own scheme prefix; unix sockets (the embedded Redis) are spelled redis+unix.
    return "async+redis+" + redis_url if redis_url.startswith("unix://") else "async+" + redis_url


INSTALLATION_KEY = "SELECT secret FROM rate_limit_secret"


def _key(kind: str, value: str, secret: bytes) -> str:
    # Base32, not hex: one hex digest in 300 holds a run of digits that reads as a phone number (13912345678),
    # which no log or Redis command may carry. Base32's digits are 2-7 only.
    digest = hmac.new(secret, value.encode(), hashlib.sha256).digest()[:15]
    return kind + ":" + base64.b32encode(digest).decode().lower()


def client_network(address: str) -> str:
    """What the limits count by: an IPv4 address (also when written as IPv6, ::ffff:10.1.1.1, by a dual-stack
    socket), or an IPv6 address's /64, the network one home or phone is given whole."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        # From the number, not the text: a link-local address carries its zone (fe80::1%eth0), which no network has.
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


def sender_key(secret: bytes, *, browser: str | None, address: str) -> str:
    """Who sent an item without a token, as a case counts its reporters (`tracker.CASE_FACTS`): the browser, by the
    id of the cookie the service signed, else the address's network (`client_network`). An HMAC under a key of its
    own, derived from the installation's: stored with the item, it is never some Redis key, and no one reads an
    address back from it without the secret."""
    key = hmac.new(secret, b"sender", hashlib.sha256).digest()
    return _key("browser", browser, key) if browser else _key("network", client_network(address), key)


def _signature(secret: bytes, browser: str) -> str:
    # A key of its own, derived from the installation's: a signature is never also some address's Redis key.
    key = hmac.new(secret, b"browser cookie", hashlib.sha256).digest()
    digest = hmac.new(key, browser.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def new_browser_cookie(secret: bytes) -> str:
    """A random browser id and its signature: a script cannot make up ids of its own, each with a limit of its own,
    without fetching a page for each."""
    browser = secrets.token_urlsafe(12)
    return f"{browser}.{_signature(secret, browser)}"


def signed_browser(value: str | None, secret: bytes) -> str | None:
    """The browser id of a cookie the service signed; None for anything else."""
    browser, _, signature = (value or "").partition(".")
    if not _BROWSER.fullmatch(browser) or not hmac.compare_digest(signature, _signature(secret, browser)):
        return None
    return browser


def _cookie(headers: Iterable[tuple[bytes, bytes]], name: str) -> str | None:
    for header, value in headers:
        if header.lower() != b"cookie":
            continue
        for pair in value.decode("latin-1").split(";"):
            key, _, found = pair.strip().partition("=")
            if key == name:
                return found.strip().strip('"')
    return None


class RateLimiter:
    """The limits over one Redis; `check` says whether a request may go on."""

    def __init__(self, settings: Settings) -> None:
        self.public = _limits(settings.rate_limit_public, "public")
        self.public_address = _limits(settings.rate_limit_public_address, "public_address")
        self.token = _limits(settings.rate_limit_token, "token")
        self.address = _limits(settings.rate_limit_address, "address")
        self.caller = _limits(settings.rate_limit_caller, "caller")
        # Without a Redis URL (an app built only to read its OpenAPI document) there is nothing to count in.
        self.enabled = bool(
            settings.redis_url and (self.public or self.public_address or self.token or self.address or self.caller)
        )
        self._connections: ConnectionPool | None = None
        self._strategy: SlidingWindowCounterRateLimiter | None = None
        if self.enabled:
            # Short timeouts: a limiter that waits on a dead Redis would slow every request.
            self._connections = ConnectionPool.from_url(
                settings.redis_url, socket_connect_timeout=0.5, socket_timeout=0.5
            )
            storage = RedisStorage(
                _storage_uri(settings.redis_url),
                implementation="redispy",
                key_prefix=f"{settings.queue_name}:limits",
                wrap_exceptions=True,
                connection_pool=self._connections,  # type: ignore[arg-type]
            )
            self._strategy = SlidingWindowCounterRateLimiter(storage)
        self._prefix = f"{settings.queue_name}:limits"
        self._resting_until = 0.0
        self._secret: bytes | None = None

    async def close(self) -> None:
        if self._connections is not None:
            await self._connections.aclose()

    async def installation_secret(self, pool: asyncpg.Pool) -> bytes | None:
        """The secret keys and cookies are signed with, read once; None while PostgreSQL cannot give it."""
        if self._secret is None and time.monotonic() >= self._resting_until:
            try:
                self._secret = bytes(await pool.fetchval(INSTALLATION_KEY, timeout=2))
            except Exception as exc:
                self._rest(exc)
        return self._secret

    async def secret_on(self, conn: Any) -> bytes:
        """The installation's secret, read on the caller's connection the first time."""
        if self._secret is None:
            self._secret = bytes(await conn.fetchval(INSTALLATION_KEY))
        return self._secret

    def _rest(self, exc: Exception) -> None:
        # Redis (or PostgreSQL) away: let requests through, rest a moment, say so once.
        self._resting_until = time.monotonic() + REST_AFTER_FAILURE_SECONDS
        log.warning("rate limits not checked for %.0f s: %s", REST_AFTER_FAILURE_SECONDS, type(exc).__name__)

    async def check(
        self,
        *,
        method: str,
        path: str,
        address: str,
        token: str | None,
        pool: asyncpg.Pool,
        browser: str | None = None,
    ) -> Decision:
        """`browser`: the id of the signed cookie the request carried (`signed_browser`), if any."""
        network = client_network(address)

        def checks(secret: bytes) -> list[tuple[str, list[RateLimitItem], str]]:
            listed = [("address", self.address, _key("addr", network, secret))]
            if token is not None:
                listed.append(("token", self.token, _key("token", token, secret)))
            elif (method, path) in ANONYMOUS_INTAKE:
                # The browser's own limit first: a browser past it does not use up its neighbours' ceiling.
                own = _key("browser", browser, secret) if browser else _key("public", network, secret)
                listed.append(("public", self.public, own))
                listed.append(("public_address", self.public_address, _key("ceiling", network, secret)))
            return listed

        return await self._count(pool, checks)

    async def token_in_form(self, *, token: str, pool: asyncpg.Pool) -> Decision:
        """The token limit for a request whose token is in its body, where `check` could not read it: the console's
        call sent with the token typed in its form (`console_web.take_call`). Counted as `check` counts a bearer token
        or a sign-in's cookie, under the same key: the address was counted by `check` already."""
        return await self._count(pool, lambda secret: [("token", self.token, _key("token", token, secret))])

    async def _count(
        self, pool: asyncpg.Pool, checks: Callable[[bytes], list[tuple[str, list[RateLimitItem], str]]]
    ) -> Decision:
        """Count the request under each (limit, its items, key) `checks` lists with the installation's secret, in
        order, stopping at the first it is past; let it through while Redis or PostgreSQL is away."""
        if self._strategy is None or time.monotonic() < self._resting_until:
            return Decision(True)
        secret = await self.installation_secret(pool)
        if secret is None:
            return Decision(True)
        try:
            for limit, items, key in checks(secret):
                if (refused := await self._hit(limit, items, key)) is not None:
                    return refused
        except Exception as exc:
            self._rest(exc)
        return Decision(True)

    async def phone_look_up(self, *, token_id: int, phone: str, pool: asyncpg.Pool) -> Decision:
        """Whether this token may look this phone (canonical) up now: a phone it asked about in the last
        PHONE_SEEN_SECONDS is not counted again, with or without an extension (`phone_line`: one caller). Neither the
        phone nor the token reaches Redis but as an HMAC."""
        if self._strategy is None or self._connections is None or not self.caller:
            return Decision(True)
        if time.monotonic() < self._resting_until:
            return Decision(True)
        secret = await self.installation_secret(pool)
        if secret is None:
            return Decision(True)
        try:
            redis = Redis(connection_pool=self._connections)
            seen = f"{self._prefix}:{_key('phone', f'{token_id}:{phone_line(phone)}', secret)}"
            if not await redis.set(seen, b"1", nx=True, ex=PHONE_SEEN_SECONDS):
                return Decision(True)
            refused = await self._hit("caller", self.caller, _key("caller", str(token_id), secret))
            if refused is not None:
                await redis.delete(seen)  # asked again, it is counted again: refused, it was not looked up
                return refused
        except Exception as exc:
            self._rest(exc)
        return Decision(True)

    async def _hit(self, limit: str, items: list[RateLimitItem], key: str) -> Decision | None:
        assert self._strategy is not None
        for item in items:
            if not await self._strategy.hit(item, key):
                stats = await self._strategy.get_window_stats(item, key)
                retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                return Decision(False, retry_after=retry_after, limit=limit)
        return None


async def anonymous_sender(request: Request[Any, Any, Any], conn: Any) -> str:
    """The `sender_key` of a request without a token, read on the connection that stores its item (`conn`): the
    secret is read once, and a request is not held up by a second connection."""
    limiter: RateLimiter = request.app.state.limiter
    secret = await limiter.secret_on(conn)
    browser = signed_browser(request.cookies.get(BROWSER_COOKIE), secret)
    return sender_key(secret, browser=browser, address=request.client.host if request.client else "unknown")


async def limit_phone_look_up(request: Request[Any, Any, Any], *, token_id: int, phone: str) -> None:
    """429 with Retry-After when this token has looked up too many other phones lately (`RateLimiter.phone_look_up`)."""
    limiter: RateLimiter = request.app.state.limiter
    decision = await limiter.phone_look_up(token_id=token_id, phone=phone, pool=request.app.state.db_pool)
    if not decision.allowed:
        raise TooManyRequestsException(
            f"too many phones looked up; try again in {decision.retry_after} s",
            headers={"Retry-After": str(decision.retry_after)},
        )


class RateLimitMiddleware(ASGIMiddleware):
    """Answers 429 with Retry-After, as problem details for the API and as a page for the residents' pages; the
    resident form answers for itself."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        path: str = scope["path"]
        area = signed_in_area(path)
        limited = path.startswith(LIMITED_PREFIXES) or area is not None
        # The residents' pages give a browser its cookie whether or not limits are on: it also tells who sent an
        # item (`sender_key`). Without limits, only as a page is fetched: a form sent while PostgreSQL is away is
        # not held up by a second connection.
        counted = self.limiter.enabled and (limited or path in RESIDENT_PAGES)
        if not (counted or (path in RESIDENT_PAGES and scope.get("method") == "GET")):
            await next_app(scope, receive, send)
            return
        headers = scope["headers"]
        scheme, _, token = dict(headers).get(b"authorization", b"").decode("latin-1").partition(" ")
        if area is not None and scheme.lower() != "bearer":
            # Staff's pages and the console: the sign-in's token is in the area's cookie.
            scheme, token = "bearer", _cookie(headers, cookie_name(area, https=over_https(scope))) or ""
        pool = scope["litestar_app"].state.db_pool
        secret = await self.limiter.installation_secret(pool)
        browser = signed_browser(_cookie(headers, BROWSER_COOKIE), secret) if secret is not None else None
        if secret is not None and browser is None and path in RESIDENT_PAGES:
            send = _with_cookie(send, new_browser_cookie(secret), secure=over_https(scope))
        if browser is not None:
            scope.setdefault("state", {})[BROWSER] = browser
        if not limited or not self.limiter.enabled:
            await next_app(scope, receive, send)
            return
        client = scope.get("client")
        decision = await self.limiter.check(
            method=str(scope.get("method", "")),
            path=path,
            address=client[0] if client else "unknown",
            token=token.strip() if scheme.lower() == "bearer" and token.strip() else None,
            pool=pool,
            browser=browser,
        )
        if decision.allowed:
            await next_app(scope, receive, send)
            return
        if (scope.get("method"), path) == RESIDENT_FORM and decision.limit in SUBMISSION_LIMITS:
            scope.setdefault("state", {})[REFUSED] = decision.retry_after
            await next_app(scope, receive, send)
            return
        await _too_many(send, path=path, retry_after=decision.retry_after, area=area)


def _with_cookie(send: Send, cookie: str, *, secure: bool) -> Send:
    """`send`, giving the browser its cookie with the response: sent back only to this service's own pages and forms
    (SameSite=Lax: a link from a chat opens the form with it, another site's form posts without it), and unreadable by
    any script."""
    attributes = f"{BROWSER_COOKIE}={cookie}; Path=/; Max-Age={BROWSER_COOKIE_SECONDS}; HttpOnly; SameSite=Lax"
    header = (b"set-cookie", (attributes + ("; Secure" if secure else "")).encode())

    async def sending(message: Any) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), header]}
        await send(message)

    return sending


TOO_MANY_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>请稍后再试</title></head>
<body style="font-size:1.25rem;line-height:1.7;margin:1.5rem"><main><h1>{what}太频繁了</h1>
<p>请按手机的“返回”键回到上一页（{kept}），过 {minutes} 分钟后再点“{button}”。情况紧急请直接拨打 12345，
危及人身安全请拨打 110。</p>
<p><a href="/">回到首页</a></p></main></body></html>"""
# Staff's pages and the console: what is typed in a form refused here is in the browser's previous page.
TOO_MANY_SIGNED_IN = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>操作太频繁了</title></head>
<body style="font-size:1.1rem;line-height:1.6;margin:1.5rem"><main><h1>操作太频繁了</h1>
<p>这次没有执行。请过 {seconds} 秒再试：按浏览器的“返回”键回到上一页，填写的内容还在。</p>
<p><a href="{area}">回到{name}</a></p></main></body></html>"""
# What the resident was doing on each page, and the button to tap again: a look-up told to tap 提交 is lost.
_PAGE_ACTIONS = {
    "/track": {"what": "查询", "kept": "查询码还在", "button": "查询"},
    "/track/rate": {"what": "评价", "kept": "您写的内容还在", "button": "满意、基本满意或不满意"},
}
_FORM_ACTION = {"what": "提交", "kept": "您写的内容还在", "button": "提交"}


async def _too_many(send: Send, *, path: str, retry_after: int, area: str | None = None) -> None:
    if area is not None:
        name = "受理台" if area == "/console" else "工作台"
        body = TOO_MANY_SIGNED_IN.format(seconds=retry_after, area=area, name=name).encode()
        content_type = b"text/html; charset=utf-8"
    elif path.startswith("/api/"):
        body = msgspec.json.encode(
            {
                "type": "about:blank",
                "status": 429,
                "title": "Too Many Requests",
                "detail": f"rate limit reached; try again in {retry_after} s",
            }
        )
        content_type = b"application/problem+json"
    else:
        action = _PAGE_ACTIONS.get(path, _FORM_ACTION)
        body = TOO_MANY_PAGE.format(minutes=max(1, math.ceil(retry_after / 60)), **action).encode()
        content_type = b"text/html; charset=utf-8"
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 429,
        "headers": [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(retry_after).encode()),
        ],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})
