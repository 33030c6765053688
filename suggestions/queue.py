"""The arq queue: a wake-up signal for workers, never the record of what is waiting (PostgreSQL is)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

CLASSIFY_JOB = "classify_item"
# Jobs carry ids only, as JSON: nothing personal and nothing executable travels through Redis.


def _exception_name(obj: Any) -> str:
    # arq serialises a failed job's outcome, its exception, whether or not results are kept (a job that ran out of
    # retries ends with arq's JobExecutionFailed). Its class names it; its message may quote a row.
    if isinstance(obj, BaseException):
        return type(obj).__name__
    raise TypeError(f"{type(obj).__name__} is not JSON")


_encoder = msgspec.json.Encoder(enc_hook=_exception_name)


def job_serializer(payload: Any) -> bytes:
    return _encoder.encode(payload)


def job_deserializer(payload: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = msgspec.json.decode(payload)
    return decoded


# A command's answer takes milliseconds, and workers send nothing that blocks on the server: a connection that hears
# nothing back for this long belongs to a Redis that is gone without closing it (its host lost, a failover, a
# firewall that forgot the connection), which TCP alone reports only after a quarter of an hour.
SOCKET_TIMEOUT_SECONDS = 10


def redis_settings(url: str) -> RedisSettings:
    settings = RedisSettings.from_dsn(url)
    # Fail fast when Redis is away: intake must answer, the sweeper catches up later.
    settings.conn_timeout = 2
    settings.conn_retries = 1
    settings.conn_retry_delay = 0
    return settings


async def create_queue(url: str, queue_name: str) -> ArqRedis:
    pool: ArqRedis = await create_pool(
        redis_settings(url),
        job_serializer=job_serializer,
        job_deserializer=job_deserializer,
        default_queue_name=queue_name,
    )
    return pool


async def open_queue(url: str, queue_name: str) -> ArqRedis:
    """The API's queue, which it starts without: with Redis away (a restart, a failover), residents' items are still
    accepted and left for the sweeper, so the API comes up all the same and connects once Redis answers."""
    try:
        return await create_queue(url, queue_name)
    except (OSError, RedisError) as exc:  # a timeout is an OSError
        log.warning("queue unavailable at start (%s): items wait for the sweeper until it answers", type(exc).__name__)
    return client(url, queue_name)


def client(url: str, queue_name: str) -> ArqRedis:
    """The client create_pool builds, without its first ping, and with a timeout on every answer: the URL says where
    and how (TLS, database), as to arq. Workers run on it (arq's own has no such timeout)."""
    queue: ArqRedis = ArqRedis.from_url(
        url,
        socket_connect_timeout=redis_settings(url).conn_timeout,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        encoding="utf8",
    )
    queue.job_serializer = job_serializer
    queue.job_deserializer = job_deserializer
    queue.default_queue_name = queue_name
    return queue


def classify_job_id(queue_name: str, item_id: int) -> str:
    # arq keys jobs by id across the whole Redis database, whatever their queue: the queue's name keeps deployments
    # that share a Redis (and test runs) from swallowing each other's wake-ups for the same item id.
    return f"{queue_name}:{item_id}"


async def wake_classifier(queue: ArqRedis, item_id: int, *, wait_seconds: float = 1.0) -> bool:
    """Ask a worker to classify an item. A lost signal is harmless: the sweeper finds the item again."""
    try:
        await asyncio.wait_for(
            queue.enqueue_job(CLASSIFY_JOB, item_id, _job_id=classify_job_id(queue.default_queue_name, item_id)),
            wait_seconds,
        )
    except Exception as exc:  # Redis down, slow or wiped: none of it may fail an item already accepted
        log.warning("queue unavailable, item %s left for the sweeper (%s)", item_id, type(exc).__name__)
        return False
    return True
