"""Lifts that move between hotspots, an area judged on the reports placed up to each report whatever the batch, and
summaries remask leaves alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from suggestions.hotspots.editing import Dismissal, dismiss_hotspot
from suggestions.hotspots.similarity import signature
from suggestions.hotspots.tracker import (
    AREA_MEMBERS,
    AREA_WINDOW,
    BURST_WINDOW_HOURS,
    RELIFT,
    Placed,
    dismissed,
    review_hotspots,
    track,
)
from suggestions.hotspots.views import hotspot_members
from suggestions.remask import remask
from tests.integration.records import classified_item, staff_token_id


def scans_of(plan: dict[str, Any], relation: str) -> list[str]:
    found = [plan["Node Type"]] if plan.get("Relation Name") == relation else []
    for child in plan.get("Plans", []):
        found += scans_of(child, relation)
    return found


async def test_relift_reads_active_hotspots_by_index_not_every_hotspot_ever(conn: Any) -> None:
    """RELIFT runs under a street's lock (a burst ending in the tracker, the hourly review, a dismissal): it reads
    active hotspots by their indexes, never every hotspot stored (ended and dismissed ones included, a table that
    only grows)."""
    await conn.execute(
        """INSERT INTO hotspots (kind, street, topic, why, score, status, ended_at)
           SELECT 'burst', 's' || (g % 300), 't' || (g % 15), '{"as_of": "2026-01-01T00:00:00+00:00"}', 1, 'ended',
                  now()
           FROM generate_series(1, 20000) g"""
    )
    await conn.execute(
        """INSERT INTO hotspots (kind, street, topic, why, score)
           SELECT 'burst', 's' || g, 't1', jsonb_build_object('as_of', now(), 'since', now() - interval '3 days'), 5
           FROM generate_series(1, 40) g"""
    )
    await conn.execute(
        """INSERT INTO items (tracking_code, channel, text, text_masked, status, street, topic, risk_level)
           SELECT 'R' || g, 'web', '', '', 'open', 's' || (g % 40), 't1', 2 FROM generate_series(1, 300) g"""
    )
    await conn.execute("ANALYZE hotspots")
    await conn.execute("ANALYZE items")
    ids = [r["id"] for r in await conn.fetch("SELECT id FROM items")]
    [row] = await conn.fetch("EXPLAIN (FORMAT JSON) " + RELIFT, ids, BURST_WINDOW_HOURS, AREA_WINDOW)
    plan = json.loads(row[0])[0]["Plan"]
    scans = scans_of(plan, "hotspots")
    assert "Seq Scan" not in scans, f"RELIFT scans every hotspot stored: {scans}"


async def test_a_lift_the_dismissal_could_not_drop_at_once_goes_to_the_items_other_hotspot(
    conn: Any, pool: Any
) -> None:
    """DROP_LIFT passes over an item another transaction holds; the hourly review drops it later (STALE_LIFTS), and
    the item takes the lift of its case's active crowd then."""
    staff = await staff_token_id(conn)
    case_id = await conn.fetchval(
        "INSERT INTO cases (street, topic, opened_at, last_activity, size) "
        "VALUES ('回龙观街道', '城乡建设', now(), now(), 2) RETURNING id"
    )
    escalation = await conn.fetchval(
        "INSERT INTO hotspots (kind, street, topic, case_id, why, score) "
        "VALUES ('escalation', '回龙观街道', '城乡建设', $1, '{}', 2) RETURNING id",
        case_id,
    )
    crowd = await conn.fetchval(
        "INSERT INTO hotspots (kind, street, topic, case_id, why, score) "
        "VALUES ('case', '回龙观街道', '城乡建设', $1, '{}', 5) RETURNING id",
        case_id,
    )
    held, free = [
        await conn.fetchval(
            "INSERT INTO items (tracking_code, channel, text, text_masked, status, street, topic, risk_level, "
            "case_id, hotspot_id) VALUES ($1, 'web', '', '', 'open', '回龙观街道', '城乡建设', 2, $2, $3) "
            "RETURNING id",
            code,
            case_id,
            escalation,
        )
        for code in ("H1", "H2")
    ]
    other: asyncpg.Connection = await pool.acquire()
    try:
        async with other.transaction():
            # Staff at work on the item (a move, a note): the dismissal passes it over.
            await other.execute("SELECT 1 FROM items WHERE id = $1 FOR UPDATE", held)
            assert await dismiss_hotspot(conn, hotspot_id=escalation, dismissal=Dismissal(note="已处置"), by=staff)
    finally:
        await pool.release(other)
    lifts = dict(await conn.fetch("SELECT id, hotspot_id FROM items"))
    assert lifts[free] == crowd  # RELIFT did its job for the item it held
    await review_hotspots(conn)
    lifts = dict(await conn.fetch("SELECT id, hotspot_id FROM items"))
    assert lifts[held] == crowd, "a report of the case's active crowd left without its lift by the hourly review"


