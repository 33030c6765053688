"""Hotspots as staff read and act on them over a shift: the numbers in `why`, the list of current hotspots and the
feed's `hotspot` reasons agree with each other, whatever staff and the worker change in between."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from ml.serving import Prediction
from tests.e2e.test_hotspots import (
    AREA_WAGES,
    LIFT,
    NOISES,
    WAGE_DISPUTE,
    FixedTopic,
    graded,
    listed_of,
    post,
    post_all,
    post_days,
    quiet_noise_history,
)

ZONE = ZoneInfo("Asia/Shanghai")
# Noise problems of 城北街道 other than NOISES.
EARLIER_NOISES = [
    "城北街道一家装修公司周末早上七点就开始电钻作业，吵得没法休息。",
    "城北街道某小区地下车库的排风扇坏了，日夜轰鸣。",
    "城北街道一所驾校练车场每天清晨按喇叭，噪音扰民。",
]


class FiledUnder(FixedTopic):
    """The real model, with the topic fixed, but reports bearing a marker filed under another topic."""

    def __init__(self, model: Any, topic: str, others: dict[str, str]) -> None:
        super().__init__(model, topic)
        self.others = others

    def predict(self, texts: list[str]) -> list[Prediction]:
        return [
            msgspec.structs.replace(p, topic=next((t for m, t in self.others.items() if m in text), p.topic))
            for text, p in zip(texts, super().predict(texts), strict=True)
        ]


async def test_a_case_hotspot_carries_its_cases_topic_not_that_of_the_report_that_raised_it(
    client: Any, drain: Any, model: Any, staff: dict[str, str], operator: dict[str, str], grid_worker: dict[str, str]
) -> None:
    # The fifth reporter of the broken lift is filed under 政法 (情绪激动), the case under 城乡建设.
    await post_all(client, LIFT, operator, grid_worker)
    await drain(model=FiledUnder(model, "城乡建设", {"情绪激动": "政法"}))
    [crowd] = await listed_of(client, staff, "case")
    case = (await client.get(f"/api/v1/cases/{crowd['case_id']}", headers=staff)).json()
    assert case["size"] == 5
    assert (crowd["topic"], case["topic"]) == ("城乡建设", "城乡建设")
    assert crowd["explanation"].startswith("龙泽园街道·城乡建设：")


async def reasons(client: Any, staff: dict[str, str]) -> dict[int, set[str]]:
    """Each item in the feed, with its reasons' codes."""
    feed = (await client.get("/api/v1/triage", params={"limit": 200}, headers=staff)).json()["items"]
    return {e["id"]: {r["code"] for r in e["reasons"]} for e in feed}


async def test_a_report_sent_back_ranks_with_the_hotspot_raised_while_it_was_closed(
    client: Any, drain: Any, model: Any, staff: dict[str, str], operator: dict[str, str], grid_worker: dict[str, str]
) -> None:
    lift = FixedTopic(model, "城乡建设")
    first, *others = await post_all(client, LIFT[:4], operator, grid_worker)
    await drain(model=lift)
    # The first resident is answered on their own; the fifth reporter then makes the case a hotspot.
    closed = await client.post(f"/api/v1/items/{first}/close", json={"answer": "已联系物业维修"}, headers=staff)
    assert closed.status_code == 200, closed.text
    others += await post_all(client, LIFT[4:], operator, grid_worker)
    await drain(model=lift)
    [crowd] = await listed_of(client, staff, "case")
    assert first in {m["id"] for m in crowd["members"]}

    rating = {"rating": "dissatisfied", "closed_at": closed.json()["closed_at"]}
    sent_back = await client.post(f"/api/v1/track/{closed.json()['tracking_code']}/rating", json=rating)
    assert sent_back.json()["reopened"] is True
    feed = await reasons(client, staff)
    assert {"dissatisfied", "hotspot"} <= feed[first], feed[first]
    assert all("hotspot" in feed[i] for i in others)


