"""Staff correcting the machine's grouping: merge two cases, move a report to another case or a case of its own, or
dismiss a hotspot they have judged."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from suggestions.db import rerun_after_schema_change, write_jsonl
from suggestions.errors import InvalidInput, StateConflict
from suggestions.hotspots.cases import CASE_SIGNATURE_SIZE, CaseCandidate, merge_signature
from suggestions.hotspots.similarity import EMPTY, combine, signature
from suggestions.hotspots.tracker import (
    ACTIVE_AREA_ESCALATION,
    DISMISSAL_HOLDS,
    DISTRICT_ZONE,
    OPEN_CASE_BY_ID,
    candidate_from_row,
    drop_lift,
    end_case_hotspots,
    lock_streets,
    rejudge_area,
    rejudge_case,
    relift,
)
from suggestions.intake.schema import NO_NUL, Strict
from suggestions.intake.service import shows_anything
from suggestions.privacy import mask_pii
from suggestions.triage.workflow import Assignment, Closing, reply

MEMBERS = """
SELECT text_masked, street, locality, locality_level, received_at, risk_level FROM items WHERE case_id = $1
ORDER BY received_at
"""

CASE_FIRST = "SELECT street, summary FROM cases WHERE id = $1"

REFRESH = """
UPDATE cases SET size = $2, opened_at = coalesce($3, opened_at), last_activity = coalesce($4, last_activity),
    max_risk = $5, signature_keys = $6, signature_weights = $7, signature_facets = $8, signature_buildings = $9,
    -- A case staff opened by splitting a report off takes that report as its first; a case whose first report has
    -- left takes the first of those it holds now ($11, $12).
    anchor_keys = CASE
        WHEN $11::bigint[] IS NOT NULL THEN $11 WHEN cardinality(anchor_keys) = 0 THEN $6 ELSE anchor_keys
    END,
    anchor_weights = CASE
        WHEN $12::real[] IS NOT NULL THEN $12 WHEN cardinality(anchor_weights) = 0 THEN $7 ELSE anchor_weights
    END,
    -- ... and its 社区, 小区, 村 or road with it ($13: whether to, $14, $15), within the same street.
    locality = CASE WHEN $13 THEN $14 ELSE locality END,
    locality_level = CASE WHEN $13 THEN $15 ELSE locality_level END,
    status = CASE WHEN $2 = 0 THEN 'closed' ELSE status END, updated_at = now(),
    -- The summary is its first report's: once that report has left (a split, a move), the first of those it holds
    -- now ($10), or operators read of a problem the case no longer has.
    summary = coalesce(left($10, 80), summary)
WHERE id = $1
"""

LOCK_CASES = (
    "SELECT id, street, topic, opened_at, status FROM cases WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE"
)

LOCK_MEMBERS = "SELECT id, case_id, street, topic FROM items WHERE case_id = ANY($1::bigint[]) ORDER BY id FOR UPDATE"

LOCK_ITEM = """
SELECT case_id, case_score, status, street, locality, locality_level, topic, received_at, text_masked,
       closed_at, closed_by, answer_masked
FROM items WHERE id = $1 FOR UPDATE
"""

ALONE = "SELECT NOT EXISTS (SELECT 1 FROM items WHERE case_id = $1 AND id <> $2)"
MEMBER_IDS = "SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM items WHERE case_id = $1"
MEMBERS_AND_SCORES = """
SELECT coalesce(array_agg(id ORDER BY id), '{}') AS ids, coalesce(array_agg(case_score ORDER BY id), '{}') AS scores
FROM items WHERE case_id = $1
"""

RECORD_EDIT = """
INSERT INTO case_edits (
    edited_by, action, item_id, from_case, to_case, from_members, to_members, machine_score, member_scores
)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""

# A report answered already is a problem dealt with: its case is closed with its reply, as a case closed by staff
# (`close_case`), so that no later report joins it and no operator is offered it as open.
OWN_CASE = """
INSERT INTO cases (
    street, locality, topic, opened_at, last_activity, summary, locality_level, status, closed_at, closed_by,
    answer_masked
)
VALUES (
    $1, $2, $3, $4, $4, left($5, 80), $6, CASE WHEN $7::timestamptz IS NULL THEN 'open' ELSE 'closed' END, $7, $8, $9
)
RETURNING id
"""

