"""Bad input gets a clear 4xx naming the field; the public sees nothing personal; staff endpoints need staff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

VALID = {"channel": "web", "text": "小区东门的垃圾桶已经三天没人清运了，气味很大。"}


def problem_fields(response: Any) -> set[str]:
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == response.status_code
    assert body["title"]
    return {e["field"] for e in body.get("errors", [])}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**VALID, "text": ""}, "text"),
        ({**VALID, "text": "   "}, "text"),
        ({**VALID, "text": "\u200b\u3000\ufeff\n"}, "text"),  # invisible characters only: nothing was written
        ({**VALID, "text": "\u3164\u2800\ufe0f"}, "text"),  # fillers and a variation selector draw nothing either
        ({**VALID, "text": "字" * 5001}, "text"),
        ({**VALID, "text": 42}, "text"),
        ({"channel": "web"}, "text"),
        ({**VALID, "channel": "fax"}, "channel"),
        ({**VALID, "kind": "praise"}, "kind"),
        ({**VALID, "contact_phone": "12345"}, "contact_phone"),
        ({**VALID, "contact_phone": "138123456789"}, "contact_phone"),
        ({**VALID, "colour": "red"}, "colour"),
        ({**VALID, "lat": 91, "lon": 116}, "lat"),
        ({**VALID, "lat": 40.2}, "lon"),
        ({**VALID, "received_at": "2026-01-01T08:00:00+08:00"}, "received_at"),
        ({**VALID, "external_id": "no spaces allowed"}, "external_id"),
        ({**VALID, "place": "路" * 201}, "place"),
        # PostgreSQL text cannot hold NUL: refused when decoded, not a 500 from the database.
        ({**VALID, "text": "垃圾桶\x00满了"}, "text"),
        ({**VALID, "place": "城北街道\x00"}, "place"),
        ({**VALID, "contact_name": "\x00"}, "contact_name"),
        # A caller's number in the name box would be kept there whole, where names are shown as names.
        ({**VALID, "contact_name": "13912345678"}, "contact_name"),
        ({**VALID, "contact_name": "王先生 010-69712345"}, "contact_name"),
        ({**VALID, "contact_name": "110105199003071234"}, "contact_name"),
        ([VALID], "body"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(client: Any, body: Any, field: str) -> None:
    response = await client.post("/api/v1/items", json=body)
    assert response.status_code == 422, response.text
    assert field in problem_fields(response)


async def test_malformed_json_is_a_400(client: Any) -> None:
    response = await client.post(
        "/api/v1/items", content=b'{"channel": "web", "text": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert problem_fields(response) == {"body"}
    assert response.json()["title"] == "Request body is not valid JSON"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/items", b'{"channel": "web", "text": "\xff\xfe"}'),
        ("/api/v1/track/AB12-CD34/rating", b'{"rating": "satisfied", "comment": "\xff"}'),
    ],
)
async def test_a_json_body_that_is_not_utf8_is_a_400(client: Any, path: str, body: bytes) -> None:
    response = await client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert problem_fields(response) == {"body"}


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/items/9223372036854775808", "item_id"),  # past bigint: bad input, not a database error
        ("/api/v1/cases/0", "case_id"),
        # one item, one address: int() also reads these as 10, 1, 1, 3 and 1
        ("/api/v1/items/1_0", "item_id"),
        ("/api/v1/items/+1", "item_id"),
        ("/api/v1/items/01", "item_id"),
        ("/api/v1/cases/%D9%A3", "case_id"),
        ("/api/v1/items/%EF%BC%91/contact", "item_id"),
        ("/api/v1/triage?place=%00", "place"),
        ("/api/v1/items?external_id=a%20b", "external_id"),
        ("/api/v1/triage?min_risk=3&min_risk=0", "min_risk"),  # which one was meant is a guess
        ("/api/v1/triage?min_risk=0.0", "min_risk"),  # a whole number written as a decimal
        ("/api/v1/triage?limit=1e1", "limit"),
        # cursors forged with a time past what PostgreSQL holds, once in UTC: [9, "9999-12-31T23:59:59-14:00", 1]
        ("/api/v1/triage?cursor=WzksIjk5OTktMTItMzFUMjM6NTk6NTktMTQ6MDAiLDFd", "cursor"),
        ("/api/v1/triage?cursor=WzksIjAwMDEtMDEtMDFUMDA6MDA6MDArMTQ6MDAiLDFd", "cursor"),
    ],
)
async def test_a_bad_path_or_query_value_is_a_422_naming_it(
    client: Any, staff: dict[str, str], path: str, field: str
) -> None:
    response = await client.get(path, headers=staff)
    assert response.status_code == 422, response.text
    assert problem_fields(response) == {field}


async def test_a_list_filter_takes_several_values(client: Any, staff: dict[str, str]) -> None:
    response = await client.get("/api/v1/triage?status=open&status=closed", headers=staff)
    assert response.status_code == 200, response.text


async def test_ids_in_bodies_past_bigint_are_a_422(client: Any, staff: dict[str, str]) -> None:
    response = await client.post("/api/v1/cases/1/merge", json={"into": 2**63}, headers=staff)
    assert response.status_code == 422, response.text
    assert problem_fields(response) == {"into"}
    response = await client.post("/api/v1/items/1/case", json={"case_id": 2**63}, headers=staff)
    assert response.status_code == 422, response.text
    assert problem_fields(response) == {"case_id"}


async def test_an_oversized_body_is_a_413(client: Any) -> None:
    response = await client.post("/api/v1/items", json={**VALID, "text": "字" * 40_000})
    assert response.status_code == 413
    # Named as a body that is not JSON is, with the size that would do: a text pasted whole is refused saying so.
    assert problem_fields(response) == {"body"}
    assert "65536 bytes" in response.json()["errors"][0]["message"]


async def test_hotline_and_grid_need_the_right_token(
    client: Any, operator: dict[str, str], grid_worker: dict[str, str]
) -> None:
    hotline = {**VALID, "channel": "hotline"}
    assert (await client.post("/api/v1/items", json=hotline)).status_code == 401
    bad = {"Authorization": "Bearer sgt_not-a-real-token"}
    assert (await client.post("/api/v1/items", json=hotline, headers=bad)).status_code == 401
    assert (await client.post("/api/v1/items", json=hotline, headers=grid_worker)).status_code == 403
    assert (await client.post("/api/v1/items", json=hotline, headers=operator)).status_code == 201
    grid = {**VALID, "channel": "grid"}
    assert (await client.post("/api/v1/items", json=grid, headers=operator)).status_code == 403
    assert (await client.post("/api/v1/items", json=grid, headers=grid_worker)).status_code == 201


async def test_a_revoked_token_stops_working_at_once(client: Any, grid_worker: dict[str, str], pool: Any) -> None:
    from suggestions.auth import list_tokens, revoke_token

    grid = {**VALID, "channel": "grid"}
    assert (await client.post("/api/v1/items", json=grid, headers=grid_worker)).status_code == 201
    async with pool.acquire() as conn:
        [phone] = [t for t in await list_tokens(conn) if t.role == "grid"]
        assert await revoke_token(conn, phone.id)
    refused = await client.post("/api/v1/items", json=grid, headers=grid_worker)
    assert refused.status_code == 401
    assert refused.json()["title"] == "invalid or revoked token"


async def test_staff_endpoints_need_a_staff_token(client: Any, operator: dict[str, str], staff: dict[str, str]) -> None:
    for path in ("/api/v1/triage", "/api/v1/items/1", "/api/v1/items?channel=web"):
        assert (await client.get(path)).status_code == 401
        assert (await client.get(path, headers=operator)).status_code == 403
    assert (await client.get("/api/v1/items/999999", headers=staff)).status_code == 404
    response = await client.get("/api/v1/triage?min_risk=7", headers=staff)
    assert response.status_code == 422
    assert "min_risk" in problem_fields(response)
    response = await client.get("/api/v1/triage?cursor=forged", headers=staff)
    assert response.status_code == 422
    assert "cursor" in problem_fields(response)


async def test_tracking_shows_status_and_dates_and_nothing_personal(client: Any) -> None:
    body = {
        **VALID,
        "text": "我家电话 13812345678，身份证 110101199003071234",
        "contact_name": "李阿姨",
        "contact_phone": "13812345678",
        "place": "城北街道",
    }
    created = (await client.post("/api/v1/items", json=body)).json()
    response = await client.get(f"/api/v1/track/{created['tracking_code'].lower().replace('-', '')}")
    assert response.status_code == 200
    tracking = response.json()
    assert set(tracking) == {
        "tracking_code",
        "status",
        "status_text",
        "received_at",
        "updated_at",
        "closed_at",
        "answer",  # the staff's reply, once closed
        "rating",  # the resident's rating of it
        "can_rate",
        "reopened_at",  # a dissatisfied rating sent it back to work
        "reply_withdrawn",  # staff withdrew the reply given: a sentence saying so
        "progress",  # staff's interim replies
        "read_alike",  # found by a code read out that reads like it (a token holder's look-up)
        "assigned_to",  # the desk, and the case: null but to those who take calls
        "case_id",
    }
    assert (tracking["assigned_to"], tracking["case_id"]) == (None, None)
    assert tracking["answer"] is None
    assert tracking["tracking_code"] == created["tracking_code"]
    assert (await client.get("/api/v1/track/ABCD-EFGH-JKMN")).status_code == 404
    assert (await client.get("/api/v1/track/x")).status_code == 404


async def test_a_console_looks_a_code_up_without_putting_it_in_the_url(
    client: Any, operator: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """An operator types what a caller reads out, sometimes the caller's phone: POST keeps it out of every URL."""
    created = (await client.post("/api/v1/items", json=VALID)).json()
    tracked = await client.get(f"/api/v1/track/{created['tracking_code']}")
    for typed in (created["tracking_code"], f"查询码：{created['tracking_code'].lower()}，谢谢"):
        looked_up = await client.post("/api/v1/track", json={"code": typed}, headers=operator)
        assert looked_up.status_code == 200, looked_up.text
        assert looked_up.json() == tracked.json()
    with caplog.at_level("DEBUG"):
        phone = await client.post("/api/v1/track", json={"code": "13812345678"})
    assert phone.status_code == 404
    assert "13812345678" not in phone.text
    assert all("13812345678" not in record.getMessage() for record in caplog.records)
    for body, field in (({}, "code"), ({"code": ""}, "code"), ({"code": "A" * 201}, "code"), ({"code": 5}, "code")):
        refused = await client.post("/api/v1/track", json=body)
        assert refused.status_code == 422, body
        assert field in problem_fields(refused)


