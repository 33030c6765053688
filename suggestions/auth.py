"""Bearer tokens and roles.

Tokens are random, shown once when created and stored only as a SHA-256 hash. Every request looks its token up in
PostgreSQL, so a revoked token stops working in every API process at once.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import time
import unicodedata
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, Literal

import asyncpg
import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from suggestions.db import QUICK_STATEMENT_SECONDS
from suggestions.db import connection as pooled
from suggestions.errors import DATABASE_OUTAGES

Role = Literal["operator", "grid", "staff", "admin", "monitor"]
ROLES: tuple[Role, ...] = ("operator", "grid", "staff", "admin", "monitor")
log = logging.getLogger(__name__)

TOKEN_PREFIX = "sgt_"  # noqa: S105 (a prefix that makes leaked tokens easy to spot, not a secret)

# Who may enter items on each channel. Residents use the web channel without a token.
CHANNEL_ROLES: dict[str, frozenset[str]] = {
    "web": frozenset({"operator", "grid", "staff", "admin"}),
    "hotline": frozenset({"operator", "admin"}),
    "grid": frozenset({"grid", "admin"}),
}
STAFF_ROLES = frozenset({"staff", "admin"})
# Who may look a resident up by their phone: those who answer residents (a grid worker has no caller).
CALLER_ROLES = frozenset({"operator", *STAFF_ROLES})
# Who may read /metrics: its counts (waiting items, ratings by channel) are the centre's, not the public's, and each
# scrape queries PostgreSQL. `monitor` is the scraper's token and opens nothing else.
MONITOR_ROLES = frozenset({"monitor", "admin"})
# OpenAPI security requirement of every endpoint that takes a token.
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
# ... and of one where a token is optional (web items need none).
OPTIONAL_BEARER: list[dict[str, list[str]]] = [{}, *BEARER]


class Principal(msgspec.Struct, frozen=True):
    token_id: int
    role: Role


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


TOKEN_LABEL_MAX = 100


def label_problem(label: str) -> str | None:
    """Why a token's label cannot be kept, None if it can: one line of printable text that admins read in a list."""
    if len(label) > TOKEN_LABEL_MAX:
        return f"at most {TOKEN_LABEL_MAX} characters"
    # A space of any width is printable here (Python's isprintable counts only the ASCII one): a Chinese input method
    # types U+3000 between a role and a name, a name pasted from a web page brings U+00A0.
    if not all(char.isprintable() or unicodedata.category(char) == "Zs" for char in label):
        return "printable characters only (no line breaks or control characters)"
    return None


# A statement, not a secret.
INSERT_TOKEN = "INSERT INTO api_tokens (token_hash, role, label) VALUES ($1, $2, $3) RETURNING id"  # noqa: S105
# `changed_by` NULL: the server's command line. `submission`: the page's key of the form that did it.
RECORD_CHANGE = "INSERT INTO token_changes (token_id, change, changed_by, submission) VALUES ($1, $2, $3, $4)"


