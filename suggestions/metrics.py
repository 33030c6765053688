"""Prometheus metrics at `/metrics`.

Two kinds. What a process counts (requests by route and status, through Litestar's Prometheus middleware, and items
accepted by channel) lives in that process; run several API processes with `PROMETHEUS_MULTIPROC_DIR` set and every
process's counts are summed. What the service as a whole is doing (items waiting, the oldest wait, items whose
classification failed, the queue's depth, how long classification took lately) is read from PostgreSQL and Redis at
each scrape, so that every process reports the same truth.

Workers serve their own counters (items classified, failures, batch times) on `SUGGESTIONS_WORKER_METRICS_PORT`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from litestar import Response, get
from litestar.datastructures import State
from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from suggestions.auth import BEARER, monitor_only
from suggestions.db import connection
from suggestions.errors import problem_responses

log = logging.getLogger(__name__)

PREFIX = "suggestions"
LATENCY_WINDOW_MINUTES = 15
LATENCY_QUANTILES = (0.5, 0.95, 0.99)

ITEMS_ACCEPTED = Counter(f"{PREFIX}_items_accepted", "Items stored by intake, by channel", ["channel"])
# Each reply's rating counted once, when it is first given; a later change of it counted apart, from one rating to
# the other. Ratings standing = ratings_total by rating + changes to it - changes from it: a dashboard's sums agree with
# the satisfaction report's.
RATINGS = Counter(
    f"{PREFIX}_ratings",
    "Replies rated, by the first rating given and by who recorded it (resident, callback)",
    ["rating", "source"],
)
RATING_CHANGES = Counter(
    f"{PREFIX}_rating_changes",
    "Ratings of a reply changed, from the rating that stood to the new one",
    ["from", "to"],
)

# Worker-side, in a registry of their own that each worker serves on its own port (API processes never show them).
WORKER_REGISTRY = CollectorRegistry()
ITEMS_CLASSIFIED = Counter(f"{PREFIX}_items_classified", "Items a worker classified", registry=WORKER_REGISTRY)
CLASSIFICATION_FAILURES = Counter(
    f"{PREFIX}_classification_failures", "Classification attempts that raised", registry=WORKER_REGISTRY
)
BATCH_SECONDS = Histogram(
    f"{PREFIX}_classify_batch_seconds",
    "Time to classify and record one batch",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=WORKER_REGISTRY,
)

http_metrics = PrometheusConfig(
    app_name=PREFIX,
    prefix=PREFIX,
    group_path=True,  # label requests by route template, not by item id
    exclude=["/metrics", "/healthz", "/readyz"],
)

STATE = """
SELECT
    count(*) FILTER (WHERE status = 'pending') AS waiting,
    coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'pending')), 0) AS oldest_waiting,
    count(*) FILTER (WHERE status = 'failed') AS failed
FROM items
WHERE status IN ('pending', 'failed')
"""

LATENCY = """
SELECT count(*) AS classified,
       percentile_cont($1::float8[]) WITHIN GROUP (ORDER BY extract(epoch FROM c.created_at - i.created_at)) AS q
FROM classifications c JOIN items i ON i.id = c.item_id
WHERE c.source = 'model'
  AND c.created_at > now() - make_interval(mins => $2)
  AND NOT EXISTS (SELECT 1 FROM classifications e WHERE e.item_id = c.item_id AND e.id < c.id)
"""


async def _service_registry(state: State) -> CollectorRegistry:
    """The service-wide gauges, read now."""
    registry = CollectorRegistry()
    unknown = " (-1: PostgreSQL unreachable)"
    waiting = Gauge(f"{PREFIX}_items_waiting", "Items accepted and not yet classified" + unknown, registry=registry)
    oldest = Gauge(f"{PREFIX}_oldest_waiting_seconds", "Age of the oldest item waiting" + unknown, registry=registry)
    failed = Gauge(
        f"{PREFIX}_items_failed", "Items whose classification failed, in the feed" + unknown, registry=registry
    )
    depth = Gauge(f"{PREFIX}_queue_depth", "Wake-up jobs queued in Redis (-1: Redis unreachable)", registry=registry)
    recent = Gauge(
        f"{PREFIX}_classified_recently",
        f"Items first classified in the last {LATENCY_WINDOW_MINUTES} minutes" + unknown,
        registry=registry,
    )
    latency = Gauge(
        f"{PREFIX}_classification_latency_seconds",
        f"From acceptance to first classification, over the last {LATENCY_WINDOW_MINUTES} minutes",
        ["quantile"],
        registry=registry,
    )
    try:
        row, timing = await asyncio.wait_for(_database_state(state), 2)
    except Exception as exc:  # PostgreSQL away: the scrape still counts this process's requests, the 503s among them
        log.warning("metrics: state of the items unknown (%s)", type(exc).__name__)
        for gauge in (waiting, oldest, failed, recent):
            gauge.set(-1)
    else:
        waiting.set(row["waiting"])
        oldest.set(float(row["oldest_waiting"]))
        failed.set(row["failed"])
        recent.set(timing["classified"])
        for quantile, value in zip(LATENCY_QUANTILES, timing["q"] or [], strict=False):
            latency.labels(quantile=str(quantile)).set(value)
    try:
        depth.set(await asyncio.wait_for(state.queue.zcard(state.queue.default_queue_name), 1))
    except Exception as exc:  # Redis away: say so in the number, not with an error
        log.warning("metrics: queue depth unknown (%s)", type(exc).__name__)
        depth.set(-1)
    return registry


async def _database_state(state: State) -> tuple[Any, Any]:
    async with connection(state.db_pool) as conn:
        row = await conn.fetchrow(STATE)
        timing = await conn.fetchrow(LATENCY, list(LATENCY_QUANTILES), LATENCY_WINDOW_MINUTES)
    return row, timing


def _process_registry() -> Any:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


# Prometheus's text format without its charset: Litestar adds "; charset=utf-8" to every text type, and the header
# said it twice.
METRICS_MEDIA_TYPE = CONTENT_TYPE_LATEST.replace("; charset=utf-8", "")


@get(
    "/metrics",
    tags=["health"],
    summary="Prometheus metrics",
    media_type=METRICS_MEDIA_TYPE,
    guards=[monitor_only],
    security=BEARER,
    responses=problem_responses(401, 403, 503),
)
async def metrics(state: State) -> Response[bytes]:
    body = generate_latest(_process_registry()) + generate_latest(await _service_registry(state))
    return Response(body, media_type=METRICS_MEDIA_TYPE)


def serve_worker_metrics(port: int) -> None:
    """Workers: counters on a port of their own (0: none)."""
    if port:
        from prometheus_client import start_http_server

        start_http_server(port, registry=WORKER_REGISTRY)
        log.info("worker metrics on port %d", port)