async def test_staff_see_masked_text(client: Any, staff: dict[str, str]) -> None:
    body = {**VALID, "text": "有事请打13812345678或者找我，身份证110101199003071234，卡号6222020200112233446"}
    created = (await client.post("/api/v1/items", json=body)).json()
    item = (await client.get(f"/api/v1/items/{created['id']}", headers=staff)).json()
    for secret in ("13812345678", "110101199003071234", "6222020200112233446"):
        assert secret not in item["text"]
    entry = (await client.get("/api/v1/triage", headers=staff)).json()["items"][0]
    assert "13812345678" not in entry["excerpt"]


async def test_idempotency_key_replays_and_refuses_a_different_body(client: Any) -> None:
    headers = {"Idempotency-Key": "call-20261129-0001"}
    first = await client.post("/api/v1/items", json=VALID, headers=headers)
    again = await client.post("/api/v1/items", json=VALID, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    other = await client.post("/api/v1/items", json={**VALID, "text": "另一件事"}, headers=headers)
    assert other.status_code == 422
    assert "Idempotency-Key" in problem_fields(other)


async def test_items_by_external_id(client: Any, operator: dict[str, str], staff: dict[str, str]) -> None:
    body = {**VALID, "channel": "hotline", "external_id": "12345-2026-0042"}
    first = await client.post("/api/v1/items", json=body, headers=operator)
    second = await client.post("/api/v1/items", json=body, headers=operator)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    track = f"/api/v1/track/{first.json()['tracking_code']}"
    assert first.headers.get_list("location") == second.headers.get_list("location") == [track]
    # The same work order sent again with another text is not what was stored: said so, not answered as stored.
    changed = await client.post("/api/v1/items", json={**body, "text": "另一件事"}, headers=operator)
    assert changed.status_code == 422
    assert problem_fields(changed) == {"external_id", "text"}
    found = (
        await client.get(
            "/api/v1/items", params={"channel": "hotline", "external_id": "12345-2026-0042"}, headers=staff
        )
    ).json()
    assert [i["id"] for i in found["items"]] == [first.json()["id"]]


async def test_a_work_order_sent_again_with_another_number_in_its_text_is_not_taken_as_stored(
    client: Any, operator: dict[str, str], pool: Any
) -> None:
    body = {"channel": "hotline", "external_id": "12345-2026-0043", "text": "来电人反映电梯坏了，回电13912345678。"}
    first = await client.post("/api/v1/items", json=body, headers=operator)
    assert first.status_code == 201
    # The operator corrects the number the caller gave: masked, both texts read alike, but they are not.
    corrected = await client.post(
        "/api/v1/items", json={**body, "text": "来电人反映电梯坏了，回电13912345679。"}, headers=operator
    )
    assert corrected.status_code == 422
    assert problem_fields(corrected) == {"external_id", "text"}
    assert await pool.fetchval("SELECT text FROM items WHERE id = $1", first.json()["id"]) == body["text"]
    # Once retention has kept only the masked text, the original sent again is still the item stored (sent back to
    # work since, the item has lost its mark, not its masked text).
    await pool.execute("UPDATE items SET text = text_masked WHERE id = $1", first.json()["id"])
    again = await client.post("/api/v1/items", json=body, headers=operator)
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])


