"""The workers' hourly maintenance runs while Redis is away too, once per due time between all the workers."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import pytest

from suggestions.classify.worker import _sweep_until
from suggestions.settings import Settings

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
    assert sorted(message.split()[1] for message in ran) == ["hourly", "purge_idempotency_keys"], ran
