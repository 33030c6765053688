"""What travels through Redis: ids, and of a failed job no more than its exception's class."""

from __future__ import annotations

import msgspec
import pytest
from arq.worker import JobExecutionFailed

from suggestions.queue import job_deserializer, job_serializer


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