async def test_a_work_order_sent_again_with_a_call_back_number_is_not_taken_as_stored(
    client: Any, operator: dict[str, str], staff: dict[str, str], pool: Any
) -> None:
    body = {"channel": "hotline", "external_id": "12345-2026-0044", "text": "来电人反映小区路灯不亮，要求尽快修复。"}
    first = await client.post("/api/v1/items", json=body, headers=operator)
    assert first.status_code == 201
    item_id = first.json()["id"]
    # The caller rings back on the same work order and leaves the number the first call did not: answering 200
    # would drop it, and nobody could call back.
    with_phone = {**body, "contact_phone": "13912345678", "contact_name": "王先生"}
    again = await client.post("/api/v1/items", json=with_phone, headers=operator)
    assert again.status_code == 422
    assert problem_fields(again) == {"external_id", "contact_name", "contact_phone"}
    assert (await client.get(f"/api/v1/items/{item_id}/contact", headers=staff)).status_code == 404
    # The same call sent again as it was stored is the item, its contact written another way too.
    second = {**body, "external_id": "12345-2026-0045"}
    stored = await client.post("/api/v1/items", json={**second, "contact_phone": "139 1234 5678"}, headers=operator)
    retried = await client.post("/api/v1/items", json={**second, "contact_phone": "13912345678"}, headers=operator)
    assert (stored.status_code, retried.status_code) == (201, 200)
    assert retried.json()["id"] == stored.json()["id"]
    # Retention erased the contact: the original sent again is still the item stored.
    await pool.execute(
        "UPDATE contacts SET name = NULL, phone = NULL, anonymised_at = now() WHERE item_id = $1", stored.json()["id"]
    )
    retried = await client.post("/api/v1/items", json={**second, "contact_phone": "13912345678"}, headers=operator)
    assert (retried.status_code, retried.json()["id"]) == (200, stored.json()["id"])


