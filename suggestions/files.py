"""Files the command line writes for other programs to read."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def written_whole(path: Path, *, text: bool = False) -> Iterator[IO[Any]]:
    """A file written beside `path` and renamed onto it once complete. An export that fails half-way (the database
    gone, the disk full, Ctrl-C) leaves the earlier file as it was, never a cut-off one that a retraining or a drift
    report would read as whole; nothing else can see a file half-written either."""
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        out: IO[Any]
        with partial.open("w", newline="", encoding="utf-8") if text else partial.open("wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
