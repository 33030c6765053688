"""SQL for items as they arrive."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from suggestions.db import Session, end_session
from suggestions.hotspots.places import Place
from suggestions.intake.schema import ItemCreated

# One statement, so one round trip and atomic without an explicit transaction: the item, and its contact if any.
INSERT_ITEM = """
WITH item AS (
    INSERT INTO items (tracking_code, channel, kind, text, text_masked, place, lat, lon, external_id, submitted_by,
                       received_at, street, locality, locality_level, sender_key)
    -- A time a few minutes ahead (`service.CLOCK_SKEW`) is the sender's clock running fast: nothing was received
    -- later than it arrives here, and the sweeper, the feed and the case windows count from this time.
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, least(coalesce($11, now()), now()), $14, $15, $16, $17)
    -- Only items with a record number conflict. Said so, the conflict is found by today's unique constraint and by a
    -- unique index of those items alone, which would spare every other item's rows an index entry. The API of the
    -- release before, still serving while the migrations run, names no condition and would find no index to conflict
    -- on: such an index waits for the release after this one.
    ON CONFLICT (channel, external_id) WHERE external_id IS NOT NULL DO NOTHING
    RETURNING id, tracking_code, status
), contact AS (
    INSERT INTO contacts (item_id, name, phone)
    SELECT id, $12, $13 FROM item WHERE $12::text IS NOT NULL OR $13::text IS NOT NULL
)
SELECT id, tracking_code, status FROM item
"""

SELECT_BY_TRACKING_CODE = "SELECT id, tracking_code, status FROM items WHERE tracking_code = $1"

SELECT_BY_EXTERNAL_ID = """
SELECT i.id, i.tracking_code, i.status, i.text, i.text_masked, i.place, i.kind, i.received_at, i.created_at, i.lat,
       i.lon, c.name, c.phone, c.anonymised_at AS contact_erased
FROM items i LEFT JOIN contacts c ON c.item_id = i.id
WHERE i.channel = $1 AND i.external_id = $2
"""

CLAIM_IDEMPOTENCY_KEY = """
INSERT INTO idempotency_keys (scope, key, request_hash, item_id) VALUES ($1, $2, $3, $4)
ON CONFLICT (scope, key) DO NOTHING
RETURNING key
"""

SELECT_IDEMPOTENCY_KEY = """
SELECT k.request_hash, i.id, i.tracking_code, i.status
FROM idempotency_keys k JOIN items i ON i.id = k.item_id
WHERE k.scope = $1 AND k.key = $2 AND k.created_at > now() - make_interval(hours => $3)
"""

DELETE_EXPIRED_IDEMPOTENCY_KEY = """
DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND created_at <= now() - make_interval(hours => $3)
"""

DELETE_EXPIRED_IDEMPOTENCY_KEYS = """
DELETE FROM idempotency_keys WHERE created_at <= now() - make_interval(hours => $1)
"""

SELECT_TRACKING = """
SELECT i.tracking_code, i.status, i.received_at, i.updated_at, i.closed_at, i.reopened_at, i.assigned_to, i.case_id,
       CASE WHEN i.status = 'closed' THEN i.answer_masked END AS answer, r.rating,
       -- staff withdrew the reply (which the resident may have read) since it was last answered or sent back
       CASE WHEN i.status <> 'closed' AND i.reply_withdrawn_at > coalesce(i.reopened_at, '-infinity')
            THEN i.reply_withdrawn_at END AS reply_withdrawn_at,
       -- staff's interim replies (public notes), masked, oldest first
       (SELECT coalesce(json_agg(json_build_object('at', n.written_at, 'text', n.text_masked)
                                 ORDER BY n.written_at, n.id), '[]')
        FROM item_notes n WHERE n.item_id = i.id AND n.public) AS progress
