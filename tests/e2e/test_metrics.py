"""/metrics: what a process counted, and the service's state read from PostgreSQL and Redis at each scrape."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

ITEM = {"channel": "web", "text": "小区南门外的下水道井盖松动，车压过去响声很大，担心有人踩空。"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_report_intake_waiting_items_queue_and_latency(
    client: Any, drain: Any, monitor: dict[str, str]
) -> None:
    before = samples((await client.get("/metrics", headers=monitor)).text)
    accepted_before = before.get(("suggestions_items_accepted_total", (("channel", "web"),)), 0)
    for _ in range(3):
        assert (await client.post("/api/v1/items", json=ITEM)).status_code == 201

    response = await client.get("/metrics", headers=monitor)
    assert response.status_code == 200
    content_type = response.headers["content-type"]
    assert content_type.startswith("text/plain; version=")
    assert content_type.count("charset") == 1, content_type
    now = samples(response.text)
    assert now[("suggestions_items_accepted_total", (("channel", "web"),))] == accepted_before + 3
    assert now[("suggestions_items_waiting", ())] == 3
    assert now[("suggestions_queue_depth", ())] == 3
    assert now[("suggestions_oldest_waiting_seconds", ())] >= 0
    assert now[("suggestions_items_failed", ())] == 0
    # Requests are labelled by route template, never by an id or a code.
    paths = {dict(labels).get("path") for name, labels in now if name == "suggestions_requests_total"}
    assert "/api/v1/items" in paths

    from suggestions.metrics import WORKER_REGISTRY

    classified_before = WORKER_REGISTRY.get_sample_value("suggestions_items_classified_total") or 0
    await drain()
    # Workers count what they did in their own registry, served on their own port; the API's page never shows it.
    assert WORKER_REGISTRY.get_sample_value("suggestions_items_classified_total") == classified_before + 3
    after = samples((await client.get("/metrics", headers=monitor)).text)
    assert not any(name.startswith("suggestions_items_classified") for name, _ in after)
    assert after[("suggestions_items_waiting", ())] == 0
    assert after[("suggestions_classified_recently", ())] == 3
    assert after[("suggestions_classification_latency_seconds", (("quantile", "0.5"),))] > 0


async def test_metrics_survive_a_dead_redis(
    settings: Any, pool: Any, model: Any, gazetteer: Any, monitor: dict[str, str]
) -> None:
    import httpx
    from arq.connections import ArqRedis

    from suggestions.app import create_app
    from tests.processes import free_port

    dead = ArqRedis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    dead.default_queue_name = settings.queue_name
    app = create_app(settings, pool=pool, queue=dead, model=model, gazetteer=gazetteer)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        response = await client.get("/metrics", headers=monitor)
    await dead.aclose()
    assert response.status_code == 200
    assert samples(response.text)[("suggestions_queue_depth", ())] == -1


async def test_metrics_are_read_with_a_monitor_or_admin_token_only(
    client: Any, monitor: dict[str, str], staff: dict[str, str], operator: dict[str, str], pool: Any
) -> None:
    """The counts are the centre's (items waiting, residents' ratings) and each scrape queries PostgreSQL: the public
    hears 401, other roles 403; the scraper's own token opens nothing else."""
    from tests.conftest import _token

    assert (await client.get("/metrics")).status_code == 401
    assert (await client.get("/metrics", headers={"Authorization": "Bearer sgt_invented"})).status_code == 401
    for other in (staff, operator):
        refused = await client.get("/metrics", headers=other)
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/metrics", headers=monitor)).status_code == 200
    assert (await client.get("/metrics", headers=await _token(pool, "admin"))).status_code == 200
    # A monitor token reads no item and enters none.
    assert (await client.get("/api/v1/triage", headers=monitor)).status_code == 403
    posted = await client.post("/api/v1/items", json={**ITEM, "channel": "hotline"}, headers=monitor)
    assert posted.status_code == 403
    web = await client.post("/api/v1/items", json=ITEM, headers=monitor)
    assert web.status_code == 403


async def test_metrics_survive_a_dead_postgres(
    settings: Any, queue: Any, model: Any, gazetteer: Any, monitor: dict[str, str], staff: dict[str, str]
) -> None:
    """An outage is when the counts of 503s matter most: the page still answers the scraper whose token read it
    before PostgreSQL went away, and what only PostgreSQL knows is marked unknown. A token it never saw is refused."""
    import asyncpg
    import httpx

    from suggestions.app import create_app

    pool = await asyncpg.create_pool(settings.database_url, min_size=0, timeout=2)
    app = create_app(settings, pool=pool, queue=queue, model=model, gazetteer=gazetteer)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        assert (await client.get("/metrics", headers=monitor)).status_code == 200
        await pool.close()  # PostgreSQL is away: every request that needs it fails from here on
        assert (await client.post("/api/v1/items", json=ITEM)).status_code == 503
        response = await client.get("/metrics", headers=monitor)
        unseen = await client.get("/metrics", headers=staff)
    assert response.status_code == 200, response.text
    assert unseen.status_code == 503
    now = samples(response.text)
    for gauge in ("items_waiting", "oldest_waiting_seconds", "items_failed", "classified_recently"):
        assert now[(f"suggestions_{gauge}", ())] == -1
    refused = [
        value
        for (name, labels), value in now.items()
        if name == "suggestions_requests_total" and ("status_code", "503") in labels
    ]
    assert sum(refused) >= 1
