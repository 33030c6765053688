"""The personal-data scan that closes every run finds what it is meant to find (on a Redis database of its own)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import redis

from tests.pii_scan import PersonalDataScan


def _other_database(url: str) -> str:
    if url.startswith("unix://"):
        return url.split("?", 1)[0] + "?db=14"
    return url.rsplit("/", 1)[0] + "/14"


def test_the_scan_finds_a_phone_in_a_log_record_a_redis_value_and_server_output(
    servers: tuple[str, str], tmp_path: Path
) -> None:
    url = _other_database(servers[1])
    (tmp_path / "worker.log").write_text("classified 32 items\n来电人 13912345678\n")
    scan = PersonalDataScan(url, tmp_path)
    scan.monitor.start()
    client = redis.Redis.from_url(url)
    try:
        client.set("job:1", '{"a": [1], "text": "电话 13912345678"}')
        client.set("job:130", 1795921038264)  # a key ending in digits beside a large number is no phone
        scan.recorder.emit(logging.makeLogRecord({"msg": "resident %s", "args": ("13912345678",)}))
        time.sleep(0.2)
        found = scan.finish()
    finally:
        client.flushdb()
        client.close()
    assert "log record 0" in found
    assert any(place.startswith("redis command") for place in found)
    assert any(place.startswith("redis content") for place in found)
    assert "output of worker.log, line 1" in found
    assert len(found) == 4  # one of each; the digits of job:130 and its value are not flagged
