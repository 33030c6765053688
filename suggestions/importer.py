"""Importing items in bulk from JSONL: good lines are kept, bad lines reported by number."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import msgspec

from suggestions.db import connection, create_pool
from suggestions.district import load_gazetteer
from suggestions.errors import Conflict, InvalidInput, field_name
from suggestions.intake.schema import ItemIn
from suggestions.intake.service import accept_item
from suggestions.queue import create_queue, wake_classifier
from suggestions.settings import Settings


class ImportReport(msgspec.Struct):
    created: int = 0
    present: int = 0
    bad: list[tuple[int, str, str]] = msgspec.field(default_factory=list)  # (line number, field, message)


async def import_jsonl(settings: Settings, path: Path) -> ImportReport:
    report = ImportReport()
    gazetteer = load_gazetteer(settings)
    decoder = msgspec.json.Decoder(ItemIn)
    pool = await create_pool(settings.database_url, size=2)
    try:
        queue = await create_queue(settings.redis_url, settings.queue_name)
    except BaseException:
        await pool.close()
        raise
    try:
        async with connection(pool) as conn:
            with path.open("rb") as source:
                for number, line in numbered_lines(source, limit=settings.max_body_bytes):
                    if line is None:
                        report.bad.append(
                            (number, "", f"longer than {settings.max_body_bytes} bytes, the largest body")
                        )
                        continue
                    if not line.strip():
                        continue
                    try:
                        item = decoder.decode(line.removeprefix(b"\xef\xbb\xbf") if number == 1 else line)
                        accepted = await accept_item(conn, item, principal=None, gazetteer=gazetteer, history=True)
                    except msgspec.ValidationError as exc:
                        report.bad.append((number, field_name(str(exc)), str(exc).split(" - at ")[0]))
                        continue
                    except msgspec.DecodeError:
                        report.bad.append((number, "", "not a JSON object"))
                        continue
                    except UnicodeDecodeError as exc:
                        report.bad.append((number, "", f"not UTF-8 (byte {exc.start + 1} of a string)"))
                        continue
                    except (InvalidInput, Conflict) as exc:
                        field = exc.problems[0].field if isinstance(exc, InvalidInput) else exc.field or ""
                        report.bad.append((number, field, str(exc)))
                        continue
                    if accepted.created:
                        report.created += 1
                        await wake_classifier(queue, accepted.item.id)
                    else:
                        report.present += 1
    finally:
        await queue.aclose()
        await pool.close()
    return report


def numbered_lines(source: BinaryIO, *, limit: int) -> Iterator[tuple[int, bytes | None]]:
    """Each line of `source` with its number from 1; None for a line of more than `limit` bytes before its end of
    line, which is read past in pieces rather than held whole (a file that is not JSONL may be a single line of
    gigabytes)."""
    number = 0
    while line := source.readline(limit + 2):  # room for CR LF after the longest line accepted
        number += 1
        if not line.endswith(b"\n") and len(line) > limit:
            while (rest := source.readline(limit)) and not rest.endswith(b"\n"):
                pass
        yield number, (line if len(line.rstrip(b"\r\n")) <= limit else None)