class NewToken(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    token: str | None  # None: the form was sent before, and the token shown then, once


async def _stored_token(conn: Any, *, role: Role, label: str, by: int | None, submission: str | None) -> NewToken:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with conn.transaction():
        token_id: int = await conn.fetchval(INSERT_TOKEN, hash_token(token), role, label)
        await conn.execute(RECORD_CHANGE, token_id, "created", by, submission)
    return NewToken(id=token_id, token=token)


async def create_token(conn: Any, *, role: Role, label: str = "", by: int | None = None) -> str:
    """A new token, which only this answer holds (stored as its hash), its creation recorded with `by`, the admin's
    token (None: the command line)."""
    created = await _stored_token(conn, role=role, label=label, by=by, submission=None)
    return str(created.token)


async def create_token_once(conn: Any, *, role: Role, label: str, by: int, submission: str) -> NewToken:
    """`create_token`, unless `by` created one with this form (`submission`, its page's key) before: a double click
    or a browser's retry makes one token, and the second answer names it without showing it."""
    try:
        return await _stored_token(conn, role=role, label=label, by=by, submission=submission)
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != "token_changes_submission":
            raise
    earlier: int = await conn.fetchval(
        "SELECT token_id FROM token_changes WHERE changed_by = $1 AND submission = $2", by, submission
    )
    return NewToken(id=earlier, token=None)


class TokenInfo(msgspec.Struct, kw_only=True):
    """What an admin may read of a token: never the token, which only its holder has."""

    id: int
    role: str
    label: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_on: date | None  # the district's day of its latest request


async def list_tokens(conn: Any, *, revoked: bool = False) -> list[TokenInfo]:
    """The tokens in use, oldest first; with `revoked`, the revoked ones too."""
    rows = await conn.fetch(
        "SELECT id, role, label, created_at, revoked_at, last_used_on FROM api_tokens"
        " WHERE $1 OR revoked_at IS NULL ORDER BY id",
        revoked,
    )
    return [TokenInfo(**dict(row)) for row in rows]


class RevokerRevoked(Exception):
    """The admin's own token was revoked while their revocation of another was on its way: it revokes nothing."""


async def revoke_token(conn: Any, token_id: int, *, by: int | None = None) -> bool:
    """Revoke the token with this id at once (a lost phone, a leaver), recorded with `by`, the admin's token (None:
    the command line); False if there is none in use. RevokerRevoked if `by` is revoked by then."""
    async with conn.transaction():
        if by is not None:
            # Both rows locked in one order: two admins revoking each other at once go one after the other, and the
            # second finds their own token revoked, so that the centre is not left without an admin. Not FOR UPDATE:
            # the admin's own requests recording what they did (their token as a foreign key) do not wait on it.
            rows = await conn.fetch(
                "SELECT id, revoked_at FROM api_tokens WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE",
                [token_id, by],
            )
            if any(row["id"] == by and row["revoked_at"] is not None for row in rows):
                raise RevokerRevoked(f"token {by} was revoked")
        status: str = await conn.execute(
            "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", token_id
        )
        if not status.endswith(" 1"):
            return False
        await conn.execute(RECORD_CHANGE, token_id, "revoked", by, None)
    return True


class TokenChange(msgspec.Struct, kw_only=True):
    changed_at: datetime
    change: str  # created, revoked
    token_id: int
    role: str
    label: str
    changed_by: int | None  # None: the server's command line
    changed_by_label: str | None


SELECT_CHANGES = """
SELECT c.changed_at, c.change, c.token_id, t.role, t.label, c.changed_by, b.label AS changed_by_label
FROM token_changes c
JOIN api_tokens t ON t.id = c.token_id
LEFT JOIN api_tokens b ON b.id = c.changed_by
ORDER BY c.changed_at DESC, c.id DESC
LIMIT $1
"""


async def token_changes(conn: Any, *, limit: int) -> list[TokenChange]:
    """Who created and revoked which token, and when, the latest first."""
    return [TokenChange(**dict(row)) for row in await conn.fetch(SELECT_CHANGES, limit)]


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


# `$2`: the district's time zone, whose day is recorded.
PRINCIPAL_BY_HASH = """
SELECT id, role, last_used_on IS NULL OR last_used_on < (now() AT TIME ZONE $2)::date AS unrecorded
FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL
"""
# Once a day per token, so that admins tell tokens in use from forgotten ones while a token looked up at every request
# is not written at every request.
RECORD_USE = """
UPDATE api_tokens SET last_used_on = (now() AT TIME ZONE $2)::date
WHERE id = $1 AND (last_used_on IS NULL OR last_used_on < (now() AT TIME ZONE $2)::date)
"""


# Why the day of a token's use may go unrecorded while its look-up stood: the server refused or cancelled the write
# alone, which outside a transaction leaves the connection as it was.
UNRECORDED_USE = (
    asyncpg.exceptions.ReadOnlySQLTransactionError,
    asyncpg.exceptions.QueryCanceledError,
    asyncpg.exceptions.LockNotAvailableError,
    asyncpg.exceptions.InsufficientResourcesError,
)


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any], db: Any = None) -> Principal | None:
    """The caller's principal, None without a token; a token that is present but unknown is refused.

    A handler that already holds a database connection passes it as `db`: taking a second one from the pool while
    holding the first deadlocks once as many requests as the pool has connections wait for their second.
    """
    token = bearer_token(connection)
    if token is None:
        return None
    if db is not None:
        principal = await principal_for_token(db, token, zone=connection.app.state.timezone)
    else:
        # A connection that times out is closed, not reset by the pool, which on a server gone silent would wait as
        # long again before the request could answer.
        async with pooled(connection.app.state.db_pool, statement_seconds=QUICK_STATEMENT_SECONDS) as conn:
            principal = await principal_for_token(conn, token, zone=connection.app.state.timezone)
    if principal is None:
        raise NotAuthorizedException("invalid or revoked token", headers={"WWW-Authenticate": "Bearer"})
    return principal


