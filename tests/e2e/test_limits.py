"""Rate limits: 429 with Retry-After, counted in Redis so that every API process shares one count."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
from arq.connections import ArqRedis

from suggestions import ratelimit
from suggestions.app import create_app
from suggestions.auth import create_token
from suggestions.settings import Settings
from tests import processes

ITEM = {"channel": "web", "text": "小区门口的路灯坏了一个多星期，晚上回家很黑。"}


@asynccontextmanager
async def app_client(
    settings: Settings, pool: asyncpg.Pool, queue: Any, model: Any, gazetteer: Any, base_url: str = "http://testserver"
) -> AsyncIterator[Any]:
    app = create_app(settings, pool=pool, queue=queue, model=model, gazetteer=gazetteer)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as client:
            yield client
    finally:
        await app.state.limiter.close()


async def test_anonymous_submissions_are_limited_per_address(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    limited = msgspec_replace(settings, rate_limit_public="3/minute")
    async with app_client(limited, pool, queue, model, gazetteer) as client:
        statuses = [(await client.post("/api/v1/items", json=ITEM)).status_code for _ in range(3)]
        assert statuses == [201, 201, 201]
        refused = await client.post("/api/v1/items", json=ITEM)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["status"] == 429
        # The resident form shares the count and answers with a page in Chinese, not JSON: the form itself, filled
        # in as it was sent, not a page that leaves the words to the phone's back key.
        page = await client.post("/submit", data={"text": ITEM["text"], "place": "回龙观街道", "submission": "b" * 22})
        assert page.status_code == 429
        assert 1 <= int(page.headers["retry-after"]) <= 60
        assert page.headers["content-type"].startswith("text/html")
        assert "分钟后再点“提交”" in page.text
        assert "您写的内容还在" in page.text
        assert "12345" in page.text
        assert f">\n{ITEM['text']}</textarea>" in page.text
        assert 'value="回龙观街道"' in page.text
        assert 'name="submission" value="' + "b" * 22 in page.text
        # Reading is not submitting.
        assert (await client.get("/healthz")).status_code == 200
    assert await pool.fetchval("SELECT count(*) FROM items") == 3


async def test_each_token_has_its_own_count_and_tokens_are_not_held_to_the_public_limit(
    settings: Settings,
    pool: asyncpg.Pool,
    queue: ArqRedis,
    model: Any,
    gazetteer: Any,
    operator: dict[str, str],
    staff: dict[str, str],
) -> None:
    limited = msgspec_replace(settings, rate_limit_public="1/minute", rate_limit_token="4/minute")
    hotline = {**ITEM, "channel": "hotline"}
    async with app_client(limited, pool, queue, model, gazetteer) as client:
        statuses = [(await client.post("/api/v1/items", json=hotline, headers=operator)).status_code for _ in range(5)]
        assert statuses == [201, 201, 201, 201, 429]
        # Another token from the same address still has its whole allowance.
        assert (await client.get("/api/v1/triage", headers=staff)).status_code == 200
        # Invented tokens count against the address, and are refused as unknown.
        assert (await client.get("/api/v1/triage", headers={"Authorization": "Bearer sgt_invented"})).status_code == 401


async def test_redis_keys_are_keyed_with_the_installation_secret(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """Whoever reads Redis cannot tell which addresses wrote in by hashing every IPv4 address: the keys are HMACs
    with a secret that only PostgreSQL holds."""
    limited = msgspec_replace(settings, rate_limit_public="3/minute")
    async with app_client(limited, pool, queue, model, gazetteer) as client:
        assert (await client.post("/api/v1/items", json=ITEM)).status_code == 201
    secret = bytes(await pool.fetchval("SELECT secret FROM rate_limit_secret"))
    assert len(secret) == 32
    keys = [key.decode() for key in await queue.keys(f"{settings.queue_name}:limits*")]
    # ASGITransport's client address, as the public limit counts it.
    assert any(ratelimit._key("public", "127.0.0.1", secret) in key for key in keys), keys
    unkeyed = base64.b32encode(hashlib.sha256(b"127.0.0.1").digest()[:15]).decode().lower()
    assert not any(unkeyed in key for key in keys)


async def test_a_dead_redis_lets_intake_through(
    settings: Settings, pool: asyncpg.Pool, model: Any, gazetteer: Any
) -> None:
    dead = f"redis://127.0.0.1:{processes.free_port()}/0"
    limited = msgspec_replace(settings, redis_url=dead, rate_limit_public="1/minute")
    dead_queue = ArqRedis(host="127.0.0.1", port=int(dead.rsplit(":", 1)[1].split("/")[0]), socket_connect_timeout=0.5)
    async with app_client(limited, pool, dead_queue, model, gazetteer) as client:
        statuses = [(await client.post("/api/v1/items", json=ITEM)).status_code for _ in range(3)]
    await dead_queue.aclose()
    assert statuses == [201, 201, 201]


def test_the_count_is_shared_by_api_processes(settings: Settings, model: Any) -> None:
    """Two uvicorn processes, one Redis: together they accept the limit once, not once each."""
    limited = msgspec_replace(settings, rate_limit_public="6/minute")
    ports = [processes.free_port(), processes.free_port()]
    servers = [processes.api(limited, port, name=f"api-{i}") for i, port in enumerate(ports)]
    with processes.running(*servers):
        statuses = [
            httpx.post(f"http://127.0.0.1:{ports[i % 2]}/api/v1/items", json=ITEM, timeout=10).status_code
            for i in range(10)
        ]
    assert statuses.count(201) == 6, statuses
    assert statuses[6:] == [429] * 4


def msgspec_replace(settings: Settings, **changes: Any) -> Settings:
    import msgspec

    return msgspec.structs.replace(settings, **changes)


async def test_a_flood_over_the_address_limit_is_answered_without_reading_it(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """Only the submission limit, which residents sharing an address may reach, gives the form back filled in; past
    the per-address limit a client is flooding, and gets the short page, its body never parsed nor rendered."""
    limited = msgspec_replace(settings, rate_limit_address="2/minute")
    async with app_client(limited, pool, queue, model, gazetteer) as client:
        statuses = [(await client.post("/submit", data={"text": f"路灯坏了{n}"})).status_code for n in range(2)]
        assert statuses == [201, 201]
        flood = await client.post("/submit", data={"text": "路灯坏了"})
        assert flood.status_code == 429
        assert "提交太频繁了" in flood.text
        assert 'action="/submit"' not in flood.text


async def test_a_look_up_or_a_rating_over_the_limit_is_told_which_button_to_tap_again(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """A resident looking a code up is not told to tap 提交, a button the look-up page does not have."""
    limited = msgspec_replace(settings, rate_limit_address="1/minute")
    async with app_client(limited, pool, queue, model, gazetteer) as client:
        assert (await client.post("/track", data={"code": "ABCD-EFGH-JKMN"})).status_code == 404
        look_up = await client.post("/track", data={"code": "ABCD-EFGH-JKMN"})
        rating = await client.post("/track/rate", data={"code": "ABCD-EFGH-JKMN", "rating": "satisfied"})
    assert look_up.status_code == rating.status_code == 429
    assert "查询太频繁了" in look_up.text
    assert "再点“查询”" in look_up.text
    assert "提交" not in look_up.text
    assert "评价太频繁了" in rating.text
    assert "您写的内容还在" in rating.text


NEIGHBOURS = ["6号楼停水两天了", "7号楼也停水了", "3单元没有水", "停水了什么时候来水", "小区停水老人没法做饭"]


@asynccontextmanager
async def browsers(
    settings: Settings, pool: asyncpg.Pool, queue: Any, model: Any, gazetteer: Any, address: str = "100.64.0.7"
) -> AsyncIterator[Any]:
    """A factory of browsers, each with its own cookies, all behind one address (a carrier's CGNAT)."""
    app = create_app(settings, pool=pool, queue=queue, model=model, gazetteer=gazetteer)
    clients: list[httpx.AsyncClient] = []

    def browser(at: str = address) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(at, 40000 + len(clients)))
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://testserver"))
        return clients[-1]

    try:
        yield browser
    finally:
        for client in clients:
            await client.aclose()
        await app.state.limiter.close()


