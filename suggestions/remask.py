"""Masking again what was stored before the masking learnt more.

What staff, operators and residents read is masked when it is stored (`privacy.mask_pii`): an item's text and place,
a reply, a follow-up note, a rating's comment and the reply it was about (and the words of each rating given, and of
one given of a reply withdrawn meanwhile), a case's summary (its first report's masked text, cut short) and the reply
it was closed with, and why staff dismissed a hotspot. When the masking learns a new form of a phone (spelt in Chinese
numerals, written with dots) or of a name, what was stored before keeps the old masking until this runs: each masked
column is computed again from what it was made from (the raw text where it is kept, else the masked text
itself; masking is idempotent, so a placeholder stays as it is). What retention kept of an anonymised item (its
masked forms, as they were then) is masked again with them.

Batches of rows by key, each committed on its own, so a large store is never locked for long. A row is written only
if its masked form changes, and only if its source is still what was read (an answer replaced meanwhile is left to
the next run). Running it again changes nothing.

A work-order number is not masked but taken out when it is a phone or ID number (`WORK_ORDERS`): it numbers nothing.
A phone so taken out becomes the item's call-back number when it has none.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

import msgspec

from suggestions.privacy import holds_phone_or_id, mask_pii, normalize_phone

BATCH_SIZE = 500

ITEMS = """
SELECT id, text, text_masked, place, answer, answer_masked, anonymised_at FROM items WHERE id > $1 ORDER BY id LIMIT $2
"""
# A case's summary is its first report's masked text, cut: taken again from that report (the member whose old
# masked text it was cut from), so that a number the cut split is masked whole. $1 the item, $7 its old masked text.
UPDATE_ITEM = """
WITH item AS (
    -- What retention kept of an anonymised item is its masked form: masked again with it.
    UPDATE items SET text_masked = $4, place = $5, answer_masked = $6,
        text = CASE WHEN anonymised_at IS NULL THEN text ELSE $4 END,
        answer = CASE WHEN anonymised_at IS NULL THEN answer ELSE $6 END
    WHERE id = $1 AND text IS NOT DISTINCT FROM $2 AND answer IS NOT DISTINCT FROM $3
    RETURNING id, case_id
)
, summary AS (
    UPDATE cases c SET summary = left($4, 80)
    FROM item WHERE c.id = item.case_id AND c.summary = left($7, 80) AND c.summary <> left($4, 80)
    RETURNING c.id
)
SELECT (SELECT count(*) FROM item) AS items, (SELECT count(*) FROM summary) AS summaries
"""
# The passes of one masked column by id (`_remask_column`): each row's `source`, what its masked form is made from,
# and `masked`, the form stored; $1 the last id read, $2 the batch's size. Each update takes (id, source, new form)
# and writes only if the source is still what was read.
NOTES = "SELECT id, text AS source, text_masked AS masked FROM item_notes WHERE id > $1 ORDER BY id LIMIT $2"
UPDATE_NOTE = """
UPDATE item_notes n SET text_masked = $3,
    text = CASE WHEN (SELECT anonymised_at FROM items WHERE id = n.item_id) IS NULL THEN n.text ELSE $3 END
WHERE n.id = $1 AND n.text = $2
"""
RATINGS = """
SELECT item_id, closed_at, comment, answer_masked FROM ratings
WHERE $2::timestamptz IS NULL OR (item_id, closed_at) > ($1, $2) ORDER BY item_id, closed_at LIMIT $3
"""
UPDATE_RATING = """
UPDATE ratings SET comment = $5, answer_masked = $6
WHERE item_id = $1 AND closed_at = $2 AND comment IS NOT DISTINCT FROM $3 AND answer_masked IS NOT DISTINCT FROM $4
"""
# The words given with each rating on record, and those given with a rating of a reply withdrawn meanwhile: stored
# masked only.
RATING_CHANGE_COMMENTS = """
SELECT id, comment AS source, comment AS masked FROM rating_changes
WHERE id > $1 AND comment IS NOT NULL ORDER BY id LIMIT $2
"""
UPDATE_RATING_CHANGE_COMMENT = "UPDATE rating_changes SET comment = $3 WHERE id = $1 AND comment = $2"
RESIDENT_COMMENTS = (
    "SELECT id, comment AS source, comment AS masked FROM resident_comments WHERE id > $1 ORDER BY id LIMIT $2"
)
UPDATE_RESIDENT_COMMENT = "UPDATE resident_comments SET comment = $3 WHERE id = $1 AND comment = $2"
# `traced`: the summary is still cut from one of its case's reports (the items' pass masked it again with that report).
CASES = """
SELECT c.id, c.summary AS source, c.summary AS masked,
       EXISTS (SELECT 1 FROM items i WHERE i.case_id = c.id AND left(i.text_masked, 80) = c.summary) AS traced