async def principal_for_token(db: Any, token: str, *, zone: str) -> Principal | None:
    """The token's principal; None for a token unknown or revoked. `db`: a connection; `zone`: the district's time
    zone, whose day of the token's use is recorded the first time each day (not in a transaction of the caller's,
    which a refused write would break: the next request records it)."""
    row = await db.fetchrow(PRINCIPAL_BY_HASH, hash_token(token), zone, timeout=QUICK_STATEMENT_SECONDS)
    if row is None:
        return None
    if row["unrecorded"] and not db.is_in_transaction():
        try:
            await db.execute(RECORD_USE, row["id"], zone, timeout=QUICK_STATEMENT_SECONDS)
        except UNRECORDED_USE as exc:
            # The token is known all the same: a server that takes no writes for now (a failover, a full disk) or a
            # row held past the limit is no reason to refuse a request that may only read.
            log.warning("the day of token %s's use is not recorded: %s", row["id"], type(exc).__name__)
    return Principal(token_id=row["id"], role=row["role"])


def check_role(principal: Principal | None, roles: frozenset[str], what: str = "do this") -> Principal:
    """The principal, if its role is one of `roles`: 401 without a token, 403 for another role."""
    if principal is None:
        raise NotAuthorizedException("a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    if principal.role not in roles:
        raise PermissionDeniedException(f"role {principal.role!r} may not {what}")
    return principal


async def require_roles(
    connection: ASGIConnection[Any, Any, Any, Any], roles: frozenset[str], db: Any = None
) -> Principal:
    return check_role(await authenticate(connection, db), roles)


Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def roles_only(roles: frozenset[str]) -> Guard:
    """A guard admitting these roles. Guards run before the body is read: a caller without a valid token hears 401
    whatever it sent. The principal found stays on the request for the handler (`guarded_principal`)."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        connection.state.principal = await require_roles(connection, roles)

    return guard


# Guard for staff endpoints.
staff_only = roles_only(STAFF_ROLES)

# While PostgreSQL is away no token can be looked up, yet that is when the scraper's counts (the 503s answered, the
# numbers marked unknown) matter most: a token that read /metrics within this many seconds still does then. Revoking
# one takes effect at the next scrape PostgreSQL answers.
SCRAPER_GRACE_SECONDS = 15 * 60


def scraper_only() -> Guard:
    """The guard of /metrics: `monitor` and `admin` tokens, and while PostgreSQL is away one that passed lately."""
    passed: dict[bytes, float] = {}  # token hash → when it last passed; only tokens that did, so a few

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        token = bearer_token(connection)
        key = hash_token(token) if token is not None else b""
        try:
            connection.state.principal = await require_roles(connection, MONITOR_ROLES)
        except DATABASE_OUTAGES:
            if time.monotonic() - passed.get(key, -math.inf) > SCRAPER_GRACE_SECONDS:
                raise
            connection.state.principal = None
            return
        passed[key] = time.monotonic()  # a token passed: require_roles refuses a request without one

    return guard


monitor_only = scraper_only()


async def known_token(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard for an endpoint open without a token (a resident's item): a token that is sent must still be known,
    and is refused before the body is read; the principal, or None, stays on the request (`optional_principal`)."""
    connection.state.principal = await authenticate(connection)


def guarded_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """Who passed the guard (`roles_only`, `staff_only`): the token is looked up once a request, not again in the
    handler."""
    principal: Principal = connection.state.principal
    return principal


def optional_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """Who passed the `known_token` guard: None for a caller without a token."""
    principal: Principal | None = connection.state.principal
    return principal
