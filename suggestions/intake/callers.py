"""A caller's earlier items, for the operator taking their call: "item X is still open with desk Y" before a fourth.

Found as `cases/suggest` finds a caller (`hotspots.views.CALLER_CASES`): the items whose contact holds the phone, in
canonical form, compared in the database, grid reports left out (a grid worker leaves their own phone on the many
problems they report); every one is looked at, so that an item still open is never missed for being old, and the
latest OPEN_SHOWN open ones listed: a switchboard's hundreds would flood the operator's screen, who is told how many
more there are. Listing them links a phone to items as reading their contact does: each item listed, and only those,
is recorded in `contact_reads`, as `caller_history`.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from suggestions.db import rerun_after_schema_change
from suggestions.hotspots.tracker import OWN_CASES_MAX
from suggestions.intake.schema import Channel, Status
from suggestions.privacy import phone_line

# What an operator asks about: what the caller has open, whenever it came, and what they were answered lately.
CLOSED_SHOWN_DAYS = 90
SUMMARY_LENGTH = 60
# A resident has a few items open at once; a phone with more is a switchboard or an office, whose latest say enough.
OPEN_SHOWN = 30
OPEN = ("pending", "open", "failed", "assigned")

# Every item of the phone is looked at, by its index: an item still open is never left out for being old, however many
# the phone has had answered since (a frequent caller, a switchboard). The latest `$5` open and the latest `$2` of those
# closed lately are listed, and how many of each there were is counted.
CALLER_ITEMS = """
WITH theirs AS MATERIALIZED (
    SELECT item_id FROM contacts WHERE split_part(phone, '转', 1) = $1
), kept AS (
    SELECT i.id, i.tracking_code, i.received_at, i.channel, i.status, i.topic, i.assigned_to, i.case_id, i.closed_at,
           left(i.text_masked, $4) AS summary,
           row_number() OVER latest AS nth,
           count(*) OVER (PARTITION BY i.status = 'closed') AS of_status
    FROM theirs JOIN items i ON i.id = theirs.item_id
    WHERE i.channel <> 'grid' AND (i.status <> 'closed' OR i.closed_at > $3)
    WINDOW latest AS (PARTITION BY i.status = 'closed' ORDER BY i.received_at DESC, i.id DESC)
)
SELECT * FROM kept
WHERE nth <= CASE WHEN status = 'closed' THEN $2::bigint ELSE $5::bigint END
ORDER BY status = 'closed', received_at DESC, id DESC
"""

# The district's own and office numbers (`tracker.record_public_lines`), which an operator may type for a caller who
# gives none: the items left with one are other callers', not this one's.
PUBLIC_LINE = "SELECT EXISTS (SELECT 1 FROM public_lines WHERE line = $1)"
PUBLIC_LINE_MESSAGE = "该号码是本区的公共号码，不是来电人自己的电话：不列出其他来电人用它登记的诉求"

RECORD_READS = """
INSERT INTO contact_reads (item_id, read_by, purpose) SELECT unnest($1::bigint[]), $2, 'caller_history'
"""


class CallerItem(msgspec.Struct, kw_only=True):
    id: int
    tracking_code: str
    received_at: datetime
    channel: Channel
    status: Status
    status_text: str
    topic: str | None  # null while it is being classified
    assigned_to: str | None  # the desk handling it (or that answered it)
    case_id: int | None
    closed_at: datetime | None
    summary: str  # the first words, phone, ID and card numbers and names masked


class CallerHistory(msgspec.Struct, kw_only=True):
    items: list[CallerItem]  # the latest not closed first, then the latest of those closed lately; newest first in each
    open: int  # how many are not closed, listed or not
    open_not_listed: int  # how many of those are not listed (more than OPEN_SHOWN: a switchboard)
    closed: int  # how many were closed in the last CLOSED_SHOWN_DAYS days, listed or not
    truncated: bool  # some of those closed are not listed (more than the limit)
    shared: bool  # no one person's: on more open cases than one resident has (a switchboard), or a public number
    message: str  # the same in a sentence for the operator, and plainly so when there is nothing


def _message(items: list[CallerItem], open_count: int, closed: int, shared: bool) -> str:
    if not items:
        return f"该号码没有未办结的诉求，近 {CLOSED_SHOWN_DAYS} 天也没有办结的诉求"
    said = f"该号码有 {open_count} 件未办结" if open_count else "该号码没有未办结的诉求"
    open_listed = sum(item.status in OPEN for item in items)
    if open_listed < open_count:
        said += f"，只列出最近的 {open_listed} 件，另有 {open_count - open_listed} 件未列出"
    repeated = Counter(item.case_id for item in items if item.status in OPEN and item.case_id is not None)
    said += "".join(f"，其中 {n} 件是同一问题（案件 {case}）" for case, n in repeated.most_common() if n > 1)
    said += f"，近 {CLOSED_SHOWN_DAYS} 天办结 {closed} 件" if closed else ""
    listed = len(items) - open_listed
    said += f"，只列出最近的 {listed} 件" if listed < closed else ""
    if shared:
        said += f"；此号码涉及超过 {OWN_CASES_MAX} 个不同问题，可能是多人共用的电话"
    return said


@rerun_after_schema_change
async def caller_history(conn: Any, *, phone: str, who: int, limit: int, status_text: dict[str, str]) -> CallerHistory:
    """The items left with this phone (canonical form), with or without an extension (`phone_line`), the reads recorded
    in the same transaction; none for one of the district's public numbers (`shared`, and the message says why)."""
    since = datetime.now(UTC) - timedelta(days=CLOSED_SHOWN_DAYS)
    line = phone_line(phone)
    async with conn.transaction():
        if await conn.fetchval(PUBLIC_LINE, line):
            return CallerHistory(
                items=[], open=0, open_not_listed=0, closed=0, truncated=False, shared=True, message=PUBLIC_LINE_MESSAGE
            )
        rows = await conn.fetch(CALLER_ITEMS, line, limit, since, SUMMARY_LENGTH, OPEN_SHOWN)
        if rows:
            await conn.execute(RECORD_READS, [row["id"] for row in rows], who)
    items = [
        CallerItem(
            id=row["id"],
            tracking_code=row["tracking_code"],
            received_at=row["received_at"],
            channel=row["channel"],
            status=row["status"],
            status_text=status_text[row["status"]],
            topic=row["topic"],
            assigned_to=row["assigned_to"],
            case_id=row["case_id"],
            closed_at=row["closed_at"],
            summary=row["summary"],
        )
        for row in rows
    ]
    open_listed = sum(item.status in OPEN for item in items)
    open_count = next((row["of_status"] for row in rows if row["status"] != "closed"), 0)
    closed = next((row["of_status"] for row in rows if row["status"] == "closed"), 0)
    open_cases = {item.case_id for item in items if item.status in OPEN and item.case_id is not None}
    shared = len(open_cases) > OWN_CASES_MAX
    return CallerHistory(
        items=items,
        open=open_count,
        open_not_listed=open_count - open_listed,
        closed=closed,
        truncated=len(items) - open_listed < closed,
        shared=shared,
        message=_message(items, open_count, closed, shared),
    )
