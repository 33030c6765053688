import asyncio
from pathlib import Path

import asyncpg
import pytest

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