async def disagreements(client: Any, staff: dict[str, str]) -> list[str]:
    """Where the feed and the list of current hotspots disagree: an item lifted by a hotspot that does not list it, or
    an item in the feed listed by a hotspot yet not lifted."""
    listed: dict[int, set[int]] = {}
    for hotspot in (await client.get("/api/v1/hotspots", headers=staff)).json()["hotspots"]:
        for member in hotspot["members"]:
            listed.setdefault(member["id"], set()).add(hotspot["id"])
    found = []
    for entry in (await client.get("/api/v1/triage", params={"limit": 200}, headers=staff)).json()["items"]:
        lift, among = entry["hotspot_id"], listed.get(entry["id"], set())
        if lift is not None and lift not in among:
            found.append(f"item {entry['id']} lifted by hotspot {lift}, listed by {sorted(among)}")
        if lift is None and among:
            found.append(f"item {entry['id']} listed by {sorted(among)}, not lifted")
    return found


async def test_a_bursts_lift_follows_its_window_and_the_reports_of_its_problems(
    client: Any, drain: Any, model: Any, staff: dict[str, str], operator: dict[str, str], pool: Any
) -> None:
    from suggestions.hotspots.tracker import review_hotspots

    noise = FixedTopic(model, "环境保护")
    today = datetime.now(UTC).astimezone(ZONE).date()
    await quiet_noise_history(pool, today)
    # Three problems at noon four days ago, eleven yesterday: one burst, fourteen problems in its window.
    for day, texts in ((4, EARLIER_NOISES), (1, NOISES)):
        noon = datetime.combine(today - timedelta(days=day), time(12), tzinfo=ZONE)
        for n, text in enumerate(texts):
            await post(client, "hotline", text, operator, received_at=(noon + timedelta(minutes=n)).isoformat())
    await drain(model=noise)
    [burst] = await listed_of(client, staff, "burst")
    assert burst["why"]["problems"] == 14
    assert await disagreements(client, staff) == []

    # A resident reports the KTV of yesterday again: a report of a problem the burst counts.
    again = await post(client, "web", "城北街道鼓楼南街那家KTV每天晚上唱到凌晨，音响震得窗户都在响，睡不着。", {})
    await drain(model=noise)
    case_id = (await client.get(f"/api/v1/items/{again}", headers=staff)).json()["case_id"]
    assert (await client.get(f"/api/v1/cases/{case_id}", headers=staff)).json()["size"] == 2
    [burst] = await listed_of(client, staff, "burst")
    assert again in {m["id"] for m in burst["members"]}
    assert await disagreements(client, staff) == []

    # The hourly review: the window now starts three days ago, and the problems of four days ago have left it.
    async with pool.acquire() as conn:
        await review_hotspots(conn)
    [burst] = await listed_of(client, staff, "burst")
    assert burst["why"]["problems"] == 11
    assert await disagreements(client, staff) == []


async def test_a_risk_correction_that_undoes_a_cases_rise_ends_its_escalation(
    client: Any, drain: Any, model: Any, staff: dict[str, str], operator: dict[str, str], pool: Any
) -> None:
    await post_days(client, operator, datetime.now(UTC) - timedelta(days=4), WAGE_DISPUTE)
    await drain(model=graded(model))
    [rising] = await listed_of(client, staff, "escalation")
    assert (rising["why"]["first_level"], rising["why"]["last_level"]) == (1, 3)
    # Staff read the petition and the blocked road as complaints the model over-rated.
    later = [r["id"] for r in await pool.fetch("SELECT id FROM items ORDER BY received_at OFFSET 2")]
    for item_id in later:
        corrected = await client.put(f"/api/v1/items/{item_id}/classification", json={"risk_level": 1}, headers=staff)
        assert corrected.status_code == 200, corrected.text
    assert await listed_of(client, staff, "escalation") == [], "still shown rising from level 1 to 3"
    feed = await reasons(client, staff)
    assert not [i for i, codes in feed.items() if "hotspot" in codes]


async def area_rises(client: Any, staff: dict[str, str]) -> list[dict[str, Any]]:
    return [h for h in await listed_of(client, staff, "escalation") if h["case_id"] is None]


async def post_area_wages(client: Any, operator: dict[str, str]) -> list[int]:
    """The five wage disputes of one street, over the last ten days."""
    start = datetime.now(UTC) - timedelta(days=10)
    return [
        await post(client, "hotline", text, operator, received_at=(start + timedelta(days=day)).isoformat())
        for day, text in AREA_WAGES
    ]


