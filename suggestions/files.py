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
    report would read as whole; nothing else can see a file half-written either.

    A link is followed, and the file it names replaced. A pipe or a device (`/dev/stdout`, a named pipe another
    program reads) is written into as it goes: it holds no earlier file, and renaming onto it would replace it."""
    if path.exists() and not path.is_file():
        with _opened(path, text) as out:
            yield out
        return
    target = path.resolve() if path.is_symlink() else path
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        with _opened(partial, text) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _opened(path: Path, text: bool) -> IO[Any]:
    return path.open("w", newline="", encoding="utf-8") if text else path.open("wb")
