"""The residents' pages: fill in the form, get a code, look the status up."""

from __future__ import annotations

import re
from typing import Any

import httpx
import msgspec
import pytest

from suggestions.app import create_app
from suggestions.settings import Settings


def unspanned(page: str) -> str:
    """The page with the tracking code's groups joined again (each group is a span that keeps it on one line)."""
    return re.sub(r'class="code">(.*?)</p>', lambda m: 'class="code">' + re.sub(r"<[^>]+>", "", m.group(1)) + "<", page)


def shown_code(page: str) -> re.Match[str] | None:
    return re.search(r'class="code">([A-Z0-9-]+)<', unspanned(page))


def form(**fields: str) -> dict[str, str]:
    return {"text": "", "place": "", "kind": "", "contact_name": "", "contact_phone": "", **fields}


async def test_form_gives_a_tracking_code_that_finds_the_status(client: Any, pool: Any) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert 'name="text"' in page.text
    assert "默认匿名" in page.text

    response = await client.post(
        "/submit",
        data={
            "text": "小区里的健身器材坏了好几件，孩子玩的时候容易受伤。",
            "place": "霍营街道",
            "kind": "",
            "contact_name": "",
            "contact_phone": "",
        },
    )
    assert response.status_code == 201
    code = shown_code(response.text)
    assert code is not None
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 0  # anonymous by default

    status = await client.get("/track", params={"code": code.group(1).lower()})
    assert status.status_code == 200
    assert "已受理" in status.text


async def test_form_errors_are_shown_in_chinese_and_keep_what_was_typed(client: Any, pool: Any) -> None:
    response = await client.post(
        "/submit", data={"text": "路灯不亮", "place": "", "kind": "", "contact_name": "", "contact_phone": "123"}
    )
    assert response.status_code == 422
    assert "电话号码格式不对" in response.text
    assert "路灯不亮" in response.text
    assert await pool.fetchval("SELECT count(*) FROM items") == 0

    empty = await client.post(
        "/submit", data={"text": "  ", "place": "", "kind": "", "contact_name": "", "contact_phone": ""}
    )
    assert empty.status_code == 422
    assert "请写下发生了什么" in empty.text


async def test_form_output_is_escaped(client: Any) -> None:
    response = await client.post(
        "/submit",
        data={"text": "<script>alert(1)</script>", "place": "", "kind": "", "contact_name": "", "contact_phone": "x"},
    )
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;" in response.text


async def test_an_unknown_code_says_so(client: Any) -> None:
    response = await client.get("/track", params={"code": "AAAA-BBBB-CCCC"})
    assert response.status_code == 404
    assert "没有找到" in response.text


async def test_a_form_not_in_utf8_is_refused_rather_than_stored_garbled(client: Any, pool: Any) -> None:
    """An old phone browser or a page saved in GBK: the words would be stored as mojibake, so the form comes back."""
    form = {"content-type": "application/x-www-form-urlencoded"}
    bodies = [
        "text=垃圾桶满了三天没人管&place=&kind=&contact_name=&contact_phone=".encode("gbk"),
        b"text=%C0%AC%BB%F8%CD%B0%C2%FA%C1%CB&place=&kind=&contact_name=&contact_phone=",  # GBK, percent-encoded
    ]
    for body in bodies:
        response = await client.post("/submit", content=body, headers=form)
        assert response.status_code == 400
        assert "页面编码有误" in response.text
    assert await pool.fetchval("SELECT count(*) FROM items") == 0
    # The rating form's comment too: nothing is rated with a garbled comment.
    fields = {"text": "路灯不亮", "place": "", "kind": "", "contact_name": "", "contact_phone": ""}
    created = await client.post("/submit", data=fields)
    code = shown_code(created.text)
    assert code is not None
    rating = f"code={code.group(1)}&rating=dissatisfied&comment=没人来修&confirm=".encode("gbk")
    response = await client.post("/track/rate", content=rating, headers=form)
    assert response.status_code == 400
    assert "页面编码有误" in response.text
    assert await pool.fetchval("SELECT count(*) FROM ratings") == 0


