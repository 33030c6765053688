"""Staff's pages and the console open to a valid sign-in only, whichever page: the check is the areas' own, not each
page's, so a page added later is signed in too."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import get, post
from litestar.routes import HTTPRoute

from suggestions import areas, staff_web
from suggestions.app import create_app
from suggestions.auth import create_token, hash_token
from suggestions.signin import form_key

SECRET = "只有工作人员能看到的内容"
# Where a browser without a sign-in must be let in: signing in, and signing out.
OPEN_PAGES = {"/staff/login", "/staff/logout", "/console/login", "/console/logout"}


@get("/staff/forgotten", include_in_schema=False)
async def forgotten_page() -> str:
    return SECRET


@post("/console/forgotten", include_in_schema=False, status_code=200)
async def forgotten_form() -> str:
    return SECRET


@pytest.fixture
async def app_with_new_pages(
    settings: Any, pool: Any, queue: Any, model: Any, gazetteer: Any, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    # Pages written without a word about signing in, as a new page might be.
    monkeypatch.setattr(staff_web, "routes", [*staff_web.routes, forgotten_page, forgotten_form])
    app = create_app(settings, pool=pool, queue=queue, model=model, gazetteer=gazetteer)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


async def test_a_page_added_without_a_check_of_its_own_still_asks_for_a_sign_in(
    app_with_new_pages: httpx.AsyncClient,
) -> None:
    page = await app_with_new_pages.get("/staff/forgotten")
    assert page.status_code == 303
    assert page.headers["location"] == "/staff/login?next=%2Fstaff%2Fforgotten"
    form = await app_with_new_pages.post("/console/forgotten", headers={"referer": "http://testserver/console"})
    assert form.status_code == 303
    assert form.headers["location"] == "/console/login?next=%2Fconsole"
    assert SECRET not in page.text + form.text


def _area_routes(settings: Any, pool: Any, queue: Any, model: Any, gazetteer: Any) -> list[tuple[str, str]]:
    app = create_app(settings, pool=pool, queue=queue, model=model, gazetteer=gazetteer)
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or areas.signed_in_area(route.path) is None:
            continue
        # Every path parameter of these pages is a number or an action's name.
        path = re.sub(r"\{[^}:]+:int\}", "1", route.path)
        path = re.sub(r"\{[^}]+\}", "assign", path)
        found += [(method, path) for method in sorted(route.methods) if method not in ("HEAD", "OPTIONS")]
    return found


async def test_no_page_of_staff_or_the_console_answers_without_a_valid_sign_in(
    client: Any, pool: Any, settings: Any, queue: Any, model: Any, gazetteer: Any
) -> None:
    pages = _area_routes(settings, pool, queue, model, gazetteer)
    assert {path for _, path in pages} >= {
        "/staff",
        "/staff/items/1",
        "/staff/hotspots",
        "/staff/tokens",
        "/staff/tokens/1/revoke",
        "/console",
    }
    async with pool.acquire() as conn:
        revoked = await create_token(conn, role="staff")
        operator = await create_token(conn, role="operator")
        staff = await create_token(conn, role="staff")
    await pool.execute("UPDATE api_tokens SET revoked_at = now() WHERE token_hash = $1", hash_token(revoked))
    # Each area's cookie with a token it refuses: none, unknown, revoked, of a role of the other area, and the other
    # area's cookie with a token that area takes.
    cookies: list[dict[str, str]] = [
        {},
        {"staff_token": "sgt_unknown", "console_token": "sgt_unknown"},
        {"staff_token": revoked, "console_token": revoked},
        {"staff_token": operator, "console_token": staff},
    ]
    for method, path in pages:
        if path in OPEN_PAGES:
            continue
        for jar in cookies:
            client.cookies.clear()
            for name, value in jar.items():
                client.cookies.set(name, value)
            # A form with words in it, as a form sent signed out has; the console keeps them and asks for the token.
            data = {"text": "电梯坏了", "to": "城管科", "answer": "已修好"} if method == "POST" else None
            response = await client.request(method, path, data=data)
            where = f"{method} {path} with {sorted(jar)}"
            if response.status_code == 303:
                area = areas.signed_in_area(path)
                assert response.headers["location"].startswith(f"{area}/login"), where
                continue
            # Only the console's call, which asks for the token by the call typed so as not to lose it.
            assert (method, path, response.status_code) == ("POST", "/console", 401), where
            assert 'name="token"' in response.text, where
    assert await pool.fetchval("SELECT count(*) FROM items") == 0


@pytest.fixture
async def https_client(
    settings: Any, pool: Any, queue: Any, model: Any, gazetteer: Any
) -> AsyncIterator[httpx.AsyncClient]:
    # As uvicorn sees a request over HTTPS, or from a proxy it trusts (FORWARDED_ALLOW_IPS) that says so.
    app = create_app(settings, pool=pool, queue=queue, model=model, gazetteer=gazetteer)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://zzzx.example.gov.cn") as client:
        yield client


def _attributes(set_cookie: str) -> dict[str, str]:
    pairs = (part.strip().partition("=") for part in set_cookie.split(";"))
    return {name.lower(): value for name, _, value in pairs}


async def test_over_https_the_sign_ins_are_host_only_cookies_that_a_sibling_site_cannot_set(
    https_client: httpx.AsyncClient, pool: Any
) -> None:
    async with pool.acquire() as conn:
        staff = await create_token(conn, role="staff")
        operator = await create_token(conn, role="operator")
    signed = await https_client.post("/staff/login", data={"token": staff, "next": "/staff"})
    assert signed.status_code == 303
    cookie = _attributes(signed.headers["set-cookie"])
    assert cookie["__host-staff_token"] == staff
    assert cookie["path"] == "/"
    assert "secure" in cookie
    assert "domain" not in cookie
    assert (await https_client.get("/staff")).status_code == 200
    # The cookie goes to every page of the site, and opens staff's only.
    assert (await https_client.get("/console")).status_code == 303
    console = await https_client.post("/console/login", data={"token": operator, "next": "/console"})
    assert _attributes(console.headers["set-cookie"])["__host-console_token"] == operator
    assert (await https_client.get("/console")).status_code == 200
    assert (await https_client.get("/staff")).status_code == 200

    # A cookie of the plain name, which a page of another subdomain could set for the whole domain, signs nobody in.
    https_client.cookies.clear()
    https_client.cookies.set("staff_token", staff, domain=".example.gov.cn")
    https_client.cookies.set("console_token", operator, domain=".example.gov.cn")
    assert (await https_client.get("/staff")).status_code == 303
    assert (await https_client.get("/console")).status_code == 303

    # Signing out, and a revoked token, forget the host-only cookie.
    https_client.cookies.clear()
    await https_client.post("/staff/login", data={"token": staff, "next": "/staff"})
    await pool.execute("UPDATE api_tokens SET revoked_at = now() WHERE token_hash = $1", hash_token(staff))
    out = await https_client.get("/staff")
    assert out.status_code == 303
    gone = _attributes(out.headers["set-cookie"])
    assert "__host-staff_token" in gone
    assert gone["path"] == "/"
    assert "secure" in gone


async def test_behind_a_proxy_uvicorn_does_not_trust_the_sign_in_is_still_host_only(client: Any, pool: Any) -> None:
    """FORWARDED_ALLOW_IPS not set to the proxy's address: uvicorn leaves the scheme http and the proxy's word in the
    header. The cookie follows the header, which only the browser's own sign-in depends on (a browser that lied would
    refuse its own cookie), rather than lose Secure."""
    async with pool.acquire() as conn:
        staff = await create_token(conn, role="staff")
    https = {"x-forwarded-proto": "https"}
    signed = await client.post("/staff/login", data={"token": staff, "next": "/staff"}, headers=https)
    cookie = _attributes(signed.headers["set-cookie"])
    assert cookie["__host-staff_token"] == staff
    assert "secure" in cookie
    client.cookies.clear()
    client.cookies.set("__Host-staff_token", staff)
    assert (await client.get("/staff", headers=https)).status_code == 200
    assert (await client.get("/staff")).status_code == 303  # over plain HTTP, the plain name


async def test_signing_out_over_https_forgets_a_sign_in_kept_under_the_plain_name_too(
    https_client: httpx.AsyncClient, pool: Any
) -> None:
    """A browser signed in before the sign-ins were host-only keeps the token under the plain name (for /staff, until
    it closes: a shared computer at the centre stays open for days). Signing out must leave no token in it."""
    async with pool.acquire() as conn:
        staff = await create_token(conn, role="staff")
    https_client.cookies.set("staff_token", staff, domain="zzzx.example.gov.cn", path="/staff")
    await https_client.post("/staff/login", data={"token": staff, "next": "/staff"})
    assert https_client.cookies.get("__Host-staff_token") == staff
    out = await https_client.post("/staff/logout", data={"key": form_key(staff)})
    assert out.status_code == 303
    assert staff not in [cookie.value for cookie in https_client.cookies.jar]
