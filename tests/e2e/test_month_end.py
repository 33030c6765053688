"""A centre's month of closing the loop, as its month-end meeting reads it: many desks, a reply sent back and handed
to another desk, a rating changed on the tracking page after a call back, a case answered for all its reporters.
Every figure adds up: totals are the sum of their parts, each rating counted once, under the desk whose reply it
judges."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_hotspots import LIFT, FixedTopic, post_all
from tests.e2e.test_metrics import samples
from tests.e2e.test_satisfaction import hotline_item
from tests.e2e.test_workflow import classified_item

RATINGS = ("satisfied", "basically_satisfied", "dissatisfied")


async def _month(
    client: Any, drain: Any, model: Any, staff: dict[str, str], operator: dict[str, str], grid_worker: dict[str, str]
) -> dict[str, Any]:
    async def act(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        response = await client.post(url, json=body, headers=staff if headers is None else headers)
        assert response.status_code == 200, response.text
        return response.json()

    # A street light: 城市管理科 answers; the resident rates it, then thinks again.
    light = await classified_item(client, drain)
    await act(f"/api/v1/items/{light['id']}/assign", {"to": "城市管理科"})
    await act(f"/api/v1/items/{light['id']}/close", {"answer": "路灯已修复。"})
    await act(f"/api/v1/track/{light['tracking_code']}/rating", {"rating": "satisfied"}, {})
    await act(f"/api/v1/track/{light['tracking_code']}/rating", {"rating": "basically_satisfied"}, {})

    # A hotline call: 城市管理科 answers, a call back takes down 满意, the resident sends it back on the tracking page,
    # the centre hands it to 住房建设科, which answers again, and the resident is satisfied.
    call, url = await hotline_item(client, drain, operator)
    await act(f"{url}/assign", {"to": "城市管理科"})
    closed = await act(f"{url}/close", {"answer": "已派人查看。"})
    await act(f"{url}/rating", {"rating": "satisfied", "closed_at": closed["closed_at"]})
    await act(f"/api/v1/track/{call['tracking_code']}/rating", {"rating": "dissatisfied", "comment": "灯还是不亮"}, {})
    await act(f"{url}/assign", {"to": "住房建设科"})
    await act(f"{url}/close", {"answer": "已更换灯杆。"})
    await act(f"/api/v1/track/{call['tracking_code']}/rating", {"rating": "satisfied"}, {})

    # A lift out of order, reported five times: one case, answered once for all; two reporters rate the reply.
    lift = await post_all(client, LIFT, operator, grid_worker)
    await drain(model=FixedTopic(model, "城乡建设"))
    reports = [(await client.get(f"/api/v1/items/{i}", headers=staff)).json() for i in lift]
    [case_id] = {r["case_id"] for r in reports}
    await act(f"/api/v1/items/{lift[0]}/assign", {"to": "物业科"})
    await act(f"/api/v1/cases/{case_id}/close", {"answer": "电梯已修复。"})
    await act(f"/api/v1/track/{reports[0]['tracking_code']}/rating", {"rating": "satisfied"}, {})
    await act(f"/api/v1/track/{reports[1]['tracking_code']}/rating", {"rating": "basically_satisfied"}, {})
    report: dict[str, Any] = (await client.get("/api/v1/satisfaction", headers=staff)).json()
    report["lift_case"] = case_id
    return report


def _figures(tally: dict[str, Any]) -> tuple[int, ...]:
    return tuple(tally[k] for k in ("closed", "rated", *RATINGS))


async def test_the_months_figures_add_up(
    client: Any,
    drain: Any,
    model: Any,
    staff: dict[str, str],
    operator: dict[str, str],
    grid_worker: dict[str, str],
) -> None:
    report = await _month(client, drain, model, staff, operator, grid_worker)
    # Eight replies: the light's, the call's two (the one sent back is counted against the desk that wrote it) and
    # the case's five; five rated, each once, as it stands now.
    assert _figures(report["total"]) == (8, 5, 2, 2, 1)
    by_desk = {t["key"]: _figures(t) for t in report["by_desk"]}
    assert by_desk == {
        "城市管理科": (2, 2, 0, 1, 1),
        "住房建设科": (1, 1, 1, 0, 0),
        "物业科": (1, 1, 1, 0, 0),
        None: (4, 1, 0, 1, 0),
    }
    for part in ("by_topic", "by_desk", "by_channel", "by_source"):
        sums = tuple(sum(column) for column in zip(*(_figures(t) for t in report[part]), strict=True))
        assert sums == _figures(report["total"]), part
    by_source = {t["key"]: _figures(t) for t in report["by_source"]}
    assert by_source == {"resident": (5, 5, 2, 2, 1), None: (3, 0, 0, 0, 0)}


async def test_the_ratings_counter_counts_each_reply_once_and_changes_apart(
    client: Any,
    drain: Any,
    model: Any,
    staff: dict[str, str],
    operator: dict[str, str],
    grid_worker: dict[str, str],
    monitor: dict[str, str],
) -> None:
    """A dashboard that sums `suggestions_ratings_total` by rating reads as many ratings as the report: a rating
    changed (on a call back, then on the tracking page) is one rating, its change counted in
    `suggestions_rating_changes_total` from one rating to the other."""

    def ratings(text: str) -> dict[str, float]:
        found = samples(text)
        return {
            rating: sum(
                v
                for (name, labels), v in found.items()
                if name == "suggestions_ratings_total" and ("rating", rating) in labels
            )
            for rating in RATINGS
        }

    def changes(text: str) -> dict[tuple[str, str], float]:
        found = samples(text)
        return {
            (dict(labels)["from"], dict(labels)["to"]): v
            for (name, labels), v in found.items()
            if name == "suggestions_rating_changes_total"
        }

    before = (await client.get("/metrics", headers=monitor)).text
    report = await _month(client, drain, model, staff, operator, grid_worker)
    after = (await client.get("/metrics", headers=monitor)).text
    given = {r: ratings(after)[r] - ratings(before)[r] for r in RATINGS}
    moved = {k: v - changes(before).get(k, 0) for k, v in changes(after).items()}
    assert given == {"satisfied": 4, "basically_satisfied": 1, "dissatisfied": 0}  # five replies rated, each once
    assert {k: v for k, v in moved.items() if v} == {
        ("satisfied", "basically_satisfied"): 1,
        ("satisfied", "dissatisfied"): 1,
    }
    standing = {
        r: given[r]
        + sum(v for (_, to), v in moved.items() if to == r)
        - sum(v for (fr, _), v in moved.items() if fr == r)
        for r in RATINGS
    }
    assert standing == {"satisfied": 2, "basically_satisfied": 2, "dissatisfied": 1}
    assert report["total"]["rated"] == 5  # the report: the call's first reply rated once, as it stands


async def test_a_case_says_how_its_reporters_rated_the_replies(
    client: Any,
    drain: Any,
    model: Any,
    staff: dict[str, str],
    operator: dict[str, str],
    grid_worker: dict[str, str],
) -> None:
    """A case answered for all its reporters: how many replies went out, how many were rated and how, each reporter's
    rating counted once, in the case itself (its member list comes a page at a time)."""
    report = await _month(client, drain, model, staff, operator, grid_worker)
    url = f"/api/v1/cases/{report['lift_case']}"
    case = (await client.get(url, params={"limit": 1}, headers=staff)).json()
    assert _figures(case["replies"]) == (5, 2, 1, 1, 0)
    # A reporter sends the case's reply back and is answered on their own: both replies are the case's.
    member = case["members"][0]
    await client.post(f"/api/v1/track/{member['tracking_code']}/rating", json={"rating": "dissatisfied"})
    await client.post(f"/api/v1/items/{member['id']}/close", json={"answer": "已为您单独协调。"}, headers=staff)
    case = (await client.get(url, headers=staff)).json()
    assert _figures(case["replies"]) == (6, 3, 1, 1, 1)
    assert case["replies"]["satisfaction_rate"] == round(2 / 3, 4)
