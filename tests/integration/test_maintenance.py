"""The workers' hourly maintenance runs while Redis is away too, once per due time between all the workers."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import pytest

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