async def test_a_risk_correction_that_undoes_an_areas_rise_ends_it_at_once(
    client: Any, drain: Any, model: Any, staff: dict[str, str], operator: dict[str, str]
) -> None:
    ids = await post_area_wages(client, operator)
    graded_wages = FixedTopic(model, "劳动和社会保障", risks={"【一】": 1, "【二】": 2, "【三】": 3})
    await drain(model=graded_wages)
    [area] = await area_rises(client, staff)
    assert area["why"]["last_level"] == 3
    # Staff read the two later warnings as ordinary complaints, and the blocked gate as a warning.
    for item_id, level in ((ids[2], 1), (ids[3], 1)):
        corrected = await client.put(
            f"/api/v1/items/{item_id}/classification", json={"risk_level": level}, headers=staff
        )
        assert corrected.status_code == 200, corrected.text
    [area] = await area_rises(client, staff)  # 1, 1, 1, 1, 3: still a rise, its numbers as corrected
    assert (area["why"]["first_level"], area["why"]["last_level"], area["why"]["reports"]) == (1, 3, 5)
    corrected = await client.put(f"/api/v1/items/{ids[4]}/classification", json={"risk_level": 1}, headers=staff)
    assert corrected.status_code == 200, corrected.text
    assert await area_rises(client, staff) == [], "still shown rising after staff corrected every level to 1"
    assert not [i for i, codes in (await reasons(client, staff)).items() if "hotspot" in codes]
    assert await disagreements(client, staff) == []


async def test_reports_corrected_up_to_warnings_raise_their_areas_rise_at_once(
    client: Any, drain: Any, model: Any, staff: dict[str, str], operator: dict[str, str]
) -> None:
    ids = await post_area_wages(client, operator)
    await drain(model=FixedTopic(model, "劳动和社会保障", risks={"【": 1}))  # the model reads every one as a complaint
    assert await area_rises(client, staff) == []
    # Staff read the later three as the group dispute, the threat to go to the media and the blockade they are.
    for item_id, level in ((ids[2], 2), (ids[3], 2), (ids[4], 3)):
        corrected = await client.put(
            f"/api/v1/items/{item_id}/classification", json={"risk_level": level}, headers=staff
        )
        assert corrected.status_code == 200, corrected.text
    [area] = await area_rises(client, staff)
    assert (area["why"]["first_level"], area["why"]["last_level"], area["why"]["reports"]) == (1, 3, 5)
    lifted = {i for i, codes in (await reasons(client, staff)).items() if "hotspot" in codes}
    assert lifted == set(ids[2:])
    assert await disagreements(client, staff) == []


async def test_a_report_corrected_to_another_topic_leaves_the_lift_of_its_former_topics_burst(
    client: Any, drain: Any, model: Any, staff: dict[str, str], pool: Any
) -> None:
    today = datetime.now(UTC).astimezone(ZONE).date()
    await quiet_noise_history(pool, today)
    noise = FixedTopic(model, "环境保护")
    for text in NOISES:
        await post(client, "web", text, {})
    again = await post(client, "web", "城北街道鼓楼南街那家KTV每天晚上唱到凌晨，音响震得窗户都在响，睡不着。", {})
    await drain(model=noise)
    [burst] = await listed_of(client, staff, "burst")
    assert again in {m["id"] for m in burst["members"]}
    # Staff file the second report of the KTV under 商贸旅游 (a licence matter); its case keeps its topic.
    corrected = await client.put(f"/api/v1/items/{again}/classification", json={"topic": "商贸旅游"}, headers=staff)
    assert corrected.status_code == 200, corrected.text
    [burst] = await listed_of(client, staff, "burst")
    assert again not in {m["id"] for m in burst["members"]}
    assert await disagreements(client, staff) == []


async def test_a_case_views_cursor_pages_only_the_case_it_came_from(
    client: Any, drain: Any, model: Any, staff: dict[str, str], operator: dict[str, str], grid_worker: dict[str, str]
) -> None:
    ids = await post_all(client, LIFT[:3], operator, grid_worker)
    other = await post(client, "web", "天通苑北街道天通西苑三区12号楼电梯坏了一周，物业说没有维修资金。", {})
    await drain(model=FixedTopic(model, "城乡建设"))
    lift_case = (await client.get(f"/api/v1/items/{ids[0]}", headers=staff)).json()["case_id"]
    other_case = (await client.get(f"/api/v1/items/{other}", headers=staff)).json()["case_id"]
    assert other_case != lift_case
    page = (await client.get(f"/api/v1/cases/{lift_case}", params={"limit": 1}, headers=staff)).json()
    assert page["next_cursor"] is not None
    mixed_up = await client.get(f"/api/v1/cases/{other_case}", params={"before": page["next_cursor"]}, headers=staff)
    assert mixed_up.status_code == 422, mixed_up.text
    assert [e["field"] for e in mixed_up.json()["errors"]] == ["before"]
    following = await client.get(f"/api/v1/cases/{lift_case}", params={"before": page["next_cursor"]}, headers=staff)
    assert [m["id"] for m in following.json()["members"]] == ids[-2::-1]


