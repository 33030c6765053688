"""What a centre would not want from the public side: texts that hide what they hold, junk, floods."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from suggestions.triage.ratings import MAX_RATINGS_OF_A_REPLY
from tests.e2e.test_api_contract import problem_fields
from tests.e2e.test_hotspots import LIFT, FixedTopic, listed_of
from tests.e2e.test_satisfaction import closed_item

ZERO_WIDTH_SPACE, WORD_JOINER, RIGHT_TO_LEFT_OVERRIDE = "\u200b", "\u2060", "\u202e"


async def test_characters_that_draw_nothing_hide_no_phone_from_masking(
    client: Any, staff: dict[str, str], pool: asyncpg.Pool
) -> None:
    """A phone with zero-width characters between its digits (pasted from a chat app, or put there on purpose) read
    as no phone: staff and operators read it unmasked. A right-to-left override made the words show reversed."""
    phone = f"139{ZERO_WIDTH_SPACE}1234{WORD_JOINER}5678"
    sent = {
        "channel": "web",
        "text": f"楼道灯坏了，{RIGHT_TO_LEFT_OVERRIDE}我的电话{phone}",
        "place": f"龙跃苑东区{ZERO_WIDTH_SPACE}联系{phone}",
        # Copied from a chat, the number the resident sees is a good one.
        "contact_phone": phone,
    }
    created = await client.post("/api/v1/items", json=sent)
    assert created.status_code == 201, created.text
    item = (await client.get(f"/api/v1/items/{created.json()['id']}", headers=staff)).json()
    assert item["text"] == "楼道灯坏了，我的电话[手机号]"
    assert item["place"] == "龙跃苑东区联系[手机号]"
    stored = await pool.fetchval("SELECT text FROM items WHERE id = $1", created.json()["id"])
    assert stored == "楼道灯坏了，我的电话13912345678"
    contact = await client.get(f"/api/v1/items/{created.json()['id']}/contact", headers=staff)
    assert contact.json()["phone"] == "13912345678"


async def test_a_rating_flood_on_one_reply_is_not_recorded_without_end(
    client: Any, drain: Any, staff: dict[str, str], pool: asyncpg.Pool
) -> None:
    """Whoever holds a tracking code could post ratings of one reply for ever, from many addresses: each one a row of
    the record of ratings given and a count in the ratings the centre's dashboard shows."""
    created = await closed_item(client, drain, staff)
    rating = f"/api/v1/track/{created['tracking_code']}/rating"
    changes = "SELECT count(*) FROM rating_changes WHERE item_id = $1"
    # The same rating sent again (a second tap, a slow network's retry) is one rating given.
    for _ in range(5):
        assert (await client.post(rating, json={"rating": "satisfied"})).status_code == 200
    assert await pool.fetchval(changes, created["id"]) == 1
    # A resident may change their mind, not without end.
    choices = ["basically_satisfied", "satisfied"] * 5
    answers = [await client.post(rating, json={"rating": choice}) for choice in choices]
    allowed = MAX_RATINGS_OF_A_REPLY - 1
    assert [answer.status_code for answer in answers] == [200] * allowed + [409]
    assert "changed" in answers[-1].json()["detail"]
    assert await pool.fetchval(changes, created["id"]) == MAX_RATINGS_OF_A_REPLY
    standing = (await client.get(f"/api/v1/track/{created['tracking_code']}")).json()["rating"]
    assert standing == choices[allowed - 1]
    # The rating standing, sent again, is still answered as given.
    assert (await client.post(rating, json={"rating": standing})).status_code == 200
    # The tracking page says why, not that the reply is too old to rate.
    page = await client.post("/track/rate", data={"code": created["tracking_code"], "rating": choices[-1]})
    assert page.status_code == 409
    assert "改过" in page.text


async def test_words_posted_about_a_withdrawn_reply_are_not_kept_without_end(
    client: Any, drain: Any, staff: dict[str, str], pool: asyncpg.Pool
) -> None:
    """Words given with a rating of a reply staff withdrew are kept for staff, but whoever holds the code could post
    them for ever: past as many as a reply's ratings, no more are kept, and the answer no longer says they were."""
    created = await closed_item(client, drain, staff)
    await client.post(f"/api/v1/items/{created['id']}/reopen", json={"reason": "发错了件"}, headers=staff)
    rating = f"/api/v1/track/{created['tracking_code']}/rating"
    answers = [
        await client.post(rating, json={"rating": "satisfied", "comment": f"第 {n} 次留言"})
        for n in range(MAX_RATINGS_OF_A_REPLY + 2)
    ]
    assert {answer.status_code for answer in answers} == {409}
    said_kept = ["comment was kept" in answer.json()["detail"] for answer in answers]
    assert said_kept == [True] * MAX_RATINGS_OF_A_REPLY + [False] * 2
    kept = "SELECT count(*) FROM resident_comments WHERE item_id = $1"
    assert await pool.fetchval(kept, created["id"]) == MAX_RATINGS_OF_A_REPLY


