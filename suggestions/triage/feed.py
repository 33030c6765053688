"""The triage feed: most urgent first, then oldest, each entry saying why it ranks where it does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from suggestions import cursors
from suggestions.hotspots.tracker import CASE_WINDOW
from suggestions.hotspots.views import explain
from suggestions.intake.schema import Channel, Kind, RowId, Status
from suggestions.triage.ratings import RATING_TEXT, withdrawn_meanwhile

OPEN_STATUSES: tuple[Status, ...] = ("pending", "open", "failed", "assigned")
RISK_NAMES = {0: "一般", 1: "关注", 2: "预警", 3: "紧急"}
# An item nobody has assessed yet ranks as a warning: in doubt, the higher level (risk rubric).
UNASSESSED_RISK = 2


class Reason(msgspec.Struct, frozen=True):
    # risk | unclassified | classification_failed | dissatisfied | reply_withdrawn | hotspot | reported_again |
    # resident_comment | needs_review | waiting
    code: str
    message: str


class FeedEntry(msgspec.Struct, kw_only=True):
    id: int
    tracking_code: str
    priority: int  # 0 is the most urgent
    reasons: list[Reason]
    risk_level: int | None
    topic: str | None
    place: str
    street: str | None
    status: Status
    received_at: datetime
    channel: Channel
    kind: Kind | None
    needs_review: bool
    excerpt: str
    case_id: int | None = None
    hotspot_id: int | None = None
    assigned_to: str | None = None


class Feed(msgspec.Struct, kw_only=True):
    items: list[FeedEntry]
    next_cursor: str | None
    # On a page after the first: items that now rank above the cursor and rose there (or arrived, or came back to
    # work, or, in a feed filtered by status, took one of its statuses) after the previous page was read. Without
    # them a walk would skip an item made urgent meanwhile. An item may show twice in one walk (here, or again
    # further down after it fell): its id says so.
    moved_up: list[FeedEntry] = []


class FeedFilter(msgspec.Struct, frozen=True, kw_only=True):
    statuses: tuple[Status, ...] = OPEN_STATUSES
    min_risk: int | None = None
    topic: str | None = None
    channel: str | None = None
    place: str | None = None
    needs_review: bool | None = None
    sent_back: bool | None = None  # a resident rated its reply dissatisfied and it went back to work
    desk: str | None = None  # the desk the items are assigned to: a desk's own queue


# Transactions a cursor remembers as still running (`_Cursor.late`): more than a few at once is rare, and the cursor
# goes into a URL.
MAX_LATE = 32


class _Cursor(msgspec.Struct, array_like=True, frozen=True):
    # Bounded like the columns it is compared with: a forged number past them is bad input, not a database error.
    priority: Annotated[int, Meta(ge=-(2**15), le=2**15 - 1)]  # smallint
    received_at: datetime
    id: RowId
    # Where `moved_up` goes on from: items raised by transaction `moved_xid` or later (and, within it, after item
    # `moved_id`). A cursor of an earlier release carries neither, and lists none.
    moved_xid: Annotated[int, Meta(ge=0, le=2**63 - 1)] | None = None
    moved_id: Annotated[int, Meta(ge=0, le=2**63 - 1)] = 0
    # When a page carried raised items over: the transactions older than `moved_xid` still running when it was read.
    # What they raise becomes visible behind `moved_xid`, and is listed on the next page all the same.
    late: Annotated[list[Annotated[int, Meta(ge=0, le=2**63 - 1)]], Meta(max_length=MAX_LATE)] = []


FILTER = """
  i.status = ANY($1::text[])
  AND ($2::int IS NULL OR coalesce(i.risk_level, $10) >= $2)
  AND ($3::text IS NULL OR i.topic = $3)
  AND ($4::text IS NULL OR i.channel = $4)
  AND ($5::text IS NULL OR strpos(i.place, $5) > 0 OR i.street = $5 OR i.locality = $5)
  AND ($6::boolean IS NULL OR i.needs_review = $6)
  AND ($12::boolean IS NULL OR (i.reopened_at IS NOT NULL) = $12)
  AND ($13::text IS NULL OR i.assigned_to = $13)
