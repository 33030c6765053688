"""Residents rate the reply they were given; staff read how replies were received.

Anyone holding an item's tracking code may rate its reply once the item is closed, within `RATING_DAYS` of the
closing, and may change the rating while the closing stands. Staff who call a resident back (many residents never
open the tracking page) take the rating down for them, under the same rules. A dissatisfied rating sends the item
back to work: it returns to the feed, to the desk it was assigned to, with the resident's reason. Its next closing
is rated anew. This is 12345 practice (不满意件重办): a reply the resident does not accept is not the end of the item.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import msgspec
from msgspec import Meta

from suggestions.classify.store import place_unplaced
from suggestions.db import rerun_after_schema_change
from suggestions.errors import InvalidInput, StateConflict
from suggestions.hotspots.tracker import relift
from suggestions.intake.schema import NO_NUL, Strict
from suggestions.metrics import RATING_CHANGES, RATINGS
from suggestions.privacy import mask_pii

RATING_DAYS = 30
# Ratings given of one reply, changes included: a resident changes their mind once or twice, and a call back may take
# one down. Past this the rating stands: whoever holds a tracking code could otherwise post ratings for ever, each a
# row of `rating_changes` and a count on the centre's dashboard.
MAX_RATINGS_OF_A_REPLY = 10
MAX_COMMENT_LENGTH = 500
MAX_REPORT_DAYS = 366
# Days a report can name: anything else is a typing slip, and the far ends overflow the date arithmetic.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)

Rating = Literal["satisfied", "basically_satisfied", "dissatisfied"]
RATING_TEXT: dict[str, str] = {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"}


class AnsweredAgain(StateConflict):
    """The rating names a closing that a later one replaced: the resident has not heard the current reply."""


class RatedTooOften(StateConflict):
    """The reply has been rated `MAX_RATINGS_OF_A_REPLY` times: its rating stands."""


class WithdrawnMeanwhile(StateConflict):
    """Staff withdrew the reply, and the item is at work again: there is no reply to rate, and the rating is not
    counted. `words_kept`: the words given with it were kept for staff (`resident_comments`); `words_dropped`: words
    were given, and not kept, as many having been kept since the withdrawal as a reply takes ratings."""

    def __init__(self, *, current_status: str, words_kept: bool, words_dropped: bool = False) -> None:
        message = "staff withdrew the reply and the item is at work again: the rating is not counted"
        if words_kept:
            message += "; the comment was kept for staff, on the item"
        elif words_dropped:
            message += (
                f"; the comment was not kept: {MAX_RATINGS_OF_A_REPLY} were kept since the withdrawal, and staff have "
                "them. For anything urgent, the resident may call 12345"
            )
        super().__init__(message, current_status=current_status)
        self.words_kept = words_kept
        self.words_dropped = words_dropped


class RatingIn(Strict):
    rating: Annotated[Rating, Meta(description="满意 satisfied, 基本满意 basically_satisfied, 不满意 dissatisfied")]
    comment: (
        Annotated[
            str,
            Meta(
                max_length=MAX_COMMENT_LENGTH,
                pattern=NO_NUL,
                description="what the resident wants to add; stored with phone, ID and card numbers masked",
            ),
        ]
        | None
    ) = None
    closed_at: (
        Annotated[
            datetime,
            Meta(
                tz=True,
                description="the closing the rating is about: the item's `closed_at` as the resident was told it. When "
                "the item has been answered again since, the rating is a 409 rather than a rating of a reply the "
                "resident has not heard. Required on a call back.",
            ),
        ]
        | None
    ) = None


class Rated(msgspec.Struct, kw_only=True):
    tracking_code: str
    rating: Rating
    rating_text: str
    reopened: bool  # the item went back to work
    status: str  # the item's status now


LOCK_BY_CODE = """
SELECT id, tracking_code, status, closed_at, closed_by, assigned_to, topic, answer_masked, reopened_at,
       reply_withdrawn_at
