"""An operator taking a call sees the caller's earlier items before filing another."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import asyncpg

from suggestions.settings import Settings
from tests.e2e.test_hotspots import FixedTopic
from tests.e2e.test_limits import app_client, msgspec_replace

PHONE = "13912340003"
LIFT = "龙跃苑二区5号楼电梯又坏了，已经停了三天，楼里好多老人上不了楼，来电人电话13912340003。"
LIFT_AGAIN = "来电人再次反映龙跃苑二区5号楼电梯仍未修好，老人还是下不了楼。"
RUBBISH = "龙跃苑二区门口的垃圾站每天傍晚才清运，夏天气味很大，建议早上清运一次。"


async def looked_up(client: Any, operator: dict[str, str], phone: str) -> int:
    """The status of an operator's look-up of a caller's history."""
    response = await client.post("/api/v1/callers/items", json={"contact_phone": phone}, headers=operator)
    return int(response.status_code)


async def _post(client: Any, headers: dict[str, str], channel: str, text: str, **extra: Any) -> dict[str, Any]:
    body = {"channel": channel, "text": text, **extra}
    response = await client.post("/api/v1/items", json=body, headers=headers if channel != "web" else {})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_an_operator_sees_the_callers_earlier_items_open_ones_first(
    client: Any,
    drain: Any,
    model: Any,
    pool: asyncpg.Pool,
    operator: dict[str, str],
    staff: dict[str, str],
    grid_worker: dict[str, str],
) -> None:
    week_ago = (datetime.now(UTC) - timedelta(days=7)).isoformat()
    rubbish = await _post(client, operator, "hotline", RUBBISH, contact_phone=PHONE, received_at=week_ago)
    lift = await _post(client, operator, "hotline", LIFT, contact_phone=PHONE)
    again = await _post(client, {}, "web", LIFT_AGAIN, contact_phone="+86 139-1234-0003")
    # A grid worker's own phone on a patrol report is not the caller's history; nor is another caller's item.
    await _post(client, grid_worker, "grid", LIFT_AGAIN, contact_phone=PHONE)
    await _post(client, operator, "hotline", RUBBISH, contact_phone="13912340004")
    await drain(model=FixedTopic(model, "城乡建设"))
    assigned = await client.post(f"/api/v1/items/{lift['id']}/assign", json={"to": "区住建委"}, headers=staff)
    assert assigned.status_code == 200, assigned.text
    closed = await client.post(f"/api/v1/items/{rubbish['id']}/close", json={"answer": "已协调早上清运"}, headers=staff)
    assert closed.status_code == 200, closed.text

    response = await client.post("/api/v1/callers/items", json={"contact_phone": "139 1234 0003"}, headers=operator)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    history = response.json()
    listed = history["items"]
    assert [i["id"] for i in listed] == [again["id"], lift["id"], rubbish["id"]]
    assert [i["status"] for i in listed] == ["open", "assigned", "closed"]
    assert listed[0]["tracking_code"] == again["tracking_code"]
    assert listed[1]["assigned_to"] == "区住建委"
    assert listed[1]["case_id"] is not None
    assert listed[1]["topic"] is not None
    assert listed[2]["closed_at"] is not None
    # The caller's number in their own words is masked, and only the first words are shown.
    assert PHONE not in listed[1]["summary"]
    assert listed[1]["summary"].startswith("龙跃苑二区5号楼电梯又坏了")
    assert len(listed[1]["summary"]) <= 60
    assert history["open"] == 2
    assert history["shared"] is False
    assert "2 件未办结" in history["message"]
    # The follow-up joined the caller's case: the operator is told it is one problem, reported twice.
    assert listed[0]["case_id"] == listed[1]["case_id"]
    assert f"其中 2 件是同一问题（案件 {listed[0]['case_id']}）" in history["message"]
    # Each item listed is a read of its contact, recorded with the operator's token.
    reads = await pool.fetch("SELECT item_id, purpose FROM contact_reads ORDER BY item_id")
    assert [(r["item_id"], r["purpose"]) for r in reads] == [
        (i, "caller_history") for i in sorted([rubbish["id"], lift["id"], again["id"]])
    ]

    nobody = await client.post("/api/v1/callers/items", json={"contact_phone": "13700000000"}, headers=staff)
    assert nobody.status_code == 200, nobody.text
    assert nobody.json()["items"] == []
    assert nobody.json()["message"].startswith("该号码没有未办结的诉求")


async def test_only_those_who_answer_callers_may_look_one_up(
    client: Any, operator: dict[str, str], grid_worker: dict[str, str]
) -> None:
    body = {"contact_phone": PHONE}
    assert (await client.post("/api/v1/callers/items", json=body)).status_code == 401
    assert (await client.post("/api/v1/callers/items", json=body, headers=grid_worker)).status_code == 403
    mistyped = PHONE[:-2]  # two digits short: not a phone, yet a caller's digits all the same
    for bad in ("12345", "", "   ", mistyped):
        refused = await client.post("/api/v1/callers/items", json={"contact_phone": bad}, headers=operator)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "contact_phone"
        assert mistyped not in refused.text
    assert (await client.post("/api/v1/callers/items", json={}, headers=operator)).status_code == 422


async def test_the_phones_a_token_looks_up_are_limited(
    settings: Settings, pool: asyncpg.Pool, queue: Any, model: Any, gazetteer: Any, operator: dict[str, str]
) -> None:
    limited = msgspec_replace(settings, rate_limit_caller="3/minute")
    async with app_client(limited, pool, queue, model, gazetteer) as client:
        history = partial(looked_up, client, operator)

        async def suggested(phone: str) -> int:
            body = {"text": "来电人说上周反映的事情还没有解决", "contact_phone": phone}
            return int((await client.post("/api/v1/cases/suggest", json=body, headers=operator)).status_code)

        # The caller on the line, asked about again and again as the operator types, is one phone.
        assert [await history(PHONE) for _ in range(3)] == [200, 200, 200]
        assert [await suggested(PHONE) for _ in range(5)] == [200] * 5
        # Other phones count, whichever way they are asked about; the suggestions' count is the history's.
        assert await suggested("13912340004") == 200
        assert await history("+86 139 1234 0005") == 200
        refused = await client.post("/api/v1/callers/items", json={"contact_phone": "13912340006"}, headers=operator)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert "13912340006" not in refused.text
        assert await suggested("13912340007") == 429
        # Refused, a phone was not looked up: asked again, it is refused again, not let through as seen.
        assert await history("13912340006") == 429
        assert await history(PHONE) == 200
        # Suggestions without a phone, and the token's other work, go on.
        body = {"text": "来电人说上周反映的事情还没有解决"}
        assert (await client.post("/api/v1/cases/suggest", json=body, headers=operator)).status_code == 200
        assert (
            await client.post("/api/v1/track", json={"code": "ABCD-EFGH-JKMN"}, headers=operator)
        ).status_code == 404


async def test_a_phone_on_many_open_problems_is_said_to_be_shared(
    client: Any, drain: Any, model: Any, operator: dict[str, str]
) -> None:
    """A committee's landline reports for many residents: the operator is told its items may be other people's."""
    reports = [
        "天通苑北街道天通西苑三区12号楼电梯坏了一周，物业说没有维修资金。",
        "回龙观街道龙禧苑三区门口的路灯坏了半个月，晚上很黑。",
        "沙河镇于辛庄村的垃圾站很久没有清运，气味很大。",
        "城北街道西关路口的红绿灯坏了，车辆乱行很危险。",
    ]
    for text in reports:
        await _post(client, operator, "hotline", text, contact_phone="010-69712345")
    await drain(model=FixedTopic(model, "城乡建设"))
    history = (
        await client.post("/api/v1/callers/items", json={"contact_phone": "010 6971 2345"}, headers=operator)
    ).json()
    assert len({i["case_id"] for i in history["items"]}) == 4
    assert history["shared"] is True
    assert "多人共用的电话" in history["message"]


async def test_a_local_landline_is_one_caller_with_or_without_the_area_code(
    client: Any, operator: dict[str, str]
) -> None:
    """Callers in the district give their landline without 010, as they dial it; operators type it as heard."""
    heard = await client.post(
        "/api/v1/items", json={"channel": "hotline", "text": RUBBISH, "contact_phone": "6971 2345"}, headers=operator
    )
    assert heard.status_code == 201, heard.text
    dialled = await _post(client, operator, "hotline", LIFT_AGAIN, contact_phone="010-69712345")
    for typed in ("69712345", "6971-2345", "01069712345", "(010) 6971 2345"):
        response = await client.post("/api/v1/callers/items", json={"contact_phone": typed}, headers=operator)
        assert response.status_code == 200, response.text
        assert {i["id"] for i in response.json()["items"]} == {heard.json()["id"], dialled["id"]}
    # What is no phone number is refused still, naming the field.
    for bad in ("1234567", "12345678", "697123", "6971234567"):
        refused = await client.post(
            "/api/v1/items", json={"channel": "hotline", "text": RUBBISH, "contact_phone": bad}, headers=operator
        )
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["errors"][0]["field"] == "contact_phone"


async def test_the_callers_own_cases_in_the_suggestions_are_recorded_as_reads_of_their_contact(
    client: Any, drain: Any, model: Any, pool: asyncpg.Pool, operator: dict[str, str], staff: dict[str, str]
) -> None:
    """Listing a case as the caller's own tells the operator that this phone reported it: a read of the reports'
    contact, as the caller's history is."""
    lift = await _post(client, operator, "hotline", LIFT, contact_phone=PHONE)
    again = await _post(client, {}, "web", LIFT_AGAIN, contact_phone=PHONE)
    other = await _post(client, operator, "hotline", LIFT, contact_phone="13912340004")
    await drain(model=FixedTopic(model, "城乡建设"))

    # Without the phone, or by a phone that reported nothing, the words alone find the case: no contact is read.
    words = {"text": "龙跃苑二区5号楼电梯又坏了"}
    assert (await client.post("/api/v1/cases/suggest", json=words, headers=operator)).json()["cases"]
    stranger = {**words, "contact_phone": "13700000000"}
    assert (await client.post("/api/v1/cases/suggest", json=stranger, headers=operator)).status_code == 200
    assert await pool.fetchval("SELECT count(*) FROM contact_reads") == 0

    asked = await client.post("/api/v1/cases/suggest", json={**words, "contact_phone": "139 1234 0003"}, headers=staff)
    assert asked.status_code == 200, asked.text
    own = [case for case in asked.json()["cases"] if case["caller"]]
    assert own
    reads = await pool.fetch(
        "SELECT r.item_id, r.purpose, t.role FROM contact_reads r JOIN api_tokens t ON t.id = r.read_by ORDER BY 1"
    )
    # The caller's reports in the cases listed as theirs, each once, by the token that asked; not the other caller's.
    assert [(r["item_id"], r["purpose"], r["role"]) for r in reads] == [
        (i, "case_suggestion", "staff") for i in sorted([lift["id"], again["id"]])
    ]
    assert other["id"] not in {r["item_id"] for r in reads}