"""

COLUMNS = """
SELECT i.id, i.tracking_code, i.priority, i.risk_level, i.topic, i.place, i.street, i.status, i.received_at,
       i.channel, i.kind, i.needs_review, left(i.text_masked, 120) AS excerpt, i.case_id, i.hotspot_id,
       i.assigned_to, i.reopened_at, i.reopen_count, i.satisfaction, i.reply_withdrawn_at,
       -- The resident's words (masked when stored): with their rating of the reply an item closed stands on; for an
       -- item at work again because staff withdrew its reply (the latest event, `back_at_work`), the latest they gave
       -- with a rating of the reply withdrawn since then (`resident_comments`); or, for one they sent back, when they
       -- last sent a reply back (what is still wrong).
       CASE WHEN i.status = 'closed' THEN (
           SELECT r.comment FROM ratings r WHERE r.item_id = i.id AND r.closed_at = i.closed_at
       ) WHEN i.reply_withdrawn_at > coalesce(i.reopened_at, '-infinity') THEN (
           SELECT c.comment FROM resident_comments c WHERE c.item_id = i.id AND c.said_at >= i.reply_withdrawn_at
           ORDER BY c.said_at DESC, c.id DESC LIMIT 1
       ) WHEN i.reopened_at IS NOT NULL THEN (
           SELECT r.comment FROM ratings r WHERE r.item_id = i.id AND r.reopened ORDER BY r.closed_at DESC LIMIT 1
       ) END AS resident_said,
       -- When the case's report before this one came (the latest other member received before it, ties by id),
       -- read from the case as it is now, staff's merges and splits included (`reported_again`): from items_case.
       (SELECT p.received_at FROM items p
        WHERE p.case_id = i.case_id AND (p.received_at, p.id) < (i.received_at, i.id)
        ORDER BY p.received_at DESC, p.id DESC LIMIT 1) AS case_previous_at,
       h.kind AS hotspot_kind, h.street AS hotspot_street, h.topic AS hotspot_topic, h.why AS hotspot_why,
       h.case_id AS hotspot_case_id, i.rank_xid::text::bigint AS rank_xid,
       greatest(i.rank_xid, i.status_xid)::text::bigint AS moved_in_xid,
       pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS snapshot_xmin,
       (SELECT coalesce(array_agg(x::text::bigint), '{}') FROM pg_snapshot_xip(pg_current_snapshot()) x)
           AS snapshot_running
FROM items i
LEFT JOIN hotspots h ON h.id = i.hotspot_id
"""

FEED = (
    COLUMNS
    + "WHERE"
    + FILTER
    + """  AND ($7::smallint IS NULL OR (i.priority, i.received_at, i.id) > ($7, $8, $9))
ORDER BY i.priority, i.received_at, i.id
LIMIT $11
"""
)

# Items raised since the previous page's snapshot and now at or above its cursor, by the transaction that raised
# them: read from the index of raised items (items_rank_raised), few whatever the backlog.
MOVED_UP = (
    COLUMNS
    + "WHERE"
    + FILTER
    + """  AND ((i.rank_xid, i.id) > ($14::text::xid8, $15) OR i.rank_xid = ANY($16::text[]::xid8[]))
  AND (i.priority, i.received_at, i.id) <= ($7, $8, $9)
ORDER BY i.rank_xid, i.id
LIMIT $11
"""
)

# A walk of some of the feed's statuses (a desk's assigned items, the failed ones, the closed ones) also sees items
# arrive by a change of status (assigned, given up on, closed) that leaves their rank as it was: read from
# items_status_moved.
MOVED_IN = (
    COLUMNS
    + "WHERE"
    + FILTER
    + """  AND ((greatest(i.rank_xid, i.status_xid), i.id) > ($14::text::xid8, $15)
       OR greatest(i.rank_xid, i.status_xid) = ANY($16::text[]::xid8[]))
  AND (i.priority, i.received_at, i.id) <= ($7, $8, $9)