FROM items i LEFT JOIN ratings r ON r.item_id = i.id AND r.closed_at = i.closed_at
WHERE i.tracking_code = $1
"""


# A code as `tracking_code.reading_key` folds it (READ_ALIKE: FOLDED to FOLDED_TO), the expression the index
# `items_tracking_reading` holds.
READING = "translate(replace(tracking_code, '-', ''), 'ZSBPGJVTNQ', '258866UDM9')"
SELECT_READ_ALIKE = """
SELECT tracking_code FROM items
WHERE translate(replace(tracking_code, '-', ''), 'ZSBPGJVTNQ', '258866UDM9') = $1
LIMIT 2
"""


async def insert_item(
    conn: Any,
    *,
    tracking_code: str,
    channel: str,
    kind: str | None,
    text: str,
    text_masked: str,
    place: str,
    lat: float | None,
    lon: float | None,
    external_id: str | None,
    submitted_by: int | None,
    received_at: datetime | None,
    contact_name: str | None,
    contact_phone: str | None,
    where: Place,
    sender_key: str | None = None,
) -> ItemCreated | None:
    """The new item, or None when the channel already has an item with this external id."""
    row = await conn.fetchrow(
        INSERT_ITEM,
        tracking_code,
        channel,
        kind,
        text,
        text_masked,
        place,
        lat,
        lon,
        external_id,
        submitted_by,
        received_at,
        contact_name,
        contact_phone,
        where.street,
        where.locality,
        where.locality_level,
        sender_key,
    )
    return None if row is None else ItemCreated(id=row["id"], tracking_code=row["tracking_code"], status=row["status"])


class Unknown(Exception):
    """Whether an item was stored cannot be told: the session that may still commit it did not end in time."""


async def stored_after_all(conn: Any, *, session: Session, tracking_code: str, wait_ms: int) -> ItemCreated | None:
    """The item under this tracking code, once `session` (whose commit of it went unanswered) is over; None if it is
    certainly not stored. Unknown if the session outlived `wait_ms`."""
    gone = await end_session(conn, session, wait_ms=wait_ms)
    row = await conn.fetchrow(SELECT_BY_TRACKING_CODE, tracking_code)
    if row is not None:
        return ItemCreated(id=row["id"], tracking_code=row["tracking_code"], status=row["status"])
    if not gone:
        raise Unknown
    return None


async def item_by_external_id(conn: Any, *, channel: str, external_id: str) -> Any:
    """The item stored under this external id, with what a sender said of it and its contact (`service.differences`
    compares them with a request sending it again); None if there is none."""
    return await conn.fetchrow(SELECT_BY_EXTERNAL_ID, channel, external_id)


async def claim_idempotency_key(conn: Any, *, scope: str, key: str, request_hash: bytes, item_id: int) -> bool:
    """True if this request now owns the key; waits for a concurrent owner to commit or roll back."""
    return await conn.fetchval(CLAIM_IDEMPOTENCY_KEY, scope, key, request_hash, item_id) is not None


async def earlier_request(conn: Any, *, scope: str, key: str, hours: int) -> tuple[bytes, ItemCreated] | None:
    row = await conn.fetchrow(SELECT_IDEMPOTENCY_KEY, scope, key, hours)
    if row is None:
        return None
    return bytes(row["request_hash"]), ItemCreated(
        id=row["id"], tracking_code=row["tracking_code"], status=row["status"]
    )


async def forget_expired_key(conn: Any, *, scope: str, key: str, hours: int) -> None:
    await conn.execute(DELETE_EXPIRED_IDEMPOTENCY_KEY, scope, key, hours)


async def delete_expired_idempotency_keys(conn: Any, *, hours: int) -> int:
    status: str = await conn.execute(DELETE_EXPIRED_IDEMPOTENCY_KEYS, hours)
    return int(status.rsplit(" ", 1)[1])


async def tracking(conn: Any, tracking_code: str) -> Any:
    return await conn.fetchrow(SELECT_TRACKING, tracking_code)


async def codes_read_alike(conn: Any, reading: str) -> list[str]:
    """The stored codes this reading may be (`tracking_code.reading_key`), two at most: more than one is as many."""
    return [row["tracking_code"] for row in await conn.fetch(SELECT_READ_ALIKE, reading)]
