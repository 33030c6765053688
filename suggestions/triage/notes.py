"""Following an item up: staff notes on the way from assigning to closing it.

A public note is an interim reply (阶段性答复) the resident reads on the tracking page, so that a problem that takes
weeks does not read as "处理中" and nothing else; the others are for staff, a handover from one desk or shift to the
next. Notes are shown with phone, ID and card numbers masked, and retention keeps only that form.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from suggestions.db import rerun_after_schema_change
from suggestions.errors import InvalidInput, StateConflict
from suggestions.intake.schema import NO_NUL, Strict
from suggestions.intake.service import shows_anything
from suggestions.privacy import mask_pii

MAX_NOTE_LENGTH = 2000


# Who reads a note: staff only, or the resident too, on the tracking page, as an interim reply. A word rather than a
# flag: request bodies are decoded leniently, and 0 or "" would pass for false.
Audience = Literal["staff", "resident"]


class NoteIn(Strict):
    text: Annotated[str, Meta(min_length=1, max_length=MAX_NOTE_LENGTH, pattern=NO_NUL, description="the note")]
    audience: Annotated[Audience, Meta(description="staff: a note for staff; resident: an interim reply")] = "staff"


class NoteView(msgspec.Struct, kw_only=True):
    id: int
    text: str  # masked
    audience: Audience
    written_at: datetime
    written_by: int | None = None  # the staff token that wrote it, by its id (`suggestions token list`)


LOCK_ITEM = "SELECT status, anonymised_at FROM items WHERE id = $1 FOR UPDATE"
ADD = """
INSERT INTO item_notes (item_id, text, text_masked, public, written_by) VALUES ($1, $2, $3, $4, $5)
RETURNING id, text_masked, CASE WHEN public THEN 'resident' ELSE 'staff' END AS audience, written_at, written_by
"""
# The note a step sent under an Idempotency-Key wrote, found again when the step is sent again (`triage.once`).
WRITTEN = """
SELECT id, text_masked, CASE WHEN public THEN 'resident' ELSE 'staff' END AS audience, written_at, written_by
FROM item_notes WHERE item_id = $1 AND written_by = $2 AND text = $3 AND public = $4
ORDER BY id DESC LIMIT 1
"""
# The resident sees the item updated when a public note is written.
TOUCH = "UPDATE items SET updated_at = now() WHERE id = $1"


@rerun_after_schema_change
async def add_note(
    conn: Any, *, item_id: int, note: NoteIn, who: int, keep: frozenset[str] = frozenset()
) -> NoteView | None:
    """Write a note on the item; None if there is no such item. `keep`: office numbers shown as written."""
    text = note.text.strip()
    if not shows_anything(text):
        raise InvalidInput("text", "write the note")
    async with conn.transaction():
        public = note.audience == "resident"
        item = await conn.fetchrow(LOCK_ITEM, item_id)
        if item is None:
            return None
        # Retention passes over an item once: a note written after it would keep its raw text for good.
        if item["anonymised_at"] is not None:
            raise StateConflict(
                "the item's personal data was erased by retention: it takes no more notes",
                current_status=item["status"],
            )
        row = await conn.fetchrow(ADD, item_id, text, mask_pii(text, keep), public, who)
        if public:
            await conn.execute(TOUCH, item_id)
    return _view(row)


async def note_written(conn: Any, *, item_id: int, note: NoteIn, who: int) -> NoteView | None:
    """The latest note `who` wrote on the item in these words, for this audience."""
    row = await conn.fetchrow(WRITTEN, item_id, who, note.text.strip(), note.audience == "resident")
    return None if row is None else _view(row)


def _view(row: Any) -> NoteView:
    return NoteView(
        id=row["id"],
        text=row["text_masked"],
        audience=row["audience"],
        written_at=row["written_at"],
        written_by=row["written_by"],
    )
