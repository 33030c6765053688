"""Staff's pages: sign in with a token, work the feed, an item and the hotspots in a browser."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote_from_bytes

import pytest

from suggestions.auth import create_token
from suggestions.signin import form_key
from suggestions.staff_web import COOKIE
from tests.e2e.test_console import BROWSERS_KEYS, access_keys
from tests.e2e.test_outages import without_postgres

LIFT = "幸福小区3号楼电梯又坏了，老人上不了楼，联系电话13912345678，请尽快派人维修。"


async def signed_in(client: Any, pool: Any, role: str = "staff") -> str:
    async with pool.acquire() as conn:
        token = await create_token(conn, role=role)  # type: ignore[arg-type]
    response = await client.post("/staff/login", data={"token": token, "next": "/staff"})
    assert response.status_code == 303, response.text
    return token


async def filed(client: Any, drain: Any, text: str = LIFT) -> int:
    response = await client.post(
        "/api/v1/items",
        json={"channel": "web", "text": text, "contact_name": "王女士", "contact_phone": "13912345678"},
    )
    assert response.status_code == 201
    await drain()
    item_id: int = response.json()["id"]
    return item_id


def key_of(page: str) -> str:
    found = re.search(r'name="key" value="([0-9a-f]+)"', page)
    assert found is not None
    return found.group(1)


async def test_the_feed_asks_for_a_sign_in_and_comes_back_to_the_page_asked_for(client: Any, pool: Any) -> None:
    response = await client.get("/staff", params={"min_risk": "2"})
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login?next=%2Fstaff%3Fmin_risk%3D2"

    page = await client.get(response.headers["location"])
    assert page.status_code == 200
    assert 'value="/staff?min_risk=2"' in page.text
    async with pool.acquire() as conn:
        token = await create_token(conn, role="staff")
    signed = await client.post("/staff/login", data={"token": token, "next": "/staff?min_risk=2"})
    assert signed.status_code == 303
    assert signed.headers["location"] == "/staff?min_risk=2"
    cookie = signed.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for attribute in ("HttpOnly", "Path=/staff", "SameSite=Strict"):
        assert attribute.lower() in cookie.lower()
    assert "max-age" not in cookie.lower()  # ends with the browser session


@pytest.mark.parametrize("wanted", ["//elsewhere.example/staff", "https://elsewhere.example", "/track", "/staff\\x"])
async def test_signing_in_leads_only_to_the_staff_pages(client: Any, pool: Any, wanted: str) -> None:
    async with pool.acquire() as conn:
        token = await create_token(conn, role="staff")
    signed = await client.post("/staff/login", data={"token": token, "next": wanted})
    assert signed.headers["location"] == "/staff"


async def test_tokens_of_other_roles_and_wrong_tokens_do_not_sign_in(client: Any, pool: Any) -> None:
    for role in ("operator", "grid", "monitor"):
        async with pool.acquire() as conn:
            token = await create_token(conn, role=role)  # type: ignore[arg-type]
        response = await client.post("/staff/login", data={"token": token})
        assert response.status_code == 403
        assert "set-cookie" not in response.headers
        assert "这个令牌不能进入工作台（中心工作人员的令牌可以）" in response.text
    wrong = await client.post("/staff/login", data={"token": "sgt_not-a-token"})
    assert wrong.status_code == 401
    assert "令牌不对" in wrong.text
    empty = await client.post("/staff/login", data={"token": ""})
    assert empty.status_code == 401


async def test_a_revoked_token_is_signed_out_at_once(client: Any, pool: Any) -> None:
    token = await signed_in(client, pool)
    assert (await client.get("/staff")).status_code == 200
    await pool.execute("UPDATE api_tokens SET revoked_at = now()")
    response = await client.get("/staff")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/staff/login")
    assert f'{COOKIE}=""' in response.headers["set-cookie"] or "max-age=0" in response.headers["set-cookie"].lower()
    assert token


async def test_the_feed_shows_each_item_with_why_it_ranks_there_and_no_phone(
    client: Any, pool: Any, drain: Any
) -> None:
    await signed_in(client, pool)
    item_id = await filed(client, drain)
    page = await client.get("/staff")
    assert page.status_code == 200
    assert f'href="/staff/items/{item_id}"' in page.text
    assert "电梯又坏了" in page.text
    assert "13912345678" not in page.text
    assert "王女士" not in page.text
    assert "<li>" in page.text  # its reasons

    filtered = await client.get("/staff", params={"status": "closed"})
    assert f'href="/staff/items/{item_id}"' not in filtered.text
    assert "没有符合条件的事项" in filtered.text
    # A filter the page does not know reads as no filter, not as an error.
    odd = await client.get("/staff", params={"min_risk": "9", "topic": "不存在", "cursor": "garbage"})
    assert odd.status_code == 200
    assert f'href="/staff/items/{item_id}"' in odd.text


async def test_staff_assign_follow_up_and_close_an_item_and_the_resident_reads_the_reply(
    client: Any, pool: Any, drain: Any
) -> None:
    await signed_in(client, pool)
    item_id = await filed(client, drain)
    page = await client.get(f"/staff/items/{item_id}")
    assert page.status_code == 200
    assert "13912345678" not in page.text
    key = key_of(page.text)

    assigned = await client.post(f"/staff/items/{item_id}/assign", data={"key": key, "to": "城管科"})
    assert assigned.status_code == 303
    assert assigned.headers["location"] == f"/staff/items/{item_id}?done=assigned"
    shown = await client.get(assigned.headers["location"])
    assert "已交办" in shown.text
    assert "交办给 城管科" in shown.text

    noted = await client.post(
        f"/staff/items/{item_id}/note", data={"key": key, "text": "已联系物业，明天上午维修。", "audience": "resident"}
    )
    assert noted.headers["location"] == f"/staff/items/{item_id}?done=replied"
    closed = await client.post(f"/staff/items/{item_id}/close", data={"key": key, "answer": "电梯已修好，请您放心。"})
    assert closed.status_code == 303
    row = await pool.fetchrow("SELECT status, assigned_to, answer FROM items WHERE id = $1", item_id)
    assert dict(row) == {"status": "closed", "assigned_to": "城管科", "answer": "电梯已修好，请您放心。"}
    code = await pool.fetchval("SELECT tracking_code FROM items WHERE id = $1", item_id)
    track = await client.get("/track", params={"code": code})
    assert "电梯已修好" in track.text
    assert "明天上午维修" in track.text

    again = await client.post(f"/staff/items/{item_id}/assign", data={"key": key, "to": "物业科"})
    assert again.status_code == 409
    assert "已经办结" in again.text


async def test_a_hand_over_sent_again_from_a_page_without_its_form_key_is_recorded_once(
    client: Any, pool: Any, drain: Any
) -> None:
    """A page's assign form sent twice without the page's own form key (an older page, a script): the second finds
    the item with the desk already, and says it is handed over, without a second hand-over in its history."""
    await signed_in(client, pool)
    item_id = await filed(client, drain)
    key = key_of((await client.get(f"/staff/items/{item_id}")).text)
    for _ in range(2):
        assigned = await client.post(f"/staff/items/{item_id}/assign", data={"key": key, "to": "城管科"})
        assert assigned.status_code == 303
        assert assigned.headers["location"] == f"/staff/items/{item_id}?done=assigned"
    assert await pool.fetchval("SELECT count(*) FROM item_assignments WHERE item_id = $1", item_id) == 1
    shown = await client.get(f"/staff/items/{item_id}")
    assert shown.text.count("交办给 城管科") == 2  # the status line, and the one hand-over


async def test_a_form_without_the_sign_ins_key_or_from_another_site_changes_nothing(
    client: Any, pool: Any, drain: Any
) -> None:
    await signed_in(client, pool)
    item_id = await filed(client, drain)
    missing = await client.post(f"/staff/items/{item_id}/assign", data={"to": "城管科"})
    assert missing.status_code == 403
    assert "不是从本系统的页面提交的" in missing.text
    assert 'value="城管科"' in missing.text  # what was typed is still there
    key = key_of(missing.text)
    for headers in (
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"origin": "https://evil.example"},
    ):
        response = await client.post(
            f"/staff/items/{item_id}/assign", data={"key": key, "to": "城管科"}, headers=headers
        )
        assert response.status_code == 403
    assert await pool.fetchval("SELECT status FROM items WHERE id = $1", item_id) == "open"
    assert key == form_key(client.cookies[COOKIE])


async def test_a_form_left_empty_is_told_in_chinese(client: Any, pool: Any, drain: Any) -> None:
    await signed_in(client, pool)
    item_id = await filed(client, drain)
    key = key_of((await client.get(f"/staff/items/{item_id}")).text)
    for action, field, message in (
        ("assign", "to", "请填写交办给哪个部门"),
        ("note", "text", "请填写跟进记录"),
        ("close", "answer", "请填写给群众的答复"),
    ):
        response = await client.post(f"/staff/items/{item_id}/{action}", data={"key": key, field: "   "})
        assert response.status_code == 422, action
        assert message in response.text
    assert (await client.post(f"/staff/items/{item_id}/delete", data={"key": key})).status_code == 404
    missing = await client.get("/staff/items/999999")
    assert missing.status_code == 404
    assert "回到工作台" in missing.text


async def test_reading_the_contact_for_a_call_back_is_recorded(client: Any, pool: Any, drain: Any) -> None:
    await signed_in(client, pool)
    item_id = await filed(client, drain)
    key = key_of((await client.get(f"/staff/items/{item_id}")).text)
    response = await client.post(f"/staff/items/{item_id}/contact", data={"key": key})
    assert response.status_code == 200
    assert "13912345678" in response.text
    assert "王女士" in response.text
    assert await pool.fetchval("SELECT count(*) FROM contact_reads WHERE item_id = $1", item_id) == 1
    # Shown on that answer only, never in an address.
    assert "13912345678" not in (await client.get(f"/staff/items/{item_id}")).text


async def test_words_a_resident_typed_are_shown_as_text_not_markup(client: Any, pool: Any, drain: Any) -> None:
    await signed_in(client, pool)
    item_id = await filed(client, drain, "<script>alert(1)</script>楼道里堆满杂物，消防通道被堵。")
    for path in ("/staff", f"/staff/items/{item_id}"):
        page = await client.get(path)
        assert "<script>" not in page.text
        assert "&lt;script&gt;" in page.text
        assert "script-src" not in page.headers["content-security-policy"]  # no script runs at all


async def test_the_hotspots_page_says_when_there_are_none(client: Any, pool: Any) -> None:
    assert (await client.get("/staff/hotspots")).status_code == 303
    await signed_in(client, pool)
    page = await client.get("/staff/hotspots")
    assert page.status_code == 200
    assert "现在没有苗头隐患" in page.text


async def test_signing_out_forgets_the_token(client: Any, pool: Any) -> None:
    await signed_in(client, pool)
    page = await client.get("/staff")
    response = await client.post("/staff/logout", data={"key": key_of(page.text)})
    assert response.status_code == 303
    assert (await client.get("/staff")).status_code == 303


async def test_staff_correct_a_classification_and_it_is_kept_as_a_label(client: Any, pool: Any, drain: Any) -> None:
    await signed_in(client, pool)
    item_id = await filed(client, drain)
    page = await client.get(f"/staff/items/{item_id}")
    key = key_of(page.text)
    assert "<option>劳动和社会保障</option>" in page.text
    done = await client.post(
        f"/staff/items/{item_id}/classify", data={"key": key, "topic": "劳动和社会保障", "risk_level": "3"}
    )
    assert done.headers["location"] == f"/staff/items/{item_id}?done=classified"
    row = await pool.fetchrow("SELECT topic, risk_level FROM items WHERE id = $1", item_id)
    assert dict(row) == {"topic": "劳动和社会保障", "risk_level": 3}
    assert (
        await pool.fetchval("SELECT source FROM classifications WHERE item_id = $1 AND is_current", item_id) == "staff"
    )
    for bad in ({"topic": "不存在的类别"}, {"risk_level": "7"}, {}):
        refused = await client.post(f"/staff/items/{item_id}/classify", data={"key": key, **bad})
        assert refused.status_code == 422, bad
        assert "请选择类别和风险等级" in refused.text


async def test_staff_find_an_item_by_its_tracking_code_work_order_or_id(
    client: Any, pool: Any, drain: Any, operator: dict[str, str]
) -> None:
    await signed_in(client, pool)
    item_id = await filed(client, drain)
    code = await pool.fetchval("SELECT tracking_code FROM items WHERE id = $1", item_id)
    for typed in (code.lower().replace("-", " "), f"查询码是{code}", str(item_id), f"#{item_id}"):
        found = await client.post("/staff/find", data={"q": typed})
        assert found.status_code == 303, typed
        assert found.headers["location"] == f"/staff/items/{item_id}"
    body = {"channel": "hotline", "text": "路灯不亮", "external_id": "GD-7"}
    assert (await client.post("/api/v1/items", json=body, headers=operator)).status_code == 201
    by_order = await client.post("/staff/find", data={"q": "GD-7"})
    assert by_order.status_code == 303
    missing = await client.post("/staff/find", data={"q": "没有这个"})
    assert missing.status_code == 404
    assert "没有找到" in missing.text
    assert (await client.post("/staff/find", data={"q": "99999999999999"})).status_code == 404


async def test_what_is_typed_in_the_search_box_stays_out_of_the_address(client: Any, pool: Any, drain: Any) -> None:
    # A caller may read out their phone instead of the tracking code: what staff type must not reach the address bar,
    # the browser's history or a proxy's log.
    await signed_in(client, pool)
    item_id = await filed(client, drain)
    page = (await client.get(f"/staff/items/{item_id}")).text
    search = re.search(r'<form method="(\w+)" action="/staff/find"', page)
    assert search is not None
    assert search.group(1) == "post"
    phone = await client.post("/staff/find", data={"q": "13912345678"})
    assert phone.status_code == 404
    assert "没有找到" in phone.text
    # The address alone searches nothing: the page asks for what to look for.
    code = await pool.fetchval("SELECT tracking_code FROM items WHERE id = $1", item_id)
    bare = await client.get("/staff/find", params={"q": code})
    assert bare.status_code == 200
    assert "location" not in bare.headers


async def test_a_refused_form_says_what_went_wrong_with_that_form(client: Any, pool: Any, drain: Any) -> None:
    await signed_in(client, pool)
    item_id = await filed(client, drain)
    case_id = await pool.fetchval("SELECT case_id FROM items WHERE id = $1", item_id)
    key = key_of((await client.get(f"/staff/cases/{case_id}")).text)
    # A case number mistyped is a mistyped number, not a case closed or merged away.
    typo = await client.post(f"/staff/cases/{case_id}/merge", data={"key": key, "into": "abc"})
    assert typo.status_code == 422
    assert "请填写要并入的案件编号" in typo.text
    assert "已经办结" not in typo.text
    assert 'value="abc"' in typo.text
    # A note on an item whose personal data retention erased: said as such, not as a closing refused.
    await pool.execute("UPDATE items SET status = 'closed', closed_at = now(), anonymised_at = now()")
    note = await client.post(f"/staff/items/{item_id}/note", data={"key": key, "text": "回访：群众表示满意。"})
    assert note.status_code == 409
    assert "不能再交办或办结" not in note.text
    assert "保存期限" in note.text
    assert "回访：群众表示满意。" in note.text


async def sent_while_postgres_is_away(client: Any, path: str, typed: dict[str, str]) -> Any:
    """The staff form at `path` sent, signed in, to an app whose PostgreSQL is away: it comes back (503) as typed."""
    client.cookies.set(COOKIE, "sgt_anything", path="/staff")
    key = form_key("sgt_anything")
    response = await client.post(path, data={"key": key, **typed})
    assert response.status_code == 503
    assert response.headers["retry-after"].isdigit()
    assert f'action="{path}"' in response.text  # the same form, to send again
    assert f'value="{key}"' in response.text
    for value in typed.values():
        assert value in response.text
    return response


@pytest.mark.parametrize(
    ("path", "typed"),
    [
        ("/staff/items/7/close", {"answer": "电梯已修好，请您放心。"}),
        ("/staff/items/7/note", {"text": "已联系物业，明天上午维修。", "audience": "resident"}),
        ("/staff/items/7/assign", {"to": "城管科"}),
        ("/staff/items/7/withdraw", {"reason": "答复发错了件"}),
        ("/staff/cases/3/close", {"answer": "电梯已全部修复。"}),
        ("/staff/hotspots/5/dismiss", {"note": "已派物业处置"}),
    ],
)
@pytest.mark.usefixtures("clean")
async def test_while_postgres_is_away_what_staff_wrote_comes_back_to_send_again(
    settings: Any, queue: Any, model: Any, gazetteer: Any, path: str, typed: dict[str, str]
) -> None:
    async with without_postgres(settings, queue, model, gazetteer) as client:
        response = await sent_while_postgres_is_away(client, path, typed)
        assert "没有执行" in response.text
        # Who reads it is said of a note only: a closing's reply is the resident's.
        assert ("只给工作人员看" in response.text or "群众查询时可见" in response.text) == path.endswith("/note")
        # A form from elsewhere is not shown back.
        foreign = await client.post(path, data={"key": "", **typed}, headers={"sec-fetch-site": "cross-site"})
        assert foreign.status_code == 503
        assert next(iter(typed.values())) not in foreign.text


def tag(page: str, element_id: str) -> str:
    found = re.search(rf'<(?:input|textarea)[^>]* id="{element_id}"[^>]*>', page)
    assert found is not None, element_id
    return found.group(0)


async def test_the_box_a_form_was_refused_for_is_marked_and_focused(client: Any, pool: Any, drain: Any) -> None:
    await signed_in(client, pool)
    item_id = await filed(client, drain)
    page = (await client.get(f"/staff/items/{item_id}")).text
    key = key_of(page)
    assert "aria-invalid" not in page
    for action, field, box in (("close", "answer", "answer"), ("assign", "to", "to"), ("note", "text", "note")):
        refused = (await client.post(f"/staff/items/{item_id}/{action}", data={"key": key, field: " "})).text
        assert 'aria-invalid="true"' in tag(refused, box), action
        assert "autofocus" in tag(refused, box), action
        assert 'aria-describedby="form-error"' in tag(refused, box), action
        assert 'id="form-error"' in refused
        assert refused.count("aria-invalid") == 1
    case_id = await pool.fetchval("SELECT case_id FROM items WHERE id = $1", item_id)
    refused = (await client.post(f"/staff/cases/{case_id}/merge", data={"key": key, "into": "abc"})).text
    assert 'aria-invalid="true"' in tag(refused, "into")


async def test_a_form_not_in_utf8_stores_nothing_garbled(client: Any, pool: Any, drain: Any) -> None:
    await signed_in(client, pool)
    item_id = await filed(client, drain)
    key = key_of((await client.get(f"/staff/items/{item_id}")).text)
    form = {"content-type": "application/x-www-form-urlencoded"}
    gbk = "已联系物业".encode("gbk")
    for action, field in (("note", "text"), ("close", "answer"), ("assign", "to")):
        body = f"key={key}&{field}=".encode() + quote_from_bytes(gbk).encode()
        response = await client.post(f"/staff/items/{item_id}/{action}", content=body, headers=form)
        assert response.status_code == 400, action
        assert "编码" in response.text
    row = await pool.fetchrow(
        "SELECT status, (SELECT count(*) FROM item_notes) AS notes FROM items WHERE id = $1", item_id
    )
    assert dict(row) == {"status": "open", "notes": 0}


async def test_a_form_sent_signed_out_leads_back_to_its_page_after_signing_in(client: Any, pool: Any) -> None:
    # The browser restarted (the sign-in ends with it) and a restored tab's form sent: signing in again leads to the
    # page the form was on, not to the form's address, which only takes a POST.
    page = {"referer": "http://testserver/staff/items/7"}
    response = await client.post("/staff/items/7/close", data={"answer": "已修好"}, headers=page)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login?next=%2Fstaff%2Fitems%2F7"
    for headers in ({}, {"referer": "http://testserver/track"}, {"referer": "http://[::1"}):
        response = await client.post("/staff/cases/3/close", data={"answer": "已修好"}, headers=headers)
        assert response.headers["location"] == "/staff/login?next=%2Fstaff"
    token = await signed_in(client, pool)
    assert token
    assert (await client.get("/staff/items/7/close")).status_code == 405  # what the old address led to


async def test_signing_in_from_another_site_of_the_domain_is_refused(client: Any, pool: Any) -> None:
    # A page of another site of the same domain could sign a colleague in with a token of its writer's choosing, and
    # read what the colleague then writes under it.
    async with pool.acquire() as conn:
        token = await create_token(conn, role="staff")
    for headers in ({"sec-fetch-site": "same-site"}, {"sec-fetch-site": "cross-site"}):
        response = await client.post("/staff/login", data={"token": token}, headers=headers)
        assert response.status_code == 403, headers
        assert "set-cookie" not in response.headers
    assert (
        await client.post("/staff/login", data={"token": token}, headers={"sec-fetch-site": "same-origin"})
    ).status_code == 303


async def test_a_form_pressed_twice_does_its_work_once(client: Any, pool: Any, drain: Any) -> None:
    # A double click, or a browser's retry of a slow answer, sends the same form twice: the browser shows the second
    # answer, which must not be an error, nor a second interim reply on the resident's tracking page.
    await signed_in(client, pool)
    item_id = await filed(client, drain)
    page = (await client.get(f"/staff/items/{item_id}")).text
    key = key_of(page)
    found = re.search(r'name="submission" value="([^"]+)"', page)
    assert found is not None
    form = {"key": key, "submission": found.group(1)}
    for _ in range(2):
        noted = await client.post(
            f"/staff/items/{item_id}/note", data={**form, "text": "已联系物业。", "audience": "resident"}
        )
        assert noted.headers["location"] == f"/staff/items/{item_id}?done=replied"
    assert await pool.fetchval("SELECT count(*) FROM item_notes") == 1
    page = (await client.get(f"/staff/items/{item_id}")).text
    second = re.search(r'name="submission" value="([^"]+)"', page)
    assert second is not None
    assert second.group(1) != form["submission"]  # a new page: a new note
    form["submission"] = second.group(1)
    for _ in range(2):
        closed = await client.post(f"/staff/items/{item_id}/close", data={**form, "answer": "电梯已修好。"})
        assert closed.status_code == 303
        assert closed.headers["location"] == f"/staff/items/{item_id}?done=closed"
    assert await pool.fetchval("SELECT count(*) FROM item_notes") == 1
    # A correction pressed twice is one correction: two would read as two staff agreeing, twice the label's weight.
    page = (await client.get(f"/staff/items/{item_id}")).text
    third = re.search(
        r'<form method="post" action="/staff/items/\d+/classify">.*?name="submission" value="([^"]+)"', page, re.S
    )
    assert third is not None
    form["submission"] = third.group(1)
    for _ in range(2):
        corrected = await client.post(f"/staff/items/{item_id}/classify", data={**form, "risk_level": "2"})
        assert corrected.headers["location"] == f"/staff/items/{item_id}?done=classified"
    assert (
        await pool.fetchval("SELECT count(*) FROM classifications WHERE item_id = $1 AND source = 'staff'", item_id)
        == 1
    )


async def test_a_link_from_another_site_opens_the_page_signed_in(client: Any, pool: Any, drain: Any) -> None:
    # A link in an email or a chat message comes from another site, and the SameSite=Strict cookie is not sent with
    # it: the page reopens itself from the service's own site, with the cookie, rather than ask to sign in again.
    await signed_in(client, pool)
    item_id = await filed(client, drain)
    cookie = client.cookies[COOKIE]
    client.cookies.clear()  # as a browser following a link from elsewhere sends it
    linked = await client.get(f"/staff/items/{item_id}?done=x", headers={"sec-fetch-site": "cross-site"})
    assert linked.status_code == 200
    assert f'<meta http-equiv="refresh" content="0;url=/staff/items/{item_id}?done=x">' in linked.text
    client.cookies.set(COOKIE, cookie, path="/staff")
    again = await client.get(f"/staff/items/{item_id}?done=x", headers={"sec-fetch-site": "same-origin"})
    assert again.status_code == 200
    client.cookies.clear()
    # Signed out indeed: the reopened page asks to sign in, once.
    own = await client.get(f"/staff/items/{item_id}", headers={"sec-fetch-site": "same-origin"})
    assert own.status_code == 303


async def test_the_pages_keys_are_those_the_readme_promises(client: Any, pool: Any, drain: Any) -> None:
    # Alt+B the feed (待办), Alt+H the hotspots, Alt+K the search box, on every staff page. They were Alt+1 and
    # Alt+2, which Chromium and Chrome take to choose a tab: neither page was ever opened so.
    await signed_in(client, pool)
    item_id = await filed(client, drain)
    for path in ("/staff", "/staff/hotspots", f"/staff/items/{item_id}"):
        page = (await client.get(path)).text
        assert '<a href="/staff" accesskey="b">' in page
        assert '<a href="/staff/hotspots" accesskey="h">' in page
        assert 'accesskey="k"' in page
        assert not BROWSERS_KEYS & set(access_keys(page)), path


async def test_the_feed_says_how_an_item_sent_back_ranks_and_how_long_it_waited_since(
    client: Any, pool: Any, drain: Any
) -> None:
    """Staff read "the longest waiting first" and the waiting time of an item a resident sent back as since it was
    sent back: the page says it ranks by its first arrival, and the item says both times."""
    await signed_in(client, pool)
    item_id = await filed(client, drain)
    key = key_of((await client.get(f"/staff/items/{item_id}")).text)
    await client.post(f"/staff/items/{item_id}/close", data={"key": key, "answer": "电梯已修好。"})
    await pool.execute("UPDATE items SET received_at = now() - interval '20 days' WHERE id = $1", item_id)
    row = await pool.fetchrow("SELECT tracking_code, closed_at FROM items WHERE id = $1", item_id)
    rating = {"rating": "dissatisfied", "closed_at": row["closed_at"].isoformat()}
    assert (await client.post(f"/api/v1/track/{row['tracking_code']}/rating", json=rating)).status_code == 200
    page = (await client.get("/staff")).text
    assert "退回重办的按第一次收到的时间" in page
    assert "退回后已等待 0 分钟（首次反映至今 20 天 0 小时）" in page


async def test_staff_withdraw_a_reply_sent_by_mistake_on_the_items_page(client: Any, pool: Any, drain: Any) -> None:
    """A reply closed on the page by mistake is withdrawn on the page, as the API does: the resident is told it was
    withdrawn. A reply the resident rated is theirs: no form, and a refusal."""
    await signed_in(client, pool)
    item_id = await filed(client, drain)
    page = (await client.get(f"/staff/items/{item_id}")).text
    assert f'action="/staff/items/{item_id}/withdraw"' not in page  # nothing to withdraw yet
    key = key_of(page)
    await client.post(f"/staff/items/{item_id}/close", data={"key": key, "answer": "电梯已修好。"})
    closed = (await client.get(f"/staff/items/{item_id}")).text
    assert f'action="/staff/items/{item_id}/withdraw"' in closed
    empty = await client.post(f"/staff/items/{item_id}/withdraw", data={"key": key, "reason": "  "})
    assert empty.status_code == 422
    assert "请写明为什么撤回" in empty.text
    withdrawn = await client.post(f"/staff/items/{item_id}/withdraw", data={"key": key, "reason": "发错了件"})
    assert withdrawn.status_code == 303
    assert withdrawn.headers["location"] == f"/staff/items/{item_id}?done=withdrawn"
    assert "已撤回答复" in (await client.get(withdrawn.headers["location"])).text
    row = await pool.fetchrow("SELECT status, answer, tracking_code FROM items WHERE id = $1", item_id)
    assert (row["status"], row["answer"]) == ("open", None)
    assert "之前的答复已撤回" in (await client.get("/track", params={"code": row["tracking_code"]})).text

    await client.post(f"/staff/items/{item_id}/close", data={"key": key, "answer": "电梯已于今天修好。"})
    closed_at = await pool.fetchval("SELECT closed_at FROM items WHERE id = $1", item_id)
    rating = {"rating": "satisfied", "closed_at": closed_at.isoformat()}
    await client.post(f"/api/v1/track/{row['tracking_code']}/rating", json=rating)
    rated = (await client.get(f"/staff/items/{item_id}")).text
    assert f'action="/staff/items/{item_id}/withdraw"' not in rated
    refused = await client.post(f"/staff/items/{item_id}/withdraw", data={"key": key, "reason": "再看看"})
    assert refused.status_code == 409
    assert "群众已经评价" in refused.text


async def test_the_staff_pages_fit_a_phone_set_to_large_text(client: Any, pool: Any) -> None:
    # A phone 360 pixels wide with the browser's text set large (26 px): an item's forms were laid out in columns at
    # least 20 characters wide, 520 pixels, and the search box kept its width, so the page ran off the screen's
    # right edge. A column is never wider than the page, nor is the search box.
    await signed_in(client, pool)
    page = (await client.get("/staff")).text
    style = page.split("<style>", 1)[1].split("</style>", 1)[0]
    columns = re.findall(r"minmax\(([^,()]+(?:\([^()]*\))?[^,()]*),", style)
    assert columns
    assert all(column.startswith("min(") and column.endswith(", 100%)") for column in columns), columns
    boxes = re.search(r"input\[type=text\], [^{]*\{([^}]*)\}", style)
    assert boxes is not None
    assert "max-width: 100%" in boxes.group(1)
    assert re.search(r"header form \{[^}]*max-width: 100%", style)