async def test_a_second_tap_on_submit_files_the_message_once(client: Any, pool: Any) -> None:
    """A resident taps 提交 twice, or a slow network sends the form again: one item, and the same code both times."""
    page = await client.get("/")
    token = re.search(r'name="submission" value="([^"]+)"', page.text)
    assert token is not None
    fields = {
        "text": "楼道里的灯坏了一个多月，晚上老人上下楼看不见。",
        "place": "",
        "kind": "",
        "contact_name": "",
        "contact_phone": "13800138000",
        "submission": token.group(1),
    }
    first = await client.post("/submit", data=fields)
    again = await client.post("/submit", data=fields)

    assert (first.status_code, again.status_code) == (201, 200)
    codes = [re.findall(r'class="code">([A-Z0-9-]+)<', unspanned(r.text)) for r in (first, again)]
    assert len(codes[0]) == 1
    assert codes[0] == codes[1]
    assert await pool.fetchval("SELECT count(*) FROM items") == 1
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 1

    # Back to the page, the words changed: a message of its own, itself safe from a second tap. A form from a page
    # without a token is taken too.
    changed = fields | {"text": "楼道里的灯坏了，还有楼梯扶手松了。"}
    taps = [await client.post("/submit", data=changed) for _ in range(2)]
    untokened = await client.post("/submit", data=fields | {"text": "楼道的灯还是没人修。", "submission": ""})
    assert [r.status_code for r in [*taps, untokened]] == [201, 200, 201]
    assert await pool.fetchval("SELECT count(*) FROM items") == 3
    assert await pool.fetchval("SELECT count(*) FROM idempotency_keys WHERE scope = 'web:form'") == 2


async def test_going_back_and_sending_the_same_words_again_files_them_once(
    client: Any, pool: Any, settings: Settings, queue: Any, model: Any, gazetteer: Any
) -> None:
    """The code page came slowly, or the resident went back to make sure: the phone's back key fetches the form
    anew (the page is not kept), with a new token, and the browser puts the typed words back. A second 提交 files
    nothing new and says so."""
    fields = form(text="楼道里的灯坏了一个多月，晚上老人上下楼看不见。", place="回龙观街道")
    codes: list[tuple[int, str]] = []
    for _ in range(2):
        page = await client.get("/")
        token = re.search(r'name="submission" value="([^"]+)"', page.text)
        assert token is not None
        sent = await client.post("/submit", data=fields | {"submission": token.group(1)})
        shown = shown_code(sent.text)
        assert shown is not None
        codes.append((sent.status_code, shown.group(1)))
    assert codes[0][0] == 201
    assert codes[1] == (200, codes[0][1])
    assert "没有重复登记" in sent.text
    assert await pool.fetchval("SELECT count(*) FROM items") == 1
    # The same words from another resident (another address) are their own message.
    app = create_app(settings, pool=pool, queue=queue, model=model, gazetteer=gazetteer)
    neighbour = httpx.ASGITransport(app=app, client=("192.0.2.7", 50000))
    async with httpx.AsyncClient(transport=neighbour, base_url="http://testserver") as other:
        assert (await other.post("/submit", data=fields)).status_code == 201
    assert await pool.fetchval("SELECT count(*) FROM items") == 2


async def test_a_form_shown_again_with_its_errors_keeps_its_token(client: Any) -> None:
    page = await client.get("/")
    token = re.search(r'name="submission" value="([^"]+)"', page.text)
    assert token is not None
    fields = {"text": "路灯不亮", "place": "", "kind": "", "contact_name": "", "contact_phone": "123"}
    shown_again = await client.post("/submit", data=fields | {"submission": token.group(1)})
    assert shown_again.status_code == 422
    assert f'name="submission" value="{token.group(1)}"' in shown_again.text
    other = await client.get("/")
    assert token.group(1) not in other.text  # each page its own


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/"), ("GET", "/track"), ("GET", "/track?code=AAAA-BBBB-CCCC"), ("GET", "/no-such-page"), ("HEAD", "/")],
)
async def test_resident_pages_run_nothing_from_elsewhere_and_cannot_be_framed(
    client: Any, method: str, path: str
) -> None:
    """Every response, the router's own 404 and 405 included."""
    response = await client.request(method, path)
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "form-action 'self'" in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"  # a reply, or a form's token, is nobody else's


