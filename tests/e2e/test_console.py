"""The call-entry console: operators and grid workers sign in once and file one call after another in a browser."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote_from_bytes

import pytest

from suggestions.auth import create_token
from suggestions.signin import form_key
from tests.e2e.test_outages import without_postgres

LIFT = "来电人反映，龙跃苑二区3号楼电梯又坏了，老人上不了楼，请尽快维修。"


async def signed_in(client: Any, pool: Any, role: str = "operator") -> str:
    async with pool.acquire() as conn:
        token = await create_token(conn, role=role)  # type: ignore[arg-type]
    response = await client.post("/console/login", data={"token": token})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console"
    return token


def call(token: str, **fields: str) -> dict[str, str]:
    return {"key": form_key(token), "submission": "s" * 20, "do": "file", **fields}


def shown_code(page: str) -> str:
    found = re.search(r'class="code">([A-Z0-9-]+)<', page)
    assert found is not None, page
    return found.group(1)


async def test_who_may_sign_in_to_the_console(client: Any, pool: Any) -> None:
    assert (await client.get("/console")).headers["location"] == "/console/login?next=%2Fconsole"
    for role in ("staff", "monitor"):
        async with pool.acquire() as conn:
            token = await create_token(conn, role=role)  # type: ignore[arg-type]
        refused = await client.post("/console/login", data={"token": token})
        assert refused.status_code == 403
        assert "12345 话务员和网格员的令牌可以" in refused.text
    await signed_in(client, pool, "grid")
    # The console's cookie opens the console only.
    assert (await client.get("/staff")).status_code == 303


async def test_an_operator_files_a_call_and_reads_its_code_out_with_an_empty_form_for_the_next(
    client: Any, pool: Any
) -> None:
    token = await signed_in(client, pool)
    page = await client.get("/console")
    assert page.status_code == 200
    assert 'id="text" name="text"' in page.text
    assert "autofocus" in page.text.split('id="text"')[1].split(">")[0]
    assert "12345 热线" in page.text

    filed = await client.post(
        "/console",
        data=call(
            token, text=LIFT, place="龙跃苑二区", kind="complaint", contact_name="张先生", contact_phone="13912345678"
        ),
    )
    assert filed.status_code == 201
    code = shown_code(filed.text)
    assert "已登记" in filed.text
    assert LIFT not in filed.text  # the form is empty for the next call
    assert "13912345678" not in filed.text
    row = await pool.fetchrow(
        "SELECT i.channel, i.kind, i.place, i.submitted_by IS NOT NULL AS by_token, c.phone "
        "FROM items i JOIN contacts c ON c.item_id = i.id WHERE i.tracking_code = $1",
        code,
    )
    assert dict(row) == {
        "channel": "hotline",
        "kind": "complaint",
        "place": "龙跃苑二区",
        "by_token": True,
        "phone": "13912345678",
    }
    assert await pool.fetchval("SELECT count(*) FROM items") == 1

    # A second press of 登记 (the same form): the first call's code, nothing filed twice.
    again = await client.post("/console", data=call(token, text=LIFT, place="龙跃苑二区", kind="complaint"))
    assert again.status_code in (200, 409)
    twice = await client.post(
        "/console",
        data=call(
            token, text=LIFT, place="龙跃苑二区", kind="complaint", contact_name="张先生", contact_phone="13912345678"
        ),
    )
    assert twice.status_code == 200
    assert shown_code(twice.text) == code
    assert "刚才已经登记过" in twice.text
    assert await pool.fetchval("SELECT count(*) FROM items") == 1


async def test_a_grid_worker_files_on_the_grid_channel(client: Any, pool: Any) -> None:
    token = await signed_in(client, pool, "grid")
    filed = await client.post("/console", data=call(token, text="网格员巡查发现，白浮村南侧林地有人挖土。"))
    assert filed.status_code == 201
    assert await pool.fetchval("SELECT channel FROM items") == "grid"


async def test_mistakes_are_named_box_by_box_and_the_call_is_kept(client: Any, pool: Any) -> None:
    token = await signed_in(client, pool)
    response = await client.post(
        "/console", data=call(token, text=LIFT, contact_phone="12345", external_id="工单 1", kind="nonsense")
    )
    assert response.status_code == 422
    assert "电话号码格式不对" in response.text
    assert "工单号只能有字母" in response.text
    assert "请从列表中选择类型" in response.text
    assert "有 3 处需要改一下" in response.text
    assert LIFT in response.text
    assert 'name="submission" value="ssssssssssssssssssss"' in response.text  # the same call, once corrected
    assert "<title>未登记" in response.text
    empty = await client.post("/console", data=call(token, text="  "))
    assert empty.status_code == 422
    assert "请填写内容" in empty.text
    assert await pool.fetchval("SELECT count(*) FROM items") == 0


async def test_a_work_order_number_filed_for_another_call_is_refused(client: Any, pool: Any) -> None:
    token = await signed_in(client, pool)
    first = await client.post("/console", data=call(token, text=LIFT, external_id="GD-1"))
    assert first.status_code == 201
    other = {**call(token, text="另一件事：路灯不亮。", external_id="GD-1"), "submission": "t" * 20}
    response = await client.post("/console", data=other)
    assert response.status_code == 422
    assert "这个工单号已经登记过另一通电话" in response.text
    assert await pool.fetchval("SELECT count(*) FROM items") == 1


async def test_similar_open_cases_are_shown_the_callers_own_first(
    client: Any, pool: Any, drain: Any, operator: dict[str, str]
) -> None:
    token = await signed_in(client, pool)
    nothing = await client.post("/console", data={**call(token, text=LIFT), "do": "find"})
    assert nothing.status_code == 200
    assert "没有相似的在办案件" in nothing.text
    assert LIFT in nothing.text  # the call being typed stays in the form
    for text, phone in ((LIFT, "13912345678"), ("龙跃苑二区3号楼的电梯停了两天了，没人修。", "13800000000")):
        await client.post(
            "/api/v1/items",
            json={"channel": "hotline", "text": text, "place": "龙跃苑二区", "contact_phone": phone},
            headers=operator,
        )
    await drain()
    found = await client.post(
        "/console",
        data={**call(token, text="电梯又坏了", place="龙跃苑二区", contact_phone="13912345678"), "do": "find"},
    )
    assert found.status_code == 200
    assert "可能是同一件事的在办案件" in found.text
    assert "本人" in found.text
    assert await pool.fetchval("SELECT count(*) FROM items") == 2  # looking files nothing
    # The case shown as the caller's own is a read of their report's contact, the other caller's is not.
    reads = await pool.fetch(
        "SELECT c.phone, r.purpose FROM contact_reads r JOIN contacts c USING (item_id) ORDER BY r.purpose"
    )
    assert [(r["phone"], r["purpose"]) for r in reads] == [
        ("13912345678", "caller_history"),
        ("13912345678", "case_suggestion"),
    ]
    no_words = await client.post("/console", data={**call(token, text=""), "do": "find"})
    assert no_words.status_code == 422


async def test_a_form_from_elsewhere_files_nothing(client: Any, pool: Any) -> None:
    token = await signed_in(client, pool)
    for data, headers in (
        ({**call(token, text=LIFT), "key": ""}, {}),
        (call(token, text=LIFT), {"sec-fetch-site": "cross-site"}),
    ):
        response = await client.post("/console", data=data, headers=headers)
        assert response.status_code == 403
        assert LIFT in response.text
    assert await pool.fetchval("SELECT count(*) FROM items") == 0


@pytest.mark.usefixtures("clean")
async def test_while_postgres_is_away_the_call_comes_back_as_typed(
    settings: Any, queue: Any, model: Any, gazetteer: Any
) -> None:
    async with without_postgres(settings, queue, model, gazetteer) as client:
        client.cookies.set("console_token", "sgt_anything", path="/console")
        response = await client.post("/console", data=call("sgt_anything", text=LIFT, contact_phone="13912345678"))
        assert response.status_code == 503
        assert response.headers["retry-after"].isdigit()
        assert "这通电话没有登记" in response.text
        assert LIFT in response.text
        assert 'value="13912345678"' in response.text


async def test_the_callers_earlier_items_are_shown_to_an_operator_and_each_read_recorded(
    client: Any, pool: Any, drain: Any, operator: dict[str, str]
) -> None:
    token = await signed_in(client, pool)
    body = {"channel": "hotline", "text": LIFT, "place": "龙跃苑二区", "contact_phone": "13912345678"}
    item_id = (await client.post("/api/v1/items", json=body, headers=operator)).json()["id"]
    await drain()
    # The number alone, as the caller gives it first: their items, before a word of the call is typed.
    found = await client.post("/console", data={**call(token, text="", contact_phone="139 1234 5678"), "do": "find"})
    assert found.status_code == 200
    assert "这位来电人以前的反映" in found.text
    assert "该号码有 1 件未办结" in found.text
    code = await pool.fetchval("SELECT tracking_code FROM items WHERE id = $1", item_id)
    assert code in found.text
    assert "可能是同一件事的在办案件" not in found.text  # no words to compare yet
    purposes = await pool.fetch("SELECT purpose FROM contact_reads WHERE item_id = $1", item_id)
    assert [r["purpose"] for r in purposes] == ["caller_history"]
    none = await client.post("/console", data={**call(token, text="", contact_phone="13800000000"), "do": "find"})
    assert "该号码没有未办结的诉求" in none.text

    grid = await signed_in(client, pool, "grid")
    seen = await client.post("/console", data={**call(grid, text=LIFT, contact_phone="13912345678"), "do": "find"})
    assert seen.status_code == 200
    assert "这位来电人以前的反映" not in seen.text  # a grid worker has no caller


async def test_enter_in_a_box_does_not_file_a_call_half_typed(client: Any, pool: Any) -> None:
    # Browsers submit a form when Enter is pressed in a one-line box, with its first submit button: 登记 would file
    # the call before the caller's name and number were typed, and bring back an empty form. A disabled first button
    # makes Enter do nothing; 登记 is pressed (Alt+S).
    await signed_in(client, pool)
    page = (await client.get("/console")).text
    form = page.split('<form method="post" action="/console"', 1)[1].split("</form>", 1)[0]
    first = re.search(r"<button[^>]*>", form)
    assert first is not None
    assert " disabled" in first.group(0)
    assert 'value="file"' not in first.group(0)
    assert 'value="file" accesskey="s"' in form
    assert 'value="find" accesskey="x"' in form


# Chromium and Chrome (on Linux and Windows) take Alt+F and Alt+E for their own menu, Alt+D for the address bar and
# Alt+1 to Alt+9 for the tabs, before the page sees them: an access key on one of them never fires.
BROWSERS_KEYS = set("def0123456789")


def access_keys(page: str) -> dict[str, str]:
    """Each access key of the page with the visible words of its element, e.g. {"x": "查相似案件 Alt+X"}."""
    keys = {}
    for element in re.finditer(
        r'<(a|button|input)\b[^>]*\baccesskey="([^"]*)"[^>]*>(.*?)</\1>|<input\b[^>]*\baccesskey="([^"]*)"', page
    ):
        key = element.group(2) or element.group(4)
        keys[key] = re.sub(r"<[^>]+>", "", element.group(3) or "").strip()
    return keys


async def test_every_access_key_of_the_console_fires_in_chromium_and_is_labelled_as_pressed(
    client: Any, pool: Any
) -> None:
    # Alt+F opened Chromium's own menu, and 查相似案件 was never pressed; Alt+1 (新来电) chose the first tab.
    token = await signed_in(client, pool)
    first = await client.post(
        "/console", data=call(token, text=LIFT, place="城北街道", contact_phone="13912345678", external_id="GD-9")
    )
    again = {**call(token, text=LIFT, place="霍营街道", contact_phone="13912345678", external_id="GD-9")}
    pages = [
        (await client.get("/console")).text,
        first.text,
        (await client.post("/console", data={**again, "submission": "t" * 20})).text,  # with 更正登记
    ]
    client.cookies.clear()
    await signed_in(client, pool, "grid")
    pages.append((await client.get("/console")).text)
    for page in pages:
        keys = access_keys(page)
        assert not BROWSERS_KEYS & set(keys), keys
        # Each shows its key, as it is pressed: one the operator cannot see is one they never learn.
        for key, words in keys.items():
            assert words.endswith(f" Alt+{key.upper()}"), words
    keys = access_keys(pages[2])
    assert {"s", "x", "q", "g", "n"} <= set(keys)
    assert keys["x"] == "查相似案件 Alt+X"
    assert keys["n"] == "新来电 Alt+N"
    assert access_keys(pages[3])["n"] == "新登记 Alt+N"


async def test_a_call_changed_after_it_was_filed_tells_the_code_it_was_filed_with(client: Any, pool: Any) -> None:
    # 登记 pressed, the answer slow to come, a word changed and 登记 pressed again: the browser shows the second
    # answer only. The operator still needs the first call's code to read out, and must not file it twice.
    token = await signed_in(client, pool)
    first = await client.post("/console", data=call(token, text=LIFT, contact_phone="13912345678"))
    code = shown_code(first.text)
    changed = await client.post("/console", data=call(token, text=LIFT + "很着急。", contact_phone="13912345678"))
    assert changed.status_code == 409
    assert code in changed.text
    assert LIFT + "很着急。" in changed.text  # the change is still there to see
    assert await pool.fetchval("SELECT count(*) FROM items") == 1


async def test_a_call_not_in_utf8_is_not_filed_garbled(client: Any, pool: Any) -> None:
    token = await signed_in(client, pool)
    fields = "&".join(f"{name}={value}" for name, value in call(token).items())
    body = fields.encode() + b"&text=" + quote_from_bytes("电梯坏了".encode("gbk")).encode()
    response = await client.post(
        "/console", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 400
    assert "编码" in response.text
    assert await pool.fetchval("SELECT count(*) FROM items") == 0


async def test_a_grid_worker_is_not_asked_about_a_caller(client: Any, pool: Any) -> None:
    # A grid worker files what they found on their round: there is no call and no caller on their side.
    token = await signed_in(client, pool, "grid")
    page = (await client.get("/console")).text
    filed = (await client.post("/console", data=call(token, text="网格员巡查发现，白浮村南侧林地有人挖土。"))).text
    for shown in (page, filed):
        assert "来电" not in shown
        assert "这通电话" not in shown
    assert "情况描述" in page
    assert "<h1>登记事项" in page
    assert "请把查询码告诉反映情况的群众" in filed
    operator = await signed_in(client, pool)
    assert "来电内容" in (await client.get("/console")).text
    assert operator


async def test_the_code_to_read_out_is_read_with_the_empty_text_box(client: Any, pool: Any) -> None:
    # The page opens in the text box for the next call: a screen reader reads the box, not the notice above it, so
    # the box is described by the notice that holds the code.
    token = await signed_in(client, pool)
    page = (await client.post("/console", data=call(token, text=LIFT))).text
    box = re.search(r'<textarea id="text"[^>]*>', page)
    assert box is not None
    assert 'aria-describedby="filed"' in box.group(0)
    notice = re.search(r'<p [^>]*id="filed"[^>]*>(.*?)</p>', page)
    assert notice is not None
    assert shown_code(page) in notice.group(1)


async def test_a_call_typed_once_the_sign_in_ended_is_kept_and_filed_on_signing_in_again(
    client: Any, pool: Any
) -> None:
    # The browser restarted (the sign-in ends with it) or the token was replaced: the call typed in the restored tab
    # is not lost on the way to the sign-in page; the token is asked for by the call, which 登记 then files.
    async with pool.acquire() as conn:
        token = await create_token(conn, role="operator")
    typed = {"text": LIFT, "contact_phone": "13912345678", "submission": "s" * 20, "do": "file", "key": "stale"}
    asked = await client.post("/console", data=typed)
    assert asked.status_code == 401
    assert LIFT in asked.text
    assert 'value="13912345678"' in asked.text
    assert re.search(r'<input type="password" id="token" name="token"[^>]*autofocus', asked.text)
    wrong = await client.post("/console", data={**typed, "token": "sgt_wrong"})
    assert wrong.status_code == 401
    assert LIFT in wrong.text
    elsewhere = await client.post("/console", data={**typed, "token": token}, headers={"sec-fetch-site": "cross-site"})
    assert elsewhere.status_code == 403
    assert await pool.fetchval("SELECT count(*) FROM items") == 0

    filed = await client.post("/console", data={**typed, "token": token})
    assert filed.status_code == 201
    assert shown_code(filed.text)
    assert token not in filed.text
    assert filed.cookies.get("console_token") == token
    assert f'name="key" value="{form_key(token)}"' in filed.text  # the next call's form is signed in
    assert (await client.get("/console")).status_code == 200
    assert await pool.fetchval("SELECT count(*) FROM items") == 1
    # Nothing typed: the sign-in page, as before.
    client.cookies.clear()
    assert (await client.post("/console", data={"text": " "})).status_code == 303


async def test_what_the_search_for_similar_cases_found_is_read_with_the_text_box(client: Any, pool: Any) -> None:
    # 查相似案件 brings the page back in the text box, the cases below the form: a screen reader hears how many were
    # found with the box, without leaving the call.
    token = await signed_in(client, pool)
    page = (await client.post("/console", data={**call(token, text=LIFT), "do": "find"})).text
    box = re.search(r'<textarea id="text"[^>]*>', page)
    assert box is not None
    assert 'aria-describedby="similar"' in box.group(0)
    said = re.search(r'<[^>]* id="similar"[^>]*>(.*?)</', page)
    assert said is not None
    assert "没有相似的在办案件" in said.group(1)


async def test_the_consoles_error_pages_are_the_consoles(client: Any) -> None:
    missing = await client.get("/console/nothing-here")
    assert missing.status_code == 404
    assert "昌平区综治中心 · 受理台" in missing.text
    assert "昌平区综治中心 · 工作台" not in missing.text
    assert 'href="/console"' in missing.text
    assert "工作台" not in missing.text


async def test_a_local_landline_typed_as_heard_is_filed_and_finds_the_callers_items(
    client: Any, pool: Any, operator: dict[str, str]
) -> None:
    token = await signed_in(client, pool)
    filed = await client.post("/console", data=call(token, text=LIFT, contact_phone="6971-2345"))
    assert filed.status_code == 201, filed.text
    assert await pool.fetchval("SELECT phone FROM contacts") == "010-69712345"
    found = await client.post("/console", data={**call(token, text="", contact_phone="010 69712345"), "do": "find"})
    assert found.status_code == 200
    assert "该号码有 1 件未办结" in found.text


@pytest.mark.parametrize(
    ("box", "error_id", "typed", "said"),
    [
        # The work-order number is shown to staff, exported and goes into look-ups: a phone there is never masked.
        ("external_id", "external-error", "13912345678", "工单号"),
        # Tab goes from the name box to the phone box: a number typed one box early would file a call the caller's
        # history never finds, with no number to call back on.
        ("contact_name", "name-error", "139 1234 5678", "称呼"),
    ],
)
async def test_a_callers_number_typed_into_another_box_is_refused_and_the_call_kept(
    client: Any, pool: Any, box: str, error_id: str, typed: str, said: str
) -> None:
    token = await signed_in(client, pool)
    response = await client.post("/console", data=call(token, text=LIFT, **{box: typed}))
    assert response.status_code == 422
    error = re.search(rf'<span class="error" id="{error_id}">([^<]*)</span>', response.text)
    assert error is not None, response.text
    assert said in error.group(1)
    assert "回访电话" in error.group(1)
    assert f'aria-invalid="true" aria-describedby="{error_id}"' in response.text
    assert f'value="{typed}"' in response.text  # the box keeps what was typed, to be moved
    assert LIFT in response.text
    assert await pool.fetchval("SELECT count(*) FROM items") == 0


async def test_a_phone_or_id_number_as_the_work_order_number_is_refused_by_the_api(
    client: Any, pool: Any, operator: dict[str, str]
) -> None:
    api = await client.post(
        "/api/v1/items",
        json={"channel": "hotline", "text": LIFT, "external_id": "110101199003071233"},
        headers=operator,
    )
    assert api.status_code == 422, api.text
    assert [e["field"] for e in api.json()["errors"]] == ["external_id"]
    assert "110101199003071233" not in api.text
    assert await pool.fetchval("SELECT count(*) FROM items") == 0


async def test_a_code_a_caller_reads_out_is_looked_up_and_the_call_kept_as_typed(
    client: Any, pool: Any, drain: Any, staff: dict[str, str]
) -> None:
    """A resident who wrote in without a phone rings about it with their tracking code: the operator reads them where
    it stands, which desk has it, without losing the call being typed."""
    written = await client.post("/api/v1/items", json={"channel": "web", "text": "龙跃苑二区3号楼电梯坏了，请尽快修。"})
    item = written.json()
    await drain()
    assigned = await client.post(f"/api/v1/items/{item['id']}/assign", json={"to": "区住建委"}, headers=staff)
    assert assigned.status_code == 200, assigned.text
    token = await signed_in(client, pool)
    page = (await client.get("/console")).text
    assert 'value="track" accesskey="q"' in page

    typed = item["tracking_code"].lower().replace("-", " ")
    found = await client.post("/console", data={**call(token, text=LIFT, code=typed), "do": "track"})
    assert found.status_code == 200, found.text
    result = found.text.split('id="tracking"', 1)[1]
    assert item["tracking_code"] in result
    assert "处理中" in result
    assert "区住建委" in result
    assert LIFT in found.text  # the call being typed is still there
    assert await pool.fetchval("SELECT count(*) FROM items") == 1  # looking files nothing

    unknown = await client.post("/console", data={**call(token, text=LIFT, code="ABCD-EFGH-JKMN"), "do": "track"})
    assert unknown.status_code == 404
    assert 'aria-invalid="true" aria-describedby="code-error"' in unknown.text
    assert "没有找到" in unknown.text
    assert LIFT in unknown.text
    empty = await client.post("/console", data={**call(token, text=LIFT), "do": "track"})
    assert empty.status_code == 422
    assert 'aria-describedby="code-error"' in empty.text

    # A code misheard (P for B, T for D) finds the one it can only be, said to be read back.
    await pool.execute("UPDATE items SET tracking_code = 'BDHK-HKHK-HKHK' WHERE id = $1", item["id"])
    heard = await client.post("/console", data={**call(token, text=LIFT, code="PTHK HKHK HKHK"), "do": "track"})
    assert heard.status_code == 200, heard.text
    assert "BDHK-HKHK-HKHK" in heard.text
    assert "读音相近" in heard.text

    # A grid worker asked on their round about a report looks it up too.
    grid = await signed_in(client, pool, "grid")
    seen = await client.post("/console", data={**call(grid, code="BDHK-HKHK-HKHK"), "do": "track"})
    assert seen.status_code == 200
    assert "区住建委" in seen.text


async def test_a_call_filed_with_a_wrong_place_and_phone_is_corrected_from_the_refusal(client: Any, pool: Any) -> None:
    token = await signed_in(client, pool)
    first = await client.post(
        "/console", data=call(token, text=LIFT, place="城北街道", contact_phone="13912345678", external_id="GD-7")
    )
    code = shown_code(first.text)
    corrected = {
        **call(token, text=LIFT, place="霍营街道", contact_phone="6971 2345", external_id="GD-7"),
        "submission": "t" * 20,
    }
    refused = await client.post("/console", data=corrected)
    assert refused.status_code == 422
    assert "地点、电话和登记的不同" in refused.text
    # The line atop the form says which button to press: 登记 again would be refused again.
    alert = refused.text.split('<p class="alert" role="alert">', 1)[1].split("</p>", 1)[0]
    assert "按“更正登记”（Alt+G）" in alert, alert
    assert "再按“登记”" not in alert
    assert 'value="amend"' in refused.text
    assert "霍营街道" in refused.text  # the call as typed stays

    amended = await client.post("/console", data={**corrected, "do": "amend"})
    assert amended.status_code == 200, amended.text
    assert "已更正登记：地点、电话" in amended.text
    assert shown_code(amended.text) == code
    row = await pool.fetchrow(
        "SELECT i.place, i.street, c.phone FROM items i JOIN contacts c ON c.item_id = i.id WHERE i.tracking_code = $1",
        code,
    )
    assert dict(row) == {"place": "霍营街道", "street": "霍营街道", "phone": "010-69712345"}

    # Another text under the work order is another call: nothing to correct, and no button offers it.
    other = {**corrected, "text": "另一件事：路灯不亮。", "submission": "u" * 20}
    assert 'value="amend"' not in (await client.post("/console", data=other)).text
    assert "不能更正" in (await client.post("/console", data={**other, "do": "amend"})).text


async def test_a_correction_of_a_call_whose_words_are_refused_names_the_box(client: Any, pool: Any) -> None:
    token = await signed_in(client, pool)
    await client.post("/console", data=call(token, text=LIFT, place="城北街道", external_id="GD-8"))
    emoji_only = await client.post("/console", data={**call(token, text="😀", external_id="GD-8"), "do": "amend"})
    assert emoji_only.status_code == 422
    assert 'id="text-error"' in emoji_only.text


async def test_a_caller_whose_reply_was_withdrawn_hears_so_from_the_operator(
    client: Any, pool: Any, drain: Any, staff: dict[str, str]
) -> None:
    """A resident read their reply, staff withdrew it, and the resident rings 12345 about the reply gone from their
    page: the operator's look-up says what the resident's page says, that it was withdrawn and is being handled
    again, rather than a bare 处理中."""
    written = await client.post("/api/v1/items", json={"channel": "web", "text": "龙跃苑二区3号楼电梯坏了，请尽快修。"})
    item = written.json()
    await drain()
    url = f"/api/v1/items/{item['id']}"
    assert (await client.post(f"{url}/close", json={"answer": "电梯已修好。"}, headers=staff)).status_code == 200
    assert (await client.post(f"{url}/reopen", json={"reason": "发错了件"}, headers=staff)).status_code == 200
    token = await signed_in(client, pool)
    found = await client.post("/console", data={**call(token, code=item["tracking_code"]), "do": "track"})
    assert found.status_code == 200, found.text
    result = found.text.split('id="tracking"', 1)[1]
    assert "之前的答复已撤回" in result
    assert "发错了件" not in result


async def test_the_buttons_wrapped_on_a_phone_stay_apart(client: Any, pool: Any) -> None:
    # A grid worker's phone is too narrow for the four buttons on one line: the second line touched the first, and a
    # thumb meant for 查进度 pressed 登记. The lines are kept apart, as the buttons on a line are.
    await signed_in(client, pool, "grid")
    page = (await client.get("/console")).text
    style = page.split("<style>", 1)[1].split("</style>", 1)[0]
    buttons = re.search(r"\.buttons \{([^}]*)\}", style)
    assert buttons is not None
    assert "flex-wrap: wrap" in buttons.group(1)
    gap = re.search(r"gap: ([.0-9]+)rem ", buttons.group(1))
    assert gap is not None
    assert float(gap.group(1)) >= 0.5
