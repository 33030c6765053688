import asyncio
import os
import re
import signal
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from suggestions.cli import _stopped
from suggestions.importer import ImportReport, import_jsonl, numbered_lines
from tests.link import Link
from tests.processes import Process, service_env, wait_until


async def test_import_keeps_good_lines_reports_bad_ones_and_is_idempotent(
    tmp_path: Path, settings: Any, pool: Any
) -> None:
    lines = [
        {
            "channel": "hotline",
            "text": "来电反映小区供暖不热",
            "external_id": "A-1",
            "received_at": "2025-12-01T09:00:00+08:00",
        },
        {"channel": "grid", "text": "巡查发现井盖缺失", "external_id": "A-2"},
        {"channel": "hotline", "text": ""},
        {"channel": "web", "text": "建议增设公交站", "received_at": "2025-11-30T20:00:00+08:00", "external_id": "W-9"},
        {"channel": "hotline", "text": "电话不对", "contact_phone": "99"},
    ]
    path = tmp_path / "items.jsonl"
    # A byte-order mark before the first line, and a line saved in GBK: reported by number, the rest imported.
    encoded = [msgspec.json.encode(line) for line in lines]
    gbk = '{"channel": "hotline", "text": "井盖缺失"}'.encode("gbk")
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(encoded) + b"\nnot json\n" + gbk + b"\n")

    report = await import_jsonl(settings, path)
    assert (report.created, report.present) == (3, 0)
    assert [(number, field) for number, field, _ in report.bad] == [
        (3, "text"),
        (5, "contact_phone"),
        (6, ""),
        (7, ""),
    ]
    received = await pool.fetchval("SELECT received_at FROM items WHERE external_id = 'A-1'")
    assert received.isoformat().startswith("2025-12-01T01:00:00")

    again = await import_jsonl(settings, path)
    assert (again.created, again.present) == (0, 3)
    assert await pool.fetchval("SELECT count(*) FROM items") == 3


