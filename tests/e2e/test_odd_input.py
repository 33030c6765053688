"""Input no client should send, and the clear answers it gets: never a 500, never a quiet reinterpretation."""

from __future__ import annotations

import sys
from typing import Any

import httpx
import pytest

from suggestions.privacy import contains_pii
from suggestions.settings import Settings
from tests import processes
from tests.e2e.test_api_contract import VALID, problem_fields

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
MATH_BOLD = str.maketrans("0123456789", "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗")


def _underscored(number: int) -> str:
    """The same number as Python's int() reads it, with an underscore: 75 -> "7_5", 5 -> "0_5"."""
    text = str(number)
    return f"{text[0]}_{text[1:]}" if len(text) > 1 else f"0_{text}"


@pytest.mark.parametrize(
    "spell",
    [
        pytest.param(_underscored, id="underscore"),
        pytest.param(lambda n: str(n).translate(ARABIC_INDIC), id="arabic-indic-digits"),
        pytest.param(lambda n: str(n).translate(MATH_BOLD), id="mathematical-bold-digits"),
        pytest.param(lambda n: f"%20{n}", id="leading-space"),
    ],
)
async def test_a_path_id_not_written_in_ascii_digits_is_bad_input_not_another_spelling(
    client: Any, staff: dict[str, str], spell: Any
) -> None:
    """Litestar's `{item_id:int}` is Python's int(): "7_5" would be item 75, "٣" item 3, " 1" item 1, each one more
    address of a real item (a read, a contact read that is recorded, a note, a close). As in a query string, bad
    input naming the parameter."""
    created = (await client.post("/api/v1/items", json=VALID)).json()
    response = await client.get(f"/api/v1/items/{spell(created['id'])}", headers=staff)
    assert response.status_code == 422, f"{response.status_code}: {response.text[:200]}"
    assert problem_fields(response) == {"item_id"}


async def test_an_idempotency_key_too_long_is_a_422_naming_the_header(client: Any) -> None:
    """Named as the caller sent it, not as the handler's argument (idempotency_key)."""
    response = await client.post("/api/v1/items", json=VALID, headers={"Idempotency-Key": "k" * 201})
    assert response.status_code == 422, response.text
    assert problem_fields(response) == {"Idempotency-Key"}


async def test_an_idempotency_key_sent_twice_is_bad_input(client: Any, pool: Any) -> None:
    """Two Idempotency-Key headers: keeping one of them, a retry that sends only the other files the item again. Bad
    input, as a query parameter given twice is."""
    response = await client.post(
        "/api/v1/items",
        json=VALID,
        headers=[("Idempotency-Key", "call-0001"), ("Idempotency-Key", "call-0002")],
    )
    assert response.status_code == 422, f"{response.status_code}: {response.text[:200]}"
    assert problem_fields(response) == {"Idempotency-Key"}
    assert await pool.fetchval("SELECT count(*) FROM items") == 0


@pytest.mark.parametrize("path", ["/api/v1/items", "/api/v1/track/ABCD-EFGH-JKMN/rating"])
async def test_an_empty_json_body_is_a_400_naming_the_body(client: Any, path: str) -> None:
    """An empty body is no JSON, as a body of one space is not: 400 naming `body`, not Litestar's 422 of `'data'`."""
    response = await client.post(path, content=b"", headers={"content-type": "application/json"})
    assert response.status_code == 400, f"{response.status_code}: {response.text}"
    assert problem_fields(response) == {"body"}
    assert response.json()["errors"][0]["message"] != "'data'"


async def test_a_since_in_the_future_names_since(client: Any, staff: dict[str, str]) -> None:
    """`since` alone, after today: the field the caller got wrong, not `until`, which defaulted to today."""
    response = await client.get("/api/v1/satisfaction", params={"since": "2999-12-31"}, headers=staff)
    assert response.status_code == 422, response.text
    assert problem_fields(response) == {"since"}