async def area_escalation(conn: Any, why: dict[str, Any]) -> int:
    """An active escalation of 回龙观街道 × 劳动和社会保障 across its cases, with these numbers."""
    hotspot_id: int = await conn.fetchval(
        "INSERT INTO hotspots (kind, street, topic, why, score) "
        "VALUES ('escalation', '回龙观街道', '劳动和社会保障', $1, 2) RETURNING id",
        why,
    )
    return hotspot_id


async def area_warning(conn: Any, code: str, at: datetime, channel: str = "web") -> int:
    """A warning (risk 2) of that area, received at `at` and placed in a case of its own (an area's rise counts and
    lifts placed reports: `tracker.AREA_MEMBERS`)."""
    case_id = await conn.fetchval(
        "INSERT INTO cases (street, topic, opened_at, last_activity, size, max_risk) "
        "VALUES ('回龙观街道', '劳动和社会保障', $1, $1, 1, 2) RETURNING id",
        at,
    )
    item_id: int = await conn.fetchval(
        "INSERT INTO items (tracking_code, channel, text, text_masked, status, street, topic, risk_level, "
        "received_at, case_id) VALUES ($1, $2, '', '', 'open', '回龙观街道', '劳动和社会保障', 2, $3, $4) RETURNING id",
        code,
        channel,
        at,
        case_id,
    )
    return item_id


async def test_an_area_escalations_lift_runs_over_the_window_its_verdict_counted(conn: Any) -> None:
    """Judged when its warning came in, an area escalation counts the reports of the two weeks before that warning
    (`why.since`), not of the two weeks before its row was last touched: an import or a late placement sets those
    apart."""
    now = datetime.now(UTC)
    why = {"reports": 4, "first_level": 0, "last_level": 2, "since": (now - timedelta(days=25)).isoformat()}
    area = await area_escalation(conn, why)
    item = await area_warning(conn, "A1", now - timedelta(days=20))
    await conn.execute(RELIFT, [item], BURST_WINDOW_HOURS, AREA_WINDOW)
    assert await conn.fetchval("SELECT hotspot_id FROM items WHERE id = $1", item) == area


SUMMARY_TEXT = "回龙观街道龙泽苑东区" + "楼道灯不亮" * 13 + "，2024年起就这样"  # no personal data in it


async def test_remask_leaves_a_summary_with_no_personal_data_as_it_was(conn: Any) -> None:
    """A row is written only if its masked form changes: a case whose first report is still its member, with nothing
    new to mask, keeps its summary, though it is cut at 80 characters right after four digits (a year)."""
    item = await classified_item(conn, text=SUMMARY_TEXT, topic="城乡建设", risk_level=0)
    case_id = await conn.fetchval("SELECT case_id FROM items WHERE id = $1", item)  # the case it opened
    before = await conn.fetchval("SELECT summary FROM cases WHERE id = $1", case_id)
    assert len(before) == 80
    assert before.endswith("2024")
    report = await remask(conn)
    after = await conn.fetchval("SELECT summary FROM cases WHERE id = $1", case_id)
    assert (report.cases_changed, after) == (0, before), f"summary rewritten: {after[-10:]!r}"


def _placed(item_id: int, *, risk: int, at: datetime, text: str) -> Placed:
    return Placed(
        id=item_id,
        text=text,
        street="回龙观街道",
        locality=None,
        topic="劳动和社会保障",
        risk_level=risk,
        received_at=at,
        signature=signature(text, places=("回龙观街道", None)),
        resident_phone=False,
    )


WAGES = "回龙观街道某工地拖欠工资，工人讨薪无果，情绪激动，扬言要堵路。"
OTHER_SITE = "育知东路快递驿站的老板把快递员的押金扣了不退，社保也一直没给交。"


@pytest.mark.parametrize("batches", [1, 2], ids=["one batch", "two batches"])
async def test_a_complaint_after_a_threat_does_not_make_one_cases_rise_an_areas(conn: Any, batches: int) -> None:
    """An area is judged on the reports placed up to each report, one at a time in time order, whatever the batch:
    one site's complaints rising to a threat, and a complaint of another site an hour or two later, are that site's
    case (`judge_case`), not an area's rise across cases, whether the complaint came in the threat's batch or the next.
    (Judged at the end of its batch, the threat's area read the complaint's risk too, and raised a rise across two
    cases in one batch and none in two.)"""
    now = datetime.now(UTC)
    case_a = await conn.fetchval(
        "INSERT INTO cases (street, topic, opened_at, last_activity, size, max_risk, signature_keys, "
        "signature_weights, anchor_keys, anchor_weights, summary) "
        "VALUES ('回龙观街道', '劳动和社会保障', $1, $1, 3, 1, $2, $3, $2, $3, '') RETURNING id",
        now - timedelta(days=3),
        signature(WAGES).keys,
        signature(WAGES).weights,
    )
    for days, risk in ((5, 0), (4, 1), (3, 0)):
        await conn.execute(
            "INSERT INTO items (tracking_code, channel, text, text_masked, status, street, topic, risk_level, "
            "case_id, received_at) VALUES (substr(md5(random()::text), 1, 12), 'web', $1, $1, 'open', "
            "'回龙观街道', '劳动和社会保障', $2, $3, $4)",
            WAGES,
            risk,
            case_a,
            now - timedelta(days=days),
        )
    reports = []
    for hours, risk, text in ((3, 3, WAGES), (1, 0, OTHER_SITE)):
        at = now - timedelta(hours=hours)
        item_id = await conn.fetchval(
            "INSERT INTO items (tracking_code, channel, text, text_masked, status, street, topic, risk_level, "
            "received_at) VALUES (substr(md5(random()::text), 1, 12), 'web', $1, $1, 'open', '回龙观街道', "
            "'劳动和社会保障', $2, $3) RETURNING id",
            text,
            risk,
            at,
        )
        reports.append(_placed(item_id, risk=risk, at=at, text=text))
    for batch in [reports] if batches == 1 else [[report] for report in reports]:
        async with conn.transaction():
            await track(conn, batch)
    cases = await conn.fetchval("SELECT count(DISTINCT case_id) FROM items")
    threat_case = await conn.fetchval("SELECT case_id FROM items WHERE id = $1", reports[0].id)
    areas = [r["kind"] for r in await conn.fetch("SELECT kind FROM hotspots WHERE case_id IS NULL")]
    assert (cases, threat_case) == (2, case_a)
    assert areas == [], f"in {batches} batch(es), area hotspots: {areas}"


