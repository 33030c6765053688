"""The feed's filters and paging."""

from __future__ import annotations

from typing import Any

TEXTS = [
    ("web", "回龙观街道", "建议在龙跃苑小区门口增设一个公交站。"),
    ("web", "沙河镇", "小区楼下烧烤店每天晚上吵到凌晨两点，多次反映没人管。"),
    ("web", "回龙观街道", "楼上邻居装修把我家天花板泡坏了，找他赔偿他不理，还骂人。"),
    ("web", "天通苑北街道", "咨询一下老年卡在哪里办理，需要带什么材料。"),
    ("web", "回龙观街道", "我们三十多户业主的房子交付两年了还办不了房产证，开发商一直拖着，大家准备去市里上访。"),
]


async def test_paging_walks_the_whole_feed_in_order(client: Any, drain: Any, staff: dict[str, str]) -> None:
    for channel, place, text in TEXTS:
        assert (
            await client.post("/api/v1/items", json={"channel": channel, "place": place, "text": text})
        ).status_code == 201
    await drain()
    everything = (await client.get("/api/v1/triage", headers=staff)).json()["items"]
    assert len(everything) == len(TEXTS)

    paged: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/triage", params=params, headers=staff)).json()
        paged.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [e["id"] for e in paged] == [e["id"] for e in everything]
    keys = [(e["priority"], e["received_at"], e["id"]) for e in paged]
    assert keys == sorted(keys)


async def test_filters(client: Any, drain: Any, staff: dict[str, str]) -> None:
    for channel, place, text in TEXTS:
        await client.post("/api/v1/items", json={"channel": channel, "place": place, "text": text})
    await drain()

    async def ids(**params: Any) -> list[dict[str, Any]]:
        response = await client.get("/api/v1/triage", params=params, headers=staff)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    assert {e["place"] for e in await ids(place="回龙观")} == {"回龙观街道"}
    assert all(e["risk_level"] >= 2 for e in await ids(min_risk=2))
    some_topic = (await ids())[0]["topic"]
    assert {e["topic"] for e in await ids(topic=some_topic)} == {some_topic}
    assert await ids(channel="hotline") == []
    assert await ids(status="closed") == []


async def test_walking_the_feed_misses_no_item_while_another_desk_reranks(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    ids = []
    for channel, place, text in TEXTS[:4]:
        created = await client.post("/api/v1/items", json={"channel": channel, "place": place, "text": text})
        ids.append(created.json()["id"])
    await drain()
    for item_id in ids:  # all at risk 1 (priority 2): the feed is in arrival order
        put = await client.put(f"/api/v1/items/{item_id}/classification", json={"risk_level": 1}, headers=staff)
        assert put.status_code == 200, put.text

    first = (await client.get("/api/v1/triage", params={"limit": 2}, headers=staff)).json()
    walked = [e["id"] for e in first["items"]]
    assert walked == ids[:2]
    # While staff member A reads page 1, staff member B re-ranks two items: the last one turns out urgent, the
    # first one harmless. (A hotspot lift or a pending item being classified moves ranks the same way.)
    await client.put(f"/api/v1/items/{ids[3]}/classification", json={"risk_level": 3}, headers=staff)
    await client.put(f"/api/v1/items/{ids[0]}/classification", json={"risk_level": 0}, headers=staff)

    cursor = first["next_cursor"]
    while cursor:
        page = (await client.get("/api/v1/triage", params={"limit": 2, "cursor": cursor}, headers=staff)).json()
        walked += [e["id"] for e in page["moved_up"]] + [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
    assert ids[3] in walked, f"the item raised to risk 3 was never shown: walked {walked}"
    # Every item at least once: one may show twice (the item lowered to risk 0 again at the end, where it now ranks;
    # one changed moments before a page was read, among the next page's moved_up), and its id says so.
    assert set(walked) == set(ids), walked
