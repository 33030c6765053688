"""SQL for claiming items, recording classifications and giving up on items that keep failing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import msgspec

from suggestions.db import rerun_after_schema_change
from suggestions.hotspots.similarity import signature
from suggestions.hotspots.tracker import (
    Placed,
    district_prior,
    lock_streets,
    reassess,
    refresh_case_risk,
    retopic,
    track,
)


class Claimed(msgspec.Struct, frozen=True):
    id: int
    text: str
    received_at: datetime  # the order the tracker places reports in (`tracker.placing_order`)
    attempts: int = 1  # claims so far, this one included: more than one, and a worker died holding it before


class Outcome(msgspec.Struct, frozen=True):
    """One item's classification, as the model gave it."""

    item_id: int
    topic: str
    topic_confidence: float
    risk_level: int
    risk_confidence: float
    kind: str
    terms: list[str]
    needs_review: bool
    model_version: str


# Takes pending items no live worker holds, oldest first (`items_pending_order`), to ride along with the one a job asked
# for (CLAIM_ONE). SKIP LOCKED lets any number of workers claim side by side; the lease lets another take over from a
# worker that died. Only items never claimed before ride along: one whose worker died holding it may be what killed
# the worker, and a batch of it would count a crash against every item beside it (`sweep` retries them one by one).
CLAIM = """
WITH picked AS (
    SELECT id FROM items
    WHERE status = 'pending' AND attempts = 0 AND (lease_until IS NULL OR lease_until < now())
    ORDER BY received_at, id
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE items SET lease_until = now() + make_interval(secs => $2), attempts = attempts + 1
FROM picked WHERE items.id = picked.id
RETURNING items.id, items.text_masked, items.received_at, items.attempts
"""

CLAIM_ONE = """
UPDATE items SET lease_until = now() + make_interval(secs => $2), attempts = attempts + 1
WHERE id = $1 AND status = 'pending' AND (lease_until IS NULL OR lease_until < now())
RETURNING id, text_masked, received_at, attempts
"""

# What the tracker reads of an item to place it (`_placed`).
_TO_PLACE = """
SELECT id, text_masked, street, locality, locality_level, received_at,
       channel <> 'grid' AND EXISTS (
           SELECT 1 FROM contacts WHERE item_id = items.id AND phone IS NOT NULL AND anonymised_at IS NULL
       ) AS resident_phone
FROM items
"""

LOCK_STILL_PENDING = f"""{_TO_PLACE}
WHERE id = ANY($1::bigint[]) AND status = 'pending'
ORDER BY id
FOR UPDATE OF items
"""

# An item staff classified while it was pending or given up on (`corrections.correct`): the worker never placed it.
UNPLACED = f"{_TO_PLACE} WHERE id = $1 AND case_id IS NULL"

# Items whose current classification is another model version's (never a staff correction): the backlog a newly
# promoted model re-classifies.
LOCK_OUTDATED = """
SELECT i.id, i.topic, i.risk_level, i.street FROM items i JOIN classifications c ON c.id = i.classification_id
WHERE i.id = ANY($1::bigint[]) AND c.source = 'model' AND c.model_version <> $2
ORDER BY i.id FOR UPDATE OF i
"""

OUTDATED_PAGE = """
SELECT i.id, i.text_masked, i.received_at FROM items i JOIN classifications c ON c.id = i.classification_id
WHERE c.source = 'model' AND c.model_version <> $1 AND i.id > $2
ORDER BY i.id
LIMIT $3
"""

RETIRE_CURRENT = """
UPDATE classifications SET is_current = false WHERE item_id = ANY($1::bigint[]) AND is_current
"""

INSERT_CLASSIFICATIONS = """
INSERT INTO classifications
    (item_id, topic, topic_confidence, risk_level, risk_confidence, kind, terms, needs_review, model_version)
SELECT o.item_id, o.topic, o.topic_confidence, o.risk_level, o.risk_confidence, o.kind,
       coalesce((SELECT array_agg(t) FROM jsonb_array_elements_text(o.terms) t), '{}'), o.needs_review,
       o.model_version
FROM jsonb_to_recordset($1::jsonb) AS o(item_id bigint, topic text, topic_confidence real, risk_level smallint,
                                        risk_confidence real, kind text, terms jsonb, needs_review boolean,
                                        model_version text)
RETURNING id, item_id, risk_level, topic, kind, needs_review
"""