COUNT_PROBLEM = """
INSERT INTO place_topic_days (street, topic, day, problems, reports) VALUES ($1, $2, $3, $4, 0)
ON CONFLICT (street, topic, day) DO UPDATE SET problems = greatest(0, place_topic_days.problems + excluded.problems)
"""


async def refresh_case(conn: Any, case_id: int) -> None:
    """Recompute a case's size, dates, risk and signature from its members.

    A case whose first report has left (split off, moved: the machine's first report was another problem's) takes its
    first report, locality and the anchor a new report must resemble from the first report it holds now; left with
    the one that went, a case of 龙跃苑 lifts would keep the place and the words of a rubbish report of 龙禧苑."""
    members = await conn.fetch(MEMBERS, case_id)
    case = await conn.fetchrow(CASE_FIRST, case_id)
    owns = [signature(m["text_masked"], places=(m["street"], m["locality"])) for m in members]
    merged = EMPTY
    for size, own in enumerate(owns):
        merged = merge_signature(merged, own, size)
    # The first report has left when no report the case holds now gave it its summary.
    first_left = bool(members) and all(m["text_masked"][:80] != case["summary"] for m in members)
    relocate = first_left and members[0]["street"] == case["street"]
    risks = [m["risk_level"] for m in members if m["risk_level"] is not None]
    await conn.execute(
        REFRESH,
        case_id,
        len(members),
        members[0]["received_at"] if members else None,
        members[-1]["received_at"] if members else None,
        max(risks) if risks else None,
        merged.keys,
        merged.weights,
        merged.facets,
        merged.buildings,
        members[0]["text_masked"] if first_left else None,
        owns[0].keys if first_left else None,
        owns[0].weights if first_left else None,
        relocate,
        members[0]["locality"] if relocate else None,
        members[0]["locality_level"] if relocate else None,
    )


async def _count_problem(conn: Any, case: Any, change: int) -> None:
    # Bursts count distinct problems: a merge removes one, a split adds one.
    if case["street"] is not None and case["topic"] is not None:
        day = case["opened_at"].astimezone(DISTRICT_ZONE).date()
        await conn.execute(COUNT_PROBLEM, case["street"], case["topic"], day, change)


@rerun_after_schema_change
async def merge_cases(conn: Any, *, case_id: int, into: int, by: int | None = None) -> bool:
    """Move every report of `case_id` into `into`. False if `case_id` does not exist; an `into` that does not is bad
    input. `by`: the staff token, kept with the edit (`case_edits`)."""
    if case_id == into:
        raise InvalidInput("into", "a case cannot be merged into itself")
    async with conn.transaction():
        # The reports before their cases, in id order, as closing a case and a move lock them.
        members = await conn.fetch(LOCK_MEMBERS, [case_id, into])
        rising = await lock_rising_areas(conn, [(r["street"], r["topic"]) for r in members if r["case_id"] == case_id])
        cases = {r["id"]: r for r in await conn.fetch(LOCK_CASES, [case_id, into])}
        if case_id not in cases:
            return False
        if into not in cases:
            raise InvalidInput("into", "no case with this id")
        if cases[into]["status"] != "open":
            raise InvalidInput("into", "merge into an open case")
        if cases[case_id]["status"] != "open":  # merged away already, or emptied: it has no reports to move
            raise InvalidInput("case_id", "merge an open case")
        moved, kept = await conn.fetchrow(MEMBERS_AND_SCORES, case_id), await conn.fetchval(MEMBER_IDS, into)
        await conn.execute(RECORD_EDIT, by, "merge", None, case_id, into, moved["ids"], kept, None, moved["scores"])
        await conn.execute("UPDATE items SET case_id = $2, case_score = NULL WHERE case_id = $1", case_id, into)
        await conn.execute("UPDATE cases SET merged_into = $2 WHERE id = $1", case_id, into)
        await conn.execute(CARRY_DISMISSALS, case_id, into, DISMISSAL_HOLDS)
        await refresh_case(conn, case_id)
        await refresh_case(conn, into)
        await _count_problem(conn, cases[case_id], -1)
        await end_case_hotspots(conn, case_id)
        await rejudge_case(conn, into)  # its reporters and risk now include the merged case's
        await rejudge_areas(conn, rising)
    return True