async def test_a_call_entered_by_a_console_whose_clock_runs_ahead_is_received_now(
    client: Any, operator: dict[str, str], staff: dict[str, str], pool: Any
) -> None:
    from suggestions.classify.store import overdue

    ahead = (datetime.now(UTC) + timedelta(minutes=4)).isoformat()
    response = await client.post(
        "/api/v1/items", json={**VALID, "channel": "hotline", "received_at": ahead}, headers=operator
    )
    assert response.status_code == 201  # a few minutes is clock skew, not an error
    item_id = response.json()["id"]
    item = (await client.get(f"/api/v1/items/{item_id}", headers=staff)).json()
    assert datetime.fromisoformat(item["received_at"]) <= datetime.now(UTC)
    # Its wake-up lost, the sweeper finds it as overdue as any item accepted then, not minutes later.
    async with pool.acquire() as conn:
        assert item_id in [found for found, _ in await overdue(conn, older_than_seconds=0, limit=10)]


async def test_options_lists_every_method_of_a_path(client: Any) -> None:
    # Intake (POST) and the staff listing (GET) share /api/v1/items.
    response = await client.options("/api/v1/items")
    assert response.status_code == 204
    assert set(response.headers["allow"].split(", ")) == {"GET", "OPTIONS", "POST"}


async def test_health_readiness_and_openapi(client: Any) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["ready"] is True
    assert ready.json()["model"]
    schema = (await client.get("/api/docs/openapi.json")).json()
    assert {"/api/v1/items", "/api/v1/triage", "/api/v1/track/{tracking_code}"} <= set(schema["paths"])


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/items", {**VALID, "lat": "40.1", "lon": 116.3}, "lat"),  # a number written as a string
        ("/api/v1/cases/1/merge", {"into": "5"}, "into"),
        ("/api/v1/cases/1/merge", {"into": 5.0}, "into"),  # a whole number written as a decimal
        ("/api/v1/items/1/classification", {"risk_level": "2"}, "risk_level"),
    ],
)
async def test_a_json_body_is_held_to_its_declared_types(
    client: Any, staff: dict[str, str], path: str, body: dict[str, Any], field: str
) -> None:
    method = client.put if path.endswith("/classification") else client.post
    response = await method(path, json=body, headers=staff)
    assert response.status_code == 422, response.text
    assert problem_fields(response) == {field}