FROM items WHERE tracking_code = $1 FOR UPDATE
"""
LOCK_BY_ID = """
SELECT id, tracking_code, status, closed_at, closed_by, assigned_to, topic, answer_masked, reopened_at,
       reply_withdrawn_at
FROM items WHERE id = $1 FOR UPDATE
"""
# What a call back needs: someone to call, and no rating of this reply that the resident gave themselves.
CALLABLE = """
SELECT EXISTS (SELECT 1 FROM contacts WHERE item_id = $1 AND phone IS NOT NULL AND anonymised_at IS NULL) AS callable,
       EXISTS (SELECT 1 FROM ratings WHERE item_id = $1 AND closed_at = $2 AND source = 'resident') AS resident_rated
"""

# The rating standing for the closing, and how many were given of it.
GIVEN = """
SELECT (SELECT count(*) FROM rating_changes WHERE item_id = $1 AND closed_at = $2) AS given,
       r.rating, r.comment, r.source, r.recorded_by
FROM (SELECT) AS one
LEFT JOIN ratings r ON r.item_id = $1 AND r.closed_at = $2
"""

# With the reply it is about: as the resident read it, and who wrote it (a reply sent back leaves the item). A rating
# changed without words keeps the words given with it before by the same hand (a resident who taps 满意 after 基本满意
# has not taken them back); words taken down on a call are not the resident's on the page, nor the other way round.
RECORD = """
INSERT INTO ratings (
    item_id, closed_at, rating, comment, reopened, desk, topic, source, recorded_by, answer_masked, closed_by
)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (item_id, closed_at) DO UPDATE
SET rating = excluded.rating,
    comment = CASE WHEN excluded.source = ratings.source THEN coalesce(excluded.comment, ratings.comment)
                   ELSE excluded.comment END,
    reopened = excluded.reopened,
    desk = excluded.desk, topic = excluded.topic, source = excluded.source, recorded_by = excluded.recorded_by,
    answer_masked = excluded.answer_masked, closed_by = excluded.closed_by, rated_at = now()
"""

STANDING = "SELECT rating FROM ratings WHERE item_id = $1 AND closed_at = $2"

# Each rating given, the ones it replaces in `ratings` included (a call back's, changed by the resident), with the
# words given with it (none: null), which the rating standing may not keep.
RECORD_CHANGE = """
INSERT INTO rating_changes (item_id, closed_at, rating, source, recorded_by, comment) VALUES ($1, $2, $3, $4, $5, $6)
"""

# The words given with a rating of a reply withdrawn meanwhile, unless these words with this rating of that reply are
# kept already (sent again: a second tap, a retry).
WORDS_KEPT = """
SELECT EXISTS (
    SELECT 1 FROM resident_comments
    WHERE item_id = $1 AND closed_at IS NOT DISTINCT FROM $2 AND rating = $3 AND comment = $4 AND source = $5
        AND recorded_by IS NOT DISTINCT FROM $6
) AS kept,
(SELECT count(*) FROM resident_comments WHERE item_id = $1 AND said_at >= $7) AS since_withdrawn
"""
KEEP_WORDS = """
INSERT INTO resident_comments (item_id, closed_at, rating, comment, source, recorded_by)
VALUES ($1, $2, $3, $4, $5, $6)
"""

KEEP = "UPDATE items SET satisfaction = $2, updated_at = now() WHERE id = $1 RETURNING status"

# Back to the desk it was assigned to, or to the feed's open items; an item nobody classified back among the failed,
# so that the feed still says so. The reply stays on the item for staff to read. An item anonymised early (a retention
# period shorter than the rating window) is open again, and its next reply is anonymised when it is closed long enough.
REOPEN = """
UPDATE items SET satisfaction = 'dissatisfied',
    status = CASE WHEN classification_id IS NULL THEN 'failed' WHEN assigned_to IS NULL THEN 'open' ELSE 'assigned' END,
    closed_at = NULL, closed_by = NULL, reopened_at = now(), reopen_count = reopen_count + 1, anonymised_at = NULL,
    hotspot_id = NULL, updated_at = now()
