"""Staff editing the grouping while a worker places reports: sizes match members, counts stay true, nothing deadlocks.

Each test stops one side at the racing moment (a transaction left open, or a hook on the tracker) and lets the other
run on its own connection."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from suggestions.classify import store
from suggestions.classify.corrections import Correction, correct
from suggestions.classify.store import Outcome
from suggestions.errors import StateConflict
from suggestions.hotspots import editing, tracker
from suggestions.triage.workflow import Closing

LIFT_TEXT = "龙跃苑二区5号楼的电梯又坏了，已经停了三天。"
# Other reporters of the same lift, each in their own words: copies of one text count as one reporter.
LIFT_RETOLD = (
    "龙跃苑二区5号楼电梯又坏了，停了三天一直没人修。",
    "龙跃苑二区5号楼的电梯坏了三天了，老人下不了楼。",
    "龙跃苑二区5号楼电梯又坏了，物业说已经停了三天在等配件。",
    "龙跃苑二区5号楼的电梯已经坏了三天，天天爬楼。",
)
BINS = "小区门口垃圾桶满了没人清理，臭气熏天。"
STREET = "龙泽园街道"
TOPIC = "城乡建设"


async def pending(conn: Any, text: str = LIFT_TEXT, street: str | None = STREET) -> int:
    return int(
        await conn.fetchval(
            "INSERT INTO items (tracking_code, channel, text, text_masked, street) "
            "VALUES (substr(md5(random()::text), 1, 10), 'hotline', $1, $1, $2) RETURNING id",
            text,
            street,
        )
    )


async def classify(conn: Any, item_id: int, topic: str = TOPIC, risk_level: int = 0) -> list[int]:
    outcome = Outcome(
        item_id=item_id,
        topic=topic,
        topic_confidence=0.9,
        risk_level=risk_level,
        risk_confidence=0.9,
        kind="complaint",
        terms=[],
        needs_review=False,
        model_version="test",
    )
    return await store.record_classifications(conn, [outcome])


async def placed(conn: Any, text: str = LIFT_TEXT, street: str = STREET) -> tuple[int, int]:
    """(item, its case): a report stored and classified."""
    item_id = await pending(conn, text, street)
    await classify(conn, item_id)
    return item_id, await conn.fetchval("SELECT case_id FROM items WHERE id = $1", item_id)


async def case_state(conn: Any, case_id: int) -> tuple[str, int, int]:
    """(status, stored size, members)."""
    row = await conn.fetchrow("SELECT status, size FROM cases WHERE id = $1", case_id)
    members = await conn.fetchval("SELECT count(*) FROM items WHERE case_id = $1", case_id)
    return row["status"], row["size"], members


async def test_a_move_while_a_worker_joins_the_case_it_leaves_counts_the_new_report(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as worker, pool.acquire() as staff:
        moved, left = await placed(worker)
        _, target = await placed(worker, "路灯不亮", street="城北街道")
        joining = await pending(worker)
        transaction = worker.transaction()
        await transaction.start()
        await classify(worker, joining)  # joins `left`, not committed yet
        assert await worker.fetchval("SELECT case_id FROM items WHERE id = $1", joining) == left
        move = asyncio.create_task(editing.move_item(staff, item_id=moved, case_id=target))
        await asyncio.sleep(0.3)
        await transaction.commit()
        await move
        assert await case_state(worker, left) == ("open", 1, 1)
        assert await case_state(worker, target) == ("open", 2, 2)


async def test_a_report_still_being_classified_cannot_be_moved(conn: Any) -> None:
    _, case_id = await placed(conn)
    waiting = await pending(conn)
    with pytest.raises(StateConflict):
        await editing.move_item(conn, item_id=waiting, case_id=case_id)
    await classify(conn, waiting)  # the worker places it, once
    _, size, members = await case_state(conn, case_id)
    assert size == members == 2


@pytest.mark.parametrize("given_up", [False, True])
async def test_a_report_staff_classify_before_the_worker_is_placed_and_counted(conn: Any, given_up: bool) -> None:
    await placed(conn)
    waiting = await pending(conn)
    if given_up:
        await conn.execute("UPDATE items SET status = 'failed' WHERE id = $1", waiting)
    correction = Correction(topic=TOPIC, risk_level=1)
    assert await correct(conn, item_id=waiting, correction=correction, topics=(TOPIC,), who=0)
    assert await classify(conn, waiting) == []  # no longer pending: the worker leaves it alone
    row = await conn.fetchrow("SELECT status, case_id FROM items WHERE id = $1", waiting)
    assert row["status"] == "open"
    assert row["case_id"] is not None
    assert await conn.fetchval("SELECT sum(reports) FROM place_topic_days WHERE street = $1", STREET) == 2
    # A second correction places nothing again.
    assert await correct(conn, item_id=waiting, correction=Correction(risk_level=2), topics=(TOPIC,), who=0)
    assert await conn.fetchval("SELECT sum(reports) FROM place_topic_days WHERE street = $1", STREET) == 2


async def test_the_tracker_leaves_alone_a_case_staff_merged_away_before_it_absorbs_it(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with pool.acquire() as worker, pool.acquire() as staff:
        _, joined = await placed(worker)
        _, other = await placed(worker, BINS)
        await classify(worker, await pending(worker, BINS))
        _, elsewhere = await placed(worker, "路灯不亮", street="城北街道")
        assert len({joined, other, elsewhere}) == 3
        problems = await worker.fetchval("SELECT sum(problems) FROM place_topic_days WHERE street = $1", STREET)
        monkeypatch.setattr(tracker, "cases_to_absorb", lambda case, matches, candidates: [other])
        join = tracker._join

        async def join_then_staff_merge(conn: Any, item: Any, case: Any, score: float) -> Any:
            result = await join(conn, item, case, score)
            assert await editing.merge_cases(staff, case_id=other, into=elsewhere, by=None)
            return result

        monkeypatch.setattr(tracker, "_join", join_then_staff_merge)
        await classify(worker, await pending(worker))
        assert await case_state(worker, joined) == ("open", 2, 2)
        assert await worker.fetchval("SELECT merged_into FROM cases WHERE id = $1", other) == elsewhere
        assert await case_state(worker, elsewhere) == ("open", 3, 3)
        # The staff merge took one problem away from the street's counts; the tracker took none.
        after = await worker.fetchval("SELECT sum(problems) FROM place_topic_days WHERE street = $1", STREET)
        assert after == problems - 1


async def test_a_join_keeps_the_reports_staff_merged_into_the_case_meanwhile(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with pool.acquire() as worker, pool.acquire() as staff:
        _, case_id = await placed(worker)
        _, other = await placed(worker, BINS)
        join = tracker._join

        async def staff_merge_then_join(conn: Any, item: Any, case: Any, score: float) -> Any:
            assert await editing.merge_cases(staff, case_id=other, into=case_id, by=None)
            return await join(conn, item, case, score)

        monkeypatch.setattr(tracker, "_join", staff_merge_then_join)
        await classify(worker, await pending(worker))
        assert await case_state(worker, case_id) == ("open", 3, 3)
        stored = set(await worker.fetchval("SELECT signature_keys FROM cases WHERE id = $1", case_id))
        transaction = worker.transaction()
        await transaction.start()
        await editing.refresh_case(worker, case_id)  # the signature rebuilt from every member's text
        rebuilt = set(await worker.fetchval("SELECT signature_keys FROM cases WHERE id = $1", case_id))
        await transaction.rollback()
        assert stored == rebuilt


async def test_closing_a_case_while_the_tracker_lifts_it_into_a_hotspot_does_not_deadlock(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with pool.acquire() as worker, pool.acquire() as staff:
        _, case_id = await placed(worker)
        for text in LIFT_RETOLD[:3]:
            await classify(worker, await pending(worker, text))
        token = await worker.fetchval("INSERT INTO api_tokens (token_hash, role) VALUES ('x', 'staff') RETURNING id")
        judge_case = tracker.judge_case
        closing: list[asyncio.Task[bool]] = []

        async def staff_close_meanwhile(conn: Any, case: int, street: str | None, topic: str) -> None:
            close = editing.close_case(staff, case_id=case, closing=Closing(answer="已处理"), by=token)
            closing.append(asyncio.create_task(close))
            await asyncio.sleep(0.3)  # the members are locked; staff wait for the case the worker holds
            await judge_case(conn, case, street, topic)

        monkeypatch.setattr(tracker, "judge_case", staff_close_meanwhile)
        await classify(worker, await pending(worker, LIFT_RETOLD[3]))  # the fifth reporter: a case hotspot
        assert await closing[0]
        assert (await case_state(worker, case_id))[0] == "closed"


async def test_a_batch_takes_along_only_items_never_claimed(conn: Any) -> None:
    asked, fresh, crashed = [await pending(conn) for _ in range(3)]
    await conn.execute("UPDATE items SET attempts = 1 WHERE id = $1", crashed)  # its worker died holding it
    claimed = await store.claim(conn, first=asked, limit=10, lease_seconds=60)
    assert [c.id for c in claimed] == [asked, fresh]
    alone = await store.claim(conn, first=crashed, limit=10, lease_seconds=60)
    assert [(c.id, c.attempts) for c in alone] == [(crashed, 2)]


async def test_a_merge_and_a_close_of_one_case_at_once_do_not_deadlock(pool: asyncpg.Pool) -> None:
    """Staff lock reports before cases in every edit; a merge that locked the cases first deadlocked with a close."""
    async with pool.acquire() as setup:
        token = await setup.fetchval("INSERT INTO api_tokens (token_hash, role) VALUES ('x', 'staff') RETURNING id")
        outcomes = []
        for _ in range(5):
            _, case_id = await placed(setup)
            _, into = await placed(setup, "路灯不亮", street="城北街道")

            async def merge(case_id: int = case_id, into: int = into) -> bool:
                async with pool.acquire() as conn:
                    return await editing.merge_cases(conn, case_id=case_id, into=into, by=token)

            async def close(case_id: int = case_id) -> bool:
                async with pool.acquire() as conn:
                    return await editing.close_case(conn, case_id=case_id, closing=Closing(answer="已处理"), by=token)

            results = await asyncio.gather(merge(), close(), return_exceptions=True)
            outcomes.append(tuple(type(r).__name__ for r in results))
    # One of the two goes first; the other finds the case merged away or closed (a 4xx), never a deadlock.
    assert all(name in {"bool", "InvalidInput", "StateConflict"} for pair in outcomes for name in pair), outcomes


async def test_a_case_merged_away_ends_its_hotspots(conn: Any) -> None:
    """Its reports now count in the case they joined, judged again at once; a hotspot left on the empty case would
    list no one."""
    _, crowded = await placed(conn)
    for text in LIFT_RETOLD:
        await classify(conn, await pending(conn, text))
    _, into = await placed(conn, "路灯不亮", street="城北街道")
    active = "SELECT id FROM hotspots WHERE case_id = $1 AND status = 'active'"
    assert len(await conn.fetch(active, crowded)) == 1
    assert await editing.merge_cases(conn, case_id=crowded, into=into)
    assert await conn.fetch(active, crowded) == []
    [hotspot] = [r["id"] for r in await conn.fetch(active, into)]  # six reporters now
    lifted = await conn.fetch("SELECT DISTINCT hotspot_id FROM items WHERE hotspot_id IS NOT NULL")
    assert [r["hotspot_id"] for r in lifted] == [hotspot]


async def test_copies_of_one_letter_are_one_reporter(conn: Any) -> None:
    """A letter sent again, or a platform's record imported twice, is no second resident: five copies without a phone
    make a case of five reports and one reporter, and no crowd."""
    _, case_id = await placed(conn)
    for _ in range(4):
        await classify(conn, await pending(conn))
    assert await case_state(conn, case_id) == ("open", 5, 5)
    assert await conn.fetch("SELECT id FROM hotspots WHERE case_id = $1", case_id) == []


async def test_copies_of_one_text_with_other_numbers_are_one_reporter(conn: Any) -> None:
    """A flood of one text from many addresses, each post with another number or string of letters in it (an
    advertisement's contact, a script's counter), counted as many reporters: a crowd, a hotspot, and every copy lifted
    above residents' own reports in the feed. Two residents' short reports that differ in a building's number stay
    two."""
    template = "免费领取养老补贴，名额有限，加微信 vx{n}88 办理，过期作废，龙跃苑二区5号楼的电梯也能修"
    _, case_id = await placed(conn, template.format(n=0))
    for n in range(1, 5):
        await classify(conn, await pending(conn, template.format(n=f"{n}a{n}")))
    assert await case_state(conn, case_id) == ("open", 5, 5)
    assert await conn.fetch("SELECT id FROM hotspots WHERE case_id = $1", case_id) == []
    facts = await conn.fetchrow(tracker.CASE_FACTS, case_id)
    assert (facts["reports"], facts["reporters"]) == (5, 1)
    short = [await pending(conn, f"{n}号楼停水了") for n in (3, 5)]
    assert len({await conn.fetchval("SELECT copy_key FROM items WHERE id = $1", item) for item in short}) == 2


async def test_a_copy_of_an_angry_letter_is_no_rise_in_its_case_risk(conn: Any) -> None:
    """Risk rising needs a third report: the same letter twice is one point of the trend."""
    angry = "龙跃苑二区5号楼电梯停了三天没人修，再不修我们全楼业主就去堵物业的门。"
    escalations = "SELECT why FROM hotspots WHERE case_id = $1 AND kind = 'escalation' AND status = 'active'"
    _, case_id = await placed(conn)
    for _ in range(2):
        await classify(conn, await pending(conn, angry), risk_level=2)
    assert await case_state(conn, case_id) == ("open", 3, 3)
    assert await conn.fetch(escalations, case_id) == []
    await classify(conn, await pending(conn, LIFT_RETOLD[2]), risk_level=2)
    [why] = [r["why"] for r in await conn.fetch(escalations, case_id)]
    assert (why["reports"], why["first_level"], why["last_level"]) == (4, 0, 2)


async def test_the_hourly_review_drops_the_lift_an_ended_hotspot_left_on_a_held_item(conn: Any) -> None:
    """Dropping a lift passes over an item someone holds; the review clears what such a pass left."""
    item, case_id = await placed(conn)
    hotspot = await conn.fetchval(
        "INSERT INTO hotspots (kind, street, topic, case_id, why, score, status) "
        "VALUES ('case', $1, $2, $3, '{}', 1, 'ended') RETURNING id",
        STREET,
        TOPIC,
        case_id,
    )
    await conn.execute("UPDATE items SET hotspot_id = $2 WHERE id = $1", item, hotspot)
    await tracker.review_hotspots(conn)
    assert await conn.fetchval("SELECT hotspot_id FROM items WHERE id = $1", item) is None
