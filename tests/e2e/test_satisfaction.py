"""Residents rate the reply; a dissatisfied rating sends the item back to work; staff read how replies were received.
And a case is closed with one reply to all its reporters, each of whom can rate it."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from suggestions.auth import hash_token
from tests.conftest import _token
from tests.e2e.test_api_contract import problem_fields
from tests.e2e.test_hotspots import LIFT, FixedTopic, post_all
from tests.e2e.test_metrics import samples
from tests.e2e.test_workflow import classified_item


async def closed_item(client: Any, drain: Any, staff: dict[str, str], desk: str | None = None) -> dict[str, Any]:
    created = await classified_item(client, drain)
    if desk:
        assert (await client.post(f"/api/v1/items/{created['id']}/assign", json={"to": desk}, headers=staff)).is_success
    closed = await client.post(f"/api/v1/items/{created['id']}/close", json={"answer": "路灯已修复。"}, headers=staff)
    assert closed.status_code == 200, closed.text
    return created


async def test_a_resident_rates_the_reply_and_may_change_the_rating(
    client: Any, drain: Any, staff: dict[str, str], monitor: dict[str, str]
) -> None:
    created = await classified_item(client, drain)
    track = f"/api/v1/track/{created['tracking_code']}"
    before = (await client.get(track)).json()
    assert (before["can_rate"], before["rating"]) == (False, None)
    too_early = await client.post(f"{track}/rating", json={"rating": "satisfied"})
    assert too_early.status_code == 409
    problem_fields(too_early)

    await client.post(f"/api/v1/items/{created['id']}/close", json={"answer": "路灯已修复。"}, headers=staff)
    assert (await client.get(track)).json()["can_rate"] is True
    key = ("suggestions_ratings_total", (("rating", "satisfied"), ("source", "resident")))
    counted = samples((await client.get("/metrics", headers=monitor)).text).get(key, 0)
    rated = await client.post(f"{track}/rating", json={"rating": "satisfied"})
    assert samples((await client.get("/metrics", headers=monitor)).text)[key] == counted + 1
    assert rated.status_code == 200, rated.text
    assert rated.json() == {
        "tracking_code": created["tracking_code"],
        "rating": "satisfied",
        "rating_text": "满意",
        "reopened": False,
        "status": "closed",
    }
    # A code typed in lower case with a separator is the same code.
    typed = created["tracking_code"].lower()
    changed = await client.post(f"/api/v1/track/{typed[:6]}-{typed[6:]}/rating", json={"rating": "basically_satisfied"})
    assert changed.status_code == 200, changed.text

    tracking = (await client.get(track)).json()
    assert (tracking["status"], tracking["rating"], tracking["can_rate"]) == ("closed", "basically_satisfied", True)
    item = (await client.get(f"/api/v1/items/{created['id']}", headers=staff)).json()
    assert item["satisfaction"] == "basically_satisfied"
    [only] = item["ratings"]
    assert (only["rating"], only["closed_at"]) == ("basically_satisfied", item["closed_at"])


async def test_a_dissatisfied_resident_sends_the_item_back_to_its_desk(
    client: Any, drain: Any, staff: dict[str, str], pool: Any
) -> None:
    created = await closed_item(client, drain, staff, desk="城市管理科")
    track = f"/api/v1/track/{created['tracking_code']}"
    comment = "灯还是不亮，请回电 13912345678"
    rated = await client.post(f"{track}/rating", json={"rating": "dissatisfied", "comment": comment})
    assert rated.status_code == 200, rated.text
    assert (rated.json()["reopened"], rated.json()["status"]) == (True, "assigned")

    [entry] = (await client.get("/api/v1/triage", headers=staff)).json()["items"]
    assert (entry["id"], entry["status"], entry["assigned_to"]) == (created["id"], "assigned", "城市管理科")
    assert entry["reasons"][0] == {
        "code": "dissatisfied",
        "message": "居民对答复不满意，退回重办。居民说：灯还是不亮，请回电 [手机号]",
    }
    item = (await client.get(f"/api/v1/items/{created['id']}", headers=staff)).json()
    assert (item["satisfaction"], item["reopen_count"], item["closed_at"]) == ("dissatisfied", 1, None)
    assert item["answer"] == "路灯已修复。"  # the reply that was sent back stays for staff to read
    [first] = item["ratings"]
    assert first["comment"] == "灯还是不亮，请回电 [手机号]"
    assert await pool.fetchval("SELECT count(*) FROM ratings WHERE comment LIKE '%13912345678%'") == 0

    tracking = (await client.get(track)).json()
    assert (tracking["status_text"], tracking["answer"], tracking["rating"]) == ("处理中", None, None)
    assert tracking["reopened_at"]
    assert not tracking["can_rate"]
    again = await client.post(f"{track}/rating", json={"rating": "satisfied"})
    assert again.status_code == 409

    # Closed again with a better reply, which is rated anew; both closings keep their rating.
    url = f"/api/v1/items/{created['id']}/close"
    assert (await client.post(url, json={"answer": "已更换灯具，今晚起正常照明。"}, headers=staff)).is_success
    assert (await client.post(f"{track}/rating", json={"rating": "satisfied"})).json()["reopened"] is False
    item = (await client.get(f"/api/v1/items/{created['id']}", headers=staff)).json()
    assert [r["rating"] for r in item["ratings"]] == ["dissatisfied", "satisfied"]
    assert (item["status"], item["satisfaction"], item["reopen_count"]) == ("closed", "satisfied", 1)

    report = (await client.get("/api/v1/satisfaction", headers=staff)).json()
    assert report["total"] == {
        "key": None,
        "closed": 2,
        "rated": 2,
        "satisfied": 1,
        "basically_satisfied": 0,
        "dissatisfied": 1,
        "response_rate": 1.0,
        "satisfaction_rate": 0.5,
    }
    assert [(t["key"], t["closed"], t["dissatisfied"]) for t in report["by_desk"]] == [("城市管理科", 2, 1)]
    assert [t["key"] for t in report["by_channel"]] == ["web"]
    assert len(report["by_topic"]) == 1


async def test_staff_read_in_the_feed_what_the_resident_says_is_still_wrong(
    client: Any, drain: Any, staff: dict[str, str], operator: dict[str, str]
) -> None:
    """The words a resident sends a reply back with say what is still wrong: the desk reads them where it works, in
    the feed, masked as the resident's text is; a second sending back shows its own words."""
    created = await closed_item(client, drain, staff, desk="城市管理科")
    track = f"/api/v1/track/{created['tracking_code']}"
    comment = "东门的灯修了，西门那盏还是不亮。我叫李秀英，电话 13912345678"
    await client.post(f"{track}/rating", json={"rating": "dissatisfied", "comment": comment})
    [entry] = (await client.get("/api/v1/triage", headers=staff)).json()["items"]
    [reason] = [r for r in entry["reasons"] if r["code"] == "dissatisfied"]
    assert (
        reason["message"]
        == "居民对答复不满意，退回重办。居民说：东门的灯修了，西门那盏还是不亮。我叫[姓名]，电话 [手机号]"
    )

    await client.post(f"/api/v1/items/{created['id']}/close", json={"answer": "西门灯已修。"}, headers=staff)
    await client.post(f"{track}/rating", json={"rating": "dissatisfied", "comment": "x" * 500})
    [entry] = (await client.get("/api/v1/triage", headers=staff)).json()["items"]
    [reason] = [r for r in entry["reasons"] if r["code"] == "dissatisfied"]
    assert reason["message"] == "居民对答复不满意，退回重办（第 2 次）。居民说：" + "x" * 120 + "…"

    # Sent back without a word: the reason says so, and nothing of the earlier words.
    await client.post(f"/api/v1/items/{created['id']}/close", json={"answer": "已再次检修。"}, headers=staff)
    await client.post(f"{track}/rating", json={"rating": "dissatisfied"})
    [entry] = (await client.get("/api/v1/triage", headers=staff)).json()["items"]
    [reason] = [r for r in entry["reasons"] if r["code"] == "dissatisfied"]
    assert reason["message"] == "居民对答复不满意，退回重办（第 3 次）"


