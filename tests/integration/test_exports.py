import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from suggestions.db import write_jsonl
from suggestions.files import written_whole


class Lost(Exception):
    pass


def names_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def test_an_export_that_fails_half_way_leaves_the_earlier_file_whole(conn: Any, tmp_path: Path) -> None:
    out = tmp_path / "classifications.jsonl"
    out.write_text('{"n": 1}\n{"n": 2}\n{"n": 3}\n')

    def record(row: Any) -> Any:
        if row["n"] == 3:
            raise Lost  # as when the connection drops after two rows
        return {"n": row["n"]}

    with pytest.raises(Lost):
        await write_jsonl(conn, out, "SELECT generate_series(1, 5) AS n", record)
    assert out.read_text() == '{"n": 1}\n{"n": 2}\n{"n": 3}\n'
    assert names_in(tmp_path) == ["classifications.jsonl"]

    assert await write_jsonl(conn, out, "SELECT generate_series(1, 2) AS n", lambda row: {"n": row["n"]}) == 2
    assert out.read_text() == '{"n":1}\n{"n":2}\n'
    assert names_in(tmp_path) == ["classifications.jsonl"]


def test_a_text_export_is_utf8_with_the_lines_as_written(tmp_path: Path) -> None:
    out = tmp_path / "corrections.csv"
    with written_whole(out, text=True) as csv:
        csv.write("text,topic\r\n路灯不亮,城乡建设\r\n")
    assert out.read_bytes() == "text,topic\r\n路灯不亮,城乡建设\r\n".encode()


def test_an_export_through_a_link_replaces_the_file_linked_to(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    target = tmp_path / "shared" / "classifications.jsonl"
    target.write_text('{"n":0}\n')
    link = tmp_path / "latest.jsonl"
    link.symlink_to(target)
    with written_whole(link) as out:
        out.write(b'{"n":1}\n')
    assert link.is_symlink()
    assert target.read_bytes() == b'{"n":1}\n'
    assert names_in(tmp_path / "shared") == ["classifications.jsonl"]


def test_an_export_to_a_pipe_is_written_into_it(tmp_path: Path) -> None:
    # As `--out /dev/stdout` or a named pipe that another program reads: there is no file to replace.
    fifo = tmp_path / "export.pipe"
    os.mkfifo(fifo)
    read: list[bytes] = []
    reader = threading.Thread(target=lambda: read.append(fifo.read_bytes()), daemon=True)
    reader.start()
    with written_whole(fifo, text=True) as out:
        out.write("text,topic\r\n")
    reader.join(timeout=10)
    assert read == [b"text,topic\r\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert names_in(tmp_path) == ["export.pipe"]
