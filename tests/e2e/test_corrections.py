"""Staff correct a classification; the correction is kept as a label; a new model re-classifies the backlog."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import msgspec

from suggestions.classify.backlog import export_classifications, export_corrections, reclassify

NOISE = "楼下的烧烤店每天晚上营业到凌晨两点，油烟和吵闹声让人没法睡觉。"


async def classified_item(client: Any, drain: Any, staff: dict[str, str], text: str = NOISE) -> dict[str, Any]:
    created = (await client.post("/api/v1/items", json={"channel": "web", "text": text})).json()
    await drain()
    item: dict[str, Any] = (await client.get(f"/api/v1/items/{created['id']}", headers=staff)).json()
    return item


async def test_a_correction_replaces_the_classification_and_is_exported(
    client: Any, drain: Any, staff: dict[str, str], conn: Any, tmp_path: Path
) -> None:
    item = await classified_item(client, drain, staff)
    model_topic = item["classification"]["topic"]
    new_topic = "环境保护" if model_topic != "环境保护" else "商贸旅游"

    response = await client.put(
        f"/api/v1/items/{item['id']}/classification", json={"topic": new_topic, "risk_level": 2}, headers=staff
    )
    assert response.status_code == 200, response.text
    corrected = response.json()["classification"]
    assert (corrected["topic"], corrected["risk_level"], corrected["source"]) == (new_topic, 2, "staff")
    entry = (await client.get("/api/v1/triage", headers=staff)).json()["items"][0]
    assert (entry["topic"], entry["risk_level"], entry["priority"]) == (new_topic, 2, 1)
    assert await conn.fetchval("SELECT count(*) FROM classifications WHERE item_id = $1", item["id"]) == 2

    assert await export_corrections(conn, tmp_path / "corrections.csv") == 1
    with (tmp_path / "corrections.csv").open(encoding="utf-8") as rows:
        [row] = list(csv.DictReader(rows))
    # Only what staff changed is a label.
    risk_label = "" if item["classification"]["risk_level"] == 2 else "2"
    assert row == {"text": NOISE, "topic": new_topic, "risk_level": risk_label}


async def test_corrections_are_validated(
    client: Any, drain: Any, staff: dict[str, str], operator: dict[str, str]
) -> None:
    item = await classified_item(client, drain, staff)
    url = f"/api/v1/items/{item['id']}/classification"
    assert (await client.put(url, json={"topic": "外星事务"}, headers=staff)).status_code == 422
    assert (await client.put(url, json={"risk_level": 4}, headers=staff)).status_code == 422
    assert (await client.put(url, json={}, headers=staff)).status_code == 422
    assert (await client.put(url, json={"risk_level": 1}, headers=operator)).status_code == 403
    assert (
        await client.put("/api/v1/items/999999/classification", json={"risk_level": 1}, headers=staff)
    ).status_code == 404


class RenamedModel:
    """The same model under a new version, as after a promotion."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.version = model.version + "-next"
        self.topics = model.topics

    def predict(self, texts: list[str]) -> Any:
        return self.model.predict(texts)


async def test_reclassify_moves_model_items_to_the_new_version_and_keeps_corrections(
    client: Any, drain: Any, staff: dict[str, str], pool: Any, model: Any, tmp_path: Path
) -> None:
    first = await classified_item(client, drain, staff)
    second = await classified_item(client, drain, staff, "建议在小区门口增设一个快递柜。")
    await client.put(f"/api/v1/items/{second['id']}/classification", json={"risk_level": 1}, headers=staff)

    newer = RenamedModel(model)
    assert await reclassify(pool, newer) == 1
    assert await reclassify(pool, newer) == 0  # nothing left
    versions = dict(
        await pool.fetch(
            "SELECT i.id, c.model_version FROM items i JOIN classifications c ON c.id = i.classification_id"
        )
    )
    assert versions[first["id"]] == newer.version
    assert versions[second["id"]].startswith("staff:")

    async with pool.acquire() as conn:
        assert await export_classifications(conn, tmp_path / "c.jsonl") == 4
    records = [msgspec.json.decode(line) for line in (tmp_path / "c.jsonl").read_bytes().splitlines()]
    assert {r["source"] for r in records} == {"model", "staff"}
    assert all("text" not in r for r in records)
