"""Items in over HTTP on every channel, classified by a real worker, out through the triage feed."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import pytest
from arq.connections import ArqRedis

from suggestions.classify.worker import JobFailed, sweep, unquoted
from suggestions.queue import CLASSIFY_JOB
from tests.faults.accounting import account

GAS_LEAK = "来电人反映：回龙观街道龙跃苑二区5号楼3单元楼道里燃气泄漏，味道很大，有老人在家，请马上派人处置。"
UNPAID = "网格员走访发现：沙河镇一工地四十多名工人已经半年没拿到工资，工人们商量明天一起去区政府讨要说法。"
STREETLIGHT = "建议在我们小区门口的路口加装一盏路灯，晚上太黑了，老人出门不方便。"


async def submit(client: Any, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = await client.post("/api/v1/items", json=body, headers=headers or {})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert set(created) == {"id", "tracking_code", "status"}
    assert created["status"] == "pending"
    return created


async def feed(client: Any, staff: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/triage", params=params, headers=staff)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_three_channels_end_in_the_feed_most_urgent_first(
    client: Any, drain: Any, staff: dict[str, str], operator: dict[str, str], grid_worker: dict[str, str]
) -> None:
    light = await submit(client, {"channel": "web", "text": STREETLIGHT, "kind": "suggestion"})
    unpaid = await submit(client, {"channel": "grid", "text": UNPAID, "place": "沙河镇"}, grid_worker)
    gas = await submit(
        client,
        {"channel": "hotline", "text": GAS_LEAK, "contact_phone": "13912345678", "external_id": "WO-1"},
        operator,
    )
    assert await drain() >= 1

    entries = (await feed(client, staff))["items"]
    assert [e["id"] for e in entries] == [gas["id"], unpaid["id"], light["id"]]
    assert entries[0]["risk_level"] == 3
    assert entries[1]["risk_level"] >= 2
    assert [e["priority"] for e in entries] == sorted(e["priority"] for e in entries)
    for entry in entries:
        assert entry["status"] == "open"
        assert entry["topic"]
        assert {"risk", "waiting"} <= {r["code"] for r in entry["reasons"]}

    item = (await client.get(f"/api/v1/items/{gas['id']}", headers=staff)).json()
    classification = item["classification"]
    assert classification["risk_level"] == 3
    assert 0 < classification["topic_confidence"] <= 1
    assert 0 < classification["risk_confidence"] <= 1
    assert classification["model_version"]
    assert classification["terms"]
    assert item["channel"] == "hotline"
    assert item["external_id"] == "WO-1"
    assert item["has_contact"] is True
    # The text is the address: 龙跃苑二区 lies in 龙泽园街道 (the gazetteer knows better than older street names).
    assert (item["street"], item["locality"]) == ("龙泽园街道", "龙跃苑二区社区")
    assert "13912345678" not in str(item)
    # The sender gave no kind: the model's is kept, and said to be the model's.
    assert item["kind"] is not None
    assert item["kind_source"] == "model"


async def test_items_wait_for_a_worker_that_starts_late(client: Any, drain: Any, staff: dict[str, str]) -> None:
    ids = [(await submit(client, {"channel": "web", "text": f"{STREETLIGHT}（第{n}次反映）"}))["id"] for n in range(5)]
    waiting = (await feed(client, staff))["items"]
    assert {e["id"] for e in waiting} == set(ids)
    assert all(e["status"] == "pending" and e["reasons"][0]["code"] == "unclassified" for e in waiting)

    await drain()
    classified = (await feed(client, staff))["items"]
    assert {e["id"] for e in classified} == set(ids)
    assert all(e["status"] == "open" and e["topic"] for e in classified)


async def test_a_job_run_twice_changes_nothing(
    client: Any, drain: Any, staff: dict[str, str], queue: ArqRedis, pool: Any
) -> None:
    created = await submit(client, {"channel": "web", "text": UNPAID})
    await drain()
    before = (await client.get(f"/api/v1/items/{created['id']}", headers=staff)).json()

    await queue.enqueue_job(CLASSIFY_JOB, created["id"], _job_id="again")
    await drain()
    after = (await client.get(f"/api/v1/items/{created['id']}", headers=staff)).json()
    assert after == before
    assert await pool.fetchval("SELECT count(*) FROM classifications WHERE item_id = $1", created["id"]) == 1


async def test_the_sweeper_finds_what_the_queue_lost(
    client: Any, staff: dict[str, str], queue: ArqRedis, settings: Any, pool: Any, model: Any
) -> None:
    ids = [(await submit(client, {"channel": "web", "text": f"{GAS_LEAK} {n}"}))["id"] for n in range(3)]
    await queue.flushall()  # Redis wiped: every wake-up is gone

    from suggestions.classify.worker import shutdown, startup

    ctx: dict[str, Any] = {"settings": settings, "db_pool": pool, "model": model}
    await startup(ctx)
    try:
        assert await sweep(ctx) == 3
        assert await sweep(ctx) == 0
    finally:
        await shutdown(ctx)
    entries = (await feed(client, staff))["items"]
    assert {e["id"] for e in entries} == set(ids)
    assert all(e["status"] == "open" for e in entries)


class PoisonedModel:
    """The real model, except that one text makes it raise."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.version = model.version

    def predict(self, texts: list[str]) -> Any:
        if any("毒丸" in t for t in texts):
            raise RuntimeError("cannot classify")
        return self.model.predict(texts)


