"""Retention: the personal data of items closed longer ago than the retention period is anonymised.

What statistics read stays as it was: topic, risk, kind, channel, place, street, dates, classifications, cases and
every count. What goes: the contact's name and phone, the raw text, the raw reply and the raw follow-up notes (each
replaced by its masked form, which staff and the public already see), coordinates finer than about 100 m, the keyed
hash of the browser or address it was sent from (`items.sender_key`), and any idempotency key left (a hash of the
original request, contact included).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec

BATCH_SIZE = 500

# One cutoff for the whole run, so that every batch agrees on which items are old enough.
CUTOFF = "SELECT now() - make_interval(days => $1)"

DUE = """
SELECT count(*) AS items, count(c.item_id) FILTER (WHERE c.anonymised_at IS NULL) AS contacts
FROM items i LEFT JOIN contacts c ON c.item_id = i.id
WHERE i.status = 'closed' AND i.closed_at < $1 AND i.anonymised_at IS NULL
"""

# One statement a batch, committed on its own: however large the backlog, rows stay locked only briefly. Rows
# someone else holds are skipped and left for the next run.
ANONYMISE_BATCH = """
WITH batch AS (
    SELECT id FROM items
    WHERE status = 'closed' AND closed_at < $1 AND anonymised_at IS NULL
    ORDER BY closed_at, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), anonymised_items AS (
    UPDATE items i SET
        text = i.text_masked,
        answer = i.answer_masked,
        lat = round(i.lat::numeric, 3)::double precision,
        lon = round(i.lon::numeric, 3)::double precision,
        sender_key = NULL,
        anonymised_at = now()
    FROM batch WHERE i.id = batch.id
    RETURNING i.id
), anonymised_contacts AS (
    UPDATE contacts c SET name = NULL, phone = NULL, anonymised_at = now()
    FROM batch WHERE c.item_id = batch.id AND c.anonymised_at IS NULL
    RETURNING c.item_id
), anonymised_notes AS (
    UPDATE item_notes n SET text = n.text_masked
    FROM batch WHERE n.item_id = batch.id AND n.text <> n.text_masked
), forgotten_keys AS (
    DELETE FROM idempotency_keys k USING batch WHERE k.item_id = batch.id
)
SELECT (SELECT count(*) FROM anonymised_items) AS items, (SELECT count(*) FROM anonymised_contacts) AS contacts
"""


class RetentionReport(msgspec.Struct, kw_only=True):
    """Counts only: what a run anonymised, or with `dry_run` would anonymise."""

    closed_days: int
    dry_run: bool
    items: int
    contacts: int
    batches: int


async def anonymise_closed(
    conn: Any,
    *,
    closed_days: int,
    dry_run: bool = False,
    batch_size: int | None = None,
    until: float | None = None,
    stopped: Callable[[], bool] = lambda: False,
) -> RetentionReport:
    """Anonymise items closed more than `closed_days` ago, BATCH_SIZE at a time unless `batch_size`. Running it again
    changes nothing.

    Call it outside a transaction: each batch commits on its own. `until` (a `time.monotonic()` time): no batch is
    begun after it, nor once `stopped()` (the worker told to stop); what is left is the next run's.
    """
    if closed_days < 0:
        raise ValueError("closed_days must be 0 or more")
    cutoff = await conn.fetchval(CUTOFF, closed_days)
    if dry_run:
        due = await conn.fetchrow(DUE, cutoff)
        return RetentionReport(
            closed_days=closed_days, dry_run=True, items=due["items"], contacts=due["contacts"], batches=0
        )
    report = RetentionReport(closed_days=closed_days, dry_run=False, items=0, contacts=0, batches=0)
    while (until is None or time.monotonic() < until) and not stopped():
        done = await conn.fetchrow(ANONYMISE_BATCH, cutoff, batch_size or BATCH_SIZE)
        if done["items"] == 0:
            return report
        report.batches += 1
        report.items += done["items"]
        report.contacts += done["contacts"]
    return report