WHERE id = $1
RETURNING status, topic, risk_level, case_id
"""


async def at_work_again(conn: Any, item_id: int, back: Any) -> None:
    """What an item closed and back at work needs: `back` is its row after the change (topic, risk_level, case_id)."""
    if back["case_id"] is None and back["topic"] is not None:
        # Classified by staff once closed (`corrections.correct` leaves a closed report where it is): at work again,
        # it is placed in a case and counted, as the worker places any report it classifies.
        await place_unplaced(conn, item_id=item_id, topic=back["topic"], risk_level=back["risk_level"])
    # Closed, it was passed over by lifts and by the drops of those whose window moved on (`tracker.LIFT`,
    # `DROP_FORMER_MEMBERS`): back at work, it takes the lift of the hotspots it belongs to now, if any.
    await relift(conn, [item_id])


def withdrawn_meanwhile(item: Any) -> bool:
    """Whether an item not closed is at work again because staff withdrew its reply: the withdrawal is its latest
    event, after any sending back (as the tracking page and the feed read it)."""
    withdrawn, sent_back = item["reply_withdrawn_at"], item["reopened_at"]
    return item["status"] != "closed" and withdrawn is not None and (sent_back is None or withdrawn > sent_back)


async def _keep_words(
    conn: Any,
    item: Any,
    rating: RatingIn,
    comment: str | None,
    *,
    source: Literal["resident", "callback"],
    recorded_by: int | None,
) -> bool:
    """Keep for staff the words given with a rating of a reply withdrawn meanwhile (`item` locked); whether they are
    kept. Words sent again are kept once; past `MAX_RATINGS_OF_A_REPLY` words since the withdrawal, no more are: whoever
    holds a tracking code could otherwise post words without end."""
    if comment is None:
        return False
    args = (item["id"], rating.closed_at, rating.rating, comment, source, recorded_by)
    found = await conn.fetchrow(WORDS_KEPT, *args, item["reply_withdrawn_at"])
    if found["kept"]:
        return True
    if found["since_withdrawn"] >= MAX_RATINGS_OF_A_REPLY:
        return False
    await conn.execute(KEEP_WORDS, *args)
    return True


def in_utc(moment: datetime) -> datetime | None:
    """`moment` in UTC; None for one its offset puts before year 1 or after 9999 there: no closing is such a time, and
    PostgreSQL cannot be sent it (the words of a rating of a reply withdrawn meanwhile are kept with the time named)."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return None


def same_closing(named: datetime, current: datetime | None) -> bool:
    """Whether a rating's `closed_at` names the current closing. To the millisecond: a client that keeps the time as
    a JavaScript Date has no microseconds, and no two closings of one item come that close."""
    return current is not None and abs(named - current) < timedelta(milliseconds=1)


def can_rate(status: str, closed_at: datetime | None, now: datetime) -> bool:
    return status == "closed" and closed_at is not None and now - closed_at <= timedelta(days=RATING_DAYS)


async def rate(conn: Any, *, tracking_code: str, rating: RatingIn, now: datetime) -> Rated | None:
    """Record the resident's own rating of the item's current reply; None if no item has this code."""
    return await _rate(conn, LOCK_BY_CODE, tracking_code, rating=rating, now=now, source="resident", recorded_by=None)


async def rate_on_call(conn: Any, *, item_id: int, rating: RatingIn, now: datetime, recorded_by: int) -> Rated | None:
    """Record the rating a resident gave on a call back, taken down by the staff token `recorded_by`; None if there is
    no such item. A reply the resident rated themselves keeps their rating unless they now send it back (不满意), and
    an item whose sender left no phone (or whose phone retention erased) had nobody to call. The rating names the
    closing it is about: while staff were on the phone, the resident may have sent the reply back and the desk
    answered again."""
    if rating.closed_at is None:
        raise InvalidInput("closed_at", "name the reply the resident rated: the item's closed_at")
    return await _rate(conn, LOCK_BY_ID, item_id, rating=rating, now=now, source="callback", recorded_by=recorded_by)


