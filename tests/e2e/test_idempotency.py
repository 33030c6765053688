"""Idempotency-Key: one item however many times, and however concurrently, a request is repeated within 24 h."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from suggestions.intake.store import delete_expired_idempotency_keys

ITEM = {"channel": "hotline", "text": "来电反映：小区二期的电梯已经停了两天，老人上下楼很困难。"}


async def test_the_same_key_fifty_times_at_once_stores_one_item(
    client: Any, pool: asyncpg.Pool, operator: dict[str, str]
) -> None:
    headers = {**operator, "Idempotency-Key": "call-20261129-0042"}
    responses = await asyncio.gather(*(client.post("/api/v1/items", json=ITEM, headers=headers) for _ in range(50)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 49 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({r.json()["tracking_code"] for r in responses}) == 1
    assert await pool.fetchval("SELECT count(*) FROM items") == 1
    assert await pool.fetchval("SELECT count(*) FROM contacts") <= 1


async def test_the_same_key_with_another_body_is_refused(client: Any, operator: dict[str, str]) -> None:
    headers = {**operator, "Idempotency-Key": "call-20261129-0043"}
    assert (await client.post("/api/v1/items", json=ITEM, headers=headers)).status_code == 201
    other = await client.post("/api/v1/items", json={**ITEM, "text": "另一件事"}, headers=headers)
    assert other.status_code == 422
    assert other.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in other.json()["errors"]] == ["Idempotency-Key"]


async def test_keys_of_different_clients_never_collide(
    client: Any, operator: dict[str, str], pool: asyncpg.Pool
) -> None:
    from suggestions.auth import create_token

    async with pool.acquire() as conn:
        second = {"Authorization": f"Bearer {await create_token(conn, role='operator')}"}
    key = {"Idempotency-Key": "1"}
    first = await client.post("/api/v1/items", json=ITEM, headers={**operator, **key})
    other = await client.post("/api/v1/items", json=ITEM, headers={**second, **key})
    assert (first.status_code, other.status_code) == (201, 201)
    assert first.json()["id"] != other.json()["id"]


async def test_a_key_expires_after_24_hours(client: Any, pool: asyncpg.Pool, operator: dict[str, str]) -> None:
    headers = {**operator, "Idempotency-Key": "call-20261129-0044"}
    first = await client.post("/api/v1/items", json=ITEM, headers=headers)
    # A day and a minute later (the key's clock moved back instead of the test waiting).
    await pool.execute("UPDATE idempotency_keys SET created_at = now() - interval '24 hours 1 minute'")
    again = await client.post("/api/v1/items", json=ITEM, headers=headers)
    assert again.status_code == 201
    assert again.json()["id"] != first.json()["id"]
    # The hourly purge removes expired keys; the fresh one stays.
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO idempotency_keys (scope, key, request_hash, item_id, created_at) "
            "VALUES ('hotline:0', 'stale', '\\x00', $1, now() - interval '25 hours')",
            first.json()["id"],
        )
        assert await delete_expired_idempotency_keys(conn, hours=24) == 1
    assert await pool.fetchval("SELECT count(*) FROM idempotency_keys") == 1


async def test_a_record_number_needs_a_sender_with_a_token(
    client: Any, pool: asyncpg.Pool, operator: dict[str, str]
) -> None:
    """Without a token every resident would share one set of record numbers: a number claimed first would refuse a
    later sender, and whoever knew an item's words and number would read its tracking code back (and could try phones
    against it, since another contact is refused)."""
    body = {"channel": "web", "text": "小区门口路灯不亮", "external_id": "W-1", "contact_phone": "13912345678"}
    refused = await client.post("/api/v1/items", json=body)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["external_id"]
    assert "13912345678" not in refused.text
    assert await pool.fetchval("SELECT count(*) FROM items") == 0
    # A platform that sends web items with its own token keeps its numbers.
    assert (await client.post("/api/v1/items", json=body, headers=operator)).status_code == 201
    assert (await client.post("/api/v1/items", json=body, headers=operator)).status_code == 200


async def test_a_report_sent_again_under_a_new_key_after_the_app_was_killed_is_stored_once(
    client: Any, pool: asyncpg.Pool, grid_worker: dict[str, str], operator: dict[str, str]
) -> None:
    """A grid worker's app killed mid-send (or a phone that lost the answer) sends its draft again when it starts, the
    time it was written down included, under a key of its own or none: it is the report already stored."""
    draft = {
        "channel": "grid",
        "text": "巡查发现龙跃苑二区5号楼东侧井盖缺失，已设置临时围挡。",
        "place": "龙泽园街道 龙跃苑二区",
        "received_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "lat": 40.0751,
        "lon": 116.3271,
    }
    first = await client.post("/api/v1/items", json=draft, headers={**grid_worker, "Idempotency-Key": "draft-1"})
    assert first.status_code == 201, first.text
    for key in ({"Idempotency-Key": "draft-1-after-restart"}, {}):
        again = await client.post("/api/v1/items", json=draft, headers={**grid_worker, **key})
        assert (again.status_code, again.json()["id"]) == (200, first.json()["id"]), again.text
    # Another report, or the same words at another time, is one of its own; so is the same body from another sender.
    moved = {**draft, "received_at": (datetime.now(UTC) - timedelta(minutes=20)).isoformat()}
    assert (await client.post("/api/v1/items", json=moved, headers=grid_worker)).status_code == 201
    hotline = {**draft, "channel": "hotline", "text": "来电人反映龙跃苑二区5号楼东侧井盖缺失。"}
    assert (await client.post("/api/v1/items", json=hotline, headers=operator)).status_code == 201
    # Without a time written down, two calls in the same words may be two callers: each is stored.
    untimed = {k: v for k, v in hotline.items() if k != "received_at"}
    statuses = [(await client.post("/api/v1/items", json=untimed, headers=operator)).status_code for _ in range(2)]
    assert statuses == [201, 201]
    assert await pool.fetchval("SELECT count(*) FROM items") == 5


async def test_a_draft_tapped_twenty_times_at_once_under_as_many_keys_is_stored_once(
    client: Any, pool: asyncpg.Pool, grid_worker: dict[str, str]
) -> None:
    draft = {
        "channel": "grid",
        "text": "巡查发现龙跃苑二区北门路灯不亮。",
        "received_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
    }
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/items", json=draft, headers={**grid_worker, "Idempotency-Key": f"tap-{n}"})
            for n in range(20)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await pool.fetchval("SELECT count(*) FROM items") == 1


async def test_a_key_sent_again_with_another_body_tells_its_sender_what_the_key_stored(
    client: Any, grid_worker: dict[str, str]
) -> None:
    """A grid worker's app restarted mid-send sends its key again, its spot fixed anew: refused, yet told which report
    the key stored, so that the worker is not left to send it a third time under a new key."""
    draft = {"channel": "grid", "text": "巡查发现龙跃苑二区北门路灯不亮。", "lat": 40.0751, "lon": 116.3271}
    headers = {**grid_worker, "Idempotency-Key": "draft-7"}
    first = await client.post("/api/v1/items", json=draft, headers=headers)
    assert first.status_code == 201
    moved = await client.post("/api/v1/items", json={**draft, "lat": 40.0763}, headers=headers)
    assert moved.status_code == 422
    assert moved.json()["stored"] == first.json()
    # Anonymous senders share one set of keys: theirs tells nothing of what another stored under it.
    web = {"channel": "web", "text": "小区北门路灯不亮。"}
    assert (await client.post("/api/v1/items", json=web, headers={"Idempotency-Key": "k"})).status_code == 201
    other = await client.post("/api/v1/items", json={**web, "text": "别的事"}, headers={"Idempotency-Key": "k"})
    assert other.status_code == 422
    assert "stored" not in other.json()