async def lock_rising_areas(conn: Any, areas: Iterable[tuple[str | None, str | None]]) -> list[tuple[str, str]]:
    """Of the street × topics of reports that change case, those with a rise standing (an area escalation), their
    streets locked as the tracker locks them (after the reports, before the cases): the edit judges them again
    (`rejudge_areas`). An area without one is left to the worker, which judges the areas of each batch it places, so
    that an edit does not wait for it."""
    placed = sorted({(street, topic) for street, topic in areas if street is not None and topic is not None})
    rising = [(street, topic) for street, topic in placed if await conn.fetchrow(ACTIVE_AREA_ESCALATION, street, topic)]
    await lock_streets(conn, [street for street, _ in rising])
    return rising


async def rejudge_areas(conn: Any, areas: list[tuple[str, str]]) -> None:
    """The rise of each area whose reports changed case (`tracker.rejudge_area`): one whose reports are one case now
    is that case's escalation only. The caller holds the streets' locks (`lock_rising_areas`)."""
    for street, topic in areas:
        await rejudge_area(conn, street, topic, levels_changed=False)


# A hotspot staff dismissed goes with its case's reports into the case that takes them: merged, its reporters are not
# a new crowd (`tracker.dismissed`).
CARRY_DISMISSALS = """
UPDATE hotspots SET case_id = $2
WHERE case_id = $1 AND status = 'dismissed' AND ended_at > now() - $3::interval
"""


ABSORB = """
UPDATE cases SET size = size + $2, opened_at = least(opened_at, $3), last_activity = greatest(last_activity, $4),
    max_risk = greatest(max_risk, $5), signature_keys = $6, signature_weights = $7, signature_facets = $8,
    signature_buildings = $9, updated_at = now()
WHERE id = $1
"""


# The tracker holds the case it joined; staff lock reports before cases. So the other case and its reports are taken
# only if nobody holds them (SKIP LOCKED): waiting could deadlock with a close, a move or a merge, and an absorb
# passed over is a merge staff can make, or the next report may.
LOCK_OPEN_IF_FREE = f"{OPEN_CASE_BY_ID} FOR UPDATE SKIP LOCKED"
LOCK_MEMBERS_IF_FREE = """
SELECT (SELECT count(*) FROM items WHERE case_id = $1) = count(locked.id)
FROM (SELECT id FROM items WHERE case_id = $1 FOR UPDATE SKIP LOCKED) locked
"""


async def absorb(conn: Any, *, into: CaseCandidate, other: CaseCandidate) -> CaseCandidate:
    """The machine's merge while placing a report: like `merge_cases`, but the signatures are combined as they are
    (weighted by size) instead of recomputed from every member's text, so it costs the same for any case size.

    `other` is read again under its lock: staff may have merged it away, or reports into it, since the tracker read
    it. A case no longer open, or held by staff (it or one of its reports), is left alone (`into` comes back as it
    was)."""
    row = await conn.fetchrow(LOCK_OPEN_IF_FREE, other.id)
    if row is None or not await conn.fetchval(LOCK_MEMBERS_IF_FREE, other.id):
        return into
    other = candidate_from_row(row)
    await conn.execute(
        "UPDATE cases SET status = 'closed', merged_into = $2, size = 0, updated_at = now() WHERE id = $1",
        other.id,
        into.id,
    )
    await conn.execute("UPDATE items SET case_id = $2 WHERE case_id = $1", other.id, into.id)
    await conn.execute(CARRY_DISMISSALS, other.id, into.id, DISMISSAL_HOLDS)
    merged = combine(
        [(into.signature, float(into.size)), (other.signature, float(other.size))], size=CASE_SIGNATURE_SIZE
    )
    await conn.execute(
        ABSORB,
        into.id,
        other.size,
        row["opened_at"],
        other.last_activity,
        row["max_risk"],
        merged.keys,
        merged.weights,
        merged.facets,
        merged.buildings,
    )
    await _count_problem(conn, row, -1)
    await end_case_hotspots(conn, other.id)
    return msgspec.structs.replace(into, signature=merged, size=into.size + other.size)


