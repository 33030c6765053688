"""Staff workflow: assign an item to a desk or department, close it with a reply to the resident."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta

from suggestions.db import rerun_after_schema_change
from suggestions.errors import InvalidInput, StateConflict
from suggestions.intake.schema import NO_NUL, Strict
from suggestions.intake.service import shows_anything
from suggestions.privacy import mask_pii
from suggestions.triage.ratings import at_work_again

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


class Withdrawal(Strict):
    reason: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=500,
            pattern=NO_NUL,
            description="why the reply is withdrawn (sent to the wrong item, before the work was done); kept in a "
            "staff note with the reply, phone, ID and card numbers masked",
        ),
    ]


LOCK_ITEM = "SELECT status FROM items WHERE id = $1 FOR UPDATE"

# An item with the desk already (the same hand-over sent again: a double click, a retry without an Idempotency-Key)
# is left as it is: no second hand-over in its record, and the time it was handed over stays the first one's.
ASSIGN = """
WITH handed AS (
    UPDATE items SET status = 'assigned', assigned_to = $2, assigned_by = $3, assigned_at = now(), updated_at = now()
    WHERE id = $1 AND NOT (status = 'assigned' AND assigned_to IS NOT DISTINCT FROM $2)
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


@rerun_after_schema_change
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
    """Assign an open, failed or already assigned item (reassigning it); False if there is no such item. An item
    assigned to this desk already stays as it is, and the step is done (`ASSIGN`)."""
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


LOCK_CLOSED = """
SELECT i.status, i.anonymised_at, i.answer, i.answer_masked,
       EXISTS (SELECT 1 FROM ratings r WHERE r.item_id = i.id AND r.closed_at = i.closed_at) AS rated
FROM items i WHERE i.id = $1 FOR UPDATE
"""

# Back to work as a reply sent back is (`ratings.REOPEN`), but no resident sent it back: not counted as such, and the
# reply leaves the item, since nobody was meant to read it; the resident who did is told it was withdrawn
# (`reply_withdrawn_at`, on the tracking page until the item is answered again). Its closing leaves the satisfaction
# report with it.
WITHDRAW = """
UPDATE items SET
    status = CASE WHEN classification_id IS NULL THEN 'failed' WHEN assigned_to IS NULL THEN 'open' ELSE 'assigned' END,
    closed_at = NULL, closed_by = NULL, answer = NULL, answer_masked = NULL, hotspot_id = NULL, updated_at = now(),
    reply_withdrawn_at = now()
WHERE id = $1
RETURNING status, topic, risk_level, case_id
"""

WITHDRAWAL_NOTE = """
INSERT INTO item_notes (item_id, text, text_masked, public, written_by) VALUES ($1, $2, $3, false, $4)
"""


@rerun_after_schema_change
async def withdraw_reply(conn: Any, *, item_id: int, withdrawal: Withdrawal, who: int) -> bool:
    """Take back the reply of a closed item nobody has rated yet (sent to the wrong item, or before the work was
    done): the item is at work again, and a staff note says who withdrew which reply and why. False if there is no
    such item. A reply the resident rated is theirs: they send it back if it does not stand."""
    reason = withdrawal.reason.strip()
    if not shows_anything(reason):
        raise InvalidInput("reason", "write why the reply is withdrawn")
    async with conn.transaction():
        item = await conn.fetchrow(LOCK_CLOSED, item_id)
        if item is None:
            return False
        if item["status"] != "closed":
            raise StateConflict("the item has no reply to withdraw: it is not closed", current_status=item["status"])
        if item["rated"]:
            raise StateConflict(
                "the resident has rated this reply: only they can send it back", current_status=item["status"]
            )
        # Retention passes over an item once: what it erased stays erased, and a note would keep raw text for good.
        if item["anonymised_at"] is not None:
            raise StateConflict(
                "the item's personal data was erased by retention: file a new item", current_status=item["status"]
            )
        said, masked = f"撤回答复：{reason}。撤回的答复：", f"撤回答复：{mask_pii(reason)}。撤回的答复："
        await conn.execute(
            WITHDRAWAL_NOTE, item_id, said + (item["answer"] or ""), masked + (item["answer_masked"] or ""), who
        )
        back = await conn.fetchrow(WITHDRAW, item_id)
        await at_work_again(conn, item_id, back)
    return True