APPLY_CLASSIFICATION = """
UPDATE items SET
    status = CASE WHEN items.status = 'pending' THEN 'open' ELSE items.status END,
    classification_id = c.id,
    topic = c.topic,
    risk_level = c.risk_level,
    needs_review = c.needs_review,
    kind = coalesce(items.kind, c.kind),
    kind_source = CASE WHEN items.kind IS NULL THEN 'model' ELSE items.kind_source END,
    lease_until = NULL,
    last_error = NULL,
    updated_at = now()
FROM jsonb_to_recordset($1::jsonb) AS c(id bigint, item_id bigint, topic text, risk_level smallint,
                                        needs_review boolean, kind text)
WHERE items.id = c.item_id
"""

RECORD_FAILURE = """
UPDATE items SET
    lease_until = NULL,
    last_error = $2,
    status = CASE WHEN attempts >= $3 THEN 'failed' ELSE status END,
    updated_at = now()
WHERE id = $1 AND status = 'pending'
RETURNING status
"""

# Items whose worker died over and over while holding them (a crash, not an exception) are given up too.
GIVE_UP_ON_CRASHES = """
UPDATE items SET status = 'failed', last_error = 'WorkerStopped', lease_until = NULL, updated_at = now()
WHERE status = 'pending' AND attempts >= $1 AND (lease_until IS NULL OR lease_until < now())
RETURNING id
"""

# Oldest first, and items of one time in id order (`items_pending_order`): the sweeper's batches then follow the order
# the tracker places reports in (`tracker.placing_order`).
OVERDUE = """
SELECT id, attempts FROM items
WHERE status = 'pending' AND received_at < now() - make_interval(secs => $1)
  AND (lease_until IS NULL OR lease_until < now())
ORDER BY received_at, id
LIMIT $2
"""


# A lease keeps other workers off an item while one classifies it; it is not the item, which was stored for good when
# it was accepted. So a claim's commit does not wait for its WAL to reach the disk: it is seen by every worker at once,
# and lost only if PostgreSQL itself stops within a fraction of a second, leaving the item pending and free, to be
# claimed again (only items still pending are recorded, so none is classified twice). Each claim waiting for its own
# flush was a WAL fsync per batch, which residents' items queued behind.
CLAIM_WITHOUT_FLUSH = "SET LOCAL synchronous_commit TO off"


@asynccontextmanager
async def _claiming(conn: Any) -> AsyncIterator[None]:
    async with conn.transaction():
        await conn.execute(CLAIM_WITHOUT_FLUSH)
        yield


async def claim(conn: Any, *, first: int | None, limit: int, lease_seconds: int) -> list[Claimed]:
    """The asked-for item (if still pending and free), then the oldest never-claimed items, up to `limit`; one
    commit."""
    claimed = []
    async with _claiming(conn):
        if first is not None and (row := await conn.fetchrow(CLAIM_ONE, first, float(lease_seconds))):
            claimed.append(_claimed(row))
        if len(claimed) < limit:
            rows = await conn.fetch(CLAIM, limit - len(claimed), float(lease_seconds))
            claimed += [_claimed(r) for r in rows]
    return claimed


async def claim_one(conn: Any, *, item_id: int, lease_seconds: int) -> Claimed | None:
    async with _claiming(conn):
        row = await conn.fetchrow(CLAIM_ONE, item_id, float(lease_seconds))
    return None if row is None else _claimed(row)


def _claimed(row: Any) -> Claimed:
    return Claimed(id=row["id"], text=row["text_masked"], received_at=row["received_at"], attempts=row["attempts"])


