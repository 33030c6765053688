"""Staff and the worker take rows in orders that never deadlock, and corrections move counts exactly.

Each test pauses one side at the racing moment (`Paused`: a hook before a given statement, or a wrapped tracker step)
and runs the other on its own connection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any

import asyncpg
import pytest

from suggestions.classify.corrections import Correction, correct
from suggestions.hotspots import editing, tracker
from suggestions.triage.workflow import Closing
from tests.integration.test_case_races import (
    BINS,
    LIFT_RETOLD,
    LIFT_TEXT,
    STREET,
    TOPIC,
    classify,
    pending,
    placed,
)


async def raised(step: Awaitable[object]) -> list[str]:
    """The class name of what the step raised, if anything: the worker's step, or the staff request it started."""
    try:
        await step
    except Exception as exc:
        return [type(exc).__name__]
    return []


class Paused:
    """A connection that runs `hook` just before the first statement starting with `prefix`."""

    def __init__(self, conn: Any, prefix: str, hook: Any) -> None:
        self._conn, self._prefix, self._hook, self.fired = conn, prefix, hook, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    async def _maybe(self, sql: str) -> None:
        if not self.fired and sql.lstrip().startswith(self._prefix):
            self.fired = True
            await self._hook()

    async def execute(self, sql: str, *args: Any) -> Any:
        await self._maybe(sql)
        return await self._conn.execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> Any:
        await self._maybe(sql)
        return await self._conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        await self._maybe(sql)
        return await self._conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        await self._maybe(sql)
        return await self._conn.fetchval(sql, *args)


