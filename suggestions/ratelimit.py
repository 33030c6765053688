"""Rate limits per client, counted in Redis so that every API process sees the same counts.

Four limits, each a `limits` string such as "10/minute;60/hour" (empty turns it off):

- public: anonymous submissions (the resident form and `POST /api/v1/items` without a token), per client address;
- token: every request that carries a bearer token, per token;
- address: every request to the API and the resident pages, per client address, whatever token it carries, so that
  inventing tokens does not escape the limits;
- caller: phones looked up per token (a caller's earlier items, the open cases of their reports), each phone counted
  once in `PHONE_SEEN_SECONDS`: a console asking again about the caller on the line, as the operator types, is one
  look-up; a token going through phones is counted for each. Checked by those handlers (`phone_look_up`), which
  alone read the phone from the body.

The client address is the ASGI client: behind a reverse proxy, run uvicorn with `--proxy-headers` and
`--forwarded-allow-ips` so that it is the resident's, not the proxy's. Addresses and tokens become Redis keys only
as HMACs keyed with the installation's secret, which PostgreSQL keeps (`rate_limit_secret`, made by the migrations):
a plain hash of an IPv4 address is undone by hashing all 2^32 of them. The keys expire with their window.

When Redis (or, before the secret is read, PostgreSQL) cannot be reached, requests pass: intake must keep accepting
items while the queue is away (the row is in PostgreSQL and the sweeper finds it). After a failure the limiter rests
for a few seconds rather than make every request wait for a dead server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import math
import time
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


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0
    limit: str = ""  # which limit refused: "address", "token", "public" or "caller"


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


class RateLimiter:
    """The three limits over one Redis; `check` says whether a request may go on."""

    def __init__(self, settings: Settings) -> None:
        self.public = _limits(settings.rate_limit_public, "public")
        self.token = _limits(settings.rate_limit_token, "token")
        self.address = _limits(settings.rate_limit_address, "address")
        self.caller = _limits(settings.rate_limit_caller, "caller")
        # Without a Redis URL (an app built only to read its OpenAPI document) there is nothing to count in.
        self.enabled = bool(settings.redis_url and (self.public or self.token or self.address or self.caller))
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

    async def check(self, *, method: str, path: str, address: str, token: str | None, pool: asyncpg.Pool) -> Decision:
        if self._strategy is None or time.monotonic() < self._resting_until:
            return Decision(True)
        try:
            secret = await self._installation_secret(pool)
            checks: list[tuple[str, list[RateLimitItem], str]] = [
                ("address", self.address, _key("addr", address, secret))
            ]
            if token is not None:
                checks.append(("token", self.token, _key("token", token, secret)))
            elif (method, path) in ANONYMOUS_INTAKE:
                checks.append(("public", self.public, _key("public", address, secret)))
            for limit, items, key in checks:
                if (refused := await self._hit(limit, items, key)) is not None:
                    return refused
        except Exception as exc:  # Redis (or PostgreSQL) away: let the request through, rest a moment, say so once
            self._rest(exc)
        return Decision(True)

    async def phone_look_up(self, *, token_id: int, phone: str, pool: asyncpg.Pool) -> Decision:
        """Whether this token may look this phone (canonical) up now: a phone it asked about in the last
        PHONE_SEEN_SECONDS is not counted again. Neither the phone nor the token reaches Redis but as an HMAC."""
        if self._strategy is None or self._connections is None or not self.caller:
            return Decision(True)
        if time.monotonic() < self._resting_until:
            return Decision(True)
        try:
            secret = await self._installation_secret(pool)
            redis = Redis(connection_pool=self._connections)
            seen = f"{self._prefix}:{_key('phone', f'{token_id}:{phone}', secret)}"
            if not await redis.set(seen, b"1", nx=True, ex=PHONE_SEEN_SECONDS):
                return Decision(True)
            refused = await self._hit("caller", self.caller, _key("caller", str(token_id), secret))
            if refused is not None:
                await redis.delete(seen)  # asked again, it is counted again: refused, it was not looked up
                return refused
        except Exception as exc:
            self._rest(exc)
        return Decision(True)

    async def _installation_secret(self, pool: asyncpg.Pool) -> bytes:
        if self._secret is None:
            self._secret = bytes(await pool.fetchval(INSTALLATION_KEY, timeout=2))
        return self._secret

    async def _hit(self, limit: str, items: list[RateLimitItem], key: str) -> Decision | None:
        assert self._strategy is not None
        for item in items:
            if not await self._strategy.hit(item, key):
                stats = await self._strategy.get_window_stats(item, key)
                retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                return Decision(False, retry_after=retry_after, limit=limit)
        return None

    def _rest(self, exc: Exception) -> None:
        self._resting_until = time.monotonic() + REST_AFTER_FAILURE_SECONDS
        log.warning("rate limits not checked for %.0f s: %s", REST_AFTER_FAILURE_SECONDS, type(exc).__name__)


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
        if not self.limiter.enabled or not path.startswith(LIMITED_PREFIXES):
            await next_app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        client = scope.get("client")
        decision = await self.limiter.check(
            method=str(scope.get("method", "")),
            path=path,
            address=client[0] if client else "unknown",
            token=token.strip() if scheme.lower() == "bearer" and token.strip() else None,
            pool=scope["litestar_app"].state.db_pool,
        )
        if decision.allowed:
            await next_app(scope, receive, send)
            return
        if (scope.get("method"), path) == RESIDENT_FORM and decision.limit == "public":
            scope.setdefault("state", {})[REFUSED] = decision.retry_after
            await next_app(scope, receive, send)
            return
        await _too_many(send, path=path, retry_after=decision.retry_after)


TOO_MANY_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>请稍后再试</title></head>
<body style="font-size:1.25rem;line-height:1.7;margin:1.5rem"><main><h1>{what}太频繁了</h1>
<p>请按手机的“返回”键回到上一页（{kept}），过 {minutes} 分钟后再点“{button}”。情况紧急请直接拨打 12345，
危及人身安全请拨打 110。</p>
<p><a href="/">回到首页</a></p></main></body></html>"""
# What the resident was doing on each page, and the button to tap again: a look-up told to tap 提交 is lost.
_PAGE_ACTIONS = {
    "/track": {"what": "查询", "kept": "查询码还在", "button": "查询"},
    "/track/rate": {"what": "评价", "kept": "您写的内容还在", "button": "满意、基本满意或不满意"},
}
_FORM_ACTION = {"what": "提交", "kept": "您写的内容还在", "button": "提交"}


async def _too_many(send: Send, *, path: str, retry_after: int) -> None:
    if path.startswith("/api/"):
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