@rerun_after_schema_change
async def move_item(conn: Any, *, item_id: int, case_id: int | None, by: int | None = None) -> int | None:
    """Put a report in another open case, or (case_id None) in a case of its own, closed with its reply if it was
    answered. Returns its case, None if no item.
    `by`: the staff token, kept with the edit (`case_edits`) when the report had a case to leave."""
    async with conn.transaction():
        item = await conn.fetchrow(LOCK_ITEM, item_id)
        if item is None:
            return None
        if item["case_id"] == case_id and case_id is not None:
            return case_id
        # The worker places a report when it classifies it: one moved before would be counted in two cases.
        if item["status"] == "pending":
            raise StateConflict("the item is still being classified: try again shortly", current_status="pending")
        rising = await lock_rising_areas(conn, [(item["street"], item["topic"])])
        # Both cases locked (in id order, as merges lock them) before their members are read: a report a worker
        # joins to either meanwhile is then counted in the size `refresh_case` writes.
        locked = {r["id"]: r for r in await conn.fetch(LOCK_CASES, [c for c in (item["case_id"], case_id) if c])}
        if case_id is None and item["case_id"] is not None and await conn.fetchval(ALONE, item["case_id"], item_id):
            return int(item["case_id"])  # a case of its own already: a repeated split changes nothing
        action = "split" if case_id is None else "move"
        if case_id is None:
            case_id = await conn.fetchval(
                OWN_CASE,
                item["street"],
                item["locality"],
                item["topic"],
                item["received_at"],
                item["text_masked"],
                item["locality_level"],
                *(item["closed_at"], item["closed_by"], item["answer_masked"])
                if item["status"] == "closed"
                else (None, None, None),
            )
            await _count_problem(
                conn, {"street": item["street"], "topic": item["topic"], "opened_at": item["received_at"]}, 1
            )
        else:
            target = locked.get(case_id)
            if target is None or target["status"] != "open":
                raise InvalidInput("case_id", "no open case with this id")
        joined = await conn.fetchval(MEMBER_IDS, case_id)
        await conn.execute("UPDATE items SET case_id = $2, case_score = NULL WHERE id = $1", item_id, case_id)
        if item["case_id"] is not None:
            # The report leaves its old case's hotspot; another one it belongs to lifts it (its new case's is judged
            # below).
            await relift(conn, [r["id"] for r in await conn.fetch(LEAVE_CASE_LIFT, item_id, item["case_id"])])
            left = await conn.fetchval(MEMBER_IDS, item["case_id"])
            score = item["case_score"]
            await conn.execute(RECORD_EDIT, by, action, item_id, item["case_id"], case_id, left, joined, score, None)
            await refresh_case(conn, item["case_id"])
            await rejudge_case(conn, item["case_id"])
        await refresh_case(conn, case_id)
        await rejudge_case(conn, case_id)
        await rejudge_areas(conn, rising)
        return case_id


LEAVE_CASE_LIFT = """
UPDATE items SET hotspot_id = NULL
WHERE id = $1 AND hotspot_id IN (SELECT id FROM hotspots WHERE case_id = $2)
RETURNING id
"""


class CaseEdit(msgspec.Struct):
    """One staff correction of the grouping, as `suggestions export case-edits` writes it: ids only, no text."""

    at: str
    action: str  # merge | move | split
    edited_by: int | None  # the staff token's id
    item_id: int | None  # move and split: the report
    from_case: int
    to_case: int
    from_members: list[int]  # merge: the reports moved; move and split: the reports left in from_case
    to_members: list[int]  # the reports of to_case before the edit
    machine_score: float | None  # move and split: the report's score with the case it left
    member_scores: list[float | None] | None  # merge: the machine's score of each of from_members, where it had one


EXPORT_EDITS = """
SELECT at, action, edited_by, item_id, from_case, to_case, from_members, to_members, machine_score, member_scores
FROM case_edits ORDER BY id
"""


async def export_case_edits(conn: Any, path: Path) -> int:
    """JSONL of every staff correction of the grouping. The reports of a merge, and a moved report and the reports of
    its new case, are one problem each; a moved or split report and the reports left in its old case are two."""
    return await write_jsonl(conn, path, EXPORT_EDITS, _case_edit)


def _case_edit(row: Any) -> CaseEdit:
    score = row["machine_score"]
    return CaseEdit(
        at=row["at"].isoformat(),
        action=row["action"],
        edited_by=row["edited_by"],
        item_id=row["item_id"],
        from_case=row["from_case"],
        to_case=row["to_case"],
        from_members=list(row["from_members"]),
        to_members=list(row["to_members"]),
        machine_score=None if score is None else round(float(score), 4),
        member_scores=None
        if row["member_scores"] is None
        else [None if v is None else round(float(v), 4) for v in row["member_scores"]],
    )