async def test_the_tracker_absorbing_a_case_staff_are_closing_does_not_deadlock(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staff lock a case's reports before the case; the tracker, holding the case it joined, takes another case and
    its reports to absorb them only if nobody holds them."""
    async with pool.acquire() as worker, pool.acquire() as staff:
        _, _joined = await placed(worker)
        _, other = await placed(worker, BINS)
        token = await worker.fetchval("INSERT INTO api_tokens (token_hash, role) VALUES ('x', 'staff') RETURNING id")
        monkeypatch.setattr(tracker, "cases_to_absorb", lambda case, matches, candidates: [other])
        closing: list[asyncio.Task[bool]] = []

        async def staff_close() -> None:
            close = editing.close_case(staff, case_id=other, closing=Closing(answer="已处理"), by=token)
            closing.append(asyncio.create_task(close))
            await asyncio.sleep(0.3)  # staff hold the reports of `other` and wait for the case the worker holds

        paused = Paused(worker, "UPDATE items SET case_id = $2 WHERE case_id = $1", staff_close)
        item = await pending(worker)
        errors = await raised(classify(paused, item)) + await raised(closing[0])
        assert paused.fired
        assert errors in ([], ["StateConflict"]), errors  # the close may find the case merged away: a 409


class SlowSecondMove(Paused):
    """Sleeps before the second place_topic_days move of a correction: both corrections then hold their first row."""

    def __init__(self, conn: Any) -> None:
        super().__init__(conn, "", None)
        self.moves = 0

    async def _maybe(self, sql: str) -> None:
        if "place_topic_days.reports + excluded.reports" in sql:
            self.moves += 1
            if self.moves == 2:
                await asyncio.sleep(0.5)


async def test_two_corrections_moving_counts_opposite_ways_do_not_deadlock(pool: asyncpg.Pool) -> None:
    """Two staff correcting two reports of one street and day in opposite directions: the street's lock orders them."""
    topics = (TOPIC, "环境保护")
    async with pool.acquire() as setup:
        a = await pending(setup)
        await classify(setup, a, topics[0])
        b = await pending(setup, BINS)
        await classify(setup, b, topics[1])
    async with pool.acquire() as one, pool.acquire() as two:
        results = await asyncio.gather(
            correct(SlowSecondMove(one), item_id=a, correction=Correction(topic=topics[1]), topics=topics, who=0),
            correct(SlowSecondMove(two), item_id=b, correction=Correction(topic=topics[0]), topics=topics, who=0),
            return_exceptions=True,
        )
        errors = [type(r).__name__ for r in results if isinstance(r, BaseException)]
        assert errors == [], errors


async def test_a_corrected_topic_moves_the_problem_from_where_its_case_counted_it(conn: Any) -> None:
    """A case whose first report staff split off keeps its problem under that report's day, while its opened_at moves
    to the remaining report's: the problem moves from where it was counted, not from the case's new first day."""
    first = await pending(conn)
    await conn.execute("UPDATE items SET received_at = now() - interval '3 days' WHERE id = $1", first)
    await classify(conn, first)
    second = await pending(conn)
    await classify(conn, second)
    case_id = await conn.fetchval("SELECT case_id FROM items WHERE id = $1", first)
    assert await conn.fetchval("SELECT case_id FROM items WHERE id = $1", second) == case_id
    await editing.move_item(conn, item_id=first, case_id=None)  # split: 2 problems, 2 cases
    problems = "SELECT coalesce(sum(problems), 0) FROM place_topic_days WHERE street = $1"
    assert await conn.fetchval(problems, STREET) == 2
    other = "环境保护"
    assert await correct(conn, item_id=second, correction=Correction(topic=other), topics=(TOPIC, other), who=0)
    open_cases = await conn.fetchval("SELECT count(*) FROM cases WHERE status = 'open' AND street = $1", STREET)
    assert open_cases == 2
    assert await conn.fetchval(problems, STREET) == 2, await conn.fetch(
        "SELECT topic, day, problems, reports FROM place_topic_days ORDER BY topic, day"
    )


class Died(BaseException):
    """What a worker killed while classifying looks like to the items it held: nothing after it runs."""


POISON = "毒"


class PoisonModel:
    def __init__(self, model: Any) -> None:
        self.model, self.version = model, model.version

    def predict(self, texts: list[str]) -> Any:
        if any(POISON in t for t in texts):
            raise Died()
        return self.model.predict(texts)


async def test_a_batch_mate_of_an_item_that_kills_its_worker_is_classified(
    pool: asyncpg.Pool, settings: Any, model: Any
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from suggestions.classify.worker import classify_item, sweep

    ctx = {"settings": settings, "db_pool": pool, "model": PoisonModel(model), "executor": ThreadPoolExecutor(1)}
    async with pool.acquire() as conn:
        poison = await pending(conn, POISON + LIFT_TEXT)
        innocent = await pending(conn, BINS)
        await conn.execute("UPDATE items SET received_at = now() - interval '2 minutes' WHERE id = $1", poison)
        await conn.execute("UPDATE items SET received_at = now() - interval '1 minute' WHERE id = $1", innocent)
        with pytest.raises(Died):
            await classify_item(ctx, poison)  # the job: both in one batch, the worker dies
        history = []
        for _ in range(3 * settings.max_attempts + 2):
            await conn.execute(
                "UPDATE items SET lease_until = now() - interval '1 second' WHERE lease_until IS NOT NULL"
            )
            with contextlib.suppress(Died):
                await sweep(ctx)
            history.append(tuple(await conn.fetchrow("SELECT status, attempts FROM items WHERE id = $1", innocent)))
            if history[-1][0] != "pending":
                break
        row = await conn.fetchrow("SELECT status, last_error, attempts FROM items WHERE id = $1", innocent)
    assert row["status"] == "open", (dict(row), history)


async def test_a_failed_item_staff_assigned_then_classified_is_placed(conn: Any) -> None:
    from suggestions.triage.workflow import Assignment, assign

    await placed(conn)
    waiting = await pending(conn)
    await conn.execute("UPDATE items SET status = 'failed' WHERE id = $1", waiting)
    token = await conn.fetchval("INSERT INTO api_tokens (token_hash, role) VALUES ('y', 'staff') RETURNING id")
    assert await assign(conn, item_id=waiting, assignment=Assignment(to="城管科"), who=token)
    assert await correct(
        conn, item_id=waiting, correction=Correction(topic=TOPIC, risk_level=1), topics=(TOPIC,), who=0
    )
    row = await conn.fetchrow("SELECT status, case_id FROM items WHERE id = $1", waiting)
    reports = await conn.fetchval("SELECT sum(reports) FROM place_topic_days WHERE street = $1", STREET)
    assert (row["case_id"] is not None, reports) == (True, 2), (dict(row), reports)


async def test_a_count_never_made_is_not_moved(conn: Any) -> None:
    """An item staff classified while it was pending was once left unplaced and uncounted: a later correction moves
    no count it never had, and invents none under the new topic."""
    waiting = await pending(conn)
    # what correct() left before d2d328d: classified by staff, open, no case, no count
    await conn.execute("UPDATE items SET status = 'open', topic = $2, risk_level = 1 WHERE id = $1", waiting, TOPIC)
    other = "环境保护"
    assert await correct(conn, item_id=waiting, correction=Correction(topic=other), topics=(TOPIC, other), who=0)
    rows = await conn.fetch("SELECT topic, reports FROM place_topic_days WHERE street = $1 AND reports > 0", STREET)
    assert rows == [], [dict(r) for r in rows]


async def test_the_hourly_review_and_a_close_of_a_quiet_case_do_not_deadlock(pool: asyncpg.Pool) -> None:
    """The review ends the case's hotspot and drops the lift of reports nobody holds; a close holds them and ends the
    hotspot after the review."""
    async with pool.acquire() as worker, pool.acquire() as staff:
        _, case_id = await placed(worker)
        for text in LIFT_RETOLD:
            await classify(worker, await pending(worker, text))
        assert await worker.fetchval("SELECT count(*) FROM hotspots WHERE case_id = $1 AND status = 'active'", case_id)
        await worker.execute("UPDATE cases SET last_activity = now() - interval '8 days' WHERE id = $1", case_id)
        token = await worker.fetchval("INSERT INTO api_tokens (token_hash, role) VALUES ('x', 'staff') RETURNING id")
        closing: list[asyncio.Task[bool]] = []

        async def staff_close() -> None:
            close = editing.close_case(staff, case_id=case_id, closing=Closing(answer="已处理"), by=token)
            closing.append(asyncio.create_task(close))
            await asyncio.sleep(0.3)

        paused = Paused(worker, "UPDATE items SET hotspot_id = NULL", staff_close)
        errors = await raised(tracker.review_hotspots(paused)) + await raised(closing[0])
        assert errors == [], errors


async def test_a_topic_correction_while_a_worker_joins_the_case_does_not_deadlock(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A correction takes the street's lock before the case and the counts, as the tracker does."""
    async with pool.acquire() as worker, pool.acquire() as staff:
        alone, _case_id = await placed(worker)
        join = tracker._join
        correcting: list[asyncio.Task[bool]] = []

        async def join_then_staff_correct(conn: Any, item: Any, case: Any, score: float) -> Any:
            result = await join(conn, item, case, score)
            fix = correct(
                staff, item_id=alone, correction=Correction(topic="环境保护"), topics=(TOPIC, "环境保护"), who=0
            )
            correcting.append(asyncio.create_task(fix))
            await asyncio.sleep(0.3)
            return result

        monkeypatch.setattr(tracker, "_join", join_then_staff_correct)
        errors = await raised(classify(worker, await pending(worker))) + await raised(correcting[0])
        assert errors == [], errors


async def test_the_tracker_absorbing_a_case_staff_move_a_report_out_of_does_not_deadlock(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with pool.acquire() as worker, pool.acquire() as staff:
        _, _joined = await placed(worker)
        leaving, other = await placed(worker, BINS)
        _, elsewhere = await placed(worker, "路灯不亮", street="城北街道")
        monkeypatch.setattr(tracker, "cases_to_absorb", lambda case, matches, candidates: [other])
        moving: list[asyncio.Task[Any]] = []

        async def staff_move() -> None:
            moving.append(asyncio.create_task(editing.move_item(staff, item_id=leaving, case_id=elsewhere)))
            await asyncio.sleep(0.3)

        paused = Paused(worker, "UPDATE items SET case_id = $2 WHERE case_id = $1", staff_move)
        errors = await raised(classify(paused, await pending(worker))) + await raised(moving[0])
        assert errors == [], errors