async def test_an_unknown_path_under_the_api_docs_is_problem_details(client: Any) -> None:
    """Every /api answer is problem details, Litestar's own HTML 404 page under the docs included."""
    response = await client.get("/api/docs/no-such-page")
    assert response.status_code == 404
    problem_fields(response)


def test_suggestions_serve_writes_no_access_log(settings: Settings) -> None:
    """No access log: it would hold residents' addresses and the paths they asked for, tracking codes and
    `/track?code=` look-ups included. The app factory runs after uvicorn set up its loggers, and must not turn it on
    again."""
    port = processes.free_port()
    server = processes.Process(
        "serve",
        [sys.executable, "-m", "suggestions.cli", "serve", "--port", str(port)],
        processes.service_env(settings),
    )
    with processes.running(server):
        processes.wait_until(
            lambda: processes._answers(f"http://127.0.0.1:{port}/healthz"), timeout=30, what="serve to start"
        )
        created = httpx.post(f"http://127.0.0.1:{port}/api/v1/items", json=VALID, timeout=10).json()
        code = created["tracking_code"]
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/track/{code}", timeout=10).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/track", params={"code": code}, timeout=10).status_code == 200
    output = server.output()
    assert "uvicorn.access" not in output
    assert code not in output


@pytest.mark.parametrize("origin", ["http://[::1", "http://[", "http://[zz]", "http://a]b"])
async def test_an_origin_that_is_no_url_is_refused_not_a_500(client: Any, pool: Any, origin: str) -> None:
    """An Origin urlsplit cannot read (an unbalanced bracket) is no page of the service's: refused as from another
    site (403) on every tokenless post, never a 500."""
    response = await client.post("/api/v1/items", json=VALID, headers={"Origin": origin})
    assert response.status_code in (400, 403), f"{response.status_code}: {response.text[:200]}"
    problem_fields(response)
    rating = await client.post(
        "/api/v1/track/ABCD-EFGH-JKMN/rating", json={"rating": "satisfied"}, headers={"Origin": origin}
    )
    assert rating.status_code in (400, 403, 404), f"{rating.status_code}: {rating.text[:200]}"
    assert await pool.fetchval("SELECT count(*) FROM items") == 0


@pytest.mark.parametrize(
    ("path", "data"),
    [("/submit", {"text": VALID["text"]}), ("/track/rate", {"code": "ABCD-EFGH-JKMN", "rating": "satisfied"})],
)
async def test_a_resident_form_with_an_origin_that_is_no_url_is_refused_not_a_500(
    client: Any, pool: Any, path: str, data: dict[str, str]
) -> None:
    """The same on the residents' pages, not the 500 page (系统出错了). An unknown code on the rating form shows its
    not-found page and rates nothing, from whatever page it came."""
    response = await client.post(path, data=data, headers={"Origin": "http://[::1"})
    assert response.status_code in (400, 403, 404), response.status_code
    assert "系统出错了" not in response.text
    assert await pool.fetchval("SELECT count(*) FROM items") == 0


@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param("/api/v1/items", {"channel": "13812345678", "text": "楼道灯不亮"}, id="enum"),
        pytest.param(
            "/api/v1/items", {"channel": "web", "text": "楼道灯不亮", "kind": "电话 138 1234 5678"}, id="kind"
        ),
        pytest.param("/api/v1/items", {"channel": "web", "text": "楼道灯不亮", "13812345678": "张三"}, id="field-name"),
        pytest.param("/api/v1/track/ABCD-EFGH-JKMN/rating", {"rating": "110101199003071233"}, id="rating"),
    ],
)
async def test_bad_input_is_named_without_quoting_a_personal_number(
    client: Any, path: str, body: dict[str, Any]
) -> None:
    """A phone or an ID in the wrong field is refused without being sent back: callers log the problems they get."""
    answer = await client.post(path, json=body)
    assert answer.status_code == 422, answer.text
    assert not contains_pii(answer.text)
    assert problem_fields(answer) in ({"channel"}, {"kind"}, {"[手机号]"}, {"rating"})