async def test_a_frequent_callers_open_items_are_all_listed_and_closed_ones_cut_short_said_so(
    client: Any, pool: asyncpg.Pool, operator: dict[str, str]
) -> None:
    """A caller with many items answered lately still hears of the two the centre has not answered, however old."""
    weeks_ago = (datetime.now(UTC) - timedelta(days=25)).isoformat()
    old_open = [
        await _post(client, operator, "hotline", text, contact_phone=PHONE, received_at=weeks_ago)
        for text in (LIFT, RUBBISH)
    ]
    # Then 210 items of theirs closed yesterday, each filed after the open ones.
    closed_ids = await pool.fetch(
        """
        INSERT INTO items (tracking_code, channel, text, text_masked, status, closed_at, answer, received_at)
        SELECT 'T' || n, 'hotline', '第' || n || '次反映路灯', '第' || n || '次反映路灯', 'closed',
               now() - interval '1 day', '已修复', now() - interval '2 days'
        FROM generate_series(1, 210) AS n
        RETURNING id
        """
    )
    await pool.execute(
        "INSERT INTO contacts (item_id, phone) SELECT unnest($1::bigint[]), $2", [r["id"] for r in closed_ids], PHONE
    )

    history = (
        await client.post("/api/v1/callers/items?limit=5", json={"contact_phone": PHONE}, headers=operator)
    ).json()
    listed = history["items"]
    assert [i["id"] for i in listed[:2]] == sorted((item["id"] for item in old_open), reverse=True)
    assert history["open"] == 2
    assert [i["status"] for i in listed[2:]] == ["closed"] * 5
    assert history["closed"] == 210
    assert history["truncated"] is True
    assert "该号码有 2 件未办结" in history["message"]
    assert "近 90 天办结 210 件，只列出最近的 5 件" in history["message"]
    # Only what was listed was read.
    assert await pool.fetchval("SELECT count(*) FROM contact_reads") == 7

    # However many are open, none is left out, whatever the limit.
    few = (await client.post("/api/v1/callers/items?limit=1", json={"contact_phone": PHONE}, headers=operator)).json()
    assert sum(i["status"] != "closed" for i in few["items"]) == 2
    assert len(few["items"]) == 3


