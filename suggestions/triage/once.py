"""A staff step done once per key: a staff page's form (its page's key) or an API request's Idempotency-Key.

A step sent again (a double click, a browser's or a client's retry, a retry after a 503 whose commit went unanswered)
finds the first one done rather than writing an interim reply twice, or answering "already closed" to the staff who
just closed the item. The key is claimed in the step's own transaction, in `idempotency_keys`, under a scope of the
staff token's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import asyncpg
import msgspec

from suggestions.db import Session, commit_settled, commit_unanswered, rerun_after_schema_change, session
from suggestions.errors import Conflict, OutcomeUnknown
from suggestions.intake.store import (
    END_SESSION,
    SESSION_GONE,
    claim_idempotency_key,
    earlier_request,
    forget_expired_key,
)

log = logging.getLogger(__name__)

KEY_HOURS = 24  # how long a key tells a step sent again from a new one
# How long a sender waits, after a commit whose answer never came, for the service to find out whether it was done
# (as for an item, `intake.service.IN_DOUBT_SECONDS`).
IN_DOUBT_SECONDS = 3.0

Outcome = Literal["done", "done before", "no such item"]
T = TypeVar("T")


class _SentBefore(Exception):
    """The same step, sent again while the first was being done: the first one's work stands."""


def step_hash(path: str, body: msgspec.Struct) -> bytes:
    """What tells one step from another under one key: where it was sent, and what it said."""
    return hashlib.sha256(path.encode() + b"\0" + msgspec.json.encode(body, order="sorted")).digest()


@rerun_after_schema_change
async def once(
    conn: Any, work: Callable[[], Awaitable[bool]], *, scope: str, key: str, request_hash: bytes, item_id: int
) -> Outcome:
    """`work()` (False: no such item) in a transaction that claims the key, unless a step was done under it before.
    A key used before with another step (`request_hash`) is a Conflict."""
    earlier = await earlier_request(conn, scope=scope, key=key, hours=KEY_HOURS)
    if earlier is not None:
        if earlier[0] != request_hash:
            raise Conflict("this Idempotency-Key was used with another request", field="Idempotency-Key")
        return "done before"
    try:
        async with conn.transaction():
            # A key older than KEY_HOURS that the workers' maintenance has not forgotten yet is free again.
            await forget_expired_key(conn, scope=scope, key=key, hours=KEY_HOURS)
            if not await work():
                return "no such item"
            if not await claim_idempotency_key(conn, scope=scope, key=key, request_hash=request_hash, item_id=item_id):
                raise _SentBefore  # sent twice at once: the other one did it
    except _SentBefore:
        return "done before"
    return "done"


async def once_told_truly(
    conn: Any,
    work: Callable[[], Awaitable[bool]],
    *,
    scope: str,
    key: str,
    request_hash: bytes,
    item_id: int,
    database_url: str,
) -> Outcome:
    """`once`, and when its commit went unanswered, what became of it: the session that sent the commit is ended on a
    connection of the service's own (so that it has committed or never will) and the key looked up. Done, the step is
    answered as done before; certainly not, the outage is raised as one that saved nothing; OutcomeUnknown when that
    cannot be told within IN_DOUBT_SECONDS."""
    in_doubt = session(conn)
    try:
        return await once(conn, work, scope=scope, key=key, request_hash=request_hash, item_id=item_id)
    except Exception as exc:
        if not commit_unanswered(exc):
            raise
        # The pool would reset the connection first, waiting on a server gone silent.
        with contextlib.suppress(asyncpg.InterfaceError):
            conn.terminate()
        if await _done_after_all(database_url, in_doubt, scope=scope, key=key):
            log.warning("a staff step's commit went unanswered (%s), and it was done", type(exc).__name__)
            return "done before"
        raise commit_settled(exc) from None


async def _done_after_all(database_url: str, in_doubt: Session, *, scope: str, key: str) -> bool:
    try:
        async with asyncio.timeout(IN_DOUBT_SECONDS):
            conn = await asyncpg.connect(database_url, server_settings={"application_name": "suggestions"})
            try:
                await conn.fetch(END_SESSION, in_doubt.pid, in_doubt.started, int(IN_DOUBT_SECONDS * 1000 / 2))
                gone = await conn.fetchval(SESSION_GONE, in_doubt.pid, in_doubt.started)
                done = await earlier_request(conn, scope=scope, key=key, hours=KEY_HOURS) is not None
            finally:
                conn.terminate()
    except Exception as exc:  # whatever stops the look, the sender hears that the step may have been done
        log.warning("whether a staff step's unanswered commit was done cannot be told (%s)", type(exc).__name__)
        raise OutcomeUnknown from None
    if not done and not gone:
        raise OutcomeUnknown
    return done
