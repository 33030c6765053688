"""Shared set-up for the benchmarks: a fresh database on the local PostgreSQL, the local Redis, the service."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def fresh_database() -> Iterator[str]:
    """A migrated database of its own, dropped afterwards."""
    from suggestions.migrate import migrate

    name = f"suggestions_bench_{secrets.token_hex(4)}"
    url = urlunsplit(urlsplit(ADMIN_URL)._replace(path="/" + name))

    async def create() -> None:
        admin = await asyncpg.connect(ADMIN_URL)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        conn = await asyncpg.connect(url)
        await migrate(conn)
        await conn.close()

    async def drop() -> None:
        admin = await asyncpg.connect(ADMIN_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    asyncio.run(create())
    try:
        yield url
    finally:
        asyncio.run(drop())


@contextmanager
def api_server(database_url: str, *, workers: int = 1) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, "SUGGESTIONS_LOG_LEVEL": "WARNING"}
    # Benchmarks post from one address as fast as the service takes it: rate limits off.
    env.update(
        {f"SUGGESTIONS_RATE_LIMIT_{name}": "" for name in ("PUBLIC", "PUBLIC_ADDRESS", "TOKEN", "ADDRESS", "CALLER")}
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "suggestions", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError("the API did not become ready")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