async def test_the_api_documentation_keeps_its_own_policy(client: Any) -> None:
    response = await client.get("/api/docs/swagger")
    assert response.status_code == 200
    assert "content-security-policy" not in response.headers  # its viewer loads from elsewhere
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_text_the_page_allows_is_accepted_and_stored_without_carriage_returns(client: Any, pool: Any) -> None:
    """A textarea counts a line break as one character against maxlength, and the browser sends it as two."""
    typed = ("楼道灯坏了" * 19 + "没人来修\n") * 50
    assert len(typed) == 5000
    response = await client.post("/submit", data=form(text=typed.replace("\n", "\r\n")))
    assert response.status_code == 201, re.findall(r'class="error"[^>]*>([^<]*)', response.text)
    assert "\r" not in await pool.fetchval("SELECT text FROM items")


async def test_every_problem_on_the_form_is_shown_at_once(client: Any) -> None:
    response = await client.post("/submit", data=form(text="", contact_phone="1381234", kind="other"))
    assert response.status_code == 422
    assert "请写下发生了什么" in response.text
    assert "电话号码格式不对" in response.text
    assert "请选择类型" in response.text
    assert response.text.count("autofocus") == 1  # the first field in error


async def test_a_code_typed_in_full_width_is_found(client: Any) -> None:
    """A Chinese input method in its 全角 mode types ＡＢＣＤ－２３４５."""
    created = await client.post("/submit", data=form(text="楼下噪音很大"))
    code = shown_code(created.text)
    assert code is not None
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in code.group(1))
    assert (await client.get("/track", params={"code": full_width})).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "cross-site", "origin": "https://elsewhere.example"},
        {"origin": "https://elsewhere.example"},  # an older browser, or plain http: Origin alone
        {"origin": "null"},  # a page that hid where it was (rel=noreferrer)
    ],
)
async def test_a_form_posted_from_another_site_is_refused(client: Any, pool: Any, headers: dict[str, str]) -> None:
    """Any page could make its visitors' browsers file messages, each past the per-address limit, or rate replies."""
    created = await client.post("/submit", data=form(text="楼下噪音很大"))
    code = shown_code(created.text)
    assert code is not None

    response = await client.post("/submit", data=form(text="垃圾站太臭了"), headers=headers)
    assert response.status_code == 403
    assert "请在本网站的页面上填写提交" in response.text
    assert await pool.fetchval("SELECT count(*) FROM items") == 1

    rating = await client.post("/track/rate", data={"code": code.group(1), "rating": "satisfied"}, headers=headers)
    assert rating.status_code == 403
    assert "请在本网站的页面上填写提交" in rating.text


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "same-origin", "origin": "http://testserver"},
        {"sec-fetch-site": "none"},  # typed or bookmarked
        {"origin": "http://testserver"},
        {"origin": "http://testserver:80"},
        {"origin": "https://12345.example.gov.cn", "x-forwarded-host": "12345.example.gov.cn:443"},  # behind a proxy
        {},  # a client that says nothing
    ],
)
async def test_a_form_posted_from_the_service_own_page_is_taken(
    client: Any, pool: Any, headers: dict[str, str]
) -> None:
    response = await client.post("/submit", data=form(text="垃圾站太臭了"), headers=headers)
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/submit", b"text=" + b"a" * 70_000, 413),
        ("POST", "/submit", "text=路灯不亮&text=路灯不亮".encode(), 422),
        ("POST", "/track/rate", b"code=AAAA-BBBB-CCCC&code=AAAA-BBBB-CCCC&rating=satisfied", 422),
        ("GET", "/track?code=AAAA-BBBB-CCCC&code=AAAA-BBBB-CCCC", b"", 422),
        ("GET", "/no-such-page", b"", 404),
    ],
)
async def test_bad_input_on_resident_pages_gets_a_chinese_page(
    client: Any, method: str, path: str, body: bytes, status: int
) -> None:
    headers = {"content-type": "application/x-www-form-urlencoded"} if body else {}
    response = await client.request(method, path, content=body or None, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html"), (response.status_code, response.text)
    assert re.search(r"[\u4e00-\u9fff]", response.text)
    assert 'lang="zh-CN"' in response.text


async def test_the_look_up_keeps_what_was_typed_out_of_the_address(client: Any) -> None:
    """What is typed in the look-up box may be a phone number typed in the wrong box: it is posted, never put in a
    URL, a browser's history or a proxy's log. Links with ?code= still work."""
    created = await client.post("/submit", data=form(text="楼下噪音很大"))
    code = shown_code(created.text)
    assert code is not None
    assert "?code=" not in created.text
    assert 'action="/track#result"' in created.text  # the button to the status posts the code

    page = (await client.get("/track")).text
    assert '<form method="post" action="/track#result">' in page
    found = await client.post("/track", data={"code": code.group(1).lower()})
    assert found.status_code == 200
    assert "已受理" in found.text
    mistaken = await client.post("/track", data={"code": "13812345678"})
    assert mistaken.status_code == 404
    assert "这不是查询码" in mistaken.text
    # 查询 tapped with nothing in the box: the same page again would look as if the button did nothing.
    empty = await client.post("/track", data={"code": " "})
    assert (empty.status_code, 'role="alert"' in empty.text) == (422, False)
    error = re.search(r'<p class="error" id="code-error">([^<]*)</p>', empty.text)
    assert error is not None
    assert "请填写查询码" in error.group(1)
    assert re.search(r'<input[^>]*id="code"[^>]*autofocus', empty.text)


async def test_a_405_on_a_resident_page_still_says_which_methods_are_allowed(client: Any) -> None:
    page = await client.request("DELETE", "/track")
    assert page.status_code == 405
    assert page.headers["content-type"].startswith("text/html")
    assert "GET" in page.headers["allow"]


async def test_another_site_cannot_file_through_the_api_with_a_text_plain_form(client: Any, pool: Any) -> None:
    """A form of type text/plain carries a JSON body and needs no preflight; the API takes a body of any type."""
    body = '{"channel":"web","text":"垃圾站太臭了，夏天尤其严重。","place":"' + "=" + '"}'
    elsewhere = {"content-type": "text/plain", "sec-fetch-site": "cross-site", "origin": "https://elsewhere.example"}
    response = await client.post("/api/v1/items", content=body.encode(), headers=elsewhere)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert await pool.fetchval("SELECT count(*) FROM items") == 0
    rating = await client.post("/api/v1/track/AAAA-BBBB-CCCC/rating", json={"rating": "satisfied"}, headers=elsewhere)
    assert rating.status_code == 403
    # A partner's server says nothing of where it is: taken.
    assert (await client.post("/api/v1/items", content=body.encode())).status_code == 201


async def test_the_tracking_code_breaks_only_between_its_groups_and_is_selected_whole(client: Any) -> None:
    """On a narrow phone or at a large font, a code broken inside a group is copied wrong (DTEE-NYCS-M7Q, then a
    lone 7 on the next line)."""
    page = (await client.post("/submit", data=form(text="楼下噪音很大"))).text
    paragraph = re.search(r'<p class="code">(.*?)</p>', page)
    assert paragraph is not None
    groups = re.findall(r"<span>([A-Z0-9]{4}-?)</span>", paragraph.group(1))
    assert len(groups) == 3, paragraph.group(1)
    assert "break-all" not in page
    assert re.search(r"\.code span \{[^}]*white-space: nowrap", page)
    assert re.search(r"\.code \{[^}]*user-select: all", page)


async def test_text_follows_the_residents_own_font_size_and_hints_are_not_small(client: Any) -> None:
    page = (await client.get("/")).text
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    assert style is not None
    # Sizes relative to the browser's font (rem, em), never fixed in px: a resident who enlarged it gets larger text.
    assert not re.search(r"font(-size)?:[^;]*\d+px", style.group(1)), style.group(1)
    assert not re.search(r"\.hint \{[^}]*font-size: \.\d+rem", style.group(1))


async def replied_on_its_page(client: Any, drain: Any, staff: dict[str, str]) -> tuple[dict[str, Any], str, str]:
    """A resident's item, closed with a reply: the item, its tracking page and the page's `closed_at`."""
    created = await client.post("/api/v1/items", json={"channel": "web", "text": "楼道灯坏了一个月了"})
    item: dict[str, Any] = created.json()
    await drain()
    closing = {"answer": "已更换灯泡。"}
    assert (await client.post(f"/api/v1/items/{item['id']}/close", json=closing, headers=staff)).status_code == 200
    page = (await client.post("/track", data={"code": item["tracking_code"]})).text
    closed_at = re.search(r'name="closed_at" value="([^"]+)"', page)
    assert closed_at is not None
    return item, page, closed_at.group(1)


async def test_sending_a_reply_back_lands_on_the_question_and_its_cancel_is_a_button_apart(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    item, page, closed_at = await replied_on_its_page(client, drain, staff)
    # The answer to 不满意 is a long page whose question sits below the fold: the browser goes to it.
    assert 'action="/track/rate#said"' in page
    asked = await client.post(
        "/track/rate", data={"code": item["tracking_code"], "closed_at": closed_at, "rating": "dissatisfied"}
    )
    assert 'id="said"' in asked.text
    assert 'class="secondary">不退回，返回</button>' in asked.text
    rated = await client.post(
        "/track/rate", data={"code": item["tracking_code"], "closed_at": closed_at, "rating": "satisfied"}
    )
    assert rated.status_code == 303
    assert rated.headers["location"].endswith("#notice")


async def test_the_submitted_pages_address_reopened_says_where_to_go(client: Any) -> None:
    """/submit is the address of the page with the code: reopened from a saved link it is a GET, which is no wrong
    submission."""
    page = await client.get("/submit")
    assert page.status_code == 405
    assert "这个页面已失效" in page.text
    assert "凭查询码" in page.text


async def test_a_code_not_found_puts_the_resident_back_in_the_box(client: Any) -> None:
    page = await client.post("/track", data={"code": "AAAA-BBBB-CCCC"})
    assert page.status_code == 404
    assert re.search(r'<input[^>]*id="code"[^>]*autofocus', page.text)


async def test_an_empty_message_is_asked_for_without_a_length_limit(client: Any) -> None:
    page = await client.post("/submit", data=form(text=" "))
    assert page.status_code == 422
    assert "请写下发生了什么" in page.text
    assert "不超过" not in page.text
    pasted = await client.post("/submit", data=form(text="楼道灯坏了\x00"))
    assert pasted.status_code == 422
    assert "无法识别的字符" in pasted.text


async def test_a_code_pasted_with_the_words_around_it_is_found(client: Any) -> None:
    """A resident copies the code out of a chat message: 查询码：ABCD-EFGH-JKMN，请帮忙查一下."""
    created = await client.post("/submit", data=form(text="楼下噪音很大"))
    code = shown_code(created.text)
    assert code is not None
    pasted = f"【昌平区综治中心】您反映的问题已收到，查询码：{code.group(1)}，凭查询码可以随时查看办理进度。"
    page = (await client.get("/track")).text
    box = re.search(r'<input[^>]*id="code"[^>]*>', page)
    assert box is not None
    maxlength = re.search(r'maxlength="(\d+)"', box.group(0))
    assert maxlength is None or int(maxlength.group(1)) >= len(pasted)  # the browser does not cut the paste short
    found = await client.post("/track", data={"code": pasted})
    assert found.status_code == 200
    assert "已受理" in found.text


async def test_the_form_says_what_is_kept_and_for_how_long(
    settings: Settings, pool: Any, queue: Any, model: Any, gazetteer: Any
) -> None:
    """Before leaving a name and a phone, a resident reads who keeps them, what for, and until when."""
    kept_half_a_year = msgspec.structs.replace(settings, retention_days=180)
    app = create_app(kept_half_a_year, pool=pool, queue=queue, model=model, gazetteer=gazetteer)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        page = (await client.get("/")).text
    notice = re.search(r'<p class="hint" id="privacy">(.*?)</p>', page, re.S)
    assert notice is not None, page
    assert "只用于办理和答复" in notice.group(1)
    assert "办结 180 天后" in notice.group(1)
    assert "删除" in notice.group(1)
    # Read with the fields it is about, by a screen reader too.
    for field in ("contact_name", "contact_phone"):
        box = re.search(rf'<input[^>]*id="{field}"[^>]*>', page)
        assert box is not None
        assert 'aria-describedby="privacy"' in box.group(0)


async def test_a_phone_typed_into_the_name_box_is_sent_back_to_the_phone_box(client: Any, pool: Any) -> None:
    """A number in the name box would be kept whole where names are shown as names: the resident is told where it
    goes, and nothing is stored."""
    page = await client.post("/submit", data=form(text="楼道灯坏了", contact_name="王 13912345678"))
    assert page.status_code == 422
    errors = re.findall(r'class="error"[^>]*>([^<]*)', page.text)
    assert len(errors) == 1
    assert "电话" in errors[0]
    assert re.search(r'<input[^>]*id="contact_name"[^>]*autofocus', page.text)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM contacts") == 0


@pytest.mark.parametrize(("field", "box"), [("place", "place"), ("contact_name", "contact_name")])
async def test_an_invisible_character_pasted_into_a_short_field_is_named_as_such(
    client: Any, field: str, box: str
) -> None:
    """A NUL pasted in with a place or a name is no length problem: the message says what to do, and the resident is
    taken to the field."""
    page = await client.post("/submit", data=form(text="楼道灯坏了", **{field: "回龙观\x00街道"}))
    assert page.status_code == 422
    errors = re.findall(r'class="error"[^>]*>([^<]*)', page.text)
    assert len(errors) == 1
    assert "无法识别的字符" in errors[0]
    assert "不超过" not in errors[0]
    assert re.search(rf'<input[^>]*id="{box}"[^>]*autofocus', page.text)
    assert page.text.count("autofocus") == 1
    # Shown back as the browser would show it, in a page that holds no NUL (invalid HTML).
    assert "\x00" not in page.text
    assert 'value="回龙观\ufffd街道"' in page.text


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("13812345678", "查询码由 12 个字母和数字组成"),  # a phone number in the wrong box
        ("ABCD-EFGH", "查询码由 12 个字母和数字组成"),  # a group left out
        ("ABCD-EFGH-JKM0", "没有 0、1、O、I、L"),  # a D read as a 0
        ("abcd-efgh-ikmn", "没有 0、1、O、I、L"),
        ("ABCD-EFGH-JKMN", "没有找到这个查询码"),  # a code, of no item
        # A code an operator read out over the phone, written down as heard: the operator's look-up finds it.
        ("ABCD-EFGH-JKMN", "拨打 12345"),
    ],
)
async def test_a_code_that_cannot_be_found_is_told_how_to_fix_it(client: Any, typed: str, says: str) -> None:
    page = await client.post("/track", data={"code": typed})
    assert page.status_code == 404
    error = re.search(r'<p class="error" id="code-error">([^<]*)</p>', page.text)
    assert error is not None
    assert says in error.group(1)


