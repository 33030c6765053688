"""What staff read about cases and hotspots, and what operators see while they type a call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from suggestions.cursors import decode_cursor, encode_cursor
from suggestions.errors import InvalidInput
from suggestions.hotspots.cases import rank_suggestions, same_place_names, says_unresolved
from suggestions.hotspots.places import ROAD_LEVEL, Gazetteer
from suggestions.hotspots.similarity import signature
from suggestions.hotspots.tracker import (
    AREA_WINDOW,
    BURST_WINDOW_HOURS,
    CANDIDATES,
    CASE_LIFETIME,
    CASE_WINDOW,
    DISTRICT_ZONE,
    OWN_CASES_MAX,
    RESIDENT_REPORTS,
    candidate_from_row,
)
from suggestions.intake.schema import Channel, RowId, Status
from suggestions.privacy import phone_line
from suggestions.triage.ratings import Tally, case_replies

MEMBERS_SHOWN = 50


class Member(msgspec.Struct, kw_only=True):
    id: int
    tracking_code: str
    received_at: datetime
    channel: Channel
    status: Status
    risk_level: int | None
    case_score: float | None  # the machine's grouping score; null for the report that opened the case
    excerpt: str
    satisfaction: str | None = None  # the reporter's rating of the reply the report stands on (`ItemView`)
    # Where and in which case: an area hotspot gathers several cases, each at its own 社区, 小区, 村 or road.
    case_id: int | None = None
    locality: str | None = None


class CaseView(msgspec.Struct, kw_only=True):
    id: int
    street: str | None
    locality: str | None
    topic: str | None
    status: str
    opened_at: datetime
    last_activity: datetime
    size: int
    max_risk: int | None
    summary: str
    closed_at: datetime | None = None  # when staff closed it with a reply (`POST /api/v1/cases/{id}/close`)
    answer: str | None = None  # that reply, masked as its reporters read it
    merged_into: int | None = None  # merged away (by staff or the machine): the case that took its reports
    members: list[Member]  # newest first, `limit` of them
    # Where the next page of older reports starts (`before`); null on the last page.
    next_cursor: str | None = None
    # Every reply its reports were given (the case's, their own, one sent back), each once, and how it was rated: the
    # satisfaction report's figures for this case alone (`key` null).
    replies: Tally


class Hotspot(msgspec.Struct, kw_only=True):
    id: int
    kind: str  # burst | case | escalation
    street: str | None
    topic: str | None
    case_id: int | None
    locality: str | None  # a case hotspot's: its case's 社区, 小区, 村 or road, when known
    why: dict[str, Any]  # the numbers behind it
    explanation: str  # the same, in a sentence for staff
    started_at: datetime
    updated_at: datetime
    members: list[Member]


class Hotspots(msgspec.Struct):
    hotspots: list[Hotspot]


class Suggestion(msgspec.Struct, kw_only=True):
    case_id: int
    score: float
    street: str | None
    locality: str | None
    topic: str | None
    size: int
    last_activity: datetime
    summary: str
    caller: bool  # holds a report from the caller's phone: listed first


class Suggestions(msgspec.Struct):
    street: str | None
    locality: str | None
    cases: list[Suggestion]


CASE = "SELECT * FROM cases WHERE id = $1"
CASE_MEMBERS = """
SELECT id, tracking_code, received_at, channel, status, risk_level, case_score, left(text_masked, 80) AS excerpt,
       satisfaction, case_id, locality