async def test_a_mobile_with_the_trunk_zero_of_a_caller_id_is_the_same_caller(
    client: Any, operator: dict[str, str]
) -> None:
    """The hotline's phones show a mobile from outside Beijing with a 0 before it; the operator types what is shown."""
    shown = await _post(client, operator, "hotline", LIFT, contact_phone="013912340003")
    history = await client.post("/api/v1/callers/items", json={"contact_phone": PHONE}, headers=operator)
    assert [i["id"] for i in history.json()["items"]] == [shown["id"]]


async def test_a_landline_typed_with_or_without_its_area_code_or_extension_counts_once_against_the_limit(
    settings: Settings, pool: asyncpg.Pool, queue: Any, model: Any, gazetteer: Any, operator: dict[str, str]
) -> None:
    limited = msgspec_replace(settings, rate_limit_caller="1/minute")
    async with app_client(limited, pool, queue, model, gazetteer) as client:
        history = partial(looked_up, client, operator)

        typed = ("6971 2345", "010-69712345", "01069712345", "010-69712345转808", "6971 2345-809")
        assert [await history(phone) for phone in typed] == [200] * 5
        assert await history("010-69712346转808") == 429


async def test_a_switchboards_open_items_are_cut_short_said_so_and_only_those_listed_read(
    client: Any, pool: asyncpg.Pool, operator: dict[str, str]
) -> None:
    """A switchboard with hundreds of open items: the operator reads the latest of them and how many more there are,
    not a screen of hundreds, and the contact-read log records what was shown."""
    open_ids = await pool.fetch(
        """
        INSERT INTO items (tracking_code, channel, text, text_masked, status, received_at)
        SELECT 'T' || n, 'hotline', '第' || n || '次反映路灯', '第' || n || '次反映路灯', 'open',
               now() - make_interval(hours => n)
        FROM generate_series(1, 300) AS n
        RETURNING id
        """
    )
    await pool.execute(
        "INSERT INTO contacts (item_id, phone) SELECT unnest($1::bigint[]), $2",
        [r["id"] for r in open_ids],
        "010-69712345",
    )
    history = (
        await client.post("/api/v1/callers/items", json={"contact_phone": "010-69712345"}, headers=operator)
    ).json()
    listed = history["items"]
    assert 0 < len(listed) <= 50
    assert history["open"] == 300
    assert history["open_not_listed"] == 300 - len(listed)
    # The latest, newest first.
    assert [i["id"] for i in listed] == [r["id"] for r in open_ids[: len(listed)]]
    assert f"该号码有 300 件未办结，只列出最近的 {len(listed)} 件" in history["message"]
    assert await pool.fetchval("SELECT count(*) FROM contact_reads") == len(listed)


