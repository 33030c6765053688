"""A rolling deploy: migrations applied while the API and the workers run on, with the statements they prepared."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from arq.connections import ArqRedis

from suggestions.app import create_app
from suggestions.db import create_pool
from suggestions.settings import Settings

ITEM = {"channel": "web", "text": "小区南门的路灯坏了一个星期。"}


@pytest.fixture
async def one_connection(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """A pool of one connection: every request finds the statements the one before it prepared."""
    pool = await create_pool(settings.database_url, size=1)
    yield pool
    await pool.close()


@pytest.fixture
async def migration(pool: asyncpg.Pool) -> AsyncIterator[Any]:
    """A migration that changes the type of a text column the service reads back (as one that bounds a free text
    does), undone afterwards."""
    changed: list[str] = []

    async def apply(table: str, column: str) -> None:
        await pool.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE varchar(100)")
        changed.append(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE text")

    yield apply
    for undo in changed:
        await pool.execute(undo)
    # The tests after this one start with statements prepared for the schema they find.
    await pool.expire_connections()


async def test_a_migration_applied_while_the_api_runs_fails_no_request(
    settings: Settings,
    one_connection: asyncpg.Pool,
    queue: ArqRedis,
    model: Any,
    gazetteer: Any,
    migration: Any,
) -> None:
    """The API prepared its statements before the migration; a resident's item sent with an Idempotency-Key (its
    statements run in one transaction, where asyncpg does not prepare a statement again by itself) is stored after it
    all the same, and answered 201, not 500."""
    app = create_app(settings, pool=one_connection, queue=queue, model=model, gazetteer=gazetteer)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        before = await client.post("/api/v1/items", json=ITEM, headers={"Idempotency-Key": "before-the-deploy"})
        await migration("items", "tracking_code")
        after = await client.post(
            "/api/v1/items", json={**ITEM, "text": "楼道的灯也坏了。"}, headers={"Idempotency-Key": "after-the-deploy"}
        )
        again = await client.post(
            "/api/v1/items", json={**ITEM, "text": "楼道的灯也坏了。"}, headers={"Idempotency-Key": "after-the-deploy"}
        )
    assert (before.status_code, after.status_code, again.status_code) == (201, 201, 200), after.text
    assert again.json() == after.json()


async def test_a_migration_applied_while_a_worker_runs_delays_no_item(
    settings: Settings,
    pool: asyncpg.Pool,
    one_connection: asyncpg.Pool,
    client: httpx.AsyncClient,
    model: Any,
    drain: Any,
    migration: Any,
) -> None:
    """The worker prepared its statements before the migration: the next item is classified at once all the same,
    not left to wait for its lease to run out and the sweeper."""
    worker = {"settings": settings, "db_pool": one_connection, "model": model}
    first = await client.post("/api/v1/items", json=ITEM)
    await drain(ctx=dict(worker))
    await migration("classifications", "topic")
    second = await client.post("/api/v1/items", json={**ITEM, "text": "楼道的灯也坏了。"})
    await drain(ctx=dict(worker))
    statuses = await pool.fetch(
        "SELECT status FROM items WHERE id = ANY($1) ORDER BY id", [first.json()["id"], second.json()["id"]]
    )
    assert [row["status"] for row in statuses] == ["open", "open"]
