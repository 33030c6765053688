"""What travels through Redis: ids, and of a failed job no more than its exception's class."""

from __future__ import annotations

import msgspec
import pytest
import redis.exceptions
from arq.connections import ArqRedis
from arq.worker import JobExecutionFailed

from suggestions import queue
from suggestions.queue import job_deserializer, job_serializer
from suggestions.settings import Settings


def test_a_job_carries_its_id_as_json() -> None:
    assert job_deserializer(job_serializer({"f": "classify_item", "a": [42]})) == {"f": "classify_item", "a": [42]}


def test_a_failed_jobs_outcome_is_its_exceptions_class_without_its_message() -> None:
    # arq serialises the outcome of a job that ran out of retries even when results are not kept.
    payload = job_serializer({"r": JobExecutionFailed("max 3 retries exceeded"), "s": False})
    assert msgspec.json.decode(payload) == {"r": "JobExecutionFailed", "s": False}
    quoted = job_serializer({"r": ValueError("row (13812345678, 张三) refused")})
    assert b"1381" not in quoted


def test_anything_else_that_is_not_json_is_refused() -> None:
    with pytest.raises(TypeError):
        job_serializer({"r": object()})


async def test_a_queue_opened_while_redis_was_away_reaches_it_once_it_answers(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API's start during an outage: the first connection fails, and the client it starts with wakes workers as
    soon as Redis is back (here, at once)."""

    async def away(url: str, queue_name: str) -> ArqRedis:
        raise redis.exceptions.ConnectionError("Redis is restarting")

    monkeypatch.setattr(queue, "create_queue", away)
    opened = await queue.open_queue(settings.redis_url, settings.queue_name)
    try:
        assert await queue.wake_classifier(opened, 424242)
        # Jobs other tests left in the suite's queue are not this one.
        [job] = [j for j in await opened.queued_jobs(queue_name=settings.queue_name) if j.args == [424242]]
        assert (job.function, job.args) == (queue.CLASSIFY_JOB, [424242])  # ids only, as JSON
    finally:
        job_id = queue.classify_job_id(settings.queue_name, 424242)
        await opened.zrem(settings.queue_name, job_id)
        await opened.delete(f"arq:job:{job_id}")
        await opened.aclose()
