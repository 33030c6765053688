"""Staff assign an item and close it with a reply; the resident reads the reply by the tracking code."""

from __future__ import annotations

from typing import Any

import pytest

from suggestions.auth import hash_token
from tests.conftest import _token
from tests.e2e.test_api_contract import problem_fields
from tests.e2e.test_staff_pages import signed_in

TEXT = "小区东门的路灯坏了一个多月，晚上老人出门很不安全。"
ANSWER = "您好，路灯已于本周修复。如仍有问题，请联系社区王主任 13912345678。"


async def classified_item(client: Any, drain: Any) -> dict[str, Any]:
    created: dict[str, Any] = (await client.post("/api/v1/items", json={"channel": "web", "text": TEXT})).json()
    await drain()
    return created


async def test_assign_then_close_shows_the_reply_to_the_resident(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    created = await classified_item(client, drain)

    assigned = await client.post(f"/api/v1/items/{created['id']}/assign", json={"to": " 城市管理科 "}, headers=staff)
    assert assigned.status_code == 200, assigned.text
    assert (assigned.json()["status"], assigned.json()["assigned_to"]) == ("assigned", "城市管理科")
    [entry] = (await client.get("/api/v1/triage", headers=staff)).json()["items"]
    assert (entry["status"], entry["assigned_to"]) == ("assigned", "城市管理科")
    tracking = (await client.get(f"/api/v1/track/{created['tracking_code']}")).json()
    assert (tracking["status_text"], tracking["answer"]) == ("处理中", None)

    closed = await client.post(f"/api/v1/items/{created['id']}/close", json={"answer": ANSWER}, headers=staff)
    assert closed.status_code == 200, closed.text
    item = closed.json()
    assert item["status"] == "closed"
    assert item["closed_at"]
    assert "13912345678" not in item["answer"]
    assert item["answer"].startswith("您好，路灯已于本周修复。")
    assert (await client.get("/api/v1/triage", headers=staff)).json()["items"] == []

    tracking = (await client.get(f"/api/v1/track/{created['tracking_code']}")).json()
    assert (tracking["status"], tracking["status_text"]) == ("closed", "已办结")
    assert tracking["closed_at"] == item["closed_at"]
    assert tracking["answer"] == item["answer"]
    page = await client.get("/track", params={"code": created["tracking_code"]})
    assert "办理答复" in page.text
    assert "路灯已于本周修复" in page.text
    assert "13912345678" not in page.text


async def test_an_open_item_can_be_closed_directly_and_only_once(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    created = await classified_item(client, drain)
    url = f"/api/v1/items/{created['id']}"
    assert (await client.post(f"{url}/close", json={"answer": "已转交相关部门。"}, headers=staff)).status_code == 200

    again = await client.post(f"{url}/close", json={"answer": "再答复一次"}, headers=staff)
    assert again.status_code == 409
    problem_fields(again)
    assert again.json()["current_status"] == "closed"
    reassigned = await client.post(f"{url}/assign", json={"to": "信访科"}, headers=staff)
    assert reassigned.status_code == 409
    item = (await client.get(url, headers=staff)).json()
    assert (item["answer"], item["assigned_to"]) == ("已转交相关部门。", None)


async def test_an_assigned_item_can_be_reassigned(client: Any, drain: Any, staff: dict[str, str], pool: Any) -> None:
    created = await classified_item(client, drain)
    url = f"/api/v1/items/{created['id']}/assign"
    await client.post(url, json={"to": "城市管理科"}, headers=staff)
    colleague = await _token(pool, "staff")
    moved = await client.post(url, json={"to": "住建科"}, headers=colleague)
    assert moved.status_code == 200
    assert (moved.json()["status"], moved.json()["assigned_to"]) == ("assigned", "住建科")
    # The desk that had it before, and who handed it on, stay on record.
    assert [a["to"] for a in moved.json()["assignments"]] == ["城市管理科", "住建科"]
    by = await pool.fetch("SELECT assigned_by FROM item_assignments WHERE item_id = $1 ORDER BY id", created["id"])
    tokens = [
        await pool.fetchval("SELECT id FROM api_tokens WHERE token_hash = $1", hash_token(h["Authorization"][7:]))
        for h in (staff, colleague)
    ]
    assert [r["assigned_by"] for r in by] == tokens
    # Staff reading the item see who handed it to each desk (the token's id, as `suggestions token list` names it),
    # and who wrote each note: the next shift knows whom to ask.
    await client.post(f"/api/v1/items/{created['id']}/notes", json={"text": "已联系物业"}, headers=colleague)
    item = (await client.get(f"/api/v1/items/{created['id']}", headers=staff)).json()
    assert [(a["to"], a["by"]) for a in item["assignments"]] == [("城市管理科", tokens[0]), ("住建科", tokens[1])]
    assert [(n["text"], n["written_by"]) for n in item["notes"]] == [("已联系物业", tokens[1])]


async def test_a_hand_over_sent_again_without_a_key_is_recorded_once(
    client: Any, drain: Any, staff: dict[str, str], pool: Any
) -> None:
    """The same hand-over sent again without an Idempotency-Key (a double click, a client's retry) finds the item with
    the desk already: 200 with the item, and nothing recorded twice. A hand-over to another desk, and back, is one."""
    created = await classified_item(client, drain)
    url = f"/api/v1/items/{created['id']}/assign"
    first = await client.post(url, json={"to": "城市管理科"}, headers=staff)
    assert first.status_code == 200, first.text
    colleague = await _token(pool, "staff")
    for headers, desk in ((staff, "城市管理科"), (staff, " 城市管理科 "), (colleague, "城市管理科")):
        again = await client.post(url, json={"to": desk}, headers=headers)
        assert again.status_code == 200, again.text
        assert (again.json()["status"], again.json()["assigned_to"]) == ("assigned", "城市管理科")
        assert again.json()["assignments"] == first.json()["assignments"]
        assert again.json()["assigned_at"] == first.json()["assigned_at"]
    rows = await pool.fetch("SELECT desk FROM item_assignments WHERE item_id = $1 ORDER BY id", created["id"])
    assert [r["desk"] for r in rows] == ["城市管理科"]

    await client.post(url, json={"to": "住建科"}, headers=staff)
    back = await client.post(url, json={"to": "城市管理科"}, headers=staff)
    assert [a["to"] for a in back.json()["assignments"]] == ["城市管理科", "住建科", "城市管理科"]


async def test_an_item_still_being_classified_is_not_taken_out_of_classification(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    created = (await client.post("/api/v1/items", json={"channel": "web", "text": TEXT})).json()
    for step, body in (("assign", {"to": "城市管理科"}), ("close", {"answer": "已处理"})):
        response = await client.post(f"/api/v1/items/{created['id']}/{step}", json=body, headers=staff)
        assert response.status_code == 409
        assert response.json()["current_status"] == "pending"
    await drain()
    assert (await client.get(f"/api/v1/items/{created['id']}", headers=staff)).json()["classification"] is not None


@pytest.mark.parametrize(
    ("step", "body", "field"),
    [
        ("assign", {}, "to"),
        ("assign", {"to": ""}, "to"),
        ("assign", {"to": "   "}, "to"),
        ("assign", {"to": "\u200b\u200b"}, "to"),  # zero-width spaces: an invisible desk
        ("assign", {"to": 7}, "to"),
        ("assign", {"to": "科" * 101}, "to"),
        ("assign", {"to": "城市管理科", "priority": 1}, "priority"),
        ("close", {}, "answer"),
        ("close", {"answer": ""}, "answer"),
        ("close", {"answer": " \n "}, "answer"),
        ("close", {"answer": "\u200b"}, "answer"),  # a reply the resident would read as nothing
        ("close", {"answer": "\u3164\u2800\ufeff"}, "answer"),  # fillers and a byte-order mark
        ("close", {"answer": "答" * 5001}, "answer"),
        ("close", {"reply": "已处理"}, "reply"),
    ],
)
async def test_bad_bodies_are_a_422_naming_the_field(
    client: Any, drain: Any, staff: dict[str, str], step: str, body: dict[str, Any], field: str
) -> None:
    created = await classified_item(client, drain)
    response = await client.post(f"/api/v1/items/{created['id']}/{step}", json=body, headers=staff)
    assert response.status_code == 422, response.text
    assert field in problem_fields(response)
    assert (await client.get(f"/api/v1/items/{created['id']}", headers=staff)).json()["status"] == "open"


@pytest.mark.parametrize(("step", "body"), [("assign", {"to": "城市管理科"}), ("close", {"answer": "已处理"})])
async def test_only_staff_change_items_that_exist(
    client: Any, drain: Any, staff: dict[str, str], operator: dict[str, str], step: str, body: dict[str, Any]
) -> None:
    created = await classified_item(client, drain)
    url = f"/api/v1/items/{created['id']}/{step}"
    assert (await client.post(url, json=body)).status_code == 401
    assert (await client.post(url, json=body, headers=operator)).status_code == 403
    missing = await client.post(f"/api/v1/items/999999/{step}", json=body, headers=staff)
    assert missing.status_code == 404
    problem_fields(missing)
    assert (await client.get(f"/api/v1/items/{created['id']}", headers=staff)).json()["status"] == "open"


async def test_staff_withdraw_a_reply_sent_by_mistake(
    client: Any, drain: Any, staff: dict[str, str], operator: dict[str, str], pool: Any
) -> None:
    """A reply sent to the wrong resident, or before the work was done, is withdrawn: the item is back at its desk,
    the resident's page shows it at work again, and who withdrew which reply, and why, is a note on the item. A reply
    the resident has rated is theirs to send back."""
    created = await classified_item(client, drain)
    url = f"/api/v1/items/{created['id']}"
    await client.post(f"{url}/assign", json={"to": "城市管理科"}, headers=staff)
    assert (await client.post(f"{url}/reopen", json={"reason": "答复错了"}, headers=staff)).status_code == 409
    await client.post(
        f"{url}/close", json={"answer": "您好，您反映的噪音问题已处理，电话 13912345678。"}, headers=staff
    )

    assert problem_fields(await client.post(f"{url}/reopen", json={"reason": " "}, headers=staff)) == {"reason"}
    assert (await client.post(f"{url}/reopen", json={"reason": "x"}, headers=operator)).status_code == 403
    assert (await client.post("/api/v1/items/999999999/reopen", json={"reason": "x"}, headers=staff)).status_code == 404
    withdrawn = await client.post(f"{url}/reopen", json={"reason": "答复发错了件"}, headers=staff)
    assert withdrawn.status_code == 200, withdrawn.text
    item = withdrawn.json()
    assert (item["status"], item["assigned_to"], item["closed_at"], item["answer"]) == (
        "assigned",
        "城市管理科",
        None,
        None,
    )
    [note] = item["notes"]
    assert (note["audience"], note["text"]) == (
        "staff",
        "撤回答复：答复发错了件。撤回的答复：您好，您反映的噪音问题已处理，电话 [手机号]。",
    )
    by = await pool.fetchval("SELECT id FROM api_tokens WHERE token_hash = $1", hash_token(staff["Authorization"][7:]))
    assert await pool.fetchval("SELECT written_by FROM item_notes") == by
    tracking = (await client.get(f"/api/v1/track/{created['tracking_code']}")).json()
    assert (tracking["status_text"], tracking["answer"], tracking["can_rate"]) == ("处理中", None, False)
    [entry] = (await client.get("/api/v1/triage", params={"desk": "城市管理科"}, headers=staff)).json()["items"]
    assert entry["id"] == created["id"]
    assert "dissatisfied" not in {r["code"] for r in entry["reasons"]}
    assert (await client.get("/api/v1/satisfaction", headers=staff)).json()["total"]["closed"] == 0

    await client.post(f"{url}/close", json={"answer": "路灯已修复。"}, headers=staff)
    await client.post(f"/api/v1/track/{created['tracking_code']}/rating", json={"rating": "satisfied"})
    rated = await client.post(f"{url}/reopen", json={"reason": "再看看"}, headers=staff)
    assert rated.status_code == 409
    assert (await client.get("/api/v1/satisfaction", headers=staff)).json()["total"]["closed"] == 1


WITHDRAWN = "之前的答复已撤回，正在重新办理"


async def test_a_resident_who_read_a_withdrawn_reply_is_told_it_was_withdrawn(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    """The resident read the reply; staff withdrew it. The page and the API say so in a plain sentence, without the
    withdrawn words or staff's reason, and stop saying it once the item is answered again."""
    created = await classified_item(client, drain)
    url, code = f"/api/v1/items/{created['id']}", created["tracking_code"]
    first = (await client.get(f"/api/v1/track/{code}")).json()
    assert first["reply_withdrawn"] is None
    await client.post(f"{url}/close", json={"answer": "路灯已修复，谢谢您的反映。"}, headers=staff)
    read = await client.get("/track", params={"code": code})
    assert "路灯已修复" in read.text
    assert WITHDRAWN not in read.text
    withdrawn = await client.post(f"{url}/reopen", json={"reason": "发错了件，是隔壁小区的"}, headers=staff)
    assert withdrawn.status_code == 200

    tracking = (await client.get(f"/api/v1/track/{code}")).json()
    assert WITHDRAWN in tracking["reply_withdrawn"]
    assert tracking["reopened_at"] is None  # no resident sent it back
    page = await client.get("/track", params={"code": code})
    assert WITHDRAWN in page.text
    for unsaid in ("路灯已修复", "发错了件", "隔壁小区", "您对上次答复不满意"):
        assert unsaid not in page.text
        assert unsaid not in str(tracking)

    await client.post(f"{url}/close", json={"answer": "路灯已于今天修复。"}, headers=staff)
    answered = (await client.get(f"/api/v1/track/{code}")).json()
    assert answered["reply_withdrawn"] is None
    assert WITHDRAWN not in (await client.get("/track", params={"code": code})).text

    # Sent back by the resident after that, the item says so, not that a reply was withdrawn.
    closed_at = answered["closed_at"]
    await client.post(f"/api/v1/track/{code}/rating", json={"rating": "dissatisfied", "closed_at": closed_at})
    again = await client.get("/track", params={"code": code})
    assert "您对上次答复不满意" in again.text
    assert WITHDRAWN not in again.text
    assert (await client.get(f"/api/v1/track/{code}")).json()["reply_withdrawn"] is None


async def test_a_reply_withdrawn_after_a_sending_back_reads_as_withdrawn_in_the_feed(
    client: Any, drain: Any, staff: dict[str, str], pool: Any
) -> None:
    """Sent back by the resident, answered again, and that reply withdrawn by staff: the feed reads the latest event,
    the withdrawal, not the old sending back, and the item has waited since the withdrawal."""
    created = await classified_item(client, drain)
    url, code = f"/api/v1/items/{created['id']}", created["tracking_code"]
    await client.post(f"{url}/assign", json={"to": "城市管理科"}, headers=staff)
    closed = (await client.post(f"{url}/close", json={"answer": "路灯已修复。"}, headers=staff)).json()
    rating = {"rating": "dissatisfied", "comment": "灯还是不亮", "closed_at": closed["closed_at"]}
    assert (await client.post(f"/api/v1/track/{code}/rating", json=rating)).json()["reopened"] is True
    # The item arrived forty days ago and was sent back ten days ago.
    await pool.execute(
        "UPDATE items SET received_at = now() - interval '40 days', reopened_at = now() - interval '10 days'"
        " WHERE id = $1",
        created["id"],
    )
    await client.post(f"{url}/close", json={"answer": "已更换灯具。"}, headers=staff)
    assert (await client.post(f"{url}/reopen", json={"reason": "还没换好"}, headers=staff)).status_code == 200

    [entry] = (await client.get("/api/v1/triage", headers=staff)).json()["items"]
    reasons = {r["code"]: r["message"] for r in entry["reasons"]}
    assert "dissatisfied" not in reasons
    assert reasons["reply_withdrawn"] == "答复已撤回，重新办理（此前群众不满意退回 1 次）"
    assert reasons["waiting"].startswith("撤回答复后已等待 0 分钟（首次反映至今 40 天")

    # Answered and sent back once more: the sending back is the latest event again.
    again = (await client.post(f"{url}/close", json={"answer": "灯具已更换。"}, headers=staff)).json()
    rating = {"rating": "dissatisfied", "closed_at": again["closed_at"]}
    assert (await client.post(f"/api/v1/track/{code}/rating", json=rating)).json()["reopened"] is True
    [entry] = (await client.get("/api/v1/triage", headers=staff)).json()["items"]
    reasons = {r["code"]: r["message"] for r in entry["reasons"]}
    assert "reply_withdrawn" not in reasons
    assert reasons["dissatisfied"] == "居民对答复不满意，退回重办（第 2 次）"
    assert reasons["waiting"].startswith("退回后已等待 0 分钟")


async def test_a_resident_rating_a_reply_withdrawn_meanwhile_is_told_it_was_withdrawn(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    """The resident has the page with the reply open; staff withdraw it; the resident taps 满意. They are told the
    reply was withdrawn and the item is at work again, not that replies may be rated within 30 days of closing."""
    created = await classified_item(client, drain)
    url, code = f"/api/v1/items/{created['id']}", created["tracking_code"]
    closed = (await client.post(f"{url}/close", json={"answer": "路灯已修复。"}, headers=staff)).json()
    await client.post(f"{url}/reopen", json={"reason": "还没修好"}, headers=staff)
    for rating in ("satisfied", "dissatisfied"):
        form = {"code": code, "rating": rating, "closed_at": closed["closed_at"], "comment": "谢谢", "confirm": "yes"}
        tapped = await client.post("/track/rate", data=form)
        assert tapped.status_code == 409
        assert "答复已撤回" in tapped.text
        assert "天内可以评价" not in tapped.text


async def test_words_given_with_a_rating_of_a_reply_withdrawn_meanwhile_are_kept_for_staff(
    client: Any, drain: Any, staff: dict[str, str], pool: Any
) -> None:
    """The resident read the reply and wrote what they think of it; staff withdrew the reply before they sent it. The
    rating of a reply that no longer stands is not counted, but the words are the resident's: kept for staff on the
    item, masked, and the resident is told so. Sent again, they are kept once."""
    created = await classified_item(client, drain)
    url, code = f"/api/v1/items/{created['id']}", created["tracking_code"]
    closed = (await client.post(f"{url}/close", json={"answer": "路灯已修复。"}, headers=staff)).json()
    await client.post(f"{url}/reopen", json={"reason": "还没修好"}, headers=staff)

    words = "东门的灯修好了，西门那盏还不亮，电话 13912345678"
    form = {"code": code, "rating": "satisfied", "closed_at": closed["closed_at"], "comment": words}
    for _ in range(2):
        tapped = await client.post("/track/rate", data=form)
        assert tapped.status_code == 409
        assert "答复已撤回" in tapped.text
        assert "不计入" in tapped.text
        assert "您写的话已转给工作人员" in tapped.text
    # 不满意 asks first, unless there is no reply left to send back: the words are kept all the same.
    unconfirmed = {**form, "rating": "dissatisfied", "comment": "还是不亮"}
    tapped = await client.post("/track/rate", data=unconfirmed)
    assert "您写的话已转给工作人员" in tapped.text
    # By the API, and without words: the rating is refused as before, and nothing is kept.
    api = await client.post(
        f"/api/v1/track/{code}/rating", json={"rating": "basically_satisfied", "comment": "灯还是暗"}
    )
    assert api.status_code == 409
    assert "comment was kept" in api.json()["detail"]
    bare = await client.post(f"/api/v1/track/{code}/rating", json={"rating": "satisfied"})
    assert bare.status_code == 409
    assert "comment" not in bare.json()["detail"]

    item = (await client.get(url, headers=staff)).json()
    said = [(c["rating"], c["comment"], c["source"]) for c in item["resident_comments"]]
    assert said == [
        ("satisfied", "东门的灯修好了，西门那盏还不亮，电话 [手机号]", "resident"),
        ("dissatisfied", "还是不亮", "resident"),
        ("basically_satisfied", "灯还是暗", "resident"),
    ]
    assert item["resident_comments"][0]["closed_at"] == closed["closed_at"]
    assert item["resident_comments"][2]["closed_at"] is None  # the API's rating named no reply
    # Not counted: no rating of the reply, none given on record, nothing in the satisfaction report.
    assert (item["ratings"], item["satisfaction"], item["status"]) == ([], None, "open")
    assert await pool.fetchval("SELECT count(*) FROM rating_changes") == 0
    assert (await client.get("/api/v1/satisfaction", headers=staff)).json()["total"]["rated"] == 0
    assert await pool.fetchval("SELECT count(*) FROM resident_comments WHERE comment LIKE '%13912345678%'") == 0
    # Staff read them on the item's page, apart from the ratings.
    await signed_in(client, pool)
    page = (await client.get(f"/staff/items/{created['id']}")).text
    assert "群众留言" in page
    assert "东门的灯修好了，西门那盏还不亮，电话 [手机号]" in page
    assert "评价不计入" in page


async def test_words_taken_down_on_a_call_about_a_reply_withdrawn_meanwhile_are_kept(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    """Staff on a call back take down the resident's rating and words, and a colleague withdrew the reply meanwhile:
    409, and the words are kept on the item, with who took them down; sent again under its Idempotency-Key, the same."""
    created = (
        await client.post("/api/v1/items", json={"channel": "web", "text": TEXT, "contact_phone": "13912345678"})
    ).json()
    await drain()
    url = f"/api/v1/items/{created['id']}"
    closed = (await client.post(f"{url}/close", json={"answer": "路灯已修复。"}, headers=staff)).json()
    await client.post(f"{url}/reopen", json={"reason": "发错了件"}, headers=staff)
    rating = {"rating": "satisfied", "comment": "说灯修好了，但楼道里还有一盏不亮", "closed_at": closed["closed_at"]}
    for headers in (staff, {**staff, "Idempotency-Key": "call-1"}, {**staff, "Idempotency-Key": "call-1"}):
        taken = await client.post(f"{url}/rating", json=rating, headers=headers)
        assert taken.status_code == 409, taken.text
        assert "comment was kept" in taken.json()["detail"]
    item = (await client.get(url, headers=staff)).json()
    [said] = item["resident_comments"]
    assert (said["rating"], said["comment"], said["source"]) == ("satisfied", rating["comment"], "callback")
    assert said["by"] is not None
    assert item["ratings"] == []


async def test_a_rating_naming_a_time_no_reply_can_have_is_refused_naming_closed_at(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    """A `closed_at` with an offset that puts it before year 1 or after 9999 in UTC is bad input. Kept with the words
    of a rating of a reply withdrawn meanwhile, it could not be stored (a 500): the API says 422 and names the field,
    and the tracking page reads it as naming no reply, as it reads one it cannot parse."""
    created = (
        await client.post("/api/v1/items", json={"channel": "web", "text": TEXT, "contact_phone": "13912345678"})
    ).json()
    await drain()
    url, code = f"/api/v1/items/{created['id']}", created["tracking_code"]
    await client.post(f"{url}/close", json={"answer": "路灯已修复。"}, headers=staff)
    await client.post(f"{url}/reopen", json={"reason": "发错了件"}, headers=staff)
    for moment in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        rating = {"rating": "satisfied", "comment": "灯还是不亮", "closed_at": moment}
        resident = await client.post(f"/api/v1/track/{code}/rating", json=rating)
        assert resident.status_code == 422, resident.text
        assert problem_fields(resident) == {"closed_at"}
        taken = await client.post(f"{url}/rating", json=rating, headers=staff)
        assert taken.status_code == 422, taken.text
        assert problem_fields(taken) == {"closed_at"}
        tapped = await client.post("/track/rate", data={"code": code, **rating})
        assert tapped.status_code == 409, tapped.text
        assert "您写的话已转给工作人员" in tapped.text
    item = (await client.get(url, headers=staff)).json()
    assert [(c["comment"], c["closed_at"]) for c in item["resident_comments"]] == [("灯还是不亮", None)]


async def test_staff_read_in_the_feed_what_the_resident_said_of_a_reply_withdrawn_meanwhile(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    """The resident is told their words about a withdrawn reply reach staff: the feed's reason quotes the latest of
    them, masked and cut short as a sending back's words are, and none said about a reply withdrawn before."""
    created = await classified_item(client, drain)
    url, track = f"/api/v1/items/{created['id']}", f"/api/v1/track/{created['tracking_code']}/rating"

    async def reason() -> str:
        [entry] = (await client.get("/api/v1/triage", headers=staff)).json()["items"]
        [message] = [r["message"] for r in entry["reasons"] if r["code"] == "reply_withdrawn"]
        return str(message)

    await client.post(f"{url}/close", json={"answer": "路灯已修复。"}, headers=staff)
    await client.post(f"{url}/reopen", json={"reason": "发错了件"}, headers=staff)
    assert await reason() == "答复已撤回，重新办理"
    await client.post(track, json={"rating": "satisfied", "comment": "谢谢"})
    said = "东门的灯修了，西门那盏还是不亮。我叫李秀英，电话 13912345678"
    await client.post(track, json={"rating": "dissatisfied", "comment": said})
    assert await reason() == "答复已撤回，重新办理。居民说：东门的灯修了，西门那盏还是不亮。我叫[姓名]，电话 [手机号]"
    await client.post(track, json={"rating": "dissatisfied", "comment": "x" * 500})
    assert await reason() == "答复已撤回，重新办理。居民说：" + "x" * 120 + "…"

    # Answered and withdrawn again: what was said about the reply withdrawn before is not quoted.
    await client.post(f"{url}/close", json={"answer": "已更换灯具。"}, headers=staff)
    await client.post(f"{url}/reopen", json={"reason": "还没换好"}, headers=staff)
    assert await reason() == "答复已撤回，重新办理"