def _masked_comment(rating: RatingIn) -> str | None:
    """The words given with `rating` as they are kept: trimmed and masked; None when there are none."""
    return mask_pii(rating.comment.strip()) if rating.comment and rating.comment.strip() else None


@rerun_after_schema_change
async def _rate(
    conn: Any,
    lock: str,
    key: str | int,
    *,
    rating: RatingIn,
    now: datetime,
    source: Literal["resident", "callback"],
    recorded_by: int | None,
) -> Rated | None:
    if rating.closed_at is not None and in_utc(rating.closed_at) is None:
        raise InvalidInput("closed_at", "not the time of a reply: name the item's closed_at")
    comment = _masked_comment(rating)
    async with conn.transaction():
        item = await conn.fetchrow(lock, key)
        if item is None:
            return None
        if withdrawn_meanwhile(item):
            # No reply to rate, but the words are the resident's: kept, and the rating refused once they are committed.
            kept = await _keep_words(conn, item, rating, comment, source=source, recorded_by=recorded_by)
            dropped = comment is not None and not kept
            withdrawn = WithdrawnMeanwhile(current_status=item["status"], words_kept=kept, words_dropped=dropped)
        else:
            withdrawn = None
            rated, replaced = await _record(
                conn, item, rating, comment, now=now, source=source, recorded_by=recorded_by
            )
    if withdrawn is not None:
        raise withdrawn
    if replaced == "":
        return rated  # given already
    if replaced is None:
        RATINGS.labels(rating=rating.rating, source=source).inc()
    elif replaced != rating.rating:
        RATING_CHANGES.labels(replaced, rating.rating).inc()
    return rated


async def _record(
    conn: Any,
    item: Any,
    rating: RatingIn,
    comment: str | None,
    *,
    now: datetime,
    source: Literal["resident", "callback"],
    recorded_by: int | None,
) -> tuple[Rated, str | None]:
    """Rate the reply of `item` (locked); with the rating it replaced (None: none, "": the same rating given again,
    nothing recorded)."""
    if item["status"] != "closed":
        raise StateConflict(
            "the item has no reply to rate yet: it can be rated once it is closed", current_status=item["status"]
        )
    if rating.closed_at is not None and not same_closing(rating.closed_at, item["closed_at"]):
        raise AnsweredAgain("the item was answered again since: rate its current reply", current_status="closed")
    if not can_rate(item["status"], item["closed_at"], now):
        raise StateConflict(f"a reply can be rated within {RATING_DAYS} days of it", current_status="closed")
    if source == "callback":
        check = await conn.fetchrow(CALLABLE, item["id"], item["closed_at"])
        if not check["callable"]:
            raise StateConflict("the sender left no phone to call back", current_status="closed")
        # A resident who rated on the page and then calls to say it is not done after all (an elderly resident
        # has no other way to send it back) is taken down; a call that would raise their own rating is not.
        if check["resident_rated"] and rating.rating != "dissatisfied":
            raise StateConflict("the resident rated this reply themselves", current_status="closed")
    given = await conn.fetchrow(GIVEN, item["id"], item["closed_at"])
    if (given["rating"], given["comment"], given["source"], given["recorded_by"]) == (
        rating.rating,
        comment,
        source,
        recorded_by,
    ):
        # The same rating again (a second tap, a retry): it is given already. (A dissatisfied one sent the item
        # back, which is no longer closed.)
        return _rated(item, rating, reopened=False, status=item["status"]), ""
    if given["given"] >= MAX_RATINGS_OF_A_REPLY:
        raise RatedTooOften(
            f"this reply's rating was changed {MAX_RATINGS_OF_A_REPLY} times: it stands as it is",
            current_status="closed",
        )
    reopened = rating.rating == "dissatisfied"
    replaced: str | None = await conn.fetchval(STANDING, item["id"], item["closed_at"])
    await conn.execute(
        RECORD,
        *(item["id"], item["closed_at"], rating.rating, comment, reopened, item["assigned_to"], item["topic"]),
        *(source, recorded_by, item["answer_masked"], item["closed_by"]),
    )
    await conn.execute(RECORD_CHANGE, item["id"], item["closed_at"], rating.rating, source, recorded_by, comment)
    if reopened:
        back = await conn.fetchrow(REOPEN, item["id"])
        status = back["status"]
        await at_work_again(conn, item["id"], back)
    else:
        status = await conn.fetchval(KEEP, item["id"], rating.rating)
    return _rated(item, rating, reopened=reopened, status=status), replaced