async def test_text_grows_with_the_phones_own_text_size_on_an_iphone(client: Any) -> None:
    """Safari and WeChat on an iPhone leave a page's rem at 16px whatever text size the resident chose in Settings,
    unless the page's root font is the system's body text (Dynamic Type); every size here is in rem or em."""
    page = (await client.get("/")).text
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    assert style is not None
    rule = re.search(r"@supports ([^{]*)\{\s*html \{ font: -apple-system-body; \}", style.group(1))
    assert rule is not None
    assert "(font: -apple-system-body)" in rule.group(1)
    # Only on a phone: Safari on a Mac gives the system's body text as 13px, smaller than the page's own.
    assert "(-webkit-touch-callout: none)" in rule.group(1)


async def test_a_message_that_starts_on_a_new_line_comes_back_whole(client: Any, pool: Any) -> None:
    """HTML drops the newline right after <textarea>: the page writes one of its own there, so a message that starts
    with a blank line (as some input methods leave one) is shown back as typed."""
    typed = "\n楼道灯坏了，晚上很黑。"
    page = await client.post("/submit", data=form(text=typed, contact_phone="1"))
    assert page.status_code == 422
    assert f">\n{typed}</textarea>" in page.text
    assert await pool.fetchval("SELECT count(*) FROM items") == 0