async def test_a_line_longer_than_a_body_is_reported_without_holding_it(
    tmp_path: Path, settings: Any, pool: Any
) -> None:
    path = tmp_path / "items.jsonl"
    long_text = "路" * 7_000_000  # 21 MB: a JSON array saved on one line, or a file with no line ends
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write('{"channel": "hotline", "text": "来电反映供暖不热", "external_id": "L-1"}\r\n')
        out.write('{"channel": "hotline", "text": "' + long_text + '"}\r\n')
        out.write('{"channel": "hotline", "text": "巡查发现井盖缺失", "external_id": "L-3"}\r\n')
        out.write(msgspec.json.encode({"channel": "grid", "text": "井" * 4000, "place": "路" * 200}).decode() + "\r\n")
    del long_text

    tracemalloc.start()
    try:
        report = await import_jsonl(settings, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.bad == [(2, "", f"longer than {settings.max_body_bytes} bytes, the largest body")]
    assert (report.created, report.present) == (3, 0)
    assert peak < 10_000_000


def test_lines_are_numbered_and_cut_at_the_limit_after_their_line_end(tmp_path: Path) -> None:
    path = tmp_path / "lines"
    path.write_bytes(b"a" * 8 + b"\r\n" + b"b" * 9 + b"\n" + b"c" * 30 + b"\n\n" + b"d" * 8)
    with path.open("rb") as source:
        assert list(numbered_lines(source, limit=8)) == [
            (1, b"a" * 8 + b"\r\n"),
            (2, None),
            (3, None),
            (4, b"\n"),
            (5, b"d" * 8),
        ]


async def test_ctrl_c_stops_an_import_of_a_file_whose_lines_are_all_bad(tmp_path: Path, settings: Any) -> None:
    # The wrong file (a CSV, say): no line reaches the database, and Ctrl-C must still stop the import.
    path = tmp_path / "items.csv"
    path.write_text("".join(f"{n},来电反映路灯不亮\n" for n in range(2000)), encoding="utf-8")

    def interrupt_at_first(number: int, field: str, message: str) -> None:
        if number == 1:
            os.kill(os.getpid(), signal.SIGINT)

    report = await import_jsonl(settings, path, on_bad=interrupt_at_first)
    assert report.stopped_before is not None
    assert report.stopped_before <= 5
    assert len(report.bad) == report.stopped_before - 1


def count_items(settings: Any) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(settings.database_url)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM items"))
        finally:
            await conn.close()

    return asyncio.run(count())


def interrupted_import(path: Path, lines: list[dict[str, str]], settings: Any) -> tuple[list[str], Process]:
    """`suggestions import` of these lines, stopped by Ctrl-C once it stored its first item: the command and its
    process, which ended with status 1."""
    path.write_bytes(b"".join(msgspec.json.encode(line) + b"\n" for line in lines))
    command = [sys.executable, "-m", "suggestions", "import", str(path)]
    first = Process("import", command, service_env(settings))
    assert first.popen is not None
    wait_until(lambda: count_items(settings) > 0, timeout=60, what="the import to store its first item")
    first.popen.send_signal(signal.SIGINT)
    assert first.popen.wait(30) == 1
    return command, first


def test_an_import_stopped_by_ctrl_c_says_what_it_stored_and_goes_on_when_run_again(
    tmp_path: Path, settings: Any
) -> None:
    lines = [{"channel": "hotline", "text": f"来电反映路灯不亮第{n}次", "external_id": f"C-{n}"} for n in range(4000)]
    command, first = interrupted_import(tmp_path / "items.jsonl", lines, settings)
    said = re.search(r"created (\d+), already present 0, bad 0\nstopped before line (\d+):", first.output())
    assert said is not None, first.output()
    created, stopped_before = int(said[1]), int(said[2])
    assert created == stopped_before - 1 == count_items(settings)

    again = Process("import-again", command, service_env(settings))
    assert again.popen is not None
    assert again.popen.wait(120) == 0, again.output()
    assert f"created {4000 - created}, already present {created}, bad 0" in again.output()
    assert count_items(settings) == 4000


def test_an_import_stopped_by_ctrl_c_says_how_to_go_on_without_storing_twice_lines_without_external_id(
    tmp_path: Path, settings: Any
) -> None:
    path = tmp_path / "letters.jsonl"
    lines = [{"channel": "hotline", "text": f"来信反映路灯不亮第{n}次"} for n in range(4000)]
    _, first = interrupted_import(path, lines, settings)
    said = re.search(r"stopped before line (\d+): line 1 and others stored have no external_id", first.output())
    assert said is not None, first.output()
    assert "run the same import again" not in first.output()

    rest = tmp_path / "rest.jsonl"
    hint = re.search(r"\(tail -n \+(\d+) (\S+) > rest\.jsonl", first.output())
    assert hint is not None
    assert hint[2] == str(path)
    rest.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[int(hint[1]) - 1 :]))
    again = Process("import-rest", [sys.executable, "-m", "suggestions", "import", str(rest)], service_env(settings))
    assert again.popen is not None
    assert again.popen.wait(120) == 0, again.output()
    assert count_items(settings) == 4000


async def _import_through(link: Link, path: Path, settings: Any) -> tuple[int, str]:
    """`suggestions import path` run with PostgreSQL reached through `link`: its exit status and what it said."""
    command = [sys.executable, "-m", "suggestions", "import", str(path)]
    run = Process("import", command, service_env(msgspec.structs.replace(settings, database_url=await link.start())))
    assert run.popen is not None
    try:
        status = await asyncio.to_thread(run.popen.wait, 120)
    finally:
        await link.close()
    return status, run.output()


async def test_an_import_cut_off_from_postgresql_says_what_it_stored_and_where_to_go_on(
    tmp_path: Path, settings: Any, pool: Any
) -> None:
    """PostgreSQL goes away in the middle of a file (a restart, a failover, a dropped connection): the import stops
    there and says, as Ctrl-C does, what it stored and how to go on without storing a line twice."""
    path = tmp_path / "letters.jsonl"
    lines = [{"channel": "hotline", "text": f"来信反映路灯不亮第{n}封"} for n in range(1, 11)]
    path.write_bytes(b"".join(msgspec.json.encode(line) + b"\n" for line in lines))
    link = Link(settings.database_url)
    link.cut_when_sent = "第6封".encode()
    status, said = await _import_through(link, path, settings)
    assert status == 1, said
    assert link.cuts == 1
    assert await pool.fetchval("SELECT count(*) FROM items") == 5
    assert "created 5, already present 0, bad 0" in said
    assert "Traceback" not in said
    assert re.search(r"stopped before line 6: PostgreSQL went away \(\w+\) while line 6 was being stored", said), said
    assert f"tail -n +6 {path}" in said


