"""Fixtures: real PostgreSQL and Redis (the local ones, or embedded servers from wheels), a fresh database per
run built by the project's migrations, the default model, the app and a worker drained in burst mode."""

from __future__ import annotations

import os
import secrets
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from arq.connections import ArqRedis
from arq.worker import Worker

from suggestions.app import create_app
from suggestions.auth import create_token
from suggestions.classify.worker import shutdown, worker_settings
from suggestions.db import create_pool
from suggestions.district import load_gazetteer
from suggestions.embedded import EmbeddedServers
from suggestions.hotspots.places import Gazetteer
from suggestions.migrate import migrate
from suggestions.queue import create_queue
from suggestions.settings import Settings

PII_SCAN = pytest.StashKey[tuple[dict[str, int], list[str]]]()
REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
TABLES = (
    "hotspots, cases, place_topic_days, district_prior, idempotency_keys, classifications, contacts, items, "
    "api_tokens, maintenance_runs"
)


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def servers() -> Iterator[tuple[str, str]]:
    """Admin PostgreSQL URL and Redis URL."""
    embedded = EmbeddedServers()
    folder = Path(tempfile.mkdtemp(prefix="suggestions-test-"))
    postgres = os.environ.get("TEST_DATABASE_URL") or (
        "postgresql://postgres@127.0.0.1:5432/postgres" if _answers(5432) else embedded.postgres_url(folder)
    )
    # A database number of its own, flushed between tests.
    redis = os.environ.get("TEST_REDIS_URL") or (
        "redis://127.0.0.1:6379/13" if _answers(6379) else embedded.redis_url(folder)
    )
    yield postgres, redis
    embedded.close()


@pytest.fixture(scope="session", autouse=True)
def personal_data_scan(servers: tuple[str, str], request: pytest.FixtureRequest) -> Iterator[None]:
    """The whole run is watched for personal numbers in logs, Redis and job payloads (tests/pii_scan.py)."""
    from tests import processes
    from tests.pii_scan import PersonalDataScan

    scan = PersonalDataScan(servers[1], processes.LOG_DIR)
    scan.start()
    yield
    found = scan.finish()
    request.config.stash[PII_SCAN] = (scan.counts, found)
    if found:
        pytest.fail(f"personal numbers found in {len(found)} places: {', '.join(found[:20])}", pytrace=False)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if PII_SCAN not in config.stash:
        return
    counts, found = config.stash[PII_SCAN]
    logs = sum(n for source, n in counts.items() if source.startswith("output of"))
    terminalreporter.write_line(
        f"personal-data scan: {counts['log record']} log records, {counts['redis command']} Redis commands, "
        f"{counts['redis content']} Redis keys and values, {logs} lines of server output: "
        + (f"{len(found)} personal numbers found" if found else "no personal number found")
    )


@pytest.fixture(scope="session")
async def database_url(servers: tuple[str, str]) -> AsyncIterator[str]:
    admin = await asyncpg.connect(servers[0])
    name = f"suggestions_test_{secrets.token_hex(4)}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(servers[0], name)
    conn = await asyncpg.connect(url)
    await migrate(conn)
    await conn.close()
    try:
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session")
def settings(database_url: str, servers: tuple[str, str]) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=servers[1],
        queue_name=f"test:{secrets.token_hex(4)}",
        sweep_after_seconds=0,
        lease_seconds=30,
        # Tests post many items from one address; tests/e2e/test_limits.py turns the limits on.
        rate_limit_public="",
        rate_limit_public_address="",
        rate_limit_token="",
        rate_limit_address="",
        rate_limit_caller="",
    )


@pytest.fixture(scope="session")
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    db_pool = await create_pool(settings.database_url, size=5)
    yield db_pool
    await db_pool.close()


@pytest.fixture(scope="session")
async def queue(settings: Settings) -> AsyncIterator[ArqRedis]:
    arq_redis = await create_queue(settings.redis_url, settings.queue_name)
    yield arq_redis
    await arq_redis.aclose()


@pytest.fixture(scope="session")
def model() -> Any:
    from ml.serving import ensure_default_model, load_model

    return load_model(ensure_default_model())


@pytest.fixture(scope="session")
def gazetteer(settings: Settings) -> Gazetteer:
    return load_gazetteer(settings)


@pytest.fixture
async def clean(pool: asyncpg.Pool, queue: ArqRedis) -> None:
    """Empty tables and an empty queue: what integration and end-to-end tests start from."""
    await pool.execute(f"TRUNCATE {TABLES} CASCADE")
    await queue.flushdb()


@pytest.fixture
async def conn(pool: asyncpg.Pool) -> AsyncIterator[Any]:
    async with pool.acquire() as connection:
        yield connection


@pytest.fixture
async def client(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Gazetteer
) -> AsyncIterator[Any]:
    # httpx straight onto the ASGI app: requests run on the test's own event loop, where the pool lives.
    app = create_app(settings, pool=pool, queue=queue, model=model, gazetteer=gazetteer)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as test_client:
        yield test_client


async def _token(pool: asyncpg.Pool, role: str) -> dict[str, str]:
    async with pool.acquire() as connection:
        return {"Authorization": f"Bearer {await create_token(connection, role=role)}"}  # type: ignore[arg-type]


@pytest.fixture
async def staff(pool: asyncpg.Pool) -> dict[str, str]:
    return await _token(pool, "staff")


@pytest.fixture
async def monitor(pool: asyncpg.Pool) -> dict[str, str]:
    return await _token(pool, "monitor")


@pytest.fixture
async def operator(pool: asyncpg.Pool) -> dict[str, str]:
    return await _token(pool, "operator")


@pytest.fixture
async def grid_worker(pool: asyncpg.Pool) -> dict[str, str]:
    return await _token(pool, "grid")


@pytest.fixture
def drain(settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any) -> Any:
    """Run a real arq worker in burst mode until the queue is empty; returns jobs completed."""

    async def run(**overrides: Any) -> int:
        options = worker_settings(
            settings,
            burst=True,
            handle_signals=False,
            redis_pool=queue,
            cron_jobs=[],
            ctx={"settings": settings, "db_pool": pool, "model": overrides.pop("model", model)},
            poll_delay=0.05,
        )
        options.pop("redis_settings")
        options.update(overrides)
        worker = Worker(**options)
        try:
            await worker.main()
        finally:
            await shutdown(worker.ctx)
        return worker.jobs_complete

    return run