class GroupingReport(msgspec.Struct):
    """How staff corrected the machine's grouping of the reports received in the last `days` days
    (`suggestions grouping-report`). Staff fix what they notice, so the undone share is a floor on wrong joins."""

    days: int
    machine_joins: int  # reports the machine put in an open case, whatever staff did with them since
    undone: int  # of those, reports whose first staff edit moved them to another case or split them off
    undone_share: float | None
    merges: int  # merges staff made in the window: problems the machine took for two or more
    kept_scores: list[float]  # 10th, 50th and 90th percentile of the scores of the joins not undone
    # The same for the undone joins: which scores a higher bar would have caught. Scores from 0.15 to 0.22 are the
    # joins of a problem's second or third report (`cases.second_report`), which have a bar of their own. A resident's
    # follow-up to their own case (`cases.follow_up`) keeps its plain text similarity, from 0.10, without the place
    # factor the other scores carry.
    undone_scores: list[float]


# A report's machine score stays on the report until staff move it (`case_score`); the edit that moved it keeps it
# (`machine_score`, or `member_scores` beside `from_members` for a merge). The first such edit says whether staff
# undid the join: a move or a split did (even if a later edit put it back), a merge of its case did not.
GROUPING_REPORT = """
WITH recent AS (SELECT id, case_score FROM items WHERE received_at > now() - make_interval(days => $1)),
scored_edits AS (
    SELECT id, action, item_id AS report, machine_score AS score
    FROM case_edits WHERE action IN ('move', 'split') AND machine_score IS NOT NULL
    UNION ALL
    SELECT e.id, e.action, m.report, m.score
    FROM case_edits e, unnest(e.from_members, e.member_scores) AS m(report, score)
    WHERE e.action = 'merge' AND m.score IS NOT NULL
),
first_edit AS (
    SELECT DISTINCT ON (s.report) s.report, s.action, s.score
    FROM scored_edits s JOIN recent r ON r.id = s.report
    ORDER BY s.report, s.id
),
joins AS (
    SELECT case_score AS score, false AS undone FROM recent WHERE case_score IS NOT NULL
    UNION ALL
    SELECT score, action <> 'merge' FROM first_edit
)
SELECT
    count(*) AS joins,
    count(*) FILTER (WHERE undone) AS undone,
    percentile_cont(ARRAY[0.1, 0.5, 0.9]) WITHIN GROUP (ORDER BY score) FILTER (WHERE NOT undone) AS kept_scores,
    percentile_cont(ARRAY[0.1, 0.5, 0.9]) WITHIN GROUP (ORDER BY score) FILTER (WHERE undone) AS undone_scores,
    (SELECT count(*) FROM case_edits WHERE action = 'merge' AND at > now() - make_interval(days => $1)) AS merges
FROM joins
"""


async def grouping_report(conn: Any, *, days: int) -> GroupingReport:
    row = await conn.fetchrow(GROUPING_REPORT, days)
    joins = row["joins"]
    return GroupingReport(
        days=days,
        machine_joins=joins,
        undone=row["undone"],
        undone_share=round(row["undone"] / joins, 4) if joins else None,
        merges=row["merges"],
        kept_scores=[round(float(v), 4) for v in row["kept_scores"] or []],
        undone_scores=[round(float(v), 4) for v in row["undone_scores"] or []],
    )


LOCK_CASE = "SELECT status, merged_into FROM cases WHERE id = $1 FOR UPDATE"
LOCK_OPEN_MEMBERS = """
SELECT id FROM items WHERE case_id = $1 AND status IN ('open', 'failed', 'assigned') ORDER BY id FOR UPDATE
"""

# Every report still being worked on gets the case's reply, not yet rated; a report already closed keeps its own.
ANSWER_MEMBERS = """
UPDATE items SET status = 'closed', answer = $2, answer_masked = $3, closed_by = $4, closed_at = now(),
    satisfaction = NULL, updated_at = now()
WHERE case_id = $1 AND status IN ('open', 'failed', 'assigned')
"""

