"""Staff follow an item up with notes: for one another, or as an interim reply the resident reads."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_api_contract import problem_fields
from tests.e2e.test_workflow import classified_item


async def test_an_interim_reply_reaches_the_resident_and_a_staff_note_does_not(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    created = await classified_item(client, drain)
    url = f"/api/v1/items/{created['id']}"
    await client.post(f"{url}/assign", json={"to": "城市管理科"}, headers=staff)
    before = (await client.get(f"/api/v1/track/{created['tracking_code']}")).json()

    internal = await client.post(
        f"{url}/notes", json={"text": "已电话联系物业王经理 13912345678，约周三上门。"}, headers=staff
    )
    assert internal.status_code == 201, internal.text
    assert internal.json()["audience"] == "staff"
    assert internal.json()["text"] == "已电话联系物业王经理 [手机号]，约周三上门。"
    interim = await client.post(
        f"{url}/notes", json={"text": "已派单至城市管理科，预计本周内修复。", "audience": "resident"}, headers=staff
    )
    assert interim.status_code == 201, interim.text

    tracking = (await client.get(f"/api/v1/track/{created['tracking_code']}")).json()
    assert [p["text"] for p in tracking["progress"]] == ["已派单至城市管理科，预计本周内修复。"]
    assert tracking["updated_at"] > before["updated_at"]  # the resident sees the item moved
    page = (await client.get("/track", params={"code": created["tracking_code"]})).text
    assert "办理进展" in page
    assert "预计本周内修复" in page
    assert "王经理" not in page

    item = (await client.get(url, headers=staff)).json()
    assert [(n["audience"], n["text"][:5]) for n in item["notes"]] == [
        ("staff", "已电话联系"),
        ("resident", "已派单至城"),
    ]
    [entry] = (await client.get("/api/v1/triage", headers=staff)).json()["items"]
    assert entry["id"] == created["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "  "}, "text"),
        ({"text": "\u200b", "audience": "resident"}, "text"),  # an interim reply that shows nothing
        ({"text": "x" * 2001}, "text"),
        ({"note": "x"}, "note"),
        ({"text": "x", "audience": "public"}, "audience"),
        ({"text": "x", "audience": 1}, "audience"),
    ],
)
async def test_a_bad_note_names_its_field(
    client: Any, drain: Any, staff: dict[str, str], body: dict[str, Any], field: str
) -> None:
    created = await classified_item(client, drain)
    response = await client.post(f"/api/v1/items/{created['id']}/notes", json=body, headers=staff)
    assert response.status_code == 422, response.text
    assert field in problem_fields(response)


async def test_notes_are_for_staff(client: Any, drain: Any, staff: dict[str, str], operator: dict[str, str]) -> None:
    created = await classified_item(client, drain)
    url = f"/api/v1/items/{created['id']}/notes"
    assert (await client.post(url, json={"text": "x"})).status_code == 401
    assert (await client.post(url, json={"text": "x"}, headers=operator)).status_code == 403
    assert (await client.post("/api/v1/items/999999999/notes", json={"text": "x"}, headers=staff)).status_code == 404


async def test_a_staff_note_leaves_the_residents_view_as_it_was(client: Any, drain: Any, staff: dict[str, str]) -> None:
    created = await classified_item(client, drain)
    track = f"/api/v1/track/{created['tracking_code']}"
    before = (await client.get(track)).json()
    await client.post(f"/api/v1/items/{created['id']}/notes", json={"text": "内部：等物业回话"}, headers=staff)
    assert (await client.get(track)).json() == before


async def test_an_interim_reply_is_masked_and_escaped_for_the_resident(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    created = await classified_item(client, drain)
    text = "请联系维修师傅 13912345678 <script>alert(1)</script>"
    await client.post(
        f"/api/v1/items/{created['id']}/notes", json={"text": text, "audience": "resident"}, headers=staff
    )
    [progress] = (await client.get(f"/api/v1/track/{created['tracking_code']}")).json()["progress"]
    assert progress["text"] == "请联系维修师傅 [手机号] <script>alert(1)</script>"
    page = (await client.get("/track", params={"code": created["tracking_code"]})).text
    assert "13912345678" not in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


async def test_an_item_retention_has_anonymised_takes_no_more_notes(
    client: Any, drain: Any, staff: dict[str, str], pool: Any
) -> None:
    created = await classified_item(client, drain)
    url = f"/api/v1/items/{created['id']}"
    await client.post(f"{url}/close", json={"answer": "已处理。"}, headers=staff)
    assert (await client.post(f"{url}/notes", json={"text": "回访：满意"}, headers=staff)).status_code == 201
    await pool.execute("UPDATE items SET anonymised_at = now() WHERE id = $1", created["id"])
    refused = await client.post(f"{url}/notes", json={"text": "回访：电话 13912345678"}, headers=staff)
    assert refused.status_code == 409
    assert await pool.fetchval("SELECT count(*) FROM item_notes WHERE text LIKE '%13912345678%'") == 0