async def test_a_line_given_with_or_without_its_extension_is_one_caller(
    client: Any, drain: Any, model: Any, pool: asyncpg.Pool, operator: dict[str, str]
) -> None:
    """A caller who left 转808 on the form and calls from the same line, whose caller ID shows no extension, is one
    caller: the operator typing the caller ID finds the items and the case; the extension stays for the call back."""
    left = await _post(client, {}, "web", LIFT, contact_phone="010-69712345转808")
    called = await _post(client, operator, "hotline", LIFT_AGAIN, contact_phone="010-69712345")
    await drain(model=FixedTopic(model, "城乡建设"))
    for typed in ("010-69712345", "6971 2345", "010-69712345转808", "010-69712345-809"):
        history = (await client.post("/api/v1/callers/items", json={"contact_phone": typed}, headers=operator)).json()
        assert {i["id"] for i in history["items"]} == {left["id"], called["id"]}, typed
    assert await pool.fetchval("SELECT phone FROM contacts WHERE item_id = $1", left["id"]) == "010-69712345转808"

    words = {"text": "龙跃苑二区5号楼电梯又坏了", "contact_phone": "010-69712345"}
    cases = (await client.post("/api/v1/cases/suggest", json=words, headers=operator)).json()["cases"]
    [own] = [case for case in cases if case["caller"]]
    assert own["case_id"] == await pool.fetchval("SELECT case_id FROM items WHERE id = $1", left["id"])