async def test_a_poison_item_fails_alone_and_stays_visible(
    client: Any, drain: Any, staff: dict[str, str], settings: Any, pool: Any, model: Any
) -> None:
    poison = await submit(client, {"channel": "web", "text": "毒丸：这条内容让分类出错"})
    good = await submit(client, {"channel": "web", "text": STREETLIGHT})
    poisoned = PoisonedModel(model)
    await drain(model=poisoned)

    from suggestions.classify.worker import shutdown, startup

    ctx: dict[str, Any] = {"settings": settings, "db_pool": pool, "model": poisoned}
    await startup(ctx)
    try:
        for _ in range(settings.max_attempts):
            await sweep(ctx)
    finally:
        await shutdown(ctx)

    entries = {e["id"]: e for e in (await feed(client, staff))["items"]}
    assert entries[good["id"]]["status"] == "open"
    assert entries[poison["id"]]["status"] == "failed"
    assert entries[poison["id"]]["reasons"][0]["code"] == "classification_failed"
    failed_only = (await feed(client, staff, status="failed"))["items"]
    assert [e["id"] for e in failed_only] == [poison["id"]]
    async with pool.acquire() as conn:
        accounting = await account(conn, {poison["id"], good["id"]})
    assert accounting.exact, accounting.line()
    assert (accounting.classified_once, accounting.failed_visible) == (1, 1)


class UnknownKindModel:
    """The real model, except that it was trained with a kind of item this database does not know."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.version = model.version

    def predict(self, texts: list[str]) -> Any:
        return [msgspec.structs.replace(p, kind="praise") for p in self.model.predict(texts)]


async def test_a_classification_the_database_refuses_logs_no_resident_text(
    client: Any, drain: Any, pool: Any, model: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL refuses the classification and quotes the item's row, the resident's text with it, in its error:
    the failure is logged by the error's class, never by its message."""
    phone = "13912345678"
    # Near the start: PostgreSQL quotes the first 64 bytes of each value.
    created = await submit(client, {"channel": "web", "text": f"我的电话{phone}。{STREETLIGHT}"})
    with caplog.at_level(logging.INFO):
        await drain(model=UnknownKindModel(model))
    assert any("CheckViolationError" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert phone not in record.getMessage()
        assert record.exc_info is None or phone not in str(record.exc_info[1])
    # Nothing is lost: the item waits for the sweeper (and a model whose classifications the database accepts).
    assert await pool.fetchval("SELECT status FROM items WHERE id = $1", created["id"]) == "pending"


async def test_a_failed_job_is_logged_by_its_errors_class_only() -> None:
    """arq logs a failed job's exception with its message; whatever a job raises reaches it as a class name."""

    async def job(ctx: dict[str, Any], item_id: int) -> None:
        raise ValueError(f"Failing row contains ({item_id}, 我的电话13912345678)")

    with pytest.raises(JobFailed) as failed:
        await unquoted(job)({}, 7)
    assert str(failed.value) == "ValueError"
    assert failed.value.__traceback__ is not None
    assert failed.value.__suppress_context__


class OneUnknownKindModel(UnknownKindModel):
    """The real model, except that one text gets a kind of item this database does not know."""

    def predict(self, texts: list[str]) -> Any:
        return [
            msgspec.structs.replace(p, kind="praise") if "毒丸" in t else p
            for t, p in zip(texts, self.model.predict(texts), strict=True)
        ]


async def test_a_classification_the_database_refuses_fails_its_item_alone(
    client: Any, drain: Any, staff: dict[str, str], settings: Any, pool: Any, model: Any
) -> None:
    """The database refuses one item's classification: the items classified beside it are recorded at once, and the
    refused one is retried and then given up on, for staff, under the error's name."""
    poison = await submit(client, {"channel": "web", "text": "毒丸：这条内容的分类数据库不收"})
    good = await submit(client, {"channel": "web", "text": STREETLIGHT})
    refusing = OneUnknownKindModel(model)
    await drain(model=refusing)
    assert await pool.fetchval("SELECT status FROM items WHERE id = $1", good["id"]) == "open"

    from suggestions.classify.worker import shutdown, startup

    ctx: dict[str, Any] = {"settings": settings, "db_pool": pool, "model": refusing}
    await startup(ctx)
    try:
        for _ in range(settings.max_attempts):
            await sweep(ctx)
    finally:
        await shutdown(ctx)
    row = await pool.fetchrow("SELECT status, last_error FROM items WHERE id = $1", poison["id"])
    assert (row["status"], row["last_error"]) == ("failed", "CheckViolationError")
    async with pool.acquire() as conn:
        accounting = await account(conn, {poison["id"], good["id"]})
    assert accounting.exact, accounting.line()