async def test_a_message_too_long_says_by_how_much(client: Any, pool: Any) -> None:
    """On many Android phones a Chinese input method writes past the box's maxlength: the resident is told how long
    the message is and how much to cut, and keeps every word to cut from."""
    typed = "楼道灯坏了，" * 850
    page = await client.post("/submit", data=form(text=typed))
    assert page.status_code == 422
    error = re.search(r'<p class="error" id="text-error">([^<]*)</p>', page.text)
    assert error is not None
    assert "太长" in error.group(1)
    assert "5100" in error.group(1)
    assert "100" in error.group(1).replace("5100", "")
    assert f">\n{typed}</textarea>" in page.text
    assert await pool.fetchval("SELECT count(*) FROM items") == 0


async def test_a_comment_too_long_is_told_by_the_box_and_kept(client: Any, drain: Any, staff: dict[str, str]) -> None:
    item, _, closed_at = await replied_on_its_page(client, drain, staff)
    comment = "灯换了但是开关还是坏的，" * 45
    rated = await client.post(
        "/track/rate",
        data={"code": item["tracking_code"], "closed_at": closed_at, "rating": "satisfied", "comment": comment},
    )
    assert rated.status_code == 422
    error = re.search(r'<p class="error" id="comment-error">([^<]*)</p>', rated.text)
    assert error is not None, rated.text
    assert "太长" in error.group(1)
    assert str(len(comment)) in error.group(1)
    assert "请选择" not in error.group(1)  # the resident did choose
    box = re.search(r'<textarea id="comment"[^>]*>\n([^<]*)</textarea>', rated.text)
    assert box is not None
    assert box.group(1) == comment
    assert 'aria-describedby="comment-error"' in box.group(0)
    # Sending the reply back, confirmed: the same question comes back, the words with it, and nothing is sent back.
    back = await client.post(
        "/track/rate",
        data={
            "code": item["tracking_code"],
            "closed_at": closed_at,
            "rating": "dissatisfied",
            "confirm": "yes",
            "comment": comment,
        },
    )
    assert back.status_code == 422
    assert 'id="said"' in back.text
    assert 'id="comment-error"' in back.text
    assert "已办结" in back.text


