"""Staff workflow: assign an item to a desk or department, close it with a reply to the resident."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta

from suggestions.errors import InvalidInput, StateConflict
from suggestions.intake.schema import NO_NUL, Strict
from suggestions.intake.service import shows_anything
from suggestions.privacy import mask_pii

MAX_ANSWER_LENGTH = 5000


class Assignment(Strict):
    to: Annotated[
        str, Meta(min_length=1, max_length=100, pattern=NO_NUL, description="the desk or department that handles it")
    ]


class Closing(Strict):
    answer: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=MAX_ANSWER_LENGTH,
            pattern=NO_NUL,
            description="the reply to the resident; shown on the tracking page with phone, ID and card numbers masked",
        ),
    ]


LOCK_ITEM = "SELECT status FROM items WHERE id = $1 FOR UPDATE"

ASSIGN = """
WITH handed AS (
    UPDATE items SET status = 'assigned', assigned_to = $2, assigned_by = $3, assigned_at = now(), updated_at = now()
    WHERE id = $1
    RETURNING id, assigned_to, assigned_by, assigned_at
)
-- The record of every hand-over: the item keeps only its current desk.
INSERT INTO item_assignments (item_id, desk, assigned_by, assigned_at) SELECT * FROM handed
"""

# A new reply has no rating yet: the one a resident sent back is the last reply's, kept in `ratings`.
CLOSE = """
UPDATE items SET status = 'closed', answer = $2, answer_masked = $3, closed_by = $4, closed_at = now(),
    satisfaction = NULL, updated_at = now()
WHERE id = $1
"""


def _refuse_unless_workable(status: str) -> None:
    if status == "closed":
        raise StateConflict("the item is closed", current_status=status)
    # A pending item is being classified; taking it out of `pending` would leave it without topic and risk.
    if status == "pending":
        raise StateConflict(
            "the item is still being classified: try again shortly, or set its classification first",
            current_status=status,
        )


async def _change(conn: Any, item_id: int, statement: str, *args: Any) -> bool:
    """Apply one workflow step to an item that allows it; False if there is no such item."""
    async with conn.transaction():
        status = await conn.fetchval(LOCK_ITEM, item_id)
        if status is None:
            return False
        _refuse_unless_workable(status)
        await conn.execute(statement, item_id, *args)
    return True


async def assign(conn: Any, *, item_id: int, assignment: Assignment, who: int) -> bool:
    """Assign an open, failed or already assigned item (reassigning it); False if there is no such item."""
    desk = assignment.to.strip()
    if not shows_anything(desk):
        raise InvalidInput("to", "name the desk or department")
    return await _change(conn, item_id, ASSIGN, desk, who)


def reply(closing: Closing, keep: frozenset[str] = frozenset()) -> tuple[str, str]:
    """The reply as written (the record) and as residents read it, phone, ID and card numbers masked but the office
    numbers in `keep` (`privacy.public_phones`)."""
    answer = closing.answer.strip()
    if not shows_anything(answer):  # a zero-width space would close the item with a reply the resident cannot see
        raise InvalidInput("answer", "write the reply to the resident")
    return answer, mask_pii(answer, keep)


async def close(conn: Any, *, item_id: int, closing: Closing, who: int, keep: frozenset[str] = frozenset()) -> bool:
    """Close an item with the reply to the resident; False if there is no such item."""
    return await _change(conn, item_id, CLOSE, *reply(closing, keep), who)
