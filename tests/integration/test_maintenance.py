"""The workers' hourly maintenance runs while Redis is away too, once per due time between all the workers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest

from suggestions import retention
from suggestions.classify.worker import _sweep_until, worker_settings
from suggestions.settings import Settings
from tests.integration.records import classified_item, close_item, staff_token_id

UNREACHABLE = (OSError,)


async def test_maintenance_runs_without_redis_once_between_workers(
    settings: Settings, pool: asyncpg.Pool, model: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis away for hours (a broken disk, a host being replaced): arq runs no cron job then, and expired
    Idempotency-Keys (the residents' words' hashes, kept 24 h) and cooled hotspots stayed. Two workers sweeping
    without Redis run each job once for its due time, not once each."""
    item_id = await pool.fetchval(
        "INSERT INTO items (channel, text, text_masked, tracking_code) "
        "VALUES ('web', '路灯坏了', '路灯坏了', 'ABCDEFGHJKMN') RETURNING id"
    )
    await pool.execute(
        "INSERT INTO idempotency_keys (scope, key, request_hash, item_id, created_at) "
        "VALUES ('web', 'stale', '\\x00', $1, now() - interval '25 hours')",
        item_id,
    )
    stopping = asyncio.Event()
    with ThreadPoolExecutor(max_workers=1) as executor, caplog.at_level(logging.INFO, "suggestions.classify.worker"):
        workers = [{"settings": settings, "db_pool": pool, "executor": executor, "model": model} for _ in range(2)]
        await asyncio.gather(*(_sweep_until(stopping, ctx, 1.0, UNREACHABLE) for ctx in workers))
        await _sweep_until(stopping, workers[0], 1.0, UNREACHABLE)  # the next round: nothing is due again
    assert await pool.fetchval("SELECT count(*) FROM idempotency_keys") == 0
    ran = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ran ")]
    assert sorted(message.split()[1] for message in ran) == ["hourly", "purge_idempotency_keys", "retention"], ran


async def test_personal_data_past_its_retention_is_erased_by_the_workers(
    settings: Settings, pool: asyncpg.Pool, model: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Nobody scheduled `suggestions retention` (a cron line forgotten on a new host): the workers' hourly maintenance
    erases the contact of an item closed longer ago than the retention period all the same, once between them, and
    keeps a contact whose item closed within it."""
    async with pool.acquire() as conn:
        staff = await staff_token_id(conn)
        old, recent = [
            await classified_item(
                conn, text=text, topic="城乡建设", risk_level=1, days_ago=days + 5, contact=("王阿姨", "13812345678")
            )
            for text, days in (("楼下路灯坏了", settings.retention_days + 10), ("小区门口积水", 30))
        ]
        await close_item(conn, old, answer="已修复", staff_id=staff, days_ago=settings.retention_days + 10)
        await close_item(conn, recent, answer="已修复", staff_id=staff, days_ago=30)
    stopping = asyncio.Event()
    with ThreadPoolExecutor(max_workers=1) as executor, caplog.at_level(logging.INFO, "suggestions.classify.worker"):
        workers = [{"settings": settings, "db_pool": pool, "executor": executor, "model": model} for _ in range(2)]
        await asyncio.gather(*(_sweep_until(stopping, ctx, 1.0, UNREACHABLE) for ctx in workers))
    contacts = {r["item_id"]: r["phone"] for r in await pool.fetch("SELECT item_id, phone FROM contacts")}
    assert contacts == {old: None, recent: "13812345678"}
    ran = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ran retention")]
    assert len(ran) == 1, ran
    # With Redis, arq runs it on the hour's schedule.
    assert "cron:retention" in [job.name for job in worker_settings(settings)["cron_jobs"]]


# How long a test waits for what a worker does, on a machine shared with other work.
WITHIN = 25.0


async def _until(condition: Any, what: str) -> None:
    """Wait until `condition()` (a coroutine function) holds, WITHIN seconds at most."""
    deadline = asyncio.get_running_loop().time() + WITHIN
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"waited {WITHIN} s for {what}")
        await asyncio.sleep(0.1)


async def _past_retention(pool: asyncpg.Pool, settings: Settings, count: int) -> list[int]:
    """`count` items closed past the retention period, each with a contact, oldest closing first."""
    async with pool.acquire() as conn:
        staff = await staff_token_id(conn)
        items = []
        for n in range(count):
            item = await classified_item(
                conn,
                text=f"楼下第{n + 1}盏路灯坏了",
                topic="城乡建设",
                risk_level=1,
                days_ago=settings.retention_days + 30,
                contact=("王阿姨", "13812345678"),
            )
            await close_item(conn, item, answer="已修复", staff_id=staff, days_ago=settings.retention_days + 20 - n)
            items.append(item)
    return items


async def _retention_waits_for_a_lock(pool: asyncpg.Pool) -> bool:
    waiting = await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%anonymised_items%'"
    )
    return bool(waiting)


@asynccontextmanager
async def _retention_held_up(
    settings: Settings, pool: asyncpg.Pool, model: Any, item_id: int
) -> AsyncIterator[tuple[asyncio.Event, asyncio.Future[None]]]:
    """A worker without Redis (its SIGTERM, its round) whose retention run waits for the item's contact, which a
    transaction holds until the block ends. The worker is waited for once the block has ended."""
    stopping = asyncio.Event()
    with ThreadPoolExecutor(max_workers=1) as executor:
        ctx = {"settings": settings, "db_pool": pool, "executor": executor, "model": model}
        worker: asyncio.Future[None] | None = None
        try:
            async with pool.acquire() as holder, holder.transaction():
                await holder.execute("SELECT 1 FROM contacts WHERE item_id = $1 FOR UPDATE", item_id)
                worker = asyncio.ensure_future(_sweep_until(stopping, ctx, 120.0, UNREACHABLE))
                await _until(lambda: _retention_waits_for_a_lock(pool), "retention to wait for the contact")
                yield stopping, worker
        finally:
            stopping.set()
            if worker is not None:
                await asyncio.wait_for(worker, WITHIN)


async def test_a_long_retention_run_without_redis_does_not_hold_up_the_sweep(
    settings: Settings, pool: asyncpg.Pool, model: Any
) -> None:
    """Redis away, a worker's hourly retention run takes long (the first on years of records, rows another transaction
    holds): items accepted meanwhile are classified all the same, by the same worker's sweep."""
    [old] = await _past_retention(pool, settings, 1)
    async with _retention_held_up(settings, pool, model, old):
        pending = await pool.fetchval(
            "INSERT INTO items (channel, text, text_masked, tracking_code) "
            "VALUES ('web', '路灯坏了', '路灯坏了', 'PQRSTUVWXYZ2') RETURNING id"
        )

        async def classified() -> bool:
            status = await pool.fetchval("SELECT status FROM items WHERE id = $1", pending)
            return bool(status != "pending")

        await _until(classified, "the sweep to classify an item while retention runs")
        assert await _retention_waits_for_a_lock(pool)  # still running: the sweep went on beside it