async def test_a_resident_whose_words_about_a_withdrawn_reply_are_no_longer_kept_is_told_so(
    client: Any, drain: Any, staff: dict[str, str]
) -> None:
    """Past the words kept after one withdrawal, the resident was told only that the reply was withdrawn, as if they
    had written nothing: the page and the API now say their words were not passed on, that staff have the earlier
    ones, and to call 12345 for anything urgent."""
    created = await closed_item(client, drain, staff)
    await client.post(f"/api/v1/items/{created['id']}/reopen", json={"reason": "发错了件"}, headers=staff)
    code = created["tracking_code"]
    for n in range(MAX_RATINGS_OF_A_REPLY):
        await client.post(f"/api/v1/track/{code}/rating", json={"rating": "satisfied", "comment": f"第 {n} 次留言"})
    api = await client.post(f"/api/v1/track/{code}/rating", json={"rating": "satisfied", "comment": "还有一句"})
    assert api.status_code == 409
    detail = api.json()["detail"]
    assert "comment was not kept" in detail
    assert "12345" in detail
    page = await client.post("/track/rate", data={"code": code, "rating": "satisfied", "comment": "再说一句"})
    assert page.status_code == 409
    said = [phrase in page.text for phrase in ("答复已撤回", "没有转给工作人员", "12345", "您写的话已转给工作人员")]
    assert said == [True, True, True, False]
    # Without words, nothing was dropped: the plain answer, as before.
    bare = await client.post("/track/rate", data={"code": code, "rating": "satisfied"})
    assert "没有转给工作人员" not in bare.text
    bare_api = await client.post(f"/api/v1/track/{code}/rating", json={"rating": "satisfied"})
    assert "comment" not in bare_api.json()["detail"]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("😡" * 5000, id="5000-emoji"),
        pytest.param("？？？！！！……", id="punctuation"),
        pytest.param("👍\u200b" * 100, id="emoji-and-zero-width"),
    ],
)
async def test_a_post_without_a_word_is_refused_naming_the_text(client: Any, pool: asyncpg.Pool, text: str) -> None:
    """Emoji or punctuation alone tell staff nothing, and the model reads nothing in them: such a post went into the
    feed as a warning to look at. The resident is asked for words; a post with words and emoji is taken."""
    refused = await client.post("/api/v1/items", json={"channel": "web", "text": text})
    assert refused.status_code == 422, refused.text
    assert problem_fields(refused) == {"text"}
    page = await client.post("/submit", data={"text": text})
    assert page.status_code == 422
    assert "请用文字写下" in page.text
    assert await pool.fetchval("SELECT count(*) FROM items") == 0
    taken = await client.post("/api/v1/items", json={"channel": "web", "text": "路灯坏了😡😡😡"})
    assert taken.status_code == 201


async def test_a_place_is_one_line_and_no_text_holds_terminal_controls(client: Any, staff: dict[str, str]) -> None:
    """A place came in as many lines (a console pasting a block of an address book) and stood so in the feed and in
    hotspots; a text's escape and backspace characters, which draw nothing in a browser, rewrite what a terminal shows
    of an export."""
    sent = {
        "channel": "web",
        "text": "楼道灯坏了\x08\x08\x08\x1b[2J\r\n第二行\r第三行",
        "place": "回龙观街道\r\n\r\n龙跃苑\t\t3号楼\x07",
        "contact_name": "张\n先生",
    }
    created = await client.post("/api/v1/items", json=sent)
    assert created.status_code == 201, created.text
    item = (await client.get(f"/api/v1/items/{created.json()['id']}", headers=staff)).json()
    assert item["place"] == "回龙观街道 龙跃苑 3号楼"
    assert item["text"] == "楼道灯坏了[2J\n第二行\n第三行"
    contact = (await client.get(f"/api/v1/items/{created.json()['id']}/contact", headers=staff)).json()
    assert contact["name"] == "张 先生"


@pytest.mark.parametrize("keeps_cookie", [True, False], ids=["one-browser", "one-address"])
async def test_one_sender_rewording_a_complaint_is_one_reporter(
    client: Any, drain: Any, model: Any, staff: dict[str, str], keeps_cookie: bool
) -> None:
    """One person sending the same complaint five times in other words, each under a new Idempotency-Key, from the
    form's browser or from a script that keeps no cookie, made a case of five reporters: a crowd hotspot, and their
    reports lifted above residents' own in the feed."""
    form = await client.get("/")
    cookie = {"Cookie": f"browser={form.cookies['browser']}"} if keeps_cookie else {}
    client.cookies.clear()
    for n, (_, text) in enumerate(LIFT):
        sent = await client.post(
            "/api/v1/items",
            json={"channel": "web", "text": text},
            headers={**cookie, "Idempotency-Key": f"reworded-{n}"},
        )
        assert sent.status_code == 201, sent.text
    await drain(model=FixedTopic(model, "城乡建设"))
    case_ids = await feed_case_ids(client, staff)
    assert len(case_ids) == len(LIFT)  # each report is in the feed
    [case_id] = set(case_ids)  # the five reworded reports are one problem
    assert case_id is not None
    assert await listed_of(client, staff, "case") == []


async def test_neighbours_behind_one_address_who_leave_their_phones_are_each_a_reporter(
    client: Any, drain: Any, model: Any, staff: dict[str, str]
) -> None:
    """A family or an office behind one address (a carrier's CGNAT) is not one reporter when each leaves a phone."""
    for n, (_, text) in enumerate(LIFT):
        sent = await client.post(
            "/api/v1/items", json={"channel": "web", "text": text, "contact_phone": f"1391234000{n}"}
        )
        assert sent.status_code == 201, sent.text
    await drain(model=FixedTopic(model, "城乡建设"))
    [crowd] = await listed_of(client, staff, "case")
    assert (crowd["why"]["reports"], crowd["why"]["reporters"]) == (5, 5)


async def feed_case_ids(client: Any, staff: dict[str, str]) -> list[int | None]:
    """The case of each item in the feed."""
    feed = (await client.get("/api/v1/triage", headers=staff)).json()["items"]
    items = [(await client.get(f"/api/v1/items/{entry['id']}", headers=staff)).json() for entry in feed]
    return [item["case_id"] for item in items]
