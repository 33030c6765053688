"""Faults: workers killed, Redis killed and wiped, PostgreSQL crashed, each under load, each ending in the accounting.

Real processes only: workers are `suggestions worker` processes killed with SIGKILL, Redis and PostgreSQL are servers
of the test's own that it kills and starts again. The API runs in the test's process, over ASGI.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest
from arq.connections import ArqRedis

from suggestions.app import create_app
from suggestions.db import create_pool
from suggestions.migrate import migrate
from suggestions.queue import create_queue, open_queue
from suggestions.settings import Settings
from tests import processes
from tests.faults.accounting import account, submit_all, wait_classified
from tests.link import Link

PRODUCTION = Settings()  # lease and sweep timings as deployed, not the suite's quick ones
# How long a worker process may take to start, load its model and classify, on a machine shared with other work: a
# few seconds when quiet, much longer when every core is busy.
WORKER_STARTS_WITHIN = 60


def deployed(settings: Settings, **changes: Any) -> Settings:
    return msgspec.structs.replace(
        settings,
        lease_seconds=PRODUCTION.lease_seconds,
        sweep_after_seconds=PRODUCTION.sweep_after_seconds,
        **changes,
    )


@asynccontextmanager
async def api(settings: Settings, pool: asyncpg.Pool, queue: Any, model: Any, gazetteer: Any) -> AsyncIterator[Any]:
    app = create_app(settings, pool=pool, queue=queue, model=model, gazetteer=gazetteer)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as client:
        yield client


async def test_workers_killed_three_times_under_load(
    clean: None, settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """2,000 items posted concurrently while the only worker is killed with SIGKILL three times."""
    run = deployed(settings)
    worker = processes.worker(run)
    kills: list[float] = []
    thresholds = [500, 1000, 1500]

    async def classified() -> int:
        return int(await pool.fetchval("SELECT count(*) FROM items WHERE status <> 'pending'"))

    async def killer() -> None:
        for threshold in thresholds:
            while await pool.fetchval("SELECT count(*) FROM items") < threshold:
                await asyncio.sleep(0.05)
            # Kill it while it is working: wait until it has classified something since it (re)started, however long
            # a busy machine takes to start it and load its model.
            before = await classified()
            deadline = time.monotonic() + WORKER_STARTS_WITHIN
            while await classified() == before:
                assert time.monotonic() < deadline, f"the worker classified nothing in {WORKER_STARTS_WITHIN} s"
                await asyncio.sleep(0.05)
            worker.kill()
            kills.append(time.monotonic())
            worker.start()

    with processes.running(worker):
        async with api(run, pool, queue, model, gazetteer) as client:
            killing = asyncio.create_task(killer())
            submissions = await submit_all(client, 2000, concurrency=32, per_second=150)
            await killing
        assert len(kills) == 3
        # The items each killed worker held wait for their lease to run out, and then for the sweeper: longer than
        # that without an item classified, and they were lost to it.
        await wait_classified(pool, progress_within=run.lease_seconds + run.sweep_after_seconds + WORKER_STARTS_WITHIN)
        since_last_restart = time.monotonic() - kills[-1]

    async with pool.acquire() as conn:
        accounting = await account(conn, set(submissions.created.values()))
    print(f"\nworker killed 3 times: {accounting.line()}; all classified {since_last_restart:.1f} s after the restart")
    assert submissions.statuses.count(201) == 2000
    assert accounting.exact, accounting.line()


async def test_redis_killed_restarted_then_wiped(
    clean: None, settings: Settings, pool: asyncpg.Pool, model: Any, gazetteer: Any, tmp_path: Path
) -> None:
    """Intake keeps answering 201 while Redis is dead and after it loses everything; the sweeper finishes the rest."""
    redis = processes.RedisServer(tmp_path)
    run = deployed(settings, redis_url=redis.url)
    queue = await create_queue(redis.url, run.queue_name)
    worker = processes.worker(run)
    events: list[str] = []

    async def saboteur(accepted: int) -> None:
        if accepted >= 150 and "killed" not in events:
            events.append("killed")
            redis.kill()
        elif accepted >= 300 and "restarted" not in events:
            events.append("restarted")
            redis.start()
        elif accepted >= 450 and "wiped" not in events:
            events.append("wiped")
            await queue.flushall()

    try:
        with processes.running(worker):
            async with api(run, pool, queue, model, gazetteer) as client:
                submissions = await submit_all(client, 600, concurrency=8, per_second=100, on_progress=saboteur)
            await wait_classified(pool, progress_within=60)
    finally:
        await queue.aclose()
        redis.kill()

    async with pool.acquire() as conn:
        accounting = await account(conn, set(submissions.created.values()))
    print(f"\nRedis killed, restarted and wiped: {accounting.line()}")
    assert events == ["killed", "restarted", "wiped"]
    assert set(submissions.statuses) == {201}
    assert accounting.exact, accounting.line()


@pytest.fixture
async def own_postgres() -> AsyncIterator[processes.PostgresServer]:
    server = await asyncio.to_thread(processes.PostgresServer)
    conn = await asyncpg.connect(server.url)
    await migrate(conn)
    await conn.close()
    yield server
    await asyncio.to_thread(server.close)


async def test_postgres_crashed_and_restarted(
    settings: Settings, own_postgres: processes.PostgresServer, model: Any, gazetteer: Any
) -> None:
    """While PostgreSQL is down intake answers 503 with Retry-After, never 201 without a row; it recovers by itself.

    The clients behave as the API asks: a 503 is retried with the same Idempotency-Key."""
    run = deployed(settings, database_url=own_postgres.url, queue_name=settings.queue_name + ":pg")
    pool = await create_pool(run.database_url, size=8)
    queue = await create_queue(run.redis_url, run.queue_name)
    worker = processes.worker(run)
    outage: dict[str, float] = {}

    async def saboteur(accepted: int) -> None:
        if accepted >= 150 and "down" not in outage:
            outage["down"] = time.monotonic()
            await asyncio.to_thread(own_postgres.crash)
            await asyncio.sleep(2)  # down for two seconds while clients keep posting
            await asyncio.to_thread(own_postgres.start)
            outage["up"] = time.monotonic()

    try:
        with processes.running(worker):
            async with api(run, pool, queue, model, gazetteer) as client:
                submissions = await submit_all(
                    client, 500, concurrency=8, per_second=100, retry_503=True, on_progress=saboteur
                )
            await wait_classified(pool, progress_within=60)
        async with pool.acquire() as conn:
            accounting = await account(conn, set(submissions.created.values()))
    finally:
        await queue.delete(run.queue_name)
        await queue.aclose()
        await pool.close()

    refused = submissions.statuses.count(503)
    print(f"\nPostgreSQL crashed for 2 s: {refused} answers were 503, then retried; {accounting.line()}")
    assert set(submissions.statuses) <= {200, 201, 503}
    assert refused > 0
    assert submissions.retry_after_missing == 0
    assert submissions.accepted == 500
    assert accounting.exact, accounting.line()


async def test_a_worker_whose_redis_falls_silent_connects_again(
    clean: None, settings: Settings, pool: asyncpg.Pool, model: Any, gazetteer: Any, tmp_path: Path
) -> None:
    """Redis's host vanishes without closing anything (a failover to another host, a partition, a firewall that
    forgets the connection): the worker's connection hears nothing back, ever. The worker gives it up and connects
    again, and the sweeper finds the item whose wake-up it never heard."""
    redis = processes.RedisServer(tmp_path)
    link = Link(redis.url)
    run = msgspec.structs.replace(settings, redis_url=await link.start())
    queue = await create_queue(redis.url, run.queue_name)  # the API's, straight to Redis
    worker = processes.worker(run)
    try:
        with processes.running(worker):
            async with api(run, pool, queue, model, gazetteer) as client:
                first = await client.post(
                    "/api/v1/items", json={"channel": "web", "text": "小区南门的路灯坏了一个星期。"}
                )
                await wait_classified(pool, progress_within=60)
                link.silence()
                second = await client.post("/api/v1/items", json={"channel": "web", "text": "楼道里的声控灯又坏了。"})
            waited = await wait_classified(pool, progress_within=45)
    finally:
        await queue.aclose()
        await link.close()
        redis.kill()
    print(f"\nRedis fell silent: the waiting item was classified {waited:.1f} s later")
    assert (first.status_code, second.status_code) == (201, 201)
    assert await pool.fetchval("SELECT count(*) FROM items WHERE status = 'open'") == 2


async def test_items_are_classified_while_redis_stays_away(
    clean: None, settings: Settings, pool: asyncpg.Pool, model: Any, gazetteer: Any, tmp_path: Path
) -> None:
    """Redis is down and stays down (a broken disk, a host being replaced): intake answers 201, and the workers'
    sweeper, which arq runs only while Redis answers, classifies what PostgreSQL holds all the same."""
    redis = processes.RedisServer(tmp_path)
    run = msgspec.structs.replace(settings, redis_url=redis.url)
    redis.kill()
    queue = await open_queue(redis.url, run.queue_name)
    worker = processes.worker(run)
    try:
        with processes.running(worker):
            async with api(run, pool, queue, model, gazetteer) as client:
                submissions = await submit_all(client, 20, concurrency=4)
            waited = await wait_classified(pool, progress_within=60)
            async with pool.acquire() as conn:
                accounting = await account(conn, set(submissions.created.values()))
    finally:
        await queue.aclose()
    print(f"\nRedis away throughout: all classified {waited:.1f} s after the last 201; {accounting.line()}")
    assert set(submissions.statuses) == {201}
    assert accounting.exact, accounting.line()


async def test_a_worker_started_while_postgres_is_away_classifies_once_it_answers(
    clean: None, settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """A host's reboot brings the worker up before PostgreSQL: it waits for it, and classifies what waits once it
    answers, without a restart."""
    link = Link(settings.database_url)
    port = processes.free_port()
    worker = processes.worker(msgspec.structs.replace(settings, database_url=link.url(port)))
    try:
        with processes.running(worker):
            async with api(settings, pool, queue, model, gazetteer) as client:
                response = await client.post("/api/v1/items", json={"channel": "web", "text": "小区南门的路灯坏了。"})
            await asyncio.sleep(3)
            assert worker.popen is not None
            assert worker.popen.poll() is None, worker.output()
            await link.start(port)
            waited = await wait_classified(pool, progress_within=45)
    finally:
        await link.close()
    print(f"\nPostgreSQL answered after the worker started: the item was classified {waited:.1f} s later")
    assert response.status_code == 201
    assert await pool.fetchval("SELECT count(*) FROM items WHERE status = 'open'") == 1