# Words a call back took down about a reply withdrawn meanwhile, by the request sent first under a key.
WORDS_TAKEN_DOWN = """
SELECT EXISTS (
    SELECT 1 FROM resident_comments
    WHERE item_id = $1 AND closed_at = $2 AND rating = $3 AND comment = $4 AND source = 'callback'
)
"""


async def rated_before(conn: Any, *, item_id: int, rating: RatingIn) -> Rated:
    """What taking down `rating` answered, when it was taken down by a request sent before under the same key: a
    dissatisfied rating sent the item back to work (one given already is refused before, the item no longer closed);
    the words of a rating of a reply withdrawn meanwhile were kept, and the rating refused (WithdrawnMeanwhile)."""
    item = await conn.fetchrow("SELECT tracking_code, status FROM items WHERE id = $1", item_id)
    comment = _masked_comment(rating)
    if comment is not None and await conn.fetchval(WORDS_TAKEN_DOWN, item_id, rating.closed_at, rating.rating, comment):
        raise WithdrawnMeanwhile(current_status=item["status"], words_kept=True)
    return _rated(item, rating, reopened=rating.rating == "dissatisfied", status=item["status"])


def _rated(item: Any, rating: RatingIn, *, reopened: bool, status: str) -> Rated:
    return Rated(
        tracking_code=item["tracking_code"],
        rating=rating.rating,
        rating_text=RATING_TEXT[rating.rating],
        reopened=reopened,
        status=status,
    )


class Tally(msgspec.Struct, kw_only=True):
    key: str | None  # the topic, desk or channel; null: none recorded (no topic yet, never assigned)
    closed: int  # closings in the period, each reply counted once, a reply sent back included
    rated: int
    satisfied: int
    basically_satisfied: int
    dissatisfied: int
    response_rate: float | None  # rated / closed
    satisfaction_rate: float | None  # (satisfied + basically satisfied) / rated


class SatisfactionReport(msgspec.Struct, kw_only=True):
    since: date
    until: date  # inclusive: days in the district's time zone
    total: Tally
    by_topic: list[Tally]
    by_desk: list[Tally]  # the desk that wrote the reply
    by_channel: list[Tally]
    by_source: list[Tally]  # resident (on the tracking page), callback (taken down by staff), null: not rated


# Every closing in the period: the items closed now, and the closings a dissatisfied resident sent back (their
# items were closed again later or are being worked on). Each with the rating it got, if any.
REPORT = """
WITH closings AS (
    SELECT i.id, i.closed_at, i.topic, i.assigned_to, i.channel FROM items i
    WHERE i.status = 'closed' AND i.closed_at >= $1 AND i.closed_at < $2
    UNION ALL
    SELECT i.id, r.closed_at, r.topic, r.desk, i.channel FROM ratings r JOIN items i ON i.id = r.item_id
    WHERE r.reopened AND r.closed_at >= $1 AND r.closed_at < $2
)
SELECT grouping(c.topic, c.assigned_to, c.channel, r.source) AS set, c.topic, c.assigned_to, c.channel, r.source,
       count(*) AS closed, count(r.rating) AS rated,
       count(*) FILTER (WHERE r.rating = 'satisfied') AS satisfied,
       count(*) FILTER (WHERE r.rating = 'basically_satisfied') AS basically_satisfied,
       count(*) FILTER (WHERE r.rating = 'dissatisfied') AS dissatisfied
FROM closings c LEFT JOIN ratings r ON r.item_id = c.id AND r.closed_at = c.closed_at
GROUP BY GROUPING SETS ((), (c.topic), (c.assigned_to), (c.channel), (r.source))
ORDER BY closed DESC, c.topic, c.assigned_to, c.channel, r.source
"""

