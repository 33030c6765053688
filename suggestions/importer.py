"""Importing items in bulk from JSONL: good lines are kept, bad lines reported by number."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from suggestions.db import connection, create_pool
from suggestions.district import load_gazetteer
from suggestions.errors import OUTAGES, Conflict, InvalidInput, OutcomeUnknown, field_name
from suggestions.hotspots.places import Gazetteer
from suggestions.intake.schema import ItemIn
from suggestions.intake.service import Accepted, accept_item
from suggestions.queue import create_queue, wake_classifier
from suggestions.settings import Settings


class InDoubt(msgspec.Struct, frozen=True):
    """A line whose statement reached PostgreSQL before its connection was lost, when PostgreSQL could not then be
    asked whether it was stored: if it was, it is under `tracking_code`."""

    tracking_code: str
    keyed: bool  # it has an external_id: the same import again finds it if it was stored
    outage: str


class ImportReport(msgspec.Struct):
    created: int = 0
    present: int = 0
    bad: list[tuple[int, str, str]] = msgspec.field(default_factory=list)  # (line number, field, message)
    stopped_before: int | None = None  # the first line not read, when Ctrl-C stopped the import
    # What ended the connection to PostgreSQL: while line `stopped_before` was being stored, which was not stored
    # (`in_doubt` when that cannot be told), or, with `found_stored`, once line `stopped_before - 1` had reached it,
    # which was looked up and found stored (the answer to it was lost).
    outage: str | None = None
    found_stored: bool = False
    in_doubt: InDoubt | None = None
    # the first line stored that has no external_id: running the same file again would store that line again
    first_unkeyed: int | None = None


class Stored(msgspec.Struct, frozen=True):
    """What a good line did: stored an item (`created`) or found it stored; `keyed`: it has an external_id."""

    accepted: Accepted
    keyed: bool


BadLine = Callable[[int, str, str], None]


async def import_jsonl(
    settings: Settings, path: Path, *, report: ImportReport | None = None, on_bad: BadLine | None = None
) -> ImportReport:
    """Import every line of `path`, each in its own transaction. `on_bad` hears of each bad line as it is read.

    Ctrl-C stops the import between two lines rather than cancel a statement PostgreSQL may have committed, so that
    the counts say exactly what was stored. Losing PostgreSQL stops it too, at the line it was storing: a line whose
    statement reached PostgreSQL before its answer was lost is looked up, as intake does an item (its session ended,
    then its tracking code found or not), so that the report says whether it was stored."""
    report = report or ImportReport()
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
            with path.open("rb") as source, _stop_on_interrupt() as stopping:
                lines = numbered_lines(source, limit=settings.max_body_bytes)
                for number, line in lines:
                    # A bad line never waits on the database: without a turn of the loop here, Ctrl-C would go
                    # unheard through a file of bad lines (the wrong file, a CSV) until its end.
                    await asyncio.sleep(0)
                    if stopping.is_set():
                        report.stopped_before = number
                        break
                    try:
                        outcome = await _import_line(
                            conn, decoder, number, line, settings=settings, gazetteer=gazetteer
                        )
                    except OUTAGES as exc:
                        # Not stored. What was stored stands; the report says so, and where to go on, as after Ctrl-C.
                        report.stopped_before, report.outage = number, type(exc).__name__
                        break
                    if isinstance(outcome, InDoubt):
                        report.stopped_before, report.outage, report.in_doubt = number, outcome.outage, outcome
                        break
                    if isinstance(outcome, tuple):
                        report.bad.append((number, *outcome))
                        if on_bad is not None:
                            on_bad(number, *outcome)
                    elif outcome is not None and outcome.accepted.created:
                        report.created += 1
                        if not outcome.keyed and report.first_unkeyed is None:
                            report.first_unkeyed = number
                        await wake_classifier(queue, outcome.accepted.item.id)
                        if outcome.accepted.unanswered is not None:
                            # Found stored after its connection was lost: the import stops after it, unless it was
                            # the file's last line (blank lines aside), which leaves nothing to go on with.
                            if _only_blank(lines):
                                break
                            report.stopped_before, report.outage = number + 1, outcome.accepted.unanswered
                            report.found_stored = True
                            break
                    elif outcome is not None:
                        report.present += 1
    finally:
        await queue.aclose()
        await pool.close()
    return report


async def _import_line(
    conn: Any,
    decoder: msgspec.json.Decoder[ItemIn],
    number: int,
    line: bytes | None,
    *,
    settings: Settings,
    gazetteer: Gazetteer,
) -> Stored | InDoubt | tuple[str, str] | None:
    """The item a line stored (or found stored), (field, message) for a bad line, None for a blank one; InDoubt when
    its statement reached PostgreSQL and whether it was stored cannot be told."""
    if line is None:
        return "", f"longer than {settings.max_body_bytes} bytes, the largest body"
    if not line.strip():
        return None
    try:
        item = decoder.decode(line.removeprefix(b"\xef\xbb\xbf") if number == 1 else line)
        accepted = await accept_item(
            conn,
            item,
            principal=None,
            gazetteer=gazetteer,
            history=True,
            area_code=settings.area_code,
            database_url=settings.database_url,
        )
        return Stored(accepted, keyed=item.external_id is not None)
    except OutcomeUnknown as exc:
        if exc.tracking_code is None:  # accept_item names the item's
            raise
        keyed = item.external_id is not None
        return InDoubt(tracking_code=exc.tracking_code, keyed=keyed, outage=exc.outage or type(exc).__name__)
    except msgspec.ValidationError as exc:
        return field_name(str(exc)), str(exc).split(" - at ")[0]
    except msgspec.DecodeError:
        return "", "not a JSON object"
    except UnicodeDecodeError as exc:
        return "", f"not UTF-8 (byte {exc.start + 1} of a string)"
    except (InvalidInput, Conflict) as exc:
        return (exc.problems[0].field if isinstance(exc, InvalidInput) else exc.field or ""), str(exc)


def _only_blank(lines: Iterator[tuple[int, bytes | None]]) -> bool:
    """Whether the lines left are blank (or none are): read up to the first that is not."""
    return all(line is not None and not line.strip() for _, line in lines)


@contextmanager
def _stop_on_interrupt() -> Iterator[asyncio.Event]:
    """An event Ctrl-C sets, instead of cancelling whatever statement is running."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    loop.add_signal_handler(signal.SIGINT, stopping.set)
    try:
        yield stopping
    finally:
        loop.remove_signal_handler(signal.SIGINT)


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