async def test_an_area_escalation_lists_the_reports_it_lifts_and_no_other(conn: Any) -> None:
    """Its window is open at its start when counted and lifted (after `why.since`), and so when listed. Imported
    hotline records carry whole-minute times: a warning exactly two weeks before the one judged."""
    judged_at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    since = judged_at - AREA_WINDOW
    hotspot = await area_escalation(
        conn, {"reports": 4, "first_level": 0, "last_level": 2, "span_days": 14.0, "since": since.isoformat()}
    )
    ids = [await area_warning(conn, code, at, "hotline") for code, at in (("B1", since), ("B2", judged_at))]
    counted = {r["id"] for r in await conn.fetch(AREA_MEMBERS, "回龙观街道", "劳动和社会保障", since)}
    await conn.execute(RELIFT, ids, BURST_WINDOW_HOURS, AREA_WINDOW)
    lifted = {r["id"] for r in await conn.fetch("SELECT id FROM items WHERE hotspot_id = $1", hotspot)}
    row = await conn.fetchrow("SELECT * FROM hotspots WHERE id = $1", hotspot)
    listed = {r["id"] for r in await hotspot_members(conn, row)}
    assert counted == lifted == {ids[1]}
    assert listed == lifted, f"listed {sorted(listed)} but counted and lifted {sorted(lifted)}"


async def test_an_old_area_escalation_without_since_still_lifts_and_lists(conn: Any) -> None:
    from suggestions.hotspots.views import active_hotspots

    now = datetime.now(UTC)
    hotspot = await area_escalation(
        conn, {"reports": 4, "first_level": 0, "last_level": 2, "slope_per_day": 0.2, "span_days": 5.0}
    )
    item = await area_warning(conn, "C1", now - timedelta(days=3))
    await conn.execute(RELIFT, [item], BURST_WINDOW_HOURS, AREA_WINDOW)
    assert await conn.fetchval("SELECT hotspot_id FROM items WHERE id = $1", item) == hotspot
    [listed] = (await active_hotspots(conn, limit=10)).hotspots
    assert [m.id for m in listed.members] == [item]
    assert listed.explanation == "回龙观街道·劳动和社会保障：该区域同类问题 4 次反映，风险由 0 级升至 2 级，历时 5.0 天"


async def test_a_dismissed_burst_is_held_back_until_it_grows_half_as_large_again(conn: Any) -> None:
    """The hold of a dismissal on a street × topic: a week, and a burst's count against expected at most 1.5 times
    the one dismissed; it holds back raising only, and a dismissal older than a week holds nothing."""
    street, topic = "回龙观街道", "环境保护"

    async def held(score: float) -> bool:
        return await dismissed(conn, "burst", score, street=street, topic=topic)

    assert not await held(1.0)
    await conn.execute(
        "INSERT INTO hotspots (kind, street, topic, why, score, status, ended_at) "
        "VALUES ('burst', $1, $2, '{}', 10, 'dismissed', now() - interval '8 days')",
        street,
        topic,
    )
    assert not await held(10.0)  # past the week
    await conn.execute(
        "INSERT INTO hotspots (kind, street, topic, why, score, status, ended_at) "
        "VALUES ('burst', $1, $2, '{}', 10, 'dismissed', now() - interval '1 day')",
        street,
        topic,
    )
    assert (await held(15.0), await held(15.1)) == (True, False)
    assert not await dismissed(conn, "burst", 10.0, street=street, topic="交通运输")
    await conn.execute(
        "INSERT INTO hotspots (kind, street, topic, why, score) VALUES ('burst', $1, $2, '{}', 16)", street, topic
    )
    assert not await held(12.0)  # raised again: its numbers follow