async def test_a_dissatisfied_rating_of_an_unassigned_item_puts_it_back_in_the_open_feed(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    created = await closed_item(client, drain, staff)
    rated = await client.post(f"/api/v1/track/{created['tracking_code']}/rating", json={"rating": "dissatisfied"})
    assert rated.json()["status"] == "open"
    [entry] = (await client.get("/api/v1/triage", headers=staff)).json()["items"]
    assert entry["status"] == "open"


async def test_the_feed_keeps_the_items_residents_sent_back(client: Any, drain: Any, staff: dict[str, str]) -> None:
    sent_back = await closed_item(client, drain, staff)
    await client.post(f"/api/v1/track/{sent_back['tracking_code']}/rating", json={"rating": "dissatisfied"})
    other = await classified_item(client, drain)

    async def ids(**params: str) -> list[int]:
        feed = (await client.get("/api/v1/triage", params=params, headers=staff)).json()
        return [entry["id"] for entry in feed["items"]]

    assert await ids(sent_back="true") == [sent_back["id"]]
    assert await ids(sent_back="false") == [other["id"]]
    assert sorted(await ids()) == sorted([sent_back["id"], other["id"]])


async def test_a_reply_is_rated_within_its_window(client: Any, drain: Any, staff: dict[str, str], pool: Any) -> None:
    created = await closed_item(client, drain, staff)
    await pool.execute("UPDATE items SET closed_at = now() - interval '31 days' WHERE id = $1", created["id"])
    track = f"/api/v1/track/{created['tracking_code']}"
    assert (await client.get(track)).json()["can_rate"] is False
    late = await client.post(f"{track}/rating", json={"rating": "dissatisfied"})
    assert late.status_code == 409
    assert "30 days" in late.json()["title"] + late.json().get("detail", "")
    assert (await client.get(f"/api/v1/items/{created['id']}", headers=staff)).json()["status"] == "closed"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rating": "very_satisfied"}, "rating"),
        ({}, "rating"),
        ({"rating": "satisfied", "comment": "长" * 501}, "comment"),
        ({"rating": "satisfied", "stars": 5}, "stars"),
    ],
)
async def test_a_bad_rating_names_its_field(
    client: Any, drain: Any, staff: dict[str, str], body: dict[str, Any], field: str
) -> None:
    created = await closed_item(client, drain, staff)
    response = await client.post(f"/api/v1/track/{created['tracking_code']}/rating", json=body)
    assert response.status_code == 422, response.text
    assert problem_fields(response) == {field}


async def test_an_unknown_code_cannot_be_rated(client: Any) -> None:
    for code in ("ABCDEFGHJKMN", "not-a-code"):
        response = await client.post(f"/api/v1/track/{code}/rating", json={"rating": "satisfied"})
        assert response.status_code == 404
        problem_fields(response)


async def test_the_satisfaction_report_refuses_a_bad_period(client: Any, staff: dict[str, str]) -> None:
    backwards = await client.get("/api/v1/satisfaction", params={"since": "2026-05-02", "until": "2026-05-01"})
    assert backwards.status_code == 401
    backwards = await client.get(
        "/api/v1/satisfaction", params={"since": "2026-05-02", "until": "2026-05-01"}, headers=staff
    )
    assert backwards.status_code == 422
    assert problem_fields(backwards) == {"until"}
    long = await client.get(
        "/api/v1/satisfaction", params={"since": "2024-01-01", "until": "2026-05-01"}, headers=staff
    )
    assert problem_fields(long) == {"since"}
    empty = await client.get("/api/v1/satisfaction", params={"since": "2026-05-01"}, headers=staff)
    assert empty.status_code == 200, empty.text
    assert (empty.json()["total"]["closed"], empty.json()["total"]["satisfaction_rate"]) == (0, None)
    assert problem_fields(await client.get("/api/v1/satisfaction", params={"since": "May"}, headers=staff)) == {"since"}
    for params, field in (
        ({"until": "9999-12-31"}, "until"),
        ({"until": "0001-01-05"}, "until"),
        ({"since": "0001-01-01", "until": "0001-01-02"}, "since"),
        # A period from a day still to come, to today by default: the day given is the one at fault.
        ({"since": str(datetime.now(UTC).date() + timedelta(days=2))}, "since"),
    ):
        response = await client.get("/api/v1/satisfaction", params=params, headers=staff)
        assert response.status_code == 422, response.text
        assert problem_fields(response) == {field}