async def test_sigterm_ends_a_retention_run_without_redis_between_two_batches(
    settings: Settings, pool: asyncpg.Pool, model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM while a worker without Redis erases personal data: the batch in hand commits, no other is begun, and the
    worker stops well within compose's 30 s grace rather than going on for the run's 40 s. What is left is the next
    run's."""
    monkeypatch.setattr(retention, "BATCH_SIZE", 1)
    first, *others = await _past_retention(pool, settings, 3)
    async with _retention_held_up(settings, pool, model, first) as (stopping, _):
        stopping.set()  # SIGTERM, as the worker hears it; the contact is let go right after
    erased = await pool.fetch("SELECT item_id FROM contacts WHERE phone IS NULL ORDER BY item_id")
    assert [r["item_id"] for r in erased] == [first]
    assert await pool.fetchval("SELECT count(*) FROM items WHERE anonymised_at IS NULL AND id = ANY($1)", others) == 2


async def _retention_at_work(pool: asyncpg.Pool) -> bool:
    """Whether a session runs a retention batch (or waits for a lock in it)."""
    working = await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE state = 'active' AND query LIKE '%anonymised_items%' AND pid <> pg_backend_pid()"
    )
    return bool(working)


async def test_sigterm_does_not_wait_for_a_retention_batch_held_up_by_a_lock(
    settings: Settings, pool: asyncpg.Pool, model: Any
) -> None:
    """A retention batch waits for rows another transaction holds (for up to the workers' 30 s statement time): after
    a SIGTERM the worker waits a few seconds for it and then stops all the same, before compose's grace runs out and
    kills it. The batch given up is cancelled on the server too: it does not go on waiting there for the rows, to
    erase them once they are let go, after the worker has stopped."""
    [old] = await _past_retention(pool, settings, 1)
    async with _retention_held_up(settings, pool, model, old) as (stopping, worker):
        stopping.set()
        # Stopped while the contact is still held: the batch was not waited for.
        await asyncio.wait({worker}, timeout=WITHIN - 10)
        assert worker.done()
        # A cancel takes the server a moment to act on.
        for _ in range(20):
            if not await _retention_at_work(pool):
                break
            await asyncio.sleep(0.1)
        assert not await _retention_at_work(pool), "the batch given up still waits on the server"
    await asyncio.sleep(0.5)  # what a batch still waiting would take to erase the contact once it is let go
    row = await pool.fetchrow(
        "SELECT i.anonymised_at, c.phone FROM items i JOIN contacts c ON c.item_id = i.id WHERE i.id = $1", old
    )
    assert (row["anonymised_at"], row["phone"]) == (None, "13812345678")


async def test_a_statement_given_up_is_cancelled_in_its_own_session_only(settings: Settings) -> None:
    """A process number names a session on its server alone, and only while the session lasts: the connection a
    stopping worker cancels on may reach another server (a URL naming two hosts, a proxy that moved after a failover),
    whose session of that number is someone else's, at work on its own statement, which goes on."""
    from datetime import UTC, datetime

    from suggestions.classify.worker import _cancel_on_server

    someone = await asyncpg.connect(settings.database_url)
    try:
        statement = asyncio.ensure_future(someone.fetchval("SELECT 1 FROM pg_sleep(1)"))
        await asyncio.sleep(0.2)

        class Elsewhere:
            """A connection to another server whose session has the same number, begun at another time."""

            session_started = datetime(2020, 1, 1, tzinfo=UTC)

            def is_closed(self) -> bool:
                return False

            def get_server_pid(self) -> int:
                return int(someone.get_server_pid())

        await _cancel_on_server(settings, Elsewhere())
        assert await statement == 1
    finally:
        await someone.close()
