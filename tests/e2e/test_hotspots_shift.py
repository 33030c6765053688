"""Hotspots as staff read and act on them over a shift: the numbers in `why`, the list of current hotspots and the
feed's `hotspot` reasons agree with each other, whatever staff and the worker change in between."""

from __future__ import annotations

from typing import Any

import msgspec

from ml.serving import Prediction
from tests.e2e.test_hotspots import LIFT, FixedTopic, listed_of, post_all


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
