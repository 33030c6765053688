"""A staff step whose connection to PostgreSQL is lost, or whose commit goes unanswered, says what became of it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest
from arq.connections import ArqRedis

from suggestions.app import create_app
from suggestions.db import Connection, create_pool, init_connection
from suggestions.settings import Settings
from suggestions.signin import form_key
from suggestions.triage import routes
from tests.e2e.test_console import call
from tests.e2e.test_console import signed_in as console_signed_in
from tests.e2e.test_staff_pages import signed_in
from tests.link import Link

ITEM = {"channel": "web", "text": "路口红绿灯坏了，车辆乱成一团。"}
DEAD = "postgresql://postgres@127.0.0.1:9/x"  # discard: nothing listens there
SHORT = 2.0  # staff's statement time in these tests: a commit's answer awaited this long


@asynccontextmanager
async def linked_app(
    settings: Settings, queue: ArqRedis, model: Any, gazetteer: Any, *, unreachable: bool = False
) -> AsyncIterator[tuple[Link, httpx.AsyncClient]]:
    """The app, its pool reaching PostgreSQL through a link, staff's statements waiting SHORT for their answer;
    `unreachable`: where the app would look up what became of a commit unanswered, nothing answers."""
    link = Link(settings.database_url)
    url = await link.start()
    linked = await asyncpg.create_pool(
        url, min_size=1, max_size=2, command_timeout=SHORT, init=init_connection, connection_class=Connection
    )
    app = create_app(
        msgspec.structs.replace(settings, database_url=DEAD if unreachable else url),
        pool=linked,
        queue=queue,
        model=model,
        gazetteer=gazetteer,
    )
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            yield link, client
    finally:
        linked.terminate()
        await link.close()


async def open_item(client: httpx.AsyncClient, pool: asyncpg.Pool) -> int:
    item_id: int = (await client.post("/api/v1/items", json=ITEM)).json()["id"]
    await pool.execute("UPDATE items SET status = 'open' WHERE id = $1", item_id)
    return item_id


NOTE = {"text": "已联系城管，明天处理。", "audience": "resident"}


async def notes_of(pool: asyncpg.Pool, item_id: int) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM item_notes WHERE item_id = $1", item_id))


async def test_a_staff_step_whose_commit_went_unanswered_says_it_may_have_been_done(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any, staff: dict[str, str]
) -> None:
    """An interim reply whose commit reached PostgreSQL and whose answer never came back is stored: told "nothing was
    saved", staff would write it again and the resident read it twice. One whose connection was lost before its
    commit was sent stored nothing, and says so."""
    async with linked_app(settings, queue, model, gazetteer) as (link, client):
        item_id = await open_item(client, pool)
        link.silence_when_sent = b"COMMIT"
        unanswered = await client.post(f"/api/v1/items/{item_id}/notes", json=NOTE, headers=staff)
        assert link.silence_when_sent is None
        other = await open_item(client, pool)
        link.cut_when_sent = NOTE["text"].encode()
        cut = await client.post(f"/api/v1/items/{other}/notes", json=NOTE, headers=staff)
        assert link.cuts == 1
    assert (unanswered.status_code, cut.status_code) == (503, 503), (unanswered.text, cut.text)
    assert "may have been done" in unanswered.json()["detail"]
    assert unanswered.headers["retry-after"].isdigit()
    assert await notes_of(pool, item_id) == 1
    assert cut.json()["detail"].startswith("Nothing was saved")
    assert await notes_of(pool, other) == 0


async def test_a_staff_form_whose_commit_went_unanswered_says_it_may_have_been_done(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """The staff page's form comes back filled in, saying that it may have been done rather than that it was not:
    sent again, it is not done twice."""
    async with linked_app(settings, queue, model, gazetteer) as (link, client):
        item_id = await open_item(client, pool)
        key = form_key(await signed_in(client, pool))
        form = {"key": key, "submission": "a-page-whose-answer-was-lost", "text": NOTE["text"], "audience": "resident"}
        link.silence_when_sent = b"COMMIT"
        page = await client.post(f"/staff/items/{item_id}/note", data=form)
        assert link.silence_when_sent is None
        assert page.status_code == 503, page.text
        assert "可能已经执行" in page.text
        assert "这次操作没有执行" not in page.text
        assert NOTE["text"] in page.text
        again = await client.post(f"/staff/items/{item_id}/note", data=form)
        assert again.status_code == 303, again.text
    assert await notes_of(pool, item_id) == 1


@pytest.mark.parametrize(("method", "path"), [("POST", "/api/v1/items/{id}/notes"), ("GET", "/api/v1/items/{id}")])
async def test_a_transaction_whose_outcome_the_server_cannot_tell_is_a_503(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    staff: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    path: str,
) -> None:
    """08007, the server saying that a transaction's outcome is unknown (a connection lost during its commit), is an
    outage whose write may have been done, not an internal error."""

    async def unknown(*args: Any, **kwargs: Any) -> Any:
        raise asyncpg.exceptions.TransactionResolutionUnknownError("outcome unknown")

    item_id = await open_item(client, pool)
    monkeypatch.setattr(routes, "add_note", unknown)
    monkeypatch.setattr(routes, "item_by_id", unknown)
    response = await client.request(
        method, path.format(id=item_id), json=NOTE if method == "POST" else None, headers=staff
    )
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"].isdigit()
    said = response.json()["detail"]
    assert ("may have been done" in said) == (method == "POST"), said


async def test_a_staff_step_sent_with_an_idempotency_key_is_done_once_and_answered_as_it_ended(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any, staff: dict[str, str]
) -> None:
    """An interim reply whose commit went unanswered, sent with an Idempotency-Key, is looked up once the session that
    sent the commit is ended: it was written, and the client hears so with the note. Sent again, it is that note, and
    the resident reads it once. One whose connection was lost before its commit stored nothing, and says so; sent
    again under its key, it is written then. A key sent again with another step is refused."""
    async with linked_app(settings, queue, model, gazetteer) as (link, client):
        item_id = await open_item(client, pool)
        key = {**staff, "Idempotency-Key": "interim-reply-1"}
        link.silence_when_sent = b"COMMIT"
        unanswered = await client.post(f"/api/v1/items/{item_id}/notes", json=NOTE, headers=key)
        assert link.silence_when_sent is None
        again = await client.post(f"/api/v1/items/{item_id}/notes", json=NOTE, headers=key)
        other = await client.post(f"/api/v1/items/{item_id}/notes", json={**NOTE, "text": "另一条。"}, headers=key)

        cut_key = {**staff, "Idempotency-Key": "assign-1"}
        link.cut_when_sent = "城管科".encode()
        cut = await client.post(f"/api/v1/items/{item_id}/assign", json={"to": "城管科"}, headers=cut_key)
        assert link.cuts == 1
        assigned = await client.post(f"/api/v1/items/{item_id}/assign", json={"to": "城管科"}, headers=cut_key)
        assigned_again = await client.post(f"/api/v1/items/{item_id}/assign", json={"to": "城管科"}, headers=cut_key)
    assert unanswered.status_code == 200, unanswered.text
    assert again.status_code == 200, again.text
    assert unanswered.json()["id"] == again.json()["id"]
    assert unanswered.json()["audience"] == "resident"
    assert await notes_of(pool, item_id) == 1
    assert other.status_code == 422, other.text
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert cut.status_code == 503, cut.text
    assert cut.json()["detail"].startswith("Nothing was saved")
    assert (assigned.status_code, assigned_again.status_code) == (200, 200), (assigned.text, assigned_again.text)
    assert assigned_again.json()["assigned_to"] == "城管科"


async def test_a_staff_step_whose_outcome_cannot_be_told_says_to_send_it_again_with_its_key(
    settings: Settings,
    pool: asyncpg.Pool,
    queue: ArqRedis,
    model: Any,
    gazetteer: Any,
    staff: dict[str, str],
    client: httpx.AsyncClient,
) -> None:
    """The commit went unanswered and PostgreSQL cannot be asked (its host gone just then): the step may have been
    done, and sent again with the same key once PostgreSQL answers, it is answered as done, once."""
    key = {**staff, "Idempotency-Key": "interim-reply-2"}
    async with linked_app(settings, queue, model, gazetteer, unreachable=True) as (link, lost):
        item_id = await open_item(lost, pool)
        link.silence_when_sent = b"COMMIT"
        unanswered = await lost.post(f"/api/v1/items/{item_id}/notes", json=NOTE, headers=key)
    assert unanswered.status_code == 503, unanswered.text
    assert "Idempotency-Key" in unanswered.json()["detail"]
    again = await client.post(f"/api/v1/items/{item_id}/notes", json=NOTE, headers=key)
    assert again.status_code == 200, again.text
    assert await notes_of(pool, item_id) == 1


async def test_an_operators_call_on_a_postgresql_fallen_silent_is_answered_within_seconds(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """The console's call, as the API's, waits the residents' statement time for PostgreSQL, not staff's half minute:
    an operator with a caller on the line hears within seconds that it was not filed, the form filled in. The
    transaction the silent statement was in is ended with its connection, not rolled back: its ROLLBACK would wait as
    long again on the silent server."""
    link = Link(settings.database_url)
    url = await link.start()
    linked = await create_pool(url, size=2)
    app = create_app(
        msgspec.structs.replace(settings, database_url=url), pool=linked, queue=queue, model=model, gazetteer=gazetteer
    )
    text = "小区北门的路灯坏了一个星期。"
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            token = await console_signed_in(client, pool)
            link.silence_when_sent = text.encode()
            started = time.monotonic()
            page = await client.post("/console", data=call(token, text=text, channel="hotline"))
            waited = time.monotonic() - started
    finally:
        linked.terminate()
        await link.close()
    assert page.status_code == 503, page.text
    assert text in page.text
    assert waited < 8, f"answered after {waited:.1f} s"  # one statement's 5 s


async def test_a_staff_step_on_a_connection_gone_silent_is_answered_within_seconds(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any, staff: dict[str, str]
) -> None:
    """Staff's statements may wait half a minute on a busy server (a report, a lock), but one whose connection has
    gone silent is found out within seconds: PostgreSQL, asked on a connection of its own, says that the session is no
    longer at work on it. An interim reply whose commit so went unanswered says that it may have been done."""
    link = Link(settings.database_url)
    url = await link.start()
    linked = await create_pool(url, size=2)
    app = create_app(
        msgspec.structs.replace(settings, database_url=url), pool=linked, queue=queue, model=model, gazetteer=gazetteer
    )
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            item_id = await open_item(client, pool)
            link.silence_when_sent = b"COMMIT"
            started = time.monotonic()
            response = await client.post(f"/api/v1/items/{item_id}/notes", json=NOTE, headers=staff)
            waited = time.monotonic() - started
            form = {"key": form_key(await signed_in(client, pool)), "submission": "a-page-gone-silent", **NOTE}
            link.silence_when_sent = b"COMMIT"
            started = time.monotonic()
            page = await client.post(f"/staff/items/{item_id}/note", data=form)
            waited_page = time.monotonic() - started
    finally:
        linked.terminate()
        await link.close()
    assert response.status_code == 503, response.text
    assert "may have been done" in response.json()["detail"]
    assert waited < 12, f"answered after {waited:.1f} s"
    assert page.status_code == 503, page.text
    assert "可能已经执行" in page.text
    assert waited_page < 12, f"the page answered after {waited_page:.1f} s"
    assert await notes_of(pool, item_id) == 2


async def test_the_api_document_says_that_a_note_sent_again_with_its_key_answers_200(client: httpx.AsyncClient) -> None:
    """A client generated from the document would take the 200 of a note sent again for an error."""
    document = (await client.get("/api/docs/openapi.json")).json()
    steps = {path: operations["post"] for path, operations in document["paths"].items() if "post" in operations}
    assert "200" in steps["/api/v1/items/{item_id}/notes"]["responses"]
    for step in ("assign", "notes", "close", "reopen", "rating"):
        parameters = steps[f"/api/v1/items/{{item_id}}/{step}"]["parameters"]
        assert "Idempotency-Key" in [parameter["name"] for parameter in parameters], step


async def test_a_rating_taken_down_with_an_idempotency_key_is_answered_as_it_was_taken_when_sent_again(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any, staff: dict[str, str]
) -> None:
    """A resident's 不满意, taken down on a call back, sent the item back to work; its answer was lost. Sent again
    with its key, it is that rating, not a 409 saying the item has no reply to rate."""
    async with linked_app(settings, queue, model, gazetteer) as (link, client):
        item = {**ITEM, "contact_phone": "13912345678"}
        item_id = (await client.post("/api/v1/items", json=item)).json()["id"]
        await pool.execute("UPDATE items SET status = 'open' WHERE id = $1", item_id)
        closed = await client.post(f"/api/v1/items/{item_id}/close", json={"answer": "已修好。"}, headers=staff)
        rating = {"rating": "dissatisfied", "closed_at": closed.json()["closed_at"]}
        key = {**staff, "Idempotency-Key": "callback-1"}
        link.silence_when_sent = b"COMMIT"
        first = await client.post(f"/api/v1/items/{item_id}/rating", json=rating, headers=key)
        again = await client.post(f"/api/v1/items/{item_id}/rating", json=rating, headers=key)
    assert first.status_code == 200, first.text
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert first.json()["reopened"] is True
    assert await pool.fetchval("SELECT count(*) FROM ratings WHERE item_id = $1", item_id) == 1


async def test_a_case_closed_again_by_the_same_staff_with_the_same_reply_is_answered_as_closed(
    client: httpx.AsyncClient, pool: asyncpg.Pool, staff: dict[str, str], monitor: dict[str, str]
) -> None:
    """A case's closing whose answer was lost (a 503 saying it may have been done), sent again as it was, finds it
    done by the same staff with the same reply, as the staff page's form does, rather than a 409. Another staff
    token, or another reply, still hears that the case is closed."""
    item_id = await open_item(client, pool)
    moved = await client.post(f"/api/v1/items/{item_id}/case", json={"case_id": None}, headers=staff)
    assert moved.status_code == 200, moved.text
    case_id = moved.json()["case_id"]
    closing = {"answer": "路灯已修好。"}
    first = await client.post(f"/api/v1/cases/{case_id}/close", json=closing, headers=staff)
    again = await client.post(f"/api/v1/cases/{case_id}/close", json=closing, headers=staff)
    other_reply = await client.post(f"/api/v1/cases/{case_id}/close", json={"answer": "已处理。"}, headers=staff)
    assert (first.status_code, again.status_code, other_reply.status_code) == (200, 200, 409), again.text
    assert again.json()["status"] == "closed"


async def test_a_merge_sent_again_is_answered_with_the_case_it_made(
    client: httpx.AsyncClient, pool: asyncpg.Pool, staff: dict[str, str]
) -> None:
    """A merge whose answer was lost, sent again, finds the case merged where it asked, as the staff page's form does,
    rather than a 422 saying that the case is not open."""
    cases = []
    for _ in range(2):
        item_id = await open_item(client, pool)
        moved = await client.post(f"/api/v1/items/{item_id}/case", json={"case_id": None}, headers=staff)
        cases.append(moved.json()["case_id"])
    merge = {"into": cases[1]}
    first = await client.post(f"/api/v1/cases/{cases[0]}/merge", json=merge, headers=staff)
    again = await client.post(f"/api/v1/cases/{cases[0]}/merge", json=merge, headers=staff)
    assert (first.status_code, again.status_code) == (200, 200), again.text
    assert again.json()["id"] == cases[1]
    assert again.json()["size"] == 2


async def test_a_hotspot_dismissed_again_by_the_same_staff_with_the_same_note_is_answered_as_dismissed(
    client: httpx.AsyncClient, pool: asyncpg.Pool, staff: dict[str, str]
) -> None:
    """A dismissal whose answer was lost, sent again as it was, finds it done by the same staff with the same note, as
    the staff page's form does, rather than a 409; another note still hears that it was dismissed."""
    hotspot_id = await pool.fetchval(
        "INSERT INTO hotspots (kind, street, topic, why) VALUES ('burst', '城北街道', '城乡建设', '{}') RETURNING id"
    )
    dismissal = {"note": "已派城管处置。"}
    first = await client.post(f"/api/v1/hotspots/{hotspot_id}/dismiss", json=dismissal, headers=staff)
    again = await client.post(f"/api/v1/hotspots/{hotspot_id}/dismiss", json=dismissal, headers=staff)
    other = await client.post(f"/api/v1/hotspots/{hotspot_id}/dismiss", json={"note": "不是问题。"}, headers=staff)
    assert (first.status_code, again.status_code, other.status_code) == (200, 200, 409), again.text
    assert again.json() == first.json()