FROM items WHERE case_id = $1 AND ($3::timestamptz IS NULL OR (received_at, id) < ($3, $4))
ORDER BY received_at DESC, id DESC LIMIT $2
"""

ACTIVE_HOTSPOTS = """
SELECT h.id, h.kind, h.street, h.topic, h.case_id, c.locality, h.why, h.started_at, h.updated_at
FROM hotspots h LEFT JOIN cases c ON c.id = h.case_id
WHERE h.status = 'active'
ORDER BY CASE h.kind WHEN 'escalation' THEN 0 WHEN 'burst' THEN 1 ELSE 2 END, h.why ? 'set_aside', h.score DESC, h.id
LIMIT $1
"""
# A case's hotspot lists the case's reports. An area's (burst: 72 hours; escalation: two weeks, warnings and above)
# lists its street × topic's reports over its window up to the latest one, a burst's up to the end of its verdict's
# day (`why.until`; before it was kept, its verdict, `why.as_of`), as `tracker.BURST_MEMBERS` lifts them: an item
# shows one hotspot in the feed but belongs to every one it is part of. One query for each (a case's: CASE_MEMBERS),
# so that each reads its index (items_case, items_street_topic_time) rather than every item stored.
AREA_HOTSPOT_MEMBERS = """
SELECT i.id, i.tracking_code, i.received_at, i.channel, i.status, i.risk_level, i.case_score,
       left(i.text_masked, 80) AS excerpt, i.satisfaction, i.case_id, i.locality
FROM items i, (SELECT max(received_at) AS at FROM items WHERE street = $1 AND topic = $2) latest
WHERE i.street = $1 AND i.topic = $2 AND i.received_at >= coalesce($6::timestamptz, latest.at - $3::interval)
  AND ($7::timestamptz IS NULL OR i.received_at < $7)
  AND ($4::boolean OR i.risk_level >= 2)
ORDER BY i.received_at DESC, i.id DESC
LIMIT $5
"""


async def hotspot_members(conn: Any, row: Any, limit: int = MEMBERS_SHOWN) -> list[Any]:
    if row["case_id"] is not None:
        return list(await conn.fetch(CASE_MEMBERS, row["case_id"], limit, None, None))
    burst = row["kind"] == "burst"
    span = timedelta(hours=BURST_WINDOW_HOURS) if burst else AREA_WINDOW
    # The window as its verdict counted it (`why.since`): a burst's, an area escalation's; older ones carry none.
    since = datetime.fromisoformat(row["why"]["since"]) if "since" in row["why"] else None
    if since is not None and not burst:
        # An area escalation's window is open at its start (`AREA_RISKS`, `AREA_MEMBERS`, `RELIFT`: after `since`).
        since += timedelta(microseconds=1)
    until = None
    if burst and "until" in row["why"]:
        until = datetime.fromisoformat(row["why"]["until"])
    elif burst and "as_of" in row["why"]:
        until = datetime.fromisoformat(row["why"]["as_of"]) + timedelta(microseconds=1)
    rows = await conn.fetch(AREA_HOTSPOT_MEMBERS, row["street"], row["topic"], span, burst, limit, since, until)
    return list(rows)


SUGGESTION_CANDIDATES = """
SELECT id, street, locality, locality_level, topic, last_activity, signature_keys, signature_weights,
       signature_facets, signature_buildings, size, summary
FROM cases
WHERE status = 'open' AND last_activity > $2 AND opened_at > $4 AND ($1::text IS NULL OR street = $1 OR street IS NULL)
ORDER BY last_activity DESC
LIMIT $3
"""

# The cases of the call's street and locality, any topic, gone quiet past the window within their lifetime, for a
# call that says its problem is still there: those the tracker may add it to (`tracker.QUIET_CASES`). The tracker reads
# the latest few of the report's topic; the call has none yet, and an estate's latest few of every topic (its
# parking, its noise, its lights, each a case of its own) would hide the one it is about: they are read as many as the
# open cases are (CANDIDATES), and the words so far rank them.
QUIET_SUGGESTIONS = """
SELECT id, street, locality, locality_level, topic, last_activity, signature_keys, signature_weights,
       signature_facets, signature_buildings, size, summary
FROM cases
WHERE status = 'open' AND street = $1 AND last_activity <= $2 AND last_activity > $3 AND opened_at > $3
  AND locality = ANY($4::text[])