FROM cases c WHERE c.id > $1 ORDER BY c.id LIMIT $2
"""
UPDATE_CASE = "UPDATE cases SET summary = $3 WHERE id = $1 AND summary = $2"
# The reply a case was closed with: stored masked only.
CASE_ANSWERS = """
SELECT id, answer_masked AS source, answer_masked AS masked FROM cases
WHERE id > $1 AND answer_masked IS NOT NULL ORDER BY id LIMIT $2
"""
UPDATE_CASE_ANSWER = "UPDATE cases SET answer_masked = $3 WHERE id = $1 AND answer_masked = $2"
# Why staff dismissed a hotspot: stored masked only.
DISMISSAL_NOTES = """
SELECT id, dismissal_note AS source, dismissal_note AS masked FROM hotspots
WHERE id > $1 AND dismissal_note IS NOT NULL ORDER BY id LIMIT $2
"""
UPDATE_DISMISSAL_NOTE = "UPDATE hotspots SET dismissal_note = $3 WHERE id = $1 AND dismissal_note = $2"
# A work-order number is shown to staff and exported as it is: one that holds a caller's phone or ID number, typed into
# its box before intake refused that (`service.checked_external_id`), numbers no work order and is taken out.
WORK_ORDERS = """
SELECT id, external_id AS source, external_id AS masked FROM items
WHERE id > $1 AND external_id IS NOT NULL ORDER BY id LIMIT $2
"""
# The number was the caller's, typed into the wrong box as they read it out: an item with no phone to call back on
# (and whose contact retention has not let go) keeps it as that, in `normalize_phone`'s form ($4).
UPDATE_WORK_ORDER = """
WITH item AS (
    UPDATE items SET external_id = $3 WHERE id = $1 AND external_id = $2 RETURNING id, anonymised_at
)
INSERT INTO contacts (item_id, phone) SELECT id, $4 FROM item WHERE $4::text IS NOT NULL AND anonymised_at IS NULL
ON CONFLICT (item_id) DO UPDATE SET phone = excluded.phone
WHERE contacts.phone IS NULL AND contacts.anonymised_at IS NULL
"""


SUMMARY_LENGTH = 80  # a case's summary: left(first report's masked text, 80)
# What the cut at SUMMARY_LENGTH may have split: the start of a number, in digits or Chinese numerals.
_CUT_NUMBER = re.compile(r"[0-9０-９零〇一二三四五六七八九幺 .\-]{4,}$")


def _summary_masked(summary: str, traced: bool = False) -> str:
    """A summary masked as it reads, and, when it was cut and cannot be traced to a report of its case (`traced`),
    a run of digits at the cut (a phone split by it is no phone to the masking) left out."""
    masked = mask_pii(summary)
    if not traced and len(summary) == SUMMARY_LENGTH:
        masked = _CUT_NUMBER.sub("…", masked)
    return masked


class RemaskReport(msgspec.Struct, kw_only=True):
    """Counts only: how many rows of each kind were read, and how many masked again (with `dry_run`: would be; a
    case's summary then counts when it masks differently as it reads)."""

    dry_run: bool
    items: int = 0
    items_changed: int = 0
    notes: int = 0
    notes_changed: int = 0
    ratings: int = 0
    ratings_changed: int = 0
    rating_changes_changed: int = 0  # the words kept with each rating given (`rating_changes`)
    resident_comments_changed: int = 0  # words given with a rating of a reply withdrawn meanwhile
    cases: int = 0
    cases_changed: int = 0
    dismissal_notes_changed: int = 0
    case_answers_changed: int = 0
    work_orders_removed: int = 0  # work-order numbers that were a phone or ID number (`WORK_ORDERS`)


def _masked(value: str | None, keep: frozenset[str] = frozenset()) -> str | None:
    return None if value is None else mask_pii(value, keep)


async def remask(
    conn: Any, *, dry_run: bool = False, batch_size: int = BATCH_SIZE, keep: frozenset[str] = frozenset()
) -> RemaskReport:
    """Mask every stored text again. Call it outside a transaction: each batch commits on its own. `keep`: the office
    numbers staff replies and notes show as written (`privacy.public_phones`), as when they were written."""
    report = RemaskReport(dry_run=dry_run)
    last = 0
    while rows := await conn.fetch(ITEMS, last, batch_size):
        last = rows[-1]["id"]
        report.items += len(rows)
        changed = []
        for r in rows:
            text_masked = mask_pii(r["text"])
            place = mask_pii(r["place"])
            answer_masked = _masked(r["answer"], keep) if r["answer"] is not None else r["answer_masked"]
            kept = r["anonymised_at"] is not None and (r["text"], r["answer"]) != (text_masked, answer_masked)
            if kept or (text_masked, place, answer_masked) != (r["text_masked"], r["place"], r["answer_masked"]):
                changed.append((r["id"], r["text"], r["answer"], text_masked, place, answer_masked, r["text_masked"]))
        if dry_run:
            report.items_changed += len(changed)
            continue
        async with conn.transaction():
            for row in changed:
                done = await conn.fetchrow(UPDATE_ITEM, *row)
                report.items_changed += done["items"]
                report.cases_changed += done["summaries"]

    column = partial(_remask_column, conn, batch_size=batch_size, dry_run=dry_run)
    report.notes, report.notes_changed = await column(NOTES, UPDATE_NOTE, lambda r: mask_pii(r["source"], keep))

    after: tuple[int, Any] = (0, None)
    while rows := await conn.fetch(RATINGS, *after, batch_size):
        after = (rows[-1]["item_id"], rows[-1]["closed_at"])
        report.ratings += len(rows)
        ratings = []
        for r in rows:
            comment, answer = _masked(r["comment"]), _masked(r["answer_masked"], keep)
            if (comment, answer) != (r["comment"], r["answer_masked"]):
                ratings.append((r["item_id"], r["closed_at"], r["comment"], r["answer_masked"], comment, answer))
        report.ratings_changed += len(ratings)
        if ratings and not dry_run:
            async with conn.transaction():
                await conn.executemany(UPDATE_RATING, ratings)

    _, report.rating_changes_changed = await column(
        RATING_CHANGE_COMMENTS, UPDATE_RATING_CHANGE_COMMENT, lambda r: mask_pii(r["source"])
    )
    _, report.resident_comments_changed = await column(
        RESIDENT_COMMENTS, UPDATE_RESIDENT_COMMENT, lambda r: mask_pii(r["source"])
    )

    # What the items' pass could not trace to a member (a case whose first report was moved out): masked as it reads.
    report.cases, untraced = await column(CASES, UPDATE_CASE, lambda r: _summary_masked(r["source"], r["traced"]))
    report.cases_changed += untraced
    _, report.dismissal_notes_changed = await column(
        DISMISSAL_NOTES, UPDATE_DISMISSAL_NOTE, lambda r: mask_pii(r["source"])
    )
    _, report.case_answers_changed = await column(
        CASE_ANSWERS, UPDATE_CASE_ANSWER, lambda r: mask_pii(r["source"], keep)
    )
    report.work_orders_removed = await _take_out_work_orders(conn, batch_size=batch_size, dry_run=dry_run)
    return report


def _phone_in(work_order: str) -> str | None:
    try:
        return normalize_phone(work_order)
    except ValueError:
        return None  # an ID number, or a phone among other characters


async def _take_out_work_orders(conn: Any, *, batch_size: int, dry_run: bool) -> int:
    """Take out the work-order numbers that are a phone or ID number (`WORK_ORDERS`); how many."""
    removed = last = 0
    while rows := await conn.fetch(WORK_ORDERS, last, batch_size):
        last = rows[-1]["id"]
        wrong = [(r["id"], r["source"], None, _phone_in(r["source"])) for r in rows if holds_phone_or_id(r["source"])]
        removed += len(wrong)
        if wrong and not dry_run:
            async with conn.transaction():
                await conn.executemany(UPDATE_WORK_ORDER, wrong)
    return removed


async def _remask_column(
    conn: Any, select: str, update: str, masked: Callable[[Any], str], *, batch_size: int, dry_run: bool
) -> tuple[int, int]:
    """Mask one column again, by id (`select` and `update` as NOTES and UPDATE_NOTE; `masked`: a row's new form).
    Returns (rows read, rows whose masked form changes)."""
    read = changed = last = 0
    while rows := await conn.fetch(select, last, batch_size):
        last = rows[-1]["id"]
        read += len(rows)
        updates = [(r["id"], r["source"], new) for r in rows if (new := masked(r)) != r["masked"]]
        changed += len(updates)
        if updates and not dry_run:
            async with conn.transaction():
                await conn.executemany(update, updates)
    return read, changed