# The same closings and counts for the reports a case holds now, whatever the period: each reply a reporter was
# given (the case's, their own, one sent back) once, with the rating it stands on.
CASE_REPLIES = """
WITH closings AS (
    SELECT i.id, i.closed_at FROM items i WHERE i.case_id = $1 AND i.status = 'closed'
    UNION ALL
    SELECT r.item_id, r.closed_at FROM ratings r JOIN items i ON i.id = r.item_id WHERE i.case_id = $1 AND r.reopened
)
SELECT count(*) AS closed, count(r.rating) AS rated,
       count(*) FILTER (WHERE r.rating = 'satisfied') AS satisfied,
       count(*) FILTER (WHERE r.rating = 'basically_satisfied') AS basically_satisfied,
       count(*) FILTER (WHERE r.rating = 'dissatisfied') AS dissatisfied
FROM closings c LEFT JOIN ratings r ON r.item_id = c.id AND r.closed_at = c.closed_at
"""

# grouping() sets a bit for each column left out: topic is the highest of the four.
_TOTAL, _BY_TOPIC, _BY_DESK, _BY_CHANNEL, _BY_SOURCE = 0b1111, 0b0111, 0b1011, 0b1101, 0b1110


def _tally(row: Any, key: str | None) -> Tally:
    rated, kept = row["rated"], row["satisfied"] + row["basically_satisfied"]
    return Tally(
        key=key,
        closed=row["closed"],
        rated=rated,
        satisfied=row["satisfied"],
        basically_satisfied=row["basically_satisfied"],
        dissatisfied=row["dissatisfied"],
        response_rate=round(rated / row["closed"], 4) if row["closed"] else None,
        satisfaction_rate=round(kept / rated, 4) if rated else None,
    )


EMPTY_TALLY = {"closed": 0, "rated": 0, "satisfied": 0, "basically_satisfied": 0, "dissatisfied": 0}


def checked_day(name: str, day: date) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput(name, f"a day from {FIRST_DAY} to {LAST_DAY}")
    return day


async def satisfaction_report(conn: Any, *, since: date, until: date, zone: ZoneInfo) -> SatisfactionReport:
    """How the replies of closings from `since` to `until` (whole days, inclusive) were rated."""
    checked_day("since", since)
    checked_day("until", until)
    if until < since:
        raise InvalidInput("until", "until is before since")
    if (until - since).days >= MAX_REPORT_DAYS:
        raise InvalidInput("since", f"a report covers at most {MAX_REPORT_DAYS} days")
    start = datetime.combine(since, time(), zone)
    end = datetime.combine(until + timedelta(days=1), time(), zone)
    rows = await conn.fetch(REPORT, start, end)
    total = next((_tally(r, None) for r in rows if r["set"] == _TOTAL), _tally(EMPTY_TALLY, None))
    return SatisfactionReport(
        since=since,
        until=until,
        total=total,
        by_topic=[_tally(r, r["topic"]) for r in rows if r["set"] == _BY_TOPIC],
        by_desk=[_tally(r, r["assigned_to"]) for r in rows if r["set"] == _BY_DESK],
        by_channel=[_tally(r, r["channel"]) for r in rows if r["set"] == _BY_CHANNEL],
        by_source=[_tally(r, r["source"]) for r in rows if r["set"] == _BY_SOURCE],
    )


async def case_replies(conn: Any, case_id: int) -> Tally:
    """How the replies given to a case's reporters were rated, each reply once."""
    return _tally(await conn.fetchrow(CASE_REPLIES, case_id), None)
