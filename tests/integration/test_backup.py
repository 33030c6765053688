"""The nightly dump (pg_dump, custom format) restores into a fresh database with nothing lost."""

from __future__ import annotations

import asyncio
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest

from suggestions.hotspots.editing import move_item
from suggestions.intake.schema import ItemIn
from suggestions.intake.service import accept_item
from suggestions.migrate import pending_migrations
from suggestions.triage.workflow import Assignment, assign
from tests.conftest import _with_database
from tests.integration.records import GAZETTEER, classified_item, close_item, staff_token_id

# Each table's rows in a stable order: the count, the ids, and one checksum over every column of every row.
TABLES = {
    "items": "id",
    "contacts": "item_id",
    "classifications": "id",
    "cases": "id",
    "case_edits": "id",
    "api_tokens": "id",
    "schema_migrations": "name",
}


async def fingerprint(conn: Any) -> dict[str, Any]:
    prints = {}
    for table, key in TABLES.items():
        row = await conn.fetchrow(
            f"SELECT count(*) AS rows, coalesce(array_agg(t.{key} ORDER BY t.{key})::text, '{{}}') AS keys, "
            f"md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t.{key}), '')) AS checksum FROM {table} t"
        )
        prints[table] = dict(row)
    return prints


async def run(*command: str) -> str:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, f"{command[0]} failed: {stderr.decode(errors='replace')}"
    return stdout.decode()


async def client_major(tool: str) -> int:
    """The major version of a PostgreSQL client tool on PATH; skips the test when it is missing."""
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not on PATH")
    match = re.search(r"\)\s*(\d+)", await run(tool, "--version"))  # "pg_dump (PostgreSQL) 15.20 (...)"
    assert match is not None
    return int(match.group(1))


async def stored_district(conn: Any) -> None:
    staff = await staff_token_id(conn)
    contact = ("李师傅", "13812345678")
    lamp = await classified_item(
        conn, text="小区门口的路灯坏了一个月", topic="城乡建设", risk_level=1, contact=contact, place="回龙观街道"
    )
    answered = await classified_item(conn, text="河道里有人倾倒垃圾", topic="环境保护", risk_level=2, channel="grid")
    await close_item(conn, answered, answer="已安排清理，谢谢反映。", staff_id=staff)
    assigned = await classified_item(
        conn, text="公交站牌被撞歪了", topic="交通运输", risk_level=0, channel="web", contact=contact
    )
    assert await assign(conn, item_id=assigned, assignment=Assignment(to="交通科"), who=staff)
    blocked = await classified_item(conn, text="楼道堆物堵住消防通道", topic="城乡建设", risk_level=3, days_ago=2)
    lamp_case = await conn.fetchval("SELECT case_id FROM items WHERE id = $1", lamp)
    assert await move_item(conn, item_id=blocked, case_id=lamp_case, by=staff)  # a staff correction of the grouping


async def test_a_dump_restores_every_item_contact_and_classification(
    conn: Any, database_url: str, servers: tuple[str, str], tmp_path: Path
) -> None:
    server_major = int(await conn.fetchval("SHOW server_version_num")) // 10000
    for tool in ("pg_dump", "pg_restore"):
        if (major := await client_major(tool)) < server_major:
            pytest.skip(f"{tool} {major} is older than the server ({server_major}) and cannot dump or restore it")
    await stored_district(conn)
    original = await fingerprint(conn)
    assert original["contacts"]["rows"] == 2
    assert original["classifications"]["rows"] == 4
    assert original["case_edits"]["rows"] == 1

    dump = tmp_path / "suggestions.dump"
    await run("pg_dump", "--format=custom", "--file", str(dump), "--dbname", database_url)
    name = f"suggestions_test_restore_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(servers[0])
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        restored_url = _with_database(servers[0], name)
        await run(
            "pg_restore", "--no-owner", "--exit-on-error", "--single-transaction", "--dbname", restored_url, str(dump)
        )

        restored = await asyncpg.connect(restored_url)
        try:
            assert await fingerprint(restored) == original
            assert await pending_migrations(restored) == []
            # The service carries on where it stopped: new items take new ids.
            accepted = await accept_item(
                restored,
                msgspec.convert({"channel": "web", "text": "恢复后的第一条建议"}, ItemIn),
                principal=None,
                gazetteer=GAZETTEER,
                area_code="010",
            )
            assert accepted.item.id > await conn.fetchval("SELECT max(id) FROM items")
        finally:
            await restored.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
