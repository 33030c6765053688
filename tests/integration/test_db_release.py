"""Returning a connection the server dropped meanwhile: the request's outcome stands, and the pool serves again."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from suggestions.db import connection, release


async def test_a_connection_dropped_while_it_is_returned_is_no_error(pool: asyncpg.Pool) -> None:
    async def dropped_during_release(give_back: Any) -> None:
        conn = await pool.acquire()
        raw = conn._con  # the driver's connection behind the pool's proxy
        returning = asyncio.ensure_future(give_back(conn))
        await asyncio.sleep(0)  # the release has begun
        raw.terminate()  # as when the server goes away: the close callback frees the pool's slot first
        await returning

    # asyncpg's own release then refuses a slot already free: the race the API's connection must survive.
    with pytest.raises(asyncpg.exceptions.InternalClientError):
        await dropped_during_release(pool.release)
    await dropped_during_release(lambda conn: release(pool, conn))
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT 1") == 1


async def test_a_requests_connection_goes_back_to_the_pool(pool: asyncpg.Pool) -> None:
    async with connection(pool, statement_seconds=1) as conn:
        assert await conn.fetchval("SELECT 1") == 1
    assert pool.get_idle_size() == pool.get_size()
    async with connection(pool) as conn:  # the next holder waits as long as the pool allows
        assert await conn.fetchval("SELECT pg_sleep(1.5) IS NOT NULL")
