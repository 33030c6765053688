"""The centre's admins manage who may sign in on staff's pages: tokens listed by role and label, created and shown
once, revoked with a confirmation, each change recorded with who made it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from suggestions.auth import create_token, hash_token
from suggestions.signin import form_key
from suggestions.staff_web import COOKIE
from tests.e2e.test_outages import without_postgres
from tests.e2e.test_staff_pages import key_of, sent_while_postgres_is_away, signed_in


def submission_of(page: str) -> str:
    found = re.search(r'name="submission" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


async def admin_id(pool: Any, token: str) -> int:
    token_id: int = await pool.fetchval("SELECT id FROM api_tokens WHERE token_hash = $1", hash_token(token))
    return token_id


async def test_only_admins_see_and_use_the_tokens_page(client: Any, pool: Any) -> None:
    await signed_in(client, pool, role="staff")
    assert 'href="/staff/tokens"' not in (await client.get("/staff")).text
    page = await client.get("/staff/tokens")
    assert page.status_code == 403
    assert "令牌管理只对管理员开放" in page.text
    key = form_key(client.cookies[COOKIE])
    created = await client.post("/staff/tokens", data={"key": key, "role": "staff", "label": "自己加的"})
    assert created.status_code == 403
    assert "sgt_" not in created.text
    other = await pool.fetchval("SELECT id FROM api_tokens")
    assert (await client.get(f"/staff/tokens/{other}/revoke")).status_code == 403
    revoked = await client.post(f"/staff/tokens/{other}/revoke", data={"key": key, "confirm": "1"})
    assert revoked.status_code == 403
    assert await pool.fetchval("SELECT count(*) FROM api_tokens WHERE revoked_at IS NOT NULL") == 0
    assert await pool.fetchval("SELECT count(*) FROM api_tokens") == 1

    client.cookies.clear()
    await signed_in(client, pool, role="admin")
    feed = (await client.get("/staff")).text
    assert '<a href="/staff/tokens">令牌管理</a>' in feed


async def test_an_admin_creates_a_token_shown_once_and_it_signs_in(client: Any, pool: Any) -> None:
    admin = await signed_in(client, pool, role="admin")
    page = (await client.get("/staff/tokens")).text
    form = {"key": key_of(page), "submission": submission_of(page), "role": "operator", "label": "话务员 王芳"}
    answer = await client.post("/staff/tokens", data=form)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    found = re.search(r"sgt_[A-Za-z0-9_-]+", answer.text)
    assert found is not None
    token = found.group(0)
    assert "只显示这一次" in answer.text
    assert "交给持有人本人" in answer.text
    row = await pool.fetchrow("SELECT id, role, label, token_hash FROM api_tokens WHERE label = '话务员 王芳'")
    assert (row["role"], bytes(row["token_hash"])) == ("operator", hash_token(token))

    # Pressed twice (a double click, a reload): one token, and the second answer shows none.
    again = await client.post("/staff/tokens", data=form)
    assert again.status_code == 200
    assert "sgt_" not in again.text
    assert "已经提交过" in again.text
    assert await pool.fetchval("SELECT count(*) FROM api_tokens WHERE label = '话务员 王芳'") == 1

    # Listed by role and label, never the token; the creation recorded with the admin who made it.
    listed = (await client.get("/staff/tokens")).text
    assert token not in listed
    assert admin not in listed
    assert "话务员 王芳" in listed
    assert "12345 话务员" in listed
    change = await pool.fetchrow("SELECT change, token_id, changed_by FROM token_changes ORDER BY id DESC LIMIT 1")
    assert tuple(change) == ("created", row["id"], await admin_id(pool, admin))
    assert "新建和停用记录" in listed

    console = await client.post("/console/login", data={"token": token, "next": "/console"})
    assert console.status_code == 303
    assert await pool.fetchval("SELECT last_used_on FROM api_tokens WHERE id = $1", row["id"]) is not None


async def test_a_token_form_is_checked_before_anything_is_created(client: Any, pool: Any) -> None:
    await signed_in(client, pool, role="admin")
    page = (await client.get("/staff/tokens")).text
    form = {"key": key_of(page), "submission": submission_of(page)}
    for typed, message in (
        ({"role": "mayor", "label": "市长"}, "请选择令牌的角色"),
        ({"role": "staff", "label": "  "}, "请填写标签"),
        ({"role": "staff", "label": "x" * 101}, "请填写标签"),
        ({"role": "admin", "label": "新管理员"}, "我确认新建管理员令牌"),
    ):
        refused = await client.post("/staff/tokens", data={**form, **typed})
        assert refused.status_code == 422, typed
        assert message in refused.text
        assert "sgt_" not in refused.text
    foreign = await client.post("/staff/tokens", data={"role": "staff", "label": "别处的表单"})
    assert foreign.status_code == 403
    elsewhere = await client.post(
        "/staff/tokens", data={**form, "role": "staff", "label": "别处"}, headers={"sec-fetch-site": "cross-site"}
    )
    assert elsewhere.status_code == 403
    assert await pool.fetchval("SELECT count(*) FROM api_tokens") == 1

    # A full-width space, as a Chinese input method types it between a role and a name, is no control character.
    wide = await client.post("/staff/tokens", data={**form, "role": "operator", "label": "话务员\u3000王芳"})
    assert wide.status_code == 200, wide.text
    assert await pool.fetchval("SELECT count(*) FROM api_tokens WHERE label = '话务员\u3000王芳'") == 1

    admin = await client.post(
        "/staff/tokens",
        data={
            **form,
            "submission": submission_of(page) + "2",
            "role": "admin",
            "label": "新管理员",
            "admin_confirmed": "1",
        },
    )
    assert admin.status_code == 200
    assert "这是管理员令牌" in admin.text
    assert await pool.fetchval("SELECT role FROM api_tokens WHERE label = '新管理员'") == "admin"


async def test_a_create_form_without_its_page_key_is_refused_and_pressed_twice_makes_no_token(
    client: Any, pool: Any
) -> None:
    # A page rendered by an older release has no once-only key in its create form: pressed twice, each press would be
    # a new form, and one of two live tokens would never be handed to anyone. It is refused, saying what to do, and
    # comes back as a form of today's page, with what was typed and a key of its own.
    await signed_in(client, pool, role="admin")
    page = (await client.get("/staff/tokens")).text
    old = {"key": key_of(page), "role": "grid", "label": "网格员 李强的手机"}
    for sent in (old, old, {**old, "submission": "short"}):
        refused = await client.post("/staff/tokens", data=sent)
        assert refused.status_code == 422
        assert "sgt_" not in refused.text
        assert "没有新建" in refused.text
        assert "刷新" in refused.text
        assert 'value="网格员 李强的手机"' in refused.text
        assert '<option value="grid" selected>' in refused.text
        fresh = submission_of(refused.text)
        assert fresh != submission_of(page)
    assert await pool.fetchval("SELECT count(*) FROM api_tokens") == 1
    assert await pool.fetchval("SELECT count(*) FROM token_changes WHERE changed_by IS NOT NULL") == 0

    # Sent again from the page it came back on, twice: one token.
    resent = {**old, "submission": fresh}
    assert "sgt_" in (await client.post("/staff/tokens", data=resent)).text
    assert "已经提交过" in (await client.post("/staff/tokens", data=resent)).text
    assert await pool.fetchval("SELECT count(*) FROM api_tokens WHERE label = '网格员 李强的手机'") == 1


async def test_an_admin_revokes_a_token_after_confirming_and_its_holder_is_out_at_the_next_click(
    client: Any, pool: Any
) -> None:
    async with pool.acquire() as conn:
        staff = await create_token(conn, role="staff", label="科员 赵")
    staff_id = await admin_id(pool, staff)
    admin = await signed_in(client, pool, role="admin")
    listed = (await client.get("/staff/tokens")).text
    assert f'href="/staff/tokens/{staff_id}/revoke"' in listed
    question = await client.get(f"/staff/tokens/{staff_id}/revoke")
    assert question.status_code == 200
    assert "科员 赵" in question.text
    assert "确认停用" in question.text
    key = key_of(question.text)

    # A form without the confirmation asks again.
    unasked = await client.post(f"/staff/tokens/{staff_id}/revoke", data={"key": key})
    assert unasked.status_code == 200
    assert "确认停用" in unasked.text
    assert await pool.fetchval("SELECT revoked_at FROM api_tokens WHERE id = $1", staff_id) is None

    for _ in range(2):  # pressed twice: done once
        done = await client.post(f"/staff/tokens/{staff_id}/revoke", data={"key": key, "confirm": "1"})
        assert done.status_code == 303
        assert done.headers["location"] == "/staff/tokens?done=revoked"
    assert "已停用" in (await client.get(done.headers["location"])).text
    changes = await pool.fetch("SELECT change, changed_by FROM token_changes WHERE token_id = $1", staff_id)
    assert [tuple(c) for c in changes] == [("created", None), ("revoked", await admin_id(pool, admin))]

    # Its holder's next click signs them out.
    client.cookies.clear()
    client.cookies.set(COOKIE, staff, path="/staff")
    holder = await client.get("/staff")
    assert holder.status_code == 303
    assert holder.headers["location"].startswith("/staff/login")


async def test_an_admin_cannot_revoke_the_token_they_are_signed_in_with(client: Any, pool: Any) -> None:
    admin = await signed_in(client, pool, role="admin")
    own = await admin_id(pool, admin)
    async with pool.acquire() as conn:
        another = await admin_id(pool, await create_token(conn, role="admin", label="另一位管理员"))
    listed = (await client.get("/staff/tokens")).text
    assert f'href="/staff/tokens/{another}/revoke"' in listed  # another admin's token is offered for revoking
    assert f'href="/staff/tokens/{own}/revoke"' not in listed
    assert "您现在用的" in listed
    refused = await client.post(f"/staff/tokens/{own}/revoke", data={"key": key_of(listed), "confirm": "1"})
    assert refused.status_code == 409
    assert "不能停用您现在登录所用的令牌" in refused.text
    assert await pool.fetchval("SELECT revoked_at FROM api_tokens WHERE id = $1", own) is None
    assert (await client.get("/staff/tokens")).status_code == 200
    assert (await client.get("/staff/tokens/999999/revoke")).status_code == 404
    gone = await client.post("/staff/tokens/999999/revoke", data={"key": key_of(listed), "confirm": "1"})
    assert gone.status_code == 404


@pytest.mark.parametrize(
    ("path", "typed", "shown"),
    [
        # The page's key goes back too: sent again, the form still makes one token.
        ("/staff/tokens", {"role": "grid", "label": "网格员 李强的手机", "submission": "a" * 22}, 'value="aaaaaaaaaa'),
        ("/staff/tokens/5/revoke", {"confirm": "1"}, "确认停用这个令牌"),
    ],
)
@pytest.mark.usefixtures("clean")
async def test_while_postgres_is_away_a_token_form_comes_back_to_send_again(
    settings: Any, queue: Any, model: Any, gazetteer: Any, path: str, typed: dict[str, str], shown: str
) -> None:
    async with without_postgres(settings, queue, model, gazetteer) as client:
        response = await sent_while_postgres_is_away(client, path, typed)
        assert shown in response.text
