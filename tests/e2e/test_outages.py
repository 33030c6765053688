"""When PostgreSQL or Redis is away, intake says so honestly: never 201 without a row, never a bare 500."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import httpx
import msgspec
from arq.connections import ArqRedis

from suggestions.app import create_app
from suggestions.settings import Settings

DEAD_PORT = 9  # discard: nothing listens there

ITEM = {"channel": "web", "text": "路口红绿灯坏了，车辆乱成一团。"}


async def test_postgres_down_gives_503_with_retry_after(
    settings: Settings, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    dead_pool = await asyncpg.create_pool(f"postgresql://postgres@127.0.0.1:{DEAD_PORT}/x", min_size=0, timeout=2)
    app = create_app(settings, pool=dead_pool, queue=queue, model=model, gazetteer=gazetteer)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        response = await client.post("/api/v1/items", json=ITEM)
        assert response.status_code == 503
        assert response.headers["retry-after"].isdigit()
        assert response.headers["content-type"].startswith("application/problem+json")
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["postgres"] is False
    await dead_pool.close()


async def test_redis_down_still_accepts_and_the_row_waits(
    settings: Settings, pool: asyncpg.Pool, model: Any, gazetteer: Any
) -> None:
    dead_queue = ArqRedis(host="127.0.0.1", port=DEAD_PORT, socket_connect_timeout=0.5)
    app = create_app(settings, pool=pool, queue=dead_queue, model=model, gazetteer=gazetteer)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        response = await client.post("/api/v1/items", json=ITEM)
        assert response.status_code == 201
        assert (await client.get("/readyz")).json()["redis"] is False
    await dead_queue.aclose()
    assert await pool.fetchval("SELECT status FROM items WHERE id = $1", response.json()["id"]) == "pending"


def test_an_app_opens_its_own_resources_and_reports_ready(settings: Settings, model: Any) -> None:
    from litestar.testing import TestClient

    # Nothing passed in: the lifespan opens the pool, the queue, the gazetteer and reads the serving model's metadata.
    with TestClient(app=create_app(settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"ready": True, "postgres": True, "redis": True, "model": model.version}
        assert client.post("/api/v1/items", json=ITEM).status_code == 201


def test_the_api_starts_while_redis_is_down_and_accepts_items(settings: Settings, model: Any) -> None:
    """A deploy or restart during a Redis outage: residents' items are taken all the same, left for the sweeper."""
    from litestar.testing import TestClient

    away = msgspec.structs.replace(settings, redis_url=f"redis://127.0.0.1:{DEAD_PORT}/0")
    with TestClient(app=create_app(away)) as client:
        assert client.post("/api/v1/items", json=ITEM).status_code == 201
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["redis"] is False


async def test_postgres_down_gives_the_resident_the_form_back_with_what_was_typed(
    settings: Settings, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """An error page asks the resident to go back and trust the browser to have kept the words; the form comes back
    itself, filled in, saying nothing was saved and to tap 提交 again in a moment."""
    dead_pool = await asyncpg.create_pool(f"postgresql://postgres@127.0.0.1:{DEAD_PORT}/x", min_size=0, timeout=2)
    app = create_app(settings, pool=dead_pool, queue=queue, model=model, gazetteer=gazetteer)
    typed = {
        "text": "路口红绿灯坏了，车辆乱成一团。",
        "place": "回龙观街道",
        "kind": "complaint",
        "contact_name": "王阿姨",
    }
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        page = await client.post("/submit", data={**typed, "contact_phone": "", "submission": "a" * 22})
    await dead_pool.close()
    assert page.status_code == 503
    assert page.headers["retry-after"].isdigit()
    assert page.headers["content-type"].startswith("text/html")
    assert "没有保存" in page.text
    assert '<form method="post" action="/submit"' in page.text
    assert f">\n{typed['text']}</textarea>" in page.text
    assert f'value="{typed["place"]}"' in page.text
    assert f'value="{typed["contact_name"]}"' in page.text
    assert 'value="complaint" checked' in page.text
    assert 'name="submission" value="' + "a" * 22 in page.text  # tapped again, it is the same submission


async def test_postgres_down_keeps_a_residents_rating_and_comment_to_send_again(
    settings: Settings, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """不满意, with what went wrong written out, sent while the database is away: the page says it was not saved and
    offers to send the same rating and words again, rather than an error page and the back key."""
    dead_pool = await asyncpg.create_pool(f"postgresql://postgres@127.0.0.1:{DEAD_PORT}/x", min_size=0, timeout=2)
    app = create_app(settings, pool=dead_pool, queue=queue, model=model, gazetteer=gazetteer)
    rating = {
        "code": "ABCD-EFGH-JKMN",
        "closed_at": "2026-11-28T09:30:00+00:00",
        "rating": "dissatisfied",
        "confirm": "yes",
        "comment": "灯还是不亮，晚上楼道里很黑。",
    }
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        page = await client.post("/track/rate", data=rating)
    await dead_pool.close()
    assert page.status_code == 503
    assert page.headers["retry-after"].isdigit()
    assert "没有保存" in page.text
    form = re.search(r'<form method="post" action="/track/rate".*?</form>', page.text, re.S)
    assert form is not None, page.text
    for name in ("code", "closed_at", "rating", "confirm"):
        assert f'name="{name}" value="{rating[name]}"' in form.group(0)
    assert f">\n{rating['comment']}</textarea>" in form.group(0)


async def test_postgres_down_a_look_up_is_told_to_look_again_later(
    settings: Settings, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """A resident who only looked their code up is not told that something they sent was not saved."""
    dead_pool = await asyncpg.create_pool(f"postgresql://postgres@127.0.0.1:{DEAD_PORT}/x", min_size=0, timeout=2)
    app = create_app(settings, pool=dead_pool, queue=queue, model=model, gazetteer=gazetteer)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        pages = [
            await client.get("/track", params={"code": "ABCD-EFGH-JKMN"}),
            await client.post("/track", data={"code": "ABCD-EFGH-JKMN"}),
        ]
    await dead_pool.close()
    for page in pages:
        assert page.status_code == 503
        assert page.headers["retry-after"].isdigit()
        assert "没有保存" not in page.text
        assert "暂时查不到" in page.text