async def test_the_districts_office_number_finds_no_case_of_the_callers_own(
    client: Any, drain: Any, settings: Settings, model: Any, pool: asyncpg.Pool, operator: dict[str, str]
) -> None:
    """The centre's own number (SUGGESTIONS_PUBLIC_PHONES), typed for callers who give none, is nobody's: the cases of
    the reports left with it are not offered as the caller's own, nor are their contacts read."""
    office = msgspec_replace(settings, public_phones="010-69712345")
    await _post(client, operator, "hotline", LIFT, contact_phone="010-69712345")
    await drain(ctx={"settings": office, "db_pool": pool, "model": FixedTopic(model, "城乡建设")})
    words = {"text": "龙跃苑二区5号楼电梯又坏了", "contact_phone": "6971 2345"}
    cases = (await client.post("/api/v1/cases/suggest", json=words, headers=operator)).json()["cases"]
    assert cases
    assert not [case for case in cases if case["caller"]]
    assert await pool.fetchval("SELECT count(*) FROM contact_reads") == 0


async def test_the_districts_office_number_lists_no_earlier_callers_items_as_the_callers_own(
    client: Any, drain: Any, settings: Settings, model: Any, pool: asyncpg.Pool, operator: dict[str, str]
) -> None:
    """The centre's own number, typed for a caller who gives none, is nobody's: the items other callers left with it
    are neither listed to the operator as this caller's nor recorded as reads of those callers' contacts; the
    operator is told why the list is empty (the suggestions already find no case of the caller's own with it)."""
    office = msgspec_replace(settings, public_phones="010-69712345")
    await _post(client, operator, "hotline", LIFT, contact_phone="010-69712345")
    await _post(client, operator, "hotline", LIFT_AGAIN, contact_phone="010-69712345转808")
    await drain(ctx={"settings": office, "db_pool": pool, "model": FixedTopic(model, "城乡建设")})
    for phone in ("010-69712345", "6971 2345", "010-69712345转808"):
        answer = await client.post("/api/v1/callers/items", json={"contact_phone": phone}, headers=operator)
        assert answer.status_code == 200, answer.text
        history = answer.json()
        assert history["items"] == []
        assert history["open"] == 0
        assert history["shared"] is True
        assert "公共号码" in history["message"]
    assert await pool.fetchval("SELECT count(*) FROM contact_reads") == 0
