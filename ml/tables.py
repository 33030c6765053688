"""CSV files as a district's staff save them: from Excel (GB18030 on a Chinese Windows, or UTF-8 with a byte-order
mark, CRLF line ends) or from a hotline platform's export (headers with stray spaces or capitals, rows short of
cells, fields that hold newlines).

A column is named ignoring case and surrounding spaces; a missing cell reads as empty; each row comes with the
line it starts on, for error messages.
"""

from __future__ import annotations

import codecs
import csv
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

BLOCK = 1 << 20
# GB18030 holds GBK and GB2312, which Excel writes on a Chinese Windows when told to save as "CSV"
ENCODINGS = ("utf-8-sig", "gb18030")


class TableError(ValueError):
    """A CSV file that cannot be read as one; the message names the file (and the line, where there is one)."""


def column_key(name: str) -> str:
    return name.strip().casefold()


def text_encoding(path: Path) -> str:
    """The first of `ENCODINGS` the whole file decodes with (a file in neither is refused, not read as mojibake)."""
    with path.open("rb") as file:
        if file.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            raise TableError(f'{path}: UTF-16 text (Excel\'s "Unicode text"); save it as CSV UTF-8')
    failures = []
    for encoding in ENCODINGS:
        line = _undecodable_line(path, encoding)
        if line is None:
            return encoding
        failures.append(line)
    # the encoding that read furthest is the file's, and the line where it stopped holds the stray bytes
    raise TableError(f"{path}:{max(failures)}: neither UTF-8 nor GB18030 text; save it as CSV UTF-8")


def _undecodable_line(path: Path, encoding: str) -> int | None:
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 1
    with path.open("rb") as file:
        for block in iter(lambda: file.read(BLOCK), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                return lines + block.count(b"\n", 0, max(exc.start, 0))
            lines += block.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return lines
    return None


class Table:
    """The rows of an open CSV file, keyed by `column_key` of their header."""

    def __init__(self, path: Path, file: TextIO) -> None:
        csv.field_size_limit(sys.maxsize)
        self.path = path
        # strict: a quote left open would otherwise swallow every row after it into one cell, without a word
        self._reader = csv.reader(file, strict=True)
        self._header_line, header = self._next_record() or (1, [])
        self.header = [name.strip() for name in header]
        self.columns = [column_key(name) for name in header]
        repeated = sorted({name for name in self.columns if name and self.columns.count(name) > 1})
        if repeated:
            raise TableError(f"{path}:{self._header_line}: column {', '.join(repeated)} appears more than once")

    def require(self, names: Sequence[str]) -> list[str]:
        """The keys of `names`; TableError listing those the header lacks, and the columns it has."""
        keys = [column_key(name) for name in names]
        missing = [name for name, key in zip(names, keys, strict=True) if key not in self.columns]
        if missing:
            described = ", ".join(self.header) if self.header else "the file is empty"
            raise TableError(f"{self.path}: no column {', '.join(missing)} (columns: {described})")
        return keys

    def has(self, name: str) -> bool:
        return column_key(name) in self.columns

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(line the row starts on, cells by column key); cells past the header's columns are ignored."""
        width = len(self.columns)
        while (record := self._next_record()) is not None:
            line, cells = record
            cells = cells[:width] + [""] * (width - len(cells))
            yield line, dict(zip(self.columns, cells, strict=True))

    def _next_record(self) -> tuple[int, list[str]] | None:
        """The next record that is not a blank line, and the line it starts on."""
        while True:
            line = self._reader.line_num + 1
            try:
                cells = next(self._reader)
            except StopIteration:
                return None
            except csv.Error as exc:
                raise TableError(f"{self.path}:{line}: {exc}") from None
            if cells:
                return line, cells


@contextmanager
def open_table(path: Path) -> Iterator[Table]:
    """The file's rows, whichever of `ENCODINGS` it is in."""
    if path.is_dir():
        raise TableError(f"{path} is a folder, not a CSV file")
    encoding = text_encoding(path)
    with path.open(encoding=encoding, newline="") as file:
        yield Table(path, file)
