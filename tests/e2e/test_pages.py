"""The residents' pages: fill in the form, get a code, look the status up."""

from __future__ import annotations

import re
from typing import Any


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
    code = re.search(r'class="code">([A-Z0-9-]+)<', response.text)
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
    code = re.search(r'class="code">([A-Z0-9-]+)<', created.text)
    assert code is not None
    rating = f"code={code.group(1)}&rating=dissatisfied&comment=没人来修&confirm=".encode("gbk")
    response = await client.post("/track/rate", content=rating, headers=form)
    assert response.status_code == 400
    assert "页面编码有误" in response.text
    assert await pool.fetchval("SELECT count(*) FROM ratings") == 0