CLOSE_CASE = """
UPDATE cases SET status = 'closed', closed_at = now(), closed_by = $2, answer_masked = $3, updated_at = now()
WHERE id = $1
"""


async def _lock_open_case(conn: Any, case_id: int) -> bool:
    """Lock a case and its open reports for a change of them all; False if there is no such case, StateConflict if it
    is closed. The reports before their case, in id order, as a move locks them. The tracker locks a case before its
    reports only to lift them into a hotspot, and passes over those held here (`tracker.LIFT`)."""
    await conn.fetch(LOCK_OPEN_MEMBERS, case_id)
    case = await conn.fetchrow(LOCK_CASE, case_id)
    if case is None:
        return False
    if case["status"] != "open":
        merged = f": merged into case {case['merged_into']}" if case["merged_into"] else ""
        raise StateConflict(f"the case is closed{merged}", current_status=case["status"])
    return True


@rerun_after_schema_change
async def close_case(conn: Any, *, case_id: int, closing: Closing, by: int, keep: frozenset[str] = frozenset()) -> bool:
    """Close a case with one reply to every reporter whose report is still open; False if there is no such case.

    Each reporter reads the reply by their own tracking code and can rate it (`triage.ratings`). The case's hotspots
    end with it, and a later report of the problem opens a new case. A report a dissatisfied reporter sends back later
    is left open, and closed on its own."""
    answer, masked = reply(closing, keep)
    async with conn.transaction():
        if not await _lock_open_case(conn, case_id):
            return False
        await conn.execute(ANSWER_MEMBERS, case_id, answer, masked, by)
        await conn.execute(CLOSE_CASE, case_id, by, masked)
        await end_case_hotspots(conn, case_id)
    return True


async def merged_into(conn: Any, case_id: int) -> int | None:
    """The case `case_id` was merged into, if it was: a merge sent again finds the first one done."""
    into: int | None = await conn.fetchval("SELECT merged_into FROM cases WHERE id = $1", case_id)
    return into


# The case closed by the staff token $2 with the reply $3: a closing sent again (a double click, a retry after its
# answer was lost) finds the first one done.
CLOSED_SO_BY = """
SELECT c.status = 'closed' AND c.merged_into IS NULL AND c.closed_by = $2
       AND EXISTS (SELECT 1 FROM items i WHERE i.case_id = c.id AND i.closed_by = $2 AND i.answer = $3)
FROM cases c WHERE c.id = $1
"""


async def closed_so_by(conn: Any, *, case_id: int, by: int, answer: str) -> bool:
    return bool(await conn.fetchval(CLOSED_SO_BY, case_id, by, answer))


# Every report still being worked on goes to the desk, each hand-over recorded as an item's own is
# (`workflow.ASSIGN`); a report already closed keeps the desk that answered it, and one assigned to the desk already
# (the same hand-over sent again) stays as it is, with no second hand-over recorded.
ASSIGN_MEMBERS = """
WITH handed AS (
    UPDATE items SET status = 'assigned', assigned_to = $2, assigned_by = $3, assigned_at = now(), updated_at = now()
    WHERE case_id = $1 AND status IN ('open', 'failed', 'assigned')
        AND NOT (status = 'assigned' AND assigned_to IS NOT DISTINCT FROM $2)
    RETURNING id, assigned_to, assigned_by, assigned_at
)
INSERT INTO item_assignments (item_id, desk, assigned_by, assigned_at) SELECT * FROM handed ORDER BY id
"""


@rerun_after_schema_change
async def assign_case(conn: Any, *, case_id: int, assignment: Assignment, by: int) -> bool:
    """Hand every report of a case still at work to one desk; False if there is no such case. A case's reply is then
    the desk's, and counted for it (`ratings.satisfaction_report`), as the reply to a report assigned on its own."""
    desk = assignment.to.strip()
    if not shows_anything(desk):
        raise InvalidInput("to", "name the desk or department")
    async with conn.transaction():
        if not await _lock_open_case(conn, case_id):
            return False
        await conn.execute(ASSIGN_MEMBERS, case_id, desk, by)
    return True


class Dismissal(Strict):
    note: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=500,
            pattern=NO_NUL,
            description="why: handled already (已派城管处置), one known problem, no dispute; kept with phone, "
            "ID and card numbers masked",
        ),
    ]


