"""A staff step done once per key: a staff page's form (its page's key) or an API request's Idempotency-Key.

A step sent again (a double click, a browser's or a client's retry, a retry after a 503 whose commit went unanswered)
finds the first one done rather than writing an interim reply twice, or answering "already closed" to the staff who
just closed the item. The key is claimed in the step's own transaction, in `idempotency_keys`, under a scope of the
staff token's own.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Literal, TypeVar

import msgspec

from suggestions.db import (
    IN_DOUBT_WAIT_MS,
    Session,
    commit_settled,
    commit_unanswered,
    end_session,
    look_after_unanswered_commit,
    rerun_after_schema_change,
    session,
)
from suggestions.errors import Conflict, OutcomeUnknown
from suggestions.intake.store import claim_idempotency_key, earlier_request, forget_expired_key

log = logging.getLogger(__name__)

KEY_HOURS = 24  # how long a key tells a step sent again from a new one

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
    cannot be told within `db.IN_DOUBT_SECONDS`."""
    in_doubt = session(conn)
    try:
        return await once(conn, work, scope=scope, key=key, request_hash=request_hash, item_id=item_id)
    except Exception as exc:
        if not commit_unanswered(exc):
            raise
        done, gone = await look_after_unanswered_commit(
            conn,
            database_url,
            partial(_done_after_all, in_doubt=in_doubt, scope=scope, key=key),
            what="a staff step's unanswered commit was done",
        )
        if not done and not gone:
            raise OutcomeUnknown from None
        if done:
            log.warning("a staff step's commit went unanswered (%s), and it was done", type(exc).__name__)
            return "done before"
        raise commit_settled(exc) from None


async def _done_after_all(conn: Any, *, in_doubt: Session, scope: str, key: str) -> tuple[bool, bool]:
    """Whether the step under the key was done, and whether `in_doubt` is gone, once it is ended."""
    gone = await end_session(conn, in_doubt, wait_ms=IN_DOUBT_WAIT_MS)
    return await earlier_request(conn, scope=scope, key=key, hours=KEY_HOURS) is not None, gone