ORDER BY last_activity DESC, id DESC
LIMIT $5
"""

# The open cases of the caller's own reports (web form or hotline, not the grid): the phone's latest reports by id, the
# call being taken now (the tracker reads the reports nearest the one it places instead), each step by keys and the
# phone's index; the phone is compared in the database and goes no further. One of the district's public numbers, which
# an operator may type for callers who give none, is nobody's (`tracker.OWN_CASES`).
CALLER_CASES = """
WITH theirs AS MATERIALIZED (
    SELECT item_id FROM contacts
    WHERE split_part(phone, '转', 1) = $1 AND NOT EXISTS (SELECT 1 FROM public_lines WHERE line = $1)
    ORDER BY item_id DESC LIMIT $4
), cases_of AS MATERIALIZED (
    SELECT item.case_id, array_agg(item.id ORDER BY item.id) AS reports
    FROM theirs JOIN items item ON item.id = theirs.item_id
    WHERE item.channel <> 'grid' AND item.case_id IS NOT NULL
    GROUP BY item.case_id
)
SELECT c.*, cases_of.reports
FROM cases_of CROSS JOIN LATERAL (
    SELECT id, street, locality, locality_level, topic, last_activity, signature_keys, signature_weights,
           signature_facets, signature_buildings, size, summary
    FROM cases WHERE id = cases_of.case_id AND status = 'open' AND opened_at > $2
    LIMIT 1  -- one row by primary key: planned apart, so it stays a key lookup
) c
ORDER BY c.last_activity DESC
LIMIT $3
"""

# Listing a case as the caller's own says that this phone reported it: each of the phone's reports in it is a read of
# its contact, as the caller's history records its items (`intake.callers`).
RECORD_READS = """
INSERT INTO contact_reads (item_id, read_by, purpose) SELECT unnest($1::bigint[]), $2, 'case_suggestion'
"""


class CallerLookUp(msgspec.Struct, frozen=True):
    """Who is calling, by their phone (canonical), and the token asking, whose reads of their contact are recorded."""

    phone: str
    reader: int


def _member(row: Any) -> Member:
    return Member(
        id=row["id"],
        tracking_code=row["tracking_code"],
        received_at=row["received_at"],
        channel=row["channel"],
        status=row["status"],
        risk_level=row["risk_level"],
        case_score=row["case_score"],
        excerpt=row["excerpt"],
        satisfaction=row["satisfaction"],
        case_id=row["case_id"],
        locality=row["locality"],
    )


class _MemberCursor(msgspec.Struct, array_like=True, frozen=True):
    received_at: Annotated[datetime, Meta(tz=True)]
    id: RowId
    # The case whose pages it walks: another case's cursor would page this one from a stranger's position, and skip
    # reports without a word. A cursor of an earlier release carries none.
    case_id: RowId | None = None


async def case_view(
    conn: Any, case_id: int, *, limit: int = MEMBERS_SHOWN, before: str | None = None
) -> CaseView | None:
    """The case and its reports, newest first, `limit` at a time; `before` is the `next_cursor` of the page before."""
    after = decode_cursor(before, _MemberCursor, field="before", given_by="case view") if before else None
    if after is not None and after.case_id not in (None, case_id):
        raise InvalidInput("before", f"a cursor of case {after.case_id}'s reports, not of case {case_id}'s")
    row = await conn.fetchrow(CASE, case_id)
    if row is None:
        return None
    rows = await conn.fetch(CASE_MEMBERS, case_id, limit + 1, after and after.received_at, after and after.id)
    members = [_member(r) for r in rows[:limit]]
    last = members[-1] if len(rows) > limit else None  # a next page starts after it
    return CaseView(
        id=row["id"],
        street=row["street"],
        locality=row["locality"],
        topic=row["topic"],
        status=row["status"],
        opened_at=row["opened_at"],
        last_activity=row["last_activity"],
        size=row["size"],
        max_risk=row["max_risk"],
        summary=row["summary"],
        closed_at=row["closed_at"],
        answer=row["answer_masked"],
        merged_into=row["merged_into"],
        members=members,
        next_cursor=encode_cursor(_MemberCursor(last.received_at, last.id, case_id)) if last else None,
        replies=await case_replies(conn, case_id),
    )


def _since(why: dict[str, Any]) -> str:
    if "since" not in why:
        return f"近 {why['window_days']} 天 "
    since = datetime.fromisoformat(why["since"]).astimezone(DISTRICT_ZONE)
    return f"{since.month} 月 {since.day} 日以来 "


def explain(kind: str, street: str | None, topic: str | None, why: dict[str, Any], case_id: int | None = None) -> str:
    where = f"{street or '地点不详'}·{topic or '未分类'}"
    if kind == "burst":
        # Staff read a tail probability (p=1.9e-06) as nothing: the norm is said as a count over as many days, the
        # probability stays in `why`. Every burst listed passed its bar (`bursts.MAX_P_VALUE`): far above the norm.
        days, expected = why["window_days"], why["expected"]
        usual = "不到 1 个" if expected < 1 else f"约 {int(expected + 0.5)} 个"
        norm = f"远高于平常：平常 {days} 天{usual}，这 {days} 天 {why['problems']} 个"
        # What the norm rests on: before the district has days of records (`bursts.burst`: history_start), the prior.
        if why.get("baseline_days") == 0:
            norm += "（平常数按全区估计，此前尚无记录）"
        elif "baseline_days" in why:
            norm += f"（平常数据前 {why['baseline_days']} 天）"
        counted = f"{where}：{_since(why)}{why['problems']} 个不同问题，{norm}"
        if "set_aside" not in why:
            return counted
        return f"{counted}，{_set_aside(why['problems'], why['set_aside'])}，未提前排序"
    reporters = f"（{why['reporters']} 位反映人）" if "reporters" in why else ""
    if kind == "escalation":
        subject = "同一问题" if case_id is not None else "该区域同类问题"
        # An area's members, listed and lifted, are its warnings and threats only: said, or "5 次反映" reads above
        # three reports listed.
        listed = f"，其中 {why['warnings']} 次为预警以上" if "warnings" in why else ""
        return (
            f"{where}：{subject} {why['reports']} 次反映{reporters}{listed}，风险由 {why['first_level']} 级升至 "
            f"{why['last_level']} 级，{_lasting(why)}"
        )
    return f"{where}：同一问题 {why['reports']} 次反映{reporters}，来自 {why['channels']} 个渠道，{_lasting(why)}"


def _set_aside(problems: int, set_aside: dict[str, int]) -> str:
    """Whose problems make a burst that lifts nothing (`tracker._check_burst`): grid workers' patrols, one resident."""
    workers = set_aside["grid_workers"]
    parts = []
    if set_aside["patrol"]:
        parts.append((set_aside["patrol"], "一名网格员巡查上报" if workers == 1 else f" {workers} 名网格员巡查上报"))
    if set_aside["one_reporter"]:
        parts.append((set_aside["one_reporter"], "同一反映人上报"))
    every = sum(count for count, _ in parts) >= problems
    if every and len(parts) == 1:
        return f"均为{parts[0][1]}，不是多方反映"
    listed = "，".join(f"{count} 个为{who}" for count, who in parts)
    return f"其中 {listed}，{'不是多方反映' if every else '其余不算突增'}"