class Dismissed(msgspec.Struct, kw_only=True):
    id: int
    kind: str
    status: str
    case_id: int | None
    dismissed_at: datetime
    note: str  # masked


HOTSPOT = "SELECT kind, street, case_id FROM hotspots WHERE id = $1"
LOCK_HOTSPOT = "SELECT status FROM hotspots WHERE id = $1 FOR UPDATE"
DISMISS = """
UPDATE hotspots SET status = 'dismissed', ended_at = now(), updated_at = now(), dismissed_by = $2, dismissal_note = $3
WHERE id = $1
RETURNING id, kind, status, case_id, ended_at, dismissal_note
"""


@rerun_after_schema_change
async def dismiss_hotspot(conn: Any, *, hotspot_id: int, dismissal: Dismissal, by: int) -> Dismissed | None:
    """Take a hotspot off the list and its reports' lift; None if there is no such hotspot. It is not raised again
    unless it grows (`tracker.dismissed`). A case's other hotspot (a crowd, when its escalation was dismissed) lifts
    the case's reports again."""
    note = dismissal.note.strip()
    if not shows_anything(note):
        raise InvalidInput("note", "write why the hotspot is dismissed")
    async with conn.transaction():
        hotspot = await conn.fetchrow(HOTSPOT, hotspot_id)
        if hotspot is None:
            return None
        # In the tracker's order: the street's lock, the case, then the hotspot.
        await lock_streets(conn, [hotspot["street"]])
        if hotspot["case_id"] is not None:
            await conn.execute(LOCK_CASE, hotspot["case_id"])
        status = await conn.fetchval(LOCK_HOTSPOT, hotspot_id)
        if status != "active":
            done = "was dismissed" if status == "dismissed" else "has ended"
            raise StateConflict(f"the hotspot {done}: only a current one is dismissed", current_status=status)
        row = await conn.fetchrow(DISMISS, hotspot_id, by, mask_pii(note))
        await drop_lift(conn, [hotspot_id])
    return _dismissed(row)


# The hotspot dismissed by the staff token $2 with the note $3 (masked): a dismissal sent again (a double click, a
# retry after its answer was lost) finds the first one done.
DISMISSED_SO_BY = """
SELECT id, kind, status, case_id, ended_at, dismissal_note FROM hotspots
WHERE id = $1 AND status = 'dismissed' AND dismissed_by = $2 AND dismissal_note = $3
"""


async def dismissed_so_by(conn: Any, *, hotspot_id: int, by: int, dismissal: Dismissal) -> Dismissed | None:
    row = await conn.fetchrow(DISMISSED_SO_BY, hotspot_id, by, mask_pii(dismissal.note.strip()))
    return None if row is None else _dismissed(row)


def _dismissed(row: Any) -> Dismissed:
    return Dismissed(
        id=row["id"],
        kind=row["kind"],
        status=row["status"],
        case_id=row["case_id"],
        dismissed_at=row["ended_at"],
        note=row["dismissal_note"],
    )


class HotspotRecord(msgspec.Struct):
    """One hotspot as `suggestions export hotspots` writes it: what it was raised for and how it ended, no text."""

    id: int
    kind: str
    street: str | None
    topic: str | None
    case_id: int | None
    status: str  # active | ended | dismissed (staff judged it; their note stays in the service)
    started_at: str
    ended_at: str | None
    score: float
    why: dict[str, Any]
    dismissed_by: int | None


EXPORT_HOTSPOTS = """
SELECT id, kind, street, topic, case_id, status, started_at, ended_at, score, why, dismissed_by
FROM hotspots ORDER BY id
"""


async def export_hotspots(conn: Any, path: Path) -> int:
    """JSONL of every hotspot raised: with the dismissals, what a district counts its false hotspots a week by."""
    return await write_jsonl(conn, path, EXPORT_HOTSPOTS, _hotspot_record)


def _hotspot_record(row: Any) -> HotspotRecord:
    return HotspotRecord(
        id=row["id"],
        kind=row["kind"],
        street=row["street"],
        topic=row["topic"],
        case_id=row["case_id"],
        status=row["status"],
        started_at=row["started_at"].isoformat(),
        ended_at=None if row["ended_at"] is None else row["ended_at"].isoformat(),
        score=round(float(row["score"]), 4),
        why=row["why"],
        dismissed_by=row["dismissed_by"],
    )
