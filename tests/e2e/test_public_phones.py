"""The office numbers a reply tells residents to call are shown as written; every other phone stays masked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest

from suggestions.app import create_app
from suggestions.settings import Settings

OFFICE = "010-69712345"
REPLY = f"已转街道城管科。如仍有问题请拨打街道服务热线 {OFFICE}，或联系处置人员 13912345678。"


MASKED_REPLY = f"已转街道城管科。如仍有问题请拨打街道服务热线 {OFFICE}，或联系处置人员 [手机号]。"


@pytest.fixture
async def district(
    settings: Settings, pool: Any, queue: Any, model: Any, gazetteer: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a district that lists its office numbers in SUGGESTIONS_PUBLIC_PHONES."""
    listed = msgspec.structs.replace(settings, public_phones=f"{OFFICE}, (010) 6971 2346")
    app = create_app(listed, pool=pool, queue=queue, model=model, gazetteer=gazetteer)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client
    await app.state.limiter.close()


async def test_a_reply_shows_the_office_number_and_masks_the_rest(
    district: httpx.AsyncClient, pool: Any, drain: Any, staff: dict[str, str]
) -> None:
    # A resident quoting the office's number keeps it masked: only what staff write shows it.
    body = {"channel": "web", "text": f"打了 {OFFICE} 没人接，楼道灯还是不亮。"}
    item = (await district.post("/api/v1/items", json=body)).json()
    await drain()
    note = {"text": "已约维修，明天上午上门，可拨打 (010)69712346 询问。", "audience": "resident"}
    written = await district.post(f"/api/v1/items/{item['id']}/notes", json=note, headers=staff)
    assert written.status_code == 201, written.text
    assert written.json()["text"] == "已约维修，明天上午上门，可拨打 (010)69712346 询问。"
    closed = await district.post(f"/api/v1/items/{item['id']}/close", json={"answer": REPLY}, headers=staff)
    assert closed.status_code == 200, closed.text
    tracking = (await district.get(f"/api/v1/track/{item['tracking_code']}")).json()
    assert tracking["answer"] == MASKED_REPLY
    assert await pool.fetchval("SELECT text_masked FROM items WHERE id = $1", item["id"]) == (
        "打了 [电话] 没人接，楼道灯还是不亮。"
    )


async def test_a_cases_reply_shows_it_too(district: httpx.AsyncClient, drain: Any, staff: dict[str, str]) -> None:
    item = (await district.post("/api/v1/items", json={"channel": "web", "text": "小区门口路灯坏了一周。"})).json()
    await drain()
    case_id = (await district.get(f"/api/v1/items/{item['id']}", headers=staff)).json()["case_id"]
    closed = await district.post(f"/api/v1/cases/{case_id}/close", json={"answer": REPLY}, headers=staff)
    assert closed.status_code == 200, closed.text
    assert (await district.get(f"/api/v1/track/{item['tracking_code']}")).json()["answer"] == MASKED_REPLY


def test_a_list_with_a_value_that_is_no_phone_stops_the_service(settings: Settings) -> None:
    with pytest.raises(ValueError, match="'12345' is no phone number"):
        create_app(msgspec.structs.replace(settings, public_phones=f"{OFFICE},12345"))