def _letters(path: Path, count: int) -> Path:
    """A file of `count` letters without an external_id (a scanned post bag has none), numbered in their words."""
    lines = [{"channel": "hotline", "text": f"来信反映路灯不亮第{n}封"} for n in range(1, count + 1)]
    path.write_bytes(b"".join(msgspec.json.encode(line) + b"\n" for line in lines))
    return path


async def _go_on_as_told(report: ImportReport, path: Path, settings: Any, *, found: bool) -> str:
    """What the command says after the import stopped, and the rest imported as it says (`found`: whether the tracking
    code it names, if any, was found)."""
    said = _stopped(report, path)
    hint = re.search(r"tail -n \+(\d+) ", said)
    assert hint is not None, said
    start = int(hint[1])
    if (found_from := re.search(r"from line (\d+) if it is found", said)) is not None and found:
        start = int(found_from[1])
    await import_jsonl(settings, _lines_from(path, start))
    return said


def _lines_from(path: Path, start: int) -> Path:
    """`tail -n +start path > rest.jsonl`."""
    rest = path.with_name("rest.jsonl")
    rest.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[start - 1 :]))
    return rest


async def test_an_import_whose_commit_answer_was_lost_counts_the_line_it_stored(
    tmp_path: Path, settings: Any, pool: Any
) -> None:
    """The connection to PostgreSQL is lost once a line's statement has reached it (a failover, a dropped link): the
    line was stored. The import finds it stored, as intake does an item whose commit went unanswered, counts it, and
    says to go on after it: lines without an external_id, which nothing else finds again, are not stored twice."""
    path = _letters(tmp_path / "letters.jsonl", 10)
    link = Link(settings.database_url)
    link.lose_when_sent = "第6封".encode()
    try:
        report = await import_jsonl(msgspec.structs.replace(settings, database_url=await link.start()), path)
    finally:
        await link.close()
    said = await _go_on_as_told(report, path, settings, found=False)
    assert await pool.fetchval("SELECT count(*) FROM items") == 10, said
    assert (report.created, report.stopped_before) == (6, 7)
    assert re.search(r"stopped before line 7: PostgreSQL went away \(\w+\) as line 6 was stored", said), said


async def test_an_import_whose_commit_answer_was_lost_on_the_last_line_is_complete(
    tmp_path: Path, settings: Any, pool: Any
) -> None:
    """The answer to the file's last line (blank lines after it aside) is lost, and the line found stored: nothing is
    left to import. The command says what it stored and ends with status 0, not that it stopped before a line there
    is nothing at, with advice to go on from it."""
    path = _letters(tmp_path / "letters.jsonl", 10)
    path.write_bytes(path.read_bytes() + b"\n  \n")
    link = Link(settings.database_url)
    link.lose_when_sent = "第10封".encode()
    status, said = await _import_through(link, path, settings)
    assert "created 10, already present 0, bad 0" in said
    assert "stopped" not in said
    assert status == 0, said
    assert await pool.fetchval("SELECT count(*) FROM items") == 10


async def test_an_import_that_cannot_tell_whether_a_line_was_stored_names_its_tracking_code(
    tmp_path: Path, settings: Any, pool: Any
) -> None:
    """The connection is lost once a line's statement reached PostgreSQL, and PostgreSQL cannot be asked at once
    whether it was stored (its host gone just then): the import says so, and names the tracking code the line was
    stored under if it was, so that whoever goes on neither stores it twice nor leaves it out."""
    path = _letters(tmp_path / "letters.jsonl", 10)
    link = Link(settings.database_url)
    link.lose_when_sent = "第6封".encode()
    link.when_lost = lambda: link.silence(new_ones_too=True)
    try:
        report = await import_jsonl(msgspec.structs.replace(settings, database_url=await link.start()), path)
    finally:
        await link.close()
    said = _stopped(report, path)
    code = re.search(r"tracking code (\S+) ", said)
    assert code is not None, said
    assert await pool.fetchval("SELECT text FROM items WHERE tracking_code = $1", code[1]) == "来信反映路灯不亮第6封"
    await _go_on_as_told(report, path, settings, found=True)
    assert await pool.fetchval("SELECT count(*) FROM items") == 10, said
    assert (report.created, report.stopped_before) == (5, 6)
