import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
import pytest

from suggestions.db import Session
from suggestions.errors import Conflict
from suggestions.hotspots.places import Gazetteer
from suggestions.intake import store
from suggestions.intake.schema import ItemIn
from suggestions.intake.service import accept_item

GAZETTEER = Gazetteer.from_rows([["回龙观街道", "街道", "", "回龙观"]])


def item(**fields: Any) -> ItemIn:
    return msgspec.convert({"channel": "web", "text": "楼道里堆满杂物，消防通道被堵", **fields}, ItemIn)


async def test_contact_is_stored_apart_from_the_text(conn: asyncpg.Connection) -> None:
    accepted = await accept_item(
        conn,
        item(text="我的电话13812345678，请回电", contact_name="王阿姨", contact_phone="138 1234 5678"),
        principal=None,
        gazetteer=GAZETTEER,
        area_code="010",
    )
    row = await conn.fetchrow("SELECT text, text_masked FROM items WHERE id = $1", accepted.item.id)
    assert "13812345678" in row["text"]
    assert "13812345678" not in row["text_masked"]
    contact = await conn.fetchrow("SELECT name, phone FROM contacts WHERE item_id = $1", accepted.item.id)
    assert (contact["name"], contact["phone"]) == ("王阿姨", "13812345678")


async def test_anonymous_items_have_no_contact_row(conn: asyncpg.Connection) -> None:
    accepted = await accept_item(conn, item(), principal=None, gazetteer=GAZETTEER, area_code="010")
    assert await conn.fetchval("SELECT count(*) FROM contacts WHERE item_id = $1", accepted.item.id) == 0


async def test_the_same_external_item_is_stored_once(pool: asyncpg.Pool) -> None:
    hotline = item(channel="hotline", external_id="WO-2026-000123")

    async def send() -> Any:
        async with pool.acquire() as c:
            return await accept_item(c, hotline, principal=None, gazetteer=GAZETTEER, area_code="010")

    results = await asyncio.gather(*(send() for _ in range(10)))
    assert sum(r.created for r in results) == 1
    assert len({r.item.id for r in results}) == 1
    # The same number on another channel is another item.
    async with pool.acquire() as c:
        grid = await accept_item(
            c, item(channel="grid", external_id="WO-2026-000123"), principal=None, gazetteer=GAZETTEER, area_code="010"
        )
    assert grid.created


async def test_idempotency_key_under_concurrency(pool: asyncpg.Pool) -> None:
    async def send(body: ItemIn) -> Any:
        async with pool.acquire() as c:
            return await accept_item(
                c, body, principal=None, gazetteer=GAZETTEER, area_code="010", idempotency_key="k-1"
            )

    results = await asyncio.gather(*(send(item()) for _ in range(20)))
    assert sum(r.created for r in results) == 1
    assert len({r.item.id for r in results}) == 1
    assert await pool.fetchval("SELECT count(*) FROM items") == 1
    with pytest.raises(Conflict):
        await send(item(text="另一件事"))


async def test_idempotency_keys_expire(conn: asyncpg.Connection) -> None:
    first = await accept_item(conn, item(), principal=None, gazetteer=GAZETTEER, area_code="010", idempotency_key="k-2")
    await conn.execute("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
    second = await accept_item(
        conn, item(), principal=None, gazetteer=GAZETTEER, area_code="010", idempotency_key="k-2"
    )
    assert second.created
    assert second.item.id != first.item.id


async def test_only_the_session_whose_commit_went_unanswered_is_ended(pool: asyncpg.Pool) -> None:
    """The number of a session whose commit went unanswered may name another session by the time it is ended: one on
    the server a failover promoted, or a later one given the same number. That session, a request of the service at
    work, is left alone, and the item in doubt is certainly not stored."""
    async with pool.acquire() as other, pool.acquire() as conn:
        elsewhere = Session(pid=other.get_server_pid(), started=datetime(2000, 1, 1, tzinfo=UTC))
        found = await store.stored_after_all(conn, session=elsewhere, tracking_code="ABCD-EFGH-JKMN", wait_ms=500)
        assert found is None
        assert await other.fetchval("SELECT 1") == 1
