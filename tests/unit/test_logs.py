"""Log lines are JSON objects with ids and classes: an exception's message never reaches them."""

from __future__ import annotations

import logging
import sys

import msgspec

from suggestions.logs import JsonFormatter


def test_a_record_is_one_json_object_with_its_extra_fields() -> None:
    record = logging.makeLogRecord(
        {"name": "suggestions.x", "levelname": "INFO", "msg": "classified %d items", "args": (32,), "item_id": 7}
    )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = msgspec.json.decode(line)
    assert entry["message"] == "classified 32 items"
    assert entry["logger"] == "suggestions.x"
    assert entry["item_id"] == 7
    assert entry["time"].endswith("+00:00")


def test_an_exception_is_logged_by_class_and_frames_never_by_message() -> None:
    try:
        raise ValueError("duplicate key value violates unique constraint: (phone)=(13912345678)")
    except ValueError:
        record = logging.makeLogRecord({"msg": "insert failed", "exc_info": sys.exc_info()})
    line = JsonFormatter().format(record)
    entry = msgspec.json.decode(line)
    assert entry["exception"] == "ValueError"
    assert entry["frames"]
    assert "13912345678" not in line