async def test_a_merge_into_a_case_that_does_not_exist_names_into(
    client: Any, drain: Any, model: Any, staff: dict[str, str]
) -> None:
    item = await post(client, "web", LIFT[0][1], {})
    await drain(model=FixedTopic(model, "城乡建设"))
    case_id = (await client.get(f"/api/v1/items/{item}", headers=staff)).json()["case_id"]
    unknown = await client.post(f"/api/v1/cases/{case_id}/merge", json={"into": 999999}, headers=staff)
    assert unknown.status_code == 422, unknown.text
    assert [e["field"] for e in unknown.json()["errors"]] == ["into"]
    missing = await client.post("/api/v1/cases/999999/merge", json={"into": case_id}, headers=staff)
    assert missing.status_code == 404, missing.text


@pytest.mark.parametrize("edit", ["merge", "move"])
async def test_an_areas_rise_staff_make_one_case_of_is_that_cases_escalation_only(
    client: Any, drain: Any, model: Any, staff: dict[str, str], operator: dict[str, str], edit: str
) -> None:
    ids = await post_area_wages(client, operator)
    await drain(model=FixedTopic(model, "劳动和社会保障", risks={"【一】": 1, "【二】": 2, "【三】": 3}))
    assert len(await area_rises(client, staff)) == 1
    # Staff read the five reports as one employer's unpaid wages: they merge their cases into the first's, or move
    # the reports there.
    cases = [(await client.get(f"/api/v1/items/{i}", headers=staff)).json()["case_id"] for i in ids]
    for item_id, case_id in zip(ids[1:], cases[1:], strict=True):
        if edit == "merge":
            done = await client.post(f"/api/v1/cases/{case_id}/merge", json={"into": cases[0]}, headers=staff)
        else:
            done = await client.post(f"/api/v1/items/{item_id}/case", json={"case_id": cases[0]}, headers=staff)
        assert done.status_code == 200, done.text
    assert await area_rises(client, staff) == [], "the area's rise listed beside its one case's"
    [rising] = await listed_of(client, staff, "escalation")
    assert rising["case_id"] == cases[0]
    assert await disagreements(client, staff) == []


async def test_a_report_sent_back_after_its_bursts_window_moved_on_is_not_lifted_by_it(
    client: Any, drain: Any, model: Any, staff: dict[str, str], operator: dict[str, str], pool: Any
) -> None:
    from suggestions.hotspots.tracker import review_hotspots

    today = datetime.now(UTC).astimezone(ZONE).date()
    await quiet_noise_history(pool, today)
    earlier: list[int] = []
    for day, texts in ((4, EARLIER_NOISES), (1, NOISES)):
        noon = datetime.combine(today - timedelta(days=day), time(12), tzinfo=ZONE)
        for n, text in enumerate(texts):
            at = (noon + timedelta(minutes=n)).isoformat()
            item_id = await post(client, "hotline", text, operator, received_at=at)
            earlier += [item_id] if day == 4 else []
    await drain(model=FixedTopic(model, "环境保护"))
    # The drilling of four days ago is answered while the burst counts it; the window then moves on without it.
    closed = await client.post(f"/api/v1/items/{earlier[0]}/close", json={"answer": "已责令整改"}, headers=staff)
    assert closed.status_code == 200, closed.text
    async with pool.acquire() as conn:
        await review_hotspots(conn)
    [burst] = await listed_of(client, staff, "burst")
    assert earlier[0] not in {m["id"] for m in burst["members"]}

    rating = {"rating": "dissatisfied", "closed_at": closed.json()["closed_at"]}
    sent_back = await client.post(f"/api/v1/track/{closed.json()['tracking_code']}/rating", json=rating)
    assert sent_back.json()["reopened"] is True, sent_back.text
    assert await disagreements(client, staff) == []
    assert "hotspot" not in (await reasons(client, staff))[earlier[0]]