async def test_residents_behind_one_address_each_have_their_own_submission_limit(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """Carriers put a neighbourhood's phones behind one address: residents writing about the same burst problem are
    not refused because their neighbours wrote first. Each browser keeps its own limit; the address has a ceiling."""
    limited = msgspec_replace(settings, rate_limit_public="2/minute", rate_limit_public_address="6/minute")
    async with browsers(limited, pool, queue, model, gazetteer) as browser:
        residents = [browser() for _ in NEIGHBOURS]
        for resident in residents:
            form = await resident.get("/")
            assert form.status_code == 200
        statuses = [
            (await r.post("/submit", data={"text": text})).status_code
            for r, text in zip(residents, NEIGHBOURS, strict=True)
        ]
        assert statuses == [201] * len(NEIGHBOURS)
        # One browser is still held to its own limit.
        assert (await residents[0].post("/submit", data={"text": "还是没有水"})).status_code == 201
        again = await residents[0].post("/submit", data={"text": "还是没有水，急"})
        assert again.status_code == 429
        assert "您写的内容还在" in again.text
        # Past the address's ceiling (six), a new browser is refused too, its form given back filled in.
        late = browser()
        await late.get("/")
        refused = await late.post("/submit", data={"text": "我家也停水"})
        assert refused.status_code == 429
        assert ">\n我家也停水</textarea>" in refused.text
    assert await pool.fetchval("SELECT count(*) FROM items") == 6


async def test_a_client_that_drops_or_forges_the_cookie_shares_its_address_count(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """A script that keeps no cookies, or invents one, cannot have a limit of its own per request."""
    limited = msgspec_replace(settings, rate_limit_public="2/minute", rate_limit_public_address="100/minute")
    async with browsers(limited, pool, queue, model, gazetteer) as browser:
        script = browser()
        cookie = (await script.get("/")).headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        name, _, value = cookie.split(";")[0].partition("=")
        forged = value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB")
        statuses = []
        # Each post without the cookie it was given with the last answer, or with one made up.
        for sent, text in [(None, "广告0"), (None, "广告1"), (forged, "广告2"), ("x.y", "广告3")]:
            script.cookies.clear()
            headers = {"Cookie": f"{name}={sent}"} if sent else {}
            statuses.append((await script.post("/submit", data={"text": text}, headers=headers)).status_code)
    assert statuses == [201, 201, 429, 429]


async def test_addresses_of_one_ipv6_network_share_one_count(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """A home or a phone is given a whole /64 and may pick any address in it: each is not a new client."""
    limited = msgspec_replace(settings, rate_limit_public="2/minute")
    async with browsers(limited, pool, queue, model, gazetteer) as browser:
        statuses = [
            (await browser(f"2408:8207:1:2::{n:x}").post("/api/v1/items", json=ITEM)).status_code for n in range(1, 4)
        ]
        other_home = await browser("2408:8207:1:3::1").post("/api/v1/items", json=ITEM)
        # An IPv4 address written as IPv6 (a dual-stack server's socket) is that IPv4 address.
        mapped = [
            (await browser(at).post("/api/v1/items", json=ITEM)).status_code
            for at in ("10.1.1.1", "::ffff:10.1.1.1", "10.1.1.1")
        ]
    assert statuses == [201, 201, 429]
    assert other_home.status_code == 201
    assert mapped == [201, 201, 429]


async def test_neighbours_behind_one_address_who_write_the_same_words_each_file_their_own(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """The same words from the same address within two hours were taken for one resident's form sent again by the
    back key: behind a carrier's shared address the second neighbour to write 停水了 got the first one's tracking
    code, read the first one's reply and could rate it, and was not heard. The browser tells them apart; one browser
    sending its words again still files them once."""
    limited = msgspec_replace(settings, rate_limit_public="10/minute")
    async with browsers(limited, pool, queue, model, gazetteer) as browser:
        first, second = browser(), browser()
        codes = []
        for resident, token in [(first, "a" * 22), (second, "b" * 22), (first, "c" * 22)]:
            await resident.get("/")
            sent = await resident.post("/submit", data={"text": "停水了", "submission": token})
            assert sent.status_code in (200, 201)
            codes.append((sent.status_code, re.findall(r"<span>([A-Z0-9]{4})", sent.text)))
    assert [status for status, _ in codes] == [201, 201, 200]
    assert all(shown for _, shown in codes), codes  # each page shows a tracking code
    assert codes[0][1] != codes[1][1]
    assert codes[2][1] == codes[0][1]
    assert await pool.fetchval("SELECT count(*) FROM items") == 2


async def test_guesses_at_tracking_codes_count_against_the_address_whatever_the_cookie(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """A tracking code opens an item's reply and its rating: a script that takes a new cookie for every guess still
    spends its address's requests, as neighbours' look-ups and ratings do."""
    limited = msgspec_replace(settings, rate_limit_address="4/minute")
    async with browsers(limited, pool, queue, model, gazetteer) as browser:
        statuses = []
        for guess in ["ABCD-EFGH-JKMN", "ABCD-EFGH-JKMP", "ABCD-EFGH-JKMQ", "ABCD-EFGH-JKMR", "ABCD-EFGH-JKMS"]:
            guesser = browser()
            await guesser.get("/")  # a fresh signed cookie each time
            statuses.append((await guesser.post("/track", data={"code": guess})).status_code)
        other = await browser("100.64.0.8").post("/api/v1/track", json={"code": "ABCD-EFGH-JKMT"})
    assert statuses == [404, 404, 404, 404, 429]
    assert other.status_code == 404


async def test_staff_pages_and_the_console_are_limited_by_their_sign_in_and_address(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    async with pool.acquire() as conn:
        staff = await create_token(conn, role="staff")
        other = await create_token(conn, role="staff")
    limited = msgspec_replace(settings, rate_limit_token="3/minute", rate_limit_address="8/minute")
    async with app_client(limited, pool, queue, model, gazetteer) as client:
        client.cookies.set("staff_token", staff, path="/staff")
        statuses = [(await client.get("/staff")).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        refused = await client.get("/staff/hotspots")
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert "操作太频繁了" in refused.text
        assert 'href="/staff"' in refused.text
        # The admins' token page too: a form sent past the limit creates nothing.
        created = await client.post("/staff/tokens", data={"role": "staff", "label": "限流时新建"})
        assert created.status_code == 429
        assert await pool.fetchval("SELECT count(*) FROM api_tokens WHERE label = '限流时新建'") == 0
        # Another sign-in from the same address has its own count, under the address's.
        client.cookies.set("staff_token", other, path="/staff")
        assert (await client.get("/staff")).status_code == 200
        # Signing in, with any token or none, is counted by the address: guesses at tokens end there.
        client.cookies.clear()
        statuses = [(await client.post("/console/login", data={"token": f"sgt_{n}"})).status_code for n in range(5)]
        assert 429 in statuses
        assert "回到受理台" in (await client.post("/console/login", data={"token": "sgt_x"})).text


async def test_over_https_staff_pages_are_limited_by_the_host_only_sign_in(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    async with pool.acquire() as conn:
        staff = await create_token(conn, role="staff")
    limited = msgspec_replace(settings, rate_limit_token="3/minute", rate_limit_address="8/minute")
    async with app_client(limited, pool, queue, model, gazetteer, base_url="https://zzzx.example.gov.cn") as client:
        client.cookies.set("__Host-staff_token", staff)
        statuses = [(await client.get("/staff")).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]


async def test_a_call_filed_by_signing_in_in_its_own_form_counts_against_the_token(
    settings: Settings, pool: asyncpg.Pool, queue: ArqRedis, model: Any, gazetteer: Any
) -> None:
    """The console asks for the token with a call typed once the sign-in ended (`console_web.take_call`): the token is
    in the form, not in the cookie the limits read, and that request is counted against the token all the same."""
    async with pool.acquire() as conn:
        operator = await create_token(conn, role="operator")
    limited = msgspec_replace(settings, rate_limit_token="3/minute", rate_limit_address="100/minute")
    typed = {"text": "来电人反映，龙跃苑二区路灯坏了。", "submission": "s" * 20, "do": "file", "key": "stale"}
    async with app_client(limited, pool, queue, model, gazetteer) as client:
        client.cookies.set("console_token", operator, path="/console")
        assert [(await client.get("/console")).status_code for _ in range(2)] == [200, 200]
        client.cookies.clear()
        # The token's third request of the minute: filed, and signed in.
        filed = await client.post("/console", data={**typed, "token": operator})
        assert filed.status_code == 201, filed.text
        # It was counted: the sign-in it gave is past the token's limit.
        assert (await client.get("/console")).status_code == 429
        # Signed out again, the next call sent with the token in its form is refused as well, and kept as typed.
        client.cookies.clear()
        again = {**typed, "text": "来电人反映，龙跃苑三区路灯也坏了。", "submission": "t" * 20}
        refused = await client.post("/console", data={**again, "token": operator})
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert "太频繁" in refused.text
        assert "龙跃苑三区路灯也坏了" in refused.text
        assert operator not in refused.text
        assert "console_token" not in refused.cookies
    assert await pool.fetchval("SELECT count(*) FROM items") == 1