async def test_the_report_counts_closings_by_the_district_day_and_the_desk_that_replied(
    client: Any, drain: Any, staff: dict[str, str], pool: Any
) -> None:
    created = await closed_item(client, drain, staff, desk="城市管理科")
    # 00:30 on 2 May in the district is still 1 May in UTC: it counts on the district's 2 May.
    await pool.execute("UPDATE items SET closed_at = '2026-05-02 00:30+08' WHERE id = $1", created["id"])

    async def report(day: str) -> dict[str, Any]:
        params = {"since": day, "until": day}
        found: dict[str, Any] = (await client.get("/api/v1/satisfaction", params=params, headers=staff)).json()
        return found

    assert (await report("2026-05-02"))["total"]["closed"] == 1
    assert (await report("2026-05-01"))["total"]["closed"] == 0
    # Rated dissatisfied (within its window, moved to now) and handed to another desk: the reply stays the first
    # desk's.
    await pool.execute("UPDATE items SET closed_at = now() - interval '1 hour' WHERE id = $1", created["id"])
    await client.post(f"/api/v1/track/{created['tracking_code']}/rating", json={"rating": "dissatisfied"})
    await client.post(f"/api/v1/items/{created['id']}/assign", json={"to": "住建科"}, headers=staff)
    [desk] = (await client.get("/api/v1/satisfaction", headers=staff)).json()["by_desk"]
    assert (desk["key"], desk["closed"], desk["dissatisfied"]) == ("城市管理科", 1, 1)


async def test_a_failed_item_sent_back_is_failed_again(
    client: Any, drain: Any, staff: dict[str, str], pool: Any
) -> None:
    created = await closed_item(client, drain, staff)
    await pool.execute("UPDATE items SET classification_id = NULL WHERE id = $1", created["id"])
    rated = await client.post(f"/api/v1/track/{created['tracking_code']}/rating", json={"rating": "dissatisfied"})
    assert rated.json()["status"] == "failed"
    [entry] = (await client.get("/api/v1/triage", headers=staff)).json()["items"]
    assert [r["code"] for r in entry["reasons"]][:2] == ["classification_failed", "dissatisfied"]


async def rated_on_the_page(client: Any, code: str, rating: str, comment: str, said: str) -> str:
    """A rating sent on the tracking page: sent on (303) to the page again, to the notice saying `said`; its text."""
    answer = await client.post("/track/rate", data={"code": code, "rating": rating, "comment": comment})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/track?code={code}&rated={said}#notice"
    page: str = (await client.get(answer.headers["location"])).text
    return page


async def test_the_resident_rates_on_the_tracking_page(client: Any, drain: Any, staff: dict[str, str]) -> None:
    created = await classified_item(client, drain)
    code = created["tracking_code"]
    assert "您对这次答复满意吗" not in (await client.get("/track", params={"code": code})).text
    await client.post(f"/api/v1/items/{created['id']}/close", json={"answer": "路灯已修复。"}, headers=staff)
    page = (await client.get("/track", params={"code": code})).text
    assert "您对这次答复满意吗" in page
    assert all(f'value="{value}"' in page for value in ("satisfied", "basically_satisfied", "dissatisfied"))

    bad = await client.post("/track/rate", data={"code": code, "rating": "great", "comment": "灯亮了\r\n谢谢"})
    assert bad.status_code == 422
    assert 'role="alert">请选择满意、基本满意或不满意' in bad.text
    assert "灯亮了\n谢谢</textarea>" in bad.text  # what was typed is kept
    # After rating, the page is fetched again by GET: reloading it sends nothing twice.
    page = await rated_on_the_page(client, code, "satisfied", "", "kept")
    assert "已收到您的评价，谢谢您！" in page
    assert "您的评价：<strong>满意</strong>" in page
    assert "想改一下评价" in page

    # 不满意 sends the item back to work: the page asks first, keeping the comment.
    ask = await client.post("/track/rate", data={"code": code, "rating": "dissatisfied", "comment": "还是<不亮>"})
    assert ask.status_code == 200
    assert "这件事会退回重新办理。确定吗" in ask.text
    assert "还是&lt;不亮&gt;</textarea>" in ask.text
    tracking = (await client.get(f"/api/v1/track/{code}")).json()
    assert (tracking["status"], tracking["rating"]) == ("closed", "satisfied")

    confirmed = {"code": code, "rating": "dissatisfied", "comment": "还是不亮", "confirm": "yes"}
    back = await client.post("/track/rate", data=confirmed)
    assert back.status_code == 303
    page = (await client.get(back.headers["location"])).text
    assert "已退回重新办理" in page
    assert "您对上次答复不满意" in page
    assert 'action="/track/rate"' not in page
    # A second tap on the old page: the item is already back at work, which is news, not an error.
    again = await client.post("/track/rate", data=confirmed)
    assert again.status_code == 200
    assert "已退回重新办理" in again.text
    assert 'role="alert"' not in again.text
    item = (await client.get(f"/api/v1/items/{created['id']}", headers=staff)).json()
    assert (item["reopen_count"], [r["comment"] for r in item["ratings"]]) == (1, ["还是不亮"])

    await client.post(f"/api/v1/items/{created['id']}/close", json={"answer": "已换灯。"}, headers=staff)
    assert (await client.post("/track/rate", data={"code": code, "rating": "satisfied"})).status_code == 303
    # The new reply's rating can still change within its window.
    changed = await client.post("/track/rate", data={"code": code, "rating": "dissatisfied", "confirm": "yes"})
    assert changed.headers["location"].endswith("rated=reopened#notice")
    assert (await client.post("/track/rate", data={"code": "nope", "rating": "satisfied"})).status_code == 404


