"""Forward-only SQL migrations: numbered files, a checksum each, one runner at a time."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import re
import time
from pathlib import Path

import asyncpg

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Any constant shared by all runners: pg_advisory_lock serialises concurrent `migrate` processes.
_LOCK_ID = 0x5_0667_3573
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name       text PRIMARY KEY,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(Exception):
    pass


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    files = sorted(p for p in directory.iterdir() if p.suffix == ".sql")
    for path in files:
        if not _NAME.match(path.name):
            raise MigrationError(f"{path.name}: migration files are named NNNN_words.sql")
    numbers = [p.name[:4] for p in files]
    if len(set(numbers)) != len(numbers):
        raise MigrationError("two migration files share a number")
    return files


def _checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def migrate(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the migrations not yet applied, each in its own transaction. Returns the names applied.

    Refuses to run when an applied file has changed since: history is never rewritten.
    """
    files = migration_files(directory)
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
    try:
        await conn.execute(CREATE_TABLE)
        applied = {r["name"]: r["checksum"] for r in await conn.fetch("SELECT name, checksum FROM schema_migrations")}
        unknown = set(applied) - {p.name for p in files}
        if unknown:
            raise MigrationError(f"the database has migrations this code does not know: {sorted(unknown)}")
        done: list[str] = []
        for path in files:
            checksum = _checksum(path)
            if path.name in applied:
                if applied[path.name] != checksum:
                    raise MigrationError(f"{path.name} has changed since it was applied; add a new migration instead")
                continue
            await _apply(conn, path.name, path.read_text(encoding="utf-8"), checksum)
            done.append(path.name)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)


# A migration applied while the service runs (a rolling deploy) waits for a table's lock at most this long at a time.
# While it waits, every statement on that table waits behind it: longer, and residents' requests, which wait 5 s for a
# statement (`db.QUICK_STATEMENT_SECONDS`), would answer 503 for as long as a long report held the table.
LOCK_WAIT = "2s"
# Between two tries the service's statements go through; a table still held after this long is a stuck session's.
RETRY_SECONDS = (0.5, 1, 2, 4)
GIVE_UP_AFTER_SECONDS = 600
# How a migration ends when it is to give way: a lock it waited for too long, or a deadlock with a request that holds
# one table the migration needs and waits for another the migration holds (PostgreSQL ends one of the two, and it
# may be the migration). Either way it rolled back whole.
GIVE_WAY = (asyncpg.exceptions.LockNotAvailableError, asyncpg.exceptions.DeadlockDetectedError)


async def _apply(conn: asyncpg.Connection, name: str, sql: str, checksum: str) -> None:
    """Apply one migration in its own transaction, trying again while a table it needs is held."""
    deadline = time.monotonic() + GIVE_UP_AFTER_SECONDS
    for attempt in itertools.count():
        try:
            async with conn.transaction():
                await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)", name, checksum)
            return
        except GIVE_WAY:
            if time.monotonic() > deadline:
                raise MigrationError(
                    f"{name}: a table it changes was held for {GIVE_UP_AFTER_SECONDS} s (a long or stuck "
                    "transaction: see pg_stat_activity); nothing of it was applied"
                ) from None
            await asyncio.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])


async def pending_migrations(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    applied = set()
    if exists:
        applied = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
    return [p.name for p in migration_files(directory) if p.name not in applied]