async def test_a_bad_body_to_a_staff_endpoint_without_a_token_is_still_a_401(client: Any) -> None:
    assert (await client.post("/api/v1/cases/1/merge", json={"into": "5"})).status_code == 401


@pytest.mark.parametrize(
    ("path", "body", "token"),
    [
        ("/api/v1/cases/suggest", {"text": 5}, None),
        ("/api/v1/cases/suggest", {"text": 5}, "sgt_not-a-real-token"),
        ("/api/v1/items", {**VALID, "channel": "hotline", "lat": "40.1"}, "sgt_not-a-real-token"),
        ("/api/v1/items", {**VALID, "colour": "red"}, "sgt_not-a-real-token"),
    ],
)
async def test_a_missing_or_unknown_token_is_a_401_whatever_the_body(
    client: Any, path: str, body: dict[str, Any], token: str | None
) -> None:
    # The token is checked before the body, as on every staff endpoint: a caller without a valid one learns nothing
    # of the body's rules, and a hotline system whose token was revoked hears that first.
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


async def test_the_documented_problem_names_the_status_a_409_gives(client: Any, staff: dict[str, str]) -> None:
    created = (await client.post("/api/v1/items", json=VALID)).json()
    refused = await client.post(f"/api/v1/items/{created['id']}/close", json={"answer": "已处理"}, headers=staff)
    assert refused.status_code == 409
    schema = (await client.get("/api/docs/openapi.json")).json()
    declared = schema["components"]["schemas"]["Problem"]["properties"]
    assert set(refused.json()) <= set(declared)
    assert "current_status" in declared


AMENDED = [
    ({"place": "回龙观街道 龙禧苑"}, {"place"}),
    ({"place": None}, {"place"}),
    ({"kind": "suggestion"}, {"kind"}),
    ({"received_at": "2026-11-29T08:00:00+08:00"}, {"received_at"}),
    ({"lat": 40.1, "lon": 116.2}, {"lat", "lon"}),
    ({"kind": "help", "text": "来电人反映电梯坏了，老人被困。"}, {"kind", "text"}),
]


@pytest.mark.parametrize(("change", "fields"), AMENDED)
async def test_a_work_order_sent_again_with_another_place_kind_time_or_spot_is_not_taken_as_stored(
    client: Any, operator: dict[str, str], pool: Any, change: dict[str, Any], fields: set[str]
) -> None:
    an_hour_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    body = {
        "channel": "hotline",
        "external_id": "12345-2026-0046",
        "text": "来电人反映电梯坏了，三天没人修。",
        "place": "龙泽园街道 龙跃苑二区",
        "kind": "complaint",
        "received_at": an_hour_ago.isoformat(),
        "lat": 40.07512,
        "lon": 116.3271,
    }
    first = await client.post("/api/v1/items", json=body, headers=operator)
    assert first.status_code == 201, first.text
    # The same order sent again is the item stored: its time written in another zone, its spot as a phone rounds it,
    # or without what it said before (a re-send that leaves a field out drops nothing).
    same = {
        **body,
        "received_at": an_hour_ago.astimezone(timezone(timedelta(hours=8))).isoformat(),
        "lat": 40.0751,
    }
    for again in (same, {k: v for k, v in body.items() if k not in ("kind", "received_at", "lat", "lon")}):
        retried = await client.post("/api/v1/items", json=again, headers=operator)
        assert (retried.status_code, retried.json()["id"]) == (200, first.json()["id"]), retried.text
    # Changed, it is not: the operator is told which field differs, rather than the change dropped without a word.
    changed = await client.post("/api/v1/items", json={**body, **change}, headers=operator)
    assert changed.status_code == 422, changed.text
    assert problem_fields(changed) == {"external_id", *fields}
    stored = await pool.fetchrow("SELECT place, kind, received_at, lat FROM items WHERE id = $1", first.json()["id"])
    assert (stored["place"], stored["kind"], stored["received_at"], stored["lat"]) == (
        body["place"],
        "complaint",
        an_hour_ago,
        40.07512,
    )


async def test_a_work_order_whose_console_clock_ran_fast_is_the_item_stored_when_sent_again(
    client: Any, operator: dict[str, str]
) -> None:
    ahead = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    body = {
        "channel": "hotline",
        "external_id": "12345-2026-0047",
        "text": "来电人反映路灯不亮。",
        "received_at": ahead,
    }
    first = await client.post("/api/v1/items", json=body, headers=operator)
    assert first.status_code == 201, first.text
    # Stored as the time it arrived, not the console's: the same order sent again is still that item.
    again = await client.post("/api/v1/items", json=body, headers=operator)
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"]), again.text
