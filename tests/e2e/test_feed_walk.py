"""A walk through the feed's pages while ranks change: moved_up lists every item that rose above its cursor."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.e2e.test_feed import TEXTS as FEED_TEXTS

TEXTS = [*FEED_TEXTS, ("web", "沙河镇", "路口的红绿灯坏了三天了，早晚高峰车堵成一片。")]

READING = 0.05  # staff read a page while other desks work


async def _items(client: Any, drain: Any, staff: dict[str, str], classes: list[dict[str, Any]]) -> list[int]:
    ids = []
    for channel, place, text in TEXTS[: len(classes)]:
        created = await client.post("/api/v1/items", json={"channel": channel, "place": place, "text": text})
        ids.append(created.json()["id"])
    await drain()
    for item_id, body in zip(ids, classes, strict=True):
        put = await client.put(f"/api/v1/items/{item_id}/classification", json=body, headers=staff)
        assert put.status_code == 200, put.text
    await asyncio.sleep(READING)  # the set-up is history before the walk starts
    return ids


async def _page(client: Any, staff: dict[str, str], cursor: str | None, **params: Any) -> dict[str, Any]:
    if cursor:
        params["cursor"] = cursor
    response = await client.get("/api/v1/triage", params=params, headers=staff)
    assert response.status_code == 200, response.text
    return response.json()


def _seen(page: dict[str, Any]) -> list[int]:
    return [e["id"] for e in page["moved_up"]] + [e["id"] for e in page["items"]]


async def _walk_on(client: Any, staff: dict[str, str], cursor: str | None, **params: Any) -> list[int]:
    """The ids the rest of a walk shows, from `cursor` on, a moment's reading between pages."""
    walked: list[int] = []
    while cursor:
        page = await _page(client, staff, cursor, **params)
        walked += _seen(page)
        cursor = page["next_cursor"]
        await asyncio.sleep(READING)
    return walked