@rerun_after_schema_change
async def record_classifications(
    conn: Any, outcomes: Sequence[Outcome], *, replace_version: str | None = None
) -> list[int]:
    """Store outcomes for items still pending; returns their ids. Running it twice changes nothing.

    With `replace_version`, for items whose current classification is another model version's instead (re-classifying
    the backlog with that version); staff corrections are never replaced.
    """
    ids = [o.item_id for o in outcomes]
    async with conn.transaction():
        if replace_version is None:
            pending = {r["id"]: r for r in await conn.fetch(LOCK_STILL_PENDING, ids)}
        else:
            pending = {r["id"]: r for r in await conn.fetch(LOCK_OUTDATED, ids, replace_version)}
        fresh = [o for o in outcomes if o.item_id in pending]
        if not fresh:
            return []
        await conn.execute(RETIRE_CURRENT, [o.item_id for o in fresh])
        inserted = await conn.fetch(INSERT_CLASSIFICATIONS, [msgspec.to_builtins(o) for o in fresh])
        await conn.execute(
            APPLY_CLASSIFICATION,
            [
                {
                    "id": r["id"],
                    "item_id": r["item_id"],
                    "topic": r["topic"],
                    "risk_level": r["risk_level"],
                    "needs_review": r["needs_review"],
                    "kind": r["kind"],
                }
                for r in inserted
            ],
        )
        if replace_version is not None:
            # A re-classification places nothing; an item whose topic changed is counted under its new one. The
            # streets are locked up front, in order, as the tracker locks them.
            await lock_streets(conn, [pending[o.item_id]["street"] for o in fresh])
            for o in fresh:
                before = pending[o.item_id]
                if before["topic"] is not None:
                    await retopic(conn, o.item_id, before["topic"], o.topic)
                if before["risk_level"] != o.risk_level:
                    await refresh_case_risk(conn, o.item_id)
                if (before["topic"], before["risk_level"]) != (o.topic, o.risk_level):
                    await reassess(conn, o.item_id, former_topic=before["topic"])
        else:
            # A first classification places the item in a case and counts it.
            placed = [_placed(pending[o.item_id], topic=o.topic, risk_level=o.risk_level) for o in fresh]
            await track(conn, placed, prior=await district_prior(conn))
        return [r["item_id"] for r in inserted]


async def place_unplaced(conn: Any, *, item_id: int, topic: str, risk_level: int) -> bool:
    """Place and count an item that staff classified before the worker did, or after it gave up on the item: the
    worker places only what it classifies itself. Call in the correction's transaction, the item locked. False if the
    item already has a case."""
    row = await conn.fetchrow(UNPLACED, item_id)
    if row is None:
        return False
    await track(conn, [_placed(row, topic=topic, risk_level=risk_level)], prior=await district_prior(conn))
    return True


def _placed(row: Any, *, topic: str, risk_level: int) -> Placed:
    return Placed(
        id=row["id"],
        text=row["text_masked"],
        street=row["street"],
        locality=row["locality"],
        locality_level=row["locality_level"],
        topic=topic,
        risk_level=risk_level,
        received_at=row["received_at"],
        resident_phone=row["resident_phone"],
        # The item's own places are cut from its text: reports of different problems in one place must not look
        # alike for naming it.
        signature=signature(row["text_masked"], places=(row["street"], row["locality"])),
    )


async def record_failure(conn: Any, *, item_id: int, error: str, max_attempts: int) -> str | None:
    status: str | None = await conn.fetchval(RECORD_FAILURE, item_id, error, max_attempts)
    return status


async def give_up_on_crashes(conn: Any, *, crash_limit: int) -> list[int]:
    return [r["id"] for r in await conn.fetch(GIVE_UP_ON_CRASHES, crash_limit)]


async def overdue(conn: Any, *, older_than_seconds: int, limit: int) -> list[tuple[int, int]]:
    """(id, claims so far) of the pending items that waited too long, oldest first."""
    return [(r["id"], r["attempts"]) for r in await conn.fetch(OVERDUE, float(older_than_seconds), limit)]


async def outdated_page(conn: Any, *, version: str, after_id: int, limit: int) -> list[Claimed]:
    rows = await conn.fetch(OUTDATED_PAGE, version, after_id, limit)
    return [Claimed(id=r["id"], text=r["text_masked"], received_at=r["received_at"]) for r in rows]