def _lasting(why: dict[str, Any]) -> str:
    """How long the reports span: in hours under a day (a crowd of one morning is no "0.0 天"); a hotspot raised before
    hours were kept, in days."""
    hours = why.get("span_hours")
    if hours is None or why["span_days"] >= 1:
        return f"历时 {why['span_days']} 天"
    return "历时不到 1 小时" if hours < 1 else f"历时 {hours:g} 小时"


async def active_hotspots(conn: Any, *, limit: int) -> Hotspots:
    hotspots = []
    for row in await conn.fetch(ACTIVE_HOTSPOTS, limit):
        members = [_member(r) for r in await hotspot_members(conn, row)]
        hotspots.append(
            Hotspot(
                id=row["id"],
                kind=row["kind"],
                street=row["street"],
                topic=row["topic"],
                case_id=row["case_id"],
                locality=row["locality"],
                why=row["why"],
                explanation=explain(row["kind"], row["street"], row["topic"], row["why"], row["case_id"]),
                started_at=row["started_at"],
                updated_at=row["updated_at"],
                members=members,
            )
        )
    return Hotspots(hotspots=hotspots)


async def suggest_cases(
    conn: Any, gazetteer: Gazetteer, *, text: str, place: str, limit: int, caller: CallerLookUp | None = None
) -> Suggestions:
    """Open cases a call being typed may belong to: its place from the words so far, then text similarity. With the
    `caller`, the open cases of the caller's own earlier reports come first, however the words so far compare: a
    caller who rings again is most often chasing what they reported. The caller's reports in the cases listed as
    theirs are recorded as read by `caller.reader`."""
    where = gazetteer.resolve(text, place)
    now = datetime.now(UTC)
    # The cases the tracker would still add a report to: active within the window, opened within their lifetime; and,
    # for a call that says its problem is still there (再次反映, 至今没修), the place's cases gone quiet since: an
    # estate's, a village's, a landmark's, not a road's, which runs for kilometres (`cases.reopens`).
    rows = await conn.fetch(SUGGESTION_CANDIDATES, where.street, now - CASE_WINDOW, CANDIDATES, now - CASE_LIFETIME)
    if where.street and where.locality and where.locality_level != ROAD_LEVEL and says_unresolved(text):
        names = same_place_names(where.locality)
        rows += await conn.fetch(
            QUIET_SUGGESTIONS, where.street, now - CASE_WINDOW, now - CASE_LIFETIME, names, CANDIDATES
        )
    own_rows = (
        await conn.fetch(
            CALLER_CASES, phone_line(caller.phone), now - CASE_LIFETIME, OWN_CASES_MAX + 1, RESIDENT_REPORTS
        )
        if caller
        else []
    )
    if len(own_rows) > OWN_CASES_MAX:
        # A phone with more open cases than one resident has is shared (a switchboard, a committee's landline): it
        # says nothing of which case this call is about, as the tracker reads it (`tracker.OWN_CASES_MAX`).
        own_rows = []
    candidates = {row["id"]: (candidate_from_row(row), row["summary"]) for row in [*rows, *own_rows]}
    query = signature(text, places=(where.street, where.locality))
    own = rank_suggestions(query, None, None, [candidates[row["id"]][0] for row in own_rows], limit=limit, floor=0.0)
    # Two different estates of one street weigh 0.4 here, not the tracker's 0.25 (`cases.Weights`): an operator
    # glances at a list. At 0.25 the right case fell out of the five more often (streams 7 and 20: 0.974 → 0.965 and
    # 0.967 → 0.951 with the whole text).
    others = rank_suggestions(query, where.street, where.locality, [c for c, _ in candidates.values()], limit=limit)
    mine = {match.case_id for match in own}
    suggestions = []
    for match in [*own, *(m for m in others if m.case_id not in mine)][:limit]:
        case, summary = candidates[match.case_id]
        suggestions.append(
            Suggestion(
                case_id=case.id,
                score=round(match.score, 3),
                street=case.street,
                locality=case.locality,
                topic=case.topic,
                size=case.size,
                last_activity=case.last_activity,
                summary=summary,
                caller=case.id in mine,
            )
        )
    shown = {suggestion.case_id for suggestion in suggestions if suggestion.caller}
    if read := [item_id for row in own_rows if row["id"] in shown for item_id in row["reports"]]:
        assert caller is not None  # own rows are found by the caller's phone only
        await conn.execute(RECORD_READS, read, caller.reader)
    return Suggestions(street=where.street, locality=where.locality, cases=suggestions)