async def test_a_case_is_closed_with_one_reply_to_every_reporter(
    client: Any,
    drain: Any,
    model: Any,
    staff: dict[str, str],
    operator: dict[str, str],
    grid_worker: dict[str, str],
) -> None:
    ids = await post_all(client, LIFT, operator, grid_worker)
    await drain(model=FixedTopic(model, "城乡建设"))
    items = [(await client.get(f"/api/v1/items/{i}", headers=staff)).json() for i in ids]
    [case_id] = {i["case_id"] for i in items}
    hotspots = (await client.get("/api/v1/hotspots", headers=staff)).json()["hotspots"]
    assert any(h["case_id"] == case_id for h in hotspots)
    # One report was answered on its own before: it keeps its own reply.
    await client.post(f"/api/v1/items/{ids[0]}/close", json={"answer": "已联系物业。"}, headers=staff)

    url = f"/api/v1/cases/{case_id}/close"
    assert problem_fields(await client.post(url, json={"answer": "  "}, headers=staff)) == {"answer"}
    assert (await client.post(url, json={"answer": "电梯已修复。"}, headers=operator)).status_code == 403
    closed = await client.post(url, json={"answer": "电梯已修复，请拨 13912345678 联系维保。"}, headers=staff)
    assert closed.status_code == 200, closed.text
    case = closed.json()
    assert case["status"] == "closed"
    assert {m["status"] for m in case["members"]} == {"closed"}

    answers = [(await client.get(f"/api/v1/track/{i['tracking_code']}")).json()["answer"] for i in items]
    assert answers[0] == "已联系物业。"
    assert set(answers[1:]) == {"电梯已修复，请拨 [手机号] 联系维保。"}
    hotspots = (await client.get("/api/v1/hotspots", headers=staff)).json()["hotspots"]
    assert not any(h["case_id"] == case_id for h in hotspots)
    assert (await client.get("/api/v1/triage", headers=staff)).json()["items"] == []

    # Each reporter rates on their own; one dissatisfied reporter's item goes back to work, the case stays closed.
    rated = await client.post(f"/api/v1/track/{items[2]['tracking_code']}/rating", json={"rating": "dissatisfied"})
    assert rated.json()["reopened"] is True
    case = (await client.get(f"/api/v1/cases/{case_id}", headers=staff)).json()
    assert case["status"] == "closed"
    assert [m["satisfaction"] for m in case["members"] if m["id"] == ids[2]] == ["dissatisfied"]
    [entry] = (await client.get("/api/v1/triage", headers=staff)).json()["items"]
    assert entry["id"] == ids[2]

    again = await client.post(url, json={"answer": "再答复一次"}, headers=staff)
    assert again.status_code == 409
    assert again.json()["current_status"] == "closed"
    assert (await client.post("/api/v1/cases/999999999/close", json={"answer": "x"}, headers=staff)).status_code == 404


async def test_closing_a_case_takes_its_reports_before_the_case_as_the_worker_does(
    client: Any,
    drain: Any,
    model: Any,
    staff: dict[str, str],
    operator: dict[str, str],
    grid_worker: dict[str, str],
    pool: Any,
) -> None:
    """The worker locks a report, then joins a case; closing the case in the other order would deadlock with it."""
    ids = await post_all(client, LIFT, operator, grid_worker)
    await drain(model=FixedTopic(model, "城乡建设"))
    case_id = (await client.get(f"/api/v1/items/{ids[0]}", headers=staff)).json()["case_id"]
    async with pool.acquire() as worker:
        transaction = worker.transaction()
        await transaction.start()
        await worker.execute("SELECT 1 FROM items WHERE id = $1 FOR UPDATE", ids[1])
        closing = asyncio.create_task(
            client.post(f"/api/v1/cases/{case_id}/close", json={"answer": "电梯已修复。"}, headers=staff)
        )
        async with asyncio.timeout(10):
            while not await pool.fetchval(WAITING_FOR_A_LOCK):
                await asyncio.sleep(0.02)
        await worker.execute("UPDATE cases SET updated_at = now() WHERE id = $1", case_id)  # as JOIN_CASE does
        await transaction.commit()
    response = await closing
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "closed"


WAITING_FOR_A_LOCK = """
SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
"""


async def test_staff_call_a_resident_back_and_take_down_the_rating(
    client: Any, drain: Any, staff: dict[str, str], operator: dict[str, str], pool: Any
) -> None:
    body = {
        "channel": "hotline",
        "text": "小区东门的路灯坏了一个多月。",
        "contact_name": "李阿姨",
        "contact_phone": "13912345678",
    }
    created = (await client.post("/api/v1/items", json=body, headers=operator)).json()
    await drain()
    url = f"/api/v1/items/{created['id']}"
    await client.post(f"{url}/close", json={"answer": "路灯已修复。"}, headers=staff)

    assert (await client.get(f"{url}/contact", headers=operator)).status_code == 403
    read = await client.get(f"{url}/contact", headers=staff)
    assert read.status_code == 200, read.text
    assert read.json() == {"item_id": created["id"], "name": "李阿姨", "phone": "13912345678"}
    assert read.headers["cache-control"] == "no-store"
    [(item_id, reader)] = await pool.fetch("SELECT item_id, read_by FROM contact_reads")
    assert item_id == created["id"]
    assert reader == await pool.fetchval("SELECT id FROM api_tokens WHERE role = 'staff'")

    reply = {"closed_at": (await client.get(url, headers=staff)).json()["closed_at"]}  # the reply the call was about
    rated = await client.post(
        f"{url}/rating", json={"rating": "satisfied", "comment": "电话回访，满意"} | reply, headers=staff
    )
    assert rated.status_code == 200, rated.text
    assert rated.json()["reopened"] is False
    assert await pool.fetchval("SELECT recorded_by FROM ratings") == reader
    assert (
        await client.post(f"{url}/rating", json={"rating": "satisfied"} | reply, headers=operator)
    ).status_code == 403
    item = (await client.get(url, headers=staff)).json()
    assert [(r["rating"], r["source"]) for r in item["ratings"]] == [("satisfied", "callback")]
    # The resident may still change it on the tracking page, within the window.
    await client.post(f"/api/v1/track/{created['tracking_code']}/rating", json={"rating": "basically_satisfied"})
    item = (await client.get(url, headers=staff)).json()
    assert [(r["rating"], r["source"]) for r in item["ratings"]] == [("basically_satisfied", "resident")]
    assert (
        await client.post("/api/v1/items/999999999/rating", json={"rating": "satisfied"} | reply, headers=staff)
    ).status_code == 404

    # The resident's own rating stands: a call back cannot overwrite it.
    overwrite = await client.post(f"{url}/rating", json={"rating": "satisfied"} | reply, headers=staff)
    assert (overwrite.status_code, overwrite.json()["detail"]) == (409, "the resident rated this reply themselves")

    # Every read is recorded, an admin's too; once retention has erased the contact, there is nothing to read.
    admin = {"Authorization": f"Bearer {await admin_token(pool)}"}
    assert (await client.get(f"{url}/contact", headers=staff)).status_code == 200
    assert (await client.get(f"{url}/contact", headers=admin)).status_code == 200
    assert await pool.fetchval("SELECT count(*) FROM contact_reads WHERE item_id = $1", created["id"]) == 3
    await pool.execute("UPDATE contacts SET name = NULL, phone = NULL, anonymised_at = now()")
    erased = await client.get(f"{url}/contact", headers=staff)
    assert (erased.status_code, erased.json()["title"]) == (404, "the contact was erased by retention")
    assert await pool.fetchval("SELECT count(*) FROM contact_reads WHERE item_id = $1", created["id"]) == 3