async def test_a_kind_tapped_by_mistake_can_be_taken_back(client: Any, pool: Any) -> None:
    """Radio buttons cannot be cleared once one is tapped (and the page runs no script): the optional choice has an
    answer of its own for "none of these", chosen until the resident picks another."""
    page = (await client.get("/")).text
    none = re.search(r'<input type="radio" name="kind" value=""[^>]*>', page)
    assert none is not None
    assert "checked" in none.group(0)
    assert page.count("checked") == 1
    sent = await client.post("/submit", data=form(text="楼道灯坏了", kind=""))
    assert sent.status_code == 201
    assert await pool.fetchval("SELECT kind FROM items") is None


async def test_interim_replies_are_read_as_a_list_by_a_screen_reader(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    """Safari drops the list semantics of a list drawn without bullets, so VoiceOver would not say how many interim
    replies there are, nor where each begins, unless the list says it is one."""
    created = (await client.post("/api/v1/items", json={"channel": "web", "text": "楼道灯坏了一个月了"})).json()
    await drain()
    for text in ("已派单至物业。", "物业已约师傅明天上门。"):
        note = {"text": text, "audience": "resident"}
        assert (await client.post(f"/api/v1/items/{created['id']}/notes", json=note, headers=staff)).status_code == 201
    page = (await client.post("/track", data={"code": created["tracking_code"]})).text
    replies = re.search(r'<ul class="progress"[^>]*>', page)
    assert replies is not None
    assert 'role="list"' in replies.group(0)
    assert page.count("<li>") == 2


@pytest.mark.parametrize(
    "phone",
    [
        "1380013800",  # a digit short
        "697123",  # a landline too short, even without its area code
        "13800138000，010-69712345",  # two numbers
        "电话13800138000",
    ],
)
async def test_a_phone_refused_says_what_a_phone_looks_like(client: Any, phone: str) -> None:
    page = await client.post("/submit", data=form(text="楼道灯坏了", contact_phone=phone))
    assert page.status_code == 422
    error = re.search(r'<p class="error" id="phone-error">([^<]*)</p>', page.text)
    assert error is not None
    for guidance in ("只填一个号码", "11 位", "7 到 8 位", "带区号", "010-"):
        assert guidance in error.group(1), error.group(1)


async def test_a_residents_landline_without_its_area_code_is_kept_as_the_districts(client: Any, pool: Any) -> None:
    page = await client.post("/submit", data=form(text="楼道灯坏了", contact_phone="6971 2345"))
    assert page.status_code == 201, page.text
    assert await pool.fetchval("SELECT phone FROM contacts") == "010-69712345"


async def test_a_form_not_sent_says_so_in_its_title(client: Any) -> None:
    """A screen reader reads a page's title first: a form shown again reads as not sent before its first field."""
    fresh = (await client.get("/")).text
    refused = (await client.post("/submit", data=form(text="楼道灯坏了", contact_phone="123"))).text
    title = re.compile(r"<title>([^<]*)</title>")
    fresh_title, refused_title = title.search(fresh), title.search(refused)
    assert fresh_title is not None
    assert refused_title is not None
    assert "未提交" not in fresh_title.group(1)
    assert refused_title.group(1).startswith("未提交")


async def test_a_reply_too_old_to_rate_says_so_and_what_to_do(
    client: Any, pool: Any, drain: Any, staff: dict[str, str]
) -> None:
    """Past the rating window the buttons are gone: the page says why, and where to turn if the problem is back."""
    created = (await client.post("/api/v1/items", json={"channel": "web", "text": "楼道灯坏了一个月了"})).json()
    await drain()
    closing = {"answer": "已更换灯泡。"}
    assert (await client.post(f"/api/v1/items/{created['id']}/close", json=closing, headers=staff)).status_code == 200
    await pool.execute("UPDATE items SET closed_at = now() - interval '31 days' WHERE id = $1", created["id"])
    page = (await client.post("/track", data={"code": created["tracking_code"]})).text
    assert 'name="rating"' not in page
    assert "30 天" in page
    assert "12345" in page


async def test_the_place_box_does_not_offer_the_residents_home_address(client: Any) -> None:
    """The form is anonymous unless the resident leaves a contact: the place is where the problem is, and a browser
    that filled in the resident's saved home address (unit and door number) would sign the report for them."""
    page = (await client.get("/")).text
    place = re.search(r'<input[^>]*id="place"[^>]*>', page)
    assert place is not None
    assert 'autocomplete="off"' in place.group(0)
    assert "street-address" not in page


async def test_a_look_up_lands_on_what_it_found_not_on_the_box_typed_in(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    """On a phone with large text the box, its hint and 查询 fill the screen: a page that opened at its top after 查询
    would look as if nothing happened. Every look-up goes to the result, and a code not found stays by its box."""
    item, page, _ = await replied_on_its_page(client, drain, staff)
    result = re.search(r'<div class="box" id="result"[^>]*>', page)
    assert result is not None
    looked_up = re.findall(r'<form method="post" action="(/track[^"]*)"', page)
    assert looked_up.count("/track#result") == 1  # the look-up form
    submitted = (await client.post("/submit", data=form(text="楼道灯又坏了"))).text
    assert 'action="/track#result"' in submitted  # 查看办理进度
    asked = await client.post(
        "/track/rate", data={"code": item["tracking_code"], "closed_at": "", "rating": "dissatisfied"}
    )
    assert re.search(r'<form method="post" action="/track#result">.*不退回，返回', asked.text)
    missing = await client.post("/track", data={"code": "ABCD-EFGH-JKMN"})
    assert 'id="result"' not in missing.text
    assert 'id="code-error"' in missing.text


@pytest.mark.parametrize("path", ["/", "/track"])
async def test_the_emergency_numbers_are_called_with_one_tap(client: Any, path: str) -> None:
    """On a phone, an elderly resident in an emergency should not have to copy 110 into the dialler."""
    page = (await client.get(path)).text
    for number in ("110", "119", "120"):
        assert f'<a href="tel:{number}">{number}</a>' in page


async def test_a_rating_refused_lands_on_why(client: Any, drain: Any, staff: dict[str, str]) -> None:
    item, page, closed_at = await replied_on_its_page(client, drain, staff)
    assert re.findall(r'<form method="post" action="(/track/rate[^"]*)"', page) == ["/track/rate#said"]
    # Answered again while the resident's page was open: the page says so, where the browser goes.
    await client.post(f"/api/v1/items/{item['id']}/reopen", json={"reason": "答复不完整"}, headers=staff)
    await client.post(f"/api/v1/items/{item['id']}/close", json={"answer": "已更换灯泡，并检修了线路。"}, headers=staff)
    rated = await client.post(
        "/track/rate", data={"code": item["tracking_code"], "closed_at": closed_at, "rating": "satisfied"}
    )
    assert rated.status_code == 409
    said = re.search(r'<p [^>]*id="said"[^>]*>([^<]*)</p>', rated.text)
    assert said is not None
    assert "新的答复" in said.group(1)
    asked = await client.post(
        "/track/rate", data={"code": item["tracking_code"], "closed_at": "", "rating": "dissatisfied"}
    )
    assert re.search(r'<p [^>]*id="said"[^>]*>选“不满意”', asked.text)
    assert re.findall(r'<form method="post" action="(/track/rate[^"]*)"', asked.text) == ["/track/rate#said"]


async def test_a_second_tap_on_sending_back_lands_on_the_news_that_it_was_sent_back(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    item, _, closed_at = await replied_on_its_page(client, drain, staff)
    back = {"code": item["tracking_code"], "closed_at": closed_at, "rating": "dissatisfied", "confirm": "yes"}
    assert (await client.post("/track/rate", data=back)).status_code == 303
    again = await client.post("/track/rate", data=back)
    assert again.status_code == 200
    said = re.search(r'id="said"[^>]*>(.*?)</', again.text, re.S)
    assert said is not None
    assert "退回重新办理" in said.group(1)