async def test_raised_items_past_a_pages_limit_come_on_the_next_page(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    ids = await _items(client, drain, staff, [{"risk_level": 1}] * 5)
    first = await _page(client, staff, None, limit=1)
    walked = _seen(first)
    # Two items turn urgent while page 1 is read: both now rank above the walk's cursor.
    for item_id in (ids[3], ids[4]):
        assert (
            await client.put(f"/api/v1/items/{item_id}/classification", json={"risk_level": 3}, headers=staff)
        ).status_code == 200
    walked += await _walk_on(client, staff, first["next_cursor"], limit=1)
    assert {ids[3], ids[4]} <= set(walked), f"walked {walked}: an item made urgent was never shown"


async def test_items_assigned_or_lowered_are_not_listed_as_raised(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    # Two urgent items (priority 0), two at risk 1 (priority 2), two at risk 0 (priority 3).
    ids = await _items(
        client, drain, staff, [{"risk_level": 3}] * 2 + [{"risk_level": 1}] * 2 + [{"risk_level": 0}] * 2
    )
    page1 = await _page(client, staff, None, limit=2)
    page2 = await _page(client, staff, page1["next_cursor"], limit=2)
    walked = _seen(page1) + _seen(page2)
    # (Page 2 may list the set-up's items again as raised: a transaction of another database on the same server
    # holds back its snapshot's horizon. A walk may show an item twice; it must skip none.)
    assert [e["id"] for page in (page1, page2) for e in page["items"]] == ids[:4]
    # While page 2 is read, staff assign the two urgent items (their rank does not change), and a colleague
    # raises item 5 to risk 2: it now ranks above the cursor.
    for item_id in ids[:2]:
        assert (
            await client.post(f"/api/v1/items/{item_id}/assign", json={"to": "城管科"}, headers=staff)
        ).status_code == 200
    assert (
        await client.put(f"/api/v1/items/{ids[5]}/classification", json={"risk_level": 2}, headers=staff)
    ).status_code == 200
    walked += await _walk_on(client, staff, page2["next_cursor"], limit=2)
    assert ids[5] in walked, f"walked {walked}: moved_up listed the assigned items, which did not move, not item 5"


async def test_an_item_raised_by_a_transaction_that_commits_late_is_listed(
    client: Any, drain: Any, staff: dict[str, str], pool: Any
) -> None:
    ids = await _items(client, drain, staff, [{"risk_level": 1}] * 4)
    first = await _page(client, staff, None, limit=1)
    walked = _seen(first)
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        # What a worker's classification does when its transaction then waits (a street lock in track(), a slow
        # disk): the row changes now, and the change becomes visible at the commit.
        await conn.execute("UPDATE items SET risk_level = 3 WHERE id = $1", ids[3])
        await asyncio.sleep(READING + 0.5)
        page = await _page(client, staff, first["next_cursor"], limit=1)
        walked += _seen(page)
        await tx.commit()
    walked += await _walk_on(client, staff, page["next_cursor"], limit=1)
    assert ids[3] in walked, f"walked {walked}: the item made urgent was never shown"


async def test_an_item_moved_into_a_filtered_topic_is_listed(
    client: Any, drain: Any, staff: dict[str, str], model: Any
) -> None:
    topic, other = model.topics[0], model.topics[1]
    ids = await _items(
        client, drain, staff, [{"topic": topic, "risk_level": 1}] * 3 + [{"topic": other, "risk_level": 3}]
    )
    first = await _page(client, staff, None, limit=1, topic=topic)
    walked = _seen(first)
    assert walked == [ids[0]]
    # A colleague sees that the urgent item belongs to this topic: it now ranks first in this walk's feed.
    put = await client.put(f"/api/v1/items/{ids[3]}/classification", json={"topic": topic}, headers=staff)
    assert put.status_code == 200, put.text
    walked += await _walk_on(client, staff, first["next_cursor"], limit=1, topic=topic)
    assert ids[3] in walked, f"walked {walked}: the urgent item of this topic was never shown"


async def test_raised_items_past_the_limit_of_the_last_page_are_not_dropped(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    ids = await _items(client, drain, staff, [{"risk_level": 1}] * 5)
    first = await _page(client, staff, None, limit=2)
    walked = _seen(first)
    assert walked == ids[:2]
    # Every item after the cursor turns urgent while page 1 is read: the rest of the walk is raised items only,
    # more of them than a page holds.
    for item_id in ids[2:]:
        put = await client.put(f"/api/v1/items/{item_id}/classification", json={"risk_level": 3}, headers=staff)
        assert put.status_code == 200, put.text
    walked += await _walk_on(client, staff, first["next_cursor"], limit=2)
    assert set(ids[2:]) <= set(walked), f"walked {walked}: an item made urgent was never shown"


@pytest.mark.parametrize(
    ("step", "body", "status"),
    [("assign", {"to": "城管科"}, "assigned"), ("close", {"answer": "已处理。"}, "closed")],
    ids=["a desk walks its assigned items", "staff walk the closed items"],
)
async def test_an_item_that_takes_the_walked_status_meanwhile_is_listed(
    client: Any, drain: Any, staff: dict[str, str], step: str, body: dict[str, str], status: str
) -> None:
    """A walk filtered by status sees an item arrive by a change of status that leaves its rank as it was."""
    ids = await _items(client, drain, staff, [{"risk_level": 1}] * 4)
    for item_id in ids[1:]:
        done = await client.post(f"/api/v1/items/{item_id}/{step}", json=body, headers=staff)
        assert done.status_code == 200, done.text
    await asyncio.sleep(READING)
    first = await _page(client, staff, None, limit=1, status=status)
    walked = _seen(first)
    assert walked == [ids[1]]
    # While page 1 is read, a colleague assigns (or closes) the oldest item: it now ranks first among those walked.
    done = await client.post(f"/api/v1/items/{ids[0]}/{step}", json=body, headers=staff)
    assert done.status_code == 200, done.text
    walked += await _walk_on(client, staff, first["next_cursor"], limit=1, status=status)
    assert ids[0] in walked, f"walked {walked}: the item that took status {status} meanwhile was never shown"


async def test_an_item_raised_late_while_raised_items_carry_over_is_listed(
    client: Any, drain: Any, staff: dict[str, str], pool: Any
) -> None:
    ids = await _items(client, drain, staff, [{"risk_level": 1}] * 5)
    first = await _page(client, staff, None, limit=1)
    walked = _seen(first)
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        # A worker's classification makes item 2 urgent, then waits before it commits ...
        await conn.execute("UPDATE items SET risk_level = 3 WHERE id = $1", ids[2])
        # ... while colleagues make two more items urgent, committed at once: more than a page holds.
        for item_id in (ids[3], ids[4]):
            put = await client.put(f"/api/v1/items/{item_id}/classification", json={"risk_level": 3}, headers=staff)
            assert put.status_code == 200, put.text
        page = await _page(client, staff, first["next_cursor"], limit=1)
        walked += _seen(page)
        await tx.commit()
    walked += await _walk_on(client, staff, page["next_cursor"], limit=1)
    assert ids[2] in walked, f"walked {walked}: the item made urgent was never shown"


async def test_a_desk_walks_its_own_items_and_sees_one_handed_to_it_meanwhile(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    """`desk` keeps the items assigned to one desk, those sent back to it included. An item reassigned to it from
    another desk keeps its status and its rank, and still arrives in the desk's walk."""
    ids = await _items(client, drain, staff, [{"risk_level": 1}] * 4)
    for item_id, desk in zip(ids, ["住建科", "城管科", "城管科", "城管科"], strict=True):
        done = await client.post(f"/api/v1/items/{item_id}/assign", json={"to": desk}, headers=staff)
        assert done.status_code == 200, done.text
    await asyncio.sleep(READING)
    assert _seen(await _page(client, staff, None, desk="住建科")) == [ids[0]]
    assert _seen(await _page(client, staff, None, desk=" 城管科 ")) == ids[1:]
    assert _seen(await _page(client, staff, None, desk="信访科")) == []
    blank = await client.get("/api/v1/triage", params={"desk": "  "}, headers=staff)
    assert blank.status_code == 422
    assert [e["field"] for e in blank.json()["errors"]] == ["desk"]

    first = await _page(client, staff, None, limit=1, desk="城管科")
    walked = _seen(first)
    assert walked == [ids[1]]
    # While page 1 is read, the oldest item is handed over from 住建科: it now ranks first among the desk's.
    done = await client.post(f"/api/v1/items/{ids[0]}/assign", json={"to": "城管科"}, headers=staff)
    assert done.status_code == 200, done.text
    walked += await _walk_on(client, staff, first["next_cursor"], limit=1, desk="城管科")
    assert ids[0] in walked, f"walked {walked}: the item handed to the desk meanwhile was never shown"