async def hotline_item(client: Any, drain: Any, operator: dict[str, str]) -> tuple[dict[str, Any], str]:
    """A classified hotline report whose caller left a phone to call back, and its staff URL."""
    body = {"channel": "hotline", "text": "小区东门的路灯坏了一个多月。", "contact_phone": "13912345678"}
    created: dict[str, Any] = (await client.post("/api/v1/items", json=body, headers=operator)).json()
    await drain()
    return created, f"/api/v1/items/{created['id']}"


async def admin_token(pool: Any) -> str:
    from suggestions.auth import create_token

    async with pool.acquire() as conn:
        token: str = await create_token(conn, role="admin", label="test")
    return token


async def test_a_call_back_rating_follows_the_residents_rules(
    client: Any, drain: Any, staff: dict[str, str], operator: dict[str, str]
) -> None:
    _created, url = await hotline_item(client, drain, operator)
    unnamed = await client.post(f"{url}/rating", json={"rating": "satisfied"}, headers=staff)
    assert (unnamed.status_code, problem_fields(unnamed)) == (422, {"closed_at"})  # which reply was it about?
    earlier = {"closed_at": "2026-01-01T09:00:00+08:00"}
    not_closed = await client.post(f"{url}/rating", json={"rating": "satisfied"} | earlier, headers=staff)
    assert (not_closed.status_code, not_closed.json()["current_status"]) == (409, "open")
    await client.post(f"{url}/close", json={"answer": "路灯已修复。"}, headers=staff)
    reply = {"closed_at": (await client.get(url, headers=staff)).json()["closed_at"]}
    sent_back = await client.post(
        f"{url}/rating", json={"rating": "dissatisfied", "comment": "还是不亮"} | reply, headers=staff
    )
    assert (sent_back.json()["reopened"], sent_back.json()["status"]) == (True, "open")
    report = (await client.get("/api/v1/satisfaction", headers=staff)).json()
    assert [(t["key"], t["rated"], t["dissatisfied"]) for t in report["by_source"]] == [("callback", 1, 1)]

    # An anonymous web report had nobody to call.
    anonymous = await classified_item(client, drain)
    await client.post(f"/api/v1/items/{anonymous['id']}/close", json={"answer": "已处理。"}, headers=staff)
    closed_at = (await client.get(f"/api/v1/items/{anonymous['id']}", headers=staff)).json()["closed_at"]
    nobody = await client.post(
        f"/api/v1/items/{anonymous['id']}/rating", json={"rating": "satisfied", "closed_at": closed_at}, headers=staff
    )
    assert (nobody.status_code, nobody.json()["detail"]) == (409, "the sender left no phone to call back")


async def test_an_item_without_a_contact_has_none_to_read(
    client: Any, drain: Any, staff: dict[str, str], pool: Any
) -> None:
    created = await classified_item(client, drain)  # a web report left anonymous
    response = await client.get(f"/api/v1/items/{created['id']}/contact", headers=staff)
    assert response.status_code == 404
    assert response.json()["title"] == "the sender left no contact"
    assert (await client.get("/api/v1/items/999999999/contact", headers=staff)).status_code == 404
    assert await pool.fetchval("SELECT count(*) FROM contact_reads") == 0


async def test_a_call_back_rating_about_one_reply_is_not_recorded_against_the_next(
    client: Any, drain: Any, staff: dict[str, str], operator: dict[str, str]
) -> None:
    """Staff call the resident about a reply; meanwhile the resident sends it back on the tracking page and the desk
    answers again. What the resident said on the phone was about the first reply, which the second must not carry."""
    created, url = await hotline_item(client, drain, operator)
    await client.post(f"{url}/close", json={"answer": "路灯已修复。"}, headers=staff)
    first_reply = (await client.get(url, headers=staff)).json()["closed_at"]
    await client.post(f"/api/v1/track/{created['tracking_code']}/rating", json={"rating": "dissatisfied"})
    assert (await client.post(f"{url}/close", json={"answer": "已更换灯具。"}, headers=staff)).status_code == 200

    late = await client.post(f"{url}/rating", json={"rating": "satisfied", "closed_at": first_reply}, headers=staff)
    assert (late.status_code, late.json()["detail"]) == (
        409,
        "the item was answered again since: rate its current reply",
    )
    item = (await client.get(url, headers=staff)).json()
    assert [(r["closed_at"], r["source"]) for r in item["ratings"]] == [(first_reply, "resident")]
    # The resident's own API call may name the reply too; without it, the current reply is rated.
    stale = await client.post(
        f"/api/v1/track/{created['tracking_code']}/rating", json={"rating": "satisfied", "closed_at": first_reply}
    )
    assert stale.status_code == 409
    naive = await client.post(
        f"/api/v1/track/{created['tracking_code']}/rating",
        json={"rating": "satisfied", "closed_at": "2026-01-01T09:00"},
    )
    assert (naive.status_code, problem_fields(naive)) == (422, {"closed_at"})  # a time needs its zone


async def answered_again_after_it_was_read(client: Any, drain: Any, staff: dict[str, str]) -> tuple[str, str, str]:
    """An item closed, its reply read on the tracking page, then sent back (by a call back, say) and answered again:
    its tracking code, its staff URL, and the closing the page showed, as the page's form carries it."""
    created = await classified_item(client, drain)
    code, url = created["tracking_code"], f"/api/v1/items/{created['id']}"
    await client.post(f"{url}/close", json={"answer": "路灯已修复。"}, headers=staff)
    shown = re.search(r'name="closed_at" value="([^"]+)"', (await client.post("/track", data={"code": code})).text)
    assert shown is not None
    await client.post(f"/api/v1/track/{code}/rating", json={"rating": "dissatisfied"})
    await client.post(f"{url}/close", json={"answer": "已更换灯具。"}, headers=staff)
    return code, url, shown.group(1)


