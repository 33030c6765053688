import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from suggestions.db import QUICK_STATEMENT_SECONDS
from suggestions.migrate import MIGRATIONS_DIR, MigrationError, migrate, pending_migrations


async def test_the_test_database_is_fully_migrated(conn: asyncpg.Connection) -> None:
    assert await pending_migrations(conn) == []
    assert await migrate(conn) == []  # running again applies nothing


async def _fresh_database(servers: tuple[str, str], name: str) -> str:
    from tests.conftest import _with_database

    admin = await asyncpg.connect(servers[0])
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return _with_database(servers[0], name)


async def _drop(servers: tuple[str, str], name: str) -> None:
    admin = await asyncpg.connect(servers[0])
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def test_concurrent_runners_apply_each_file_once(servers: tuple[str, str]) -> None:
    url = await _fresh_database(servers, "suggestions_test_migrate_race")
    try:
        conns = [await asyncpg.connect(url) for _ in range(3)]
        results = await asyncio.gather(*(migrate(c) for c in conns))
        applied = [name for result in results for name in result]
        assert sorted(applied) == sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql"))
        for c in conns:
            await c.close()
    finally:
        await _drop(servers, "suggestions_test_migrate_race")


async def test_an_edited_migration_is_refused(servers: tuple[str, str], tmp_path: Path) -> None:
    url = await _fresh_database(servers, "suggestions_test_migrate_edit")
    try:
        (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (x int);")
        conn = await asyncpg.connect(url)
        assert await migrate(conn, tmp_path) == ["0001_a.sql"]
        (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (x bigint);")
        with pytest.raises(MigrationError, match="has changed"):
            await migrate(conn, tmp_path)
        (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (x int);")
        (tmp_path / "0002_b.sql").write_text("CREATE TABLE b (;")  # broken: rolled back, not recorded
        with pytest.raises(asyncpg.PostgresSyntaxError):
            await migrate(conn, tmp_path)
        assert await pending_migrations(conn, tmp_path) == ["0002_b.sql"]
        await conn.close()
    finally:
        await _drop(servers, "suggestions_test_migrate_edit")


async def test_items_answered_again_lose_the_rating_of_the_reply_they_left(
    servers: tuple[str, str], tmp_path: Path
) -> None:
    """0040: an item closed again after a 不满意 kept that rating as its satisfaction until the new reply was rated;
    the migration clears it there, and leaves the items whose current reply has its rating, and those at work."""
    name = "suggestions_test_migrate_0040"
    url = await _fresh_database(servers, name)
    try:
        for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
            if path.name < "0040":
                (tmp_path / path.name).write_text(path.read_text())
        conn = await asyncpg.connect(url)
        await migrate(conn, tmp_path)
        ids = {}
        for code, status, satisfaction in [
            ("ANSWERED", "closed", "dissatisfied"),  # closed again, the new reply not rated
            ("RATED", "closed", "satisfied"),  # closed, its reply rated
            ("AT-WORK", "assigned", "dissatisfied"),  # sent back, at work
        ]:
            ids[code] = await conn.fetchval(
                "INSERT INTO items (tracking_code, channel, text, text_masked, status, satisfaction, closed_at) "
                "VALUES ($1, 'web', 'x', 'x', $2, $3, CASE WHEN $2 = 'closed' THEN now() END) RETURNING id",
                code,
                status,
                satisfaction,
            )
        await conn.execute(
            "INSERT INTO ratings (item_id, closed_at, rating) "
            "SELECT id, closed_at, 'satisfied' FROM items WHERE id = $1",
            ids["RATED"],
        )
        (tmp_path / "0040_satisfaction_of_the_standing_reply.sql").write_text(
            (MIGRATIONS_DIR / "0040_satisfaction_of_the_standing_reply.sql").read_text()
        )
        assert await migrate(conn, tmp_path) == ["0040_satisfaction_of_the_standing_reply.sql"]
        rows = await conn.fetch("SELECT tracking_code, satisfaction FROM items ORDER BY id")
        assert [tuple(r) for r in rows] == [("ANSWERED", None), ("RATED", "satisfied"), ("AT-WORK", "dissatisfied")]
        await conn.close()
    finally:
        await _drop(servers, name)


@asynccontextmanager
async def _migrated(
    servers: tuple[str, str], tmp_path: Path, name: str, first: str, sessions: int
) -> AsyncIterator[list[asyncpg.Connection]]:
    """A database of its own with the migration `first` applied from `tmp_path`: the runner that applied it, and
    `sessions` other sessions."""
    url = await _fresh_database(servers, name)
    try:
        (tmp_path / "0001_a.sql").write_text(first)
        conns = [await asyncpg.connect(url) for _ in range(1 + sessions)]
        await migrate(conns[0], tmp_path)
        yield conns
        for conn in conns:
            await conn.close()
    finally:
        await _drop(servers, name)


async def test_a_migration_waiting_for_a_lock_holds_up_no_request(servers: tuple[str, str], tmp_path: Path) -> None:
    """A rolling deploy's migration needs a table that a long staff report is reading. Waiting for it, the migration
    held up every statement on that table behind it, and residents' items answered 503 for as long as the report ran.
    It now waits briefly at a time, giving way in between, and is applied once the report is done."""
    first = "CREATE TABLE a (x int); INSERT INTO a VALUES (1);"
    async with _migrated(servers, tmp_path, "suggestions_test_migrate_lock", first, 2) as (runner, report, request):
        (tmp_path / "0002_b.sql").write_text("ALTER TABLE a ADD COLUMN y int;")
        long_report = report.transaction()
        await long_report.start()
        await report.fetchval("SELECT count(*) FROM a")
        migrating = asyncio.ensure_future(migrate(runner, tmp_path))
        for _ in range(3):  # the report goes on for a while; requests keep coming meanwhile
            await asyncio.sleep(1)
            assert await request.fetchval("SELECT count(*) FROM a", timeout=QUICK_STATEMENT_SECONDS) == 1
        assert not migrating.done()
        await long_report.commit()
        assert await asyncio.wait_for(migrating, 30) == ["0002_b.sql"]


async def test_a_migration_that_deadlocks_with_a_request_gives_way_and_is_applied(
    servers: tuple[str, str], tmp_path: Path
) -> None:
    """A rolling deploy's migration changes two tables; a staff step has written to the second and reads the first,
    which the migration holds. PostgreSQL ended the migration for the deadlock: it gave up, the deploy stopped and its
    new API and workers never started. It now gives way, as to a lock held too long, and is applied after the step."""
    first = "CREATE TABLE a (x int); CREATE TABLE b (x int); INSERT INTO b VALUES (1);"
    async with _migrated(servers, tmp_path, "suggestions_test_migrate_deadlock", first, 1) as (runner, request):
        (tmp_path / "0002_b.sql").write_text("ALTER TABLE a ADD COLUMN y int; ALTER TABLE b ADD COLUMN y int;")
        step = request.transaction()
        await step.start()
        await request.execute("UPDATE b SET x = x + 1")
        migrating = asyncio.ensure_future(migrate(runner, tmp_path))
        await asyncio.sleep(0.3)  # the migration holds a and waits for b
        assert await request.fetchval("SELECT count(*) FROM a", timeout=QUICK_STATEMENT_SECONDS) == 0
        await step.commit()
        assert await asyncio.wait_for(migrating, 30) == ["0002_b.sql"]
