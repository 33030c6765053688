"""Tracking codes read out over the phone: an operator finds the code a caller means when what they heard can be only
one code, and the public look-up stays exact."""

from __future__ import annotations

from typing import Any

import asyncpg

from suggestions.intake import store
from suggestions.intake.tracking_code import ALPHABET, reading_key

ITEM = {"channel": "web", "text": "小区东门的垃圾桶已经三天没人清运了，气味很大。"}
CODE = "TP5N-Z8VQ-JKEA"
# As an operator writes it down: T heard as D, P as B, 5 as S, N as M, Z as 2, 8 as B, V as U, Q as 9 (qiu, jiu),
# J as G (jie, ji), E as 1 (yi).
HEARD = "DBSM 2BU9 GK1A"


async def _item_with_code(client: Any, pool: asyncpg.Pool, code: str) -> int:
    created = (await client.post("/api/v1/items", json=ITEM)).json()
    await pool.execute("UPDATE items SET tracking_code = $1 WHERE id = $2", code, created["id"])
    item_id: int = created["id"]
    return item_id


async def test_an_operator_finds_the_one_code_a_caller_read_out(
    client: Any, pool: asyncpg.Pool, operator: dict[str, str], grid_worker: dict[str, str], monitor: dict[str, str]
) -> None:
    await _item_with_code(client, pool, CODE)
    for who in (operator, grid_worker):
        found = await client.post("/api/v1/track", json={"code": HEARD}, headers=who)
        assert found.status_code == 200, found.text
        assert found.json()["tracking_code"] == CODE
        # The console shows the code found, to read back to the caller.
        assert found.json()["read_alike"] is True
    exact = await client.post("/api/v1/track", json={"code": CODE}, headers=operator)
    assert exact.json()["read_alike"] is False
    # Without a token (or with a scraper's) a code is found only as it is: a guess covers one code, not thousands.
    assert (await client.post("/api/v1/track", json={"code": HEARD})).status_code == 404
    assert (await client.post("/api/v1/track", json={"code": HEARD}, headers=monitor)).status_code == 404
    assert (await client.get(f"/api/v1/track/{HEARD.replace(' ', '')}")).status_code == 404


async def test_a_reading_that_fits_two_codes_finds_neither(
    client: Any, pool: asyncpg.Pool, operator: dict[str, str]
) -> None:
    await _item_with_code(client, pool, CODE)
    await _item_with_code(client, pool, "DB5M-Z8VQ-JKEA")
    refused = await client.post("/api/v1/track", json={"code": HEARD}, headers=operator)
    assert refused.status_code == 404
    assert "letter by letter" in refused.json()["title"]
    # Each is still found by its own code.
    for code in (CODE, "DB5M-Z8VQ-JKEA"):
        found = await client.post("/api/v1/track", json={"code": code}, headers=operator)
        assert (found.status_code, found.json()["tracking_code"]) == (200, code)


async def test_the_database_reads_codes_alike_as_the_console_does(pool: asyncpg.Pool) -> None:
    """The index the look-up reads folds each symbol as Python does, and the look-up reads it."""
    for symbol in ALPHABET:
        code = f"{symbol * 4}-{symbol * 4}-{symbol * 4}"
        assert await pool.fetchval(f"SELECT {store.READING} FROM (SELECT $1::text AS tracking_code) i", code) == (
            reading_key(code)
        )
    assert store.READING in " ".join(store.SELECT_READ_ALIKE.split())
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + store.SELECT_READ_ALIKE, "X" * 12))
    assert "items_tracking_reading" in plan


async def test_an_operator_looking_a_code_up_sees_the_desk_and_the_case(
    client: Any, drain: Any, pool: asyncpg.Pool, operator: dict[str, str], staff: dict[str, str]
) -> None:
    """A caller who gives their code is told which desk has it, as one who gives their phone is (the caller history);
    the public look-up names no desk."""
    item_id = await _item_with_code(client, pool, CODE)
    await drain()
    assigned = await client.post(f"/api/v1/items/{item_id}/assign", json={"to": "区城管委"}, headers=staff)
    assert assigned.status_code == 200, assigned.text
    seen = (await client.post("/api/v1/track", json={"code": CODE}, headers=operator)).json()
    assert (seen["status"], seen["assigned_to"], seen["case_id"]) == (
        "assigned",
        "区城管委",
        assigned.json()["case_id"],
    )
    for public in (
        (await client.post("/api/v1/track", json={"code": CODE})).json(),
        (await client.get(f"/api/v1/track/{CODE}")).json(),
    ):
        assert (public["assigned_to"], public["case_id"]) == (None, None)