async def test_the_tracking_page_rates_the_reply_it_showed(client: Any, drain: Any, staff: dict[str, str]) -> None:
    """A resident reads a reply; before they tap, the item is sent back and answered again (by a call back, say).
    Their tap was about the reply they read: the page shows the new one and asks again."""
    code, url, shown = await answered_again_after_it_was_read(client, drain, staff)

    tapped = await client.post("/track/rate", data={"code": code, "rating": "satisfied", "closed_at": shown})
    assert tapped.status_code == 409
    assert "这件事刚刚有了新的答复" in tapped.text
    assert "已更换灯具。" in tapped.text
    item = (await client.get(url, headers=staff)).json()
    assert [r["rating"] for r in item["ratings"]] == ["dissatisfied"]


async def test_a_reply_sent_back_stays_readable_after_the_desk_answers_again(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    """Whoever follows a 不满意件 up reads what the resident rejected, though the item now carries the new reply."""
    created = await classified_item(client, drain)
    url = f"/api/v1/items/{created['id']}"
    await client.post(f"{url}/close", json={"answer": "已转物业处理，电话 13912345678。"}, headers=staff)
    await client.post(f"/api/v1/track/{created['tracking_code']}/rating", json={"rating": "dissatisfied"})
    await client.post(f"{url}/close", json={"answer": "已更换灯具。"}, headers=staff)
    await client.post(f"/api/v1/track/{created['tracking_code']}/rating", json={"rating": "satisfied"})

    item = (await client.get(url, headers=staff)).json()
    assert item["answer"] == "已更换灯具。"
    assert [(r["answer"], r["rating"]) for r in item["ratings"]] == [
        ("已转物业处理，电话 [手机号]。", "dissatisfied"),  # as the resident read it, masked
        ("已更换灯具。", "satisfied"),
    ]


async def test_a_reply_sent_back_keeps_who_wrote_it(client: Any, drain: Any, staff: dict[str, str], pool: Any) -> None:
    """Whoever follows a 不满意件 up (or audits the desks) knows who wrote the reply the resident rejected, once the
    item is answered again by someone else."""
    created = await classified_item(client, drain)
    url = f"/api/v1/items/{created['id']}"
    colleague = await _token(pool, "staff")
    first_writer, second_writer = [
        await pool.fetchval("SELECT id FROM api_tokens WHERE token_hash = $1", hash_token(h["Authorization"][7:]))
        for h in (staff, colleague)
    ]
    await client.post(f"{url}/close", json={"answer": "已转物业处理。"}, headers=staff)
    await client.post(f"/api/v1/track/{created['tracking_code']}/rating", json={"rating": "dissatisfied"})
    await client.post(f"{url}/close", json={"answer": "已更换灯具。"}, headers=colleague)
    await client.post(f"/api/v1/track/{created['tracking_code']}/rating", json={"rating": "satisfied"})

    writers = await pool.fetch(
        "SELECT rating, closed_by FROM ratings WHERE item_id = $1 ORDER BY closed_at", created["id"]
    )
    assert [(r["rating"], r["closed_by"]) for r in writers] == [
        ("dissatisfied", first_writer),
        ("satisfied", second_writer),
    ]


async def test_sending_back_asks_about_the_reply_the_resident_read(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    """The confirm step of 不满意 is about the reply the resident read: if the desk answered again meanwhile, the page
    shows the new reply rather than asking to send it back unread."""
    code, _, read = await answered_again_after_it_was_read(client, drain, staff)

    tap = await client.post("/track/rate", data={"code": code, "rating": "dissatisfied", "closed_at": read})
    assert tap.status_code == 409
    assert "这件事刚刚有了新的答复" in tap.text
    assert "确定不满意" not in tap.text


async def test_a_call_back_may_name_the_reply_to_the_millisecond(
    client: Any, drain: Any, staff: dict[str, str], operator: dict[str, str]
) -> None:
    """A front end that keeps the time as a JavaScript Date has no microseconds."""
    _created, url = await hotline_item(client, drain, operator)
    await client.post(f"{url}/close", json={"answer": "路灯已修复。"}, headers=staff)
    closed_at = datetime.fromisoformat((await client.get(url, headers=staff)).json()["closed_at"])
    in_ms = closed_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    rated = await client.post(f"{url}/rating", json={"rating": "satisfied", "closed_at": in_ms}, headers=staff)
    assert rated.status_code == 200, rated.text


async def test_closing_a_case_records_who_closed_it_and_when(
    client: Any,
    drain: Any,
    model: Any,
    staff: dict[str, str],
    operator: dict[str, str],
    grid_worker: dict[str, str],
    pool: Any,
) -> None:
    ids = await post_all(client, LIFT, operator, grid_worker)
    await drain(model=FixedTopic(model, "城乡建设"))
    [case_id] = {(await client.get(f"/api/v1/items/{i}", headers=staff)).json()["case_id"] for i in ids}
    assert (await client.get(f"/api/v1/cases/{case_id}", headers=staff)).json()["closed_at"] is None
    # Every report was answered on its own already: the case's closing is the only trace of the case's reply.
    for item_id in ids:
        await client.post(f"/api/v1/items/{item_id}/close", json={"answer": "已联系物业。"}, headers=staff)

    reply = {"answer": "电梯已修复，维保电话 13912345678。"}
    closed = await client.post(f"/api/v1/cases/{case_id}/close", json=reply, headers=staff)
    assert closed.status_code == 200, closed.text
    assert closed.json()["closed_at"] is not None
    by = await pool.fetchval("SELECT id FROM api_tokens WHERE token_hash = $1", hash_token(staff["Authorization"][7:]))
    assert await pool.fetchval("SELECT closed_by FROM cases WHERE id = $1", case_id) == by
    # The reply itself is kept with the case, masked, as its reporters would have read it: no report took it.
    case = (await client.get(f"/api/v1/cases/{case_id}", headers=staff)).json()
    assert case["answer"] == "电梯已修复，维保电话 [手机号]。"
    assert await pool.fetchval("SELECT count(*) FROM cases WHERE answer_masked LIKE '%13912345678%'") == 0


async def test_a_call_back_rating_the_resident_changed_stays_on_record(
    client: Any, drain: Any, staff: dict[str, str], operator: dict[str, str], pool: Any
) -> None:
    """A rating staff took down on the phone counts for their desk: who took it down, and what, stays on record
    when the resident (or another call) changes it."""
    created, url = await hotline_item(client, drain, operator)
    await client.post(f"{url}/close", json={"answer": "路灯已修复。"}, headers=staff)
    reply = {"closed_at": (await client.get(url, headers=staff)).json()["closed_at"]}
    colleague = await _token(pool, "staff")
    for rating, headers in (("satisfied", staff), ("basically_satisfied", colleague)):
        taken = await client.post(f"{url}/rating", json={"rating": rating} | reply, headers=headers)
        assert taken.status_code == 200, taken.text
    changed = await client.post(f"/api/v1/track/{created['tracking_code']}/rating", json={"rating": "dissatisfied"})
    assert changed.status_code == 200, changed.text

    tokens = [
        await pool.fetchval("SELECT id FROM api_tokens WHERE token_hash = $1", hash_token(h["Authorization"][7:]))
        for h in (staff, colleague)
    ]
    given = await pool.fetch(
        "SELECT rating, source, recorded_by FROM rating_changes WHERE item_id = $1 ORDER BY id", created["id"]
    )
    assert [tuple(r) for r in given] == [
        ("satisfied", "callback", tokens[0]),
        ("basically_satisfied", "callback", tokens[1]),
        ("dissatisfied", "resident", None),
    ]


async def test_every_rating_given_keeps_the_words_given_with_it(
    client: Any, drain: Any, staff: dict[str, str], pool: Any
) -> None:
    """A rating changed, with other words or none, kept the words of the rating standing only: what the resident said
    first was lost. Each rating on record (`rating_changes`) keeps its own words, masked; none when none were given."""
    created = await closed_item(client, drain, staff)
    track = f"/api/v1/track/{created['tracking_code']}/rating"
    await client.post(track, json={"rating": "satisfied", "comment": "修得快，谢谢。电话 13912345678"})
    await client.post(track, json={"rating": "basically_satisfied", "comment": "灯是亮了，但有点暗"})
    await client.post(track, json={"rating": "satisfied"})
    given = await pool.fetch("SELECT rating, comment FROM rating_changes WHERE item_id = $1 ORDER BY id", created["id"])
    assert [tuple(r) for r in given] == [
        ("satisfied", "修得快，谢谢。电话 [手机号]"),
        ("basically_satisfied", "灯是亮了，但有点暗"),
        ("satisfied", None),
    ]
    # The rating standing keeps the words before, as it did.
    item = (await client.get(f"/api/v1/items/{created['id']}", headers=staff)).json()
    assert [(r["rating"], r["comment"]) for r in item["ratings"]] == [("satisfied", "灯是亮了，但有点暗")]


async def test_words_left_with_a_kept_reply_reach_the_desk_and_stay(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    """A resident who rates a reply 满意 or 基本满意 and writes something (the next lamp is out too) is not sending the
    item back: the words are read by staff in the closed items of the feed, and a later change of the rating without
    words does not erase them."""
    created = await closed_item(client, drain, staff, desk="城市管理科")
    track = f"/api/v1/track/{created['tracking_code']}"
    words = "东门灯修好了，西门那盏也坏了，电话 13912345678"
    assert (await client.post(f"{track}/rating", json={"rating": "basically_satisfied", "comment": words})).is_success
    assert (await client.post(f"{track}/rating", json={"rating": "satisfied"})).is_success

    item = (await client.get(f"/api/v1/items/{created['id']}", headers=staff)).json()
    [rating] = item["ratings"]
    assert (rating["rating"], rating["comment"]) == ("satisfied", "东门灯修好了，西门那盏也坏了，电话 [手机号]")
    [entry] = (await client.get("/api/v1/triage", params={"status": "closed"}, headers=staff)).json()["items"]
    [reason] = [r for r in entry["reasons"] if r["code"] == "resident_comment"]
    assert reason["message"] == "居民评价满意，并说：东门灯修好了，西门那盏也坏了，电话 [手机号]"
    # New words replace the old ones.
    assert (await client.post(f"{track}/rating", json={"rating": "satisfied", "comment": "谢谢"})).is_success
    [entry] = (await client.get("/api/v1/triage", params={"status": "closed"}, headers=staff)).json()["items"]
    assert [r["message"] for r in entry["reasons"] if r["code"] == "resident_comment"] == ["居民评价满意，并说：谢谢"]


async def test_the_tracking_page_says_where_words_with_a_kept_reply_go(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    """Words written with 满意 or 基本满意 do not send the item back: the page says they reach the desk, and what to do
    about a problem not solved or a new one."""
    created = await closed_item(client, drain, staff)
    code = created["tracking_code"]
    page = await rated_on_the_page(client, code, "basically_satisfied", "西门灯也坏了", "noted")
    assert "已收到您的评价和留言" in page
    assert "改选“不满意”" in page
    assert '<a href="/">重新提交</a>' in page
    # Without words, the thanks as before.
    assert "已收到您的评价，谢谢您！" in await rated_on_the_page(client, code, "satisfied", "", "kept")


async def test_a_reply_answered_again_is_not_shown_as_rejected_before_it_is_rated(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    """`satisfaction` is the resident's rating of the reply the item stands on: answered again after a 不满意, the item
    and its case's member list do not show the new reply as rejected before the resident has read it."""
    created = await closed_item(client, drain, staff, desk="城市管理科")
    track = f"/api/v1/track/{created['tracking_code']}"
    url = f"/api/v1/items/{created['id']}"
    await client.post(f"{track}/rating", json={"rating": "dissatisfied"})
    assert (await client.get(url, headers=staff)).json()["satisfaction"] == "dissatisfied"  # at work again
    await client.post(f"{url}/close", json={"answer": "已更换灯具。"}, headers=staff)

    item = (await client.get(url, headers=staff)).json()
    assert (item["status"], item["satisfaction"]) == ("closed", None)
    assert [r["rating"] for r in item["ratings"]] == ["dissatisfied"]  # the first reply's stays on record
    case = (await client.get(f"/api/v1/cases/{item['case_id']}", headers=staff)).json()
    assert [m["satisfaction"] for m in case["members"]] == [None]
    await client.post(f"{track}/rating", json={"rating": "basically_satisfied"})
    assert (await client.get(url, headers=staff)).json()["satisfaction"] == "basically_satisfied"


async def test_a_case_is_handed_to_one_desk_for_all_its_reporters(
    client: Any,
    drain: Any,
    model: Any,
    staff: dict[str, str],
    operator: dict[str, str],
    grid_worker: dict[str, str],
    pool: Any,
) -> None:
    """A case is assigned as it is closed, once for all its reports still at work, each hand-over recorded with the
    staff token: the case's reply then counts for the desk that wrote it, not for no desk at all."""
    ids = await post_all(client, LIFT, operator, grid_worker)
    await drain(model=FixedTopic(model, "城乡建设"))
    [case_id] = {(await client.get(f"/api/v1/items/{i}", headers=staff)).json()["case_id"] for i in ids}
    await client.post(f"/api/v1/items/{ids[0]}/close", json={"answer": "已联系物业。"}, headers=staff)
    await client.post(f"/api/v1/items/{ids[1]}/assign", json={"to": "城市管理科"}, headers=staff)

    url = f"/api/v1/cases/{case_id}/assign"
    assert problem_fields(await client.post(url, json={"to": " "}, headers=staff)) == {"to"}
    assert (await client.post(url, json={"to": "物业科"}, headers=operator)).status_code == 403
    assert (
        await client.post("/api/v1/cases/999999999/assign", json={"to": "物业科"}, headers=staff)
    ).status_code == 404
    assigned = await client.post(url, json={"to": " 住房建设科 "}, headers=staff)
    assert assigned.status_code == 200, assigned.text
    statuses = {m["id"]: m["status"] for m in assigned.json()["members"]}
    assert statuses == {ids[0]: "closed"} | dict.fromkeys(ids[1:], "assigned")
    items = [(await client.get(f"/api/v1/items/{i}", headers=staff)).json() for i in ids]
    assert [i["assigned_to"] for i in items] == [None] + ["住房建设科"] * 4
    assert [a["to"] for a in items[1]["assignments"]] == ["城市管理科", "住房建设科"]
    by = await pool.fetchval("SELECT id FROM api_tokens WHERE token_hash = $1", hash_token(staff["Authorization"][7:]))
    handed = await pool.fetch("SELECT assigned_by FROM item_assignments WHERE desk = '住房建设科'")
    assert [r["assigned_by"] for r in handed] == [by] * 4
    feed = (await client.get("/api/v1/triage", headers=staff)).json()["items"]
    assert {e["assigned_to"] for e in feed} == {"住房建设科"}

    await client.post(f"/api/v1/cases/{case_id}/close", json={"answer": "电梯已修复。"}, headers=staff)
    by_desk = {
        t["key"]: t["closed"] for t in (await client.get("/api/v1/satisfaction", headers=staff)).json()["by_desk"]
    }
    assert by_desk == {"住房建设科": 4, None: 1}
    again = await client.post(url, json={"to": "物业科"}, headers=staff)
    assert again.status_code == 409
    assert again.json()["current_status"] == "closed"


async def test_a_case_hand_over_sent_again_is_recorded_once(
    client: Any,
    drain: Any,
    model: Any,
    staff: dict[str, str],
    operator: dict[str, str],
    grid_worker: dict[str, str],
    pool: Any,
) -> None:
    """A case's hand-over sent again identically (a double click, a retry after its answer was lost) finds its reports
    with the desk already: 200, and no report records a second hand-over. A report that joined the case since, or was
    handed elsewhere meanwhile, goes to the desk and is recorded."""
    ids = await post_all(client, LIFT, operator, grid_worker)
    await drain(model=FixedTopic(model, "城乡建设"))
    [case_id] = {(await client.get(f"/api/v1/items/{i}", headers=staff)).json()["case_id"] for i in ids}
    url = f"/api/v1/cases/{case_id}/assign"

    async def handed() -> list[tuple[int, str]]:
        rows = await pool.fetch(
            "SELECT item_id, desk FROM item_assignments WHERE item_id = ANY($1::bigint[]) ORDER BY id", ids
        )
        return [(r["item_id"], r["desk"]) for r in rows]

    first = await client.post(url, json={"to": "住房建设科"}, headers=staff)
    assert first.status_code == 200, first.text
    assert await handed() == [(i, "住房建设科") for i in ids]
    for _ in range(2):
        again = await client.post(url, json={"to": " 住房建设科 "}, headers=staff)
        assert again.status_code == 200, again.text
        assert again.json()["members"] == first.json()["members"]
    assert await handed() == [(i, "住房建设科") for i in ids]

    await client.post(f"/api/v1/items/{ids[1]}/assign", json={"to": "城市管理科"}, headers=staff)
    assert (await client.post(url, json={"to": "住房建设科"}, headers=staff)).status_code == 200
    assert (await handed())[len(ids) :] == [(ids[1], "城市管理科"), (ids[1], "住房建设科")]


async def test_a_resident_who_rated_on_the_page_may_send_the_reply_back_on_the_phone(
    client: Any, drain: Any, staff: dict[str, str], operator: dict[str, str], pool: Any
) -> None:
    """满意 on the tracking page, then a call: the light is out again. Staff take down 不满意 and the item goes back to
    its desk, recorded with their token; a call cannot raise the resident's own rating, nor keep the words they wrote
    as if said on the phone."""
    created, url = await hotline_item(client, drain, operator)
    await client.post(f"{url}/assign", json={"to": "城市管理科"}, headers=staff)
    await client.post(f"{url}/close", json={"answer": "路灯已修复。"}, headers=staff)
    reply = {"closed_at": (await client.get(url, headers=staff)).json()["closed_at"]}
    track = f"/api/v1/track/{created['tracking_code']}/rating"
    assert (await client.post(track, json={"rating": "basically_satisfied", "comment": "修得慢"})).is_success

    raised = await client.post(f"{url}/rating", json={"rating": "satisfied"} | reply, headers=staff)
    assert raised.status_code == 409
    sent_back = await client.post(f"{url}/rating", json={"rating": "dissatisfied"} | reply, headers=staff)
    assert sent_back.status_code == 200, sent_back.text
    assert (sent_back.json()["reopened"], sent_back.json()["status"]) == (True, "assigned")
    item = (await client.get(url, headers=staff)).json()
    assert [(r["rating"], r["source"], r["comment"]) for r in item["ratings"]] == [("dissatisfied", "callback", None)]
    by = await pool.fetchval("SELECT id FROM api_tokens WHERE token_hash = $1", hash_token(staff["Authorization"][7:]))
    given = await pool.fetch("SELECT rating, source, recorded_by FROM rating_changes ORDER BY id")
    assert [tuple(r) for r in given] == [("basically_satisfied", "resident", None), ("dissatisfied", "callback", by)]
