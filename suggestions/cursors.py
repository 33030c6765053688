"""Opaque page cursors: a small struct handed out with a page as base64 of its JSON, taken back for the next page."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import TypeVar

import msgspec

from suggestions.errors import InvalidInput

C = TypeVar("C", bound=msgspec.Struct)


def encode_cursor(cursor: msgspec.Struct) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(cursor)).decode().rstrip("=")


def decode_cursor(text: str, kind: type[C], *, field: str, given_by: str) -> C:
    """The cursor `text` holds, or bad input naming `field`: not one that `given_by` (the feed, the case view) gave
    out. The struct's own constraints bound its numbers to the columns they are compared with."""
    try:
        cursor = msgspec.json.decode(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), type=kind)
        # A forged time whose UTC form is outside years 1-9999 is no time asyncpg can send.
        for value in msgspec.structs.astuple(cursor):
            if isinstance(value, datetime):
                value.astimezone(UTC)
        return cursor
    except (ValueError, OverflowError, msgspec.DecodeError):
        raise InvalidInput(field, f"not a cursor this {given_by} gave out") from None
