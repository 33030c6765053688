"""When PostgreSQL or Redis is away, intake says so honestly: never 201 without a row, never a bare 500."""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import msgspec
import pytest
from arq.connections import ArqRedis

from suggestions.app import create_app
from suggestions.auth import create_token
from suggestions.db import create_pool, init_connection
from suggestions.migrate import migrate
from suggestions.settings import Settings
from tests.link import Link
from tests.processes import free_port

DEAD_PORT = 9  # discard: nothing listens there
# What asyncpg sends first when the pool takes a connection back (its reset): the request's own work is done by then.
POOL_RESET = b"pg_advisory_unlock_all"

ITEM = {"channel": "web", "text": "路口红绿灯坏了，车辆乱成一团。"}


@asynccontextmanager
async def without_postgres(settings: Settings, queue: ArqRedis, model: Any, gazetteer: Any) -> AsyncIterator[Any]:
    """A client of the app whose PostgreSQL answers no connection."""
    dead_pool = await asyncpg.create_pool(f"postgresql://postgres@127.0.0.1:{DEAD_PORT}/x", min_size=0, timeout=2)
    app = create_app(settings, pool=dead_pool, queue=queue, model=model, gazetteer=gazetteer)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            yield client
    finally:
        await dead_pool.close()


async def test_postgres_down_gives_503_with_retry_after(
    settings: Settings, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    async with without_postgres(settings, queue, model, gazetteer) as client:
        response = await client.post("/api/v1/items", json=ITEM)
        assert response.status_code == 503
        assert response.headers["retry-after"].isdigit()
        assert response.headers["content-type"].startswith("application/problem+json")
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["postgres"] is False


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


async def test_the_api_starts_while_postgres_is_down_and_reaches_it_once_it_is_back(
    settings: Settings, staff: dict[str, str]
) -> None:
    """After a host's reboot or in compose, the API may come up before PostgreSQL: it starts all the same, says what
    is missing, answers 503 rather than nothing, and serves once PostgreSQL answers, without a restart."""
    link = Link(settings.database_url)
    port = free_port()
    app = create_app(msgspec.structs.replace(settings, database_url=link.url(port)))
    try:
        async with (
            app.lifespan(),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
        ):
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/")).status_code == 200  # the residents' form, to fill in meanwhile
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["postgres"] is False
            for response in (
                await client.post("/api/v1/items", json=ITEM),
                await client.get("/api/v1/triage", headers=staff),
            ):
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"].isdigit()
                assert response.headers["content-type"].startswith("application/problem+json")
            page = await client.post("/submit", data={"text": ITEM["text"], "submission": "b" * 22})
            assert page.status_code == 503
            assert "没有保存" in page.text
            assert f">\n{ITEM['text']}</textarea>" in page.text

            await link.start(port)
            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert (await client.post("/api/v1/items", json=ITEM)).status_code == 201
            assert (await client.get("/api/v1/triage", headers=staff)).status_code == 200
    finally:
        await link.close()


async def test_postgres_down_gives_the_resident_the_form_back_with_what_was_typed(
    settings: Settings, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """An error page asks the resident to go back and trust the browser to have kept the words; the form comes back
    itself, filled in, saying nothing was saved and to tap 提交 again in a moment."""
    typed = {
        "text": "路口红绿灯坏了，车辆乱成一团。",
        "place": "回龙观街道",
        "kind": "complaint",
        "contact_name": "王阿姨",
    }
    async with without_postgres(settings, queue, model, gazetteer) as client:
        page = await client.post("/submit", data={**typed, "contact_phone": "", "submission": "a" * 22})
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
    rating = {
        "code": "ABCD-EFGH-JKMN",
        "closed_at": "2026-11-28T09:30:00+00:00",
        "rating": "dissatisfied",
        "confirm": "yes",
        "comment": "灯还是不亮，晚上楼道里很黑。",
    }
    async with without_postgres(settings, queue, model, gazetteer) as client:
        page = await client.post("/track/rate", data=rating)
    assert page.status_code == 503
    assert page.headers["retry-after"].isdigit()
    assert "没有保存" in page.text
    form = re.search(r'<form method="post" action="/track/rate#said".*?</form>', page.text, re.S)
    assert form is not None, page.text
    for name in ("code", "closed_at", "rating", "confirm"):
        assert f'name="{name}" value="{rating[name]}"' in form.group(0)
    assert f">\n{rating['comment']}</textarea>" in form.group(0)


async def test_postgres_down_a_look_up_is_told_to_look_again_later(
    settings: Settings, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """A resident who only looked their code up is not told that something they sent was not saved."""
    async with without_postgres(settings, queue, model, gazetteer) as client:
        pages = [
            await client.get("/track", params={"code": "ABCD-EFGH-JKMN"}),
            await client.post("/track", data={"code": "ABCD-EFGH-JKMN"}),
        ]
    for page in pages:
        assert page.status_code == 503
        assert page.headers["retry-after"].isdigit()
        assert "没有保存" not in page.text
        assert "暂时查不到" in page.text


async def test_a_connection_lost_after_the_commit_still_answers_201(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """The item is committed, and the connection is lost only as it goes back to the pool: the sender is told that the
    item is stored, not that nothing was saved (a client told so would send it again, and without an Idempotency-Key
    store it twice)."""
    link = Link(settings.database_url)
    linked = await create_pool(await link.start(), size=1)
    app = create_app(settings, pool=linked, queue=queue, model=model, gazetteer=gazetteer)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            link.cut_when_sent = POOL_RESET
            response = await client.post("/api/v1/items", json=ITEM)
            assert link.cuts == 1
            assert response.status_code == 201, response.text
            assert await pool.fetchval("SELECT count(*) FROM items WHERE id = $1", response.json()["id"]) == 1
            # The pool has its slot back and connects again.
            assert (await client.post("/api/v1/items", json=ITEM)).status_code == 201
    finally:
        await linked.close()
        await link.close()


async def test_a_connection_the_server_ended_while_idle_gives_503_not_500(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """The server ends an idle connection of the pool (a restart, a failover, an administrator): its goodbye arrives
    before its connection closes, and a request that takes the connection in between is told to retry, not 500."""
    link = Link(settings.database_url)
    link.hold_close = 1.0
    linked = await create_pool(await link.start(), size=1)
    app = create_app(settings, pool=linked, queue=queue, model=model, gazetteer=gazetteer)
    try:
        async with linked.acquire() as conn:
            backend = conn.get_server_pid()
        assert await pool.fetchval("SELECT pg_terminate_backend($1)", backend)
        await asyncio.sleep(0.2)  # the goodbye (57P01) has arrived; the connection is not closed yet
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            response = await client.post("/api/v1/items", json=ITEM)
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"].isdigit()
            assert await pool.fetchval("SELECT count(*) FROM items") == 0
            await asyncio.sleep(link.hold_close)
            assert (await client.post("/api/v1/items", json=ITEM)).status_code == 201
    finally:
        await linked.close()
        await link.close()


@pytest.fixture
async def spare_database(servers: tuple[str, str], database_url: str) -> AsyncIterator[str]:
    """A database of the service's schema, besides the suite's, whose server settings a test may change."""
    admin = await asyncpg.connect(servers[0])
    name = f"{urlsplit(database_url).path.lstrip('/')}_spare"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = urlunsplit(urlsplit(database_url)._replace(path="/" + name))
        conn = await asyncpg.connect(url)
        await migrate(conn)
        await conn.close()
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


async def nothing_stored(client: httpx.AsyncClient) -> httpx.Response:
    """An item sent to the API and on the residents' form, neither stored: both a 503, the form saying so; the form."""
    response = await client.post("/api/v1/items", json=ITEM)
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"].isdigit()
    page = await client.post("/submit", data={"text": ITEM["text"]})
    assert page.status_code == 503
    assert "没有保存" in page.text
    return page


async def test_a_database_that_takes_no_writes_gives_503_and_is_not_ready(
    settings: Settings, pool: asyncpg.Pool, spare_database: str, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """A primary being demoted in a failover, a server made read-only for maintenance or by a full disk's protection."""
    await pool.execute(f'ALTER DATABASE "{database_name(spare_database)}" SET default_transaction_read_only = on')
    read_only = await create_pool(spare_database, size=2)
    app = create_app(settings, pool=read_only, queue=queue, model=model, gazetteer=gazetteer)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            await nothing_stored(client)
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["postgres"] is False
    finally:
        await read_only.close()


async def test_a_server_that_takes_no_writes_still_shows_staff_the_feed(
    settings: Settings, pool: asyncpg.Pool, spare_database: str, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """A failover's demoted primary, or a server read-only to protect a full disk: what only reads is answered, the
    first request of a token's day too (its day of use goes unrecorded, for a later request)."""
    spare = await asyncpg.connect(spare_database)
    try:
        token = await create_token(spare, role="staff")
    finally:
        await spare.close()
    await pool.execute(f'ALTER DATABASE "{database_name(spare_database)}" SET default_transaction_read_only = on')
    read_only = await create_pool(spare_database, size=2)
    app = create_app(settings, pool=read_only, queue=queue, model=model, gazetteer=gazetteer)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            feed = await client.get("/api/v1/triage", headers={"authorization": f"Bearer {token}"})
            assert feed.status_code == 200, feed.text
    finally:
        await read_only.close()


async def test_connections_to_a_server_that_takes_no_writes_are_not_kept(
    settings: Settings, pool: asyncpg.Pool, spare_database: str, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """After a failover the pool's connections may still reach the server that takes no writes (the old primary, read
    only), while a new connection reaches the one that does (a DATABASE_URL naming both hosts with
    target_session_attrs=read-write, a proxy that moved). A request told that nothing was stored closes its connection,
    so that the next one gets a new connection: kept, it answered 503 to every request until it sat idle for five
    minutes, which under traffic it never does, and someone had to restart the API."""
    name = database_name(spare_database)
    await pool.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    stale = await create_pool(spare_database, size=1)  # its one connection opened while the server took no writes
    await pool.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
    app = create_app(settings, pool=stale, queue=queue, model=model, gazetteer=gazetteer)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            assert (await client.post("/api/v1/items", json=ITEM)).status_code == 503
            response = await client.post("/api/v1/items", json=ITEM)
            assert response.status_code == 201, response.text
            assert (await client.get("/readyz")).json()["postgres"] is True
    finally:
        await stale.close()


async def test_a_full_disk_gives_503_not_500(
    settings: Settings, pool: asyncpg.Pool, spare_database: str, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """PostgreSQL's disk is full ("could not extend file", 53100): nothing was stored, and the sender is told to send
    again later rather than that the service broke. The error is raised by a trigger here, as the server raises it
    when a table cannot grow."""
    spare = await create_pool(spare_database, size=2)
    await spare.execute(
        "CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'could not extend file' USING ERRCODE = 'disk_full'; END $$;"
        "CREATE TRIGGER disk_full BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION disk_full()"
    )
    app = create_app(settings, pool=spare, queue=queue, model=model, gazetteer=gazetteer)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            page = await nothing_stored(client)
            assert f">\n{ITEM['text']}</textarea>" in page.text
    finally:
        await spare.close()


async def test_a_statement_the_server_cancels_gives_503_not_500(client: Any, pool: asyncpg.Pool) -> None:
    """A statement PostgreSQL cancels (an administrator's pg_cancel_backend, a statement_timeout or lock_timeout set on
    the server, here while a migration holds the table) has stored nothing: the sender is told to retry."""
    async with pool.acquire() as migration, migration.transaction():
        await migration.execute("LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
        posting = asyncio.ensure_future(client.post("/api/v1/items", json=ITEM))
        waiting = None
        while waiting is None:
            await asyncio.sleep(0.05)
            waiting = await pool.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        assert await pool.fetchval("SELECT pg_cancel_backend($1)", waiting)
        response = await posting
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"].isdigit()
    assert await pool.fetchval("SELECT count(*) FROM items") == 0


async def test_a_lock_the_server_gives_up_waiting_for_gives_503_not_500(
    settings: Settings, pool: asyncpg.Pool, spare_database: str, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """A lock_timeout set on the server: the statement gives up waiting for a lock a migration holds."""
    await pool.execute(f'ALTER DATABASE "{database_name(spare_database)}" SET lock_timeout = 200')
    spare = await create_pool(spare_database, size=2)
    app = create_app(settings, pool=spare, queue=queue, model=model, gazetteer=gazetteer)
    try:
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
            spare.acquire() as migration,
            migration.transaction(),
        ):
            await migration.execute("LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
            response = await client.post("/api/v1/items", json=ITEM)
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"].isdigit()
    finally:
        await spare.close()


async def test_the_api_takes_items_without_a_model_and_is_ready_once_it_is_in_place(
    settings: Settings,
    pool: asyncpg.Pool,
    queue: ArqRedis,
    model: Any,
    gazetteer: Any,
    staff: dict[str, str],
    tmp_path: Path,
) -> None:
    """The serving model is missing or unreadable when the API starts (a promotion half done, a volume not mounted
    yet): intake needs no model, so residents' items are taken all the same and wait for a worker; /readyz says what
    is missing, and is satisfied once the model is in place, without a restart."""
    from ml.serving import ensure_default_model

    folder = tmp_path / "model"
    app = create_app(
        msgspec.structs.replace(settings, model_dir=str(folder)), pool=pool, queue=queue, gazetteer=gazetteer
    )
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        assert (await client.post("/api/v1/items", json=ITEM)).status_code == 201
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["model"] is None
        # The feed's topics are the model's: asked for by topic, it says to retry rather than fail.
        by_topic = await client.get("/api/v1/triage", params={"topic": "城乡建设"}, headers=staff)
        assert by_topic.status_code == 503, by_topic.text
        assert by_topic.headers["retry-after"].isdigit()
        assert (await client.get("/api/v1/triage", headers=staff)).status_code == 200

        shutil.copytree(ensure_default_model(), folder)
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["model"] == model.version
        assert (await client.get("/api/v1/triage", params={"topic": "城乡建设"}, headers=staff)).status_code == 200


async def test_a_postgresql_fallen_silent_is_a_503_once_the_statement_times_out(
    settings: Settings, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """PostgreSQL's host vanishes without closing anything (a failover, a partition): the statement in hand times
    out, and the sender hears 503 then, not only after the pool has waited as long again to reset a connection whose
    server is gone."""
    timeout = 3.0
    link = Link(settings.database_url)
    linked = await asyncpg.create_pool(
        await link.start(), min_size=1, max_size=1, command_timeout=timeout, init=init_connection
    )
    app = create_app(settings, pool=linked, queue=queue, model=model, gazetteer=gazetteer)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            link.silence()
            started = time.monotonic()
            response = await client.post("/api/v1/items", json=ITEM)
            waited = time.monotonic() - started
            assert response.status_code == 503, response.text
            assert waited < timeout * 1.5, f"answered after {waited:.1f} s"
            # A new connection reaches the server that is there now.
            assert (await client.post("/api/v1/items", json=ITEM)).status_code == 201
    finally:
        await linked.close()
        await link.close()


async def test_a_postgresql_gone_silent_is_a_503_within_seconds_when_a_connection_must_be_opened(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """PostgreSQL's host is gone and nothing answers in its place: a request that needs a new connection (the pool's
    last one was closed) hears 503 within seconds, not after asyncpg's default minute of waiting to connect."""
    link = Link(settings.database_url)
    linked = await create_pool(await link.start(), size=1)
    app = create_app(settings, pool=linked, queue=queue, model=model, gazetteer=gazetteer)
    try:
        async with linked.acquire() as conn:
            backend = conn.get_server_pid()
        link.silence(new_ones_too=True)
        await linked.expire_connections()  # the pool opens a new connection for the next request
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            started = time.monotonic()
            try:
                response = await asyncio.wait_for(client.post("/api/v1/items", json=ITEM), 20)
            except TimeoutError:
                pytest.fail("no answer within 20 s")
            waited = time.monotonic() - started
        assert response.status_code == 503, response.text
        assert waited < 10, f"answered after {waited:.1f} s"
    finally:
        await pool.fetchval("SELECT pg_terminate_backend($1)", backend)
        linked.terminate()
        await link.close()


@asynccontextmanager
async def through_a_link(
    settings: Settings, queue: ArqRedis, model: Any, gazetteer: Any
) -> AsyncIterator[tuple[Link, Any]]:
    """A client of the app whose pool, as the service builds it (suggestions.db.create_pool), reaches PostgreSQL
    through a link the test can silence."""
    link = Link(settings.database_url)
    linked = await create_pool(await link.start(), size=2)
    app = create_app(settings, pool=linked, queue=queue, model=model, gazetteer=gazetteer)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            assert (await client.get("/readyz")).status_code == 200  # both connections open
            yield link, client
    finally:
        linked.terminate()
        await link.close()


async def timed(request: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    try:
        response = await asyncio.wait_for(request, 90)
    except TimeoutError:
        pytest.fail("no answer within 90 s")
    return response, time.monotonic() - started


async def test_a_postgresql_gone_silent_is_a_503_within_seconds_for_senders_and_staff(
    settings: Settings, queue: ArqRedis, model: Any, gazetteer: Any, staff: dict[str, str], monitor: dict[str, str]
) -> None:
    """PostgreSQL's host vanishes without closing anything: a resident's item, an operator's call, a staff request and
    the readiness probe each answer 503 within seconds, and the scraper reads its numbers marked unknown. The
    statements a request sends take milliseconds on a server that answers; waiting the half minute a slow staff query
    may take kept the sender and the load balancer waiting (a staff call a whole minute: its token was looked up, then
    the lost connection reset)."""
    async with through_a_link(settings, queue, model, gazetteer) as (link, client):
        assert (await client.get("/metrics", headers=monitor)).status_code == 200
        link.silence(new_ones_too=True)
        scrape, waited = await timed(client.get("/metrics", headers=monitor))
        assert scrape.status_code == 200, scrape.text
        assert "suggestions_items_waiting -1.0" in scrape.text
        assert waited < 10, f"/metrics: {waited:.1f} s"
        for request, within in (
            (client.get("/readyz"), 4),
            (client.post("/api/v1/items", json=ITEM), 10),
            (client.get("/api/v1/triage", headers=staff), 10),
            (client.post("/submit", data={"text": ITEM["text"]}), 10),
        ):
            response, waited = await timed(request)
            assert response.status_code == 503, response.text
            assert waited < within, f"{response.request.method} {response.request.url.path}: {waited:.1f} s"


async def test_a_staff_step_waiting_for_a_lock_is_not_cut_short(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any, staff: dict[str, str]
) -> None:
    """A staff step that waits on a busy server (another transaction holding the item) is not taken for an outage."""
    async with through_a_link(settings, queue, model, gazetteer) as (_, client):
        created = (await client.post("/api/v1/items", json=ITEM)).json()
        await pool.execute("UPDATE items SET status = 'open' WHERE id = $1", created["id"])
        async with pool.acquire() as other, other.transaction():
            await other.execute("SELECT 1 FROM items WHERE id = $1 FOR UPDATE", created["id"])
            assigning = asyncio.ensure_future(
                client.post(f"/api/v1/items/{created['id']}/assign", json={"to": "城管科"}, headers=staff)
            )
            await asyncio.sleep(7)
        response, _ = await timed(assigning)
        assert response.status_code == 200, response.text


async def test_a_commit_whose_answer_never_came_is_answered_as_it_ended(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """The commit reaches PostgreSQL and its answer never comes back within the residents' statement time (the
    server's host lost just then, a commit that waited for a standby and was cancelled after it committed locally):
    the item is stored, and the sender is told so with its tracking code. Told 503, "nothing was saved", a sender sends
    it again, and without an Idempotency-Key it is stored twice. A transaction whose commit never reached the server
    is still a 503 with nothing stored."""
    link = Link(settings.database_url)
    url = await link.start()
    linked = await create_pool(url, size=1)
    app = create_app(
        msgspec.structs.replace(settings, database_url=url), pool=linked, queue=queue, model=model, gazetteer=gazetteer
    )
    texts = ["路口的红绿灯坏了三天。", "小区门口的井盖丢了。", "楼下的路灯一直不亮。", "楼道里堆满了杂物。"]
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            answers = []
            for text, headers, silent_after in (
                (texts[0], {"Idempotency-Key": "commit-unanswered"}, b"COMMIT"),
                (texts[1], {}, texts[1].encode()),  # one statement, committed as it ends
                (texts[2], {"Idempotency-Key": "commit-never-sent"}, texts[2].encode()),
            ):
                link.silence_when_sent = silent_after
                answers.append(await client.post("/api/v1/items", json={**ITEM, "text": text}, headers=headers))
                assert link.silence_when_sent is None
            # The resident's form, its page's token its key.
            link.silence_when_sent = b"COMMIT"
            page = await client.post("/submit", data={"text": texts[3], "submission": "a-form-whose-answer-was-lost"})
    finally:
        await linked.close()
        await link.close()
    stored = {row["text"]: row for row in await pool.fetch("SELECT text, id, tracking_code FROM items")}
    for answer, text in zip(answers[:2], texts, strict=False):
        assert answer.status_code == 201, answer.text
        assert answer.json()["tracking_code"] == stored[text]["tracking_code"]
    assert answers[2].status_code == 503, answers[2].text
    assert answers[2].headers["retry-after"].isdigit()
    assert page.status_code == 201, page.text
    assert stored[texts[3]]["tracking_code"] in page.text
    assert set(stored) == {*texts[:2], texts[3]}


async def test_a_commit_whose_outcome_cannot_be_told_says_so(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any, client: httpx.AsyncClient
) -> None:
    """The commit went unanswered and PostgreSQL cannot be asked whether it took (its host gone just then): the
    sender is told that the item may be stored and to send it again as it was, not that nothing was saved. Sent again
    once PostgreSQL answers, it is the item stored, once. A transaction that fell silent before its commit was sent
    stored nothing, and says so."""
    link = Link(settings.database_url)
    linked = await create_pool(await link.start(), size=1)
    unreachable = msgspec.structs.replace(settings, database_url=f"postgresql://postgres@127.0.0.1:{DEAD_PORT}/x")
    app = create_app(unreachable, pool=linked, queue=queue, model=model, gazetteer=gazetteer)
    key = {"Idempotency-Key": "outcome-unknown"}
    form = {"text": "楼道里堆满了杂物。", "submission": "a-form-whose-outcome-is-unknown"}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as lost:
            link.silence_when_sent = b"COMMIT"
            answer = await lost.post("/api/v1/items", json=ITEM, headers=key)
            link.silence_when_sent = b"COMMIT"
            page = await lost.post("/submit", data=form)
            link.silence_when_sent = "路灯又坏了".encode()  # its statement, before its transaction commits
            cut = await lost.post(
                "/api/v1/items", json={**ITEM, "text": "路灯又坏了"}, headers={"Idempotency-Key": "cut"}
            )
    finally:
        await linked.close()
        await link.close()
    assert (answer.status_code, cut.status_code) == (503, 503), (answer.text, cut.text)
    assert "may have been saved" in answer.json()["detail"]
    assert cut.json()["detail"].startswith("Nothing was saved")
    assert answer.headers["retry-after"].isdigit()
    assert page.status_code == 503
    assert "不能确定" in page.text
    assert form["text"] in page.text
    again = await client.post("/api/v1/items", json=ITEM, headers=key)
    page_again = await client.post("/submit", data=form)
    stored = {row["text"]: row["tracking_code"] for row in await pool.fetch("SELECT text, tracking_code FROM items")}
    assert again.status_code == 200, again.text
    assert again.json()["tracking_code"] == stored[ITEM["text"]]
    assert page_again.status_code == 200
    assert stored[form["text"]] in page_again.text
    assert len(stored) == 2


async def test_postgres_down_a_rating_lands_on_the_word_that_it_was_not_saved(
    settings: Settings, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """On a phone with large text the look-up box fills the top of the page: a resident who tapped 满意 and saw it
    would take the rating as given. Every rating form goes to what the page answers it with."""
    rating = {"code": "ABCD-EFGH-JKMN", "closed_at": "2026-11-28T09:30:00+00:00", "rating": "satisfied"}
    async with without_postgres(settings, queue, model, gazetteer) as client:
        page = (await client.post("/track/rate", data=rating)).text
    said = re.search(r'<p [^>]*id="said"[^>]*>([^<]*)</p>', page)
    assert said is not None
    assert "没有保存" in said.group(1)
    assert re.findall(r'<form method="post" action="(/track/rate[^"]*)"', page) == ["/track/rate#said"]