ORDER BY greatest(i.rank_xid, i.status_xid), i.id
LIMIT $11
"""
)


def encode_cursor(
    entry: FeedEntry | _Cursor, moved_xid: int | None = None, moved_id: int = 0, late: list[int] | None = None
) -> str:
    """A cursor after `entry` (an entry of the page, or the position a page with no entries started from)."""
    cursor = _Cursor(
        priority=entry.priority,
        received_at=entry.received_at,
        id=entry.id,
        moved_xid=moved_xid,
        moved_id=moved_id,
        late=late or [],
    )
    return cursors.encode_cursor(cursor)


def decode_cursor(text: str) -> _Cursor:
    return cursors.decode_cursor(text, _Cursor, field="cursor", given_by="feed")


def _since(moment: datetime, now: datetime) -> str:
    minutes = max(0, int((now - moment).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} 天 {hours} 小时"
    if hours:
        return f"{hours} 小时 {minutes} 分"
    return f"{minutes} 分钟"


def back_at_work(row: Any) -> tuple[str, datetime] | None:
    """What last sent an item not closed back to work, and when: a resident sending its reply back ("sent_back") or
    staff withdrawing its reply ("withdrawn"), whichever came last; None if neither did. The latest event wins: a
    reply answered after a sending back and then withdrawn reads as withdrawn, and one withdrawn and then answered
    and sent back reads as sent back (as the tracking page tells the resident, `intake.store.SELECT_TRACKING`)."""
    if withdrawn_meanwhile(row):
        return "withdrawn", row["reply_withdrawn_at"]
    if row["status"] != "closed" and row["reopened_at"] is not None:
        return "sent_back", row["reopened_at"]
    return None


def _waiting(row: Any, now: datetime) -> str:
    """How long the item has waited. One a resident sent back has waited for its rework since then, not since it
    arrived (the desk may have answered after a month); one whose reply staff withdrew, since the withdrawal (the
    last event wins, `back_at_work`). It ranks by its first arrival, which is said too."""
    back = back_at_work(row)
    if back is not None:
        event, moment = back
        since = "退回后" if event == "sent_back" else "撤回答复后"
        return f"{since}已等待 {_since(moment, now)}（首次反映至今 {_since(row['received_at'], now)}）"
    return f"已等待 {_since(row['received_at'], now)}"


# As much of a resident's words as a feed entry's excerpt: the item view has them whole.
EXCERPT_LENGTH = 120


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT_LENGTH else text[:EXCERPT_LENGTH] + "…"


def reasons_for(row: Any, now: datetime) -> list[Reason]:
    reasons: list[Reason] = []
    if row["status"] == "pending":
        reasons.append(Reason("unclassified", "尚未完成自动分类，暂按预警排序"))
    elif row["status"] == "failed" or row["risk_level"] is None:
        # Given up on, and perhaps assigned or closed since without a topic and risk: it still ranks as a warning.
        reasons.append(Reason("classification_failed", "自动分类失败，请人工研判，暂按预警排序"))
    back = back_at_work(row)
    # What the resident said: on sending the reply back, or of the reply withdrawn (`COLUMNS`, resident_said).
    said = row["resident_said"]
    words = f"。居民说：{_excerpt(said)}" if said and back is not None else ""
    if back is not None and back[0] == "sent_back":
        times = f"（第 {row['reopen_count']} 次）" if row["reopen_count"] > 1 else ""
        reasons.append(Reason("dissatisfied", f"居民对答复不满意，退回重办{times}{words}"))
    elif back is not None:
        # Staff took back the reply since the resident last sent one back (if ever): that is why it is at work now.
        # The resident rating it meanwhile was told staff would read their words: they are quoted here, where staff
        # work, as a sending back's are.
        before = f"（此前群众不满意退回 {row['reopen_count']} 次）" if row["reopen_count"] else ""
        reasons.append(Reason("reply_withdrawn", f"答复已撤回，重新办理{before}{words}"))
    if row["risk_level"] is not None:
        level = row["risk_level"]
        reasons.append(Reason("risk", f"风险 {level} 级（{RISK_NAMES[level]}）"))
    if row["hotspot_id"] is not None:
        why = explain(
            row["hotspot_kind"], row["hotspot_street"], row["hotspot_topic"], row["hotspot_why"], row["hotspot_case_id"]
        )
        # An emergency ranks first already: the hotspot names why it matters, not a lift it did not get.
        lifted = "，提前一档" if row["risk_level"] != max(RISK_NAMES) else ""
        reasons.append(Reason("hotspot", f"属于热点{lifted}：{why}"))
    previous = row["case_previous_at"]
    if previous is not None and row["received_at"] - previous > CASE_WINDOW:
        # The case had gone quiet and the problem came back unresolved (a report saying so joins its quiet case,
        # `tracker._place`, as a caller's follow-up does): a dispute festering. A reason only: it ranks as it did.
        days = (row["received_at"] - previous).days
        reasons.append(Reason("reported_again", f"同一问题 {days} 天前已有反映（案件 {row['case_id']}），现再次反映"))
    if row["status"] == "closed" and row["resident_said"]:
        # Words with a rating that kept the reply (a next lamp out too): no rework, but the desk should read them.
        rated = RATING_TEXT.get(row["satisfaction"], "")
        reasons.append(Reason("resident_comment", f"居民评价{rated}，并说：{_excerpt(row['resident_said'])}"))
    if row["needs_review"]:
        reasons.append(Reason("needs_review", "模型把握不足，需人工复核"))
    if row["status"] != "closed":  # a closed item (status=closed) has its reply: it waits for nothing
        reasons.append(Reason("waiting", _waiting(row, now)))
    return reasons


async def triage_feed(conn: Any, flt: FeedFilter, *, limit: int, cursor: str | None) -> Feed:
    after = decode_cursor(cursor) if cursor else None
    arguments = [
        list(flt.statuses),
        flt.min_risk,
        flt.topic,
        flt.channel,
        flt.place,
        flt.needs_review,
        after.priority if after else None,
        after.received_at if after else None,
        after.id if after else None,
        UNASSESSED_RISK,
        limit + 1,
        flt.sent_back,
        flt.desk,
    ]
    rows = await conn.fetch(FEED, *arguments)
    moved: list[Any] = []
    more_moved = False
    # Without some of the feed's statuses, a change of status brings an item in; among all of them, it does not. A
    # desk's walk sees an item handed to it from another desk arrive the same way (its status_xid marks the move).
    narrowed = not set(OPEN_STATUSES) <= set(flt.statuses) or flt.desk is not None
    moved_key = "moved_in_xid" if narrowed else "rank_xid"
    if after is not None and after.moved_xid is not None:
        arguments[10] = limit + 1
        query = MOVED_IN if narrowed else MOVED_UP
        late = [str(xid) for xid in after.late]
        moved = list(await conn.fetch(query, *arguments, str(after.moved_xid), after.moved_id, late))
        more_moved, moved = len(moved) > limit, moved[:limit]
    now = datetime.now(UTC)
    entries = [_entry(r, now) for r in rows[:limit]]
    next_cursor = None
    if more_moved:
        # The rest of the raised items on the next page, before anything raised since; even when this page is the
        # feed's last, or holds raised items only, the walk is not over until they are listed.
        assert after is not None
        position = entries[-1] if entries else after
        carried = moved[-1][moved_key]
        # Listed in order of the raising transaction: one older than the last listed that was still running when
        # they were read raises its items behind it, where the next page would not look.
        running = sorted(xid for xid in moved[0]["snapshot_running"] if xid < carried)[:MAX_LATE]
        next_cursor = encode_cursor(position, carried, moved[-1]["id"], running)
    elif len(rows) > limit:
        # Everything this page's snapshot could not see: transactions from its oldest still running on.
        next_cursor = encode_cursor(entries[-1], rows[0]["snapshot_xmin"])
    listed = sorted(moved, key=lambda r: (r["priority"], r["received_at"], r["id"]))
    return Feed(items=entries, next_cursor=next_cursor, moved_up=[_entry(r, now) for r in listed])


def _entry(r: Any, now: datetime) -> FeedEntry:
    return FeedEntry(
        id=r["id"],
        tracking_code=r["tracking_code"],
        priority=r["priority"],
        reasons=reasons_for(r, now),
        risk_level=r["risk_level"],
        topic=r["topic"],
        place=r["place"],
        street=r["street"],
        status=r["status"],
        received_at=r["received_at"],
        channel=r["channel"],
        kind=r["kind"],
        needs_review=r["needs_review"],
        excerpt=r["excerpt"],
        case_id=r["case_id"],
        hotspot_id=r["hotspot_id"],
        assigned_to=r["assigned_to"],
    )
