"""An operator corrects a call filed with a wrong place, kind or call-back number, by its id or its work order."""

from __future__ import annotations

from typing import Any

CALL = {
    "channel": "hotline",
    "text": "小区门口的路灯坏了一个多月，晚上出门看不见路，老人摔倒过。",
    "place": "城北街道",
    "kind": "suggestion",
    "contact_phone": "13912345678",
    "external_id": "GD202611300001",
}


async def filed(client: Any, operator: dict[str, str], **changes: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/items", json={**CALL, **changes}, headers=operator)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def counts(conn: Any, street: str) -> tuple[int, int]:
    row = await conn.fetchrow(
        "SELECT coalesce(sum(reports), 0) AS reports, coalesce(sum(problems), 0) AS problems "
        "FROM place_topic_days WHERE street = $1",
        street,
    )
    return int(row["reports"]), int(row["problems"])


async def test_a_placed_call_given_another_street_leaves_its_case_and_counts_and_is_placed_there(
    client: Any, drain: Any, operator: dict[str, str], staff: dict[str, str], conn: Any
) -> None:
    item = await filed(client, operator)
    await drain()
    before = (await client.get(f"/api/v1/items/{item['id']}", headers=staff)).json()
    assert before["street"] == "城北街道"
    old_case = before["case_id"]
    assert await counts(conn, "城北街道") == (1, 1)

    response = await client.post(f"/api/v1/items/{item['id']}/amend", json={"place": "霍营街道"}, headers=operator)
    assert response.status_code == 200, response.text
    assert response.json() == {**item, "status": "open", "fields": ["place"]}

    after = (await client.get(f"/api/v1/items/{item['id']}", headers=staff)).json()
    assert (after["place"], after["street"]) == ("霍营街道", "霍营街道")
    assert after["case_id"] not in (None, old_case)
    assert await conn.fetchval("SELECT street FROM cases WHERE id = $1", after["case_id"]) == "霍营街道"
    assert await conn.fetchval("SELECT status FROM cases WHERE id = $1", old_case) == "closed"
    assert await counts(conn, "城北街道") == (0, 0)
    assert await counts(conn, "霍营街道") == (1, 1)
    [amendment] = after["amendments"]
    assert (amendment["fields"], amendment["before"]) == (["place"], {"place": "城北街道"})

    # The work order sent again as it is now is the item it filed; as it was first sent, it is refused.
    again = await client.post("/api/v1/items", json={**CALL, "place": "霍营街道"}, headers=operator)
    assert (again.status_code, again.json()["id"]) == (200, item["id"])
    assert (await client.post("/api/v1/items", json=CALL, headers=operator)).status_code == 422


async def test_a_call_back_number_is_corrected_by_work_order_and_its_history_holds_it_masked(
    client: Any, drain: Any, operator: dict[str, str], staff: dict[str, str]
) -> None:
    item = await filed(client, operator)
    body = {"external_id": CALL["external_id"], "contact_phone": "6971 2345", "contact_name": "王先生", "kind": "help"}
    response = await client.post("/api/v1/work-orders/amend", json=body, headers=operator)
    assert response.status_code == 200, response.text
    assert response.json()["fields"] == ["kind", "contact_name", "contact_phone"]
    # Sent twice, it changes nothing more.
    twice = await client.post("/api/v1/work-orders/amend", json=body, headers=operator)
    assert twice.json()["fields"] == []

    view = (await client.get(f"/api/v1/items/{item['id']}", headers=staff)).json()
    assert (view["kind"], view["kind_source"]) == ("help", "sender")
    [amendment] = view["amendments"]
    assert amendment["before"] == {"kind": "suggestion", "contact_name": None, "contact_phone": "[手机号]"}
    assert "13912345678" not in str(view)

    new_phone = await client.post("/api/v1/callers/items", json={"contact_phone": "010-69712345"}, headers=operator)
    assert [found["id"] for found in new_phone.json()["items"]] == [item["id"]]
    old_phone = await client.post("/api/v1/callers/items", json={"contact_phone": "13912345678"}, headers=operator)
    assert old_phone.json()["items"] == []


async def test_a_pending_call_is_placed_where_the_correction_says(
    client: Any, drain: Any, operator: dict[str, str], staff: dict[str, str], conn: Any
) -> None:
    item = await filed(client, operator)
    response = await client.post(f"/api/v1/items/{item['id']}/amend", json={"place": "霍营街道"}, headers=operator)
    assert response.status_code == 200, response.text
    await drain()
    view = (await client.get(f"/api/v1/items/{item['id']}", headers=staff)).json()
    assert view["street"] == "霍营街道"
    assert await conn.fetchval("SELECT street FROM cases WHERE id = $1", view["case_id"]) == "霍营街道"
    assert await counts(conn, "城北街道") == (0, 0)


async def test_who_may_correct_what_and_when(
    client: Any, drain: Any, operator: dict[str, str], staff: dict[str, str], pool: Any
) -> None:
    from tests.conftest import _token

    item = await filed(client, operator)
    url = f"/api/v1/items/{item['id']}/amend"
    another = await _token(pool, "operator")
    assert (await client.post(url, json={"kind": "help"}, headers=another)).status_code == 403
    assert (await client.post(url, json={"kind": "help"})).status_code == 401
    assert (await client.post("/api/v1/items/999999/amend", json={"kind": "help"}, headers=operator)).status_code == 404
    empty = await client.post(url, json={}, headers=operator)
    assert (empty.status_code, empty.json()["errors"][0]["field"]) == (422, "place")
    phone = await client.post(url, json={"contact_phone": "12"}, headers=operator)
    assert (phone.status_code, phone.json()["errors"][0]["field"]) == (422, "contact_phone")
    number_as_name = await client.post(url, json={"contact_name": "13912345678"}, headers=operator)
    assert (number_as_name.status_code, number_as_name.json()["errors"][0]["field"]) == (422, "contact_name")
    unknown = await client.post("/api/v1/work-orders/amend", json={"external_id": "GD0", "kind": "help"}, headers=staff)
    assert (unknown.status_code, unknown.json()["errors"][0]["field"]) == (422, "channel")
    by_staff = await client.post(url, json={"kind": "help"}, headers=staff)
    assert by_staff.status_code == 200, by_staff.text

    await drain()
    await client.post(f"/api/v1/items/{item['id']}/close", json={"answer": "已修好"}, headers=staff)
    assert (await client.post(url, json={"kind": "inquiry"}, headers=operator)).status_code == 409


async def test_a_contact_that_retention_erased_is_not_written_back(
    client: Any, operator: dict[str, str], conn: Any
) -> None:
    # An item answered, erased by retention, then sent back to work by its resident's rating is open again.
    item = await filed(client, operator)
    await conn.execute("UPDATE items SET anonymised_at = now() WHERE id = $1", item["id"])
    await conn.execute(
        "UPDATE contacts SET name = NULL, phone = NULL, anonymised_at = now() WHERE item_id = $1", item["id"]
    )
    url = f"/api/v1/items/{item['id']}/amend"
    refused = await client.post(url, json={"contact_phone": "13812345678"}, headers=operator)
    assert refused.status_code == 409
    assert await conn.fetchval("SELECT phone FROM contacts WHERE item_id = $1", item["id"]) is None
    assert (await client.post(url, json={"kind": "help"}, headers=operator)).status_code == 200


async def test_staff_read_the_corrections_on_the_items_page(client: Any, operator: dict[str, str], pool: Any) -> None:
    from tests.e2e.test_staff_pages import signed_in

    item = await filed(client, operator)
    body = {"place": "霍营街道", "contact_phone": "13812345678"}
    await client.post(f"/api/v1/items/{item['id']}/amend", json=body, headers=operator)
    await signed_in(client, pool)
    page = (await client.get(f"/staff/items/{item['id']}")).text
    assert "更正记录" in page
    assert "地点原为“城北街道”" in page
    assert "电话原为“[手机号]”" in page
    assert "13912345678" not in page


async def test_a_phone_corrected_to_another_reporters_counts_them_once_in_the_cases_hotspot(
    client: Any, drain: Any, operator: dict[str, str], conn: Any
) -> None:
    # Five callers about one lift: a crowd; one call was filed with a wrong number, the second caller's.
    for n in range(5):
        await filed(client, operator, external_id=f"GD-{n}", contact_phone=f"1391234567{n}", place="")
    await drain()
    active = "SELECT count(*) FROM hotspots WHERE kind = 'case' AND status = 'active'"
    assert await conn.fetchval(active) == 1
    wrong = await conn.fetchval("SELECT id FROM items WHERE external_id = 'GD-0'")
    response = await client.post(
        f"/api/v1/items/{wrong}/amend", json={"contact_phone": "13912345671"}, headers=operator
    )
    assert response.status_code == 200, response.text
    assert await conn.fetchval(active) == 0


async def test_a_report_leaving_a_case_of_several_leaves_the_case_open_and_its_problem_counted(
    client: Any, drain: Any, operator: dict[str, str], staff: dict[str, str], conn: Any
) -> None:
    first = await filed(client, operator, external_id="GD-1", contact_phone="13912345671")
    second = await filed(client, operator, external_id="GD-2", contact_phone="13912345672")
    await drain()
    case_id = await conn.fetchval("SELECT case_id FROM items WHERE id = $1", first["id"])
    assert await conn.fetchval("SELECT case_id FROM items WHERE id = $1", second["id"]) == case_id
    assert await counts(conn, "城北街道") == (2, 1)

    await client.post(f"/api/v1/items/{second['id']}/amend", json={"place": "霍营街道"}, headers=operator)
    assert dict(await conn.fetchrow("SELECT status, size FROM cases WHERE id = $1", case_id)) == {
        "status": "open",
        "size": 1,
    }
    assert await counts(conn, "城北街道") == (1, 1)
    assert await counts(conn, "霍营街道") == (1, 1)
